// The RADIUS attributes ryuryo reads and writes (RFC 2865, 2866, 2869, 3579, 3576/5176) and the
// 3GPP ones (TS 29.061 §16.4.7, vendor 10415), with the numbers of FreeRADIUS's dictionaries
// (dictionary.rfc2865, .rfc2866, .rfc2869, .rfc3576, .rfc3579, .3gpp), and Describe, which
// prints a packet by attribute name for logs.
//
// Thread-safety: constants and pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "radius/packet.h"

namespace ryuryo::radius {

// Standard attributes.
inline constexpr uint8_t kUserName = 1;
inline constexpr uint8_t kNasIpAddress = 4;
inline constexpr uint8_t kNasPort = 5;
inline constexpr uint8_t kServiceType = 6;
inline constexpr uint8_t kFramedIpAddress = 8;
inline constexpr uint8_t kFilterId = 11;
inline constexpr uint8_t kReplyMessage = 18;
inline constexpr uint8_t kClass = 25;
inline constexpr uint8_t kVendorSpecific = kVendorSpecificType;  // 26
inline constexpr uint8_t kSessionTimeout = 27;
inline constexpr uint8_t kCalledStationId = 30;
inline constexpr uint8_t kCallingStationId = 31;
inline constexpr uint8_t kNasIdentifier = 32;
inline constexpr uint8_t kAcctStatusType = 40;
inline constexpr uint8_t kAcctDelayTime = 41;
inline constexpr uint8_t kAcctInputOctets = 42;
inline constexpr uint8_t kAcctOutputOctets = 43;
inline constexpr uint8_t kAcctSessionId = 44;
inline constexpr uint8_t kAcctSessionTime = 46;
inline constexpr uint8_t kAcctInputPackets = 47;
inline constexpr uint8_t kAcctOutputPackets = 48;
inline constexpr uint8_t kAcctTerminateCause = 49;
inline constexpr uint8_t kAcctMultiSessionId = 50;
inline constexpr uint8_t kAcctInputGigawords = 52;
inline constexpr uint8_t kAcctOutputGigawords = 53;
inline constexpr uint8_t kEventTimestamp = 55;
inline constexpr uint8_t kNasPortType = 61;
inline constexpr uint8_t kMessageAuthenticator = kMessageAuthenticatorType;  // 80
inline constexpr uint8_t kAcctInterimInterval = 85;
inline constexpr uint8_t kErrorCause = 101;

// Acct-Status-Type values (RFC 2866 §5.1).
inline constexpr uint32_t kAcctStatusStart = 1;
inline constexpr uint32_t kAcctStatusStop = 2;
inline constexpr uint32_t kAcctStatusInterimUpdate = 3;
inline constexpr uint32_t kAcctStatusAccountingOn = 7;
inline constexpr uint32_t kAcctStatusAccountingOff = 8;

// 3GPP vendor attributes (vendor 10415).
inline constexpr uint32_t kVendor3gpp = 10415;
inline constexpr uint8_t k3gppImsi = 1;
inline constexpr uint8_t k3gppChargingId = 2;
inline constexpr uint8_t k3gppPdpType = 3;
inline constexpr uint8_t k3gppSgsnAddress = 6;
inline constexpr uint8_t k3gppGgsnAddress = 7;
inline constexpr uint8_t k3gppImsiMccMnc = 8;
inline constexpr uint8_t k3gppNsapi = 10;
inline constexpr uint8_t k3gppSelectionMode = 12;
inline constexpr uint8_t k3gppChargingCharacteristics = 13;
inline constexpr uint8_t k3gppImeisv = 20;
inline constexpr uint8_t k3gppRatType = 21;
inline constexpr uint8_t k3gppUserLocationInfo = 22;
inline constexpr uint8_t k3gppMsTimeZone = 23;

// How a value is printed.
enum class ValueKind { kOctets, kText, kInteger, kIpv4, kByte, kDate };

struct AttributeInfo {
  const char* name;  // FreeRADIUS's name ("Acct-Input-Octets", "3GPP-IMSI")
  ValueKind kind;
};

// The name and kind of an attribute, or nullptr when it is not in the tables above.
const AttributeInfo* LookupAttribute(uint8_t type);
const AttributeInfo* LookupVendorAttribute(uint32_t vendor, uint8_t vendor_type);

// Longest string Describe returns (longer output ends in "...").
inline constexpr size_t kDescribeBytesMax = 8192;

// One line for logs: `Accounting-Request id=7 User-Name="4401..." Acct-Input-Octets=123
// 3GPP-IMSI="4401..." Attr-99=0x0102 Vendor-9-Attr-1=0x41`. Text is printed with non-printable
// bytes escaped (\xNN), so the line is safe to log whatever the packet holds.
std::string Describe(const Packet& packet);

}  // namespace ryuryo::radius
