#include "sms/utf8.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace ryuryo::sms {
namespace {

std::vector<char32_t> Decode(std::string_view s) {
  std::vector<char32_t> out;
  size_t pos = 0;
  while (pos < s.size()) out.push_back(NextCodePoint(s, &pos));
  return out;
}

TEST(Utf8Test, DecodesEveryLength) {
  EXPECT_EQ(Decode("a\xC3\xA9\xE6\xAE\x8B\xF0\x9F\x98\x80"),
            (std::vector<char32_t>{U'a', U'é', U'残', U'\U0001F600'}));
}

TEST(Utf8Test, InvalidBytesBecomeReplacementOneByteEach) {
  const char32_t r = kReplacementChar;
  EXPECT_EQ(Decode("\x80z"), (std::vector<char32_t>{r, U'z'}));                // lone continuation
  EXPECT_EQ(Decode("\xE6\xAEz"), (std::vector<char32_t>{r, r, U'z'}));         // truncated
  EXPECT_EQ(Decode("\xC0\xAF"), (std::vector<char32_t>{r, r}));                // overlong '/'
  EXPECT_EQ(Decode("\xE0\x80\xAF"), (std::vector<char32_t>{r, r, r}));         // overlong '/'
  EXPECT_EQ(Decode("\xED\xA0\x80"), (std::vector<char32_t>{r, r, r}));         // surrogate D800
  EXPECT_EQ(Decode("\xF4\x90\x80\x80"), (std::vector<char32_t>{r, r, r, r}));  // > U+10FFFF
  EXPECT_EQ(Decode("\xE6"), (std::vector<char32_t>{r}));                       // cut at the end
}

TEST(Utf8Test, EncodeRoundTrips) {
  for (char32_t cp : {U'\0', U'a', U'\x7F', U'\x80', U'é', U'\x7FF', U'\x800', U'残', U'\xFFFF',
                      U'\U00010000', U'\U0001F600', U'\U0010FFFF'}) {
    std::string s;
    AppendUtf8(cp, &s);
    size_t pos = 0;
    EXPECT_EQ(NextCodePoint(s, &pos), cp);
    EXPECT_EQ(pos, s.size());
  }
  std::string s;
  AppendUtf8(0xD800, &s);
  AppendUtf8(0x110000, &s);
  EXPECT_EQ(s, "\xEF\xBF\xBD\xEF\xBF\xBD");
}

}  // namespace
}  // namespace ryuryo::sms
