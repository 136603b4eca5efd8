#include "radius/packet.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "radius/dictionary.h"

namespace ryuryo::radius {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Header(uint8_t code, uint8_t id, size_t length) {
  Bytes b = {code, id, static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
  for (int i = 0; i < 16; ++i) b.push_back(static_cast<uint8_t>(0xa0 + i));
  return b;
}

// A packet of the given attribute bytes with a correct Length field.
Bytes WithAttributes(const Bytes& attrs, uint8_t code = kAccountingRequest) {
  Bytes b = Header(code, 7, 20 + attrs.size());
  b.insert(b.end(), attrs.begin(), attrs.end());
  return b;
}

Status DecodeBytes(const Bytes& b, Packet* p) { return Decode(std::span(b), p); }

Packet SamplePacket() {
  Packet p;
  p.code = kAccountingRequest;
  p.identifier = 42;
  for (int i = 0; i < 16; ++i) p.authenticator[i] = static_cast<uint8_t>(i * 3);
  p.attributes = {
      Uint32Attribute(kAcctStatusType, kAcctStatusInterimUpdate),
      StringAttribute(kAcctSessionId, "sess-0001"),
      StringAttribute(kUserName, "440101234567890"),
      Ipv4Attribute(kFramedIpAddress, 0x0A400001),
      Uint32Attribute(kAcctInputOctets, 123456),
      Uint32Attribute(kAcctInputGigawords, 1),
      VendorStringAttribute(kVendor3gpp, k3gppImsi, "440101234567890"),
      Attribute{kVendorSpecific, kVendor3gpp, k3gppRatType, std::string(1, '\x06')},
      StringAttribute(kClass, std::string("\x00\x01\xff", 3)),
      StringAttribute(kReplyMessage, ""),
  };
  return p;
}

TEST(PacketTest, RoundTrip) {
  const Packet p = SamplePacket();
  std::string wire;
  ASSERT_TRUE(Encode(p, &wire).ok());
  Packet back;
  Status st = Decode(AsBytes(wire), &back);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(back, p);
  // Length field and header layout.
  EXPECT_EQ(static_cast<uint8_t>(wire[0]), kAccountingRequest);
  EXPECT_EQ(static_cast<uint8_t>(wire[1]), 42);
  EXPECT_EQ((static_cast<uint8_t>(wire[2]) << 8) | static_cast<uint8_t>(wire[3]), wire.size());
}

TEST(PacketTest, EncodesVendorAttributeInStandardFormat) {
  Packet p;
  p.code = kAccountingRequest;
  p.attributes = {VendorStringAttribute(kVendor3gpp, k3gppImsi, "4401")};
  std::string wire;
  ASSERT_TRUE(Encode(p, &wire).ok());
  const std::string attr = wire.substr(20);
  EXPECT_EQ(attr, std::string("\x1a\x0c\x00\x00\x28\xaf\x01\x06"
                              "4401",
                              12));
}

TEST(PacketTest, EmptyPacketIsTwentyOctets) {
  Packet p;
  p.code = kAccountingResponse;
  std::string wire;
  ASSERT_TRUE(Encode(p, &wire).ok());
  EXPECT_EQ(wire.size(), 20u);
  Packet back;
  ASSERT_TRUE(Decode(AsBytes(wire), &back).ok());
  EXPECT_TRUE(back.attributes.empty());
}

TEST(PacketTest, DecodesSeveralSubAttributesInOneVsa) {
  // One Vendor-Specific with two 3GPP sub-attributes, then one with an empty sub-attribute.
  const Bytes attrs = {26, 14, 0, 0,  0x28, 0xaf, 1, 5,    '4',  '4', '0',
                       21, 3,  6, 26, 8,    0,    0, 0x28, 0xaf, 9,   2};
  Packet p;
  Status st = DecodeBytes(WithAttributes(attrs), &p);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(p.attributes.size(), 3u);
  EXPECT_EQ(p.attributes[0], (Attribute{26, kVendor3gpp, k3gppImsi, "440"}));
  EXPECT_EQ(p.attributes[1], (Attribute{26, kVendor3gpp, k3gppRatType, "\x06"}));
  EXPECT_EQ(p.attributes[2], (Attribute{26, kVendor3gpp, 9, ""}));
  uint8_t rat = 0;
  ASSERT_NE(FindVendor(p, kVendor3gpp, k3gppRatType), nullptr);
  EXPECT_TRUE(GetUint8(*FindVendor(p, kVendor3gpp, k3gppRatType), &rat));
  EXPECT_EQ(rat, 6);
}

TEST(PacketTest, NonStandardVendorsStayUndecoded) {
  // Starent (8164) uses 2-octet type and length: kept as one raw Vendor-Specific.
  const Bytes attrs = {26, 12, 0, 0, 0x1f, 0xe4, 0, 1, 0, 6, 'a', 'b'};
  Packet p;
  ASSERT_TRUE(DecodeBytes(WithAttributes(attrs), &p).ok());
  ASSERT_EQ(p.attributes.size(), 1u);
  EXPECT_EQ(p.attributes[0].type, kVendorSpecific);
  EXPECT_EQ(p.attributes[0].vendor, 0u);
  EXPECT_EQ(p.attributes[0].value, std::string("\x00\x00\x1f\xe4\x00\x01\x00\x06"
                                               "ab",
                                               10));
  std::string wire;
  ASSERT_TRUE(Encode(p, &wire).ok());
  EXPECT_EQ(wire.substr(20), std::string(attrs.begin(), attrs.end()));
}

TEST(PacketTest, IgnoresOctetsBeyondLength) {
  Bytes b = WithAttributes({1, 5, 'a', 'b', 'c'});
  b.push_back(0xff);  // padding, even an impossible attribute header
  b.push_back(0x00);
  Packet p;
  ASSERT_TRUE(DecodeBytes(b, &p).ok());
  ASSERT_EQ(p.attributes.size(), 1u);
  EXPECT_EQ(GetText(p.attributes[0]), "abc");
}

struct Malformed {
  const char* name;
  Bytes datagram;
  const char* message_part;
};

TEST(PacketTest, RejectsMalformed) {
  std::vector<Malformed> cases;
  cases.push_back({"empty", {}, "at least 20"});
  cases.push_back({"19 octets", Bytes(19, 0), "at least 20"});
  cases.push_back({"length 19", Header(4, 1, 19), "outside 20..4096"});
  cases.push_back({"length 0", Header(4, 1, 0), "outside 20..4096"});
  {
    Bytes b = Header(4, 1, 4097);
    b.resize(4097, 0);
    cases.push_back({"length 4097", b, "outside 20..4096"});
  }
  {
    Bytes b = Header(4, 1, 30);
    b.resize(29, 0);
    cases.push_back({"length beyond datagram", b, "exceeds the datagram's 29"});
  }
  cases.push_back({"attribute length 0", WithAttributes({1, 0, 'a', 'b'}), "offset 20"});
  cases.push_back({"attribute length 1", WithAttributes({1, 5, 'a', 'b', 'c', 2, 1}),
                   "offset 25: length 1 is below 2"});
  cases.push_back({"attribute past end", WithAttributes({1, 5, 'a', 'b', 'c', 31, 9, '8', '1'}),
                   "attribute 31 at offset 25: length 9 runs past the end"});
  cases.push_back({"lone attribute type octet", WithAttributes({1, 3, 'a', 44}),
                   "offset 23: truncated header"});
  cases.push_back(
      {"VSA without vendor id", WithAttributes({26, 5, 0, 0, 0x28}), "too short for a vendor id"});
  cases.push_back(
      {"VSA with no sub-attribute", WithAttributes({26, 6, 0, 0, 0x28, 0xaf}), "no sub-attribute"});
  cases.push_back({"VSA truncated sub-attribute",
                   WithAttributes({26, 10, 0, 0, 0x28, 0xaf, 1, 6, '4', '4'}),
                   "sub-attribute at offset 26: length 6 runs past the end"});
  cases.push_back({"VSA sub-attribute length 1",
                   WithAttributes({26, 9, 0, 0, 0x28, 0xaf, 1, 1, '4'}), "length 1 is below 2"});
  cases.push_back({"VSA lone sub-attribute octet",
                   WithAttributes({26, 10, 0, 0, 0x28, 0xaf, 21, 3, 6, 1}),
                   "sub-attribute at offset 29: truncated header"});
  {
    Bytes ma = {80, 17};
    ma.resize(17, 0);
    cases.push_back({"Message-Authenticator of 15", WithAttributes(ma), "15 octets, must be 16"});
  }
  {
    Bytes ma = {80, 2};
    cases.push_back({"Message-Authenticator of 0", WithAttributes(ma), "0 octets, must be 16"});
  }
  for (const Malformed& c : cases) {
    Packet p;
    Status st = DecodeBytes(c.datagram, &p);
    EXPECT_FALSE(st.ok()) << c.name;
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << c.name;
    EXPECT_NE(st.message().find(c.message_part), std::string::npos)
        << c.name << ": " << st.message();
  }
}

TEST(PacketTest, AcceptsMaximumLength) {
  Bytes attrs;
  while (attrs.size() + 255 <= 4096 - 20) {
    attrs.push_back(kClass);
    attrs.push_back(255);
    attrs.resize(attrs.size() + 253, 'x');
  }
  const size_t rest = 4096 - 20 - attrs.size();
  ASSERT_GE(rest, 2u);
  attrs.push_back(kClass);
  attrs.push_back(static_cast<uint8_t>(rest));
  attrs.resize(4096 - 20, 'y');
  Packet p;
  Status st = DecodeBytes(WithAttributes(attrs), &p);
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::string wire;
  ASSERT_TRUE(Encode(p, &wire).ok());
  EXPECT_EQ(wire.size(), 4096u);
}

TEST(PacketTest, EncodeRejectsOversize) {
  Packet p;
  p.code = kAccountingRequest;
  p.attributes = {StringAttribute(kUserName, std::string(254, 'x'))};
  std::string wire;
  EXPECT_FALSE(Encode(p, &wire).ok());
  p.attributes = {StringAttribute(kUserName, std::string(253, 'x'))};
  EXPECT_TRUE(Encode(p, &wire).ok());
  EXPECT_EQ(wire.size(), 20u + 255u);

  p.attributes = {VendorStringAttribute(kVendor3gpp, k3gppImsi, std::string(248, 'x'))};
  EXPECT_FALSE(Encode(p, &wire).ok());
  p.attributes = {VendorStringAttribute(kVendor3gpp, k3gppImsi, std::string(247, 'x'))};
  ASSERT_TRUE(Encode(p, &wire).ok());
  EXPECT_EQ(wire.size(), 20u + 255u);

  p.attributes.assign(17, StringAttribute(kClass, std::string(253, 'c')));  // 20 + 17*255 > 4096
  Status st = Encode(p, &wire);
  EXPECT_EQ(st.code(), Status::Code::kResourceExhausted) << st.ToString();

  p.attributes = {Attribute{kUserName, kVendor3gpp, 1, "x"}};  // vendor without type 26
  EXPECT_FALSE(Encode(p, &wire).ok());
  p.attributes = {StringAttribute(kMessageAuthenticator, "short")};
  EXPECT_FALSE(Encode(p, &wire).ok());
}

TEST(PacketTest, Getters) {
  const Packet p = SamplePacket();
  uint32_t v = 0;
  ASSERT_NE(Find(p, kAcctInputOctets), nullptr);
  EXPECT_TRUE(GetUint32(*Find(p, kAcctInputOctets), &v));
  EXPECT_EQ(v, 123456u);
  EXPECT_EQ(Find(p, kAcctOutputOctets), nullptr);
  EXPECT_FALSE(GetUint32(*Find(p, kUserName), &v));  // 15 octets
  ASSERT_NE(Find(p, kFramedIpAddress), nullptr);
  EXPECT_TRUE(GetIpv4(*Find(p, kFramedIpAddress), &v));
  EXPECT_EQ(Ipv4ToString(v), "10.64.0.1");
  ASSERT_NE(FindVendor(p, kVendor3gpp, k3gppImsi), nullptr);
  EXPECT_EQ(GetText(*FindVendor(p, kVendor3gpp, k3gppImsi)), "440101234567890");
  EXPECT_EQ(FindVendor(p, kVendor3gpp, k3gppImeisv), nullptr);
  EXPECT_EQ(FindVendor(p, 0, kUserName), nullptr);
  // Find does not see vendor attributes even when the vendor type matches.
  Packet q;
  q.attributes = {VendorStringAttribute(kVendor3gpp, kUserName, "x")};
  EXPECT_EQ(Find(q, kUserName), nullptr);
}

TEST(PacketTest, CodeNames) {
  EXPECT_EQ(CodeName(kAccountingRequest), "Accounting-Request");
  EXPECT_EQ(CodeName(kCoaNak), "CoA-NAK");
  EXPECT_EQ(CodeName(kDisconnectAck), "Disconnect-ACK");
  EXPECT_EQ(CodeName(99), "Code-99");
}

TEST(PacketTest, RandomBytesNeverCrashAndRoundTrip) {
  std::mt19937_64 rng(12345);
  const Packet base = SamplePacket();
  std::string wire;
  ASSERT_TRUE(Encode(base, &wire).ok());
  for (int i = 0; i < 20000; ++i) {
    std::string m = wire;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 3) {
        case 0:
          m[rng() % m.size()] = static_cast<char>(rng());
          break;
        case 1:
          m.resize(rng() % (m.size() + 1));
          break;
        case 2:
          m.insert(rng() % (m.size() + 1), 1, static_cast<char>(rng()));
          break;
      }
      if (m.empty()) m.push_back('\x04');
    }
    Packet p;
    if (!Decode(AsBytes(m), &p).ok()) continue;
    std::string again;
    if (!Encode(p, &again).ok()) continue;  // only when re-splitting VSAs grows past 4096
    Packet q;
    ASSERT_TRUE(Decode(AsBytes(again), &q).ok());
    EXPECT_EQ(p, q);
    (void)Describe(p);
  }
}

