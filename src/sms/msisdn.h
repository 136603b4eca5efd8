// MSISDN normalisation: the sender of an incoming SMS, as the SMSC or a subscriber wrote it,
// to the E.164 digits that identify a line ("819012345678": country code and national
// significant number, no '+').
//
// Accepted forms (default country code "81"):
//   "+81 90-1234-5678", "+819012345678"  international: the digits after '+' as they are
//                                        (a trunk 0 kept after the default country code,
//                                        "+81 090-…", is dropped);
//   "090-1234-5678", "09012345678"       national: the trunk prefix 0 is replaced by the
//                                        default country code;
//   "81 90 1234 5678", "819012345678"    digits without '+' or trunk 0 are taken as already
//                                        international (so a national number written without
//                                        its trunk 0, "90-1234-5678", is NOT recognised as one).
// Separators anywhere between digits: spaces (also U+00A0 and U+3000), '-', '.', '(' and ')',
// hyphen-like dashes (U+2010..U+2015, U+2212) and the katakana prolonged sound mark 'ー' that
// Japanese input methods often type for '-'. Full-width digits, '＋' and full-width separators
// are folded to ASCII. '+' may appear only once, before the first digit.
//
// Rejected, with an InvalidArgument naming the problem: empty input, letters or any other
// character, a second '+' or one after a digit, "+0...", an international dialling prefix
// ("00...", and "010..." when the default country code is Japan's 81; write '+'), fewer than
// kMsisdnDigitsMin or more than kMsisdnDigitsMax digits after normalisation, and input longer than
// kMsisdnInputBytesMax. The default country code must be 1 to 3 ASCII digits not starting with 0.
//
// Known limit: dropping the trunk 0 is right for Japan, China, the UK, Germany and most
// countries, but wrong for Italy, where the leading 0 of landlines is part of the number.
//
// Thread-safety: a pure function; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace ryuryo::sms {

inline constexpr size_t kMsisdnDigitsMin = 8;
inline constexpr size_t kMsisdnDigitsMax = 15;  // E.164
inline constexpr size_t kMsisdnInputBytesMax = 64;

// On success sets *e164_digits to the digits only ("819012345678"); on failure leaves it
// unchanged.
Status NormalizeMsisdn(std::string_view input, std::string_view default_country_code,
                       std::string* e164_digits);

}  // namespace ryuryo::sms
