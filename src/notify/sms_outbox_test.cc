// The SMS lane of the outbox worker (notify/webhook.h): entries at kSmsEndpointBase and above
// handed to the SMS sender, with SmsAlerts (notify/sms_alerts.h) as that sender end to end.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/test_util.h"
#include "notify/channels.h"
#include "notify/enforcement.h"
#include "notify/sms_alerts.h"
#include "notify/sms_optout.h"
#include "notify/webhook.h"
#include "sms/quiet_hours.h"
#include "store/store.h"

namespace ryuryo::notify {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct SenderCall {
  uint64_t seq = 0;
  std::string line;
  uint32_t endpoint = 0;
};

class SmsOutboxTest : public ::testing::Test {
 protected:
  SmsOutboxTest() {
    store::StoreOptions so;
    so.path = dir_.path() + "/db";
    so.sync = false;
    EXPECT_TRUE(store::Store::Open(so, &db_).ok());
    options_.lane = OutboxLane::kSms;
    options_.backoff_initial_ms = 1000;
    options_.sms_recheck_ms = 60'000;
  }

  // Commits `ev` with an outbox entry for each endpoint, as the ledger does.
  void Queue(const Event& ev, const std::vector<uint32_t>& endpoints) {
    store::Batch batch(db_.get());
    batch.PutEvent(ev.seq, ev.ToJson());
    for (uint32_t endpoint : endpoints) {
      store::OutboxEntry e;
      e.event_seq = ev.seq;
      e.endpoint = endpoint;
      batch.PutOutbox(e);
    }
    ASSERT_TRUE(db_->Write(&batch).ok());
  }

  Event Alert(uint64_t seq, std::string line = "jp-0001") {
    Event ev;
    ev.seq = seq;
    ev.type = EventType::kThreshold;
    ev.line = std::move(line);
    ev.account = "acct-1";
    ev.at = now_;
    ev.threshold = "80%";
    ev.has_quota = true;
    ev.quota_bytes = 3 * kGB;
    ev.remaining_bytes = 600 * kMB;
    ev.used_bytes = ev.quota_bytes - ev.remaining_bytes;
    ev.cycle_start = T("2026-11-03T15:00:00Z");
    ev.cycle_end = T("2026-12-03T15:00:00Z");
    return ev;
  }

  std::unique_ptr<WebhookDelivery> Worker() {
    auto w = std::make_unique<WebhookDelivery>(
        db_.get(), std::vector<WebhookEndpoint>{}, [this] { return now_; }, options_);
    w->set_sms_sender([this](const Event& ev, uint32_t endpoint) {
      calls_.push_back({ev.seq, ev.line, endpoint});
      auto it = results_.find(ev.seq);
      return it != results_.end() ? it->second : result_;
    });
    return w;
  }

  std::vector<store::OutboxEntry> Entries() {
    std::vector<store::OutboxEntry> entries;
    EXPECT_TRUE(db_->ListOutbox(100, &entries).ok());
    return entries;
  }

  std::optional<store::OutboxEntry> Entry(uint64_t seq, uint32_t endpoint) {
    for (const store::OutboxEntry& e : Entries()) {
      if (e.event_seq == seq && e.endpoint == endpoint) return e;
    }
    return std::nullopt;
  }

  static bool Shows(const WebhookDelivery& w, const std::string& line) {
    return w.MetricsText().find(line + "\n") != std::string::npos;
  }

