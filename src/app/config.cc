#include "app/config.h"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <fstream>
#include <sstream>
#include <unordered_set>

#include "core/quantity.h"
#include "core/record.h"
#include "notify/http_client.h"
#include "sms/msisdn.h"

namespace ryuryo::app {

namespace {

std::string Where(const toml::node& n) {
  const auto& src = n.source();
  return "line " + std::to_string(src.begin.line);
}

Status Err(const toml::node& n, std::string_view what) {
  return Status::InvalidArgument(Where(n) + ": " + std::string(what));
}

// Fails on keys outside `allowed`.
Status CheckKeys(const toml::table& t, std::string_view section,
                 std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : t) {
    bool ok = false;
    for (auto a : allowed) ok = ok || k.str() == a;
    if (!ok) {
      return Err(v, std::string(section) + ": unknown key '" + std::string(k.str()) + "'");
    }
  }
  return Status::Ok();
}

Status GetString(const toml::table& t, std::string_view key, std::string* out, bool required,
                 std::string_view section) {
  const toml::node* n = t.get(key);
  if (n == nullptr) {
    if (required) {
      return Status::InvalidArgument(Where(t) + ": " + std::string(section) + ": '" +
                                     std::string(key) + "' is missing");
    }
    return Status::Ok();
  }
  if (!n->is_string())
    return Err(*n, std::string(section) + "." + std::string(key) + ": must be a string");
  *out = n->as_string()->get();
  return Status::Ok();
}

template <typename F>
Status GetQuantity(const toml::table& t, std::string_view key, bool required,
                   std::string_view section, F parse) {
  std::string s;
  RYURYO_RETURN_IF_ERROR(GetString(t, key, &s, required, section));
  if (s.empty()) return Status::Ok();
  Status st = parse(s);
  if (!st.ok())
    return Err(*t.get(key), std::string(section) + "." + std::string(key) + ": " + st.message());
  return Status::Ok();
}

Status ParseAfterQuota(const toml::node& n, const std::string& where, AfterQuota* a) {
  const toml::table* t = n.as_table();
  if (t == nullptr) return Err(n, where + ": must be a table like { action = \"block\" }");
  RYURYO_RETURN_IF_ERROR(
      CheckKeys(*t, where, {"action", "rate", "unit", "price", "currency", "cap"}));
  std::string action;
  RYURYO_RETURN_IF_ERROR(GetString(*t, "action", &action, true, where));
  if (Status st = ParseQuotaAction(action, &a->action); !st.ok())
    return Err(n, where + ".action: " + st.message());
  RYURYO_RETURN_IF_ERROR(GetQuantity(*t, "rate", false, where, [&](const std::string& s) {
    return ParseRateBps(s, &a->rate_bps);
  }));
  RYURYO_RETURN_IF_ERROR(GetQuantity(*t, "unit", false, where, [&](const std::string& s) {
    return ParseBytes(s, &a->unit_bytes);
  }));
  RYURYO_RETURN_IF_ERROR(GetString(*t, "currency", &a->currency, false, where));
  auto money = [&](std::string_view key, int64_t* out) -> Status {
    const toml::node* m = t->get(key);
    if (m == nullptr) return Status::Ok();
    if (m->is_integer()) {
      int64_t v = m->as_integer()->get();
      if (v < 0 || v > 9'000'000'000'000)
        return Err(*m, where + "." + std::string(key) + ": out of range");
      *out = v * 1000000;
      return Status::Ok();
    }
    if (m->is_floating_point() || m->is_string()) {
      std::string s =
          m->is_string() ? m->as_string()->get() : std::to_string(m->as_floating_point()->get());
      if (Status st = ParseMoneyMicros(s, out); !st.ok())
        return Err(*m, where + "." + std::string(key) + ": " + st.message());
      return Status::Ok();
    }
    return Err(*m, where + "." + std::string(key) + ": must be a number");
  };
  RYURYO_RETURN_IF_ERROR(money("price", &a->price_micros));
  RYURYO_RETURN_IF_ERROR(money("cap", &a->cap_micros));
  return Status::Ok();
}

Status ParsePlan(const toml::table& t, Plan* p) {
  const std::string sec = "plans";
  RYURYO_RETURN_IF_ERROR(
      CheckKeys(t, sec,
                {"id", "name", "kind", "quota", "cycle_day", "rollover", "validity", "starts",
                 "after_quota", "fair_use", "alerts", "timezone"}));
  RYURYO_RETURN_IF_ERROR(GetString(t, "id", &p->id, true, sec));
  const std::string where = "plan '" + p->id + "'";
  RYURYO_RETURN_IF_ERROR(GetString(t, "name", &p->name, false, where));
  std::string kind;
  RYURYO_RETURN_IF_ERROR(GetString(t, "kind", &kind, true, where));
  if (Status st = ParsePlanKind(kind, &p->kind); !st.ok())
    return Err(*t.get("kind"), where + ".kind: " + st.message());
  RYURYO_RETURN_IF_ERROR(GetQuantity(t, "quota", false, where, [&](const std::string& s) {
    return ParseBytes(s, &p->quota_bytes);
  }));
  RYURYO_RETURN_IF_ERROR(GetQuantity(t, "validity", false, where, [&](const std::string& s) {
    return ParseDurationMs(s, &p->validity_ms);
  }));
  if (const toml::node* n = t.get("cycle_day")) {
    if (!n->is_integer()) return Err(*n, where + ".cycle_day: must be an integer 1..31");
    int64_t d = n->as_integer()->get();
    if (d < 1 || d > 31) return Err(*n, where + ".cycle_day: must be 1..31");
    p->cycle_day = static_cast<int>(d);
  }
  if (const toml::node* n = t.get("rollover")) {
    if (!n->is_boolean()) return Err(*n, where + ".rollover: must be true or false");
    p->rollover = n->as_boolean()->get();
  }
  std::string starts;
  RYURYO_RETURN_IF_ERROR(GetString(t, "starts", &starts, false, where));
  if (starts == "activation")
    p->starts = PassStart::kActivation;
  else if (starts == "first_use" || starts.empty())
    p->starts = PassStart::kFirstUse;
  else
    return Err(*t.get("starts"), where + ".starts: must be activation or first_use");
  if (const toml::node* n = t.get("after_quota")) {
    RYURYO_RETURN_IF_ERROR(ParseAfterQuota(*n, where + ".after_quota", &p->after_quota));
  }
  if (const toml::node* n = t.get("fair_use")) {
    const toml::table* f = n->as_table();
    if (f == nullptr) return Err(*n, where + ".fair_use: must be a table");
    const std::string fw = where + ".fair_use";
    RYURYO_RETURN_IF_ERROR(CheckKeys(*f, fw, {"window", "limit", "action", "rate"}));
    FairUse fu;
    RYURYO_RETURN_IF_ERROR(GetQuantity(*f, "window", true, fw, [&](const std::string& s) {
      return ParseDurationMs(s, &fu.window_ms);
    }));
    RYURYO_RETURN_IF_ERROR(GetQuantity(*f, "limit", true, fw, [&](const std::string& s) {
      return ParseBytes(s, &fu.limit_bytes);
    }));
    RYURYO_RETURN_IF_ERROR(GetQuantity(*f, "rate", false, fw, [&](const std::string& s) {
      return ParseRateBps(s, &fu.rate_bps);
    }));
    std::string action = "throttle";
    RYURYO_RETURN_IF_ERROR(GetString(*f, "action", &action, false, fw));
    if (Status st = ParseQuotaAction(action, &fu.action); !st.ok())
      return Err(*n, fw + ".action: " + st.message());
    p->fair_use = fu;
  }
  if (const toml::node* n = t.get("alerts")) {
    const toml::array* arr = n->as_array();
    if (arr == nullptr) return Err(*n, where + ".alerts: must be an array of strings");
    for (const toml::node& a : *arr) {
      if (!a.is_string()) return Err(a, where + ".alerts: must be strings like \"80%\"");
      Threshold th;
      if (Status st = Threshold::Parse(a.as_string()->get(), &th); !st.ok()) {
        return Err(a, where + ".alerts: " + st.message());
      }
      p->alerts.push_back(th);
    }
  }
  RYURYO_RETURN_IF_ERROR(GetString(t, "timezone", &p->timezone, false, where));
  if (p->timezone.empty()) p->timezone = "Asia/Tokyo";
  if (Status st = p->Validate(); !st.ok()) return Err(t, st.message());
  return Status::Ok();
}

Status ParseRetention(const toml::table& t, store::StoreOptions* o) {
  RYURYO_RETURN_IF_ERROR(CheckKeys(t, "retention", {"dedup", "audit", "hourly", "daily"}));
  auto dur = [&](std::string_view key, int64_t* out) {
    return GetQuantity(t, key, false, "retention", [&](const std::string& s) {
      RYURYO_RETURN_IF_ERROR(ParseDurationMs(s, out));
      if (*out < kMillisPerDay) return Status::InvalidArgument("must be at least 1d");
      return Status::Ok();
    });
  };
  RYURYO_RETURN_IF_ERROR(dur("dedup", &o->dedup_retention_ms));
  RYURYO_RETURN_IF_ERROR(dur("audit", &o->audit_retention_ms));
  RYURYO_RETURN_IF_ERROR(dur("hourly", &o->hourly_retention_ms));
  RYURYO_RETURN_IF_ERROR(dur("daily", &o->daily_retention_ms));
  return Status::Ok();
}

template <typename F>
Status ForEachTable(const toml::table& root, std::string_view key, F f) {
  const toml::node* n = root.get(key);
  if (n == nullptr) return Status::Ok();
  const toml::array* arr = n->as_array();
  if (arr == nullptr)
    return Err(*n,
               std::string(key) + ": must be an array of tables ([[" + std::string(key) + "]])");
  for (const toml::node& e : *arr) {
    const toml::table* t = e.as_table();
    if (t == nullptr) return Err(e, std::string(key) + ": each entry must be a table");
    RYURYO_RETURN_IF_ERROR(f(*t));
  }
  return Status::Ok();
}

bool IsIpLiteral(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

Status ParseAuth(const toml::table& t, AuthConfig* a) {
  RYURYO_RETURN_IF_ERROR(
      CheckKeys(t, "auth",
                {"session_ttl", "login_link_ttl", "cookie_secure", "failed_logins_per_account",
                 "failed_logins_per_address", "failed_login_window"}));
  auto dur = [&](std::string_view key, int64_t min_ms, int64_t* out) {
    return GetQuantity(t, key, false, "auth", [&](const std::string& s) {
      RYURYO_RETURN_IF_ERROR(ParseDurationMs(s, out));
      if (*out < min_ms)
        return Status::InvalidArgument("must be at least " + FormatDuration(min_ms));
      return Status::Ok();
    });
  };
  RYURYO_RETURN_IF_ERROR(dur("session_ttl", kMillisPerMinute, &a->accounts.session_ttl_ms));
  RYURYO_RETURN_IF_ERROR(dur("login_link_ttl", kMillisPerMinute, &a->accounts.login_link_ttl_ms));
  RYURYO_RETURN_IF_ERROR(
      dur("failed_login_window", kMillisPerSecond, &a->accounts.failure_window_ms));
  if (const toml::node* n = t.get("cookie_secure")) {
    if (!n->is_boolean()) return Err(*n, "auth.cookie_secure: must be true or false");
    a->cookie_secure = n->as_boolean()->get();
  }
  for (auto [key, out] :
       {std::pair{"failed_logins_per_account", &a->accounts.failures_per_account_max},
        {"failed_logins_per_address", &a->accounts.failures_per_address_max}}) {
    if (const toml::node* n = t.get(key)) {
      if (!n->is_integer() || n->as_integer()->get() < 1 || n->as_integer()->get() > 1000) {
        return Err(*n, std::string("auth.") + key + ": must be a whole number from 1 to 1000");
      }
      *out = static_cast<uint32_t>(n->as_integer()->get());
    }
  }
  return Status::Ok();
}

Status ParseRadius(const toml::table& t, RadiusConfig* r) {
  r->enabled = true;
  RYURYO_RETURN_IF_ERROR(
      CheckKeys(t, "radius",
                {"accounting", "authorization", "line_keys", "session_idle_timeout", "clients",
                 "policy", "unknown_message", "require_message_authenticator"}));
  RYURYO_RETURN_IF_ERROR(
      GetString(t, "unknown_message", &r->access.unknown_message, false, "radius"));
  if (const toml::node* n = t.get("require_message_authenticator")) {
    if (!n->is_boolean())
      return Err(*n, "radius.require_message_authenticator: must be true or false");
    r->access.require_message_authenticator = n->as_boolean()->get();
  }
  if (const toml::node* n = t.get("policy")) {
    const toml::table* pt = n->as_table();
    if (pt == nullptr) return Err(*n, "radius.policy: must be a table");
    RYURYO_RETURN_IF_ERROR(CheckKeys(*pt, "radius.policy", {"normal", "throttled", "blocked"}));
    radius::RadiusPolicyConfig pc;
    for (auto [name, out] : {std::pair{"normal", &pc.normal},
                             {"throttled", &pc.throttled},
                             {"blocked", &pc.blocked}}) {
      const toml::node* sn = pt->get(name);
      if (sn == nullptr) continue;
      const toml::table* st = sn->as_table();
      const std::string sec = std::string("radius.policy.") + name;
      if (st == nullptr) return Err(*sn, sec + ": must be a table");
      RYURYO_RETURN_IF_ERROR(CheckKeys(*st, sec, {"attributes", "reply_message"}));
      radius::StatePolicyConfig spc;
      RYURYO_RETURN_IF_ERROR(GetString(*st, "reply_message", &spc.reply_message, false, sec));
      if (const toml::node* an = st->get("attributes")) {
        const toml::array* arr = an->as_array();
        if (arr == nullptr) return Err(*an, sec + ".attributes: must be an array of strings");
        for (const toml::node& e : *arr) {
          if (!e.is_string()) return Err(e, sec + ".attributes: must be an array of strings");
          spc.attributes.push_back(e.as_string()->get());
        }
      }
      *out = std::move(spc);
    }
    if (Status s = radius::ParseRadiusPolicy(pc, &r->policy); !s.ok()) return Err(*n, s.message());
  }
  auto host_port = [&](std::string_view key, std::string* host, uint16_t* port) -> Status {
    std::string text;
    RYURYO_RETURN_IF_ERROR(GetString(t, key, &text, false, "radius"));
    if (text.empty()) return Status::Ok();
    if (Status s = SplitHostPort(text, host, port); !s.ok()) {
      return Err(*t.get(key), "radius." + std::string(key) + ": " + s.message());
    }
    if (!IsIpLiteral(*host)) {
      return Err(*t.get(key),
                 "radius." + std::string(key) + ": '" + *host + "' is not an IP address");
    }
    return Status::Ok();
  };
  RYURYO_RETURN_IF_ERROR(host_port("accounting", &r->accounting.address, &r->accounting.port));
  std::string auth_host;
  uint16_t auth_port = 0;
  RYURYO_RETURN_IF_ERROR(host_port("authorization", &auth_host, &auth_port));
  if (!auth_host.empty()) r->authorization = auth_host + ":" + std::to_string(auth_port);
  if (const toml::node* n = t.get("line_keys")) {
    const toml::array* arr = n->as_array();
    if (arr == nullptr || arr->empty()) {
      return Err(*n,
                 "radius.line_keys: must be a non-empty array of \"3gpp-imsi\", "
                 "\"calling-station-id\", \"user-name\"");
    }
    r->accounting.line_keys.clear();
    for (const toml::node& e : *arr) {
      ingest::LineKeyAttr k;
      if (!e.is_string() || !ingest::ParseLineKeyAttr(e.as_string()->get(), &k)) {
        return Err(e,
                   "radius.line_keys: unknown key (expected \"3gpp-imsi\", "
                   "\"calling-station-id\" or \"user-name\")");
      }
      r->accounting.line_keys.push_back(k);
    }
  }
  RYURYO_RETURN_IF_ERROR(GetQuantity(
      t, "session_idle_timeout", false, "radius",
      [&](const std::string& s) { return ParseDurationMs(s, &r->accounting.session_idle_ms); }));
  RYURYO_RETURN_IF_ERROR(ForEachTable(t, "clients", [&](const toml::table& c) -> Status {
    RYURYO_RETURN_IF_ERROR(
        CheckKeys(c, "radius.clients", {"address", "secret", "coa_port", "name"}));
    ingest::RadiusClient client;
    RYURYO_RETURN_IF_ERROR(GetString(c, "address", &client.address, true, "radius.clients"));
    RYURYO_RETURN_IF_ERROR(GetString(c, "secret", &client.secret, true, "radius.clients"));
    RYURYO_RETURN_IF_ERROR(GetString(c, "name", &client.name, false, "radius.clients"));
    if (!IsIpLiteral(client.address)) {
      return Err(c, "radius.clients.address: '" + client.address + "' is not an IP address");
    }
    if (client.secret.empty()) return Err(c, "radius.clients.secret: must not be empty");
    if (const toml::node* p = c.get("coa_port")) {
      auto v = p->value<int64_t>();
      if (!v || *v < 1 || *v > 65535) return Err(*p, "radius.clients.coa_port: must be 1..65535");
      client.coa_port = static_cast<uint16_t>(*v);
    }
    for (const ingest::RadiusClient& other : r->accounting.clients) {
      if (other.address == client.address) {
        return Err(c, "radius.clients: address " + client.address + " is listed twice");
      }
    }
    if (r->accounting.clients.size() >= ingest::kRadiusClientsMax) {
      return Err(c, "radius.clients: more than " + std::to_string(ingest::kRadiusClientsMax));
    }
    r->accounting.clients.push_back(std::move(client));
    return Status::Ok();
  }));
  if (r->accounting.clients.empty()) {
    return Err(t, "radius: no [[radius.clients]]: every NAS must be listed with its secret");
  }
  return Status::Ok();
}

}  // namespace

Status SplitHostPort(std::string_view text, std::string* host, uint16_t* port) {
  auto bad = [&](std::string_view why) {
    std::string msg(1, '\'');  // appended, not operator+: keeps GCC 12's -Wrestrict quiet
    msg.append(text).append("': ").append(why);
    return Status::InvalidArgument(std::move(msg));
  };
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("expected host:port");
  std::string_view h = text.substr(0, colon), p = text.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  unsigned long v = 0;
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string_view::npos ||
      (v = std::stoul(std::string(p))) > 65535) {
    return bad("bad port");
  }
  *host = h.empty() ? "127.0.0.1" : std::string(h);
  *port = static_cast<uint16_t>(v);
  return Status::Ok();
}

