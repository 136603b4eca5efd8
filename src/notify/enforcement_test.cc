#include "notify/enforcement.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/test_util.h"
#include "notify/freeradius_test_util.h"
#include "notify/webhook.h"
#include "store/store.h"

namespace ryuryo::notify {
namespace {

Event Raised(EventType type, uint64_t seq = 42) {
  Event ev;
  ev.seq = seq;
  ev.type = type;
  ev.line = "jp-0001";
  ev.account = "acct-1";
  ev.at = T("2026-11-27T01:00:00Z");
  if (type == EventType::kThrottled) {
    ev.reason = "quota";
    ev.rate_bps = 128'000;
  }
  return ev;
}

EnforcementTarget Target(const NasEndpoint& nas, std::string session_id, LineState state,
                         std::string user = "440101234567890") {
  EnforcementTarget t;
  t.nas = nas;
  t.session.acct_session_id = std::move(session_id);
  t.session.user_name = std::move(user);
  t.session.calling_station_id = "819012345678";
  t.session.framed_ip_address = 0x0A400001;
  t.facts.line = "jp-0001";
  t.facts.plan = "travel-8d-3gb";
  t.facts.state = state;
  if (state == LineState::kThrottled) t.facts.rate_bps = 128'000;
  return t;
}

radius::RadiusPolicy Policy() {
  radius::RadiusPolicyConfig c;
  c.normal = radius::StatePolicyConfig{{"Filter-Id = normal"}, ""};
  c.throttled = radius::StatePolicyConfig{
      {"Filter-Id = throttled", "Mikrotik-Rate-Limit = {rate_kbps}k/{rate_kbps}k"}, ""};
  radius::RadiusPolicy p;
  Status st = radius::ParseRadiusPolicy(c, &p);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return p;
}

CoaOptions Fast() {
  CoaOptions o;
  o.first_timeout_ms = 100;
  return o;
}

constexpr Millis kNow = 1'795'000'000'000;

// An Enforcer whose targets and recorded events the test controls and sees.
struct Harness {
  std::vector<EnforcementTarget> targets;
  std::vector<Event> recorded;
  int lookups = 0;
  std::unique_ptr<Enforcer> enforcer;

  explicit Harness(radius::RadiusPolicy policy = Policy()) {
    enforcer = std::make_unique<Enforcer>(
        std::move(policy),
        [this](const Event&) {
          ++lookups;
          return targets;
        },
        [this](Event ev) { recorded.push_back(std::move(ev)); }, [] { return kNow; }, Fast());
  }
};

TEST(EnforcementRouteTest, OnlyStateChangesNeedEnforcement) {
  for (int i = 0; i < kEventTypeCount; ++i) {
    const EventType type = static_cast<EventType>(i);
    const bool want = type == EventType::kThrottled || type == EventType::kBlocked ||
                      type == EventType::kRestored;
    Event ev = Raised(type);
    EXPECT_EQ(NeedsEnforcement(ev), want) << EventTypeName(type);
    EXPECT_EQ(RouteEnforcement(ev),
              want ? std::vector<uint32_t>{kEnforcementEndpoint} : std::vector<uint32_t>{})
        << EventTypeName(type);
  }
}

TEST(EnforcementRouteTest, OutcomesDoNotLoop) {
  Harness h;
  std::string error;
  EXPECT_TRUE(h.enforcer->Deliver(Raised(EventType::kEnforcement), &error));
  EXPECT_TRUE(h.enforcer->Deliver(Raised(EventType::kReset), &error));
  EXPECT_EQ(h.lookups, 0);
  EXPECT_TRUE(h.recorded.empty());
}

TEST(EnforcementRouteTest, NoSessionsIsNothingToDo) {
  Harness h;
  std::string error;
  EXPECT_TRUE(h.enforcer->Deliver(Raised(EventType::kThrottled), &error));
  EXPECT_EQ(h.lookups, 1);
  EXPECT_TRUE(h.recorded.empty());
}

class EnforcerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!FreeRadiusNas::Available()) {
      GTEST_SKIP() << "freeradius (Debian package freeradius) is not installed";
    }
    ASSERT_EQ(nas_.Start(), "");
  }
  FreeRadiusNas nas_;
};

