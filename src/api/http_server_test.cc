#include "api/http_server.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
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

// A client of a stream response: reads the header, then the body chunk by chunk, on an
// io_context the test may share between many clients (one operation at a time).
class StreamClient {
 public:
  // `receive_buffer_bytes` > 0 makes the socket's receive buffer small (a slow reader).
  StreamClient(net::io_context& io, uint16_t port, int receive_buffer_bytes = 0)
      : io_(io), stream_(io) {
    stream_.socket().open(tcp::v4());
    if (receive_buffer_bytes > 0) {
      stream_.socket().set_option(net::socket_base::receive_buffer_size(receive_buffer_bytes));
    }
    stream_.socket().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  void Send(std::string_view bytes) {
    beast::error_code ignored;
    net::write(stream_.socket(), net::buffer(bytes.data(), bytes.size()), ignored);
  }

  // Sends a GET for `target` and reads the response header; false on an error or a timeout.
  bool Open(std::string_view target = "/stream", std::string_view extra_headers = "") {
    Send("GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n" +
         std::string(extra_headers) + "\r\n");
    return ReadHeader();
  }

  bool ReadHeader() {
    size_t end;
    while ((end = data_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return false;
    }
    const std::string head = data_.substr(0, end + 2);
    data_.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    status_ = std::stoi(status_line.substr(status_line.find(' ') + 1, 3));
    for (size_t at = line_end + 2; at < head.size(); at = line_end + 2) {
      line_end = head.find("\r\n", at);
      const std::string line = head.substr(at, line_end - at);
      const size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      headers_[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    return true;
  }

  int status() const { return status_; }
  // A response header (lower-case name), or "" when absent.
  std::string header(const std::string& name) const {
    auto found = headers_.find(name);
    return found == headers_.end() ? "" : found->second;
  }

  // The data of the next chunk ("" for the last chunk); nullopt on an error or a timeout.
  std::optional<std::string> ReadChunk() {
    size_t line_end;
    while ((line_end = data_.find("\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    const size_t bytes = std::stoul(data_.substr(0, line_end), nullptr, 16);
    while (data_.size() < line_end + 2 + bytes + 2) {
      if (!Fill()) return std::nullopt;
    }
    std::string chunk = data_.substr(line_end + 2, bytes);
    if (data_.compare(line_end + 2 + bytes, 2, "\r\n") != 0) return std::nullopt;
    data_.erase(0, line_end + 2 + bytes + 2);
    return chunk;
  }

  // True if the server closed the connection (rather than sending more or timing out).
  bool ClosedByServer() {
    ReadToClose();
    return last_error_ == net::error::eof || last_error_ == net::error::connection_reset;
  }

  // Whatever comes until the connection closes (or a read times out: see last_error()).
  std::string ReadToClose() {
    while (Fill()) {
    }
    return std::exchange(data_, {});
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }
  beast::error_code last_error() const { return last_error_; }

 private:
  // Reads what is there; false on an error (kept in last_error_) or after kClientTimeout.
  bool Fill() {
    char bytes[4096];
    size_t got = 0;
    last_error_ = beast::error::timeout;
    stream_.expires_after(kClientTimeout);
    stream_.async_read_some(net::buffer(bytes), [&](beast::error_code ec, size_t n) {
      last_error_ = ec;
      got = n;
    });
    io_.restart();
    io_.run();
    data_.append(bytes, got);
    return !last_error_;
  }

  net::io_context& io_;
  beast::tcp_stream stream_;
  std::string data_;  // received, not yet parsed
  beast::error_code last_error_;
  int status_ = 0;
  std::map<std::string, std::string> headers_;
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
    {
      std::lock_guard lock(mu_);
      streams_.clear();
    }
    server_.reset();
  }

  // Answers GET /stream with a stream that it keeps (streams()), sending "retry: 3000" first and
  // counting on_close calls; other paths are echoed.
  Handler StreamingHandler() {
    return [this](HttpRequest&& request, Responder respond) {
      if (request.path != "/stream") return EchoPath(std::move(request), std::move(respond));
      HttpResponse response = HttpResponse::EventStream(
          [this](const std::shared_ptr<HttpStream>& stream) -> std::optional<HttpResponse> {
            ++openers_called_;
            stream->set_on_close([this] { ++on_close_calls_; });
            EXPECT_TRUE(stream->Send("retry: 3000\n\n"));
            std::lock_guard lock(mu_);
            streams_.push_back(stream);
            return std::nullopt;
          });
      response.headers.emplace_back("Set-Cookie", "s=1; HttpOnly");
      respond(std::move(response));
    };
  }

  // The i-th stream the handler opened, once it is there.
  std::shared_ptr<HttpStream> Stream(size_t i) {
    std::shared_ptr<HttpStream> stream;
    EXPECT_TRUE(WaitFor([&] {
      std::lock_guard lock(mu_);
      if (streams_.size() > i) stream = streams_[i];
      return stream != nullptr;
    }));
    return stream;
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
  std::vector<std::thread> workers_;                  // guarded by mu_
  std::vector<HttpRequest> requests_;                 // guarded by mu_
  std::vector<std::shared_ptr<HttpStream>> streams_;  // guarded by mu_
  std::atomic<int> openers_called_{0};
  std::atomic<int> on_close_calls_{0};
  net::io_context client_io_;  // for StreamClients
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

TEST_F(HttpServerTest, StreamSendsTheHeaderThenChunksInOrder) {
  StartServer(StreamingHandler());
  StreamClient client(client_io_, port());
  ASSERT_TRUE(client.Open());
  EXPECT_EQ(client.status(), 200);
  EXPECT_EQ(client.header("content-type"), "text/event-stream");
  EXPECT_EQ(client.header("cache-control"), "no-store");
  EXPECT_EQ(client.header("x-accel-buffering"), "no");
  EXPECT_EQ(client.header("transfer-encoding"), "chunked");
  EXPECT_EQ(client.header("set-cookie"), "s=1; HttpOnly");
  EXPECT_EQ(client.header("content-length"), "");
  EXPECT_EQ(client.ReadChunk(), "retry: 3000\n\n");  // sent by the opener, after the header

  std::shared_ptr<HttpStream> stream = Stream(0);
  ASSERT_NE(stream, nullptr);
  EXPECT_TRUE(stream->Send("data: 1\n\n"));
  EXPECT_TRUE(stream->Send(""));  // nothing to send, and no empty chunk (it would end the body)
  EXPECT_TRUE(stream->Send("data: 2\n\n"));
  EXPECT_TRUE(stream->Send("event: usage\ndata: {\"line\":\"a\"}\n\n"));
  EXPECT_EQ(client.ReadChunk(), "data: 1\n\n");
  EXPECT_EQ(client.ReadChunk(), "data: 2\n\n");
  EXPECT_EQ(client.ReadChunk(), "event: usage\ndata: {\"line\":\"a\"}\n\n");
  EXPECT_EQ(server_->open_streams(), 1u);
  EXPECT_EQ(server_->open_connections(), 1u);
  EXPECT_FALSE(stream->closed());
  EXPECT_FALSE(stream->overflowed());
}

TEST_F(HttpServerTest, StreamSendFromAnotherThread) {
  StartServer(StreamingHandler());
  StreamClient client(client_io_, port());
  ASSERT_TRUE(client.Open());
  ASSERT_EQ(client.ReadChunk(), "retry: 3000\n\n");
  std::shared_ptr<HttpStream> stream = Stream(0);
  ASSERT_NE(stream, nullptr);
  constexpr int kMessages = 500;
  std::atomic<int> sent{0};
  RunOnWorker([stream, &sent] {
    for (int i = 0; i < kMessages; ++i) {
      if (stream->Send("data: " + std::to_string(i) + "\n\n")) ++sent;
    }
  });
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_EQ(client.ReadChunk(), "data: " + std::to_string(i) + "\n\n");
  }
  EXPECT_EQ(sent.load(), kMessages);
}

TEST_F(HttpServerTest, ClientLeavingClosesTheStreamAndRunsOnClose) {
  StartServer(StreamingHandler());
  StreamClient client(client_io_, port());
  ASSERT_TRUE(client.Open());
  ASSERT_EQ(client.ReadChunk(), "retry: 3000\n\n");
  std::shared_ptr<HttpStream> stream = Stream(0);
  ASSERT_NE(stream, nullptr);
  client.Close();
  ASSERT_TRUE(WaitFor([this] { return on_close_calls_.load() == 1; }));
  EXPECT_TRUE(stream->closed());
  EXPECT_FALSE(stream->overflowed());
  EXPECT_FALSE(stream->Send("data: late\n\n"));
  EXPECT_TRUE(WaitFor([this] { return server_->open_connections() == 0; }));
  EXPECT_EQ(server_->open_streams(), 0u);

  // A callback set after the close still runs, once, and not inside set_on_close.
  std::atomic<int> late_calls{0};
  stream->set_on_close([&late_calls] { ++late_calls; });
  EXPECT_TRUE(WaitFor([&] { return late_calls.load() == 1; }));
  EXPECT_EQ(on_close_calls_.load(), 1);
}

TEST_F(HttpServerTest, SlowReaderIsClosedAtTheQueuedBytesLimit) {
  HttpServerOptions options;
  options.stream_queued_bytes_max = 64 << 10;
  StartServer(StreamingHandler(), options);
  StreamClient client(client_io_, port(), /*receive_buffer_bytes=*/4096);
  ASSERT_TRUE(client.Open());
  std::shared_ptr<HttpStream> stream = Stream(0);
  ASSERT_NE(stream, nullptr);

  // The client reads nothing more: the socket buffers fill, then the queue, then the stream
  // closes instead of queueing more.
  const std::string message = "data: " + std::string(16 << 10, 'x') + "\n\n";
  uint64_t sent_bytes = 0;
  constexpr uint64_t kGiveUpBytes = 512ull << 20;
  while (stream->Send(message)) {
    sent_bytes += message.size();
    ASSERT_LT(sent_bytes, kGiveUpBytes) << "the stream never overflowed";
    std::this_thread::yield();
  }
  EXPECT_TRUE(stream->closed());
  EXPECT_TRUE(stream->overflowed());
  EXPECT_FALSE(stream->Send("data: x\n\n"));
  ASSERT_TRUE(WaitFor([this] { return on_close_calls_.load() == 1; }));
  EXPECT_TRUE(WaitFor([this] { return server_->open_connections() == 0; }));
  EXPECT_EQ(server_->open_streams(), 0u);
}

TEST_F(HttpServerTest, KeepAliveRequestsWorkBesideAndBeforeAStream) {
  StartServer(StreamingHandler());
  StreamClient streaming(client_io_, port());
  ASSERT_TRUE(streaming.Open());
  ASSERT_EQ(streaming.ReadChunk(), "retry: 3000\n\n");

  Client client(port());
  EXPECT_EQ(client.RoundTrip(Request("GET", "/one")).body(), "/one");
  EXPECT_EQ(client.RoundTrip(Request("GET", "/two")).body(), "/two");

  // A keep-alive connection may turn into a stream after ordinary requests.
  StreamClient later(client_io_, port());
  later.Send(Request("GET", "/first"));
  ASSERT_TRUE(later.ReadHeader());
  EXPECT_EQ(later.status(), 200);
  ASSERT_TRUE(later.Open());
  EXPECT_EQ(later.header("content-type"), "text/event-stream");
  EXPECT_EQ(later.ReadChunk(), "retry: 3000\n\n");
  EXPECT_EQ(server_->open_streams(), 2u);

  std::shared_ptr<HttpStream> first = Stream(0);
  ASSERT_NE(first, nullptr);
  EXPECT_TRUE(first->Send("data: still here\n\n"));
  EXPECT_EQ(streaming.ReadChunk(), "data: still here\n\n");
}

TEST_F(HttpServerTest, StopClosesOpenStreams) {
  StartServer(StreamingHandler());
  std::vector<std::unique_ptr<StreamClient>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<StreamClient>(client_io_, port()));
    ASSERT_TRUE(clients.back()->Open());
    ASSERT_EQ(clients.back()->ReadChunk(), "retry: 3000\n\n");
  }
  std::vector<std::shared_ptr<HttpStream>> streams;
  for (size_t i = 0; i < 3; ++i) streams.push_back(Stream(i));
  StopServer();
  for (auto& client : clients) EXPECT_TRUE(client->ClosedByServer());
  for (auto& stream : streams) {
    EXPECT_TRUE(stream->closed());
    EXPECT_FALSE(stream->Send("data: x\n\n"));
  }
  EXPECT_EQ(on_close_calls_.load(), 3);
  EXPECT_EQ(server_->open_streams(), 0u);
  EXPECT_EQ(server_->open_connections(), 0u);
}

TEST_F(HttpServerTest, IdleTimeoutDoesNotEndAQuietStream) {
  HttpServerOptions options;
  options.idle_timeout_seconds = 1;
  StartServer(StreamingHandler(), options);
  StreamClient client(client_io_, port());
  ASSERT_TRUE(client.Open());
  ASSERT_EQ(client.ReadChunk(), "retry: 3000\n\n");
  std::this_thread::sleep_for(2500ms);
  std::shared_ptr<HttpStream> stream = Stream(0);
  ASSERT_NE(stream, nullptr);
  EXPECT_TRUE(stream->Send(": ping\n\n"));
  EXPECT_EQ(client.ReadChunk(), ": ping\n\n");
}

TEST_F(HttpServerTest, CloseEndsTheBodyAfterWhatWasQueued) {
  StartServer(StreamingHandler());
  StreamClient client(client_io_, port());
  ASSERT_TRUE(client.Open());
  std::shared_ptr<HttpStream> stream = Stream(0);
  ASSERT_NE(stream, nullptr);
  EXPECT_TRUE(stream->Send("data: last\n\n"));
  stream->Close();
  stream->Close();
  EXPECT_TRUE(stream->closed());
  EXPECT_FALSE(stream->Send("data: after\n\n"));
  EXPECT_EQ(client.ReadChunk(), "retry: 3000\n\n");
  EXPECT_EQ(client.ReadChunk(), "data: last\n\n");
  EXPECT_EQ(client.ReadChunk(), "");  // the last chunk
  EXPECT_TRUE(client.ClosedByServer());
  EXPECT_TRUE(WaitFor([this] { return on_close_calls_.load() == 1; }));
  EXPECT_FALSE(stream->overflowed());
}

TEST_F(HttpServerTest, DroppingTheLastReferenceClosesTheStream) {
  StartServer([](HttpRequest&& request, Responder respond) {
    respond(HttpResponse::EventStream(
        [](const std::shared_ptr<HttpStream>& stream) -> std::optional<HttpResponse> {
          stream->Send("data: bye\n\n");
          return std::nullopt;  // and keeps no reference
        }));
  });
  StreamClient client(client_io_, port());
  ASSERT_TRUE(client.Open("/any"));
  EXPECT_EQ(client.ReadChunk(), "data: bye\n\n");
  EXPECT_EQ(client.ReadChunk(), "");
  EXPECT_TRUE(client.ClosedByServer());
  EXPECT_TRUE(WaitFor([this] { return server_->open_streams() == 0; }));
}

TEST_F(HttpServerTest, OpenerCanRefuseWithAResponse) {
  std::atomic<int> on_close_calls{0};
  StartServer([&on_close_calls](HttpRequest&& request, Responder respond) {
    if (request.path != "/stream") return EchoPath(std::move(request), std::move(respond));
    respond(HttpResponse::EventStream([&on_close_calls](const std::shared_ptr<HttpStream>& stream)
                                          -> std::optional<HttpResponse> {
      stream->set_on_close([&on_close_calls] { ++on_close_calls; });
      HttpResponse busy = HttpResponse::Error(503, "unavailable", "too many live streams");
      busy.headers.emplace_back("Retry-After", "5");
      return busy;
    }));
  });
  Client client(port());
  const Response response = client.RoundTrip(Request("GET", "/stream"));
  EXPECT_EQ(response.result_int(), 503);
  EXPECT_EQ(ErrorCode(response), "unavailable");
  EXPECT_EQ(response["Retry-After"], "5");
  EXPECT_TRUE(response.keep_alive());
  EXPECT_EQ(client.RoundTrip(Request("GET", "/after")).body(), "/after");
  EXPECT_TRUE(WaitFor([&] { return on_close_calls.load() == 1; }));
  EXPECT_EQ(server_->open_streams(), 0u);
}

TEST_F(HttpServerTest, ThrowingOpenerGets500) {
  StartServer([](HttpRequest&& request, Responder respond) {
    respond(HttpResponse::EventStream(
        [](const std::shared_ptr<HttpStream>&) -> std::optional<HttpResponse> {
          throw std::runtime_error("boom");
        }));
  });
  Client client(port());
  const Response response = client.RoundTrip(Request("GET", "/stream"));
  EXPECT_EQ(response.result_int(), 500);
  EXPECT_EQ(ErrorCode(response), "internal");
}

TEST_F(HttpServerTest, HeadOfAStreamGetsTheHeaderOnly) {
  StartServer(StreamingHandler());
  Client client(port());
  client.Send(Request("HEAD", "/stream"));
  Response head;
  ASSERT_FALSE(client.Read(head, /*head=*/true));
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head[http::field::content_type], "text/event-stream");
  EXPECT_EQ(openers_called_.load(), 0);
  EXPECT_EQ(client.RoundTrip(Request("GET", "/next")).body(), "/next");
}

TEST_F(HttpServerTest, Http10StreamEndsWithTheConnection) {
  StartServer(StreamingHandler());
  StreamClient client(client_io_, port());
  client.Send("GET /stream HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(client.ReadHeader());
  EXPECT_EQ(client.header("transfer-encoding"), "");
  EXPECT_EQ(client.header("connection"), "close");
  std::shared_ptr<HttpStream> stream = Stream(0);
  ASSERT_NE(stream, nullptr);
  stream->Send("data: raw\n\n");
  stream->Close();
  // No chunk framing: the body is the bytes sent, up to the close.
  EXPECT_EQ(client.ReadToClose(), "retry: 3000\n\ndata: raw\n\n");
  EXPECT_EQ(client.last_error(), net::error::eof) << client.last_error().message();
}

TEST_F(HttpServerTest, StreamsCountAgainstConnectionsMax) {
  HttpServerOptions options;
  options.connections_max = 2;
  StartServer(StreamingHandler(), options);
  StreamClient first(client_io_, port()), second(client_io_, port());
  ASSERT_TRUE(first.Open());
  ASSERT_TRUE(second.Open());
  EXPECT_EQ(server_->open_streams(), 2u);
  Client extra(port());
  EXPECT_TRUE(extra.ClosedByServer());
}

TEST_F(HttpServerTest, HoldsAThousandStreams) {
  constexpr size_t kStreams = 1000;
  // Each stream takes two descriptors here (client and server side).
  rlimit files{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
  if (files.rlim_cur < 2 * kStreams + 200) {
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, 2 * kStreams + 200);
    setrlimit(RLIMIT_NOFILE, &files);
  }
  if (files.rlim_cur < 2 * kStreams + 200) GTEST_SKIP() << "too few file descriptors allowed";

  StartServer(StreamingHandler());
  std::vector<std::unique_ptr<StreamClient>> clients;
  for (size_t i = 0; i < kStreams; ++i) {
    clients.push_back(std::make_unique<StreamClient>(client_io_, port()));
    clients.back()->Send(Request("GET", "/stream"));
  }
  for (auto& client : clients) {
    ASSERT_TRUE(client->ReadHeader());
    ASSERT_EQ(client->ReadChunk(), "retry: 3000\n\n");
  }
  EXPECT_EQ(server_->open_streams(), kStreams);
  std::vector<std::shared_ptr<HttpStream>> streams;
  {
    std::lock_guard lock(mu_);
    streams = streams_;
  }
  ASSERT_EQ(streams.size(), kStreams);
  RunOnWorker([streams] {
    for (const auto& stream : streams) stream->Send("data: all\n\n");
  });
  for (auto& client : clients) ASSERT_EQ(client->ReadChunk(), "data: all\n\n");
  clients.clear();
  EXPECT_TRUE(WaitFor([this] { return server_->open_streams() == 0; }));
  EXPECT_EQ(on_close_calls_.load(), static_cast<int>(kStreams));
}

}  // namespace
}  // namespace ryuryo::api
