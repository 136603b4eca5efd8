#include "notify/coa.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "notify/freeradius_test_util.h"
#include "radius/auth.h"
#include "radius/dictionary.h"

namespace ryuryo::notify {
namespace {

using radius::Attribute;
using radius::Packet;

SessionIdentity Session(std::string user = "440101234567890") {
  SessionIdentity s;
  s.user_name = std::move(user);
  s.acct_session_id = "sess-0001";
  s.calling_station_id = "819012345678";
  s.nas_ip_address = 0x7F000001;
  s.framed_ip_address = 0x0A400001;
  return s;
}

std::vector<Attribute> ThrottleAttributes() {
  return {radius::StringAttribute(radius::kFilterId, "throttled"),
          radius::VendorStringAttribute(14988, 8, "128k/128k")};
}

CoaOptions Fast() {
  CoaOptions o;
  o.first_timeout_ms = 100;
  return o;
}

// --- Against FreeRADIUS as the NAS ---------------------------------------------------------------

class CoaFreeRadiusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!FreeRadiusNas::Available()) {
      GTEST_SKIP() << "freeradius (Debian package freeradius) is not installed";
    }
    const std::string error = nas_.Start();
    ASSERT_EQ(error, "");
  }
  FreeRadiusNas nas_;
};

TEST_F(CoaFreeRadiusTest, CoaRequestIsAckedAndCarriesEveryAttribute) {
  CoaReply r = SendCoaRequest(CoaKind::kCoa, nas_.endpoint(), Session(), ThrottleAttributes());
  ASSERT_EQ(r.result, CoaResult::kAck) << r.detail << "\n" << nas_.Log();
  EXPECT_EQ(r.transmissions, 1);
  EXPECT_EQ(r.response.code, radius::kCoaAck);
  const std::vector<ReceivedRequest> got = nas_.Received();
  ASSERT_EQ(got.size(), 1u) << nas_.Log();
  const ReceivedRequest& req = got[0];
  EXPECT_EQ(req.packet_type, "CoA-Request");
  EXPECT_EQ(req.Get("User-Name"), "440101234567890");
  EXPECT_EQ(req.Get("Acct-Session-Id"), "sess-0001");
  EXPECT_EQ(req.Get("Calling-Station-Id"), "819012345678");
  EXPECT_EQ(req.Get("NAS-IP-Address"), "127.0.0.1");
  EXPECT_EQ(req.Get("Framed-IP-Address"), "10.64.0.1");
  EXPECT_EQ(req.Get("Filter-Id"), "throttled");
  EXPECT_EQ(req.Get("Mikrotik-Rate-Limit"), "128k/128k");
  EXPECT_TRUE(req.Has("Event-Timestamp"));
  // FreeRADIUS verified the Request Authenticator (it drops a wrong one) and the
  // Message-Authenticator (it drops a wrong one too).
  EXPECT_TRUE(req.Has("Message-Authenticator")) << nas_.Log();
}

TEST_F(CoaFreeRadiusTest, CoaNakReportsErrorCause) {
  CoaReply r =
      SendCoaRequest(CoaKind::kCoa, nas_.endpoint(), Session("nak-me"), ThrottleAttributes());
  ASSERT_EQ(r.result, CoaResult::kNak) << r.detail << "\n" << nas_.Log();
  EXPECT_EQ(r.error_cause, 503u);
  EXPECT_EQ(r.response.code, radius::kCoaNak);
  EXPECT_EQ(r.transmissions, 1);
}

TEST_F(CoaFreeRadiusTest, DisconnectAckAndNakCarryOnlyIdentification) {
  CoaReply r =
      SendCoaRequest(CoaKind::kDisconnect, nas_.endpoint(), Session(), ThrottleAttributes());
  ASSERT_EQ(r.result, CoaResult::kAck) << r.detail << "\n" << nas_.Log();
  EXPECT_EQ(r.response.code, radius::kDisconnectAck);
  r = SendCoaRequest(CoaKind::kDisconnect, nas_.endpoint(), Session("nak-me"), {});
  ASSERT_EQ(r.result, CoaResult::kNak) << r.detail;
  EXPECT_EQ(r.response.code, radius::kDisconnectNak);
  EXPECT_EQ(r.error_cause, 503u);

  const std::vector<ReceivedRequest> got = nas_.Received();
  ASSERT_EQ(got.size(), 2u) << nas_.Log();
  EXPECT_EQ(got[0].packet_type, "Disconnect-Request");
  EXPECT_EQ(got[0].Get("Acct-Session-Id"), "sess-0001");
  EXPECT_EQ(got[0].Get("Framed-IP-Address"), "10.64.0.1");
  EXPECT_FALSE(got[0].Has("Filter-Id"));
  EXPECT_FALSE(got[0].Has("Mikrotik-Rate-Limit"));
  EXPECT_EQ(got[1].Get("User-Name"), "nak-me");
}

