// HttpServer: an asynchronous HTTP/1.1 server (Boost.Beast on Asio) that runs on one
// io_context and can hold thousands of open connections (keep-alive, pipelined requests served
// in order). It knows nothing of routes: every complete request goes to one Handler.
//
// The Handler is called on the io_context's thread. It must call the Responder exactly once,
// either before returning or later from any thread (e.g. after the batch holding the request's
// records was committed); the server posts the response back to the connection's executor.
// A connection reads its next request only after the previous response was written.
//
// Limits (each a named option): request body size (413 with a JSON error when exceeded), header
// size, number of open connections (new ones are closed at once beyond it), idle timeout.
// Malformed HTTP gets a 400 and the connection is closed; the server never throws out of
// the io_context because of network input.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
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

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  // {"error": {"code": ..., "message": ...}} with the status that fits the code.
  static HttpResponse Error(const Status& status);
  static HttpResponse Error(int http_status, std::string_view code, std::string_view message);
  static HttpResponse Json(int http_status, std::string body);
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
  uint32_t open_connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ryuryo::api
