// RADIUS authenticators: the MD5 Request and Response Authenticators of RFC 2865 §3,
// RFC 2866 §3 and RFC 5176 §2.3, and the HMAC-MD5 Message-Authenticator of RFC 3579 §3.2.
// Uses OpenSSL's MD5 (still in OpenSSL 3's default provider). Comparisons are constant-time.
//
//   Request Authenticator (Accounting-, CoA-, Disconnect-Request):
//       MD5(Code + Identifier + Length + 16 zero octets + Attributes + Secret)
//   Response Authenticator (any reply):
//       MD5(Code + Identifier + Length + Request Authenticator + Attributes + Secret)
//   Message-Authenticator (attribute 80): HMAC-MD5 keyed with the secret over the whole packet
//       with its own value zeroed and the Authenticator field holding: the packet's own
//       (random) authenticator in an Access-Request or Status-Server; 16 zero octets in an
//       Accounting-, CoA- or Disconnect-Request; the Request Authenticator in a reply.
//       It is computed before the MD5 authenticator, which then covers it.
//
// The Verify functions take a whole datagram (extra octets after the Length field are ignored)
// and return false for anything malformed; they never crash on any input. A datagram with a
// Message-Authenticator passes only when that one is right too; a datagram with two fails.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"
#include "radius/packet.h"

namespace ryuryo::radius {

using Authenticator = std::array<uint8_t, kRadiusAuthenticatorBytes>;

// Encodes a request and fills in its authenticators. For Accounting-, CoA- and
// Disconnect-Request the Request Authenticator is computed; for Access-Request and
// Status-Server the packet's own authenticator is kept (the caller puts 16 random octets there).
// A Message-Authenticator attribute in the packet (any 16-octet value) is computed.
Status EncodeRequest(const Packet& request, std::string_view secret, std::string* datagram);

// Encodes a reply (Accounting-Response, Access-Accept, CoA-ACK, ...) to a request whose
// authenticator was `request_authenticator`: computes the Message-Authenticator when the reply
// carries one, then the Response Authenticator.
Status EncodeResponse(const Packet& response, const Authenticator& request_authenticator,
                      std::string_view secret, std::string* datagram);

// An Accounting-Request (code 4) whose Request Authenticator is right for `secret`.
bool VerifyAccountingRequest(std::span<const uint8_t> datagram, std::string_view secret);

// An Accounting-, CoA- or Disconnect-Request whose Request Authenticator is right.
bool VerifyRequest(std::span<const uint8_t> datagram, std::string_view secret);

// A reply (to a request that had `request_authenticator`) whose Response Authenticator is right:
// for us, the CoA-ACK/NAK or Disconnect-ACK/NAK from a NAS.
bool VerifyResponse(std::span<const uint8_t> datagram, const Authenticator& request_authenticator,
                    std::string_view secret);

enum class MessageAuthenticatorCheck {
  kAbsent,   // the packet has no Message-Authenticator
  kValid,    // it has exactly one, 16 octets, and it is right
  kInvalid,  // wrong value, wrong length, more than one, or a malformed packet
};

// Checks the Message-Authenticator with `header_authenticator` in the Authenticator field
// (see above: the packet's own for Access-Request, zeros for accounting/CoA/Disconnect requests,
// the Request Authenticator for replies).
MessageAuthenticatorCheck CheckMessageAuthenticator(std::span<const uint8_t> datagram,
                                                    std::string_view secret,
                                                    const Authenticator& header_authenticator);

// MD5 of (datagram up to Length, with `header_authenticator` in the Authenticator field) +
// secret: the Request Authenticator (zeros) or Response Authenticator (request's) of a packet.
// The datagram must be at least 20 octets with a Length field within it.
Authenticator ComputeAuthenticator(std::span<const uint8_t> datagram,
                                   const Authenticator& header_authenticator,
                                   std::string_view secret);

}  // namespace ryuryo::radius
