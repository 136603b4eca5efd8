// HMAC-SHA256 for signing webhook bodies, and a constant-time comparison for checking
// signatures.
//
// HmacSha256Hex(key, message) is HMAC-SHA256 (RFC 2104 / FIPS 198-1) of `message` under `key`,
// as 64 lowercase hex digits. Any key length is accepted, including empty keys.
//
// ConstantTimeEquals(a, b) takes time that depends only on the lengths, never on where the
// contents first differ, so comparing a received signature with the expected one leaks nothing
// about the expected one. Inputs of different lengths are unequal (the length is not secret).
//
// Thread-safety: both functions are pure and may be called concurrently from any thread.
#pragma once

#include <string>
#include <string_view>

namespace ryuryo::notify {

// Length of the result of HmacSha256Hex: 32 bytes as hex.
inline constexpr size_t kHmacSha256HexChars = 64;

std::string HmacSha256Hex(std::string_view key, std::string_view message);

bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace ryuryo::notify
