#include "app/cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "api/usage_json.h"
#include "app/config.h"
#include "app/server.h"
#include "app/simulate_cmd.h"
#include "core/quantity.h"
#include "notify/http_client.h"
#include "notify/kannel.h"

#ifndef RYURYO_VERSION
#define RYURYO_VERSION "dev"
#endif

namespace ryuryo::app {

namespace {

using json = nlohmann::json;

constexpr size_t kIngestChunkRecords = 1000;

struct Client {
  std::string server;  // "http://127.0.0.1:8080"
  std::string token;

  Status Call(const std::string& method, const std::string& path, const std::string& body,
              int* status, json* out) const {
    notify::HttpClientRequest req;
    req.method = method;
    req.url = server + path;
    req.body = body;
    req.timeout_ms = 60000;
    req.headers.emplace_back("Authorization", "Bearer " + token);
    notify::HttpClientResponse resp;
    RYURYO_RETURN_IF_ERROR(notify::SendHttp(req, &resp));
    *status = resp.status;
    *out = json::parse(resp.body, nullptr, false);
    if (out->is_discarded())
      return Status::Unavailable("the server answered something that is not JSON");
    if (resp.status >= 400) {
      std::string msg = out->contains("error") ? (*out)["error"].value("message", "") : resp.body;
      return Status::InvalidArgument("HTTP " + std::to_string(resp.status) + ": " + msg);
    }
    return Status::Ok();
  }
};

// Percent-encodes everything but RFC 3986 unreserved characters and ':' / '@' (kept readable in
// paths like /v1/lines/msisdn:...): a line key may hold '+', spaces or '/'.
std::string UrlEncode(std::string_view s) { return notify::PercentEncode(s, ":@"); }

int Fail(const Status& st) {
  std::fprintf(stderr, "ryuryo: %s\n", st.message().c_str());
  return 1;
}

std::string Bytes(const json& v) { return v.is_null() ? "-" : FormatBytes(v.get<uint64_t>()); }

int Usage(const Client& c, const std::string& line, bool as_json) {
  int status = 0;
  json j;
  if (Status st = c.Call("GET", "/v1/lines/" + UrlEncode(line) + "/usage", "", &status, &j);
      !st.ok()) {
    return Fail(st);
  }
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "line      " << j["line"].get<std::string>() << "  ("
            << j["plan_name"].get<std::string>() << ", " << j["plan_kind"].get<std::string>()
            << ")\n";
  std::cout << "used      " << Bytes(j["used"]);
  if (!j["quota"].is_null()) {
    uint64_t q = j["quota"].get<uint64_t>(), u = q - j["remaining"].get<uint64_t>();
    std::cout << " of " << Bytes(j["quota"]) << "  (" << (q ? u * 100 / q : 0) << "%)";
  }
  std::cout << "\n";
  if (!j["remaining"].is_null()) std::cout << "remaining " << Bytes(j["remaining"]) << "\n";
  if (!j["cycle"].is_null()) {
    std::cout << "cycle     " << j["cycle"]["start"].get<std::string>() << " → "
              << j["cycle"]["end"].get<std::string>() << "\n";
  } else {
    std::cout << "cycle     starts at first use\n";
  }
  std::cout << "state     " << j["state"].get<std::string>();
  if (!j["reason"].is_null()) std::cout << " (" << j["reason"].get<std::string>() << ")";
  if (!j["throttle_rate_bps"].is_null())
    std::cout << " at " << FormatRate(j["throttle_rate_bps"].get<uint64_t>());
  std::cout << "\n";
  for (const json& b : j["buckets"]) {
    std::cout << "  bucket  " << b["kind"].get<std::string>() << ": " << Bytes(b["remaining"])
              << " left of " << Bytes(b["quota"]) << ", expires "
              << b["expires_at"].get<std::string>() << "\n";
  }
  const json& f = j["forecast"];
  if (!f["exhausted_at"].is_null()) {
    // With nothing left it is when the allowance ran out; otherwise a projection.
    if (!j["remaining"].is_null() && j["remaining"].get<uint64_t>() == 0) {
      std::cout << "ran out   " << f["exhausted_at"].get<std::string>() << "\n";
    } else {
      std::cout << "run-out   " << f["exhausted_at"].get<std::string>() << " at this pace\n";
    }
  }
  if (!f["daily_budget"].is_null())
    std::cout << "per day   " << Bytes(f["daily_budget"]) << " to last until the reset\n";
  if (j.contains("overage")) {
    std::cout << "overage   " << j["overage"]["cost"].get<std::string>() << " "
              << j["overage"]["currency"].get<std::string>() << "\n";
  }
  std::cout << "as of     " << j["as_of"].get<std::string>() << "\n";
  return 0;
}

int Lines(const Client& c, bool as_json) {
  int status = 0;
  json all = json::array();
  std::string after;
  for (;;) {
    json j;
    std::string path = "/v1/lines?limit=1000" + (after.empty() ? "" : "&after=" + UrlEncode(after));
    if (Status st = c.Call("GET", path, "", &status, &j); !st.ok()) return Fail(st);
    for (auto& l : j["lines"]) all.push_back(l);
    if (j["next"].is_null()) break;
    after = j["next"].get<std::string>();
  }
  if (as_json) {
    std::cout << all.dump(2) << "\n";
    return 0;
  }
  std::printf("%-20s %-18s %-10s %12s %12s\n", "LINE", "PLAN", "STATE", "USED", "REMAINING");
  for (const json& l : all) {
    std::printf("%-20s %-18s %-10s %12s %12s\n", l["id"].get<std::string>().c_str(),
                l["plan"].get<std::string>().c_str(), l["state"].get<std::string>().c_str(),
                Bytes(l["used"]).c_str(), Bytes(l["remaining"]).c_str());
  }
  return 0;
}

int Sessions(const Client& c, const std::string& line, bool as_json) {
  int status = 0;
  json j;
  std::string path = "/v1/sessions?limit=100000" + (line.empty() ? "" : "&line=" + UrlEncode(line));
  if (Status st = c.Call("GET", path, "", &status, &j); !st.ok()) return Fail(st);
  const json& all = j["sessions"];
  if (as_json) {
    std::cout << all.dump(2) << "\n";
    return 0;
  }
  std::printf("%-16s %-24s %-16s %-20s %10s %10s  %s\n", "LINE", "SESSION", "NAS", "STARTED", "IN",
              "OUT", "LAST");
  for (const json& s : all) {
    std::printf("%-16s %-24s %-16s %-20s %10s %10s  %s\n", s["line"].get<std::string>().c_str(),
                s["session_id"].get<std::string>().c_str(), s["nas"].get<std::string>().c_str(),
                s["started_at"].get<std::string>().substr(0, 19).c_str(),
                Bytes(s["bytes_in"]).c_str(), Bytes(s["bytes_out"]).c_str(),
                s["last_event_at"].get<std::string>().substr(0, 19).c_str());
  }
  std::printf("%zu open session%s\n", all.size(), all.size() == 1 ? "" : "s");
  return 0;
}

// CSV: a header line naming the columns (id,line,bytes_up,bytes_down,start,end,device,app,source;
// any order, unknown columns are an error), then one record per line. No quoting is needed for
// these fields; quoted fields with doubled quotes are accepted.
Status CsvSplit(const std::string& line, std::vector<std::string>* cells) {
  cells->clear();
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur.push_back('"');
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        cur.push_back(ch);
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      cells->push_back(cur);
      cur.clear();
    } else {
      cur.push_back(ch);
    }
  }
  if (quoted) return Status::InvalidArgument("unterminated quote");
  cells->push_back(cur);
  return Status::Ok();
}

