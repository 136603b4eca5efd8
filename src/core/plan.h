// Plans: what a subscriber bought (DESIGN §2). A catalog is a set of plans read from the config
// file; the app layer parses TOML into these structs, and Plan::Validate() checks them.
//
// Plain values; immutable once the catalog is loaded, so safe to read from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/timeutil.h"

namespace ryuryo {

enum class PlanKind : uint8_t { kMonthly, kDaily, kPass, kUnlimited };
enum class QuotaAction : uint8_t { kThrottle, kBlock, kOverage };
enum class PassStart : uint8_t { kActivation, kFirstUse };

const char* PlanKindName(PlanKind kind);
const char* QuotaActionName(QuotaAction action);
Status ParsePlanKind(std::string_view text, PlanKind* kind);
Status ParseQuotaAction(std::string_view text, QuotaAction* action);

// An alert threshold: "80%" (of the cycle's quota used), "500 MB left", or "pace" (the forecast
// says the quota runs out well before the reset). Each fires at most once per cycle.
struct Threshold {
  enum class Kind : uint8_t { kPercent, kBytesLeft, kPace };
  Kind kind = Kind::kPercent;
  uint32_t percent_bp = 0;  // kPercent: 8000 = 80%
  uint64_t bytes_left = 0;  // kBytesLeft

  static Status Parse(std::string_view text, Threshold* out);
  std::string Label() const;  // "80%", "500 MB left", "pace"
  friend bool operator==(const Threshold&, const Threshold&) = default;
};

// Largest number of thresholds a plan or a line may have (they are tracked in a bit mask).
inline constexpr size_t kThresholdsMax = 32;

struct AfterQuota {
  QuotaAction action = QuotaAction::kBlock;
  uint64_t rate_bps = 0;      // kThrottle: the throttled rate
  uint64_t unit_bytes = 0;    // kOverage: price is per started unit of this many bytes
  int64_t price_micros = 0;   // kOverage: price per unit, in currency units x 10^6
  std::string currency;       // kOverage: ISO 4217 ("JPY")
  int64_t cap_micros = -1;    // kOverage: the most charged per cycle; -1 for no cap
};

// Fair use for unlimited plans: more than `limit_bytes` within the last `window_ms` (a rolling
// window of whole hours) throttles or blocks until the window falls back under the limit.
struct FairUse {
  int64_t window_ms = 0;
  uint64_t limit_bytes = 0;
  QuotaAction action = QuotaAction::kThrottle;  // kThrottle or kBlock
  uint64_t rate_bps = 0;
};

// Longest fair-use window (its hourly ring lives in memory per unlimited line).
inline constexpr int64_t kFairUseWindowMsMax = 31 * kMillisPerDay;

struct Plan {
  std::string id;
  std::string name;  // for people; defaults to the id
  PlanKind kind = PlanKind::kMonthly;
  uint64_t quota_bytes = 0;      // monthly, daily, pass
  int cycle_day = 1;             // monthly and unlimited: 1..31 (31 = last day of short months)
  bool rollover = false;         // monthly: unused plan allowance moves into the next cycle only
  int64_t validity_ms = 0;       // pass
  PassStart starts = PassStart::kFirstUse;  // pass
  AfterQuota after_quota;
  std::optional<FairUse> fair_use;  // unlimited
  std::vector<Threshold> alerts;    // default thresholds of lines on this plan
  std::string timezone = "Asia/Tokyo";  // default zone of lines on this plan

  // Checks the fields that belong to the kind; the error names the plan and the field.
  Status Validate() const;
};

// The plans by id.
class Catalog {
 public:
  Status Add(Plan plan);  // validates; a second plan with the same id is an error
  const Plan* Find(std::string_view id) const;
  const std::vector<std::shared_ptr<const Plan>>& plans() const { return plans_; }

 private:
  std::vector<std::shared_ptr<const Plan>> plans_;
  std::map<std::string, const Plan*, std::less<>> by_id_;
};

// Formats a money amount in micro-units with the currency's usual decimals ("3300", "1.50").
std::string FormatMoney(int64_t micros, std::string_view currency);
// Parses "55", "1.5", "0.000001"; at most 6 decimals.
Status ParseMoneyMicros(std::string_view text, int64_t* micros);

}  // namespace ryuryo
