// Api: the HTTP routes of ryuryo (DESIGN §4) on top of the ledger. It turns HttpRequests into
// ledger submissions and reads, and answers JSON with the contract's field names.
//
// Routes (all under auth, see below, except /healthz, /metrics, sign-in and the dashboard):
//   GET  /healthz                         liveness (no auth)
//   GET  /metrics                         Prometheus text format (no auth: scrape from loopback)
//   GET  /v1/plans                        the catalog
//   GET  /v1/lines                        lines (?q=, ?limit=, ?after=)
//   PUT  /v1/lines/{id}   GET /v1/lines/{id}
//   GET  /v1/lines/{id}/usage             used, remaining, buckets, cycle, state, forecast
//   GET  /v1/lines/{id}/history           ?granularity=hour|day&from&to[&by=app|device]
//   GET  /v1/lines/{id}/audit             which records made this balance (?limit, ?before)
//   GET  /v1/lines/{id}/events            the line's and its pool's alerts, newest first (?limit)
//   POST /v1/lines/{id}/topups            {"quota", "validity", "id"?}
//   GET|PUT /v1/lines/{id}/alerts         {"thresholds": [...], "channels": [...]}
//   PUT  /v1/pools/{id}   GET /v1/pools/{id}
//   POST /v1/usage                        JSON array or JSON lines of usage records
//   GET  /v1/events?after=SEQ&limit=N
//   GET  /v1/quarantine   POST /v1/quarantine/apply
//   GET  /v1/sessions                     open RADIUS sessions (?line=, ?limit=)
//   GET  /v1/stream                       server-sent events `usage`, `event` (?line=, repeated)
//   POST /v1/auth/login  POST /v1/auth/link  POST /v1/auth/logout     (auth_routes.cc)
//   POST /v1/auth/sms-code {"msisdn"}   POST /v1/auth/sms-login {"msisdn", "code"}
//   GET  /v1/auth/methods  (which of these this server offers)
//   GET|PUT /v1/me   GET /v1/me/export   DELETE /v1/me/history
//   GET  /v1/accounts   GET|PUT /v1/accounts/{id}   POST /v1/accounts/{id}/login-link
//   GET  /v1/sms/kannel                   incoming SMS from Kannel's get-url: ?from=&to=&text=
//                                         (sms_routes.cc; the reply is the text/plain body)
//
// /v1/sms/kannel takes no admin token or session: Kannel proves itself with the shared
// `token` query parameter or by its source address (ApiOptions::sms); 404 when SMS is off.
//
// Who may call what: the admin token (Authorization: Bearer) or an operator's session may call
// every route. A subscriber's session (cookie `ryuryo_session`) may read its own lines (line,
// usage, history, recent alerts, the live stream), read and set their alerts, and use /v1/me and
// /v1/auth/logout; any other line is "not found" to it, and any other route is 403. Every request
// that changes something under a session cookie must carry the session's X-CSRF-Token, and a
// cross-origin Origin is refused.
//
// Thread-safety: Handle() is called on the HTTP thread; responses to writes are sent from the
// ledger thread after the commit (the HttpServer's Responder may be called from any thread).
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "api/accounts.h"
#include "api/http_server.h"
#include "api/live.h"
#include "api/work_queue.h"
#include "notify/channels.h"
#include "notify/sms_optout.h"
#include "sms/sender_limit.h"
#include "store/ledger.h"

