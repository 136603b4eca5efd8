#include "radius/policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>

#include "radius/dictionary.h"

namespace ryuryo::radius {

namespace {

// A text placeholder's expansion is cut to this many bytes (line ids are at most 64).
constexpr size_t kPlaceholderBytesMax = 64;
constexpr size_t kNumberDigitsMax = 20;  // a uint64_t in decimal
constexpr size_t kStandardHeaderBytes = 2;
constexpr size_t kVendorHeaderBytes = 8;     // 26, length, vendor id, vendor type, vendor length
constexpr uint32_t kVendorIdMax = 0xFFFFFF;  // RFC 2865 §5.26: the high-order octet is 0

enum class Kind { kText, kOctets, kInteger, kByte, kIpv4 };

enum class Placeholder { kLine, kPlan, kState, kReason, kRateBps, kRateKbps, kRemainingBytes };

struct PlaceholderName {
  std::string_view name;
  Placeholder placeholder;
  bool numeric;
};

constexpr PlaceholderName kPlaceholders[] = {
    {"line", Placeholder::kLine, false},
    {"plan", Placeholder::kPlan, false},
    {"state", Placeholder::kState, false},
    {"reason", Placeholder::kReason, false},
    {"rate_bps", Placeholder::kRateBps, true},
    {"rate_kbps", Placeholder::kRateKbps, true},
    {"remaining_bytes", Placeholder::kRemainingBytes, true},
};

bool IsNumeric(Placeholder p) {
  for (const PlaceholderName& n : kPlaceholders) {
    if (n.placeholder == p) return n.numeric;
  }
  return false;
}

uint64_t NumberOf(Placeholder p, const LineFacts& facts) {
  switch (p) {
    case Placeholder::kRateBps:
      return facts.rate_bps;
    case Placeholder::kRateKbps:
      return facts.rate_bps / 1000;
    case Placeholder::kRemainingBytes:
      return facts.remaining_bytes;
    default:
      return 0;
  }
}

// The longest prefix of `s` of at most `max` bytes that does not end inside a UTF-8 sequence.
std::string_view Utf8Prefix(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut);
}

std::string TextOf(Placeholder p, const LineFacts& facts) {
  switch (p) {
    case Placeholder::kLine:
      return std::string(Utf8Prefix(facts.line, kPlaceholderBytesMax));
    case Placeholder::kPlan:
      return std::string(Utf8Prefix(facts.plan, kPlaceholderBytesMax));
    case Placeholder::kState:
      return LineStateName(facts.state);
    case Placeholder::kReason:
      return std::string(Utf8Prefix(facts.reason, kPlaceholderBytesMax));
    default:
      return std::to_string(NumberOf(p, facts));
  }
}

// A literal or a placeholder.
struct Piece {
  std::string literal;
  std::optional<Placeholder> placeholder;
};

// Splits "{rate_kbps}k/{rate_kbps}k" into pieces; "{{" and "}}" are literal braces.
Status ParsePieces(std::string_view text, std::vector<Piece>* pieces) {
  pieces->clear();
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) pieces->push_back({std::move(literal), std::nullopt});
    literal.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        literal.push_back('}');
        ++i;
        continue;
      }
      return Status::InvalidArgument("unmatched } (write }} for a literal brace)");
    }
    if (c != '{') {
      literal.push_back(c);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      literal.push_back('{');
      ++i;
      continue;
    }
    const size_t close = text.find('}', i);
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("unmatched { (write {{ for a literal brace)");
    }
    const std::string_view name = text.substr(i + 1, close - i - 1);
    const PlaceholderName* found = nullptr;
    for (const PlaceholderName& n : kPlaceholders) {
      if (n.name == name) found = &n;
    }
    if (found == nullptr) {
      return Status::InvalidArgument(
          "unknown placeholder {" + std::string(name) +
          "} (known: {line}, {plan}, {state}, {reason}, {rate_bps}, {rate_kbps}, "
          "{remaining_bytes})");
    }
    flush();
    pieces->push_back({"", found->placeholder});
    i = close;
  }
  flush();
  return Status::Ok();
}

