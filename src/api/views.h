// The JSON views of lines, pools, buckets and usage that the routes, the live stream and the
// export share (DESIGN §4: the field names are a contract). Call under the ledger's read lock,
// except UsageJson of a snapshot.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/meter.h"
#include "store/store.h"

namespace ryuryo::api {

using json = nlohmann::json;

// GET /v1/lines/{id}: plan, identifiers, time zone, locale, pool.
json LineJson(const Meter& m, const Line& l);
// GET /v1/pools/{id}.
json PoolJson(const Meter& m, const Pool& p);
// A top-up or rollover bucket, times in the balance's zone.
json BucketJson(const Zone& z, const Bucket& k);
// What GET /v1/lines/{id}/usage shows of a line at `now`, copied out of the meter: taken under the
// ledger's read lock (UsageOf: the balance arithmetic and the forecast), turned into JSON after it
// is released (UsageJson), so that the lock is held for the numbers only and not for formatting
// (the live stream renders every watched line that changed).
struct UsageSnapshot {
  std::string line, plan, plan_name, locale;
  PlanKind plan_kind = PlanKind::kMonthly;
  Zone zone;
  bool has_quota = false;
  uint64_t used_bytes = 0, quota_bytes = 0, remaining_bytes = 0;
  uint64_t bytes_up = 0, bytes_down = 0;  // this cycle
  std::vector<Bucket> buckets;            // active, in consumption order
  bool started = false;                   // false: a first-use pass not yet used
  Millis cycle_start = 0, cycle_end = 0;
  LineState state = LineState::kNormal;
  StateReason reason = StateReason::kNone;
  uint64_t throttle_rate_bps = 0;
  Forecast forecast;
  std::optional<AfterQuota> overage;  // set for a plan charging overage
  uint64_t overage_bytes = 0;
  int64_t overage_cost_micros = 0;
  std::optional<FairUse> fair_use;
  uint64_t fair_use_window_bytes = 0;
  std::string pool;  // empty: not in a pool
  uint64_t pool_member_used_bytes = 0;
  size_t pool_members = 0;
  Millis as_of = 0, last_record_at = 0;
};
// Under the ledger's read lock.
UsageSnapshot UsageOf(const Meter& m, const Line& l, Millis now);
// GET /v1/lines/{id}/usage: used, remaining, buckets, cycle, state, forecast, as_of. Needs no lock.
json UsageJson(const UsageSnapshot& u);
// Both of the above (under the lock).
json UsageJson(const Meter& m, const Line& l, Millis now);
// One entry of GET /v1/lines/{id}/audit.
json AuditJson(const Zone& zone, const store::AuditEntry& e);
// GET /v1/lines/{id}/alerts: {"line", "thresholds", "inherited"}.
json ThresholdsJson(const Line& l, const Balance& b);

}  // namespace ryuryo::api
