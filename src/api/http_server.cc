#include "api/http_server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

namespace ryuryo::api {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr int kListenBacklog = 4096;
// Accept errors such as "too many open files" would repeat at once; wait before retrying.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);
// Before closing a connection, the server stops sending and reads (and drops) what the client
// still sends for this long or this many bytes, so that the client sees the last response
// instead of a reset caused by unread input (e.g. the rest of a too large body).
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr uint64_t kLingerBytesMax = 4 << 20;
constexpr size_t kDrainChunkBytes = 16 << 10;
constexpr std::string_view kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";
// A stream keeps a read pending to notice the client leaving, reading at most this much at a
// time into the connection's buffer (and dropping it: a client does not send on a stream).
constexpr size_t kStreamReadBytes = 256;
// A client that sends more than this on a stream is not an EventSource: it is disconnected.
constexpr uint64_t kStreamInputBytesMax = 64 << 10;
// After a large burst, a stream's write buffer is released rather than kept at that size.
constexpr size_t kStreamWriteBufferKeepBytes = 64 << 10;
// The end of a chunked body.
constexpr std::string_view kLastChunk = "0\r\n\r\n";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes (malformed ones are kept as they are) and, if asked, '+' as a space.
std::string PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Fills path and query from a request target such as "/a%20b?x=1&y=two+words".
void ParseTarget(std::string_view target, HttpRequest& request) {
  const size_t question = target.find('?');
  request.path = PercentDecode(target.substr(0, question), /*plus_is_space=*/false);
  if (question == std::string_view::npos) return;
  std::string_view query = target.substr(question + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    request.query.emplace_back(PercentDecode(pair.substr(0, eq), true), PercentDecode(value, true));
  }
}

std::string_view ToStd(beast::string_view text) { return {text.data(), text.size()}; }

std::string ToLower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

HttpRequest ToHttpRequest(http::request<http::string_body>&& message, std::string remote_address) {
  HttpRequest request;
  request.method = std::string(ToStd(message.method_string()));
  request.target = std::string(ToStd(message.target()));
  ParseTarget(request.target, request);
  for (const auto& field : message) {
    request.headers.emplace_back(ToLower(ToStd(field.name_string())),
                                 std::string(ToStd(field.value())));
  }
  request.body = std::move(message.body());
  request.remote_address = std::move(remote_address);
  return request;
}

// Extra headers that could split the response (CR/LF) or are not a single field are dropped.
bool IsSafeHeader(std::string_view name, std::string_view value) {
  return !name.empty() && name.find_first_of(std::string_view(" :\r\n\0", 5)) == name.npos &&
         value.find_first_of(std::string_view("\r\n\0", 3)) == value.npos;
}

http::response<http::string_body> ToBeastResponse(HttpResponse in, unsigned version,
                                                  bool keep_alive, bool is_head) {
  if (in.status < 200 || in.status > 999) {
    in = HttpResponse::Error(500, "internal", "invalid HTTP status " + std::to_string(in.status));
  }
  http::response<http::string_body> out;
  out.version(version);
  out.result(static_cast<unsigned>(in.status));
  out.set(http::field::server, "ryuryo");
  if (!in.content_type.empty()) out.set(http::field::content_type, in.content_type);
  for (const auto& [name, value] : in.headers) {
    if (IsSafeHeader(name, value)) out.insert(name, value);
  }
  out.keep_alive(keep_alive);
  if (in.status == 204 || in.status == 304) return out;  // no body and no Content-Length
  if (is_head) {
    out.content_length(in.body.size());  // the length a GET would have had, without the body
  } else {
    out.body() = std::move(in.body);
    out.prepare_payload();
  }
  return out;
}

// The header of a stream response (HttpResponse::EventStream).
std::string StreamHeader(const HttpResponse& in, unsigned version, bool chunked, bool keep_alive) {
  const int status = in.status >= 200 && in.status <= 999 ? in.status : 200;
  const beast::string_view reason = http::obsolete_reason(http::int_to_status(status));
  std::string out = version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ";
  out += std::to_string(status);
  out += ' ';
  out += ToStd(reason);
  out += "\r\nServer: ryuryo\r\nContent-Type: ";
  out += in.content_type.empty() || !IsSafeHeader("Content-Type", in.content_type)
             ? std::string_view("text/event-stream")
             : std::string_view(in.content_type);
  out += "\r\nCache-Control: no-store\r\nX-Accel-Buffering: no\r\n";
  for (const auto& [name, value] : in.headers) {
    if (!IsSafeHeader(name, value)) continue;
    // The server frames the body itself.
    if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
        beast::iequals(name, "connection")) {
      continue;
    }
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (chunked) out += "Transfer-Encoding: chunked\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  return out;
}

// "1a2\r\n": the size line of a chunk of `bytes` bytes.
void AppendChunkSize(std::string* out, size_t bytes) {
  char digits[2 * sizeof(size_t)];
  size_t n = 0;
  do {
    digits[n++] = "0123456789abcdef"[bytes & 0xf];
    bytes >>= 4;
  } while (bytes != 0);
  while (n > 0) out->push_back(digits[--n]);
  out->append("\r\n");
}

std::string RemoteAddress(const tcp::socket& socket) {
  beast::error_code ec;
  const net::ip::address address = socket.remote_endpoint(ec).address();
  if (ec) return "";
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

bool IsHttpParseError(const beast::error_code& ec) {
  return ec.category() == beast::error_code(http::error::bad_version).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

class Session;

// What a stream's handle (the HttpStream the handler holds) and its connection share: the bytes
// queued and the state. Every member is guarded by mu_. The HttpStream methods run on any
// thread; the connection's methods (TakePending, Written, Ended) on its executor.
class StreamState {
 public:
  StreamState(std::weak_ptr<Session> session, net::any_io_executor executor, bool chunked,
              uint64_t queued_bytes_max)
      : session_(std::move(session)),
        executor_(std::move(executor)),
        chunked_(chunked),
        queued_bytes_max_(queued_bytes_max) {}

  bool Send(std::string data);
  void Close();
  bool closed() const {
    std::lock_guard lock(mu_);
    return closed_;
  }
  bool overflowed() const {
    std::lock_guard lock(mu_);
    return overflowed_;
  }
  void set_on_close(std::function<void()> on_close);

  // The bytes queued since the last call; they count against the limit until Written().
  std::string TakePending() {
    std::lock_guard lock(mu_);
    flush_posted_ = false;
    std::string bytes = std::move(pending_);
    pending_.clear();
    return bytes;
  }
  void Written(size_t bytes) {
    std::lock_guard lock(mu_);
    queued_bytes_ -= std::min<uint64_t>(bytes, queued_bytes_);
  }
  bool chunked() const { return chunked_; }
  // The server is stopping: Send() fails from now on (the connection closes on its own).
  void Shutdown() {
    std::lock_guard lock(mu_);
    closed_ = true;
    pending_.clear();
  }
  // The connection is gone: runs on_close, once.
  void Ended();

 private:
  // Posts `fn` to the connection's executor, if the connection still exists then.
  template <typename Fn>
  void PostToSession(Fn fn);

  const std::weak_ptr<Session> session_;
  const net::any_io_executor executor_;
  const bool chunked_;
  const uint64_t queued_bytes_max_;
  mutable std::mutex mu_;
  std::string pending_;        // framed, not yet handed to a write
  uint64_t queued_bytes_ = 0;  // pending_ and the write in flight
  bool closed_ = false;        // Send() fails
  bool overflowed_ = false;
  bool ended_ = false;  // the connection is gone and on_close_ ran (or was taken to run)
  // A flush is posted or will follow (the header or a write is in flight): Send need not post.
  // True from the start: the connection flushes once the header is written.
  bool flush_posted_ = true;
  std::function<void()> on_close_;
};

// The HttpStream a handler holds. Dropping the last reference closes the stream.
class StreamHandle final : public HttpStream {
 public:
  explicit StreamHandle(std::shared_ptr<StreamState> state) : state_(std::move(state)) {}
  ~StreamHandle() override { state_->Close(); }
  bool Send(std::string data) override { return state_->Send(std::move(data)); }
  void Close() override { state_->Close(); }
  bool closed() const override { return state_->closed(); }
  bool overflowed() const override { return state_->overflowed(); }
  void set_on_close(std::function<void()> on_close) override {
    state_->set_on_close(std::move(on_close));
  }

 private:
  const std::shared_ptr<StreamState> state_;
};

// The listening socket, the options and handler, and the registry of open connections.
// Accepting runs on the io_context; the registry and counters may be read from any thread.
class Core : public std::enable_shared_from_this<Core> {
 public:
  Core(net::io_context& io, HttpServerOptions options, Handler handler)
      : io_(io),
        options_(std::move(options)),
        handler_(std::move(handler)),
        acceptor_(io),
        accept_retry_timer_(io) {}

  Status Listen();
  void Start();
  void Stop();

  uint16_t port() const { return port_.load(); }
  uint32_t open_connections() const { return open_connections_.load(); }
  uint32_t open_streams() const { return open_streams_.load(); }
  const HttpServerOptions& options() const { return options_; }
  const Handler& handler() const { return handler_; }

  // Called by Session's constructor and destructor (the latter on any thread).
  void SessionOpened() { ++open_connections_; }
  void SessionClosed(Session* session) {
    {
      std::lock_guard lock(sessions_mu_);
      sessions_.erase(session);
    }
    --open_connections_;
  }
  // Called when a connection starts and ends a stream (on its executor).
  void StreamOpened(const std::shared_ptr<StreamState>& stream) {
    {
      std::lock_guard lock(sessions_mu_);
      streams_.emplace(stream.get(), stream);
    }
    ++open_streams_;
  }
  void StreamClosed(StreamState* stream) {
    {
      std::lock_guard lock(sessions_mu_);
      streams_.erase(stream);
    }
    --open_streams_;
  }

 private:
  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);

  net::io_context& io_;
  const HttpServerOptions options_;
  const Handler handler_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_timer_;
  bool accepting_ = false;
  std::atomic<bool> stopped_{false};
  std::atomic<uint16_t> port_{0};
  std::atomic<uint32_t> open_connections_{0};
  std::atomic<uint32_t> open_streams_{0};
  std::mutex sessions_mu_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;         // guarded by sessions_mu_
  std::unordered_map<StreamState*, std::weak_ptr<StreamState>> streams_;  // guarded by sessions_mu_
};

// One connection: reads a request, hands it to the handler, waits for the Responder, writes
// the response, and reads the next request (keep-alive); or, for a stream response, writes what
// the stream is sent until it ends, and then closes. All members are used on the connection's
// strand, except PostResponse(), which may be called from any thread.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::string remote_address, std::shared_ptr<Core> core)
      : core_(std::move(core)),
        remote_address_(std::move(remote_address)),
        stream_(std::move(socket)) {
    core_->SessionOpened();
  }
  ~Session() {
    if (stream_state_) EndStream();
    core_->SessionClosed(this);
  }

  net::any_io_executor executor() { return stream_.get_executor(); }

  void Start() {
    net::dispatch(executor(), [self = shared_from_this()] { self->ReadRequest(); });
  }

  // Closes the socket; pending reads and writes complete with an error. Ends a stream.
  void Close() {
    if (closed_) return;
    closed_ = true;
    stream_.close();
    if (stream_state_) EndStream();
  }

  // Writes what the stream was sent since the last write; once it was closed and everything is
  // written, ends the body and the connection.
  void FlushStream() {
    if (closed_ || !stream_state_ || stream_write_active_) return;
    std::string bytes = stream_state_->TakePending();
    if (!bytes.empty()) {
      stream_writing_ = std::move(bytes);
      return WriteStream(/*counted=*/true);
    }
    if (!stream_state_->closed()) return;
    if (stream_state_->overflowed() || !stream_state_->chunked() || stream_finishing_) {
      return Close();
    }
    stream_finishing_ = true;
    stream_writing_ = kLastChunk;
    WriteStream(/*counted=*/false);
  }

  void PostResponse(HttpResponse response) {
    net::post(executor(), [self = shared_from_this(), response = std::move(response)]() mutable {
      self->Respond(std::move(response));
    });
  }

 private:
  std::chrono::seconds idle_timeout() const {
    return std::chrono::seconds(core_->options().idle_timeout_seconds);
  }

  void ReadRequest() {
    if (closed_) return;
    parser_.emplace();
    parser_->body_limit(core_->options().body_bytes_max);
    parser_->header_limit(core_->options().header_bytes_max);
    stream_.expires_after(idle_timeout());
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnReadHeader(ec); });
  }

  void OnReadHeader(beast::error_code ec) {
    if (ec) return FailRead(ec);
    if (parser_->is_done()) return CallHandler();
    const auto& header = parser_->get();
    if (header.version() >= 11 && beast::iequals(header[http::field::expect], "100-continue")) {
      net::async_write(stream_, net::buffer(kContinueResponse.data(), kContinueResponse.size()),
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->Close();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->FailRead(ec);
                       self->CallHandler();
                     });
  }

  void FailRead(beast::error_code ec) {
    if (closed_) return;
    const HttpServerOptions& options = core_->options();
    if (ec == http::error::body_limit) {
      SendErrorAndClose(
          413, "payload_too_large",
          "request body exceeds " + std::to_string(options.body_bytes_max) + " bytes");
    } else if (ec == http::error::header_limit) {
      SendErrorAndClose(
          431, "header_too_large",
          "request header exceeds " + std::to_string(options.header_bytes_max) + " bytes");
    } else if (IsHttpParseError(ec)) {
      SendErrorAndClose(400, "bad_request", "malformed HTTP request: " + ec.message());
    } else {
      Close();  // the client left, the idle timeout expired, or the server stopped
    }
  }

  void CallHandler() {
    stream_.expires_never();  // the handler may take its time; the client is not idle
    const auto& message = parser_->get();
    request_version_ = message.version();
    request_keep_alive_ = message.keep_alive();
    request_is_head_ = message.method() == http::verb::head;
    awaiting_response_ = true;
    Responder respond = MakeResponder();
    try {
      HttpRequest request = ToHttpRequest(parser_->release(), remote_address_);
      parser_.reset();
      core_->handler()(std::move(request), respond);
    } catch (...) {
      // Ignored if the handler responded before throwing.
      respond(HttpResponse::Error(500, "internal", "the request handler failed"));
    }
  }

  // The state shared by all copies of one Responder: the first call sends the response; if
  // every copy is destroyed without a call (a handler bug), a 500 is sent so the client does
  // not wait forever.
  class ResponseSlot {
   public:
    explicit ResponseSlot(std::shared_ptr<Session> session) : session_(std::move(session)) {}
    ~ResponseSlot() {
      if (!session_) return;
      try {
        session_->PostResponse(
            HttpResponse::Error(500, "internal", "the request handler did not respond"));
      } catch (...) {
      }
    }
    void Respond(HttpResponse response) {
      if (responded_.exchange(true)) return;  // only the first call counts
      std::shared_ptr<Session> session = std::move(session_);
      session->PostResponse(std::move(response));
    }

   private:
    std::atomic<bool> responded_{false};
    std::shared_ptr<Session> session_;
  };

  Responder MakeResponder() {
    auto slot = std::make_shared<ResponseSlot>(shared_from_this());
    return [slot](HttpResponse response) { slot->Respond(std::move(response)); };
  }

  void Respond(HttpResponse response) {
    if (closed_ || !awaiting_response_) return;
    awaiting_response_ = false;
    if (response.stream_opener) return StartStream(std::move(response));
    WriteResponse(std::move(response));
  }

  void WriteResponse(HttpResponse response) {
    const bool keep_alive = request_keep_alive_;
    try {
      response_ =
          ToBeastResponse(std::move(response), request_version_, keep_alive, request_is_head_);
    } catch (const std::exception&) {  // e.g. a header field longer than Beast accepts
      response_ =
          ToBeastResponse(HttpResponse::Error(500, "internal", "the response could not be encoded"),
                          request_version_, keep_alive, request_is_head_);
    }
    Write(keep_alive);
  }

  void StartStream(HttpResponse response) {
    const bool chunked = request_version_ >= 11;
    if (request_is_head_) {  // the header a GET would get, and the connection goes on
      const bool keep_alive = request_keep_alive_ && chunked;
      stream_writing_ = StreamHeader(response, request_version_, chunked, keep_alive);
      net::async_write(stream_, net::buffer(stream_writing_),
                       [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                         self->stream_writing_.clear();
                         if (ec) return self->Close();
                         if (!keep_alive) return self->ShutdownAndLinger();
                         self->ReadRequest();
                       });
      return;
    }
    stream_state_ = std::make_shared<StreamState>(weak_from_this(), executor(), chunked,
                                                  core_->options().stream_queued_bytes_max);
    core_->StreamOpened(stream_state_);
    std::optional<HttpResponse> refusal;
    {
      auto handle = std::make_shared<StreamHandle>(stream_state_);
      try {
        refusal = response.stream_opener(handle);
      } catch (...) {
        refusal = HttpResponse::Error(500, "internal", "the stream could not be opened");
      }
    }  // if the opener kept no reference, the stream is closed now (and ends once it started)
    if (refusal) {
      stream_state_->Shutdown();
      EndStream();
      if (refusal->stream_opener) {
        refusal = HttpResponse::Error(500, "internal", "a stream was refused with a stream");
      }
      return WriteResponse(std::move(*refusal));
    }
    // A stream ends its connection: input after the request (pipelined) is dropped.
    buffer_.clear();
    buffer_.shrink_to_fit();
    drained_bytes_ = 0;
    ReadWhileStreaming();  // first, so that it keeps the expiry "never" set by CallHandler
    stream_writing_ = StreamHeader(response, request_version_, chunked, request_keep_alive_);
    WriteStream(/*counted=*/false);
  }

  // The header and every chunk: a write that makes no progress for the idle timeout ends the
  // stream. (With a read pending, expires_after sets the write's timer only.)
  void WriteStream(bool counted) {
    stream_write_active_ = true;
    stream_.expires_after(idle_timeout());
    net::async_write(
        stream_, net::buffer(stream_writing_),
        [self = shared_from_this(), state = stream_state_, counted](beast::error_code ec, size_t) {
          if (counted) state->Written(self->stream_writing_.size());
          if (self->stream_writing_.capacity() > kStreamWriteBufferKeepBytes) {
            std::string().swap(self->stream_writing_);
          } else {
            self->stream_writing_.clear();
          }
          self->stream_write_active_ = false;
          if (ec) return self->Close();
          self->FlushStream();
        });
  }

  // Keeps a read pending while streaming: it completes with an error when the client leaves.
  void ReadWhileStreaming() {
    stream_.async_read_some(buffer_.prepare(kStreamReadBytes),
                            [self = shared_from_this()](beast::error_code ec, size_t bytes) {
                              self->drained_bytes_ += bytes;
                              if (ec || self->drained_bytes_ > kStreamInputBytesMax) {
                                return self->Close();
                              }
                              self->ReadWhileStreaming();  // the bytes are dropped
                            });
  }

  void EndStream() {
    std::shared_ptr<StreamState> state = std::move(stream_state_);
    stream_state_.reset();
    core_->StreamClosed(state.get());
    state->Ended();
  }

  void SendErrorAndClose(int status, std::string_view code, std::string_view message) {
    response_ = ToBeastResponse(HttpResponse::Error(status, code, message), 11,
                                /*keep_alive=*/false, /*is_head=*/false);
    Write(/*keep_alive=*/false);
  }

  void Write(bool keep_alive) {
    stream_.expires_after(idle_timeout());
    http::async_write(stream_, response_,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                        self->response_ = {};
                        if (ec) return self->Close();
                        if (!keep_alive) return self->ShutdownAndLinger();
                        self->ReadRequest();
                      });
  }

  void ShutdownAndLinger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec || closed_) return Close();
    buffer_.clear();
    drained_bytes_ = 0;
    stream_.expires_after(kLingerTimeout);
    Drain();
  }

  void Drain() {
    stream_.async_read_some(buffer_.prepare(kDrainChunkBytes),
                            [self = shared_from_this()](beast::error_code ec, size_t bytes) {
                              self->drained_bytes_ += bytes;
                              if (ec || self->drained_bytes_ > kLingerBytesMax) {
                                return self->Close();
                              }
                              self->Drain();
                            });
  }

  const std::shared_ptr<Core> core_;
  const std::string remote_address_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;  // the response being written
  unsigned request_version_ = 11;
  bool request_keep_alive_ = false;
  bool request_is_head_ = false;
  bool awaiting_response_ = false;  // the handler has the request and has not responded yet
  bool closed_ = false;
  uint64_t drained_bytes_ = 0;  // lingering, or read on a stream
  // A stream response: its shared state, the bytes of the write in flight.
  std::shared_ptr<StreamState> stream_state_;
  std::string stream_writing_;
  bool stream_write_active_ = false;
  bool stream_finishing_ = false;  // the last chunk is being written
};

