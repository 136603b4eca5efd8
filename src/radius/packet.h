// RADIUS packets (RFC 2865 §3 and §5, RFC 2866, RFC 5176): decoding datagrams into a Packet and
// encoding a Packet into a datagram. Pure: no sockets, no clock, no secrets (authenticators are
// in radius/auth.h).
//
// Decode never crashes, throws or reads outside the datagram, whatever the bytes; a malformed
// datagram yields an InvalidArgument Status naming the byte offset of the fault. Bytes after the
// packet's Length field are ignored (RFC 2865 §3: "Octets outside the range of the Length field
// MUST be treated as padding and ignored").
//
// Vendor-Specific attributes (26) are split into one Attribute per sub-attribute, with `vendor`
// and `vendor_type` set and `type` == 26. Vendors are assumed to use the RFC 2865 §5.26
// recommended sub-attribute format (one-octet type, one-octet length), which 3GPP (10415) uses;
// a malformed sub-attribute is an error. The few vendors known to use another format (USR,
// Lucent, Starent), and the reserved vendor id 0, are kept undecoded: one Attribute with
// type 26, vendor 0 and the whole attribute value (vendor id included) in `value`.
//
// Thread-safety: plain values and pure functions; safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace ryuryo::radius {

// Limits (RFC 2865 §3).
inline constexpr size_t kRadiusHeaderBytes = 20;
inline constexpr size_t kRadiusPacketBytesMin = 20;
inline constexpr size_t kRadiusPacketBytesMax = 4096;
inline constexpr size_t kRadiusAttributeBytesMax = 255;       // type + length + value
inline constexpr size_t kRadiusAttributeValueBytesMax = 253;  // value of a standard attribute
// Value of a vendor sub-attribute: 255 - 2 (type, length) - 4 (vendor id) - 2 (vendor type, len).
inline constexpr size_t kRadiusVendorValueBytesMax = 247;
inline constexpr size_t kRadiusAuthenticatorBytes = 16;

// Packet codes (RFC 2865 §3, RFC 2866 §3, RFC 5176 §2.3).
inline constexpr uint8_t kAccessRequest = 1;
inline constexpr uint8_t kAccessAccept = 2;
inline constexpr uint8_t kAccessReject = 3;
inline constexpr uint8_t kAccountingRequest = 4;
inline constexpr uint8_t kAccountingResponse = 5;
inline constexpr uint8_t kAccessChallenge = 11;
inline constexpr uint8_t kStatusServer = 12;
inline constexpr uint8_t kDisconnectRequest = 40;
inline constexpr uint8_t kDisconnectAck = 41;
inline constexpr uint8_t kDisconnectNak = 42;
inline constexpr uint8_t kCoaRequest = 43;
inline constexpr uint8_t kCoaAck = 44;
inline constexpr uint8_t kCoaNak = 45;

// The attribute type that carries vendor attributes.
inline constexpr uint8_t kVendorSpecificType = 26;
// Message-Authenticator (RFC 3579 §3.2); its value is always 16 octets.
inline constexpr uint8_t kMessageAuthenticatorType = 80;

struct Attribute {
  uint8_t type = 0;         // 26 for vendor attributes
  uint32_t vendor = 0;      // 0: a standard attribute (or an undecoded Vendor-Specific)
  uint8_t vendor_type = 0;  // the sub-attribute type when vendor != 0
  std::string value;        // raw octets, network byte order for integers and addresses

  bool operator==(const Attribute&) const = default;
};

struct Packet {
  uint8_t code = 0;
  uint8_t identifier = 0;
  std::array<uint8_t, kRadiusAuthenticatorBytes> authenticator{};
  std::vector<Attribute> attributes;  // in wire order

  bool operator==(const Packet&) const = default;
};

// "Accounting-Request", or "Code-99" for codes not listed above.
std::string CodeName(uint8_t code);

// Decodes one datagram. On error `packet` is left in an unspecified state.
Status Decode(std::span<const uint8_t> datagram, Packet* packet);

// Encodes `packet` with its authenticator as it is (radius/auth.h fills it in). Fails when an
// attribute value is too long for one attribute (no splitting: our own packets never need it),
// when a vendor attribute does not have type 26, or when the packet exceeds
// kRadiusPacketBytesMax. Each vendor attribute becomes its own Vendor-Specific attribute.
Status Encode(const Packet& packet, std::string* datagram);

// The first attribute of a type, or nullptr. Find looks only at standard attributes (vendor 0).
const Attribute* Find(const Packet& packet, uint8_t type);
const Attribute* FindVendor(const Packet& packet, uint32_t vendor, uint8_t vendor_type);

// Typed views of a value; false when the value has the wrong size.
bool GetUint32(const Attribute& attribute, uint32_t* value);
bool GetUint8(const Attribute& attribute, uint8_t* value);  // 3GPP "byte" attributes
// IPv4 address in host byte order (10.64.0.1 -> 0x0A400001).
bool GetIpv4(const Attribute& attribute, uint32_t* address);
// The value as text. RFC 2865 "text" is UTF-8 but NASes send anything: bytes are returned as is.
std::string_view GetText(const Attribute& attribute);
// "10.64.0.1".
std::string Ipv4ToString(uint32_t address);

// Builders.
Attribute Uint32Attribute(uint8_t type, uint32_t value);
Attribute StringAttribute(uint8_t type, std::string_view value);
Attribute Ipv4Attribute(uint8_t type, uint32_t address);  // host byte order
Attribute VendorUint32Attribute(uint32_t vendor, uint8_t vendor_type, uint32_t value);
Attribute VendorStringAttribute(uint32_t vendor, uint8_t vendor_type, std::string_view value);

// Conversions between the byte strings used for datagrams and spans.
inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace ryuryo::radius
