#include "notify/sms_alerts.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "sms/alert_text.h"
#include "sms/reply.h"

namespace ryuryo::notify {

namespace {

constexpr std::string_view kSentPrefix = "sms/sent/";

std::string DayText(const LocalDate& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year, d.month, d.day);
  return buf;
}

bool ParseDayCount(std::string_view text, LocalDate* d, uint32_t* n) {
  int y = 0, m = 0, day = 0;
  unsigned count = 0;
  if (std::sscanf(std::string(text).c_str(), "%d-%d-%d %u", &y, &m, &day, &count) != 4) {
    return false;
  }
  *d = LocalDate{y, m, day};
  *n = count;
  return true;
}

// Alerts about a cycle's usage say nothing true once that cycle has ended.
bool AboutTheCycle(EventType t) {
  return t == EventType::kThreshold || t == EventType::kPace || t == EventType::kExhausted;
}

const char* DropName(int why) {
  static const char* kNames[] = {"gone", "stopped", "capped", "stale"};
  return kNames[why];
}

}  // namespace

SmsAlerts::SmsAlerts(store::Store* store, SmsAlertOptions options, const ChannelRegistry* channels,
                     const SmsOptOut* opt_out, LineLookup lookup, Send send, Clock clock)
    : store_(store),
      options_(options),
      channels_(channels),
      opt_out_(opt_out),
      lookup_(std::move(lookup)),
      send_(std::move(send)),
      clock_(std::move(clock)) {}

Status SmsAlerts::Open(store::Store* store, SmsAlertOptions options,
                       const ChannelRegistry* channels, const SmsOptOut* opt_out, LineLookup lookup,
                       Send send, Clock clock, std::unique_ptr<SmsAlerts>* out) {
  std::unique_ptr<SmsAlerts> a(new SmsAlerts(store, options, channels, opt_out, std::move(lookup),
                                             std::move(send), std::move(clock)));
  RYURYO_RETURN_IF_ERROR(
      store->ScanAccountData(kSentPrefix, [&](std::string_view key, std::string_view value) {
        Count c;
        if (!ParseDayCount(value, &c.day, &c.sent)) {
          spdlog::warn("sms: unreadable daily count '{}' ignored", key);
          return Status::Ok();
        }
        a->sent_[std::string(key.substr(kSentPrefix.size()))] = c;
        return Status::Ok();
      }));
  *out = std::move(a);
  return Status::Ok();
}

void SmsAlerts::Route(const Event& ev, std::vector<uint32_t>* endpoints) const {
  if (!options_.all_lines || ev.line.empty() || !IsAlertEvent(ev.type)) return;
  if (channels_ != nullptr && channels_->HasSmsChannel(ev.line)) return;
  endpoints->push_back(kSmsEndpointBase);
}

SmsResult SmsAlerts::Dropped(Drop why, std::string text) {
  dropped_[why].fetch_add(1, std::memory_order_relaxed);
  return SmsResult{SmsOutcome::kDropped, std::move(text), 0};
}

uint32_t SmsAlerts::SentOn(const std::string& line, const LocalDate& day) const {
  std::lock_guard lock(mu_);
  auto it = sent_.find(line);
  return it != sent_.end() && it->second.day == day ? it->second.sent : 0;
}

Status SmsAlerts::CountSent(const std::string& line, const LocalDate& day) {
  std::lock_guard lock(mu_);
  if (sent_.size() >= kSmsCountedLinesMax && !sent_.count(line)) {
    std::erase_if(sent_, [&](const auto& kv) { return !(kv.second.day == day); });
  }
  Count& c = sent_[line];
  if (!(c.day == day)) c = Count{day, 0};
  ++c.sent;
  store::Batch b(store_);
  b.PutAccountData(std::string(kSentPrefix) + line, DayText(day) + " " + std::to_string(c.sent));
  return store_->Write(&b);
}