std::string FillPieces(const std::vector<Piece>& pieces, const LineFacts& facts) {
  std::string out;
  for (const Piece& p : pieces) {
    out += p.placeholder ? TextOf(*p.placeholder, facts) : p.literal;
  }
  return out;
}

// The longest a filled text can be.
size_t FilledBytesMax(const std::vector<Piece>& pieces) {
  size_t n = 0;
  for (const Piece& p : pieces) {
    if (!p.placeholder) {
      n += p.literal.size();
    } else {
      n += IsNumeric(*p.placeholder) ? kNumberDigitsMax : kPlaceholderBytesMax;
    }
  }
  return n;
}

bool HasPlaceholder(const std::vector<Piece>& pieces) {
  return std::any_of(pieces.begin(), pieces.end(),
                     [](const Piece& p) { return p.placeholder.has_value(); });
}

struct Named {
  std::string_view name;
  uint8_t type;
  uint32_t vendor;
  uint8_t vendor_type;
  Kind kind;
};

constexpr uint32_t kVendorCisco = 9;
constexpr uint32_t kVendorMikrotik = 14988;
constexpr uint32_t kVendorWispr = 14122;

// Attributes that make sense in an Access-Accept or CoA-Request (FreeRADIUS's names).
constexpr Named kNamed[] = {
    {"Filter-Id", kFilterId, 0, 0, Kind::kText},
    {"Reply-Message", kReplyMessage, 0, 0, Kind::kText},
    {"Class", kClass, 0, 0, Kind::kOctets},
    {"Session-Timeout", kSessionTimeout, 0, 0, Kind::kInteger},
    {"Idle-Timeout", 28, 0, 0, Kind::kInteger},
    {"Acct-Interim-Interval", kAcctInterimInterval, 0, 0, Kind::kInteger},
    {"Framed-Pool", 88, 0, 0, Kind::kText},
    {"NAS-Filter-Rule", 92, 0, 0, Kind::kText},
    {"3GPP-GPRS-Negotiated-QoS-Profile", kVendorSpecific, kVendor3gpp, 5, Kind::kText},
    {"Mikrotik-Rate-Limit", kVendorSpecific, kVendorMikrotik, 8, Kind::kText},
    {"Mikrotik-Address-List", kVendorSpecific, kVendorMikrotik, 19, Kind::kText},
    {"WISPr-Redirection-URL", kVendorSpecific, kVendorWispr, 4, Kind::kText},
    {"WISPr-Bandwidth-Max-Up", kVendorSpecific, kVendorWispr, 7, Kind::kInteger},
    {"WISPr-Bandwidth-Max-Down", kVendorSpecific, kVendorWispr, 8, Kind::kInteger},
    {"Cisco-AVPair", kVendorSpecific, kVendorCisco, 1, Kind::kText},
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

Kind KindOf(ValueKind k) {
  switch (k) {
    case ValueKind::kText:
      return Kind::kText;
    case ValueKind::kInteger:
    case ValueKind::kDate:
      return Kind::kInteger;
    case ValueKind::kIpv4:
      return Kind::kIpv4;
    case ValueKind::kByte:
      return Kind::kByte;
    case ValueKind::kOctets:
      break;
  }
  return Kind::kOctets;
}

// The kind of a known vendor attribute, if known.
std::optional<Kind> KnownVendorKind(uint32_t vendor, uint8_t vendor_type) {
  for (const Named& n : kNamed) {
    if (n.vendor == vendor && n.vendor_type == vendor_type) return n.kind;
  }
  if (const AttributeInfo* info = LookupVendorAttribute(vendor, vendor_type)) {
    return KindOf(info->kind);
  }
  return std::nullopt;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

template <typename T>
bool ParseDecimal(std::string_view s, T* out) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), IsDigit)) {
    return false;
  }
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// "Vendor-Specific:<vendor>:<type>" or "26.<vendor>.<type>".
bool ParseGenericVendor(std::string_view name, uint32_t* vendor, uint8_t* vendor_type) {
  char sep = 0;
  constexpr std::string_view kLong = "Vendor-Specific:";
  constexpr std::string_view kShort = "26.";
  if (name.size() > kLong.size() && EqualsIgnoreCase(name.substr(0, kLong.size()), kLong)) {
    name.remove_prefix(kLong.size());
    sep = ':';
  } else if (name.substr(0, kShort.size()) == kShort) {
    name.remove_prefix(kShort.size());
    sep = '.';
  } else {
    return false;
  }
  const size_t at = name.find(sep);
  if (at == std::string_view::npos) return false;
  uint32_t v = 0;
  unsigned t = 0;
  if (!ParseDecimal(name.substr(0, at), &v) || !ParseDecimal(name.substr(at + 1), &t)) {
    return false;
  }
  if (v == 0 || v > kVendorIdMax || t == 0 || t > 255) return false;
  *vendor = v;
  *vendor_type = static_cast<uint8_t>(t);
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// `"..."` with \" \\ \n \t escapes; nothing may follow the closing quote.
Status Unquote(std::string_view raw, std::string* out) {
  out->clear();
  for (size_t i = 1; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '"') {
      if (i + 1 != raw.size()) return Status::InvalidArgument("text after the closing quote");
      return Status::Ok();
    }
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (++i == raw.size()) break;
    switch (raw[i]) {
      case '"':
      case '\\':
        out->push_back(raw[i]);
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 't':
        out->push_back('\t');
        break;
      default:
        return Status::InvalidArgument(std::string("unknown escape \\") + raw[i]);
    }
  }
  return Status::InvalidArgument("missing closing quote");
}