TEST_F(EnforcerTest, ThrottledSendsCoaWithThePolicyAndRecordsAcks) {
  Harness h;
  h.targets = {Target(nas_.endpoint(), "sess-1", LineState::kThrottled),
               Target(nas_.endpoint(), "sess-2", LineState::kThrottled)};
  std::string error;
  ASSERT_TRUE(h.enforcer->Deliver(Raised(EventType::kThrottled), &error)) << error;

  const std::vector<ReceivedRequest> got = nas_.Received();
  ASSERT_EQ(got.size(), 2u) << nas_.Log();
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(got[i].packet_type, "CoA-Request");
    EXPECT_EQ(got[i].Get("Acct-Session-Id"), "sess-" + std::to_string(i + 1));
    EXPECT_EQ(got[i].Get("User-Name"), "440101234567890");
    EXPECT_EQ(got[i].Get("Framed-IP-Address"), "10.64.0.1");
    EXPECT_EQ(got[i].Get("Calling-Station-Id"), "819012345678");
    EXPECT_EQ(got[i].Get("Filter-Id"), "throttled");
    EXPECT_EQ(got[i].Get("Mikrotik-Rate-Limit"), "128k/128k");
  }
  ASSERT_EQ(h.recorded.size(), 2u);
  const Event& ev = h.recorded[0];
  EXPECT_EQ(ev.type, EventType::kEnforcement);
  EXPECT_EQ(ev.line, "jp-0001");
  EXPECT_EQ(ev.account, "acct-1");
  EXPECT_EQ(ev.at, kNow);
  EXPECT_EQ(ev.cause_seq, 42u);
  EXPECT_EQ(ev.action, "coa");
  EXPECT_EQ(ev.state, "throttled");
  EXPECT_EQ(ev.nas, "127.0.0.1:" + std::to_string(nas_.port()));
  EXPECT_EQ(ev.session_id, "sess-1");
  EXPECT_EQ(ev.result, "ack");
  EXPECT_EQ(ev.error_cause, 0u);
  EXPECT_EQ(h.recorded[1].session_id, "sess-2");
  EXPECT_FALSE(NeedsEnforcement(ev));
  EXPECT_NE(h.enforcer->MetricsText().find(
                "ryuryo_enforcement_requests_total{action=\"coa\",result=\"ack\"} 2"),
            std::string::npos)
      << h.enforcer->MetricsText();
}

TEST_F(EnforcerTest, BlockedDisconnectsOrMovesIntoTheWalledGarden) {
  Harness h;
  h.targets = {Target(nas_.endpoint(), "sess-1", LineState::kBlocked)};
  std::string error;
  ASSERT_TRUE(h.enforcer->Deliver(Raised(EventType::kBlocked), &error)) << error;
  ASSERT_EQ(h.recorded.size(), 1u);
  EXPECT_EQ(h.recorded[0].action, "disconnect");
  EXPECT_EQ(h.recorded[0].state, "blocked");
  EXPECT_EQ(h.recorded[0].result, "ack");

  radius::RadiusPolicy garden = Policy();
  ASSERT_TRUE(garden.SetState(LineState::kBlocked, {"Filter-Id = walled-garden"}, "").ok());
  Harness g(garden);
  g.targets = h.targets;
  ASSERT_TRUE(g.enforcer->Deliver(Raised(EventType::kBlocked), &error)) << error;
  ASSERT_EQ(g.recorded.size(), 1u);
  EXPECT_EQ(g.recorded[0].action, "coa");

  const std::vector<ReceivedRequest> got = nas_.Received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].packet_type, "Disconnect-Request");
  EXPECT_FALSE(got[0].Has("Filter-Id"));
  EXPECT_EQ(got[1].packet_type, "CoA-Request");
  EXPECT_EQ(got[1].Get("Filter-Id"), "walled-garden");
}

TEST_F(EnforcerTest, RestoredSendsTheNormalPolicyOrDisconnectsWithoutOne) {
  Harness h;
  h.targets = {Target(nas_.endpoint(), "sess-1", LineState::kNormal)};
  std::string error;
  ASSERT_TRUE(h.enforcer->Deliver(Raised(EventType::kRestored), &error)) << error;
  Harness defaults{radius::RadiusPolicy()};
  defaults.targets = h.targets;
  ASSERT_TRUE(defaults.enforcer->Deliver(Raised(EventType::kRestored), &error)) << error;

  const std::vector<ReceivedRequest> got = nas_.Received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].packet_type, "CoA-Request");
  EXPECT_EQ(got[0].Get("Filter-Id"), "normal");
  EXPECT_EQ(got[1].packet_type, "Disconnect-Request");
  EXPECT_EQ(defaults.recorded.at(0).action, "disconnect");
  EXPECT_EQ(defaults.recorded.at(0).state, "normal");
}

