#include "app/server.h"

#include <arpa/inet.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/http_server.h"
#include "api/live.h"
#include "api/views.h"
#include "ingest/radius_accounting.h"
#include "ingest/radius_authorization.h"
#include "notify/enforcement.h"
#include "notify/kannel.h"
#include "notify/sms_alerts.h"
#include "notify/webhook.h"
#include "store/ledger.h"
#include "store/store.h"

#ifndef RYURYO_VERSION
#define RYURYO_VERSION "dev"
#endif

namespace ryuryo::app {

namespace {

Millis WallClock() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status ResolveAdminToken(const Config& config, bool create, std::string* token) {
  if (!config.admin_token.empty()) {
    *token = config.admin_token;
    return Status::Ok();
  }
  if (const char* env = std::getenv("RYURYO_ADMIN_TOKEN"); env != nullptr && *env != '\0') {
    *token = env;
    return Status::Ok();
  }
  std::filesystem::path path = std::filesystem::path(config.data_dir) / "admin.token";
  std::ifstream in(path);
  if (in && std::getline(in, *token) && !token->empty()) return Status::Ok();
  if (!create) {
    return Status::NotFound("no admin token: set RYURYO_ADMIN_TOKEN or pass --token (" +
                            path.string() + " does not exist)");
  }
  unsigned char raw[24];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return Status::Internal("no randomness for the admin token");
  static const char* hex = "0123456789abcdef";
  token->clear();
  for (unsigned char b : raw) {
    token->push_back(hex[b >> 4]);
    token->push_back(hex[b & 15]);
  }
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  {
    std::ofstream out(path, std::ios::trunc);
    out << *token << "\n";
    if (!out) return Status::IOError("cannot write " + path.string());
  }
  ::chmod(path.c_str(), 0600);
  return Status::Ok();
}

namespace {

// Thousands of open connections (dashboards, NAS, agents) need file descriptors: raise the soft
// limit to the hard one (often 1024 of 524288 by default).
void RaiseFileLimit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  lim.rlim_cur = lim.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) spdlog::warn("could not raise the open-file limit");
}

}  // namespace