template <typename Fn>
void StreamState::PostToSession(Fn fn) {
  net::post(executor_, [session = session_, fn = std::move(fn)] {
    if (std::shared_ptr<Session> s = session.lock()) fn(*s);
  });
}

bool StreamState::Send(std::string data) {
  bool flush = false;
  bool overflowed = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    if (data.empty()) return true;
    const uint64_t framed_bytes = data.size() + (chunked_ ? 2 * sizeof(size_t) + 4 : 0);
    if (queued_bytes_ + framed_bytes > queued_bytes_max_) {
      closed_ = true;
      overflowed_ = true;
      overflowed = true;
      queued_bytes_ -= std::min<uint64_t>(pending_.size(), queued_bytes_);
      pending_.clear();
    } else {
      const size_t before = pending_.size();
      if (chunked_) {
        AppendChunkSize(&pending_, data.size());
        pending_ += data;
        pending_ += "\r\n";
      } else if (pending_.empty()) {
        pending_ = std::move(data);
      } else {
        pending_ += data;
      }
      queued_bytes_ += pending_.size() - before;
      flush = !flush_posted_;
      flush_posted_ = true;
    }
  }
  if (overflowed) {
    PostToSession([](Session& s) { s.Close(); });
    return false;
  }
  if (flush) PostToSession([](Session& s) { s.FlushStream(); });
  return true;
}