TEST_F(EnforcerTest, TheLinesCurrentStateWinsOverAStaleEvent) {
  // A throttled event retried after the line was restored: the session gets the normal policy.
  Harness h;
  h.targets = {Target(nas_.endpoint(), "sess-1", LineState::kNormal)};
  std::string error;
  ASSERT_TRUE(h.enforcer->Deliver(Raised(EventType::kThrottled), &error)) << error;
  ASSERT_EQ(nas_.Received().size(), 1u);
  EXPECT_EQ(nas_.Received()[0].Get("Filter-Id"), "normal");
  EXPECT_EQ(h.recorded.at(0).state, "normal");
}

TEST_F(EnforcerTest, ANakIsRecordedAndFinal) {
  Harness h;
  h.targets = {Target(nas_.endpoint(), "sess-1", LineState::kThrottled, "nak-me")};
  std::string error;
  EXPECT_TRUE(h.enforcer->Deliver(Raised(EventType::kThrottled), &error)) << error;
  ASSERT_EQ(h.recorded.size(), 1u);
  EXPECT_EQ(h.recorded[0].result, "nak");
  EXPECT_EQ(h.recorded[0].error_cause, 503u);
  EXPECT_NE(h.recorded[0].ToJson().find("\"error_cause\":503"), std::string::npos);
}

TEST_F(EnforcerTest, ATimeoutFailsAndTheRetryAsksOnlyWhoDidNotAnswer) {
  Harness h;
  const NasEndpoint dead{"127.0.0.1", FreeUdpPort(), "testing123"};
  h.targets = {Target(nas_.endpoint(), "sess-ok", LineState::kThrottled),
               Target(nas_.endpoint(), "sess-silent", LineState::kThrottled, "ignore-me"),
               Target(dead, "sess-dead-1", LineState::kThrottled),
               Target(dead, "sess-dead-2", LineState::kThrottled)};
  std::string error;
  EXPECT_FALSE(h.enforcer->Deliver(Raised(EventType::kThrottled), &error));
  EXPECT_NE(error.find("3 of 4 sessions not enforced"), std::string::npos) << error;
  // sess-dead-2 was not tried: its NAS had just timed out.
  ASSERT_EQ(h.recorded.size(), 3u);
  EXPECT_EQ(h.recorded[0].result, "ack");
  EXPECT_EQ(h.recorded[1].result, "timeout");
  EXPECT_EQ(h.recorded[1].session_id, "sess-silent");
  EXPECT_NE(h.recorded[1].detail.find("no answer"), std::string::npos);
  EXPECT_EQ(h.recorded[2].result, "timeout");
  EXPECT_EQ(h.recorded[2].session_id, "sess-dead-1");

  h.recorded.clear();
  EXPECT_FALSE(h.enforcer->Deliver(Raised(EventType::kThrottled), &error));
  ASSERT_EQ(h.recorded.size(), 2u);  // sess-ok is not asked again
  EXPECT_EQ(h.recorded[0].session_id, "sess-silent");
  EXPECT_EQ(h.recorded[1].session_id, "sess-dead-1");
  int ok_requests = 0;
  for (const ReceivedRequest& r : nas_.Received()) {
    if (r.Get("Acct-Session-Id") == "sess-ok") ++ok_requests;
  }
  EXPECT_EQ(ok_requests, 1);

  // Once the silent sessions are gone, the event is done.
  h.targets = {h.targets[0]};
  h.recorded.clear();
  EXPECT_TRUE(h.enforcer->Deliver(Raised(EventType::kThrottled), &error)) << error;
  EXPECT_TRUE(h.recorded.empty());
}

