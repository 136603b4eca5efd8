#include "sim/client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "radius/auth.h"
#include "radius/dictionary.h"
#include "radius/packet.h"

namespace ryuryo::sim {
namespace {

Millis NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A RADIUS accounting server on 127.0.0.1 (port 0) in a thread. `decide` says, for each
// datagram received, whether to answer it now, hold it (answered when `release` says so), or
// drop it; answers are signed with `answer_secret`.
class Responder {
 public:
  enum class Action { kAnswer, kHold, kDrop };
  struct Seen {
    std::string datagram;
    uint16_t source_port;
  };

  explicit Responder(std::string answer_secret = "testing123")
      : answer_secret_(std::move(answer_secret)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    const int buffer_bytes = 4 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buffer_bytes, sizeof buffer_bytes);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Responder() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }

  void Start(std::function<Action(const radius::Packet&, const std::string& wire)> decide,
             std::function<bool(size_t held)> release = nullptr) {
    decide_ = std::move(decide);
    release_ = std::move(release);
    thread_ = std::thread([this] { Loop(); });
  }
  uint16_t port() const { return port_; }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }
  size_t max_held() const { return max_held_; }

 private:
  struct Held {
    std::string wire;
    sockaddr_in from;
  };
  void Answer(const std::string& wire, const sockaddr_in& from) {
    radius::Packet req;
    if (!radius::Decode(radius::AsBytes(wire), &req).ok()) return;
    radius::Packet resp;
    resp.code = radius::kAccountingResponse;
    resp.identifier = req.identifier;
    std::string out;
    EXPECT_TRUE(radius::EncodeResponse(resp, req.authenticator, answer_secret_, &out).ok());
    ::sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<const sockaddr*>(&from), sizeof from);
  }
  void Loop() {
    std::vector<Held> held;
    char buf[4096];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, 20);
      if (ready > 0) {
        sockaddr_in from{};
        socklen_t len = sizeof from;
        ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n <= 0) continue;
        std::string wire(buf, static_cast<size_t>(n));
        EXPECT_TRUE(radius::VerifyAccountingRequest(radius::AsBytes(wire), "testing123"));
        radius::Packet req;
        EXPECT_TRUE(radius::Decode(radius::AsBytes(wire), &req).ok());
        {
          std::lock_guard<std::mutex> l(mu_);
          seen_.push_back({wire, ntohs(from.sin_port)});
        }
        switch (decide_(req, wire)) {
          case Action::kAnswer:
            Answer(wire, from);
            break;
          case Action::kHold:
            held.push_back({wire, from});
            break;
          case Action::kDrop:
            break;
        }
        max_held_ = std::max(max_held_.load(), held.size());
      }
      if (!held.empty() && release_ && (ready == 0 || release_(held.size()))) {
        for (const Held& h : held) Answer(h.wire, h.from);
        held.clear();
      }
    }
  }

  std::string answer_secret_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> max_held_{0};
  std::thread thread_;
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::function<Action(const radius::Packet&, const std::string&)> decide_;
  std::function<bool(size_t)> release_;
};

std::unique_ptr<Model> MakeModel(ModelOptions o, size_t lines = 30) {
  std::vector<SimLine> ls;
  for (size_t i = 0; i < lines; ++i) {
    ls.push_back({"sim-" + std::to_string(i), std::to_string(440100000000000ULL + i),
                  std::to_string(819000000000ULL + i), "Asia/Tokyo"});
  }
  std::unique_ptr<Model> m;
  Status st = Model::Create(o, std::move(ls), &m);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return m;
}

ModelOptions PastOptions() {
  ModelOptions o;
  o.seed = 3;
  o.start = NowMs() - 10 * kMillisPerDay;
  return o;
}

ClientOptions Unpaced(uint16_t port) {
  ClientOptions c;
  c.port = port;
  c.speed = 0;
  c.window = 64;
  c.timeout_ms = 200;
  return c;
}