TEST(DictionaryTest, Describe) {
  const Packet p = SamplePacket();
  EXPECT_EQ(Describe(p),
            "Accounting-Request id=42 Acct-Status-Type=3 Acct-Session-Id=\"sess-0001\" "
            "User-Name=\"440101234567890\" Framed-IP-Address=10.64.0.1 "
            "Acct-Input-Octets=123456 Acct-Input-Gigawords=1 3GPP-IMSI=\"440101234567890\" "
            "3GPP-RAT-Type=6 Class=0x0001ff Reply-Message=\"\"");
  Packet q;
  q.code = 99;
  q.attributes = {StringAttribute(200, "\x01"), VendorStringAttribute(9, 1, "A"),
                  StringAttribute(kUserName, "a\"b\n\xff"),
                  StringAttribute(kAcctInputOctets, "xyz")};
  EXPECT_EQ(Describe(q),
            "Code-99 id=0 Attr-200=0x01 Vendor-9-Attr-1=0x41 User-Name=\"a\\\"b\\x0a\\xff\" "
            "Acct-Input-Octets=0x78797a");
  Packet big;
  big.attributes.assign(200, StringAttribute(kClass, std::string(253, 'c')));
  EXPECT_LE(Describe(big).size(), kDescribeBytesMax);
}

TEST(DictionaryTest, Names) {
  ASSERT_NE(LookupAttribute(kAcctOutputGigawords), nullptr);
  EXPECT_STREQ(LookupAttribute(kAcctOutputGigawords)->name, "Acct-Output-Gigawords");
  EXPECT_STREQ(LookupVendorAttribute(kVendor3gpp, k3gppUserLocationInfo)->name,
               "3GPP-User-Location-Info");
  EXPECT_EQ(LookupAttribute(199), nullptr);
  EXPECT_EQ(LookupVendorAttribute(9, 1), nullptr);
}

}  // namespace
}  // namespace ryuryo::radius
