#include "api/views.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "core/test_util.h"

namespace ryuryo::api {
namespace {

// A line on a 1 GB monthly plan that charges overage, with a top-up and 1.5 GB used, so that the
// usage has buckets, overage and a forecast.
class UsageSnapshotTest : public ::testing::Test {
 protected:
  UsageSnapshotTest() : catalog_(std::make_shared<Catalog>()) {
    Plan p;
    p.id = "mo";
    p.name = "Monthly 1 GB";
    p.kind = PlanKind::kMonthly;
    p.quota_bytes = 1 * kGB;
    p.cycle_day = 1;
    p.after_quota.action = QuotaAction::kOverage;
    p.after_quota.unit_bytes = 100 * kMB;
    p.after_quota.price_micros = 55'000'000;
    p.after_quota.currency = "JPY";
    Status st = catalog_->Add(std::move(p));
    EXPECT_TRUE(st.ok()) << st.ToString();
    meter_ = std::make_unique<Meter>(catalog_);
    Effects fx;
    LineSpec spec;
    spec.id = "l1";
    spec.plan = "mo";
    st = meter_->PutLine(spec, T("2026-11-01T00:00:00+09:00"), &fx);
    EXPECT_TRUE(st.ok()) << st.ToString();
    TopUpSpec topup;
    topup.quota_bytes = 200 * kMB;
    topup.validity_ms = 7 * kMillisPerDay;
    topup.id = "t1";
    Bucket created;
    st = meter_->TopUp("l1", topup, T("2026-11-10T00:00:00+09:00"), &fx, &created);
    EXPECT_TRUE(st.ok()) << st.ToString();
    Apply(1500 * kMB, T("2026-11-12T12:00:00+09:00"));
  }

  void Apply(uint64_t bytes, Millis end) {
    UsageRecord r;
    r.line = "l1";
    r.bytes_down = bytes;
    r.start = end - 10 * kMillisPerMinute;
    r.end = end;
    Effects fx;
    meter_->Apply({r}, end, &fx);
  }

  const Line& L() { return *meter_->FindLine("l1"); }

  std::shared_ptr<Catalog> catalog_;
  std::unique_ptr<Meter> meter_;
};

TEST_F(UsageSnapshotTest, RendersTheSameJsonAsTheMeter) {
  const Millis now = T("2026-11-12T12:30:00+09:00");
  const json direct = UsageJson(*meter_, L(), now);
  EXPECT_EQ(UsageJson(UsageOf(*meter_, L(), now)), direct);
  EXPECT_EQ(direct["used"], 1500 * kMB);
  EXPECT_EQ(direct["buckets"].size(), 2u);
  EXPECT_EQ(direct["overage"]["currency"], "JPY");
  EXPECT_EQ(direct["as_of"], "2026-11-12T12:30:00+09:00");
}

// What the live stream relies on: the snapshot is taken under the lock and rendered after it,
// while the meter goes on changing (or is gone).
TEST_F(UsageSnapshotTest, KeepsItsNumbersWhileTheMeterChangesAndOutlivesIt) {
  const Millis now = T("2026-11-12T12:30:00+09:00");
  const json before = UsageJson(*meter_, L(), now);
  const UsageSnapshot snapshot = UsageOf(*meter_, L(), now);

  Apply(300 * kMB, T("2026-11-12T12:40:00+09:00"));
  EXPECT_EQ(UsageJson(*meter_, L(), now)["used"], 1800 * kMB);
  EXPECT_EQ(UsageJson(snapshot), before);

  meter_.reset();
  catalog_.reset();
  EXPECT_EQ(UsageJson(snapshot), before);
}

}  // namespace
}  // namespace ryuryo::api
