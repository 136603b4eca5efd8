// Webhook alert delivery (DESIGN §4 "Events"): the outbox worker.
//
// The ledger writes an outbox entry for every (event, matching endpoint) in the same commit as
// the event, so nothing raised is forgotten. This worker POSTs each due entry's event JSON to
// its endpoint with
//   X-Ryuryo-Event-Id: evt-<seq>            (stable: receivers drop duplicates by it)
//   X-Ryuryo-Signature: sha256=<hex HMAC-SHA256 of the body with the endpoint's secret>
// A 2xx answer deletes the entry; anything else (or no answer) retries with exponential backoff
// (1 s, 2 s, 4 s, … capped at 1 h), the attempt count and next time stored, so retries continue
// across restarts. Each pass reads the whole live outbox in chunks (so entries waiting for their
// backoff never hide due ones behind them), and an endpoint that fails once in a pass is not tried
// again in that pass (so one dead endpoint cannot hold up the others). Delivery is at-least-once.
// After `give_up_after_ms` of failures an entry is marked dead (kept, counted and logged) and no
// longer retried.
//
// Entries whose endpoint index is from kChannelEndpointBase up to kEnforcementEndpoint go to a
// subscriber's own webhook channel (notify/channels.h), signed with that channel's secret.
//
// Entries whose endpoint index is kSmsEndpointBase or above are alert SMS (notify/sms_alerts.h):
// their event goes to the SMS sender, which may also drop an entry (it is deleted unsent) or
// defer it (quiet hours: it waits, rescheduled without counting an attempt, and is looked at
// again at least every `sms_recheck_ms`, so a changed setting applies). SMS has its own lane and
// metrics (ryuryo_sms_outbox_*), so a slow SMS gateway never delays webhooks.
//
// Entries whose endpoint index is from kEnforcementEndpoint below kSmsEndpointBase
// (notify/enforcement.h) are not
// webhooks: their event is handed to the enforcement sender (Enforcer::Deliver) instead of being
// POSTed, with the same retries, backoff, giving up and persistence; a sender that returns false
// counts as a failed attempt. Enforcement waits for NASes (seconds when one does not answer), so
// a server can run two workers on the same store, one per `lane`, and a silent NAS never delays
// webhooks; each worker only touches the entries of its lane. Enforcement has its own metrics
// (ryuryo_enforcement_outbox_*). The dead count a worker starts from is every entry given up in
// the store, webhook or enforcement; it is shown by the worker that handles webhooks. Stop()
// waits for the attempt in progress, which for enforcement can take a NAS timeout.
//
// Thread-safety: one worker thread; Start()/Stop() from the owning thread; Stats() from any.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/event.h"
#include "notify/channels.h"
#include "store/store.h"

