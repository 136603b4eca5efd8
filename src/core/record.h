// UsageRecord: the one form every input takes (DESIGN §1): bytes a line used between two times.
// Adapters (HTTP JSON, files, RADIUS, flows) produce records; the meter applies them.
//
// Plain value; safe to move between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/timeutil.h"

namespace ryuryo {

// One record may carry at most 10 TB in each direction; more is absurd and rejected.
inline constexpr uint64_t kRecordBytesMax = 10'000'000'000'000ULL;
// Identifiers (dedup key, line key, device, app, source) are at most this long.
inline constexpr size_t kRecordFieldBytesMax = 256;
// A record may end at most this far after the meter's clock (clock skew between senders).
inline constexpr Millis kRecordFutureSkewMs = 5 * kMillisPerMinute;

struct UsageRecord {
  std::string id;    // dedup key; empty means "derive one from the content"
  std::string line;  // a line id, or "msisdn:…", "imsi:…", "iccid:…"
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  Millis start = 0;
  Millis end = 0;
  std::string device;  // optional: what used the data under the line
  std::string app;     // optional
  std::string source;  // optional: "radius", "http", "file", ...

  uint64_t bytes() const { return bytes_up + bytes_down; }
};

// Checks the limits and that end >= start; the error names the field.
Status ValidateRecord(const UsageRecord& record);

// The dedup key a record is known by: its `id` when given (prefixed "id:"), otherwise a hash of
// its content (prefixed "h:"), so that a record sent twice without an id is still counted once.
std::string DedupKey(const UsageRecord& record);

// Line ids and identifiers: 1..64 characters of [A-Za-z0-9._+@-]. Keeps keys and URLs simple, and
// never looks like a prefixed identifier ("msisdn:…").
inline constexpr size_t kLineIdBytesMax = 64;
Status ValidateLineId(std::string_view id);

}  // namespace ryuryo
