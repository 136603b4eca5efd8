// The routes of accounts and sign-in (see api.h for who may call what).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>
#include <unordered_set>

#include "api/api.h"
#include "api/route_util.h"
#include "sms/msisdn.h"
#include "sms/reply.h"

namespace ryuryo::api {

namespace {

constexpr std::string_view kCookieName = "ryuryo_session";
constexpr size_t kAccountsListMax = 1000;
// An export holds at most this many audit entries per line (retention keeps far fewer).
constexpr size_t kExportAuditEntriesMax = 10'000'000;
// Events looked at by one export.
constexpr size_t kExportEventsScanMax = 10'000'000;

// The value of one cookie in a Cookie header ("a=1; ryuryo_session=xyz").
std::string CookieValue(const HttpRequest& req, std::string_view name) {
  const std::string* header = req.Header("cookie");
  if (header == nullptr) return "";
  std::string_view rest = *header;
  while (!rest.empty()) {
    size_t end = rest.find(';');
    std::string_view pair = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
        pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
  }
  return "";
}

std::string SessionCookie(const std::string& token, int64_t max_age_s, bool secure) {
  std::string c = std::string(kCookieName) + "=" + token +
                  "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_s);
  if (secure) c += "; Secure";
  return c;
}

// A browser's Origin header, when sent, must name this server (the Host it asked for).
bool SameOrigin(const HttpRequest& req) {
  const std::string* origin = req.Header("origin");
  if (origin == nullptr) return true;  // not a browser, or a same-origin GET
  const std::string* host = req.Header("host");
  if (host == nullptr) return false;
  std::string_view o = *origin;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (o.substr(0, scheme.size()) == scheme) return o.substr(scheme.size()) == *host;
  }
  return false;
}

HttpResponse Denied(std::string code, std::string message) {
  return HttpResponse::Error(403, code, message);
}

HttpResponse Throttled(const Status& st, int64_t retry_after_ms) {
  HttpResponse r = HttpResponse::Error(429, "too_many_requests", st.message());
  r.headers.emplace_back("Retry-After",
                         std::to_string(std::max<int64_t>(1, (retry_after_ms + 999) / 1000)));
  return r;
}

json AccountJson(const Account& a) {
  return {{"id", a.id},
          {"name", a.name},
          {"locale", a.locale},
          {"collect_apps", a.collect_apps},
          {"has_password", !a.password_hash.empty()},
          {"created_at", FormatRfc3339Utc(a.created_at)},
          {"updated_at", FormatRfc3339Utc(a.updated_at)}};
}

// The fields of PUT /v1/me and PUT /v1/accounts/{id} that are present (CheckFields ran).
Status AccountFields(const json& body, AccountSpec* spec) {
  Status st;
  if (body.contains("name")) spec->name = StringField(body, "name", &st);
  if (st.ok() && body.contains("locale")) spec->locale = StringField(body, "locale", &st);
  if (st.ok() && body.contains("password")) spec->password = StringField(body, "password", &st);
  if (st.ok() && body.contains("collect_apps")) {
    if (!body["collect_apps"].is_boolean()) {
      return Status::InvalidArgument("collect_apps: must be true or false");
    }
    spec->collect_apps = body["collect_apps"].get<bool>();
  }
  return st;
}

// A sign-in's answer: the session cookie and the CSRF token the page sends back.
HttpResponse SignedIn(const SignIn& in, int64_t ttl_ms, bool secure) {
  HttpResponse r =
      JsonOk({{"role", RoleName(in.session.role)},
              {"account", in.session.account.empty() ? json(nullptr) : json(in.session.account)},
              {"csrf_token", in.session.csrf_token},
              {"expires_at", FormatRfc3339Utc(in.session.expires_at)}});
  r.headers.emplace_back("Set-Cookie", SessionCookie(in.token, ttl_ms / 1000, secure));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace

bool Api::RouteSignIn(HttpRequest& req, const std::vector<std::string_view>& parts,
                      Responder& respond) {
  const std::string_view route = parts.size() == 3 && parts[1] == "auth" ? parts[2] : "";
  // GET /v1/auth/methods: which ways of signing in this server offers (the sign-in page shows
  // only those); the others are POSTs.
  const bool methods = route == "methods";
  if (!methods && route != "login" && route != "link" && route != "sms-code" &&
      route != "sms-login") {
    return false;
  }
  if (methods ? req.method != "GET" && req.method != "HEAD" : req.method != "POST") {
    respond(HttpResponse::Error(405, "method_not_allowed",
                                req.method + " is not allowed on " + req.path));
    return true;
  }
  if (methods) {  // open, like the sign-in routes; says nothing about any account
    const bool accounts = options_.accounts != nullptr;
    HttpResponse r = JsonOk({{"password", accounts},
                             {"link", accounts},
                             {"sms_code", accounts && static_cast<bool>(options_.sms.send_code)},
                             {"admin_token", !options_.admin_token.empty()}});
    r.headers.emplace_back("Cache-Control", "no-store");
    respond(std::move(r));
    return true;
  }
  if (options_.accounts == nullptr) {
    respond(HttpResponse::Error(Status::NotFound("accounts are not enabled")));
    return true;
  }
  const bool by_sms = route == "sms-code" || route == "sms-login";
  if (by_sms && !options_.sms.send_code) {
    respond(HttpResponse::Error(Status::NotFound("sign-in by SMS is not enabled on this server")));
    return true;
  }
  // JSON only: a cross-site HTML form cannot send it without the browser asking first.
  const std::string* type = req.Header("content-type");
  if (type == nullptr || type->rfind("application/json", 0) != 0) {
    respond(HttpResponse::Error(415, "unsupported_media_type",
                                "sign-in takes a JSON body (Content-Type: application/json)"));
    return true;
  }
  if (!SameOrigin(req)) {
    respond(Denied("cross_origin", "sign-in from another origin is refused"));
    return true;
  }
  json body;
  Status st = ParseBody(req.body, &body);
  Accounts* accounts = options_.accounts;
  const int64_t ttl_ms = accounts->session_ttl_ms();
  const bool secure = options_.cookie_secure;

  if (route == "link") {
    if (st.ok()) st = CheckFields(body, {"token"});
    std::string token = st.ok() ? StringField(body, "token", &st) : "";
    if (st.ok() && token.empty()) st = Status::InvalidArgument("token: missing");
    if (!st.ok()) {
      respond(HttpResponse::Error(st));
      return true;
    }
    SignIn in;
    st = accounts->SignInWithLink(token, &in);
    respond(st.ok() ? SignedIn(in, ttl_ms, secure) : HttpResponse::Error(st));
    return true;
  }

  if (by_sms) return SignInBySms(req, route == "sms-code", body, st, respond);

  // login: {"account", "password"} for a subscriber, {"token"} for an operator.
  if (st.ok()) st = CheckFields(body, {"account", "password", "token"});
  std::string account = st.ok() ? StringField(body, "account", &st) : "";
  std::string password = st.ok() ? StringField(body, "password", &st) : "";
  std::string token = st.ok() ? StringField(body, "token", &st) : "";
  if (st.ok() && token.empty() && (account.empty() || password.empty())) {
    st = Status::InvalidArgument("account and password (or token): missing");
  }
  if (!st.ok()) {
    respond(HttpResponse::Error(st));
    return true;
  }
  const std::string address = req.remote_address;
  if (!token.empty()) {
    SignIn in;
    int64_t retry = 0;
    st = accounts->SignInAdmin(SameSecret(token, options_.admin_token), address, &in, &retry);
    if (st.code() == Status::Code::kResourceExhausted) {
      respond(Throttled(st, retry));
    } else {
      respond(st.ok() ? SignedIn(in, ttl_ms, secure) : HttpResponse::Error(st));
    }
    return true;
  }
  Responder r = respond;
  bool queued = slow_work_->Post([accounts, account, password, address, ttl_ms, secure, r] {
    SignIn in;
    int64_t retry = 0;
    Status s = accounts->SignInWithPassword(account, password, address, &in, &retry);
    if (s.code() == Status::Code::kResourceExhausted) return r(Throttled(s, retry));
    r(s.ok() ? SignedIn(in, ttl_ms, secure) : HttpResponse::Error(s));
  });
  if (!queued) respond(Busy(Status::ResourceExhausted("too many sign-ins at once")));
  return true;
}

// POST /v1/auth/sms-code {"msisdn"}: texts a sign-in code to the number when it is a line of an
// account. The answer is the same 202 whether or not it is (no finding out whose number is whose),
// except when the gateway fails (503) or the number or address asked too often (429).
// POST /v1/auth/sms-login {"msisdn", "code"}: the session, like a password sign-in.
bool Api::SignInBySms(const HttpRequest& req, bool send, const json& body, Status st,
                      Responder& respond) {
  Accounts* accounts = options_.accounts;
  if (st.ok()) st = send ? CheckFields(body, {"msisdn"}) : CheckFields(body, {"msisdn", "code"});
  std::string number = st.ok() ? StringField(body, "msisdn", &st) : "";
  std::string code = st.ok() && !send ? StringField(body, "code", &st) : "";
  if (st.ok() && number.empty()) st = Status::InvalidArgument("msisdn: missing");
  if (st.ok() && !send && code.empty()) st = Status::InvalidArgument("code: missing");
  std::string digits;
  if (st.ok()) {
    st = sms::NormalizeMsisdn(number, options_.sms.default_country_code, &digits);
  }
  if (!st.ok()) {
    respond(HttpResponse::Error(st));
    return true;
  }
  const std::string address = req.remote_address;
  if (!send) {
    SignIn in;
    int64_t retry = 0;
    st = accounts->SignInWithSmsCode(digits, code, address, &in, &retry);
    if (st.code() == Status::Code::kResourceExhausted) {
      respond(Throttled(st, retry));
    } else {
      respond(st.ok() ? SignedIn(in, accounts->session_ttl_ms(), options_.cookie_secure)
                      : HttpResponse::Error(st));
    }
    return true;
  }
  struct Owner {
    std::string account;
    std::string locale;
  };
  const Owner owner = ledger_->Read([&](const Meter& m) {
    const Line* l = m.FindLine("msisdn:" + digits);
    return l ? Owner{l->account, l->locale} : Owner{};
  });
  const int64_t ttl_ms = accounts->sms_code_ttl_ms();
  auto sent = [ttl_ms] { return JsonOk({{"sent", true}, {"expires_in_s", ttl_ms / 1000}}, 202); };
  std::string new_code;
  int64_t retry = 0;
  st = accounts->IssueSmsCode(digits, owner.account, address, &new_code, &retry);
  if (st.code() == Status::Code::kResourceExhausted) {
    respond(Throttled(st, retry));
    return true;
  }
  if (!st.ok()) {  // no account has this number: the same answer, nothing sent
    respond(sent());
    return true;
  }
  const sms::Language lang = sms::ReplyLanguage(owner.locale, sms::ParsedKeyword{}, "");
  const std::string text =
      sms::LoginCodeText(lang, new_code, static_cast<int>((ttl_ms + 59'999) / 60'000));
  auto send_code = options_.sms.send_code;
  Responder r = respond;
  bool queued = slow_work_->Post([send_code, digits, text, r, sent] {
    Status s = send_code(digits, text);
    if (!s.ok()) {
      spdlog::warn("sms: sign-in code to {} not sent: {}", digits, s.message());
      return r(HttpResponse::Error(Status::Unavailable("the SMS could not be sent: try again")));
    }
    r(sent());
  });
  if (!queued) respond(Busy(Status::ResourceExhausted("too many sign-ins at once")));
  return true;
}

bool Api::Authenticate(const HttpRequest& req, Caller* caller, Responder& respond) {
  const std::string* auth = req.Header("authorization");
  const std::string prefix = "Bearer ";
  if (auth != nullptr) {
    if (auth->compare(0, prefix.size(), prefix) != 0) {
      respond(HttpResponse::Error(
          Status::Unauthenticated("Authorization: only a Bearer token is accepted")));
      return false;
    }
    if (!SameSecret(std::string_view(*auth).substr(prefix.size()), options_.admin_token)) {
      respond(HttpResponse::Error(Status::Unauthenticated("wrong token")));
      return false;
    }
    caller->role = Role::kAdmin;
    return true;
  }
  std::string token = CookieValue(req, kCookieName);
  std::optional<Session> session;
  if (!token.empty() && options_.accounts != nullptr)
    session = options_.accounts->FindSession(token);
  if (!session) {
    respond(HttpResponse::Error(Status::Unauthenticated(
        token.empty() ? "missing Authorization: Bearer token or session cookie"
                      : "the session has ended: sign in again")));
    return false;
  }
  caller->role = session->role;
  caller->account = session->account;
  caller->token = std::move(token);
  caller->csrf_token = session->csrf_token;
  // A browser sends the cookie with any request to this server; one that changes something must
  // also prove it comes from the dashboard's own page.
  const bool read_only = req.method == "GET" || req.method == "HEAD";
  if (!read_only) {
    const std::string* csrf = req.Header("x-csrf-token");
    if (csrf == nullptr || !SameSecret(*csrf, caller->csrf_token)) {
      respond(Denied("csrf", "missing or wrong X-CSRF-Token"));
      return false;
    }
    if (!SameOrigin(req)) {
      respond(Denied("cross_origin", "a request from another origin is refused"));
      return false;
    }
  }
  return true;
}

bool Api::SubscriberMayUse(const HttpRequest& req, const std::vector<std::string_view>& parts,
                           const Caller& caller, Responder& respond) {
  const std::string& m = req.method;
  const bool get = m == "GET" || m == "HEAD";
  if (parts.size() == 2 && parts[1] == "stream" && get) return true;
  if (parts.size() >= 3 && parts.size() <= 4 && parts[1] == "lines") {
    std::string_view sub = parts.size() == 4 ? parts[3] : "";
    const bool allowed =
        (get && (sub.empty() || sub == "usage" || sub == "history" || sub == "events")) ||
        (sub == "alerts" && (get || m == "PUT"));
    if (allowed) {
      const std::string id(parts[2]);
      const bool own = ledger_->Read([&](const Meter& meter) {
        const Line* l = meter.FindLine(id);
        return l != nullptr && !caller.account.empty() && l->account == caller.account;
      });
      if (own) return true;
      // Another account's line is indistinguishable from one that does not exist.
      respond(HttpResponse::Error(Status::NotFound("line '" + id + "' does not exist")));
      return false;
    }
  }
  respond(Denied("permission_denied", "operators only: " + m + " " + req.path));
  return false;
}

bool Api::RouteAccounts(HttpRequest& req, const std::vector<std::string_view>& parts,
                        const Caller& caller, Responder& respond) {
  const std::string& method = req.method;
  auto method_not_allowed = [&] {
    respond(
        HttpResponse::Error(405, "method_not_allowed", method + " is not allowed on " + req.path));
    return true;
  };
  Accounts* accounts = options_.accounts;

  // POST /v1/auth/logout
  if (parts.size() == 3 && parts[1] == "auth" && parts[2] == "logout") {
    if (method != "POST") return method_not_allowed();
    if (!caller.token.empty()) {
      Status st = accounts->SignOut(caller.token);
      if (!st.ok()) {
        respond(HttpResponse::Error(st));
        return true;
      }
    }
    HttpResponse r;
    r.status = 204;
    r.headers.emplace_back("Set-Cookie", SessionCookie("", 0, options_.cookie_secure));
    respond(std::move(r));
    return true;
  }

  // /v1/me
  if (parts.size() >= 2 && parts[1] == "me") {
    if (parts.size() == 2 && method == "GET") {
      json lines = json::array();
      json account = nullptr;
      if (caller.role == Role::kSubscriber) {
        std::optional<Account> a = accounts->Get(caller.account);
        if (a) account = AccountJson(*a);
        ledger_->Read([&](const Meter& m) {
          for (uint32_t i : m.LinesOfAccount(caller.account))
            lines.push_back(LineJson(m, m.line(i)));
          return 0;
        });
      }
      HttpResponse r = JsonOk(
          {{"role", RoleName(caller.role)},
           {"account", account},
           {"csrf_token", caller.csrf_token.empty() ? json(nullptr) : json(caller.csrf_token)},
           {"lines", lines}});
      r.headers.emplace_back("Cache-Control", "no-store");
      respond(std::move(r));
      return true;
    }
    if (parts.size() == 2 && method == "PUT") {
      if (caller.role != Role::kSubscriber) {
        respond(HttpResponse::Error(Status::InvalidArgument(
            "an operator has no account to change: use PUT /v1/accounts/{id}")));
        return true;
      }
      json body;
      Status st = ParseBody(req.body, &body);
      if (st.ok())
        st = CheckFields(body, {"name", "locale", "collect_apps", "password", "current_password"});
      AccountSpec spec;
      spec.id = caller.account;
      if (st.ok()) st = AccountFields(body, &spec);
      std::string current;
      if (st.ok() && spec.password) {
        if (st.ok()) current = StringField(body, "current_password", &st);
        if (st.ok() && current.empty())
          st = Status::InvalidArgument("current_password: needed to set a new password");
      }
      if (!st.ok()) {
        respond(HttpResponse::Error(st));
        return true;
      }
      Responder r = respond;
      const std::string address = req.remote_address;
      // A new password ends the account's other sessions; this one goes on.
      const std::string keep = caller.token;
      auto apply = [accounts, spec, current, address, keep, r] {
        if (spec.password) {
          int64_t retry = 0;
          Status s = accounts->CheckPassword(spec.id, current, address, &retry);
          if (s.code() == Status::Code::kResourceExhausted) return r(Throttled(s, retry));
          if (!s.ok()) return r(Denied("wrong_password", "current_password: wrong"));
        }
        Account a;
        Status s = accounts->Put(spec, &a, nullptr, keep);
        r(s.ok() ? JsonOk(AccountJson(a)) : HttpResponse::Error(s));
      };
      if (!spec.password) {
        apply();
      } else if (!slow_work_->Post(apply)) {
        respond(Busy(Status::ResourceExhausted("too many password changes at once")));
      }
      return true;
    }
    if (parts.size() == 2) return method_not_allowed();
    if (parts.size() == 3 && (parts[2] == "export" || parts[2] == "history")) {
      const bool is_export = parts[2] == "export";
      if (method != (is_export ? "GET" : "DELETE")) return method_not_allowed();
      if (caller.role != Role::kSubscriber) {
        respond(HttpResponse::Error(Status::InvalidArgument(
            "an operator has no account: sign in as the subscriber (a login link)")));
        return true;
      }
      Responder r = respond;
      const std::string account = caller.account;
      auto work = [this, account, is_export, r] {
        r(is_export ? ExportAccount(account) : DeleteAccountHistory(account));
      };
      if (!slow_work_->Post(work))
        respond(Busy(Status::ResourceExhausted("too many exports at once")));
      return true;
    }
    return false;
  }

  // /v1/accounts (operators)
  if (parts.size() >= 2 && parts[1] == "accounts") {
    if (caller.role != Role::kAdmin) {
      respond(Denied("permission_denied", "operators only: " + method + " " + req.path));
      return true;
    }
    if (accounts == nullptr) {
      respond(HttpResponse::Error(Status::NotFound("accounts are not enabled")));
      return true;
    }
    if (parts.size() == 2) {
      if (method != "GET") return method_not_allowed();
      uint64_t limit = 100;
      if (const std::string* l = req.Query("limit"); l && (!ParseUint(*l, &limit) || limit == 0)) {
        respond(Bad("limit: must be a positive integer"));
        return true;
      }
      std::string after = req.Query("after") ? *req.Query("after") : "";
      std::vector<Account> list =
          accounts->List(after, std::min<uint64_t>(limit, kAccountsListMax));
      json arr = json::array();
      ledger_->Read([&](const Meter& m) {
        for (const Account& a : list) {
          json j = AccountJson(a);
          json ids = json::array();
          for (uint32_t i : m.LinesOfAccount(a.id)) ids.push_back(m.line(i).id);
          j["lines"] = ids;
          arr.push_back(std::move(j));
        }
        return 0;
      });
      const bool more = list.size() == std::min<uint64_t>(limit, kAccountsListMax);
      respond(JsonOk({{"accounts", arr},
                      {"next", more && !list.empty() ? json(list.back().id) : json(nullptr)}}));
      return true;
    }
    const std::string id(parts[2]);
    if (parts.size() == 3 && method == "GET") {
      std::optional<Account> a = accounts->Get(id);
      if (!a) {
        respond(HttpResponse::Error(Status::NotFound("account '" + id + "' does not exist")));
        return true;
      }
      json j = AccountJson(*a);
      json lines = json::array();
      ledger_->Read([&](const Meter& m) {
        for (uint32_t i : m.LinesOfAccount(id)) lines.push_back(LineJson(m, m.line(i)));
        return 0;
      });
      j["lines"] = lines;
      respond(JsonOk(j));
      return true;
    }
    if (parts.size() == 3 && method == "PUT") {
      json body;
      Status st = ParseBody(req.body, &body);
      if (st.ok()) st = CheckFields(body, {"name", "locale", "collect_apps", "password"});
      AccountSpec spec;
      spec.id = id;
      if (st.ok()) st = AccountFields(body, &spec);
      if (!st.ok()) {
        respond(HttpResponse::Error(st));
        return true;
      }
      Responder r = respond;
      auto apply = [accounts, spec, r] {
        Account a;
        bool created = false;
        Status s = accounts->Put(spec, &a, &created);
        r(s.ok() ? JsonOk(AccountJson(a), created ? 201 : 200) : HttpResponse::Error(s));
      };
      if (!spec.password) {
        apply();
      } else if (!slow_work_->Post(apply)) {
        respond(Busy(Status::ResourceExhausted("too many password changes at once")));
      }
      return true;
    }
    if (parts.size() == 4 && parts[3] == "login-link") {
      if (method != "POST") return method_not_allowed();
      std::string token;
      Millis expires_at = 0;
      Status st = accounts->IssueLoginLink(id, &token, &expires_at);
      if (!st.ok()) {
        respond(HttpResponse::Error(st));
        return true;
      }
      // The token travels in the fragment: browsers never send it to a server, so it stays out
      // of access logs, Referer headers and link previews. The page posts it to /v1/auth/link.
      HttpResponse r = JsonOk({{"account", id},
                               {"url", "/#login-link=" + token},
                               {"token", token},
                               {"expires_at", FormatRfc3339Utc(expires_at)}},
                              201);
      r.headers.emplace_back("Cache-Control", "no-store");
      respond(std::move(r));
      return true;
    }
    if (parts.size() == 3) return method_not_allowed();
  }
  return false;
}

HttpResponse Api::ExportAccount(const std::string& account) {
  std::optional<Account> a = options_.accounts->Get(account);
  if (!a) return HttpResponse::Error(Status::NotFound("account '" + account + "' does not exist"));
  store::Store* store = ledger_->store();
  const Millis now = ledger_->Now();
  struct LineData {
    std::string id;
    Zone zone;
    json line, usage, alerts;
  };
  std::vector<LineData> lines;
  ledger_->Read([&](const Meter& m) {
    for (uint32_t i : m.LinesOfAccount(account)) {
      const Line& l = m.line(i);
      lines.push_back({l.id, m.BalanceOf(l).zone, LineJson(m, l), UsageJson(m, l, now),
                       ThresholdsJson(l, m.BalanceOf(l))});
    }
    return 0;
  });
  json out_lines = json::array();
  std::unordered_set<std::string> ids;
  for (LineData& d : lines) {
    ids.insert(d.id);
    json history = json::object();
    for (auto [name, g, by] : {std::tuple{"hourly", 'h', 0},
                               {"daily", 'd', 0},
                               {"daily_by_app", 'd', 'a'},
                               {"daily_by_device", 'd', 'd'}}) {
      std::vector<store::HistoryPoint> points;
      Status st =
          store->ReadHistory(d.id, g, 0, now + kMillisPerDay, static_cast<char>(by), &points);
      if (!st.ok()) return HttpResponse::Error(st);
      json arr = json::array();
      for (const store::HistoryPoint& p : points) {
        json j = {{"start", d.zone.FormatRfc3339(p.start)},
                  {"bytes_up", p.bytes_up},
                  {"bytes_down", p.bytes_down}};
        if (by == 'a') j["app"] = p.name;
        if (by == 'd') j["device"] = p.name;
        arr.push_back(std::move(j));
      }
      history[name] = std::move(arr);
    }
    std::vector<store::AuditEntry> entries;
    Status st = store->ReadAudit(d.id, 0, kExportAuditEntriesMax, &entries);
    if (!st.ok()) return HttpResponse::Error(st);
    json audit = json::array();
    for (const store::AuditEntry& e : entries) audit.push_back(AuditJson(d.zone, e));
    out_lines.push_back({{"line", std::move(d.line)},
                         {"usage", std::move(d.usage)},
                         {"alerts", std::move(d.alerts)},
                         {"history", std::move(history)},
                         {"audit", std::move(audit)}});
  }
  // The events about the account or its lines.
  json events = json::array();
  uint64_t after = 0;
  for (size_t scanned = 0; scanned < kExportEventsScanMax;) {
    std::vector<std::string> chunk;
    uint64_t last = after;
    Status st = store->ReadEvents(after, 1000, &chunk, &last);
    if (!st.ok()) return HttpResponse::Error(st);
    if (chunk.empty()) break;
    scanned += chunk.size();
    after = last;
    for (const std::string& text : chunk) {
      json ev = json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (!ev.is_object()) continue;
      const bool mine = (ev.contains("account") && ev["account"] == account) ||
                        (ev.contains("line") && ev["line"].is_string() &&
                         ids.count(ev["line"].get<std::string>()) > 0);
      if (mine) events.push_back(std::move(ev));
    }
  }
  HttpResponse r = JsonOk({{"exported_at", FormatRfc3339Utc(now)},
                           {"account", AccountJson(*a)},
                           {"lines", std::move(out_lines)},
                           {"events", std::move(events)}});
  r.headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"ryuryo-" + account + ".json\"");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse Api::DeleteAccountHistory(const std::string& account) {
  std::vector<std::string> ids = ledger_->Read([&](const Meter& m) {
    std::vector<std::string> out;
    for (uint32_t i : m.LinesOfAccount(account)) out.push_back(m.line(i).id);
    return out;
  });
  store::Batch b(ledger_->store());
  for (const std::string& id : ids) b.DeleteLineHistory(id);
  if (Status st = ledger_->store()->Write(&b); !st.ok()) return HttpResponse::Error(st);
  HttpResponse r;
  r.status = 204;
  return r;
}

}  // namespace ryuryo::api
