#include "app/simulate_cmd.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "app/config.h"
#include "core/quantity.h"
#include "core/timeutil.h"
#include "notify/http_client.h"
#include "sim/client.h"
#include "sim/model.h"

namespace ryuryo::app {

namespace {

using json = nlohmann::json;

// Parallel HTTP requests when provisioning lines.
constexpr int kProvisionThreads = 8;
constexpr int kHttpTimeoutMs = 30'000;
// Lines taken from a server per GET /v1/lines page.
constexpr int kListPageLines = 1000;

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop = true; }

int Fail(const Status& st) {
  std::fprintf(stderr, "ryuryo simulate: %s\n", st.message().c_str());
  return 1;
}

Millis WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "now", "now-30d", "now-1h30m", or RFC 3339 with an offset.
Status ParseStart(const std::string& text, Millis now, Millis* start) {
  if (text == "now") {
    *start = now;
    return Status::Ok();
  }
  if (text.starts_with("now-")) {
    int64_t back_ms = 0;
    RYURYO_RETURN_IF_ERROR(ParseDurationMs(text.substr(4), &back_ms).Prefixed("--start"));
    *start = now - back_ms;
  } else {
    RYURYO_RETURN_IF_ERROR(ParseRfc3339(text, start).Prefixed("--start"));
  }
  if (*start < 0) return Status::InvalidArgument("--start: before 1970");
  if (*start > now) return Status::InvalidArgument("--start: in the future");
  return Status::Ok();
}

Status ParseDurationOption(const std::string& name, const std::string& text, int64_t* ms) {
  if (text.empty()) {
    *ms = 0;
    return Status::Ok();
  }
  return ParseDurationMs(text, ms).Prefixed(name);
}

std::string Percent(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '@') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

Status Http(const std::string& method, const std::string& url, const std::string& token,
            const std::string& body, json* out) {
  notify::HttpClientRequest req;
  req.method = method;
  req.url = url;
  req.body = body;
  req.timeout_ms = kHttpTimeoutMs;
  req.headers.emplace_back("Authorization", "Bearer " + token);
  notify::HttpClientResponse resp;
  RYURYO_RETURN_IF_ERROR(notify::SendHttp(req, &resp));
  *out = json::parse(resp.body, nullptr, false);
  if (resp.status >= 400) {
    std::string msg = resp.body;
    if (!out->is_discarded() && out->contains("error")) msg = (*out)["error"].value("message", "");
    return Status::Unavailable(method + " " + url + ": HTTP " + std::to_string(resp.status) + ": " +
                               msg);
  }
  if (out->is_discarded()) return Status::Unavailable(method + " " + url + ": not JSON");
  return Status::Ok();
}

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// Every line of a running server (admin token): GET /v1/lines, page by page.
Status LinesFromServer(const std::string& server, const std::string& token,
                       std::vector<sim::SimLine>* lines) {
  std::string after;
  for (;;) {
    std::string url = server + "/v1/lines?limit=" + std::to_string(kListPageLines);
    if (!after.empty()) url += "&after=" + Percent(after);
    json j;
    RYURYO_RETURN_IF_ERROR(Http("GET", url, token, "", &j));
    if (!j.contains("lines") || !j["lines"].is_array()) {
      return Status::Unavailable(url + ": no \"lines\" array in the answer");
    }
    for (const json& l : j["lines"]) {
      sim::SimLine s;
      s.id = l.value("id", "");
      if (l.contains("imsi") && l["imsi"].is_string()) s.imsi = l["imsi"].get<std::string>();
      if (l.contains("msisdn") && l["msisdn"].is_string()) {
        for (char c : l["msisdn"].get<std::string>()) {
          if (c >= '0' && c <= '9') s.msisdn.push_back(c);
        }
      }
      if (l.contains("timezone") && l["timezone"].is_string()) {
        s.timezone = l["timezone"].get<std::string>();
      }
      lines->push_back(std::move(s));
    }
    if (!j.contains("next") || !j["next"].is_string()) break;
    after = j["next"].get<std::string>();
  }
  if (lines->empty()) return Status::NotFound(server + " has no lines to simulate");
  return Status::Ok();
}

// PUT /v1/lines/{id} {"plan", "imsi", "msisdn", "timezone"} for each line, several at a time.
Status Provision(const std::string& server, const std::string& token, const std::string& plan,
                 const std::vector<sim::SimLine>& lines) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first_error;
  auto work = [&] {
    for (;;) {
      const size_t i = next++;
      if (i >= lines.size()) return;
      {
        std::lock_guard<std::mutex> l(mu);
        if (!first_error.ok()) return;
      }
      const sim::SimLine& line = lines[i];
      json body = {{"plan", plan}, {"timezone", line.timezone}};
      if (!line.imsi.empty()) body["imsi"] = line.imsi;
      if (!line.msisdn.empty()) body["msisdn"] = line.msisdn;
      json out;
      Status st = Http("PUT", server + "/v1/lines/" + Percent(line.id), token, body.dump(), &out);
      if (!st.ok()) {
        std::lock_guard<std::mutex> l(mu);
        if (first_error.ok()) first_error = st.Prefixed("provisioning " + line.id);
        return;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kProvisionThreads; ++t) threads.emplace_back(work);
  for (std::thread& t : threads) t.join();
  return first_error;
}

double Ms(uint64_t us) { return static_cast<double>(us) / 1000.0; }

std::string Thousands(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

}  // namespace

struct SimulateCommand::Options {
  std::string radius = "127.0.0.1:1813";
  std::string secret = "testing123";
  size_t lines = 100;
  uint64_t imsi_base = 440100000000000ULL;
  uint64_t msisdn_base = 819000000000ULL;
  std::string id_prefix = "sim-";
  std::string timezone = "Asia/Tokyo";
  std::string provision_plan;
  std::string server;
  std::string token;
  std::string from_server;
  uint64_t seed = 1;
  std::string start;
  double speed = 1;
  double rate = 0;
  std::string duration;
  uint64_t requests = 0;
  uint64_t sessions = 0;
  uint32_t window = 1024;
  std::string timeout = "1s";
  uint32_t retries = 3;
  std::string interim_interval = "300s";
  uint32_t nas = 4;
  double volume_scale = 1;
  sim::FaultOptions faults;
  bool as_json = false;
  std::string expected_path;
  std::string progress;
};

SimulateCommand::SimulateCommand(CLI::App* app) : options_(std::make_unique<Options>()) {
  Options& o = *options_;
  CLI::App* c = app->add_subcommand(
      "simulate", "send simulated RADIUS accounting traffic to an accounting server");
  command_ = c;
  c->footer(
      "Time: the simulated clock starts at --start and runs --speed times as fast as the wall\n"
      "clock (--speed 0: as fast as the window allows), but never ahead of the wall clock: a\n"
      "time-compressed run replays the past up to the present, then continues in real time.\n"
      "Event-Timestamp carries the simulated time, so a server charges usage to the simulated\n"
      "hours and never sees an event from the future.\n"
      "Expected totals: a correct server counts, per line, the highest cumulative counters of\n"
      "each session among the requests it acknowledged (--expected writes them per line).\n"
      "Exit status: 0 every request was acknowledged; 2 some timed out; 1 an error.");
  c->add_option("--radius", o.radius, "accounting server host:port")->capture_default_str();
  c->add_option("--secret", o.secret, "RADIUS shared secret")->capture_default_str();
  auto* lines = c->add_option("--lines", o.lines, "synthetic lines: sim-0 .. sim-<N-1>")
                    ->capture_default_str()
                    ->check(CLI::Range(size_t{1}, sim::kSimLinesMax));
  c->add_option("--imsi-base", o.imsi_base, "IMSI of line 0 (line i: base + i)")
      ->capture_default_str();
  c->add_option("--msisdn-base", o.msisdn_base, "MSISDN of line 0, digits (line i: base + i)")
      ->capture_default_str();
  c->add_option("--id-prefix", o.id_prefix, "line ids are <prefix><i>")->capture_default_str();
  c->add_option("--timezone", o.timezone, "local time of the synthetic lines (daily pattern)")
      ->capture_default_str();
  c->add_option("--provision", o.provision_plan,
                "first create the synthetic lines on this plan (PUT /v1/lines/{id} on --server)");
  c->add_option("--server", o.server, "HTTP API of the server, for --provision");
  c->add_option("--token", o.token, "admin bearer token (default: env RYURYO_ADMIN_TOKEN)");
  c->add_option("--from-server", o.from_server,
                "simulate the lines of this server (GET /v1/lines) instead of synthetic ones")
      ->excludes(lines);
  c->add_option("--seed", o.seed, "random seed: the same seed gives the same traffic")
      ->capture_default_str();
  c->add_option("--start", o.start,
                "simulated start: now, now-<duration> (now-30d) or RFC 3339 "
                "(default: now at --speed 1, else now-30d)");
  c->add_option("--speed", o.speed, "simulated seconds per wall second; 0: unpaced")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e9));
  c->add_option("--rate", o.rate, "new requests per second at most; 0: no cap")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e9));
  c->add_option("--duration", o.duration, "stop after this long (wall), e.g. 60s, 10m");
  c->add_option("--requests", o.requests, "stop after this many requests");
  c->add_option("--sessions", o.sessions,
                "start this many sessions, and end when all of them have ended");
  c->add_option("--window", o.window, "requests in flight at most (256 per UDP socket)")
      ->capture_default_str()
      ->check(CLI::Range(1u, sim::kClientWindowMax));
  c->add_option("--timeout", o.timeout, "before a request is sent again, e.g. 1s, 500ms")
      ->capture_default_str();
  c->add_option("--retries", o.retries, "times a request is sent again before giving up")
      ->capture_default_str()
      ->check(CLI::Range(0u, sim::kClientRetriesMax));
  c->add_option("--interim-interval", o.interim_interval,
                "simulated time between Interim-Updates of a session")
      ->capture_default_str();
  c->add_option("--nas", o.nas, "gateways (NAS) the sessions are spread over")
      ->capture_default_str()
      ->check(CLI::Range(1u, sim::kSimNasMax));
  c->add_option("--volume-scale", o.volume_scale,
                "multiplies every app's byte rate (e.g. 100 to reach Gigawords quickly)")
      ->capture_default_str();
  c->add_option("--fault-retransmit", o.faults.retransmit,
                "probability a request is sent twice (same Identifier and Authenticator)")
      ->check(CLI::Range(0.0, 1.0));
  c->add_option("--fault-duplicate", o.faults.duplicate,
                "probability an Interim-Update is followed by a new packet with the same counters")
      ->check(CLI::Range(0.0, 1.0));
  c->add_option("--fault-reorder", o.faults.reorder,
                "probability an Interim-Update is held and sent after the session's next message")
      ->check(CLI::Range(0.0, 1.0));
  c->add_option("--fault-nas-reboot", o.faults.nas_reboot,
                "probability, per Interim-Update, that its NAS reboots instead (sessions cut, "
                "Accounting-On, new sessions)")
      ->check(CLI::Range(0.0, 1.0));
  c->add_flag("--json", o.as_json, "print the summary as JSON");
  c->add_option("--expected", o.expected_path,
                "write the bytes per line a correct server counted to this JSON file");
  c->add_option("--progress", o.progress, "print a progress line to stderr this often, e.g. 10s");
}