TEST(ClientTest, EveryRequestAcknowledgedAndCounted) {
  Responder r;
  r.Start([](const radius::Packet&, const std::string&) { return Responder::Action::kAnswer; });
  ModelOptions o = PastOptions();
  o.sessions_max = 300;
  o.faults.retransmit = 0.1;
  o.faults.duplicate = 0.1;
  o.faults.reorder = 0.1;
  auto model = MakeModel(o);
  ExpectedTotals expected(model->lines().size());
  ClientStats stats;
  ASSERT_TRUE(RunClient(Unpaced(r.port()), model.get(), &expected, &stats).ok());
  EXPECT_EQ(stats.requests, model->stats().requests);
  EXPECT_EQ(stats.acknowledged, stats.requests);
  EXPECT_EQ(stats.timed_out, 0u);
  EXPECT_EQ(stats.copies_sent, model->stats().retransmits);
  EXPECT_GT(stats.copies_sent, 0u);
  EXPECT_EQ(stats.datagrams_sent, stats.requests + stats.copies_sent + stats.retransmitted);
  EXPECT_EQ(stats.latency.count(), stats.acknowledged);
  // The second answer to a request sent twice matches nothing. The client stops once every
  // request is acknowledged, so the answer to a copy sent last may arrive after it stopped.
  EXPECT_LE(stats.responses_unmatched, stats.copies_sent);
  // Likewise the responder may still be reading a last copy (waits at most 5 s, no timing test).
  for (int i = 0; i < 500 && r.seen().size() < stats.datagrams_sent; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(r.seen().size(), stats.datagrams_sent);
  for (uint32_t i = 0; i < model->lines().size(); ++i) {
    const LineTraffic& t = model->traffic()[i];
    EXPECT_EQ(expected.bytes_up(i), t.generated_up - t.lost_up);
    EXPECT_EQ(expected.bytes_down(i), t.generated_down - t.lost_down);
  }
  // Each copy of an injected retransmit is the same datagram: same Identifier, Authenticator.
  std::map<std::string, int> times;
  for (const auto& s : r.seen()) ++times[s.datagram];
  size_t twice = 0;
  for (const auto& [d, n] : times) twice += n == 2;
  EXPECT_EQ(twice, stats.copies_sent);
}

TEST(ClientTest, LostDatagramsAreRetransmittedUnchanged) {
  Responder r;
  std::set<std::string> dropped_once;
  std::mutex mu;
  size_t n = 0;
  r.Start([&](const radius::Packet&, const std::string& wire) {
    std::lock_guard<std::mutex> l(mu);
    if (n++ % 5 == 0 && dropped_once.insert(wire).second) return Responder::Action::kDrop;
    return Responder::Action::kAnswer;
  });
  ModelOptions o = PastOptions();
  o.requests_max = 400;
  auto model = MakeModel(o);
  ExpectedTotals expected(model->lines().size());
  ClientStats stats;
  ClientOptions c = Unpaced(r.port());
  c.timeout_ms = 50;
  ASSERT_TRUE(RunClient(c, model.get(), &expected, &stats).ok());
  EXPECT_EQ(stats.acknowledged, 400u);
  EXPECT_EQ(stats.retransmitted, dropped_once.size());
  EXPECT_GT(stats.retransmitted, 50u);
  EXPECT_EQ(stats.timed_out, 0u);
  // Every dropped datagram arrived again, byte for byte.
  std::map<std::string, int> times;
  for (const auto& s : r.seen()) ++times[s.datagram];
  for (const std::string& d : dropped_once) EXPECT_EQ(times[d], 2);
}

TEST(ClientTest, UnansweredRequestsTimeOutAndAreNotExpected) {
  Responder r;
  r.Start([](const radius::Packet& p, const std::string&) {
    const radius::Attribute* user = radius::Find(p, radius::kUserName);
    if (user && radius::GetText(*user) == "440100000000000") return Responder::Action::kDrop;
    return Responder::Action::kAnswer;
  });
  ModelOptions o = PastOptions();
  o.sessions_max = 150;
  auto model = MakeModel(o, 5);
  ExpectedTotals expected(model->lines().size());
  ClientStats stats;
  ClientOptions c = Unpaced(r.port());
  c.timeout_ms = 30;
  c.retries = 2;
  ASSERT_TRUE(RunClient(c, model.get(), &expected, &stats).ok());
  EXPECT_GT(stats.timed_out, 0u);
  EXPECT_EQ(stats.acknowledged + stats.timed_out, stats.requests);
  // Each timed-out request was retried twice; a slow answer (30 ms timeout on a loaded machine)
  // may have made an answered request be retried too.
  EXPECT_GE(stats.retransmitted, 2 * stats.timed_out);
  EXPECT_EQ(expected.bytes_down(0), 0u);
  EXPECT_EQ(expected.bytes_up(0), 0u);
  for (uint32_t i = 1; i < 5; ++i) {
    EXPECT_EQ(expected.bytes_down(i), model->traffic()[i].generated_down);
    EXPECT_GT(expected.bytes_down(i), 0u);
  }
}

TEST(ClientTest, WrongSecretAnswersAreNotAcknowledgements) {
  Responder r("not-the-secret");
  r.Start([](const radius::Packet&, const std::string&) { return Responder::Action::kAnswer; });
  ModelOptions o = PastOptions();
  o.requests_max = 20;
  auto model = MakeModel(o);
  ExpectedTotals expected(model->lines().size());
  ClientStats stats;
  ClientOptions c = Unpaced(r.port());
  c.timeout_ms = 20;
  c.retries = 1;
  ASSERT_TRUE(RunClient(c, model.get(), &expected, &stats).ok());
  EXPECT_EQ(stats.acknowledged, 0u);
  EXPECT_EQ(stats.timed_out, 20u);
  EXPECT_EQ(stats.responses_unmatched, 40u);
  EXPECT_EQ(expected.total_down(), 0u);
}

TEST(ClientTest, WindowAboveTwoHundredFiftySixUsesSeveralSockets) {
  Responder r;
  // Answers only once 600 requests wait (or nothing came for 20 ms).
  r.Start([](const radius::Packet&, const std::string&) { return Responder::Action::kHold; },
          [](size_t held) { return held >= 600; });
  ModelOptions o = PastOptions();
  o.requests_max = 3000;
  auto model = MakeModel(o, 200);
  ExpectedTotals expected(model->lines().size());
  ClientStats stats;
  ClientOptions c = Unpaced(r.port());
  c.window = 1000;
  c.timeout_ms = 5000;
  ASSERT_TRUE(RunClient(c, model.get(), &expected, &stats).ok());
  EXPECT_EQ(stats.acknowledged, 3000u);
  EXPECT_EQ(stats.retransmitted, 0u);
  EXPECT_GE(r.max_held(), 600u);
  std::set<uint16_t> ports;
  for (const auto& s : r.seen()) ports.insert(s.source_port);
  EXPECT_EQ(ports.size(), 4u);  // 1000 / 256, rounded up
}

TEST(ClientTest, RateCapsRequestsPerSecond) {
  Responder r;
  r.Start([](const radius::Packet&, const std::string&) { return Responder::Action::kAnswer; });
  ModelOptions o = PastOptions();
  o.requests_max = 100;
  auto model = MakeModel(o);
  ExpectedTotals expected(model->lines().size());
  ClientStats stats;
  ClientOptions c = Unpaced(r.port());
  c.rate_per_s = 400;
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(RunClient(c, model.get(), &expected, &stats).ok());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(stats.acknowledged, 100u);
  EXPECT_GE(s, 99 / 400.0 - 0.01);
  EXPECT_LT(s, 2.0);
}

TEST(ClientTest, SpeedPacesSimulatedTimeAndNeverRunsAheadOfTheWallClock) {
  Responder r;
  r.Start([](const radius::Packet&, const std::string&) { return Responder::Action::kAnswer; });
  // One simulated hour at 7200x: half a second.
  ModelOptions o = PastOptions();
  o.start = NowMs() - 2 * kMillisPerHour;
  auto model = MakeModel(o, 100);
  ExpectedTotals expected(model->lines().size());
  ClientStats stats;
  ClientOptions c = Unpaced(r.port());
  c.speed = 7200;
  c.duration_ms = 500;
  ASSERT_TRUE(RunClient(c, model.get(), &expected, &stats).ok());
  EXPECT_GT(stats.acknowledged, 0u);
  EXPECT_LE(stats.sim_time, model->options().start + 7200 * 600);
  EXPECT_GE(stats.sim_time, model->options().start + 7200 * 300);

  // Unpaced, from 30 s ago: the simulated clock stops at the present.
  o.start = NowMs() - 30 * kMillisPerSecond;
  auto recent = MakeModel(o, 2000);
  ExpectedTotals e2(recent->lines().size());
  c.speed = 0;
  c.duration_ms = 300;
  ASSERT_TRUE(RunClient(c, recent.get(), &e2, &stats).ok());
  EXPECT_GT(stats.acknowledged, 0u);
  EXPECT_LE(stats.sim_time, NowMs());
}

TEST(ClientTest, StopFlagEndsTheRun) {
  Responder r;
  r.Start([](const radius::Packet&, const std::string&) { return Responder::Action::kAnswer; });
  auto model = MakeModel(PastOptions());
  ExpectedTotals expected(model->lines().size());
  ClientStats stats;
  std::atomic<bool> stop{false};
  ClientOptions c = Unpaced(r.port());
  c.rate_per_s = 1000;
  c.stop = &stop;
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop = true;
  });
  ASSERT_TRUE(RunClient(c, model.get(), &expected, &stats).ok());
  t.join();
  EXPECT_GT(stats.acknowledged, 50u);
  EXPECT_EQ(stats.acknowledged, stats.requests);
}

TEST(ClientTest, RejectsBadOptions) {
  auto model = MakeModel(PastOptions());
  ExpectedTotals expected(model->lines().size());
  ClientStats stats;
  ClientOptions c;
  c.window = 0;
  EXPECT_FALSE(RunClient(c, model.get(), &expected, &stats).ok());
  c = ClientOptions{};
  c.timeout_ms = 0;
  EXPECT_FALSE(RunClient(c, model.get(), &expected, &stats).ok());
  c = ClientOptions{};
  c.host = "no-such-host.invalid";
  EXPECT_EQ(RunClient(c, model.get(), &expected, &stats).code(), Status::Code::kUnavailable);
}

}  // namespace
}  // namespace ryuryo::sim
