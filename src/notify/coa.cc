#include "notify/coa.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include "radius/auth.h"
#include "radius/dictionary.h"

namespace ryuryo::notify {

namespace {

using radius::Attribute;
using radius::Packet;

// Datagrams bigger than a RADIUS packet are read whole and then ignored (the Length field
// decides; extra octets are padding).
constexpr size_t kReceiveBytesMax = 2 * radius::kRadiusPacketBytesMax;

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

uint8_t RandomIdentifier() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return static_cast<uint8_t>(rng());
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint32_t UnixSeconds() {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

CoaReply Error(std::string detail, int transmissions = 0) {
  CoaReply r;
  r.result = CoaResult::kError;
  r.detail = std::move(detail);
  r.transmissions = transmissions;
  return r;
}

// Why a datagram is not the answer we wait for ("" when it is).
std::string CheckAnswer(std::string_view datagram, const std::string& request, CoaKind kind,
                        std::string_view secret, Packet* answer) {
  const auto bytes = radius::AsBytes(datagram);
  if (datagram.size() < radius::kRadiusHeaderBytes) return "a datagram too short for RADIUS";
  if (static_cast<uint8_t>(datagram[1]) != static_cast<uint8_t>(request[1])) {
    return "an answer to another Identifier";
  }
  radius::Authenticator request_auth{};
  std::memcpy(request_auth.data(), request.data() + 4, request_auth.size());
  if (!radius::VerifyResponse(bytes, request_auth, secret)) {
    return "an answer with a wrong Response Authenticator (is the secret right?)";
  }
  Status st = radius::Decode(bytes, answer);
  if (!st.ok()) return "a malformed answer: " + st.message();
  const bool coa = kind == CoaKind::kCoa;
  const uint8_t ack = coa ? radius::kCoaAck : radius::kDisconnectAck;
  const uint8_t nak = coa ? radius::kCoaNak : radius::kDisconnectNak;
  if (answer->code != ack && answer->code != nak) {
    return "an unexpected " + radius::CodeName(answer->code);
  }
  return "";
}

}  // namespace

std::string NasEndpoint::ToString() const {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

std::vector<Attribute> SessionAttributes(const SessionIdentity& s) {
  std::vector<Attribute> out;
  if (!s.user_name.empty()) out.push_back(radius::StringAttribute(radius::kUserName, s.user_name));
  if (!s.acct_session_id.empty()) {
    out.push_back(radius::StringAttribute(radius::kAcctSessionId, s.acct_session_id));
  }
  if (s.nas_ip_address != 0) {
    out.push_back(radius::Ipv4Attribute(radius::kNasIpAddress, s.nas_ip_address));
  }
  if (s.framed_ip_address != 0) {
    out.push_back(radius::Ipv4Attribute(radius::kFramedIpAddress, s.framed_ip_address));
  }
  if (!s.calling_station_id.empty()) {
    out.push_back(radius::StringAttribute(radius::kCallingStationId, s.calling_station_id));
  }
  return out;
}

const char* CoaKindName(CoaKind kind) { return kind == CoaKind::kCoa ? "coa" : "disconnect"; }

const char* CoaResultName(CoaResult result) {
  switch (result) {
    case CoaResult::kAck:
      return "ack";
    case CoaResult::kNak:
      return "nak";
    case CoaResult::kTimeout:
      return "timeout";
    case CoaResult::kError:
      break;
  }
  return "error";
}

CoaReply SendCoaRequest(CoaKind kind, const NasEndpoint& nas, const SessionIdentity& session,
                        const std::vector<Attribute>& attributes, const CoaOptions& options) {
  if (options.transmissions < 1 || options.transmissions > kCoaTransmissionsMax ||
      options.first_timeout_ms < 1) {
    return Error("bad options: transmissions must be 1.." + std::to_string(kCoaTransmissionsMax) +
                 " and first_timeout_ms positive");
  }
  Packet request;
  request.code = kind == CoaKind::kCoa ? radius::kCoaRequest : radius::kDisconnectRequest;
  request.identifier = RandomIdentifier();
  if (options.message_authenticator) {
    request.attributes.push_back(radius::StringAttribute(
        radius::kMessageAuthenticator, std::string(radius::kRadiusAuthenticatorBytes, '\0')));
  }
  for (Attribute& a : SessionAttributes(session)) request.attributes.push_back(std::move(a));
  if (kind == CoaKind::kCoa) {
    request.attributes.insert(request.attributes.end(), attributes.begin(), attributes.end());
  }
  if (options.event_timestamp) {
    request.attributes.push_back(radius::Uint32Attribute(radius::kEventTimestamp, UnixSeconds()));
  }
  std::string datagram;
  Status st = radius::EncodeRequest(request, nas.secret, &datagram);
  if (!st.ok()) return Error("cannot encode the request: " + st.message());

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(nas.port);
  if (::getaddrinfo(nas.address.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return Error("bad NAS address \"" + nas.address + "\" (an IPv4 or IPv6 literal)");
  }
  Socket sock(::socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  const bool connected =
      sock.fd() >= 0 && ::connect(sock.fd(), found->ai_addr, found->ai_addrlen) == 0;
  const int connect_errno = errno;
  ::freeaddrinfo(found);
  if (!connected) {
    return Error("cannot reach " + nas.ToString() + ": " + std::strerror(connect_errno));
  }

  CoaReply reply;
  std::string ignored;  // the last datagram that was not the answer, for the timeout's detail
  bool refused = false;
  std::string buf(kReceiveBytesMax, '\0');
  int64_t wait_ms = options.first_timeout_ms;
  for (int t = 0; t < options.transmissions; ++t, wait_ms *= 2) {
    // A connected UDP socket only receives from the NAS's address and port.
    if (::send(sock.fd(), datagram.data(), datagram.size(), 0) < 0 && errno != ECONNREFUSED) {
      return Error("cannot send to " + nas.ToString() + ": " + std::strerror(errno),
                   reply.transmissions);
    }
    ++reply.transmissions;
    const int64_t deadline = NowMs() + wait_ms;
    for (int64_t left = wait_ms; left > 0; left = deadline - NowMs()) {
      pollfd pfd{sock.fd(), POLLIN, 0};
      const int ready = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left, 60'000)));
      if (ready < 0 && errno != EINTR) {
        return Error(std::string("poll: ") + std::strerror(errno), reply.transmissions);
      }
      if (ready <= 0) continue;
      const ssize_t n = ::recv(sock.fd(), buf.data(), buf.size(), 0);
      if (n < 0) {
        // ICMP port unreachable from an earlier send: nothing listens (yet); keep waiting.
        if (errno == ECONNREFUSED) refused = true;
        continue;
      }
      const std::string_view got(buf.data(), static_cast<size_t>(n));
      const std::string why = CheckAnswer(got, datagram, kind, nas.secret, &reply.response);
      if (!why.empty()) {
        ignored = why;
        continue;
      }
      const bool ack =
          reply.response.code == radius::kCoaAck || reply.response.code == radius::kDisconnectAck;
      reply.result = ack ? CoaResult::kAck : CoaResult::kNak;
      if (!ack) {
        if (const Attribute* cause = radius::Find(reply.response, radius::kErrorCause)) {
          radius::GetUint32(*cause, &reply.error_cause);
        }
      }
      return reply;
    }
  }
  reply.result = CoaResult::kTimeout;
  reply.detail = "no answer from " + nas.ToString() + " after " +
                 std::to_string(reply.transmissions) + " transmissions";
  if (refused) reply.detail += " (port unreachable)";
  if (!ignored.empty()) reply.detail += "; ignored " + ignored;
  return reply;
}

}  // namespace ryuryo::notify