namespace ryuryo::api {

// Incoming SMS (GET /v1/sms/kannel) and sign-in codes by SMS.
struct SmsOptions {
  bool enabled = false;                     // false: the route answers 404
  std::string kannel_token;                 // accepted as ?token=; empty: none
  std::vector<std::string> kannel_allow;    // source addresses accepted without a token
  std::string default_country_code = "81";  // for national sender numbers (sms/msisdn.h)
  notify::SmsOptOut* opt_out = nullptr;     // STOP / START; required when enabled
  // Sends one SMS (blocking; called on the slow-work threads). Set: sign-in codes by SMS are on
  // (POST /v1/auth/sms-code and /v1/auth/sms-login); unset: those routes answer 404.
  std::function<Status(std::string_view to_e164_digits, std::string_view text)> send_code;
};

struct ApiOptions {
  std::string admin_token;
  std::string version;
  // Extra Prometheus text appended to /metrics (e.g. webhook delivery counters).
  std::function<std::string()> extra_metrics;
  // Open RADIUS sessions as a JSON array (of one line id, or all when empty); unset when RADIUS
  // is not configured.
  std::function<std::string(const std::string& line, size_t limit)> sessions;
  // Subscriber accounts and sessions; without them only the admin token is accepted.
  Accounts* accounts = nullptr;
  // Live updates for GET /v1/stream; unset: the route answers 404.
  LiveHub* live = nullptr;
  // Subscribers' alert channels (GET|PUT /v1/lines/{id}/alerts "channels").
  notify::ChannelRegistry* channels = nullptr;
  // Adds `Secure` to the session cookie (set it when the dashboard is served over HTTPS).
  bool cookie_secure = false;
  // Threads and queued requests for slow work kept off the event loop (Argon2id password
  // hashing, data exports, searching the stored events for a line's recent alerts).
  size_t slow_work_threads = 2;
  size_t slow_work_queue_max = 64;
  SmsOptions sms;
};

// Who is calling: resolved from the admin token or the session cookie.
struct Caller {
  Role role = Role::kAdmin;
  std::string account;  // a subscriber's account
  std::string token;    // the session cookie's value (empty with the admin token)
  std::string csrf_token;
};

class Api {
 public:
  Api(store::Ledger* ledger, ApiOptions options);
  void Handle(HttpRequest&& request, Responder respond);

  // The number of open HTTP connections, for /metrics.
  void set_connections_gauge(std::function<uint32_t()> f) { connections_ = std::move(f); }

 private:
  void Route(HttpRequest& req, Responder& respond);
  // auth_routes.cc. Each returns true when it answered the request.
  bool RouteSignIn(HttpRequest& req, const std::vector<std::string_view>& parts,
                   Responder& respond);
  // POST /v1/auth/sms-code (send) and /v1/auth/sms-login, with the parsed body (or its error).
  bool SignInBySms(const HttpRequest& req, bool send, const nlohmann::json& body, Status st,
                   Responder& respond);
  // sms_routes.cc: GET /v1/sms/kannel (no session: see above).
  bool RouteSms(HttpRequest& req, const std::vector<std::string_view>& parts, Responder& respond);
  bool Authenticate(const HttpRequest& req, Caller* caller, Responder& respond);
  bool RouteAccounts(HttpRequest& req, const std::vector<std::string_view>& parts,
                     const Caller& caller, Responder& respond);
  // GET /v1/me/export and DELETE /v1/me/history (run on slow_work_).
  HttpResponse ExportAccount(const std::string& account);
  HttpResponse DeleteAccountHistory(const std::string& account);
  // For a subscriber: false (and answered 403/404) unless the route is theirs to use.
  bool SubscriberMayUse(const HttpRequest& req, const std::vector<std::string_view>& parts,
                        const Caller& caller, Responder& respond);
  std::string Metrics() const;

  store::Ledger* ledger_;
  ApiOptions options_;
  std::unique_ptr<WorkQueue> slow_work_;
  std::function<uint32_t()> connections_;
  sms::SenderLimiter sms_unknown_senders_;
  std::atomic<uint64_t> sms_received_{0};
  std::atomic<uint64_t> sms_unknown_limited_{0};
  std::atomic<uint64_t> http_requests_{0};
  std::atomic<uint64_t> http_errors_{0};
  std::atomic<uint64_t> records_rejected_at_parse_{0};  // never reached the ledger
};

}  // namespace ryuryo::api
