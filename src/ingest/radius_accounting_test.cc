// The RADIUS accounting server over a real UDP socket, ledger and store: answers only after the
// commit, exact retransmits answered once, sessions surviving a restart, a session split at the
// cycle boundary, and the line keys in their configured order.
#include "ingest/radius_accounting.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/test_util.h"
#include "radius/auth.h"
#include "radius/dictionary.h"
#include "radius/packet.h"

namespace ryuryo::ingest {
namespace {

constexpr const char* kSecret = "testing123";

std::shared_ptr<Catalog> TestCatalog() {
  auto c = std::make_shared<Catalog>();
  Plan p;
  p.id = "m10";
  p.kind = PlanKind::kMonthly;
  p.quota_bytes = 10 * kGB;
  p.cycle_day = 1;
  p.after_quota.action = QuotaAction::kThrottle;
  p.after_quota.rate_bps = 128'000;
  p.timezone = "UTC";
  EXPECT_TRUE(c->Add(p).ok());
  return c;
}

// A UDP client socket on 127.0.0.1.
class Nas {
 public:
  explicit Nas(uint16_t server_port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    a.sin_port = htons(server_port);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  }
  ~Nas() { ::close(fd_); }
  void Send(const std::string& dg) { ASSERT_EQ(::send(fd_, dg.data(), dg.size(), 0), ssize_t(dg.size())); }
  // The next datagram, or "" after `timeout_ms`.
  std::string Receive(int timeout_ms = 5000) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return "";
    std::string buf(4096, '\0');
    ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    buf.resize(n > 0 ? size_t(n) : 0);
    return buf;
  }

 private:
  int fd_ = -1;
};

struct Acct {
  uint32_t status = radius::kAcctStatusInterimUpdate;
  std::string session = "s1";
  std::string imsi = "440100000000001";
  std::string calling;
  std::string user;
  uint64_t in = 0, out = 0;
  Millis at = 0;
};

std::string Encode(const Acct& a, uint8_t id, std::string_view secret = kSecret) {
  radius::Packet p;
  p.code = radius::kAccountingRequest;
  p.identifier = id;
  p.attributes.push_back(radius::Uint32Attribute(radius::kAcctStatusType, a.status));
  p.attributes.push_back(radius::StringAttribute(radius::kAcctSessionId, a.session));
  p.attributes.push_back(radius::Ipv4Attribute(radius::kNasIpAddress, 0x0a000001));
  if (!a.user.empty()) p.attributes.push_back(radius::StringAttribute(radius::kUserName, a.user));
  if (!a.calling.empty()) {
    p.attributes.push_back(radius::StringAttribute(radius::kCallingStationId, a.calling));
  }
  if (!a.imsi.empty()) {
    p.attributes.push_back(
        radius::VendorStringAttribute(radius::kVendor3gpp, radius::k3gppImsi, a.imsi));
  }
  p.attributes.push_back(radius::Uint32Attribute(radius::kAcctInputOctets, uint32_t(a.in)));
  p.attributes.push_back(radius::Uint32Attribute(radius::kAcctOutputOctets, uint32_t(a.out)));
  p.attributes.push_back(radius::Uint32Attribute(radius::kAcctInputGigawords, uint32_t(a.in >> 32)));
  p.attributes.push_back(radius::Uint32Attribute(radius::kAcctOutputGigawords, uint32_t(a.out >> 32)));
  p.attributes.push_back(radius::Uint32Attribute(radius::kEventTimestamp, uint32_t(a.at / 1000)));
  std::string dg;
  EXPECT_TRUE(radius::EncodeRequest(p, secret, &dg).ok());
  return dg;
}

class RadiusAccountingTest : public ::testing::Test {
 protected:
  RadiusAccountingTest() : catalog_(TestCatalog()), now_(T("2026-03-10T12:00:00Z")) {
    store::StoreOptions o;
    o.path = dir_.path() + "/db";
    EXPECT_TRUE(store::Store::Open(o, &store_).ok());
  }
  ~RadiusAccountingTest() override { StopAll(); }

  void StopAll() {
    if (server_) server_->Stop();
    if (ledger_) ledger_->Stop();
    server_.reset();
    ledger_.reset();
  }

  // A fresh meter, ledger and server over the store.
  void Start(std::vector<LineKeyAttr> keys = {LineKeyAttr::kImsi, LineKeyAttr::kCallingStationId,
                                              LineKeyAttr::kUserName}) {
    StopAll();
    meter_ = std::make_unique<Meter>(catalog_);
    ledger_ = std::make_unique<store::Ledger>(meter_.get(), store_.get(),
                                              [this] { return now_.load(); }, store::LedgerOptions());
    ASSERT_TRUE(ledger_->Recover().ok());
    RadiusAccountingOptions o;
    o.port = 0;
    o.line_keys = std::move(keys);
    o.clients.push_back({"127.0.0.1", kSecret, 3799, "nas-1"});
    server_ = std::make_unique<RadiusAccountingServer>(ledger_.get(), o);
    ASSERT_TRUE(server_->Recover().ok());
    ASSERT_TRUE(server_->Listen().ok());
    ledger_->Start();
    server_->Start();
    nas_ = std::make_unique<Nas>(server_->port());
  }

