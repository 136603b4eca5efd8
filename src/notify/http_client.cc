#include "notify/http_client.h"

#include <netdb.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>

#include "core/thread_name.h"

namespace ryuryo::notify {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

// Bytes read from the socket per body read (the body is appended from this buffer).
constexpr size_t kBodyChunkBytes = 16 << 10;
// The read buffer must hold a whole header block plus whatever arrives with it.
constexpr size_t kReadBufferBytesMax = kHttpClientResponseHeaderBytesMax + (64 << 10);

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// RFC 9110 token characters (method and header names).
bool IsTokenChar(char c) {
  return IsAlnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// A header value may hold visible characters, spaces and tabs, but no CR, LF or other controls
// (which would let a value inject headers).
bool IsHeaderValue(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

bool IsIpLiteral(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// "host:port", with brackets around an IPv6 host.
std::string HostPort(const Url& url) {
  if (url.host.find(':') != std::string::npos) return "[" + url.host + "]:" + url.port;
  return url.host + ":" + url.port;
}

// The Host header: like HostPort, without the port when it is the scheme's default.
std::string HostHeader(const Url& url) {
  const bool default_port =
      (url.scheme == "http" && url.port == "80") || (url.scheme == "https" && url.port == "443");
  if (!default_port) return HostPort(url);
  if (url.host.find(':') != std::string::npos) return "[" + url.host + "]";
  return url.host;
}

// ---------------------------------------------------------------------------------------------
// DNS lookups on helper threads.

std::atomic<int> g_pending_dns_lookups{0};

struct DnsLookup {
  std::mutex mu;
  std::condition_variable done_cv;
  bool done = false;
  std::string error;  // empty when ok
  std::vector<tcp::endpoint> endpoints;
};

void RunDnsLookup(const std::shared_ptr<DnsLookup>& lookup, const std::string& host,
                  const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* results = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &results);
  std::vector<tcp::endpoint> endpoints;
  std::string error;
  if (rc != 0) {
    error = rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc);
  } else {
    for (const addrinfo* ai = results; ai != nullptr; ai = ai->ai_next) {
      if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
      tcp::endpoint endpoint;
      if (ai->ai_addrlen > endpoint.capacity()) continue;
      std::memcpy(endpoint.data(), ai->ai_addr, ai->ai_addrlen);
      endpoint.resize(ai->ai_addrlen);
      endpoints.push_back(endpoint);
    }
    ::freeaddrinfo(results);
    if (endpoints.empty()) error = "no IPv4 or IPv6 address";
  }
  {
    std::lock_guard<std::mutex> lock(lookup->mu);
    lookup->done = true;
    lookup->error = std::move(error);
    lookup->endpoints = std::move(endpoints);
  }
  lookup->done_cv.notify_all();
}

// Resolves url.host (a DNS name or an IP literal) before the deadline. getaddrinfo cannot be
// cancelled, so it runs on a detached thread that owns its share of the result; if the deadline
// passes first, the thread finishes on its own later.
Status Resolve(const Url& url, Clock::time_point deadline, int timeout_ms,
               std::vector<tcp::endpoint>* endpoints) {
  const std::string where = HostPort(url);
  const auto port = static_cast<uint16_t>(std::stoi(url.port));
  error_code ec;
  const asio::ip::address literal = asio::ip::make_address(url.host, ec);
  if (!ec) {
    endpoints->assign(1, tcp::endpoint(literal, port));
    return Status::Ok();
  }

  if (g_pending_dns_lookups.fetch_add(1) >= kHttpClientDnsLookupsMax) {
    g_pending_dns_lookups.fetch_sub(1);
    return Status::Unavailable(where + ": DNS lookup: too many lookups pending (limit " +
                               std::to_string(kHttpClientDnsLookupsMax) + ")");
  }
  auto lookup = std::make_shared<DnsLookup>();
  try {
    std::thread([lookup, host = url.host, port = url.port] {
      SetThreadName("ryuryo-dns");
      RunDnsLookup(lookup, host, port);
      g_pending_dns_lookups.fetch_sub(1);
    }).detach();
  } catch (const std::exception& e) {
    g_pending_dns_lookups.fetch_sub(1);
    return Status::Unavailable(where + ": DNS lookup: cannot start a thread: " + e.what());
  }

  std::unique_lock<std::mutex> lock(lookup->mu);
  if (!lookup->done_cv.wait_until(lock, deadline, [&] { return lookup->done; })) {
    return Status::Unavailable(where + ": timed out after " + std::to_string(timeout_ms) +
                               " ms (DNS lookup)");
  }
  if (!lookup->error.empty()) {
    return Status::Unavailable(where + ": DNS lookup: " + lookup->error);
  }
  *endpoints = lookup->endpoints;
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// TLS configuration, made once and shared (an SSL_CTX is safe to use from many threads once set
// up).

struct TlsConfig {
  std::unique_ptr<ssl::context> context;
  std::string error;  // why context is null
};

TlsConfig MakeTlsConfig() {
  TlsConfig config;
  try {
    auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
    context->set_options(ssl::context::default_workarounds);
    if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
      config.error = "cannot require TLS 1.2";
      return config;
    }
    context->set_default_verify_paths();
    context->set_verify_mode(ssl::verify_peer);
    config.context = std::move(context);
  } catch (const std::exception& e) {
    config.error = std::string("cannot set up TLS: ") + e.what();
  }
  return config;
}

const TlsConfig& SharedTlsConfig() {
  static const TlsConfig config = MakeTlsConfig();
  return config;
}

// ---------------------------------------------------------------------------------------------
// One exchange: async operations run on a private io_context until they complete or the
// deadline passes. On the deadline, the socket is closed, which makes the pending operation
// complete (with operation_aborted) so that nothing refers to this stack frame afterwards.

class Exchange {
 public:
  Exchange(const Url& url, Clock::time_point deadline, int timeout_ms)
      : where_(HostPort(url)), deadline_(deadline), timeout_ms_(timeout_ms) {}

  asio::io_context& io_context() { return io_context_; }

  // Starts one async operation by calling start(handler) and runs it to completion. `socket`
  // is the lowest layer, closed on the deadline. Returns false if the deadline passed (the
  // operation was then cancelled); otherwise *ec is the operation's result.
  template <class Start>
  bool Run(tcp::socket& socket, Start&& start, error_code* ec) {
    bool done = false;
    start([&done, ec](const error_code& result, auto&&...) {
      *ec = result;
      done = true;
    });
    io_context_.restart();
    while (!done && Clock::now() < deadline_) {
      if (io_context_.run_one_until(deadline_) == 0 && io_context_.stopped()) break;
    }
    if (done) return true;
    error_code ignored;
    socket.close(ignored);
    io_context_.restart();
    while (!done && io_context_.run_one() > 0) {
    }
    return false;
  }

  Status TimedOut(std::string_view step) const {
    return Status::Unavailable(where_ + ": timed out after " + std::to_string(timeout_ms_) +
                               " ms (" + std::string(step) + ")");
  }

  Status Failed(std::string_view step, const error_code& ec) const {
    return Failed(step, ec.message());
  }

  Status Failed(std::string_view step, std::string_view reason) const {
    return Status::Unavailable(where_ + ": " + std::string(step) + ": " + std::string(reason));
  }

 private:
  asio::io_context io_context_{1};
  std::string where_;
  Clock::time_point deadline_;
  int timeout_ms_;
};

Status Connect(Exchange& exchange, tcp::socket& socket,
               const std::vector<tcp::endpoint>& endpoints) {
  error_code ec;
  const bool in_time = exchange.Run(
      socket, [&](auto handler) { asio::async_connect(socket, endpoints, std::move(handler)); },
      &ec);
  if (!in_time) return exchange.TimedOut("connecting");
  if (ec) return exchange.Failed("connecting", ec);
  socket.set_option(tcp::no_delay(true), ec);  // best effort
  return Status::Ok();
}

Status TlsHandshake(Exchange& exchange, ssl::stream<tcp::socket>& stream, const Url& url) {
  SSL* ssl_handle = stream.native_handle();
  if (!IsIpLiteral(url.host)) {
    // SNI is only for DNS names (RFC 6066 section 3).
    if (SSL_set_tlsext_host_name(ssl_handle, url.host.c_str()) != 1) {
      return exchange.Failed("TLS handshake", "cannot set the server name (SNI)");
    }
  }
  // The chain is checked by OpenSSL (verify_peer); host_name_verification checks the leaf
  // against the URL's host. On a mismatch it only returns false, which OpenSSL reports as an
  // "unspecified" error, so say what was wrong.
  error_code ec;
  stream.set_verify_callback(
      [verify = ssl::host_name_verification(url.host), is_ip = IsIpLiteral(url.host)](
          bool preverified, ssl::verify_context& context) {
        if (verify(preverified, context)) return true;
        X509_STORE_CTX* store = context.native_handle();
        if (preverified && X509_STORE_CTX_get_error(store) == X509_V_OK) {
          X509_STORE_CTX_set_error(
              store, is_ip ? X509_V_ERR_IP_ADDRESS_MISMATCH : X509_V_ERR_HOSTNAME_MISMATCH);
        }
        return false;
      },
      ec);
  if (ec) return exchange.Failed("TLS handshake", ec);

  const bool in_time = exchange.Run(
      stream.next_layer(),
      [&](auto handler) { stream.async_handshake(ssl::stream_base::client, std::move(handler)); },
      &ec);
  if (!in_time) return exchange.TimedOut("TLS handshake");
  if (ec) {
    const long verify_result = SSL_get_verify_result(ssl_handle);
    if (verify_result != X509_V_OK) {
      return exchange.Failed("TLS handshake", std::string("certificate verification failed: ") +
                                                  X509_verify_cert_error_string(verify_result));
    }
    return exchange.Failed("TLS handshake", ec);
  }
  return Status::Ok();
}

template <class Stream>
Status WriteRequest(Exchange& exchange, Stream& stream, http::request<http::string_body>& request) {
  error_code ec;
  http::request_serializer<http::string_body> serializer(request);
  const bool in_time = exchange.Run(
      beast::get_lowest_layer(stream),
      [&](auto handler) { http::async_write(stream, serializer, std::move(handler)); }, &ec);
  if (!in_time) return exchange.TimedOut("sending the request");
  if (ec) return exchange.Failed("sending the request", ec);
  return Status::Ok();
}

template <class Stream>
Status ReadResponse(Exchange& exchange, Stream& stream, bool is_head, HttpClientResponse* resp) {
  constexpr bool kIsTls = !std::is_same_v<Stream, tcp::socket>;
  tcp::socket& socket = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer(kReadBufferBytesMax);
  std::optional<http::response_parser<http::buffer_body>> parser;
  error_code ec;

  // The status line and headers, skipping interim (1xx) responses.
  for (int interim = 0;; ++interim) {
    if (interim > kHttpClientInterimResponsesMax) {
      return exchange.Failed("reading the response",
                             "more than " + std::to_string(kHttpClientInterimResponsesMax) +
                                 " interim (1xx) responses");
    }
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(kHttpClientResponseHeaderBytesMax));
    // No parser limit: the body is cut at kHttpClientResponseBytesMax below. (Not boost::none:
    // Beast 1.74 compares Content-Length against the optional and then rejects every body.)
    parser->body_limit(std::numeric_limits<std::uint64_t>::max());
    if (is_head) parser->skip(true);
    const bool in_time = exchange.Run(
        socket,
        [&](auto handler) { http::async_read_header(stream, buffer, *parser, std::move(handler)); },
        &ec);
    if (!in_time) return exchange.TimedOut("reading the response");
    if (ec) return exchange.Failed("reading the response", ec);
    const int status = static_cast<int>(parser->get().result_int());
    if (status < 100 || status >= 200 || status == 101) break;
  }
  const int status = static_cast<int>(parser->get().result_int());

  // The body, up to kHttpClientResponseBytesMax bytes.
  std::string body;
  std::unique_ptr<char[]> chunk(new char[kBodyChunkBytes]);
  while (!parser->is_done() && body.size() < kHttpClientResponseBytesMax) {
    parser->get().body().data = chunk.get();
    parser->get().body().size = kBodyChunkBytes;
    const bool in_time = exchange.Run(
        socket,
        [&](auto handler) { http::async_read(stream, buffer, *parser, std::move(handler)); }, &ec);
    if (!in_time) return exchange.TimedOut("reading the response body");
    const size_t chunk_bytes = kBodyChunkBytes - parser->get().body().size;
    body.append(chunk.get(), std::min(chunk_bytes, kHttpClientResponseBytesMax - body.size()));
    if (ec == http::error::need_buffer) continue;
    if constexpr (kIsTls) {
      // A peer that closes without a TLS close_notify, on a body that ends at the close.
      if (ec == ssl::error::stream_truncated && parser->need_eof()) {
        parser->put_eof(ec);
      }
    }
    if (ec) return exchange.Failed("reading the response body", ec);
  }
  resp->status = status;
  resp->body = std::move(body);
  return Status::Ok();
}

// Checks the request and builds the message to send.
Status BuildRequest(const HttpClientRequest& req, const Url& url,
                    http::request<http::string_body>* out) {
  if (!IsToken(req.method)) return Status::InvalidArgument("method: must be an HTTP token");
  if (req.timeout_ms < kHttpClientTimeoutMsMin || req.timeout_ms > kHttpClientTimeoutMsMax) {
    return Status::InvalidArgument("timeout_ms: must be from " +
                                   std::to_string(kHttpClientTimeoutMsMin) + " to " +
                                   std::to_string(kHttpClientTimeoutMsMax));
  }
  bool has_host = false;
  bool has_user_agent = false;
  bool has_content_type = false;
  for (const auto& [name, value] : req.headers) {
    if (!IsToken(name)) return Status::InvalidArgument("header name: must be an HTTP token");
    if (!IsHeaderValue(value)) {
      return Status::InvalidArgument("header " + name +
                                     ": value may not contain CR, LF or other control characters");
    }
    if (EqualsIgnoreCase(name, "content-length") || EqualsIgnoreCase(name, "transfer-encoding") ||
        EqualsIgnoreCase(name, "connection")) {
      return Status::InvalidArgument("header " + name + ": is set by the HTTP client");
    }
    has_host = has_host || EqualsIgnoreCase(name, "host");
    has_user_agent = has_user_agent || EqualsIgnoreCase(name, "user-agent");
    has_content_type = has_content_type || EqualsIgnoreCase(name, "content-type");
  }

  http::request<http::string_body>& request = *out;
  request.version(11);
  const http::verb verb = http::string_to_verb(req.method);
  if (verb == http::verb::unknown) {
    request.method_string(req.method);
  } else {
    request.method(verb);
  }
  request.target(url.target);
  if (!has_host) request.set(http::field::host, HostHeader(url));
  if (!has_user_agent) request.set(http::field::user_agent, std::string(kHttpClientUserAgent));
  if (!has_content_type && !req.body.empty()) {
    request.set(http::field::content_type, "application/json");
  }
  for (const auto& [name, value] : req.headers) request.insert(name, value);
  request.set(http::field::connection, "close");
  request.body() = req.body;
  request.content_length(req.body.size());
  return Status::Ok();
}

Status SendHttpOrThrow(const HttpClientRequest& req, HttpClientResponse* resp) {
  Url url;
  RYURYO_RETURN_IF_ERROR(ParseUrl(req.url, &url));
  http::request<http::string_body> request;
  RYURYO_RETURN_IF_ERROR(BuildRequest(req, url, &request));
  const bool is_head = EqualsIgnoreCase(req.method, "HEAD");

  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(req.timeout_ms);
  std::vector<tcp::endpoint> endpoints;
  RYURYO_RETURN_IF_ERROR(Resolve(url, deadline, req.timeout_ms, &endpoints));

  Exchange exchange(url, deadline, req.timeout_ms);
  if (url.scheme == "http") {
    tcp::socket socket(exchange.io_context());
    RYURYO_RETURN_IF_ERROR(Connect(exchange, socket, endpoints));
    RYURYO_RETURN_IF_ERROR(WriteRequest(exchange, socket, request));
    return ReadResponse(exchange, socket, is_head, resp);
  }

  const TlsConfig& tls = SharedTlsConfig();
  if (tls.context == nullptr) return Status::Unavailable(HostPort(url) + ": " + tls.error);
  ssl::stream<tcp::socket> stream(exchange.io_context(), *tls.context);
  RYURYO_RETURN_IF_ERROR(Connect(exchange, stream.next_layer(), endpoints));
  RYURYO_RETURN_IF_ERROR(TlsHandshake(exchange, stream, url));
  RYURYO_RETURN_IF_ERROR(WriteRequest(exchange, stream, request));
  // The response is framed by HTTP; no TLS shutdown is needed (the connection is not reused).
  return ReadResponse(exchange, stream, is_head, resp);
}

}  // namespace