Status CsvRecord(const std::vector<std::string>& header, const std::vector<std::string>& cells,
                 std::string* json_out) {
  if (cells.size() != header.size()) {
    return Status::InvalidArgument("expected " + std::to_string(header.size()) + " columns, got " +
                                   std::to_string(cells.size()));
  }
  json j = json::object();
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string& k = header[i];
    const std::string& v = cells[i];
    if (v.empty()) continue;
    if (k == "bytes_up" || k == "bytes_down") {
      if (v.find_first_not_of("0123456789") != std::string::npos || v.size() > 19) {
        return Status::InvalidArgument(k + ": must be a non-negative integer");
      }
      j[k] = std::stoull(v);
    } else {
      j[k] = v;
    }
  }
  *json_out = j.dump();
  return Status::Ok();
}

int Ingest(const Client& c, const std::string& path) {
  std::ifstream in(path);
  if (!in) return Fail(Status::NotFound("cannot read '" + path + "'"));
  std::vector<std::string> lines;
  std::string l;
  while (std::getline(in, l)) lines.push_back(l);
  bool csv = path.ends_with(".csv");
  std::vector<std::string> header;
  size_t first = 0;
  if (csv) {
    while (first < lines.size() && lines[first].empty()) ++first;
    if (first == lines.size()) return Fail(Status::InvalidArgument(path + ": empty CSV file"));
    std::string h = lines[first];
    if (!h.empty() && h.back() == '\r') h.pop_back();
    if (h.starts_with("\xEF\xBB\xBF")) h.erase(0, 3);  // a UTF-8 byte order mark
    if (Status st = CsvSplit(h, &header); !st.ok()) {
      return Fail(st.Prefixed(path + ": line " + std::to_string(first + 1)));
    }
    for (std::string& col : header) {
      size_t b = col.find_first_not_of(" \t"), e = col.find_last_not_of(" \t");
      col = b == std::string::npos ? "" : col.substr(b, e - b + 1);
    }
    for (const std::string& col : header) {
      static const std::set<std::string> known = {
          "id", "line", "bytes_up", "bytes_down", "start", "end", "device", "app", "source"};
      if (!known.count(col)) {
        return Fail(Status::InvalidArgument(path + ": line " + std::to_string(first + 1) +
                                            ": unknown column '" + col + "'"));
      }
    }
    ++first;
  }
  const bool tty = ::isatty(STDERR_FILENO);
  size_t accepted = 0, duplicates = 0, quarantined = 0, rejected = 0, done = 0;
  size_t total = 0;
  for (size_t i = first; i < lines.size(); ++i) total += !lines[i].empty();
  std::string body;
  std::vector<size_t> body_lines;  // file line number of each record in the body
  auto flush = [&]() -> Status {
    if (body_lines.empty()) return Status::Ok();
    int status = 0;
    json j;
    Status st = c.Call("POST", "/v1/usage", body, &status, &j);
    if (!st.ok() && !(status == 400 && j.contains("rejected"))) return st;
    accepted += j.value("accepted", 0);
    duplicates += j.value("duplicates", 0);
    quarantined += j.value("quarantined", 0);
    for (const json& r : j["rejected"]) {
      ++rejected;
      size_t idx = r["index"].get<size_t>();
      std::fprintf(stderr, "%s%s: line %zu: %s\n", tty ? "\r\033[K" : "", path.c_str(),
                   idx < body_lines.size() ? body_lines[idx] : 0,
                   r["error"].get<std::string>().c_str());
    }
    done += body_lines.size();
    if (tty) {
      int width = 30, filled = total ? static_cast<int>(done * width / total) : width;
      std::fprintf(stderr, "\r[%s%s] %zu/%zu records", std::string(filled, '#').c_str(),
                   std::string(width - filled, '.').c_str(), done, total);
      std::fflush(stderr);
    }
    body.clear();
    body_lines.clear();
    return Status::Ok();
  };
  for (size_t i = first; i < lines.size(); ++i) {
    std::string s = lines[i];
    if (!s.empty() && s.back() == '\r') s.pop_back();
    if (s.find_first_not_of(" \t") == std::string::npos) continue;
    std::string rec = s;
    Status st;
    if (csv) {
      std::vector<std::string> cells;
      st = CsvSplit(s, &cells);
      if (st.ok()) st = CsvRecord(header, cells, &rec);
    }
    // Checked here first, as the server would: a bad line is reported with its own line number
    // and not sent. (A line like "[1]" heading a chunk would otherwise make the server read the
    // whole chunk as one JSON array and refuse all of it.)
    if (st.ok()) {
      UsageRecord parsed;
      st = api::ParseUsageObject(rec, &parsed);
    }
    if (!st.ok()) {
      ++rejected;
      ++done;
      std::fprintf(stderr, "%s%s: line %zu: %s\n", tty ? "\r\033[K" : "", path.c_str(), i + 1,
                   st.message().c_str());
      continue;
    }
    body += rec;
    body += '\n';
    body_lines.push_back(i + 1);
    if (body_lines.size() >= kIngestChunkRecords) {
      if (Status st = flush(); !st.ok()) return Fail(st);
    }
  }
  if (Status st = flush(); !st.ok()) return Fail(st);
  if (tty) std::fprintf(stderr, "\n");
  std::printf("%zu accepted (%zu quarantined for unknown lines), %zu duplicates, %zu rejected\n",
              accepted, quarantined, duplicates, rejected);
  return rejected > 0 ? 1 : 0;
}

