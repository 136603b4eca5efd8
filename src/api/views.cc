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

json UsageJson(const Meter& m, const Line& l, Millis now) {
  UsageView v = m.Usage(l, now);
  const Balance& b = *v.balance;
  const Plan& p = *b.plan;
  const Zone& z = b.zone;
  json j;
  j["line"] = l.id;
  j["plan"] = p.id;
  j["plan_name"] = p.name;
  j["plan_kind"] = PlanKindName(p.kind);
  j["timezone"] = z.name();
  j["locale"] = l.locale;
  j["used"] = v.used_bytes;
  j["bytes_up"] = b.cycle_bytes_up;
  j["bytes_down"] = b.cycle_bytes_down;
  j["quota"] = v.has_quota ? json(v.quota_bytes) : json(nullptr);
  j["remaining"] = v.has_quota ? json(v.remaining_bytes) : json(nullptr);
  json buckets = json::array();
  for (const Bucket* k : v.buckets) buckets.push_back(BucketJson(z, *k));
  j["buckets"] = buckets;
  if (b.started) {
    j["cycle"] = {{"start", z.FormatRfc3339(b.cycle_start)}, {"end", z.FormatRfc3339(b.cycle_end)}};
  } else {
    j["cycle"] = nullptr;  // a first-use pass not yet used
  }
  j["state"] = LineStateName(b.state);
  j["reason"] = b.reason == StateReason::kNone ? json(nullptr) : json(StateReasonName(b.reason));
  j["throttle_rate_bps"] = v.throttle_rate_bps > 0 ? json(v.throttle_rate_bps) : json(nullptr);
  json f;
  f["exhausted_at"] =
      v.forecast.exhausted_at ? json(z.FormatRfc3339(*v.forecast.exhausted_at)) : json(nullptr);
  f["projected_cycle_total"] = v.forecast.projected_cycle_bytes;
  f["daily_budget"] =
      v.forecast.daily_budget_bytes ? json(*v.forecast.daily_budget_bytes) : json(nullptr);
  f["rate_bytes_per_hour"] = static_cast<uint64_t>(v.forecast.rate_bytes_per_hour);
  j["forecast"] = f;
  if (p.kind != PlanKind::kUnlimited && p.after_quota.action == QuotaAction::kOverage) {
    const AfterQuota& a = p.after_quota;
    j["overage"] = {
        {"bytes", v.overage_bytes},
        {"cost", FormatMoney(v.overage_cost_micros, a.currency)},
        {"currency", a.currency},
        {"cap", a.cap_micros >= 0 ? json(FormatMoney(a.cap_micros, a.currency)) : json(nullptr)}};
  }
  if (p.fair_use) {
    j["fair_use"] = {{"window", FormatDuration(p.fair_use->window_ms)},
                     {"limit", p.fair_use->limit_bytes},
                     {"used", v.fair_use_window_bytes}};
  }
  if (v.pool != nullptr) {
    uint64_t member = l.member_cycle_start == b.cycle_start ? l.member_cycle_bytes : 0;
    j["pool"] = {{"id", v.pool->id}, {"member_used", member}, {"members", v.pool->members.size()}};
  }
  j["as_of"] = z.FormatRfc3339(now);
  j["last_record_at"] = TimeOrNull(z, l.last_record_at);
  j["display"] = {
      {"used", FormatBytes(v.used_bytes)},
      {"quota", v.has_quota ? json(FormatBytes(v.quota_bytes)) : json(nullptr)},
      {"remaining", v.has_quota ? json(FormatBytes(v.remaining_bytes)) : json(nullptr)}};
  return j;
}

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
