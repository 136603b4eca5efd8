#include "core/quantity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace ryuryo {
namespace {

using ::testing::HasSubstr;

uint64_t Bytes(std::string_view text) {
  uint64_t v = 12345;
  Status st = ParseBytes(text, &v);
  EXPECT_TRUE(st.ok()) << text << ": " << st.ToString();
  return v;
}

uint64_t Rate(std::string_view text) {
  uint64_t v = 12345;
  Status st = ParseRateBps(text, &v);
  EXPECT_TRUE(st.ok()) << text << ": " << st.ToString();
  return v;
}

int64_t Duration(std::string_view text) {
  int64_t v = 12345;
  Status st = ParseDurationMs(text, &v);
  EXPECT_TRUE(st.ok()) << text << ": " << st.ToString();
  return v;
}

uint32_t Percent(std::string_view text) {
  uint32_t v = 12345;
  Status st = ParsePercentBp(text, &v);
  EXPECT_TRUE(st.ok()) << text << ": " << st.ToString();
  return v;
}

// The error of a parse that must fail; the output must be left alone.
template <typename T, typename F>
Status Error(F parse, std::string_view text) {
  T v = 777;
  Status st = parse(text, &v);
  EXPECT_FALSE(st.ok()) << "'" << text << "' parsed as " << v;
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << text;
  EXPECT_EQ(v, T{777}) << text;
  return st;
}
Status BytesError(std::string_view text) { return Error<uint64_t>(ParseBytes, text); }
Status RateError(std::string_view text) { return Error<uint64_t>(ParseRateBps, text); }
Status DurationError(std::string_view text) { return Error<int64_t>(ParseDurationMs, text); }
Status PercentError(std::string_view text) { return Error<uint32_t>(ParsePercentBp, text); }

// ---- ParseBytes ----

TEST(ParseBytesTest, SiUnits) {
  EXPECT_EQ(Bytes("3 GB"), 3'000'000'000u);
  EXPECT_EQ(Bytes("3GB"), 3'000'000'000u);
  EXPECT_EQ(Bytes("500MB"), 500'000'000u);
  EXPECT_EQ(Bytes("1 B"), 1u);
  EXPECT_EQ(Bytes("1 kB"), 1'000u);
  EXPECT_EQ(Bytes("1 KB"), 1'000u);
  EXPECT_EQ(Bytes("2 TB"), 2'000'000'000'000u);
  EXPECT_EQ(Bytes("1 PB"), kQuantityBytesMax);
  EXPECT_EQ(Bytes("1000 TB"), kQuantityBytesMax);
}

TEST(ParseBytesTest, IecUnits) {
  EXPECT_EQ(Bytes("1 KiB"), 1024u);
  EXPECT_EQ(Bytes("1 MiB"), 1u << 20);
  EXPECT_EQ(Bytes("1.5 GiB"), 1'610'612'736u);
  EXPECT_EQ(Bytes("1 TiB"), 1ULL << 40);
  EXPECT_EQ(Bytes("0.5 KiB"), 512u);
  EXPECT_EQ(Bytes("0.25 PiB"), 1ULL << 48);
  EXPECT_EQ(Bytes("888 TiB"), 888ULL << 40);  // just under 1 PB
}

TEST(ParseBytesTest, CaseInsensitiveUnits) {
  EXPECT_EQ(Bytes("3 gb"), 3'000'000'000u);
  EXPECT_EQ(Bytes("3 GB"), 3'000'000'000u);
  EXPECT_EQ(Bytes("5 mb"), 5'000'000u);
  EXPECT_EQ(Bytes("5 kb"), 5'000u);
  EXPECT_EQ(Bytes("5 B"), 5u);
  EXPECT_EQ(Bytes("1 gib"), 1u << 30);
  EXPECT_EQ(Bytes("1 GIB"), 1u << 30);
  EXPECT_EQ(Bytes("1 kib"), 1024u);
  EXPECT_EQ(Bytes("1 tB"), 1'000'000'000'000u);
}

TEST(ParseBytesTest, PlainNumbersAreBytes) {
  EXPECT_EQ(Bytes("1024"), 1024u);
  EXPECT_EQ(Bytes("0"), 0u);
  EXPECT_EQ(Bytes("0 B"), 0u);
  EXPECT_EQ(Bytes("007 MB"), 7'000'000u);
  EXPECT_EQ(Bytes("1000000000000000"), kQuantityBytesMax);
}

TEST(ParseBytesTest, Whitespace) {
  EXPECT_EQ(Bytes("  3 GB  "), 3'000'000'000u);
  EXPECT_EQ(Bytes("\t3\tGB\n"), 3'000'000'000u);
  EXPECT_EQ(Bytes("3    GB"), 3'000'000'000u);
  EXPECT_EQ(Bytes(" 42 "), 42u);
}

TEST(ParseBytesTest, DecimalsAreExact) {
  EXPECT_EQ(Bytes("1.1 GB"), 1'100'000'000u);
  EXPECT_EQ(Bytes("0.3 GB"), 300'000'000u);
  EXPECT_EQ(Bytes("1.5 kB"), 1'500u);
  EXPECT_EQ(Bytes("1.50 kB"), 1'500u);
  EXPECT_EQ(Bytes("0.001 kB"), 1u);
  EXPECT_EQ(Bytes("2.000000000000000000000000 B"), 2u);  // trailing zeros are free
  EXPECT_EQ(Bytes("1.0"), 1u);
  EXPECT_EQ(Bytes("999.999999999999 TB"), kQuantityBytesMax - 1);
  EXPECT_EQ(Bytes("0.000000000000001 PB"), 1u);
}

TEST(ParseBytesTest, NotWholeBytes) {
  EXPECT_THAT(BytesError("1.5").message(), HasSubstr("whole number of bytes"));
  EXPECT_THAT(BytesError("1.5 B").message(), HasSubstr("'1.5 B'"));
  BytesError("0.0001 kB");
  BytesError("0.3 KiB");
  BytesError("1.0000000001 GB");
  BytesError("0.0000000000000001 PB");
  EXPECT_THAT(BytesError("1.0000000000000000000001 GiB").message(), HasSubstr("decimal places"));
}

TEST(ParseBytesTest, BitsAreNotBytes) {
  for (std::string_view text : {"3 Gb", "3Mb", "3 Kb", "3 b", "3b", "3 Gib", "1 bit", "1 bits",
                                "1 Mbit", "1 gbit", "2 kbits"}) {
    EXPECT_THAT(BytesError(text).message(), HasSubstr("bits are not bytes")) << text;
  }
  EXPECT_THAT(BytesError("3 Gb").message(), HasSubstr("'3 Gb'"));
  EXPECT_THAT(BytesError("3 Gb").message(), HasSubstr("GB"));
  EXPECT_THAT(BytesError("3 kbps").message(), HasSubstr("rate"));
}

TEST(ParseBytesTest, UnknownUnits) {
  EXPECT_THAT(BytesError("3 XB").message(), HasSubstr("unknown unit 'XB'"));
  BytesError("3 G");
  BytesError("3 G B");
  BytesError("3 GBB");
  BytesError("3 GB extra");
  BytesError("3 GB 4 GB");
  BytesError("1e9");
  BytesError("1E3 B");
  BytesError("0x10");
  BytesError("1,000 B");
  BytesError("1_000");
  BytesError("3 bytes");
  BytesError("1..5 GB");
  BytesError("1.5.5 GB");
  BytesError("3 EB");
}

TEST(ParseBytesTest, NotNumbers) {
  EXPECT_THAT(BytesError("").message(), HasSubstr("empty"));
  EXPECT_THAT(BytesError("   ").message(), HasSubstr("empty"));
  EXPECT_THAT(BytesError("GB").message(), HasSubstr("not a number"));
  BytesError("nan");
  BytesError("NaN GB");
  BytesError("inf");
  BytesError("infinity GB");
  BytesError("+1 GB");
  BytesError(".5 GB");
  BytesError("1. GB");
  BytesError(". GB");
  BytesError("one GB");
  BytesError(std::string_view("3\0 GB", 5));
  BytesError("３ GB");  // full-width digit
}

TEST(ParseBytesTest, Negative) {
  EXPECT_THAT(BytesError("-1 GB").message(), HasSubstr("negative"));
  EXPECT_THAT(BytesError("-1 GB").message(), HasSubstr("'-1 GB'"));
  BytesError("-0");
  BytesError(" -3GB");
  BytesError("-nan");
}

TEST(ParseBytesTest, TooLarge) {
  EXPECT_THAT(BytesError("1000000000000001").message(), HasSubstr("too large"));
  BytesError("1 PiB");  // 2^50 > 10^15
  BytesError("1.000000000000001 PB");
  BytesError("1001 TB");
  BytesError("18446744073709551615");
  BytesError("18446744073709551616");
  BytesError("99999999999999999999999999999999 GB");
  BytesError("18446744073709551615 PB");
  BytesError("18446744073.709551615 GB");
  EXPECT_THAT(BytesError("99999999999999999999999999999999.5").message(), HasSubstr("too large"));
}

TEST(ParseBytesTest, LongInputIsQuotedShortly) {
  std::string text(10'000, '9');
  Status st = BytesError(text);
  EXPECT_LT(st.message().size(), 200u);
  EXPECT_THAT(st.message(), HasSubstr("..."));
}

TEST(ParseBytesTest, ControlAndNonAsciiBytesAreEscapedInMessages) {
  Status st = BytesError("3 \xff\x01GB");
  EXPECT_THAT(st.message(), HasSubstr("\\xff\\x01"));
  for (char c : st.message()) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
}

// ---- ParseRateBps ----

TEST(ParseRateTest, Units) {
  EXPECT_EQ(Rate("128 kbps"), 128'000u);
  EXPECT_EQ(Rate("1 Mbps"), 1'000'000u);
  EXPECT_EQ(Rate("1.5Mbps"), 1'500'000u);
  EXPECT_EQ(Rate("64000 bps"), 64'000u);
  EXPECT_EQ(Rate("1 Gbps"), 1'000'000'000u);
  EXPECT_EQ(Rate("0 bps"), 0u);
  EXPECT_EQ(Rate("0.5 kbps"), 500u);
  EXPECT_EQ(Rate("  300 kbps  "), 300'000u);
}

TEST(ParseRateTest, CaseInsensitive) {
  EXPECT_EQ(Rate("1 mbps"), 1'000'000u);
  EXPECT_EQ(Rate("1 MBPS"), 1'000'000u);
  EXPECT_EQ(Rate("128 Kbps"), 128'000u);
  EXPECT_EQ(Rate("2 GBPS"), 2'000'000'000u);
}

TEST(ParseRateTest, BitPerSecondForms) {
  EXPECT_EQ(Rate("128 kbit/s"), 128'000u);
  EXPECT_EQ(Rate("1 Mbit/s"), 1'000'000u);
  EXPECT_EQ(Rate("1 Gbit/s"), 1'000'000'000u);
  EXPECT_EQ(Rate("100 bit/s"), 100u);
  EXPECT_EQ(Rate("3 mbit/s"), 3'000'000u);
}

TEST(ParseRateTest, Errors) {
  EXPECT_THAT(RateError("128").message(), HasSubstr("missing unit"));
  EXPECT_THAT(RateError("1 MBps").message(), HasSubstr("bytes per second"));
  EXPECT_THAT(RateError("1 MB").message(), HasSubstr("unknown unit 'MB'"));
  EXPECT_THAT(RateError("0.0005 kbps").message(), HasSubstr("whole"));
  EXPECT_THAT(RateError("-1 kbps").message(), HasSubstr("negative"));
  RateError("");
  RateError("kbps");
  RateError("1 kbps x");
  RateError("1 kb/s");
  RateError("nan Mbps");
  RateError("inf bps");
  RateError("1e6 bps");
  RateError("99999999999999999999 Gbps");
  RateError("1000001 Gbps");
  EXPECT_EQ(Rate("1000000 Gbps"), 1'000'000'000'000'000u);
}

// ---- ParseDurationMs ----

TEST(ParseDurationTest, SingleUnits) {
  EXPECT_EQ(Duration("8d"), 691'200'000);
  EXPECT_EQ(Duration("90m"), 5'400'000);
  EXPECT_EQ(Duration("45s"), 45'000);
  EXPECT_EQ(Duration("2w"), 1'209'600'000);
  EXPECT_EQ(Duration("500ms"), 500);
  EXPECT_EQ(Duration("1h"), 3'600'000);
  EXPECT_EQ(Duration("0s"), 0);
  EXPECT_EQ(Duration("0ms"), 0);
  EXPECT_EQ(Duration(" 5 m "), 300'000);
}

TEST(ParseDurationTest, Compound) {
  EXPECT_EQ(Duration("1h30m"), 5'400'000);
  EXPECT_EQ(Duration("1d12h"), 129'600'000);
  EXPECT_EQ(Duration("1h 30m"), 5'400'000);
  EXPECT_EQ(Duration("1w2d3h4m5s6ms"), ((((7 + 2) * 24 + 3) * 60 + 4) * 60 + 5) * 1000LL + 6);
  EXPECT_EQ(Duration("2m30s"), 150'000);
  EXPECT_EQ(Duration("1s500ms"), 1'500);
}

TEST(ParseDurationTest, Decimals) {
  EXPECT_EQ(Duration("1.5h"), 5'400'000);
  EXPECT_EQ(Duration("0.5s"), 500);
  EXPECT_EQ(Duration("0.001s"), 1);
  EXPECT_EQ(Duration("1.5d12h"), 172'800'000);
  EXPECT_THAT(DurationError("1.0001s").message(), HasSubstr("whole number of milliseconds"));
  DurationError("0.5ms");
}

TEST(ParseDurationTest, Errors) {
  EXPECT_THAT(DurationError("90").message(), HasSubstr("missing unit"));
  EXPECT_THAT(DurationError("90").message(), HasSubstr("'90'"));
  EXPECT_THAT(DurationError("1x").message(), HasSubstr("unknown unit 'x'"));
  EXPECT_THAT(DurationError("30m1h").message(), HasSubstr("largest to smallest"));
  EXPECT_THAT(DurationError("-5m").message(), HasSubstr("negative"));
  DurationError("");
  DurationError("  ");
  DurationError("1M");
  DurationError("1H");
  DurationError("1h1h");
  DurationError("1h30");
  DurationError("h");
  DurationError("1h-5m");
  DurationError("1 hour");
  DurationError("1min");
  DurationError("1h,30m");
  DurationError("nan s");
  DurationError("inf h");
  DurationError("1e3ms");
  DurationError("1.h");
}

TEST(ParseDurationTest, Overflow) {
  EXPECT_EQ(Duration("9223372036854775807ms"), std::numeric_limits<int64_t>::max());
  EXPECT_THAT(DurationError("9223372036854775808ms").message(), HasSubstr("too large"));
  DurationError("16000000000w");
  DurationError("99999999999999999999999d");
  DurationError("15250w 9223372036854775807ms");
}

// ---- ParsePercentBp ----

TEST(ParsePercentTest, Values) {
  EXPECT_EQ(Percent("80%"), 8000u);
  EXPECT_EQ(Percent("12.5%"), 1250u);
  EXPECT_EQ(Percent("0%"), 0u);
  EXPECT_EQ(Percent("100%"), 10000u);
  EXPECT_EQ(Percent("100.00%"), 10000u);
  EXPECT_EQ(Percent("0.01%"), 1u);
  EXPECT_EQ(Percent(" 50 % "), 5000u);
}

TEST(ParsePercentTest, Errors) {
  EXPECT_THAT(PercentError("101%").message(), HasSubstr("out of range"));
  EXPECT_THAT(PercentError("80").message(), HasSubstr("'%'"));
  EXPECT_THAT(PercentError("12.345%").message(), HasSubstr("basis points"));
  EXPECT_THAT(PercentError("-1%").message(), HasSubstr("negative"));
  PercentError("100.01%");
  PercentError("80 percent");
  PercentError("%");
  PercentError("");
  PercentError("80%%");
  PercentError("nan%");
  PercentError("99999999999999999999999%");
}

// ---- Formatting ----

TEST(FormatBytesTest, Examples) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1), "1 B");
  EXPECT_EQ(FormatBytes(999), "999 B");
  EXPECT_EQ(FormatBytes(1000), "1 kB");
  EXPECT_EQ(FormatBytes(1500), "1.5 kB");
  EXPECT_EQ(FormatBytes(3'000'000'000), "3 GB");
  EXPECT_EQ(FormatBytes(1'234'567'890), "1.23 GB");
  EXPECT_EQ(FormatBytes(12'345'678), "12.3 MB");
  EXPECT_EQ(FormatBytes(123'456'789), "123 MB");
  EXPECT_EQ(FormatBytes(1'100'000'000), "1.1 GB");
  EXPECT_EQ(FormatBytes(2'000'000'000'000), "2 TB");
  EXPECT_EQ(FormatBytes(kQuantityBytesMax), "1 PB");
}

TEST(FormatBytesTest, RoundsHalfUpToThreeSignificantDigits) {
  EXPECT_EQ(FormatBytes(1004), "1 kB");
  EXPECT_EQ(FormatBytes(1005), "1.01 kB");
  EXPECT_EQ(FormatBytes(1234), "1.23 kB");
  EXPECT_EQ(FormatBytes(1235), "1.24 kB");
  EXPECT_EQ(FormatBytes(12'349), "12.3 kB");
  EXPECT_EQ(FormatBytes(12'350), "12.4 kB");
  EXPECT_EQ(FormatBytes(123'499), "123 kB");
  EXPECT_EQ(FormatBytes(123'500), "124 kB");
  EXPECT_EQ(FormatBytes(1'999'999), "2 MB");
  EXPECT_EQ(FormatBytes(10'000), "10 kB");
  EXPECT_EQ(FormatBytes(10'100), "10.1 kB");
  EXPECT_EQ(FormatBytes(1'010'000'000), "1.01 GB");
}

TEST(FormatBytesTest, RoundingCarriesIntoTheNextDigitOrUnit) {
  EXPECT_EQ(FormatBytes(9'995), "10 kB");
  EXPECT_EQ(FormatBytes(99'950), "100 kB");
  EXPECT_EQ(FormatBytes(999'499), "999 kB");
  EXPECT_EQ(FormatBytes(999'500), "1 MB");
  EXPECT_EQ(FormatBytes(999'999), "1 MB");
  EXPECT_EQ(FormatBytes(999'999'999'999'999), "1 PB");
}

TEST(FormatBytesTest, BeyondTheLargestUnit) {
  EXPECT_EQ(FormatBytes(1'500'000'000'000'000), "1.5 PB");
  EXPECT_EQ(FormatBytes(999'500'000'000'000'000), "1000 PB");
  EXPECT_EQ(FormatBytes(1'234'000'000'000'000'000), "1230 PB");
  EXPECT_EQ(FormatBytes(std::numeric_limits<uint64_t>::max()), "18400 PB");
}

TEST(FormatRateTest, Examples) {
  EXPECT_EQ(FormatRate(128'000), "128 kbps");
  EXPECT_EQ(FormatRate(1'000'000), "1 Mbps");
  EXPECT_EQ(FormatRate(1'500'000), "1.5 Mbps");
  EXPECT_EQ(FormatRate(0), "0 bps");
  EXPECT_EQ(FormatRate(999), "999 bps");
  EXPECT_EQ(FormatRate(64'000), "64 kbps");
  EXPECT_EQ(FormatRate(1'000'000'000), "1 Gbps");
  EXPECT_EQ(FormatRate(2'500'000'000'000), "2500 Gbps");
  EXPECT_EQ(FormatRate(999'999), "1 Mbps");
  EXPECT_EQ(FormatRate(std::numeric_limits<uint64_t>::max()), "18400000000 Gbps");
}

TEST(FormatDurationTest, LargestExactUnit) {
  EXPECT_EQ(FormatDuration(691'200'000), "8d");
  EXPECT_EQ(FormatDuration(5'400'000), "90m");
  EXPECT_EQ(FormatDuration(3'600'000), "1h");
  EXPECT_EQ(FormatDuration(1'500), "1500ms");
  EXPECT_EQ(FormatDuration(1'000), "1s");
  EXPECT_EQ(FormatDuration(45'000), "45s");
  EXPECT_EQ(FormatDuration(1), "1ms");
  EXPECT_EQ(FormatDuration(1'209'600'000), "14d");  // weeks are printed as days
  EXPECT_EQ(FormatDuration(129'600'000), "36h");
  EXPECT_EQ(FormatDuration(0), "0s");
}

TEST(FormatDurationTest, NegativeAndExtreme) {
  EXPECT_EQ(FormatDuration(-5'400'000), "-90m");
  EXPECT_EQ(FormatDuration(-1), "-1ms");
  EXPECT_EQ(FormatDuration(std::numeric_limits<int64_t>::max()), "9223372036854775807ms");
  EXPECT_EQ(FormatDuration(std::numeric_limits<int64_t>::min()), "-9223372036854775808ms");
}

TEST(FormatPercentTest, Examples) {
  EXPECT_EQ(FormatPercent(8000), "80%");
  EXPECT_EQ(FormatPercent(1250), "12.5%");
  EXPECT_EQ(FormatPercent(1205), "12.05%");
  EXPECT_EQ(FormatPercent(1), "0.01%");
  EXPECT_EQ(FormatPercent(0), "0%");
  EXPECT_EQ(FormatPercent(10000), "100%");
  EXPECT_EQ(FormatPercent(4'294'967'295u), "42949672.95%");  // out of range, but no crash
}

// ---- Round trips ----

TEST(RoundTripTest, BytesThatFormatExactly) {
  for (uint64_t v : std::vector<uint64_t>{0, 1, 999, 1'000, 1'500, 12'300, 123'000'000,
                                          1'230'000'000, 3'000'000'000, 1'100'000'000,
                                          999'000'000'000'000, kQuantityBytesMax}) {
    uint64_t back = 0;
    ASSERT_TRUE(ParseBytes(FormatBytes(v), &back).ok()) << FormatBytes(v);
    EXPECT_EQ(back, v) << FormatBytes(v);
  }
}

TEST(RoundTripTest, BytesAreWithinRounding) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20'000; ++i) {
    uint64_t v = rng() % (kQuantityBytesMax + 1);
    v >>= rng() % 50;  // spread over all magnitudes
    std::string text = FormatBytes(v);
    uint64_t back = 0;
    ASSERT_TRUE(ParseBytes(text, &back).ok()) << v << " -> " << text;
    // 3 significant digits: off by at most half a unit in the third digit (0.5%).
    uint64_t diff = back > v ? back - v : v - back;
    EXPECT_LE(diff * 200, v) << v << " -> " << text;
  }
}

TEST(RoundTripTest, Rates) {
  for (uint64_t v : std::vector<uint64_t>{0, 999, 64'000, 128'000, 1'000'000, 1'500'000,
                                          1'000'000'000, 2'500'000'000'000}) {
    uint64_t back = 0;
    ASSERT_TRUE(ParseRateBps(FormatRate(v), &back).ok()) << FormatRate(v);
    EXPECT_EQ(back, v) << FormatRate(v);
  }
}

TEST(RoundTripTest, DurationsAreExact) {
  std::mt19937_64 rng(7);
  std::vector<int64_t> values = {
      0,          1,           999,           1'000,
      1'500,      60'000,      5'400'000,     3'600'000,
      86'400'000, 691'200'000, 1'209'600'000, std::numeric_limits<int64_t>::max()};
  for (int i = 0; i < 20'000; ++i) {
    int64_t unit = std::vector<int64_t>{1, 1'000, 60'000, 3'600'000, 86'400'000}[rng() % 5];
    values.push_back(static_cast<int64_t>(rng() % 1'000'000) * unit);
  }
  for (int64_t v : values) {
    int64_t back = -1;
    ASSERT_TRUE(ParseDurationMs(FormatDuration(v), &back).ok()) << FormatDuration(v);
    EXPECT_EQ(back, v) << FormatDuration(v);
  }
}

TEST(RoundTripTest, EveryPercent) {
  for (uint32_t bp = 0; bp <= 10'000; ++bp) {
    uint32_t back = 99'999;
    ASSERT_TRUE(ParsePercentBp(FormatPercent(bp), &back).ok()) << FormatPercent(bp);
    ASSERT_EQ(back, bp) << FormatPercent(bp);
  }
}

// ---- Robustness: arbitrary input never throws or crashes ----

TEST(RobustnessTest, RandomInputs) {
  static constexpr std::string_view kSeeds[] = {"3 GB",
                                                "1.5 GiB",
                                                "128 kbps",
                                                "1 Mbit/s",
                                                "1h30m",
                                                "500ms",
                                                "12.5%",
                                                "1024",
                                                "0.001 kB",
                                                "18446744073709551615",
                                                "-1",
                                                "nan",
                                                "1e9",
                                                " ",
                                                "",
                                                "1d12h",
                                                "9223372036854775807ms"};
  static constexpr char kAlphabet[] = "0123456789. -+eEkKmMgGtTpPiIbBsShHdDwW%/\t\x00\xff";
  std::mt19937_64 rng(1234);
  for (int i = 0; i < 50'000; ++i) {
    std::string text(kSeeds[rng() % std::size(kSeeds)]);
    int edits = static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      char c = kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
      size_t pos = text.empty() ? 0 : rng() % (text.size() + 1);
      switch (rng() % 3) {
        case 0:
          text.insert(pos, 1, c);
          break;
        case 1:
          if (pos < text.size()) text.erase(pos, 1);
          break;
        default:
          if (pos < text.size()) text[pos] = c;
          break;
      }
    }
    uint64_t u = 0;
    int64_t d = 0;
    uint32_t p = 0;
    Status sb = ParseBytes(text, &u);
    if (sb.ok()) {
      EXPECT_LE(u, kQuantityBytesMax) << text;
    }
    Status sr = ParseRateBps(text, &u);
    Status sd = ParseDurationMs(text, &d);
    if (sd.ok()) {
      EXPECT_GE(d, 0) << text;
    }
    Status sp = ParsePercentBp(text, &p);
    if (sp.ok()) {
      EXPECT_LE(p, 10'000u) << text;
    }
    for (const Status* st : {&sb, &sr, &sd, &sp}) {
      if (!st->ok()) {
        EXPECT_EQ(st->code(), Status::Code::kInvalidArgument);
        EXPECT_FALSE(st->message().empty());
      }
    }
  }
}

}  // namespace
}  // namespace ryuryo
