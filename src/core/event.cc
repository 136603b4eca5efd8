#include "core/event.h"

#include <limits>
#include <nlohmann/json.hpp>

namespace ryuryo {

namespace {
constexpr const char* kNames[kEventTypeCount] = {
    "threshold", "pace",  "exhausted", "throttled",   "blocked",
    "restored",  "reset", "topup",     "quarantined", "enforcement"};

constexpr std::string_view kIdPrefix = "evt-";

bool ParseEventId(std::string_view id, uint64_t* seq) {
  if (id.substr(0, kIdPrefix.size()) != kIdPrefix || id.size() == kIdPrefix.size()) return false;
  uint64_t v = 0;
  for (char c : id.substr(kIdPrefix.size())) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  *seq = v;
  return true;
}

// Checked readers for ParseEventJson: absent fields keep their default.
class Reader {
 public:
  explicit Reader(const nlohmann::json& j) : j_(j) {}
  const Status& status() const { return status_; }

  void String(const char* key, std::string* out) {
    const auto it = j_.find(key);
    if (it == j_.end() || !status_.ok()) return;
    if (!it->is_string()) {
      Fail(key, "must be a string");
      return;
    }
    *out = it->get<std::string>();
  }
  template <typename T>
  void Unsigned(const char* key, T* out) {
    const auto it = j_.find(key);
    if (it == j_.end() || !status_.ok()) return;
    if (!it->is_number_unsigned() ||
        it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      Fail(key, "must be a non-negative integer in range");
      return;
    }
    *out = static_cast<T>(it->get<uint64_t>());
  }
  void Time(const nlohmann::json& j, const char* key, Millis* out) {
    const auto it = j.find(key);
    if (it == j.end() || !status_.ok()) return;
    if (!it->is_string()) {
      Fail(key, "must be an RFC 3339 string");
      return;
    }
    Status st = ParseRfc3339(it->get<std::string>(), out);
    if (!st.ok()) status_ = st.Prefixed(key);
  }
  void Fail(const char* key, const char* what) {
    status_ = Status::InvalidArgument(std::string(key) + ": " + what);
  }

 private:
  const nlohmann::json& j_;
  Status status_;
};

}  // namespace

bool IsAlertEvent(EventType type) {
  switch (type) {
    case EventType::kThreshold:
    case EventType::kPace:
    case EventType::kExhausted:
    case EventType::kThrottled:
    case EventType::kBlocked:
    case EventType::kRestored:
      return true;
    default:
      return false;
  }
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
  if (type != EventType::kQuarantined && type != EventType::kEnforcement) {
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
  if (type == EventType::kEnforcement) {
    j["cause"] = "evt-" + std::to_string(cause_seq);
    j["action"] = action;
    j["state"] = state;
    j["nas"] = nas;
    j["session_id"] = session_id;
    j["result"] = result;
    if (error_cause != 0) j["error_cause"] = error_cause;
    if (!detail.empty()) j["detail"] = detail;
  }
  return j.dump();
}

Status ParseEventJson(std::string_view json, Event* event) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("event: not a JSON object");
  }
  Event ev;
  Reader r(j);
  std::string type;
  r.String("type", &type);
  if (!r.status().ok()) return r.status();
  if (!ParseEventType(type, &ev.type)) {
    return Status::InvalidArgument("type: unknown event type \"" + type + "\"");
  }
  r.Unsigned("seq", &ev.seq);
  r.String("line", &ev.line);
  r.String("pool", &ev.pool);
  r.String("account", &ev.account);
  r.Time(j, "at", &ev.at);
  r.String("threshold", &ev.threshold);
  r.String("reason", &ev.reason);
  r.Unsigned("used", &ev.used_bytes);
  if (j.contains("quota")) {
    ev.has_quota = true;
    r.Unsigned("quota", &ev.quota_bytes);
    r.Unsigned("remaining", &ev.remaining_bytes);
  }
  if (const auto it = j.find("cycle"); it != j.end()) {
    if (!it->is_object()) return Status::InvalidArgument("cycle: must be an object");
    r.Time(*it, "start", &ev.cycle_start);
    r.Time(*it, "end", &ev.cycle_end);
  }
  r.Unsigned("rate_bps", &ev.rate_bps);
  r.Time(j, "exhausted_at", &ev.exhausted_at);
  r.Unsigned("bytes", &ev.bytes);
  r.Unsigned("records", &ev.count);
  r.String("key", &ev.record_key);
  std::string cause;
  r.String("cause", &cause);
  if (r.status().ok() && !cause.empty() && !ParseEventId(cause, &ev.cause_seq)) {
    return Status::InvalidArgument("cause: must be an event id \"evt-<seq>\"");
  }
  r.String("action", &ev.action);
  r.String("state", &ev.state);
  r.String("nas", &ev.nas);
  r.String("session_id", &ev.session_id);
  r.String("result", &ev.result);
  r.Unsigned("error_cause", &ev.error_cause);
  r.String("detail", &ev.detail);
  if (!r.status().ok()) return r.status();
  *event = std::move(ev);
  return Status::Ok();
}

}  // namespace ryuryo
