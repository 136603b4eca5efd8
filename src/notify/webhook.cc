#include "notify/webhook.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <set>

#include "core/thread_name.h"
#include "notify/enforcement.h"
#include "notify/hmac.h"
#include "notify/http_client.h"

namespace ryuryo::notify {

std::vector<uint32_t> RouteEvent(const std::vector<WebhookEndpoint>& endpoints, const Event& ev) {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < endpoints.size(); ++i) {
    const WebhookEndpoint& e = endpoints[i];
    if (!e.events.empty() && !e.events.count(ev.type)) continue;
    if (!e.account.empty() && e.account != ev.account) continue;
    out.push_back(i);
  }
  return out;
}

WebhookDelivery::WebhookDelivery(store::Store* store, std::vector<WebhookEndpoint> endpoints,
                                 Clock clock, WebhookOptions options)
    : store_(store),
      endpoints_(std::move(endpoints)),
      clock_(std::move(clock)),
      options_(options) {}

WebhookDelivery::~WebhookDelivery() { Stop(); }

void WebhookDelivery::Start() {
  if (thread_.joinable()) return;
  // The dead entries kept in the store, so that the *_dead_total counters go on from where they
  // were: each kind counts its own.
  uint64_t dead[kKinds] = {};
  Status st = store_->ForEachDeadOutbox([&](uint32_t endpoint) {
    if (InLane(endpoint)) ++dead[KindOf(endpoint)];
  });
  if (st.ok()) {
    for (int k = 0; k < kKinds; ++k) counters_[k].dead.store(dead[k], std::memory_order_relaxed);
  }
  stopping_ = false;
  thread_ = std::thread([this] {
    SetThreadName(options_.lane == OutboxLane::kEnforcement ? "ryuryo-enforce"
                  : options_.lane == OutboxLane::kSms       ? "ryuryo-sms"
                                                            : "ryuryo-webhooks");
    Run();
  });
}

void WebhookDelivery::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WebhookDelivery::Poke() {
  {
    std::lock_guard lock(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

void WebhookDelivery::Run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_interval_ms),
                   [&] { return stopping_ || poked_; });
      if (stopping_) return;
      poked_ = false;
    }
    RunOnce();
  }
}

WebhookDelivery::Kind WebhookDelivery::KindOf(uint32_t endpoint) {
  if (endpoint >= kSmsEndpointBase) return kSms;
  if (endpoint >= kEnforcementEndpoint) return kEnforcement;
  return kWebhook;
}

uint32_t WebhookDelivery::FailingKey(uint32_t endpoint) {
  // Every SMS goes through the one gateway: one failure holds them all for the pass.
  return KindOf(endpoint) == kSms ? kSmsEndpointBase : endpoint;
}

bool WebhookDelivery::InLane(uint32_t endpoint) const {
  switch (options_.lane) {
    case OutboxLane::kAll:
      return true;
    case OutboxLane::kWebhooks:
      return KindOf(endpoint) == kWebhook;
    case OutboxLane::kEnforcement:
      return KindOf(endpoint) == kEnforcement;
    case OutboxLane::kSms:
      return KindOf(endpoint) == kSms;
  }
  return false;
}

size_t WebhookDelivery::RunOnce() {
  size_t pending[kKinds] = {}, delivered = 0, scanned = 0, quiet = 0;
  std::set<uint32_t> failing;  // endpoints that failed in this pass: not tried again in it
  std::vector<store::OutboxEntry> entries;
  std::optional<store::OutboxEntry> cursor;
  bool stop = false;
  while (!stop && scanned < options_.scan_entries_per_pass_max) {
    entries.clear();
    Status lst =
        store_->ListOutbox(options_.scan_entries_max, &entries, cursor ? &*cursor : nullptr);
    if (!lst.ok()) {
      spdlog::error("webhooks: {}", lst.ToString());
      break;
    }
    if (entries.empty()) break;
    cursor = entries.back();
    scanned += entries.size();
    for (store::OutboxEntry& e : entries) {
      if (e.dead || !InLane(e.endpoint)) continue;
      const Kind kind = KindOf(e.endpoint);
      ++pending[kind];
      const bool waits_quietly = kind == kSms && e.last_error.starts_with(kQuietHoursPrefix);
      if (waits_quietly) ++quiet;
      if (e.next_attempt_at > clock_() || failing.count(FailingKey(e.endpoint))) continue;
      {
        std::lock_guard lock(mu_);
        if (stopping_) {
          stop = true;
          break;
        }
      }
      Outcome outcome = Deliver(e, &failing);
      if (outcome == Outcome::kDelivered || outcome == Outcome::kBuried) --pending[kind];
      if (outcome == Outcome::kDelivered) ++delivered;
      if (waits_quietly != (outcome == Outcome::kDeferred)) {
        waits_quietly ? --quiet : ++quiet;
      }
    }
    if (entries.size() < options_.scan_entries_max) break;
  }
  for (int k = 0; k < kKinds; ++k) {
    counters_[k].pending.store(pending[k], std::memory_order_relaxed);
  }
  sms_quiet_.store(quiet, std::memory_order_relaxed);
  return delivered;
}

