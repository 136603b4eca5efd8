#include "radius/dictionary.h"

#include <cstdio>
#include <string>
#include <string_view>

namespace ryuryo::radius {
namespace {

struct Entry {
  uint8_t type;
  AttributeInfo info;
};

constexpr Entry kStandard[] = {
    {kUserName, {"User-Name", ValueKind::kText}},
    {kNasIpAddress, {"NAS-IP-Address", ValueKind::kIpv4}},
    {kNasPort, {"NAS-Port", ValueKind::kInteger}},
    {kServiceType, {"Service-Type", ValueKind::kInteger}},
    {kFramedIpAddress, {"Framed-IP-Address", ValueKind::kIpv4}},
    {kFilterId, {"Filter-Id", ValueKind::kText}},
    {kReplyMessage, {"Reply-Message", ValueKind::kText}},
    {kClass, {"Class", ValueKind::kOctets}},
    {kVendorSpecific, {"Vendor-Specific", ValueKind::kOctets}},
    {kSessionTimeout, {"Session-Timeout", ValueKind::kInteger}},
    {kCalledStationId, {"Called-Station-Id", ValueKind::kText}},
    {kCallingStationId, {"Calling-Station-Id", ValueKind::kText}},
    {kNasIdentifier, {"NAS-Identifier", ValueKind::kText}},
    {kAcctStatusType, {"Acct-Status-Type", ValueKind::kInteger}},
    {kAcctDelayTime, {"Acct-Delay-Time", ValueKind::kInteger}},
    {kAcctInputOctets, {"Acct-Input-Octets", ValueKind::kInteger}},
    {kAcctOutputOctets, {"Acct-Output-Octets", ValueKind::kInteger}},
    {kAcctSessionId, {"Acct-Session-Id", ValueKind::kText}},
    {kAcctSessionTime, {"Acct-Session-Time", ValueKind::kInteger}},
    {kAcctInputPackets, {"Acct-Input-Packets", ValueKind::kInteger}},
    {kAcctOutputPackets, {"Acct-Output-Packets", ValueKind::kInteger}},
    {kAcctTerminateCause, {"Acct-Terminate-Cause", ValueKind::kInteger}},
    {kAcctMultiSessionId, {"Acct-Multi-Session-Id", ValueKind::kText}},
    {kAcctInputGigawords, {"Acct-Input-Gigawords", ValueKind::kInteger}},
    {kAcctOutputGigawords, {"Acct-Output-Gigawords", ValueKind::kInteger}},
    {kEventTimestamp, {"Event-Timestamp", ValueKind::kDate}},
    {kNasPortType, {"NAS-Port-Type", ValueKind::kInteger}},
    {kMessageAuthenticator, {"Message-Authenticator", ValueKind::kOctets}},
    {kAcctInterimInterval, {"Acct-Interim-Interval", ValueKind::kInteger}},
    {kErrorCause, {"Error-Cause", ValueKind::kInteger}},
};

constexpr Entry k3gpp[] = {
    {k3gppImsi, {"3GPP-IMSI", ValueKind::kText}},
    {k3gppChargingId, {"3GPP-Charging-ID", ValueKind::kInteger}},
    {k3gppPdpType, {"3GPP-PDP-Type", ValueKind::kInteger}},
    {k3gppSgsnAddress, {"3GPP-SGSN-Address", ValueKind::kIpv4}},
    {k3gppGgsnAddress, {"3GPP-GGSN-Address", ValueKind::kIpv4}},
    {k3gppImsiMccMnc, {"3GPP-IMSI-MCC-MNC", ValueKind::kText}},
    {k3gppNsapi, {"3GPP-NSAPI", ValueKind::kText}},
    {k3gppSelectionMode, {"3GPP-Selection-Mode", ValueKind::kText}},
    {k3gppChargingCharacteristics, {"3GPP-Charging-Characteristics", ValueKind::kText}},
    {k3gppImeisv, {"3GPP-IMEISV", ValueKind::kText}},
    {k3gppRatType, {"3GPP-RAT-Type", ValueKind::kByte}},
    {k3gppUserLocationInfo, {"3GPP-User-Location-Info", ValueKind::kOctets}},
    {k3gppMsTimeZone, {"3GPP-MS-Time-Zone", ValueKind::kOctets}},
};

template <size_t N>
const AttributeInfo* Lookup(const Entry (&table)[N], uint8_t type) {
  for (const Entry& e : table) {
    if (e.type == type) return &e.info;
  }
  return nullptr;
}

void AppendHex(std::string* out, std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->append("0x");
  for (unsigned char c : bytes) {
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 15]);
  }
}

void AppendQuoted(std::string* out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      out->append("\\x");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

void AppendValue(std::string* out, const Attribute& a, ValueKind kind) {
  uint32_t u32 = 0;
  uint8_t u8 = 0;
  switch (kind) {
    case ValueKind::kText:
      AppendQuoted(out, a.value);
      return;
    case ValueKind::kInteger:
    case ValueKind::kDate:
      if (GetUint32(a, &u32)) {
        out->append(std::to_string(u32));
        return;
      }
      break;
    case ValueKind::kIpv4:
      if (GetIpv4(a, &u32)) {
        out->append(Ipv4ToString(u32));
        return;
      }
      break;
    case ValueKind::kByte:
      if (GetUint8(a, &u8)) {
        out->append(std::to_string(u8));
        return;
      }
      break;
    case ValueKind::kOctets:
      break;
  }
  AppendHex(out, a.value);  // octets, or a value of the wrong size for its kind
}

}  // namespace

const AttributeInfo* LookupAttribute(uint8_t type) { return Lookup(kStandard, type); }

const AttributeInfo* LookupVendorAttribute(uint32_t vendor, uint8_t vendor_type) {
  if (vendor == kVendor3gpp) return Lookup(k3gpp, vendor_type);
  return nullptr;
}

std::string Describe(const Packet& packet) {
  std::string out = CodeName(packet.code) + " id=" + std::to_string(packet.identifier);
  for (const Attribute& a : packet.attributes) {
    if (out.size() > kDescribeBytesMax) break;
    out.push_back(' ');
    const AttributeInfo* info =
        a.vendor == 0 ? LookupAttribute(a.type) : LookupVendorAttribute(a.vendor, a.vendor_type);
    if (info != nullptr) {
      out.append(info->name);
    } else if (a.vendor == 0) {
      out.append("Attr-" + std::to_string(a.type));
    } else {
      out.append("Vendor-" + std::to_string(a.vendor) + "-Attr-" + std::to_string(a.vendor_type));
    }
    out.push_back('=');
    AppendValue(&out, a, info != nullptr ? info->kind : ValueKind::kOctets);
  }
  if (out.size() > kDescribeBytesMax) {
    out.resize(kDescribeBytesMax - 3);
    out.append("...");
  }
  return out;
}

}  // namespace ryuryo::radius
