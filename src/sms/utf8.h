// UTF-8 decoding and encoding for SMS text (sms/keywords.h, sms/segments.h, sms/msisdn.h).
//
// Decoding never fails: a byte that does not start a well-formed sequence (a stray continuation
// byte, a truncated sequence, an overlong form, a UTF-16 surrogate, a value above U+10FFFF)
// decodes as U+FFFD and consumes exactly one byte, so every input makes progress and every
// valid character after the bad byte is still seen.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ryuryo::sms {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes the character starting at s[*pos] and advances *pos past it (one byte on invalid
// input, see above). Requires *pos < s.size().
char32_t NextCodePoint(std::string_view s, size_t* pos);

// Appends the UTF-8 encoding of `cp` to *out; a surrogate or a value above U+10FFFF appends
// U+FFFD.
void AppendUtf8(char32_t cp, std::string* out);

}  // namespace ryuryo::sms
