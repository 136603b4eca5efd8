#include "core/event.h"

#include <gtest/gtest.h>

#include <string>

#include "core/test_util.h"

namespace ryuryo {
namespace {

// Every field ToJson writes for `ev`'s type comes back from ParseEventJson.
void ExpectRoundTrip(const Event& ev) {
  Event back;
  Status st = ParseEventJson(ev.ToJson(), &back);
  ASSERT_TRUE(st.ok()) << st.ToString() << " in " << ev.ToJson();
  EXPECT_EQ(back.ToJson(), ev.ToJson());
}

Event Base(EventType type) {
  Event ev;
  ev.seq = 7;
  ev.type = type;
  ev.line = "l1";
  ev.pool = "family";
  ev.account = "acct";
  ev.at = T("2026-11-10T00:00:00.250Z");
  ev.has_quota = true;
  ev.used_bytes = 8 * kGB;
  ev.quota_bytes = 10 * kGB;
  ev.remaining_bytes = 2 * kGB;
  ev.cycle_start = T("2026-11-01T00:00:00Z");
  ev.cycle_end = T("2026-12-01T00:00:00Z");
  return ev;
}

TEST(EventTest, EveryTypeRoundTripsThroughJson) {
  for (int i = 0; i < kEventTypeCount; ++i) {
    const EventType type = static_cast<EventType>(i);
    SCOPED_TRACE(EventTypeName(type));
    Event ev = Base(type);
    switch (type) {
      case EventType::kThreshold:
        ev.threshold = "80%";
        break;
      case EventType::kPace:
        ev.threshold = "pace";
        ev.exhausted_at = T("2026-11-20T03:00:00Z");
        break;
      case EventType::kThrottled:
        ev.reason = "quota";
        ev.rate_bps = 128'000;
        break;
      case EventType::kBlocked:
      case EventType::kRestored:
        ev.reason = "topup";
        break;
      case EventType::kTopup:
        ev.bytes = kGB;
        break;
      case EventType::kQuarantined:
        ev.line.clear();
        ev.record_key = "imsi:440101234567890";
        ev.count = 3;
        ev.bytes = 12345;
        break;
      case EventType::kEnforcement:
        ev.cause_seq = 5;
        ev.action = "coa";
        ev.state = "throttled";
        ev.nas = "10.0.0.1:3799";
        ev.session_id = "sess-1";
        ev.result = "nak";
        ev.error_cause = 503;
        ev.detail = "Session-Context-Not-Found";
        break;
      default:
        break;
    }
    ExpectRoundTrip(ev);
  }
}

TEST(EventTest, UnlimitedAndUnstartedBalancesRoundTrip) {
  Event ev = Base(EventType::kThrottled);
  ev.has_quota = false;
  ev.quota_bytes = ev.remaining_bytes = 0;
  ev.cycle_start = ev.cycle_end = 0;
  ev.reason = "fair_use";
  ev.rate_bps = 128'000;
  ExpectRoundTrip(ev);
  Event back;
  ASSERT_TRUE(ParseEventJson(ev.ToJson(), &back).ok());
  EXPECT_FALSE(back.has_quota);
  EXPECT_EQ(back.cycle_end, 0);
  EXPECT_EQ(back.rate_bps, 128'000u);
}

TEST(EventTest, EnforcementJson) {
  Event ev;
  ev.seq = 43;
  ev.type = EventType::kEnforcement;
  ev.line = "l1";
  ev.at = T("2026-11-10T00:00:01Z");
  ev.cause_seq = 42;
  ev.action = "disconnect";
  ev.state = "blocked";
  ev.nas = "127.0.0.1:3799";
  ev.session_id = "s1";
  ev.result = "ack";
  EXPECT_EQ(ev.ToJson(),
            R"({"action":"disconnect","at":"2026-11-10T00:00:01Z","cause":"evt-42","id":"evt-43",)"
            R"("line":"l1","nas":"127.0.0.1:3799","result":"ack","seq":43,"session_id":"s1",)"
            R"("state":"blocked","type":"enforcement"})");
  Event back;
  ASSERT_TRUE(ParseEventJson(ev.ToJson(), &back).ok());
  EXPECT_EQ(back.cause_seq, 42u);
  EXPECT_EQ(back.type, EventType::kEnforcement);
  EXPECT_EQ(back.result, "ack");
}

TEST(EventTest, ParseRejectsMalformedDocumentsNamingTheField) {
  Event ev;
  const struct {
    const char* json;
    const char* field;
  } cases[] = {
      {"", "event"},
      {"[1]", "event"},
      {"{\"seq\": 1}", "type"},
      {R"({"type": "nope"})", "type"},
      {R"({"type": 3})", "type"},
      {R"({"type": "reset", "seq": -1})", "seq"},
      {R"({"type": "reset", "seq": "1"})", "seq"},
      {R"({"type": "reset", "at": "2026-11-10T00:00:00"})", "at"},
      {R"({"type": "reset", "cycle": 5})", "cycle"},
      {R"({"type": "reset", "cycle": {"end": 5}})", "end"},
      {R"({"type": "quarantined", "records": 4294967296})", "records"},
      {R"({"type": "enforcement", "cause": "42"})", "cause"},
      {R"({"type": "enforcement", "cause": "evt-99999999999999999999"})", "cause"},
      {R"({"type": "enforcement", "error_cause": 1.5})", "error_cause"},
  };
  for (const auto& c : cases) {
    Status st = ParseEventJson(c.json, &ev);
    EXPECT_FALSE(st.ok()) << c.json;
    EXPECT_NE(st.message().find(c.field), std::string::npos) << c.json << ": " << st.ToString();
  }
}

}  // namespace
}  // namespace ryuryo