  TempDir dir_;
  std::unique_ptr<store::Store> db_;
  WebhookOptions options_;
  Millis now_ = T("2026-11-27T23:00:00+09:00");
  SmsResult result_{SmsOutcome::kSent, "", 0};
  std::map<uint64_t, SmsResult> results_;  // by event seq, else result_
  std::vector<SenderCall> calls_;
};

SmsResult QuietFor(int64_t ms) {
  return SmsResult{SmsOutcome::kDeferred, "quiet hours 22:00-08:00 (540 min left)", ms};
}

TEST_F(SmsOutboxTest, ADeferredEntryWaitsWithoutCountingAnAttempt) {
  const Millis start = now_;
  Queue(Alert(1), {0, kEnforcementEndpoint, kSmsEndpointBase});
  auto w = Worker();
  result_ = QuietFor(9 * kMillisPerHour);
  EXPECT_EQ(w->RunOnce(), 0u);
  ASSERT_EQ(calls_.size(), 1u) << "only the SMS entry is this lane's";
  EXPECT_EQ(calls_[0].seq, 1u);
  EXPECT_EQ(calls_[0].line, "jp-0001");
  EXPECT_EQ(calls_[0].endpoint, kSmsEndpointBase);
  auto sms = Entry(1, kSmsEndpointBase);
  ASSERT_TRUE(sms.has_value());
  EXPECT_EQ(sms->attempts, 0u);
  EXPECT_EQ(sms->next_attempt_at, start + options_.sms_recheck_ms)
      << "looked at again after sms_recheck_ms, not after the whole 9 hours";
  EXPECT_THAT(sms->last_error, StartsWith(std::string(kQuietHoursPrefix)));
  EXPECT_FALSE(sms->dead);
  for (uint32_t other : {0u, kEnforcementEndpoint}) {
    auto e = Entry(1, other);
    ASSERT_TRUE(e.has_value()) << other;
    EXPECT_EQ(e->attempts, 0u) << other;
    EXPECT_EQ(e->next_attempt_at, 0) << other;
    EXPECT_TRUE(e->last_error.empty()) << other;
  }
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_quiet 1")) << w->MetricsText();
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_pending 1"));
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_failed_attempts_total 0"));
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_done_total 0"));
  EXPECT_EQ(w->MetricsText().find("ryuryo_webhooks_"), std::string::npos);
  EXPECT_EQ(w->MetricsText().find("ryuryo_enforcement_"), std::string::npos);

  // Not looked at before its time; still counted as waiting for quiet hours.
  now_ = start + options_.sms_recheck_ms - 1;
  EXPECT_EQ(w->RunOnce(), 0u);
  EXPECT_EQ(calls_.size(), 1u);
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_quiet 1")) << w->MetricsText();

  // A wait shorter than the recheck is taken as it is.
  now_ = start + options_.sms_recheck_ms;
  result_ = QuietFor(5000);
  EXPECT_EQ(w->RunOnce(), 0u);
  ASSERT_EQ(calls_.size(), 2u);
  sms = Entry(1, kSmsEndpointBase);
  ASSERT_TRUE(sms.has_value());
  EXPECT_EQ(sms->attempts, 0u);
  EXPECT_EQ(sms->next_attempt_at, now_ + 5000);

  now_ += 5000;
  result_ = SmsResult{SmsOutcome::kSent, "", 0};
  EXPECT_EQ(w->RunOnce(), 1u);
  EXPECT_EQ(calls_.size(), 3u);
  EXPECT_FALSE(Entry(1, kSmsEndpointBase).has_value());
  EXPECT_EQ(Entries().size(), 2u) << "the webhook and enforcement entries are left alone";
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_done_total 1")) << w->MetricsText();
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_quiet 0"));
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_pending 0"));
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_failed_attempts_total 0"));
}

TEST_F(SmsOutboxTest, ADroppedEntryIsDeletedUnsent) {
  Queue(Alert(1), {kSmsEndpointBase + 5});
  auto w = Worker();
  result_ = SmsResult{SmsOutcome::kDropped, "the SMS channel was removed", 0};
  w->RunOnce();
  EXPECT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].endpoint, kSmsEndpointBase + 5);
  EXPECT_TRUE(Entries().empty());
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_done_total 1")) << w->MetricsText();
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_failed_attempts_total 0"));
  now_ += kMillisPerHour;
  w->RunOnce();
  EXPECT_EQ(calls_.size(), 1u) << "never looked at again";
}

