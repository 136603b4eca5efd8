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