bool ParseHex(std::string_view s, std::string* out) {
  if (s.size() % 2 != 0) return false;
  out->clear();
  for (size_t i = 0; i < s.size(); i += 2) {
    unsigned v = 0;
    const auto [ptr, ec] = std::from_chars(s.data() + i, s.data() + i + 2, v, 16);
    if (ec != std::errc() || ptr != s.data() + i + 2) return false;
    out->push_back(static_cast<char>(v));
  }
  return true;
}

bool ParseIpv4(std::string_view s, uint32_t* address) {
  in_addr a{};
  if (::inet_pton(AF_INET, std::string(s).c_str(), &a) != 1) return false;
  *address = ntohl(a.s_addr);
  return true;
}

bool LooksLikeIpv4(std::string_view s) {
  uint32_t a = 0;
  return std::count(s.begin(), s.end(), '.') == 3 && ParseIpv4(s, &a);
}

std::string BigEndian32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// One parsed "Name = value".
struct Template {
  std::string source;
  uint8_t type = 0;
  uint32_t vendor = 0;
  uint8_t vendor_type = 0;
  Kind kind = Kind::kText;
  std::vector<Piece> pieces;           // kText, and kOctets not written in hex
  std::optional<std::string> fixed;    // the encoded value when it has no placeholder
  std::optional<Placeholder> numeric;  // kInteger / kByte from a placeholder

  size_t ValueBytesMax() const {
    return vendor == 0 ? kRadiusAttributeValueBytesMax : kRadiusVendorValueBytesMax;
  }
  size_t HeaderBytes() const { return vendor == 0 ? kStandardHeaderBytes : kVendorHeaderBytes; }

  // The most this attribute can take in a packet.
  size_t EncodedBytesMax() const {
    size_t value = 4;
    if (fixed) {
      value = fixed->size();
    } else if (kind == Kind::kByte) {
      value = 1;
    } else if (!numeric) {
      value = std::min(FilledBytesMax(pieces), ValueBytesMax());
    }
    return HeaderBytes() + value;
  }

