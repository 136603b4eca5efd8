// SMS keywords: what a subscriber asks for when texting the service number ("残量", "余额",
// "BALANCE", "STOP" ...), and in which language they asked, so that the reply can be written in
// that language when the line has none configured.
//
// ParseKeyword matches the whole message against a fixed list of keywords and variants after
// folding it:
//  - full-width ASCII (U+FF01..U+FF5E) becomes ASCII ("ＳＴＯＰ" → "stop"), ASCII letters
//    become lower case;
//  - whitespace (ASCII, U+00A0, the ideographic space U+3000) is trimmed at both ends and runs
//    inside become one space ("top  up" → "top up");
//  - trailing punctuation is dropped: . , ! ? ; : ~ and 。 、 … ‼ ⁇ ⁈ ⁉ 〜 (and the
//    full-width forms of the ASCII ones), so "残量？" and "balance!" match.
// Half-width katakana and other compatibility forms are not folded. Text that is not exactly
// one keyword ("what is my balance") is kUnknown: a reply then explains the keywords (HELP).
//
// Keywords (upper/lower case and width do not matter):
//   kBalance  ja 残量 残り のこり ざんりょう データ残量 残量確認 データ
//             zh 余额 流量 剩余流量 查询 查询流量
//             en BALANCE BAL DATA LEFT
//   kToday    ja 今日 きょう 本日 今日の使用量
//             zh 今天 今日用量 今天用量
//             en TODAY USAGE
//   kReset    ja リセット リセット日 更新日
//             zh 重置 重置日期
//             en RESET RENEW
//   kTopups   ja チャージ 追加 データ追加
//             zh 充值 加油包
//             en TOPUP TOP UP TOP-UP TOPUPS TOP UPS
//   kStop     ja 停止 ストップ 配信停止
//             zh 退订
//             en STOP STOPALL UNSUBSCRIBE CANCEL END QUIT
//   kStart    ja 再開 開始 スタート
//             zh 开始 恢复
//             en START UNSTOP
//   kHelp     ja ヘルプ 使い方
//             zh 帮助
//             en HELP INFO
//             language-neutral: ? (one or more; "？" too)
// Chinese is Simplified (zh-Hans) only.
//
// 今日 and 停止 are written the same in Japanese and Chinese. They are reported as kJa: ryuryo's
// lines are Japanese SIMs first, and Chinese speakers write 今天 and 退订 far more often. A
// caller that knows the line's language should reply in it regardless of `lang`; `lang` is
// the fallback. kUnknown as a language means the keyword does not tell ("?").
//
// Never fails: invalid UTF-8 decodes as U+FFFD (sms/utf8.h), which matches no keyword. Text
// longer than kKeywordTextBytesMax is kUnknown without being folded.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace ryuryo::sms {

// Longer messages are not keywords; the bound keeps the work per message small.
inline constexpr size_t kKeywordTextBytesMax = 256;

enum class Keyword { kBalance, kToday, kReset, kTopups, kStop, kStart, kHelp, kUnknown };
enum class Language { kUnknown, kJa, kZh, kEn };

struct ParsedKeyword {
  Keyword kind = Keyword::kUnknown;
  Language lang = Language::kUnknown;  // kUnknown for language-neutral keywords and for kUnknown
};

ParsedKeyword ParseKeyword(std::string_view utf8_text);

// "balance", "today", "reset", "topups", "stop", "start", "help", "unknown".
const char* KeywordName(Keyword kind);
// "ja", "zh", "en", "unknown".
const char* LanguageName(Language lang);

}  // namespace ryuryo::sms
