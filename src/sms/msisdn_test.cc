#include "sms/msisdn.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace ryuryo::sms {
namespace {

using ::testing::HasSubstr;

std::string Norm(std::string_view input, std::string_view cc = "81") {
  std::string out = "unchanged";
  Status st = NormalizeMsisdn(input, cc, &out);
  EXPECT_TRUE(st.ok()) << input << ": " << st.ToString();
  return out;
}

// The error message for `input`, or "" when it is accepted.
std::string Error(std::string_view input, std::string_view cc = "81") {
  std::string out = "unchanged";
  Status st = NormalizeMsisdn(input, cc, &out);
  if (st.ok()) return "";
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(out, "unchanged");
  return st.message();
}

TEST(MsisdnTest, EveryFormGivesTheSameDigits) {
  for (const char* in : {"+81 90-1234-5678", "+819012345678", "+81.90.1234.5678",
                         "+81 (90) 1234-5678", "090-1234-5678", "09012345678", "090 1234 5678",
                         "(090) 1234-5678", "81 90 1234 5678", "819012345678", " 81-90-1234-5678 ",
                         "\t+81\xC2\xA0"
                         "90 1234 5678"}) {
    EXPECT_EQ(Norm(in), "819012345678") << in;
  }
}

TEST(MsisdnTest, FullWidthForms) {
  EXPECT_EQ(Norm("０９０－１２３４－５６７８"), "819012345678");
  EXPECT_EQ(Norm("＋８１　９０　１２３４　５６７８"), "819012345678");
  EXPECT_EQ(Norm("（０９０）１２３４．５６７８"), "819012345678");
  EXPECT_EQ(Norm("090ー1234ー5678"), "819012345678");  // ー typed for '-'
  EXPECT_EQ(Norm("090\xE2\x80\x90"
                 "1234\xE2\x88\x92"
                 "5678"),
            "819012345678");  // ‐ and −
}

TEST(MsisdnTest, DefaultCountryCodeIsUsedForNationalNumbers) {
  EXPECT_EQ(Norm("0131 496 0000", "44"), "441314960000");
  EXPECT_EQ(Norm("138 0013 8000", "86"), "13800138000");  // no trunk 0: taken as international
  EXPECT_EQ(Norm("0138 0013 8000", "86"), "8613800138000");
  EXPECT_EQ(Norm("+1 (415) 555-0100", "81"), "14155550100");
  EXPECT_EQ(Norm("03-1234-5678"), "81312345678");
  // The trunk 0 kept after the default country code is dropped; after another one it is kept.
  EXPECT_EQ(Norm("+81 090-1234-5678"), "819012345678");
  EXPECT_EQ(Norm("+44 0131 496 0000", "44"), "441314960000");
  EXPECT_EQ(Norm("+39 06 1234 5678", "81"), "390612345678");
}

TEST(MsisdnTest, RejectsLettersAndOtherCharacters) {
  EXPECT_THAT(Error("090-CALL-NOW"), HasSubstr("letters are not allowed ('C')"));
  EXPECT_THAT(Error("ｘ09012345678"), HasSubstr("letters are not allowed ('x')"));
  EXPECT_THAT(Error("090/1234/5678"), HasSubstr("unexpected character ('/')"));
  EXPECT_THAT(Error("090*1234"), HasSubstr("unexpected character ('*')"));
  EXPECT_THAT(Error("09012345678\xFF"), HasSubstr("unexpected character (U+FFFD)"));
  EXPECT_THAT(Error("〇九〇12345678"), HasSubstr("unexpected character (U+3007)"));
  EXPECT_THAT(Error(std::string("0901234\0"
                                "5678",
                                12)),
              HasSubstr("(U+0000)"));
}

TEST(MsisdnTest, RejectsMisplacedPlus) {
  EXPECT_THAT(Error("++819012345678"), HasSubstr("more than one '+'"));
  EXPECT_THAT(Error("81+9012345678"), HasSubstr("'+' after a digit"));
  EXPECT_THAT(Error("+09012345678"), HasSubstr("country code cannot start with 0"));
  EXPECT_THAT(Error("+"), HasSubstr("no digits"));
}

TEST(MsisdnTest, RejectsInternationalDiallingPrefixes) {
  EXPECT_THAT(Error("0081 90 1234 5678"), HasSubstr("prefix 00"));
  EXPECT_THAT(Error("010 1 415 555 0100"), HasSubstr("prefix 010"));
  EXPECT_EQ(Norm("010 1234 5678", "44"), "441012345678");  // 010 is Japan's prefix only
}

TEST(MsisdnTest, LengthLimits) {
  EXPECT_THAT(Error(""), HasSubstr("no digits"));
  EXPECT_THAT(Error(" - "), HasSubstr("no digits"));
  EXPECT_EQ(Norm("12345678"), "12345678");  // 8 digits
  EXPECT_THAT(Error("1234567"), HasSubstr("too short (7 digits"));
  EXPECT_THAT(Error("012345"), HasSubstr("too short (7 digits"));  // 81 + 12345
  EXPECT_EQ(Norm("0123456"), "81123456");                          // 81 + 123456
  EXPECT_EQ(Norm("123456789012345"), "123456789012345");           // 15 digits
  EXPECT_THAT(Error("1234567890123456"), HasSubstr("too long (16 digits"));
  EXPECT_THAT(Error("0901234567890123"), HasSubstr("too long (17 digits"));
  EXPECT_THAT(Error(std::string(kMsisdnInputBytesMax + 1, ' ') + "819012345678"),
              HasSubstr("longer than 64 bytes"));
}

TEST(MsisdnTest, RejectsBadDefaultCountryCode) {
  for (const char* cc : {"", "0", "081", "1234", "+81", "8a", "８１"}) {
    EXPECT_THAT(Error("09012345678", cc), HasSubstr("default country code")) << cc;
  }
  EXPECT_EQ(Norm("0412 345 678", "61"), "61412345678");
  EXPECT_EQ(Norm("030 123456", "1"), "130123456");
  EXPECT_EQ(Norm("0612345678", "358"), "358612345678");
}

}  // namespace
}  // namespace ryuryo::sms
