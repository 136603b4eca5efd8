// Fuzz target for the RADIUS codec (src/radius/packet.h, auth.h, dictionary.h): every UDP
// datagram that reaches the accounting and CoA ports is attacker-controlled bytes, and it is
// decoded and verified before anything checks the sender's secret.
//
// Whatever the input, Decode, the Verify functions and Describe must not crash, hang or throw,
// and what Decode accepts must be consistent:
//   - the header fields are the datagram's;
//   - Encode re-encodes it (or fails with ResourceExhausted only when splitting multi-attribute
//     Vendor-Specifics pushes it past 4096 octets), and Decode of that gives the same Packet;
//     when nothing had to be split, the octets are the datagram's up to its Length field;
//   - re-signed with EncodeRequest / EncodeResponse it verifies with the secret and not with
//     another one, and its Message-Authenticator (if any) checks as valid;
//   - Describe stays within kDescribeBytesMax.
// A broken invariant aborts, which libFuzzer (and the replay driver) report as a crash.
//
// Built two ways (see fuzz/README.md): with clang as a libFuzzer binary (`radius_fuzz`), and
// with any compiler together with replay_main.cc (`radius_fuzz_replay`, run by ctest).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"
#include "radius/access.h"
#include "radius/auth.h"
#include "radius/dictionary.h"
#include "radius/packet.h"
#include "radius/policy.h"

namespace {

namespace radius = ryuryo::radius;

constexpr std::string_view kSecret = "testing123";
constexpr std::string_view kOtherSecret = "testing124";

[[noreturn]] void Fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "radius_fuzz: invariant broken: %s %.*s\n", what,
               static_cast<int>(std::min<size_t>(detail.size(), 400)), detail.data());
  std::abort();
}

void Check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) Fail(what, detail);
}

// The size Encode should produce: one Vendor-Specific per vendor attribute.
size_t EncodedSize(const radius::Packet& p) {
  size_t size = radius::kRadiusHeaderBytes;
  for (const radius::Attribute& a : p.attributes) size += (a.vendor != 0 ? 8 : 2) + a.value.size();
  return size;
}

size_t CountMessageAuthenticators(const radius::Packet& p) {
  return static_cast<size_t>(
      std::count_if(p.attributes.begin(), p.attributes.end(), [](const radius::Attribute& a) {
        return a.vendor == 0 && a.type == radius::kMessageAuthenticatorType;
      }));
}