int Serve(const std::string& config_path, const ServeOverrides& overrides) {
  RaiseFileLimit();
  Config config;
  Status st = LoadConfig(config_path, &config);
  if (!st.ok()) {
    std::fprintf(stderr, "ryuryo: %s\n", st.message().c_str());
    return 2;
  }
  if (!overrides.http.empty()) config.http = overrides.http;
  if (!overrides.data_dir.empty()) {
    config.data_dir = overrides.data_dir;
    config.store.path = overrides.data_dir;
  }
  if (!overrides.radius_accounting.empty() && config.radius.enabled) {
    ingest::RadiusAccountingOptions& a = config.radius.accounting;
    if (st = SplitHostPort(overrides.radius_accounting, &a.address, &a.port); !st.ok()) {
      std::fprintf(stderr, "ryuryo: --radius-accounting: %s\n", st.message().c_str());
      return 2;
    }
  }
  std::string host;
  uint16_t port;
  if (st = SplitHostPort(config.http, &host, &port); !st.ok()) {
    std::fprintf(stderr, "ryuryo: http: %s\n", st.message().c_str());
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  std::string token;
  if (st = ResolveAdminToken(config, true, &token); !st.ok()) {
    std::fprintf(stderr, "ryuryo: %s\n", st.message().c_str());
    return 2;
  }

  std::unique_ptr<store::Store> db;
  if (st = store::Store::Open(config.store, &db); !st.ok()) {
    std::fprintf(stderr, "ryuryo: %s\n", st.message().c_str());
    return 1;
  }
  Meter meter(config.catalog);
  store::Ledger ledger(&meter, db.get(), WallClock, store::LedgerOptions());
  auto t0 = std::chrono::steady_clock::now();
  if (st = ledger.Recover(); !st.ok()) {
    std::fprintf(stderr, "ryuryo: recovering %s: %s\n", config.data_dir.c_str(),
                 st.message().c_str());
    return 1;
  }
  double recover_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info("recovered {} lines and {} pools in {:.3f} s", meter.line_count(),
               meter.pool_count(), recover_s);

  std::unique_ptr<ingest::RadiusAccountingServer> radius;
  if (config.radius.enabled) {
    radius = std::make_unique<ingest::RadiusAccountingServer>(&ledger, config.radius.accounting);
    if (st = radius->Recover(); !st.ok()) {
      std::fprintf(stderr, "ryuryo: recovering RADIUS sessions: %s\n", st.message().c_str());
      return 1;
    }
    if (st = radius->Listen(); !st.ok()) {
      std::fprintf(stderr, "ryuryo: %s\n", st.message().c_str());
      return 1;
    }
  }

  std::unique_ptr<ingest::RadiusAuthorizationServer> radius_auth;
  if (config.radius.enabled && !config.radius.authorization.empty()) {
    ingest::RadiusAuthorizationOptions o;
    if (st = SplitHostPort(config.radius.authorization, &o.address, &o.port); !st.ok()) {
      std::fprintf(stderr, "ryuryo: radius.authorization: %s\n", st.message().c_str());
      return 2;
    }
    if (!overrides.radius_authorization.empty() &&
        !(st = SplitHostPort(overrides.radius_authorization, &o.address, &o.port)).ok()) {
      std::fprintf(stderr, "ryuryo: --radius-authorization: %s\n", st.message().c_str());
      return 2;
    }
    o.line_keys = config.radius.accounting.line_keys;
    o.clients = config.radius.accounting.clients;
    o.access = config.radius.access;
    radius_auth = std::make_unique<ingest::RadiusAuthorizationServer>(&ledger, std::move(o),
                                                                      config.radius.policy);
    if (st = radius_auth->Listen(); !st.ok()) {
      std::fprintf(stderr, "ryuryo: %s\n", st.message().c_str());
      return 1;
    }
  }

  notify::WebhookOptions webhook_options;
  webhook_options.lane = notify::OutboxLane::kWebhooks;
  notify::WebhookDelivery webhooks(db.get(), config.webhooks, WallClock, webhook_options);
  // Enforcement (RADIUS CoA / Disconnect) has its own outbox worker, so that a silent NAS never
  // holds up webhooks.
  notify::WebhookOptions enforcement_options;
  enforcement_options.lane = notify::OutboxLane::kEnforcement;
  notify::WebhookDelivery enforcement_outbox(db.get(), {}, WallClock, enforcement_options);
  std::unique_ptr<notify::Enforcer> enforcer;
  if (radius) {
    auto targets_of = [&ledger, &radius](const Event& ev) {
      std::vector<notify::EnforcementTarget> targets;
      const Millis now = ledger.Now();
      // The lines concerned, with their state now: the event's line, or every member of its pool.
      std::vector<std::pair<std::string, radius::LineFacts>> lines =
          ledger.Read([&](const Meter& m) {
            std::vector<std::pair<std::string, radius::LineFacts>> out;
            auto add = [&](const Line& l) { out.emplace_back(l.id, ingest::FactsOf(m, l, now)); };
            if (!ev.pool.empty()) {
              if (const Pool* p = m.FindPool(ev.pool)) {
                for (uint32_t i : p->members) add(m.line(i));
              }
            } else if (const Line* l = m.FindLine(ev.line)) {
              add(*l);
            }
            return out;
          });
      for (const auto& [line, facts] : lines) {
        for (const ingest::OpenSession& s :
             radius->OpenSessions(line, notify::kEnforcementTargetsPerEventMax)) {
          // The NAS itself when it is a client of ours; else the proxy its requests came through.
          const ingest::RadiusClient* client = radius->FindClient(s.nas_ip);
          if (client == nullptr) client = radius->FindClient(s.client);
          if (client == nullptr) continue;
          notify::EnforcementTarget t;
          t.nas.address = client->address;
          t.nas.port = client->coa_port;
          t.nas.secret = client->secret;
          t.session.user_name = s.user_name;
          t.session.acct_session_id = s.session_id;
          t.session.calling_station_id = s.calling_station_id;
          in_addr a{};
          if (!s.nas_ip.empty() && inet_pton(AF_INET, s.nas_ip.c_str(), &a) == 1) {
            t.session.nas_ip_address = ntohl(a.s_addr);
          }
          if (!s.framed_ip.empty() && inet_pton(AF_INET, s.framed_ip.c_str(), &a) == 1) {
            t.session.framed_ip_address = ntohl(a.s_addr);
          }
          t.facts = facts;
          targets.push_back(std::move(t));
        }
      }
      return targets;
    };
    auto record = [&ledger](Event ev) {
      Status s = ledger.SubmitCommand(
          [ev](Meter& m, Millis, Effects* fx) {
            m.EmitEvent(ev, fx);
            return Status::Ok();
          },
          nullptr);
      if (!s.ok()) spdlog::warn("enforcement outcome not recorded: {}", s.message());
    };
    enforcer =
        std::make_unique<notify::Enforcer>(config.radius.policy, targets_of, record, WallClock);
    enforcement_outbox.set_enforcement_sender(
        [&enforcer](const Event& e, std::string* error) { return enforcer->Deliver(e, error); });
  }
  const bool sms_sending = !config.sms.send.url.empty();
  // One SMS through Kannel's sendsms: alert SMS and sign-in codes.
  auto send_sms = [kannel = config.sms.send](std::string_view to, std::string_view text) {
    return notify::SendSmsViaKannel(kannel, to, text);
  };
  notify::ChannelOptions channel_options = config.channels;
  channel_options.sms_available = sms_sending;
  channel_options.default_country_code = config.sms.country_code;
  std::unique_ptr<notify::ChannelRegistry> channels;
  if (st = notify::ChannelRegistry::Open(db.get(), channel_options, WallClock, &channels);
      !st.ok()) {
    std::fprintf(stderr, "ryuryo: channels: %s\n", st.message().c_str());
    return 1;
  }
  webhooks.set_channels(channels.get());
  // STOP / START by SMS (the alert-SMS flag of each line); loaded even without [sms], so that a
  // flag set earlier is still honoured.
  std::unique_ptr<notify::SmsOptOut> sms_opt_out;
  if (st = notify::SmsOptOut::Open(db.get(), &sms_opt_out); !st.ok()) {
    std::fprintf(stderr, "ryuryo: sms: %s\n", st.message().c_str());
    return 1;
  }
  // Alert SMS through Kannel's sendsms ([sms] send_url), on an outbox lane of their own.
  notify::WebhookOptions sms_lane_options;
  sms_lane_options.lane = notify::OutboxLane::kSms;
  notify::WebhookDelivery sms_outbox(db.get(), {}, WallClock, sms_lane_options);
  std::unique_ptr<notify::SmsAlerts> sms_alerts;
  if (sms_sending) {
    auto lookup = [&ledger](const std::string& id) -> std::optional<notify::SmsLine> {
      return ledger.Read([&](const Meter& m) -> std::optional<notify::SmsLine> {
        const Line* l = m.FindLine(id);
        if (l == nullptr) return std::nullopt;
        const Balance& b = m.BalanceOf(*l);
        notify::SmsLine out;
        out.msisdn = l->msisdn;
        out.locale = l->locale;
        out.zone = b.zone;
        out.renews = b.plan == nullptr || b.plan->kind != PlanKind::kPass;
        return out;
      });
    };
    if (st = notify::SmsAlerts::Open(db.get(), config.sms.alerts, channels.get(), sms_opt_out.get(),
                                     lookup, send_sms, WallClock, &sms_alerts);
        !st.ok()) {
      std::fprintf(stderr, "ryuryo: sms: %s\n", st.message().c_str());
      return 1;
    }
    sms_outbox.set_sms_sender([&sms_alerts](const Event& ev, uint32_t endpoint) {
      return sms_alerts->Deliver(ev, endpoint);
    });
  }
  std::vector<notify::WebhookEndpoint> endpoints = config.webhooks;
  const bool enforce = radius != nullptr;
  ledger.set_outbox_router([endpoints, enforce, &channels, &sms_alerts](const Event& ev) {
    std::vector<uint32_t> to = notify::RouteEvent(endpoints, ev);
    channels->Route(ev, &to);
    if (sms_alerts) sms_alerts->Route(ev, &to);
    if (enforce) {
      for (uint32_t e : notify::RouteEnforcement(ev)) to.push_back(e);
    }
    return to;
  });
  ledger.set_outbox_committed([&webhooks, &enforcement_outbox, &sms_outbox] {
    webhooks.Poke();
    enforcement_outbox.Poke();
    sms_outbox.Poke();
  });
  std::unique_ptr<api::Accounts> accounts;
  if (st = api::Accounts::Open(db.get(), config.auth.accounts, WallClock, &accounts); !st.ok()) {
    std::fprintf(stderr, "ryuryo: accounts: %s\n", st.message().c_str());
    return 1;
  }
  for (const api::AccountSpec& a : config.accounts) {  // [[accounts]]: created when missing
    if (accounts->Get(a.id)) continue;
    if (Status s = accounts->Put(a, nullptr); !s.ok()) {
      spdlog::error("account '{}': {}", a.id, s.message());
    }
  }
  // Per-app usage is kept only for subscribers who opted in (lines without an account: always).
  ledger.set_app_collection(
      [&accounts](const std::string& account) { return accounts->CollectsApps(account); });
  // Live updates (GET /v1/stream): each watched line's usage is rendered once per pass of the
  // hub and written to all its subscribers; events go to their line's subscribers, a pool's to
  // those of every member (the listener names every member of a pool whose balance changed, so
  // their usage is refreshed too).
  api::LiveHub live(
      api::LiveHubOptions{},
      [&ledger](const std::string& id) -> std::string {
        // The numbers under the meter's lock, the JSON after it: the committer waits for the
        // lock, and a render runs for every watched line that changed.
        std::optional<api::UsageSnapshot> usage =
            ledger.Read([&](const Meter& m) -> std::optional<api::UsageSnapshot> {
              const Line* l = m.FindLine(id);
              if (l == nullptr) return std::nullopt;
              return api::UsageOf(m, *l, ledger.Now());
            });
        return usage ? api::UsageJson(*usage).dump(-1, ' ', false,
                                                   nlohmann::json::error_handler_t::replace)
                     : std::string();
      },
      [&ledger](const std::string& pool_id) {
        return ledger.Read([&](const Meter& m) {
          std::vector<std::string> ids;
          if (const Pool* p = m.FindPool(pool_id)) {
            ids.reserve(p->members.size());
            for (uint32_t i : p->members) ids.push_back(m.line(i).id);
          }
          return ids;
        });
      });
  ledger.AddCommittedListener(
      [&live](const std::vector<std::string>& lines, const std::vector<Event>& events) {
        live.LinesChanged(lines);
        for (const Event& ev : events) {
          if (!ev.pool.empty()) {
            live.PublishPoolEvent(ev.pool, ev.line, ev.ToJson());
          } else if (!ev.line.empty()) {
            live.PublishEvent(ev.line, ev.ToJson());
          }
        }
      });
  live.Start();
  ledger.Start();
  webhooks.Start();
  if (enforcer) enforcement_outbox.Start();
  if (sms_alerts) sms_outbox.Start();
  if (radius) radius->Start();
  if (radius_auth) radius_auth->Start();

  // Provision the config's pools and lines that do not exist yet (the demo catalog's lines).
  auto run = [&ledger](store::Command command) {
    std::promise<Status> done;
    auto fut = done.get_future();
    Status st = ledger.SubmitCommand(std::move(command), [&done](Status s) { done.set_value(s); });
    return st.ok() ? fut.get() : st;
  };
  for (const PoolSpec& p : config.pools) {
    if (ledger.Read([&](const Meter& m) { return m.FindPool(p.id) != nullptr; })) continue;
    Status s = run([p](Meter& m, Millis now, Effects* fx) { return m.PutPool(p, now, fx); });
    if (!s.ok()) spdlog::error("pool '{}': {}", p.id, s.message());
  }
  for (const LineSpec& l : config.lines) {
    if (ledger.Read([&](const Meter& m) { return m.FindLine(l.id) != nullptr; })) continue;
    Status s = run([l](Meter& m, Millis now, Effects* fx) { return m.PutLine(l, now, fx); });
    if (!s.ok()) spdlog::error("line '{}': {}", l.id, s.message());
  }

  boost::asio::io_context io(1);
  api::ApiOptions api_options;
  api_options.admin_token = token;
  api_options.version = RYURYO_VERSION;
  api_options.extra_metrics = [&webhooks, &radius, &radius_auth, &enforcer, &enforcement_outbox,
                               &live, &sms_outbox, &sms_alerts] {
    return webhooks.MetricsText() + live.MetricsText() +
           (sms_alerts ? sms_outbox.MetricsText() + sms_alerts->MetricsText() : std::string()) +
           (radius ? radius->MetricsText() : std::string()) +
           (radius_auth ? radius_auth->MetricsText() : std::string()) +
           (enforcer ? enforcement_outbox.MetricsText() + enforcer->MetricsText() : std::string());
  };
  if (radius) {
    api_options.sessions = [&radius](const std::string& line, size_t limit) {
      nlohmann::json arr = nlohmann::json::array();
      for (const ingest::OpenSession& s : radius->OpenSessions(line, limit)) {
        auto opt = [](const std::string& v) {
          return v.empty() ? nlohmann::json(nullptr) : nlohmann::json(v);
        };
        arr.push_back({{"nas", s.nas},
                       {"session_id", s.session_id},
                       {"line", s.line},
                       {"started_at", FormatRfc3339Utc(s.started_at)},
                       {"last_event_at", FormatRfc3339Utc(s.last_event_at)},
                       {"bytes_in", s.bytes_in},
                       {"bytes_out", s.bytes_out},
                       {"client", s.client},
                       {"nas_ip", opt(s.nas_ip)},
                       {"user_name", opt(s.user_name)},
                       {"framed_ip", opt(s.framed_ip)},
                       {"calling_station_id", opt(s.calling_station_id)}});
      }
      return arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
  }
  api_options.accounts = accounts.get();
  api_options.cookie_secure = config.auth.cookie_secure;
  api_options.channels = channels.get();
  api_options.live = &live;
  api_options.sms.enabled = config.sms.enabled;
  api_options.sms.kannel_token = config.sms.kannel_token;
  api_options.sms.kannel_allow = config.sms.kannel_allow;
  api_options.sms.opt_out = sms_opt_out.get();
  api_options.sms.default_country_code = config.sms.country_code;
  if (sms_sending && config.sms.login_codes) api_options.sms.send_code = send_sms;
  api::Api api(&ledger, api_options);
  api::HttpServerOptions http_options;
  http_options.address = host;
  http_options.port = port;
  api::HttpServer server(io, http_options, [&api](api::HttpRequest&& req, api::Responder respond) {
    api.Handle(std::move(req), std::move(respond));
  });
  if (st = server.Listen(); !st.ok()) {
    std::fprintf(stderr, "ryuryo: %s\n", st.message().c_str());
    if (radius) radius->Stop();
    if (radius_auth) radius_auth->Stop();
    enforcement_outbox.Stop();
    sms_outbox.Stop();
    ledger.Stop();
    webhooks.Stop();
    return 1;
  }
  api.set_connections_gauge([&server] { return server.open_connections(); });
  server.Start();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    spdlog::info("signal {}: stopping", sig);
    server.Stop();
    io.stop();
  });
  std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::printf("ryuryo %s listening on http://%s:%u\n", RYURYO_VERSION, shown_host.c_str(),
              server.port());
  if (radius) {
    std::string h = config.radius.accounting.address;
    if (h.find(':') != std::string::npos) h = "[" + h + "]";
    std::printf("radius accounting on udp://%s:%u\n", h.c_str(), radius->port());
  }
  if (radius_auth) {
    std::printf("radius authorization on udp://%s\n",
                (config.radius.authorization.substr(0, config.radius.authorization.rfind(':') + 1) +
                 std::to_string(radius_auth->port()))
                    .c_str());
  }
  std::printf("admin token: %s\n", token.c_str());
  std::fflush(stdout);
  io.run();
  if (radius_auth) radius_auth->Stop();
  if (radius) radius->Stop();  // no new requests; those waiting for a commit are answered below
  enforcement_outbox.Stop();   // before the ledger: it records its outcomes through it
  ledger.Stop();
  live.Stop();  // after the ledger: its listener feeds the hub
  webhooks.Stop();
  sms_outbox.Stop();
  return 0;
}

}  // namespace ryuryo::app