TEST_F(CoaFreeRadiusTest, WithoutOptionalAttributes) {
  CoaOptions o;
  o.message_authenticator = false;
  o.event_timestamp = false;
  SessionIdentity only_session;
  only_session.acct_session_id = "sess-0002";
  CoaReply r = SendCoaRequest(CoaKind::kCoa, nas_.endpoint(), only_session,
                              {radius::StringAttribute(radius::kFilterId, "normal")}, o);
  ASSERT_EQ(r.result, CoaResult::kAck) << r.detail;
  const std::vector<ReceivedRequest> got = nas_.Received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].Has("Message-Authenticator"));
  EXPECT_FALSE(got[0].Has("Event-Timestamp"));
  EXPECT_FALSE(got[0].Has("User-Name"));
  EXPECT_FALSE(got[0].Has("Framed-IP-Address"));
  EXPECT_EQ(got[0].Get("Acct-Session-Id"), "sess-0002");
  EXPECT_EQ(got[0].Get("Filter-Id"), "normal");
}

TEST_F(CoaFreeRadiusTest, AWrongSecretGetsNoAnswer) {
  NasEndpoint wrong = nas_.endpoint();
  wrong.secret = "not-the-secret";
  CoaReply r = SendCoaRequest(CoaKind::kCoa, wrong, Session(), ThrottleAttributes(), Fast());
  EXPECT_EQ(r.result, CoaResult::kTimeout) << r.detail;
  EXPECT_EQ(r.transmissions, 3);
  EXPECT_TRUE(nas_.Received().empty());
}

TEST_F(CoaFreeRadiusTest, ANasThatDoesNotAnswerTimesOut) {
  CoaReply r = SendCoaRequest(CoaKind::kCoa, nas_.endpoint(), Session("ignore-me"),
                              ThrottleAttributes(), Fast());
  EXPECT_EQ(r.result, CoaResult::kTimeout) << r.detail;
  EXPECT_EQ(r.transmissions, 3);
  EXPECT_NE(r.detail.find("no answer from 127.0.0.1:" + std::to_string(nas_.port()) +
                          " after 3 transmissions"),
            std::string::npos)
      << r.detail;
  ASSERT_FALSE(nas_.Received().empty());
  EXPECT_EQ(nas_.Received()[0].Get("User-Name"), "ignore-me");
}

TEST(CoaTest, NothingListeningTimesOutAfterTheBackoff) {
  NasEndpoint nas{"127.0.0.1", FreeUdpPort(), "testing123"};
  const auto start = std::chrono::steady_clock::now();
  CoaReply r = SendCoaRequest(CoaKind::kCoa, nas, Session(), ThrottleAttributes(), Fast());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.result, CoaResult::kTimeout);
  EXPECT_EQ(r.transmissions, 3);
  EXPECT_NE(r.detail.find("port unreachable"), std::string::npos) << r.detail;
  // 100 ms, then 200 ms, then 400 ms.
  EXPECT_GE(elapsed, std::chrono::milliseconds(700));
}

TEST(CoaTest, BadInputIsAnError) {
  CoaReply r = SendCoaRequest(CoaKind::kCoa, {"nas.example.net", 3799, "s"}, Session(), {});
  EXPECT_EQ(r.result, CoaResult::kError);
  EXPECT_NE(r.detail.find("bad NAS address"), std::string::npos) << r.detail;
  CoaOptions none;
  none.transmissions = 0;
  r = SendCoaRequest(CoaKind::kCoa, {"127.0.0.1", 3799, "s"}, Session(), {}, none);
  EXPECT_EQ(r.result, CoaResult::kError);
  r = SendCoaRequest(CoaKind::kCoa, {"127.0.0.1", 3799, "s"}, Session(),
                     {radius::StringAttribute(radius::kFilterId, std::string(300, 'x'))});
  EXPECT_EQ(r.result, CoaResult::kError);
  EXPECT_NE(r.detail.find("cannot encode"), std::string::npos) << r.detail;
  EXPECT_EQ(r.transmissions, 0);
}

TEST(CoaTest, Names) {
  EXPECT_STREQ(CoaKindName(CoaKind::kDisconnect), "disconnect");
  EXPECT_STREQ(CoaResultName(CoaResult::kTimeout), "timeout");
  EXPECT_EQ((NasEndpoint{"10.0.0.1", 3799, ""}.ToString()), "10.0.0.1:3799");
  EXPECT_EQ((NasEndpoint{"2001:db8::1", 1700, ""}.ToString()), "[2001:db8::1]:1700");
}