SmsResult SmsAlerts::Deliver(const Event& ev, uint32_t endpoint) {
  if (ev.line.empty() || !IsAlertEvent(ev.type) || !sms::HasAlertText(ev.type)) {
    return Dropped(kGone, "not an alert of a line");
  }
  std::string to;
  sms::QuietHours quiet = options_.quiet_hours;
  if (endpoint == kSmsEndpointBase) {
    if (!options_.all_lines) return Dropped(kGone, "SMS alerts to every line are off");
  } else {
    std::optional<Channel> c =
        channels_ ? channels_->Find(endpoint - kSmsEndpointBase) : std::nullopt;
    if (!c || c->type != "sms" || c->line != ev.line) {
      return Dropped(kGone, "the SMS channel was removed");
    }
    to = c->to;
    if (!c->quiet_hours.empty() && !sms::ParseQuietHours(c->quiet_hours, &quiet).ok()) {
      quiet = options_.quiet_hours;
    }
  }
  std::optional<SmsLine> line = lookup_ ? lookup_(ev.line) : std::nullopt;
  if (!line) return Dropped(kGone, "the line no longer exists");
  if (to.empty()) to = line->msisdn;
  if (to.empty()) return Dropped(kGone, "the line has no phone number");
  if (opt_out_ != nullptr && opt_out_->Stopped(ev.line)) {
    return Dropped(kStopped, "the subscriber texted STOP");
  }
  const Millis now = clock_();
  if (AboutTheCycle(ev.type) && ev.cycle_end > 0 && now >= ev.cycle_end) {
    return Dropped(kStale, "its cycle has ended");
  }
  const Zone& zone = line->zone.valid() ? line->zone : Zone::Tokyo();
  if (Millis end = 0; quiet.InsideAt(zone, now, &end)) {
    const int minutes_left = quiet.MinutesUntilEnd(zone.MinuteOfDayAt(now));
    return SmsResult{
        SmsOutcome::kDeferred,
        "quiet hours " + quiet.ToString() + " (" + std::to_string(minutes_left) + " min left)",
        std::max<int64_t>(1, end - now)};
  }
  const LocalDate today = zone.DateAt(now);
  if (SentOn(ev.line, today) >= options_.daily_max_per_line) {
    spdlog::info("sms: alert {} for line {} not sent: {} alert SMS today already", ev.Id(), ev.line,
                 options_.daily_max_per_line);
    return Dropped(kCapped, "the line's daily SMS cap is reached");
  }

  sms::AlertFacts f;
  f.type = ev.type;
  f.threshold = ev.threshold;
  f.reason = ev.reason;
  f.has_quota = ev.has_quota;
  f.used_bytes = ev.used_bytes;
  f.quota_bytes = ev.quota_bytes;
  f.remaining_bytes = ev.remaining_bytes;
  f.rate_bps = ev.rate_bps;
  if (ev.cycle_end > 0 && line->renews) {
    f.has_cycle_end = true;
    f.cycle_end = sms::LocalStampAt(zone, ev.cycle_end);
  }
  if (ev.exhausted_at > 0) {
    f.has_exhausted_at = true;
    f.exhausted_at = sms::LocalStampAt(zone, ev.exhausted_at);
  }
  if (now - ev.at > kSmsDelayNoticeMs) {
    f.delayed = true;
    f.raised_at = sms::LocalStampAt(zone, ev.at);
  }
  const sms::Language lang = sms::ReplyLanguage(line->locale, sms::ParsedKeyword{}, "");
  const std::string text = sms::AlertText(lang, f);
  Status st = send_ ? send_(to, text) : Status::Unavailable("SMS sending is not configured");
  if (!st.ok()) return SmsResult{SmsOutcome::kFailed, st.message(), 0};
  sent_total_.fetch_add(1, std::memory_order_relaxed);
  if (Status c = CountSent(ev.line, today); !c.ok()) {
    spdlog::error("sms: daily count of line {} not stored: {}", ev.line, c.ToString());
  }
  return SmsResult{SmsOutcome::kSent, {}, 0};
}

std::string SmsAlerts::MetricsText() const {
  std::string out =
      "# HELP ryuryo_sms_alerts_sent_total Alert SMS that Kannel accepted.\n"
      "# TYPE ryuryo_sms_alerts_sent_total counter\n"
      "ryuryo_sms_alerts_sent_total " +
      std::to_string(sent_total_.load(std::memory_order_relaxed)) +
      "\n# HELP ryuryo_sms_alerts_dropped_total Alert SMS not sent, by reason.\n"
      "# TYPE ryuryo_sms_alerts_dropped_total counter\n";
  for (int i = 0; i < kDropReasons; ++i) {
    out += std::string("ryuryo_sms_alerts_dropped_total{reason=\"") + DropName(i) + "\"} " +
           std::to_string(dropped_[i].load(std::memory_order_relaxed)) + "\n";
  }
  return out;
}

}  // namespace ryuryo::notify