  Attribute Fill(const LineFacts& facts) const {
    Attribute a;
    a.type = type;
    a.vendor = vendor;
    a.vendor_type = vendor_type;
    if (fixed) {
      a.value = *fixed;
    } else if (numeric) {
      const uint64_t n = NumberOf(*numeric, facts);
      if (kind == Kind::kByte) {
        a.value = std::string(1, static_cast<char>(std::min<uint64_t>(n, 255)));
      } else {
        a.value = BigEndian32(
            static_cast<uint32_t>(std::min<uint64_t>(n, std::numeric_limits<uint32_t>::max())));
      }
    } else {
      a.value = std::string(Utf8Prefix(FillPieces(pieces, facts), ValueBytesMax()));
    }
    return a;
  }
};

Status ParseTemplate(std::string_view entry, Template* t) {
  if (entry.size() > kPolicyEntryBytesMax) {
    return Status::InvalidArgument("longer than " + std::to_string(kPolicyEntryBytesMax) +
                                   " bytes");
  }
  const size_t eq = entry.find('=');
  if (eq == std::string_view::npos) {
    return Status::InvalidArgument("expected \"Name = value\"");
  }
  std::string_view name = entry.substr(0, eq);
  if (!name.empty() && name.back() == ':') name.remove_suffix(1);  // ":="
  name = Trim(name);
  const std::string_view raw = Trim(entry.substr(eq + 1));
  if (name.empty()) return Status::InvalidArgument("missing attribute name");

  *t = Template();
  t->source = std::string(entry);
  std::optional<Kind> kind;
  bool found = false;
  for (const Named& n : kNamed) {
    if (EqualsIgnoreCase(n.name, name)) {
      t->type = n.type;
      t->vendor = n.vendor;
      t->vendor_type = n.vendor_type;
      kind = n.kind;
      found = true;
      break;
    }
  }
  for (unsigned vt = 1; !found && vt <= 255; ++vt) {
    const AttributeInfo* info = LookupVendorAttribute(kVendor3gpp, static_cast<uint8_t>(vt));
    if (info != nullptr && EqualsIgnoreCase(info->name, name)) {
      t->type = kVendorSpecific;
      t->vendor = kVendor3gpp;
      t->vendor_type = static_cast<uint8_t>(vt);
      kind = KindOf(info->kind);
      found = true;
    }
  }
  if (!found && ParseGenericVendor(name, &t->vendor, &t->vendor_type)) {
    t->type = kVendorSpecific;
    kind = KnownVendorKind(t->vendor, t->vendor_type);
    found = true;
  }
  if (!found) {
    return Status::InvalidArgument(
        "unknown attribute " + std::string(name) +
        " (name a supported one, or write a vendor attribute as Vendor-Specific:<vendor>:<type>)");
  }

  const bool quoted = !raw.empty() && raw.front() == '"';
  std::string value;
  if (quoted) {
    RYURYO_RETURN_IF_ERROR(Unquote(raw, &value));
  } else {
    value = std::string(raw);
  }
  if (value.empty()) return Status::InvalidArgument("empty value");
  std::vector<Piece> pieces;
  RYURYO_RETURN_IF_ERROR(ParsePieces(value, &pieces));
  const bool one_numeric =
      pieces.size() == 1 && pieces[0].placeholder && IsNumeric(*pieces[0].placeholder);
  const bool hex = value.size() > 2 && value[0] == '0' && (value[1] == 'x' || value[1] == 'X');

  if (!kind) {  // an unknown vendor attribute: the value says what it is
    if (quoted) {
      kind = Kind::kText;
    } else if (one_numeric || std::all_of(value.begin(), value.end(), IsDigit)) {
      kind = Kind::kInteger;
    } else if (hex) {
      kind = Kind::kOctets;
    } else if (LooksLikeIpv4(value)) {
      kind = Kind::kIpv4;
    } else {
      kind = Kind::kText;
    }
  }
  t->kind = *kind;

  switch (t->kind) {
    case Kind::kInteger:
    case Kind::kByte: {
      const uint64_t max = t->kind == Kind::kByte ? 255 : std::numeric_limits<uint32_t>::max();
      if (one_numeric) {
        t->numeric = pieces[0].placeholder;
        break;
      }
      if (HasPlaceholder(pieces)) {
        return Status::InvalidArgument(
            "an integer attribute takes a number or one of {rate_bps}, {rate_kbps}, "
            "{remaining_bytes} alone");
      }
      uint64_t n = 0;
      if (!ParseDecimal(value, &n) || n > max) {
        return Status::InvalidArgument("\"" + value + "\" is not an integer in 0.." +
                                       std::to_string(max));
      }
      t->fixed = t->kind == Kind::kByte ? std::string(1, static_cast<char>(n))
                                        : BigEndian32(static_cast<uint32_t>(n));
      break;
    }
    case Kind::kIpv4: {
      uint32_t address = 0;
      if (!ParseIpv4(value, &address)) {
        return Status::InvalidArgument("\"" + value + "\" is not an IPv4 address");
      }
      t->fixed = BigEndian32(address);
      break;
    }
    case Kind::kOctets:
      if (hex) {
        std::string bytes;
        if (!ParseHex(value.substr(2), &bytes)) {
          return Status::InvalidArgument("\"" + value + "\" is not hex octets");
        }
        t->fixed = std::move(bytes);
        break;
      }
      [[fallthrough]];
    case Kind::kText:
      if (!HasPlaceholder(pieces)) t->fixed = FillPieces(pieces, LineFacts());
      t->pieces = std::move(pieces);
      break;
  }
  if (t->fixed && t->fixed->size() > t->ValueBytesMax()) {
    return Status::InvalidArgument("the value is longer than the " +
                                   std::to_string(t->ValueBytesMax()) +
                                   " bytes one attribute holds");
  }
  return Status::Ok();
}

