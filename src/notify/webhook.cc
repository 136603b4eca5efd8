#include "notify/webhook.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <set>

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
  uint64_t dead = 0;
  if (options_.lane != OutboxLane::kEnforcement && store_->CountDeadOutbox(&dead).ok()) {
    webhooks_.dead.store(dead, std::memory_order_relaxed);
  }
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
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

bool WebhookDelivery::InLane(uint32_t endpoint) const {
  switch (options_.lane) {
    case OutboxLane::kAll:
      return true;
    case OutboxLane::kWebhooks:
      return endpoint < kEnforcementEndpoint;
    case OutboxLane::kEnforcement:
      return endpoint >= kEnforcementEndpoint;
  }
  return false;
}

size_t WebhookDelivery::RunOnce() {
  size_t pending_webhooks = 0, pending_enforcement = 0, delivered = 0, scanned = 0;
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
      size_t& pending = e.endpoint >= kEnforcementEndpoint ? pending_enforcement : pending_webhooks;
      ++pending;
      if (e.next_attempt_at > clock_() || failing.count(e.endpoint)) continue;
      {
        std::lock_guard lock(mu_);
        if (stopping_) {
          stop = true;
          break;
        }
      }
      Outcome outcome = Deliver(e, &failing);
      if (outcome != Outcome::kFailed) --pending;
      if (outcome == Outcome::kDelivered) ++delivered;
    }
    if (entries.size() < options_.scan_entries_max) break;
  }
  webhooks_.pending.store(pending_webhooks, std::memory_order_relaxed);
  enforcement_counters_.pending.store(pending_enforcement, std::memory_order_relaxed);
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
  const bool enforcement = e.endpoint >= kEnforcementEndpoint;
  Counters& counters = enforcement ? enforcement_counters_ : webhooks_;
  const char* what = enforcement ? "enforcement" : "webhooks";
  std::string body;
  Status st = store_->ReadEvent(e.event_seq, &body);
  std::string error;
  if (!st.ok()) {
    error = st.ToString();
  } else if (enforcement ? SendEnforcement(body, &error) : SendWebhook(e, body, &error)) {
    st = store_->DeleteOutbox(e);
    if (!st.ok()) spdlog::error("{}: {}", what, st.ToString());
    counters.delivered.fetch_add(1, std::memory_order_relaxed);
    return Outcome::kDelivered;
  }
  if (error.empty()) error = "failed";
  failing->insert(e.endpoint);
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
  if (options_.lane != OutboxLane::kEnforcement) {
    metric("ryuryo_webhooks_delivered_total", "Webhook deliveries answered 2xx.", "counter",
           webhooks_.delivered.load());
    metric("ryuryo_webhooks_failed_attempts_total", "Webhook attempts that failed.", "counter",
           webhooks_.failed_attempts.load());
    metric("ryuryo_webhooks_dead_total", "Webhook deliveries given up (kept in the store).",
           "counter", webhooks_.dead.load());
    metric("ryuryo_webhooks_pending", "Webhook deliveries waiting.", "gauge",
           webhooks_.pending.load());
  }
  if (options_.lane != OutboxLane::kWebhooks) {
    metric("ryuryo_enforcement_outbox_delivered_total",
           "Events whose every session answered the CoA or Disconnect.", "counter",
           enforcement_counters_.delivered.load());
    metric("ryuryo_enforcement_outbox_failed_attempts_total",
           "Enforcement attempts with a session that did not answer.", "counter",
           enforcement_counters_.failed_attempts.load());
    metric("ryuryo_enforcement_outbox_dead_total", "Enforcement of events given up.", "counter",
           enforcement_counters_.dead.load());
    metric("ryuryo_enforcement_outbox_pending", "Events waiting for enforcement.", "gauge",
           enforcement_counters_.pending.load());
  }
  return out;
}

}  // namespace ryuryo::notify
