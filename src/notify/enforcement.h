// Enforcement (DESIGN §1 "enforcement: RADIUS CoA / Disconnect to the NAS"): when a line changes
// state, its live sessions are told so.
//
// An event that changes what a line may do (throttled, blocked, restored — a reset or top-up
// that restores a line raises `restored`) gets an outbox entry for kEnforcementEndpoint in the
// commit that raised it (RouteEnforcement). The outbox worker (notify/webhook.h) hands the
// entry to Enforcer::Deliver, which asks `targets_of` for the line's open sessions (for a pool,
// its members' sessions) and, for each, sends per the session's line state *now*
// (`target.facts.state`, so a retried event never re-applies a state the line has left):
//   blocked, refused by the policy      Disconnect-Request
//   blocked with walled-garden attrs    CoA-Request with the blocked attributes
//   throttled                           CoA-Request with the throttled attributes
//   normal, with normal attributes      CoA-Request with the normal attributes
//   normal, no normal attributes        Disconnect-Request: a CoA without attributes cannot undo
//                                       a throttle, so the session reconnects and gets its
//                                       Access-Accept for the normal state
// (radius/policy.h has the attributes per state and the defaults.)
//
// Each answered or failed request is recorded as a new kEnforcement event through `record`
// (the caller commits it with Meter::EmitEvent). kEnforcement events never need enforcement, so
// outcomes cannot loop. Deliver succeeds when every session answered, ACK or NAK (a NAK is final:
// recorded, not retried); it fails when some did not (timeout or error), so that the outbox
// retries the event later with its backoff. Sessions that answered an earlier attempt of the
// same event are not asked again (remembered in memory, so after a restart they may be). After a
// timeout, the other sessions on the same NAS are left for the retry rather than each waiting
// out its own timeout.
//
// Thread-safety: Deliver may be called from any thread, one call at a time per Enforcer (the
// outbox worker); MetricsText from any thread. The callbacks run on the calling thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/event.h"
#include "notify/coa.h"
#include "radius/policy.h"

namespace ryuryo::notify {

// Outbox endpoint indexes from this one up are enforcement, not webhooks.
inline constexpr uint32_t kEnforcementEndpoint = 0x8000'0000;

// Sessions enforced per event at most; more are skipped and counted.
inline constexpr size_t kEnforcementTargetsPerEventMax = 10'000;
// Sessions remembered as answered for events still being retried; beyond it the memory is
// cleared (which can only cause a repeated, harmless request).
inline constexpr size_t kEnforcementAnsweredMax = 100'000;

// Whether `ev` changes what the line's sessions may do: kThrottled, kBlocked, kRestored.
bool NeedsEnforcement(const Event& ev);

// The outbox endpoints for the enforcement of `ev`: {kEnforcementEndpoint}, or none. Append
// them to the webhook endpoints the ledger's OutboxRouter returns.
std::vector<uint32_t> RouteEnforcement(const Event& ev);

// One open session of the event's line, as the accounting side knows it.
struct EnforcementTarget {
  NasEndpoint nas;          // the NAS's address, its CoA port and the client's secret
  SessionIdentity session;  // Acct-Session-Id, User-Name, Framed-IP-Address, ...
  radius::LineFacts facts;  // the session's line, in its current state
};

class Enforcer {
 public:
  using TargetsOf = std::function<std::vector<EnforcementTarget>(const Event&)>;
  using Record = std::function<void(Event)>;
  using Clock = std::function<Millis()>;  // for the recorded events' `at`

  Enforcer(radius::RadiusPolicy policy, TargetsOf targets_of, Record record, Clock clock,
           CoaOptions coa_options = {});

  // Enforces `ev` on every target (see above). Returns true when there is nothing left to do;
  // false with `error` naming the sessions that did not answer.
  bool Deliver(const Event& ev, std::string* error);

  // Prometheus text for /metrics: requests by action and result, skipped sessions.
  std::string MetricsText() const;

 private:
  radius::RadiusPolicy policy_;
  TargetsOf targets_of_;
  Record record_;
  Clock clock_;
  CoaOptions coa_options_;
  std::mutex mu_;
  std::map<uint64_t, std::set<std::string>> answered_;  // event seq -> sessions that answered
  size_t answered_count_ = 0;
  std::atomic<uint64_t> requests_[2][4] = {};  // [CoaKind][CoaResult]
  std::atomic<uint64_t> skipped_{0};
};

}  // namespace ryuryo::notify