// Reply-Message attributes for `text`, split at UTF-8 boundaries into as many as it takes.
void AppendReplyMessages(std::string_view text, std::vector<Attribute>* out) {
  text = Utf8Prefix(text, kPolicyReplyMessageBytesMax);
  while (!text.empty()) {
    std::string_view chunk = Utf8Prefix(text, kRadiusAttributeValueBytesMax);
    if (chunk.empty()) chunk = text.substr(0, 1);  // not UTF-8: cut anywhere
    out->push_back(StringAttribute(kReplyMessage, chunk));
    text.remove_prefix(chunk.size());
  }
}

size_t ReplyMessageEncodedBytesMax(size_t text_bytes) {
  const size_t n = std::min(text_bytes, kPolicyReplyMessageBytesMax);
  // A chunk cut at a UTF-8 boundary loses at most 3 bytes: count one chunk more to be safe.
  const size_t chunks = n == 0 ? 0 : n / kRadiusAttributeValueBytesMax + 2;
  return std::min(chunks * kRadiusAttributeBytesMax, n + chunks * kStandardHeaderBytes);
}

}  // namespace

struct RadiusPolicy::Impl {
  struct State {
    std::vector<Template> attributes;
    std::vector<Piece> reply_message;
  };
  std::array<State, 3> states;  // indexed by LineState

  const State& At(LineState s) const { return states[static_cast<size_t>(s)]; }
};

RadiusPolicy::RadiusPolicy() {
  auto impl = std::make_shared<Impl>();
  Template throttled;
  Status st = ParseTemplate("Filter-Id = throttled", &throttled);
  if (st.ok()) impl->states[static_cast<size_t>(LineState::kThrottled)].attributes = {throttled};
  impl->states[static_cast<size_t>(LineState::kBlocked)].reply_message = {
      {"Data limit reached", std::nullopt}};
  impl_ = std::move(impl);
}

