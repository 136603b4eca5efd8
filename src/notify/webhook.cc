#include "notify/webhook.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <set>

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
    : store_(store), endpoints_(std::move(endpoints)), clock_(std::move(clock)), options_(options) {}

WebhookDelivery::~WebhookDelivery() { Stop(); }

void WebhookDelivery::Start() {
  if (thread_.joinable()) return;
  uint64_t dead = 0;
  if (store_->CountDeadOutbox(&dead).ok()) dead_.store(dead, std::memory_order_relaxed);
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

size_t WebhookDelivery::RunOnce() {
  size_t pending = 0, delivered = 0, scanned = 0;
  std::set<uint32_t> failing;  // endpoints that failed in this pass: not tried again in it
  std::vector<store::OutboxEntry> entries;
  std::optional<store::OutboxEntry> cursor;
  bool stop = false;
  while (!stop && scanned < options_.scan_entries_per_pass_max) {
    entries.clear();
    Status lst = store_->ListOutbox(options_.scan_entries_max, &entries,
                                    cursor ? &*cursor : nullptr);
    if (!lst.ok()) {
      spdlog::error("webhooks: {}", lst.ToString());
      break;
    }
    if (entries.empty()) break;
    cursor = entries.back();
    scanned += entries.size();
    for (store::OutboxEntry& e : entries) {
      if (e.dead) continue;
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
  pending_.store(pending, std::memory_order_relaxed);
  return delivered;
}

WebhookDelivery::Outcome WebhookDelivery::Deliver(store::OutboxEntry& e,
                                                  std::set<uint32_t>* failing) {
  std::string body;
  Status st = store_->ReadEvent(e.event_seq, &body);
  std::string error;
  if (!st.ok()) {
    error = st.ToString();
  } else if (e.endpoint >= endpoints_.size()) {
    error = "endpoint " + std::to_string(e.endpoint) + " is no longer configured";
  } else {
    const WebhookEndpoint& ep = endpoints_[e.endpoint];
    HttpClientRequest req;
    req.url = ep.url;
    req.body = body;
    req.timeout_ms = options_.timeout_ms;
    req.headers.emplace_back("X-Ryuryo-Event-Id", "evt-" + std::to_string(e.event_seq));
    req.headers.emplace_back("X-Ryuryo-Signature", "sha256=" + HmacSha256Hex(ep.secret, body));
    HttpClientResponse resp;
    st = SendHttp(req, &resp);
    if (!st.ok()) {
      error = st.message();
    } else if (resp.status >= 200 && resp.status < 300) {
      st = store_->DeleteOutbox(e);
      if (!st.ok()) spdlog::error("webhooks: {}", st.ToString());
      delivered_.fetch_add(1, std::memory_order_relaxed);
      return Outcome::kDelivered;
    } else {
      error = "HTTP " + std::to_string(resp.status);
    }
  }
  failing->insert(e.endpoint);
  failed_attempts_.fetch_add(1, std::memory_order_relaxed);
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
    dead_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("webhooks: giving up on event {} for endpoint {} after {} attempts: {}",
                 e.event_seq, e.endpoint, e.attempts, error);
    st = store_->BuryOutbox(e);
    if (!st.ok()) spdlog::error("webhooks: {}", st.ToString());
    return Outcome::kBuried;
  }
  spdlog::info("webhooks: event {} to endpoint {} failed (attempt {}): {}; retry in {} ms",
               e.event_seq, e.endpoint, e.attempts, error, backoff);
  e.next_attempt_at = clock_() + backoff;
  st = store_->UpdateOutbox(e);
  if (!st.ok()) spdlog::error("webhooks: {}", st.ToString());
  return Outcome::kFailed;
}

std::string WebhookDelivery::MetricsText() const {
  std::string out;
  auto metric = [&](const char* name, const char* help, const char* type, uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(v) + "\n";
  };
  metric("ryuryo_webhooks_delivered_total", "Webhook deliveries answered 2xx.", "counter",
         delivered_.load());
  metric("ryuryo_webhooks_failed_attempts_total", "Webhook attempts that failed.", "counter",
         failed_attempts_.load());
  metric("ryuryo_webhooks_dead_total", "Webhook deliveries given up (kept in the store).", "counter", dead_.load());
  metric("ryuryo_webhooks_pending", "Webhook deliveries waiting.", "gauge", pending_.load());
  return out;
}

}  // namespace ryuryo::notify