TEST_F(SmsOutboxTest, AFailureBacksOffAndHoldsBackEverySmsForThatPass) {
  const Millis start = now_;
  // A channel's entry fails first; the line's own number and another channel wait too.
  const uint32_t failing = kSmsEndpointBase + 7;
  Queue(Alert(1), {failing});
  Queue(Alert(2, "jp-0002"), {kSmsEndpointBase});
  Queue(Alert(3, "jp-0003"), {kSmsEndpointBase + 9});
  auto w = Worker();
  result_ = SmsResult{SmsOutcome::kFailed, "kannel: HTTP 503: Service unavailable", 0};
  EXPECT_EQ(w->RunOnce(), 0u);
  ASSERT_EQ(calls_.size(), 1u) << "one gateway: one failure holds every SMS for this pass";
  auto first = Entry(1, failing);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->attempts, 1u);
  EXPECT_EQ(first->next_attempt_at, start + 1000);
  EXPECT_THAT(first->last_error, HasSubstr("503"));
  for (auto [seq, endpoint] :
       {std::pair{2, kSmsEndpointBase}, std::pair{3, kSmsEndpointBase + 9}}) {
    auto e = Entry(seq, endpoint);
    ASSERT_TRUE(e.has_value()) << seq;
    EXPECT_EQ(e->attempts, 0u) << seq;
    EXPECT_EQ(e->next_attempt_at, 0) << seq;
  }
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_failed_attempts_total 1")) << w->MetricsText();
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_pending 3"));
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_quiet 0"));

  // The next pass: the first waits for its backoff, the others go.
  result_ = SmsResult{SmsOutcome::kSent, "", 0};
  EXPECT_EQ(w->RunOnce(), 2u);
  ASSERT_EQ(calls_.size(), 3u);
  EXPECT_EQ(calls_[1].seq, 2u);
  EXPECT_EQ(calls_[2].seq, 3u);
  ASSERT_EQ(Entries().size(), 1u);

  // Failing again doubles the backoff.
  now_ = start + 1000;
  result_ = SmsResult{SmsOutcome::kFailed, "", 0};
  w->RunOnce();
  first = Entry(1, failing);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->attempts, 2u);
  EXPECT_EQ(first->next_attempt_at, now_ + 2000);
  EXPECT_FALSE(first->last_error.empty());
  now_ += 2000;
  result_ = SmsResult{SmsOutcome::kSent, "", 0};
  EXPECT_EQ(w->RunOnce(), 1u);
  EXPECT_TRUE(Entries().empty());
}

TEST_F(SmsOutboxTest, ADeferredEntryDoesNotHoldBackTheOthers) {
  Queue(Alert(1), {kSmsEndpointBase});
  Queue(Alert(2, "gb-0001"), {kSmsEndpointBase});
  auto w = Worker();
  results_[1] = QuietFor(9 * kMillisPerHour);
  EXPECT_EQ(w->RunOnce(), 1u);
  ASSERT_EQ(calls_.size(), 2u);
  auto entries = Entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].event_seq, 1u);
  EXPECT_EQ(entries[0].attempts, 0u);
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_quiet 1")) << w->MetricsText();
}

TEST_F(SmsOutboxTest, WaitingForQuietHoursNeverMakesAnEntryGiveUp) {
  options_.give_up_after_ms = 1500;
  Queue(Alert(1), {kSmsEndpointBase});
  auto w = Worker();
  result_ = QuietFor(9 * kMillisPerHour);
  for (int i = 0; i < 50; ++i) {
    w->RunOnce();
    now_ += options_.sms_recheck_ms;
  }
  EXPECT_EQ(calls_.size(), 50u);
  auto e = Entry(1, kSmsEndpointBase);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->attempts, 0u);
  EXPECT_FALSE(e->dead);

  // Failures do: 1 s and 2 s of backoff add up to more than 1.5 s.
  result_ = SmsResult{SmsOutcome::kFailed, "kannel: HTTP 403", 0};
  for (int i = 0; i < 3; ++i) {
    w->RunOnce();
    now_ += kMillisPerHour;
  }
  EXPECT_TRUE(Entries().empty());
  uint64_t dead = 0;
  ASSERT_TRUE(db_->CountDeadOutbox(&dead).ok());
  EXPECT_EQ(dead, 1u);
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_dead_total 1")) << w->MetricsText();
}

