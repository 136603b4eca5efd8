#include "core/event.h"

#include <nlohmann/json.hpp>

namespace ryuryo {

namespace {
constexpr const char* kNames[kEventTypeCount] = {"threshold", "pace",    "exhausted",
                                                 "throttled", "blocked", "restored",
                                                 "reset",     "topup",   "quarantined"};
}

const char* EventTypeName(EventType type) { return kNames[static_cast<int>(type)]; }

bool ParseEventType(std::string_view text, EventType* type) {
  for (int i = 0; i < kEventTypeCount; ++i) {
    if (text == kNames[i]) {
      *type = static_cast<EventType>(i);
      return true;
    }
  }
  return false;
}

std::string Event::Id() const { return "evt-" + std::to_string(seq); }

std::string Event::ToJson() const {
  nlohmann::json j;
  j["seq"] = seq;
  j["id"] = Id();
  j["type"] = EventTypeName(type);
  j["line"] = line;
  if (!pool.empty()) j["pool"] = pool;
  if (!account.empty()) j["account"] = account;
  j["at"] = FormatRfc3339Utc(at);
  if (!threshold.empty()) j["threshold"] = threshold;
  if (!reason.empty()) j["reason"] = reason;
  if (type != EventType::kQuarantined) {
    j["used"] = used_bytes;
    if (has_quota) {
      j["quota"] = quota_bytes;
      j["remaining"] = remaining_bytes;
    }
    if (cycle_end != 0) {
      j["cycle"] = {{"start", FormatRfc3339Utc(cycle_start)}, {"end", FormatRfc3339Utc(cycle_end)}};
    }
  }
  if (type == EventType::kThrottled) j["rate_bps"] = rate_bps;
  if (type == EventType::kPace) j["exhausted_at"] = FormatRfc3339Utc(exhausted_at);
  if (type == EventType::kTopup) j["bytes"] = bytes;
  if (type == EventType::kQuarantined) {
    j["key"] = record_key;
    j["records"] = count;
    j["bytes"] = bytes;
  }
  return j.dump();
}

}  // namespace ryuryo
