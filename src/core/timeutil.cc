#include "core/timeutil.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

namespace ryuryo {
namespace {

// Calendar arithmetic is done here in int64_t (Howard Hinnant's days_from_civil and
// civil_from_days), so that no input can overflow date::days (an int). Instants are clamped to
// years 0001..9999 before they are turned into calendar dates; the tz database is consulted only
// for offsets.

constexpr int64_t kSecondsPerDay = 86'400;
constexpr size_t kMaxQuotedChars = 64;
constexpr std::string_view kNotRfc3339 =
    "not an RFC 3339 time (expected YYYY-MM-DDTHH:MM:SS followed by Z or +HH:MM)";

constexpr int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

constexpr int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

// Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m in 1..12, d may be any value:
// d = 0 is the last day of the previous month).
constexpr int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;                                    // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365] if d valid
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146'097 + doe - 719'468;
}

LocalDate CivilFromDays(int64_t z) {
  z += 719'468;
  const int64_t era = FloorDiv(z, 146'097);
  const int64_t doe = z - era * 146'097;                                        // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                  // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                       // [0, 11]
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;                               // [1, 31]
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;                                  // [1, 12]
  LocalDate out;
  out.year = static_cast<int>(yoe + era * 400 + (m <= 2 ? 1 : 0));
  out.month = static_cast<int>(m);
  out.day = static_cast<int>(d);
  return out;
}

bool IsLeapYear(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// The supported range of instants: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z.
constexpr Millis kMinMillis = DaysFromCivil(1, 1, 1) * kMillisPerDay;
constexpr Millis kMaxMillis = DaysFromCivil(10'000, 1, 1) * kMillisPerDay - 1;

Millis ClampMillis(Millis at) { return std::clamp(at, kMinMillis, kMaxMillis); }

// The input in single quotes, shortened, with control and non-ASCII bytes escaped.
std::string Quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  size_t n = std::min(text.size(), kMaxQuotedChars);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\' || c == '\'') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (n < text.size()) out += "...";
  out += "'";
  return out;
}

Status Invalid(std::string_view text, std::string_view what) {
  std::string msg = Quote(text);
  msg += ": ";
  msg += what;
  return Status::InvalidArgument(std::move(msg));
}

// Reads `count` ASCII digits at text[pos..]; false if any is not a digit (or out of range).
bool ReadDigits(std::string_view text, size_t pos, size_t count, int* out) {
  if (pos + count > text.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

std::string TwoDigits(int v) {
  char buf[3] = {static_cast<char>('0' + v / 10 % 10), static_cast<char>('0' + v % 10), 0};
  return buf;
}

// "YYYY-MM-DDTHH:MM:SS" of local seconds since the epoch (already clamped to a sane range).
std::string FormatLocalSeconds(int64_t local_seconds) {
  LocalDate d = CivilFromDays(FloorDiv(local_seconds, kSecondsPerDay));
  int64_t sod = FloorMod(local_seconds, kSecondsPerDay);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d", d.year, d.month, d.day,
                static_cast<int>(sod / 3600), static_cast<int>(sod / 60 % 60),
                static_cast<int>(sod % 60));
  return buf;
}

bool IsUtcName(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu",
  };
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

// A plausible IANA name: letters, digits and "/_+-", not too long. Keeps odd bytes out of the
// tz database lookup and out of messages.
bool IsPlausibleZoneName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '+' || c == '-';
    if (!ok) return false;
  }
  return name.front() != '/' && name.find("..") == std::string_view::npos;
}

}  // namespace