bool WebhookDelivery::SendWebhook(const store::OutboxEntry& e, const std::string& body,
                                  std::string* error) {
  std::string url, secret;
  if (e.endpoint >= kChannelEndpointBase) {
    const uint32_t id = e.endpoint - kChannelEndpointBase;
    std::optional<Channel> c = channels_ ? channels_->Find(id) : std::nullopt;
    Event ev;
    if (!c || !ParseEventJson(body, &ev).ok() || ev.line != c->line) {
      // Removed since the event was queued (or not this line's): nothing to send, ever.
      spdlog::info("webhooks: event {} for channel {} dropped: the channel was removed",
                   e.event_seq, id);
      return true;
    }
    url = c->url;
    secret = c->secret;
  } else if (e.endpoint < endpoints_.size()) {
    url = endpoints_[e.endpoint].url;
    secret = endpoints_[e.endpoint].secret;
  } else {
    *error = "endpoint " + std::to_string(e.endpoint) + " is no longer configured";
    return false;
  }
  HttpClientRequest req;
  req.url = url;
  req.body = body;
  req.timeout_ms = options_.timeout_ms;
  req.headers.emplace_back("X-Ryuryo-Event-Id", "evt-" + std::to_string(e.event_seq));
  req.headers.emplace_back("X-Ryuryo-Signature", "sha256=" + HmacSha256Hex(secret, body));
  HttpClientResponse resp;
  Status st = SendHttp(req, &resp);
  if (!st.ok()) {
    *error = st.message();
    return false;
  }
  if (resp.status < 200 || resp.status >= 300) {
    *error = "HTTP " + std::to_string(resp.status);
    return false;
  }
  return true;
}

bool WebhookDelivery::SendSms(const store::OutboxEntry& e, const std::string& body,
                              std::string* error, int64_t* defer_ms) {
  if (!sms_) {
    *error = "SMS sending is not configured";
    return false;
  }
  Event ev;
  Status st = ParseEventJson(body, &ev);
  if (!st.ok()) {
    *error = "stored event: " + st.message();
    return false;
  }
  SmsResult r = sms_(ev, e.endpoint);
  switch (r.outcome) {
    case SmsOutcome::kSent:
      return true;
    case SmsOutcome::kDropped:
      spdlog::info("sms: alert {} for line {} dropped: {}", ev.Id(), ev.line, r.detail);
      return true;
    case SmsOutcome::kDeferred:
      *defer_ms = std::max<int64_t>(1, std::min(r.defer_ms, options_.sms_recheck_ms));
      *error = r.detail;
      return false;
    case SmsOutcome::kFailed:
      break;
  }
  *error = r.detail.empty() ? "not sent" : r.detail;
  return false;
}

bool WebhookDelivery::SendEnforcement(const std::string& body, std::string* error) {
  if (!enforcement_) {
    *error = "enforcement is not configured";
    return false;
  }
  Event ev;
  Status st = ParseEventJson(body, &ev);
  if (!st.ok()) {
    *error = "stored event: " + st.message();
    return false;
  }
  return enforcement_(ev, error);
}