SimulateCommand::~SimulateCommand() = default;

bool SimulateCommand::parsed() const { return command_ != nullptr && command_->parsed(); }

int SimulateCommand::Run() {
  const Options& o = *options_;
  const Millis now = WallMs();

  sim::ModelOptions mo;
  mo.seed = o.seed;
  std::string start = o.start.empty() ? (o.speed == 1 ? "now" : "now-30d") : o.start;
  if (Status st = ParseStart(start, now, &mo.start); !st.ok()) return Fail(st);
  int64_t interim_ms = 0, duration_ms = 0, timeout_ms = 0, progress_ms = 0;
  if (Status st = ParseDurationOption("--interim-interval", o.interim_interval, &interim_ms);
      !st.ok()) {
    return Fail(st);
  }
  if (interim_ms % kMillisPerSecond != 0) {
    return Fail(Status::InvalidArgument("--interim-interval: must be whole seconds"));
  }
  mo.interim_interval_s = static_cast<uint32_t>(
      std::min<int64_t>(interim_ms / kMillisPerSecond, int64_t{sim::kInterimIntervalSMax} + 1));
  if (Status st = ParseDurationOption("--duration", o.duration, &duration_ms); !st.ok()) {
    return Fail(st);
  }
  if (Status st = ParseDurationOption("--timeout", o.timeout, &timeout_ms); !st.ok()) {
    return Fail(st);
  }
  if (Status st = ParseDurationOption("--progress", o.progress, &progress_ms); !st.ok()) {
    return Fail(st);
  }
  mo.nas_count = o.nas;
  mo.volume_scale = o.volume_scale;
  mo.faults = o.faults;
  mo.sessions_max = o.sessions;
  mo.requests_max = o.requests;

  std::string token = o.token;
  if (token.empty()) {
    if (const char* env = std::getenv("RYURYO_ADMIN_TOKEN")) token = env;
  }
  std::vector<sim::SimLine> lines;
  if (!o.from_server.empty()) {
    if (!o.provision_plan.empty()) {
      return Fail(Status::InvalidArgument("--provision and --from-server exclude each other"));
    }
    if (token.empty()) return Fail(Status::InvalidArgument("--from-server needs --token"));
    if (Status st = LinesFromServer(TrimSlash(o.from_server), token, &lines); !st.ok()) {
      return Fail(st);
    }
  } else {
    if (o.imsi_base + o.lines > 999'999'999'999'999ULL) {
      return Fail(Status::InvalidArgument("--imsi-base: the IMSIs must have at most 15 digits"));
    }
    if (o.msisdn_base + o.lines > 999'999'999'999'999ULL) {
      return Fail(Status::InvalidArgument("--msisdn-base: MSISDNs must have at most 15 digits"));
    }
    lines.reserve(o.lines);
    for (size_t i = 0; i < o.lines; ++i) {
      lines.push_back({o.id_prefix + std::to_string(i), std::to_string(o.imsi_base + i),
                       std::to_string(o.msisdn_base + i), o.timezone});
    }
  }

  std::unique_ptr<sim::Model> model;
  if (Status st = sim::Model::Create(mo, lines, &model); !st.ok()) return Fail(st);

  if (!o.provision_plan.empty()) {
    if (o.server.empty()) return Fail(Status::InvalidArgument("--provision needs --server URL"));
    if (token.empty()) return Fail(Status::InvalidArgument("--provision needs --token"));
    if (Status st = Provision(TrimSlash(o.server), token, o.provision_plan, lines); !st.ok()) {
      return Fail(st);
    }
    if (!o.as_json)
      std::fprintf(stderr, "provisioned %zu lines on plan %s\n", lines.size(),
                   o.provision_plan.c_str());
  }

  sim::ClientOptions co;
  if (Status st = SplitHostPort(o.radius, &co.host, &co.port); !st.ok()) {
    return Fail(st.Prefixed("--radius"));
  }
  if (co.host.empty()) co.host = "127.0.0.1";
  if (co.port == 0) return Fail(Status::InvalidArgument("--radius: the port must not be 0"));
  co.secret = o.secret;
  co.window = o.window;
  co.timeout_ms = timeout_ms;
  co.retries = o.retries;
  co.speed = o.speed;
  co.rate_per_s = o.rate;
  co.duration_ms = duration_ms;
  co.stop = &g_stop;
  const Zone zone = Zone::Tokyo();
  if (progress_ms > 0) {
    co.progress_interval_ms = progress_ms;
    co.progress = [&zone](const sim::ClientStats& s) {
      std::fprintf(stderr,
                   "%.0f s: %s acknowledged (%.0f/s), %llu in flight, %llu timed out, "
                   "simulated %s\n",
                   s.elapsed_s, Thousands(s.acknowledged).c_str(), s.acked_per_s(),
                   static_cast<unsigned long long>(s.in_flight),
                   static_cast<unsigned long long>(s.timed_out),
                   s.sim_time ? zone.FormatRfc3339(s.sim_time).c_str() : "-");
      std::fflush(stderr);
    };
  }

  struct sigaction sa {
  }, old_int{}, old_term{};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);
  sim::ExpectedTotals expected(lines.size());
  sim::ClientStats stats;
  Status st = sim::RunClient(co, model.get(), &expected, &stats);
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  if (!st.ok()) return Fail(st);

  const sim::ModelStats& ms = model->stats();
  if (!o.expected_path.empty()) {
    json per_line = json::array();
    for (uint32_t i = 0; i < lines.size(); ++i) {
      per_line.push_back({{"id", lines[i].id},
                          {"imsi", lines[i].imsi},
                          {"msisdn", lines[i].msisdn},
                          {"bytes_up", expected.bytes_up(i)},
                          {"bytes_down", expected.bytes_down(i)}});
    }
    std::ofstream f(o.expected_path);
    f << json{{"lines", per_line}}.dump(1) << "\n";
    if (!f) return Fail(Status::IOError("cannot write " + o.expected_path));
  }

  const auto& lat = stats.latency;
  if (o.as_json) {
    json j = {
        {"radius", o.radius},
        {"lines", lines.size()},
        {"requests", stats.requests},
        {"acknowledged", stats.acknowledged},
        {"timed_out", stats.timed_out},
        {"retransmitted", stats.retransmitted},
        {"copies_sent", stats.copies_sent},
        {"datagrams_sent", stats.datagrams_sent},
        {"responses_unmatched", stats.responses_unmatched},
        {"responses_invalid", stats.responses_invalid},
        {"send_errors", stats.send_errors},
        {"unsent", stats.unsent},
        {"elapsed_s", stats.elapsed_s},
        {"acked_per_s", stats.acked_per_s()},
        {"latency_ms",
         {{"p50", Ms(lat.Percentile(0.5))},
          {"p90", Ms(lat.Percentile(0.9))},
          {"p99", Ms(lat.Percentile(0.99))},
          {"max", Ms(lat.max_us())}}},
        {"model",
         {{"sessions_started", ms.sessions_started},
          {"sessions_stopped", ms.sessions_stopped},
          {"sessions_cut", ms.sessions_cut},
          {"starts", ms.starts},
          {"interims", ms.interims},
          {"stops", ms.stops},
          {"accounting_ons", ms.accounting_ons},
          {"retransmits", ms.retransmits},
          {"duplicates", ms.duplicates},
          {"reordered", ms.reordered},
          {"nas_reboots", ms.nas_reboots}}},
        {"simulated",
         {{"start", zone.FormatRfc3339(model->options().start)},
          {"reached", stats.sim_time ? json(zone.FormatRfc3339(stats.sim_time)) : json(nullptr)}}},
        {"expected", {{"bytes_up", expected.total_up()}, {"bytes_down", expected.total_down()}}},
    };
    std::cout << j.dump(2) << "\n";
  } else {
    const double acked_pct =
        stats.requests ? 100.0 * static_cast<double>(stats.acknowledged) / stats.requests : 100.0;
    std::printf("ryuryo simulate: %zu lines on %u NAS -> %s\n", lines.size(), o.nas,
                o.radius.c_str());
    std::printf("requests    %s sent, %s acknowledged (%.2f%%), %s timed out, %s retransmitted\n",
                Thousands(stats.requests).c_str(), Thousands(stats.acknowledged).c_str(), acked_pct,
                Thousands(stats.timed_out).c_str(), Thousands(stats.retransmitted).c_str());
    std::printf("rate        %s acknowledged/s over %.2f s\n",
                Thousands(static_cast<uint64_t>(stats.acked_per_s())).c_str(), stats.elapsed_s);
    std::printf("latency     p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms\n",
                Ms(lat.Percentile(0.5)), Ms(lat.Percentile(0.9)), Ms(lat.Percentile(0.99)),
                Ms(lat.max_us()));
    std::printf("sessions    %s started, %s stopped, %s cut by NAS reboots\n",
                Thousands(ms.sessions_started).c_str(), Thousands(ms.sessions_stopped).c_str(),
                Thousands(ms.sessions_cut).c_str());
    std::printf("faults      %s sent twice, %s duplicated, %s reordered, %s NAS reboots\n",
                Thousands(ms.retransmits).c_str(), Thousands(ms.duplicates).c_str(),
                Thousands(ms.reordered).c_str(), Thousands(ms.nas_reboots).c_str());
    std::printf("simulated   %s -> %s\n", zone.FormatRfc3339(model->options().start).c_str(),
                stats.sim_time ? zone.FormatRfc3339(stats.sim_time).c_str() : "-");
    std::printf("expected    %s up, %s down counted by a correct server\n",
                FormatBytes(expected.total_up()).c_str(),
                FormatBytes(expected.total_down()).c_str());
    if (stats.responses_unmatched + stats.responses_invalid + stats.send_errors > 0) {
      std::printf("other       %s unmatched and %s invalid responses, %s send errors\n",
                  Thousands(stats.responses_unmatched).c_str(),
                  Thousands(stats.responses_invalid).c_str(), Thousands(stats.send_errors).c_str());
    }
  }
  return stats.timed_out > 0 ? 2 : 0;
}

}  // namespace ryuryo::app
