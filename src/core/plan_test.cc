#include "core/plan.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "core/meter.h"

namespace ryuryo {
namespace {

Threshold MustParseThreshold(std::string_view text) {
  Threshold t;
  Status st = Threshold::Parse(text, &t);
  EXPECT_TRUE(st.ok()) << text << ": " << st.ToString();
  return t;
}

// ---------------------------------------------------------------------------------------------
// Threshold

TEST(PlanThresholdTest, ParsesPercent) {
  Threshold t = MustParseThreshold("80%");
  EXPECT_EQ(t.kind, Threshold::Kind::kPercent);
  EXPECT_EQ(t.percent_bp, 8000u);
  EXPECT_EQ(t.Label(), "80%");

  t = MustParseThreshold("12.5%");
  EXPECT_EQ(t.percent_bp, 1250u);
  EXPECT_EQ(t.Label(), "12.5%");

  t = MustParseThreshold("100%");
  EXPECT_EQ(t.percent_bp, 10000u);
  EXPECT_EQ(t.Label(), "100%");
}

TEST(PlanThresholdTest, ParsesBytesLeft) {
  Threshold t = MustParseThreshold("500 MB left");
  EXPECT_EQ(t.kind, Threshold::Kind::kBytesLeft);
  EXPECT_EQ(t.bytes_left, 500'000'000u);
  EXPECT_EQ(t.Label(), "500 MB left");

  t = MustParseThreshold("1 GiB left");
  EXPECT_EQ(t.bytes_left, uint64_t{1} << 30);

  t = MustParseThreshold("200MB left");
  EXPECT_EQ(t.bytes_left, 200'000'000u);
  EXPECT_EQ(t.Label(), "200 MB left");

  t = MustParseThreshold("0 B left");
  EXPECT_EQ(t.bytes_left, 0u);
}

TEST(PlanThresholdTest, ParsesPace) {
  Threshold t = MustParseThreshold("pace");
  EXPECT_EQ(t.kind, Threshold::Kind::kPace);
  EXPECT_EQ(t.Label(), "pace");
}

TEST(PlanThresholdTest, TrimsSpaces) {
  EXPECT_EQ(MustParseThreshold("  80% ").percent_bp, 8000u);
  EXPECT_EQ(MustParseThreshold(" pace ").kind, Threshold::Kind::kPace);
}

TEST(PlanThresholdTest, LabelsRoundTrip) {
  for (const char* text : {"1%", "50%", "80%", "99.5%", "100%", "500 MB left", "1 GB left",
                           "200 MB left", "1.5 GB left", "pace"}) {
    Threshold t = MustParseThreshold(text);
    EXPECT_EQ(t.Label(), text);
    Threshold back = MustParseThreshold(t.Label());
    EXPECT_EQ(back, t) << text;
  }
}

TEST(PlanThresholdTest, Errors) {
  Threshold t;
  for (const char* text :
       {"", " ", "0%", "101%", "-5%", "%", "80", "left", " left", "MB left", "500 Mb left",
        "-1 GB left", "Pace", "pace!", "80 percent", "500 MB remaining", "abc"}) {
    Status st = Threshold::Parse(text, &t);
    EXPECT_FALSE(st.ok()) << "'" << text << "' parsed";
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << text;
  }
}

TEST(PlanThresholdTest, ErrorLeavesOutputUntouched) {
  Threshold t = MustParseThreshold("80%");
  EXPECT_FALSE(Threshold::Parse("nonsense", &t).ok());
  EXPECT_EQ(t.percent_bp, 8000u);
}

// ---------------------------------------------------------------------------------------------
// Plan::Validate

Plan ValidMonthly() {
  Plan p;
  p.id = "mvno-20gb";
  p.kind = PlanKind::kMonthly;
  p.quota_bytes = 20'000'000'000;
  p.cycle_day = 1;
  p.rollover = true;
  p.after_quota.action = QuotaAction::kOverage;
  p.after_quota.unit_bytes = 100'000'000;
  p.after_quota.price_micros = 55'000'000;
  p.after_quota.currency = "JPY";
  p.after_quota.cap_micros = 3'300'000'000;
  return p;
}

Plan ValidPass() {
  Plan p;
  p.id = "travel-8d-3gb";
  p.kind = PlanKind::kPass;
  p.quota_bytes = 3'000'000'000;
  p.validity_ms = 8 * kMillisPerDay;
  p.starts = PassStart::kFirstUse;
  p.after_quota.action = QuotaAction::kThrottle;
  p.after_quota.rate_bps = 128'000;
  p.alerts = {MustParseThreshold("50%"), MustParseThreshold("200 MB left")};
  return p;
}

Plan ValidDaily() {
  Plan p;
  p.id = "daily-1gb";
  p.kind = PlanKind::kDaily;
  p.quota_bytes = 1'000'000'000;
  p.after_quota.action = QuotaAction::kBlock;
  return p;
}

Plan ValidUnlimited() {
  Plan p;
  p.id = "unlimited-fair";
  p.kind = PlanKind::kUnlimited;
  p.fair_use = FairUse{3 * kMillisPerDay, 10'000'000'000, QuotaAction::kThrottle, 1'000'000};
  return p;
}

// Validate() fails, with kInvalidArgument and a message naming the plan and `field`.
void ExpectInvalid(const Plan& p, std::string_view field) {
  Status st = p.Validate();
  ASSERT_FALSE(st.ok()) << "expected an error about " << field;
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find(std::string(field)), std::string::npos)
      << "'" << st.message() << "' does not name " << field;
  if (!p.id.empty()) {
    EXPECT_NE(st.message().find("'" + p.id + "'"), std::string::npos) << st.message();
  }
}

TEST(PlanValidateTest, ValidPlansOfEveryKind) {
  EXPECT_TRUE(ValidMonthly().Validate().ok()) << ValidMonthly().Validate().ToString();
  EXPECT_TRUE(ValidPass().Validate().ok()) << ValidPass().Validate().ToString();
  EXPECT_TRUE(ValidDaily().Validate().ok()) << ValidDaily().Validate().ToString();
  EXPECT_TRUE(ValidUnlimited().Validate().ok()) << ValidUnlimited().Validate().ToString();
}

TEST(PlanValidateTest, Id) {
  Plan p = ValidMonthly();
  p.id = "";
  ExpectInvalid(p, "id");
  p.id = "has space";
  Status st = p.Validate();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("id"), std::string::npos);
  p.id = std::string(65, 'a');
  EXPECT_FALSE(p.Validate().ok());
}

TEST(PlanValidateTest, Quota) {
  Plan p = ValidMonthly();
  p.quota_bytes = 0;
  ExpectInvalid(p, "quota");
  p = ValidPass();
  p.quota_bytes = 0;
  ExpectInvalid(p, "quota");
  p = ValidUnlimited();
  p.quota_bytes = 1;
  ExpectInvalid(p, "quota");
}

TEST(PlanValidateTest, CycleDay) {
  Plan p = ValidMonthly();
  for (int day : {1, 15, 28, 29, 30, 31}) {
    p.cycle_day = day;
    EXPECT_TRUE(p.Validate().ok()) << day;
  }
  for (int day : {0, -1, 32, 100}) {
    p.cycle_day = day;
    ExpectInvalid(p, "cycle_day");
  }
}

TEST(PlanValidateTest, RolloverOnlyMonthly) {
  Plan p = ValidDaily();
  p.rollover = true;
  ExpectInvalid(p, "rollover");
  p = ValidPass();
  p.rollover = true;
  ExpectInvalid(p, "rollover");
}

TEST(PlanValidateTest, Validity) {
  Plan p = ValidPass();
  p.validity_ms = 0;
  ExpectInvalid(p, "validity");
  p.validity_ms = -kMillisPerDay;
  ExpectInvalid(p, "validity");
  p = ValidMonthly();
  p.validity_ms = kMillisPerDay;
  ExpectInvalid(p, "validity");
}

TEST(PlanValidateTest, FairUse) {
  Plan p = ValidUnlimited();
  p.fair_use.reset();
  ExpectInvalid(p, "fair_use");

  p = ValidMonthly();
  p.fair_use = ValidUnlimited().fair_use;
  ExpectInvalid(p, "fair_use");

  p = ValidUnlimited();
  p.fair_use->window_ms = 30 * kMillisPerMinute;
  ExpectInvalid(p, "fair_use.window");
  p.fair_use->window_ms = 90 * kMillisPerMinute;  // not whole hours
  ExpectInvalid(p, "fair_use.window");
  p.fair_use->window_ms = 32 * kMillisPerDay;
  ExpectInvalid(p, "fair_use.window");
  p.fair_use->window_ms = 31 * kMillisPerDay;
  EXPECT_TRUE(p.Validate().ok());
  p.fair_use->window_ms = kMillisPerHour;
  EXPECT_TRUE(p.Validate().ok());

  p = ValidUnlimited();
  p.fair_use->limit_bytes = 0;
  ExpectInvalid(p, "fair_use.limit");

  p = ValidUnlimited();
  p.fair_use->action = QuotaAction::kOverage;
  ExpectInvalid(p, "fair_use.action");

  p = ValidUnlimited();
  p.fair_use->rate_bps = 0;
  ExpectInvalid(p, "fair_use.rate");
  p.fair_use->action = QuotaAction::kBlock;  // a block needs no rate
  EXPECT_TRUE(p.Validate().ok());
}

TEST(PlanValidateTest, AfterQuota) {
  Plan p = ValidPass();
  p.after_quota.rate_bps = 0;
  ExpectInvalid(p, "after_quota.rate");

  p = ValidMonthly();
  p.after_quota.unit_bytes = 0;
  ExpectInvalid(p, "after_quota.unit");

  p = ValidMonthly();
  p.after_quota.price_micros = -1;
  ExpectInvalid(p, "after_quota.price");

  p = ValidMonthly();
  p.after_quota.currency = "JP";
  ExpectInvalid(p, "after_quota.currency");
  p.after_quota.currency = "";
  ExpectInvalid(p, "after_quota.currency");

  p = ValidMonthly();
  p.after_quota.cap_micros = -1;  // no cap
  EXPECT_TRUE(p.Validate().ok());
  p.after_quota.cap_micros = 0;  // everything over quota is free
  EXPECT_TRUE(p.Validate().ok());
  p.after_quota.cap_micros = -2;
  ExpectInvalid(p, "after_quota.cap");

  p = ValidDaily();  // block: nothing else needed
  EXPECT_TRUE(p.Validate().ok());
}

TEST(PlanValidateTest, Alerts) {
  Plan p = ValidPass();
  p.alerts.assign(kThresholdsMax, MustParseThreshold("50%"));
  EXPECT_TRUE(p.Validate().ok());
  p.alerts.push_back(MustParseThreshold("pace"));
  ExpectInvalid(p, "alerts");
}

TEST(PlanValidateTest, Timezone) {
  Plan p = ValidDaily();
  p.timezone = "Europe/Berlin";
  EXPECT_TRUE(p.Validate().ok());
  p.timezone = "Mars/Olympus_Mons";
  ExpectInvalid(p, "timezone");
  p.timezone = "";
  ExpectInvalid(p, "timezone");
}

TEST(CatalogTest, AddFindAndDuplicates) {
  Catalog c;
  ASSERT_TRUE(c.Add(ValidMonthly()).ok());
  ASSERT_TRUE(c.Add(ValidPass()).ok());
  const Plan* p = c.Find("mvno-20gb");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->name, "mvno-20gb");  // the name defaults to the id
  EXPECT_EQ(c.Find("nope"), nullptr);
  Status st = c.Add(ValidMonthly());
  EXPECT_EQ(st.code(), Status::Code::kAlreadyExists);
  Plan bad = ValidDaily();
  bad.quota_bytes = 0;
  EXPECT_FALSE(c.Add(bad).ok());
  EXPECT_EQ(c.Find("daily-1gb"), nullptr);
  EXPECT_EQ(c.plans().size(), 2u);
}