Status RadiusPolicy::SetState(LineState state, const std::vector<std::string>& attributes,
                              std::string_view reply_message) {
  if (attributes.size() > kPolicyAttributesMax) {
    return Status::InvalidArgument("attributes: more than " + std::to_string(kPolicyAttributesMax));
  }
  Impl::State s;
  size_t encoded = 0;
  for (size_t i = 0; i < attributes.size(); ++i) {
    Template t;
    Status st = ParseTemplate(attributes[i], &t);
    if (!st.ok()) {
      return st.Prefixed("attributes[" + std::to_string(i) + "] \"" + attributes[i] + "\"");
    }
    encoded += t.EncodedBytesMax();
    s.attributes.push_back(std::move(t));
  }
  if (reply_message.size() > kPolicyReplyMessageBytesMax) {
    return Status::InvalidArgument("reply_message: longer than " +
                                   std::to_string(kPolicyReplyMessageBytesMax) + " bytes");
  }
  Status st = ParsePieces(reply_message, &s.reply_message);
  if (!st.ok()) return st.Prefixed("reply_message \"" + std::string(reply_message) + "\"");
  encoded += ReplyMessageEncodedBytesMax(FilledBytesMax(s.reply_message));
  if (encoded > kPolicyEncodedBytesMax) {
    return Status::InvalidArgument("the attributes may take " + std::to_string(encoded) +
                                   " bytes in a packet, more than " +
                                   std::to_string(kPolicyEncodedBytesMax));
  }
  auto impl = std::make_shared<Impl>(*impl_);
  impl->states[static_cast<size_t>(state)] = std::move(s);
  impl_ = std::move(impl);
  return Status::Ok();
}

std::vector<Attribute> RadiusPolicy::AttributesFor(LineState state, const LineFacts& facts) const {
  const Impl::State& s = impl_->At(state);
  std::vector<Attribute> out;
  out.reserve(s.attributes.size() + 1);
  for (const Template& t : s.attributes) out.push_back(t.Fill(facts));
  AppendReplyMessages(ReplyMessageFor(state, facts), &out);
  return out;
}

std::string RadiusPolicy::ReplyMessageFor(LineState state, const LineFacts& facts) const {
  return std::string(
      Utf8Prefix(FillPieces(impl_->At(state).reply_message, facts), kPolicyReplyMessageBytesMax));
}

bool RadiusPolicy::Refuses(LineState state) const {
  return state == LineState::kBlocked && !HasAttributes(state);
}

bool RadiusPolicy::HasAttributes(LineState state) const {
  return !impl_->At(state).attributes.empty();
}

Status ParseRadiusPolicy(const RadiusPolicyConfig& config, RadiusPolicy* policy) {
  RadiusPolicy p = *policy;
  const std::pair<LineState, const std::optional<StatePolicyConfig>*> states[] = {
      {LineState::kNormal, &config.normal},
      {LineState::kThrottled, &config.throttled},
      {LineState::kBlocked, &config.blocked}};
  for (const auto& [state, c] : states) {
    if (!c->has_value()) continue;
    Status st = p.SetState(state, (*c)->attributes, (*c)->reply_message);
    if (!st.ok()) return st.Prefixed(std::string("radius.policy.") + LineStateName(state));
  }
  *policy = std::move(p);
  return Status::Ok();
}

std::vector<Attribute> ReplyMessageAttributes(std::string_view text) {
  std::vector<Attribute> out;
  AppendReplyMessages(text, &out);
  return out;
}

Status ParsePolicyAttribute(std::string_view entry, const LineFacts& facts, Attribute* attribute) {
  Template t;
  RYURYO_RETURN_IF_ERROR(ParseTemplate(entry, &t));
  *attribute = t.Fill(facts);
  return Status::Ok();
}

}  // namespace ryuryo::radius
