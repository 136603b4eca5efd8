#include "sms/msisdn.h"

#include <cstdio>
#include <string>
#include <utility>

#include "sms/utf8.h"

namespace ryuryo::sms {
namespace {

bool IsSeparator(char32_t c) {
  switch (c) {
    case U' ':
    case U'\t':
    case U'-':
    case U'.':
    case U'(':
    case U')':
    case 0x00A0:  // no-break space
    case 0x3000:  // ideographic space
    case 0x2010:
    case 0x2011:
    case 0x2012:
    case 0x2013:
    case 0x2014:
    case 0x2015:  // dashes
    case 0x2212:  // minus sign
    case 0x30FC:  // ー katakana prolonged sound mark
    case 0xFF70:  // ｰ its half-width form
      return true;
    default:
      return false;
  }
}

// "'x'" for printable ASCII, else "U+30A2".
std::string Describe(char32_t c) {
  if (c >= 0x21 && c <= 0x7E) return std::string("'") + static_cast<char>(c) + "'";
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return buf;
}

}  // namespace

Status NormalizeMsisdn(std::string_view input, std::string_view default_country_code,
                       std::string* e164_digits) {
  const size_t cc_size = default_country_code.size();
  if (cc_size < 1 || cc_size > 3 || default_country_code[0] == '0' ||
      default_country_code.find_first_not_of("0123456789") != std::string_view::npos) {
    return Status::InvalidArgument("default country code: must be 1 to 3 digits, not 0...");
  }
  if (input.size() > kMsisdnInputBytesMax) {
    return Status::InvalidArgument("msisdn: longer than " + std::to_string(kMsisdnInputBytesMax) +
                                   " bytes");
  }
  std::string digits;
  bool plus = false;
  size_t pos = 0;
  while (pos < input.size()) {
    char32_t c = NextCodePoint(input, &pos);
    if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0;  // full-width ASCII
    if (c >= U'0' && c <= U'9') {
      digits.push_back(static_cast<char>(c));
    } else if (c == U'+') {
      if (plus) return Status::InvalidArgument("msisdn: more than one '+'");
      if (!digits.empty()) return Status::InvalidArgument("msisdn: '+' after a digit");
      plus = true;
    } else if (!IsSeparator(c)) {
      const bool letter = (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z');
      return Status::InvalidArgument(std::string("msisdn: ") +
                                     (letter ? "letters are not allowed" : "unexpected character") +
                                     " (" + Describe(c) + ")");
    }
  }
  if (digits.empty()) return Status::InvalidArgument("msisdn: no digits");

  std::string e164;
  if (plus) {
    if (digits[0] == '0')
      return Status::InvalidArgument("msisdn: country code cannot start with 0");
    e164 = digits;
    // "+81 090-…": the trunk 0 kept after the (default) country code, a common way of writing a
    // number; it is never part of the number there (the Italian exception is not a default).
    if (e164.size() > cc_size + 1 && e164.starts_with(default_country_code) &&
        e164[cc_size] == '0' && default_country_code != "39") {
      e164.erase(cc_size, 1);
    }
  } else if (digits[0] == '0') {
    if (digits.size() > 1 && digits[1] == '0') {
      return Status::InvalidArgument(
          "msisdn: international dialling prefix 00 is not supported; write '+'");
    }
    if (default_country_code == "81" && digits.starts_with("010")) {
      return Status::InvalidArgument(
          "msisdn: international dialling prefix 010 is not supported; write '+'");
    }
    e164 = std::string(default_country_code) + digits.substr(1);
  } else {
    e164 = digits;
  }
  if (e164.size() < kMsisdnDigitsMin) {
    return Status::InvalidArgument("msisdn: too short (" + std::to_string(e164.size()) +
                                   " digits with the country code; at least " +
                                   std::to_string(kMsisdnDigitsMin) + ")");
  }
  if (e164.size() > kMsisdnDigitsMax) {
    return Status::InvalidArgument("msisdn: too long (" + std::to_string(e164.size()) +
                                   " digits with the country code; at most " +
                                   std::to_string(kMsisdnDigitsMax) + ")");
  }
  *e164_digits = std::move(e164);
  return Status::Ok();
}

}  // namespace ryuryo::sms
