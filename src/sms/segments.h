// SMS segments: which encoding a reply needs and how many messages it takes (3GPP TS 23.038 and
// TS 23.040), and cutting a reply down to a single message.
//
// A text is sent as GSM-7 when every character is in the GSM 03.38 default alphabet or its
// extension table, else as UCS-2. In GSM-7 a default-alphabet character costs 1 septet and an
// extension character (form feed and ^ { } \ [ ~ ] | €) 2 (escape + code). In UCS-2 a character
// costs 1 code unit, or 2 (a surrogate pair) outside the Basic Multilingual Plane (emoji).
// Note that ASCII '`' is in neither GSM table and forces UCS-2.
//
// One segment holds 160 septets or 70 UCS-2 code units. A longer text is sent in concatenated
// parts holding 153 septets or 67 code units each (the rest is the concatenation header); an
// escape pair or a surrogate pair is never split across two parts, as handsets and SMSCs do,
// so a part may hold one unit less.
//
// No national language shift tables (TS 23.038 §6.2.1.2.4) are used: many handsets do not
// support them.
//
// Invalid UTF-8 counts as U+FFFD (sms/utf8.h), which forces UCS-2. Characters are code points:
// a grapheme made of several code points (a flag, a ZWJ emoji sequence, a base letter with a
// combining accent) counts each of them.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ryuryo::sms {

inline constexpr size_t kGsm7SingleSeptetsMax = 160;
inline constexpr size_t kGsm7PartSeptetsMax = 153;
inline constexpr size_t kUcs2SingleUnitsMax = 70;
inline constexpr size_t kUcs2PartUnitsMax = 67;

enum class SmsEncoding { kGsm7, kUcs2 };

// The encoding that `utf8` needs.
SmsEncoding EncodingFor(std::string_view utf8);

// The number of segments `utf8` is sent in; 1 for the empty text (an empty message is still
// one message).
size_t SegmentsFor(std::string_view utf8);

// `utf8` itself when it fits one segment; otherwise its longest prefix that, with trailing
// whitespace dropped and "…" (U+2026) appended, fits one segment. The ellipsis is not in the
// GSM alphabet, so a cut text is UCS-2 and keeps at most 69 code units before the ellipsis.
// Cuts only at code-point boundaries (never inside a surrogate pair). The result is valid
// UTF-8: invalid sequences are replaced by U+FFFD.
std::string FitOneSegment(std::string_view utf8);

}  // namespace ryuryo::sms
