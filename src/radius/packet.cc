#include "radius/packet.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace ryuryo::radius {
namespace {

// Vendors whose Vendor-Specific attributes do not use the RFC 2865 §5.26 format (FreeRADIUS
// dictionary "format=" flags): kept undecoded.
constexpr uint32_t kVendorUsr = 429;       // 4-octet type, no length
constexpr uint32_t kVendorLucent = 4846;   // 2-octet type, 1-octet length
constexpr uint32_t kVendorStarent = 8164;  // 2-octet type, 2-octet length

bool IsStandardFormatVendor(uint32_t vendor) {
  return vendor != 0 && vendor != kVendorUsr && vendor != kVendorLucent && vendor != kVendorStarent;
}

uint32_t ReadU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void AppendU32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

std::string At(size_t offset) { return "at offset " + std::to_string(offset); }

// Splits the value of a Vendor-Specific attribute that starts at `offset` of the datagram.
Status DecodeVendorSpecific(const uint8_t* value, size_t size, size_t offset,
                            std::vector<Attribute>* out) {
  if (size < 4) {
    return Status::InvalidArgument("Vendor-Specific " + At(offset) + ": " + std::to_string(size) +
                                   " octets, too short for a vendor id");
  }
  const uint32_t vendor = ReadU32(value);
  if (!IsStandardFormatVendor(vendor)) {
    out->push_back(Attribute{kVendorSpecificType, 0, 0,
                             std::string(reinterpret_cast<const char*>(value), size)});
    return Status::Ok();
  }
  if (size < 6) {
    return Status::InvalidArgument("Vendor-Specific " + At(offset) + ": vendor " +
                                   std::to_string(vendor) + " with no sub-attribute");
  }
  size_t pos = 4;
  while (pos < size) {
    const size_t sub_offset = offset + 2 + pos;
    if (size - pos < 2) {
      return Status::InvalidArgument("vendor sub-attribute " + At(sub_offset) +
                                     ": truncated header");
    }
    const uint8_t sub_type = value[pos];
    const size_t sub_len = value[pos + 1];
    if (sub_len < 2) {
      return Status::InvalidArgument("vendor sub-attribute " + At(sub_offset) + ": length " +
                                     std::to_string(sub_len) + " is below 2");
    }
    if (sub_len > size - pos) {
      return Status::InvalidArgument("vendor sub-attribute " + At(sub_offset) + ": length " +
                                     std::to_string(sub_len) +
                                     " runs past the end of the Vendor-Specific attribute");
    }
    out->push_back(
        Attribute{kVendorSpecificType, vendor, sub_type,
                  std::string(reinterpret_cast<const char*>(value + pos + 2), sub_len - 2)});
    pos += sub_len;
  }
  return Status::Ok();
}

}  // namespace

std::string CodeName(uint8_t code) {
  switch (code) {
    case kAccessRequest:
      return "Access-Request";
    case kAccessAccept:
      return "Access-Accept";
    case kAccessReject:
      return "Access-Reject";
    case kAccountingRequest:
      return "Accounting-Request";
    case kAccountingResponse:
      return "Accounting-Response";
    case kAccessChallenge:
      return "Access-Challenge";
    case kStatusServer:
      return "Status-Server";
    case kDisconnectRequest:
      return "Disconnect-Request";
    case kDisconnectAck:
      return "Disconnect-ACK";
    case kDisconnectNak:
      return "Disconnect-NAK";
    case kCoaRequest:
      return "CoA-Request";
    case kCoaAck:
      return "CoA-ACK";
    case kCoaNak:
      return "CoA-NAK";
  }
  return "Code-" + std::to_string(code);
}

Status Decode(std::span<const uint8_t> datagram, Packet* packet) {
  if (datagram.size() < kRadiusPacketBytesMin) {
    return Status::InvalidArgument("datagram of " + std::to_string(datagram.size()) +
                                   " octets; a RADIUS packet has at least 20");
  }
  const uint8_t* d = datagram.data();
  const size_t length = (size_t{d[2]} << 8) | d[3];
  if (length < kRadiusPacketBytesMin || length > kRadiusPacketBytesMax) {
    return Status::InvalidArgument("Length field " + std::to_string(length) +
                                   " is outside 20..4096");
  }
  if (length > datagram.size()) {
    return Status::InvalidArgument("Length field " + std::to_string(length) +
                                   " exceeds the datagram's " + std::to_string(datagram.size()) +
                                   " octets");
  }
  packet->code = d[0];
  packet->identifier = d[1];
  std::copy(d + 4, d + 4 + kRadiusAuthenticatorBytes, packet->authenticator.begin());
  packet->attributes.clear();

  size_t pos = kRadiusHeaderBytes;
  while (pos < length) {
    if (length - pos < 2) {
      return Status::InvalidArgument("attribute " + At(pos) + ": truncated header");
    }
    const uint8_t type = d[pos];
    const size_t attr_len = d[pos + 1];
    if (attr_len < 2) {
      return Status::InvalidArgument("attribute " + std::to_string(type) + " " + At(pos) +
                                     ": length " + std::to_string(attr_len) + " is below 2");
    }
    if (attr_len > length - pos) {
      return Status::InvalidArgument("attribute " + std::to_string(type) + " " + At(pos) +
                                     ": length " + std::to_string(attr_len) +
                                     " runs past the end of the packet");
    }
    const uint8_t* value = d + pos + 2;
    const size_t value_len = attr_len - 2;
    if (type == kVendorSpecificType) {
      RYURYO_RETURN_IF_ERROR(DecodeVendorSpecific(value, value_len, pos, &packet->attributes));
    } else {
      if (type == kMessageAuthenticatorType && value_len != kRadiusAuthenticatorBytes) {
        return Status::InvalidArgument("Message-Authenticator " + At(pos) + ": " +
                                       std::to_string(value_len) + " octets, must be 16");
      }
      packet->attributes.push_back(
          Attribute{type, 0, 0, std::string(reinterpret_cast<const char*>(value), value_len)});
    }
    pos += attr_len;
  }
  return Status::Ok();
}