TEST_F(SmsOutboxTest, AfterARestartEachKindCountsItsOwnDeadEntries) {
  Queue(Alert(1), {0, kEnforcementEndpoint, kSmsEndpointBase, kSmsEndpointBase + 1});
  for (uint32_t endpoint : {0u, kEnforcementEndpoint, kSmsEndpointBase, kSmsEndpointBase + 1}) {
    auto e = Entry(1, endpoint);
    ASSERT_TRUE(e.has_value()) << endpoint;
    ASSERT_TRUE(db_->BuryOutbox(*e).ok());
  }
  struct Case {
    OutboxLane lane;
    std::vector<std::string> shown;
  };
  for (const Case& c :
       {Case{OutboxLane::kAll,
             {"ryuryo_webhooks_dead_total 1", "ryuryo_enforcement_outbox_dead_total 1",
              "ryuryo_sms_outbox_dead_total 2"}},
        Case{OutboxLane::kWebhooks, {"ryuryo_webhooks_dead_total 1"}},
        Case{OutboxLane::kEnforcement, {"ryuryo_enforcement_outbox_dead_total 1"}},
        Case{OutboxLane::kSms, {"ryuryo_sms_outbox_dead_total 2"}}}) {
    options_.lane = c.lane;
    auto w = Worker();
    w->Start();  // reads the counts; nothing is live for its thread to do
    w->Stop();
    for (const std::string& line : c.shown) {
      EXPECT_TRUE(Shows(*w, line)) << static_cast<int>(c.lane) << "\n" << w->MetricsText();
    }
  }
}

TEST_F(SmsOutboxTest, TheWebhookAndEnforcementLanesLeaveSmsEntriesAlone) {
  Queue(Alert(1), {kEnforcementEndpoint, kSmsEndpointBase, kSmsEndpointBase + 3});
  for (OutboxLane lane : {OutboxLane::kWebhooks, OutboxLane::kEnforcement}) {
    options_.lane = lane;
    auto w = Worker();
    int enforced = 0;
    w->set_enforcement_sender([&](const Event&, std::string*) {
      ++enforced;
      return false;
    });
    w->RunOnce();
    EXPECT_TRUE(calls_.empty()) << static_cast<int>(lane);
    EXPECT_EQ(enforced, lane == OutboxLane::kEnforcement ? 1 : 0);
    for (uint32_t endpoint : {kSmsEndpointBase, kSmsEndpointBase + 3}) {
      auto e = Entry(1, endpoint);
      ASSERT_TRUE(e.has_value());
      EXPECT_EQ(e->attempts, 0u);
      EXPECT_EQ(e->next_attempt_at, 0);
      EXPECT_TRUE(e->last_error.empty());
    }
    EXPECT_EQ(w->MetricsText().find("ryuryo_sms_"), std::string::npos) << w->MetricsText();
  }
  auto enforcement = Entry(1, kEnforcementEndpoint);
  ASSERT_TRUE(enforcement.has_value());
  EXPECT_EQ(enforcement->attempts, 1u) << "the webhook lane left it alone too";
}

TEST_F(SmsOutboxTest, TheSmsLaneLeavesWebhookAndChannelEntriesAlone) {
  Queue(Alert(1), {0, kChannelEndpointBase + 1, kEnforcementEndpoint});
  auto w = Worker();
  int enforced = 0;
  w->set_enforcement_sender([&](const Event&, std::string*) {
    ++enforced;
    return true;
  });
  EXPECT_EQ(w->RunOnce(), 0u);
  EXPECT_TRUE(calls_.empty());
  EXPECT_EQ(enforced, 0);
  for (const store::OutboxEntry& e : Entries()) {
    EXPECT_EQ(e.attempts, 0u) << e.endpoint;
    EXPECT_TRUE(e.last_error.empty()) << e.endpoint;
  }
  EXPECT_EQ(Entries().size(), 3u);
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_pending 0")) << w->MetricsText();
}

