#include "sms/reply.h"

#include <cstdio>

#include "sms/segments.h"
#include "sms/utf8.h"

namespace ryuryo::sms {

namespace {

Language LocaleLanguage(std::string_view locale) {
  if (locale.starts_with("zh")) return Language::kZh;
  if (locale.starts_with("en")) return Language::kEn;
  return Language::kJa;
}

bool HasKana(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t c = NextCodePoint(text, &pos);
    if ((c >= 0x3040 && c <= 0x30FF) || (c >= 0xFF66 && c <= 0xFF9F)) return true;
  }
  return false;
}

std::string Date(const LocalStamp& s) { return FormatStampDate(s); }
std::string DateTime(const LocalStamp& s) { return FormatStampDateTime(s); }

std::string Help(Language lang) {
  switch (lang) {
    case Language::kZh:
      return "发送 余额、今天、重置、充值、退订 或 开始 查询流量或管理通知短信。";
    case Language::kEn:
      return "Text BALANCE, TODAY, RESET, TOPUP, STOP (no alert SMS) or START.";
    default:
      return "残量・今日・リセット・チャージ・停止・再開 のいずれかを送信してください。";
  }
}

std::string Balance(Language lang, const UsageFacts& f) {
  std::string used = FormatSmsBytes(f.used_bytes);
  std::string s;
  switch (lang) {
    case Language::kZh:
      s = f.has_quota
              ? "剩余 " + FormatSmsBytes(f.remaining_bytes) + " / " + FormatSmsBytes(f.quota_bytes)
              : "本期已用 " + used + "（不限量）";
      if (f.started) s += "，" + DateTime(f.cycle_end) + " 重置";
      s += "。";
      if (f.has_quota && f.has_exhausted) s += "按当前用量，" + Date(f.exhausted_at) + " 用完。";
      return s;
    case Language::kEn:
      s = f.has_quota
              ? FormatSmsBytes(f.remaining_bytes) + " of " + FormatSmsBytes(f.quota_bytes) + " left"
              : used + " used (unlimited)";
      if (f.started) s += ", resets " + DateTime(f.cycle_end);
      s += ".";
      if (f.has_quota && f.has_exhausted) {
        s += " At this pace you run out " + Date(f.exhausted_at) + ".";
      }
      return s;
    default:
      s = f.has_quota
              ? "残り " + FormatSmsBytes(f.remaining_bytes) + " / " + FormatSmsBytes(f.quota_bytes)
              : "今期の使用量 " + used + "（無制限）";
      if (f.started) s += "、" + DateTime(f.cycle_end) + " にリセット";
      s += "。";
      if (f.has_quota && f.has_exhausted)
        s += "このペースだと " + Date(f.exhausted_at) + " に上限。";
      return s;
  }
}

std::string Today(Language lang, const UsageFacts& f) {
  std::string today = FormatSmsBytes(f.today_bytes);
  std::string rest = f.has_quota ? FormatSmsBytes(f.remaining_bytes) : "";
  switch (lang) {
    case Language::kZh:
      return "今天已用 " + today + "。" + (f.has_quota ? "剩余 " + rest + "。" : "");
    case Language::kEn:
      return "Used today: " + today + "." + (f.has_quota ? " " + rest + " left." : "");
    default:
      return "今日の使用量 " + today + "。" + (f.has_quota ? "残り " + rest + "。" : "");
  }
}

std::string Reset(Language lang, const UsageFacts& f) {
  switch (lang) {
    case Language::kZh:
      return f.started ? "下次重置：" + DateTime(f.cycle_end) + "。" : "首次使用时开始计算。";
    case Language::kEn:
      return f.started ? "Next reset: " + DateTime(f.cycle_end) + "."
                       : "Your plan starts at first use.";
    default:
      return f.started ? "次のリセットは " + DateTime(f.cycle_end) + "。"
                       : "初回利用時に開始します。";
  }
}

std::string Topups(Language lang, const UsageFacts& f) {
  if (f.topups.empty()) {
    switch (lang) {
      case Language::kZh:
        return "没有有效的加油包。";
      case Language::kEn:
        return "No active top-ups.";
      default:
        return "有効な追加データはありません。";
    }
  }
  std::string s;
  switch (lang) {
    case Language::kZh:
      s = "加油包:";
      break;
    case Language::kEn:
      s = "Top-ups:";
      break;
    default:
      s = "追加データ:";
      break;
  }
  for (size_t i = 0; i < f.topups.size(); ++i) {
    const TopupFact& t = f.topups[i];
    std::string item = (i == 0 ? " " : ", ") + FormatSmsBytes(t.remaining_bytes) + " / " +
                       FormatSmsBytes(t.quota_bytes);
    switch (lang) {
      case Language::kZh:
        item += " (" + Date(t.expires) + "前)";
        break;
      case Language::kEn:
        item += " (to " + Date(t.expires) + ")";
        break;
      default:
        item += " (" + Date(t.expires) + "まで)";
        break;
    }
    // Whole items only: stop before one that would not fit.
    if (i > 0 && SegmentsFor(s + item) > 1) break;
    s += item;
  }
  return s;
}

std::string StopStart(Language lang, bool stop) {
  switch (lang) {
    case Language::kZh:
      return stop ? "已停止流量提醒短信。发送 开始 恢复。" : "已恢复流量提醒短信。发送 退订 停止。";
    case Language::kEn:
      return stop ? "Data alert SMS are off. Text START to turn them on again."
                  : "Data alert SMS are on. Text STOP to turn them off.";
    default:
      return stop ? "データ通知SMSを停止しました。再開するには「再開」を送信してください。"
                  : "データ通知SMSを再開しました。停止するには「停止」を送信してください。";
  }
}

}  // namespace