WebhookDelivery::Outcome WebhookDelivery::Deliver(store::OutboxEntry& e,
                                                  std::set<uint32_t>* failing) {
  const Kind kind = KindOf(e.endpoint);
  Counters& counters = counters_[kind];
  static const char* kWhat[kKinds] = {"webhooks", "enforcement", "sms"};
  const char* what = kWhat[kind];
  std::string body;
  Status st = store_->ReadEvent(e.event_seq, &body);
  std::string error;
  int64_t defer_ms = 0;
  bool done = false;
  if (!st.ok()) {
    error = st.ToString();
  } else if (kind == kEnforcement) {
    done = SendEnforcement(body, &error);
  } else if (kind == kSms) {
    done = SendSms(e, body, &error, &defer_ms);
  } else {
    done = SendWebhook(e, body, &error);
  }
  if (done) {
    st = store_->DeleteOutbox(e);
    if (!st.ok()) spdlog::error("{}: {}", what, st.ToString());
    counters.delivered.fetch_add(1, std::memory_order_relaxed);
    return Outcome::kDelivered;
  }
  if (defer_ms > 0) {  // waiting is not failing: no attempt counted, no backoff
    e.next_attempt_at = clock_() + defer_ms;
    e.last_error = error;
    st = store_->UpdateOutbox(e);
    if (!st.ok()) spdlog::error("{}: {}", what, st.ToString());
    return Outcome::kDeferred;
  }
  if (error.empty()) error = "failed";
  failing->insert(FailingKey(e.endpoint));
  counters.failed_attempts.fetch_add(1, std::memory_order_relaxed);
  e.attempts += 1;
  e.last_error = error;
  // Backoff doubles from the initial one up to the cap; the first attempt was due when the event
  // committed, so the waits so far add up to how long it has been failing.
  auto backoff_after = [&](uint32_t attempt) {
    return std::min<int64_t>(options_.backoff_initial_ms << std::min(attempt - 1, 30u),
                             options_.backoff_max_ms);
  };
  const int64_t backoff = backoff_after(e.attempts);
  int64_t age_ms = 0;
  for (uint32_t i = 1; i < e.attempts; ++i) age_ms += backoff_after(i);
  if (age_ms >= options_.give_up_after_ms) {
    counters.dead.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("{}: giving up on event {} for endpoint {} after {} attempts: {}", what,
                 e.event_seq, e.endpoint, e.attempts, error);
    st = store_->BuryOutbox(e);
    if (!st.ok()) spdlog::error("{}: {}", what, st.ToString());
    return Outcome::kBuried;
  }
  spdlog::info("{}: event {} to endpoint {} failed (attempt {}): {}; retry in {} ms", what,
               e.event_seq, e.endpoint, e.attempts, error, backoff);
  e.next_attempt_at = clock_() + backoff;
  st = store_->UpdateOutbox(e);
  if (!st.ok()) spdlog::error("{}: {}", what, st.ToString());
  return Outcome::kFailed;
}

std::string WebhookDelivery::MetricsText() const {
  std::string out;
  auto metric = [&](const char* name, const char* help, const char* type, uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(v) + "\n";
  };
  auto shows = [&](OutboxLane lane) {
    return options_.lane == OutboxLane::kAll || options_.lane == lane;
  };
  if (shows(OutboxLane::kWebhooks)) {
    const Counters& c = counters_[kWebhook];
    metric("ryuryo_webhooks_delivered_total", "Webhook deliveries answered 2xx.", "counter",
           c.delivered.load());
    metric("ryuryo_webhooks_failed_attempts_total", "Webhook attempts that failed.", "counter",
           c.failed_attempts.load());
    metric("ryuryo_webhooks_dead_total", "Webhook deliveries given up (kept in the store).",
           "counter", c.dead.load());
    metric("ryuryo_webhooks_pending", "Webhook deliveries waiting.", "gauge", c.pending.load());
  }
  if (shows(OutboxLane::kEnforcement)) {
    const Counters& c = counters_[kEnforcement];
    metric("ryuryo_enforcement_outbox_delivered_total",
           "Events whose every session answered the CoA or Disconnect.", "counter",
           c.delivered.load());
    metric("ryuryo_enforcement_outbox_failed_attempts_total",
           "Enforcement attempts with a session that did not answer.", "counter",
           c.failed_attempts.load());
    metric("ryuryo_enforcement_outbox_dead_total", "Enforcement of events given up.", "counter",
           c.dead.load());
    metric("ryuryo_enforcement_outbox_pending", "Events waiting for enforcement.", "gauge",
           c.pending.load());
  }
  if (shows(OutboxLane::kSms)) {
    const Counters& c = counters_[kSms];
    metric("ryuryo_sms_outbox_done_total", "Alert SMS entries done with (sent or dropped).",
           "counter", c.delivered.load());
    metric("ryuryo_sms_outbox_failed_attempts_total", "Alert SMS attempts the gateway refused.",
           "counter", c.failed_attempts.load());
    metric("ryuryo_sms_outbox_dead_total", "Alert SMS given up.", "counter", c.dead.load());
    metric("ryuryo_sms_outbox_pending", "Alert SMS waiting.", "gauge", c.pending.load());
    metric("ryuryo_sms_outbox_quiet", "Alert SMS found waiting for quiet hours to end.", "gauge",
           sms_quiet_.load());
  }
  return out;
}

}  // namespace ryuryo::notify