TEST_F(SmsOutboxTest, TheDefaultLaneSendsSmsEntriesToTheSender) {
  options_.lane = OutboxLane::kAll;
  Queue(Alert(1), {kSmsEndpointBase});
  auto w = Worker();
  EXPECT_EQ(w->RunOnce(), 1u);
  EXPECT_EQ(calls_.size(), 1u);
  EXPECT_TRUE(Entries().empty());
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_done_total 1")) << w->MetricsText();
}

TEST_F(SmsOutboxTest, WithoutASenderSmsEntriesBackOff) {
  options_.lane = OutboxLane::kAll;
  Queue(Alert(1), {kSmsEndpointBase});
  WebhookDelivery w(
      db_.get(), {}, [this] { return now_; }, options_);
  EXPECT_EQ(w.RunOnce(), 0u);
  auto e = Entry(1, kSmsEndpointBase);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->attempts, 1u);
  EXPECT_EQ(e->next_attempt_at, now_ + 1000);
  EXPECT_EQ(e->last_error, "SMS sending is not configured");
}

// ---------------------------------------------------------------------------------------------
// With SmsAlerts as the sender

class SmsAlertsOutboxTest : public SmsOutboxTest {
 protected:
  SmsAlertsOutboxTest() {
    ChannelOptions co;
    co.sms_available = true;
    EXPECT_TRUE(ChannelRegistry::Open(
                    db_.get(), co, [this] { return now_; }, &channels_)
                    .ok());
    EXPECT_TRUE(SmsOptOut::Open(db_.get(), &opt_out_).ok());
    lines_["jp-0001"] = SmsLine{"819012345678", "ja", Zone::Tokyo(), true};
    lines_["jp-0002"] = SmsLine{"819087654321", "ja", Zone::Tokyo(), true};
    lines_["gb-0001"] = SmsLine{"447700900123", "en", Zone::Utc(), true};
    SmsAlertOptions ao;
    ao.all_lines = true;
    EXPECT_TRUE(sms::ParseQuietHours("22:00-08:00", &ao.quiet_hours).ok());
    ao.daily_max_per_line = 5;
    Status st = SmsAlerts::Open(
        db_.get(), ao, channels_.get(), opt_out_.get(),
        [this](const std::string& line) -> std::optional<SmsLine> {
          auto it = lines_.find(line);
          if (it == lines_.end()) return std::nullopt;
          return it->second;
        },
        [this](std::string_view to, std::string_view text) {
          texts_.push_back({std::string(to), std::string(text)});
          return Status::Ok();
        },
        [this] { return now_; }, &alerts_);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }

  std::unique_ptr<WebhookDelivery> AlertsWorker() {
    auto w = std::make_unique<WebhookDelivery>(
        db_.get(), std::vector<WebhookEndpoint>{}, [this] { return now_; }, options_);
    w->set_channels(channels_.get());
    w->set_sms_sender(
        [this](const Event& ev, uint32_t endpoint) { return alerts_->Deliver(ev, endpoint); });
    return w;
  }

  // The endpoints the ledger would queue for `ev`.
  std::vector<uint32_t> Routed(const Event& ev) {
    std::vector<uint32_t> endpoints;
    channels_->Route(ev, &endpoints);
    alerts_->Route(ev, &endpoints);
    return endpoints;
  }

  std::unique_ptr<ChannelRegistry> channels_;
  std::unique_ptr<SmsOptOut> opt_out_;
  std::unique_ptr<SmsAlerts> alerts_;
  std::map<std::string, SmsLine> lines_;
  std::vector<std::pair<std::string, std::string>> texts_;  // (to, text)
};