TEST(PlanNamesTest, KindsAndActions) {
  for (PlanKind k : {PlanKind::kMonthly, PlanKind::kDaily, PlanKind::kPass, PlanKind::kUnlimited}) {
    PlanKind back;
    ASSERT_TRUE(ParsePlanKind(PlanKindName(k), &back).ok());
    EXPECT_EQ(back, k);
  }
  for (QuotaAction a : {QuotaAction::kThrottle, QuotaAction::kBlock, QuotaAction::kOverage}) {
    QuotaAction back;
    ASSERT_TRUE(ParseQuotaAction(QuotaActionName(a), &back).ok());
    EXPECT_EQ(back, a);
  }
  PlanKind k;
  EXPECT_FALSE(ParsePlanKind("weekly", &k).ok());
  QuotaAction a;
  EXPECT_FALSE(ParseQuotaAction("cut", &a).ok());
}

// ---------------------------------------------------------------------------------------------
// Money

TEST(MoneyTest, FormatUsesTheCurrencysDecimals) {
  EXPECT_EQ(FormatMoney(3'300'000'000, "JPY"), "3300");
  EXPECT_EQ(FormatMoney(55'000'000, "JPY"), "55");
  EXPECT_EQ(FormatMoney(0, "JPY"), "0");
  EXPECT_EQ(FormatMoney(1'500'000, "USD"), "1.50");
  EXPECT_EQ(FormatMoney(0, "USD"), "0.00");
  EXPECT_EQ(FormatMoney(10'000'000, "EUR"), "10.00");
  EXPECT_EQ(FormatMoney(1'230'000, "EUR"), "1.23");
}

TEST(MoneyTest, FormatShowsFinerDigitsRatherThanHideThem) {
  EXPECT_EQ(FormatMoney(1'500'000, "JPY"), "1.5");
  EXPECT_EQ(FormatMoney(1, "JPY"), "0.000001");
  EXPECT_EQ(FormatMoney(1'234'500, "USD"), "1.2345");
}

TEST(MoneyTest, FormatNegative) {
  EXPECT_EQ(FormatMoney(-1'500'000, "USD"), "-1.50");
  EXPECT_EQ(FormatMoney(-55'000'000, "JPY"), "-55");
  EXPECT_EQ(FormatMoney(INT64_MIN, "JPY"), "-9223372036854.775808");
}

TEST(MoneyTest, Parse) {
  int64_t m = -1;
  ASSERT_TRUE(ParseMoneyMicros("55", &m).ok());
  EXPECT_EQ(m, 55'000'000);
  ASSERT_TRUE(ParseMoneyMicros("1.5", &m).ok());
  EXPECT_EQ(m, 1'500'000);
  ASSERT_TRUE(ParseMoneyMicros("0.000001", &m).ok());
  EXPECT_EQ(m, 1);
  ASSERT_TRUE(ParseMoneyMicros("0", &m).ok());
  EXPECT_EQ(m, 0);
  ASSERT_TRUE(ParseMoneyMicros("3300", &m).ok());
  EXPECT_EQ(m, 3'300'000'000);
  ASSERT_TRUE(ParseMoneyMicros("9000000000000", &m).ok());
  EXPECT_EQ(m, 9'000'000'000'000'000'000);
}

TEST(MoneyTest, ParseErrors) {
  for (const char* text : {"", ".", ".5", "1.", "1.2345678", "-1", "+1", "1,5", "1e3", "abc", " 1",
                           "1 ", "1.2.3", "1.x", "9000000000001", "99999999999999999999"}) {
    int64_t m = 42;
    Status st = ParseMoneyMicros(text, &m);
    EXPECT_FALSE(st.ok()) << "'" << text << "' parsed as " << m;
    EXPECT_EQ(m, 42) << text;
  }
}

TEST(MoneyTest, FormatParseRoundTrip) {
  for (int64_t micros : {int64_t{0}, int64_t{1}, int64_t{999'999}, int64_t{1'000'000},
                         int64_t{1'500'000}, int64_t{55'000'000}, int64_t{3'300'000'000}}) {
    for (const char* cur : {"JPY", "USD"}) {
      int64_t back = -1;
      ASSERT_TRUE(ParseMoneyMicros(FormatMoney(micros, cur), &back).ok())
          << FormatMoney(micros, cur);
      EXPECT_EQ(back, micros) << cur;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Overage cost

AfterQuota Overage(uint64_t unit_bytes, int64_t price_micros, int64_t cap_micros) {
  AfterQuota a;
  a.action = QuotaAction::kOverage;
  a.unit_bytes = unit_bytes;
  a.price_micros = price_micros;
  a.currency = "JPY";
  a.cap_micros = cap_micros;
  return a;
}

TEST(OverageCostTest, EveryStartedUnitIsCharged) {
  AfterQuota a = Overage(100'000'000, 55'000'000, -1);
  EXPECT_EQ(OverageCostMicros(a, 0), 0);
  EXPECT_EQ(OverageCostMicros(a, 1), 55'000'000);
  EXPECT_EQ(OverageCostMicros(a, 100'000'000), 55'000'000);
  EXPECT_EQ(OverageCostMicros(a, 100'000'001), 110'000'000);
  EXPECT_EQ(OverageCostMicros(a, 150'000'000), 110'000'000);
  EXPECT_EQ(OverageCostMicros(a, 10'000'000'000), 5'500'000'000);
}

TEST(OverageCostTest, Cap) {
  AfterQuota a = Overage(100'000'000, 55'000'000, 3'300'000'000);
  EXPECT_EQ(OverageCostMicros(a, 5'900'000'000), 3'245'000'000);  // 59 units
  EXPECT_EQ(OverageCostMicros(a, 6'000'000'000), 3'300'000'000);  // 60 units: exactly the cap
  EXPECT_EQ(OverageCostMicros(a, 6'000'000'001), 3'300'000'000);
  EXPECT_EQ(OverageCostMicros(a, 1'000'000'000'000), 3'300'000'000);
  a.cap_micros = 0;
  EXPECT_EQ(OverageCostMicros(a, 1'000'000'000), 0);
}

TEST(OverageCostTest, NotOverageOrDegenerate) {
  AfterQuota a = Overage(100'000'000, 55'000'000, -1);
  a.action = QuotaAction::kThrottle;
  EXPECT_EQ(OverageCostMicros(a, 1'000'000'000), 0);
  a.action = QuotaAction::kBlock;
  EXPECT_EQ(OverageCostMicros(a, 1'000'000'000), 0);
  a = Overage(0, 55'000'000, -1);
  EXPECT_EQ(OverageCostMicros(a, 1'000'000'000), 0);
}

TEST(OverageCostTest, SaturatesInsteadOfOverflowing) {
  AfterQuota a = Overage(1, INT64_MAX / 2, -1);
  EXPECT_EQ(OverageCostMicros(a, UINT64_MAX), INT64_MAX);
  EXPECT_EQ(OverageCostMicros(a, 1'000), INT64_MAX);
  a.cap_micros = 7;
  EXPECT_EQ(OverageCostMicros(a, UINT64_MAX), 7);
  // Rounding up must not wrap around for a byte count near the top of the range.
  a = Overage(100'000'000, 55'000'000, -1);
  EXPECT_EQ(OverageCostMicros(a, UINT64_MAX), INT64_MAX);
  a = Overage(100'000'000, 1, -1);
  EXPECT_EQ(OverageCostMicros(a, UINT64_MAX), int64_t{184467440738});
}

}  // namespace
}  // namespace ryuryo
