#include "radius/access.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "radius/auth.h"
#include "radius/dictionary.h"

namespace ryuryo::radius {
namespace {

constexpr char kSecret[] = "testing123";
constexpr uint8_t kProxyState = 33;
constexpr uint8_t kEapMessage = 79;
constexpr uint8_t kUserPassword = 2;

// Lines by IMSI (3GPP-IMSI first, then User-Name), as the server's lookup does.
LineLookup Lines(std::map<std::string, LineFacts> lines) {
  return [lines = std::move(lines)](const Packet& p) -> std::optional<LineFacts> {
    const Attribute* a = FindVendor(p, kVendor3gpp, k3gppImsi);
    if (a == nullptr) a = Find(p, kUserName);
    if (a == nullptr) return std::nullopt;
    auto it = lines.find(std::string(GetText(*a)));
    if (it == lines.end()) return std::nullopt;
    return it->second;
  };
}

LineFacts Line(std::string id, LineState state) {
  LineFacts f;
  f.line = std::move(id);
  f.plan = "travel-8d-3gb";
  f.state = state;
  if (state == LineState::kThrottled) {
    f.rate_bps = 128'000;
    f.reason = "quota";
  }
  return f;
}

LineLookup DemoLines() {
  return Lines({{"440100000000001", Line("normal-line", LineState::kNormal)},
                {"440100000000002", Line("slow-line", LineState::kThrottled)},
                {"440100000000003", Line("blocked-line", LineState::kBlocked)}});
}

RadiusPolicy DemoPolicy() {
  RadiusPolicyConfig c;
  c.normal = StatePolicyConfig{{"Filter-Id = normal"}, ""};
  c.throttled = StatePolicyConfig{
      {"Filter-Id = throttled", "Mikrotik-Rate-Limit = {rate_kbps}k/{rate_kbps}k"}, ""};
  c.blocked = StatePolicyConfig{{}, "Data limit reached. Top up at https://example.net/topup"};
  RadiusPolicy p;
  Status st = ParseRadiusPolicy(c, &p);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return p;
}

Packet Request(std::string_view imsi, bool message_authenticator = true) {
  Packet p;
  p.code = kAccessRequest;
  p.identifier = 17;
  for (size_t i = 0; i < p.authenticator.size(); ++i) p.authenticator[i] = uint8_t(i * 7 + 1);
  p.attributes = {StringAttribute(kUserName, imsi),
                  StringAttribute(kUserPassword, std::string(16, 'p')),
                  VendorStringAttribute(kVendor3gpp, k3gppImsi, imsi)};
  if (message_authenticator) {
    p.attributes.push_back(StringAttribute(kMessageAuthenticator, std::string(16, '\0')));
  }
  return p;
}

std::string Wire(const Packet& p, std::string_view secret = kSecret) {
  std::string wire;
  Status st = EncodeRequest(p, secret, &wire);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return wire;
}

// Handles `request` and checks the answer is a properly signed reply; returns it decoded.
Packet Answer(const Packet& request, AccessOutcome want, const RadiusPolicy& policy = DemoPolicy(),
              const AccessOptions& options = {}) {
  const std::string wire = Wire(request);
  AccessResult r = HandleAccessRequest(AsBytes(wire), kSecret, DemoLines(), policy, options);
  EXPECT_EQ(r.outcome, want) << AccessOutcomeName(r.outcome) << ": " << r.detail;
  Packet reply;
  if (!r.response) {
    ADD_FAILURE() << "no response";
    return reply;
  }
  const auto bytes = AsBytes(*r.response);
  EXPECT_TRUE(VerifyResponse(bytes, request.authenticator, kSecret));
  EXPECT_EQ(CheckMessageAuthenticator(bytes, kSecret, request.authenticator),
            MessageAuthenticatorCheck::kValid);
  EXPECT_TRUE(Decode(bytes, &reply).ok());
  EXPECT_EQ(reply.identifier, request.identifier);
  // Blast-RADIUS mitigation: the Message-Authenticator comes first.
  EXPECT_FALSE(reply.attributes.empty());
  if (!reply.attributes.empty()) {
    EXPECT_EQ(reply.attributes[0].type, kMessageAuthenticator);
  }
  return reply;
}

// The reply's attributes after the leading Message-Authenticator.
std::vector<Attribute> Body(const Packet& reply) {
  if (reply.attributes.empty()) return {};
  return {reply.attributes.begin() + 1, reply.attributes.end()};
}

TEST(AccessTest, AcceptsWithTheAttributesOfTheLinesState) {
  Packet reply = Answer(Request("440100000000001"), AccessOutcome::kAccepted);
  EXPECT_EQ(reply.code, kAccessAccept);
  EXPECT_EQ(Body(reply), std::vector<Attribute>{StringAttribute(kFilterId, "normal")});

  reply = Answer(Request("440100000000002"), AccessOutcome::kAccepted);
  EXPECT_EQ(reply.code, kAccessAccept);
  EXPECT_EQ(Body(reply), (std::vector<Attribute>{StringAttribute(kFilterId, "throttled"),
                                                 VendorStringAttribute(14988, 8, "128k/128k")}));
}

TEST(AccessTest, RejectsBlockedAndUnknownLinesWithAReplyMessage) {
  Packet reply = Answer(Request("440100000000003"), AccessOutcome::kRejectedBlocked);
  EXPECT_EQ(reply.code, kAccessReject);
  EXPECT_EQ(Body(reply),
            std::vector<Attribute>{StringAttribute(
                kReplyMessage, "Data limit reached. Top up at https://example.net/topup")});

  AccessOptions options;
  options.unknown_message = "知らない加入者";
  reply =
      Answer(Request("440100000000999"), AccessOutcome::kRejectedUnknown, DemoPolicy(), options);
  EXPECT_EQ(reply.code, kAccessReject);
  EXPECT_EQ(Body(reply), std::vector<Attribute>{StringAttribute(kReplyMessage, "知らない加入者")});

  // A blocked state with attributes admits the line (walled garden).
  RadiusPolicy garden = DemoPolicy();
  ASSERT_TRUE(garden.SetState(LineState::kBlocked, {"Filter-Id = walled-garden"}, "").ok());
  reply = Answer(Request("440100000000003"), AccessOutcome::kAccepted, garden);
  EXPECT_EQ(reply.code, kAccessAccept);
  EXPECT_EQ(Body(reply), std::vector<Attribute>{StringAttribute(kFilterId, "walled-garden")});
}

TEST(AccessTest, ReportsTheLineFound) {
  const std::string wire = Wire(Request("440100000000002"));
  AccessResult r = HandleAccessRequest(AsBytes(wire), kSecret, DemoLines(), DemoPolicy());
  ASSERT_TRUE(r.facts.has_value());
  EXPECT_EQ(r.facts->line, "slow-line");
  r = HandleAccessRequest(AsBytes(Wire(Request("1"))), kSecret, DemoLines(), DemoPolicy());
  EXPECT_FALSE(r.facts.has_value());
  EXPECT_EQ(r.outcome, AccessOutcome::kRejectedUnknown);
}

TEST(AccessTest, CopiesProxyStateInOrder) {
  Packet request = Request("440100000000001");
  request.attributes.push_back(StringAttribute(kProxyState, "first"));
  request.attributes.push_back(StringAttribute(kProxyState, "second"));
  Packet reply = Answer(request, AccessOutcome::kAccepted);
  EXPECT_EQ(Body(reply), (std::vector<Attribute>{StringAttribute(kFilterId, "normal"),
                                                 StringAttribute(kProxyState, "first"),
                                                 StringAttribute(kProxyState, "second")}));
}

TEST(AccessTest, WithoutMessageAuthenticatorAnswersUnlessRequired) {
  const Packet request = Request("440100000000001", /*message_authenticator=*/false);
  Answer(request, AccessOutcome::kAccepted);
  AccessOptions strict;
  strict.require_message_authenticator = true;
  const std::string wire = Wire(request);
  AccessResult r = HandleAccessRequest(AsBytes(wire), kSecret, DemoLines(), DemoPolicy(), strict);
  EXPECT_EQ(r.outcome, AccessOutcome::kDroppedMissingAuthenticator);
  EXPECT_FALSE(r.response.has_value());
}

TEST(AccessTest, DropsAWrongMessageAuthenticator) {
  const std::string wire = Wire(Request("440100000000001"), "another-secret");
  bool looked_up = false;
  LineLookup lookup = [&](const Packet&) -> std::optional<LineFacts> {
    looked_up = true;
    return Line("x", LineState::kNormal);
  };
  AccessResult r = HandleAccessRequest(AsBytes(wire), kSecret, lookup, DemoPolicy());
  EXPECT_EQ(r.outcome, AccessOutcome::kDroppedBadAuthenticator);
  EXPECT_FALSE(r.response.has_value());
  EXPECT_FALSE(looked_up);
  // One flipped bit anywhere in the packet does the same.
  std::string tampered = Wire(Request("440100000000001"));
  tampered[25] ^= 1;
  r = HandleAccessRequest(AsBytes(tampered), kSecret, lookup, DemoPolicy());
  EXPECT_EQ(r.outcome, AccessOutcome::kDroppedBadAuthenticator);
}

TEST(AccessTest, EapNeedsAMessageAuthenticatorAndIsRejected) {
  Packet request = Request("440100000000001", /*message_authenticator=*/false);
  request.attributes.push_back(
      StringAttribute(kEapMessage, std::string("\x02\x2a\x00\x05\x01", 5)));
  std::string wire = Wire(request);
  AccessResult r = HandleAccessRequest(AsBytes(wire), kSecret, DemoLines(), DemoPolicy());
  EXPECT_EQ(r.outcome, AccessOutcome::kDroppedMissingAuthenticator);
  EXPECT_FALSE(r.response.has_value());

  request.attributes.push_back(StringAttribute(kMessageAuthenticator, std::string(16, '\0')));
  Packet reply = Answer(request, AccessOutcome::kRejectedEap);
  EXPECT_EQ(reply.code, kAccessReject);
  EXPECT_EQ(Body(reply), std::vector<Attribute>{
                             StringAttribute(kEapMessage, std::string("\x04\x2a\x00\x04", 4))});
}

TEST(AccessTest, DropsOtherCodesAndGarbage) {
  Packet acct;
  acct.code = kAccountingRequest;
  acct.attributes = {Uint32Attribute(kAcctStatusType, kAcctStatusStart)};
  AccessResult r = HandleAccessRequest(AsBytes(Wire(acct)), kSecret, DemoLines(), DemoPolicy());
  EXPECT_EQ(r.outcome, AccessOutcome::kDroppedNotAccessRequest);
  EXPECT_FALSE(r.response.has_value());
  EXPECT_EQ(r.detail, "Accounting-Request");

  r = HandleAccessRequest({}, kSecret, DemoLines(), DemoPolicy());
  EXPECT_EQ(r.outcome, AccessOutcome::kDroppedMalformed);
  EXPECT_FALSE(r.response.has_value());
  EXPECT_STREQ(AccessOutcomeName(AccessOutcome::kDroppedMalformed), "dropped_malformed");
}

TEST(AccessTest, AResponseThatCannotFitIsDropped) {
  Packet request = Request("440100000000001");
  for (int i = 0; i < 15; ++i) {
    request.attributes.push_back(StringAttribute(kProxyState, std::string(253, char('a' + i))));
  }
  const std::string wire = Wire(request);  // near the packet size limit
  RadiusPolicy wordy = DemoPolicy();
  ASSERT_TRUE(wordy
                  .SetState(LineState::kNormal,
                            std::vector<std::string>(4, "Filter-Id = " + std::string(200, 'f')), "")
                  .ok());
  AccessResult r = HandleAccessRequest(AsBytes(wire), kSecret, DemoLines(), wordy);
  EXPECT_EQ(r.outcome, AccessOutcome::kDroppedResponseTooLarge) << r.detail;
  EXPECT_FALSE(r.response.has_value());
}

// Truncations and random mutations of valid requests: never a crash, and an answer only ever
// to a well-formed Access-Request.
TEST(AccessTest, SurvivesMutatedInput) {
  const RadiusPolicy policy = DemoPolicy();
  const LineLookup lookup = DemoLines();
  std::vector<std::string> seeds = {Wire(Request("440100000000001")),
                                    Wire(Request("440100000000002", false))};
  std::mt19937 rng(20261127);
  size_t answered = 0;
  for (const std::string& seed : seeds) {
    for (size_t n = 0; n <= seed.size(); ++n) {
      HandleAccessRequest(AsBytes(std::string_view(seed).substr(0, n)), kSecret, lookup, policy);
    }
    for (int i = 0; i < 5000; ++i) {
      std::string m = seed;
      const int flips = 1 + int(rng() % 4);
      for (int k = 0; k < flips; ++k) m[rng() % m.size()] = static_cast<char>(rng());
      AccessResult r = HandleAccessRequest(AsBytes(m), kSecret, lookup, policy);
      if (r.response) {
        ++answered;
        Packet p;
        EXPECT_TRUE(Decode(AsBytes(m), &p).ok());
        EXPECT_EQ(p.code, kAccessRequest);
      }
    }
  }
  // Mutations of the request without Message-Authenticator that keep it well-formed are answered.
  EXPECT_GT(answered, 0u);
}

// --- Live: radclient (freeradius-utils) against a UDP loop that uses HandleAccessRequest --------

bool HaveRadclient() {
  return std::system("command -v radclient >/dev/null 2>&1") == 0 &&
         std::filesystem::exists("/usr/share/freeradius/dictionary");
}

// A UDP socket on 127.0.0.1 (port 0) answering with HandleAccessRequest on its own thread.
class AccessServer {
 public:
  AccessServer(RadiusPolicy policy, LineLookup lookup) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return;
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, policy = std::move(policy), lookup = std::move(lookup)] {
      while (!stop_.load()) {
        pollfd pfd{fd_, POLLIN, 0};
        if (::poll(&pfd, 1, 50) != 1) continue;
        char buf[kRadiusPacketBytesMax];
        sockaddr_in peer{};
        socklen_t peer_len = sizeof(peer);
        const ssize_t n =
            ::recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&peer), &peer_len);
        if (n < 0) continue;
        AccessResult r = HandleAccessRequest(AsBytes(std::string_view(buf, static_cast<size_t>(n))),
                                             kSecret, lookup, policy);
        outcomes_[static_cast<int>(r.outcome)].fetch_add(1);
        if (r.response) {
          ::sendto(fd_, r.response->data(), r.response->size(), 0,
                   reinterpret_cast<sockaddr*>(&peer), peer_len);
        }
      }
    });
  }
  ~AccessServer() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  int port() const { return port_; }
  int count(AccessOutcome o) const { return outcomes_[static_cast<int>(o)].load(); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> outcomes_[kAccessOutcomeCount] = {};
  std::thread thread_;
};

