#include "core/quantity.h"

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <numeric>
#include <string>
#include <string_view>
#include <utility>

namespace ryuryo {
namespace {

// Parsing is done with exact integer arithmetic: "1.1 GB" is int_part 1, fraction 1 over 10^1,
// scaled by 10^9. No floating point anywhere, so every accepted input has exactly one value.

// The largest rate accepted (1 Pbit/s): larger rates are as absurd as larger byte quantities.
constexpr uint64_t kRateBpsMax = kQuantityBytesMax;
constexpr uint64_t kDurationMsMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
constexpr uint64_t kPercentBpMax = 10'000;
// Significant fraction digits kept (after trailing zeros are dropped); 10^18 fits in uint64_t.
constexpr int kMaxFractionDigits = 18;
// Inputs can come from the network: error messages quote at most this much of them.
constexpr size_t kMaxQuotedChars = 64;

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
char ToLower(char c) { return IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  }
  return true;
}

// The input in single quotes, shortened, with control and non-ASCII bytes escaped (messages end
// up in logs and JSON, which must stay valid UTF-8).
std::string Quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  size_t n = text.size() < kMaxQuotedChars ? text.size() : kMaxQuotedChars;
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

// A non-negative decimal number as written: int_part + fraction / 10^fraction_digits.
struct Decimal {
  uint64_t int_part = 0;
  uint64_t fraction = 0;
  int fraction_digits = 0;  // trailing zeros dropped
  bool int_overflow = false;
  bool too_many_fraction_digits = false;
};

enum class NumberError { kNone, kNotANumber, kNegative };

// Reads "123", "0.5", "1.500" from the front of `s` (which must not start with whitespace),
// advancing it past the number. Digits are required on both sides of a '.'.
NumberError ConsumeDecimal(std::string_view* s, Decimal* out) {
  *out = Decimal();
  std::string_view in = *s;
  if (!in.empty() && in.front() == '-') return NumberError::kNegative;
  size_t i = 0;
  while (i < in.size() && IsDigit(in[i])) {
    uint64_t digit = static_cast<uint64_t>(in[i] - '0');
    if (!out->int_overflow && (__builtin_mul_overflow(out->int_part, 10, &out->int_part) ||
                               __builtin_add_overflow(out->int_part, digit, &out->int_part))) {
      out->int_overflow = true;
    }
    ++i;
  }
  if (i == 0) return NumberError::kNotANumber;
  if (i < in.size() && in[i] == '.') {
    size_t start = ++i;
    while (i < in.size() && IsDigit(in[i])) ++i;
    if (i == start) return NumberError::kNotANumber;
    std::string_view digits = in.substr(start, i - start);
    while (!digits.empty() && digits.back() == '0') digits.remove_suffix(1);
    if (digits.size() > static_cast<size_t>(kMaxFractionDigits)) {
      out->too_many_fraction_digits = true;
    } else {
      for (char c : digits) out->fraction = out->fraction * 10 + static_cast<uint64_t>(c - '0');
      out->fraction_digits = static_cast<int>(digits.size());
    }
  }
  s->remove_prefix(i);
  return NumberError::kNone;
}

enum class ScaleResult { kOk, kTooLarge, kNotWhole, kTooManyDigits };

// value * multiplier, exactly; kTooLarge past `max`, kNotWhole if the result has a fraction.
ScaleResult Scale(const Decimal& value, uint64_t multiplier, uint64_t max, uint64_t* out) {
  if (value.int_overflow) return ScaleResult::kTooLarge;
  // Check before multiplying.
  if (value.int_part > max / multiplier) return ScaleResult::kTooLarge;
  uint64_t whole = value.int_part * multiplier;
  if (value.too_many_fraction_digits) {
    // Past 18 significant fraction digits; only an IEC multiplier could still make that whole.
    return ScaleResult::kTooManyDigits;
  }
  uint64_t part = 0;
  if (value.fraction_digits > 0) {
    uint64_t pow10 = 1;
    for (int i = 0; i < value.fraction_digits; ++i) pow10 *= 10;
    // fraction * multiplier / pow10 without overflow: cancel the common factor first.
    uint64_t g = std::gcd(multiplier, pow10);
    uint64_t denominator = pow10 / g;
    uint64_t factor = multiplier / g;
    if (value.fraction % denominator != 0) return ScaleResult::kNotWhole;
    uint64_t q = value.fraction / denominator;
    if (q != 0 && factor > (max - whole) / q) return ScaleResult::kTooLarge;
    part = q * factor;
  }
  if (part > max - whole) return ScaleResult::kTooLarge;
  *out = whole + part;
  return ScaleResult::kOk;
}

// Reports a non-kOk ScaleResult as an error on `text`.
Status ScaleError(std::string_view text, ScaleResult r, std::string_view unit_name,
                  std::string_view max_text) {
  switch (r) {
    case ScaleResult::kOk:
      break;
    case ScaleResult::kTooLarge:
      return Invalid(text, std::string("too large (at most ") + std::string(max_text) + ")");
    case ScaleResult::kNotWhole:
      return Invalid(text, std::string("not a whole number of ") + std::string(unit_name));
    case ScaleResult::kTooManyDigits:
      return Invalid(text, "too many decimal places");
  }
  return Status::Ok();
}

// Splits trimmed `text` into a number and the unit after it (trimmed; may be empty).
Status SplitNumberAndUnit(std::string_view text, Decimal* number, std::string_view* unit) {
  std::string_view s = Trim(text);
  if (s.empty()) return Invalid(text, "empty; expected a number");
  switch (ConsumeDecimal(&s, number)) {
    case NumberError::kNone:
      break;
    case NumberError::kNegative:
      return Invalid(text, "must not be negative");
    case NumberError::kNotANumber:
      return Invalid(text, "not a number");
  }
  *unit = Trim(s);
  return Status::Ok();
}

bool AllLower(std::string_view s) {
  for (char c : s) {
    if (IsUpper(c)) return false;
  }
  return true;
}

// Multiplier of a byte unit, or an error. Case-insensitive ("gb", "GB", "KB", "gib"), except that
// a lower-case 'b' after an upper-case letter ("Gb", "Mb", "Gib") or alone ("b") means bits.
Status ByteUnitMultiplier(std::string_view text, std::string_view unit, uint64_t* multiplier) {
  if (unit.empty()) {
    *multiplier = 1;
    return Status::Ok();
  }
  std::string lower;
  for (char c : unit) lower += ToLower(c);
  if (lower == "bit" || lower == "bits" || (lower.size() > 3 && lower.ends_with("bit")) ||
      (lower.size() > 4 && lower.ends_with("bits"))) {
    return Invalid(text, "bits are not bytes (use B, kB, MB, GB, ...)");
  }
  if (lower.ends_with("bps") || lower.ends_with("/s")) {
    return Invalid(text, "a rate is not a byte quantity (use B, kB, MB, GB, ...)");
  }
  if (unit.back() == 'b' && (unit.size() == 1 || !AllLower(unit))) {
    std::string hint = "bits are not bytes (use ";
    hint += unit.substr(0, unit.size() - 1);
    hint += "B)";
    return Invalid(text, hint);
  }
  struct Unit {
    std::string_view name;
    uint64_t multiplier;
  };
  static constexpr Unit kUnits[] = {
      {"b", 1},
      {"kb", 1'000ULL},
      {"mb", 1'000'000ULL},
      {"gb", 1'000'000'000ULL},
      {"tb", 1'000'000'000'000ULL},
      {"pb", 1'000'000'000'000'000ULL},
      {"kib", 1ULL << 10},
      {"mib", 1ULL << 20},
      {"gib", 1ULL << 30},
      {"tib", 1ULL << 40},
      {"pib", 1ULL << 50},
  };
  for (const Unit& u : kUnits) {
    if (lower == u.name) {
      *multiplier = u.multiplier;
      return Status::Ok();
    }
  }
  return Invalid(text, "unknown unit " + Quote(unit) +
                           " (use B, kB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB)");
}

Status RateUnitMultiplier(std::string_view text, std::string_view unit, uint64_t* multiplier) {
  if (unit.empty()) return Invalid(text, "missing unit (use bps, kbps, Mbps, Gbps)");
  // "MBps" is megabytes per second; rates are in bits. All-caps "MBPS" is taken as Mbps.
  if (unit.size() >= 3 && unit.ends_with("Bps")) {
    return Invalid(text, "bytes per second are not bits per second (use bps, kbps, Mbps, Gbps)");
  }
  struct Unit {
    std::string_view name;
    uint64_t multiplier;
  };
  static constexpr Unit kUnits[] = {
      {"bps", 1},   {"kbps", 1'000ULL},   {"mbps", 1'000'000ULL},   {"gbps", 1'000'000'000ULL},
      {"bit/s", 1}, {"kbit/s", 1'000ULL}, {"mbit/s", 1'000'000ULL}, {"gbit/s", 1'000'000'000ULL},
  };
  for (const Unit& u : kUnits) {
    if (EqualsIgnoreCase(unit, u.name)) {
      *multiplier = u.multiplier;
      return Status::Ok();
    }
  }
  return Invalid(text, "unknown unit " + Quote(unit) + " (use bps, kbps, Mbps, Gbps)");
}

// Duration units, largest first; case-sensitive ("m" is minutes, "M" is not a unit).
struct DurationUnit {
  std::string_view name;
  int64_t ms;
};
constexpr DurationUnit kDurationUnits[] = {
    {"w", 7 * 24 * 3'600'000LL},
    {"d", 24 * 3'600'000LL},
    {"h", 3'600'000LL},
    {"m", 60'000LL},
    {"s", 1'000LL},
    {"ms", 1LL},
};

// "123" + "4.56" digits with `decimals` implied decimal places, trailing zeros trimmed:
// AppendScaled(1234, 2) -> "12.34", AppendScaled(1200, 2) -> "12".
void AppendScaled(std::string* out, uint64_t scaled, int decimals) {
  uint64_t pow10 = 1;
  for (int i = 0; i < decimals; ++i) pow10 *= 10;
  *out += std::to_string(scaled / pow10);
  uint64_t frac = scaled % pow10;
  if (frac == 0) return;
  std::string digits = std::to_string(frac);
  digits.insert(0, static_cast<size_t>(decimals) - digits.size(), '0');
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  *out += '.';
  *out += digits;
}

// `value / 10^(3*i)` in the largest unit i that is at most `value`, rounded half up to 3
// significant digits, with a space and the unit name: FormatSi(1234567890, {"B", "kB", ...}).
template <size_t N>
std::string FormatSi(uint64_t value, const std::string_view (&units)[N]) {
  size_t unit = 0;
  uint64_t divisor = 1;
  while (unit + 1 < N && value / divisor >= 1000) {
    divisor *= 1000;
    ++unit;
  }
  std::string out;
  if (unit == 0) {
    out = std::to_string(value);
  } else {
    uint64_t int_part = value / divisor;  // >= 1
    int int_digits = int_part >= 100 ? 3 : int_part >= 10 ? 2 : 1;
    int decimals = 3 - int_digits;
    uint64_t step = divisor;  // the value of one unit of the last kept digit
    for (int i = 0; i < decimals; ++i) step /= 10;
    uint64_t extra = 1;  // only for values of 1000 or more of the largest unit
    for (uint64_t v = int_part; v >= 1000; v /= 10) extra *= 10;
    step *= extra;
    uint64_t scaled = value / step + ((value % step) >= step - value % step ? 1 : 0);
    if (extra == 1 && decimals == 0 && scaled == 1000 && unit + 1 < N) {
      // 999.6 kB rounds to 1000 kB: that is 1 MB.
      ++unit;
      out = "1";
    } else {
      AppendScaled(&out, scaled * extra, decimals);
    }
  }
  out += ' ';
  out += units[unit];
  return out;
}

}  // namespace

Status ParseBytes(std::string_view text, uint64_t* bytes) {
  Decimal number;
  std::string_view unit;
  RYURYO_RETURN_IF_ERROR(SplitNumberAndUnit(text, &number, &unit));
  uint64_t multiplier = 1;
  RYURYO_RETURN_IF_ERROR(ByteUnitMultiplier(text, unit, &multiplier));
  uint64_t value = 0;
  ScaleResult r = Scale(number, multiplier, kQuantityBytesMax, &value);
  if (r != ScaleResult::kOk) return ScaleError(text, r, "bytes", "1 PB");
  *bytes = value;
  return Status::Ok();
}

Status ParseRateBps(std::string_view text, uint64_t* rate_bps) {
  Decimal number;
  std::string_view unit;
  RYURYO_RETURN_IF_ERROR(SplitNumberAndUnit(text, &number, &unit));
  uint64_t multiplier = 1;
  RYURYO_RETURN_IF_ERROR(RateUnitMultiplier(text, unit, &multiplier));
  uint64_t value = 0;
  ScaleResult r = Scale(number, multiplier, kRateBpsMax, &value);
  if (r != ScaleResult::kOk) return ScaleError(text, r, "bit/s", "1000000 Gbps");
  *rate_bps = value;
  return Status::Ok();
}

// One or more "<number><unit>" parts, units strictly decreasing ("1d12h", "1h 30m", "1.5h").
Status ParseDurationMs(std::string_view text, int64_t* duration_ms) {
  std::string_view s = Trim(text);
  if (s.empty()) return Invalid(text, "empty; expected a duration such as 90m, 8d or 1h30m");
  uint64_t total = 0;
  size_t previous_unit = std::size(kDurationUnits);  // index of the last unit seen
  while (!s.empty()) {
    Decimal number;
    switch (ConsumeDecimal(&s, &number)) {
      case NumberError::kNone:
        break;
      case NumberError::kNegative:
        return Invalid(text, "must not be negative");
      case NumberError::kNotANumber:
        return Invalid(text, "not a duration (expected e.g. 90m, 8d, 1h30m)");
    }
    s = Trim(s);
    size_t unit_len = 0;
    while (unit_len < s.size() && (IsLower(s[unit_len]) || IsUpper(s[unit_len]))) ++unit_len;
    std::string_view unit = s.substr(0, unit_len);
    if (unit.empty()) {
      return Invalid(text, "missing unit (use ms, s, m, h, d or w)");
    }
    size_t index = std::size(kDurationUnits);
    for (size_t i = 0; i < std::size(kDurationUnits); ++i) {
      if (unit == kDurationUnits[i].name) index = i;
    }
    if (index == std::size(kDurationUnits)) {
      return Invalid(text, "unknown unit " + Quote(unit) + " (use ms, s, m, h, d or w)");
    }
    if (previous_unit != std::size(kDurationUnits) && index <= previous_unit) {
      return Invalid(text, "units must go from largest to smallest, each at most once");
    }
    previous_unit = index;
    uint64_t part = 0;
    ScaleResult r =
        Scale(number, static_cast<uint64_t>(kDurationUnits[index].ms), kDurationMsMax, &part);
    if (r != ScaleResult::kOk) return ScaleError(text, r, "milliseconds", "2^63-1 ms");
    if (part > kDurationMsMax - total) {
      return ScaleError(text, ScaleResult::kTooLarge, "milliseconds", "2^63-1 ms");
    }
    total += part;
    s.remove_prefix(unit_len);
    s = Trim(s);
  }
  *duration_ms = static_cast<int64_t>(total);
  return Status::Ok();
}

Status ParsePercentBp(std::string_view text, uint32_t* percent_bp) {
  Decimal number;
  std::string_view unit;
  RYURYO_RETURN_IF_ERROR(SplitNumberAndUnit(text, &number, &unit));
  if (unit != "%") {
    if (unit.empty()) return Invalid(text, "missing '%'");
    return Invalid(text, "unknown unit " + Quote(unit) + " (expected '%')");
  }
  uint64_t value = 0;
  ScaleResult r = Scale(number, 100, kPercentBpMax, &value);
  if (r == ScaleResult::kTooLarge) return Invalid(text, "out of range (0% to 100%)");
  if (r != ScaleResult::kOk) return ScaleError(text, r, "basis points (0.01%)", "100%");
  *percent_bp = static_cast<uint32_t>(value);
  return Status::Ok();
}

std::string FormatBytes(uint64_t bytes) {
  static constexpr std::string_view kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  return FormatSi(bytes, kUnits);
}

std::string FormatRate(uint64_t rate_bps) {
  static constexpr std::string_view kUnits[] = {"bps", "kbps", "Mbps", "Gbps"};
  return FormatSi(rate_bps, kUnits);
}

std::string FormatDuration(int64_t duration_ms) {
  if (duration_ms == 0) return "0s";
  // The magnitude as unsigned, so that INT64_MIN is fine too.
  uint64_t magnitude =
      duration_ms < 0 ? 0 - static_cast<uint64_t>(duration_ms) : static_cast<uint64_t>(duration_ms);
  std::string out = duration_ms < 0 ? "-" : "";
  // Weeks are accepted on input but printed as days ("14d" reads better than "2w" in limits).
  for (const DurationUnit& u : kDurationUnits) {
    if (u.name == "w") continue;
    uint64_t unit_ms = static_cast<uint64_t>(u.ms);
    if (magnitude % unit_ms == 0) {
      out += std::to_string(magnitude / unit_ms);
      out += u.name;
      return out;
    }
  }
  return out;  // not reached: every value is a whole number of ms
}

std::string FormatPercent(uint32_t percent_bp) {
  std::string out;
  AppendScaled(&out, percent_bp, 2);
  out += '%';
  return out;
}

}  // namespace ryuryo
