// Load generator for durable HTTP ingest: C keep-alive connections, each POSTing JSON-lines
// bodies of B records (unique ids) to /v1/usage as fast as the server acknowledges them, for D
// seconds. Prints acknowledged records per second and request latency percentiles.
//
//   ingest_load HOST PORT TOKEN LINES CONNECTIONS RECORDS_PER_BODY SECONDS
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: %s HOST PORT TOKEN LINES CONNECTIONS RECORDS_PER_BODY SECONDS\n", argv[0]);
    return 2;
  }
  const std::string host = argv[1], port = argv[2], token = argv[3];
  const int lines = std::stoi(argv[4]), conns = std::stoi(argv[5]), per_body = std::stoi(argv[6]);
  const double seconds = std::stod(argv[7]);
  std::atomic<uint64_t> acked{0}, failed{0};
  std::vector<std::vector<double>> latencies(conns);
  std::time_t now = std::time(nullptr) - 60;
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  const std::string when = ts;
  auto t_end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < conns; ++c) {
    threads.emplace_back([&, c] {
      try {
        boost::asio::io_context io;
        tcp::resolver resolver(io);
        beast::tcp_stream stream(io);
        stream.connect(resolver.resolve(host, port));
        uint64_t seq = 0;
        beast::flat_buffer buffer;
        while (std::chrono::steady_clock::now() < t_end) {
          std::string body;
          body.reserve(static_cast<size_t>(per_body) * 160);
          for (int i = 0; i < per_body; ++i, ++seq) {
            body += "{\"id\":\"c" + std::to_string(c) + "-" + std::to_string(seq) +
                    "\",\"line\":\"line-" + std::to_string((seq * 7919 + c) % lines) +
                    "\",\"bytes_up\":1200,\"bytes_down\":54000,\"start\":\"" + when +
                    "\",\"end\":\"" + when + "\",\"app\":\"video\"}\n";
          }
          http::request<http::string_body> req{http::verb::post, "/v1/usage", 11};
          req.set(http::field::host, host);
          req.set(http::field::authorization, "Bearer " + token);
          req.set(http::field::content_type, "application/x-ndjson");
          req.keep_alive(true);
          req.body() = std::move(body);
          req.prepare_payload();
          auto t0 = std::chrono::steady_clock::now();
          http::write(stream, req);
          http::response<http::string_body> res;
          http::read(stream, buffer, res);
          double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
          latencies[c].push_back(ms);
          if (res.result_int() == 200) {
            acked += static_cast<uint64_t>(per_body);
          } else {
            failed += static_cast<uint64_t>(per_body);
          }
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "connection %d: %s\n", c, e.what());
      }
    });
  }
  auto t0 = std::chrono::steady_clock::now();
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))]; };
  std::printf("acked_records=%llu failed_records=%llu seconds=%.2f records_per_s=%.0f requests=%zu p50_ms=%.2f p99_ms=%.2f\n",
              static_cast<unsigned long long>(acked.load()), static_cast<unsigned long long>(failed.load()), elapsed,
              acked.load() / elapsed, all.size(), pct(0.5), pct(0.99));
  return failed.load() == 0 ? 0 : 1;
}