void StreamState::Close() {
  bool flush = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    flush = !flush_posted_;
    flush_posted_ = true;
  }
  if (flush) PostToSession([](Session& s) { s.FlushStream(); });
}

void StreamState::set_on_close(std::function<void()> on_close) {
  {
    std::lock_guard lock(mu_);
    if (!ended_) {
      on_close_ = std::move(on_close);
      return;
    }
  }
  if (on_close) net::post(executor_, std::move(on_close));
}

void StreamState::Ended() {
  std::function<void()> on_close;
  {
    std::lock_guard lock(mu_);
    if (ended_) return;
    ended_ = true;
    closed_ = true;
    pending_.clear();
    on_close = std::move(on_close_);
    on_close_ = nullptr;
  }
  if (!on_close) return;
  try {
    on_close();
  } catch (...) {  // a callback's failure must not take the connection's thread down
  }
}

Status Core::Listen() {
  beast::error_code ec;
  auto fail = [&](std::string_view step) {
    beast::error_code ignored;
    acceptor_.close(ignored);
    return Status::IOError("listen on " + options_.address + ":" + std::to_string(options_.port) +
                           ": " + std::string(step) + ": " + ec.message());
  };
  const net::ip::address address = net::ip::make_address(options_.address, ec);
  if (ec) return fail("parse address");
  const tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("SO_REUSEADDR");
  acceptor_.bind(endpoint, ec);
  if (ec) return fail("bind");
  acceptor_.listen(kListenBacklog, ec);
  if (ec) return fail("listen");
  const tcp::endpoint bound = acceptor_.local_endpoint(ec);
  if (ec) return fail("local address");
  port_ = bound.port();
  return Status::Ok();
}

