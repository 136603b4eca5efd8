#include "sms/quiet_hours.h"

#include <gtest/gtest.h>

namespace ryuryo::sms {
namespace {

TEST(QuietHoursTest, ParsesAWindowThatWrapsPastMidnight) {
  QuietHours q;
  ASSERT_TRUE(ParseQuietHours("22:00-08:00", &q).ok());
  EXPECT_TRUE(q.enabled);
  EXPECT_EQ(q.ToString(), "22:00-08:00");
  EXPECT_FALSE(q.Contains(21 * 60 + 59));
  EXPECT_TRUE(q.Contains(22 * 60));
  EXPECT_TRUE(q.Contains(0));
  EXPECT_TRUE(q.Contains(7 * 60 + 59));
  EXPECT_FALSE(q.Contains(8 * 60));
  EXPECT_EQ(q.MinutesUntilEnd(23 * 60), 9 * 60);
  EXPECT_EQ(q.MinutesUntilEnd(7 * 60 + 59), 1);
  EXPECT_EQ(q.MinutesUntilEnd(12 * 60), 0);
}

TEST(QuietHoursTest, ParsesAWindowInsideOneDay) {
  QuietHours q;
  ASSERT_TRUE(ParseQuietHours("13:30-14:15", &q).ok());
  EXPECT_FALSE(q.Contains(13 * 60 + 29));
  EXPECT_TRUE(q.Contains(13 * 60 + 30));
  EXPECT_TRUE(q.Contains(14 * 60 + 14));
  EXPECT_FALSE(q.Contains(14 * 60 + 15));
  EXPECT_FALSE(q.Contains(0));
  EXPECT_EQ(q.MinutesUntilEnd(14 * 60), 15);
}

TEST(QuietHoursTest, OffMeansNever) {
  QuietHours q;
  q.enabled = true;
  ASSERT_TRUE(ParseQuietHours("off", &q).ok());
  EXPECT_FALSE(q.enabled);
  EXPECT_EQ(q.ToString(), "off");
  ASSERT_TRUE(ParseQuietHours("", &q).ok());
  for (int m = 0; m < kMinutesPerDay; m += 7) EXPECT_FALSE(q.Contains(m));
}

TEST(QuietHoursTest, RefusesMalformedWindowsNamingThePart) {
  QuietHours q;
  struct Case {
    const char* text;
    const char* names;
  } cases[] = {{"22:00", "22:00"},          {"25:00-08:00", "25:00"}, {"22:00-08:60", "08:60"},
               {"2200-0800", "2200"},       {"22:00-8:00", "8:00"},   {"08:00-08:00", "same time"},
               {"22:00 - 08:00", "22:00 "}, {"aa:bb-cc:dd", "aa:bb"}};
  for (const Case& c : cases) {
    Status st = ParseQuietHours(c.text, &q);
    EXPECT_FALSE(st.ok()) << c.text;
    EXPECT_NE(st.message().find(c.names), std::string::npos) << c.text << ": " << st.message();
    EXPECT_NE(st.message().find("quiet_hours"), std::string::npos) << st.message();
  }
}

}  // namespace
}  // namespace ryuryo::sms
