#include "api/views.h"

#include "core/quantity.h"

namespace ryuryo::api {

namespace {

json TimeOrNull(const Zone& z, Millis t) {
  return t == 0 ? json(nullptr) : json(z.FormatRfc3339(t));
}

}  // namespace

json LineJson(const Meter& m, const Line& l) {
  const Balance& b = m.BalanceOf(l);
  json j;
  j["id"] = l.id;
  j["plan"] = b.plan ? b.plan->id : "";
  j["account"] = l.account.empty() ? json(nullptr) : json(l.account);
  j["msisdn"] = l.msisdn.empty() ? json(nullptr) : json("+" + l.msisdn);
  j["imsi"] = l.imsi.empty() ? json(nullptr) : json(l.imsi);
  j["iccid"] = l.iccid.empty() ? json(nullptr) : json(l.iccid);
  j["timezone"] = b.zone.name();
  j["locale"] = l.locale;
  j["pool"] = l.pool.empty() ? json(nullptr) : json(l.pool);
  j["created_at"] = b.zone.FormatRfc3339(l.created_at);
  j["state"] = LineStateName(b.state);
  return j;
}

json PoolJson(const Meter& m, const Pool& p) {
  json members = json::array();
  for (uint32_t i : p.members) {
    const Line& l = m.line(i);
    members.push_back(
        {{"line", l.id},
         {"used", l.member_cycle_start == p.balance.cycle_start ? l.member_cycle_bytes : 0}});
  }
  return {{"id", p.id},
          {"plan", p.balance.plan->id},
          {"account", p.account.empty() ? json(nullptr) : json(p.account)},
          {"timezone", p.balance.zone.name()},
          {"members", members}};
}

json BucketJson(const Zone& z, const Bucket& k) {
  return {{"id", k.id},
          {"kind", BucketKindName(k.kind)},
          {"quota", k.quota_bytes},
          {"used", k.used_bytes},
          {"remaining", k.remaining()},
          {"valid_from", z.FormatRfc3339(k.valid_from)},
          {"expires_at", z.FormatRfc3339(k.expires_at)},
          {"topup_id", k.topup_id.empty() ? json(nullptr) : json(k.topup_id)}};
}

UsageSnapshot UsageOf(const Meter& m, const Line& l, Millis now) {
  UsageView v = m.Usage(l, now);
  const Balance& b = *v.balance;
  const Plan& p = *b.plan;
  UsageSnapshot u;
  u.line = l.id;
  u.plan = p.id;
  u.plan_name = p.name;
  u.plan_kind = p.kind;
  u.locale = l.locale;
  u.zone = b.zone;
  u.has_quota = v.has_quota;
  u.used_bytes = v.used_bytes;
  u.quota_bytes = v.quota_bytes;
  u.remaining_bytes = v.remaining_bytes;
  u.bytes_up = b.cycle_bytes_up;
  u.bytes_down = b.cycle_bytes_down;
  u.buckets.reserve(v.buckets.size());
  for (const Bucket* k : v.buckets) u.buckets.push_back(*k);
  u.started = b.started;
  u.cycle_start = b.cycle_start;
  u.cycle_end = b.cycle_end;
  u.state = b.state;
  u.reason = b.reason;
  u.throttle_rate_bps = v.throttle_rate_bps;
  u.forecast = v.forecast;
  if (p.kind != PlanKind::kUnlimited && p.after_quota.action == QuotaAction::kOverage) {
    u.overage = p.after_quota;
  }
  u.overage_bytes = v.overage_bytes;
  u.overage_cost_micros = v.overage_cost_micros;
  u.fair_use = p.fair_use;
  u.fair_use_window_bytes = v.fair_use_window_bytes;
  if (v.pool != nullptr) {
    u.pool = v.pool->id;
    u.pool_member_used_bytes = l.member_cycle_start == b.cycle_start ? l.member_cycle_bytes : 0;
    u.pool_members = v.pool->members.size();
  }
  u.as_of = now;
  u.last_record_at = l.last_record_at;
  return u;
}

json UsageJson(const UsageSnapshot& u) {
  const Zone& z = u.zone;
  json j;
  j["line"] = u.line;
  j["plan"] = u.plan;
  j["plan_name"] = u.plan_name;
  j["plan_kind"] = PlanKindName(u.plan_kind);
  j["timezone"] = z.name();
  j["locale"] = u.locale;
  j["used"] = u.used_bytes;
  j["bytes_up"] = u.bytes_up;
  j["bytes_down"] = u.bytes_down;
  j["quota"] = u.has_quota ? json(u.quota_bytes) : json(nullptr);
  j["remaining"] = u.has_quota ? json(u.remaining_bytes) : json(nullptr);
  json buckets = json::array();
  for (const Bucket& k : u.buckets) buckets.push_back(BucketJson(z, k));
  j["buckets"] = buckets;
  if (u.started) {
    j["cycle"] = {{"start", z.FormatRfc3339(u.cycle_start)}, {"end", z.FormatRfc3339(u.cycle_end)}};
  } else {
    j["cycle"] = nullptr;  // a first-use pass not yet used
  }
  j["state"] = LineStateName(u.state);
  j["reason"] = u.reason == StateReason::kNone ? json(nullptr) : json(StateReasonName(u.reason));
  j["throttle_rate_bps"] = u.throttle_rate_bps > 0 ? json(u.throttle_rate_bps) : json(nullptr);
  const Forecast& fc = u.forecast;
  json f;
  f["exhausted_at"] = fc.exhausted_at ? json(z.FormatRfc3339(*fc.exhausted_at)) : json(nullptr);
  f["projected_cycle_total"] = fc.projected_cycle_bytes;
  f["daily_budget"] = fc.daily_budget_bytes ? json(*fc.daily_budget_bytes) : json(nullptr);
  f["rate_bytes_per_hour"] = static_cast<uint64_t>(fc.rate_bytes_per_hour);
  j["forecast"] = f;
  if (u.overage) {
    const AfterQuota& a = *u.overage;
    j["overage"] = {
        {"bytes", u.overage_bytes},
        {"cost", FormatMoney(u.overage_cost_micros, a.currency)},
        {"currency", a.currency},
        {"cap", a.cap_micros >= 0 ? json(FormatMoney(a.cap_micros, a.currency)) : json(nullptr)}};
  }
  if (u.fair_use) {
    j["fair_use"] = {{"window", FormatDuration(u.fair_use->window_ms)},
                     {"limit", u.fair_use->limit_bytes},
                     {"used", u.fair_use_window_bytes}};
  }
  if (!u.pool.empty()) {
    j["pool"] = {
        {"id", u.pool}, {"member_used", u.pool_member_used_bytes}, {"members", u.pool_members}};
  }
  j["as_of"] = z.FormatRfc3339(u.as_of);
  j["last_record_at"] = TimeOrNull(z, u.last_record_at);
  j["display"] = {
      {"used", FormatBytes(u.used_bytes)},
      {"quota", u.has_quota ? json(FormatBytes(u.quota_bytes)) : json(nullptr)},
      {"remaining", u.has_quota ? json(FormatBytes(u.remaining_bytes)) : json(nullptr)}};
  return j;
}

json UsageJson(const Meter& m, const Line& l, Millis now) { return UsageJson(UsageOf(m, l, now)); }

json AuditJson(const Zone& zone, const store::AuditEntry& e) {
  json debits = json::array();
  for (const Debit& d : e.debits) {
    const char* target = d.target == Debit::Target::kBucket          ? "bucket"
                         : d.target == Debit::Target::kOverQuota     ? "over_quota"
                         : d.target == Debit::Target::kPreviousCycle ? "previous_cycle"
                                                                     : "closed_cycle";
    json dj = {{"target", target}, {"bytes", d.bytes}};
    if (d.bucket_id != 0) dj["bucket"] = d.bucket_id;
    debits.push_back(dj);
  }
  return {{"seq", e.seq},
          {"record", e.record_id},
          {"bytes_up", e.bytes_up},
          {"bytes_down", e.bytes_down},
          {"start", zone.FormatRfc3339(e.start)},
          {"end", zone.FormatRfc3339(e.end)},
          {"applied_at", zone.FormatRfc3339(e.applied_at)},
          {"app", e.app.empty() ? json(nullptr) : json(e.app)},
          {"device", e.device.empty() ? json(nullptr) : json(e.device)},
          {"source", e.source.empty() ? json(nullptr) : json(e.source)},
          {"late", e.late},
          {"debits", debits}};
}

json ThresholdsJson(const Line& l, const Balance& b) {
  json ths = json::array();
  for (const Threshold& t : b.EffectiveThresholds()) ths.push_back(t.Label());
  return {{"line", l.id}, {"thresholds", ths}, {"inherited", b.thresholds.empty()}};
}

}  // namespace ryuryo::api
