#include "sms/segments.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>

#include "sms/utf8.h"

namespace ryuryo::sms {
namespace {

std::string Repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// UCS-2 code units of valid UTF-8 `s`.
size_t Units(std::string_view s) {
  size_t units = 0;
  size_t pos = 0;
  while (pos < s.size()) units += NextCodePoint(s, &pos) > 0xFFFF ? 2 : 1;
  return units;
}

// `s` with invalid UTF-8 replaced by U+FFFD.
std::string Clean(std::string_view s) {
  std::string out;
  size_t pos = 0;
  while (pos < s.size()) AppendUtf8(NextCodePoint(s, &pos), &out);
  return out;
}

TEST(SegmentsTest, EncodingGsm7) {
  EXPECT_EQ(EncodingFor(""), SmsEncoding::kGsm7);
  EXPECT_EQ(EncodingFor("Data left: 1.2 GB (60%) @home #1 $5_x\r\n"), SmsEncoding::kGsm7);
  EXPECT_EQ(EncodingFor("Café £3 ¥500 Ünïcode? no: ñ ß Ω"), SmsEncoding::kUcs2);  // ï is not GSM
  EXPECT_EQ(EncodingFor("Café £3 ¥500 Ü ñ ß Ω à ¿¡ §"), SmsEncoding::kGsm7);
  EXPECT_EQ(EncodingFor("€[]{}^~\\|\f"), SmsEncoding::kGsm7);
}

TEST(SegmentsTest, EncodingUcs2) {
  EXPECT_EQ(EncodingFor("残量 1.2 GB"), SmsEncoding::kUcs2);
  EXPECT_EQ(EncodingFor("back`tick"), SmsEncoding::kUcs2);
  EXPECT_EQ(EncodingFor("tab\there"), SmsEncoding::kUcs2);
  EXPECT_EQ(EncodingFor("wait…"), SmsEncoding::kUcs2);
  EXPECT_EQ(EncodingFor("ok \xF0\x9F\x98\x80"), SmsEncoding::kUcs2);
  EXPECT_EQ(EncodingFor("bad \xFF byte"), SmsEncoding::kUcs2);
  EXPECT_EQ(EncodingFor("ＳＴＯＰ"), SmsEncoding::kUcs2);  // full-width is not folded
}

TEST(SegmentsTest, Gsm7Boundaries) {
  EXPECT_EQ(SegmentsFor(""), 1u);
  EXPECT_EQ(SegmentsFor(Repeat("a", 160)), 1u);
  EXPECT_EQ(SegmentsFor(Repeat("a", 161)), 2u);
  EXPECT_EQ(SegmentsFor(Repeat("a", 306)), 2u);
  EXPECT_EQ(SegmentsFor(Repeat("a", 307)), 3u);
  EXPECT_EQ(SegmentsFor(Repeat("a", 459)), 3u);
  EXPECT_EQ(SegmentsFor(Repeat("a", 460)), 4u);
}

TEST(SegmentsTest, Gsm7ExtensionCharsCountTwo) {
  EXPECT_EQ(SegmentsFor(Repeat("€", 80)), 1u);  // 160 septets
  EXPECT_EQ(SegmentsFor(Repeat("€", 81)), 2u);
  EXPECT_EQ(SegmentsFor(Repeat("a", 158) + "["), 1u);
  EXPECT_EQ(SegmentsFor(Repeat("a", 159) + "]"), 2u);
  EXPECT_EQ(SegmentsFor(Repeat("a", 159) + "\f"), 2u);
  // An escape pair is not split: 152 + 2 does not fit a 153-septet part.
  EXPECT_EQ(SegmentsFor(Repeat("a", 152) + "{" + Repeat("a", 151)), 2u);  // 152 | 2+151
  EXPECT_EQ(SegmentsFor(Repeat("a", 152) + "{" + Repeat("a", 152)), 3u);  // 152 | 2+151 | 1
  EXPECT_EQ(SegmentsFor(Repeat("a", 151) + "{" + Repeat("a", 153)), 2u);  // 151+2 | 153
}

TEST(SegmentsTest, Ucs2Boundaries) {
  EXPECT_EQ(SegmentsFor(Repeat("残", 70)), 1u);
  EXPECT_EQ(SegmentsFor(Repeat("残", 71)), 2u);
  EXPECT_EQ(SegmentsFor(Repeat("残", 134)), 2u);
  EXPECT_EQ(SegmentsFor(Repeat("残", 135)), 3u);
  // One non-GSM character makes the whole text UCS-2.
  EXPECT_EQ(SegmentsFor(Repeat("a", 69) + "残"), 1u);
  EXPECT_EQ(SegmentsFor(Repeat("a", 70) + "残"), 2u);
  EXPECT_EQ(SegmentsFor(Repeat("a", 100) + "`"), 2u);
}

TEST(SegmentsTest, EmojiCountTwoUnits) {
  const std::string grin = "\xF0\x9F\x98\x80";  // U+1F600
  EXPECT_EQ(SegmentsFor(Repeat(grin, 35)), 1u);
  EXPECT_EQ(SegmentsFor(Repeat(grin, 35) + "a"), 2u);
  EXPECT_EQ(SegmentsFor(Repeat("残", 69) + grin), 2u);
  // A surrogate pair is not split: 66 + 2 does not fit a 67-unit part.
  EXPECT_EQ(SegmentsFor(Repeat("残", 66) + grin + Repeat("残", 66)), 3u);  // 66 | 2+65 | 1
  EXPECT_EQ(SegmentsFor(Repeat("残", 65) + grin + Repeat("残", 67)), 2u);  // 65+2 | 67
}

TEST(SegmentsTest, FitOneSegmentKeepsWhatFits) {
  EXPECT_EQ(FitOneSegment(""), "");
  EXPECT_EQ(FitOneSegment(Repeat("a", 160)), Repeat("a", 160));
  EXPECT_EQ(FitOneSegment(Repeat("€", 80)), Repeat("€", 80));
  EXPECT_EQ(FitOneSegment(Repeat("残", 70)), Repeat("残", 70));
  EXPECT_EQ(FitOneSegment(Repeat("\xF0\x9F\x98\x80", 35)), Repeat("\xF0\x9F\x98\x80", 35));
}

TEST(SegmentsTest, FitOneSegmentCutsWithEllipsis) {
  EXPECT_EQ(FitOneSegment(Repeat("a", 161)), Repeat("a", 69) + "…");
  EXPECT_EQ(FitOneSegment(Repeat("€", 81)), Repeat("€", 69) + "…");
  EXPECT_EQ(FitOneSegment(Repeat("残", 71)), Repeat("残", 69) + "…");
  EXPECT_EQ(SegmentsFor(FitOneSegment(Repeat("残", 71))), 1u);
  EXPECT_EQ(Units(FitOneSegment(Repeat("残", 500))), 70u);
}

TEST(SegmentsTest, FitOneSegmentNeverSplitsASurrogatePair) {
  const std::string grin = "\xF0\x9F\x98\x80";
  // 67 units, the emoji takes units 68 and 69, the ellipsis unit 70.
  EXPECT_EQ(FitOneSegment(Repeat("残", 67) + grin + "残残"), Repeat("残", 67) + grin + "…");
  // 68 units: the emoji would need units 69 and 70, so it goes.
  EXPECT_EQ(FitOneSegment(Repeat("残", 68) + grin + "x"), Repeat("残", 68) + "…");
  EXPECT_EQ(FitOneSegment(Repeat("残", 69) + grin), Repeat("残", 69) + "…");
  EXPECT_EQ(FitOneSegment(Repeat(grin, 36)), Repeat(grin, 34) + "…");
}

TEST(SegmentsTest, FitOneSegmentDropsTrailingSpaceBeforeEllipsis) {
  EXPECT_EQ(FitOneSegment(Repeat("a", 68) + " " + Repeat("b", 100)), Repeat("a", 68) + "…");
  EXPECT_EQ(FitOneSegment(Repeat("残", 67) + "　 " + Repeat("残", 10)), Repeat("残", 67) + "…");
}

TEST(SegmentsTest, FitOneSegmentReplacesInvalidUtf8) {
  EXPECT_EQ(FitOneSegment("ok\xFF"), "ok\xEF\xBF\xBD");
  EXPECT_EQ(FitOneSegment(std::string(200, '\x80')), Repeat("\xEF\xBF\xBD", 69) + "…");
}

TEST(SegmentsTest, RandomTextAlwaysFitsOneSegment) {
  std::mt19937 rng(1127);
  const std::string pieces[] = {"a", " ", "€", "残", "\xF0\x9F\x98\x80", "\xE6\xAE", "\xFF", "é"};
  std::uniform_int_distribution<size_t> piece(0, std::size(pieces) - 1);
  std::uniform_int_distribution<int> len(0, 250);
  for (int i = 0; i < 5000; ++i) {
    std::string s;
    for (int n = len(rng); n > 0; --n) s += pieces[piece(rng)];
    const std::string clean = Clean(s);
    const std::string fit = FitOneSegment(s);
    EXPECT_EQ(SegmentsFor(fit), 1u) << s;
    EXPECT_EQ(FitOneSegment(fit), fit) << s;
    if (SegmentsFor(s) == 1) {
      EXPECT_EQ(fit, clean);
    } else {
      ASSERT_TRUE(fit.ends_with("…")) << s;
      EXPECT_TRUE(clean.starts_with(fit.substr(0, fit.size() - 3))) << s;
      EXPECT_GE(Units(fit), 60u) << s;  // at most the dropped spaces are missing
    }
  }
}

}  // namespace
}  // namespace ryuryo::sms