std::string FormatStampDate(const LocalStamp& s) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d/%02d", s.month, s.day);
  return buf;
}

std::string FormatStampTime(const LocalStamp& s) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", s.hour, s.minute);
  return buf;
}

std::string FormatStampDateTime(const LocalStamp& s) {
  return FormatStampDate(s) + " " + FormatStampTime(s);
}

LocalStamp LocalStampAt(const Zone& zone, Millis at) {
  LocalStamp s;
  const LocalDate d = zone.DateAt(at);
  s.month = d.month;
  s.day = d.day;
  const int minute_of_day = zone.MinuteOfDayAt(at);
  s.hour = minute_of_day / 60;
  s.minute = minute_of_day % 60;
  return s;
}

Language ReplyLanguage(std::string_view line_locale, const ParsedKeyword& kw,
                       std::string_view text) {
  const Language line = LocaleLanguage(line_locale);
  if (kw.lang == Language::kUnknown || kw.lang == line) return line;
  if (kw.lang == Language::kJa && line == Language::kZh && !HasKana(text)) return line;
  return kw.lang;
}

std::string ReplyText(Keyword kind, Language lang, const UsageFacts& facts) {
  std::string s;
  switch (kind) {
    case Keyword::kBalance:
      s = Balance(lang, facts);
      break;
    case Keyword::kToday:
      s = Today(lang, facts);
      break;
    case Keyword::kReset:
      s = Reset(lang, facts);
      break;
    case Keyword::kTopups:
      s = Topups(lang, facts);
      break;
    case Keyword::kStop:
      s = StopStart(lang, true);
      break;
    case Keyword::kStart:
      s = StopStart(lang, false);
      break;
    case Keyword::kHelp:
    case Keyword::kUnknown:
      s = Help(lang);
      break;
  }
  return FitOneSegment(s);
}

std::string UnknownSenderReply(Language lang) {
  switch (lang) {
    case Language::kZh:
      return "此号码未登记流量服务。";
    case Language::kEn:
      return "This number is not registered for data usage info.";
    default:
      return "この番号はデータ残量サービスに登録されていません。";
  }
}

std::string LoginCodeText(Language lang, std::string_view code, int valid_minutes) {
  const std::string c(code), m = std::to_string(valid_minutes);
  switch (lang) {
    case Language::kZh:
      return "[流量] 登录验证码：" + c + "（" + m + "分钟内有效）。请勿告诉他人。";
    case Language::kEn:
      return "[ryuryo] Your sign-in code: " + c + " (valid " + m +
             " min). Never share it; we will not ask for it.";
    default:
      return "[流量] ログインコード：" + c + "（" + m + "分間有効）。他人に教えないでください。";
  }
}

std::string FormatSmsBytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KB", "MB", "GB", "TB", "PB"};
  if (bytes < 1000) return std::to_string(bytes) + " B";
  int unit = 0;
  double v = static_cast<double>(bytes);
  while (v >= 1000 && unit < 5) {
    v /= 1000;
    ++unit;
  }
  // 3 significant digits, rounded down so that "remaining" is never overstated.
  char buf[32];
  int decimals = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  double scale = decimals == 0 ? 1 : decimals == 1 ? 10 : 100;
  double r = static_cast<double>(static_cast<uint64_t>(v * scale + 1e-9)) / scale;
  std::snprintf(buf, sizeof buf, "%.*f", decimals, r);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s + " " + kUnits[unit];
}

}  // namespace ryuryo::sms
