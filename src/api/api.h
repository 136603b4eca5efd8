// Api: the HTTP routes of ryuryo (DESIGN §4) on top of the ledger. It turns HttpRequests into
// ledger submissions and reads, and answers JSON with the contract's field names.
//
// Routes (all under Bearer auth with the admin token except /healthz):
//   GET  /healthz                         liveness (no auth)
//   GET  /metrics                         Prometheus text format (no auth: scrape from loopback)
//   GET  /v1/plans                        the catalog
//   GET  /v1/lines                        lines (?q=, ?limit=, ?after=)
//   PUT  /v1/lines/{id}   GET /v1/lines/{id}
//   GET  /v1/lines/{id}/usage             used, remaining, buckets, cycle, state, forecast
//   GET  /v1/lines/{id}/history           ?granularity=hour|day&from&to[&by=app|device]
//   GET  /v1/lines/{id}/audit             which records made this balance (?limit, ?before)
//   POST /v1/lines/{id}/topups            {"quota", "validity", "id"?}
//   GET|PUT /v1/lines/{id}/alerts         {"thresholds": [...]}
//   PUT  /v1/pools/{id}   GET /v1/pools/{id}
//   POST /v1/usage                        JSON array or JSON lines of usage records
//   GET  /v1/events?after=SEQ&limit=N
//   GET  /v1/quarantine   POST /v1/quarantine/apply
//   GET  /v1/sessions                     open RADIUS sessions (?line=, ?limit=)
//
// Thread-safety: Handle() is called on the HTTP thread; responses to writes are sent from the
// ledger thread after the commit (the HttpServer's Responder may be called from any thread).
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "api/http_server.h"
#include "store/ledger.h"

namespace ryuryo::api {

struct ApiOptions {
  std::string admin_token;
  std::string version;
  // Extra Prometheus text appended to /metrics (e.g. webhook delivery counters).
  std::function<std::string()> extra_metrics;
  // Open RADIUS sessions as a JSON array (of one line id, or all when empty); unset when RADIUS
  // is not configured.
  std::function<std::string(const std::string& line, size_t limit)> sessions;
};

class Api {
 public:
  Api(store::Ledger* ledger, ApiOptions options);
  void Handle(HttpRequest&& request, Responder respond);

  // The number of open HTTP connections, for /metrics.
  void set_connections_gauge(std::function<uint32_t()> f) { connections_ = std::move(f); }

 private:
  void Route(HttpRequest& req, Responder& respond);
  std::string Metrics() const;

  store::Ledger* ledger_;
  ApiOptions options_;
  std::function<uint32_t()> connections_;
  std::atomic<uint64_t> http_requests_{0};
  std::atomic<uint64_t> http_errors_{0};
  std::atomic<uint64_t> records_rejected_at_parse_{0};  // never reached the ledger
};

}  // namespace ryuryo::api