Status ParseConfig(std::string_view text, const std::string& source_name, Config* c) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(source_name + ": line " + std::to_string(e.source().begin.line) +
                                   ": " + std::string(e.description()));
  }
  Status st = [&]() -> Status {
    RYURYO_RETURN_IF_ERROR(CheckKeys(root, "config",
                                     {"server", "retention", "auth", "channels", "plans", "pools",
                                      "lines", "accounts", "webhooks", "radius", "sms"}));
    if (const toml::node* n = root.get("server")) {
      const toml::table* t = n->as_table();
      if (t == nullptr) return Err(*n, "server: must be a table");
      RYURYO_RETURN_IF_ERROR(CheckKeys(*t, "server", {"http", "data_dir", "admin_token"}));
      RYURYO_RETURN_IF_ERROR(GetString(*t, "http", &c->http, false, "server"));
      RYURYO_RETURN_IF_ERROR(GetString(*t, "data_dir", &c->data_dir, false, "server"));
      RYURYO_RETURN_IF_ERROR(GetString(*t, "admin_token", &c->admin_token, false, "server"));
      std::string host;
      uint16_t port;
      if (Status s = SplitHostPort(c->http, &host, &port); !s.ok())
        return Err(*t, "server.http: " + s.message());
    }
    if (const toml::node* n = root.get("retention")) {
      if (!n->is_table()) return Err(*n, "retention: must be a table");
      RYURYO_RETURN_IF_ERROR(ParseRetention(*n->as_table(), &c->store));
    }
    RYURYO_RETURN_IF_ERROR(ForEachTable(root, "plans", [&](const toml::table& t) {
      Plan p;
      RYURYO_RETURN_IF_ERROR(ParsePlan(t, &p));
      if (Status s = c->catalog->Add(std::move(p)); !s.ok()) return Err(t, s.message());
      return Status::Ok();
    }));
    std::unordered_set<std::string> pool_ids, line_ids;  // duplicates and references
    for (const PoolSpec& p : c->pools) pool_ids.insert(p.id);
    for (const LineSpec& l : c->lines) line_ids.insert(l.id);
    RYURYO_RETURN_IF_ERROR(ForEachTable(root, "pools", [&](const toml::table& t) {
      RYURYO_RETURN_IF_ERROR(CheckKeys(t, "pools", {"id", "plan", "account", "timezone"}));
      PoolSpec p;
      RYURYO_RETURN_IF_ERROR(GetString(t, "id", &p.id, true, "pools"));
      if (Status s = ValidateLineId(p.id); !s.ok())
        return Err(*t.get("id"), "pools.id: " + s.message());
      if (!pool_ids.insert(p.id).second) return Err(t, "pool '" + p.id + "' is defined twice");
      RYURYO_RETURN_IF_ERROR(GetString(t, "plan", &p.plan, true, "pools"));
      RYURYO_RETURN_IF_ERROR(GetString(t, "account", &p.account, false, "pools"));
      RYURYO_RETURN_IF_ERROR(GetString(t, "timezone", &p.timezone, false, "pools"));
      if (c->catalog->Find(p.plan) == nullptr)
        return Err(t, "pool '" + p.id + "': plan '" + p.plan + "' is not defined");
      c->pools.push_back(p);
      return Status::Ok();
    }));
    RYURYO_RETURN_IF_ERROR(ForEachTable(root, "lines", [&](const toml::table& t) {
      RYURYO_RETURN_IF_ERROR(CheckKeys(
          t, "lines",
          {"id", "plan", "account", "msisdn", "imsi", "iccid", "timezone", "locale", "pool"}));
      LineSpec l;
      RYURYO_RETURN_IF_ERROR(GetString(t, "id", &l.id, true, "lines"));
      if (Status s = ValidateLineId(l.id); !s.ok())
        return Err(*t.get("id"), "lines.id: " + s.message());
      if (!line_ids.insert(l.id).second) return Err(t, "line '" + l.id + "' is defined twice");
      for (auto [key, out] : {std::pair{"plan", &l.plan},
                              {"account", &l.account},
                              {"msisdn", &l.msisdn},
                              {"imsi", &l.imsi},
                              {"iccid", &l.iccid},
                              {"timezone", &l.timezone},
                              {"locale", &l.locale},
                              {"pool", &l.pool}}) {
        RYURYO_RETURN_IF_ERROR(GetString(t, key, out, false, "lines"));
      }
      if (l.plan.empty() && l.pool.empty())
        return Err(t, "line '" + l.id + "': needs a plan or a pool");
      if (!l.plan.empty() && c->catalog->Find(l.plan) == nullptr) {
        return Err(t, "line '" + l.id + "': plan '" + l.plan + "' is not defined");
      }
      if (!l.pool.empty() && !pool_ids.count(l.pool)) {
        return Err(t, "line '" + l.id + "': pool '" + l.pool + "' is not defined");
      }
      c->lines.push_back(l);
      return Status::Ok();
    }));
    if (const toml::node* n = root.get("auth")) {
      if (!n->is_table()) return Err(*n, "auth: must be a table");
      RYURYO_RETURN_IF_ERROR(ParseAuth(*n->as_table(), &c->auth));
    }
    if (const toml::node* n = root.get("channels")) {
      const toml::table* t = n->as_table();
      if (t == nullptr) return Err(*n, "channels: must be a table");
      RYURYO_RETURN_IF_ERROR(
          CheckKeys(*t, "channels", {"allow_private_addresses", "per_line_max"}));
      if (const toml::node* v = t->get("allow_private_addresses")) {
        if (!v->is_boolean())
          return Err(*v, "channels.allow_private_addresses: must be true or false");
        c->channels.allow_private_addresses = v->as_boolean()->get();
      }
      if (const toml::node* v = t->get("per_line_max")) {
        if (!v->is_integer() || v->as_integer()->get() < 0 || v->as_integer()->get() > 100) {
          return Err(*v, "channels.per_line_max: must be a whole number from 0 to 100");
        }
        c->channels.per_line_max = static_cast<size_t>(v->as_integer()->get());
      }
    }
    if (const toml::node* n = root.get("sms")) {
      const toml::table* t = n->as_table();
      if (t == nullptr) return Err(*n, "sms: must be a table");
      RYURYO_RETURN_IF_ERROR(CheckKeys(
          *t, "sms",
          {"kannel_token", "kannel_allow", "send_url", "send_username", "send_password", "sender",
           "alerts", "quiet_hours", "daily_max_per_line", "login_codes", "country_code"}));
      RYURYO_RETURN_IF_ERROR(GetString(*t, "kannel_token", &c->sms.kannel_token, false, "sms"));
      if (const toml::node* v = t->get("kannel_token");
          v != nullptr && c->sms.kannel_token.size() < 16) {
        return Err(*v, "sms.kannel_token: must be at least 16 characters");
      }
      if (const toml::node* v = t->get("kannel_allow")) {
        const toml::array* arr = v->as_array();
        if (arr == nullptr) return Err(*v, "sms.kannel_allow: must be an array of addresses");
        for (const toml::node& e : *arr) {
          if (!e.is_string() || e.as_string()->get().empty()) {
            return Err(e, "sms.kannel_allow: must be an array of addresses");
          }
          c->sms.kannel_allow.push_back(e.as_string()->get());
        }
      }
      c->sms.enabled = !c->sms.kannel_token.empty() || !c->sms.kannel_allow.empty();
      notify::KannelSendOptions& send = c->sms.send;
      RYURYO_RETURN_IF_ERROR(GetString(*t, "send_url", &send.url, false, "sms"));
      if (!send.url.empty()) {
        notify::Url url;
        if (Status s = notify::ParseUrl(send.url, &url); !s.ok()) {
          return Err(*t->get("send_url"), "sms.send_url: " + s.message());
        }
      }
      RYURYO_RETURN_IF_ERROR(GetString(*t, "send_username", &send.username, false, "sms"));
      RYURYO_RETURN_IF_ERROR(GetString(*t, "send_password", &send.password, false, "sms"));
      RYURYO_RETURN_IF_ERROR(GetString(*t, "sender", &send.from, false, "sms"));
      if (!c->sms.enabled && send.url.empty()) {
        return Err(*n,
                   "sms: set kannel_token or kannel_allow (incoming SMS) and/or send_url "
                   "(outgoing SMS)");
      }
      std::string alerts = "channels";
      RYURYO_RETURN_IF_ERROR(GetString(*t, "alerts", &alerts, false, "sms"));
      if (alerts != "channels" && alerts != "all_lines") {
        return Err(*t->get("alerts"), "sms.alerts: must be \"channels\" or \"all_lines\"");
      }
      c->sms.alerts.all_lines = alerts == "all_lines";
      if (const toml::node* v = t->get("quiet_hours")) {
        if (!v->is_string()) return Err(*v, "sms.quiet_hours: must be \"HH:MM-HH:MM\" or \"off\"");
        if (Status s = sms::ParseQuietHours(v->as_string()->get(), &c->sms.alerts.quiet_hours);
            !s.ok()) {
          return Err(*v, "sms." + s.message());
        }
      }
      if (const toml::node* v = t->get("daily_max_per_line")) {
        if (!v->is_integer() || v->as_integer()->get() < 0 || v->as_integer()->get() > 1000) {
          return Err(*v, "sms.daily_max_per_line: must be a whole number from 0 to 1000");
        }
        c->sms.alerts.daily_max_per_line = static_cast<uint32_t>(v->as_integer()->get());
      }
      if (const toml::node* v = t->get("login_codes")) {
        if (!v->is_boolean()) return Err(*v, "sms.login_codes: must be true or false");
        c->sms.login_codes = v->as_boolean()->get();
      }
      RYURYO_RETURN_IF_ERROR(GetString(*t, "country_code", &c->sms.country_code, false, "sms"));
      if (std::string probe;
          !sms::NormalizeMsisdn("09012345678", c->sms.country_code, &probe).ok()) {
        return Err(*t->get("country_code"), "sms.country_code: must be 1 to 3 digits, not 0...");
      }
    }
    std::unordered_set<std::string> account_ids;
    RYURYO_RETURN_IF_ERROR(ForEachTable(root, "accounts", [&](const toml::table& t) {
      RYURYO_RETURN_IF_ERROR(
          CheckKeys(t, "accounts", {"id", "name", "locale", "password", "collect_apps"}));
      api::AccountSpec a;
      if (const toml::node* v = t.get("collect_apps")) {
        if (!v->is_boolean()) return Err(*v, "accounts.collect_apps: must be true or false");
        a.collect_apps = v->as_boolean()->get();
      }
      RYURYO_RETURN_IF_ERROR(GetString(t, "id", &a.id, true, "accounts"));
      if (Status s = ValidateLineId(a.id); !s.ok())
        return Err(*t.get("id"), "accounts.id: " + s.message());
      if (!account_ids.insert(a.id).second)
        return Err(t, "account '" + a.id + "' is defined twice");
      for (auto [key, out] :
           {std::pair{"name", &a.name}, {"locale", &a.locale}, {"password", &a.password}}) {
        std::string v;
        RYURYO_RETURN_IF_ERROR(GetString(t, key, &v, false, "accounts"));
        if (t.get(key) != nullptr) *out = v;
      }
      if (a.locale && *a.locale != "ja" && *a.locale != "zh" && *a.locale != "en") {
        return Err(*t.get("locale"), "accounts.locale: must be ja, zh or en");
      }
      c->accounts.push_back(std::move(a));
      return Status::Ok();
    }));
    RYURYO_RETURN_IF_ERROR(ForEachTable(root, "webhooks", [&](const toml::table& t) {
      RYURYO_RETURN_IF_ERROR(CheckKeys(t, "webhooks", {"url", "secret", "events", "account"}));
      notify::WebhookEndpoint w;
      RYURYO_RETURN_IF_ERROR(GetString(t, "url", &w.url, true, "webhooks"));
      RYURYO_RETURN_IF_ERROR(GetString(t, "secret", &w.secret, true, "webhooks"));
      RYURYO_RETURN_IF_ERROR(GetString(t, "account", &w.account, false, "webhooks"));
      if (!w.url.starts_with("http://") && !w.url.starts_with("https://")) {
        return Err(t, "webhooks.url: must start with http:// or https://");
      }
      {
        std::string_view rest = std::string_view(w.url).substr(w.url.find("://") + 3);
        if (rest.empty() || rest.front() == '/' || rest.front() == ':' || rest.front() == '?' ||
            rest.front() == '#') {
          return Err(t, "webhooks.url: '" + w.url + "' has no host");
        }
      }
      if (const toml::node* n = t.get("events")) {
        const toml::array* arr = n->as_array();
        if (arr == nullptr) return Err(*n, "webhooks.events: must be an array of event types");
        for (const toml::node& e : *arr) {
          EventType type;
          if (!e.is_string() || !ParseEventType(e.as_string()->get(), &type)) {
            return Err(e, "webhooks.events: unknown event type");
          }
          w.events.insert(type);
        }
      }
      c->webhooks.push_back(std::move(w));
      return Status::Ok();
    }));
    if (const toml::node* n = root.get("radius")) {
      if (!n->is_table()) return Err(*n, "radius: must be a table");
      RYURYO_RETURN_IF_ERROR(ParseRadius(*n->as_table(), &c->radius));
    }
    return Status::Ok();
  }();
  if (!st.ok()) return st.Prefixed(source_name);
  c->store.path = c->data_dir;
  return Status::Ok();
}

Status LoadConfig(const std::string& path, Config* config) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("config file '" + path + "' cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseConfig(ss.str(), path, config);
}

}  // namespace ryuryo::app