struct RadclientRun {
  std::string output;
  int exit_status = -1;
};

RadclientRun Radclient(int port, const std::string& input, const std::string& secret = kSecret) {
  RadclientRun run;
  char dir_template[] = "/tmp/ryuryo-access-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  EXPECT_NE(dir, nullptr);
  if (dir == nullptr) return run;
  const std::string input_path = std::string(dir) + "/input.txt";
  std::ofstream(input_path) << input;
  const std::string cmd = "radclient -x -r 1 -t 2 -f " + input_path +
                          " 127.0.0.1:" + std::to_string(port) + " auth " + secret + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  if (pipe != nullptr) {
    char buf[1024];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) run.output.append(buf, n);
    const int status = ::pclose(pipe);
    run.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::filesystem::remove_all(dir);
  return run;
}

std::string RadclientInput(std::string_view imsi) {
  return "User-Name = \"" + std::string(imsi) + "\"\nUser-Password = \"unused\"\n3GPP-IMSI = \"" +
         std::string(imsi) +
         "\"\nCalling-Station-Id = \"819012345678\"\nMessage-Authenticator = 0x00\n";
}

// The attribute lines radclient printed for the reply ("\tName = value"), in order, after the
// Message-Authenticator, which must come first (radclient drops a reply whose one is wrong).
std::vector<std::string> ReplyLines(const std::string& output) {
  std::vector<std::string> lines;
  const size_t at = output.find("Received Access-");
  if (at == std::string::npos) return lines;
  size_t pos = output.find('\n', at);
  while (pos != std::string::npos && pos + 1 < output.size() && output[pos + 1] == '\t') {
    const size_t end = output.find('\n', pos + 1);
    lines.push_back(output.substr(pos + 2, end == std::string::npos ? end : end - pos - 2));
    pos = end;
  }
  if (lines.empty() || lines[0].rfind("Message-Authenticator = 0x", 0) != 0) {
    ADD_FAILURE() << "the reply does not start with a Message-Authenticator: " << output;
    return lines;
  }
  lines.erase(lines.begin());
  return lines;
}

