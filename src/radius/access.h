// Access-Request handling (RFC 2865, RFC 3579): ryuryo as the authorisation server a NAS asks
// when a session starts. Pure: datagram in, datagram (or nothing) out; the caller owns the
// socket, finds the client's secret by source address, and counts the outcomes.
//
// ryuryo authorises, it does not authenticate: the SIM was authenticated by the mobile core
// before the NAS asks, so User-Password / CHAP-Password are not checked. The answer depends on the
// line the request names (the caller's lookup reads 3GPP-IMSI, Calling-Station-Id or User-Name)
// and on its state:
//   unknown line               Access-Reject, Reply-Message = options.unknown_message
//   refused (blocked, default) Access-Reject, Reply-Message = the blocked policy's message
//   otherwise                  Access-Accept with the policy's attributes for the line's state
// Every answer carries a Message-Authenticator as its first attribute (RFC 3579 §3.2; it also
// defeats the Blast-RADIUS forgery of responses) and copies the request's Proxy-State attributes
// in order (RFC 2865 §5.33).
//
// Dropped without an answer (RFC 2865 §3, RFC 3579 §3.2): a datagram that does not decode, any
// code other than Access-Request, a wrong Message-Authenticator, an EAP-Message without a
// Message-Authenticator, and no Message-Authenticator at all when the options require one.
// A request with EAP-Message (and a right Message-Authenticator) is answered Access-Reject with
// EAP-Failure: ryuryo does not run EAP methods.
//
// Never crashes, throws or reads out of bounds, whatever the bytes.
//
// Thread-safety: a pure function; safe from any thread if `lookup` is.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "radius/packet.h"
#include "radius/policy.h"

namespace ryuryo::radius {

enum class AccessOutcome : uint8_t {
  kAccepted,                     // Access-Accept
  kRejectedBlocked,              // Access-Reject: the line is refused in its state
  kRejectedUnknown,              // Access-Reject: no line matched
  kRejectedEap,                  // Access-Reject with EAP-Failure
  kDroppedMalformed,             // not a RADIUS packet
  kDroppedNotAccessRequest,      // another code
  kDroppedBadAuthenticator,      // the Message-Authenticator is wrong (or duplicated)
  kDroppedMissingAuthenticator,  // required (EAP-Message, or by the options) but absent
  kDroppedResponseTooLarge,      // the answer would not fit in a packet (Proxy-State flood)
};
inline constexpr int kAccessOutcomeCount = 9;

// "accepted", "rejected_blocked", ..., for metric labels.
const char* AccessOutcomeName(AccessOutcome outcome);

struct AccessResult {
  AccessOutcome outcome = AccessOutcome::kDroppedMalformed;
  std::optional<std::string> response;  // the datagram to send back; none: drop silently
  std::optional<LineFacts> facts;       // the line, when the lookup found one
  std::string detail;                   // for logs: why it was dropped
};

// Finds the line an Access-Request is for (by 3GPP-IMSI, Calling-Station-Id, User-Name, ...);
// nullopt when none matches.
using LineLookup = std::function<std::optional<LineFacts>(const Packet& request)>;

struct AccessOptions {
  std::string unknown_message = "Unknown subscriber";
  // Drop requests without a Message-Authenticator (FreeRADIUS's require_message_authenticator;
  // turn on for NASes that send one, as every current one can).
  bool require_message_authenticator = false;
};

AccessResult HandleAccessRequest(std::span<const uint8_t> datagram, std::string_view secret,
                                 const LineLookup& lookup, const RadiusPolicy& policy,
                                 const AccessOptions& options = {});

}  // namespace ryuryo::radius