void Core::Start() {
  if (accepting_ || stopped_ || !acceptor_.is_open()) return;
  accepting_ = true;
  Accept();
}

void Core::Accept() {
  acceptor_.async_accept(net::make_strand(io_),
                         [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                           self->OnAccept(ec, std::move(socket));
                         });
}

void Core::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopped_ || ec == net::error::operation_aborted) return;
  if (ec) {
    accept_retry_timer_.expires_after(kAcceptRetryDelay);
    accept_retry_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && !self->stopped_) self->Accept();
    });
    return;
  }
  if (open_connections_.load() >= options_.connections_max) {
    beast::error_code ignored;
    socket.close(ignored);
  } else {
    std::string remote_address = RemoteAddress(socket);
    auto session =
        std::make_shared<Session>(std::move(socket), std::move(remote_address), shared_from_this());
    {
      std::lock_guard lock(sessions_mu_);
      sessions_.emplace(session.get(), session);
    }
    session->Start();
  }
  Accept();
}

void Core::Stop() {
  stopped_ = true;
  beast::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_timer_.cancel();
  std::vector<std::shared_ptr<Session>> sessions;
  std::vector<std::shared_ptr<StreamState>> streams;
  {
    std::lock_guard lock(sessions_mu_);
    for (const auto& [ptr, weak] : sessions_) {
      if (auto session = weak.lock()) sessions.push_back(std::move(session));
    }
    for (const auto& [ptr, weak] : streams_) {
      if (auto stream = weak.lock()) streams.push_back(std::move(stream));
    }
  }
  // Senders see the streams closed at once, before their connections close on their strands.
  for (const auto& stream : streams) stream->Shutdown();
  for (const auto& session : sessions) {
    net::dispatch(session->executor(), [session] { session->Close(); });
  }
}

}  // namespace

