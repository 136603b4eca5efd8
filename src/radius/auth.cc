#include "radius/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace ryuryo::radius {
namespace {

constexpr size_t kAuthenticatorOffset = 4;

[[noreturn]] void CryptoFailure(const char* what) {
  // MD5 and HMAC fail only on allocation failure or when the provider lacks MD5 (a FIPS-only
  // OpenSSL): neither is an expected failure of RADIUS input.
  std::fprintf(stderr, "radius: OpenSSL %s failed\n", what);
  std::abort();
}

// The Length field when the datagram holds a whole packet of a legal size, else 0.
size_t PacketLength(std::span<const uint8_t> datagram) {
  if (datagram.size() < kRadiusPacketBytesMin) return 0;
  const size_t length = (size_t{datagram[2]} << 8) | datagram[3];
  if (length < kRadiusPacketBytesMin || length > kRadiusPacketBytesMax) return 0;
  if (length > datagram.size()) return 0;
  return length;
}

struct MessageAuthenticatorPosition {
  size_t count = 0;         // Message-Authenticator attributes found
  size_t offset = 0;        // offset of the first one's value
  bool bad_length = false;  // the first one's value is not 16 octets
};

// Walks the attributes of a packet of `length` octets; false when they are malformed.
bool LocateMessageAuthenticator(std::span<const uint8_t> datagram, size_t length,
                                MessageAuthenticatorPosition* out) {
  size_t pos = kRadiusHeaderBytes;
  while (pos < length) {
    if (length - pos < 2) return false;
    const size_t attr_len = datagram[pos + 1];
    if (attr_len < 2 || attr_len > length - pos) return false;
    if (datagram[pos] == kMessageAuthenticatorType) {
      if (out->count == 0) {
        out->offset = pos + 2;
        out->bad_length = attr_len != 2 + kRadiusAuthenticatorBytes;
      }
      ++out->count;
    }
    pos += attr_len;
  }
  return true;
}

// HMAC-MD5 of `packet` (whose Authenticator field and Message-Authenticator value the caller
// has already set up).
Authenticator HmacMd5(std::string_view packet, std::string_view secret) {
  Authenticator mac{};
  unsigned int mac_len = 0;
  const unsigned char* r = HMAC(EVP_md5(), secret.data(), static_cast<int>(secret.size()),
                                reinterpret_cast<const unsigned char*>(packet.data()),
                                packet.size(), mac.data(), &mac_len);
  if (r == nullptr || mac_len != mac.size()) CryptoFailure("HMAC-MD5");
  return mac;
}

bool Equal(const uint8_t* a, const uint8_t* b) {
  return CRYPTO_memcmp(a, b, kRadiusAuthenticatorBytes) == 0;
}

bool IsSignedRequest(uint8_t code) {
  return code == kAccountingRequest || code == kCoaRequest || code == kDisconnectRequest;
}

// Fills the Message-Authenticator (if any) and then, when `md5_header` is set, the MD5
// authenticator of an encoded packet. `hmac_header` goes in the Authenticator field during the
// HMAC.
Status Sign(std::string* d, const Authenticator& hmac_header, const Authenticator* md5_header,
            std::string_view secret) {
  const auto bytes = AsBytes(*d);
  MessageAuthenticatorPosition ma;
  if (!LocateMessageAuthenticator(bytes, d->size(), &ma)) {
    return Status::Internal("the encoded packet does not walk");
  }
  if (ma.count > 1) {
    return Status::InvalidArgument("more than one Message-Authenticator");
  }
  if (ma.count == 1) {
    std::memcpy(d->data() + kAuthenticatorOffset, hmac_header.data(), hmac_header.size());
    std::memset(d->data() + ma.offset, 0, kRadiusAuthenticatorBytes);
    const Authenticator mac = HmacMd5(*d, secret);
    std::memcpy(d->data() + ma.offset, mac.data(), mac.size());
  }
  if (md5_header != nullptr) {
    const Authenticator auth = ComputeAuthenticator(AsBytes(*d), *md5_header, secret);
    std::memcpy(d->data() + kAuthenticatorOffset, auth.data(), auth.size());
  } else {
    std::memcpy(d->data() + kAuthenticatorOffset, hmac_header.data(), hmac_header.size());
  }
  return Status::Ok();
}

}  // namespace

