#include "radius/session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace ryuryo::radius {
namespace {

using S = AccountingInput::Status;

constexpr Millis kT0 = 1'700'000'000'000;  // 2023-11-14
constexpr uint64_t k4G = uint64_t{1} << 32;
const char* const kNas = "10.0.0.1";
const char* const kLine = "imsi:440101234567890";

AccountingInput Msg(S status, const std::string& sid, uint64_t in, uint64_t out, Millis t,
                    const std::string& nas = kNas, const std::string& line = kLine) {
  AccountingInput m;
  m.nas = nas;
  m.session_id = sid;
  m.status = status;
  m.input_octets = in;
  m.output_octets = out;
  m.event_time = t;
  m.session_time_s = static_cast<uint32_t>(std::max<Millis>(0, (t - kT0) / 1000));
  m.line_key = line;
  return m;
}

AccountingInput NasEvent(S status, Millis t, const std::string& nas = kNas) {
  AccountingInput m;
  m.nas = nas;
  m.status = status;
  m.event_time = t;
  return m;
}

// Applies and returns the records; fails the test on an error.
std::vector<UsageRecord> Feed(SessionTracker& t, const AccountingInput& m) {
  std::vector<UsageRecord> out;
  Status st = t.Apply(m, &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

uint64_t SumUp(const std::vector<UsageRecord>& rs) {
  uint64_t n = 0;
  for (const auto& r : rs) n += r.bytes_up;
  return n;
}

TEST(RadiusSessionTest, StartInterimStopEmitsDeltas) {
  SessionTracker t;
  EXPECT_TRUE(Feed(t, Msg(S::kStart, "s1", 0, 0, kT0)).empty());
  EXPECT_EQ(t.open_sessions(), 1u);

  auto r1 = Feed(t, Msg(S::kInterim, "s1", 100, 1000, kT0 + 60'000));
  ASSERT_EQ(r1.size(), 1u);
  EXPECT_EQ(r1[0].bytes_up, 100u);  // Acct-Input-Octets: from the user
  EXPECT_EQ(r1[0].bytes_down, 1000u);
  EXPECT_EQ(r1[0].start, kT0);
  EXPECT_EQ(r1[0].end, kT0 + 60'000);
  EXPECT_EQ(r1[0].line, kLine);
  EXPECT_EQ(r1[0].source, "radius");
  EXPECT_EQ(r1[0].id, "radius:10.0.0.1:s1:100:1000");
  EXPECT_TRUE(ValidateRecord(r1[0]).ok());

  auto r2 = Feed(t, Msg(S::kInterim, "s1", 150, 3000, kT0 + 120'000));
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_EQ(r2[0].bytes_up, 50u);
  EXPECT_EQ(r2[0].bytes_down, 2000u);
  EXPECT_EQ(r2[0].start, kT0 + 60'000);
  EXPECT_EQ(r2[0].end, kT0 + 120'000);

  auto r3 = Feed(t, Msg(S::kStop, "s1", 160, 3500, kT0 + 150'000));
  ASSERT_EQ(r3.size(), 1u);
  EXPECT_EQ(r3[0].bytes_up, 10u);
  EXPECT_EQ(r3[0].bytes_down, 500u);
  EXPECT_EQ(r3[0].id, "radius:10.0.0.1:s1:160:3500");
  EXPECT_EQ(t.open_sessions(), 0u);
  EXPECT_EQ(t.closed_sessions(), 1u);
  const Session* s = t.Find(kNas, "s1");
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->open);
  EXPECT_EQ(s->close_reason, Session::CloseReason::kStop);
  EXPECT_EQ(t.nas_counters().at(kNas).records, 3u);
}

TEST(RadiusSessionTest, StartWithCountersCountsThemAsTheFirstDelta) {
  SessionTracker t;
  auto r = Feed(t, Msg(S::kStart, "s1", 7, 9, kT0 + 10'000));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bytes_up, 7u);
  EXPECT_EQ(r[0].bytes_down, 9u);
  EXPECT_EQ(r[0].start, kT0);  // event time − Acct-Session-Time
  EXPECT_EQ(r[0].end, kT0 + 10'000);
  EXPECT_TRUE(Feed(t, Msg(S::kStart, "s1", 7, 9, kT0 + 10'000)).empty());  // retransmit
  EXPECT_EQ(t.nas_counters().at(kNas).duplicates, 1u);
}

TEST(RadiusSessionTest, DuplicateInterimCountsNothing) {
  SessionTracker t;
  Feed(t, Msg(S::kStart, "s1", 0, 0, kT0));
  EXPECT_EQ(Feed(t, Msg(S::kInterim, "s1", 100, 200, kT0 + 60'000)).size(), 1u);
  // Exact retransmit, and one whose event time moved by the Acct-Delay-Time truncation.
  EXPECT_TRUE(Feed(t, Msg(S::kInterim, "s1", 100, 200, kT0 + 60'000)).empty());
  EXPECT_TRUE(Feed(t, Msg(S::kInterim, "s1", 100, 200, kT0 + 60'700)).empty());
  EXPECT_EQ(t.nas_counters().at(kNas).duplicates, 2u);
  EXPECT_EQ(t.nas_counters().at(kNas).reordered, 0u);
}

TEST(RadiusSessionTest, ReorderedInterimIsIgnoredAndNeverNegative) {
  SessionTracker t;
  Feed(t, Msg(S::kStart, "s1", 0, 0, kT0));
  Feed(t, Msg(S::kInterim, "s1", 300, 3000, kT0 + 120'000));
  EXPECT_TRUE(Feed(t, Msg(S::kInterim, "s1", 100, 1000, kT0 + 60'000)).empty());
  EXPECT_EQ(t.nas_counters().at(kNas).reordered, 1u);
  // Mixed: input up, output down: only the increase counts (per-direction max).
  auto r = Feed(t, Msg(S::kInterim, "s1", 350, 2000, kT0 + 130'000));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bytes_up, 50u);
  EXPECT_EQ(r[0].bytes_down, 0u);
  EXPECT_EQ(r[0].id, "radius:10.0.0.1:s1:350:3000");
  auto stop = Feed(t, Msg(S::kStop, "s1", 400, 3100, kT0 + 180'000));
  ASSERT_EQ(stop.size(), 1u);
  EXPECT_EQ(stop[0].bytes_up, 50u);
  EXPECT_EQ(stop[0].bytes_down, 100u);
}

TEST(RadiusSessionTest, RecordNeverEndsBeforeItStarts) {
  SessionTracker t;
  Feed(t, Msg(S::kStart, "s1", 0, 0, kT0));
  Feed(t, Msg(S::kInterim, "s1", 0, 10, kT0 + 120'000));
  // Counters up, but an event time earlier than the last one (NAS clock step).
  auto r = Feed(t, Msg(S::kInterim, "s1", 5, 20, kT0 + 60'000));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].start, kT0 + 120'000);
  EXPECT_EQ(r[0].end, kT0 + 120'000);
  EXPECT_TRUE(ValidateRecord(r[0]).ok());
}

TEST(RadiusSessionTest, LostInterimIsCoveredByTheStop) {
  SessionTracker t;
  Feed(t, Msg(S::kStart, "s1", 0, 0, kT0));
  Feed(t, Msg(S::kInterim, "s1", 100, 100, kT0 + 60'000));
  // The interim at 120 s (500, 500) is lost.
  auto r = Feed(t, Msg(S::kStop, "s1", 900, 800, kT0 + 180'000));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bytes_up, 800u);
  EXPECT_EQ(r[0].bytes_down, 700u);
  EXPECT_EQ(r[0].start, kT0 + 60'000);
}

TEST(RadiusSessionTest, UnknownSessionIsAnImplicitStartCountedOnce) {
  SessionTracker t;
  auto r = Feed(t, Msg(S::kInterim, "s1", 1000, 2000, kT0 + 300'000));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bytes_up, 1000u);
  EXPECT_EQ(r[0].bytes_down, 2000u);
  EXPECT_EQ(r[0].start, kT0);  // event time − Acct-Session-Time
  EXPECT_TRUE(Feed(t, Msg(S::kInterim, "s1", 1000, 2000, kT0 + 300'000)).empty());
  // The lost Start arrives late: ignored.
  EXPECT_TRUE(Feed(t, Msg(S::kStart, "s1", 0, 0, kT0)).empty());
  EXPECT_EQ(SumUp(Feed(t, Msg(S::kStop, "s1", 1500, 2000, kT0 + 400'000))), 500u);
  EXPECT_EQ(t.nas_counters().at(kNas).implicit_starts, 1u);
  EXPECT_EQ(t.nas_counters().at(kNas).restarts, 0u);

  // A Stop alone: counted once, closed.
  auto s = Feed(t, Msg(S::kStop, "s2", 10, 20, kT0 + 60'000));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].bytes_down, 20u);
  EXPECT_FALSE(t.Find(kNas, "s2")->open);
  EXPECT_TRUE(Feed(t, Msg(S::kStop, "s2", 10, 20, kT0 + 60'000)).empty());
}

TEST(RadiusSessionTest, RetransmittedStopAndLateInterimAfterStopCountNothing) {
  SessionTracker t;
  Feed(t, Msg(S::kStart, "s1", 0, 0, kT0));
  Feed(t, Msg(S::kInterim, "s1", 100, 100, kT0 + 60'000));
  Feed(t, Msg(S::kStop, "s1", 300, 300, kT0 + 180'000));
  EXPECT_TRUE(Feed(t, Msg(S::kStop, "s1", 300, 300, kT0 + 180'000)).empty());
  EXPECT_TRUE(Feed(t, Msg(S::kStop, "s1", 300, 300, kT0 + 181'000)).empty());  // delay-time jitter
  EXPECT_TRUE(Feed(t, Msg(S::kInterim, "s1", 200, 200, kT0 + 120'000)).empty());
  EXPECT_TRUE(Feed(t, Msg(S::kStart, "s1", 0, 0, kT0)).empty());
  EXPECT_FALSE(t.Find(kNas, "s1")->open);
  EXPECT_EQ(t.nas_counters().at(kNas).duplicates, 2u);
}

TEST(RadiusSessionTest, AccountingOnClosesOnlyThatNasAndLateInterimsStillCount) {
  SessionTracker t;
  Feed(t, Msg(S::kStart, "a", 0, 0, kT0));
  Feed(t, Msg(S::kStart, "b", 0, 0, kT0));
  Feed(t, Msg(S::kStart, "a", 0, 0, kT0, "10.0.0.2"));
  Feed(t, Msg(S::kInterim, "a", 100, 100, kT0 + 60'000));
  EXPECT_EQ(t.open_sessions(), 3u);
  t.TakeChanges();

  EXPECT_TRUE(Feed(t, NasEvent(S::kAccountingOn, kT0 + 200'000)).empty());
  EXPECT_EQ(t.open_sessions(), 1u);
  EXPECT_TRUE(t.Find("10.0.0.2", "a")->open);
  EXPECT_EQ(t.Find(kNas, "a")->close_reason, Session::CloseReason::kNasReboot);
  EXPECT_EQ(t.nas_counters().at(kNas).closed_by_reboot, 2u);
  SessionChanges ch = t.TakeChanges();
  EXPECT_EQ(ch.upserted.size(), 2u);

  // An interim sent before the reboot, delivered after the Accounting-On: its increase counts.
  auto late = Feed(t, Msg(S::kInterim, "a", 150, 120, kT0 + 120'000));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].bytes_up, 50u);
  EXPECT_EQ(t.nas_counters().at(kNas).late, 1u);

  // After the reboot the NAS reuses the id "a": a new generation from a zero baseline.
  auto fresh = Feed(t, Msg(S::kStart, "a", 0, 0, kT0 + 300'000));
  EXPECT_TRUE(fresh.empty());
  auto g1 = Feed(t, Msg(S::kInterim, "a", 40, 40, kT0 + 360'000));
  ASSERT_EQ(g1.size(), 1u);
  EXPECT_EQ(g1[0].bytes_up, 40u);
  EXPECT_EQ(g1[0].id, "radius:10.0.0.1:a:40:40:g1");
  // A retransmitted Accounting-On (older than the new session) does not close it.
  Feed(t, NasEvent(S::kAccountingOn, kT0 + 200'000));
  EXPECT_TRUE(t.Find(kNas, "a")->open);
  // The old generation's late interim still counts against the old generation.
  auto old = Feed(t, Msg(S::kInterim, "a", 170, 120, kT0 + 150'000));
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].bytes_up, 20u);
  EXPECT_EQ(old[0].id, "radius:10.0.0.1:a:170:120");
  // Accounting-Off closes too.
  Feed(t, NasEvent(S::kAccountingOff, kT0 + 400'000));
  EXPECT_FALSE(t.Find(kNas, "a")->open);
  EXPECT_EQ(t.nas_counters().at(kNas).nas_reboots, 3u);
}

TEST(RadiusSessionTest, LateAccountingOnAndJitteredStartRetransmits) {
  SessionTracker t;
  Feed(t, Msg(S::kStart, "a", 0, 0, kT0));
  Feed(t, Msg(S::kInterim, "a", 10, 10, kT0 + 300'000));
  // An Accounting-On older than the session's last event: the session is left open.
  Feed(t, NasEvent(S::kAccountingOn, kT0 + 200'000));
  EXPECT_TRUE(t.Find(kNas, "a")->open);
  Feed(t, NasEvent(S::kAccountingOn, kT0 + 400'000));
  EXPECT_FALSE(t.Find(kNas, "a")->open);
  // Reuse: the retransmitted Start (event time +0.7 s) arrives before the original; neither
  // counts against the old generation (whose counters are higher, near the 2^32 top or not).
  AccountingInput retx = Msg(S::kStart, "a", 0, 0, kT0 + 900'700);
  retx.session_time_s = 0;
  AccountingInput orig = retx;
  orig.event_time = kT0 + 900'000;
  EXPECT_TRUE(Feed(t, retx).empty());
  EXPECT_TRUE(Feed(t, orig).empty());
  EXPECT_EQ(t.Find(kNas, "a")->current.generation, 1u);
  EXPECT_EQ(t.Find(kNas, "a")->previous.input_raw, 10u);
}

TEST(RadiusSessionTest, StartWithLowerCountersRestartsTheId) {
  SessionTracker t;
  Feed(t, Msg(S::kStart, "s1", 0, 0, kT0));
  Feed(t, Msg(S::kInterim, "s1", 500, 500, kT0 + 60'000));
  // A retransmit of the original Start (older): ignored.
  EXPECT_TRUE(Feed(t, Msg(S::kStart, "s1", 0, 0, kT0 + 900)).empty());
  EXPECT_EQ(t.Find(kNas, "s1")->current.generation, 0u);
  // The NAS restarted the id.
  EXPECT_TRUE(Feed(t, Msg(S::kStart, "s1", 0, 0, kT0 + 600'000, kNas, "imsi:2")).empty());
  const Session* s = t.Find(kNas, "s1");
  EXPECT_EQ(s->current.generation, 1u);
  EXPECT_TRUE(s->has_previous);
  EXPECT_EQ(s->line_key, "imsi:2");
  EXPECT_EQ(t.nas_counters().at(kNas).restarts, 1u);
  auto r = Feed(t, Msg(S::kInterim, "s1", 100, 100, kT0 + 660'000, kNas, "imsi:2"));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bytes_up, 100u);
  EXPECT_EQ(r[0].line, "imsi:2");
  EXPECT_EQ(r[0].id, "radius:10.0.0.1:s1:100:100:g1");
  // The old generation's last interim, delivered late: counted for the old line.
  auto old = Feed(t, Msg(S::kInterim, "s1", 700, 500, kT0 + 120'000));
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].bytes_up, 200u);
  EXPECT_EQ(old[0].line, kLine);
  EXPECT_EQ(old[0].id, "radius:10.0.0.1:s1:700:500");
}

TEST(RadiusSessionTest, IdReusedAfterStopIsANewGeneration) {
  SessionTracker t;
  Feed(t, Msg(S::kStart, "s1", 0, 0, kT0));
  Feed(t, Msg(S::kStop, "s1", 100, 100, kT0 + 60'000));
  // Start lost; the reused id's first interim comes much later: implicit start, zero baseline.
  auto r = Feed(t, Msg(S::kInterim, "s1", 100, 100, kT0 + 3'600'000));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bytes_up, 100u);
  EXPECT_EQ(r[0].id, "radius:10.0.0.1:s1:100:100:g1");
  EXPECT_TRUE(t.Find(kNas, "s1")->open);
  EXPECT_EQ(t.closed_sessions(), 0u);
  EXPECT_EQ(t.nas_counters().at(kNas).implicit_starts, 1u);
  // The first generation's Stop retransmitted: still absorbed.
  EXPECT_TRUE(Feed(t, Msg(S::kStop, "s1", 100, 100, kT0 + 60'000)).empty());
}

TEST(RadiusSessionTest, ThirtyTwoBitWrapWithoutGigawords) {
  SessionTracker t;
  Feed(t, Msg(S::kStart, "s1", 0, 0, kT0));
  const uint64_t high = k4G - 1000;  // above 2^32 − 2^30
  Feed(t, Msg(S::kInterim, "s1", high, 10, kT0 + 60'000));
  auto r = Feed(t, Msg(S::kInterim, "s1", 500, 20, kT0 + 120'000));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bytes_up, 1500u);  // 500 + 2^32 − (2^32 − 1000)
  EXPECT_EQ(r[0].bytes_down, 10u);
  EXPECT_EQ(r[0].id, "radius:10.0.0.1:s1:" + std::to_string(k4G + 500) + ":20");
  EXPECT_EQ(t.nas_counters().at(kNas).wraps, 1u);
  // A pre-wrap interim delivered after the wrap: ignored, not counted as 4 GB.
  EXPECT_TRUE(Feed(t, Msg(S::kInterim, "s1", high - 100, 15, kT0 + 90'000)).empty());
  // Normal growth after the wrap.
  EXPECT_EQ(SumUp(Feed(t, Msg(S::kStop, "s1", 800, 20, kT0 + 180'000))), 300u);
  EXPECT_EQ(t.Find(kNas, "s1")->current.input_total(), k4G + 800);
}

TEST(RadiusSessionTest, NoWrapOutsideTheHeuristicBands) {
  SessionTracker t;
  Feed(t, Msg(S::kStart, "s1", 0, 0, kT0));
  // Old value not near the top: a drop is reordering, not a wrap.
  Feed(t, Msg(S::kInterim, "s1", 2'000'000'000, 0, kT0 + 60'000));
  EXPECT_TRUE(Feed(t, Msg(S::kInterim, "s1", 100, 0, kT0 + 120'000)).empty());
  // Near the top, but the new value is not small.
  Feed(t, Msg(S::kInterim, "s1", k4G - 10, 0, kT0 + 180'000));
  EXPECT_TRUE(Feed(t, Msg(S::kInterim, "s1", (uint64_t{1} << 31), 0, kT0 + 240'000)).empty());
  // Near the top and small, but older: reordering.
  EXPECT_TRUE(Feed(t, Msg(S::kInterim, "s1", 10, 0, kT0 + 100'000)).empty());
  // With Gigawords (old above 2^32) a drop is never a wrap.
  Feed(t, Msg(S::kInterim, "s1", 5 * k4G, 0, kT0 + 300'000));
  EXPECT_TRUE(Feed(t, Msg(S::kInterim, "s1", 10, 0, kT0 + 360'000)).empty());
  EXPECT_EQ(t.nas_counters().at(kNas).wraps, 0u);
  EXPECT_EQ(t.Find(kNas, "s1")->current.input_total(), 5 * k4G);
}

TEST(RadiusSessionTest, RecordIdEscapesAndStaysShort) {
  EXPECT_EQ(SessionTracker::RecordId("::1", "a:b%c", 0, 1, 2), "radius:%3A%3A1:a%3Ab%25c:1:2");
  EXPECT_EQ(SessionTracker::RecordId("n", "s\n", 2, 1, 2), "radius:n:s%0A:1:2:g2");
  std::string long_id(253, 'x');
  std::string id = SessionTracker::RecordId(std::string(253, 'n'), long_id, 0, 1, 2);
  EXPECT_EQ(id.rfind("radius:h:", 0), 0u);
  EXPECT_LE(id.size(), kSessionRecordIdBytesMax);
  EXPECT_NE(id, SessionTracker::RecordId(std::string(253, 'n'), long_id, 0, 1, 3));
  EXPECT_EQ(id, SessionTracker::RecordId(std::string(253, 'n'), long_id, 0, 1, 2));

  SessionTracker t;
  auto r = Feed(t, Msg(S::kInterim, long_id, 1, 2, kT0, std::string(253, 'n')));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(ValidateRecord(r[0]).ok());
  for (const auto& part : SessionTracker::SplitAt(r[0], r[0].start + 1)) {
    EXPECT_TRUE(ValidateRecord(part).ok());
  }
}

TEST(RadiusSessionTest, SplitAtDividesExactlyWithRemaindersLater) {
  UsageRecord r;
  r.id = "radius:n:s:10:20";
  r.line = kLine;
  r.bytes_up = 10;
  r.bytes_down = 1001;
  r.start = 0;
  r.end = 3;
  auto parts = SessionTracker::SplitAt(r, 1);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].bytes_up, 3u);  // floor(10 / 3)
  EXPECT_EQ(parts[1].bytes_up, 7u);
  EXPECT_EQ(parts[0].bytes_down, 333u);
  EXPECT_EQ(parts[1].bytes_down, 668u);
  EXPECT_EQ(parts[0].id, "radius:n:s:10:20#1");
  EXPECT_EQ(parts[1].id, "radius:n:s:10:20#2");
  EXPECT_EQ(parts[0].start, 0);
  EXPECT_EQ(parts[0].end, 1);
  EXPECT_EQ(parts[1].start, 1);
  EXPECT_EQ(parts[1].end, 3);
  EXPECT_EQ(parts[1].line, kLine);

  // Outside or at the edges, or zero length: unchanged.
  for (Millis b : {-5, 0, 3, 10}) {
    auto same = SessionTracker::SplitAt(r, b);
    ASSERT_EQ(same.size(), 1u);
    EXPECT_EQ(same[0].id, r.id);
  }
  UsageRecord instant = r;
  instant.end = instant.start;
  EXPECT_EQ(SessionTracker::SplitAt(instant, 0).size(), 1u);

  // Large values: no overflow, exact sums.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    UsageRecord big;
    big.bytes_up = rng() % (kRecordBytesMax + 1);
    big.bytes_down = rng() % (kRecordBytesMax + 1);
    big.start = static_cast<Millis>(rng() % kEventTimeMax);
    big.end = big.start + 1 + static_cast<Millis>(rng() % (400LL * kMillisPerDay));
    Millis b =
        big.start + 1 + static_cast<Millis>(rng() % static_cast<uint64_t>(big.end - big.start));
    auto p = SessionTracker::SplitAt(big, b);
    if (b >= big.end) {
      EXPECT_EQ(p.size(), 1u);
      continue;
    }
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0].bytes_up + p[1].bytes_up, big.bytes_up);
    EXPECT_EQ(p[0].bytes_down + p[1].bytes_down, big.bytes_down);
    EXPECT_LE(p[0].bytes_up, p[1].bytes_up + big.bytes_up);  // no wrap-around
    EXPECT_TRUE(p[1].id.empty());                            // no id, no suffix
  }
}

Session SampleSession() {
  Session s;
  s.nas = "2001:db8::1";
  s.session_id = "0A1B2C3D";
  s.line_key = "msisdn:+819012345678";
  s.open = false;
  s.close_reason = Session::CloseReason::kNasReboot;
  s.started_at = kT0;
  s.closed_at = kT0 + 3'600'000;
  s.closed_seq = 42;
  s.current = {3, 5 * k4G + 7, 123456789, 2, 0, kT0 + 3'000'000};
  s.has_previous = true;
  s.previous = {2, 1000, 2000, 0, 1, kT0 - 5000};
  s.peer = std::string("\x05peer\0data", 10);
  return s;
}

TEST(RadiusSessionTest, EncodeDecodeRoundTrips) {
  Session s = SampleSession();
  Session back;
  ASSERT_TRUE(DecodeSession(EncodeSession(s), &back).ok());
  EXPECT_EQ(back, s);

  Session open;
  open.nas = "n";
  open.session_id = "s";
  ASSERT_TRUE(DecodeSession(EncodeSession(open), &back).ok());
  EXPECT_EQ(back, open);
}

// A NAS reboots (Accounting-On) and starts a session on the same id a second later.
TEST(RadiusSessionTest, IdReusedSecondsAfterAccountingOnCountsFromZero) {
  SessionTracker t;
  const Millis s = kMillisPerSecond;
  Feed(t, Msg(S::kStart, "r", 0, 0, kT0));
  Feed(t, Msg(S::kInterim, "r", 5000, 6000, kT0 + 60 * s));
  Feed(t, Msg(S::kAccountingOn, "", 0, 0, kT0 + 120 * s));
  Feed(t, Msg(S::kStart, "r", 0, 0, kT0 + 121 * s));
  auto r = Feed(t, Msg(S::kInterim, "r", 700, 800, kT0 + 122 * s));
  EXPECT_EQ(SumUp(r), 700u);
  ASSERT_NE(t.Find(kNas, "r"), nullptr);
  EXPECT_TRUE(t.Find(kNas, "r")->open);
  r = Feed(t, Msg(S::kStop, "r", 900, 1000, kT0 + 123 * s));
  EXPECT_EQ(SumUp(r), 200u);
  // Its Start lost: lower counters than the closed session's also mean a new one.
  SessionTracker u;
  Feed(u, Msg(S::kStart, "r", 0, 0, kT0));
  Feed(u, Msg(S::kInterim, "r", 5000, 6000, kT0 + 60 * s));
  Feed(u, Msg(S::kAccountingOn, "", 0, 0, kT0 + 120 * s));
  AccountingInput m = Msg(S::kInterim, "r", 700, 800, kT0 + 122 * s);
  m.session_time_s = 1;
  EXPECT_EQ(SumUp(Feed(u, m)), 700u);
  // A retransmitted Stop of the closed one right after it counts nothing.
  SessionTracker v;
  Feed(v, Msg(S::kStart, "r", 0, 0, kT0));
  Feed(v, Msg(S::kStop, "r", 5000, 6000, kT0 + 60 * s));
  EXPECT_TRUE(Feed(v, Msg(S::kStop, "r", 5000, 6000, kT0 + 61 * s)).empty());
  EXPECT_TRUE(Feed(v, Msg(S::kStart, "r", 0, 0, kT0 + 1 * s)).empty());  // its Start, late
}

TEST(RadiusSessionTest, IdReusedSecondsLaterNeverDoubleCounts) {
  SessionTracker t;
  const Millis s = kMillisPerSecond;
  uint64_t up = 0;
  up += SumUp(Feed(t, Msg(S::kStart, "r", 0, 0, kT0)));
  up += SumUp(Feed(t, Msg(S::kInterim, "r", 5000, 6000, kT0 + 60 * s)));
  up += SumUp(Feed(t, Msg(S::kAccountingOn, "", 0, 0, kT0 + 120 * s)));
  up += SumUp(Feed(t, Msg(S::kStart, "r", 0, 0, kT0 + 121 * s)));
  up += SumUp(Feed(t, Msg(S::kInterim, "r", 5500, 6500, kT0 + 123 * s)));
  up += SumUp(Feed(t, Msg(S::kInterim, "r", 5600, 6600, kT0 + 140 * s)));
  up += SumUp(Feed(t, Msg(S::kStop, "r", 5700, 6700, kT0 + 150 * s)));
  EXPECT_EQ(up, 10700u);
}

TEST(RadiusSessionTest, DecodesTheFormatWithoutPeer) {
  Session s = SampleSession();
  s.peer.clear();
  std::string v1 = EncodeSession(s);
  ASSERT_EQ(v1.back(), '\0');  // the empty peer's length
  v1.pop_back();
  v1[0] = 1;
  Session back;
  ASSERT_TRUE(DecodeSession(v1, &back).ok());
  EXPECT_EQ(back, s);
}

TEST(RadiusSessionTest, PeerFollowsTheLatestMessageOfTheCurrentGeneration) {
  SessionTracker t;
  AccountingInput in = Msg(S::kStart, "s1", 0, 0, kT0);
  in.peer = "a";
  Feed(t, in);
  EXPECT_EQ(t.Find(in.nas, "s1")->peer, "a");
  t.TakeChanges();
  in = Msg(S::kInterim, "s1", 10, 10, kT0 + 1000);
  in.peer = "b";
  Feed(t, in);
  EXPECT_EQ(t.Find(in.nas, "s1")->peer, "b");
  in = Msg(S::kInterim, "s1", 20, 20, kT0 + 2000);  // no peer: kept
  Feed(t, in);
  EXPECT_EQ(t.Find(in.nas, "s1")->peer, "b");
  EXPECT_EQ(t.TakeChanges().upserted.size(), 1u);
  in.peer = std::string(kSessionPeerBytesMax + 1, 'x');
  std::vector<UsageRecord> records;
  EXPECT_FALSE(t.Apply(in, &records).ok());
}

TEST(RadiusSessionTest, DecodeRejectsEveryTruncationAndNeverCrashes) {
  const std::string data = EncodeSession(SampleSession());
  Session out;
  for (size_t n = 0; n < data.size(); ++n) {
    EXPECT_FALSE(DecodeSession(std::string_view(data).substr(0, n), &out).ok()) << n;
  }
  EXPECT_FALSE(DecodeSession(data + "x", &out).ok());
  std::string bad_format = data;
  bad_format[0] = 9;
  EXPECT_FALSE(DecodeSession(bad_format, &out).ok());
  // Random corruption: any result but a crash; a success is a valid session.
  std::mt19937 rng(1);
  for (int i = 0; i < 20000; ++i) {
    std::string d = data;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) d[rng() % d.size()] = static_cast<char>(rng());
    Session s;
    if (DecodeSession(d, &s).ok()) {
      SessionTracker t;
      EXPECT_TRUE(t.Restore(s).ok());
    }
  }
  for (int i = 0; i < 2000; ++i) {
    std::string d(rng() % 64, '\0');
    for (char& c : d) c = static_cast<char>(rng());
    Session s;
    (void)DecodeSession(d, &s);
  }
}

TEST(RadiusSessionTest, ChangesRestoreAndReplayGiveTheSameIds) {
  SessionTracker a;
  Feed(a, Msg(S::kStart, "s1", 0, 0, kT0));
  Feed(a, Msg(S::kStart, "s2", 0, 0, kT0));
  Feed(a, Msg(S::kInterim, "s1", 10, 10, kT0 + 60'000));
  SessionChanges ch = a.TakeChanges();
  ASSERT_EQ(ch.upserted.size(), 2u);
  EXPECT_TRUE(ch.removed.empty());
  // A duplicate changes nothing to persist.
  Feed(a, Msg(S::kInterim, "s1", 10, 10, kT0 + 60'000));
  EXPECT_TRUE(a.TakeChanges().upserted.empty());

  // "Crash": a new tracker restored from the persisted sessions.
  SessionTracker b;
  for (const Session& s : ch.upserted) {
    Session decoded;
    ASSERT_TRUE(DecodeSession(EncodeSession(s), &decoded).ok());
    ASSERT_TRUE(b.Restore(decoded).ok());
  }
  EXPECT_EQ(b.Restore(ch.upserted[0]).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(b.open_sessions(), 2u);
  // Both see the same next messages and emit identical records.
  for (const auto& m :
       {Msg(S::kInterim, "s1", 30, 50, kT0 + 120'000), Msg(S::kStop, "s2", 5, 6, kT0 + 130'000),
        Msg(S::kInterim, "s1", 30, 50, kT0 + 120'000)}) {
    auto ra = Feed(a, m);
    auto rb = Feed(b, m);
    ASSERT_EQ(ra.size(), rb.size());
    for (size_t i = 0; i < ra.size(); ++i) {
      EXPECT_EQ(ra[i].id, rb[i].id);
      EXPECT_EQ(ra[i].bytes_up, rb[i].bytes_up);
      EXPECT_EQ(ra[i].start, rb[i].start);
    }
  }
  auto sa = a.TakeChanges();
  auto sb = b.TakeChanges();
  ASSERT_EQ(sa.upserted.size(), 2u);
  ASSERT_EQ(sb.upserted.size(), 2u);
  EXPECT_EQ(sa.upserted, sb.upserted);
}

TEST(RadiusSessionTest, RecentlyClosedSetIsBoundedFifo) {
  SessionTracker t(SessionTracker::Limits{.open_max = 100, .closed_max = 2});
  for (int i = 0; i < 4; ++i) {
    Feed(t, Msg(S::kStop, "s" + std::to_string(i), 1, 1, kT0 + i));
  }
  EXPECT_EQ(t.closed_sessions(), 2u);
  EXPECT_EQ(t.Find(kNas, "s0"), nullptr);
  EXPECT_EQ(t.Find(kNas, "s1"), nullptr);
  EXPECT_NE(t.Find(kNas, "s3"), nullptr);
  SessionChanges ch = t.TakeChanges();
  EXPECT_EQ(ch.upserted.size(), 2u);
  ASSERT_EQ(ch.removed.size(), 2u);
  EXPECT_EQ(ch.removed[0], (SessionKey{kNas, "s0"}));

  // Restored closed sessions keep their order; the next close evicts the oldest.
  SessionTracker r(SessionTracker::Limits{.open_max = 100, .closed_max = 2});
  for (const Session& s : ch.upserted) ASSERT_TRUE(r.Restore(s).ok());
  Feed(r, Msg(S::kStop, "s9", 1, 1, kT0 + 9));
  EXPECT_EQ(r.Find(kNas, "s2"), nullptr);
  EXPECT_NE(r.Find(kNas, "s3"), nullptr);
}

TEST(RadiusSessionTest, LimitsAreClearErrors) {
  SessionTracker t(SessionTracker::Limits{.open_max = 2, .closed_max = 10});
  Feed(t, Msg(S::kStart, "a", 0, 0, kT0));
  Feed(t, Msg(S::kStart, "b", 0, 0, kT0));
  std::vector<UsageRecord> out;
  Status st = t.Apply(Msg(S::kInterim, "c", 5, 5, kT0), &out);
  EXPECT_EQ(st.code(), Status::Code::kResourceExhausted);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(t.Find(kNas, "c"), nullptr);
  // Existing sessions still work.
  EXPECT_EQ(Feed(t, Msg(S::kInterim, "a", 5, 5, kT0 + 1000)).size(), 1u);

  auto expect_invalid = [&](AccountingInput m, const std::string& field) {
    std::vector<UsageRecord> o;
    Status s = t.Apply(m, &o);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << field;
    EXPECT_NE(s.message().find(field), std::string::npos) << s.message();
    EXPECT_TRUE(o.empty());
  };
  expect_invalid(Msg(S::kInterim, std::string(254, 's'), 1, 1, kT0), "session_id");
  expect_invalid(Msg(S::kInterim, "", 1, 1, kT0), "session_id");
  expect_invalid(Msg(S::kInterim, "a", 1, 1, kT0, std::string(254, 'n')), "nas");
  expect_invalid(Msg(S::kInterim, "a", 1, 1, kT0, ""), "nas");
  expect_invalid(Msg(S::kInterim, "a", 1, 1, kT0, kNas, "bad\nline"), "line_key");
  expect_invalid(Msg(S::kInterim, "a", 1, 1, kT0, kNas, std::string(257, 'l')), "line_key");
  expect_invalid(Msg(S::kInterim, "a", kCumulativeOctetsMax + 1, 1, kT0), "octets");
  expect_invalid(Msg(S::kInterim, "a", 1, 1, -1), "event_time");
  expect_invalid(Msg(S::kInterim, "z", 1, 1, kT0, kNas, ""), "line_key");  // new, no line
  EXPECT_GE(t.nas_counters().at(kNas).errors, 6u);
  // A known session may omit the line key: its own is used.
  auto r = Feed(t, Msg(S::kInterim, "a", 9, 9, kT0 + 2000, kNas, ""));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].line, kLine);
  // Session ids of exactly the limit are fine.
  t.CloseIdle(kT0 + 10'000);
  EXPECT_TRUE(t.Apply(Msg(S::kStart, std::string(253, 's'), 0, 0, kT0), &out).ok());
}

TEST(RadiusSessionTest, CloseIdleNeverDoubleCounts) {
  SessionTracker t;
  Feed(t, Msg(S::kStart, "s1", 0, 0, kT0));
  Feed(t, Msg(S::kInterim, "s1", 100, 100, kT0 + 60'000));
  Feed(t, Msg(S::kStart, "s2", 0, 0, kT0 + 3'000'000));
  EXPECT_EQ(t.CloseIdle(kT0 + 1'000'000), 1u);
  EXPECT_FALSE(t.Find(kNas, "s1")->open);
  EXPECT_TRUE(t.Find(kNas, "s2")->open);
  // The session was alive after all: same generation, only the increase counts.
  auto r = Feed(t, Msg(S::kInterim, "s1", 150, 100, kT0 + 7'200'000));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bytes_up, 50u);
  EXPECT_TRUE(t.Find(kNas, "s1")->open);
  EXPECT_EQ(t.Find(kNas, "s1")->current.generation, 0u);
}

// A seeded simulation: sessions with random cumulative growth (some without Gigawords, wrapping
// 2^32), delivered with retransmits, duplicates, reordering within a window, lost messages and
// a NAS reboot that reuses session ids. The records of each line must add up exactly to the
// true cumulative totals of the latest message of each session that arrived.
TEST(RadiusSessionTest, RandomizedDeliveryCountsEveryByteOnce) {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    auto uniform = [&](uint64_t lo, uint64_t hi) { return lo + rng() % (hi - lo + 1); };
    auto chance = [&](double p) { return std::uniform_real_distribution<>(0, 1)(rng) < p; };

    struct Sent {
      AccountingInput m;
      int session = -1;                    // index into truth; -1 for Accounting-On
      uint64_t in_true = 0, out_true = 0;  // 64-bit true cumulatives
    };
    std::vector<Sent> sent;
    const std::vector<std::string> nases = {"10.0.0.1", "2001:db8::7"};
    const Millis reboot_at = kT0 + 40 * 60'000;  // NAS 0 reboots
    const Millis on_at = reboot_at + 10'000;
    const int sessions = 120;
    std::vector<std::string> lines;
    int reused = 0;
    std::vector<std::string> reusable;
    for (int i = 0; i < sessions; ++i) {
      const int nas = static_cast<int>(rng() % 2);
      const bool wraps = chance(0.1);                     // no Gigawords, large volumes
      const bool after_reboot = nas == 0 && chance(0.3);  // a session of the rebooted NAS
      std::string sid = "sess-" + std::to_string(i);
      if (after_reboot && reused < 10 && !reusable.empty() && chance(0.5)) {
        size_t k = rng() % reusable.size();  // the NAS reuses an id from before its reboot
        sid = reusable[k];
        reusable.erase(reusable.begin() + static_cast<long>(k));
        ++reused;
      }
      if (nas == 0 && !after_reboot) reusable.push_back(sid);
      Millis start = after_reboot ? on_at + static_cast<Millis>(uniform(60, 600)) * 1000
                                  : kT0 + static_cast<Millis>(uniform(0, 1800)) * 1000;
      const int interims = wraps ? 100 : static_cast<int>(uniform(0, 30));
      const bool stops = chance(0.8);
      const std::string line = "msisdn:8190" + std::to_string(rng() % 30);
      lines.push_back(line);
      uint64_t in = 0, out = 0;
      auto emit = [&](S st, Millis t) {
        AccountingInput m;
        m.nas = nases[nas];
        m.session_id = sid;
        m.status = st;
        m.input_octets = wraps ? in % k4G : in;
        m.output_octets = wraps ? out % k4G : out;
        m.event_time = t;
        m.session_time_s = static_cast<uint32_t>((t - start) / 1000);
        m.line_key = line;
        // The NAS of the reboot loses everything after it (for sessions begun before it).
        if (nas == 0 && !after_reboot && t >= reboot_at) return false;
        sent.push_back({m, i, in, out});
        return true;
      };
      Millis t = start;
      emit(S::kStart, t);
      bool alive = true;
      for (int k = 0; k < interims && alive; ++k) {
        t += 60'000;
        if (wraps) {
          in += uniform(uint64_t{1} << 26, uint64_t{1} << 27);
          out += uniform(0, uint64_t{1} << 27);
        } else {
          in += uniform(0, 5'000'000);
          out += chance(0.01) ? uniform(k4G, 3 * k4G) : uniform(0, 50'000'000);
        }
        alive = emit(S::kInterim, t);
      }
      if (alive && stops) {
        t += 30'000;
        in += uniform(0, 1000);
        emit(S::kStop, t);
      }
    }
    {
      AccountingInput on;
      on.nas = nases[0];
      on.status = S::kAccountingOn;
      on.event_time = on_at;
      sent.push_back({on, -1, 0, 0});
    }
    std::stable_sort(sent.begin(), sent.end(),
                     [](const Sent& a, const Sent& b) { return a.m.event_time < b.m.event_time; });
    // Loss (never the Accounting-On: the NAS retransmits it until answered).
    std::vector<Sent> delivered;
    for (const Sent& s : sent) {
      if (s.session >= 0 && chance(0.08)) continue;
      delivered.push_back(s);
      if (chance(0.1)) {  // retransmit, Acct-Delay-Time truncation moves the time a little
        Sent copy = s;
        copy.m.event_time += static_cast<Millis>(uniform(0, 999));
        delivered.insert(delivered.end(), copy);
      }
    }
    // Reorder within a window of 6 positions; 1% of the messages are delayed much longer (up to
    // 400 positions: a proxy's retransmit queue).
    {
      std::vector<std::pair<uint64_t, size_t>> order;
      for (size_t i = 0; i < delivered.size(); ++i) {
        // The Accounting-On is not delayed past the NAS's new sessions (a NAS waits for its
        // answer): an Interim of a reused id whose Start was lost, before the On, would count as
        // the old session's continuation (see session.h).
        const bool on = delivered[i].session < 0;
        uint64_t delay = !on && chance(0.01) ? uniform(6, 400) : uniform(0, 6);
        order.emplace_back(i + delay, i);
      }
      std::stable_sort(order.begin(), order.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      std::vector<Sent> shuffled;
      for (const auto& o : order) shuffled.push_back(delivered[o.second]);
      delivered = std::move(shuffled);
    }
    // A few more duplicates, later.
    for (int d = 0; d < 20; ++d) {
      size_t i = rng() % delivered.size();
      delivered.insert(delivered.begin() + static_cast<long>(std::min(i + 3, delivered.size())),
                       delivered[i]);
    }

    // Truth: per session (and generation), the latest message (in true order) that arrived.
    std::map<int, std::pair<uint64_t, uint64_t>> latest;
    for (const Sent& s : delivered) {
      if (s.session < 0) continue;
      auto& l = latest[s.session];
      l.first = std::max(l.first, s.in_true);
      l.second = std::max(l.second, s.out_true);
    }
    std::map<std::string, std::pair<uint64_t, uint64_t>> want, got;
    for (const auto& [i, l] : latest) {
      want[lines[i]].first += l.first;
      want[lines[i]].second += l.second;
    }

    SessionTracker tracker;
    std::vector<UsageRecord> records;
    for (const Sent& s : delivered) {
      Status st = tracker.Apply(s.m, &records);
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
    std::set<std::string> ids;
    for (const UsageRecord& r : records) {
      EXPECT_TRUE(ValidateRecord(r).ok()) << r.id;
      EXPECT_TRUE(ids.insert(r.id).second) << "duplicate id " << r.id;
      got[r.line].first += r.bytes_up;
      got[r.line].second += r.bytes_down;
    }
    for (auto& [line, w] : want) {
      EXPECT_EQ(got[line].first, w.first) << line;
      EXPECT_EQ(got[line].second, w.second) << line;
      if (got[line] == w) continue;
      for (const auto& [i, l] : latest) {  // diagnostics: which session of the line is off
        if (lines[i] != line) continue;
        std::string sid;
        for (const Sent& s : sent) {
          if (s.session == i) sid = s.m.nas + " " + s.m.session_id;
        }
        ADD_FAILURE() << "session " << i << " (" << sid << ") truth " << l.first << "/" << l.second;
        for (const Sent& s : delivered) {
          if (s.m.nas + " " + s.m.session_id == sid) {
            ADD_FAILURE() << "  delivered #" << s.session << " " << static_cast<int>(s.m.status)
                          << " t=" << s.m.event_time - kT0 << " " << s.m.input_octets << "/"
                          << s.m.output_octets;
          }
        }
      }
      for (const UsageRecord& r : records) {
        if (r.line == line) ADD_FAILURE() << r.id << " +" << r.bytes_up << "/" << r.bytes_down;
      }
    }
    EXPECT_EQ(got.size(), want.size());
    const auto& c0 = tracker.nas_counters().at(nases[0]);
    EXPECT_GE(c0.nas_reboots, 1u);
    EXPECT_GT(c0.duplicates + tracker.nas_counters().at(nases[1]).duplicates, 0u);
  }
}

}  // namespace
}  // namespace ryuryo::radius
