// SMS alerts: an alert of a line (threshold, pace, exhausted, throttled, blocked, restored) sent
// as an SMS through Kannel (notify/kannel.h), from the same durable outbox as webhooks.
//
// Routing (in the commit that raised the event, like every outbox entry):
//   kSmsEndpointBase + channel id   an SMS channel the subscriber (or an operator) set on the
//                                   line (notify/channels.h): its number and quiet hours;
//   kSmsEndpointBase                with `all_lines`, every line that has no SMS channel of its
//                                   own: the line's MSISDN and the default quiet hours.
// The outbox worker of the SMS lane (notify/webhook.h) hands each due entry to Deliver, which
// decides, at that moment:
//   dropped   the channel was removed (or is another line's), the line is gone or has no number,
//             the subscriber texted STOP (notify/sms_optout.h), the line already had
//             `daily_max_per_line` alert SMS today (its local day), or the alert is stale (a
//             threshold, pace or exhausted alert whose cycle has ended since);
//   deferred  the line's local time is inside its quiet hours: the entry waits, without counting
//             as a failed attempt, until they end;
//   failed    Kannel did not accept it: retried with the outbox's backoff;
//   sent      Kannel accepted it; the line's count for the day goes up (kept in the store, so a
//             restart does not reset the cap).
// The text is in the line's language and fits one SMS (sms/alert_text.h); an alert sent more than
// kSmsDelayNoticeMs after it was raised says when it happened.
//
// Delivery is at-least-once, like webhooks: a crash between Kannel's answer and the outbox
// update sends the SMS again after the restart.
//
// Thread-safety: Deliver is called by one thread (the SMS lane's worker); Route from the ledger's
// thread; MetricsText from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "core/timeutil.h"
#include "notify/channels.h"
#include "notify/sms_optout.h"
#include "notify/webhook.h"
#include "sms/quiet_hours.h"
#include "store/store.h"

namespace ryuryo::notify {

// An alert sent this long after it was raised starts with the local time it happened.
inline constexpr int64_t kSmsDelayNoticeMs = 10 * kMillisPerMinute;
// Lines whose count of today's alert SMS is kept in memory; past it, counts of earlier days are
// forgotten first.
inline constexpr size_t kSmsCountedLinesMax = 1'000'000;

struct SmsAlertOptions {
  bool all_lines = false;       // every line with an MSISDN gets alert SMS unless it has a channel
  sms::QuietHours quiet_hours;  // the default; an SMS channel may set its own
  uint32_t daily_max_per_line = 5;
};

// What Deliver needs to know of a line.
struct SmsLine {
  std::string msisdn;  // E.164 digits; empty: the line has no number
  std::string locale;  // ja | zh | en
  Zone zone;
  bool renews = true;  // false: a pass, whose cycle end is its expiry, not a reset
};

class SmsAlerts {
 public:
  using LineLookup = std::function<std::optional<SmsLine>(const std::string& line)>;
  using Send = std::function<Status(std::string_view to_e164_digits, std::string_view text)>;
  using Clock = std::function<Millis()>;

  // Loads today's counts from `store`. `channels`, `opt_out` and `store` must outlive it.
  static Status Open(store::Store* store, SmsAlertOptions options, const ChannelRegistry* channels,
                     const SmsOptOut* opt_out, LineLookup lookup, Send send, Clock clock,
                     std::unique_ptr<SmsAlerts>* out);

  // Appends kSmsEndpointBase for an alert of a line without an SMS channel, with `all_lines`.
  void Route(const Event& ev, std::vector<uint32_t>* endpoints) const;

  // The outbox's SMS sender (see the top of this file).
  SmsResult Deliver(const Event& ev, uint32_t endpoint);

  // Prometheus text: SMS sent, and dropped by reason.
  std::string MetricsText() const;

 private:
  enum Drop { kGone, kStopped, kCapped, kStale, kDropReasons };
  SmsAlerts(store::Store* store, SmsAlertOptions options, const ChannelRegistry* channels,
            const SmsOptOut* opt_out, LineLookup lookup, Send send, Clock clock);
  SmsResult Dropped(Drop why, std::string text);
  // The count of `line` on local day `day`, and after one more SMS.
  uint32_t SentOn(const std::string& line, const LocalDate& day) const;
  Status CountSent(const std::string& line, const LocalDate& day);

  store::Store* store_;
  SmsAlertOptions options_;
  const ChannelRegistry* channels_;
  const SmsOptOut* opt_out_;
  LineLookup lookup_;
  Send send_;
  Clock clock_;
  struct Count {
    LocalDate day;
    uint32_t sent = 0;
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, Count> sent_;  // by line
  std::atomic<uint64_t> sent_total_{0};
  std::atomic<uint64_t> dropped_[kDropReasons] = {};
};

}  // namespace ryuryo::notify
