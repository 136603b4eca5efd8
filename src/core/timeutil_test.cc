#include "core/timeutil.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <utility>

namespace ryuryo {
namespace {

using ::testing::HasSubstr;

constexpr Millis kNov27Utc = 1'795'737'600'000;  // 2026-11-27T00:00:00Z

Millis At(std::string_view text) {
  Millis at = -42;
  Status st = ParseRfc3339(text, &at);
  EXPECT_TRUE(st.ok()) << text << ": " << st.ToString();
  return at;
}

Status ParseError(std::string_view text) {
  Millis at = -42;
  Status st = ParseRfc3339(text, &at);
  EXPECT_FALSE(st.ok()) << "'" << text << "' parsed as " << at;
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << text;
  EXPECT_EQ(at, -42) << text;
  return st;
}

Zone Find(std::string_view name) {
  Zone z;
  Status st = Zone::Find(name, &z);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return z;
}

// ---- ParseRfc3339 ----

TEST(ParseRfc3339Test, Offsets) {
  EXPECT_EQ(At("2026-11-27T00:00:00Z"), kNov27Utc);
  EXPECT_EQ(At("2026-11-27T09:00:00+09:00"), kNov27Utc);
  EXPECT_EQ(At("2026-11-26T19:00:00-05:00"), kNov27Utc);
  EXPECT_EQ(At("2026-11-27T05:30:00+05:30"), kNov27Utc);
  EXPECT_EQ(At("2026-11-27T00:00:00+00:00"), kNov27Utc);
  EXPECT_EQ(At("2026-11-27T00:00:00-00:00"), kNov27Utc);
  EXPECT_EQ(At("2026-11-27T23:59:00+23:59"), kNov27Utc);
}

TEST(ParseRfc3339Test, LenientSeparators) {
  EXPECT_EQ(At("2026-11-27t00:00:00z"), kNov27Utc);
  EXPECT_EQ(At("2026-11-27 09:00:00+09:00"), kNov27Utc);
  EXPECT_EQ(At("2026-11-27T00:00:00z"), kNov27Utc);
}

TEST(ParseRfc3339Test, FractionsAreTruncatedToMillis) {
  EXPECT_EQ(At("2026-11-27T00:00:00.5Z"), kNov27Utc + 500);
  EXPECT_EQ(At("2026-11-27T00:00:00.12Z"), kNov27Utc + 120);
  EXPECT_EQ(At("2026-11-27T00:00:00.123Z"), kNov27Utc + 123);
  EXPECT_EQ(At("2026-11-27T00:00:00.1239Z"), kNov27Utc + 123);
  EXPECT_EQ(At("2026-11-27T00:00:00.999999999Z"), kNov27Utc + 999);
  EXPECT_EQ(At("2026-11-27T09:00:00.000000000000000000000001+09:00"), kNov27Utc);
  EXPECT_EQ(At("2026-11-27T08:59:59.999+09:00"), kNov27Utc - 1);
}

TEST(ParseRfc3339Test, KnownInstants) {
  EXPECT_EQ(At("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(At("1970-01-01T00:00:00.001Z"), 1);
  EXPECT_EQ(At("2028-02-29T00:00:00Z"), 1'835'395'200'000);
  EXPECT_EQ(At("9999-12-31T23:59:59Z"), 253'402'300'799'000);
  EXPECT_EQ(At("2000-02-29T12:00:00Z"), 951'825'600'000);
}

TEST(ParseRfc3339Test, MissingOffsetSaysSo) {
  EXPECT_THAT(ParseError("2026-11-27T09:00:00").message(), HasSubstr("missing UTC offset"));
  EXPECT_THAT(ParseError("2026-11-27T09:00:00").message(), HasSubstr("'2026-11-27T09:00:00'"));
  EXPECT_THAT(ParseError("2026-11-27T09:00:00.123").message(), HasSubstr("missing UTC offset"));
  EXPECT_THAT(ParseError("2026-11-27T09:00:00 JST").message(), HasSubstr("missing UTC offset"));
}

TEST(ParseRfc3339Test, InvalidDatesAndTimes) {
  EXPECT_THAT(ParseError("2026-02-30T00:00:00Z").message(), HasSubstr("day"));
  EXPECT_THAT(ParseError("2026-13-01T00:00:00Z").message(), HasSubstr("month"));
  EXPECT_THAT(ParseError("2026-11-27T24:00:00Z").message(), HasSubstr("hour"));
  EXPECT_THAT(ParseError("2026-11-27T23:60:00Z").message(), HasSubstr("minute"));
  EXPECT_THAT(ParseError("2026-11-27T23:59:60Z").message(), HasSubstr("second"));
  ParseError("2026-00-01T00:00:00Z");
  ParseError("2026-01-00T00:00:00Z");
  ParseError("2026-04-31T00:00:00Z");
  ParseError("2027-02-29T00:00:00Z");
  ParseError("2100-02-29T00:00:00Z");
  ParseError("2026-01-32T00:00:00Z");
  EXPECT_EQ(At("2028-02-29T00:00:00Z"), 1'835'395'200'000);
  EXPECT_EQ(At("2000-02-29T00:00:00Z"), 951'782'400'000);
}

TEST(ParseRfc3339Test, YearRange) {
  EXPECT_THAT(ParseError("1969-12-31T23:59:59Z").message(), HasSubstr("year"));
  EXPECT_THAT(ParseError("1970-01-01T08:59:59+09:00").message(), HasSubstr("out of range"));
  EXPECT_THAT(ParseError("9999-12-31T23:00:00-01:00").message(), HasSubstr("out of range"));
  EXPECT_EQ(At("1970-01-01T09:00:00+09:00"), 0);
  EXPECT_EQ(At("9999-12-31T23:59:59.999+00:00"), 253'402'300'799'999);
  ParseError("0000-01-01T00:00:00Z");
  ParseError("10000-01-01T00:00:00Z");
  ParseError("-001-01-01T00:00:00Z");
}

TEST(ParseRfc3339Test, BadOffsets) {
  ParseError("2026-11-27T09:00:00+0900");
  ParseError("2026-11-27T09:00:00+09");
  ParseError("2026-11-27T09:00:00+9:00");
  ParseError("2026-11-27T09:00:00+24:00");
  ParseError("2026-11-27T09:00:00+09:60");
  ParseError("2026-11-27T09:00:00+09:00:00");
  ParseError("2026-11-27T09:00:00ZZ");
  ParseError("2026-11-27T09:00:00Z ");
  ParseError("2026-11-27T09:00:00UTC");
  ParseError("2026-11-27T09:00:00+");
  ParseError("2026-11-27T09:00:00.Z");
  ParseError("2026-11-27T09:00:00.+09:00");
}

TEST(ParseRfc3339Test, Malformed) {
  ParseError("");
  ParseError("2026");
  EXPECT_THAT(ParseError("2026-11-27").message(), HasSubstr("missing"));
  ParseError("2026-11-27T");
  ParseError("2026-11-27T09:00Z");
  ParseError("2026-11-27T9:00:00Z");
  ParseError("2026-1-27T09:00:00Z");
  ParseError("2026/11/27T09:00:00Z");
  ParseError("2026-11-27X09:00:00Z");
  ParseError("2026-11-27T09-00-00Z");
  ParseError(" 2026-11-27T09:00:00Z");
  ParseError("2026-11-27T09:00:00\xff");
  ParseError("+2026-11-27T09:00:00Z");
  ParseError("２０２６-11-27T09:00:00Z");
  ParseError(std::string_view("2026-11-27T09:00:00\0Z", 21));
  ParseError("1764201600000");
}

TEST(ParseRfc3339Test, LongGarbageIsQuotedShortly) {
  std::string text = "2026-11-27T09:00:00Z" + std::string(10'000, 'x');
  EXPECT_LT(ParseError(text).message().size(), 200u);
}

TEST(ParseRfc3339Test, RandomMutationsNeverCrash) {
  static constexpr std::string_view kSeeds[] = {
      "2026-11-27T09:00:00+09:00", "2026-11-27T00:00:00.123Z", "2028-02-29 23:59:59-12:00",
      "1970-01-01T00:00:00Z", "9999-12-31T23:59:59.999999+14:00"};
  static constexpr char kAlphabet[] = "0123456789-:+.TtZz \x00\xff";
  std::mt19937_64 rng(99);
  for (int i = 0; i < 100'000; ++i) {
    std::string text(kSeeds[rng() % std::size(kSeeds)]);
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      char c = kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
      size_t pos = rng() % (text.size() + 1);
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
    Millis at = 0;
    Status st = ParseRfc3339(text, &at);
    if (st.ok()) {
      // Whatever was accepted is a sane instant that prints and parses back.
      EXPECT_GE(at, 0) << text;
      EXPECT_LT(at, 253'402'300'800'000) << text;
      Millis back = 0;
      ASSERT_TRUE(ParseRfc3339(FormatRfc3339Utc(at), &back).ok()) << text;
      EXPECT_EQ(back, at) << text;
    } else {
      EXPECT_FALSE(st.message().empty());
    }
  }
}

// ---- FormatRfc3339Utc ----

TEST(FormatRfc3339UtcTest, Examples) {
  EXPECT_EQ(FormatRfc3339Utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339Utc(kNov27Utc), "2026-11-27T00:00:00Z");
  EXPECT_EQ(FormatRfc3339Utc(kNov27Utc + 123), "2026-11-27T00:00:00.123Z");
  EXPECT_EQ(FormatRfc3339Utc(kNov27Utc + 5), "2026-11-27T00:00:00.005Z");
  EXPECT_EQ(FormatRfc3339Utc(kNov27Utc + 500), "2026-11-27T00:00:00.500Z");
  EXPECT_EQ(FormatRfc3339Utc(1'835'395'200'000 + 86'399'999), "2028-02-29T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339Utc(-1), "1969-12-31T23:59:59.999Z");
}

TEST(FormatRfc3339UtcTest, ExtremesDoNotCrash) {
  EXPECT_EQ(FormatRfc3339Utc(std::numeric_limits<Millis>::max()), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339Utc(std::numeric_limits<Millis>::min()), "0001-01-01T00:00:00Z");
}

TEST(FormatRfc3339UtcTest, RoundTrip) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 50'000; ++i) {
    Millis at = static_cast<Millis>(rng() % 253'402'300'800'000ULL);
    Millis back = -1;
    ASSERT_TRUE(ParseRfc3339(FormatRfc3339Utc(at), &back).ok()) << FormatRfc3339Utc(at);
    ASSERT_EQ(back, at) << FormatRfc3339Utc(at);
  }
}

// ---- Zone ----

TEST(ZoneTest, Find) {
  Zone z;
  ASSERT_TRUE(Zone::Find("Europe/Berlin", &z).ok());
  EXPECT_TRUE(z.valid());
  EXPECT_EQ(z.name(), "Europe/Berlin");
  EXPECT_EQ(Find("America/New_York").name(), "America/New_York");
}

TEST(ZoneTest, UnknownZoneIsAnErrorNamingIt) {
  Zone z;
  Status st = Zone::Find("Mars/Olympus_Mons", &z);
  EXPECT_EQ(st.code(), Status::Code::kNotFound);
  EXPECT_THAT(st.message(), HasSubstr("Mars/Olympus_Mons"));
  EXPECT_FALSE(z.valid());
  EXPECT_EQ(Zone::Find("", &z).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Zone::Find("../../etc/passwd", &z).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Zone::Find("/etc/localtime", &z).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Zone::Find("Asia/Tokyo\n", &z).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Zone::Find(std::string(1000, 'A'), &z).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Zone::Find("asia/tokyo", &z).code(), Status::Code::kNotFound);
  EXPECT_EQ(Zone::Find("Asia", &z).code(), Status::Code::kNotFound);
  EXPECT_FALSE(z.valid());
}

TEST(ZoneTest, DefaultZoneIsInvalidAndActsAsUtc) {
  Zone z;
  EXPECT_FALSE(z.valid());
  EXPECT_EQ(z.name(), "");
  EXPECT_EQ(z.OffsetSecondsAt(kNov27Utc), 0);
  EXPECT_EQ(z.DateAt(kNov27Utc), (LocalDate{2026, 11, 27}));
  EXPECT_EQ(z.StartOfDay({2026, 11, 27}), kNov27Utc);
  EXPECT_EQ(z.FormatRfc3339(kNov27Utc), "2026-11-27T00:00:00Z");
}

TEST(ZoneTest, TokyoAndUtc) {
  EXPECT_TRUE(Zone::Tokyo().valid());
  EXPECT_EQ(Zone::Tokyo().name(), "Asia/Tokyo");
  EXPECT_TRUE(Zone::Utc().valid());
  EXPECT_EQ(Zone::Tokyo().OffsetSecondsAt(kNov27Utc), 32'400);
  EXPECT_EQ(Zone::Utc().OffsetSecondsAt(kNov27Utc), 0);
}

TEST(ZoneTest, MinuteOfDayIsLocal) {
  EXPECT_EQ(Zone::Utc().MinuteOfDayAt(kNov27Utc), 0);
  EXPECT_EQ(Zone::Tokyo().MinuteOfDayAt(kNov27Utc), 9 * 60);
  EXPECT_EQ(Zone::Tokyo().MinuteOfDayAt(kNov27Utc - 1), 8 * 60 + 59);
  EXPECT_EQ(Zone::Utc().MinuteOfDayAt(kNov27Utc - 1), 23 * 60 + 59);
}

TEST(ZoneTest, TokyoMidnightIsNineHoursBeforeUtcMidnight) {
  const Zone tokyo = Zone::Tokyo();
  const Zone utc = Zone::Utc();
  EXPECT_EQ(utc.StartOfDay({2026, 11, 27}), kNov27Utc);
  EXPECT_EQ(tokyo.StartOfDay({2026, 11, 27}), kNov27Utc - 9 * kMillisPerHour);
  EXPECT_EQ(tokyo.StartOfDay({2026, 11, 27}), At("2026-11-27T00:00:00+09:00"));

  // 2026-11-26T15:00Z is midnight in Tokyo: already the 27th there, still the 26th in UTC.
  Millis tokyo_midnight = kNov27Utc - 9 * kMillisPerHour;
  EXPECT_EQ(tokyo.DateAt(tokyo_midnight), (LocalDate{2026, 11, 27}));
  EXPECT_EQ(tokyo.DateAt(tokyo_midnight - 1), (LocalDate{2026, 11, 26}));
  EXPECT_EQ(utc.DateAt(tokyo_midnight), (LocalDate{2026, 11, 26}));
  EXPECT_EQ(utc.DateAt(kNov27Utc - 1), (LocalDate{2026, 11, 26}));
  EXPECT_EQ(utc.DateAt(kNov27Utc), (LocalDate{2026, 11, 27}));
}

TEST(ZoneTest, FormatRfc3339) {
  EXPECT_EQ(Zone::Tokyo().FormatRfc3339(kNov27Utc), "2026-11-27T09:00:00+09:00");
  EXPECT_EQ(Zone::Utc().FormatRfc3339(kNov27Utc), "2026-11-27T00:00:00Z");
  EXPECT_EQ(Find("Etc/UTC").FormatRfc3339(kNov27Utc), "2026-11-27T00:00:00Z");
  EXPECT_EQ(Zone::Tokyo().FormatRfc3339(kNov27Utc + 999), "2026-11-27T09:00:00+09:00");
  EXPECT_EQ(Find("America/New_York").FormatRfc3339(kNov27Utc), "2026-11-26T19:00:00-05:00");
  EXPECT_EQ(Find("Europe/Berlin").FormatRfc3339(At("2026-07-01T12:00:00Z")),
            "2026-07-01T14:00:00+02:00");
  EXPECT_EQ(Find("Asia/Kolkata").FormatRfc3339(kNov27Utc), "2026-11-27T05:30:00+05:30");
  // London in winter is at +00:00 but is not UTC.
  EXPECT_EQ(Find("Europe/London").FormatRfc3339(kNov27Utc), "2026-11-27T00:00:00+00:00");
  // Before the epoch, seconds floor rather than truncate.
  EXPECT_EQ(Zone::Utc().FormatRfc3339(-1), "1969-12-31T23:59:59Z");
}

TEST(ZoneTest, FormatRfc3339RoundTripsToTheSecond) {
  std::mt19937_64 rng(11);
  for (std::string_view name :
       {"Asia/Tokyo", "UTC", "Europe/Berlin", "America/New_York", "America/Sao_Paulo",
        "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham"}) {
    Zone z = Find(name);
    for (int i = 0; i < 5'000; ++i) {
      Millis at = static_cast<Millis>(rng() % 4'102'444'800'000ULL);  // 1970..2100
      std::string text = z.FormatRfc3339(at);
      Millis back = -1;
      ASSERT_TRUE(ParseRfc3339(text, &back).ok()) << name << " " << text;
      ASSERT_EQ(back, at - at % 1000) << name << " " << text;
    }
  }
}

TEST(ZoneTest, BerlinSpringForwardDayHas23Hours) {
  Zone berlin = Find("Europe/Berlin");
  Millis day = berlin.StartOfDay({2026, 3, 29});
  Millis next = berlin.StartOfDay({2026, 3, 30});
  EXPECT_EQ(next - day, 23 * kMillisPerHour);
  EXPECT_EQ(day, At("2026-03-29T00:00:00+01:00"));
  EXPECT_EQ(next, At("2026-03-30T00:00:00+02:00"));
  EXPECT_EQ(berlin.OffsetSecondsAt(day), 3'600);
  EXPECT_EQ(berlin.OffsetSecondsAt(next), 7'200);
  // Autumn: 2026-10-25 has 25 hours.
  EXPECT_EQ(berlin.StartOfDay({2026, 10, 26}) - berlin.StartOfDay({2026, 10, 25}),
            25 * kMillisPerHour);
  // An ordinary day has 24.
  EXPECT_EQ(berlin.StartOfDay({2026, 6, 2}) - berlin.StartOfDay({2026, 6, 1}), kMillisPerDay);
}

TEST(ZoneTest, NewYorkDst) {
  Zone ny = Find("America/New_York");
  EXPECT_EQ(ny.StartOfDay({2026, 3, 9}) - ny.StartOfDay({2026, 3, 8}), 23 * kMillisPerHour);
  EXPECT_EQ(ny.StartOfDay({2026, 11, 2}) - ny.StartOfDay({2026, 11, 1}), 25 * kMillisPerHour);
  EXPECT_EQ(ny.StartOfDay({2026, 3, 8}), At("2026-03-08T00:00:00-05:00"));
  EXPECT_EQ(ny.OffsetSecondsAt(At("2026-07-04T12:00:00Z")), -14'400);
  EXPECT_EQ(ny.OffsetSecondsAt(kNov27Utc), -18'000);
  // Just before and after the jump (02:00 EST -> 03:00 EDT on 2026-03-08).
  EXPECT_EQ(ny.FormatRfc3339(At("2026-03-08T06:59:59Z")), "2026-03-08T01:59:59-05:00");
  EXPECT_EQ(ny.FormatRfc3339(At("2026-03-08T07:00:00Z")), "2026-03-08T03:00:00-04:00");
  EXPECT_EQ(ny.DateAt(At("2026-11-27T04:59:59.999Z")), (LocalDate{2026, 11, 26}));
  EXPECT_EQ(ny.DateAt(At("2026-11-27T05:00:00Z")), (LocalDate{2026, 11, 27}));
}

TEST(ZoneTest, MidnightSkippedByDstStartsAtTheJump) {
  // Brazil started DST at midnight until 2018: 2018-11-04 00:00 jumped to 01:00.
  Zone sp = Find("America/Sao_Paulo");
  Millis start = sp.StartOfDay({2018, 11, 4});
  EXPECT_EQ(start, At("2018-11-04T01:00:00-02:00"));
  EXPECT_EQ(start, 1'541'300'400'000);
  EXPECT_EQ(sp.DateAt(start), (LocalDate{2018, 11, 4}));
  EXPECT_EQ(sp.DateAt(start - 1), (LocalDate{2018, 11, 3}));
  EXPECT_EQ(sp.FormatRfc3339(start), "2018-11-04T01:00:00-02:00");
  EXPECT_EQ(sp.StartOfDay({2018, 11, 5}) - start, 23 * kMillisPerHour);
  EXPECT_EQ(start - sp.StartOfDay({2018, 11, 3}), 24 * kMillisPerHour);
}

TEST(ZoneTest, MidnightThatHappensTwiceTakesTheFirst) {
  // Cuba ended DST on 2023-11-05 at 01:00 -> 00:00, so local midnight happened twice.
  Zone havana = Find("America/Havana");
  Millis start = havana.StartOfDay({2023, 11, 5});
  EXPECT_EQ(start, At("2023-11-05T00:00:00-04:00"));
  EXPECT_EQ(havana.DateAt(start - 1), (LocalDate{2023, 11, 4}));
  EXPECT_EQ(havana.StartOfDay({2023, 11, 6}) - start, 25 * kMillisPerHour);
}

TEST(ZoneTest, DayOverflowIsNormalised) {
  Zone z = Zone::Tokyo();
  EXPECT_EQ(z.StartOfDay({2026, 2, 31}), z.StartOfDay({2026, 3, 3}));
  EXPECT_EQ(z.StartOfDay({2028, 2, 31}), z.StartOfDay({2028, 3, 2}));
  EXPECT_EQ(z.StartOfDay({2026, 12, 32}), z.StartOfDay({2027, 1, 1}));
  EXPECT_EQ(z.StartOfDay({2026, 1, 0}), z.StartOfDay({2025, 12, 31}));
  EXPECT_EQ(z.StartOfDay({2026, 3, -1}), z.StartOfDay({2026, 2, 27}));
  EXPECT_EQ(z.StartOfDay({2026, 1, 366}), z.StartOfDay({2027, 1, 1}));
  EXPECT_EQ(z.StartOfDay({2026, 13, 1}), z.StartOfDay({2027, 1, 1}));
  EXPECT_EQ(z.StartOfDay({2026, 0, 1}), z.StartOfDay({2025, 12, 1}));
  EXPECT_EQ(z.StartOfDay({2026, -11, 1}), z.StartOfDay({2025, 1, 1}));
}

TEST(ZoneTest, LeapDay) {
  Zone z = Zone::Tokyo();
  Millis leap = z.StartOfDay({2028, 2, 29});
  EXPECT_EQ(leap, At("2028-02-29T00:00:00+09:00"));
  EXPECT_EQ(z.DateAt(leap), (LocalDate{2028, 2, 29}));
  EXPECT_EQ(z.DateAt(leap + kMillisPerDay), (LocalDate{2028, 3, 1}));
  EXPECT_EQ(z.DateAt(leap - 1), (LocalDate{2028, 2, 28}));
  EXPECT_EQ(z.FormatRfc3339(leap), "2028-02-29T00:00:00+09:00");
  EXPECT_EQ(Zone::Utc().DateAt(At("2028-02-29T23:59:59.999Z")), (LocalDate{2028, 2, 29}));
}

TEST(ZoneTest, DateAtAndStartOfDayAgree) {
  std::mt19937_64 rng(3);
  for (std::string_view name : {"Asia/Tokyo", "Europe/Berlin", "America/New_York",
                                "America/Sao_Paulo", "Australia/Lord_Howe"}) {
    Zone z = Find(name);
    for (int i = 0; i < 5'000; ++i) {
      Millis at = static_cast<Millis>(rng() % 4'102'444'800'000ULL);
      LocalDate d = z.DateAt(at);
      Millis start = z.StartOfDay(d);
      ASSERT_LE(start, at) << name << " " << FormatRfc3339Utc(at);
      ASSERT_GT(z.StartOfDay({d.year, d.month, d.day + 1}), at) << name;
      ASSERT_EQ(z.DateAt(start), d) << name << " " << FormatRfc3339Utc(at);
    }
  }
}

TEST(ZoneTest, ExtremeInputsDoNotCrash) {
  Zone z = Find("Europe/Berlin");
  for (Millis at : {std::numeric_limits<Millis>::min(), std::numeric_limits<Millis>::max(),
                    Millis{0}, Millis{-1}}) {
    (void)z.DateAt(at);
    (void)z.OffsetSecondsAt(at);
    EXPECT_FALSE(z.FormatRfc3339(at).empty());
  }
  for (LocalDate d : {LocalDate{INT_MAX, INT_MAX, INT_MAX}, LocalDate{INT_MIN, INT_MIN, INT_MIN},
                      LocalDate{0, 0, 0}, LocalDate{9999, 12, 31}, LocalDate{1, 1, 1}}) {
    Millis start = z.StartOfDay(d);
    (void)z.DateAt(start);
  }
  EXPECT_EQ(z.DateAt(std::numeric_limits<Millis>::max()).year, 10000);
}

// ---- Calendar helpers ----

TEST(DaysInMonthTest, Months) {
  EXPECT_EQ(DaysInMonth(2026, 1), 31);
  EXPECT_EQ(DaysInMonth(2026, 2), 28);
  EXPECT_EQ(DaysInMonth(2028, 2), 29);
  EXPECT_EQ(DaysInMonth(2000, 2), 29);
  EXPECT_EQ(DaysInMonth(2100, 2), 28);
  EXPECT_EQ(DaysInMonth(1900, 2), 28);
  EXPECT_EQ(DaysInMonth(2024, 2), 29);
  EXPECT_EQ(DaysInMonth(2026, 4), 30);
  EXPECT_EQ(DaysInMonth(2026, 6), 30);
  EXPECT_EQ(DaysInMonth(2026, 9), 30);
  EXPECT_EQ(DaysInMonth(2026, 11), 30);
  EXPECT_EQ(DaysInMonth(2026, 12), 31);
  int total = 0;
  for (int m = 1; m <= 12; ++m) total += DaysInMonth(2026, m);
  EXPECT_EQ(total, 365);
  total = 0;
  for (int m = 1; m <= 12; ++m) total += DaysInMonth(2028, m);
  EXPECT_EQ(total, 366);
}

TEST(DaysInMonthTest, OutOfRangeMonthsAreNormalised) {
  EXPECT_EQ(DaysInMonth(2027, 14), 29);   // 2028-02
  EXPECT_EQ(DaysInMonth(2026, 0), 31);    // 2025-12
  EXPECT_EQ(DaysInMonth(2026, -10), 28);  // 2025-02
  EXPECT_GE(DaysInMonth(INT_MAX, INT_MAX), 28);
  EXPECT_GE(DaysInMonth(INT_MIN, INT_MIN), 28);
}

TEST(AddMonthsTest, Normalises) {
  auto add = [](int y, int m, int n) {
    AddMonths(&y, &m, n);
    return std::pair<int, int>(y, m);
  };
  EXPECT_EQ(add(2026, 12, 1), std::make_pair(2027, 1));
  EXPECT_EQ(add(2026, 1, -1), std::make_pair(2025, 12));
  EXPECT_EQ(add(2026, 5, 0), std::make_pair(2026, 5));
  EXPECT_EQ(add(2026, 5, 24), std::make_pair(2028, 5));
  EXPECT_EQ(add(2026, 3, -15), std::make_pair(2024, 12));
  EXPECT_EQ(add(2026, 11, 14), std::make_pair(2028, 1));
  EXPECT_EQ(add(2026, 1, -12), std::make_pair(2025, 1));
  EXPECT_EQ(add(2026, 1, -13), std::make_pair(2024, 12));
  EXPECT_EQ(add(2026, 13, 0), std::make_pair(2027, 1));
  EXPECT_EQ(add(2026, 0, 0), std::make_pair(2025, 12));
  EXPECT_EQ(add(INT_MAX, 12, INT_MAX).second, 12);  // clamped, no overflow
  EXPECT_EQ(add(INT_MIN, 1, INT_MIN).second, 1);
}

// ---- FloorHour ----

TEST(FloorHourTest, PositiveAndNegative) {
  EXPECT_EQ(FloorHour(0), 0);
  EXPECT_EQ(FloorHour(1), 0);
  EXPECT_EQ(FloorHour(kMillisPerHour - 1), 0);
  EXPECT_EQ(FloorHour(kMillisPerHour), kMillisPerHour);
  EXPECT_EQ(FloorHour(kNov27Utc + 90 * kMillisPerMinute), kNov27Utc + kMillisPerHour);
  EXPECT_EQ(FloorHour(-1), -kMillisPerHour);
  EXPECT_EQ(FloorHour(-kMillisPerHour), -kMillisPerHour);
  EXPECT_EQ(FloorHour(-kMillisPerHour - 1), -2 * kMillisPerHour);
  EXPECT_EQ(FloorHour(-90 * kMillisPerMinute), -2 * kMillisPerHour);
}

}  // namespace
}  // namespace ryuryo
