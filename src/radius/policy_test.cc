#include "radius/policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "radius/dictionary.h"
#include "radius/packet.h"

namespace ryuryo::radius {
namespace {

LineFacts Facts() {
  LineFacts f;
  f.line = "jp-travel-0001";
  f.plan = "travel-8d-3gb";
  f.state = LineState::kThrottled;
  f.rate_bps = 128'000;
  f.remaining_bytes = 0;
  f.reason = "quota";
  return f;
}

std::string Be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

Attribute Parse(std::string_view entry, const LineFacts& facts = Facts()) {
  Attribute a;
  Status st = ParsePolicyAttribute(entry, facts, &a);
  EXPECT_TRUE(st.ok()) << entry << ": " << st.ToString();
  return a;
}

// The error message for `entry`, or "" when it parses.
std::string ErrorOf(std::string_view entry) {
  Attribute a;
  Status st = ParsePolicyAttribute(entry, Facts(), &a);
  return st.ok() ? "" : st.message();
}

TEST(PolicyTest, Defaults) {
  RadiusPolicy p;
  const LineFacts f = Facts();
  EXPECT_TRUE(p.AttributesFor(LineState::kNormal, f).empty());
  EXPECT_FALSE(p.HasAttributes(LineState::kNormal));
  EXPECT_EQ(p.AttributesFor(LineState::kThrottled, f),
            std::vector<Attribute>{StringAttribute(kFilterId, "throttled")});
  EXPECT_TRUE(p.Refuses(LineState::kBlocked));
  EXPECT_FALSE(p.Refuses(LineState::kThrottled));
  EXPECT_FALSE(p.Refuses(LineState::kNormal));
  EXPECT_EQ(p.ReplyMessageFor(LineState::kBlocked, f), "Data limit reached");
  EXPECT_EQ(p.ReplyMessageFor(LineState::kNormal, f), "");
}

TEST(PolicyTest, ConfiguredStatesWithPlaceholders) {
  RadiusPolicyConfig c;
  c.normal = StatePolicyConfig{{"Filter-Id = normal"}, ""};
  c.throttled =
      StatePolicyConfig{{"Filter-Id = throttled", "Mikrotik-Rate-Limit = {rate_kbps}k/{rate_kbps}k",
                         "WISPr-Bandwidth-Max-Down := {rate_bps}", "Class = \"{line}/{plan}\""},
                        "Throttled to {rate_kbps} kbps ({reason})"};
  c.blocked = StatePolicyConfig{{}, "Data limit reached. Top up at https://example.net/{line}"};
  RadiusPolicy p;
  Status st = ParseRadiusPolicy(c, &p);
  ASSERT_TRUE(st.ok()) << st.ToString();

  const LineFacts f = Facts();
  EXPECT_EQ(p.AttributesFor(LineState::kNormal, f),
            std::vector<Attribute>{StringAttribute(kFilterId, "normal")});
  const std::vector<Attribute> throttled = p.AttributesFor(LineState::kThrottled, f);
  const std::vector<Attribute> want = {
      StringAttribute(kFilterId, "throttled"),
      VendorStringAttribute(14988, 8, "128k/128k"),
      VendorUint32Attribute(14122, 8, 128'000),
      StringAttribute(kClass, "jp-travel-0001/travel-8d-3gb"),
      StringAttribute(kReplyMessage, "Throttled to 128 kbps (quota)"),
  };
  EXPECT_EQ(throttled, want);
  EXPECT_TRUE(p.Refuses(LineState::kBlocked));
  EXPECT_EQ(p.ReplyMessageFor(LineState::kBlocked, f),
            "Data limit reached. Top up at https://example.net/jp-travel-0001");
  // The attributes encode into a packet and decode back.
  Packet packet;
  packet.code = kAccessAccept;
  packet.attributes = throttled;
  std::string wire;
  ASSERT_TRUE(Encode(packet, &wire).ok());
  Packet back;
  ASSERT_TRUE(Decode(AsBytes(wire), &back).ok());
  EXPECT_EQ(back.attributes, throttled);
}

TEST(PolicyTest, BlockedWithAttributesAdmitsIntoAWalledGarden) {
  RadiusPolicy p;
  ASSERT_TRUE(p.SetState(LineState::kBlocked, {"Filter-Id = walled-garden"}, "Top up").ok());
  EXPECT_FALSE(p.Refuses(LineState::kBlocked));
  EXPECT_EQ(p.AttributesFor(LineState::kBlocked, Facts()),
            (std::vector<Attribute>{StringAttribute(kFilterId, "walled-garden"),
                                    StringAttribute(kReplyMessage, "Top up")}));
}

TEST(PolicyTest, StandardAttributesByKind) {
  EXPECT_EQ(Parse("Session-Timeout = 3600"), Uint32Attribute(kSessionTimeout, 3600));
  EXPECT_EQ(Parse("idle-timeout=600"), Uint32Attribute(28, 600));
  EXPECT_EQ(Parse("Acct-Interim-Interval = 300"), Uint32Attribute(kAcctInterimInterval, 300));
  EXPECT_EQ(Parse("Reply-Message = \"say \\\"hi\\\" \\\\ bye\""),
            StringAttribute(kReplyMessage, "say \"hi\" \\ bye"));
  EXPECT_EQ(Parse("Framed-Pool = gold"), StringAttribute(88, "gold"));
  EXPECT_EQ(Parse("NAS-Filter-Rule = \"permit in ip from any to any\""),
            StringAttribute(92, "permit in ip from any to any"));
  EXPECT_EQ(Parse("Class = 0x0102ff"), StringAttribute(kClass, std::string("\x01\x02\xff", 3)));
  EXPECT_EQ(Parse("Class = plan-a"), StringAttribute(kClass, "plan-a"));
  EXPECT_EQ(Parse("Session-Timeout = 4294967295"), Uint32Attribute(kSessionTimeout, 4294967295u));
}

TEST(PolicyTest, VendorAttributes) {
  EXPECT_EQ(Parse("Mikrotik-Rate-Limit = 1M/2M"), VendorStringAttribute(14988, 8, "1M/2M"));
  EXPECT_EQ(Parse("Mikrotik-Address-List = throttled"),
            VendorStringAttribute(14988, 19, "throttled"));
  EXPECT_EQ(Parse("WISPr-Bandwidth-Max-Up = 64000"), VendorUint32Attribute(14122, 7, 64000));
  EXPECT_EQ(Parse("Cisco-AVPair = \"ip:sub-qos-policy-out=THROTTLE\""),
            VendorStringAttribute(9, 1, "ip:sub-qos-policy-out=THROTTLE"));
  // 3GPP, from the dictionary's table and the policy's own.
  EXPECT_EQ(Parse("3GPP-Charging-Characteristics = 0800"),
            VendorStringAttribute(kVendor3gpp, k3gppChargingCharacteristics, "0800"));
  EXPECT_EQ(Parse("3GPP-GPRS-Negotiated-QoS-Profile = \"08-4A020000FA0000FA00\""),
            VendorStringAttribute(kVendor3gpp, 5, "08-4A020000FA0000FA00"));
  Attribute rat = Parse("3GPP-RAT-Type = 6");
  EXPECT_EQ(rat.vendor, kVendor3gpp);
  EXPECT_EQ(rat.vendor_type, k3gppRatType);
  EXPECT_EQ(rat.value, std::string(1, '\x06'));
  EXPECT_EQ(Parse("3GPP-SGSN-Address = 10.1.2.3"),
            (Attribute{kVendorSpecific, kVendor3gpp, k3gppSgsnAddress, Be32(0x0A010203)}));
}

TEST(PolicyTest, GenericVendorForms) {
  // A known vendor attribute keeps its kind, whichever way it is named.
  EXPECT_EQ(Parse("Vendor-Specific:14988:8 = 128k/128k"),
            VendorStringAttribute(14988, 8, "128k/128k"));
  EXPECT_EQ(Parse("26.14988.8 = 128k/128k"), VendorStringAttribute(14988, 8, "128k/128k"));
  EXPECT_EQ(Parse("26.14122.8 = {rate_bps}"), VendorUint32Attribute(14122, 8, 128'000));
  // An unknown one takes the kind its value shows.
  EXPECT_EQ(Parse("26.99999.3 = 42"), VendorUint32Attribute(99999, 3, 42));
  EXPECT_EQ(Parse("26.99999.3 = \"42\""), VendorStringAttribute(99999, 3, "42"));
  EXPECT_EQ(Parse("26.99999.3 = {remaining_bytes}"), VendorUint32Attribute(99999, 3, 0));
  EXPECT_EQ(Parse("vendor-specific:99999:4 = 10.0.0.1"),
            (Attribute{kVendorSpecific, 99999, 4, Be32(0x0A000001)}));
  EXPECT_EQ(Parse("26.99999.5 = 0xCAFE"), VendorStringAttribute(99999, 5, "\xca\xfe"));
  EXPECT_EQ(Parse("26.99999.6 = rate {rate_kbps}k"), VendorStringAttribute(99999, 6, "rate 128k"));
}

TEST(PolicyTest, PlaceholdersAndBraces) {
  LineFacts f = Facts();
  f.remaining_bytes = 5'000'000'000;  // more than 32 bits
  f.state = LineState::kBlocked;
  EXPECT_EQ(Parse("Filter-Id = {state}-{reason}-{remaining_bytes}", f),
            StringAttribute(kFilterId, "blocked-quota-5000000000"));
  EXPECT_EQ(Parse("Session-Timeout = {remaining_bytes}", f),
            Uint32Attribute(kSessionTimeout, 4294967295u));
  EXPECT_EQ(Parse("3GPP-RAT-Type = {remaining_bytes}", f).value, std::string(1, '\xff'));
  EXPECT_EQ(Parse("3GPP-RAT-Type = {rate_kbps}", f).value, std::string(1, '\x80'));
  EXPECT_EQ(Parse("Filter-Id = \"{{literal}} }}{line}\""),
            StringAttribute(kFilterId, "{literal} }jp-travel-0001"));
}

TEST(PolicyTest, LongFilledTextIsCutAtACharacterBoundary) {
  LineFacts f = Facts();
  f.line = std::string(40, 'x');
  // 240 bytes of literal text, then "日本" (3 bytes each) from {plan}: 253 cuts inside the 2nd.
  f.plan = "日本";
  const Attribute a = Parse("Filter-Id = " + std::string(240, 'a') + "{plan}{plan}{plan}", f);
  EXPECT_EQ(a.value, std::string(240, 'a') + "日本日本");  // 252 bytes: not 253
  EXPECT_LE(a.value.size(), kRadiusAttributeValueBytesMax);
  // A vendor attribute holds 247.
  const Attribute v = Parse("Mikrotik-Rate-Limit = " + std::string(240, 'a') + "{line}", f);
  EXPECT_EQ(v.value.size(), kRadiusVendorValueBytesMax);
}

TEST(PolicyTest, LongReplyMessageIsSplitIntoAttributes) {
  std::string message;
  for (int i = 0; i < 100; ++i) message += "上限";  // 600 bytes of 3-byte characters
  RadiusPolicy p;
  ASSERT_TRUE(p.SetState(LineState::kBlocked, {}, message).ok());
  const std::vector<Attribute> attrs = p.AttributesFor(LineState::kBlocked, Facts());
  ASSERT_EQ(attrs.size(), 3u);
  std::string joined;
  for (const Attribute& a : attrs) {
    EXPECT_EQ(a.type, kReplyMessage);
    EXPECT_LE(a.value.size(), kRadiusAttributeValueBytesMax);
    EXPECT_EQ(a.value.size() % 3, 0u) << "cut inside a character";
    joined += a.value;
  }
  EXPECT_EQ(joined, message);
}

TEST(PolicyTest, ErrorsNameWhatIsWrong) {
  const struct {
    const char* entry;
    const char* error;
  } cases[] = {
      {"Filter-Id", "expected \"Name = value\""},
      {" = x", "missing attribute name"},
      {"Filter-Idd = x", "unknown attribute Filter-Idd"},
      {"User-Password = x", "unknown attribute User-Password"},
      {"Message-Authenticator = 0x00", "unknown attribute"},
      {"26.0.1 = x", "unknown attribute 26.0.1"},
      {"26.16777216.1 = x", "unknown attribute"},
      {"26.9.256 = x", "unknown attribute"},
      {"Vendor-Specific:9 = x", "unknown attribute"},
      {"Filter-Id = ", "empty value"},
      {"Filter-Id = \"\"", "empty value"},
      {"Filter-Id = \"abc", "missing closing quote"},
      {"Filter-Id = \"abc\" def", "text after the closing quote"},
      {"Filter-Id = \"a\\qb\"", "unknown escape \\q"},
      {"Filter-Id = {rate}", "unknown placeholder {rate}"},
      {"Filter-Id = {line", "unmatched {"},
      {"Filter-Id = line}", "unmatched }"},
      {"Session-Timeout = 1h", "\"1h\" is not an integer in 0..4294967295"},
      {"Session-Timeout = 4294967296", "is not an integer"},
      {"Session-Timeout = -1", "is not an integer"},
      {"Session-Timeout = {line}", "an integer attribute takes a number"},
      {"Session-Timeout = {rate_bps}0", "an integer attribute takes a number"},
      {"3GPP-RAT-Type = 256", "is not an integer in 0..255"},
      {"3GPP-SGSN-Address = 10.0.0", "\"10.0.0\" is not an IPv4 address"},
      {"3GPP-SGSN-Address = {line}", "is not an IPv4 address"},
      {"Class = 0x123", "is not hex octets"},
      {"Class = 0xzz", "is not hex octets"},
  };
  for (const auto& c : cases) {
    const std::string error = ErrorOf(c.entry);
    EXPECT_NE(error.find(c.error), std::string::npos)
        << c.entry << " -> \"" << error << "\", want \"" << c.error << "\"";
  }
  EXPECT_NE(ErrorOf("Filter-Id = " + std::string(254, 'a')).find("253 bytes"), std::string::npos);
  EXPECT_NE(ErrorOf("Mikrotik-Rate-Limit = " + std::string(248, 'a')).find("247 bytes"),
            std::string::npos);
  EXPECT_NE(ErrorOf("Filter-Id = " + std::string(kPolicyEntryBytesMax, 'a')).find("longer than"),
            std::string::npos);
}

TEST(PolicyTest, SetStateErrorsNameTheEntryAndLeaveThePolicyUnchanged) {
  RadiusPolicy p;
  Status st = p.SetState(LineState::kThrottled,
                         {"Filter-Id = slow", "Mikrotik-Rate-Limit = {rate}k/{rate}k"}, "");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().rfind("attributes[1] \"Mikrotik-Rate-Limit = {rate}k/{rate}k\": "
                               "unknown placeholder {rate}",
                               0),
            0u)
      << st.message();
  EXPECT_EQ(p.AttributesFor(LineState::kThrottled, Facts()),
            std::vector<Attribute>{StringAttribute(kFilterId, "throttled")});

  st = p.SetState(LineState::kBlocked, {}, "Top up at {url}");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("reply_message \"Top up at {url}\": unknown placeholder {url}"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(p.ReplyMessageFor(LineState::kBlocked, Facts()), "Data limit reached");

  RadiusPolicyConfig c;
  c.normal = StatePolicyConfig{{"Filter-Id = ok"}, ""};
  c.blocked = StatePolicyConfig{{"Session-Timeout = soon"}, ""};
  st = ParseRadiusPolicy(c, &p);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(
      st.message().rfind("radius.policy.blocked: attributes[0] \"Session-Timeout = soon\"", 0), 0u)
      << st.message();
  // Nothing of a failed ParseRadiusPolicy applies, not even the good states.
  EXPECT_TRUE(p.AttributesFor(LineState::kNormal, Facts()).empty());
}

TEST(PolicyTest, Limits) {
  RadiusPolicy p;
  std::vector<std::string> many(kPolicyAttributesMax + 1, "Filter-Id = x");
  Status st = p.SetState(LineState::kNormal, many, "");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("more than 16"), std::string::npos) << st.message();
  many.pop_back();
  EXPECT_TRUE(p.SetState(LineState::kNormal, many, "").ok());

  // Sixteen full attributes would not leave room for the session's own: refused.
  std::vector<std::string> big(kPolicyAttributesMax, "Filter-Id = " + std::string(200, 'a'));
  st = p.SetState(LineState::kNormal, big, "");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bytes in a packet, more than 2048"), std::string::npos)
      << st.message();

  st = p.SetState(LineState::kNormal, {}, std::string(kPolicyReplyMessageBytesMax + 1, 'a'));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("reply_message: longer than"), std::string::npos) << st.message();
}

TEST(PolicyTest, CopiesAreIndependent) {
  RadiusPolicy a;
  RadiusPolicy b = a;
  ASSERT_TRUE(b.SetState(LineState::kThrottled, {"Filter-Id = slow"}, "").ok());
  EXPECT_EQ(a.AttributesFor(LineState::kThrottled, Facts())[0].value, "throttled");
  EXPECT_EQ(b.AttributesFor(LineState::kThrottled, Facts())[0].value, "slow");
}

}  // namespace
}  // namespace ryuryo::radius
