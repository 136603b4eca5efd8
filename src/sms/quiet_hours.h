// Quiet hours: the local times of day when no alert SMS is sent to a line ("22:00-08:00"). An
// alert raised inside them waits for their end; the clock is the line's own time zone.
//
// Written "HH:MM-HH:MM" (24-hour, start inclusive, end exclusive); a start later than the end
// wraps past midnight ("22:00-08:00" is 22:00 to 08:00 the next morning). "off" (or "") means no
// quiet hours. A window of zero length ("08:00-08:00") is refused: it would mean either never or
// always.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "core/timeutil.h"

namespace ryuryo::sms {

inline constexpr int kMinutesPerDay = 24 * 60;

struct QuietHours {
  bool enabled = false;
  int start_minute = 0;  // minute of the day, 0..1439
  int end_minute = 0;

  // Whether `minute_of_day` (0..1439) is inside the window.
  bool Contains(int minute_of_day) const;
  // Minutes from `minute_of_day` until the window ends (0 when outside it).
  int MinutesUntilEnd(int minute_of_day) const;
  // Whether instant `now` is inside the window in `zone`'s local time; if so, *ends_at is when it
  // ends: at its end by the wall clock, which is an hour earlier or later in real time when the
  // zone's offset changes before it (DST), or, when the clocks jump over the end, as they jump.
  bool InsideAt(const Zone& zone, Millis now, Millis* ends_at) const;
  // "22:00-08:00", or "off".
  std::string ToString() const;
  friend bool operator==(const QuietHours&, const QuietHours&) = default;
};

// Parses "HH:MM-HH:MM" or "off" / "". Errors name what is wrong ("quiet_hours: '25:00' is not a
// time of day (HH:MM)").
Status ParseQuietHours(std::string_view text, QuietHours* out);

}  // namespace ryuryo::sms
