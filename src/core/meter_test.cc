#include "core/meter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/quantity.h"
#include "core/record.h"
#include "core/test_util.h"

namespace ryuryo {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string Utc(Millis at) { return FormatRfc3339Utc(at); }

Threshold Th(std::string_view text) {
  Threshold t;
  Status st = Threshold::Parse(text, &t);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return t;
}

std::vector<Threshold> Ths(std::initializer_list<std::string_view> texts) {
  std::vector<Threshold> out;
  for (std::string_view t : texts) out.push_back(Th(t));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Plans

Plan Monthly(std::string id, uint64_t quota, int cycle_day = 1) {
  Plan p;
  p.id = std::move(id);
  p.kind = PlanKind::kMonthly;
  p.quota_bytes = quota;
  p.cycle_day = cycle_day;
  p.after_quota.action = QuotaAction::kThrottle;
  p.after_quota.rate_bps = 128'000;
  return p;
}

Plan Daily(std::string id, uint64_t quota) {
  Plan p;
  p.id = std::move(id);
  p.kind = PlanKind::kDaily;
  p.quota_bytes = quota;
  p.after_quota.action = QuotaAction::kBlock;
  return p;
}

Plan Pass(std::string id, uint64_t quota, int days, PassStart starts) {
  Plan p;
  p.id = std::move(id);
  p.kind = PlanKind::kPass;
  p.quota_bytes = quota;
  p.validity_ms = days * kMillisPerDay;
  p.starts = starts;
  p.after_quota.action = QuotaAction::kThrottle;
  p.after_quota.rate_bps = 128'000;
  return p;
}

Plan Unlimited(std::string id, int window_days, uint64_t limit,
               QuotaAction action = QuotaAction::kThrottle) {
  Plan p;
  p.id = std::move(id);
  p.kind = PlanKind::kUnlimited;
  p.fair_use = FairUse{window_days * kMillisPerDay, limit, action,
                       action == QuotaAction::kThrottle ? uint64_t{1'000'000} : uint64_t{0}};
  return p;
}

Plan WithAlerts(Plan p, std::initializer_list<std::string_view> alerts) {
  p.alerts = Ths(alerts);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Records and events

UsageRecord Rec(std::string line, uint64_t bytes_down, Millis start, Millis end,
                uint64_t bytes_up = 0) {
  UsageRecord r;
  r.line = std::move(line);
  r.bytes_down = bytes_down;
  r.bytes_up = bytes_up;
  r.start = start;
  r.end = end;
  return r;
}

// A record of the ten minutes before `end`.
UsageRecord RecAt(std::string line, uint64_t bytes, Millis end) {
  return Rec(std::move(line), bytes, end - 10 * kMillisPerMinute, end);
}

// "type", "type:threshold" or "type:reason", for matching sequences of events.
std::vector<std::string> Types(const Effects& fx) {
  std::vector<std::string> out;
  for (const Event& ev : fx.events) {
    std::string s = EventTypeName(ev.type);
    if (!ev.threshold.empty() && ev.type == EventType::kThreshold) s += ":" + ev.threshold;
    if (!ev.reason.empty()) s += ":" + ev.reason;
    out.push_back(s);
  }
  return out;
}

int CountEvents(const Effects& fx, EventType type) {
  return static_cast<int>(std::count_if(fx.events.begin(), fx.events.end(),
                                        [&](const Event& ev) { return ev.type == type; }));
}

uint64_t DebitSum(const RecordOutcome& out) {
  uint64_t sum = 0;
  for (const Debit& d : out.debits) sum += d.bytes;
  return sum;
}

MATCHER_P3(IsDebit, target, bucket_id, bytes, "") {
  return arg.target == target && arg.bucket_id == static_cast<uint32_t>(bucket_id) &&
         arg.bytes == static_cast<uint64_t>(bytes);
}

const Bucket* BucketOfKind(const Balance& b, BucketKind kind, Millis valid_at) {
  for (const Bucket& k : b.buckets) {
    if (k.kind == kind && k.ValidAt(valid_at)) return &k;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Fixture: a catalog built in code, one meter, and checks every call's events for dense seqs.

class MeterTest : public ::testing::Test {
 protected:
  MeterTest() : catalog_(std::make_shared<Catalog>()) {}

  void AddPlan(Plan p) {
    Status st = catalog_->Add(std::move(p));
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  Meter& meter() {
    if (meter_ == nullptr) meter_ = std::make_unique<Meter>(catalog_);
    return *meter_;
  }

  void CheckSeqs(const Effects& fx) {
    for (const Event& ev : fx.events) {
      EXPECT_EQ(ev.seq, next_seq_) << EventTypeName(ev.type);
      EXPECT_EQ(ev.Id(), "evt-" + std::to_string(ev.seq));
      next_seq_ = ev.seq + 1;
    }
    EXPECT_EQ(meter().next_event_seq(), next_seq_);
  }

  Effects PutLineSpec(const LineSpec& spec, Millis now) {
    Effects fx;
    Status st = meter().PutLine(spec, now, &fx);
    EXPECT_TRUE(st.ok()) << st.ToString();
    CheckSeqs(fx);
    return fx;
  }

  Effects PutLine(std::string id, std::string plan, Millis now, std::string timezone = "") {
    LineSpec spec;
    spec.id = std::move(id);
    spec.plan = std::move(plan);
    spec.timezone = std::move(timezone);
    return PutLineSpec(spec, now);
  }

  Effects PutPool(std::string id, std::string plan, Millis now, std::string account = "") {
    PoolSpec spec;
    spec.id = std::move(id);
    spec.plan = std::move(plan);
    spec.account = std::move(account);
    Effects fx;
    Status st = meter().PutPool(spec, now, &fx);
    EXPECT_TRUE(st.ok()) << st.ToString();
    CheckSeqs(fx);
    return fx;
  }

  Effects Apply(const std::vector<UsageRecord>& records, Millis now) {
    Effects fx;
    meter().Apply(records, now, &fx);
    EXPECT_EQ(fx.outcomes.size(), records.size());
    for (size_t i = 0; i < fx.outcomes.size() && i < records.size(); ++i) {
      if (fx.outcomes[i].kind == RecordOutcome::Kind::kApplied) {
        EXPECT_EQ(DebitSum(fx.outcomes[i]), records[i].bytes()) << "record " << i;
      } else {
        EXPECT_THAT(fx.outcomes[i].debits, IsEmpty());
      }
    }
    EXPECT_EQ(meter().bytes_applied(), meter().bytes_debited());
    CheckSeqs(fx);
    return fx;
  }

  Effects Tick(Millis now) {
    Effects fx;
    meter().Tick(now, &fx);
    CheckSeqs(fx);
    return fx;
  }

  Effects TopUp(std::string_view line, uint64_t quota, int64_t validity_ms, std::string id,
                Millis now, Bucket* created = nullptr) {
    TopUpSpec spec;
    spec.quota_bytes = quota;
    spec.validity_ms = validity_ms;
    spec.id = std::move(id);
    Bucket b;
    Effects fx;
    Status st = meter().TopUp(line, spec, now, &fx, &b);
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (created != nullptr) *created = b;
    CheckSeqs(fx);
    return fx;
  }

  Effects SetThresholds(std::string_view line, std::initializer_list<std::string_view> labels,
                        Millis now) {
    Effects fx;
    Status st = meter().SetThresholds(line, Ths(labels), now, &fx);
    EXPECT_TRUE(st.ok()) << st.ToString();
    CheckSeqs(fx);
    return fx;
  }

  const Line& L(std::string_view key) {
    const Line* l = meter().FindLine(key);
    EXPECT_NE(l, nullptr) << key;
    return *l;
  }
  const Balance& Bal(std::string_view key) { return meter().BalanceOf(L(key)); }
  UsageView Usage(std::string_view key, Millis now) { return meter().Usage(L(key), now); }

  std::shared_ptr<Catalog> catalog_;
  std::unique_ptr<Meter> meter_;
  uint64_t next_seq_ = 1;
};

// ---------------------------------------------------------------------------------------------
// Monthly cycles

TEST_F(MeterTest, MonthlyCycleDay1) {
  AddPlan(Monthly("m10", 10 * kGB));
  PutLine("l1", "m10", T("2026-11-15T10:00:00+09:00"));
  const Balance& b = Bal("l1");
  EXPECT_EQ(b.cycle_start, T("2026-11-01T00:00:00+09:00"));
  EXPECT_EQ(b.cycle_end, T("2026-12-01T00:00:00+09:00"));

  UsageView v = Usage("l1", T("2026-11-15T10:00:00+09:00"));
  EXPECT_TRUE(v.has_quota);
  EXPECT_EQ(v.quota_bytes, 10 * kGB);
  EXPECT_EQ(v.remaining_bytes, 10 * kGB);
  EXPECT_EQ(v.used_bytes, 0u);
  ASSERT_EQ(v.buckets.size(), 1u);
  EXPECT_EQ(v.buckets[0]->kind, BucketKind::kPlan);
  const uint32_t plan_id = v.buckets[0]->id;

  Millis now = T("2026-11-15T11:00:00+09:00");
  Effects fx = Apply({Rec("l1", 2 * kGB, now - kMillisPerHour, now, 1 * kGB)}, now);
  ASSERT_EQ(fx.outcomes.size(), 1u);
  EXPECT_EQ(fx.outcomes[0].kind, RecordOutcome::Kind::kApplied);
  EXPECT_EQ(fx.outcomes[0].line, 0u);
  EXPECT_FALSE(fx.outcomes[0].late);
  EXPECT_THAT(fx.outcomes[0].debits,
              ElementsAre(IsDebit(Debit::Target::kBucket, plan_id, 3 * kGB)));
  EXPECT_THAT(fx.dirty_lines, ElementsAre(0u));
  v = Usage("l1", now);
  EXPECT_EQ(v.used_bytes, 3 * kGB);
  EXPECT_EQ(v.remaining_bytes, 7 * kGB);
  EXPECT_EQ(b.cycle_bytes_up, 1 * kGB);
  EXPECT_EQ(b.cycle_bytes_down, 2 * kGB);
  EXPECT_EQ(L("l1").total_bytes_up, 1 * kGB);
  EXPECT_EQ(L("l1").total_bytes_down, 2 * kGB);
  EXPECT_EQ(L("l1").last_record_at, now);

  EXPECT_THAT(Types(Tick(T("2026-11-30T23:59:59.999+09:00"))), IsEmpty());
  fx = Tick(T("2026-12-01T00:00:00+09:00"));
  ASSERT_THAT(Types(fx), ElementsAre("reset"));
  const Event& reset = fx.events[0];
  EXPECT_EQ(reset.at, T("2026-12-01T00:00:00+09:00"));
  EXPECT_EQ(reset.line, "l1");
  EXPECT_EQ(reset.cycle_start, T("2026-12-01T00:00:00+09:00"));
  EXPECT_EQ(reset.cycle_end, T("2027-01-01T00:00:00+09:00"));
  EXPECT_EQ(reset.used_bytes, 0u);
  EXPECT_TRUE(reset.has_quota);
  EXPECT_EQ(reset.quota_bytes, 10 * kGB);
  EXPECT_EQ(reset.remaining_bytes, 10 * kGB);
  EXPECT_THAT(fx.dirty_lines, ElementsAre(0u));

  EXPECT_EQ(b.cycle_start, T("2026-12-01T00:00:00+09:00"));
  EXPECT_EQ(b.cycle_end, T("2027-01-01T00:00:00+09:00"));
  EXPECT_EQ(b.cycle_bytes(), 0u);
  EXPECT_EQ(b.previous.start, T("2026-11-01T00:00:00+09:00"));
  EXPECT_EQ(b.previous.end, T("2026-12-01T00:00:00+09:00"));
  EXPECT_EQ(b.previous.used_bytes, 3 * kGB);
  EXPECT_EQ(Usage("l1", T("2026-12-01T00:00:00+09:00")).remaining_bytes, 10 * kGB);
}

TEST_F(MeterTest, MonthlyResetEventsArriveAtEachBoundaryEvenIfTickIsLate) {
  AddPlan(Monthly("m10", 10 * kGB));
  PutLine("l1", "m10", T("2026-11-15T10:00:00+09:00"));
  // One Tick long after two boundaries: one reset per cycle, each at its boundary.
  Effects fx = Tick(T("2027-01-10T00:00:00+09:00"));
  ASSERT_THAT(Types(fx), ElementsAre("reset", "reset"));
  EXPECT_EQ(fx.events[0].at, T("2026-12-01T00:00:00+09:00"));
  EXPECT_EQ(fx.events[1].at, T("2027-01-01T00:00:00+09:00"));
  EXPECT_EQ(Bal("l1").cycle_start, T("2027-01-01T00:00:00+09:00"));
  EXPECT_EQ(Bal("l1").previous.start, T("2026-12-01T00:00:00+09:00"));
}

// Cycle day 31 is the last day of short months: Jan 31 -> Feb 28 -> Mar 31 -> Apr 30 -> May 31.
TEST_F(MeterTest, MonthlyCycleDay31InShortMonths) {
  AddPlan(Monthly("m31", 10 * kGB, 31));
  PutLine("l1", "m31", T("2026-02-10T12:00:00+09:00"));
  const Balance& b = Bal("l1");
  EXPECT_EQ(b.cycle_start, T("2026-01-31T00:00:00+09:00"));
  EXPECT_EQ(b.cycle_end, T("2026-02-28T00:00:00+09:00"));
  const std::vector<Millis> boundaries = {
      T("2026-02-28T00:00:00+09:00"), T("2026-03-31T00:00:00+09:00"),
      T("2026-04-30T00:00:00+09:00"), T("2026-05-31T00:00:00+09:00"),
      T("2026-06-30T00:00:00+09:00"), T("2026-07-31T00:00:00+09:00")};
  for (size_t i = 0; i + 1 < boundaries.size(); ++i) {
    EXPECT_THAT(Types(Tick(boundaries[i] - 1)), IsEmpty()) << Utc(boundaries[i]);
    Effects fx = Tick(boundaries[i]);
    ASSERT_THAT(Types(fx), ElementsAre("reset")) << Utc(boundaries[i]);
    EXPECT_EQ(fx.events[0].at, boundaries[i]);
    EXPECT_EQ(b.cycle_start, boundaries[i]);
    EXPECT_EQ(b.cycle_end, boundaries[i + 1]) << Utc(b.cycle_end);
  }
}

TEST_F(MeterTest, MonthlyCycleDay31InALeapYear) {
  AddPlan(Monthly("m31", 10 * kGB, 31));
  PutLine("l1", "m31", T("2028-02-10T12:00:00+09:00"));
  const Balance& b = Bal("l1");
  EXPECT_EQ(b.cycle_start, T("2028-01-31T00:00:00+09:00"));
  EXPECT_EQ(b.cycle_end, T("2028-02-29T00:00:00+09:00"));
  Tick(T("2028-02-29T00:00:00+09:00"));
  EXPECT_EQ(b.cycle_start, T("2028-02-29T00:00:00+09:00"));
  EXPECT_EQ(b.cycle_end, T("2028-03-31T00:00:00+09:00"));
}

TEST_F(MeterTest, MonthlyCycleDay29And30InFebruary) {
  AddPlan(Monthly("m29", 10 * kGB, 29));
  AddPlan(Monthly("m30", 10 * kGB, 30));
  PutLine("a27", "m29", T("2027-02-15T12:00:00+09:00"));
  PutLine("b27", "m30", T("2027-02-15T12:00:00+09:00"));
  EXPECT_EQ(Bal("a27").cycle_start, T("2027-01-29T00:00:00+09:00"));
  EXPECT_EQ(Bal("a27").cycle_end, T("2027-02-28T00:00:00+09:00"));
  EXPECT_EQ(Bal("b27").cycle_end, T("2027-02-28T00:00:00+09:00"));
  Tick(T("2027-02-28T00:00:00+09:00"));
  EXPECT_EQ(Bal("a27").cycle_end, T("2027-03-29T00:00:00+09:00"));
  EXPECT_EQ(Bal("b27").cycle_end, T("2027-03-30T00:00:00+09:00"));

  PutLine("a28", "m29", T("2028-02-15T12:00:00+09:00"));
  EXPECT_EQ(Bal("a28").cycle_start, T("2028-01-29T00:00:00+09:00"));
  EXPECT_EQ(Bal("a28").cycle_end, T("2028-02-29T00:00:00+09:00"));
}

TEST_F(MeterTest, DailyLeapDay) {
  AddPlan(Daily("d1", 1 * kGB));
  PutLine("l1", "d1", T("2028-02-28T12:00:00+09:00"));
  Tick(T("2028-02-29T00:00:00+09:00"));
  const Balance& b = Bal("l1");
  EXPECT_EQ(b.cycle_start, T("2028-02-29T00:00:00+09:00"));
  EXPECT_EQ(b.cycle_end, T("2028-03-01T00:00:00+09:00"));
  Millis end = T("2028-02-29T23:59:59+09:00");
  Apply({RecAt("l1", 300 * kMB, end)}, end);
  EXPECT_EQ(b.cycle_bytes(), 300 * kMB);
  Effects fx = Tick(T("2028-03-01T00:00:00+09:00"));
  EXPECT_THAT(Types(fx), ElementsAre("reset"));
  EXPECT_EQ(b.previous.start, T("2028-02-29T00:00:00+09:00"));
  EXPECT_EQ(b.previous.used_bytes, 300 * kMB);
  EXPECT_EQ(b.cycle_bytes(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Rollover

TEST_F(MeterTest, RolloverIsConsumedFirstAndLastsOneCycle) {
  Plan p = Monthly("roll", 10 * kGB);
  p.rollover = true;
  AddPlan(p);
  PutLine("l1", "roll", T("2026-11-01T00:00:00+09:00"));
  const Balance& b = Bal("l1");
  Millis now = T("2026-11-20T12:00:00+09:00");
  Apply({RecAt("l1", 3 * kGB, now)}, now);

  Effects fx = Tick(T("2026-12-01T00:00:00+09:00"));
  EXPECT_THAT(Types(fx), ElementsAre("reset"));
  EXPECT_EQ(fx.events[0].quota_bytes, 17 * kGB);
  const Millis dec = T("2026-12-01T00:00:00+09:00");
  const Bucket* plan = BucketOfKind(b, BucketKind::kPlan, dec);
  const Bucket* roll = BucketOfKind(b, BucketKind::kRollover, dec);
  ASSERT_NE(plan, nullptr);
  ASSERT_NE(roll, nullptr);
  EXPECT_EQ(roll->quota_bytes, 7 * kGB);
  EXPECT_EQ(roll->valid_from, dec);
  EXPECT_EQ(roll->expires_at, T("2027-01-01T00:00:00+09:00"));
  EXPECT_EQ(b.previous.rollover_bucket_id, roll->id);
  const uint32_t plan_id = plan->id, roll_id = roll->id;
  EXPECT_GT(roll_id, plan_id);  // created after the plan bucket, yet consumed before it

  UsageView v = Usage("l1", dec);
  EXPECT_EQ(v.quota_bytes, 17 * kGB);
  ASSERT_EQ(v.buckets.size(), 2u);
  EXPECT_EQ(v.buckets[0]->kind, BucketKind::kRollover);  // consumption order
  EXPECT_EQ(v.buckets[1]->kind, BucketKind::kPlan);

  now = T("2026-12-05T12:00:00+09:00");
  fx = Apply({RecAt("l1", 1 * kGB, now)}, now);
  EXPECT_THAT(fx.outcomes[0].debits, ElementsAre(IsDebit(Debit::Target::kBucket, roll_id, kGB)));
  now = T("2026-12-06T12:00:00+09:00");
  fx = Apply({RecAt("l1", 7 * kGB, now)}, now);
  EXPECT_THAT(fx.outcomes[0].debits,
              ElementsAre(IsDebit(Debit::Target::kBucket, roll_id, 6 * kGB),
                          IsDebit(Debit::Target::kBucket, plan_id, 1 * kGB)));

  // Only the plan's own unused allowance rolls over; December's rollover is not carried again.
  Tick(T("2027-01-01T00:00:00+09:00"));
  const Millis jan = T("2027-01-01T00:00:00+09:00");
  roll = BucketOfKind(b, BucketKind::kRollover, jan);
  ASSERT_NE(roll, nullptr);
  EXPECT_EQ(roll->quota_bytes, 9 * kGB);
  EXPECT_EQ(Usage("l1", jan).quota_bytes, 19 * kGB);

  // An unused cycle rolls its whole plan allowance, and the old rollover expires unused.
  Tick(T("2027-02-01T00:00:00+09:00"));
  const Millis feb = T("2027-02-01T00:00:00+09:00");
  roll = BucketOfKind(b, BucketKind::kRollover, feb);
  ASSERT_NE(roll, nullptr);
  EXPECT_EQ(roll->quota_bytes, 10 * kGB);
  EXPECT_EQ(Usage("l1", feb).quota_bytes, 20 * kGB);
  EXPECT_EQ(Usage("l1", feb).buckets.size(), 2u);
}

TEST_F(MeterTest, NoRolloverWithoutTheOption) {
  AddPlan(Monthly("m10", 10 * kGB));
  PutLine("l1", "m10", T("2026-11-01T00:00:00+09:00"));
  Tick(T("2026-12-01T00:00:00+09:00"));
  UsageView v = Usage("l1", T("2026-12-01T00:00:00+09:00"));
  EXPECT_EQ(v.quota_bytes, 10 * kGB);
  EXPECT_EQ(v.buckets.size(), 1u);
  EXPECT_EQ(Bal("l1").previous.rollover_bucket_id, 0u);
}

// ---------------------------------------------------------------------------------------------
// Daily and time zones

TEST_F(MeterTest, DailyResetsAtLocalMidnight) {
  AddPlan(Daily("d1", 1 * kGB));
  PutLine("tokyo", "d1", T("2026-11-27T10:00:00Z"));
  PutLine("utc", "d1", T("2026-11-27T10:00:00Z"), "UTC");
  EXPECT_EQ(Bal("tokyo").cycle_start, T("2026-11-27T00:00:00+09:00"));
  EXPECT_EQ(Bal("utc").cycle_start, T("2026-11-27T00:00:00Z"));

  Millis now = T("2026-11-27T12:00:00Z");
  Apply({RecAt("tokyo", 300 * kMB, now), RecAt("utc", 300 * kMB, now)}, now);
  // 15:30Z is 00:30 on the 28th in Tokyo: a new day there, still the 27th in UTC.
  Millis end = T("2026-11-27T15:30:00Z");
  Effects fx = Apply({Rec("tokyo", 200 * kMB, end - 10 * kMillisPerMinute, end),
                      Rec("utc", 200 * kMB, end - 10 * kMillisPerMinute, end)},
                     end + kMillisPerMinute);
  ASSERT_THAT(Types(fx), ElementsAre("reset"));
  EXPECT_EQ(fx.events[0].line, "tokyo");
  EXPECT_EQ(fx.events[0].at, T("2026-11-27T15:00:00Z"));
  EXPECT_FALSE(fx.outcomes[0].late);
  EXPECT_FALSE(fx.outcomes[1].late);

  EXPECT_EQ(Bal("tokyo").cycle_start, T("2026-11-28T00:00:00+09:00"));
  EXPECT_EQ(Bal("tokyo").cycle_bytes(), 200 * kMB);
  EXPECT_EQ(Bal("tokyo").previous.used_bytes, 300 * kMB);
  EXPECT_EQ(Bal("utc").cycle_start, T("2026-11-27T00:00:00Z"));
  EXPECT_EQ(Bal("utc").cycle_end, T("2026-11-28T00:00:00Z"));
  EXPECT_EQ(Bal("utc").cycle_bytes(), 500 * kMB);
}

TEST_F(MeterTest, DailyAcrossDstInBerlin) {
  AddPlan(Daily("d1", 1 * kGB));
  PutLine("l1", "d1", T("2026-03-28T12:00:00Z"), "Europe/Berlin");
  const Balance& b = Bal("l1");
  EXPECT_EQ(b.cycle_start, T("2026-03-27T23:00:00Z"));
  EXPECT_EQ(b.cycle_end, T("2026-03-28T23:00:00Z"));
  Tick(T("2026-03-28T23:00:00Z"));
  // 2026-03-29 has 23 hours (02:00 CET -> 03:00 CEST).
  EXPECT_EQ(b.cycle_start, T("2026-03-29T00:00:00+01:00"));
  EXPECT_EQ(b.cycle_end, T("2026-03-30T00:00:00+02:00"));
  EXPECT_EQ(b.cycle_end - b.cycle_start, 23 * kMillisPerHour);
  // 23:30 CEST on the 29th is still the 29th.
  Millis end = T("2026-03-29T21:30:00Z");
  Apply({RecAt("l1", 100 * kMB, end)}, end);
  EXPECT_EQ(b.cycle_bytes(), 100 * kMB);
  Effects fx = Tick(T("2026-03-29T22:00:00Z"));
  ASSERT_THAT(Types(fx), ElementsAre("reset"));
  EXPECT_EQ(fx.events[0].at, T("2026-03-29T22:00:00Z"));
  EXPECT_EQ(b.cycle_end - b.cycle_start, 24 * kMillisPerHour);

  // 2026-10-25 has 25 hours (03:00 CEST -> 02:00 CET).
  Tick(T("2026-10-24T22:00:00Z"));
  EXPECT_EQ(b.cycle_start, T("2026-10-25T00:00:00+02:00"));
  EXPECT_EQ(b.cycle_end, T("2026-10-26T00:00:00+01:00"));
  EXPECT_EQ(b.cycle_end - b.cycle_start, 25 * kMillisPerHour);
  end = T("2026-10-25T22:30:00Z");  // 23:30 CET on the 25th
  Apply({RecAt("l1", 100 * kMB, end)}, end);
  EXPECT_EQ(b.cycle_bytes(), 100 * kMB);
  EXPECT_EQ(b.cycle_start, T("2026-10-25T00:00:00+02:00"));
}

TEST_F(MeterTest, DailyAcrossDstInNewYork) {
  AddPlan(Daily("d1", 1 * kGB));
  PutLine("l1", "d1", T("2026-03-08T12:00:00Z"), "America/New_York");
  const Balance& b = Bal("l1");
  EXPECT_EQ(b.cycle_start, T("2026-03-08T05:00:00Z"));
  EXPECT_EQ(b.cycle_end, T("2026-03-09T04:00:00Z"));  // 23 hours
  Millis end = T("2026-03-09T03:30:00Z");             // 23:30 EDT on the 8th
  Apply({RecAt("l1", 100 * kMB, end)}, end);
  EXPECT_EQ(b.cycle_start, T("2026-03-08T05:00:00Z"));
  EXPECT_EQ(b.cycle_bytes(), 100 * kMB);
  Tick(T("2026-11-01T04:00:00Z"));
  EXPECT_EQ(b.cycle_start, T("2026-11-01T00:00:00-04:00"));
  EXPECT_EQ(b.cycle_end, T("2026-11-02T00:00:00-05:00"));
  EXPECT_EQ(b.cycle_end - b.cycle_start, 25 * kMillisPerHour);
}

// In Santiago, clocks jump from 00:00 to 01:00 on 2026-09-06: that day starts at 01:00.
TEST_F(MeterTest, DailyWhenMidnightDoesNotExist) {
  AddPlan(Daily("d1", 1 * kGB));
  PutLine("l1", "d1", T("2026-09-05T12:00:00Z"), "America/Santiago");
  const Balance& b = Bal("l1");
  EXPECT_EQ(b.cycle_start, T("2026-09-05T00:00:00-04:00"));
  EXPECT_EQ(b.cycle_end, T("2026-09-06T01:00:00-03:00"));
  Tick(b.cycle_end);
  EXPECT_EQ(b.cycle_start, T("2026-09-06T01:00:00-03:00"));
  EXPECT_EQ(b.cycle_end, T("2026-09-07T00:00:00-03:00"));
}

TEST_F(MeterTest, MonthlyAcrossDst) {
  AddPlan(Monthly("m10", 10 * kGB));
  PutLine("berlin", "m10", T("2026-03-15T12:00:00Z"), "Europe/Berlin");
  PutLine("ny", "m10", T("2026-03-15T12:00:00Z"), "America/New_York");
  EXPECT_EQ(Bal("berlin").cycle_start, T("2026-02-28T23:00:00Z"));
  EXPECT_EQ(Bal("berlin").cycle_end, T("2026-03-31T22:00:00Z"));
  EXPECT_EQ(Bal("ny").cycle_start, T("2026-03-01T05:00:00Z"));
  EXPECT_EQ(Bal("ny").cycle_end, T("2026-04-01T04:00:00Z"));
  // A record at 23:30 CEST on March 31 belongs to March; at 00:30 CEST on April 1, to April.
  Millis end = T("2026-03-31T21:30:00Z");
  Apply({RecAt("berlin", 100 * kMB, end)}, end);
  EXPECT_EQ(Bal("berlin").cycle_bytes(), 100 * kMB);
  end = T("2026-03-31T22:30:00Z");
  Effects fx = Apply({RecAt("berlin", 50 * kMB, end)}, end);
  EXPECT_EQ(CountEvents(fx, EventType::kReset), 1);
  EXPECT_EQ(Bal("berlin").cycle_start, T("2026-03-31T22:00:00Z"));
  EXPECT_EQ(Bal("berlin").cycle_end, T("2026-04-30T22:00:00Z"));
  EXPECT_EQ(Bal("berlin").cycle_bytes(), 50 * kMB);
  EXPECT_EQ(Bal("berlin").previous.used_bytes, 100 * kMB);

  Tick(T("2026-10-15T00:00:00Z"));
  EXPECT_EQ(Bal("berlin").cycle_start, T("2026-09-30T22:00:00Z"));
  EXPECT_EQ(Bal("berlin").cycle_end, T("2026-10-31T23:00:00Z"));
  Tick(T("2026-11-15T00:00:00Z"));
  EXPECT_EQ(Bal("ny").cycle_start, T("2026-11-01T04:00:00Z"));
  EXPECT_EQ(Bal("ny").cycle_end, T("2026-12-01T05:00:00Z"));
}

// ---------------------------------------------------------------------------------------------
// Passes

TEST_F(MeterTest, PassFromActivation) {
  AddPlan(Pass("p8", 3 * kGB, 8, PassStart::kActivation));
  const Millis a = T("2026-11-20T09:00:00+09:00");
  PutLine("l1", "p8", a);
  const Balance& b = Bal("l1");
  EXPECT_TRUE(b.started);
  EXPECT_EQ(b.cycle_start, a);
  EXPECT_EQ(b.cycle_end, a + 8 * kMillisPerDay);
  Apply({RecAt("l1", 1 * kGB, a + kMillisPerDay)}, a + kMillisPerDay);
  UsageView v = Usage("l1", a + kMillisPerDay);
  EXPECT_EQ(v.remaining_bytes, 2 * kGB);
  EXPECT_EQ(v.quota_bytes, 3 * kGB);

  EXPECT_THAT(Types(Tick(a + 8 * kMillisPerDay - 1)), IsEmpty());
  Effects fx = Tick(a + 8 * kMillisPerDay);
  // Expiry with data left is not "exhausted": the line is throttled for being expired.
  ASSERT_THAT(Types(fx), ElementsAre("throttled:expired"));
  EXPECT_EQ(fx.events[0].rate_bps, 128'000u);
  EXPECT_EQ(b.state, LineState::kThrottled);
  EXPECT_EQ(b.reason, StateReason::kExpired);
  v = Usage("l1", a + 8 * kMillisPerDay);
  EXPECT_EQ(v.remaining_bytes, 0u);
  EXPECT_EQ(v.throttle_rate_bps, 128'000u);
  EXPECT_THAT(v.buckets, IsEmpty());

  // Use after expiry is over quota, the state stays.
  Millis end = a + 8 * kMillisPerDay + kMillisPerHour;
  fx = Apply({RecAt("l1", 10 * kMB, end)}, end);
  EXPECT_THAT(fx.outcomes[0].debits, ElementsAre(IsDebit(Debit::Target::kOverQuota, 0, 10 * kMB)));
  EXPECT_THAT(Types(fx), IsEmpty());
  EXPECT_EQ(b.over_quota_bytes, 10 * kMB);
  // No cycles for a pass: a month later nothing resets.
  EXPECT_THAT(Types(Tick(a + 40 * kMillisPerDay)), IsEmpty());
  EXPECT_EQ(b.state, LineState::kThrottled);
}

TEST_F(MeterTest, PassActivationTimeCanBeGiven) {
  AddPlan(Pass("p8", 3 * kGB, 8, PassStart::kActivation));
  const Millis now = T("2026-11-20T09:00:00+09:00");
  LineSpec spec;
  spec.id = "l1";
  spec.plan = "p8";
  spec.activated_at = now - 2 * kMillisPerDay;
  PutLineSpec(spec, now);
  EXPECT_EQ(Bal("l1").cycle_start, now - 2 * kMillisPerDay);
  EXPECT_EQ(Bal("l1").cycle_end, now + 6 * kMillisPerDay);
}

TEST_F(MeterTest, PassFromFirstUse) {
  AddPlan(WithAlerts(Pass("p8", 3 * kGB, 8, PassStart::kFirstUse), {"50%"}));
  const Millis c = T("2026-11-20T09:00:00+09:00");
  PutLine("l1", "p8", c);
  const Balance& b = Bal("l1");
  EXPECT_FALSE(b.started);
  UsageView v = Usage("l1", c);
  EXPECT_EQ(v.quota_bytes, 3 * kGB);
  EXPECT_EQ(v.remaining_bytes, 3 * kGB);
  EXPECT_EQ(b.state, LineState::kNormal);
  // Unused for a month: it does not expire.
  EXPECT_THAT(Types(Tick(c + 30 * kMillisPerDay)), IsEmpty());
  EXPECT_FALSE(b.started);

  const Millis f = c + 30 * kMillisPerDay + kMillisPerHour;
  Effects fx = Apply({Rec("l1", 2 * kGB, f, f + kMillisPerHour)}, f + kMillisPerHour);
  EXPECT_TRUE(b.started);
  EXPECT_EQ(b.cycle_start, f);
  EXPECT_EQ(b.cycle_end, f + 8 * kMillisPerDay);
  EXPECT_THAT(Types(fx), ElementsAre("threshold:50%"));
  EXPECT_EQ(Usage("l1", f + kMillisPerHour).remaining_bytes, 1 * kGB);
  fx = Tick(f + 8 * kMillisPerDay);
  EXPECT_THAT(Types(fx), ElementsAre("throttled:expired"));
}

TEST_F(MeterTest, PassUsedUpThenExpires) {
  AddPlan(Pass("p8", 3 * kGB, 8, PassStart::kActivation));
  const Millis a = T("2026-11-20T09:00:00+09:00");
  PutLine("l1", "p8", a);
  Effects fx = Apply({RecAt("l1", 3 * kGB, a + kMillisPerDay)}, a + kMillisPerDay);
  EXPECT_THAT(Types(fx), ElementsAre("exhausted", "throttled:quota"));
  fx = Tick(a + 8 * kMillisPerDay);
  EXPECT_THAT(Types(fx), ElementsAre("throttled:expired"));
  EXPECT_EQ(Bal("l1").reason, StateReason::kExpired);
}

// ---------------------------------------------------------------------------------------------
// Unlimited with fair use

TEST_F(MeterTest, UnlimitedFairUseThrottlesAndRestores) {
  AddPlan(Unlimited("unl", 3, 10 * kGB));
  PutLine("l1", "unl", T("2026-11-01T00:00:00Z"));
  const Balance& b = Bal("l1");
  Millis t1 = T("2026-11-10T10:30:00Z"), t2 = T("2026-11-11T10:30:00Z");
  Effects fx = Apply({RecAt("l1", 6 * kGB, t1)}, t1);
  fx = Apply({RecAt("l1", 3900 * kMB, t2)}, t2);
  EXPECT_THAT(Types(fx), IsEmpty());
  UsageView v = Usage("l1", t2);
  EXPECT_FALSE(v.has_quota);
  EXPECT_EQ(v.fair_use_window_bytes, 9900 * kMB);
  EXPECT_EQ(v.quota_bytes, 0u);

  Millis t3 = T("2026-11-12T08:30:00Z");
  fx = Apply({RecAt("l1", 200 * kMB, t3)}, t3);  // 10.1 GB in the window: more than 10 GB
  ASSERT_THAT(Types(fx), ElementsAre("throttled:fair_use"));
  EXPECT_EQ(fx.events[0].rate_bps, 1'000'000u);
  EXPECT_FALSE(fx.events[0].has_quota);
  EXPECT_EQ(b.state, LineState::kThrottled);
  v = Usage("l1", t3);
  EXPECT_EQ(v.throttle_rate_bps, 1'000'000u);
  EXPECT_EQ(v.fair_use_window_bytes, 10100 * kMB);

  // The 6 GB of 10:xx on the 10th leave the 72-hour window at 10:00 on the 13th.
  EXPECT_THAT(Types(Tick(T("2026-11-13T09:59:59.999Z"))), IsEmpty());
  EXPECT_EQ(b.state, LineState::kThrottled);
  fx = Tick(T("2026-11-13T10:00:00Z"));
  ASSERT_THAT(Types(fx), ElementsAre("restored:fair_use"));
  EXPECT_EQ(b.state, LineState::kNormal);
  EXPECT_EQ(Usage("l1", T("2026-11-13T10:00:00Z")).fair_use_window_bytes, 4100 * kMB);
}

TEST_F(MeterTest, UnlimitedFairUseAcrossTheMonthlyReset) {
  AddPlan(Unlimited("unl", 3, 10 * kGB, QuotaAction::kBlock));
  PutLine("l1", "unl", T("2026-11-01T00:00:00+09:00"));
  Millis t = T("2026-11-30T20:00:00+09:00");
  Effects fx = Apply({RecAt("l1", 11 * kGB, t)}, t);
  EXPECT_THAT(Types(fx), ElementsAre("blocked:fair_use"));
  // The reporting cycle resets, but the window does not: still blocked.
  fx = Tick(T("2026-12-01T00:00:00+09:00"));
  EXPECT_THAT(Types(fx), ElementsAre("reset"));
  EXPECT_EQ(Bal("l1").state, LineState::kBlocked);
  EXPECT_EQ(Bal("l1").cycle_bytes(), 0u);
  // Falling back is "fair_use", even when it happens on a Tick that also resets.
  fx = Tick(T("2027-01-01T00:00:00+09:00"));
  EXPECT_THAT(Types(fx), ElementsAre("reset", "restored:fair_use"));
}

TEST_F(MeterTest, UnlimitedLateRecordCountsInTheWindow) {
  AddPlan(Unlimited("unl", 3, 10 * kGB));
  PutLine("l1", "unl", T("2026-11-01T00:00:00+09:00"));
  Millis t = T("2026-11-30T23:00:00+09:00");
  Apply({RecAt("l1", 6 * kGB, t)}, t);
  // After the reset, a late record of the last hour of November still counts in the window.
  Millis now = T("2026-12-01T01:00:00+09:00");
  Effects fx = Apply({RecAt("l1", 5 * kGB, T("2026-11-30T23:50:00+09:00"))}, now);
  EXPECT_TRUE(fx.outcomes[0].late);
  EXPECT_THAT(Types(fx), ElementsAre("reset", "throttled:fair_use"));
}

TEST_F(MeterTest, UnlimitedRejectsTopUps) {
  AddPlan(Unlimited("unl", 3, 10 * kGB));
  PutLine("l1", "unl", T("2026-11-01T00:00:00Z"));
  TopUpSpec spec{kGB, kMillisPerDay, ""};
  Effects fx;
  Bucket b;
  EXPECT_EQ(meter().TopUp("l1", spec, T("2026-11-02T00:00:00Z"), &fx, &b).code(),
            Status::Code::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// After quota

TEST_F(MeterTest, AfterQuotaThrottle) {
  AddPlan(Monthly("m1", 1 * kGB));
  PutLine("l1", "m1", T("2026-11-01T00:00:00+09:00"));
  const uint32_t plan_id = Bal("l1").buckets[0].id;
  Millis t = T("2026-11-02T00:00:00+09:00");
  Effects fx = Apply({RecAt("l1", 1200 * kMB, t)}, t);
  ASSERT_THAT(Types(fx), ElementsAre("exhausted", "throttled:quota"));
  EXPECT_EQ(fx.events[1].rate_bps, 128'000u);
  EXPECT_EQ(fx.events[0].remaining_bytes, 0u);
  EXPECT_EQ(fx.events[0].used_bytes, 1200 * kMB);
  EXPECT_THAT(fx.outcomes[0].debits, ElementsAre(IsDebit(Debit::Target::kBucket, plan_id, kGB),
                                                 IsDebit(Debit::Target::kOverQuota, 0, 200 * kMB)));
  UsageView v = Usage("l1", t);
  EXPECT_EQ(v.used_bytes, 1200 * kMB);
  EXPECT_EQ(v.remaining_bytes, 0u);
  EXPECT_EQ(v.throttle_rate_bps, 128'000u);
  EXPECT_EQ(v.overage_bytes, 0u);
  EXPECT_EQ(Bal("l1").over_quota_bytes, 200 * kMB);
  // More use: no repeated events.
  fx = Apply({RecAt("l1", 10 * kMB, t + kMillisPerHour)}, t + kMillisPerHour);
  EXPECT_THAT(Types(fx), IsEmpty());
  // The reset restores.
  fx = Tick(T("2026-12-01T00:00:00+09:00"));
  EXPECT_THAT(Types(fx), ElementsAre("reset", "restored:reset"));
  EXPECT_EQ(Bal("l1").state, LineState::kNormal);
  EXPECT_EQ(Bal("l1").over_quota_bytes, 0u);
}

TEST_F(MeterTest, AfterQuotaBlock) {
  AddPlan(Daily("d1", 1 * kGB));
  PutLine("l1", "d1", T("2026-11-01T10:00:00+09:00"));
  Millis t = T("2026-11-01T12:00:00+09:00");
  Effects fx = Apply({RecAt("l1", 1 * kGB, t)}, t);  // exactly the quota
  ASSERT_THAT(Types(fx), ElementsAre("exhausted", "blocked:quota"));
  EXPECT_EQ(Bal("l1").state, LineState::kBlocked);
  EXPECT_EQ(Usage("l1", t).throttle_rate_bps, 0u);
  fx = Tick(T("2026-11-02T00:00:00+09:00"));
  EXPECT_THAT(Types(fx), ElementsAre("reset", "restored:reset"));
}

TEST_F(MeterTest, AfterQuotaOverageChargesPerStartedUnitUpToTheCap) {
  Plan p = Monthly("mo", 1 * kGB);
  p.after_quota = AfterQuota{};
  p.after_quota.action = QuotaAction::kOverage;
  p.after_quota.unit_bytes = 100 * kMB;
  p.after_quota.price_micros = 55'000'000;
  p.after_quota.currency = "JPY";
  p.after_quota.cap_micros = 3'300'000'000;
  AddPlan(p);
  PutLine("l1", "mo", T("2026-11-01T00:00:00+09:00"));
  Millis t = T("2026-11-02T00:00:00+09:00");
  Effects fx = Apply({RecAt("l1", 1150 * kMB, t)}, t);
  EXPECT_THAT(Types(fx), ElementsAre("exhausted"));  // no throttle, no block
  EXPECT_EQ(Bal("l1").state, LineState::kNormal);
  UsageView v = Usage("l1", t);
  EXPECT_EQ(v.overage_bytes, 150 * kMB);
  EXPECT_EQ(v.overage_cost_micros, 110'000'000);  // two started units of 100 MB
  fx = Apply({RecAt("l1", 50 * kMB, t + 1)}, t + 1);
  EXPECT_EQ(Usage("l1", t + 1).overage_cost_micros, 110'000'000);  // exactly 2 units
  Apply({RecAt("l1", 1, t + 2)}, t + 2);
  EXPECT_EQ(Usage("l1", t + 2).overage_cost_micros, 165'000'000);
  Apply({RecAt("l1", 10 * kGB, t + 3)}, t + 3);
  EXPECT_EQ(Usage("l1", t + 3).overage_cost_micros, 3'300'000'000);  // capped
  EXPECT_EQ(Bal("l1").state, LineState::kNormal);
  Tick(T("2026-12-01T00:00:00+09:00"));
  EXPECT_EQ(Usage("l1", T("2026-12-01T00:00:00+09:00")).overage_cost_micros, 0);
}

// ---------------------------------------------------------------------------------------------
// Cycle boundaries and late records

TEST_F(MeterTest, RecordSpanningTheResetIsChargedToTheCycleOfItsEnd) {
  AddPlan(Monthly("m10", 10 * kGB));
  PutLine("l1", "m10", T("2026-11-01T00:00:00+09:00"));
  Millis t = T("2026-11-30T12:00:00+09:00");
  Apply({RecAt("l1", 1 * kGB, t)}, t);
  Effects fx =
      Apply({Rec("l1", 500 * kMB, T("2026-11-30T23:50:00+09:00"), T("2026-12-01T00:10:00+09:00"))},
            T("2026-12-01T00:11:00+09:00"));
  EXPECT_THAT(Types(fx), ElementsAre("reset"));
  EXPECT_FALSE(fx.outcomes[0].late);
  EXPECT_EQ(fx.outcomes[0].debits[0].target, Debit::Target::kBucket);
  const Balance& b = Bal("l1");
  EXPECT_EQ(b.cycle_bytes(), 500 * kMB);
  EXPECT_EQ(b.previous.used_bytes, 1 * kGB);
}

TEST_F(MeterTest, RecordEndingExactlyAtTheResetBelongsToTheNewCycle) {
  AddPlan(Monthly("m10", 10 * kGB));
  PutLine("l1", "m10", T("2026-11-01T00:00:00+09:00"));
  Millis reset = T("2026-12-01T00:00:00+09:00");
  Effects fx = Apply({RecAt("l1", 1 * kGB, reset), RecAt("l1", 2 * kGB, reset - 1)}, reset);
  EXPECT_FALSE(fx.outcomes[0].late);
  EXPECT_TRUE(fx.outcomes[1].late);
  EXPECT_EQ(Bal("l1").cycle_bytes(), 1 * kGB);
  EXPECT_EQ(Bal("l1").previous.used_bytes, 2 * kGB);
}

TEST_F(MeterTest, LateRecordsGoToThePreviousCycleAndShrinkTheRollover) {
  Plan p = Monthly("roll", 10 * kGB);
  p.rollover = true;
  AddPlan(p);
  PutLine("l1", "roll", T("2026-11-01T00:00:00+09:00"));
  const Balance& b = Bal("l1");
  const uint32_t nov_plan = b.buckets[0].id;
  Millis t = T("2026-11-20T00:00:00+09:00");
  Apply({RecAt("l1", 2 * kGB, t)}, t);
  Tick(T("2026-12-01T00:00:00+09:00"));
  const Millis dec = T("2026-12-01T00:00:00+09:00");
  const uint32_t dec_plan = BucketOfKind(b, BucketKind::kPlan, dec)->id;
  const uint32_t dec_roll = BucketOfKind(b, BucketKind::kRollover, dec)->id;
  EXPECT_EQ(BucketOfKind(b, BucketKind::kRollover, dec)->quota_bytes, 8 * kGB);

  // A November record arriving in December: charged to November, and the rollover shrinks.
  Effects fx =
      Apply({RecAt("l1", 1 * kGB, T("2026-11-30T23:30:00+09:00"))}, T("2026-12-01T01:00:00+09:00"));
  ASSERT_EQ(fx.outcomes[0].kind, RecordOutcome::Kind::kApplied);
  EXPECT_TRUE(fx.outcomes[0].late);
  EXPECT_THAT(fx.outcomes[0].debits,
              ElementsAre(IsDebit(Debit::Target::kPreviousCycle, nov_plan, 1 * kGB)));
  EXPECT_EQ(b.previous.used_bytes, 3 * kGB);
  EXPECT_EQ(b.cycle_bytes(), 0u);
  EXPECT_EQ(BucketOfKind(b, BucketKind::kRollover, dec)->quota_bytes, 7 * kGB);
  EXPECT_EQ(Usage("l1", T("2026-12-01T01:00:00+09:00")).quota_bytes, 17 * kGB);
  EXPECT_EQ(L("l1").total_bytes_down, 3 * kGB);

  // December use eats into the rollover; a later November record takes back more than is left
  // of it: the excess moves to December's plan bucket.
  t = T("2026-12-05T00:00:00+09:00");
  Apply({RecAt("l1", 6500 * kMB, t)}, t);
  EXPECT_EQ(BucketOfKind(b, BucketKind::kRollover, dec)->used_bytes, 6500 * kMB);
  fx = Apply({RecAt("l1", 1 * kGB, T("2026-11-29T12:00:00+09:00"))}, t + kMillisPerHour);
  EXPECT_TRUE(fx.outcomes[0].late);
  const Bucket* roll = BucketOfKind(b, BucketKind::kRollover, dec);
  const Bucket* plan = BucketOfKind(b, BucketKind::kPlan, dec);
  EXPECT_EQ(roll->id, dec_roll);
  EXPECT_EQ(plan->id, dec_plan);
  EXPECT_EQ(roll->quota_bytes, 6 * kGB);
  EXPECT_EQ(roll->used_bytes, 6 * kGB);
  EXPECT_EQ(plan->used_bytes, 500 * kMB);
  UsageView v = Usage("l1", t + kMillisPerHour);
  EXPECT_EQ(v.quota_bytes, 16 * kGB);
  EXPECT_EQ(v.remaining_bytes, 9500 * kMB);
  EXPECT_EQ(v.used_bytes, 6500 * kMB);

  // A late record bigger than what November had left: the rest is November's over quota.
  fx = Apply({RecAt("l1", 7 * kGB, T("2026-11-29T13:00:00+09:00"))}, t + 2 * kMillisPerHour);
  EXPECT_THAT(fx.outcomes[0].debits,
              ElementsAre(IsDebit(Debit::Target::kPreviousCycle, nov_plan, 6 * kGB),
                          IsDebit(Debit::Target::kOverQuota, 0, 1 * kGB)));
  EXPECT_EQ(b.previous.over_quota_bytes, 1 * kGB);
  EXPECT_EQ(b.over_quota_bytes, 0u);
  roll = BucketOfKind(b, BucketKind::kRollover, dec);
  plan = BucketOfKind(b, BucketKind::kPlan, dec);
  EXPECT_EQ(roll->quota_bytes, 0u);
  EXPECT_EQ(roll->used_bytes, 0u);
  EXPECT_EQ(plan->used_bytes, 6500 * kMB);
  EXPECT_EQ(meter().bytes_applied(), meter().bytes_debited());
}

TEST_F(MeterTest, LateRecordThatPushesTheRolloverIntoOverQuota) {
  Plan p = Monthly("roll", 10 * kGB);
  p.rollover = true;
  AddPlan(p);
  PutLine("l1", "roll", T("2026-11-01T00:00:00+09:00"));
  Tick(T("2026-12-01T00:00:00+09:00"));  // November unused: 10 GB roll over
  Millis t = T("2026-12-10T00:00:00+09:00");
  Effects fx = Apply({RecAt("l1", 19 * kGB, t)}, t);
  EXPECT_THAT(Types(fx), IsEmpty());
  // 5 GB more for November: the rollover loses 5 GB, all of it already used, which moves on to
  // the 1 GB left in the plan bucket and 4 GB over quota.
  fx = Apply({RecAt("l1", 5 * kGB, T("2026-11-30T00:00:00+09:00"))}, t + 1);
  EXPECT_THAT(Types(fx), ElementsAre("exhausted", "throttled:quota"));
  const Balance& b = Bal("l1");
  EXPECT_EQ(b.over_quota_bytes, 4 * kGB);
  EXPECT_EQ(Usage("l1", t + 1).remaining_bytes, 0u);
  EXPECT_EQ(meter().bytes_applied(), meter().bytes_debited());
}

TEST_F(MeterTest, RecordsOlderThanThePreviousCycleAreClosed) {
  AddPlan(Monthly("m10", 10 * kGB));
  PutLine("l1", "m10", T("2026-11-15T00:00:00+09:00"));
  // Before the line's first cycle, with no previous cycle at all.
  Millis now = T("2026-11-15T01:00:00+09:00");
  Effects fx = Apply({RecAt("l1", 1 * kMB, T("2026-10-30T00:00:00+09:00"))}, now);
  EXPECT_TRUE(fx.outcomes[0].late);
  EXPECT_THAT(fx.outcomes[0].debits, ElementsAre(IsDebit(Debit::Target::kClosed, 0, kMB)));
  EXPECT_EQ(Bal("l1").cycle_bytes(), 0u);

  Tick(T("2027-01-01T00:00:00+09:00"));  // December is the previous cycle, November closed
  now = T("2027-01-01T01:00:00+09:00");
  fx = Apply({RecAt("l1", 2 * kMB, T("2026-11-30T12:00:00+09:00")),
              RecAt("l1", 3 * kMB, T("2026-12-31T12:00:00+09:00"))},
             now);
  EXPECT_TRUE(fx.outcomes[0].late);
  EXPECT_THAT(fx.outcomes[0].debits, ElementsAre(IsDebit(Debit::Target::kClosed, 0, 2 * kMB)));
  EXPECT_TRUE(fx.outcomes[1].late);
  EXPECT_EQ(fx.outcomes[1].debits[0].target, Debit::Target::kPreviousCycle);
  EXPECT_EQ(Bal("l1").previous.used_bytes, 3 * kMB);
  // Closed records still count in the line's totals.
  EXPECT_EQ(L("l1").total_bytes_down, 6 * kMB);
  EXPECT_EQ(meter().bytes_applied(), 6 * kMB);
  EXPECT_EQ(meter().bytes_debited(), 6 * kMB);
}

TEST_F(MeterTest, LateRecordOnADailyPlan) {
  AddPlan(Daily("d1", 1 * kGB));
  PutLine("l1", "d1", T("2026-11-27T10:00:00+09:00"));
  Millis now = T("2026-11-28T00:05:00+09:00");
  Effects fx = Apply({RecAt("l1", 900 * kMB, T("2026-11-27T23:59:00+09:00")),
                      RecAt("l1", 200 * kMB, T("2026-11-27T23:58:00+09:00"))},
                     now);
  EXPECT_TRUE(fx.outcomes[0].late);
  EXPECT_TRUE(fx.outcomes[1].late);
  EXPECT_EQ(fx.outcomes[1].debits.back().target, Debit::Target::kOverQuota);
  EXPECT_EQ(Bal("l1").previous.over_quota_bytes, 100 * kMB);
  // Late use does not block today.
  EXPECT_EQ(Bal("l1").state, LineState::kNormal);
  EXPECT_EQ(Bal("l1").cycle_bytes(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Buckets and top-ups

TEST_F(MeterTest, BucketsAreConsumedExpiryFirst) {
  AddPlan(Monthly("m10", 10 * kGB));
  PutLine("l1", "m10", T("2026-11-01T00:00:00+09:00"));
  const Balance& b = Bal("l1");
  const uint32_t plan_id = b.buckets[0].id;
  const Millis now = T("2026-11-20T10:00:00+09:00");
  Bucket a, long_lived, c;
  Effects fx = TopUp("l1", 1 * kGB, 3 * kMillisPerDay, "a", now, &a);
  ASSERT_THAT(Types(fx), ElementsAre("topup"));
  EXPECT_EQ(fx.events[0].bytes, 1 * kGB);
  EXPECT_EQ(fx.events[0].quota_bytes, 11 * kGB);
  EXPECT_EQ(a.kind, BucketKind::kTopup);
  EXPECT_EQ(a.topup_id, "a");
  EXPECT_EQ(a.valid_from, now);
  EXPECT_EQ(a.expires_at, now + 3 * kMillisPerDay);
  TopUp("l1", 2 * kGB, 30 * kMillisPerDay, "b", now, &long_lived);
  TopUp("l1", 1 * kGB, 3 * kMillisPerDay, "c", now, &c);  // expires with "a": "a" is older
  EXPECT_NE(a.id, c.id);

  UsageView v = Usage("l1", now);
  ASSERT_EQ(v.buckets.size(), 4u);
  EXPECT_EQ(v.buckets[0]->id, a.id);
  EXPECT_EQ(v.buckets[1]->id, c.id);
  EXPECT_EQ(v.buckets[2]->id, plan_id);
  EXPECT_EQ(v.buckets[3]->id, long_lived.id);
  EXPECT_EQ(v.quota_bytes, 14 * kGB);

  fx = Apply({RecAt("l1", 1500 * kMB, now + 1)}, now + 1);
  EXPECT_THAT(fx.outcomes[0].debits, ElementsAre(IsDebit(Debit::Target::kBucket, a.id, kGB),
                                                 IsDebit(Debit::Target::kBucket, c.id, 500 * kMB)));
  fx = Apply({RecAt("l1", 10 * kGB, now + 2)}, now + 2);
  EXPECT_THAT(fx.outcomes[0].debits,
              ElementsAre(IsDebit(Debit::Target::kBucket, c.id, 500 * kMB),
                          IsDebit(Debit::Target::kBucket, plan_id, 9500 * kMB)));
  fx = Apply({RecAt("l1", 1 * kGB, now + 3)}, now + 3);
  EXPECT_THAT(fx.outcomes[0].debits,
              ElementsAre(IsDebit(Debit::Target::kBucket, plan_id, 500 * kMB),
                          IsDebit(Debit::Target::kBucket, long_lived.id, 500 * kMB)));
  EXPECT_EQ(Usage("l1", now + 3).remaining_bytes, 1500 * kMB);
}

TEST_F(MeterTest, ATopUpBoughtLaterIsNotUsedForEarlierUse) {
  AddPlan(Monthly("m1", 1 * kGB));
  PutLine("l1", "m1", T("2026-11-01T00:00:00+09:00"));
  const Millis now = T("2026-11-20T10:00:00+09:00");
  Apply({RecAt("l1", 1 * kGB, now)}, now);
  Bucket k;
  TopUp("l1", 1 * kGB, 30 * kMillisPerDay, "", now + kMillisPerHour, &k);
  // A record of before the purchase arrives afterwards: over quota, the top-up stays whole.
  Effects fx = Apply({RecAt("l1", 100 * kMB, now + kMillisPerMinute)}, now + 2 * kMillisPerHour);
  EXPECT_THAT(fx.outcomes[0].debits, ElementsAre(IsDebit(Debit::Target::kOverQuota, 0, 100 * kMB)));
  EXPECT_EQ(Usage("l1", now + 2 * kMillisPerHour).remaining_bytes, 1 * kGB);
}

TEST_F(MeterTest, TopUpIsIdempotentById) {
  AddPlan(Monthly("m10", 10 * kGB));
  PutLine("l1", "m10", T("2026-11-01T00:00:00+09:00"));
  const Millis now = T("2026-11-20T10:00:00+09:00");
  Bucket first, again, other;
  TopUp("l1", 1 * kGB, 30 * kMillisPerDay, "order-1", now, &first);
  const size_t n = Bal("l1").buckets.size();
  Effects fx = TopUp("l1", 5 * kGB, 3 * kMillisPerDay, "order-1", now + kMillisPerHour, &again);
  EXPECT_THAT(Types(fx), IsEmpty());
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(again.quota_bytes, 1 * kGB);
  EXPECT_EQ(again.expires_at, first.expires_at);
  EXPECT_EQ(Bal("l1").buckets.size(), n);
  EXPECT_EQ(Usage("l1", now + kMillisPerHour).quota_bytes, 11 * kGB);
  // Without an id every call adds a bucket; another id is another bucket.
  TopUp("l1", 1 * kGB, 30 * kMillisPerDay, "", now, &other);
  TopUp("l1", 1 * kGB, 30 * kMillisPerDay, "", now, &other);
  TopUp("l1", 1 * kGB, 30 * kMillisPerDay, "order-2", now, &other);
  EXPECT_EQ(Bal("l1").buckets.size(), n + 3);
  EXPECT_EQ(Usage("l1", now + kMillisPerHour).quota_bytes, 14 * kGB);
}

TEST_F(MeterTest, TopUpErrors) {
  AddPlan(Monthly("m10", 10 * kGB));
  PutLine("l1", "m10", T("2026-11-01T00:00:00+09:00"));
  const Millis now = T("2026-11-20T10:00:00+09:00");
  Effects fx;
  Bucket k;
  EXPECT_EQ(meter().TopUp("nope", {kGB, kMillisPerDay, ""}, now, &fx, &k).code(),
            Status::Code::kNotFound);
  EXPECT_EQ(meter().TopUp("l1", {0, kMillisPerDay, ""}, now, &fx, &k).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(meter().TopUp("l1", {kGB, 0, ""}, now, &fx, &k).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(meter().TopUp("l1", {kQuantityBytesMax + 1, kMillisPerDay, ""}, now, &fx, &k).code(),
            Status::Code::kInvalidArgument);
  EXPECT_TRUE(fx.events.empty());
  size_t added = 0;
  Status st;
  while ((st = meter().TopUp("l1", {kMB, kMillisPerDay, ""}, now, &fx, &k)).ok()) ++added;
  EXPECT_EQ(st.code(), Status::Code::kResourceExhausted);
  EXPECT_EQ(Bal("l1").buckets.size(), kBucketsPerBalanceMax);
  EXPECT_EQ(added, kBucketsPerBalanceMax - 1);
  next_seq_ = meter().next_event_seq();
}

TEST_F(MeterTest, TopUpRearmsThresholdsAndRestores) {
  AddPlan(WithAlerts(Monthly("m1", 1 * kGB), {"50%", "80%", "100%"}));
  PutLine("l1", "m1", T("2026-11-01T00:00:00+09:00"));
  Millis t = T("2026-11-10T00:00:00+09:00");
  EXPECT_THAT(Types(Apply({RecAt("l1", 600 * kMB, t)}, t)), ElementsAre("threshold:50%"));
  Effects fx = Apply({RecAt("l1", 500 * kMB, t + 1)}, t + 1);
  EXPECT_THAT(Types(fx),
              ElementsAre("exhausted", "throttled:quota", "threshold:80%", "threshold:100%"));
  EXPECT_EQ(fx.events[0].line, "l1");

  Bucket k;
  fx = TopUp("l1", 1 * kGB, 30 * kMillisPerDay, "", t + 2, &k);
  ASSERT_THAT(Types(fx), ElementsAre("topup", "restored:topup"));
  EXPECT_EQ(fx.events[0].bytes, 1 * kGB);
  EXPECT_EQ(fx.events[1].remaining_bytes, 1 * kGB);
  EXPECT_EQ(Bal("l1").state, LineState::kNormal);
  EXPECT_EQ(Bal("l1").reason, StateReason::kNone);
  EXPECT_FALSE(Bal("l1").exhausted_fired);

  // 1 GB of 2 GB used: 50% stays fired, 80% and 100% fire again.
  fx = Apply({RecAt("l1", 700 * kMB, t + 3)}, t + 3);
  EXPECT_THAT(Types(fx), ElementsAre("threshold:80%"));
  fx = Apply({RecAt("l1", 300 * kMB, t + 4)}, t + 4);
  EXPECT_THAT(Types(fx), ElementsAre("exhausted", "throttled:quota", "threshold:100%"));
}

TEST_F(MeterTest, TopUpExpiry) {
  AddPlan(Monthly("m1", 1 * kGB));
  PutLine("l1", "m1", T("2026-11-01T00:00:00+09:00"));
  const Millis t = T("2026-11-10T00:00:00+09:00");
  Apply({RecAt("l1", 1 * kGB, t)}, t);
  EXPECT_EQ(Bal("l1").state, LineState::kThrottled);
  Bucket k;
  TopUp("l1", 1 * kGB, 2 * kMillisPerDay, "x", t + 1, &k);
  EXPECT_EQ(Bal("l1").state, LineState::kNormal);
  Apply({RecAt("l1", 400 * kMB, t + 2)}, t + 2);

  EXPECT_THAT(Types(Tick(k.expires_at - 1)), IsEmpty());
  Effects fx = Tick(k.expires_at);
  EXPECT_THAT(Types(fx), ElementsAre("exhausted", "throttled:quota"));
  EXPECT_THAT(Usage("l1", k.expires_at).buckets, ::testing::SizeIs(1));
  // Kept for late records for a day, then dropped.
  EXPECT_EQ(Bal("l1").buckets.size(), 2u);
  Tick(k.expires_at + kMillisPerDay - 1);
  EXPECT_EQ(Bal("l1").buckets.size(), 2u);
  fx = Tick(k.expires_at + kMillisPerDay);
  EXPECT_EQ(Bal("l1").buckets.size(), 1u);
  EXPECT_THAT(fx.dirty_lines, ElementsAre(0u));
}

TEST_F(MeterTest, LateRecordUsesTheTopUpValidWhenItEnded) {
  AddPlan(Monthly("m1", 1 * kGB));
  PutLine("l1", "m1", T("2026-11-01T00:00:00+09:00"));
  const Millis t = T("2026-11-10T00:00:00+09:00");
  Apply({RecAt("l1", 1 * kGB, t)}, t);
  Bucket k;
  TopUp("l1", 1 * kGB, 1 * kMillisPerDay, "x", t, &k);
  Tick(k.expires_at + kMillisPerHour);
  // A record of when the top-up was valid, arriving after it expired (within the grace).
  Effects fx = Apply({RecAt("l1", 300 * kMB, k.expires_at - kMillisPerHour)},
                     k.expires_at + 2 * kMillisPerHour);
  EXPECT_THAT(fx.outcomes[0].debits, ElementsAre(IsDebit(Debit::Target::kBucket, k.id, 300 * kMB)));
}

TEST_F(MeterTest, TopUpSpanningTheResetIsUsedByBothCycles) {
  AddPlan(Monthly("m1", 1 * kGB));
  PutLine("l1", "m1", T("2026-11-01T00:00:00+09:00"));
  Bucket k;
  TopUp("l1", 5 * kGB, 30 * kMillisPerDay, "x", T("2026-11-20T00:00:00+09:00"), &k);
  Tick(T("2026-12-01T00:00:00+09:00"));
  const Millis dec = T("2026-12-01T00:00:00+09:00");
  UsageView v = Usage("l1", dec);
  ASSERT_EQ(v.buckets.size(), 2u);
  EXPECT_EQ(v.buckets[0]->id, k.id);  // expires Dec 20, before the plan bucket
  EXPECT_EQ(v.quota_bytes, 6 * kGB);
  // A late November record: November's plan bucket (expiring Dec 1) first, then the top-up
  // (expiring Dec 20), which both cycles share.
  const uint32_t nov_plan = Bal("l1").previous.buckets.at(0).id;
  Effects fx = Apply({RecAt("l1", 2 * kGB, T("2026-11-30T12:00:00+09:00"))}, dec + 1);
  EXPECT_THAT(fx.outcomes[0].debits,
              ElementsAre(IsDebit(Debit::Target::kPreviousCycle, nov_plan, 1 * kGB),
                          IsDebit(Debit::Target::kPreviousCycle, k.id, 1 * kGB)));
  EXPECT_EQ(Usage("l1", dec + 1).quota_bytes, 6 * kGB);
  EXPECT_EQ(Usage("l1", dec + 1).remaining_bytes, 5 * kGB);
}

TEST_F(MeterTest, PassFirstUseStartedByATopUp) {
  AddPlan(Pass("p8", 3 * kGB, 8, PassStart::kFirstUse));
  const Millis now = T("2026-11-20T09:00:00+09:00");
  PutLine("l1", "p8", now);
  Bucket k;
  TopUp("l1", 1 * kGB, 30 * kMillisPerDay, "", now + kMillisPerHour, &k);
  EXPECT_TRUE(Bal("l1").started);
  EXPECT_EQ(Bal("l1").cycle_start, now + kMillisPerHour);
  EXPECT_EQ(Usage("l1", now + kMillisPerHour).quota_bytes, 4 * kGB);
}

// ---------------------------------------------------------------------------------------------
// Pools

TEST_F(MeterTest, PoolSharesItsQuota) {
  AddPlan(WithAlerts(Monthly("fam10", 10 * kGB), {"80%"}));
  PutPool("fam", "fam10", T("2026-11-01T00:00:00+09:00"), "acct-1");
  LineSpec a;
  a.id = "a";
  a.pool = "fam";
  a.account = "acct-1";
  PutLineSpec(a, T("2026-11-01T00:00:00+09:00"));
  LineSpec bspec = a;
  bspec.id = "b";
  PutLineSpec(bspec, T("2026-11-01T00:00:00+09:00"));
  const Pool* pool = meter().FindPool("fam");
  ASSERT_NE(pool, nullptr);
  EXPECT_THAT(pool->members, ElementsAre(0u, 1u));
  EXPECT_EQ(&Bal("a"), &pool->balance);
  EXPECT_EQ(&Bal("b"), &pool->balance);

  Millis t = T("2026-11-10T00:00:00+09:00");
  Effects fx = Apply({RecAt("a", 6 * kGB, t), RecAt("b", 3 * kGB, t)}, t);
  ASSERT_THAT(Types(fx), ElementsAre("threshold:80%"));
  EXPECT_EQ(fx.events[0].pool, "fam");
  EXPECT_EQ(fx.events[0].line, "b");  // whose record crossed it
  EXPECT_EQ(fx.events[0].account, "acct-1");
  EXPECT_THAT(fx.dirty_pools, ElementsAre(0u));
  EXPECT_THAT(fx.dirty_lines, ElementsAre(0u, 1u));
  EXPECT_EQ(L("a").member_cycle_bytes, 6 * kGB);
  EXPECT_EQ(L("b").member_cycle_bytes, 3 * kGB);
  UsageView va = Usage("a", t), vb = Usage("b", t);
  EXPECT_EQ(va.pool, pool);
  EXPECT_EQ(va.used_bytes, 9 * kGB);
  EXPECT_EQ(va.remaining_bytes, 1 * kGB);
  EXPECT_EQ(vb.remaining_bytes, 1 * kGB);

  fx = Apply({RecAt("b", 2 * kGB, t + 1)}, t + 1);
  ASSERT_THAT(Types(fx), ElementsAre("exhausted", "throttled:quota"));
  EXPECT_EQ(fx.events[1].pool, "fam");
  EXPECT_EQ(fx.events[1].line, "b");
  EXPECT_EQ(Usage("a", t + 1).balance->state, LineState::kThrottled);
  EXPECT_EQ(Usage("b", t + 1).balance->state, LineState::kThrottled);
  EXPECT_EQ(Usage("a", t + 1).throttle_rate_bps, 128'000u);
  EXPECT_EQ(L("b").member_cycle_bytes, 5 * kGB);

  // A top-up on any member is the pool's.
  Bucket k;
  fx = TopUp("a", 1 * kGB, 30 * kMillisPerDay, "", t + 2, &k);
  EXPECT_THAT(Types(fx), ElementsAre("topup", "restored:topup"));
  EXPECT_EQ(fx.events[0].pool, "fam");
  EXPECT_EQ(Usage("b", t + 2).balance->state, LineState::kNormal);
  EXPECT_EQ(Usage("b", t + 2).quota_bytes, 11 * kGB);

  // The pool's reset restores it and starts every member's share afresh.
  fx = Tick(T("2026-12-01T00:00:00+09:00"));
  EXPECT_THAT(Types(fx), ElementsAre("reset"));
  EXPECT_EQ(fx.events[0].pool, "fam");
  EXPECT_EQ(fx.events[0].line, "");
  EXPECT_EQ(L("a").member_cycle_bytes, 0u);
  EXPECT_EQ(L("b").member_cycle_bytes, 0u);
  EXPECT_EQ(L("a").member_cycle_start, T("2026-12-01T00:00:00+09:00"));
  EXPECT_TRUE(fx.dirty_lines.count(0) && fx.dirty_lines.count(1));
  EXPECT_EQ(L("a").total_bytes_down, 6 * kGB);
}

TEST_F(MeterTest, PoolExhaustionRestoredByReset) {
  AddPlan(Monthly("fam1", 1 * kGB));
  PutPool("fam", "fam1", T("2026-11-01T00:00:00+09:00"));
  LineSpec a;
  a.id = "a";
  a.pool = "fam";
  PutLineSpec(a, T("2026-11-01T00:00:00+09:00"));
  Millis t = T("2026-11-10T00:00:00+09:00");
  Apply({RecAt("a", 2 * kGB, t)}, t);
  Effects fx = Tick(T("2026-12-01T00:00:00+09:00"));
  EXPECT_THAT(Types(fx), ElementsAre("reset", "restored:reset"));
  EXPECT_EQ(fx.events[1].pool, "fam");
}

TEST_F(MeterTest, LineJoiningAndLeavingAPool) {
  AddPlan(Monthly("m10", 10 * kGB));
  AddPlan(Daily("d1", 1 * kGB));
  PutPool("fam", "m10", T("2026-11-01T00:00:00+09:00"));
  PutLine("x", "d1", T("2026-11-01T00:00:00+09:00"));
  // Joining: the own daily balance is no longer metered, and emits nothing at its midnights.
  LineSpec spec;
  spec.id = "x";
  spec.plan = "d1";
  spec.pool = "fam";
  PutLineSpec(spec, T("2026-11-01T12:00:00+09:00"));
  EXPECT_THAT(meter().FindPool("fam")->members, ElementsAre(0u));
  Effects fx = Tick(T("2026-11-05T12:00:00+09:00"));
  EXPECT_THAT(Types(fx), IsEmpty());
  Millis t = T("2026-11-05T12:00:00+09:00");
  Apply({RecAt("x", 2 * kGB, t)}, t);
  EXPECT_EQ(meter().FindPool("fam")->balance.cycle_bytes(), 2 * kGB);
  EXPECT_EQ(L("x").own.cycle_bytes(), 0u);
  // Leaving: the own balance starts afresh now, not from where it was left.
  spec.pool = "";
  PutLineSpec(spec, T("2026-11-20T12:00:00+09:00"));
  EXPECT_THAT(meter().FindPool("fam")->members, IsEmpty());
  EXPECT_EQ(Bal("x").cycle_start, T("2026-11-20T00:00:00+09:00"));
  EXPECT_EQ(Bal("x").cycle_bytes(), 0u);
  EXPECT_THAT(Types(Tick(T("2026-11-21T00:00:00+09:00"))), ElementsAre("reset"));
}

TEST_F(MeterTest, PutLineErrors) {
  AddPlan(Monthly("m10", 10 * kGB));
  Effects fx;
  const Millis now = T("2026-11-01T00:00:00+09:00");
  LineSpec s;
  s.id = "bad id";
  s.plan = "m10";
  EXPECT_EQ(meter().PutLine(s, now, &fx).code(), Status::Code::kInvalidArgument);
  s.id = "l1";
  s.plan = "nope";
  EXPECT_EQ(meter().PutLine(s, now, &fx).code(), Status::Code::kInvalidArgument);
  s.plan = "";
  EXPECT_EQ(meter().PutLine(s, now, &fx).code(), Status::Code::kInvalidArgument);
  s.plan = "m10";
  s.pool = "nope";
  EXPECT_EQ(meter().PutLine(s, now, &fx).code(), Status::Code::kNotFound);
  s.pool = "";
  s.timezone = "Nowhere/Nothing";
  EXPECT_FALSE(meter().PutLine(s, now, &fx).ok());
  s.timezone = "";
  s.locale = "fr";
  EXPECT_EQ(meter().PutLine(s, now, &fx).code(), Status::Code::kInvalidArgument);
  s.locale = "";
  s.msisdn = "+";
  EXPECT_EQ(meter().PutLine(s, now, &fx).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(meter().line_count(), 0u);
}

TEST_F(MeterTest, PlanChangeStartsTheNewPlansCycleAndKeepsTopUps) {
  AddPlan(Monthly("m1", 1 * kGB));
  AddPlan(Monthly("m20", 20 * kGB));
  PutLine("l1", "m1", T("2026-11-01T00:00:00+09:00"));
  Millis t = T("2026-11-10T00:00:00+09:00");
  Bucket k;
  TopUp("l1", 500 * kMB, 60 * kMillisPerDay, "x", t, &k);
  Apply({RecAt("l1", 2 * kGB, t + 1)}, t + 1);
  EXPECT_EQ(Bal("l1").state, LineState::kThrottled);
  Effects fx = PutLine("l1", "m20", t + 2);
  EXPECT_THAT(Types(fx), ElementsAre("restored:plan_change"));
  UsageView v = Usage("l1", t + 2);
  EXPECT_EQ(v.quota_bytes, 20 * kGB + 500 * kMB);
  EXPECT_EQ(v.used_bytes, 0u);
  EXPECT_EQ(L("l1").total_bytes_down, 2 * kGB);
}

// ---------------------------------------------------------------------------------------------
// Thresholds

TEST_F(MeterTest, ThresholdsFireOncePerCycle) {
  AddPlan(WithAlerts(Monthly("m10", 10 * kGB), {"50%", "1 GB left"}));
  PutLine("l1", "m10", T("2026-11-01T00:00:00+09:00"));
  Millis t = T("2026-11-10T00:00:00+09:00");
  Effects fx = Apply({RecAt("l1", 5 * kGB, t)}, t);
  ASSERT_THAT(Types(fx), ElementsAre("threshold:50%"));
  EXPECT_EQ(fx.events[0].used_bytes, 5 * kGB);
  EXPECT_EQ(fx.events[0].remaining_bytes, 5 * kGB);
  EXPECT_EQ(fx.events[0].quota_bytes, 10 * kGB);
  EXPECT_EQ(fx.events[0].cycle_start, T("2026-11-01T00:00:00+09:00"));
  EXPECT_EQ(fx.events[0].cycle_end, T("2026-12-01T00:00:00+09:00"));
  EXPECT_THAT(Types(Apply({RecAt("l1", 1 * kGB, t + 1)}, t + 1)), IsEmpty());
  // "1 GB left" fires when at most 1 GB is left: at exactly 1 GB.
  EXPECT_THAT(Types(Apply({RecAt("l1", 3 * kGB, t + 2)}, t + 2)),
              ElementsAre("threshold:1 GB left"));
  EXPECT_THAT(Types(Apply({RecAt("l1", 1, t + 3)}, t + 3)), IsEmpty());
  EXPECT_THAT(Types(Apply({RecAt("l1", 100 * kMB, t + 4)}, t + 4)), IsEmpty());
  EXPECT_EQ(Bal("l1").fired_mask, 0b11u);

  fx = Tick(T("2026-12-01T00:00:00+09:00"));
  EXPECT_THAT(Types(fx), ElementsAre("reset"));
  EXPECT_EQ(Bal("l1").fired_mask, 0u);
  t = T("2026-12-10T00:00:00+09:00");
  EXPECT_THAT(Types(Apply({RecAt("l1", 9500 * kMB, t)}, t)),
              ElementsAre("threshold:50%", "threshold:1 GB left"));
}

TEST_F(MeterTest, BytesLeftFiresWhenRemainingDropsToIt) {
  AddPlan(WithAlerts(Monthly("m10", 10 * kGB), {"1 GB left"}));
  PutLine("l1", "m10", T("2026-11-01T00:00:00+09:00"));
  Millis t = T("2026-11-10T00:00:00+09:00");
  EXPECT_THAT(Types(Apply({RecAt("l1", 9 * kGB - 1, t)}, t)), IsEmpty());
  EXPECT_THAT(Types(Apply({RecAt("l1", 1, t + 1)}, t + 1)), ElementsAre("threshold:1 GB left"));
}

TEST_F(MeterTest, PaceFiresWhenTheForecastRunsOutWellBeforeTheReset) {
  AddPlan(WithAlerts(Monthly("m30", 30 * kGB), {"pace"}));
  const Millis start = T("2026-11-01T00:00:00+09:00");
  PutLine("fast", "m30", start);
  PutLine("slow", "m30", start);
  int pace_fast = 0, pace_slow = 0;
  Millis fired_at = 0;
  Millis exhausted_at = 0;
  for (int h = 1; h <= 120; ++h) {
    Millis end = start + h * kMillisPerHour;
    // 125 MB/h runs out 30 GB in 10 days; 40 MB/h uses 28.8 GB in 30 days.
    Effects fx = Apply({RecAt("fast", 125 * kMB, end), RecAt("slow", 40 * kMB, end)}, end);
    for (const Event& ev : fx.events) {
      ASSERT_EQ(ev.type, EventType::kPace) << EventTypeName(ev.type);
      EXPECT_EQ(ev.threshold, "pace");
      if (ev.line == "fast") {
        ++pace_fast;
        fired_at = ev.at;
        exhausted_at = ev.exhausted_at;
      } else {
        ++pace_slow;
      }
    }
  }
  EXPECT_EQ(pace_fast, 1);
  EXPECT_EQ(pace_slow, 0);
  // Not before a day of use and 10% of the quota.
  EXPECT_GE(fired_at, start + kMillisPerDay);
  EXPECT_GT(exhausted_at, T("2026-11-09T00:00:00+09:00")) << Utc(exhausted_at);
  EXPECT_LT(exhausted_at, T("2026-11-12T00:00:00+09:00")) << Utc(exhausted_at);
  Forecast f = meter().ForecastOf(Bal("fast"), start + 120 * kMillisPerHour);
  EXPECT_NEAR(f.rate_bytes_per_hour, 125.0 * kMB, 1.0 * kMB);
  ASSERT_TRUE(f.exhausted_at.has_value());
  ASSERT_TRUE(f.daily_budget_bytes.has_value());
  EXPECT_EQ(*f.daily_budget_bytes, 15 * kGB / 25);  // 15 GB left, 25 days to go
  Forecast s = meter().ForecastOf(Bal("slow"), start + 120 * kMillisPerHour);
  EXPECT_FALSE(s.exhausted_at.has_value());
  EXPECT_NEAR(static_cast<double>(s.projected_cycle_bytes), 28.8 * kGB, 0.2 * kGB);
}

// ---------------------------------------------------------------------------------------------
// Forecast rate

// One line's hourly use, oldest first: two records for each of the `hours` hours before `until`
// (an hour boundary), about `rate` bytes an hour (within +-20%, the same for the same seed).
std::vector<UsageRecord> HourlyHistory(const std::string& line, Millis until, int hours,
                                       uint64_t rate, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<UsageRecord> out;
  for (int i = hours; i >= 1; --i) {
    const Millis start = until - i * kMillisPerHour;
    const uint64_t bytes = rate * (80 + rng() % 41) / 100;
    out.push_back(Rec(line, bytes / 3, start, start + 20 * kMillisPerMinute, bytes / 30));
    out.push_back(Rec(line, bytes - bytes / 3 - bytes / 30, start + 20 * kMillisPerMinute,
                      start + kMillisPerHour - kMillisPerSecond));
  }
  return out;
}

// The EWMA's weight for the newest closed hour.
const double kAlpha = 1.0 - std::pow(2.0, -1.0 / 24.0);

TEST_F(MeterTest, ForecastRateOfHistoryBackfilledInOrder) {
  // A line provisioned today, then 90 days of its history posted in one go, oldest first (what
  // an import or the dashboard benchmark does). The rate is the hourly rate of that history, not
  // the whole backfill counted as this hour's use ("runs out in 2 hours").
  AddPlan(WithAlerts(Monthly("m50", 50 * kGB), {"pace"}));
  const Millis now = T("2026-11-20T12:30:00+09:00");
  PutLine("l1", "m50", now);
  std::vector<UsageRecord> history =
      HourlyHistory("l1", FloorHour(now), 90 * 24, 15 * kMB, /*seed=*/1);
  for (size_t i = 0; i < history.size(); i += 500) {
    std::vector<UsageRecord> batch(
        history.begin() + static_cast<ptrdiff_t>(i),
        history.begin() + static_cast<ptrdiff_t>(std::min(i + 500, history.size())));
    EXPECT_EQ(CountEvents(Apply(batch, now), EventType::kPace), 0) << "batch " << i;
  }
  Forecast f = meter().ForecastOf(Bal("l1"), now);
  EXPECT_NEAR(f.rate_bytes_per_hour, 15.0 * kMB, 0.75 * kMB);
  EXPECT_FALSE(f.exhausted_at.has_value());
  // Nothing more for a day: the short-term part halves, the cycle average barely moves.
  Forecast g = meter().ForecastOf(Bal("l1"), now + kMillisPerDay);
  EXPECT_NEAR(g.rate_bytes_per_hour, 0.5 * 7.5 * kMB + 0.5 * 14.3 * kMB, 0.75 * kMB);
}

TEST_F(MeterTest, ForecastRateOfHistoryBackfilledInAnyOrder) {
  // The same 90 days posted oldest first, newest first and shuffled give the same rate. A pass
  // of 120 days takes every record of the 90 days into its cycle.
  AddPlan(Monthly("m50", 50 * kGB));
  AddPlan(Pass("p120", 100 * kGB, 120, PassStart::kActivation));
  const Millis now = T("2026-11-20T12:30:00+09:00");
  const std::vector<std::string> lines = {"oldest", "newest", "shuffled", "pass"};
  for (const std::string& id : lines) {
    LineSpec spec;
    spec.id = id;
    spec.plan = id == "pass" ? "p120" : "m50";
    if (id == "pass") spec.activated_at = now - 100 * kMillisPerDay;
    PutLineSpec(spec, now);
  }
  auto post = [&](std::vector<UsageRecord> records) {
    for (size_t i = 0; i < records.size(); i += 1000) {
      Apply(std::vector<UsageRecord>(
                records.begin() + static_cast<ptrdiff_t>(i),
                records.begin() + static_cast<ptrdiff_t>(std::min(i + 1000, records.size()))),
            now);
    }
  };
  auto history = [&](const std::string& id) {
    return HourlyHistory(id, FloorHour(now), 90 * 24, 15 * kMB, /*seed=*/7);
  };
  post(history("oldest"));
  std::vector<UsageRecord> newest = history("newest");
  std::reverse(newest.begin(), newest.end());
  post(newest);
  std::vector<UsageRecord> shuffled = history("shuffled");
  std::mt19937 rng(42);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  post(shuffled);
  std::vector<UsageRecord> pass = history("pass");
  std::reverse(pass.begin(), pass.end());
  post(pass);

  const double oldest = meter().ForecastOf(Bal("oldest"), now).rate_bytes_per_hour;
  EXPECT_NEAR(oldest, 15.0 * kMB, 0.75 * kMB);
  for (std::string_view id : {"newest", "shuffled"}) {
    EXPECT_NEAR(meter().ForecastOf(Bal(id), now).rate_bytes_per_hour, oldest, 1e-6 * oldest) << id;
    // An hour later, with the (empty) open hour folded in, they still agree.
    EXPECT_NEAR(meter().ForecastOf(Bal(id), now + kMillisPerHour).rate_bytes_per_hour,
                meter().ForecastOf(Bal("oldest"), now + kMillisPerHour).rate_bytes_per_hour,
                1e-6 * oldest)
        << id;
  }
  for (const std::string& id : lines) {
    EXPECT_NEAR(Bal(id).ewma_bytes_per_hour, 15.0 * kMB, 0.75 * kMB) << id;
    EXPECT_FALSE(meter().ForecastOf(Bal(id), now).exhausted_at.has_value()) << id;
  }
  // The pass's cycle average spreads the 90 days over the 100 it has run.
  EXPECT_NEAR(meter().ForecastOf(Bal("pass"), now).rate_bytes_per_hour,
              0.5 * Bal("pass").ewma_bytes_per_hour + 0.5 * 13.5 * kMB, 0.2 * kMB);
}

TEST_F(MeterTest, BackfillIntoAnEmptyAverageDoesNotSeedIt) {
  // A day of history for a new line, posted newest first or oldest first: both give the plain
  // weighted sum of that day (half the rate, the day before it being unknown), never the newest
  // hour at full weight on top of the rest.
  AddPlan(Monthly("m50", 50 * kGB));
  const Millis now = T("2026-11-20T12:30:00+09:00");
  PutLine("newest", "m50", now);
  PutLine("oldest", "m50", now);
  for (std::string_view id : {"newest", "oldest"}) {
    std::vector<UsageRecord> day;  // newest first
    for (int i = 0; i < 24; ++i) {
      day.push_back(
          RecAt(std::string(id), 10 * kMB, FloorHour(now) - i * kMillisPerHour - kMillisPerMinute));
    }
    if (id == "oldest") std::reverse(day.begin(), day.end());
    Apply(day, now);
    EXPECT_NEAR(Bal(id).ewma_bytes_per_hour, 5.0 * kMB, 1.0) << id;
    EXPECT_EQ(Bal(id).hour_bytes, 0u) << id;
  }
  // The hour now open carries on as usual.
  Apply({RecAt("newest", 10 * kMB, now)}, now);
  EXPECT_EQ(Bal("newest").hour_bytes, 10 * kMB);
  const Millis next = now + kMillisPerHour;
  EXPECT_NEAR(meter().ForecastOf(Bal("newest"), next).rate_bytes_per_hour,
              0.5 * (5.0 * kMB * (1 - kAlpha) + kAlpha * 10.0 * kMB) +
                  0.5 * 250.0 * kMB /
                      (static_cast<double>(next - Bal("newest").cycle_start) / kMillisPerHour),
              1e3);
}

TEST_F(MeterTest, LateRecordsWeighAsIfTheyHadArrivedOnTime) {
  // Two lines with the same use for ten days. "late" misses a day (from two days ago) and gets
  // it in one burst at the end, newest first: its rate ends up as the on-time line's.
  AddPlan(WithAlerts(Monthly("m30", 30 * kGB), {"pace"}));
  const Millis start = T("2026-11-01T00:00:00+09:00");
  PutLine("on_time", "m30", start);
  PutLine("late", "m30", start);
  std::vector<UsageRecord> missed;
  const int hours = 10 * 24;
  for (int h = 1; h <= hours; ++h) {
    const Millis end = start + h * kMillisPerHour - kMillisPerMinute;
    const uint64_t bytes = (10 + h % 7 * 2) * kMB;  // 10-22 MB an hour
    std::vector<UsageRecord> batch = {RecAt("on_time", bytes, end)};
    if (h > hours - 48 && h <= hours - 24) {
      missed.push_back(RecAt("late", bytes, end));
    } else {
      batch.push_back(RecAt("late", bytes, end));
    }
    Apply(batch, end);
  }
  const Millis now = start + hours * kMillisPerHour;
  std::reverse(missed.begin(), missed.end());
  Effects fx = Apply(missed, now);
  EXPECT_EQ(CountEvents(fx, EventType::kPace), 0);
  EXPECT_EQ(Bal("late").cycle_bytes(), Bal("on_time").cycle_bytes());
  EXPECT_NEAR(meter().ForecastOf(Bal("on_time"), now).rate_bytes_per_hour, 16.0 * kMB, 2.0 * kMB);
  for (Millis at : {now, now + kMillisPerHour, now + kMillisPerDay}) {
    const double want = meter().ForecastOf(Bal("on_time"), at).rate_bytes_per_hour;
    EXPECT_NEAR(meter().ForecastOf(Bal("late"), at).rate_bytes_per_hour, want, 1e-6 * want)
        << Utc(at);
  }

  // A late record from the hour just closed weighs what it would have on time too.
  const Millis next = now + kMillisPerHour + 5 * kMillisPerMinute;
  Apply({RecAt("on_time", 40 * kMB, now + 30 * kMillisPerMinute), RecAt("on_time", kMB, next)},
        next);
  Apply({RecAt("late", kMB, next), RecAt("late", 40 * kMB, now + 30 * kMillisPerMinute)}, next);
  const double want = meter().ForecastOf(Bal("on_time"), next).rate_bytes_per_hour;
  EXPECT_NEAR(meter().ForecastOf(Bal("late"), next).rate_bytes_per_hour, want, 1e-6 * want);
}

TEST_F(MeterTest, ForecastRateFollowsTheCurrentHour) {
  AddPlan(Monthly("m30", 30 * kGB));
  const Millis start = T("2026-11-01T00:00:00+09:00");
  PutLine("l1", "m30", start);
  const int hours = 5 * 24;
  for (int h = 1; h <= hours; ++h) {
    const Millis end = start + h * kMillisPerHour - kMillisPerMinute;
    Apply({RecAt("l1", 15 * kMB, end)}, end);
  }
  const Millis now = start + hours * kMillisPerHour;  // the hour after the last record's
  auto expected = [&](double ewma, Millis at) {
    const double elapsed_h = static_cast<double>(at - start) / kMillisPerHour;
    return 0.5 * ewma + 0.5 * static_cast<double>(Bal("l1").cycle_bytes()) / elapsed_h;
  };
  EXPECT_NEAR(meter().ForecastOf(Bal("l1"), now).rate_bytes_per_hour, expected(15.0 * kMB, now),
              1e3);
  // 600 MB in this hour: once it closes, the short-term rate takes alpha of it.
  for (int i = 1; i <= 6; ++i) {
    const Millis end = now + i * 9 * kMillisPerMinute;
    Apply({RecAt("l1", 100 * kMB, end)}, end);
  }
  const Millis next = now + kMillisPerHour;
  const double ewma = 15.0 * kMB * (1 - kAlpha) + kAlpha * 600.0 * kMB;
  const double rate = meter().ForecastOf(Bal("l1"), next).rate_bytes_per_hour;
  EXPECT_NEAR(rate, expected(ewma, next), 1e3);
  EXPECT_GT(rate, 15.0 * kMB + 0.5 * kAlpha * 585.0 * kMB);
  // A record in the next hour folds it for good; a day of quiet halves it.
  Apply({RecAt("l1", 1, next + kMillisPerMinute)}, next + kMillisPerMinute);
  EXPECT_NEAR(Bal("l1").ewma_bytes_per_hour, ewma, 1.0);
  const Millis day = next + kMillisPerDay;
  EXPECT_NEAR(meter().ForecastOf(Bal("l1"), day).rate_bytes_per_hour,
              expected((ewma * (1 - kAlpha) + kAlpha) * std::pow(1 - kAlpha, 23), day), 1e3);
}

TEST_F(MeterTest, SetThresholdsMarksThoseAlreadyMetWithoutEvents) {
  AddPlan(WithAlerts(Monthly("m10", 10 * kGB), {"50%"}));
  PutLine("l1", "m10", T("2026-11-01T00:00:00+09:00"));
  Millis t = T("2026-11-10T00:00:00+09:00");
  EXPECT_THAT(Types(Apply({RecAt("l1", 8500 * kMB, t)}, t)), ElementsAre("threshold:50%"));
  Effects fx = SetThresholds("l1", {"50%", "80%", "90%", "2 GB left"}, t + 1);
  EXPECT_THAT(Types(fx), IsEmpty());
  EXPECT_THAT(fx.dirty_lines, ElementsAre(0u));
  EXPECT_EQ(Bal("l1").fired_mask, 0b1011u);
  fx = Apply({RecAt("l1", 600 * kMB, t + 2)}, t + 2);
  EXPECT_THAT(Types(fx), ElementsAre("threshold:90%"));
  // Back to the plan's: already met, so no event either.
  fx = SetThresholds("l1", {}, t + 3);
  EXPECT_THAT(Types(fx), IsEmpty());
  EXPECT_TRUE(Bal("l1").thresholds.empty());
  EXPECT_EQ(Bal("l1").fired_mask, 0b1u);
  // Unknown lines and too many thresholds are errors.
  EXPECT_EQ(meter().SetThresholds("nope", {}, t + 4, &fx).code(), Status::Code::kNotFound);
  std::vector<Threshold> many(kThresholdsMax + 1, Th("50%"));
  EXPECT_EQ(meter().SetThresholds("l1", many, t + 4, &fx).code(), Status::Code::kInvalidArgument);
}

TEST_F(MeterTest, SetThresholdsKeepsOtherEventsAndSeqsDense) {
  AddPlan(Monthly("m1", 1 * kGB));
  PutLine("l1", "m1", T("2026-11-01T00:00:00+09:00"));
  Millis t = T("2026-11-30T23:00:00+09:00");
  Apply({RecAt("l1", 2 * kGB, t)}, t);
  // The Tick inside SetThresholds resets the cycle: those events keep their place and seqs.
  Effects fx = SetThresholds("l1", {"10%"}, T("2026-12-01T00:00:01+09:00"));
  EXPECT_THAT(Types(fx), ElementsAre("reset", "restored:reset"));
  t = T("2026-12-02T00:00:00+09:00");
  EXPECT_THAT(Types(Apply({RecAt("l1", 100 * kMB, t)}, t)), ElementsAre("threshold:10%"));
}

// ---------------------------------------------------------------------------------------------
// Intake: quarantine, rejection, lookup

TEST_F(MeterTest, UnknownLinesAreQuarantinedWithOneEventPerKeyPerBatch) {
  AddPlan(Monthly("m10", 10 * kGB));
  PutLine("l1", "m10", T("2026-11-01T00:00:00+09:00"));
  Millis t = T("2026-11-10T00:00:00+09:00");
  Effects fx = Apply({RecAt("ghost", 100, t), RecAt("l1", 5, t), RecAt("msisdn:+15550001", 20, t),
                      RecAt("ghost", 50, t)},
                     t);
  EXPECT_EQ(fx.outcomes[0].kind, RecordOutcome::Kind::kQuarantined);
  EXPECT_EQ(fx.outcomes[1].kind, RecordOutcome::Kind::kApplied);
  EXPECT_EQ(fx.outcomes[2].kind, RecordOutcome::Kind::kQuarantined);
  EXPECT_EQ(fx.outcomes[3].kind, RecordOutcome::Kind::kQuarantined);
  ASSERT_THAT(Types(fx), ElementsAre("quarantined", "quarantined"));
  EXPECT_EQ(fx.events[0].record_key, "ghost");
  EXPECT_EQ(fx.events[0].count, 2u);
  EXPECT_EQ(fx.events[0].bytes, 150u);
  EXPECT_EQ(fx.events[0].at, t);
  EXPECT_EQ(fx.events[1].record_key, "msisdn:+15550001");
  EXPECT_EQ(fx.events[1].count, 1u);
  EXPECT_EQ(fx.events[1].bytes, 20u);
  EXPECT_EQ(meter().bytes_applied(), 5u);
  EXPECT_EQ(meter().records_applied(), 1u);
  EXPECT_THAT(fx.dirty_lines, ElementsAre(0u));
  fx = Apply({RecAt("ghost", 1, t + 1)}, t + 1);
  ASSERT_THAT(Types(fx), ElementsAre("quarantined"));
  EXPECT_EQ(fx.events[0].count, 1u);
}

TEST_F(MeterTest, RecordsFromTheFutureAreRejected) {
  AddPlan(Monthly("m10", 10 * kGB));
  PutLine("l1", "m10", T("2026-11-01T00:00:00+09:00"));
  Millis now = T("2026-11-10T00:00:00+09:00");
  Effects fx = Apply(
      {RecAt("l1", 1, now + kRecordFutureSkewMs), RecAt("l1", 2, now + kRecordFutureSkewMs + 1),
       RecAt("ghost", 4, now + kRecordFutureSkewMs + 1)},
      now);
  EXPECT_EQ(fx.outcomes[0].kind, RecordOutcome::Kind::kApplied);
  EXPECT_EQ(fx.outcomes[1].kind, RecordOutcome::Kind::kRejected);
  EXPECT_EQ(fx.outcomes[1].error.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(fx.outcomes[1].error.message().find("future"), std::string::npos);
  EXPECT_EQ(fx.outcomes[2].kind, RecordOutcome::Kind::kRejected);
  EXPECT_THAT(Types(fx), IsEmpty());
  EXPECT_EQ(meter().bytes_applied(), 1u);
  EXPECT_EQ(L("l1").total_bytes_down, 1u);
}

TEST_F(MeterTest, AReusedEffectsGetsFreshOutcomes) {
  AddPlan(Monthly("m10", 10 * kGB));
  PutLine("l1", "m10", T("2026-11-01T00:00:00+09:00"));
  Millis t = T("2026-11-10T00:00:00+09:00");
  Effects fx;
  meter().Apply({RecAt("l1", 5, t), RecAt("ghost", 1, t)}, t, &fx);
  meter().Apply({RecAt("l1", 7, t + 1)}, t + 1, &fx);
  ASSERT_EQ(fx.outcomes.size(), 1u);
  EXPECT_EQ(fx.outcomes[0].kind, RecordOutcome::Kind::kApplied);
  EXPECT_EQ(DebitSum(fx.outcomes[0]), 7u);
  EXPECT_EQ(fx.events.size(), 1u);  // the quarantine event of the first call is still there
  next_seq_ = meter().next_event_seq();
}

TEST_F(MeterTest, ApplyNeverGoesBackInTime) {
  AddPlan(Monthly("m10", 10 * kGB));
  PutLine("l1", "m10", T("2026-11-01T00:00:00+09:00"));
  Tick(T("2026-12-01T00:00:00+09:00"));
  // An older `now` is the meter's clock: the record is judged against Dec 1.
  Effects fx =
      Apply({RecAt("l1", 1, T("2026-11-30T12:00:00+09:00"))}, T("2026-11-30T12:00:00+09:00"));
  EXPECT_TRUE(fx.outcomes[0].late);
  EXPECT_EQ(Bal("l1").cycle_start, T("2026-12-01T00:00:00+09:00"));
}

TEST_F(MeterTest, LookupByIdentifiers) {
  AddPlan(Monthly("m10", 10 * kGB));
  LineSpec s;
  s.id = "line-1";
  s.plan = "m10";
  s.msisdn = "+81 90-1234-5678";
  s.imsi = "440101234567890";
  s.iccid = "8981100000000000001";
  PutLineSpec(s, T("2026-11-01T00:00:00+09:00"));
  const Line* l = meter().FindLine("line-1");
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->msisdn, "819012345678");
  EXPECT_EQ(meter().FindLine("msisdn:+819012345678"), l);
  EXPECT_EQ(meter().FindLine("msisdn:819012345678"), l);
  EXPECT_EQ(meter().FindLine("msisdn:+81 90 1234 5678"), l);
  EXPECT_EQ(meter().FindLine("imsi:440101234567890"), l);
  EXPECT_EQ(meter().FindLine("iccid:8981100000000000001"), l);
  EXPECT_EQ(meter().FindLineIndex("iccid:8981100000000000001"), 0);
  EXPECT_EQ(meter().FindLine("msisdn:+819012345679"), nullptr);
  EXPECT_EQ(meter().FindLine("imsi:440101234567891"), nullptr);
  EXPECT_EQ(meter().FindLine("819012345678"), nullptr);  // a bare key is a line id
  EXPECT_EQ(meter().FindLine("msisdn:"), nullptr);
  EXPECT_EQ(meter().FindLineIndex("nope"), -1);

  Millis t = T("2026-11-10T00:00:00+09:00");
  Effects fx = Apply({RecAt("msisdn:+819012345678", 1, t), RecAt("imsi:440101234567890", 2, t),
                      RecAt("iccid:8981100000000000001", 4, t)},
                     t);
  for (const RecordOutcome& o : fx.outcomes) EXPECT_EQ(o.kind, RecordOutcome::Kind::kApplied);
  EXPECT_EQ(l->total_bytes_down, 7u);

  // Identifiers belong to one line.
  LineSpec other;
  other.id = "line-2";
  other.plan = "m10";
  other.msisdn = "819012345678";
  Effects fx2;
  EXPECT_EQ(meter().PutLine(other, t, &fx2).code(), Status::Code::kAlreadyExists);
  other.msisdn = "";
  other.imsi = "440101234567890";
  EXPECT_EQ(meter().PutLine(other, t, &fx2).code(), Status::Code::kAlreadyExists);
  // Changing a line's identifier frees the old one.
  s.msisdn = "+819099999999";
  PutLineSpec(s, t);
  EXPECT_EQ(meter().FindLine("msisdn:819012345678"), nullptr);
  EXPECT_EQ(meter().FindLine("msisdn:+819099999999"), l);
  other.imsi = "";
  other.msisdn = "+819012345678";
  next_seq_ = meter().next_event_seq();
  PutLineSpec(other, t);
  EXPECT_EQ(meter().FindLine("msisdn:819012345678")->id, "line-2");
}

// ---------------------------------------------------------------------------------------------
// Records

TEST(RecordTest, Validate) {
  UsageRecord r = RecAt("l1", 10, 1000 * kMillisPerSecond);
  EXPECT_TRUE(ValidateRecord(r).ok());
  UsageRecord bad = r;
  bad.line = "";
  EXPECT_FALSE(ValidateRecord(bad).ok());
  bad = r;
  bad.end = r.start - 1;
  EXPECT_NE(ValidateRecord(bad).message().find("end"), std::string::npos);
  bad = r;
  bad.bytes_up = kRecordBytesMax + 1;
  EXPECT_NE(ValidateRecord(bad).message().find("bytes_up"), std::string::npos);
  bad = r;
  bad.bytes_down = kRecordBytesMax + 1;
  EXPECT_NE(ValidateRecord(bad).message().find("bytes_down"), std::string::npos);
  bad = r;
  bad.app = std::string(kRecordFieldBytesMax + 1, 'a');
  EXPECT_NE(ValidateRecord(bad).message().find("app"), std::string::npos);
  bad = r;
  bad.device = "a\nb";
  EXPECT_NE(ValidateRecord(bad).message().find("device"), std::string::npos);
  bad = r;
  bad.end = bad.start;  // zero-length is fine
  EXPECT_TRUE(ValidateRecord(bad).ok());
}

TEST(RecordTest, DedupKey) {
  UsageRecord r = RecAt("l1", 10, 1000 * kMillisPerSecond);
  r.id = "abc";
  EXPECT_EQ(DedupKey(r), "id:abc");
  r.id = "";
  std::string h = DedupKey(r);
  EXPECT_EQ(h.substr(0, 2), "h:");
  EXPECT_EQ(h.size(), 34u);
  EXPECT_EQ(DedupKey(r), h);
  UsageRecord r2 = r;
  r2.bytes_down = 11;
  EXPECT_NE(DedupKey(r2), h);
  r2 = r;
  r2.app = "x";
  EXPECT_NE(DedupKey(r2), h);
  // Field boundaries matter: ("ab", "") differs from ("a", "b").
  UsageRecord a = r, b = r;
  a.device = "ab";
  b.device = "a";
  b.app = "b";
  EXPECT_NE(DedupKey(a), DedupKey(b));
}

TEST(RecordTest, LineIds) {
  EXPECT_TRUE(ValidateLineId("line-1.a_b+c@d").ok());
  EXPECT_FALSE(ValidateLineId("").ok());
  EXPECT_FALSE(ValidateLineId("msisdn:1").ok());
  EXPECT_FALSE(ValidateLineId("a b").ok());
  EXPECT_FALSE(ValidateLineId(std::string(kLineIdBytesMax + 1, 'a')).ok());
  EXPECT_TRUE(ValidateLineId(std::string(kLineIdBytesMax, 'a')).ok());
}

TEST(EventTest, JsonAndNames) {
  for (int i = 0; i < kEventTypeCount; ++i) {
    EventType t;
    ASSERT_TRUE(ParseEventType(EventTypeName(static_cast<EventType>(i)), &t));
    EXPECT_EQ(static_cast<int>(t), i);
  }
  EventType t;
  EXPECT_FALSE(ParseEventType("nope", &t));
  Event ev;
  ev.seq = 42;
  ev.type = EventType::kThreshold;
  ev.line = "l1";
  ev.at = T("2026-11-10T00:00:00Z");
  ev.threshold = "80%";
  ev.has_quota = true;
  ev.used_bytes = 8;
  ev.quota_bytes = 10;
  ev.remaining_bytes = 2;
  ev.cycle_start = T("2026-11-01T00:00:00Z");
  ev.cycle_end = T("2026-12-01T00:00:00Z");
  EXPECT_EQ(ev.Id(), "evt-42");
  EXPECT_EQ(ev.ToJson(),
            R"({"at":"2026-11-10T00:00:00Z","cycle":{"end":"2026-12-01T00:00:00Z",)"
            R"("start":"2026-11-01T00:00:00Z"},"id":"evt-42","line":"l1","quota":10,)"
            R"("remaining":2,"seq":42,"threshold":"80%","type":"threshold","used":8})");
}

// ---------------------------------------------------------------------------------------------
// Randomized: conservation, reference totals, determinism, and recovery through the codec.

struct Op {
  enum Kind { kApply, kTick, kTopUp } kind = kApply;
  Millis now = 0;
  std::vector<UsageRecord> records;
  std::string line;
  TopUpSpec topup;
};

struct Scenario {
  std::vector<std::string> line_ids;
  std::map<std::string, std::string> line_pool;  // line -> pool ("" for own)
  std::map<std::string, std::string> line_plan;
  std::vector<std::string> keys;  // per line: the key records use (id, msisdn:, imsi:, iccid:)
  std::vector<Op> ops;
};

constexpr int kRandomLines = 40;

void AddRandomPlans(Catalog* c) {
  std::vector<Plan> plans;
  for (int day : {1, 15, 28, 31}) {
    Plan p =
        WithAlerts(Monthly("m-" + std::to_string(day), 3 * kGB, day), {"50%", "1 GB left", "pace"});
    p.rollover = day % 2 == 1;
    plans.push_back(p);
  }
  Plan block = Monthly("m-block", 2 * kGB);
  block.after_quota = AfterQuota{};
  block.after_quota.action = QuotaAction::kBlock;
  plans.push_back(block);
  Plan over = Monthly("m-over", 2 * kGB);
  over.after_quota = AfterQuota{};
  over.after_quota.action = QuotaAction::kOverage;
  over.after_quota.unit_bytes = 100 * kMB;
  over.after_quota.price_micros = 55'000'000;
  over.after_quota.currency = "JPY";
  over.after_quota.cap_micros = 3'300'000'000;
  plans.push_back(over);
  plans.push_back(WithAlerts(Daily("d", 300 * kMB), {"80%"}));
  plans.push_back(Pass("p-act", 2 * kGB, 8, PassStart::kActivation));
  plans.push_back(Pass("p-first", 2 * kGB, 8, PassStart::kFirstUse));
  plans.push_back(Unlimited("u", 3, 5 * kGB));
  plans.push_back(Unlimited("u-block", 1, 2 * kGB, QuotaAction::kBlock));
  plans.push_back(Monthly("pool-plan", 8 * kGB, 10));
  for (Plan& p : plans) ASSERT_TRUE(c->Add(p).ok()) << p.id;
}

const Millis kRandomStart = 1'790'000'000'000;  // 2026-09-21

Scenario MakeScenario(uint64_t seed, Meter* meter) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  };
  const std::vector<std::string> plan_ids = {"m-1", "m-15",  "m-28",    "m-31", "m-block", "m-over",
                                             "d",   "p-act", "p-first", "u",    "u-block"};
  const std::vector<std::string> zones = {"Asia/Tokyo", "UTC", "Europe/Berlin", "America/New_York"};
  Scenario sc;
  Effects fx;
  for (int p = 0; p < 2; ++p) {
    PoolSpec ps;
    ps.id = "pool" + std::to_string(p);
    ps.plan = "pool-plan";
    ps.timezone = zones[uniform(0, zones.size() - 1)];
    EXPECT_TRUE(meter->PutPool(ps, kRandomStart - kMillisPerDay, &fx).ok());
  }
  for (int i = 0; i < kRandomLines; ++i) {
    LineSpec s;
    s.id = "line" + std::to_string(i);
    s.msisdn = "+8190" + std::to_string(10'000'000 + i);
    s.imsi = "44010" + std::to_string(1'000'000'000 + i);
    s.iccid = "8981" + std::to_string(100'000'000'000 + i);
    s.timezone = zones[uniform(0, zones.size() - 1)];
    if (i % 8 == 7) {
      s.pool = "pool" + std::to_string(i % 2);
    } else {
      s.plan = plan_ids[uniform(0, plan_ids.size() - 1)];
    }
    EXPECT_TRUE(meter->PutLine(s, kRandomStart - kMillisPerDay, &fx).ok()) << s.id;
    sc.line_ids.push_back(s.id);
    sc.line_pool[s.id] = s.pool;
    sc.line_plan[s.id] = s.plan;
    switch (uniform(0, 3)) {
      case 0:
        sc.keys.push_back(s.id);
        break;
      case 1:
        sc.keys.push_back("msisdn:" + s.msisdn);
        break;
      case 2:
        sc.keys.push_back("imsi:" + s.imsi);
        break;
      default:
        sc.keys.push_back("iccid:" + s.iccid);
        break;
    }
  }

  // Records over 75 days; each arrives after its end, mostly soon, sometimes days later.
  struct Pending {
    UsageRecord r;
    Millis arrival;
  };
  std::vector<Pending> pending;
  const int kRecords = 6000;
  for (int i = 0; i < kRecords; ++i) {
    UsageRecord r;
    uint64_t li = uniform(0, kRandomLines - 1);
    r.line = uniform(0, 99) < 2 ? "ghost" + std::to_string(uniform(0, 3)) : sc.keys[li];
    // Log-uniform sizes from bytes to ~1 GB.
    uint64_t magnitude = uniform(0, 9);
    uint64_t size = uniform(0, 1);
    for (uint64_t m = 0; m < magnitude; ++m) size = size * 10 + uniform(0, 9);
    r.bytes_down = size;
    r.bytes_up = uniform(0, 4) == 0 ? size / 10 : 0;
    r.end = kRandomStart + static_cast<Millis>(uniform(0, 75 * kMillisPerDay));
    r.start = r.end - static_cast<Millis>(uniform(0, 2 * kMillisPerHour));
    r.id = "r" + std::to_string(i);
    Millis delay;
    uint64_t d = uniform(0, 99);
    if (d < 80) {
      delay = static_cast<Millis>(uniform(0, 10 * kMillisPerMinute));
    } else if (d < 95) {
      delay = static_cast<Millis>(uniform(0, 6 * kMillisPerHour));
    } else {
      delay = static_cast<Millis>(uniform(0, 40 * kMillisPerDay));
    }
    pending.push_back({r, r.end + delay});
  }
  std::sort(pending.begin(), pending.end(),
            [](const Pending& a, const Pending& b) { return a.arrival < b.arrival; });
  Millis now = kRandomStart;
  size_t i = 0;
  while (i < pending.size()) {
    size_t n = std::min<size_t>(pending.size() - i, uniform(1, 48));
    Op op;
    op.kind = Op::kApply;
    for (size_t j = 0; j < n; ++j) {
      op.records.push_back(pending[i + j].r);
      now = std::max(now, pending[i + j].arrival);
    }
    i += n;
    std::shuffle(op.records.begin(), op.records.end(), rng);
    op.now = now;
    sc.ops.push_back(std::move(op));
    if (uniform(0, 9) == 0) {
      now += static_cast<Millis>(uniform(0, 3 * kMillisPerHour));
      Op tick;
      tick.kind = Op::kTick;
      tick.now = now;
      sc.ops.push_back(tick);
    }
    if (uniform(0, 4) == 0) {
      Op t;
      t.kind = Op::kTopUp;
      t.now = now;
      t.line = sc.line_ids[uniform(0, kRandomLines - 1)];
      t.topup.quota_bytes = uniform(1, 2000) * kMB;
      t.topup.validity_ms = static_cast<Millis>(uniform(1, 40)) * kMillisPerDay;
      t.topup.id = uniform(0, 3) == 0 ? "" : "t" + std::to_string(uniform(0, 30));
      sc.ops.push_back(t);
    }
  }
  return sc;
}

// What a run went through, so that the test can insist it covered the interesting paths.
struct Coverage {
  std::map<std::string, int> events;  // by type
  int late_previous = 0;
  int closed = 0;
  int over_quota = 0;
  int quarantined = 0;
  int topups = 0;
};

// Runs ops [from, to) on `meter`; appends every event's JSON to `log`.
void RunOps(const Scenario& sc, size_t from, size_t to, Meter* meter, std::vector<std::string>* log,
            std::map<std::string, uint64_t>* applied_up,
            std::map<std::string, uint64_t>* applied_down,
            std::vector<std::pair<std::string, UsageRecord>>* applied, Coverage* cov = nullptr) {
  Coverage ignored;
  if (cov == nullptr) cov = &ignored;
  for (size_t k = from; k < to; ++k) {
    const Op& op = sc.ops[k];
    Effects fx;
    if (op.kind == Op::kApply) {
      meter->Apply(op.records, op.now, &fx);
      ASSERT_EQ(fx.outcomes.size(), op.records.size());
      for (size_t i = 0; i < op.records.size(); ++i) {
        const UsageRecord& r = op.records[i];
        const RecordOutcome& out = fx.outcomes[i];
        ASSERT_NE(out.kind, RecordOutcome::Kind::kRejected) << r.id;
        if (r.line.starts_with("ghost")) {
          ASSERT_EQ(out.kind, RecordOutcome::Kind::kQuarantined);
          ++cov->quarantined;
          continue;
        }
        ASSERT_EQ(out.kind, RecordOutcome::Kind::kApplied) << r.line;
        ASSERT_EQ(DebitSum(out), r.bytes()) << r.id;
        for (const Debit& d : out.debits) {
          cov->late_previous += d.target == Debit::Target::kPreviousCycle;
          cov->closed += d.target == Debit::Target::kClosed;
          cov->over_quota += d.target == Debit::Target::kOverQuota;
          // Late records touch only earlier cycles; others only the current one.
          if (out.late) {
            EXPECT_NE(d.target, Debit::Target::kBucket) << r.id;
          } else {
            EXPECT_TRUE(d.target == Debit::Target::kBucket || d.target == Debit::Target::kOverQuota)
                << r.id;
          }
        }
        const std::string& id = meter->line(out.line).id;
        if (applied_up != nullptr) {
          (*applied_up)[id] += r.bytes_up;
          (*applied_down)[id] += r.bytes_down;
          applied->push_back({id, r});
        }
      }
    } else if (op.kind == Op::kTick) {
      meter->Tick(op.now, &fx);
    } else {
      Bucket b;
      Status st = meter->TopUp(op.line, op.topup, op.now, &fx, &b);
      cov->topups += st.ok();
      // Unlimited lines refuse top-ups; a full line refuses more.
      if (!st.ok()) {
        ASSERT_TRUE(st.code() == Status::Code::kInvalidArgument ||
                    st.code() == Status::Code::kResourceExhausted)
            << st.ToString();
      }
    }
    for (const Event& ev : fx.events) {
      log->push_back(ev.ToJson());
      ++cov->events[EventTypeName(ev.type)];
    }
    ASSERT_EQ(meter->bytes_applied(), meter->bytes_debited());
  }
}

void CheckBalanceInvariants(const Meter& m, const Balance& b, Millis now) {
  for (size_t i = 0; i < b.buckets.size(); ++i) {
    const Bucket& k = b.buckets[i];
    EXPECT_LE(k.used_bytes, k.quota_bytes);
    if (i > 0) {
      EXPECT_LE(b.buckets[i - 1].expires_at, k.expires_at);
    }
  }
  for (const Bucket& k : b.previous.buckets) EXPECT_LE(k.used_bytes, k.quota_bytes);
  if (b.state != LineState::kNormal) {
    EXPECT_NE(b.reason, StateReason::kNone);
  }
  if (b.started && b.plan->kind != PlanKind::kPass) {
    EXPECT_LE(b.cycle_start, now);
    EXPECT_GT(b.cycle_end, now);
  }
}

class MeterRandomTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(MeterRandomTest, ConservationReferenceTotalsAndRecovery) {
  auto catalog = std::make_shared<Catalog>();
  AddRandomPlans(catalog.get());
  Meter meter(catalog);
  Scenario sc = MakeScenario(GetParam(), &meter);
  std::vector<std::string> log;
  std::map<std::string, uint64_t> up, down;
  std::vector<std::pair<std::string, UsageRecord>> applied;

  // Halfway, snapshot every pool and line through the codec into a second meter.
  const size_t half = sc.ops.size() / 2;
  Coverage cov;
  RunOps(sc, 0, half, &meter, &log, &up, &down, &applied, &cov);
  Meter restored(catalog);
  for (size_t i = 0; i < meter.pool_count(); ++i) {
    auto p = std::make_unique<Pool>();
    ASSERT_TRUE(DecodePool(EncodePool(meter.pool(i)), *catalog, p.get()).ok());
    ASSERT_TRUE(restored.RestorePool(std::move(p)).ok());
  }
  for (size_t i = 0; i < meter.line_count(); ++i) {
    auto l = std::make_unique<Line>();
    ASSERT_TRUE(DecodeLine(EncodeLine(meter.line(i)), *catalog, l.get()).ok());
    ASSERT_TRUE(restored.RestoreLine(std::move(l)).ok());
  }
  restored.set_next_event_seq(meter.next_event_seq());
  for (size_t i = 0; i < meter.pool_count(); ++i) {
    EXPECT_EQ(restored.pool(i).members, meter.pool(i).members);
  }
  std::vector<std::string> log2 = log;
  RunOps(sc, half, sc.ops.size(), &meter, &log, &up, &down, &applied, &cov);
  RunOps(sc, half, sc.ops.size(), &restored, &log2, nullptr, nullptr, nullptr);

  // The run went through the paths worth testing.
  if (std::getenv("RYURYO_COVERAGE") != nullptr) {
    std::printf("late %d closed %d over %d quarantined %d topups %d\n", cov.late_previous,
                cov.closed, cov.over_quota, cov.quarantined, cov.topups);
    for (const auto& [type, n] : cov.events) std::printf("  %s %d\n", type.c_str(), n);
  }
  EXPECT_GT(cov.late_previous, 0);
  EXPECT_GT(cov.closed, 0);
  EXPECT_GT(cov.over_quota, 0);
  EXPECT_GT(cov.quarantined, 0);
  EXPECT_GT(cov.topups, 0);
  for (const char* type : {"threshold", "exhausted", "throttled", "blocked", "restored", "reset",
                           "topup", "quarantined"}) {
    EXPECT_GT(cov.events[type], 0) << type;
  }

  // Conservation.
  uint64_t total = 0;
  for (const auto& [id, r] : applied) total += r.bytes();
  EXPECT_EQ(meter.bytes_applied(), total);
  EXPECT_EQ(meter.bytes_debited(), total);
  EXPECT_EQ(meter.records_applied(), applied.size());

  // Events: dense seqs, and the restored meter said exactly the same things.
  const Millis end = sc.ops.back().now;
  EXPECT_EQ(meter.next_event_seq(), log.size() + 1);
  ASSERT_EQ(log.size(), log2.size());
  for (size_t i = 0; i < log.size(); ++i) ASSERT_EQ(log[i], log2[i]) << "event " << i;
  for (size_t i = 0; i < meter.line_count(); ++i) {
    EXPECT_EQ(EncodeLine(meter.line(i)), EncodeLine(restored.line(i))) << meter.line(i).id;
  }
  for (size_t i = 0; i < meter.pool_count(); ++i) {
    EXPECT_EQ(EncodePool(meter.pool(i)), EncodePool(restored.pool(i)));
  }

  // Per-line totals against a straightforward sum; current-cycle use against the records that
  // ended in the current cycle (every record was applied at or after its end).
  std::map<std::string, uint64_t> pool_cycle_ref, pool_member_sum;
  for (const std::string& id : sc.line_ids) {
    const Line& l = *meter.FindLine(id);
    EXPECT_EQ(l.total_bytes_up, up[id]) << id;
    EXPECT_EQ(l.total_bytes_down, down[id]) << id;
    const Balance& b = meter.BalanceOf(l);
    CheckBalanceInvariants(meter, b, end);
    uint64_t ref = 0;
    for (const auto& [lid, r] : applied) {
      if (lid != id) continue;
      if (b.plan->kind == PlanKind::kPass || r.end >= b.cycle_start) ref += r.bytes();
    }
    if (l.pool.empty()) {
      if (b.started) {
        EXPECT_EQ(b.cycle_bytes(), ref) << id << " " << b.plan->id;
      }
    } else {
      pool_cycle_ref[l.pool] += ref;
      pool_member_sum[l.pool] += l.member_cycle_bytes;
      EXPECT_EQ(l.member_cycle_bytes, ref) << id;
    }
  }
  for (const auto& [pid, ref] : pool_cycle_ref) {
    EXPECT_EQ(meter.FindPool(pid)->balance.cycle_bytes(), ref) << pid;
    EXPECT_EQ(pool_member_sum[pid], ref) << pid;
  }
  // The same calls on a fresh meter give the same state (determinism).
  Meter again(catalog);
  MakeScenario(GetParam(), &again);
  std::vector<std::string> log3;
  RunOps(sc, 0, sc.ops.size(), &again, &log3, nullptr, nullptr, nullptr);
  EXPECT_EQ(log3, log);
  for (size_t i = 0; i < meter.line_count(); ++i) {
    EXPECT_EQ(EncodeLine(meter.line(i)), EncodeLine(again.line(i)));
  }
}

TEST_F(MeterTest, LinesOfAccountFollowsProvisioningAndAccountChanges) {
  AddPlan(Monthly("m10", 10 * kGB));
  const Millis now = T("2026-11-15T10:00:00+09:00");
  LineSpec a1;
  a1.id = "a1";
  a1.plan = "m10";
  a1.account = "alice";
  LineSpec a2 = a1;
  a2.id = "a2";
  LineSpec b1 = a1;
  b1.id = "b1";
  b1.account = "bob";
  PutLineSpec(a1, now);
  PutLineSpec(a2, now);
  PutLineSpec(b1, now);
  auto ids = [&](std::string_view account) {
    std::vector<std::string> out;
    for (uint32_t i : meter().LinesOfAccount(account)) out.push_back(meter().line(i).id);
    return out;
  };
  EXPECT_EQ(ids("alice"), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(ids("bob"), (std::vector<std::string>{"b1"}));
  EXPECT_TRUE(ids("carol").empty());
  EXPECT_TRUE(ids("").empty());

  a2.account = "bob";  // moved to another account
  PutLineSpec(a2, now);
  EXPECT_EQ(ids("alice"), (std::vector<std::string>{"a1"}));
  EXPECT_EQ(ids("bob"), (std::vector<std::string>{"b1", "a2"}));
  PutLineSpec(a1, now);  // re-provisioned unchanged: listed once
  EXPECT_EQ(ids("alice"), (std::vector<std::string>{"a1"}));
  a1.account.clear();
  PutLineSpec(a1, now);
  EXPECT_TRUE(ids("alice").empty());
}

INSTANTIATE_TEST_SUITE_P(Seeds, MeterRandomTest, ::testing::Values(1, 2, 3, 42, 20261127));

}  // namespace
}  // namespace ryuryo