// The outbox hands enforcement entries to the Enforcer with the webhooks' retries: a NAS that is
// down gets the event again after the backoff, once it is up.
TEST_F(EnforcerTest, OutboxRetriesUntilTheNasAnswers) {
  const uint16_t port = nas_.port();
  nas_.Stop();  // the NAS is down at first

  TempDir dir;
  store::StoreOptions so;
  so.path = dir.path() + "/db";
  so.sync = false;
  std::unique_ptr<store::Store> db;
  ASSERT_TRUE(store::Store::Open(so, &db).ok());
  const Event throttled = Raised(EventType::kThrottled, 7);
  {
    store::Batch batch(db.get());
    batch.PutEvent(throttled.seq, throttled.ToJson());
    store::OutboxEntry e;
    e.event_seq = throttled.seq;
    for (uint32_t endpoint : RouteEnforcement(throttled)) {
      e.endpoint = endpoint;
      batch.PutOutbox(e);
    }
    e.endpoint = 0;  // a webhook: not this worker's
    batch.PutOutbox(e);
    ASSERT_TRUE(db->Write(&batch).ok());
  }

  Harness h;
  h.targets = {
      Target({"127.0.0.1", port, FreeRadiusNas::kSecret}, "sess-1", LineState::kThrottled)};
  std::atomic<Millis> now{kNow};
  WebhookOptions wo;
  wo.lane = OutboxLane::kEnforcement;
  wo.backoff_initial_ms = 1000;
  WebhookDelivery outbox(
      db.get(), {}, [&] { return now.load(); }, wo);
  outbox.set_enforcement_sender(
      [&](const Event& ev, std::string* error) { return h.enforcer->Deliver(ev, error); });

  EXPECT_EQ(outbox.RunOnce(), 0u);
  ASSERT_EQ(h.recorded.size(), 1u);
  EXPECT_EQ(h.recorded[0].result, "timeout");
  EXPECT_EQ(h.recorded[0].cause_seq, 7u);
  std::vector<store::OutboxEntry> entries;
  ASSERT_TRUE(db->ListOutbox(10, &entries).ok());
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].endpoint, 0u);  // the webhook entry is untouched
  EXPECT_EQ(entries[0].attempts, 0u);
  EXPECT_EQ(entries[1].endpoint, kEnforcementEndpoint);
  EXPECT_EQ(entries[1].attempts, 1u);
  EXPECT_EQ(entries[1].next_attempt_at, kNow + 1000);
  EXPECT_NE(entries[1].last_error.find("1 of 1 sessions not enforced"), std::string::npos)
      << entries[1].last_error;
  EXPECT_NE(outbox.MetricsText().find("ryuryo_enforcement_outbox_failed_attempts_total 1"),
            std::string::npos)
      << outbox.MetricsText();
  EXPECT_NE(outbox.MetricsText().find("ryuryo_enforcement_outbox_pending 1"), std::string::npos);
  EXPECT_EQ(outbox.MetricsText().find("ryuryo_webhooks_"), std::string::npos);

  ASSERT_EQ(nas_.Start(port), "");
  EXPECT_EQ(outbox.RunOnce(), 0u);  // not due yet
  EXPECT_EQ(h.recorded.size(), 1u);
  now = kNow + 1000;
  EXPECT_EQ(outbox.RunOnce(), 1u);
  ASSERT_EQ(h.recorded.size(), 2u);
  EXPECT_EQ(h.recorded[1].result, "ack");
  ASSERT_EQ(nas_.Received().size(), 1u);
  EXPECT_EQ(nas_.Received()[0].Get("Filter-Id"), "throttled");
  entries.clear();
  ASSERT_TRUE(db->ListOutbox(10, &entries).ok());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].endpoint, 0u);
  EXPECT_NE(outbox.MetricsText().find("ryuryo_enforcement_outbox_delivered_total 1"),
            std::string::npos);
}

TEST(EnforcementOutboxTest, WithoutASenderEnforcementEntriesBackOff) {
  TempDir dir;
  store::StoreOptions so;
  so.path = dir.path() + "/db";
  so.sync = false;
  std::unique_ptr<store::Store> db;
  ASSERT_TRUE(store::Store::Open(so, &db).ok());
  const Event blocked = Raised(EventType::kBlocked, 3);
  {
    store::Batch batch(db.get());
    batch.PutEvent(blocked.seq, blocked.ToJson());
    store::OutboxEntry e;
    e.event_seq = blocked.seq;
    e.endpoint = kEnforcementEndpoint;
    batch.PutOutbox(e);
    ASSERT_TRUE(db->Write(&batch).ok());
  }
  WebhookDelivery outbox(
      db.get(), {}, [] { return kNow; }, WebhookOptions());
  EXPECT_EQ(outbox.RunOnce(), 0u);
  std::vector<store::OutboxEntry> entries;
  ASSERT_TRUE(db->ListOutbox(10, &entries).ok());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].attempts, 1u);
  EXPECT_EQ(entries[0].last_error, "enforcement is not configured");
  // The default lane shows both kinds of metrics.
  EXPECT_NE(outbox.MetricsText().find("ryuryo_webhooks_pending 0"), std::string::npos);
  EXPECT_NE(outbox.MetricsText().find("ryuryo_enforcement_outbox_pending 1"), std::string::npos);
}

}  // namespace
}  // namespace ryuryo::notify
