#include "api/api.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>

#include "api/route_util.h"
#include "api/static_files.h"
#include "api/usage_json.h"
#include "api/views.h"
#include "core/event.h"
#include "core/quantity.h"

namespace ryuryo::api {

namespace {

constexpr size_t kListLimitMax = 1000;
constexpr size_t kEventsLimitMax = 1000;
// GET /v1/lines/{id}/events: the alerts answered by default and at most.
constexpr uint64_t kLineEventsLimitDefault = 20;
constexpr uint64_t kLineEventsLimitMax = 100;
// The store keeps events by sequence number only (no index by line): a line's events are found
// among the newest kLineEventsScanMax events of the whole server, so older ones are not listed
// (the answer says so with "partial").
constexpr uint64_t kLineEventsScanMax = 20'000;
constexpr size_t kHistoryPointsMax = 100'000;
// Open sessions listed by one GET /v1/sessions, at most.
constexpr uint64_t kSessionsLimitMax = 100'000;
// Quarantine entries looked at by one POST /v1/quarantine/apply.
constexpr size_t kQuarantineScanMax = 1'000'000;

// A time zone named in a PUT body: an unknown one is bad input (400). (Zone::Find answers
// NotFound, which the meter passes on and would otherwise turn into a 404.)
// "channels": [{"type": "webhook", "url": "..."}, {"type": "sms", "to"?, "quiet_hours"?}]
Status ParseChannels(const json& arr, std::vector<notify::ChannelSpec>* out) {
  if (!arr.is_array()) return Status::InvalidArgument("channels: must be an array of objects");
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string where = "channels[" + std::to_string(i) + "]";
    Status st = CheckFields(arr[i], {"type", "url", "to", "quiet_hours"}).Prefixed(where);
    notify::ChannelSpec spec;
    if (st.ok()) spec.type = StringField(arr[i], "type", &st);
    if (st.ok()) spec.url = StringField(arr[i], "url", &st);
    if (st.ok()) spec.to = StringField(arr[i], "to", &st);
    if (st.ok()) spec.quiet_hours = StringField(arr[i], "quiet_hours", &st);
    if (st.ok() && spec.type.empty()) st = Status::InvalidArgument("type: missing");
    if (!st.ok()) return st.message().starts_with(where) ? st : st.Prefixed(where);
    out->push_back(std::move(spec));
  }
  return Status::Ok();
}

json ChannelJson(const notify::Channel& c) {
  json j = {{"id", c.id}, {"type", c.type}, {"created_at", FormatRfc3339Utc(c.created_at)}};
  if (c.type == "sms") {
    j["to"] = "+" + c.to;
    j["quiet_hours"] = c.quiet_hours.empty() ? json(nullptr) : json(c.quiet_hours);
  } else {
    j["url"] = c.url;
    j["secret"] = c.secret;
  }
  return j;
}

// A string field of a stored event ("" when absent or not a string).
std::string EventString(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Status CheckTimezone(const std::string& tz) {
  if (tz.empty()) return Status::Ok();
  Zone z;
  Status st = Zone::Find(tz, &z);
  return st.ok() ? st : Status::InvalidArgument("timezone: " + st.message());
}

}  // namespace

Api::Api(store::Ledger* ledger, ApiOptions options)
    : ledger_(ledger),
      options_(std::move(options)),
      slow_work_(
          std::make_unique<WorkQueue>(options_.slow_work_threads, options_.slow_work_queue_max)) {}

void Api::Handle(HttpRequest&& request, Responder respond) {
  ++http_requests_;
  Responder counted = [this, respond = std::move(respond)](HttpResponse r) {
    if (r.status >= 500) ++http_errors_;  // approximate across threads; informational
    respond(std::move(r));
  };
  Route(request, counted);
}

void Api::Route(HttpRequest& req, Responder& respond) {
  const std::vector<std::string_view> parts = SplitPath(req.path);
  const std::string& method = req.method;
  const bool read_only = req.method == "GET" || req.method == "HEAD";
  if (parts.size() == 1 && (parts[0] == "healthz" || parts[0] == "metrics") && !read_only) {
    return respond(HttpResponse::Error(405, "method_not_allowed",
                                       req.method + " is not allowed on " + req.path));
  }
  if (parts.size() == 1 && parts[0] == "healthz") {
    return respond(JsonOk({{"status", "ok"}, {"version", options_.version}}));
  }
  if (parts.size() == 1 && parts[0] == "metrics") {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = Metrics();
    return respond(std::move(r));
  }
  if (parts.empty() || parts[0] != "v1") {
    // The dashboard (web/, compiled in): public files; the data behind them needs a session.
    HttpResponse page;
    if (read_only && ServeStatic(req.path, req.Header("if-none-match"), &page)) {
      return respond(std::move(page));
    }
    return respond(HttpResponse::Error(Status::NotFound("no route for " + req.path)));
  }
  // Sign-in needs no credentials; everything else needs the admin token or a session.
  if (RouteSignIn(req, parts, respond)) return;
  if (RouteSms(req, parts, respond)) return;
  Caller caller;
  if (!Authenticate(req, &caller, respond)) return;
  if (RouteAccounts(req, parts, caller, respond)) return;
  if (caller.role == Role::kSubscriber && !SubscriberMayUse(req, parts, caller, respond)) return;

  const Millis now = ledger_->Now();
  auto method_not_allowed = [&] {
    return respond(
        HttpResponse::Error(405, "method_not_allowed", method + " is not allowed on " + req.path));
  };
  auto commit_then = [&](store::Command cmd, std::function<HttpResponse(const Status&)> answer) {
    Responder r = respond;
    Status st = ledger_->SubmitCommand(std::move(cmd), [r, answer](Status s) { r(answer(s)); });
    if (!st.ok()) respond(Busy(st));
  };

  // /v1/stream: server-sent events of lines' usage and events (the dashboard's live view).
  if (parts.size() == 2 && parts[1] == "stream") {
    if (method != "GET" && method != "HEAD") return method_not_allowed();
    if (options_.live == nullptr) {
      return respond(HttpResponse::Error(Status::NotFound("live updates are not enabled")));
    }
    std::vector<std::string> keys;
    for (const auto& [k, v] : req.query) {
      if (k == "line") keys.push_back(v);
    }
    if (keys.empty() && caller.role == Role::kAdmin) {
      return respond(Bad("line: name at least one line (?line=ID, repeated)"));
    }
    std::vector<std::string> ids;
    std::string unknown;
    ledger_->Read([&](const Meter& m) {
      if (keys.empty()) {  // a subscriber: all of their lines
        for (uint32_t i : m.LinesOfAccount(caller.account)) ids.push_back(m.line(i).id);
        return 0;
      }
      for (const std::string& k : keys) {
        const Line* l = m.FindLine(k);
        // Another account's line is indistinguishable from one that does not exist.
        if (l == nullptr || (caller.role == Role::kSubscriber && l->account != caller.account)) {
          unknown = k;
          return 0;
        }
        if (std::find(ids.begin(), ids.end(), l->id) == ids.end()) ids.push_back(l->id);
      }
      return 0;
    });
    if (!unknown.empty()) {
      return respond(
          HttpResponse::Error(Status::NotFound("line '" + unknown + "' does not exist")));
    }
    HttpResponse r = HttpResponse::EventStream(
        [hub = options_.live,
         ids](const std::shared_ptr<HttpStream>& s) -> std::optional<HttpResponse> {
          Status st = hub->Subscribe(ids, s);
          if (st.code() == Status::Code::kResourceExhausted) {
            HttpResponse busy = HttpResponse::Error(503, "unavailable", st.message());
            busy.headers.emplace_back("Retry-After", "5");
            return busy;
          }
          if (!st.ok()) return HttpResponse::Error(st);
          return std::nullopt;
        });
    return respond(std::move(r));
  }

  // /v1/usage
  if (parts.size() == 2 && parts[1] == "usage") {
    if (method != "POST") return method_not_allowed();
    auto parsed = std::make_shared<ParsedUsage>();
    Status st = ParseUsageBody(req.body, parsed.get());
    if (st.code() == Status::Code::kResourceExhausted) {
      return respond(HttpResponse::Error(413, "payload_too_large", st.message()));
    }
    if (!st.ok()) return respond(HttpResponse::Error(st));
    records_rejected_at_parse_.fetch_add(parsed->errors.size(), std::memory_order_relaxed);
    if (parsed->records.empty()) {
      json rejected = json::array();
      for (auto& [i, e] : parsed->errors) rejected.push_back({{"index", i}, {"error", e}});
      if (parsed->errors.empty()) {
        return respond(JsonOk(
            {{"accepted", 0}, {"duplicates", 0}, {"quarantined", 0}, {"rejected", rejected}}));
      }
      json err = {{"error",
                   {{"code", "invalid_argument"},
                    {"message", "record " + std::to_string(parsed->errors[0].first) + ": " +
                                    parsed->errors[0].second}}},
                  {"accepted", 0},
                  {"duplicates", 0},
                  {"quarantined", 0},
                  {"rejected", rejected}};
      return respond(HttpResponse::Json(400, err.dump()));
    }
    std::vector<UsageRecord> records = std::move(parsed->records);
    Responder r = respond;
    st = ledger_->SubmitUsage(std::move(records), [r, parsed](store::UsageResult res) {
      if (!res.status.ok()) return r(HttpResponse::Error(res.status));
      json rejected = json::array();
      // Merge parse errors and ledger rejections, in body order.
      std::vector<std::pair<size_t, std::string>> all = parsed->errors;
      for (auto& [i, e] : res.rejected) all.emplace_back(parsed->indexes[i], e);
      std::sort(all.begin(), all.end());
      for (auto& [i, e] : all) rejected.push_back({{"index", i}, {"error", e}});
      if (res.accepted == 0 && res.duplicates == 0 && !all.empty()) {
        json err = {
            {"error",
             {{"code", "invalid_argument"},
              {"message", "record " + std::to_string(all[0].first) + ": " + all[0].second}}},
            {"accepted", 0},
            {"duplicates", 0},
            {"quarantined", 0},
            {"rejected", rejected}};
        return r(HttpResponse::Json(400, err.dump()));
      }
      r(JsonOk({{"accepted", res.accepted},
                {"duplicates", res.duplicates},
                {"quarantined", res.quarantined},
                {"rejected", rejected}}));
    });
    if (!st.ok()) respond(Busy(st));
    return;
  }

  // /v1/plans
  if (parts.size() == 2 && parts[1] == "plans") {
    if (method != "GET") return method_not_allowed();
    json plans = json::array();
    ledger_->Read([&](const Meter& m) {
      for (const auto& p : m.catalog().plans()) {
        json j = {{"id", p->id},
                  {"name", p->name},
                  {"kind", PlanKindName(p->kind)},
                  {"timezone", p->timezone}};
        if (p->kind != PlanKind::kUnlimited) {
          j["quota"] = p->quota_bytes;
          j["after_quota"] = {{"action", QuotaActionName(p->after_quota.action)}};
          if (p->after_quota.action == QuotaAction::kThrottle)
            j["after_quota"]["rate_bps"] = p->after_quota.rate_bps;
        }
        if (p->kind == PlanKind::kMonthly) {
          j["cycle_day"] = p->cycle_day;
          j["rollover"] = p->rollover;
        }
        if (p->kind == PlanKind::kPass) {
          j["validity"] = FormatDuration(p->validity_ms);
          j["starts"] = p->starts == PassStart::kActivation ? "activation" : "first_use";
        }
        if (p->kind != PlanKind::kUnlimited && p->after_quota.action == QuotaAction::kOverage) {
          const AfterQuota& a = p->after_quota;
          j["after_quota"]["unit"] = a.unit_bytes;
          j["after_quota"]["price"] = FormatMoney(a.price_micros, a.currency);
          j["after_quota"]["currency"] = a.currency;
          j["after_quota"]["cap"] =
              a.cap_micros >= 0 ? json(FormatMoney(a.cap_micros, a.currency)) : json(nullptr);
        }
        if (p->fair_use) {
          j["fair_use"] = {{"window", FormatDuration(p->fair_use->window_ms)},
                           {"limit", p->fair_use->limit_bytes},
                           {"action", QuotaActionName(p->fair_use->action)},
                           {"rate_bps", p->fair_use->rate_bps}};
        }
        json alerts = json::array();
        for (const Threshold& t : p->alerts) alerts.push_back(t.Label());
        j["alerts"] = alerts;
        plans.push_back(j);
      }
      return 0;
    });
    return respond(JsonOk({{"plans", plans}}));
  }

  // /v1/events
  if (parts.size() == 2 && parts[1] == "events") {
    if (method != "GET") return method_not_allowed();
    uint64_t after = 0, limit = 100;
    if (const std::string* a = req.Query("after"); a && !ParseUint(*a, &after)) {
      return respond(Bad("after: must be a non-negative integer"));
    }
    if (const std::string* l = req.Query("limit"); l && (!ParseUint(*l, &limit) || limit == 0)) {
      return respond(Bad("limit: must be a positive integer"));
    }
    limit = std::min<uint64_t>(limit, kEventsLimitMax);
    std::vector<std::string> events;
    uint64_t last = after;
    Status st = ledger_->store()->ReadEvents(after, limit, &events, &last);
    if (!st.ok()) return respond(HttpResponse::Error(st));
    std::string body = "{\"events\":[";
    for (size_t i = 0; i < events.size(); ++i) {
      if (i) body += ',';
      body += events[i];
    }
    body += "],\"next\":" + std::to_string(last) + "}";
    return respond(HttpResponse::Json(200, std::move(body)));
  }

  // /v1/sessions
  if (parts.size() == 2 && parts[1] == "sessions") {
    if (method != "GET") return method_not_allowed();
    if (!options_.sessions) {
      return respond(
          HttpResponse::Error(Status::NotFound("no RADIUS sessions: [radius] is not configured")));
    }
    uint64_t limit = 1000;
    if (const std::string* l = req.Query("limit"); l && (!ParseUint(*l, &limit) || limit == 0)) {
      return respond(Bad("limit: must be a positive integer"));
    }
    limit = std::min<uint64_t>(limit, kSessionsLimitMax);
    std::string line;
    if (const std::string* q = req.Query("line"); q && !q->empty()) {
      line = ledger_->Read([&](const Meter& m) {
        const Line* l = m.FindLine(*q);
        return l == nullptr ? std::string() : l->id;
      });
      if (line.empty())
        return respond(HttpResponse::Error(Status::NotFound("no line '" + *q + "'")));
    }
    return respond(
        HttpResponse::Json(200, "{\"sessions\":" + options_.sessions(line, limit) + "}"));
  }

  // /v1/quarantine
  if (parts.size() >= 2 && parts[1] == "quarantine") {
    if (parts.size() == 2 && method == "GET") {
      uint64_t after = 0, limit = 100;
      if (const std::string* a = req.Query("after"); a && !ParseUint(*a, &after)) {
        return respond(Bad("after: must be a non-negative integer"));
      }
      if (const std::string* l = req.Query("limit"); l && (!ParseUint(*l, &limit) || limit == 0)) {
        return respond(Bad("limit: must be a positive integer"));
      }
      std::vector<store::QuarantineEntry> entries;
      Status st = ledger_->store()->ListQuarantine(after, std::min<uint64_t>(limit, kListLimitMax),
                                                   &entries);
      if (!st.ok()) return respond(HttpResponse::Error(st));
      json list = json::array();
      for (const auto& e : entries) {
        list.push_back({{"seq", e.seq},
                        {"received_at", FormatRfc3339Utc(e.received_at)},
                        {"record", json::parse(UsageRecordToJson(e.record))}});
      }
      return respond(
          JsonOk({{"records", list}, {"next", entries.empty() ? after : entries.back().seq}}));
    }
    if (parts.size() == 3 && parts[2] == "apply" && method == "POST") {
      // Replays the quarantined records whose line exists now: walks the quarantine in chunks,
      // past entries whose line is still unknown, up to a body's worth of records.
      std::vector<UsageRecord> records;
      std::vector<uint64_t> seqs;
      size_t scanned = 0;
      uint64_t after = 0;
      Status st;
      while (records.size() < kUsageBodyRecordsMax && scanned < kQuarantineScanMax) {
        std::vector<store::QuarantineEntry> entries;
        st = ledger_->store()->ListQuarantine(after, kListLimitMax * 10, &entries);
        if (!st.ok()) return respond(HttpResponse::Error(st));
        if (entries.empty()) break;
        scanned += entries.size();
        after = entries.back().seq;
        ledger_->Read([&](const Meter& m) {
          for (auto& e : entries) {
            if (records.size() < kUsageBodyRecordsMax && m.FindLine(e.record.line) != nullptr) {
              records.push_back(std::move(e.record));
              seqs.push_back(e.seq);
            }
          }
          return 0;
        });
      }
      // Entries looked at and not replayed now (more may lie beyond a scan that stopped early).
      size_t left = scanned - records.size();
      if (records.empty())
        return respond(JsonOk({{"applied", 0}, {"duplicates", 0}, {"still_quarantined", left}}));
      Responder r = respond;
      st = ledger_->SubmitUsage(
          std::move(records),
          [r, left](store::UsageResult res) {
            if (!res.status.ok()) return r(HttpResponse::Error(res.status));
            r(JsonOk({{"applied", res.accepted - res.quarantined},
                      {"duplicates", res.duplicates},
                      {"still_quarantined", left + res.quarantined}}));
          },
          std::move(seqs));
      if (!st.ok()) respond(Busy(st));
      return;
    }
    return method_not_allowed();
  }

  // /v1/pools/{id}
  if (parts.size() == 3 && parts[1] == "pools") {
    std::string id(parts[2]);
    if (method == "PUT") {
      json body;
      Status st = ParseBody(req.body, &body);
      if (st.ok()) st = CheckFields(body, {"plan", "account", "timezone"});
      PoolSpec spec;
      spec.id = id;
      if (st.ok()) spec.plan = StringField(body, "plan", &st);
      if (st.ok()) spec.account = StringField(body, "account", &st);
      if (st.ok()) spec.timezone = StringField(body, "timezone", &st);
      if (st.ok()) st = CheckTimezone(spec.timezone);
      if (!st.ok()) return respond(HttpResponse::Error(st));
      store::Ledger* ledger = ledger_;
      bool existed = ledger_->Read([&](const Meter& m) { return m.FindPool(id) != nullptr; });
      return commit_then([spec](Meter& m, Millis t, Effects* fx) { return m.PutPool(spec, t, fx); },
                         [ledger, id, existed](const Status& s) {
                           if (!s.ok()) return HttpResponse::Error(s);
                           return ledger->Read([&](const Meter& m) {
                             return JsonOk(PoolJson(m, *m.FindPool(id)), existed ? 200 : 201);
                           });
                         });
    }
    if (method == "GET") {
      return respond(ledger_->Read([&](const Meter& m) {
        const Pool* p = m.FindPool(id);
        if (p == nullptr)
          return HttpResponse::Error(Status::NotFound("pool '" + id + "' does not exist"));
        return JsonOk(PoolJson(m, *p));
      }));
    }
    return method_not_allowed();
  }

  // /v1/lines
  if (parts.size() == 2 && parts[1] == "lines") {
    if (method != "GET") return method_not_allowed();
    uint64_t limit = 100;
    if (const std::string* l = req.Query("limit"); l && (!ParseUint(*l, &limit) || limit == 0)) {
      return respond(Bad("limit: must be a positive integer"));
    }
    limit = std::min<uint64_t>(limit, kListLimitMax);
    std::string q = req.Query("q") ? *req.Query("q") : "";
    std::string after = req.Query("after") ? *req.Query("after") : "";
    json lines = json::array();
    std::string next;
    ledger_->Read([&](const Meter& m) {
      std::vector<const Line*> matched;
      for (size_t i = 0; i < m.line_count(); ++i) {
        const Line& l = m.line(static_cast<uint32_t>(i));
        if (!after.empty() && l.id <= after) continue;
        if (!q.empty() && l.id.find(q) == std::string::npos &&
            l.msisdn.find(q) == std::string::npos && l.account.find(q) == std::string::npos) {
          continue;
        }
        matched.push_back(&l);
      }
      std::sort(matched.begin(), matched.end(),
                [](const Line* a, const Line* b) { return a->id < b->id; });
      for (size_t i = 0; i < matched.size() && i < limit; ++i) {
        json j = LineJson(m, *matched[i]);
        UsageView v = m.Usage(*matched[i], now);
        j["used"] = v.used_bytes;
        j["remaining"] = v.has_quota ? json(v.remaining_bytes) : json(nullptr);
        lines.push_back(j);
      }
      if (matched.size() > limit) next = matched[limit - 1]->id;
      return 0;
    });
    return respond(JsonOk({{"lines", lines}, {"next", next.empty() ? json(nullptr) : json(next)}}));
  }

  if (parts.size() >= 3 && parts[1] == "lines") {
    std::string id(parts[2]);
    std::string_view sub = parts.size() >= 4 ? parts[3] : "";
    if (parts.size() > 4)
      return respond(HttpResponse::Error(Status::NotFound("no route for " + req.path)));
    auto not_found = [&] {
      return HttpResponse::Error(Status::NotFound("line '" + id + "' does not exist"));
    };
    // The line's real id (the path may name it by msisdn:/imsi:/iccid:) and time zone.
    auto find_line_zone = [&](std::string* line_id, Zone* zone) {
      return ledger_->Read([&](const Meter& m) {
        const Line* l = m.FindLine(id);
        if (l == nullptr) return false;
        *line_id = l->id;
        *zone = m.BalanceOf(*l).zone;
        return true;
      });
    };

    if (sub.empty() && method == "PUT") {
      json body;
      Status st = ParseBody(req.body, &body);
      if (st.ok()) {
        st = CheckFields(body, {"plan", "account", "msisdn", "imsi", "iccid", "timezone", "locale",
                                "pool", "activated_at"});
      }
      LineSpec spec;
      spec.id = id;
      if (st.ok()) st = ValidateLineId(id).Prefixed("id");
      if (st.ok()) spec.plan = StringField(body, "plan", &st);
      if (st.ok()) spec.account = StringField(body, "account", &st);
      if (st.ok()) spec.msisdn = StringField(body, "msisdn", &st);
      if (st.ok()) spec.imsi = StringField(body, "imsi", &st);
      if (st.ok()) spec.iccid = StringField(body, "iccid", &st);
      if (st.ok()) spec.timezone = StringField(body, "timezone", &st);
      if (st.ok()) spec.locale = StringField(body, "locale", &st);
      if (st.ok()) spec.pool = StringField(body, "pool", &st);
      if (st.ok()) st = CheckTimezone(spec.timezone);
      if (st.ok()) {
        std::string act = StringField(body, "activated_at", &st);
        Millis t;
        if (st.ok() && !act.empty()) {
          st = ParseRfc3339(act, &t).Prefixed("activated_at");
          spec.activated_at = t;
        }
      }
      if (!st.ok()) return respond(HttpResponse::Error(st));
      bool existed = false;
      std::string old_account;
      ledger_->Read([&](const Meter& m) {
        const Line* l = m.FindLine(id);
        existed = l != nullptr;
        if (l != nullptr) old_account = l->account;
        return 0;
      });
      store::Ledger* ledger = ledger_;
      notify::ChannelRegistry* channels = options_.channels;
      return commit_then(
          [spec](Meter& m, Millis t, Effects* fx) { return m.PutLine(spec, t, fx); },
          [ledger, id, existed, old_account, channels, account = spec.account](const Status& s) {
            // A pool named in the body that does not exist is bad input, not a missing line.
            if (s.code() == Status::Code::kNotFound) {
              return HttpResponse::Error(Status::InvalidArgument(s.message()));
            }
            if (!s.ok()) return HttpResponse::Error(s);
            // A line given to another account loses the alert channels its old owner set.
            if (existed && account != old_account && channels != nullptr) {
              if (Status cs = channels->Set(id, {}, nullptr); !cs.ok())
                return HttpResponse::Error(cs);
            }
            return ledger->Read([&](const Meter& m) {
              return JsonOk(LineJson(m, *m.FindLine(id)), existed ? 200 : 201);
            });
          });
    }
    if (sub.empty()) {
      if (method != "GET") return method_not_allowed();
      return respond(ledger_->Read([&](const Meter& m) {
        const Line* l = m.FindLine(id);
        return l ? JsonOk(LineJson(m, *l)) : not_found();
      }));
    }
    if (sub == "usage") {
      if (method != "GET") return method_not_allowed();
      // The numbers under the lock, the JSON after it.
      std::optional<UsageSnapshot> usage =
          ledger_->Read([&](const Meter& m) -> std::optional<UsageSnapshot> {
            const Line* l = m.FindLine(id);
            if (l == nullptr) return std::nullopt;
            return UsageOf(m, *l, now);
          });
      return respond(usage ? JsonOk(UsageJson(*usage)) : not_found());
    }
    if (sub == "history") {
      if (method != "GET") return method_not_allowed();
      const std::string* g = req.Query("granularity");
      char gran = 'h';
      if (g != nullptr && *g == "day")
        gran = 'd';
      else if (g != nullptr && *g != "hour")
        return respond(Bad("granularity: must be hour or day"));
      char by = 0;
      if (const std::string* b = req.Query("by")) {
        if (*b == "app")
          by = 'a';
        else if (*b == "device")
          by = 'd';
        else
          return respond(Bad("by: must be app or device"));
      }
      Millis to = now + kMillisPerHour,
             from = gran == 'h' ? now - 2 * kMillisPerDay : now - 35 * kMillisPerDay;
      if (const std::string* f = req.Query("from")) {
        Status st = ParseRfc3339(*f, &from).Prefixed("from");
        if (!st.ok()) return respond(HttpResponse::Error(st));
      }
      if (const std::string* t = req.Query("to")) {
        Status st = ParseRfc3339(*t, &to).Prefixed("to");
        if (!st.ok()) return respond(HttpResponse::Error(st));
      }
      if (to < from) return respond(Bad("to: before from"));
      std::string line_id;
      Zone zone;
      if (!find_line_zone(&line_id, &zone)) return respond(not_found());
      // Days are keyed by their local midnight: widen `from` to its day's start.
      if (gran == 'd')
        from = zone.StartOfDay(zone.DateAt(from));
      else
        from = FloorHour(from);
      std::vector<store::HistoryPoint> points;
      Status st = ledger_->store()->ReadHistory(line_id, gran, from, to, by, &points);
      if (!st.ok()) return respond(HttpResponse::Error(st));
      if (by != 0) {
        // The part of each period that no app / device explains is shown, not hidden.
        std::vector<store::HistoryPoint> totals;
        st = ledger_->store()->ReadHistory(line_id, gran, from, to, 0, &totals);
        if (!st.ok()) return respond(HttpResponse::Error(st));
        std::map<Millis, std::pair<uint64_t, uint64_t>> named;
        for (const auto& p : points) {
          named[p.start].first += p.bytes_up;
          named[p.start].second += p.bytes_down;
        }
        for (const auto& t : totals) {
          auto n = named[t.start];
          if (t.bytes_up > n.first || t.bytes_down > n.second) {
            store::HistoryPoint u;
            u.start = t.start;
            u.name = "";  // unattributed
            u.bytes_up = t.bytes_up - std::min(t.bytes_up, n.first);
            u.bytes_down = t.bytes_down - std::min(t.bytes_down, n.second);
            points.push_back(u);
          }
        }
        std::stable_sort(points.begin(), points.end(),
                         [](const auto& a, const auto& b) { return a.start < b.start; });
      }
      bool truncated = points.size() > kHistoryPointsMax;
      if (truncated) points.resize(kHistoryPointsMax);
      json arr = json::array();
      for (const auto& p : points) {
        json j = {{"start", zone.FormatRfc3339(p.start)},
                  {"bytes_up", p.bytes_up},
                  {"bytes_down", p.bytes_down}};
        // An empty name is the unattributed part: null.
        if (by == 'a') j["app"] = p.name.empty() ? json(nullptr) : json(p.name);
        if (by == 'd') j["device"] = p.name.empty() ? json(nullptr) : json(p.name);
        arr.push_back(j);
      }
      return respond(JsonOk({{"line", line_id},
                             {"granularity", gran == 'h' ? "hour" : "day"},
                             {"points", arr},
                             {"truncated", truncated}}));
    }
    if (sub == "events") {
      if (method != "GET") return method_not_allowed();
      uint64_t limit = kLineEventsLimitDefault;
      if (const std::string* l = req.Query("limit"); l && (!ParseUint(*l, &limit) || limit == 0)) {
        return respond(Bad("limit: must be a positive integer"));
      }
      limit = std::min(limit, kLineEventsLimitMax);
      std::string line_id, pool_id;
      uint64_t next_seq = 1;
      const bool found = ledger_->Read([&](const Meter& m) {
        const Line* l = m.FindLine(id);
        if (l == nullptr) return false;
        line_id = l->id;
        pool_id = l->pool;
        next_seq = m.next_event_seq();
        return true;
      });
      if (!found) return respond(not_found());
      // Reading and searching up to kLineEventsScanMax stored events is kept off the event loop.
      store::Ledger* ledger = ledger_;
      const Role role = caller.role;
      const std::string account = caller.account;
      Responder r = respond;
      auto work = [ledger, role, account, line_id, pool_id, next_seq, limit, r] {
        // The newest kLineEventsScanMax events, oldest first (see the constant).
        const uint64_t newest = next_seq - 1;
        const uint64_t after = newest > kLineEventsScanMax ? newest - kLineEventsScanMax : 0;
        std::vector<std::string> scanned;
        uint64_t last = after;
        Status st = ledger->store()->ReadEvents(after, kLineEventsScanMax, &scanned, &last);
        if (!st.ok()) return r(HttpResponse::Error(st));
        // The line's own alerts and its pool's, newest first. The text is searched before it is
        // parsed: most events are of other lines.
        const std::string line_key = "\"line\":" + json(line_id).dump();
        const std::string pool_key = pool_id.empty() ? "" : "\"pool\":" + json(pool_id).dump();
        std::vector<json> picked;
        for (auto it = scanned.rbegin(); it != scanned.rend() && picked.size() < limit; ++it) {
          if (it->find(line_key) == std::string::npos &&
              (pool_key.empty() || it->find(pool_key) == std::string::npos)) {
            continue;
          }
          json j = json::parse(*it, nullptr, /*allow_exceptions=*/false);
          if (!j.is_object()) continue;
          EventType type;
          if (!ParseEventType(EventString(j, "type"), &type) || !notify::IsAlertEvent(type))
            continue;
          const bool of_pool = !pool_id.empty() && EventString(j, "pool") == pool_id;
          if (EventString(j, "line") != line_id && !of_pool) continue;
          // A subscriber sees what was raised for its account (not for the line's previous
          // owner) and its pool's alerts.
          if (role == Role::kSubscriber && !of_pool && EventString(j, "account") != account) {
            continue;
          }
          picked.push_back(std::move(j));
        }
        if (role == Role::kSubscriber) {
          // A pool's alert may name the member line that raised it, or the pool's account: not
          // when they are another account's.
          ledger->Read([&](const Meter& m) {
            for (json& j : picked) {
              const Line* trigger = m.FindLine(EventString(j, "line"));
              if (trigger == nullptr || trigger->account != account) j["line"] = "";
              if (EventString(j, "account") != account) j.erase("account");
            }
            return 0;
          });
        }
        json events = json::array();
        for (json& j : picked) events.push_back(std::move(j));
        r(JsonOk({{"line", line_id}, {"events", std::move(events)}, {"partial", after > 0}}));
      };
      if (!slow_work_->Post(std::move(work))) {
        respond(Busy(Status::ResourceExhausted("too many requests for events at once")));
      }
      return;
    }
    if (sub == "audit") {
      if (method != "GET") return method_not_allowed();
      uint64_t limit = 100, before = 0;
      if (const std::string* l = req.Query("limit"); l && (!ParseUint(*l, &limit) || limit == 0)) {
        return respond(Bad("limit: must be a positive integer"));
      }
      if (const std::string* b = req.Query("before"); b && !ParseUint(*b, &before)) {
        return respond(Bad("before: must be a non-negative integer"));
      }
      std::string line_id;
      Zone zone;
      if (!find_line_zone(&line_id, &zone)) return respond(not_found());
      std::vector<store::AuditEntry> entries;
      Status st = ledger_->store()->ReadAudit(line_id, before,
                                              std::min<uint64_t>(limit, kListLimitMax), &entries);
      if (!st.ok()) return respond(HttpResponse::Error(st));
      json arr = json::array();
      for (const auto& e : entries) arr.push_back(AuditJson(zone, e));
      return respond(
          JsonOk({{"line", line_id},
                  {"entries", arr},
                  {"next", entries.empty() ? json(nullptr) : json(entries.back().seq)}}));
    }
    if (sub == "topups") {
      if (method != "POST") return method_not_allowed();
      json body;
      Status st = ParseBody(req.body, &body);
      if (st.ok()) st = CheckFields(body, {"quota", "validity", "id"});
      TopUpSpec spec;
      if (st.ok()) {
        std::string q = StringField(body, "quota", &st);
        if (st.ok() && q.empty()) st = Status::InvalidArgument("quota: missing (e.g. \"1 GB\")");
        if (st.ok()) st = ParseBytes(q, &spec.quota_bytes).Prefixed("quota");
      }
      if (st.ok()) {
        std::string v = StringField(body, "validity", &st);
        if (st.ok() && v.empty()) st = Status::InvalidArgument("validity: missing (e.g. \"30d\")");
        if (st.ok()) st = ParseDurationMs(v, &spec.validity_ms).Prefixed("validity");
      }
      if (st.ok()) spec.id = StringField(body, "id", &st);
      if (st.ok() && spec.id.size() > kRecordFieldBytesMax)
        st = Status::InvalidArgument("id: too long");
      if (!st.ok()) return respond(HttpResponse::Error(st));
      auto created = std::make_shared<Bucket>();
      store::Ledger* ledger = ledger_;
      return commit_then(
          [id, spec, created](Meter& m, Millis t, Effects* fx) {
            return m.TopUp(id, spec, t, fx, created.get());
          },
          [ledger, id, created](const Status& s) {
            if (!s.ok()) return HttpResponse::Error(s);
            return ledger->Read([&](const Meter& m) {
              return JsonOk(BucketJson(m.BalanceOf(*m.FindLine(id)).zone, *created), 201);
            });
          });
    }
    if (sub == "alerts") {
      notify::ChannelRegistry* channels = options_.channels;
      notify::SmsOptOut* sms_opt_out = options_.sms.opt_out;
      // The thresholds (from the meter) and the channels of a line, as one object, and whether
      // alert SMS are on (off after the subscriber texted STOP).
      auto alerts_json = [channels, sms_opt_out](const Meter& m, const Line& l) {
        json j = ThresholdsJson(l, m.BalanceOf(l));
        json list = json::array();
        if (channels != nullptr) {
          for (const notify::Channel& c : channels->Of(l.id)) list.push_back(ChannelJson(c));
        }
        j["channels"] = std::move(list);
        j["sms_alerts"] = sms_opt_out == nullptr || !sms_opt_out->Stopped(l.id);
        return j;
      };
      if (method == "GET") {
        return respond(ledger_->Read([&](const Meter& m) {
          const Line* l = m.FindLine(id);
          if (l == nullptr) return not_found();
          return JsonOk(alerts_json(m, *l));
        }));
      }
      if (method != "PUT") return method_not_allowed();
      json body;
      Status st = ParseBody(req.body, &body);
      if (st.ok()) st = CheckFields(body, {"thresholds", "channels"});
      if (st.ok() && !body.contains("thresholds") && !body.contains("channels")) {
        st = Status::InvalidArgument("thresholds or channels: at least one is needed");
      }
      std::vector<Threshold> ths;
      if (st.ok() && body.contains("thresholds")) {
        if (!body["thresholds"].is_array()) {
          st = Status::InvalidArgument("thresholds: must be an array of strings");
        } else {
          size_t i = 0;
          for (const json& t : body["thresholds"]) {
            Threshold th;
            if (!t.is_string()) {
              st = Status::InvalidArgument("thresholds[" + std::to_string(i) +
                                           "]: must be a string");
              break;
            }
            st = Threshold::Parse(t.get<std::string>(), &th)
                     .Prefixed("thresholds[" + std::to_string(i) + "]");
            if (!st.ok()) break;
            ths.push_back(th);
            ++i;
          }
        }
      }
      std::vector<notify::ChannelSpec> specs;
      if (st.ok() && body.contains("channels")) st = ParseChannels(body["channels"], &specs);
      if (st.ok() && body.contains("channels") && channels == nullptr) {
        st = Status::InvalidArgument("channels: not available on this server");
      }
      if (!st.ok()) return respond(HttpResponse::Error(st));
      std::string line_id;
      Zone zone;
      if (!find_line_zone(&line_id, &zone)) return respond(not_found());
      if (body.contains("channels")) {
        // SMS channels go to the line's own number; an operator may name another one.
        const std::string own_msisdn = ledger_->Read([&](const Meter& m) {
          const Line* l = m.FindLine(line_id);
          return l ? l->msisdn : std::string();
        });
        st = channels->Set(line_id, specs, nullptr, own_msisdn, caller.role == Role::kAdmin);
        if (!st.ok()) return respond(HttpResponse::Error(st));
      }
      store::Ledger* ledger = ledger_;
      auto answer = [ledger, line_id, alerts_json](const Status& s) {
        if (!s.ok()) return HttpResponse::Error(s);
        return ledger->Read([&](const Meter& m) {
          const Line* l = m.FindLine(line_id);
          return l ? JsonOk(alerts_json(m, *l))
                   : HttpResponse::Error(Status::NotFound("line '" + line_id + "' does not exist"));
        });
      };
      if (!body.contains("thresholds")) return respond(answer(Status::Ok()));
      return commit_then(
          [line_id, ths](Meter& m, Millis t, Effects* fx) {
            return m.SetThresholds(line_id, ths, t, fx);
          },
          answer);
    }
  }
  return respond(HttpResponse::Error(Status::NotFound("no route for " + req.path)));
}

std::string Api::Metrics() const {
  const store::LedgerStats& s = ledger_->stats();
  std::string out;
  auto counter = [&](const char* name, const char* help, uint64_t v, const char* type = "counter") {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(v) + "\n";
  };
  counter("ryuryo_records_applied_total", "Usage records applied to a line.",
          s.records_applied.load());
  counter("ryuryo_records_duplicate_total", "Usage records dropped as duplicates.",
          s.records_duplicate.load());
  counter("ryuryo_records_rejected_total", "Usage records rejected as invalid.",
          s.records_rejected.load() + records_rejected_at_parse_.load(std::memory_order_relaxed));
  counter("ryuryo_records_quarantined_total", "Usage records kept aside for unknown lines.",
          s.records_quarantined.load());
  counter("ryuryo_bytes_applied_total", "Bytes of applied usage records.", s.bytes_applied.load());
  counter("ryuryo_batches_total", "Committed batches.", s.batches.load());
  counter("ryuryo_events_total", "Events raised.", s.events.load());
  counter("ryuryo_ingest_queue_records", "Records waiting for the meter.", s.queued_records.load(),
          "gauge");
  size_t lines = ledger_->Read([](const Meter& m) { return m.line_count(); });
  size_t pools = ledger_->Read([](const Meter& m) { return m.pool_count(); });
  counter("ryuryo_lines", "Provisioned lines.", lines, "gauge");
  counter("ryuryo_pools", "Provisioned pools.", pools, "gauge");
  counter("ryuryo_http_requests_total", "HTTP requests received.", http_requests_.load());
  counter("ryuryo_http_errors_total", "HTTP requests answered with a 5xx status.",
          http_errors_.load());
  counter("ryuryo_sms_received_total", "Incoming SMS accepted from Kannel.", sms_received_.load());
  counter("ryuryo_sms_unknown_limited_total",
          "Incoming SMS from unknown numbers left unanswered (rate limit).",
          sms_unknown_limited_.load());
  if (connections_)
    counter("ryuryo_http_connections", "Open HTTP connections.", connections_(), "gauge");
  if (options_.accounts != nullptr) {
    const Accounts::Stats a = options_.accounts->stats();
    counter("ryuryo_sign_ins_total", "Dashboard sign-ins that opened a session.", a.sign_ins);
    counter("ryuryo_sign_in_failures_total",
            "Sign-ins refused for a wrong account, password, admin token or login link.",
            a.sign_in_failures);
    counter("ryuryo_sign_ins_throttled_total",
            "Sign-ins refused because of too many failures from the account or address.",
            a.sign_ins_throttled);
    counter("ryuryo_sessions", "Live dashboard sessions.", a.sessions, "gauge");
  }
  out +=
      "# HELP ryuryo_commit_seconds Latency of a durable batch commit.\n"
      "# TYPE ryuryo_commit_seconds histogram\n";
  uint64_t cum = 0;
  for (size_t i = 0; i < store::LedgerStats::kCommitBuckets; ++i) {
    cum += s.commit_hist[i].load();
    std::string le = i + 1 < store::LedgerStats::kCommitBuckets
                         ? std::to_string(store::LedgerStats::kCommitBoundsS[i])
                         : "+Inf";
    if (le != "+Inf") {
      while (le.back() == '0') le.pop_back();
      if (le.back() == '.') le.pop_back();
    }
    out += "ryuryo_commit_seconds_bucket{le=\"" + le + "\"} " + std::to_string(cum) + "\n";
  }
  out += "ryuryo_commit_seconds_sum " + std::to_string(s.commit_sum_us.load() / 1e6) + "\n";
  out += "ryuryo_commit_seconds_count " + std::to_string(s.commit_count.load()) + "\n";
  if (options_.extra_metrics) out += options_.extra_metrics();
  return out;
}

}  // namespace ryuryo::api
