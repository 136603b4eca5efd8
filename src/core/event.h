// Events: what the meter tells the rest of the system (DESIGN §4, "Events"). Alerts, webhooks,
// SMS and enforcement read them; they are committed with the batch that raised them. Outcomes of
// actions taken on events (enforcement: RADIUS CoA / Disconnect to a NAS) are events too, raised
// outside the meter and committed the same way (Meter::EmitEvent).
//
// Plain values; safe to move between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
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
  kEnforcement,  // a CoA or Disconnect was sent to a NAS for a session of the line: its outcome
};
inline constexpr int kEventTypeCount = 10;

const char* EventTypeName(EventType type);
// The alerts a subscriber is told of (webhook channels, SMS): kThreshold, kPace, kExhausted,
// kThrottled, kBlocked, kRestored.
bool IsAlertEvent(EventType type);
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
  // kEnforcement: what was sent for which session, and how the NAS answered.
  uint64_t cause_seq = 0;    // the seq of the event that was enforced
  std::string action;        // "coa" | "disconnect"
  std::string state;         // the line state enforced: "normal" | "throttled" | "blocked"
  std::string nas;           // "address:port" the request went to
  std::string session_id;    // the session's Acct-Session-Id (may be empty)
  std::string result;        // "ack" | "nak" | "timeout" | "error"
  uint32_t error_cause = 0;  // "nak": the NAK's Error-Cause (RFC 5176 §3.6), 0 when absent
  std::string detail;        // "error" / "timeout": what went wrong, for operators

  // A stable identifier: the same event always has the same id ("evt-<seq>"), so receivers can
  // drop the duplicates that at-least-once delivery brings.
  std::string Id() const;
  // The JSON object of the API and webhooks: {"seq", "id", "type", "line", "at", ...}.
  std::string ToJson() const;
};

// Reads back what Event::ToJson wrote (the store keeps events as JSON): every field ToJson
// writes comes back; fields it leaves out for the event's type are left at their defaults. A
// malformed document or field is an InvalidArgument naming the field; never throws.
Status ParseEventJson(std::string_view json, Event* event);

}  // namespace ryuryo
