#include "api/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace ryuryo::api {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Response = http::response<http::string_body>;
using namespace std::chrono_literals;

// Generous: only a broken server makes a test wait this long.
constexpr auto kClientTimeout = 5s;

// A blocking HTTP client with a deadline on every read, so that a broken server fails a test
// instead of hanging it. It sends raw bytes, which allows pipelining and garbage.
class Client {
 public:
  explicit Client(uint16_t port) : stream_(io_) {
    stream_.socket().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  void Send(std::string_view bytes) {
    beast::error_code ignored;  // a closed connection shows in the next Read
    net::write(stream_.socket(), net::buffer(bytes.data(), bytes.size()), ignored);
  }

  // Reads one response. end_of_stream (or a reset) means the server closed the connection.
  beast::error_code Read(Response& response, bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.skip(head);
    beast::error_code result = beast::error::timeout;
    stream_.expires_after(kClientTimeout);
    http::async_read(stream_, buffer_, parser, [&](beast::error_code ec, size_t) { result = ec; });
    io_.restart();
    io_.run();
    response = parser.release();
    return result;
  }

  Response RoundTrip(std::string_view request) {
    Send(request);
    Response response;
    const beast::error_code ec = Read(response);
    EXPECT_FALSE(ec) << ec.message();
    return response;
  }

  // True if the server closed the connection (rather than answering or timing out).
  bool ClosedByServer() {
    Response response;
    const beast::error_code ec = Read(response);
    return ec == http::error::end_of_stream || ec == net::error::connection_reset ||
           ec == net::error::eof;
  }

  void Close() { stream_.close(); }

 private:
  net::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

std::string Request(std::string_view method, std::string_view target, std::string_view body = "",
                    std::string_view extra_headers = "") {
  std::string request = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
  request += "Host: test\r\n";
  request += extra_headers;
  if (!body.empty() || method == "POST") {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n";
  request += body;
  return request;
}

std::string ErrorCode(const Response& response) {
  return nlohmann::json::parse(response.body()).at("error").at("code").get<std::string>();
}

HttpResponse Text(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = "text/plain";
  response.body = std::move(body);
  return response;
}

// Answers every request with its path as text.
void EchoPath(HttpRequest&& request, Responder respond) { respond(Text(200, request.path)); }

bool WaitFor(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + kClientTimeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(Handler handler, HttpServerOptions options = {}) {
    options.address = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<HttpServer>(io_, options, std::move(handler));
    const Status status = server_->Listen();
    ASSERT_TRUE(status.ok()) << status.ToString();
    ASSERT_NE(server_->port(), 0);
    server_->Start();
    io_thread_ = std::thread([this] {
      io_.run();
      run_returned_.set_value();
    });
  }

  uint16_t port() const { return server_->port(); }

  // Runs `fn` on a thread of its own, joined at the end of the test.
  void RunOnWorker(std::function<void()> fn) {
    std::lock_guard lock(mu_);
    workers_.emplace_back(std::move(fn));
  }

  void RunOnIoThread(const std::function<void()>& fn) {
    std::promise<void> done;
    net::post(io_, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  // Stops the server on its thread and checks that io_context::run() then returns.
  void StopServer() {
    if (!io_thread_.joinable()) return;
    RunOnIoThread([this] { server_->Stop(); });
    if (run_returned_.get_future().wait_for(kClientTimeout) != std::future_status::ready) {
      ADD_FAILURE() << "io_context::run() did not return after Stop()";
      io_.stop();
    }
    io_thread_.join();
  }

  void TearDown() override {
    std::vector<std::thread> workers;
    {
      std::lock_guard lock(mu_);
      workers.swap(workers_);
    }
    for (std::thread& worker : workers) worker.join();
    StopServer();
    server_.reset();
  }

  void Record(const HttpRequest& request) {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
  }
  std::vector<HttpRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

  net::io_context io_;
  std::unique_ptr<HttpServer> server_;
  std::thread io_thread_;
  std::promise<void> run_returned_;
  std::mutex mu_;
  std::vector<std::thread> workers_;   // guarded by mu_
  std::vector<HttpRequest> requests_;  // guarded by mu_
};

TEST(HttpResponseTest, ErrorFromStatus) {
  const HttpResponse response = HttpResponse::Error(Status::NotFound("line \"a\" not found"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, R"({"error":{"code":"not_found","message":"line \"a\" not found"}})");
}

TEST(HttpResponseTest, ErrorWithCodeAndJson) {
  const HttpResponse error = HttpResponse::Error(413, "payload_too_large", "too big");
  EXPECT_EQ(error.status, 413);
  EXPECT_EQ(error.body, R"({"error":{"code":"payload_too_large","message":"too big"}})");
  // Invalid UTF-8 in a message does not throw.
  EXPECT_EQ(HttpResponse::Error(400, "bad", "\xff").status, 400);

  const HttpResponse json = HttpResponse::Json(201, R"({"id":1})");
  EXPECT_EQ(json.status, 201);
  EXPECT_EQ(json.content_type, "application/json");
  EXPECT_EQ(json.body, R"({"id":1})");
}

TEST(HttpResponseTest, HttpStatusFor) {
  using Code = Status::Code;
  EXPECT_EQ(HttpStatusFor(Code::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(Code::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(Code::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusFor(Code::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(Code::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(Code::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusFor(Code::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(Code::kIOError), 500);
  EXPECT_EQ(HttpStatusFor(Code::kInternal), 500);
}

TEST(HttpServerListenTest, ReportsAddressInUseAndBadAddress) {
  net::io_context io;
  HttpServerOptions options;
  options.port = 0;
  HttpServer first(io, options, EchoPath);
  ASSERT_TRUE(first.Listen().ok());

  options.port = first.port();
  HttpServer second(io, options, EchoPath);
  const Status in_use = second.Listen();
  EXPECT_EQ(in_use.code(), Status::Code::kIOError);
  EXPECT_NE(in_use.message().find("127.0.0.1:" + std::to_string(first.port())), std::string::npos)
      << in_use.message();

  options.address = "not-an-address";
  HttpServer third(io, options, EchoPath);
  const Status bad = third.Listen();
  EXPECT_EQ(bad.code(), Status::Code::kIOError);
  EXPECT_NE(bad.message().find("not-an-address"), std::string::npos) << bad.message();
}

TEST_F(HttpServerTest, GetDecodesPathQueryAndHeaders) {
  StartServer([this](HttpRequest&& request, Responder respond) {
    Record(request);
    HttpResponse response = HttpResponse::Json(200, R"({"ok":true})");
    response.headers.emplace_back("X-Extra", "1");
    response.headers.emplace_back("X-Bad", "a\r\nInjected: yes");  // dropped
    respond(std::move(response));
  });
  Client client(port());
  const std::string target =
      "/v1/lines/a%2Fb%20c/usage?from=2024-01-01&name=J%C3%B6rg+M%26M&flag&&empty=&from=dup";
  const Response response = client.RoundTrip(
      Request("GET", target, "", "X-Request-ID: Abc\r\nAccept: application/json\r\n"));

  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), R"({"ok":true})");
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_EQ(response[http::field::content_length], "11");
  EXPECT_EQ(response[http::field::server], "ryuryo");
  EXPECT_EQ(response["X-Extra"], "1");
  EXPECT_EQ(response.count("X-Bad"), 0u);
  EXPECT_EQ(response.count("Injected"), 0u);
  EXPECT_TRUE(response.keep_alive());

  const std::vector<HttpRequest> seen = requests();
  ASSERT_EQ(seen.size(), 1u);
  const HttpRequest& request = seen[0];
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, target);
  EXPECT_EQ(request.path, "/v1/lines/a/b c/usage");
  const std::vector<std::pair<std::string, std::string>> query = {{"from", "2024-01-01"},
                                                                  {"name", "J\xC3\xB6rg M&M"},
                                                                  {"flag", ""},
                                                                  {"empty", ""},
                                                                  {"from", "dup"}};
  EXPECT_EQ(request.query, query);
  ASSERT_NE(request.Query("from"), nullptr);
  EXPECT_EQ(*request.Query("from"), "2024-01-01");
  EXPECT_EQ(request.Query("missing"), nullptr);
  ASSERT_NE(request.Header("x-request-id"), nullptr);
  EXPECT_EQ(*request.Header("x-request-id"), "Abc");
  ASSERT_NE(request.Header("host"), nullptr);
  EXPECT_EQ(*request.Header("host"), "test");
  EXPECT_EQ(request.Header("X-Request-ID"), nullptr);  // names are lower-cased
  EXPECT_EQ(request.remote_address, "127.0.0.1");
  EXPECT_TRUE(request.body.empty());
}

TEST_F(HttpServerTest, PostBodyReachesHandler) {
  StartServer([](HttpRequest&& request, Responder respond) {
    respond(Text(201, request.method + " " + request.body));
  });
  Client client(port());
  const Response response = client.RoundTrip(Request("POST", "/v1/records", R"({"bytes":12})"));
  EXPECT_EQ(response.result_int(), 201);
  EXPECT_EQ(response[http::field::content_type], "text/plain");
  EXPECT_EQ(response.body(), R"(POST {"bytes":12})");
}

TEST_F(HttpServerTest, ExpectContinueGets100BeforeTheBody) {
  StartServer([](HttpRequest&& request, Responder respond) { respond(Text(200, request.body)); });
  Client client(port());
  client.Send(
      "POST /c HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  Response response;
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.result_int(), 100);
  client.Send("hello");
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "hello");
}

TEST_F(HttpServerTest, ResponderCalledLaterFromAnotherThread) {
  StartServer([this](HttpRequest&& request, Responder respond) {
    RunOnWorker([respond, path = request.path] {
      std::this_thread::sleep_for(20ms);
      respond(Text(200, "committed " + path));
    });
  });
  Client client(port());
  EXPECT_EQ(client.RoundTrip(Request("POST", "/a", "x")).body(), "committed /a");
  EXPECT_EQ(client.RoundTrip(Request("POST", "/b", "y")).body(), "committed /b");
}

TEST_F(HttpServerTest, SecondResponderCallIsIgnored) {
  StartServer([](HttpRequest&& request, Responder respond) {
    respond(Text(200, "first"));
    respond(Text(500, "second"));
  });
  Client client(port());
  EXPECT_EQ(client.RoundTrip(Request("GET", "/x")).body(), "first");
  EXPECT_EQ(client.RoundTrip(Request("GET", "/y")).body(), "first");
}

TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  StartServer(EchoPath);
  Client client(port());
  EXPECT_EQ(client.RoundTrip(Request("GET", "/one")).body(), "/one");
  EXPECT_EQ(client.RoundTrip(Request("GET", "/two")).body(), "/two");
  EXPECT_EQ(server_->open_connections(), 1u);
}

TEST_F(HttpServerTest, ConnectionCloseIsHonored) {
  StartServer(EchoPath);
  Client client(port());
  const Response response = client.RoundTrip(Request("GET", "/bye", "", "Connection: close\r\n"));
  EXPECT_EQ(response.body(), "/bye");
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(client.ClosedByServer());
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  // The first request is answered later than the second would be, from another thread.
  StartServer([this](HttpRequest&& request, Responder respond) {
    if (request.path == "/slow") {
      RunOnWorker([respond] {
        std::this_thread::sleep_for(50ms);
        respond(Text(200, "slow"));
      });
    } else {
      respond(Text(200, "fast"));
    }
  });
  Client client(port());
  client.Send(Request("GET", "/slow") + Request("POST", "/fast", "body"));
  Response first, second;
  ASSERT_FALSE(client.Read(first));
  ASSERT_FALSE(client.Read(second));
  EXPECT_EQ(first.body(), "slow");
  EXPECT_EQ(second.body(), "fast");
}

TEST_F(HttpServerTest, HeadKeepsContentLengthWithoutBody) {
  StartServer([](HttpRequest&& request, Responder respond) { respond(Text(200, "hello")); });
  Client client(port());
  client.Send(Request("HEAD", "/h"));
  Response head;
  ASSERT_FALSE(client.Read(head, /*head=*/true));
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head[http::field::content_length], "5");
  // No body bytes were sent: the next response on the connection parses cleanly.
  EXPECT_EQ(client.RoundTrip(Request("GET", "/g")).body(), "hello");
}

TEST_F(HttpServerTest, OversizedBodyGets413AndClose) {
  HttpServerOptions options;
  options.body_bytes_max = 1024;
  StartServer(
      [this](HttpRequest&& request, Responder respond) {
        Record(request);
        respond(Text(200, std::to_string(request.body.size())));
      },
      options);

  Client fits(port());
  EXPECT_EQ(fits.RoundTrip(Request("POST", "/r", std::string(1024, 'a'))).body(), "1024");

  Client client(port());
  const Response response = client.RoundTrip(Request("POST", "/r", std::string(64 << 10, 'a')));
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_EQ(
      response.body(),
      R"({"error":{"code":"payload_too_large","message":"request body exceeds 1024 bytes"}})");
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(client.ClosedByServer());
  EXPECT_EQ(requests().size(), 1u);
}

TEST_F(HttpServerTest, OversizedChunkedBodyGets413) {
  HttpServerOptions options;
  options.body_bytes_max = 16;
  StartServer(EchoPath, options);
  Client client(port());
  const std::string chunk(32, 'b');
  const Response response = client.RoundTrip(
      "POST /c HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" + chunk +
      "\r\n0\r\n\r\n");
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_EQ(ErrorCode(response), "payload_too_large");
}

TEST_F(HttpServerTest, OversizedHeaderGets431) {
  HttpServerOptions options;
  options.header_bytes_max = 1024;
  StartServer(EchoPath, options);
  Client client(port());
  const Response response =
      client.RoundTrip(Request("GET", "/h", "", "X-Big: " + std::string(4096, 'h') + "\r\n"));
  EXPECT_EQ(response.result_int(), 431);
  EXPECT_EQ(ErrorCode(response), "header_too_large");
  EXPECT_TRUE(client.ClosedByServer());
}

TEST_F(HttpServerTest, GarbageGets400AndServerKeepsServing) {
  StartServer(EchoPath);
  Client bad(port());
  const Response response = bad.RoundTrip("NOT HTTP\r\n\r\n");
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_EQ(ErrorCode(response), "bad_request");
  EXPECT_TRUE(bad.ClosedByServer());

  Client good(port());
  EXPECT_EQ(good.RoundTrip(Request("GET", "/still/here")).body(), "/still/here");
}

TEST_F(HttpServerTest, ConnectionsBeyondTheLimitAreClosed) {
  HttpServerOptions options;
  options.connections_max = 2;
  StartServer(EchoPath, options);
  auto first = std::make_unique<Client>(port());
  Client second(port());
  EXPECT_EQ(first->RoundTrip(Request("GET", "/1")).body(), "/1");
  EXPECT_EQ(second.RoundTrip(Request("GET", "/2")).body(), "/2");
  EXPECT_EQ(server_->open_connections(), 2u);

  Client extra(port());
  EXPECT_TRUE(extra.ClosedByServer());
  EXPECT_EQ(server_->open_connections(), 2u);

  // Once a connection closes, a new one is served again.
  first.reset();
  ASSERT_TRUE(WaitFor([this] { return server_->open_connections() == 1; }));
  Client next(port());
  EXPECT_EQ(next.RoundTrip(Request("GET", "/3")).body(), "/3");
}

TEST_F(HttpServerTest, HandlerExceptionGets500AndConnectionStaysUsable) {
  StartServer([](HttpRequest&& request, Responder respond) {
    if (request.path == "/throw") throw std::runtime_error("boom");
    respond(Text(200, "ok"));
  });
  Client client(port());
  const Response response = client.RoundTrip(Request("GET", "/throw"));
  EXPECT_EQ(response.result_int(), 500);
  EXPECT_EQ(ErrorCode(response), "internal");
  EXPECT_EQ(client.RoundTrip(Request("GET", "/fine")).body(), "ok");
}

TEST_F(HttpServerTest, DroppedResponderGets500) {
  StartServer([](HttpRequest&& request, Responder respond) {});
  Client client(port());
  const Response response = client.RoundTrip(Request("GET", "/forgotten"));
  EXPECT_EQ(response.result_int(), 500);
  EXPECT_EQ(ErrorCode(response), "internal");
}

TEST_F(HttpServerTest, IdleConnectionIsClosed) {
  HttpServerOptions options;
  options.idle_timeout_seconds = 1;
  StartServer(EchoPath, options);
  Client client(port());
  EXPECT_TRUE(client.ClosedByServer());
  EXPECT_TRUE(WaitFor([this] { return server_->open_connections() == 0; }));
}

TEST_F(HttpServerTest, SlowHandlerIsNotCutByIdleTimeout) {
  HttpServerOptions options;
  options.idle_timeout_seconds = 1;
  StartServer(
      [this](HttpRequest&& request, Responder respond) {
        RunOnWorker([respond] {
          std::this_thread::sleep_for(1500ms);
          respond(Text(200, "late"));
        });
      },
      options);
  Client client(port());
  EXPECT_EQ(client.RoundTrip(Request("GET", "/slow")).body(), "late");
}

TEST_F(HttpServerTest, StopClosesConnectionsAndRunReturns) {
  StartServer(EchoPath);
  Client client(port());
  EXPECT_EQ(client.RoundTrip(Request("GET", "/x")).body(), "/x");
  StopServer();
  EXPECT_TRUE(client.ClosedByServer());
  EXPECT_EQ(server_->open_connections(), 0u);
}

}  // namespace
}  // namespace ryuryo::api
