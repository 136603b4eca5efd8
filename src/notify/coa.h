// RFC 5176 Dynamic Authorization client: sends a CoA-Request (new attributes for a live session)
// or a Disconnect-Request (end it) to a NAS and waits for its ACK or NAK.
//
// The request carries the session identification that is known (User-Name, Acct-Session-Id,
// NAS-IP-Address, Framed-IP-Address, Calling-Station-Id) and, for CoA, the attributes to apply.
// Its Request Authenticator is MD5 over the packet with a zero authenticator plus the secret
// (RFC 5176 §3, as for accounting); by default it also carries a Message-Authenticator
// (RFC 3579 §3.2) and an Event-Timestamp (RFC 5176 §3.4, replay protection).
//
// Delivery: the same datagram (same Identifier and Authenticator) is sent up to
// `transmissions_max` times, waiting first_timeout_ms, then twice that, and so on (1 s, 2 s, 4 s
// by default: at most 7 s). Only an answer from the NAS's address and port, with our Identifier,
// the right Response Authenticator (and Message-Authenticator, if any) and an ACK or NAK code of
// the request's kind counts; anything else is ignored while waiting. A NAK is final (its
// Error-Cause is reported); a NAS that never answers is a timeout.
//
// Thread-safety: SendCoaRequest blocks the calling thread (it is meant for a delivery worker);
// calls from several threads are independent (each uses its own socket).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "radius/packet.h"

namespace ryuryo::notify {

// Where a NAS listens for Dynamic Authorization requests.
struct NasEndpoint {
  std::string address;  // IPv4 or IPv6 literal
  uint16_t port = 3799;
  std::string secret;

  std::string ToString() const;  // "10.0.0.1:3799", "[2001:db8::1]:3799"
};

// What identifies a session to the NAS; empty strings and zero addresses are left out.
struct SessionIdentity {
  std::string user_name;
  std::string acct_session_id;
  std::string calling_station_id;
  uint32_t nas_ip_address = 0;     // IPv4, host byte order; 0: unknown
  uint32_t framed_ip_address = 0;  // IPv4, host byte order; 0: unknown
};

// The identification attributes for `session`, in the order listed above.
std::vector<radius::Attribute> SessionAttributes(const SessionIdentity& session);

enum class CoaKind : uint8_t { kCoa, kDisconnect };
enum class CoaResult : uint8_t { kAck, kNak, kTimeout, kError };
const char* CoaKindName(CoaKind kind);        // "coa", "disconnect"
const char* CoaResultName(CoaResult result);  // "ack", "nak", "timeout", "error"

inline constexpr int kCoaTransmissionsMax = 10;

struct CoaOptions {
  int transmissions = 3;  // 1..kCoaTransmissionsMax
  int64_t first_timeout_ms = 1000;
  bool message_authenticator = true;
  bool event_timestamp = true;
};

struct CoaReply {
  CoaResult result = CoaResult::kError;
  uint32_t error_cause = 0;  // kNak: the NAK's Error-Cause (RFC 5176 §3.6), 0 when absent
  int transmissions = 0;     // datagrams sent
  std::string detail;        // kTimeout / kError: what happened, for logs and events
  radius::Packet response;   // kAck / kNak: the answer as decoded
};

// Sends `session`'s identification plus `attributes` (ignored for a Disconnect-Request, which
// RFC 5176 §3.6 limits to identification) to `nas` and waits for the answer as described above.
CoaReply SendCoaRequest(CoaKind kind, const NasEndpoint& nas, const SessionIdentity& session,
                        const std::vector<radius::Attribute>& attributes,
                        const CoaOptions& options = {});

}  // namespace ryuryo::notify