Authenticator ComputeAuthenticator(std::span<const uint8_t> datagram,
                                   const Authenticator& header_authenticator,
                                   std::string_view secret) {
  Authenticator out{};
  if (datagram.size() < kRadiusHeaderBytes) return out;  // documented precondition
  size_t length = (size_t{datagram[2]} << 8) | datagram[3];
  if (length < kRadiusHeaderBytes || length > datagram.size()) return out;
  // MD5 fetched from the provider once (an implicit fetch per digest takes a global lock), and
  // one context per thread, reused.
  static EVP_MD* const md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  if (md5 == nullptr) CryptoFailure("EVP_MD_fetch(MD5)");
  struct Ctx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Ctx holder;
  EVP_MD_CTX* ctx = holder.ctx;
  if (ctx == nullptr) CryptoFailure("EVP_MD_CTX_new");
  unsigned int out_len = 0;
  const bool ok =
      EVP_DigestInit_ex(ctx, md5, nullptr) == 1 &&
      EVP_DigestUpdate(ctx, datagram.data(), kAuthenticatorOffset) == 1 &&
      EVP_DigestUpdate(ctx, header_authenticator.data(), header_authenticator.size()) == 1 &&
      EVP_DigestUpdate(ctx, datagram.data() + kRadiusHeaderBytes, length - kRadiusHeaderBytes) ==
          1 &&
      EVP_DigestUpdate(ctx, secret.data(), secret.size()) == 1 &&
      EVP_DigestFinal_ex(ctx, out.data(), &out_len) == 1 && out_len == out.size();
  if (!ok) CryptoFailure("MD5");
  return out;
}

Status EncodeRequest(const Packet& request, std::string_view secret, std::string* datagram) {
  std::string d;
  RYURYO_RETURN_IF_ERROR(Encode(request, &d));
  const Authenticator zeros{};
  if (IsSignedRequest(request.code)) {
    RYURYO_RETURN_IF_ERROR(Sign(&d, zeros, &zeros, secret));
  } else if (request.code == kAccessRequest || request.code == kStatusServer) {
    RYURYO_RETURN_IF_ERROR(Sign(&d, request.authenticator, nullptr, secret));
  } else {
    return Status::InvalidArgument(CodeName(request.code) +
                                   " is not a request; use EncodeResponse");
  }
  *datagram = std::move(d);
  return Status::Ok();
}

Status EncodeResponse(const Packet& response, const Authenticator& request_authenticator,
                      std::string_view secret, std::string* datagram) {
  std::string d;
  RYURYO_RETURN_IF_ERROR(Encode(response, &d));
  RYURYO_RETURN_IF_ERROR(Sign(&d, request_authenticator, &request_authenticator, secret));
  *datagram = std::move(d);
  return Status::Ok();
}

MessageAuthenticatorCheck CheckMessageAuthenticator(std::span<const uint8_t> datagram,
                                                    std::string_view secret,
                                                    const Authenticator& header_authenticator) {
  const size_t length = PacketLength(datagram);
  if (length == 0) return MessageAuthenticatorCheck::kInvalid;
  MessageAuthenticatorPosition ma;
  if (!LocateMessageAuthenticator(datagram, length, &ma)) {
    return MessageAuthenticatorCheck::kInvalid;
  }
  if (ma.count == 0) return MessageAuthenticatorCheck::kAbsent;
  if (ma.count > 1 || ma.bad_length) return MessageAuthenticatorCheck::kInvalid;
  std::string copy(reinterpret_cast<const char*>(datagram.data()), length);
  std::memcpy(copy.data() + kAuthenticatorOffset, header_authenticator.data(),
              header_authenticator.size());
  std::memset(copy.data() + ma.offset, 0, kRadiusAuthenticatorBytes);
  const Authenticator mac = HmacMd5(copy, secret);
  return Equal(mac.data(), datagram.data() + ma.offset) ? MessageAuthenticatorCheck::kValid
                                                        : MessageAuthenticatorCheck::kInvalid;
}

bool VerifyRequest(std::span<const uint8_t> datagram, std::string_view secret) {
  if (PacketLength(datagram) == 0 || !IsSignedRequest(datagram[0])) return false;
  const Authenticator zeros{};
  const Authenticator expected = ComputeAuthenticator(datagram, zeros, secret);
  if (!Equal(expected.data(), datagram.data() + kAuthenticatorOffset)) return false;
  return CheckMessageAuthenticator(datagram, secret, zeros) != MessageAuthenticatorCheck::kInvalid;
}

bool VerifyAccountingRequest(std::span<const uint8_t> datagram, std::string_view secret) {
  return !datagram.empty() && datagram[0] == kAccountingRequest && VerifyRequest(datagram, secret);
}

bool VerifyResponse(std::span<const uint8_t> datagram, const Authenticator& request_authenticator,
                    std::string_view secret) {
  if (PacketLength(datagram) == 0) return false;
  const Authenticator expected = ComputeAuthenticator(datagram, request_authenticator, secret);
  if (!Equal(expected.data(), datagram.data() + kAuthenticatorOffset)) return false;
  return CheckMessageAuthenticator(datagram, secret, request_authenticator) !=
         MessageAuthenticatorCheck::kInvalid;
}

}  // namespace ryuryo::radius
