// HttpServer: an asynchronous HTTP/1.1 server (Boost.Beast on Asio) that runs on one
// io_context and can hold thousands of open connections (keep-alive, pipelined requests served
// in order). It knows nothing of routes: every complete request goes to one Handler.
//
// The Handler is called on the io_context's thread. It must call the Responder exactly once,
// either before returning or later from any thread (e.g. after the batch holding the request's
// records was committed); the server posts the response back to the connection's executor.
// A connection reads its next request only after the previous response was written.
//
// A handler may instead answer with a long-lived stream (server-sent events): it responds with
// HttpResponse::EventStream(opener), and the server calls the opener with an HttpStream on the
// connection's executor; see HttpStream below.
//
// Limits (each a named option): request body size (413 with a JSON error when exceeded), header
// size, number of open connections (new ones are closed at once beyond it; open streams count),
// idle timeout, bytes queued on a stream. Malformed HTTP gets a 400 and the connection is closed;
// the server never throws out of the io_context because of network input.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace ryuryo::api {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: "/v1/lines/a/usage?x=1"
  std::string path;    // percent-decoded path without the query: "/v1/lines/a/usage"
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote_address;  // "127.0.0.1"

  // The first query parameter / header with this name, or nullptr.
  const std::string* Query(std::string_view name) const;
  const std::string* Header(std::string_view lower_name) const;
};

// One response that stays open and carries messages as the server has them (server-sent events:
// "Content-Type: text/event-stream"). The bytes given to Send() go out as they are, so the caller
// formats the events ("event: usage\ndata: {...}\n\n"). On HTTP/1.1 each Send() is one chunk of
// a chunked body; on HTTP/1.0 the body ends when the connection closes.
//
// Thread-safety: every method may be called from any thread. Send() only queues the bytes and
// posts the write to the connection's executor; it never blocks on the network.
//
// Lifetime: a stream ends, closing its connection, when
//   - Close() is called (what was queued is written first, then the end of the body),
//   - the last std::shared_ptr to it is dropped (as Close()),
//   - the client goes away (the server keeps a read pending to notice), a write fails or makes no
//     progress for idle_timeout_seconds,
//   - more than stream_queued_bytes_max bytes are queued and not yet written (a client that does
//     not read is dropped rather than growing memory; overflowed() tells),
//   - or the server stops.
// The idle timeout does not apply to a stream that is quiet: whoever sends on it sends heartbeats.
// A stream ends its connection: the server never reads another request on it. Once the server
// stopped, Send() and Close() no longer touch the io_context (they may outlive it).
//
// The interface lets tests of code that sends on streams use a fake (see api/live_test.cc).
class HttpStream {
 public:
  virtual ~HttpStream() = default;

  // Queues `data` to be written. False, and nothing queued, once the stream is closed (including
  // by this call, when the bytes would exceed stream_queued_bytes_max). Empty data is a no-op.
  virtual bool Send(std::string data) = 0;
  // Ends the stream after what is queued; Send() returns false from now on. Idempotent.
  virtual void Close() = 0;
  // True once Send() would return false (closed by either side, overflowed or the server stopped).
  virtual bool closed() const = 0;
  // True if the stream was closed because too many bytes were queued (a slow reader).
  virtual bool overflowed() const = 0;
  // `on_close` runs exactly once, after the stream closed for any reason, on the connection's
  // executor: never inside Send() or Close(), so it may take locks a sender holds. If the stream
  // has already closed, it is posted at once. A later call replaces an earlier callback that has
  // not run yet. It must not own the stream (that would keep it alive: a cycle).
  virtual void set_on_close(std::function<void()> on_close) = 0;
};

struct HttpResponse;

// Called by the server on the connection's executor with the stream, before anything of the
// response was written: std::nullopt starts streaming (the header goes out, then what was already
// sent), a response refuses the stream and is sent instead (e.g. a 503 when a subscriber limit is
// hit; the stream is closed then). If it throws, the client gets a 500.
using StreamOpener =
    std::function<std::optional<HttpResponse>(const std::shared_ptr<HttpStream>& stream)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  // {"error": {"code": ..., "message": ...}} with the status that fits the code.
  static HttpResponse Error(const Status& status);
  static HttpResponse Error(int http_status, std::string_view code, std::string_view message);
  static HttpResponse Json(int http_status, std::string body);

  // A stream instead of a body (see HttpStream): status 200, content type "text/event-stream",
  // and the server adds "Cache-Control: no-store" and "X-Accel-Buffering: no" (so that a proxy
  // does not buffer it). Extra headers (e.g. Set-Cookie) may be added to `headers`. A HEAD
  // request gets the header only, and the opener is not called.
  static HttpResponse EventStream(StreamOpener opener);
  StreamOpener stream_opener;  // set: this response is a stream
};

// The HTTP status for a Status code (kInvalidArgument -> 400, kNotFound -> 404, ...).
int HttpStatusFor(Status::Code code);

using Responder = std::function<void(HttpResponse)>;
using Handler = std::function<void(HttpRequest&& request, Responder respond)>;

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port; port() tells which
  uint64_t body_bytes_max = 64ull << 20;
  uint32_t header_bytes_max = 16 << 10;
  uint32_t connections_max = 10000;
  uint32_t idle_timeout_seconds = 120;
  // Per stream: bytes queued by HttpStream::Send() and not yet written to the socket.
  uint64_t stream_queued_bytes_max = 1 << 20;
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, HttpServerOptions options, Handler handler);
  // Calls Stop(); destroy the server on the io_context's thread or after it stopped running.
  // Connections still waiting for a Responder keep their own state alive until it is called.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens (SO_REUSEADDR, backlog 4096); an error names the address.
  Status Listen();
  // Starts accepting; call after Listen(), then run the io_context.
  void Start();
  // Stops accepting and closes open connections; safe to call on the io_context's thread.
  void Stop();

  uint16_t port() const;
  uint32_t open_connections() const;  // including those holding a stream
  uint32_t open_streams() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ryuryo::api
