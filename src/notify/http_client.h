// A small blocking HTTP/1.1 client, used by the webhook delivery worker to POST events.
//
// SendHttp sends one request on a fresh connection ("Connection: close"; no reuse, no
// redirects, no proxies, no cookies) and reads the whole response. It blocks the calling thread
// for at most about timeout_ms: one deadline covers the DNS lookup, connecting, the TLS
// handshake, writing the request and reading the response.
//
// https: the peer's certificate must chain to the system's default trust store and match the
// URL's host (a DNS name, or an IP address for IP literals); TLS 1.2 or newer; SNI is sent for
// DNS names.
//
// Request headers: the client sets Host, User-Agent ("ryuryo-webhook/1"), Content-Type
// ("application/json", only when the body is non-empty), Content-Length and Connection. A
// header in the request with the name Host, User-Agent or Content-Type replaces the default;
// Content-Length, Transfer-Encoding and Connection may not be given (InvalidArgument).
//
// Response: any complete response is success (Status ok), whatever its HTTP status; the caller
// looks at resp->status. 1xx interim responses are skipped. A body longer than
// kHttpClientResponseBytesMax is truncated to that many bytes and the rest is not read (the
// status is still returned, with Status ok). Headers longer than
// kHttpClientResponseHeaderBytesMax fail with Unavailable.
//
// Errors: a malformed URL, method or header, or a timeout_ms out of range -> InvalidArgument.
// DNS, connect, TLS and I/O failures and the deadline passing -> Unavailable, with a message
// that names "host:port", the step, and the reason. SendHttp never throws.
//
// Thread-safety: ParseUrl and SendHttp may be called concurrently from any number of threads;
// each call uses its own io_context and sockets (the TLS configuration is shared, read-only).
// A DNS lookup runs on a short-lived helper thread so that the deadline holds even if the
// resolver hangs; at most kHttpClientDnsLookupsMax lookups may be pending at once.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace ryuryo::notify {

// Response bodies are cut at this size (1 MiB).
inline constexpr size_t kHttpClientResponseBytesMax = size_t{1} << 20;
// The status line and headers of one response may not exceed this (16 KiB).
inline constexpr size_t kHttpClientResponseHeaderBytesMax = size_t{16} << 10;
// Longest URL accepted by ParseUrl.
inline constexpr size_t kHttpClientUrlBytesMax = 8192;
// Range of HttpClientRequest::timeout_ms.
inline constexpr int kHttpClientTimeoutMsMin = 1;
inline constexpr int kHttpClientTimeoutMsMax = 10 * 60 * 1000;
// Interim (1xx) responses skipped before the final one; more fails with Unavailable.
inline constexpr int kHttpClientInterimResponsesMax = 8;
// DNS lookups that may be pending (including ones whose caller already timed out) across all
// threads; a further SendHttp with a host name fails with Unavailable until some finish.
inline constexpr int kHttpClientDnsLookupsMax = 64;

inline constexpr std::string_view kHttpClientUserAgent = "ryuryo-webhook/1";

struct HttpClientRequest {
  std::string method = "POST";
  std::string url;  // "http://host[:port]/path?query" or "https://..."
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int timeout_ms = 10000;  // overall deadline for the whole exchange
};

struct HttpClientResponse {
  int status = 0;    // e.g. 200; 0 when no response was read
  std::string body;  // at most kHttpClientResponseBytesMax bytes
};

struct Url {
  std::string scheme;  // "http" or "https" (lower-cased)
  std::string host;    // "example.com", "10.0.0.1", or "::1" (IPv6 without the brackets)
  std::string port;    // always set: "80" / "443" when the URL has none
  std::string target;  // "/path?query", never empty ("/" when the URL has no path)
};

// Parses an absolute http or https URL: scheme "://" host [":" port] [path] ["?" query]
// ["#" fragment]. The host is a DNS name (letters, digits, '-', '.', '_'), an IPv4 address, or
// an IPv6 address in brackets ("[::1]"). User info ("user@") is rejected; the fragment is
// dropped. The scheme and host are lower-cased. The URL may not contain spaces or control
// characters. On error, returns InvalidArgument whose message names the part that is wrong
// ("url: port must be a number from 1 to 65535") and leaves *out unspecified.
Status ParseUrl(std::string_view url, Url* out);

// Sends `req` and reads the response into *resp (see the top of this file). On error, *resp is
// left as a default HttpClientResponse (status 0, empty body).
Status SendHttp(const HttpClientRequest& req, HttpClientResponse* resp);

}  // namespace ryuryo::notify
