#include "sms/alert_text.h"

#include <cstdio>
#include <string_view>

#include "core/quantity.h"
#include "sms/segments.h"

namespace ryuryo::sms {

namespace {

// The brand tag every alert starts with.
constexpr std::string_view kTagJa = "[流量]";
constexpr std::string_view kTagZh = "[流量]";
constexpr std::string_view kTagEn = "[ryuryo]";

// The opt-out hint, appended when it fits.
constexpr std::string_view kOptOutJa = "停止→「停止」と返信";
constexpr std::string_view kOptOutZh = "回复 退订 停止通知";
constexpr std::string_view kOptOutEn = " Reply STOP to opt out.";

std::string Time(const LocalStamp& s) { return FormatStampTime(s); }
std::string DateTime(const LocalStamp& s) { return FormatStampDateTime(s); }

// A threshold label, read back and written the way SMS texts write quantities.
struct ThresholdLabel {
  enum class Kind { kPercent, kBytesLeft, kOther };
  Kind kind = Kind::kOther;
  std::string text;  // "80%", "500 MB"
};

ThresholdLabel ReadLabel(std::string_view label) {
  ThresholdLabel out;
  uint32_t bp = 0;
  uint64_t bytes = 0;
  constexpr std::string_view kLeft = " left";
  if (!label.empty() && label.back() == '%') {
    if (ParsePercentBp(label, &bp).ok()) {
      out.kind = ThresholdLabel::Kind::kPercent;
      out.text = FormatPercent(bp);
    }
  } else if (label.ends_with(kLeft)) {
    if (ParseBytes(label.substr(0, label.size() - kLeft.size()), &bytes).ok()) {
      out.kind = ThresholdLabel::Kind::kBytesLeft;
      out.text = FormatSmsBytes(bytes);
    }
  }
  return out;
}

// "1.2 GB / 3 GB" (with_total) or "1.2 GB".
std::string Remaining(const AlertFacts& f, bool with_total) {
  std::string s = FormatSmsBytes(f.remaining_bytes);
  if (with_total) s += " / " + FormatSmsBytes(f.quota_bytes);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Japanese

std::string ThresholdJa(const AlertFacts& f) {
  ThresholdLabel t = ReadLabel(f.threshold);
  std::string s;
  switch (t.kind) {
    case ThresholdLabel::Kind::kPercent:
      s = t.text + "を使用しました。";
      break;
    case ThresholdLabel::Kind::kBytesLeft:
      s = "データ残量が " + t.text + " を下回りました。";
      break;
    case ThresholdLabel::Kind::kOther:
      s = "データ使用量のお知らせです。";
      break;
  }
  const bool total = t.kind != ThresholdLabel::Kind::kBytesLeft;
  if (f.has_quota) {
    s += "残り " + Remaining(f, total);
    if (f.has_cycle_end) s += "、" + DateTime(f.cycle_end) + " にリセット";
    s += "。";
  } else if (f.has_cycle_end) {
    s += DateTime(f.cycle_end) + " にリセット。";
  }
  return s;
}

std::string PaceJa(const AlertFacts& f) {
  std::string s = f.has_exhausted_at
                      ? "このペースだと " + DateTime(f.exhausted_at) + " に上限に達します。"
                      : "このペースだとリセット前に上限に達します。";
  if (f.has_quota) s += "残り " + Remaining(f, true) + "。";
  return s;
}

std::string ExhaustedJa(const AlertFacts& f) {
  std::string s = f.has_quota
                      ? "データ容量 " + FormatSmsBytes(f.quota_bytes) + " を使い切りました。"
                      : "データ容量を使い切りました。";
  if (f.has_cycle_end) s += DateTime(f.cycle_end) + " にリセット。";
  return s;
}

std::string ThrottledJa(const AlertFacts& f) {
  std::string s = f.reason == "quota"      ? "上限に達したため"
                  : f.reason == "fair_use" ? "直近の通信量が多いため"
                  : f.reason == "expired"  ? "有効期限が切れたため"
                                           : "";
  s += f.rate_bps > 0 ? "通信速度を " + FormatRate(f.rate_bps) + " に制限中。"
                      : "通信速度を制限中。";
  if (f.reason == "quota" && f.has_cycle_end) s += DateTime(f.cycle_end) + " に解除。";
  if (f.reason == "fair_use") s += "しばらくすると解除されます。";
  return s;
}

std::string BlockedJa(const AlertFacts& f) {
  if (f.reason == "quota") {
    std::string s = "データ容量の上限に達したため通信を停止しました。";
    if (f.has_cycle_end) s += DateTime(f.cycle_end) + " に再開します。";
    return s;
  }
  if (f.reason == "fair_use") {
    return "直近の通信量が多いため通信を一時停止しました。しばらくすると再開します。";
  }
  if (f.reason == "expired") return "有効期限が切れたため通信を停止しました。";
  return "通信を停止しました。";
}

std::string RestoredJa(const AlertFacts& f) {
  std::string s = f.reason == "reset"         ? "データ容量のリセットにより"
                  : f.reason == "topup"       ? "チャージにより"
                  : f.reason == "fair_use"    ? "直近の通信量が減ったため"
                  : f.reason == "plan_change" ? "プラン変更により"
                                              : "";
  s += "通信制限を解除しました。";
  if (f.has_quota) s += "残り " + Remaining(f, false) + "。";
  return s;
}

// ---------------------------------------------------------------------------------------------
// Chinese (Simplified)

std::string ThresholdZh(const AlertFacts& f) {
  ThresholdLabel t = ReadLabel(f.threshold);
  std::string s;
  switch (t.kind) {
    case ThresholdLabel::Kind::kPercent:
      s = "本期流量已用 " + t.text + "。";
      break;
    case ThresholdLabel::Kind::kBytesLeft:
      s = "剩余流量已低于 " + t.text + "。";
      break;
    case ThresholdLabel::Kind::kOther:
      s = "流量使用提醒。";
      break;
  }
  const bool total = t.kind != ThresholdLabel::Kind::kBytesLeft;
  if (f.has_quota) {
    s += "剩余 " + Remaining(f, total);
    if (f.has_cycle_end) s += "，" + DateTime(f.cycle_end) + " 重置";
    s += "。";
  } else if (f.has_cycle_end) {
    s += DateTime(f.cycle_end) + " 重置。";
  }
  return s;
}

std::string PaceZh(const AlertFacts& f) {
  std::string s = f.has_exhausted_at
                      ? "按当前用量，流量将于 " + DateTime(f.exhausted_at) + " 用完。"
                      : "按当前用量，流量将在重置前用完。";
  if (f.has_quota) s += "剩余 " + Remaining(f, true) + "。";
  return s;
}

std::string ExhaustedZh(const AlertFacts& f) {
  std::string s =
      f.has_quota ? "本期 " + FormatSmsBytes(f.quota_bytes) + " 流量已用完。" : "本期流量已用完。";
  if (f.has_cycle_end) s += DateTime(f.cycle_end) + " 重置。";
  return s;
}

std::string ThrottledZh(const AlertFacts& f) {
  std::string s = f.reason == "quota"      ? "流量已用完，"
                  : f.reason == "fair_use" ? "近期用量较大，"
                  : f.reason == "expired"  ? "套餐已到期，"
                                           : "";
  s += f.rate_bps > 0 ? "网速已限制为 " + FormatRate(f.rate_bps) : std::string("网速已受限");
  if (f.reason == "quota" && f.has_cycle_end) {
    s += "，" + DateTime(f.cycle_end) + " 恢复";
  } else if (f.reason == "fair_use") {
    s += "，稍后自动恢复";
  }
  return s + "。";
}

std::string BlockedZh(const AlertFacts& f) {
  if (f.reason == "quota") {
    std::string s = "流量已用完，已暂停上网";
    if (f.has_cycle_end) s += "，" + DateTime(f.cycle_end) + " 恢复";
    return s + "。";
  }
  if (f.reason == "fair_use") return "近期用量较大，已暂停上网，稍后自动恢复。";
  if (f.reason == "expired") return "套餐已到期，已暂停上网。";
  return "已暂停上网。";
}

std::string RestoredZh(const AlertFacts& f) {
  std::string s = f.reason == "reset"         ? "流量已重置，"
                  : f.reason == "topup"       ? "加油包已生效，"
                  : f.reason == "fair_use"    ? "近期用量已回落，"
                  : f.reason == "plan_change" ? "套餐已变更，"
                                              : "";
  s += "已恢复正常上网。";
  if (f.has_quota) s += "剩余 " + Remaining(f, false) + "。";
  return s;
}

// ---------------------------------------------------------------------------------------------
// English (GSM-7 only)

std::string ThresholdEn(const AlertFacts& f) {
  ThresholdLabel t = ReadLabel(f.threshold);
  std::string s;
  switch (t.kind) {
    case ThresholdLabel::Kind::kPercent:
      s = "You have used " + t.text + " of your data.";
      break;
    case ThresholdLabel::Kind::kBytesLeft:
      s = "Your data is below " + t.text + ".";
      break;
    case ThresholdLabel::Kind::kOther:
      s = "Data usage alert.";
      break;
  }
  const bool total = t.kind != ThresholdLabel::Kind::kBytesLeft;
  if (f.has_quota) {
    s += " " +
         (total ? FormatSmsBytes(f.remaining_bytes) + " of " + FormatSmsBytes(f.quota_bytes)
                : FormatSmsBytes(f.remaining_bytes)) +
         " left";
    if (f.has_cycle_end) s += ", resets " + DateTime(f.cycle_end);
    s += ".";
  } else if (f.has_cycle_end) {
    s += " Resets " + DateTime(f.cycle_end) + ".";
  }
  return s;
}

std::string PaceEn(const AlertFacts& f) {
  std::string s = f.has_exhausted_at
                      ? "At this pace you run out of data by " + DateTime(f.exhausted_at) + "."
                      : "At this pace you run out of data before it resets.";
  if (f.has_quota) {
    s +=
        " " + FormatSmsBytes(f.remaining_bytes) + " of " + FormatSmsBytes(f.quota_bytes) + " left.";
  }
  return s;
}

std::string ExhaustedEn(const AlertFacts& f) {
  std::string s = f.has_quota
                      ? "You have used all " + FormatSmsBytes(f.quota_bytes) + " of your data."
                      : "You have used all your data.";
  if (f.has_cycle_end) s += " It resets " + DateTime(f.cycle_end) + ".";
  return s;
}

std::string ThrottledEn(const AlertFacts& f) {
  std::string s = f.reason == "quota"      ? "Data limit reached: speed"
                  : f.reason == "fair_use" ? "Heavy recent use: speed"
                  : f.reason == "expired"  ? "Your plan has expired: speed"
                                           : "Speed";
  s += f.rate_bps > 0 ? " is limited to " + FormatRate(f.rate_bps) : std::string(" is limited");
  if (f.reason == "quota" && f.has_cycle_end) {
    s += " until " + DateTime(f.cycle_end);
  } else if (f.reason == "fair_use") {
    s += " for a while";
  }
  return s + ".";
}

std::string BlockedEn(const AlertFacts& f) {
  if (f.reason == "quota") {
    std::string s = "Data limit reached: data is paused";
    if (f.has_cycle_end) s += " until " + DateTime(f.cycle_end);
    return s + ".";
  }
  if (f.reason == "fair_use") return "Heavy recent use: data is paused for a while.";
  if (f.reason == "expired") return "Your plan has expired: data is paused.";
  return "Data is paused on your line.";
}

std::string RestoredEn(const AlertFacts& f) {
  std::string s = f.reason == "reset"         ? "Your data has reset: normal"
                  : f.reason == "topup"       ? "Top-up added: normal"
                  : f.reason == "fair_use"    ? "Your recent use has dropped: normal"
                  : f.reason == "plan_change" ? "Plan changed: normal"
                                              : "Normal";
  s += " service is back.";
  if (f.has_quota) s += " " + FormatSmsBytes(f.remaining_bytes) + " left.";
  return s;
}

// ---------------------------------------------------------------------------------------------

std::string Body(Language lang, const AlertFacts& f) {
  switch (lang) {
    case Language::kZh:
      switch (f.type) {
        case EventType::kThreshold:
          return ThresholdZh(f);
        case EventType::kPace:
          return PaceZh(f);
        case EventType::kExhausted:
          return ExhaustedZh(f);
        case EventType::kThrottled:
          return ThrottledZh(f);
        case EventType::kBlocked:
          return BlockedZh(f);
        case EventType::kRestored:
          return RestoredZh(f);
        default:
          return "";
      }
    case Language::kEn:
      switch (f.type) {
        case EventType::kThreshold:
          return ThresholdEn(f);
        case EventType::kPace:
          return PaceEn(f);
        case EventType::kExhausted:
          return ExhaustedEn(f);
        case EventType::kThrottled:
          return ThrottledEn(f);
        case EventType::kBlocked:
          return BlockedEn(f);
        case EventType::kRestored:
          return RestoredEn(f);
        default:
          return "";
      }
    default:
      switch (f.type) {
        case EventType::kThreshold:
          return ThresholdJa(f);
        case EventType::kPace:
          return PaceJa(f);
        case EventType::kExhausted:
          return ExhaustedJa(f);
        case EventType::kThrottled:
          return ThrottledJa(f);
        case EventType::kBlocked:
          return BlockedJa(f);
        case EventType::kRestored:
          return RestoredJa(f);
        default:
          return "";
      }
  }
}

}  // namespace

bool HasAlertText(EventType type) { return IsAlertEvent(type); }

std::string AlertText(Language lang, const AlertFacts& f) {
  if (!HasAlertText(f.type)) return "";
  const std::string_view tag = lang == Language::kZh   ? kTagZh
                               : lang == Language::kEn ? kTagEn
                                                       : kTagJa;
  const std::string_view hint = lang == Language::kZh   ? kOptOutZh
                                : lang == Language::kEn ? kOptOutEn
                                                        : kOptOutJa;
  std::string s(tag);
  s += ' ';
  if (f.delayed) s += "(" + Time(f.raised_at) + ") ";
  s += Body(lang, f);
  std::string with_hint = s;
  with_hint += hint;
  if (SegmentsFor(with_hint) == 1) return with_hint;
  return FitOneSegment(s);
}

}  // namespace ryuryo::sms
