#include "notify/hmac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>

namespace ryuryo::notify {

std::string HmacSha256Hex(std::string_view key, std::string_view message) {
  // OpenSSL wants non-null pointers even for empty inputs; a default std::string_view has none.
  static const unsigned char kEmpty[1] = {0};
  const void* key_data = key.empty() ? kEmpty : static_cast<const void*>(key.data());
  const unsigned char* message_data =
      message.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(message.data());

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_bytes = 0;
  const unsigned char* result = HMAC(EVP_sha256(), key_data, static_cast<int>(key.size()),
                                     message_data, message.size(), digest, &digest_bytes);
  // HMAC only fails on allocation failure or a key longer than INT_MAX bytes: not an expected
  // failure, and returning a wrong signature would be worse than stopping.
  if (result == nullptr || digest_bytes * 2 != kHmacSha256HexChars) std::abort();

  static constexpr char kHexDigits[] = "0123456789abcdef";
  std::string hex(static_cast<size_t>(digest_bytes) * 2, '0');
  for (unsigned int i = 0; i < digest_bytes; ++i) {
    hex[2 * i] = kHexDigits[digest[i] >> 4];
    hex[2 * i + 1] = kHexDigits[digest[i] & 0x0f];
  }
  return hex;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace ryuryo::notify
