#include "sms/keywords.h"

#include <string>

#include "sms/utf8.h"

namespace ryuryo::sms {
namespace {

struct Entry {
  std::string_view text;  // folded form: lower case, single spaces, no trailing punctuation
  Keyword kind;
  Language lang;
};

// One entry per folded text; the header lists the same words.
constexpr Entry kEntries[] = {
    // Japanese.
    {"残量", Keyword::kBalance, Language::kJa},
    {"残り", Keyword::kBalance, Language::kJa},
    {"のこり", Keyword::kBalance, Language::kJa},
    {"ざんりょう", Keyword::kBalance, Language::kJa},
    {"データ残量", Keyword::kBalance, Language::kJa},
    {"残量確認", Keyword::kBalance, Language::kJa},
    {"データ", Keyword::kBalance, Language::kJa},
    {"今日", Keyword::kToday, Language::kJa},  // also Chinese; see the header
    {"きょう", Keyword::kToday, Language::kJa},
    {"本日", Keyword::kToday, Language::kJa},
    {"今日の使用量", Keyword::kToday, Language::kJa},
    {"リセット", Keyword::kReset, Language::kJa},
    {"リセット日", Keyword::kReset, Language::kJa},
    {"更新日", Keyword::kReset, Language::kJa},
    {"チャージ", Keyword::kTopups, Language::kJa},
    {"追加", Keyword::kTopups, Language::kJa},
    {"データ追加", Keyword::kTopups, Language::kJa},
    {"停止", Keyword::kStop, Language::kJa},  // also Chinese; see the header
    {"ストップ", Keyword::kStop, Language::kJa},
    {"配信停止", Keyword::kStop, Language::kJa},
    {"再開", Keyword::kStart, Language::kJa},
    {"開始", Keyword::kStart, Language::kJa},
    {"スタート", Keyword::kStart, Language::kJa},
    {"ヘルプ", Keyword::kHelp, Language::kJa},
    {"使い方", Keyword::kHelp, Language::kJa},
    // Chinese (Simplified).
    {"余额", Keyword::kBalance, Language::kZh},
    {"流量", Keyword::kBalance, Language::kZh},
    {"剩余流量", Keyword::kBalance, Language::kZh},
    {"查询", Keyword::kBalance, Language::kZh},
    {"查询流量", Keyword::kBalance, Language::kZh},
    {"今天", Keyword::kToday, Language::kZh},
    {"今日用量", Keyword::kToday, Language::kZh},
    {"今天用量", Keyword::kToday, Language::kZh},
    {"重置", Keyword::kReset, Language::kZh},
    {"重置日期", Keyword::kReset, Language::kZh},
    {"充值", Keyword::kTopups, Language::kZh},
    {"加油包", Keyword::kTopups, Language::kZh},
    {"退订", Keyword::kStop, Language::kZh},
    {"开始", Keyword::kStart, Language::kZh},
    {"恢复", Keyword::kStart, Language::kZh},
    {"帮助", Keyword::kHelp, Language::kZh},
    // English.
    {"balance", Keyword::kBalance, Language::kEn},
    {"bal", Keyword::kBalance, Language::kEn},
    {"data", Keyword::kBalance, Language::kEn},
    {"left", Keyword::kBalance, Language::kEn},
    {"today", Keyword::kToday, Language::kEn},
    {"usage", Keyword::kToday, Language::kEn},
    {"reset", Keyword::kReset, Language::kEn},
    {"renew", Keyword::kReset, Language::kEn},
    {"topup", Keyword::kTopups, Language::kEn},
    {"top up", Keyword::kTopups, Language::kEn},
    {"top-up", Keyword::kTopups, Language::kEn},
    {"topups", Keyword::kTopups, Language::kEn},
    {"top ups", Keyword::kTopups, Language::kEn},
    {"stop", Keyword::kStop, Language::kEn},
    {"stopall", Keyword::kStop, Language::kEn},
    {"unsubscribe", Keyword::kStop, Language::kEn},
    {"cancel", Keyword::kStop, Language::kEn},
    {"end", Keyword::kStop, Language::kEn},
    {"quit", Keyword::kStop, Language::kEn},
    {"start", Keyword::kStart, Language::kEn},
    {"unstop", Keyword::kStart, Language::kEn},
    {"help", Keyword::kHelp, Language::kEn},
    {"info", Keyword::kHelp, Language::kEn},
};

bool IsSpace(char32_t c) {
  return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || c == U'\v' || c == U'\f' ||
         c == 0x00A0 || c == 0x3000;
}

// Trailing punctuation, after full-width folding.
bool IsTrailingPunct(char32_t c) {
  switch (c) {
    case U'.':
    case U',':
    case U'!':
    case U'?':
    case U';':
    case U':':
    case U'~':
    case 0x3002:  // 。
    case 0x3001:  // 、
    case 0x2026:  // …
    case 0x203C:  // ‼
    case 0x2047:  // ⁇
    case 0x2048:  // ⁈
    case 0x2049:  // ⁉
    case 0x301C:  // 〜
      return true;
    default:
      return false;
  }
}

// Full-width ASCII to ASCII, ASCII upper to lower case, every space to ' '.
char32_t Fold(char32_t c) {
  if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0;
  if (IsSpace(c)) return U' ';
  if (c >= U'A' && c <= U'Z') return c + (U'a' - U'A');
  return c;
}

}  // namespace

ParsedKeyword ParseKeyword(std::string_view utf8_text) {
  if (utf8_text.size() > kKeywordTextBytesMax) return {};
  std::u32string chars;
  chars.reserve(utf8_text.size());
  size_t pos = 0;
  while (pos < utf8_text.size()) {
    const char32_t c = Fold(NextCodePoint(utf8_text, &pos));
    if (c == U' ' && (chars.empty() || chars.back() == U' ')) continue;  // leading or repeated
    chars.push_back(c);
  }
  while (!chars.empty() && chars.back() == U' ') chars.pop_back();

  if (!chars.empty() && chars.find_first_not_of(U'?') == std::u32string::npos) {
    return {Keyword::kHelp, Language::kUnknown};
  }
  while (!chars.empty() && (chars.back() == U' ' || IsTrailingPunct(chars.back()))) {
    chars.pop_back();
  }
  if (chars.empty()) return {};

  std::string folded;
  for (char32_t c : chars) AppendUtf8(c, &folded);
  for (const Entry& e : kEntries) {
    if (e.text == folded) return {e.kind, e.lang};
  }
  return {};
}

const char* KeywordName(Keyword kind) {
  switch (kind) {
    case Keyword::kBalance:
      return "balance";
    case Keyword::kToday:
      return "today";
    case Keyword::kReset:
      return "reset";
    case Keyword::kTopups:
      return "topups";
    case Keyword::kStop:
      return "stop";
    case Keyword::kStart:
      return "start";
    case Keyword::kHelp:
      return "help";
    case Keyword::kUnknown:
      return "unknown";
  }
  return "unknown";
}

const char* LanguageName(Language lang) {
  switch (lang) {
    case Language::kJa:
      return "ja";
    case Language::kZh:
      return "zh";
    case Language::kEn:
      return "en";
    case Language::kUnknown:
      return "unknown";
  }
  return "unknown";
}

}  // namespace ryuryo::sms
