#include "notify/http_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ryuryo::notify {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using ::testing::HasSubstr;

struct RecordedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string body;

  // Values of every header with this name (case-insensitive).
  std::vector<std::string> Header(std::string_view name) const {
    std::vector<std::string> values;
    for (const auto& [n, v] : headers) {
      if (beast::iequals(n, std::string(name))) values.push_back(v);
    }
    return values;
  }
};

// Raw bytes of a response with a Content-Length.
std::string RawResponse(int status, std::string_view reason, std::string_view body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

// A one-connection-at-a-time HTTP server on 127.0.0.1 (an ephemeral port), on its own thread,
// using Beast's synchronous calls. For each connection it reads one request, records it, writes
// the raw bytes the responder returns, and closes. A hanging server reads the request and then
// never answers (until it is destroyed). Input that is not HTTP just closes the connection.
class TestServer {
 public:
  using Responder = std::function<std::string(const RecordedRequest&)>;

  explicit TestServer(Responder responder, bool hang = false)
      : responder_(std::move(responder)),
        hang_(hang),
        acceptor_(io_context_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Serve(); });
  }

  static std::unique_ptr<TestServer> Answering(int status, std::string body) {
    return std::make_unique<TestServer>(
        [status, body](const RecordedRequest&) { return RawResponse(status, "Status", body); });
  }

  static std::unique_ptr<TestServer> Hanging() {
    return std::make_unique<TestServer>(Responder(), /*hang=*/true);
  }

  ~TestServer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    // Wake a blocked accept() with a connection of our own.
    asio::io_context io_context;
    tcp::socket waker(io_context);
    boost::system::error_code ignored;
    waker.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ignored);
    thread_.join();
  }

  int port() const { return port_; }

  std::string Url(std::string_view target = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(target);
  }

  std::vector<RecordedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

  int connections() const {
    std::lock_guard<std::mutex> lock(mu_);
    return connections_;
  }

 private:
  bool Stopping() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  }

  void Serve() {
    for (;;) {
      tcp::socket socket(io_context_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (Stopping()) return;
      if (ec) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++connections_;
      }
      beast::flat_buffer buffer;
      http::request_parser<http::string_body> parser;
      parser.body_limit(std::uint64_t{16} << 20);
      http::read(socket, buffer, parser, ec);
      if (ec) continue;  // not HTTP (e.g. a TLS ClientHello): close
      RecordedRequest recorded;
      const auto& message = parser.get();
      recorded.method = std::string(message.method_string());
      recorded.target = std::string(message.target());
      for (const auto& field : message) {
        recorded.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      recorded.body = message.body();
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(recorded);
      }
      if (hang_) {
        std::unique_lock<std::mutex> lock(mu_);
        stop_cv_.wait(lock, [this] { return stopping_; });
        return;
      }
      const std::string raw = responder_(recorded);
      asio::write(socket, asio::buffer(raw), ec);
      socket.shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  const Responder responder_;
  const bool hang_;
  asio::io_context io_context_;
  tcp::acceptor acceptor_;
  int port_ = 0;
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::vector<RecordedRequest> requests_;
  int connections_ = 0;
};

// A port on 127.0.0.1 on which nothing listens (it was free a moment ago).
int ClosedPort() {
  asio::io_context io_context;
  tcp::acceptor acceptor(io_context, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const int port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

// ---------------------------------------------------------------------------------------------
// ParseUrl

TEST(ParseUrlTest, HttpWithDefaults) {
  Url url;
  ASSERT_TRUE(ParseUrl("http://example.com", &url).ok());
  EXPECT_EQ(url.scheme, "http");
  EXPECT_EQ(url.host, "example.com");
  EXPECT_EQ(url.port, "80");
  EXPECT_EQ(url.target, "/");
}

TEST(ParseUrlTest, HttpsWithPathQueryAndFragment) {
  Url url;
  ASSERT_TRUE(ParseUrl("HTTPS://Hooks.Example.COM/a/b%20c?x=1&y=%2F#frag", &url).ok());
  EXPECT_EQ(url.scheme, "https");
  EXPECT_EQ(url.host, "hooks.example.com");
  EXPECT_EQ(url.port, "443");
  EXPECT_EQ(url.target, "/a/b%20c?x=1&y=%2F");
}

TEST(ParseUrlTest, ExplicitPortAndQueryWithoutPath) {
  Url url;
  ASSERT_TRUE(ParseUrl("http://10.1.2.3:8080?event=usage", &url).ok());
  EXPECT_EQ(url.host, "10.1.2.3");
  EXPECT_EQ(url.port, "8080");
  EXPECT_EQ(url.target, "/?event=usage");

  ASSERT_TRUE(ParseUrl("https://h:00443/", &url).ok());
  EXPECT_EQ(url.port, "443");
  ASSERT_TRUE(ParseUrl("http://h:65535/#only-fragment", &url).ok());
  EXPECT_EQ(url.port, "65535");
  EXPECT_EQ(url.target, "/");
}

TEST(ParseUrlTest, Ipv6Literals) {
  Url url;
  ASSERT_TRUE(ParseUrl("http://[::1]:9000/hook", &url).ok());
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, "9000");
  EXPECT_EQ(url.target, "/hook");

  ASSERT_TRUE(ParseUrl("https://[2001:DB8::1]", &url).ok());
  EXPECT_EQ(url.scheme, "https");
  EXPECT_EQ(url.host, "2001:db8::1");
  EXPECT_EQ(url.port, "443");
  EXPECT_EQ(url.target, "/");
}

TEST(ParseUrlTest, RejectsBadUrlsNamingThePart) {
  const struct {
    std::string url;
    std::string part;  // expected in the message
  } kCases[] = {
      {"", "scheme"},
      {"example.com/hook", "scheme"},
      {"ftp://example.com/", "scheme"},
      {"http:/example.com/", "scheme"},
      {"http://", "host"},
      {"http:///hook", "host"},
      {"http://:8080/", "host"},
      {"http://exa$mple.com/", "host"},
      {"http://::1/", "host"},
      {"http://[::1/", "host"},
      {"http://[zz::1]/", "host"},
      {"http://[fe80::1%25eth0]/", "host"},
      {"http://[::1]x/", "host"},
      {"http://h:0/", "port"},
      {"http://h:65536/", "port"},
      {"http://h:123456/", "port"},
      {"http://h:/", "port"},
      {"http://h:8o/", "port"},
      {"http://[::1]:/", "port"},
      {"http://user:pw@h/", "user info"},
      {"http://h/a b", "spaces"},
      {"http://h/a\nb", "control"},
      {"http://h/caf\xc3\xa9", "non-ASCII"},
      {"http://h/" + std::string(kHttpClientUrlBytesMax, 'a'), "longer"},
  };
  for (const auto& c : kCases) {
    Url url;
    const Status status = ParseUrl(c.url, &url);
    EXPECT_EQ(status.code(), Status::Code::kInvalidArgument) << c.url;
    EXPECT_THAT(status.message(), HasSubstr("url")) << c.url;
    EXPECT_THAT(status.message(), HasSubstr(c.part)) << c.url;
  }
}

// ---------------------------------------------------------------------------------------------
// SendHttp over plain HTTP

TEST(SendHttpTest, PostArrivesIntactAndStatusIsReturned) {
  auto server = TestServer::Answering(200, "{\"ok\":true}");
  HttpClientRequest req;
  req.url = server->Url("/hooks/line-1?attempt=2");
  req.headers = {{"X-Ryuryo-Signature", "sha256=abc123"}, {"X-Ryuryo-Event", "usage.threshold"}};
  req.body = "{\"line\":\"a\",\"bytes\":12345}";
  HttpClientResponse resp;
  const Status status = SendHttp(req, &resp);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "{\"ok\":true}");

  const auto requests = server->requests();
  ASSERT_EQ(requests.size(), 1u);
  const RecordedRequest& got = requests[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.target, "/hooks/line-1?attempt=2");
  EXPECT_EQ(got.body, req.body);
  EXPECT_THAT(got.Header("Host"),
              ::testing::ElementsAre("127.0.0.1:" + std::to_string(server->port())));
  EXPECT_THAT(got.Header("User-Agent"), ::testing::ElementsAre("ryuryo-webhook/1"));
  EXPECT_THAT(got.Header("Content-Type"), ::testing::ElementsAre("application/json"));
  EXPECT_THAT(got.Header("Content-Length"),
              ::testing::ElementsAre(std::to_string(req.body.size())));
  EXPECT_THAT(got.Header("X-Ryuryo-Signature"), ::testing::ElementsAre("sha256=abc123"));
  EXPECT_THAT(got.Header("X-Ryuryo-Event"), ::testing::ElementsAre("usage.threshold"));
  EXPECT_THAT(got.Header("Connection"), ::testing::ElementsAre("close"));
}

TEST(SendHttpTest, ErrorStatusIsAResponseNotAnError) {
  auto server = TestServer::Answering(500, "boom");
  HttpClientRequest req;
  req.url = server->Url("/");
  req.body = "{}";
  HttpClientResponse resp;
  ASSERT_TRUE(SendHttp(req, &resp).ok());
  EXPECT_EQ(resp.status, 500);
  EXPECT_EQ(resp.body, "boom");
}

TEST(SendHttpTest, HeadersOverrideDefaults) {
  auto server = TestServer::Answering(204, "");
  HttpClientRequest req;
  req.url = server->Url("/x");
  req.headers = {
      {"content-type", "text/plain"}, {"User-Agent", "custom/2"}, {"Host", "hooks.example.com"}};
  req.body = "plain text";
  HttpClientResponse resp;
  ASSERT_TRUE(SendHttp(req, &resp).ok());
  EXPECT_EQ(resp.status, 204);
  EXPECT_EQ(resp.body, "");
  const auto requests = server->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_THAT(requests[0].Header("Content-Type"), ::testing::ElementsAre("text/plain"));
  EXPECT_THAT(requests[0].Header("User-Agent"), ::testing::ElementsAre("custom/2"));
  EXPECT_THAT(requests[0].Header("Host"), ::testing::ElementsAre("hooks.example.com"));
}

TEST(SendHttpTest, EmptyBodyHasNoContentType) {
  auto server = TestServer::Answering(200, "pong");
  HttpClientRequest req;
  req.method = "GET";
  req.url = server->Url("/ping");
  HttpClientResponse resp;
  ASSERT_TRUE(SendHttp(req, &resp).ok());
  EXPECT_EQ(resp.body, "pong");
  const auto requests = server->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_TRUE(requests[0].Header("Content-Type").empty());
  EXPECT_EQ(requests[0].body, "");
}

TEST(SendHttpTest, HeadReadsNoBody) {
  TestServer server([](const RecordedRequest&) {
    return std::string("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
  });
  HttpClientRequest req;
  req.method = "HEAD";
  req.url = server.Url("/");
  req.timeout_ms = 5000;
  HttpClientResponse resp;
  const Status status = SendHttp(req, &resp);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "");
}

TEST(SendHttpTest, ChunkedResponse) {
  TestServer server([](const RecordedRequest&) {
    return std::string(
        "HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  });
  HttpClientRequest req;
  req.url = server.Url();
  HttpClientResponse resp;
  ASSERT_TRUE(SendHttp(req, &resp).ok());
  EXPECT_EQ(resp.status, 202);
  EXPECT_EQ(resp.body, "hello world");
}

TEST(SendHttpTest, BodyEndingAtConnectionClose) {
  TestServer server([](const RecordedRequest&) {
    return std::string("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil eof");
  });
  HttpClientRequest req;
  req.url = server.Url();
  HttpClientResponse resp;
  ASSERT_TRUE(SendHttp(req, &resp).ok());
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "until eof");
}

TEST(SendHttpTest, InterimResponsesAreSkipped) {
  TestServer server([](const RecordedRequest&) {
    return "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" +
           RawResponse(201, "Created", "made");
  });
  HttpClientRequest req;
  req.url = server.Url();
  HttpClientResponse resp;
  ASSERT_TRUE(SendHttp(req, &resp).ok());
  EXPECT_EQ(resp.status, 201);
  EXPECT_EQ(resp.body, "made");
}

TEST(SendHttpTest, LargeBodyIsTruncatedButStatusReturned) {
  const std::string big(2 * kHttpClientResponseBytesMax, 'x');
  TestServer server([&big](const RecordedRequest&) { return RawResponse(200, "OK", big); });
  HttpClientRequest req;
  req.url = server.Url();
  HttpClientResponse resp;
  const Status status = SendHttp(req, &resp);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body.size(), kHttpClientResponseBytesMax);
  EXPECT_EQ(resp.body, big.substr(0, kHttpClientResponseBytesMax));
}

TEST(SendHttpTest, OversizedHeadersAreAnError) {
  TestServer server([](const RecordedRequest&) {
    return "HTTP/1.1 200 OK\r\nX-Big: " + std::string(kHttpClientResponseHeaderBytesMax, 'h') +
           "\r\nContent-Length: 0\r\n\r\n";
  });
  HttpClientRequest req;
  req.url = server.Url();
  HttpClientResponse resp;
  const Status status = SendHttp(req, &resp);
  EXPECT_EQ(status.code(), Status::Code::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("reading the response"));
  EXPECT_EQ(resp.status, 0);
}

TEST(SendHttpTest, ServerClosingWithoutAnswerIsUnavailable) {
  TestServer server([](const RecordedRequest&) { return std::string(); });
  HttpClientRequest req;
  req.url = server.Url();
  HttpClientResponse resp;
  const Status status = SendHttp(req, &resp);
  EXPECT_EQ(status.code(), Status::Code::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("127.0.0.1:" + std::to_string(server.port())));
  EXPECT_THAT(status.message(), HasSubstr("reading the response"));
}

TEST(SendHttpTest, ConnectionRefusedIsUnavailable) {
  const int port = ClosedPort();
  HttpClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  req.body = "{}";
  req.timeout_ms = 2000;
  HttpClientResponse resp;
  const Status status = SendHttp(req, &resp);
  EXPECT_EQ(status.code(), Status::Code::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("127.0.0.1:" + std::to_string(port)));
  EXPECT_THAT(status.message(), HasSubstr("connecting"));
  EXPECT_EQ(resp.status, 0);
}

TEST(SendHttpTest, ServerThatNeverAnswersTimesOut) {
  auto server = TestServer::Hanging();
  HttpClientRequest req;
  req.url = server->Url("/slow");
  req.body = "{}";
  req.timeout_ms = 300;
  HttpClientResponse resp;
  const auto start = std::chrono::steady_clock::now();
  const Status status = SendHttp(req, &resp);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(status.code(), Status::Code::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("timed out after 300 ms"));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_EQ(server->requests().size(), 1u);  // the request did arrive
}

TEST(SendHttpTest, HostNameIsResolved) {
  auto server = TestServer::Answering(200, "via dns");
  HttpClientRequest req;
  req.url = "http://localhost:" + std::to_string(server->port()) + "/";
  req.timeout_ms = 5000;
  HttpClientResponse resp;
  const Status status = SendHttp(req, &resp);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(resp.body, "via dns");
  const auto requests = server->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_THAT(requests[0].Header("Host"),
              ::testing::ElementsAre("localhost:" + std::to_string(server->port())));
}

TEST(SendHttpTest, UnresolvableHostIsUnavailable) {
  HttpClientRequest req;
  req.url = "http://no-such-host.invalid/hook";
  req.timeout_ms = 2000;
  HttpClientResponse resp;
  const Status status = SendHttp(req, &resp);
  EXPECT_EQ(status.code(), Status::Code::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("no-such-host.invalid:80"));
}

TEST(SendHttpTest, InvalidRequestsAreRejectedBeforeConnecting) {
  auto server = TestServer::Answering(200, "");
  auto send = [&](HttpClientRequest req) {
    HttpClientResponse resp;
    return SendHttp(req, &resp);
  };
  HttpClientRequest good;
  good.url = server->Url();

  HttpClientRequest req = good;
  req.url = "http://h:99999/";
  EXPECT_EQ(send(req).code(), Status::Code::kInvalidArgument);
  req = good;
  req.method = "PO ST";
  EXPECT_EQ(send(req).code(), Status::Code::kInvalidArgument);
  req = good;
  req.method = "";
  EXPECT_EQ(send(req).code(), Status::Code::kInvalidArgument);
  req = good;
  req.headers = {{"X-Injected", "a\r\nEvil: 1"}};
  EXPECT_THAT(send(req).message(), HasSubstr("X-Injected"));
  req = good;
  req.headers = {{"Bad Name", "v"}};
  EXPECT_EQ(send(req).code(), Status::Code::kInvalidArgument);
  req = good;
  req.headers = {{"content-length", "5"}};
  EXPECT_EQ(send(req).code(), Status::Code::kInvalidArgument);
  req = good;
  req.headers = {{"Transfer-Encoding", "chunked"}};
  EXPECT_EQ(send(req).code(), Status::Code::kInvalidArgument);
  req = good;
  req.timeout_ms = 0;
  EXPECT_THAT(send(req).message(), HasSubstr("timeout_ms"));

  EXPECT_EQ(server->connections(), 0);
  EXPECT_TRUE(send(good).ok());
  EXPECT_EQ(server->connections(), 1);
}

TEST(SendHttpTest, ConcurrentCallsFromManyThreads) {
  auto server = TestServer::Answering(200, "ok");
  constexpr int kThreads = 6;
  constexpr int kRequestsPerThread = 5;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<Status> failures;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequestsPerThread; ++i) {
        HttpClientRequest req;
        req.url = server->Url("/t" + std::to_string(t));
        req.body = "{\"i\":" + std::to_string(i) + "}";
        req.timeout_ms = 10000;
        HttpClientResponse resp;
        const Status status = SendHttp(req, &resp);
        if (!status.ok() || resp.status != 200 || resp.body != "ok") {
          std::lock_guard<std::mutex> lock(mu);
          failures.push_back(status);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(failures.empty()) << failures.front().ToString();
  EXPECT_EQ(server->requests().size(), static_cast<size_t>(kThreads * kRequestsPerThread));
}

// ---------------------------------------------------------------------------------------------
// https (no TLS server here: only failures are tested)

TEST(SendHttpTest, HttpsToPlainHttpServerFailsCleanly) {
  auto server = TestServer::Answering(200, "plain");
  HttpClientRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(server->port()) + "/hook";
  req.body = "{}";
  req.timeout_ms = 5000;
  HttpClientResponse resp;
  const Status status = SendHttp(req, &resp);
  EXPECT_EQ(status.code(), Status::Code::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("127.0.0.1:" + std::to_string(server->port())));
  EXPECT_THAT(status.message(), HasSubstr("TLS handshake"));
  EXPECT_EQ(resp.status, 0);
  EXPECT_TRUE(server->requests().empty());
}

TEST(SendHttpTest, HttpsHandshakeWithSilentPeerTimesOut) {
  // A listening socket that never accepts: the kernel completes the TCP handshake, and the
  // ClientHello is never answered.
  asio::io_context io_context;
  tcp::acceptor silent(io_context, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  HttpClientRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/";
  req.timeout_ms = 300;
  HttpClientResponse resp;
  const auto start = std::chrono::steady_clock::now();
  const Status status = SendHttp(req, &resp);
  EXPECT_EQ(status.code(), Status::Code::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("timed out"));
  EXPECT_THAT(status.message(), HasSubstr("TLS handshake"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace ryuryo::notify
