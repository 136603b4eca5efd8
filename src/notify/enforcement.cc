#include "notify/enforcement.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace ryuryo::notify {

namespace {

// What identifies a session's answer to one event: the NAS, the session, and the state sent.
std::string AnsweredKey(const EnforcementTarget& t) {
  std::string key = t.nas.ToString();
  for (const std::string* part :
       {&t.session.acct_session_id, &t.session.user_name, &t.session.calling_station_id}) {
    key.push_back('\0');
    key += *part;
  }
  key.push_back('\0');
  key += std::to_string(t.session.framed_ip_address);
  key.push_back('\0');
  key += LineStateName(t.facts.state);
  return key;
}

std::string SessionName(const EnforcementTarget& t) {
  const std::string& id =
      !t.session.acct_session_id.empty() ? t.session.acct_session_id : t.session.user_name;
  return t.nas.ToString() + " session " + (id.empty() ? "?" : id);
}

}  // namespace

bool NeedsEnforcement(const Event& ev) {
  return ev.type == EventType::kThrottled || ev.type == EventType::kBlocked ||
         ev.type == EventType::kRestored;
}

std::vector<uint32_t> RouteEnforcement(const Event& ev) {
  if (!NeedsEnforcement(ev)) return {};
  return {kEnforcementEndpoint};
}

Enforcer::Enforcer(radius::RadiusPolicy policy, TargetsOf targets_of, Record record, Clock clock,
                   CoaOptions coa_options)
    : policy_(std::move(policy)),
      targets_of_(std::move(targets_of)),
      record_(std::move(record)),
      clock_(std::move(clock)),
      coa_options_(coa_options) {}

bool Enforcer::Deliver(const Event& ev, std::string* error) {
  if (!NeedsEnforcement(ev)) return true;
  std::lock_guard lock(mu_);
  std::vector<EnforcementTarget> targets =
      targets_of_ ? targets_of_(ev) : std::vector<EnforcementTarget>{};
  if (targets.size() > kEnforcementTargetsPerEventMax) {
    spdlog::warn("enforcement: event {} has {} sessions; enforcing the first {}", ev.Id(),
                 targets.size(), kEnforcementTargetsPerEventMax);
    skipped_.fetch_add(targets.size() - kEnforcementTargetsPerEventMax, std::memory_order_relaxed);
    targets.resize(kEnforcementTargetsPerEventMax);
  }
  std::set<std::string>& answered = answered_[ev.seq];
  std::set<std::string> timed_out_nas;
  std::vector<std::string> failures;
  for (const EnforcementTarget& t : targets) {
    const std::string key = AnsweredKey(t);
    if (answered.count(key)) continue;
    if (timed_out_nas.count(t.nas.ToString())) {
      failures.push_back(SessionName(t) + ": not tried, its NAS did not answer");
      continue;
    }
    const LineState state = t.facts.state;
    const bool disconnect =
        policy_.Refuses(state) || (state == LineState::kNormal && !policy_.HasAttributes(state));
    const CoaKind kind = disconnect ? CoaKind::kDisconnect : CoaKind::kCoa;
    std::vector<radius::Attribute> attributes;
    if (!disconnect) attributes = policy_.AttributesFor(state, t.facts);
    const CoaReply reply = SendCoaRequest(kind, t.nas, t.session, attributes, coa_options_);
    requests_[static_cast<int>(kind)][static_cast<int>(reply.result)].fetch_add(
        1, std::memory_order_relaxed);

    Event out;
    out.type = EventType::kEnforcement;
    out.line = t.facts.line.empty() ? ev.line : t.facts.line;
    out.pool = ev.pool;
    out.account = ev.account;
    out.at = clock_ ? clock_() : ev.at;
    out.cause_seq = ev.seq;
    out.action = CoaKindName(kind);
    out.state = LineStateName(state);
    out.nas = t.nas.ToString();
    out.session_id = t.session.acct_session_id;
    out.result = CoaResultName(reply.result);
    out.error_cause = reply.error_cause;
    out.detail = reply.detail;
    if (record_) record_(std::move(out));

    if (reply.result == CoaResult::kAck || reply.result == CoaResult::kNak) {
      if (reply.result == CoaResult::kNak) {
        spdlog::info("enforcement: {} {} for {} of line {}: NAK (Error-Cause {})",
                     CoaKindName(kind), LineStateName(state), SessionName(t), t.facts.line,
                     reply.error_cause);
      }
      answered.insert(key);
      ++answered_count_;
      continue;
    }
    if (reply.result == CoaResult::kTimeout) timed_out_nas.insert(t.nas.ToString());
    failures.push_back(SessionName(t) + ": " + reply.detail);
  }
  if (failures.empty()) {
    answered_count_ -= std::min(answered_count_, answered.size());
    answered_.erase(ev.seq);
    return true;
  }
  if (answered_count_ > kEnforcementAnsweredMax) {
    answered_.clear();
    answered_count_ = 0;
  }
  if (error != nullptr) {
    *error = std::to_string(failures.size()) + " of " + std::to_string(targets.size()) +
             " sessions not enforced: " + failures[0];
    if (failures.size() > 1) *error += "; ...";
  }
  return false;
}

std::string Enforcer::MetricsText() const {
  std::string out =
      "# HELP ryuryo_enforcement_requests_total CoA and Disconnect requests sent to NASes, by "
      "outcome.\n# TYPE ryuryo_enforcement_requests_total counter\n";
  for (int k = 0; k < 2; ++k) {
    for (int r = 0; r < 4; ++r) {
      out += std::string("ryuryo_enforcement_requests_total{action=\"") +
             CoaKindName(static_cast<CoaKind>(k)) + "\",result=\"" +
             CoaResultName(static_cast<CoaResult>(r)) + "\"} " +
             std::to_string(requests_[k][r].load(std::memory_order_relaxed)) + "\n";
    }
  }
  out +=
      "# HELP ryuryo_enforcement_sessions_skipped_total Sessions beyond the per-event limit, not "
      "enforced.\n# TYPE ryuryo_enforcement_sessions_skipped_total counter\n"
      "ryuryo_enforcement_sessions_skipped_total " +
      std::to_string(skipped_.load(std::memory_order_relaxed)) + "\n";
  return out;
}

}  // namespace ryuryo::notify