Status ParseRfc3339(std::string_view text, Millis* at) {
  // 0123456789012345678
  // YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM)
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  bool date_ok = ReadDigits(text, 0, 4, &year) && text.size() > 4 && text[4] == '-' &&
                 ReadDigits(text, 5, 2, &month) && text.size() > 7 && text[7] == '-' &&
                 ReadDigits(text, 8, 2, &day);
  if (!date_ok) {
    return Invalid(text, kNotRfc3339);
  }
  if (text.size() == 10) return Invalid(text, "missing time of day and UTC offset");
  char sep = text[10];
  bool time_ok = (sep == 'T' || sep == 't' || sep == ' ') && ReadDigits(text, 11, 2, &hour) &&
                 text.size() > 13 && text[13] == ':' && ReadDigits(text, 14, 2, &minute) &&
                 text.size() > 16 && text[16] == ':' && ReadDigits(text, 17, 2, &second);
  if (!time_ok) {
    return Invalid(text, kNotRfc3339);
  }
  if (year < 1970) return Invalid(text, "year out of range (1970..9999)");
  if (month < 1 || month > 12) return Invalid(text, "month out of range (01..12)");
  if (day < 1 || day > DaysInMonth(year, month)) {
    return Invalid(text, "day out of range for " + std::to_string(year) + "-" + TwoDigits(month));
  }
  if (hour > 23) return Invalid(text, "hour out of range (00..23)");
  if (minute > 59) return Invalid(text, "minute out of range (00..59)");
  if (second > 59) return Invalid(text, "second out of range (00..59)");

  size_t pos = 19;
  int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      // Truncated to milliseconds: the 4th digit on is read and dropped.
      if (pos - start < 3) millis = millis * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == start) return Invalid(text, "expected digits after '.'");
    for (size_t i = pos - start; i < 3; ++i) millis *= 10;
  }

  if (pos == text.size()) return Invalid(text, "missing UTC offset (add Z or +HH:MM)");
  int64_t offset_seconds = 0;
  char c = text[pos];
  if (c == 'Z' || c == 'z') {
    ++pos;
  } else if (c == '+' || c == '-') {
    int oh = 0, om = 0;
    if (!ReadDigits(text, pos + 1, 2, &oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !ReadDigits(text, pos + 4, 2, &om)) {
      return Invalid(text, "invalid UTC offset (expected Z, +HH:MM or -HH:MM)");
    }
    if (oh > 23 || om > 59) return Invalid(text, "UTC offset out of range");
    offset_seconds = (c == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return Invalid(text, "missing UTC offset (add Z or +HH:MM)");
  }
  if (pos != text.size()) return Invalid(text, "unexpected text after the UTC offset");

  int64_t seconds = DaysFromCivil(year, month, day) * kSecondsPerDay + hour * 3600 + minute * 60 +
                    second - offset_seconds;
  Millis result = seconds * kMillisPerSecond + millis;
  // The offset can move the instant out of the years 1970..9999 in UTC (e.g. "1970-01-01T00:00:00
  // +09:00"); such instants are rejected as well, so every result is >= 0 and prints back.
  if (result < 0 || result > kMaxMillis) {
    return Invalid(text, "out of range (1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z)");
  }
  *at = result;
  return Status::Ok();
}

Status Zone::Find(std::string_view name, Zone* zone) {
  if (name.empty()) return Status::InvalidArgument("time zone name is empty");
  if (!IsPlausibleZoneName(name)) {
    return Status::InvalidArgument("invalid time zone name " + Quote(name));
  }
  try {
    const date::time_zone* tz = date::locate_zone(name);
    if (tz == nullptr) return Status::NotFound("unknown time zone " + Quote(name));
    // The zone's rules are read lazily; read them now, while errors can still be reported.
    (void)tz->get_info(date::sys_seconds{});
    *zone = Zone(tz);
    return Status::Ok();
  } catch (const std::exception&) {
    return Status::NotFound("unknown time zone " + Quote(name));
  } catch (...) {
    return Status::NotFound("unknown time zone " + Quote(name));
  }
}

Zone Zone::Tokyo() {
  static const Zone kTokyo = [] {
    Zone z;
    (void)Find("Asia/Tokyo", &z);  // without tzdata: an invalid Zone (which acts as UTC)
    return z;
  }();
  return kTokyo;
}

Zone Zone::Utc() {
  static const Zone kUtc = [] {
    Zone z;
    if (!Find("UTC", &z).ok()) (void)Find("Etc/UTC", &z);
    return z;
  }();
  return kUtc;
}

const std::string& Zone::name() const {
  static const std::string kEmpty;
  return tz_ != nullptr ? tz_->name() : kEmpty;
}

// An invalid (default-constructed) Zone behaves as UTC in all of the below.

int Zone::MinuteOfDayAt(Millis at) const {
  const int64_t local_seconds = FloorDiv(ClampMillis(at), kMillisPerSecond) + OffsetSecondsAt(at);
  return static_cast<int>(FloorMod(local_seconds, 86400) / 60);
}

int Zone::OffsetSecondsAt(Millis at) const {
  if (tz_ == nullptr) return 0;
  try {
    auto info = tz_->get_info(
        date::sys_seconds{std::chrono::seconds{FloorDiv(ClampMillis(at), kMillisPerSecond)}});
    return static_cast<int>(info.offset.count());
  } catch (...) {
    return 0;  // not reached: Find() read the rules already
  }
}

LocalDate Zone::DateAt(Millis at) const {
  at = ClampMillis(at);
  int64_t local_ms = at + static_cast<int64_t>(OffsetSecondsAt(at)) * kMillisPerSecond;
  return CivilFromDays(FloorDiv(local_ms, kMillisPerDay));
}

Millis Zone::StartOfDay(LocalDate d) const {
  // Normalise the month (and so the year), then let the day overflow into the following months:
  // days from the 1st of the month + (day - 1).
  int64_t months = static_cast<int64_t>(d.year) * 12 + (static_cast<int64_t>(d.month) - 1);
  int64_t year = std::clamp<int64_t>(FloorDiv(months, 12), 0, 10'000);
  int64_t month = FloorMod(months, 12) + 1;
  int64_t days = DaysFromCivil(year, month, 1) + (static_cast<int64_t>(d.day) - 1);
  // Keep a day away from the ends of the supported range so that offsets cannot leave it.
  days = std::clamp(days, DaysFromCivil(1, 1, 2), DaysFromCivil(9999, 12, 31));
  int64_t local_seconds = days * kSecondsPerDay;
  if (tz_ == nullptr) return local_seconds * kMillisPerSecond;
  try {
    auto info = tz_->get_info(date::local_seconds{std::chrono::seconds{local_seconds}});
    switch (info.result) {
      case date::local_info::unique:
      case date::local_info::ambiguous:  // midnight happened twice: the earlier one
        return (local_seconds - info.first.offset.count()) * kMillisPerSecond;
      case date::local_info::nonexistent:  // skipped by a jump: the day starts at the jump
        return info.second.begin.time_since_epoch().count() * kMillisPerSecond;
    }
  } catch (...) {
    // not reached: Find() read the rules already
  }
  return local_seconds * kMillisPerSecond;
}

std::string Zone::FormatRfc3339(Millis at) const {
  at = ClampMillis(at);
  int offset = OffsetSecondsAt(at);
  int64_t local_seconds = FloorDiv(at, kMillisPerSecond) + offset;
  std::string out = FormatLocalSeconds(local_seconds);
  if (tz_ == nullptr || IsUtcName(tz_->name())) {
    out += 'Z';
    return out;
  }
  // RFC 3339 offsets have no seconds; only pre-1900 local mean times have any.
  int magnitude = offset < 0 ? -offset : offset;
  out += offset < 0 ? '-' : '+';
  out += TwoDigits(magnitude / 3600);
  out += ':';
  out += TwoDigits(magnitude / 60 % 60);
  return out;
}

int DaysInMonth(int year, int month) {
  int y = year;
  int m = month;
  if (m < 1 || m > 12) AddMonths(&y, &m, 0);  // normalise, like StartOfDay
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && IsLeapYear(y)) return 29;
  return kDays[m - 1];
}

void AddMonths(int* year, int* month, int months) {
  int64_t total = static_cast<int64_t>(*year) * 12 + (static_cast<int64_t>(*month) - 1) + months;
  int64_t y = FloorDiv(total, 12);
  int64_t m = FloorMod(total, 12) + 1;
  if (y > std::numeric_limits<int>::max()) {
    y = std::numeric_limits<int>::max();
    m = 12;
  } else if (y < std::numeric_limits<int>::min()) {
    y = std::numeric_limits<int>::min();
    m = 1;
  }
  *year = static_cast<int>(y);
  *month = static_cast<int>(m);
}

std::string FormatRfc3339Utc(Millis at) {
  at = ClampMillis(at);
  std::string out = FormatLocalSeconds(FloorDiv(at, kMillisPerSecond));
  int ms = static_cast<int>(FloorMod(at, kMillisPerSecond));
  if (ms != 0) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), ".%03d", ms);
    out += buf;
  }
  out += 'Z';
  return out;
}

}  // namespace ryuryo
