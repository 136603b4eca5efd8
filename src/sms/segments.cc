#include "sms/segments.h"

#include <string>
#include <vector>

#include "sms/utf8.h"

namespace ryuryo::sms {
namespace {

constexpr char32_t kEllipsis = 0x2026;

// Septets `c` costs in GSM-7: 1 (default alphabet), 2 (extension table), 0 (not in GSM-7).
size_t Gsm7Septets(char32_t c) {
  if (c >= 0x20 && c <= 0x7E) {
    switch (c) {
      case U'`':
        return 0;
      case U'[':
      case U'\\':
      case U']':
      case U'^':
      case U'{':
      case U'|':
      case U'}':
      case U'~':
        return 2;
      default:
        return 1;  // includes @ $ _ which sit at other positions of the default alphabet
    }
  }
  switch (c) {
    case U'\n':
    case U'\r':
    case U'£':
    case U'¥':
    case U'è':
    case U'é':
    case U'ù':
    case U'ì':
    case U'ò':
    case U'Ç':
    case U'Ø':
    case U'ø':
    case U'Å':
    case U'å':
    case U'Δ':
    case U'Φ':
    case U'Γ':
    case U'Λ':
    case U'Ω':
    case U'Π':
    case U'Ψ':
    case U'Σ':
    case U'Θ':
    case U'Ξ':
    case U'Æ':
    case U'æ':
    case U'ß':
    case U'É':
    case U'¤':
    case U'¡':
    case U'Ä':
    case U'Ö':
    case U'Ñ':
    case U'Ü':
    case U'§':
    case U'¿':
    case U'ä':
    case U'ö':
    case U'ñ':
    case U'ü':
    case U'à':
      return 1;
    case U'\f':
    case U'€':
      return 2;
    default:
      return 0;
  }
}

size_t Ucs2Units(char32_t c) { return c > 0xFFFF ? 2 : 1; }

std::vector<char32_t> Decode(std::string_view utf8) {
  std::vector<char32_t> chars;
  chars.reserve(utf8.size());
  size_t pos = 0;
  while (pos < utf8.size()) chars.push_back(NextCodePoint(utf8, &pos));
  return chars;
}

SmsEncoding EncodingOf(const std::vector<char32_t>& chars) {
  for (char32_t c : chars) {
    if (Gsm7Septets(c) == 0) return SmsEncoding::kUcs2;
  }
  return SmsEncoding::kGsm7;
}

size_t Cost(SmsEncoding enc, char32_t c) {
  return enc == SmsEncoding::kGsm7 ? Gsm7Septets(c) : Ucs2Units(c);
}

bool FitsOne(const std::vector<char32_t>& chars, SmsEncoding enc) {
  const size_t max = enc == SmsEncoding::kGsm7 ? kGsm7SingleSeptetsMax : kUcs2SingleUnitsMax;
  size_t total = 0;
  for (char32_t c : chars) total += Cost(enc, c);
  return total <= max;
}

bool IsSpace(char32_t c) {
  return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || c == 0x00A0 || c == 0x3000;
}

}  // namespace

SmsEncoding EncodingFor(std::string_view utf8) { return EncodingOf(Decode(utf8)); }

size_t SegmentsFor(std::string_view utf8) {
  const std::vector<char32_t> chars = Decode(utf8);
  const SmsEncoding enc = EncodingOf(chars);
  if (FitsOne(chars, enc)) return 1;
  const size_t part_max = enc == SmsEncoding::kGsm7 ? kGsm7PartSeptetsMax : kUcs2PartUnitsMax;
  size_t parts = 1;
  size_t used = 0;
  for (char32_t c : chars) {
    const size_t cost = Cost(enc, c);
    if (used + cost > part_max) {
      ++parts;
      used = 0;
    }
    used += cost;
  }
  return parts;
}

std::string FitOneSegment(std::string_view utf8) {
  const std::vector<char32_t> chars = Decode(utf8);
  size_t keep = chars.size();
  if (!FitsOne(chars, EncodingOf(chars))) {
    const size_t budget = kUcs2SingleUnitsMax - Ucs2Units(kEllipsis);
    size_t used = 0;
    keep = 0;
    while (keep < chars.size() && used + Ucs2Units(chars[keep]) <= budget) {
      used += Ucs2Units(chars[keep]);
      ++keep;
    }
    while (keep > 0 && IsSpace(chars[keep - 1])) --keep;
  }
  std::string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < keep; ++i) AppendUtf8(chars[i], &out);
  if (keep < chars.size()) AppendUtf8(kEllipsis, &out);
  return out;
}

}  // namespace ryuryo::sms