// --- Against a scripted NAS in the test --------------------------------------------------------

// A UDP socket on 127.0.0.1 (port 0); `answer(i, request)` gives the datagrams to send back for
// the i-th datagram received.
class ScriptedNas {
 public:
  using Script = std::function<std::vector<std::string>(int, const std::string&)>;
  explicit ScriptedNas(Script answer) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return;
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, answer = std::move(answer)] {
      while (!stop_.load()) {
        pollfd pfd{fd_, POLLIN, 0};
        if (::poll(&pfd, 1, 20) != 1) continue;
        char buf[8192];
        sockaddr_in peer{};
        socklen_t peer_len = sizeof(peer);
        const ssize_t n =
            ::recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&peer), &peer_len);
        if (n < 0) continue;
        const std::string request(buf, static_cast<size_t>(n));
        int index;
        {
          std::lock_guard lock(mu_);
          index = static_cast<int>(received_.size());
          received_.push_back(request);
        }
        for (const std::string& d : answer(index, request)) {
          ::sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&peer), peer_len);
        }
      }
    });
  }
  ~ScriptedNas() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  NasEndpoint endpoint() const { return {"127.0.0.1", port_, "testing123"}; }
  std::vector<std::string> received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::string> received_;
  std::thread thread_;
};

// An answer with `code` to `request`, signed with `secret`; `identifier_delta` shifts its id.
std::string AnswerTo(const std::string& request, uint8_t code, std::string_view secret,
                     int identifier_delta = 0, std::vector<Attribute> attributes = {}) {
  Packet req;
  if (!radius::Decode(radius::AsBytes(request), &req).ok()) return "";
  Packet ans;
  ans.code = code;
  ans.identifier = static_cast<uint8_t>(req.identifier + identifier_delta);
  ans.attributes = std::move(attributes);
  std::string out;
  EXPECT_TRUE(radius::EncodeResponse(ans, req.authenticator, secret, &out).ok());
  return out;
}

TEST(CoaTest, RetransmitsTheSameDatagramUntilAnswered) {
  ScriptedNas nas([](int i, const std::string& req) -> std::vector<std::string> {
    if (i < 2) return {};  // lose the first two
    return {AnswerTo(req, radius::kCoaAck, "testing123")};
  });
  CoaReply r =
      SendCoaRequest(CoaKind::kCoa, nas.endpoint(), Session(), ThrottleAttributes(), Fast());
  EXPECT_EQ(r.result, CoaResult::kAck) << r.detail;
  EXPECT_EQ(r.transmissions, 3);
  const std::vector<std::string> got = nas.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1], got[0]);  // same Identifier, same Authenticator, same everything
  EXPECT_EQ(got[2], got[0]);
  EXPECT_TRUE(radius::VerifyRequest(radius::AsBytes(got[0]), "testing123"));
  EXPECT_EQ(radius::CheckMessageAuthenticator(radius::AsBytes(got[0]), "testing123",
                                              radius::Authenticator{}),
            radius::MessageAuthenticatorCheck::kValid);
}

TEST(CoaTest, IgnoresAnswersThatAreNotTheAnswer) {
  ScriptedNas nas([](int, const std::string& req) -> std::vector<std::string> {
    return {
        "short",
        AnswerTo(req, radius::kCoaAck, "wrong-secret"),
        AnswerTo(req, radius::kCoaAck, "testing123", /*identifier_delta=*/1),
        AnswerTo(req, radius::kDisconnectAck, "testing123"),  // the wrong kind
        AnswerTo(req, radius::kCoaNak, "testing123", 0,
                 {radius::Uint32Attribute(radius::kErrorCause, 404)}),
    };
  });
  CoaReply r =
      SendCoaRequest(CoaKind::kCoa, nas.endpoint(), Session(), ThrottleAttributes(), Fast());
  EXPECT_EQ(r.result, CoaResult::kNak) << r.detail;
  EXPECT_EQ(r.error_cause, 404u);
  EXPECT_EQ(r.transmissions, 1);
}

TEST(CoaTest, ATimeoutSaysWhatWasIgnored) {
  ScriptedNas nas([](int, const std::string& req) -> std::vector<std::string> {
    return {AnswerTo(req, radius::kCoaAck, "wrong-secret")};
  });
  CoaOptions o = Fast();
  o.transmissions = 2;
  CoaReply r = SendCoaRequest(CoaKind::kCoa, nas.endpoint(), Session(), {}, o);
  EXPECT_EQ(r.result, CoaResult::kTimeout);
  EXPECT_EQ(r.transmissions, 2);
  EXPECT_NE(r.detail.find("wrong Response Authenticator"), std::string::npos) << r.detail;
}

}  // namespace
}  // namespace ryuryo::notify