Status Encode(const Packet& packet, std::string* datagram) {
  std::string out;
  out.reserve(kRadiusHeaderBytes + packet.attributes.size() * 8);
  out.push_back(static_cast<char>(packet.code));
  out.push_back(static_cast<char>(packet.identifier));
  out.append(2, '\0');  // Length, filled in below
  out.append(reinterpret_cast<const char*>(packet.authenticator.data()),
             packet.authenticator.size());
  for (size_t i = 0; i < packet.attributes.size(); ++i) {
    const Attribute& a = packet.attributes[i];
    const std::string where =
        "attribute #" + std::to_string(i) + " (type " + std::to_string(a.type) + ")";
    if (a.vendor != 0) {
      if (a.type != kVendorSpecificType) {
        return Status::InvalidArgument(where + ": a vendor attribute must have type 26");
      }
      if (a.value.size() > kRadiusVendorValueBytesMax) {
        return Status::InvalidArgument(where + ": vendor value of " +
                                       std::to_string(a.value.size()) + " octets; at most 247 fit");
      }
      out.push_back(static_cast<char>(kVendorSpecificType));
      out.push_back(static_cast<char>(2 + 4 + 2 + a.value.size()));
      AppendU32(&out, a.vendor);
      out.push_back(static_cast<char>(a.vendor_type));
      out.push_back(static_cast<char>(2 + a.value.size()));
      out.append(a.value);
    } else {
      if (a.value.size() > kRadiusAttributeValueBytesMax) {
        return Status::InvalidArgument(where + ": value of " + std::to_string(a.value.size()) +
                                       " octets; at most 253 fit");
      }
      if (a.type == kMessageAuthenticatorType && a.value.size() != kRadiusAuthenticatorBytes) {
        return Status::InvalidArgument(where + ": Message-Authenticator must be 16 octets");
      }
      out.push_back(static_cast<char>(a.type));
      out.push_back(static_cast<char>(2 + a.value.size()));
      out.append(a.value);
    }
    if (out.size() > kRadiusPacketBytesMax) break;
  }
  if (out.size() > kRadiusPacketBytesMax) {
    return Status::ResourceExhausted("packet exceeds " + std::to_string(kRadiusPacketBytesMax) +
                                     " octets");
  }
  out[2] = static_cast<char>(out.size() >> 8);
  out[3] = static_cast<char>(out.size());
  *datagram = std::move(out);
  return Status::Ok();
}

const Attribute* Find(const Packet& packet, uint8_t type) {
  for (const Attribute& a : packet.attributes) {
    if (a.vendor == 0 && a.type == type) return &a;
  }
  return nullptr;
}

const Attribute* FindVendor(const Packet& packet, uint32_t vendor, uint8_t vendor_type) {
  if (vendor == 0) return nullptr;
  for (const Attribute& a : packet.attributes) {
    if (a.vendor == vendor && a.vendor_type == vendor_type) return &a;
  }
  return nullptr;
}

bool GetUint32(const Attribute& attribute, uint32_t* value) {
  if (attribute.value.size() != 4) return false;
  *value = ReadU32(reinterpret_cast<const uint8_t*>(attribute.value.data()));
  return true;
}

bool GetUint8(const Attribute& attribute, uint8_t* value) {
  if (attribute.value.size() != 1) return false;
  *value = static_cast<uint8_t>(attribute.value[0]);
  return true;
}

bool GetIpv4(const Attribute& attribute, uint32_t* address) {
  return GetUint32(attribute, address);
}

std::string_view GetText(const Attribute& attribute) { return attribute.value; }

std::string Ipv4ToString(uint32_t address) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", address >> 24, (address >> 16) & 0xff,
                (address >> 8) & 0xff, address & 0xff);
  return buf;
}

Attribute Uint32Attribute(uint8_t type, uint32_t value) {
  Attribute a{type, 0, 0, {}};
  AppendU32(&a.value, value);
  return a;
}

Attribute StringAttribute(uint8_t type, std::string_view value) {
  return Attribute{type, 0, 0, std::string(value)};
}

Attribute Ipv4Attribute(uint8_t type, uint32_t address) { return Uint32Attribute(type, address); }

Attribute VendorUint32Attribute(uint32_t vendor, uint8_t vendor_type, uint32_t value) {
  Attribute a{kVendorSpecificType, vendor, vendor_type, {}};
  AppendU32(&a.value, value);
  return a;
}

Attribute VendorStringAttribute(uint32_t vendor, uint8_t vendor_type, std::string_view value) {
  return Attribute{kVendorSpecificType, vendor, vendor_type, std::string(value)};
}

}  // namespace ryuryo::radius
