#include "ingest/line_keys.h"

#include "core/record.h"
#include "radius/dictionary.h"

namespace ryuryo::ingest {

namespace {

bool Printable(std::string_view s) {
  if (s.empty() || s.size() > kLineCandidateBytesMax) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

bool ParseLineKeyAttr(std::string_view name, LineKeyAttr* attr) {
  if (name == "3gpp-imsi") {
    *attr = LineKeyAttr::kImsi;
  } else if (name == "calling-station-id") {
    *attr = LineKeyAttr::kCallingStationId;
  } else if (name == "user-name") {
    *attr = LineKeyAttr::kUserName;
  } else {
    return false;
  }
  return true;
}

const char* LineKeyAttrName(LineKeyAttr attr) {
  switch (attr) {
    case LineKeyAttr::kImsi:
      return "3gpp-imsi";
    case LineKeyAttr::kCallingStationId:
      return "calling-station-id";
    case LineKeyAttr::kUserName:
      return "user-name";
  }
  return "?";
}

std::vector<std::string> LineCandidates(const radius::Packet& packet,
                                        const std::vector<LineKeyAttr>& keys) {
  std::vector<std::string> out;
  const radius::Attribute* a = nullptr;
  for (LineKeyAttr k : keys) {
    switch (k) {
      case LineKeyAttr::kImsi:
        if ((a = radius::FindVendor(packet, radius::kVendor3gpp, radius::k3gppImsi)) &&
            Printable(a->value)) {
          out.push_back("imsi:" + a->value);
        }
        break;
      case LineKeyAttr::kCallingStationId:
        if ((a = radius::Find(packet, radius::kCallingStationId)) && Printable(a->value)) {
          out.push_back("msisdn:" + a->value);
        }
        break;
      case LineKeyAttr::kUserName: {
        if ((a = radius::Find(packet, radius::kUserName)) == nullptr) break;
        std::string_view user_name = radius::GetText(*a);
        if (ValidateLineId(user_name).ok()) out.emplace_back(user_name);
        // "440101234567890@apn.example": the part before the realm, as IMSI or MSISDN.
        std::string_view user = user_name.substr(0, user_name.find('@'));
        if (Printable(user)) {
          out.push_back("imsi:" + std::string(user));
          out.push_back("msisdn:" + std::string(user));
        }
        break;
      }
    }
  }
  return out;
}

const Line* ResolveLine(const Meter& meter, const std::vector<std::string>& candidates) {
  for (const std::string& key : candidates) {
    if (const Line* line = meter.FindLine(key)) return line;
  }
  return nullptr;
}

radius::LineFacts FactsOf(const Meter& meter, const Line& line, Millis now) {
  UsageView v = meter.Usage(line, now);
  radius::LineFacts f;
  f.line = line.id;
  f.plan = v.balance->plan->id;
  f.state = v.balance->state;
  f.rate_bps = f.state == LineState::kThrottled ? v.throttle_rate_bps : 0;
  f.remaining_bytes = v.has_quota ? v.remaining_bytes : 0;
  if (f.state != LineState::kNormal) f.reason = StateReasonName(v.balance->reason);
  return f;
}

}  // namespace ryuryo::ingest
