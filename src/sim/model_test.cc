#include "sim/model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "radius/auth.h"
#include "radius/dictionary.h"
#include "radius/packet.h"
#include "radius/session.h"

namespace ryuryo::sim {
namespace {

constexpr Millis kStart = 1'795'000'000'000;  // 2026-11-18T08:26:40Z

std::vector<SimLine> Lines(size_t n, bool with_ids = true) {
  std::vector<SimLine> lines;
  for (size_t i = 0; i < n; ++i) {
    SimLine l;
    l.id = "sim-" + std::to_string(i);
    if (with_ids) {
      l.imsi = std::to_string(440100000000000ULL + i);
      l.msisdn = std::to_string(819000000000ULL + i);
    }
    lines.push_back(l);
  }
  return lines;
}

std::unique_ptr<Model> Make(const ModelOptions& o, size_t lines = 20) {
  std::unique_ptr<Model> m;
  Status st = Model::Create(o, Lines(lines), &m);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return m;
}

std::vector<Message> Drain(Model* m, size_t max = 1'000'000) {
  std::vector<Message> out;
  Message msg;
  while (out.size() < max && m->Next(&msg)) out.push_back(msg);
  return out;
}

std::string Wire(const Model& m, const Message& msg) {
  std::string d;
  EXPECT_TRUE(radius::EncodeRequest(m.ToPacket(msg), "testing123", &d).ok());
  return d;
}

ModelOptions Options() {
  ModelOptions o;
  o.seed = 7;
  o.start = kStart;
  return o;
}

ModelOptions AllFaults() {
  ModelOptions o = Options();
  o.faults.retransmit = 0.05;
  o.faults.duplicate = 0.05;
  o.faults.reorder = 0.1;
  o.faults.nas_reboot = 0.003;
  return o;
}

TEST(ModelTest, SameSeedSameMessagesOtherSeedOthers) {
  ModelOptions o = AllFaults();
  o.requests_max = 3000;
  auto a = Make(o), b = Make(o);
  o.seed = 8;
  auto c = Make(o);
  std::vector<Message> ma = Drain(a.get()), mb = Drain(b.get()), mc = Drain(c.get());
  ASSERT_GE(ma.size(), 3000u);
  ASSERT_EQ(ma.size(), mb.size());
  size_t differing = 0;
  for (size_t i = 0; i < ma.size(); ++i) {
    ASSERT_EQ(Wire(*a, ma[i]), Wire(*b, mb[i])) << i;
    ASSERT_EQ(ma[i].copies, mb[i].copies);
    if (i < mc.size() && Wire(*a, ma[i]) != Wire(*c, mc[i])) ++differing;
  }
  EXPECT_GT(differing, ma.size() / 2);
}

TEST(ModelTest, SessionsLookLikeANas) {
  ModelOptions o = Options();
  o.sessions_max = 200;
  auto m = Make(o);
  std::vector<Message> msgs = Drain(m.get());
  ASSERT_FALSE(msgs.empty());
  EXPECT_EQ(m->stats().sessions_started, 200u);
  EXPECT_EQ(m->stats().sessions_stopped, 200u);
  struct Seen {
    std::vector<Message> msgs;
  };
  std::map<uint64_t, Seen> sessions;
  std::map<std::string, uint64_t> id_to_session;
  Millis last_send = 0;
  for (const Message& msg : msgs) {
    EXPECT_GE(msg.send_time, last_send);
    last_send = msg.send_time;
    EXPECT_EQ(msg.event_time % kMillisPerSecond, 0);
    sessions[msg.session].msgs.push_back(msg);
    auto [it, fresh] = id_to_session.emplace(m->SessionId(msg), msg.session);
    EXPECT_EQ(it->second, msg.session) << "Acct-Session-Id reused: " << it->first;
  }
  EXPECT_EQ(sessions.size(), 200u);
  for (const auto& [ordinal, s] : sessions) {
    ASSERT_GE(s.msgs.size(), 2u);
    EXPECT_EQ(s.msgs.front().kind, Message::Kind::kStart);
    EXPECT_EQ(s.msgs.back().kind, Message::Kind::kStop);
    const Millis start = s.msgs.front().event_time;
    for (size_t i = 1; i < s.msgs.size(); ++i) {
      const Message& prev = s.msgs[i - 1];
      const Message& cur = s.msgs[i];
      EXPECT_GE(cur.input_octets, prev.input_octets);
      EXPECT_GE(cur.output_octets, prev.output_octets);
      EXPECT_EQ(cur.session_time_s, (cur.event_time - start) / kMillisPerSecond);
      if (cur.kind == Message::Kind::kInterim) {
        EXPECT_EQ(cur.event_time - prev.event_time, 300 * kMillisPerSecond);
      } else {
        EXPECT_LE(cur.event_time - prev.event_time, 300 * kMillisPerSecond);
      }
      EXPECT_EQ(cur.line, s.msgs.front().line);
      EXPECT_EQ(cur.nas, s.msgs.front().nas);
    }
  }
  // Downloads dominate uploads, as on a phone.
  uint64_t up = 0, down = 0;
  for (const LineTraffic& t : m->traffic()) {
    up += t.generated_up;
    down += t.generated_down;
  }
  EXPECT_GT(down, 3 * up);
  EXPECT_GT(up, 0u);
}

TEST(ModelTest, PacketCarriesEveryAttribute) {
  ModelOptions o = Options();
  o.volume_scale = 200;  // counters above 2^32
  o.sessions_max = 40;
  auto m = Make(o);
  std::vector<Message> msgs = Drain(m.get());
  bool saw_gigawords = false, saw_start = false, saw_stop = false;
  for (const Message& msg : msgs) {
    radius::Packet p;
    const std::string wire = Wire(*m, msg);
    ASSERT_TRUE(radius::Decode(radius::AsBytes(wire), &p).ok());
    ASSERT_TRUE(radius::VerifyAccountingRequest(radius::AsBytes(wire), "testing123"));
    const SimLine& line = m->lines()[msg.line];
    auto u32 = [&](uint8_t type) {
      const radius::Attribute* a = radius::Find(p, type);
      uint32_t v = 0;
      EXPECT_TRUE(a != nullptr && radius::GetUint32(*a, &v)) << int(type);
      return v;
    };
    auto text = [&](uint8_t type) {
      const radius::Attribute* a = radius::Find(p, type);
      return a ? std::string(radius::GetText(*a)) : std::string("<absent>");
    };
    EXPECT_EQ(text(radius::kUserName), line.imsi);
    EXPECT_EQ(text(radius::kCallingStationId), line.msisdn);
    EXPECT_EQ(text(radius::kNasIdentifier), Model::NasIdentifier(msg.nas));
    EXPECT_EQ(text(radius::kAcctSessionId), m->SessionId(msg));
    EXPECT_EQ(u32(radius::kNasIpAddress), Model::NasIpAddress(msg.nas));
    EXPECT_EQ(u32(radius::kFramedIpAddress), msg.framed_ip);
    EXPECT_EQ(u32(radius::kEventTimestamp), msg.event_time / 1000);
    EXPECT_EQ(u32(radius::kAcctDelayTime), 0u);
    const radius::Attribute* imsi = radius::FindVendor(p, radius::kVendor3gpp, radius::k3gppImsi);
    ASSERT_NE(imsi, nullptr);
    EXPECT_EQ(radius::GetText(*imsi), line.imsi);
    switch (msg.kind) {
      case Message::Kind::kStart:
        saw_start = true;
        EXPECT_EQ(u32(radius::kAcctStatusType), radius::kAcctStatusStart);
        EXPECT_EQ(radius::Find(p, radius::kAcctInputOctets), nullptr);
        break;
      case Message::Kind::kStop:
        saw_stop = true;
        EXPECT_EQ(u32(radius::kAcctStatusType), radius::kAcctStatusStop);
        EXPECT_EQ(u32(radius::kAcctTerminateCause), 1u);
        [[fallthrough]];
      case Message::Kind::kInterim: {
        if (msg.kind == Message::Kind::kInterim) {
          EXPECT_EQ(u32(radius::kAcctStatusType), radius::kAcctStatusInterimUpdate);
        }
        const uint64_t in =
            (uint64_t{u32(radius::kAcctInputGigawords)} << 32) | u32(radius::kAcctInputOctets);
        const uint64_t out =
            (uint64_t{u32(radius::kAcctOutputGigawords)} << 32) | u32(radius::kAcctOutputOctets);
        EXPECT_EQ(in, msg.input_octets);
        EXPECT_EQ(out, msg.output_octets);
        EXPECT_EQ(u32(radius::kAcctSessionTime), msg.session_time_s);
        saw_gigawords |= u32(radius::kAcctOutputGigawords) > 0;
        break;
      }
      case Message::Kind::kAccountingOn:
        ADD_FAILURE() << "no reboot was asked for";
    }
  }
  EXPECT_TRUE(saw_start);
  EXPECT_TRUE(saw_stop);
  EXPECT_TRUE(saw_gigawords);
}

TEST(ModelTest, LineWithoutImsiIsNamedByItsId) {
  std::vector<SimLine> lines = Lines(1, false);
  ModelOptions o = Options();
  o.sessions_max = 1;
  std::unique_ptr<Model> m;
  ASSERT_TRUE(Model::Create(o, lines, &m).ok());
  Message msg;
  ASSERT_TRUE(m->Next(&msg));
  radius::Packet p = m->ToPacket(msg);
  EXPECT_EQ(radius::GetText(*radius::Find(p, radius::kUserName)), "sim-0");
  EXPECT_EQ(radius::Find(p, radius::kCallingStationId), nullptr);
  EXPECT_EQ(radius::FindVendor(p, radius::kVendor3gpp, radius::k3gppImsi), nullptr);
}

// Sum of the increases of each session's highest counters, computed here independently.
std::map<uint32_t, std::pair<uint64_t, uint64_t>> ReferenceTotals(
    const std::vector<Message>& msgs) {
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> session_max;
  std::map<uint64_t, uint32_t> session_line;
  for (const Message& msg : msgs) {
    if (msg.line == Message::kNoLine) continue;
    auto& mx = session_max[msg.session];
    mx.first = std::max(mx.first, msg.input_octets);
    mx.second = std::max(mx.second, msg.output_octets);
    session_line[msg.session] = msg.line;
  }
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> per_line;
  for (const auto& [s, mx] : session_max) {
    per_line[session_line[s]].first += mx.first;
    per_line[session_line[s]].second += mx.second;
  }
  return per_line;
}

void ExpectTotalsMatchTraffic(const ModelOptions& o) {
  auto m = Make(o, 50);
  std::vector<Message> msgs = Drain(m.get());
  ExpectedTotals expected(m->lines().size());
  for (const Message& msg : msgs) expected.Acknowledged(msg);
  auto reference = ReferenceTotals(msgs);
  uint64_t lost = 0;
  for (uint32_t i = 0; i < m->lines().size(); ++i) {
    const LineTraffic& t = m->traffic()[i];
    EXPECT_EQ(expected.bytes_up(i), t.generated_up - t.lost_up) << "line " << i;
    EXPECT_EQ(expected.bytes_down(i), t.generated_down - t.lost_down) << "line " << i;
    EXPECT_EQ(expected.bytes_up(i), reference[i].first);
    EXPECT_EQ(expected.bytes_down(i), reference[i].second);
    lost += t.lost_up + t.lost_down;
  }
  EXPECT_GT(expected.total_down(), 0u);
  if (o.faults.nas_reboot > 0) {
    EXPECT_GT(m->stats().nas_reboots, 0u);
    EXPECT_GT(lost, 0u);
  }
}

TEST(ModelTest, ExpectedTotalsAreTheReportedTraffic) {
  ModelOptions o = Options();
  o.sessions_max = 500;
  ExpectTotalsMatchTraffic(o);
}

TEST(ModelTest, FaultsKeepExpectedTotalsRight) {
  ModelOptions o = AllFaults();
  o.sessions_max = 2000;
  o.volume_scale = 50;
  ExpectTotalsMatchTraffic(o);
}

TEST(ModelTest, FaultsHappenAsAsked) {
  ModelOptions o = AllFaults();
  o.sessions_max = 3000;
  auto m = Make(o, 100);
  std::vector<Message> msgs = Drain(m.get());
  const ModelStats& st = m->stats();
  EXPECT_EQ(st.requests, msgs.size());
  EXPECT_EQ(st.starts + st.interims + st.stops + st.accounting_ons + st.duplicates, msgs.size());
  // Probabilities: retransmit per message, the others per interim.
  EXPECT_NEAR(double(st.retransmits) / st.requests, 0.05, 0.01);
  EXPECT_NEAR(double(st.duplicates) / st.interims, 0.05, 0.01);
  EXPECT_NEAR(double(st.reordered) / st.interims, 0.1, 0.02);
  EXPECT_GT(st.nas_reboots, 2u);
  EXPECT_EQ(st.accounting_ons, st.nas_reboots);
  EXPECT_EQ(st.sessions_started, st.sessions_stopped + st.sessions_cut);

  std::map<uint64_t, std::vector<size_t>> by_session;
  size_t copies = 0;
  for (size_t i = 0; i < msgs.size(); ++i) {
    if (msgs[i].line != Message::kNoLine) by_session[msgs[i].session].push_back(i);
    copies += msgs[i].copies == 2;
  }
  EXPECT_EQ(copies, st.retransmits);
  size_t reordered_seen = 0, duplicates_seen = 0;
  for (const auto& [s, idx] : by_session) {
    for (size_t k = 0; k < idx.size(); ++k) {
      const Message& cur = msgs[idx[k]];
      if (cur.reordered) {
        ++reordered_seen;
        // Sent after a newer message of its session, or after its NAS's Accounting-On (with
        // other held-back interims of that NAS between).
        bool overtaken = false;
        for (size_t j = 0; j < k; ++j) overtaken |= msgs[idx[j]].event_time > cur.event_time;
        size_t b = idx[k];
        while (b > 0 && msgs[b - 1].reordered) --b;
        const bool after_reboot =
            b > 0 && msgs[b - 1].kind == Message::Kind::kAccountingOn && msgs[b - 1].nas == cur.nas;
        EXPECT_TRUE(overtaken || after_reboot) << "message " << idx[k];
        if (after_reboot) {
          EXPECT_EQ(cur.send_time, msgs[b - 1].event_time);
        }
      }
      if (cur.duplicate) {
        ++duplicates_seen;
        ASSERT_GT(k, 0u);
        const Message& orig = msgs[idx[k - 1]];
        EXPECT_EQ(orig.input_octets, cur.input_octets);
        EXPECT_EQ(orig.output_octets, cur.output_octets);
        EXPECT_EQ(orig.event_time, cur.event_time);
      }
    }
  }
  EXPECT_EQ(reordered_seen, st.reordered);
  EXPECT_EQ(duplicates_seen, st.duplicates);
  // After an Accounting-On, the sessions the reboot cut never speak again except for interims
  // the NAS had held back (older than the reboot).
  for (size_t i = 0; i < msgs.size(); ++i) {
    if (msgs[i].kind != Message::Kind::kAccountingOn) continue;
    for (size_t j = i + 1; j < msgs.size(); ++j) {
      if (msgs[j].nas != msgs[i].nas || msgs[j].line == Message::kNoLine) continue;
      if (msgs[j].reordered) continue;
      EXPECT_GT(msgs[j].event_time, msgs[i].event_time);
    }
  }
}

// The model's expected totals are what the project's own delta engine (radius/session.h) makes of
// the packets, decoded as a server would, with every fault and in a shuffled order within a
// window, as a real network delivers them.
TEST(ModelTest, SessionTrackerCountsTheExpectedTotals) {
  ModelOptions o = AllFaults();
  o.sessions_max = 1500;
  o.volume_scale = 100;
  auto m = Make(o, 40);
  std::vector<Message> msgs = Drain(m.get());
  // Shuffle within windows of 8 (requests in flight overtake each other).
  uint64_t x = 12345;
  for (size_t i = 0; i + 8 <= msgs.size(); i += 8) {
    for (size_t k = 7; k > 0; --k) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      std::swap(msgs[i + k], msgs[i + (x >> 33) % (k + 1)]);
    }
  }
  ExpectedTotals expected(m->lines().size());
  radius::SessionTracker tracker;
  std::map<std::string, uint32_t> line_by_imsi;
  for (uint32_t i = 0; i < m->lines().size(); ++i) line_by_imsi[m->lines()[i].imsi] = i;
  std::vector<uint64_t> counted_up(m->lines().size()), counted_down(m->lines().size());
  for (const Message& msg : msgs) {
    expected.Acknowledged(msg);
    for (int copy = 0; copy < msg.copies; ++copy) {
      radius::Packet p;
      const std::string wire = Wire(*m, msg);
      ASSERT_TRUE(radius::Decode(radius::AsBytes(wire), &p).ok());
      radius::AccountingInput in;
      in.nas = std::string(radius::GetText(*radius::Find(p, radius::kNasIdentifier)));
      uint32_t v = 0;
      radius::GetUint32(*radius::Find(p, radius::kAcctStatusType), &v);
      using S = radius::AccountingInput::Status;
      in.status = v == radius::kAcctStatusStart          ? S::kStart
                  : v == radius::kAcctStatusStop         ? S::kStop
                  : v == radius::kAcctStatusAccountingOn ? S::kAccountingOn
                                                         : S::kInterim;
      in.session_id = std::string(radius::GetText(*radius::Find(p, radius::kAcctSessionId)));
      radius::GetUint32(*radius::Find(p, radius::kEventTimestamp), &v);
      in.event_time = Millis{v} * 1000;
      auto u64 = [&](uint8_t octets, uint8_t gigawords) {
        const radius::Attribute* lo = radius::Find(p, octets);
        const radius::Attribute* hi = radius::Find(p, gigawords);
        uint32_t l = 0, h = 0;
        if (lo) radius::GetUint32(*lo, &l);
        if (hi) radius::GetUint32(*hi, &h);
        return (uint64_t{h} << 32) | l;
      };
      in.input_octets = u64(radius::kAcctInputOctets, radius::kAcctInputGigawords);
      in.output_octets = u64(radius::kAcctOutputOctets, radius::kAcctOutputGigawords);
      if (const radius::Attribute* a = radius::Find(p, radius::kUserName)) {
        in.line_key = std::string(radius::GetText(*a));
      }
      std::vector<UsageRecord> records;
      ASSERT_TRUE(tracker.Apply(in, &records).ok());
      for (const UsageRecord& r : records) {
        counted_up[line_by_imsi.at(r.line)] += r.bytes_up;
        counted_down[line_by_imsi.at(r.line)] += r.bytes_down;
      }
    }
  }
  for (uint32_t i = 0; i < m->lines().size(); ++i) {
    EXPECT_EQ(counted_up[i], expected.bytes_up(i)) << "line " << i;
    EXPECT_EQ(counted_down[i], expected.bytes_down(i)) << "line " << i;
  }
  EXPECT_GT(m->stats().nas_reboots, 0u);
}

TEST(ModelTest, UnacknowledgedMessagesAreNotExpected) {
  ModelOptions o = Options();
  o.sessions_max = 30;
  auto m = Make(o, 5);
  std::vector<Message> msgs = Drain(m.get());
  ExpectedTotals all(5), some(5);
  std::vector<Message> acked;
  for (const Message& msg : msgs) {
    all.Acknowledged(msg);
    // The Stops are lost: each session counts up to its last interim.
    if (msg.kind != Message::Kind::kStop) {
      some.Acknowledged(msg);
      acked.push_back(msg);
    }
  }
  auto reference = ReferenceTotals(acked);
  EXPECT_LT(some.total_down(), all.total_down());
  for (uint32_t i = 0; i < 5; ++i) {
    EXPECT_EQ(some.bytes_down(i), reference[i].second);
    EXPECT_EQ(some.bytes_up(i), reference[i].first);
  }
}

TEST(ModelTest, RequestsMaxAndFinishEndTheRunReleasingHeldInterims) {
  ModelOptions o = Options();
  o.faults.reorder = 0.5;
  o.requests_max = 1000;
  auto m = Make(o, 30);
  std::vector<Message> msgs = Drain(m.get());
  EXPECT_EQ(m->stats().requests, 1000u);
  EXPECT_EQ(msgs.size(), 1000u);  // the held ones included
  EXPECT_EQ(m->Peek(), nullptr);

  o.requests_max = 0;
  auto n = Make(o, 30);
  std::vector<Message> first = Drain(n.get(), 500);
  n->Finish();
  std::vector<Message> rest = Drain(n.get());
  EXPECT_EQ(first.size() + rest.size(), n->stats().requests);
  for (const Message& msg : rest) EXPECT_TRUE(msg.reordered);
}

TEST(ModelTest, DailyPatternFollowsLocalTime) {
  ModelOptions o = Options();
  o.start = 1'793'458'800'000;  // 2026-10-31T15:00:00Z, midnight in Tokyo
  std::vector<SimLine> tokyo = Lines(200), utc = Lines(200);
  for (SimLine& l : utc) l.timezone = "UTC";
  for (auto* lines : {&tokyo, &utc}) {
    std::unique_ptr<Model> m;
    ASSERT_TRUE(Model::Create(o, *lines, &m).ok());
    const int offset_h = lines == &tokyo ? 9 : 0;
    std::vector<uint64_t> starts_by_local_hour(24);
    Message msg;
    while (m->Next(&msg) && msg.event_time < o.start + 7 * kMillisPerDay) {
      if (msg.kind != Message::Kind::kStart) continue;
      const int h = static_cast<int>((msg.event_time / kMillisPerHour + offset_h) % 24);
      ++starts_by_local_hour[h];
    }
    const uint64_t night =
        starts_by_local_hour[2] + starts_by_local_hour[3] + starts_by_local_hour[4];
    const uint64_t evening =
        starts_by_local_hour[19] + starts_by_local_hour[20] + starts_by_local_hour[21];
    const uint64_t lunch = starts_by_local_hour[12];
    EXPECT_GT(evening, 3 * night) << (lines == &tokyo ? "tokyo" : "utc");
    EXPECT_GT(lunch, starts_by_local_hour[10]);
  }
}

TEST(ModelTest, RejectsBadOptions) {
  std::unique_ptr<Model> m;
  ModelOptions o = Options();
  EXPECT_FALSE(Model::Create(o, {}, &m).ok());
  o.interim_interval_s = 5;
  EXPECT_FALSE(Model::Create(o, Lines(1), &m).ok());
  o = Options();
  o.nas_count = 0;
  EXPECT_FALSE(Model::Create(o, Lines(1), &m).ok());
  o = Options();
  o.faults.reorder = 1.5;
  EXPECT_FALSE(Model::Create(o, Lines(1), &m).ok());
  o = Options();
  std::vector<SimLine> bad = Lines(1);
  bad[0].imsi = "44010abc";
  EXPECT_FALSE(Model::Create(o, bad, &m).ok());
  bad = Lines(1);
  bad[0].timezone = "Mars/Olympus";
  Status st = Model::Create(o, bad, &m);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("timezone"), std::string::npos);
  bad = Lines(1);
  bad[0].id = "has space";
  EXPECT_FALSE(Model::Create(o, bad, &m).ok());
  EXPECT_TRUE(Model::Create(o, Lines(1), &m).ok());
}

}  // namespace
}  // namespace ryuryo::sim