TEST_F(SmsAlertsOutboxTest, AnAlertRaisedInQuietHoursIsSentWhenTheyEnd) {
  // 23:00 in Tokyo, 14:00 in UTC.
  const Event tokyo = Alert(1, "jp-0001");
  const Event utc = Alert(2, "gb-0001");
  Queue(tokyo, Routed(tokyo));
  Queue(utc, Routed(utc));
  auto w = AlertsWorker();
  EXPECT_EQ(w->RunOnce(), 1u);
  ASSERT_EQ(texts_.size(), 1u);
  EXPECT_EQ(texts_[0].first, "447700900123");
  auto waiting = Entry(1, kSmsEndpointBase);
  ASSERT_TRUE(waiting.has_value());
  EXPECT_EQ(waiting->attempts, 0u);
  EXPECT_EQ(waiting->next_attempt_at, now_ + options_.sms_recheck_ms);
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_quiet 1")) << w->MetricsText();
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_pending 1"));

  // Looked at again every minute through the night, without counting attempts.
  for (Millis t = T("2026-11-27T23:01:00+09:00"); t < T("2026-11-28T07:59:30+09:00");
       t += kMillisPerHour) {
    now_ = t;
    w->RunOnce();
  }
  now_ = T("2026-11-28T07:59:30+09:00");
  w->RunOnce();
  waiting = Entry(1, kSmsEndpointBase);
  ASSERT_TRUE(waiting.has_value());
  EXPECT_EQ(waiting->attempts, 0u);
  EXPECT_EQ(waiting->next_attempt_at, T("2026-11-28T08:00:00+09:00"))
      << "the last wait ends with the quiet hours, not a minute later";
  EXPECT_EQ(texts_.size(), 1u);

  now_ = T("2026-11-28T08:00:00+09:00");
  EXPECT_EQ(w->RunOnce(), 1u);
  ASSERT_EQ(texts_.size(), 2u);
  EXPECT_EQ(texts_[1].first, "819012345678");
  EXPECT_THAT(texts_[1].second, StartsWith("[流量] (23:00) 80%を使用しました。"));
  EXPECT_TRUE(Entries().empty());
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_quiet 0")) << w->MetricsText();
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_failed_attempts_total 0"));
}

TEST_F(SmsAlertsOutboxTest, DroppedAlertsLeaveTheOutbox) {
  now_ = T("2026-11-27T12:00:00+09:00");
  std::vector<Channel> c;
  ASSERT_TRUE(channels_->Set("jp-0002", {{"sms", "", "", "off"}}, &c, "819087654321").ok());
  ASSERT_EQ(c.size(), 1u);
  const Event to_channel = Alert(1, "jp-0002");
  const std::vector<uint32_t> routed = Routed(to_channel);
  ASSERT_EQ(routed, (std::vector<uint32_t>{kSmsEndpointBase + c[0].id}));
  Queue(to_channel, routed);
  // The channel is removed before the worker gets to it; the line goes back to its own number
  // for later alerts.
  ASSERT_TRUE(channels_->Set("jp-0002", {}, &c, "819087654321").ok());
  // A STOPped line.
  ASSERT_TRUE(opt_out_->Set("jp-0001", true).ok());
  const Event stopped = Alert(2, "jp-0001");
  Queue(stopped, Routed(stopped));

  auto w = AlertsWorker();
  w->RunOnce();
  EXPECT_TRUE(texts_.empty());
  EXPECT_TRUE(Entries().empty());
  EXPECT_TRUE(Shows(*w, "ryuryo_sms_outbox_done_total 2")) << w->MetricsText();
  EXPECT_THAT(alerts_->MetricsText(),
              HasSubstr("ryuryo_sms_alerts_dropped_total{reason=\"gone\"} 1"));
  EXPECT_THAT(alerts_->MetricsText(),
              HasSubstr("ryuryo_sms_alerts_dropped_total{reason=\"stopped\"} 1"));

  // After START, the next alert is sent.
  ASSERT_TRUE(opt_out_->Set("jp-0001", false).ok());
  const Event later = Alert(3, "jp-0001");
  Queue(later, Routed(later));
  EXPECT_EQ(w->RunOnce(), 1u);
  ASSERT_EQ(texts_.size(), 1u);
  EXPECT_EQ(texts_[0].first, "819012345678");
}

}  // namespace
}  // namespace ryuryo::notify