const std::string* HttpRequest::Query(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return &value;
  }
  return nullptr;
}

const std::string* HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [key, value] : headers) {
    if (key == lower_name) return &value;
  }
  return nullptr;
}

int HttpStatusFor(Status::Code code) {
  switch (code) {
    case Status::Code::kOk:
      return 200;
    case Status::Code::kInvalidArgument:
      return 400;
    case Status::Code::kNotFound:
      return 404;
    case Status::Code::kAlreadyExists:
      return 409;
    case Status::Code::kUnauthenticated:
      return 401;
    case Status::Code::kPermissionDenied:
      return 403;
    case Status::Code::kResourceExhausted:
      return 429;
    case Status::Code::kUnavailable:
      return 503;
    case Status::Code::kIOError:
      return 500;
    case Status::Code::kInternal:
      return 500;
  }
  return 500;
}

HttpResponse HttpResponse::Error(const Status& status) {
  return Error(HttpStatusFor(status.code()), Status::CodeName(status.code()), status.message());
}

HttpResponse HttpResponse::Error(int http_status, std::string_view code, std::string_view message) {
  const nlohmann::json body = {
      {"error", {{"code", std::string(code)}, {"message", std::string(message)}}}};
  // Invalid UTF-8 (e.g. echoed from a request) is replaced rather than thrown on.
  return Json(http_status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

HttpResponse HttpResponse::EventStream(StreamOpener opener) {
  HttpResponse response;
  response.status = 200;
  response.content_type = "text/event-stream";
  response.stream_opener = std::move(opener);
  return response;
}

HttpResponse HttpResponse::Json(int http_status, std::string body) {
  HttpResponse response;
  response.status = http_status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

struct HttpServer::Impl : Core {
  using Core::Core;
};

HttpServer::HttpServer(boost::asio::io_context& io, HttpServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { impl_->Stop(); }

Status HttpServer::Listen() { return impl_->Listen(); }
void HttpServer::Start() { impl_->Start(); }
void HttpServer::Stop() { impl_->Stop(); }
uint16_t HttpServer::port() const { return impl_->port(); }
uint32_t HttpServer::open_connections() const { return impl_->open_connections(); }
uint32_t HttpServer::open_streams() const { return impl_->open_streams(); }

}  // namespace ryuryo::api