int TopUp(const Client& c, const std::string& line, const std::string& quota, int days,
          const std::string& id) {
  json body = {{"quota", quota}, {"validity", std::to_string(days) + "d"}};
  if (!id.empty()) body["id"] = id;
  int status = 0;
  json j;
  if (Status st =
          c.Call("POST", "/v1/lines/" + UrlEncode(line) + "/topups", body.dump(), &status, &j);
      !st.ok()) {
    return Fail(st);
  }
  std::printf("added %s to %s, valid until %s\n", FormatBytes(j["quota"].get<uint64_t>()).c_str(),
              line.c_str(), j["expires_at"].get<std::string>().c_str());
  return 0;
}

// Prints a one-time login link for an account (`url` is relative: the server's own address is
// put in front, so the operator can send it as it is).
int LoginLink(const Client& c, const std::string& account) {
  int status = 0;
  json j;
  if (Status st =
          c.Call("POST", "/v1/accounts/" + UrlEncode(account) + "/login-link", "", &status, &j);
      !st.ok()) {
    return Fail(st);
  }
  std::printf("%s%s\n(signs in once, until %s)\n", c.server.c_str(),
              j["url"].get<std::string>().c_str(), j["expires_at"].get<std::string>().c_str());
  return 0;
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{"ryuryo: real-time data usage for mobile data plans"};
  app.require_subcommand(1);
  std::string config_path = "examples/ryuryo.toml";
  std::string server_url, token;
  auto add_client_options = [&](CLI::App* sub) {
    sub->add_option("--config", config_path, "config file (for the server address and token)");
    sub->add_option("--server", server_url, "server URL (default: the config's [server].http)");
    sub->add_option("--token", token,
                    "admin token (default: RYURYO_ADMIN_TOKEN or data_dir/admin.token)");
  };

  ServeOverrides overrides;
  CLI::App* serve = app.add_subcommand("serve", "run the server");
  serve->add_option("--config", config_path, "config file")->capture_default_str();
  serve->add_option("--http", overrides.http, "listen address (host:port; port 0 picks one)");
  serve->add_option("--data-dir", overrides.data_dir, "where the store lives");
  serve->add_option(
      "--radius-accounting", overrides.radius_accounting,
      "RADIUS accounting address (host:port; port 0 picks one), when [radius] is set");
  serve->add_option("--radius-authorization", overrides.radius_authorization,
                    "RADIUS authorization address, when [radius].authorization is set");

  std::string line;
  bool as_json = false;
  CLI::App* usage = app.add_subcommand("usage", "a line's usage, remaining, reset and forecast");
  usage->add_option("LINE", line, "line id, or msisdn:/imsi:/iccid:")->required();
  usage->add_flag("--json", as_json, "print the API's JSON");
  add_client_options(usage);

  CLI::App* lines = app.add_subcommand("lines", "list lines");
  lines->add_flag("--json", as_json, "print JSON");
  add_client_options(lines);

  CLI::App* sessions = app.add_subcommand("sessions", "open RADIUS accounting sessions");
  sessions->add_option("LINE", line, "only this line (id, or msisdn:/imsi:/iccid:)");
  sessions->add_flag("--json", as_json, "print JSON");
  add_client_options(sessions);

  std::string file;
  CLI::App* ingest =
      app.add_subcommand("ingest", "send usage records from a file (.jsonl or .csv)");
  ingest->add_option("FILE", file, "JSON lines, or CSV with a header row")
      ->required()
      ->check(CLI::ExistingFile);
  add_client_options(ingest);

  std::string quota, topup_id;
  int days = 30;
  CLI::App* topup = app.add_subcommand("topup", "add a top-up to a line");
  topup->add_option("LINE", line, "line id")->required();
  topup->add_option("QUOTA", quota, "e.g. 1GB")->required();
  topup->add_option("--days", days, "validity in days")
      ->capture_default_str()
      ->check(CLI::Range(1, 3650));
  topup->add_option("--id", topup_id, "idempotency key");
  add_client_options(topup);

  SimulateCommand simulate(&app);
  std::string account;
  CLI::App* login_link =
      app.add_subcommand("login-link", "a one-time dashboard sign-in link for an account");
  login_link->add_option("ACCOUNT", account, "account id")->required();
  add_client_options(login_link);

  app.add_subcommand("version", "print the version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (app.got_subcommand("version")) {
    std::printf("ryuryo %s\n", RYURYO_VERSION);
    return 0;
  }
  if (app.got_subcommand(serve)) return Serve(config_path, overrides);
  if (simulate.parsed()) return simulate.Run();

  Client client;
  Config config;
  Status cst = LoadConfig(config_path, &config);
  if (server_url.empty()) {
    if (!cst.ok())
      return Fail(Status::InvalidArgument("give --server URL (" + cst.message() + ")"));
    server_url = "http://" + config.http;
  }
  while (!server_url.empty() && server_url.back() == '/') server_url.pop_back();
  client.server = server_url;
  if (token.empty()) {
    if (!cst.ok()) {
      if (const char* env = std::getenv("RYURYO_ADMIN_TOKEN"))
        token = env;
      else
        return Fail(Status::InvalidArgument("give --token (" + cst.message() + ")"));
    } else if (Status st = ResolveAdminToken(config, false, &token); !st.ok()) {
      return Fail(st);
    }
  }
  client.token = token;
  if (app.got_subcommand(usage)) return Usage(client, line, as_json);
  if (app.got_subcommand(lines)) return Lines(client, as_json);
  if (app.got_subcommand(sessions)) return Sessions(client, line, as_json);
  if (app.got_subcommand(ingest)) return Ingest(client, file);
  if (app.got_subcommand(login_link)) return LoginLink(client, account);
  if (app.got_subcommand(topup)) {
    uint64_t b;
    if (Status st = ParseBytes(quota, &b); !st.ok()) return Fail(st.Prefixed("QUOTA"));
    return TopUp(client, line, quota, days, topup_id);
  }
  return 0;
}

}  // namespace ryuryo::app
