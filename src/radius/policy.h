// RADIUS policy per line state: the attributes ryuryo returns in an Access-Accept for a line in a
// given state (normal, throttled, blocked), and sends in the CoA-Request that moves a live
// session into that state (notify/enforcement.h). Configured as, per state, a list of
// "Name = value" strings and an optional Reply-Message:
//
//   [radius.policy.normal]
//   attributes = ["Filter-Id = normal"]
//   [radius.policy.throttled]
//   attributes = ["Filter-Id = throttled", "Mikrotik-Rate-Limit = {rate_kbps}k/{rate_kbps}k"]
//   [radius.policy.blocked]
//   reply_message = "Data limit reached. Top up at https://example.net/topup"
//
// Names (case-insensitive), with FreeRADIUS's spelling and types:
//   Filter-Id, Reply-Message, Class, Session-Timeout, Idle-Timeout, Acct-Interim-Interval,
//   Framed-Pool, NAS-Filter-Rule; every 3GPP attribute of radius/dictionary.h (vendor 10415)
//   and 3GPP-GPRS-Negotiated-QoS-Profile; Mikrotik-Rate-Limit, Mikrotik-Address-List (14988);
//   WISPr-Bandwidth-Max-Up, WISPr-Bandwidth-Max-Down, WISPr-Redirection-URL (14122);
//   Cisco-AVPair (9); and any vendor attribute as "Vendor-Specific:<vendor>:<type>" or
//   "26.<vendor>.<type>" (vendor 1..16777215, type 1..255).
// Values: text as written, bare or in double quotes (\" and \\ escape inside quotes); integers
// in decimal (0..4294967295; 0..255 for 3GPP byte attributes); IPv4 dotted quads; octets as
// 0x-prefixed hex or text. A generic vendor attribute takes its type from the value: quoted is
// text, 0x... is octets, digits (or one numeric placeholder alone) a 4-octet integer, a dotted
// quad IPv4, anything else text. The operator may be "=" or ":=".
//
// Placeholders, filled per line from LineFacts: {line}, {plan}, {state}, {reason} (text), and
// {rate_bps}, {rate_kbps} (rate_bps / 1000, rounded down), {remaining_bytes} (numbers). "{{" and
// "}}" are literal braces. An integer attribute's value may be one numeric placeholder alone; a
// number beyond 4294967295 is sent as 4294967295. A filled text longer than one attribute holds
// is cut at a UTF-8 character boundary.
//
// Defaults (a state with no [radius.policy.<state>] table):
//   normal     no attributes: the NAS's own defaults apply.
//   throttled  Filter-Id = "throttled" (the NAS maps the filter name to its rate limit).
//   blocked    no attributes and Reply-Message "Data limit reached".
// A blocked state with no attributes *refuses* the line: Access-Reject with the Reply-Message,
// Disconnect-Request for live sessions. Configuring attributes for blocked instead admits the
// line with them (a walled garden that only reaches the top-up page) and uses CoA for it.
//
// Thread-safety: const methods are safe from any thread; copies are cheap and share the parsed
// templates. SetState must not run concurrently with other calls on the same object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/meter.h"
#include "core/status.h"
#include "radius/packet.h"

namespace ryuryo::radius {

// What the policy needs to know about a line; the caller fills it from the meter.
struct LineFacts {
  std::string line;  // line id
  std::string plan;  // plan id
  LineState state = LineState::kNormal;
  uint64_t rate_bps = 0;         // the throttle rate when throttled, else 0
  uint64_t remaining_bytes = 0;  // left in the cycle (0 on unlimited plans)
  std::string reason;            // why the line is not normal: "quota", "fair_use", "expired"
};

// Limits per state.
inline constexpr size_t kPolicyAttributesMax = 16;
inline constexpr size_t kPolicyEntryBytesMax = 1024;         // one "Name = value" string
inline constexpr size_t kPolicyReplyMessageBytesMax = 1012;  // four Reply-Message attributes
// Encoded size of one state's attributes at most (placeholders counted as filling their
// attribute), so that session identification and Proxy-State still fit in a packet.
inline constexpr size_t kPolicyEncodedBytesMax = 2048;

// One state's configuration as written.
struct StatePolicyConfig {
  std::vector<std::string> attributes;  // "Name = value"
  std::string reply_message;            // may hold placeholders; empty: none
};

// The [radius.policy.*] tables; a state without one (nullopt) keeps its default, a present but
// empty one has no attributes and no Reply-Message.
struct RadiusPolicyConfig {
  std::optional<StatePolicyConfig> normal;
  std::optional<StatePolicyConfig> throttled;
  std::optional<StatePolicyConfig> blocked;
};

class RadiusPolicy {
 public:
  // The defaults above.
  RadiusPolicy();

  // Replaces one state's attributes and Reply-Message. On error the policy is unchanged and the
  // message names the offending string: `attributes[1] "Mikrotik-Rate-Limit = {rate}k": unknown
  // placeholder {rate}`.
  Status SetState(LineState state, const std::vector<std::string>& attributes,
                  std::string_view reply_message);

  // The attributes for a line in `state`, placeholders filled from `facts`, in the configured
  // order, then the Reply-Message (split into several attributes when longer than one holds).
  std::vector<Attribute> AttributesFor(LineState state, const LineFacts& facts) const;

  // The state's Reply-Message with placeholders filled; empty when it has none.
  std::string ReplyMessageFor(LineState state, const LineFacts& facts) const;

  // True when `state` refuses the line (blocked with no attributes: Access-Reject, Disconnect).
  bool Refuses(LineState state) const;

  // True when `state` has attributes other than the Reply-Message.
  bool HasAttributes(LineState state) const;

  struct Impl;  // the parsed templates (policy.cc)

 private:
  std::shared_ptr<const Impl> impl_;  // shared by copies: a policy is immutable once set up
};

// Applies every configured state of `config` to `policy` (which starts from the defaults);
// errors are prefixed with "radius.policy.<state>".
Status ParseRadiusPolicy(const RadiusPolicyConfig& config, RadiusPolicy* policy);

// Reply-Message attributes for `text`: as many as it takes, each cut at a UTF-8 character
// boundary, the whole cut to kPolicyReplyMessageBytesMax; none for an empty text.
std::vector<Attribute> ReplyMessageAttributes(std::string_view text);

// Parses one "Name = value" string into an attribute, with placeholders filled from `facts`
// (exposed for tests and tools; SetState validates with it).
Status ParsePolicyAttribute(std::string_view entry, const LineFacts& facts, Attribute* attribute);

}  // namespace ryuryo::radius