  void PutLine(const std::string& id, const std::string& imsi, const std::string& msisdn = "") {
    LineSpec spec;
    spec.id = id;
    spec.plan = "m10";
    spec.imsi = imsi;
    spec.msisdn = msisdn;
    std::atomic<bool> done{false};
    Status result;
    ASSERT_TRUE(ledger_
                    ->SubmitCommand([spec](Meter& m, Millis now, Effects* fx) { return m.PutLine(spec, now, fx); },
                                    [&](Status s) {
                                      result = s;
                                      done = true;
                                    })
                    .ok());
    while (!done) usleep(1000);
    ASSERT_TRUE(result.ok()) << result.ToString();
  }

  // Sends and waits for the Accounting-Response; false when none came.
  bool Exchange(const Acct& a, uint8_t id) {
    std::string dg = Encode(a, id);
    nas_->Send(dg);
    std::string resp = nas_->Receive();
    if (resp.empty()) return false;
    radius::Authenticator req_auth;
    std::copy(dg.begin() + 4, dg.begin() + 20, req_auth.begin());
    EXPECT_TRUE(radius::VerifyResponse(radius::AsBytes(resp), req_auth, kSecret));
    EXPECT_EQ(uint8_t(resp[0]), radius::kAccountingResponse);
    EXPECT_EQ(uint8_t(resp[1]), id);
    return true;
  }

  uint64_t Used(const std::string& line) {
    return ledger_->Read([&](const Meter& m) -> uint64_t {
      const Line* l = m.FindLine(line);
      return l == nullptr ? UINT64_MAX : m.Usage(*l, now_.load()).used_bytes;
    });
  }
  uint64_t TotalBytes(const std::string& line) {
    return ledger_->Read([&](const Meter& m) -> uint64_t {
      const Line* l = m.FindLine(line);
      return l == nullptr ? UINT64_MAX : l->total_bytes_up + l->total_bytes_down;
    });
  }
  size_t StoredSessions() {
    size_t n = 0;
    EXPECT_TRUE(store_->ScanAdapterState("rs/", [&](std::string_view, std::string_view) {
                  ++n;
                  return Status::Ok();
                }).ok());
    return n;
  }