namespace ryuryo::notify {

struct WebhookEndpoint {
  std::string url;
  std::string secret;
  std::set<EventType> events;  // empty: all
  std::string account;         // empty: every account; else only that account's events
};

// Which endpoints an event goes to.
std::vector<uint32_t> RouteEvent(const std::vector<WebhookEndpoint>& endpoints, const Event& ev);

// Which outbox entries a worker delivers.
enum class OutboxLane : uint8_t { kAll, kWebhooks, kEnforcement, kSms };

// Delivers one event to enforcement; false (with `error` set) to retry it later.
using EnforcementSender = std::function<bool(const Event& event, std::string* error)>;

// What became of one alert SMS.
enum class SmsOutcome : uint8_t {
  kSent,      // accepted by the gateway: the entry is deleted
  kDropped,   // never to be sent (STOP, cap, channel removed, ...): the entry is deleted
  kDeferred,  // not now (quiet hours): the entry waits `defer_ms`, no attempt counted
  kFailed,    // the gateway did not take it: retried with backoff
};
struct SmsResult {
  SmsOutcome outcome = SmsOutcome::kFailed;
  std::string detail;    // why (for logs)
  int64_t defer_ms = 0;  // kDeferred
};
using SmsSender = std::function<SmsResult(const Event& event, uint32_t endpoint)>;
// The detail of a deferral for quiet hours starts with this (counted in ryuryo_sms_outbox_quiet).
inline constexpr std::string_view kQuietHoursPrefix = "quiet hours";

struct WebhookOptions {
  OutboxLane lane = OutboxLane::kAll;
  int64_t poll_interval_ms = 200;
  int timeout_ms = 5000;
  int64_t backoff_initial_ms = 1000;
  int64_t backoff_max_ms = 3600 * 1000;
  int64_t give_up_after_ms = 3 * 24 * 3600 * 1000LL;
  size_t scan_entries_max = 4096;              // outbox entries read at a time
  size_t scan_entries_per_pass_max = 1 << 20;  // outbox entries looked at per pass, at most
  int64_t sms_recheck_ms = 60 * 1000;          // a deferred SMS is looked at again this often
};

class WebhookDelivery {
 public:
  using Clock = std::function<Millis()>;
  WebhookDelivery(store::Store* store, std::vector<WebhookEndpoint> endpoints, Clock clock,
                  WebhookOptions options);
  ~WebhookDelivery();
  // Where enforcement entries go; set before Start(). Without one they fail and back off.
  void set_enforcement_sender(EnforcementSender sender) { enforcement_ = std::move(sender); }
  // Where alert SMS entries go; set before Start(). Without one they fail and back off.
  void set_sms_sender(SmsSender sender) { sms_ = std::move(sender); }
  // Subscribers' channels (endpoints from kChannelEndpointBase); set before Start(). An entry for
  // a channel that no longer exists, or for an event of another line, is dropped unsent.
  void set_channels(const ChannelRegistry* channels) { channels_ = channels; }
  void Start();
  void Stop();
  // Wakes the worker (e.g. after a commit that queued entries).
  void Poke();
  // Runs one pass over due entries on the calling thread; returns how many were delivered.
  size_t RunOnce();

  // Prometheus text for /metrics.
  std::string MetricsText() const;

 private:
  enum class Outcome { kDelivered, kFailed, kBuried, kDeferred };
  enum Kind { kWebhook, kEnforcement, kSms, kKinds };
  static Kind KindOf(uint32_t endpoint);
  // What a failure of an entry for `endpoint` holds back for the rest of a pass (see `failing`).
  static uint32_t FailingKey(uint32_t endpoint);
  // Counters of one kind of entry (webhooks, enforcement, SMS).
  struct Counters {
    std::atomic<uint64_t> delivered{0};
    std::atomic<uint64_t> failed_attempts{0};
    std::atomic<uint64_t> dead{0};
    std::atomic<uint64_t> pending{0};
  };
  bool InLane(uint32_t endpoint) const;
  // One attempt at sending: true when delivered; else `error` says why.
  bool SendWebhook(const store::OutboxEntry& e, const std::string& body, std::string* error);
  bool SendEnforcement(const std::string& body, std::string* error);
  // An alert SMS: true when sent or dropped; *defer_ms > 0 when it waits.
  bool SendSms(const store::OutboxEntry& e, const std::string& body, std::string* error,
               int64_t* defer_ms);
  void Run();
  // One attempt at one entry; a failure puts its endpoint in `failing` and reschedules it.
  Outcome Deliver(store::OutboxEntry& e, std::set<uint32_t>* failing);
  store::Store* store_;
  std::vector<WebhookEndpoint> endpoints_;
  Clock clock_;
  WebhookOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool poked_ = false;
  std::thread thread_;
  EnforcementSender enforcement_;
  SmsSender sms_;
  const ChannelRegistry* channels_ = nullptr;
  Counters counters_[kKinds];           // webhook, enforcement, sms
  std::atomic<uint64_t> sms_quiet_{0};  // SMS entries waiting for quiet hours to end
};

}  // namespace ryuryo::notify
