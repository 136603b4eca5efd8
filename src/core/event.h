// Events: what the meter tells the rest of the system (DESIGN §4, "Events"). Alerts, webhooks,
// SMS and enforcement read them; they are committed with the batch that raised them.
//
// Plain values; safe to move between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/timeutil.h"

namespace ryuryo {

enum class EventType : uint8_t {
  kThreshold,    // a threshold was crossed ("threshold": "80%")
  kPace,         // the forecast runs out well before the reset
  kExhausted,    // the quota is used up
  kThrottled,    // the line is now throttled ("reason": quota | fair_use | expired)
  kBlocked,      // the line is now blocked
  kRestored,     // back to normal ("reason": reset | topup | fair_use)
  kReset,        // a new cycle began
  kTopup,        // a top-up was added
  kQuarantined,  // records for an unknown line were kept aside
};
inline constexpr int kEventTypeCount = 9;

const char* EventTypeName(EventType type);
bool ParseEventType(std::string_view text, EventType* type);

struct Event {
  uint64_t seq = 0;  // dense and increasing; assigned by the meter
  EventType type = EventType::kReset;
  std::string line;     // the line (for a pool, the member whose usage triggered it; may be empty)
  std::string pool;     // set when the balance is a pool's
  std::string account;  // the line's (or pool's) account, for routing webhooks
  Millis at = 0;
  std::string threshold;  // kThreshold: its label; kPace: "pace"
  std::string reason;     // kThrottled, kBlocked, kRestored
  bool has_quota = false;
  uint64_t used_bytes = 0;       // in the cycle, when the event was raised
  uint64_t quota_bytes = 0;      // has_quota
  uint64_t remaining_bytes = 0;  // has_quota
  uint64_t rate_bps = 0;         // kThrottled
  Millis exhausted_at = 0;       // kPace: projected run-out
  Millis cycle_start = 0;
  Millis cycle_end = 0;
  uint64_t bytes = 0;      // kTopup: the top-up's quota; kQuarantined: bytes kept aside
  uint32_t count = 0;      // kQuarantined: records kept aside in this batch for this key
  std::string record_key;  // kQuarantined: the line key nobody matched

  // A stable identifier: the same event always has the same id ("evt-<seq>"), so receivers can
  // drop the duplicates that at-least-once delivery brings.
  std::string Id() const;
  // The JSON object of the API and webhooks: {"seq", "id", "type", "line", "at", ...}.
  std::string ToJson() const;
};

}  // namespace ryuryo