void CheckSigning(const radius::Packet& p) {
  if (CountMessageAuthenticators(p) > 1) return;  // refused by the encoders (tested elsewhere)
  std::string wire;
  const uint8_t code = p.code;
  if (code == radius::kAccountingRequest || code == radius::kCoaRequest ||
      code == radius::kDisconnectRequest) {
    ryuryo::Status st = radius::EncodeRequest(p, kSecret, &wire);
    Check(st.ok(), "EncodeRequest failed on an encodable request:", st.message());
    Check(radius::VerifyRequest(radius::AsBytes(wire), kSecret), "a signed request fails Verify");
    Check(!radius::VerifyRequest(radius::AsBytes(wire), kOtherSecret),
          "a signed request verifies with another secret");
    Check(radius::CheckMessageAuthenticator(radius::AsBytes(wire), kSecret,
                                            radius::Authenticator{}) !=
              radius::MessageAuthenticatorCheck::kInvalid,
          "the Message-Authenticator of a signed request is invalid");
  }
  ryuryo::Status st = radius::EncodeResponse(p, p.authenticator, kSecret, &wire);
  Check(st.ok(), "EncodeResponse failed on an encodable packet:", st.message());
  Check(radius::VerifyResponse(radius::AsBytes(wire), p.authenticator, kSecret),
        "a signed response fails VerifyResponse");
  Check(!radius::VerifyResponse(radius::AsBytes(wire), p.authenticator, kOtherSecret),
        "a signed response verifies with another secret");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> datagram(data, size);

  // The verifiers must cope with anything, decodable or not.
  (void)radius::VerifyAccountingRequest(datagram, kSecret);
  (void)radius::VerifyRequest(datagram, kSecret);
  (void)radius::VerifyResponse(datagram, radius::Authenticator{}, kSecret);
  (void)radius::CheckMessageAuthenticator(datagram, kSecret, radius::Authenticator{});

  // The Access-Request handler: anything in, and an answer only ever a well-formed
  // Access-Accept / Access-Reject to the request, signed with the secret.
  static const radius::RadiusPolicy policy = [] {
    radius::RadiusPolicy pol;
    radius::RadiusPolicyConfig config;
    config.throttled = radius::StatePolicyConfig{
        {"Filter-Id = throttled-{rate_kbps}k", "Mikrotik-Rate-Limit = {rate_kbps}k/{rate_kbps}k"},
        "Slowed down: {reason}"};
    if (!radius::ParseRadiusPolicy(config, &pol).ok()) Fail("the fuzz policy does not parse");
    return pol;
  }();
  for (int state = 0; state < 3; ++state) {
    radius::AccessResult r = radius::HandleAccessRequest(
        datagram, kSecret,
        [state](const radius::Packet&) -> std::optional<radius::LineFacts> {
          if (state == 0) return std::nullopt;
          radius::LineFacts f;
          f.line = "fuzz";
          f.plan = "p";
          f.state = state == 1 ? ryuryo::LineState::kThrottled : ryuryo::LineState::kBlocked;
          f.rate_bps = 128'000;
          f.reason = "quota";
          return f;
        },
        policy);
    if (r.response) {
      radius::Packet answer;
      Check(radius::Decode(radius::AsBytes(*r.response), &answer).ok(),
            "an Access answer does not decode");
      Check(answer.code == radius::kAccessAccept || answer.code == radius::kAccessReject,
            "an Access answer is neither Accept nor Reject");
      Check(size >= radius::kRadiusHeaderBytes && answer.identifier == data[1],
            "an Access answer has another Identifier");
      radius::Authenticator request_auth;
      std::copy(data + 4, data + 20, request_auth.begin());
      Check(radius::VerifyResponse(radius::AsBytes(*r.response), request_auth, kSecret),
            "an Access answer is not signed with the secret");
    }
  }

  radius::Packet p;
  ryuryo::Status st = radius::Decode(datagram, &p);
  if (!st.ok()) {
    Check(st.code() == ryuryo::Status::Code::kInvalidArgument && !st.message().empty(),
          "a decode error is not a described InvalidArgument:", st.ToString());
    return 0;
  }
  Check(size >= radius::kRadiusPacketBytesMin, "decoded a datagram shorter than 20 octets");
  const size_t length = (size_t{data[2]} << 8) | data[3];
  Check(length >= radius::kRadiusPacketBytesMin && length <= radius::kRadiusPacketBytesMax &&
            length <= size,
        "decoded a packet whose Length is out of bounds");
  Check(p.code == data[0] && p.identifier == data[1] &&
            std::equal(p.authenticator.begin(), p.authenticator.end(), data + 4),
        "the header fields differ from the datagram's");

  const std::string description = radius::Describe(p);
  Check(!description.empty() && description.size() <= radius::kDescribeBytesMax,
        "Describe is empty or too long");

  std::string wire;
  st = radius::Encode(p, &wire);
  const size_t expected_size = EncodedSize(p);
  if (!st.ok()) {
    Check(st.code() == ryuryo::Status::Code::kResourceExhausted &&
              expected_size > radius::kRadiusPacketBytesMax,
          "Encode refused a decoded packet:", st.ToString());
    return 0;
  }
  Check(wire.size() == expected_size, "Encode produced an unexpected size");
  if (wire.size() == length) {
    Check(wire == std::string_view(reinterpret_cast<const char*>(data), length),
          "re-encoding changed the octets of a packet with nothing to split");
  }
  radius::Packet back;
  st = radius::Decode(radius::AsBytes(wire), &back);
  Check(st.ok(), "Encode output does not decode:", st.ToString());
  Check(back == p, "the packet changed in the Encode/Decode round trip", description);
  std::string wire2;
  Check(radius::Encode(back, &wire2).ok() && wire2 == wire, "Encode is not deterministic");

  CheckSigning(p);
  return 0;
}