Status ParseUrl(std::string_view url, Url* out) {
  if (url.size() > kHttpClientUrlBytesMax) {
    return Status::InvalidArgument("url: longer than " + std::to_string(kHttpClientUrlBytesMax) +
                                   " bytes");
  }
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return Status::InvalidArgument(
          "url: may not contain spaces, control or non-ASCII characters (percent-encode them)");
    }
  }

  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return Status::InvalidArgument("url: scheme: must start with http:// or https://");
  }
  const std::string scheme = AsciiLower(url.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") {
    return Status::InvalidArgument("url: scheme: must be http or https");
  }

  const std::string_view rest = url.substr(scheme_end + 3);
  const size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view target = rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return Status::InvalidArgument("url: user info (user@host) is not supported");
  }

  std::string_view host;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("url: host: IPv6 address is missing its ']'");
    }
    host = authority.substr(1, close - 1);
    error_code ec;
    asio::ip::make_address_v6(std::string(host), ec);
    if (ec || host.find('%') != std::string_view::npos) {
      return Status::InvalidArgument("url: host: not a valid IPv6 address");
    }
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return Status::InvalidArgument("url: host: unexpected characters after the IPv6 address");
      }
      has_port = true;
      port = after.substr(1);
    }
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port = authority.substr(colon + 1);
      if (port.find(':') != std::string_view::npos) {
        return Status::InvalidArgument("url: host: an IPv6 address must be in brackets");
      }
    }
    if (host.empty()) return Status::InvalidArgument("url: host: is empty");
    if (host.size() > 253) return Status::InvalidArgument("url: host: longer than 253 characters");
    for (char c : host) {
      if (!IsAlnum(c) && c != '-' && c != '.' && c != '_') {
        return Status::InvalidArgument(
            "url: host: may only contain letters, digits, '-', '.' and '_'");
      }
    }
  }

  int port_number = scheme == "https" ? 443 : 80;
  if (has_port) {
    port_number = 0;
    bool valid = !port.empty() && port.size() <= 5;
    for (char c : port) {
      if (!IsDigit(c)) {
        valid = false;
        break;
      }
      port_number = port_number * 10 + (c - '0');
    }
    if (!valid || port_number < 1 || port_number > 65535) {
      return Status::InvalidArgument("url: port: must be a number from 1 to 65535");
    }
  }

  const size_t fragment = target.find('#');
  if (fragment != std::string_view::npos) target = target.substr(0, fragment);

  out->scheme = scheme;
  out->host = AsciiLower(host);
  out->port = std::to_string(port_number);
  if (target.empty() || target.front() == '?') {
    out->target = "/" + std::string(target);
  } else {
    out->target = std::string(target);
  }
  return Status::Ok();
}

Status SendHttp(const HttpClientRequest& req, HttpClientResponse* resp) {
  *resp = HttpClientResponse();
  Status status;
  try {
    status = SendHttpOrThrow(req, resp);
  } catch (const std::exception& e) {
    status = Status::Unavailable(std::string("HTTP request failed: ") + e.what());
  } catch (...) {
    status = Status::Unavailable("HTTP request failed: unknown exception");
  }
  if (!status.ok()) *resp = HttpClientResponse();
  return status;
}

}  // namespace ryuryo::notify