  TempDir dir_;
  std::shared_ptr<Catalog> catalog_;
  std::atomic<Millis> now_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Meter> meter_;
  std::unique_ptr<store::Ledger> ledger_;
  std::unique_ptr<RadiusAccountingServer> server_;
  std::unique_ptr<Nas> nas_;
};

TEST_F(RadiusAccountingTest, AnswersAfterTheCommitAndCountsEveryByteOnce) {
  Start();
  PutLine("a", "440100000000001");
  const Millis t0 = now_ - kMillisPerHour;
  Acct a{.status = radius::kAcctStatusStart, .at = t0};
  ASSERT_TRUE(Exchange(a, 1));
  // Answered: the session is already in the store.
  EXPECT_EQ(StoredSessions(), 1u);
  a.status = radius::kAcctStatusInterimUpdate;
  a.in = (uint64_t{1} << 32) + 100;  // with Gigawords
  a.out = 5000;
  a.at = t0 + 10 * kMillisPerMinute;
  ASSERT_TRUE(Exchange(a, 2));
  EXPECT_EQ(TotalBytes("a"), (uint64_t{1} << 32) + 5100);
  // An exact retransmit gets the same answer and counts nothing.
  std::string dg = Encode(a, 2);
  nas_->Send(dg);
  EXPECT_FALSE(nas_->Receive().empty());
  // A duplicated interim (a new packet, the same counters): answered, nothing counted.
  ASSERT_TRUE(Exchange(a, 3));
  // A reordered older interim after a newer one: never negative.
  Acct newer = a;
  newer.in += 1000;
  newer.at += kMillisPerMinute;
  ASSERT_TRUE(Exchange(newer, 4));
  ASSERT_TRUE(Exchange(a, 5));
  a.status = radius::kAcctStatusStop;
  a.in = newer.in + 7;
  a.out = 9000;
  a.at = newer.at + kMillisPerMinute;
  ASSERT_TRUE(Exchange(a, 6));
  EXPECT_EQ(TotalBytes("a"), a.in + a.out);
  EXPECT_TRUE(server_->OpenSessions("", 10).empty());
  std::string metrics = server_->MetricsText();
  EXPECT_NE(metrics.find("ryuryo_radius_acct_duplicates_total{client=\"nas-1\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("ryuryo_radius_acct_responses_total{client=\"nas-1\"} 7"), std::string::npos)
      << metrics;
}

TEST_F(RadiusAccountingTest, OpenSessionsSurviveARestart) {
  Start();
  PutLine("a", "440100000000001");
  const Millis t0 = now_ - kMillisPerHour;
  Acct a{.status = radius::kAcctStatusStart, .at = t0};
  ASSERT_TRUE(Exchange(a, 1));
  a.status = radius::kAcctStatusInterimUpdate;
  a.in = 1000;
  a.out = 2000;
  a.at = t0 + kMillisPerMinute;
  ASSERT_TRUE(Exchange(a, 2));
  Start();  // a new meter, ledger and server over the same store
  ASSERT_EQ(server_->OpenSessions("a", 10).size(), 1u);
  EXPECT_EQ(server_->OpenSessions("a", 10)[0].bytes_in, 1000u);
  // The interim again (the NAS never got our answer): nothing more.
  ASSERT_TRUE(Exchange(a, 7));
  a.status = radius::kAcctStatusStop;
  a.in = 1500;
  a.out = 2500;
  a.at += kMillisPerMinute;
  ASSERT_TRUE(Exchange(a, 8));
  EXPECT_EQ(TotalBytes("a"), 4000u);
}

TEST_F(RadiusAccountingTest, ASessionOverTheCycleResetIsSplitByTime) {
  now_ = T("2026-02-20T00:00:00Z");
  Start();
  PutLine("a", "440100000000001");
  // The line's cycle reset at 2026-03-01T00:00Z; the session ran from an hour before to an hour
  // after: half of it is the previous cycle's.
  const Millis reset = T("2026-03-01T00:00:00Z");
  now_ = reset + 2 * kMillisPerHour;
  Acct a{.status = radius::kAcctStatusStart, .at = reset - kMillisPerHour};
  ASSERT_TRUE(Exchange(a, 1));
  a.status = radius::kAcctStatusInterimUpdate;
  a.in = 1'000'001;
  a.out = 0;
  a.at = reset + kMillisPerHour;
  ASSERT_TRUE(Exchange(a, 2));
  EXPECT_EQ(TotalBytes("a"), 1'000'001u);
  EXPECT_EQ(Used("a"), 1'000'001u - 500'000u);  // the earlier part floors, the later gets the rest
}

TEST_F(RadiusAccountingTest, LineKeysInTheirConfiguredOrder) {
  Start({LineKeyAttr::kCallingStationId, LineKeyAttr::kImsi});
  PutLine("by-imsi", "440100000000001");
  PutLine("by-msisdn", "440100000000002", "+81 90-0000-0001");
  Acct a{.status = radius::kAcctStatusStop, .calling = "819000000001", .in = 10, .out = 20,
         .at = now_ - kMillisPerMinute};
  ASSERT_TRUE(Exchange(a, 1));
  EXPECT_EQ(TotalBytes("by-msisdn"), 30u);
  EXPECT_EQ(TotalBytes("by-imsi"), 0u);
  // Unknown everywhere: answered, and kept aside (quarantined) under the first key.
  a.session = "s2";
  a.calling = "819999999999";
  a.imsi = "440109999999999";
  ASSERT_TRUE(Exchange(a, 2));
  std::vector<store::QuarantineEntry> q;
  ASSERT_TRUE(store_->ListQuarantine(0, 10, &q).ok());
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].record.line, "msisdn:819999999999");
}

TEST_F(RadiusAccountingTest, DropsWhatItCannotTrust) {
  Start();
  PutLine("a", "440100000000001");
  Acct a{.status = radius::kAcctStatusStop, .in = 10, .out = 20, .at = now_ - kMillisPerMinute};
  nas_->Send(Encode(a, 1, "wrong-secret"));
  EXPECT_TRUE(nas_->Receive(300).empty());
  nas_->Send(std::string("\x04\x01\x00\x10short", 9));
  EXPECT_TRUE(nas_->Receive(300).empty());
  std::string access = Encode(a, 2);
  access[0] = radius::kAccessRequest;
  nas_->Send(access);
  EXPECT_TRUE(nas_->Receive(300).empty());
  // A new session with no way to name its line is refused (never acknowledged).
  Acct anonymous = a;
  anonymous.imsi.clear();
  anonymous.session = "anon";
  nas_->Send(Encode(anonymous, 3));
  EXPECT_TRUE(nas_->Receive(300).empty());
  // Still serving.
  ASSERT_TRUE(Exchange(a, 4));
  EXPECT_EQ(TotalBytes("a"), 30u);
  std::string m = server_->MetricsText();
  EXPECT_NE(m.find("ryuryo_radius_acct_bad_authenticator_total{client=\"nas-1\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("ryuryo_radius_acct_malformed_total{client=\"nas-1\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("ryuryo_radius_acct_unsupported_code_total{client=\"nas-1\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("ryuryo_radius_acct_dropped_total{client=\"nas-1\"} 1"), std::string::npos) << m;
}

}  // namespace
}  // namespace ryuryo::ingest
