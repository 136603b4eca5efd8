// Alert SMS: the text sent to a subscriber when an event is raised on their line (core/event.h):
// a threshold crossed, the pace warning, the quota used up, the line throttled, blocked or back
// to normal.
//
// Pure: facts + language -> text. Dates and times are already local (the caller converts them in
// the line's time zone). Every text starts with a brand tag ("[流量]" for Japanese and Chinese,
// "[ryuryo]" for English), says what happened and the most useful number, and fits ONE SMS
// segment (70 UCS-2 code units for Japanese and Chinese, 160 GSM-7 septets for English; English
// texts are always GSM-7). Facts as the meter reports them (sizes up to 2^64-1 bytes, rates up
// to 2^64-1 bit/s, any threshold label) always fit without cutting; FitOneSegment
// (sms/segments.h) is only a safety net.
//
// When the whole text still fits its segment, a short opt-out hint is appended ("停止→「停止」と
// 返信", "回复 退订 停止通知", "Reply STOP to opt out."); it is dropped, never the message, when
// it would not fit.
//
// Examples (ja):
//   threshold  "[流量] 80%を使用しました。残り 0.6 GB / 3 GB、12/04 00:00 にリセット。"
//   threshold  "[流量] データ残量が 500 MB を下回りました。残り 480 MB、12/04 00:00 にリセット。"
//   pace       "[流量] このペースだと 12/02 15:00 に上限に達します。残り 1.2 GB / 3 GB。"
//   exhausted  "[流量] データ容量 3 GB を使い切りました。12/04 00:00 にリセット。"
//   throttled  "[流量] 上限に達したため通信速度を 128 kbps に制限中。12/04 00:00 に解除。"
//   restored   "[流量] チャージにより通信制限を解除しました。残り 1 GB。"
//   delayed    "[流量] (23:12) 80%を使用しました。…" (sent after quiet hours)
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "core/event.h"
#include "sms/keywords.h"
#include "sms/reply.h"

namespace ryuryo::sms {

// Facts about an alert, from its Event, with times already in the line's local time.
struct AlertFacts {
  EventType type = EventType::kThreshold;
  // kThreshold: its label as Threshold::Label writes it: "80%", "12.5%" (of the quota used) or
  // "500 MB left". Another label gives a general usage alert that does not quote it.
  std::string threshold;
  // kThrottled, kBlocked: "quota" | "fair_use" | "expired"; kRestored: "reset" | "topup" |
  // "fair_use" | "plan_change". Other values (or none) give a text that names no cause.
  std::string reason;
  bool has_quota = false;  // false: unlimited (no quota numbers are shown)
  uint64_t used_bytes = 0;
  uint64_t quota_bytes = 0;
  uint64_t remaining_bytes = 0;
  uint64_t rate_bps = 0;  // kThrottled: the throttled rate; 0: not shown
  // When the quota renews (and a quota restriction lifts). Leave false when it does not: a
  // pass that ends at cycle_end, or one not started yet.
  bool has_cycle_end = false;
  LocalStamp cycle_end;
  bool has_exhausted_at = false;  // kPace: the projected run-out
  LocalStamp exhausted_at;
  // Sent late (quiet hours): the text starts with the local time it happened, "(23:12) ".
  bool delayed = false;
  LocalStamp raised_at;
};

// Whether AlertText has a text for `type`: kThreshold, kPace, kExhausted, kThrottled, kBlocked,
// kRestored.
bool HasAlertText(EventType type);

// The alert SMS for `f` in `lang` (kUnknown counts as Japanese), fitting one segment; the empty
// string when !HasAlertText(f.type).
std::string AlertText(Language lang, const AlertFacts& f);

}  // namespace ryuryo::sms
