#include "sms/quiet_hours.h"

#include <cstdio>

namespace ryuryo::sms {

namespace {

bool ParseTimeOfDay(std::string_view t, int* minute) {
  if (t.size() != 5 || t[2] != ':') return false;
  for (size_t i : {0u, 1u, 3u, 4u}) {
    if (t[i] < '0' || t[i] > '9') return false;
  }
  const int h = (t[0] - '0') * 10 + (t[1] - '0');
  const int m = (t[3] - '0') * 10 + (t[4] - '0');
  if (h > 23 || m > 59) return false;
  *minute = h * 60 + m;
  return true;
}

std::string TimeOfDay(int minute) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minute / 60, minute % 60);
  return buf;
}

}  // namespace

bool QuietHours::Contains(int minute_of_day) const {
  if (!enabled) return false;
  if (start_minute < end_minute) return minute_of_day >= start_minute && minute_of_day < end_minute;
  return minute_of_day >= start_minute || minute_of_day < end_minute;
}

int QuietHours::MinutesUntilEnd(int minute_of_day) const {
  if (!Contains(minute_of_day)) return 0;
  return ((end_minute - minute_of_day) % kMinutesPerDay + kMinutesPerDay) % kMinutesPerDay;
}

bool QuietHours::InsideAt(const Zone& zone, Millis now, Millis* ends_at) const {
  const int minute = zone.MinuteOfDayAt(now);
  if (!Contains(minute)) return false;
  const int64_t ms_into_minute = ((now % 60000) + 60000) % 60000;
  const Millis wall_end = now + MinutesUntilEnd(minute) * 60000LL - ms_into_minute;
  Millis end = wall_end - (zone.OffsetSecondsAt(wall_end) - zone.OffsetSecondsAt(now)) * 1000LL;
  if (end < wall_end && Contains(zone.MinuteOfDayAt(end))) {
    // The end falls in the hour the clocks skip: the window ends when they jump. Bisect for the
    // instant the offset changes: offset(lo) is the old one, offset(hi) the new one.
    Millis lo = end, hi = wall_end;
    const int new_offset = zone.OffsetSecondsAt(hi);
    while (hi - lo > 1) {
      const Millis mid = lo + (hi - lo) / 2;
      (zone.OffsetSecondsAt(mid) == new_offset ? hi : lo) = mid;
    }
    end = Contains(zone.MinuteOfDayAt(hi)) ? wall_end : hi;
  }
  *ends_at = end;
  return true;
}

std::string QuietHours::ToString() const {
  if (!enabled) return "off";
  return TimeOfDay(start_minute) + "-" + TimeOfDay(end_minute);
}

Status ParseQuietHours(std::string_view text, QuietHours* out) {
  if (text.empty() || text == "off") {
    *out = QuietHours{};
    return Status::Ok();
  }
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    return Status::InvalidArgument("quiet_hours: '" + std::string(text) +
                                   "' is not HH:MM-HH:MM (or \"off\")");
  }
  QuietHours q;
  q.enabled = true;
  for (auto [part, minute] : {std::pair{text.substr(0, dash), &q.start_minute},
                              std::pair{text.substr(dash + 1), &q.end_minute}}) {
    if (!ParseTimeOfDay(part, minute)) {
      return Status::InvalidArgument("quiet_hours: '" + std::string(part) +
                                     "' is not a time of day (HH:MM)");
    }
  }
  if (q.start_minute == q.end_minute) {
    return Status::InvalidArgument("quiet_hours: '" + std::string(text) +
                                   "' starts and ends at the same time");
  }
  *out = q;
  return Status::Ok();
}

}  // namespace ryuryo::sms
