// Quantities as people write them: bytes ("3 GB", "500MB", "1.5 GiB"), rates ("128 kbps",
// "1 Mbps"), durations ("8d", "90m", "1h30m") and percentages ("80%").
//
// SI and IEC units are both exact: 1 GB = 10^9 bytes, 1 GiB = 2^30 bytes, 1 kbps = 1000 bit/s.
// Units are case-sensitive where it matters ("Mb" is not "MB"): a bare "b" suffix or "bit"
// is an error for byte quantities. Decimal values are accepted ("1.5 GB") and must come out to a
// whole number of bytes (bit/s, milliseconds); anything else is an error naming the input.
//
// Parsing never throws. Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace ryuryo {

// Largest byte quantity accepted anywhere (1 PB); larger inputs are rejected as absurd.
inline constexpr uint64_t kQuantityBytesMax = 1'000'000'000'000'000ULL;

// "3 GB", "3GB", "3 gb" (case-insensitive unit), "1.5 GiB", "1024" (plain bytes), "0".
// Units: B, kB/KB, MB, GB, TB, PB (SI), KiB, MiB, GiB, TiB, PiB (IEC).
Status ParseBytes(std::string_view text, uint64_t* bytes);

// "128 kbps", "1 Mbps", "1.5Mbps", "64000 bps", "1 Gbps".
Status ParseRateBps(std::string_view text, uint64_t* rate_bps);

// "8d", "90m", "1h30m", "45s", "2w", "500ms"; a bare number is an error (unit required).
Status ParseDurationMs(std::string_view text, int64_t* duration_ms);

// "80%", "12.5%". Result in basis points (1% = 100), 0..10000.
Status ParsePercentBp(std::string_view text, uint32_t* percent_bp);

// Human-readable, SI units with up to 3 significant digits after trimming: 0 -> "0 B",
// 999 -> "999 B", 1500 -> "1.5 kB", 3000000000 -> "3 GB", 1234567890 -> "1.23 GB".
std::string FormatBytes(uint64_t bytes);

// 128000 -> "128 kbps", 1000000 -> "1 Mbps", 1500000 -> "1.5 Mbps".
std::string FormatRate(uint64_t rate_bps);

// The largest exact form: 691200000 -> "8d", 5400000 -> "90m", 3600000 -> "1h", 1500 -> "1500ms".
std::string FormatDuration(int64_t duration_ms);

// 8000 -> "80%", 1250 -> "12.5%".
std::string FormatPercent(uint32_t percent_bp);

}  // namespace ryuryo
