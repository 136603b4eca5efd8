// SMS replies: the text sent back to a subscriber who texted a keyword (sms/keywords.h) to the
// service number, from facts about their line that the caller reads from the meter.
//
// Pure: keyword + facts + language -> text. Dates and times are already local (the caller
// converts them in the line's time zone). Every reply is written to fit ONE SMS segment (70
// UCS-2 code units for Japanese and Chinese, 160 GSM-7 septets for English) and is cut with
// FitOneSegment (sms/segments.h) as a last resort (e.g. a long list of top-ups).
//
// Examples (ja):
//   balance  "残り 1.23 GB / 3 GB、12/04 00:00 にリセット。このペースだと 12/02 に上限。"
//   today    "今日の使用量 120 MB。残り 1.23 GB。"
//   reset    "次のリセットは 12/04 00:00。"
//   topups   "追加データ: 0.8 GB / 1 GB (12/31まで)"
//   stop     "データ通知SMSを停止しました。再開は「再開」を送信。"
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/timeutil.h"
#include "sms/keywords.h"

namespace ryuryo::sms {

// A local date and time in the line's zone.
struct LocalStamp {
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  int hour = 0;
  int minute = 0;
};

// The local date and time of instant `at` in `zone`.
LocalStamp LocalStampAt(const Zone& zone, Millis at);
// "12/04", "23:12" and "12/04 23:12", as every SMS text writes them.
std::string FormatStampDate(const LocalStamp& s);
std::string FormatStampTime(const LocalStamp& s);
std::string FormatStampDateTime(const LocalStamp& s);

struct TopupFact {
  uint64_t quota_bytes = 0;
  uint64_t remaining_bytes = 0;
  LocalStamp expires;
};

struct UsageFacts {
  bool has_quota = false;   // false: unlimited plan
  uint64_t used_bytes = 0;  // this cycle
  uint64_t quota_bytes = 0;
  uint64_t remaining_bytes = 0;
  uint64_t today_bytes = 0;    // the local day so far
  bool started = true;         // false: a first-use pass not yet used (no cycle end)
  LocalStamp cycle_end;        // when started
  bool has_exhausted = false;  // the forecast runs out within the cycle
  LocalStamp exhausted_at;
  std::vector<TopupFact> topups;  // active top-up buckets, in consumption order
};

// The language a reply is written in: the keyword's language when it names one that differs from
// the line's locale ("ja", "zh", "en"; anything else counts as "ja"), else the line's. Han-only
// keywords that Japanese and Chinese share (今日, 停止: ParseKeyword reports them as ja) keep
// a zh line's language: `text` is the message, to tell whether it has kana.
Language ReplyLanguage(std::string_view line_locale, const ParsedKeyword& kw,
                       std::string_view text);

// The reply to `kind` (kUnknown: the HELP text) for a known line. STOP / START only confirm:
// the caller records the flag.
std::string ReplyText(Keyword kind, Language lang, const UsageFacts& facts);

// The short reply to a number that is not a line's.
std::string UnknownSenderReply(Language lang);

// The SMS carrying a dashboard sign-in code (one segment).
std::string LoginCodeText(Language lang, std::string_view code, int valid_minutes);

// "1.23 GB", "850 MB", "3 GB", "0 MB" (SI units, at most 3 significant digits, trailing zeros
// dropped).
std::string FormatSmsBytes(uint64_t bytes);

}  // namespace ryuryo::sms