TEST(AccessRadclientTest, AcceptCarriesThePolicyAttributes) {
  if (!HaveRadclient()) GTEST_SKIP() << "radclient (Debian package freeradius-utils) is missing";
  AccessServer server(DemoPolicy(), DemoLines());
  ASSERT_NE(server.port(), 0);
  RadclientRun run = Radclient(server.port(), RadclientInput("440100000000002"));
  EXPECT_NE(run.output.find("Received Access-Accept Id"), std::string::npos) << run.output;
  // radclient checks the Response Authenticator and the Message-Authenticator itself.
  EXPECT_EQ(run.output.find("invalid"), std::string::npos) << run.output;
  EXPECT_EQ(ReplyLines(run.output),
            (std::vector<std::string>{"Filter-Id = \"throttled\"",
                                      "Mikrotik-Rate-Limit = \"128k/128k\""}))
      << run.output;
  EXPECT_EQ(run.exit_status, 0) << run.output;
  EXPECT_EQ(server.count(AccessOutcome::kAccepted), 1);
}

TEST(AccessRadclientTest, RejectsBlockedAndUnknownWithReplyMessage) {
  if (!HaveRadclient()) GTEST_SKIP() << "radclient (Debian package freeradius-utils) is missing";
  AccessServer server(DemoPolicy(), DemoLines());
  ASSERT_NE(server.port(), 0);
  RadclientRun run = Radclient(server.port(), RadclientInput("440100000000003"));
  EXPECT_NE(run.output.find("Received Access-Reject Id"), std::string::npos) << run.output;
  EXPECT_EQ(ReplyLines(run.output),
            (std::vector<std::string>{
                "Reply-Message = \"Data limit reached. Top up at https://example.net/topup\""}))
      << run.output;
  EXPECT_NE(run.exit_status, 0) << "radclient exits 1 when it expected an Accept";

  run = Radclient(server.port(), RadclientInput("440100000000999"));
  EXPECT_NE(run.output.find("Received Access-Reject Id"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("Reply-Message = \"Unknown subscriber\""), std::string::npos)
      << run.output;
  EXPECT_EQ(server.count(AccessOutcome::kRejectedBlocked), 1);
  EXPECT_EQ(server.count(AccessOutcome::kRejectedUnknown), 1);
}

TEST(AccessRadclientTest, AWrongSecretGetsNoAnswer) {
  if (!HaveRadclient()) GTEST_SKIP() << "radclient (Debian package freeradius-utils) is missing";
  AccessServer server(DemoPolicy(), DemoLines());
  ASSERT_NE(server.port(), 0);
  RadclientRun run = Radclient(server.port(), RadclientInput("440100000000001"), "not-the-secret");
  EXPECT_NE(run.output.find("No reply from server"), std::string::npos) << run.output;
  EXPECT_NE(run.exit_status, 0);
  EXPECT_EQ(server.count(AccessOutcome::kDroppedBadAuthenticator), 1);
}

}  // namespace
}  // namespace ryuryo::radius
