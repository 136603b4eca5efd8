// Time for the domain: instants are milliseconds since the Unix epoch (UTC), `Millis`.
// Calendar arithmetic (cycle starts, local midnight, days in a month) is done in a named IANA
// time zone read from the system tz database (/usr/share/zoneinfo, Debian's tzdata); nothing is
// downloaded. The core never reads a clock: callers pass `now`.
//
// Thread-safety: all functions are safe from any thread; Zone objects are immutable and live for
// the process (the tz database keeps them).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace date {
class time_zone;
}

namespace ryuryo {

using Millis = int64_t;  // milliseconds since 1970-01-01T00:00:00Z

inline constexpr Millis kMillisPerSecond = 1000;
inline constexpr Millis kMillisPerMinute = 60 * kMillisPerSecond;
inline constexpr Millis kMillisPerHour = 60 * kMillisPerMinute;
inline constexpr Millis kMillisPerDay = 24 * kMillisPerHour;

// Parses RFC 3339 with a mandatory offset: "2026-11-27T09:00:00+09:00", "...Z", fractional
// seconds allowed (truncated to milliseconds). A time without an offset is an error saying so.
Status ParseRfc3339(std::string_view text, Millis* at);

// A calendar date in some zone.
struct LocalDate {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  friend bool operator==(const LocalDate&, const LocalDate&) = default;
};

// A handle on an IANA time zone ("Asia/Tokyo", "Europe/Berlin", "UTC").
class Zone {
 public:
  // Looks the zone up in the system tz database; an unknown name is an error naming it.
  static Status Find(std::string_view name, Zone* zone);
  // Asia/Tokyo, the default zone of a line.
  static Zone Tokyo();
  static Zone Utc();

  Zone() = default;
  const std::string& name() const;
  bool valid() const { return tz_ != nullptr; }

  // The local calendar date at instant `at`.
  LocalDate DateAt(Millis at) const;
  // The first instant of local day `d` (local midnight; if midnight does not exist because of a
  // DST jump, the first instant of that day that does). Day overflow is normalised
  // (2026-02-31 is 2026-03-03).
  Millis StartOfDay(LocalDate d) const;
  // The offset from UTC at `at`, in seconds (+32400 for Tokyo).
  int OffsetSecondsAt(Millis at) const;
  // The local time of day at `at`, in whole minutes since local midnight (0..1439).
  int MinuteOfDayAt(Millis at) const;

  // RFC 3339 in this zone, seconds precision: "2026-11-27T09:00:00+09:00" (UTC prints "Z").
  std::string FormatRfc3339(Millis at) const;

 private:
  explicit Zone(const date::time_zone* tz) : tz_(tz) {}
  const date::time_zone* tz_ = nullptr;
};

// Days in `month` of `year` (Gregorian, leap years included).
int DaysInMonth(int year, int month);

// Adds `months` to (year, month), normalising: (2026, 12) + 1 -> (2027, 1).
void AddMonths(int* year, int* month, int months);

// RFC 3339 in UTC with a "Z", milliseconds only when non-zero.
std::string FormatRfc3339Utc(Millis at);

// Floor of `at` to the UTC hour (rollup keys are in UTC hours; days are local).
inline Millis FloorHour(Millis at) {
  Millis r = at % kMillisPerHour;
  return r < 0 ? at - r - kMillisPerHour : at - r;
}

}  // namespace ryuryo
