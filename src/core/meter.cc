#include "core/meter.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/quantity.h"
#include "core/uint128.h"

namespace ryuryo {

namespace {

// Buckets that expired are kept this long so that late records can still be charged to them.
constexpr Millis kExpiredBucketGraceMs = kMillisPerDay;
// Forecast: hourly EWMA with a half-life of 24 hours: (1 - alpha)^n == 2^(n * kEwmaDecayLog2).
constexpr double kEwmaDecayLog2 = -1.0 / 24.0;
const double kEwmaAlpha = 1.0 - std::pow(2.0, kEwmaDecayLog2);
// Records for hours this long before the newest hour seen are left out of the EWMA.
constexpr int64_t kRateHorizonHours = 24 * 31;

// Among buckets that expire together, the one that is worth least to keep goes first: rollover
// (lost at the cycle's end, like IIJmio's 繰り越し), then top-ups (never roll over), then the
// plan's own allowance (whose remainder may roll over).
int KindRank(BucketKind kind) {
  switch (kind) {
    case BucketKind::kRollover:
      return 0;
    case BucketKind::kTopup:
      return 1;
    case BucketKind::kPlan:
      return 2;
  }
  return 3;
}

bool BucketOrder(const Bucket& a, const Bucket& b) {
  if (a.expires_at != b.expires_at) return a.expires_at < b.expires_at;
  if (a.kind != b.kind) return KindRank(a.kind) < KindRank(b.kind);
  return a.id < b.id;
}

int64_t HourOf(Millis t) { return FloorHour(t) / kMillisPerHour; }

// (quota - remaining) / quota >= percent_bp / 10000, without overflow.
bool PercentMet(uint64_t quota, uint64_t remaining, uint32_t percent_bp) {
  return Uint128{quota - remaining} * 10000 >= Uint128{quota} * percent_bp;
}

}  // namespace

const char* BucketKindName(BucketKind kind) {
  switch (kind) {
    case BucketKind::kPlan:
      return "plan";
    case BucketKind::kRollover:
      return "rollover";
    case BucketKind::kTopup:
      return "topup";
  }
  return "?";
}

const char* LineStateName(LineState state) {
  switch (state) {
    case LineState::kNormal:
      return "normal";
    case LineState::kThrottled:
      return "throttled";
    case LineState::kBlocked:
      return "blocked";
  }
  return "?";
}

const char* StateReasonName(StateReason reason) {
  switch (reason) {
    case StateReason::kNone:
      return "";
    case StateReason::kQuota:
      return "quota";
    case StateReason::kFairUse:
      return "fair_use";
    case StateReason::kExpired:
      return "expired";
  }
  return "?";
}

std::string NormalizeMsisdn(std::string_view msisdn) {
  std::string out;
  out.reserve(msisdn.size());
  for (char c : msisdn) {
    if (c >= '0' && c <= '9') out.push_back(c);
  }
  return out;
}

int64_t OverageCostMicros(const AfterQuota& policy, uint64_t over_bytes) {
  if (policy.action != QuotaAction::kOverage || policy.unit_bytes == 0 || over_bytes == 0) return 0;
  uint64_t units = over_bytes / policy.unit_bytes + (over_bytes % policy.unit_bytes != 0 ? 1 : 0);
  // Saturate rather than overflow on absurd inputs.
  long double cost =
      static_cast<long double>(units) * static_cast<long double>(policy.price_micros);
  int64_t micros = cost > 9.0e18L ? INT64_MAX : static_cast<int64_t>(cost);
  if (policy.cap_micros >= 0) micros = std::min(micros, policy.cap_micros);
  return micros;
}

Meter::Meter(std::shared_ptr<const Catalog> catalog) : catalog_(std::move(catalog)) {}

// ---------------------------------------------------------------------------------------------
// Lookup

int64_t Meter::FindLineIndex(std::string_view key) const {
  if (key.starts_with("msisdn:")) return line_by_msisdn_.Find(NormalizeMsisdn(key.substr(7)));
  if (key.starts_with("imsi:")) return line_by_imsi_.Find(key.substr(5));
  if (key.starts_with("iccid:")) return line_by_iccid_.Find(key.substr(6));
  return line_by_id_.Find(key);
}

const Line* Meter::FindLine(std::string_view key) const {
  int64_t i = FindLineIndex(key);
  return i < 0 ? nullptr : lines_[static_cast<size_t>(i)].get();
}

const Pool* Meter::FindPool(std::string_view id) const {
  auto it = pool_by_id_.find(std::string(id));
  return it == pool_by_id_.end() ? nullptr : pools_[it->second].get();
}

const Balance& Meter::BalanceOf(const Line& line) const {
  if (line.pool.empty()) return line.own;
  return pools_[pool_by_id_.at(line.pool)]->balance;
}

Balance& Meter::BalanceAt(Owner o) {
  return o.is_pool ? pools_[o.index]->balance : lines_[o.index]->own;
}

Meter::Owner Meter::OwnerOf(uint32_t line_index) const {
  const Line& l = *lines_[line_index];
  if (l.pool.empty()) return {false, line_index};
  return {true, pool_by_id_.at(l.pool)};
}

void Meter::MarkDirty(Owner o, Effects* fx) {
  if (o.is_pool) {
    fx->dirty_pools.insert(o.index);
  } else {
    fx->dirty_lines.insert(o.index);
  }
}

void Meter::IndexLine(uint32_t index) {
  const Line& l = *lines_[index];
  line_by_id_.Put(l.id, index);
  if (!l.msisdn.empty()) line_by_msisdn_.Put(l.msisdn, index);
  if (!l.imsi.empty()) line_by_imsi_.Put(l.imsi, index);
  if (!l.iccid.empty()) line_by_iccid_.Put(l.iccid, index);
  if (!l.account.empty()) lines_by_account_[l.account].push_back(index);
}

void Meter::UnindexLine(const Line& l) {
  if (!l.msisdn.empty()) line_by_msisdn_.Erase(l.msisdn);
  if (!l.imsi.empty()) line_by_imsi_.Erase(l.imsi);
  if (!l.iccid.empty()) line_by_iccid_.Erase(l.iccid);
  if (!l.account.empty()) {
    auto it = lines_by_account_.find(l.account);
    if (it != lines_by_account_.end()) {
      std::erase(it->second, line_by_id_.Find(l.id));
      if (it->second.empty()) lines_by_account_.erase(it);
    }
  }
}

const std::vector<uint32_t>& Meter::LinesOfAccount(std::string_view account) const {
  static const std::vector<uint32_t> kNone;
  auto it = lines_by_account_.find(std::string(account));
  return it == lines_by_account_.end() ? kNone : it->second;
}

// ---------------------------------------------------------------------------------------------
// Events

Event Meter::NewEvent(EventType type, Owner o, const Line* trigger, Millis at) const {
  Event ev;
  ev.type = type;
  ev.at = at;
  const Balance& b = o.is_pool ? pools_[o.index]->balance : lines_[o.index]->own;
  if (o.is_pool) {
    ev.pool = pools_[o.index]->id;
    ev.account = pools_[o.index]->account;
    if (trigger != nullptr) ev.line = trigger->id;
  } else {
    ev.line = lines_[o.index]->id;
    ev.account = lines_[o.index]->account;
  }
  ev.used_bytes = b.cycle_bytes();
  ev.cycle_start = b.cycle_start;
  ev.cycle_end = b.cycle_end;
  if (b.plan != nullptr && b.plan->kind != PlanKind::kUnlimited) {
    ev.has_quota = true;
    for (const Bucket& k : b.buckets) {
      if (k.ValidAt(at)) {
        ev.quota_bytes += k.quota_bytes;
        ev.remaining_bytes += k.remaining();
      }
    }
  }
  return ev;
}

void Meter::Emit(Event ev, Effects* fx) {
  ev.seq = next_event_seq_++;
  fx->events.push_back(std::move(ev));
}

// ---------------------------------------------------------------------------------------------
// Cycles

void Meter::CycleAt(const Balance& b, Millis at, Millis* start, Millis* end) const {
  const Plan& p = *b.plan;
  LocalDate d = b.zone.DateAt(at);
  if (p.kind == PlanKind::kDaily) {
    *start = b.zone.StartOfDay(d);
    LocalDate next = d;
    next.day += 1;  // StartOfDay normalises overflow
    *end = b.zone.StartOfDay(next);
    return;
  }
  // Monthly (and the reporting cycle of unlimited plans): from the cycle day's local midnight.
  auto anchor = [&](int y, int m) {
    return b.zone.StartOfDay({y, m, std::min(p.cycle_day, DaysInMonth(y, m))});
  };
  int y = d.year, m = d.month;
  Millis this_anchor = anchor(y, m);
  if (at >= this_anchor) {
    int ny = y, nm = m;
    AddMonths(&ny, &nm, 1);
    *start = this_anchor;
    *end = anchor(ny, nm);
  } else {
    int py = y, pm = m;
    AddMonths(&py, &pm, -1);
    *start = anchor(py, pm);
    *end = this_anchor;
  }
}

void Meter::StartCycle(Balance* b, Millis start, Millis end, uint64_t rollover_bytes) {
  b->started = true;
  b->cycle_start = start;
  b->cycle_end = end;
  b->cycle_bytes_up = 0;
  b->cycle_bytes_down = 0;
  b->over_quota_bytes = 0;
  b->fired_mask = 0;
  b->exhausted_fired = false;
  b->exhausted_at = 0;
  std::erase_if(b->buckets, [&](const Bucket& k) { return k.expires_at <= start; });
  if (b->plan->quota_bytes > 0) {
    Bucket k;
    k.id = b->next_bucket_id++;
    k.kind = BucketKind::kPlan;
    k.quota_bytes = b->plan->quota_bytes;
    k.valid_from = start;
    k.expires_at = end;
    b->buckets.push_back(k);
  }
  if (rollover_bytes > 0) {
    Bucket k;
    k.id = b->next_bucket_id++;
    k.kind = BucketKind::kRollover;
    k.quota_bytes = rollover_bytes;
    k.valid_from = start;
    k.expires_at = end;
    b->buckets.push_back(k);
  }
  std::sort(b->buckets.begin(), b->buckets.end(), BucketOrder);
}

void Meter::InitBalance(Balance* b, const Plan* plan, const Zone& zone, Millis now,
                        std::optional<Millis> activated_at) {
  std::vector<Bucket> topups;
  for (Bucket& k : b->buckets) {
    if (k.kind == BucketKind::kTopup) topups.push_back(std::move(k));
  }
  uint32_t next_id = b->next_bucket_id;
  std::vector<Threshold> thresholds = std::move(b->thresholds);
  // The state the network enforces carries over, so that Evaluate() reports the transition
  // ("restored" when the new plan lifts a throttle).
  const LineState state = b->state;
  const StateReason reason = b->reason;
  *b = Balance();
  b->state = state;
  b->reason = reason;
  b->plan = plan;
  b->zone = zone;
  b->next_bucket_id = next_id;
  b->buckets = std::move(topups);
  b->thresholds = std::move(thresholds);
  b->rate_hour = HourOf(now);
  if (plan->fair_use) {
    b->fair_ring.assign(static_cast<size_t>(plan->fair_use->window_ms / kMillisPerHour), 0);
    b->fair_ring_hour = HourOf(now);
  }
  if (plan->kind == PlanKind::kPass) {
    if (plan->starts == PassStart::kActivation) {
      Millis at = activated_at.value_or(now);
      StartCycle(b, at, at + plan->validity_ms, 0);
    }
    return;
  }
  Millis start, end;
  CycleAt(*b, now, &start, &end);
  StartCycle(b, start, end, 0);
}

void Meter::AdvanceTo(Owner o, Millis now, Effects* fx) {
  Balance& b = BalanceAt(o);
  if (!b.started) return;
  bool changed = false;
  if (b.plan->kind != PlanKind::kPass) {
    while (b.cycle_end <= now) {
      ClosedCycle prev;
      prev.start = b.cycle_start;
      prev.end = b.cycle_end;
      prev.used_bytes = b.cycle_bytes();
      prev.over_quota_bytes = b.over_quota_bytes;
      uint64_t rollover = 0;
      for (const Bucket& k : b.buckets) {
        if (k.expires_at <= b.cycle_end) prev.buckets.push_back(k);
        if (b.plan->rollover && k.kind == BucketKind::kPlan && k.valid_from == b.cycle_start) {
          rollover = k.remaining();
        }
      }
      Millis start, end;
      CycleAt(b, b.cycle_end, &start, &end);
      assert(start == b.cycle_end);
      StartCycle(&b, start, end, rollover);
      if (rollover > 0) {
        for (const Bucket& k : b.buckets) {
          if (k.kind == BucketKind::kRollover && k.valid_from == start)
            prev.rollover_bucket_id = k.id;
        }
      }
      b.previous = std::move(prev);
      Emit(NewEvent(EventType::kReset, o, nullptr, start), fx);
      changed = true;
    }
  }
  // A pool's new cycle starts every member's share of it at zero.
  if (changed && o.is_pool) {
    for (uint32_t m : pools_[o.index]->members) {
      Line& member = *lines_[m];
      if (member.member_cycle_start == b.cycle_start) continue;
      member.member_cycle_start = b.cycle_start;
      member.member_cycle_bytes = 0;
      fx->dirty_lines.insert(m);
    }
  }
  // Drop buckets that expired long enough ago that no late record can reach them.
  size_t before = b.buckets.size();
  std::erase_if(b.buckets,
                [&](const Bucket& k) { return k.expires_at + kExpiredBucketGraceMs <= now; });
  if (changed || before != b.buckets.size()) MarkDirty(o, fx);
}

void Meter::Schedule(Owner o) {
  Balance& b = BalanceAt(o);
  Millis next = INT64_MAX;
  if (b.started) {
    if (b.plan->kind != PlanKind::kPass || b.cycle_end > clock_) next = b.cycle_end;
    for (const Bucket& k : b.buckets) {
      if (k.expires_at > clock_) next = std::min(next, k.expires_at);
      if (k.expires_at + kExpiredBucketGraceMs > clock_) {
        next = std::min(next, k.expires_at + kExpiredBucketGraceMs);
      }
    }
  }
  if (b.reason == StateReason::kFairUse) {
    next = std::min(next, FloorHour(clock_) + kMillisPerHour);
  }
  if (next == INT64_MAX || next == b.next_deadline) return;
  b.next_deadline = next;
  deadlines_.push({next, o.is_pool, o.index});
}

// ---------------------------------------------------------------------------------------------
// Forecast and fair use

namespace {

// The hourly EWMA after the hour holding `hour_bytes` closed and `hours_later` - 1 empty hours
// followed (the first hour seen starts the average).
double FoldEwma(double e, uint64_t hour_bytes, int64_t hours_later) {
  e = e == 0 && hour_bytes > 0
          ? static_cast<double>(hour_bytes)
          : e * (1 - kEwmaAlpha) + kEwmaAlpha * static_cast<double>(hour_bytes);
  int64_t gap = std::min<int64_t>(hours_later - 1, 24 * 62);
  if (gap > 0) e *= std::pow(1 - kEwmaAlpha, static_cast<double>(gap));
  return e;
}

}  // namespace

// A record counts in the hour it ended. The newest hour seen stays open in `hour_bytes`; a
// record for an earlier hour (late, or history backfilled in any order) goes straight into the
// average with the weight that hour has there now, alpha * (1 - alpha)^age, age being the hours
// between its end and the open hour: what it would have weighed had it arrived on time. That is
// linear, so late records give the same average whatever order they arrive in (up to rounding),
// and a day filled in late gives the average the line would have had with it on time. Records
// for hours kRateHorizonHours or more before the open hour are left out: all such hours together
// weigh 2^-31 of the average.
//
// Only the start-up rule depends on order: the first hour to close into an empty average seeds
// it at full weight (it stands for the hours before it too). Late records never seed it: the
// newest past hour arriving first cannot be told from the start of a newest-first backfill, and
// seeding from it would count the hours before it twice (such a backfill would read twice the
// real rate). So when a line's first records arrive late, the average is the plain weighted sum,
// which reads low by 2^-(hours of history / 24) of the rate, and the first hour to close after
// them no longer seeds it. Likewise a late record older than the hour that seeded the average
// adds to what the seed stood for; that excess halves every day with the seed's weight. The
// cycle average that ForecastOf blends in counts bytes alone and is not affected.
void Meter::AddRate(Balance* b, Millis at, uint64_t bytes) {
  int64_t h = HourOf(at);
  if (h > b->rate_hour) {
    b->ewma_bytes_per_hour = FoldEwma(b->ewma_bytes_per_hour, b->hour_bytes, h - b->rate_hour);
    b->rate_hour = h;
    b->hour_bytes = bytes;
  } else if (h == b->rate_hour) {
    b->hour_bytes += bytes;
  } else {
    int64_t age = b->rate_hour - 1 - h;
    if (age >= kRateHorizonHours) return;
    b->ewma_bytes_per_hour += kEwmaAlpha * std::exp2(static_cast<double>(age) * kEwmaDecayLog2) *
                              static_cast<double>(bytes);
  }
}

Forecast Meter::ForecastOf(const Balance& b, Millis now) const {
  Forecast f;
  if (b.plan == nullptr) return f;
  // The EWMA as of `now`, folding the hours since the last record.
  double e = b.ewma_bytes_per_hour;
  int64_t h = HourOf(now);
  if (h > b.rate_hour) {
    e = FoldEwma(e, b.hour_bytes, h - b.rate_hour);
  } else if (e == 0) {
    e = static_cast<double>(b.hour_bytes);
  }
  double rate = e;
  if (b.started && now > b.cycle_start) {
    double elapsed_h = std::max(1.0, static_cast<double>(now - b.cycle_start) / kMillisPerHour);
    double cycle_avg = static_cast<double>(b.cycle_bytes()) / elapsed_h;
    rate = 0.5 * e + 0.5 * cycle_avg;
  }
  f.rate_bytes_per_hour = rate;
  if (!b.started || b.plan->kind == PlanKind::kUnlimited) {
    f.projected_cycle_bytes = b.cycle_bytes();
    return f;
  }
  uint64_t remaining = 0;
  for (const Bucket& k : b.buckets) {
    if (k.ValidAt(now)) remaining += k.remaining();
  }
  Millis left_ms = std::max<Millis>(0, b.cycle_end - now);
  double hours_left = static_cast<double>(left_ms) / kMillisPerHour;
  f.projected_cycle_bytes = b.cycle_bytes() + static_cast<uint64_t>(rate * hours_left);
  if (remaining == 0) {
    if (b.exhausted_at != 0) f.exhausted_at = b.exhausted_at;
  } else if (rate > 0) {
    double hours = static_cast<double>(remaining) / rate;
    if (hours < hours_left) f.exhausted_at = now + static_cast<Millis>(hours * kMillisPerHour);
  }
  int64_t days_left = std::max<int64_t>(1, (left_ms + kMillisPerDay - 1) / kMillisPerDay);
  if (left_ms > 0) f.daily_budget_bytes = remaining / static_cast<uint64_t>(days_left);
  return f;
}

void Meter::AddFairUse(Balance* b, Millis at, uint64_t bytes) {
  if (b->fair_ring.empty()) return;
  const int64_t w = static_cast<int64_t>(b->fair_ring.size());
  int64_t h = HourOf(at);
  if (h > b->fair_ring_hour) {
    for (int64_t x = std::max(b->fair_ring_hour + 1, h - w + 1); x <= h; ++x) {
      b->fair_ring[static_cast<size_t>(x % w)] = 0;
    }
    b->fair_ring_hour = h;
  }
  if (h <= b->fair_ring_hour - w) return;  // older than the window
  b->fair_ring[static_cast<size_t>(h % w)] += bytes;
}

uint64_t Meter::FairUseWindowBytes(const Balance& b, Millis now) const {
  if (b.fair_ring.empty()) return 0;
  const int64_t w = static_cast<int64_t>(b.fair_ring.size());
  int64_t h_now = HourOf(now);
  int64_t lo = std::max(h_now - w + 1, b.fair_ring_hour - w + 1);
  int64_t hi = std::min(h_now, b.fair_ring_hour);
  uint64_t sum = 0;
  for (int64_t x = lo; x <= hi; ++x) sum += b.fair_ring[static_cast<size_t>(x % w)];
  return sum;
}

// ---------------------------------------------------------------------------------------------
// State

void Meter::Evaluate(Owner o, const Line* trigger, Millis now, Effects* fx,
                     std::string_view cause) {
  Balance& b = BalanceAt(o);
  const Plan& p = *b.plan;
  LineState want = LineState::kNormal;
  StateReason reason = StateReason::kNone;
  uint64_t rate_bps = 0;
  uint64_t quota = 0, remaining = 0;
  bool has_quota = p.kind != PlanKind::kUnlimited && b.started;
  if (has_quota) {
    for (const Bucket& k : b.buckets) {
      if (k.ValidAt(now)) {
        quota += k.quota_bytes;
        remaining += k.remaining();
      }
    }
    if (remaining == 0) {
      const bool expired = p.kind == PlanKind::kPass && now >= b.cycle_end;
      // A pass that runs out of time with data left has not used its quota up: no "exhausted".
      if (!b.exhausted_fired && !expired) {
        b.exhausted_fired = true;
        b.exhausted_at = now;
        Emit(NewEvent(EventType::kExhausted, o, trigger, now), fx);
        MarkDirty(o, fx);
      }
      reason = expired ? StateReason::kExpired : StateReason::kQuota;
      switch (p.after_quota.action) {
        case QuotaAction::kThrottle:
          want = LineState::kThrottled;
          rate_bps = p.after_quota.rate_bps;
          break;
        case QuotaAction::kBlock:
          want = LineState::kBlocked;
          break;
        case QuotaAction::kOverage:
          reason = StateReason::kNone;
          break;
      }
    }
  } else if (p.fair_use && FairUseWindowBytes(b, now) > p.fair_use->limit_bytes) {
    reason = StateReason::kFairUse;
    want = p.fair_use->action == QuotaAction::kBlock ? LineState::kBlocked : LineState::kThrottled;
    rate_bps = p.fair_use->rate_bps;
  }
  if (want != b.state || (want != LineState::kNormal && reason != b.reason)) {
    EventType type = want == LineState::kThrottled ? EventType::kThrottled
                     : want == LineState::kBlocked ? EventType::kBlocked
                                                   : EventType::kRestored;
    Event ev = NewEvent(type, o, trigger, now);
    ev.reason = want != LineState::kNormal ? std::string(StateReasonName(reason))
                : !cause.empty()           ? std::string(cause)
                                           : std::string(StateReasonName(b.reason));
    ev.rate_bps = rate_bps;
    Emit(std::move(ev), fx);
    b.state = want;
    b.reason = reason;
    MarkDirty(o, fx);
  }
  if (!has_quota || quota == 0) return;
  const std::vector<Threshold>& ths = b.EffectiveThresholds();
  for (size_t i = 0; i < ths.size(); ++i) {
    const uint64_t bit = uint64_t{1} << i;
    if (b.fired_mask & bit) continue;
    const Threshold& t = ths[i];
    bool met = false;
    Event ev;
    if (t.kind == Threshold::Kind::kPercent) {
      met = PercentMet(quota, remaining, t.percent_bp);
    } else if (t.kind == Threshold::Kind::kBytesLeft) {
      met = remaining <= t.bytes_left;
    } else {
      // Pace: the forecast runs out a good while before the reset, once the cycle has shown
      // enough use to trust it (10% of the quota, and 10% of the cycle or a day).
      Millis cycle_ms = b.cycle_end - b.cycle_start;
      Millis margin = cycle_ms >= 7 * kMillisPerDay ? kMillisPerDay : cycle_ms / 8;
      Millis warmup = std::min<Millis>(kMillisPerDay, cycle_ms / 10);
      if (remaining > 0 && (quota - remaining) * 10 >= quota && now - b.cycle_start >= warmup) {
        Forecast f = ForecastOf(b, now);
        if (f.exhausted_at && b.cycle_end - *f.exhausted_at >= margin) {
          met = true;
          ev.exhausted_at = *f.exhausted_at;
        }
      }
    }
    if (!met) continue;
    b.fired_mask |= bit;
    Event fired =
        NewEvent(t.kind == Threshold::Kind::kPace ? EventType::kPace : EventType::kThreshold, o,
                 trigger, now);
    fired.threshold = t.Label();
    fired.exhausted_at = ev.exhausted_at;
    Emit(std::move(fired), fx);
    MarkDirty(o, fx);
  }
}

// ---------------------------------------------------------------------------------------------
// Provisioning

Status Meter::PutPool(const PoolSpec& spec, Millis now, Effects* fx) {
  if (Status st = ValidateLineId(spec.id); !st.ok()) return st.Prefixed("pool id");
  const Plan* plan = catalog_->Find(spec.plan);
  if (plan == nullptr)
    return Status::InvalidArgument("plan: '" + spec.plan + "' is not in the catalog");
  Zone zone;
  RYURYO_RETURN_IF_ERROR(Zone::Find(spec.timezone.empty() ? plan->timezone : spec.timezone, &zone)
                             .Prefixed("timezone"));
  Tick(now, fx);
  auto it = pool_by_id_.find(spec.id);
  uint32_t index;
  if (it == pool_by_id_.end()) {
    auto pool = std::make_unique<Pool>();
    pool->id = spec.id;
    pool->account = spec.account;
    pool->created_at = now;
    InitBalance(&pool->balance, plan, zone, now, std::nullopt);
    index = static_cast<uint32_t>(pools_.size());
    pools_.push_back(std::move(pool));
    pool_by_id_[spec.id] = index;
  } else {
    index = it->second;
    Pool& pool = *pools_[index];
    pool.account = spec.account;
    if (pool.balance.plan != plan || pool.balance.zone.name() != zone.name()) {
      InitBalance(&pool.balance, plan, zone, now, std::nullopt);
    }
  }
  Owner o{true, index};
  Evaluate(o, nullptr, now, fx, "plan_change");
  Schedule(o);
  MarkDirty(o, fx);
  return Status::Ok();
}

Status Meter::PutLine(const LineSpec& spec, Millis now, Effects* fx) {
  if (Status st = ValidateLineId(spec.id); !st.ok()) return st.Prefixed("id");
  if (lines_.size() >= kLinesMax && line_by_id_.Find(spec.id) < 0) {
    return Status::ResourceExhausted("lines: the limit of " + std::to_string(kLinesMax) +
                                     " is reached");
  }
  const Plan* plan = nullptr;
  if (spec.pool.empty() || !spec.plan.empty()) {
    plan = catalog_->Find(spec.plan);
    if (plan == nullptr) {
      return Status::InvalidArgument(
          spec.plan.empty() ? "plan: missing" : "plan: '" + spec.plan + "' is not in the catalog");
    }
  }
  int64_t pool_index = -1;
  if (!spec.pool.empty()) {
    auto it = pool_by_id_.find(spec.pool);
    if (it == pool_by_id_.end())
      return Status::NotFound("pool: '" + spec.pool + "' does not exist");
    pool_index = it->second;
    if (pools_[it->second]->members.size() >= kPoolMembersMax) {
      return Status::ResourceExhausted("pool: '" + spec.pool + "' is full");
    }
  }
  Zone zone;
  std::string tz = !spec.timezone.empty() ? spec.timezone
                   : plan != nullptr      ? plan->timezone
                                          : pools_[pool_index]->balance.zone.name();
  RYURYO_RETURN_IF_ERROR(Zone::Find(tz, &zone).Prefixed("timezone"));
  std::string locale = spec.locale.empty() ? "ja" : spec.locale;
  if (locale != "ja" && locale != "zh" && locale != "en") {
    return Status::InvalidArgument("locale: '" + locale + "' is not one of ja, zh, en");
  }
  std::string msisdn = NormalizeMsisdn(spec.msisdn);
  if (!spec.msisdn.empty() && msisdn.empty())
    return Status::InvalidArgument("msisdn: has no digits");
  auto check_unique = [&](const LineIndex& m, const std::string& v, const char* field) -> Status {
    if (v.empty()) return Status::Ok();
    int64_t owner = m.Find(v);
    if (owner >= 0 && lines_[owner]->id != spec.id) {
      return Status::AlreadyExists(std::string(field) + ": already belongs to line '" +
                                   lines_[owner]->id + "'");
    }
    return Status::Ok();
  };
  RYURYO_RETURN_IF_ERROR(check_unique(line_by_msisdn_, msisdn, "msisdn"));
  RYURYO_RETURN_IF_ERROR(check_unique(line_by_imsi_, spec.imsi, "imsi"));
  RYURYO_RETURN_IF_ERROR(check_unique(line_by_iccid_, spec.iccid, "iccid"));
  for (const std::string* v : {&spec.imsi, &spec.iccid, &spec.account}) {
    if (v->size() > kLineIdBytesMax) return Status::InvalidArgument("identifier too long: " + *v);
  }

  Tick(now, fx);
  const int64_t existing = line_by_id_.Find(spec.id);
  const bool is_new = existing < 0;
  uint32_t index;
  if (is_new) {
    auto line = std::make_unique<Line>();
    line->id = spec.id;
    line->created_at = now;
    index = static_cast<uint32_t>(lines_.size());
    lines_.push_back(std::move(line));
  } else {
    index = static_cast<uint32_t>(existing);
    UnindexLine(*lines_[index]);
  }
  Line& l = *lines_[index];
  l.account = spec.account;
  l.msisdn = msisdn;
  l.imsi = spec.imsi;
  l.iccid = spec.iccid;
  l.locale = locale;
  IndexLine(index);
  // Pool membership.
  const bool left_pool = !l.pool.empty() && spec.pool.empty();
  if (l.pool != spec.pool) {
    if (!l.pool.empty()) {
      auto& members = pools_[pool_by_id_.at(l.pool)]->members;
      std::erase(members, index);
      fx->dirty_pools.insert(pool_by_id_.at(l.pool));
    }
    l.pool = spec.pool;
    l.member_cycle_bytes = 0;
    l.member_cycle_start = 0;
    if (pool_index >= 0) {
      pools_[pool_index]->members.push_back(index);
      l.member_cycle_start = pools_[pool_index]->balance.cycle_start;
      fx->dirty_pools.insert(static_cast<uint32_t>(pool_index));
    }
  }
  // The line's own balance (kept for pool members too when they name a plan, unused meanwhile).
  // A line back from a pool starts afresh: its own balance sat unused (and unscheduled) meanwhile.
  if (plan != nullptr &&
      (is_new || left_pool || l.own.plan != plan || l.own.zone.name() != zone.name())) {
    InitBalance(&l.own, plan, zone, now, spec.activated_at);
  }
  fx->dirty_lines.insert(index);
  if (l.pool.empty()) {
    Owner o{false, index};
    Evaluate(o, &l, now, fx, "plan_change");
    Schedule(o);
  }
  return Status::Ok();
}

Status Meter::RestorePool(std::unique_ptr<Pool> pool) {
  if (pool->balance.plan == nullptr) return Status::Internal("pool without a plan");
  uint32_t index = static_cast<uint32_t>(pools_.size());
  pool->members.clear();
  pool->balance.next_deadline = 0;
  pool_by_id_[pool->id] = index;
  pools_.push_back(std::move(pool));
  Schedule({true, index});
  return Status::Ok();
}

Status Meter::RestoreLine(std::unique_ptr<Line> line) {
  if (!line->pool.empty()) {
    auto it = pool_by_id_.find(line->pool);
    if (it == pool_by_id_.end()) {
      return Status::NotFound("line '" + line->id + "': pool '" + line->pool + "' is missing");
    }
    pools_[it->second]->members.push_back(static_cast<uint32_t>(lines_.size()));
  } else if (line->own.plan == nullptr) {
    return Status::Internal("line '" + line->id + "' has no plan");
  }
  uint32_t index = static_cast<uint32_t>(lines_.size());
  line->own.next_deadline = 0;
  lines_.push_back(std::move(line));
  IndexLine(index);
  if (lines_[index]->pool.empty()) Schedule({false, index});
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Time

void Meter::Tick(Millis now, Effects* fx) {
  if (now > clock_) clock_ = now;
  now = clock_;
  // Everything due, processed in a fixed order (pools, then lines, by index) rather than in
  // deadline order: a meter restored from the store holds other (earlier, redundant) deadlines
  // than the one that ran before, and must still emit the same events in the same order.
  std::vector<Owner> due;
  while (!deadlines_.empty() && deadlines_.top().at <= now) {
    Deadline d = deadlines_.top();
    deadlines_.pop();
    Owner o{d.is_pool, d.index};
    Balance& b = BalanceAt(o);
    if (b.next_deadline != d.at) continue;  // superseded
    b.next_deadline = 0;
    // The own balance of a line that joined a pool since is not in use: leave it be.
    if (!o.is_pool && !lines_[o.index]->pool.empty()) continue;
    due.push_back(o);
  }
  std::sort(due.begin(), due.end(), [](Owner x, Owner y) {
    if (x.is_pool != y.is_pool) return x.is_pool;
    return x.index < y.index;
  });
  for (Owner o : due) {
    Balance& b = BalanceAt(o);
    Millis cycle_before = b.cycle_start;
    AdvanceTo(o, now, fx);
    // A reset, an expiry or the window falling back: `restored` names the cause. Fair use is
    // not undone by a reset, so a fair-use restriction that ends names the window.
    std::string_view cause = b.reason == StateReason::kFairUse ? "fair_use"
                             : b.cycle_start != cycle_before   ? "reset"
                                                               : "";
    Evaluate(o, nullptr, now, fx, cause);
    Schedule(o);
  }
}

// ---------------------------------------------------------------------------------------------
// Usage

void Meter::DebitBuckets(std::vector<Bucket>* buckets, Millis at, uint64_t bytes,
                         Debit::Target target, std::vector<Debit>* debits, uint64_t* left) {
  uint64_t need = bytes;
  for (Bucket& k : *buckets) {  // already in consumption order
    if (need == 0) break;
    if (!k.ValidAt(at) || k.remaining() == 0) continue;
    uint64_t take = std::min(need, k.remaining());
    k.used_bytes += take;
    need -= take;
    debits->push_back({target, k.id, take});
  }
  *left = need;
}

void Meter::ChargeRecord(Owner o, Line* line, const UsageRecord& r, Millis now,
                         RecordOutcome* out) {
  Balance& b = BalanceAt(o);
  const uint64_t bytes = r.bytes();
  if (!b.started) {  // a first-use pass begins with its first record
    StartCycle(&b, r.start, r.start + b.plan->validity_ms, 0);
  }
  std::vector<Debit>& debits = out->debits;
  uint64_t left = 0;
  const bool is_pass = b.plan->kind == PlanKind::kPass;
  if (is_pass || r.end >= b.cycle_start) {
    // The current cycle. A record ending a little in the future (clock skew) still belongs here.
    Millis at = is_pass ? r.end : std::clamp(r.end, b.cycle_start, b.cycle_end - 1);
    if (is_pass && at < b.cycle_start) at = b.cycle_start;
    DebitBuckets(&b.buckets, at, bytes, Debit::Target::kBucket, &debits, &left);
    if (left > 0) {
      b.over_quota_bytes += left;
      debits.push_back({Debit::Target::kOverQuota, 0, left});
    }
    b.cycle_bytes_up += r.bytes_up;
    b.cycle_bytes_down += r.bytes_down;
    AddRate(&b, r.end, bytes);
    AddFairUse(&b, r.end, bytes);
    if (o.is_pool) {
      if (line->member_cycle_start != b.cycle_start) {
        line->member_cycle_start = b.cycle_start;
        line->member_cycle_bytes = 0;
      }
      line->member_cycle_bytes += bytes;
    }
  } else if (b.previous.end != 0 && r.end >= b.previous.start) {
    // A late record of the previous cycle: its buckets (and top-ups that span both cycles).
    out->late = true;
    ClosedCycle& prev = b.previous;
    std::vector<Debit> got;
    uint64_t need = bytes;
    // Merge both lists in consumption order without copying buckets.
    std::vector<Bucket*> order;
    for (Bucket& k : prev.buckets) order.push_back(&k);
    for (Bucket& k : b.buckets) {
      if (k.ValidAt(r.end)) order.push_back(&k);
    }
    std::sort(order.begin(), order.end(),
              [](const Bucket* x, const Bucket* y) { return BucketOrder(*x, *y); });
    uint64_t from_plan = 0;
    for (Bucket* k : order) {
      if (need == 0) break;
      if (!k->ValidAt(r.end) || k->remaining() == 0) continue;
      uint64_t take = std::min(need, k->remaining());
      k->used_bytes += take;
      need -= take;
      debits.push_back({Debit::Target::kPreviousCycle, k->id, take});
      if (k->kind == BucketKind::kPlan) from_plan += take;
    }
    if (need > 0) {
      prev.over_quota_bytes += need;
      debits.push_back({Debit::Target::kOverQuota, 0, need});
    }
    prev.used_bytes += bytes;
    AddFairUse(&b, r.end, bytes);  // a rolling window does not stop at the reset
    // What rolled over from the previous cycle was its unused plan allowance: it shrinks now.
    if (from_plan > 0 && prev.rollover_bucket_id != 0) {
      for (Bucket& k : b.buckets) {
        if (k.id != prev.rollover_bucket_id) continue;
        uint64_t cut = std::min(from_plan, k.quota_bytes);
        k.quota_bytes -= cut;
        if (k.used_bytes > k.quota_bytes) {
          // Use already taken from the rollover moves to the next buckets, or over quota.
          uint64_t excess = k.used_bytes - k.quota_bytes;
          k.used_bytes = k.quota_bytes;
          std::vector<Debit> moved;
          uint64_t rest = 0;
          DebitBuckets(&b.buckets, std::clamp(now, b.cycle_start, b.cycle_end - 1), excess,
                       Debit::Target::kBucket, &moved, &rest);
          b.over_quota_bytes += rest;
        }
        break;
      }
    }
  } else {
    out->late = true;  // a cycle before the previous one: counted, but no balance changes
    debits.push_back({Debit::Target::kClosed, 0, bytes});
  }
  line->total_bytes_up += r.bytes_up;
  line->total_bytes_down += r.bytes_down;
  line->last_record_at = std::max(line->last_record_at, r.end);
  uint64_t sum = 0;
  for (const Debit& d : debits) sum += d.bytes;
  assert(sum == bytes && "usage must be conserved");
  bytes_applied_ += bytes;
  bytes_debited_ += sum;
  ++records_applied_;
}

void Meter::Apply(const std::vector<UsageRecord>& records, Millis now, Effects* fx) {
  Tick(now, fx);
  now = clock_;
  // Outcomes are this call's, index for index (events and dirty sets accumulate).
  fx->outcomes.assign(records.size(), RecordOutcome{});
  std::vector<Owner> touched;
  std::unordered_map<std::string, size_t> quarantined;  // key -> event index in this batch
  for (size_t i = 0; i < records.size(); ++i) {
    const UsageRecord& r = records[i];
    RecordOutcome& out = fx->outcomes[i];
    if (r.end > now + kRecordFutureSkewMs) {
      out.kind = RecordOutcome::Kind::kRejected;
      out.error = Status::InvalidArgument("end: more than 5 minutes in the future");
      continue;
    }
    int64_t li = FindLineIndex(r.line);
    if (li < 0) {
      out.kind = RecordOutcome::Kind::kQuarantined;
      auto [it, inserted] = quarantined.try_emplace(r.line, fx->events.size());
      if (inserted) {
        Event ev;
        ev.type = EventType::kQuarantined;
        ev.at = now;
        ev.record_key = r.line;
        Emit(std::move(ev), fx);
      }
      fx->events[it->second].count += 1;
      fx->events[it->second].bytes += r.bytes();
      continue;
    }
    out.kind = RecordOutcome::Kind::kApplied;
    out.line = static_cast<uint32_t>(li);
    Owner o = OwnerOf(out.line);
    ChargeRecord(o, lines_[out.line].get(), r, now, &out);
    fx->dirty_lines.insert(out.line);
    MarkDirty(o, fx);
    touched.push_back(o);
    // Evaluate at once so that thresholds fire with the record that crossed them.
    Evaluate(o, lines_[out.line].get(), now, fx);
  }
  for (Owner o : touched) Schedule(o);
}

Status Meter::TopUp(std::string_view line_key, const TopUpSpec& spec, Millis now, Effects* fx,
                    Bucket* created) {
  int64_t li = FindLineIndex(line_key);
  if (li < 0) return Status::NotFound("line '" + std::string(line_key) + "' does not exist");
  if (spec.quota_bytes == 0) return Status::InvalidArgument("quota: missing or zero");
  if (spec.quota_bytes > kQuantityBytesMax) {
    return Status::InvalidArgument("quota: absurdly large");
  }
  if (spec.validity_ms <= 0) return Status::InvalidArgument("validity: missing or not positive");
  Tick(now, fx);
  now = clock_;
  Owner o = OwnerOf(static_cast<uint32_t>(li));
  Balance& b = BalanceAt(o);
  if (b.plan->kind == PlanKind::kUnlimited) {
    return Status::InvalidArgument("line '" + std::string(line_key) + "' is on an unlimited plan");
  }
  if (!spec.id.empty()) {
    for (const Bucket& k : b.buckets) {
      if (k.kind == BucketKind::kTopup && k.topup_id == spec.id) {
        *created = k;
        return Status::Ok();
      }
    }
  }
  if (b.buckets.size() >= kBucketsPerBalanceMax) {
    return Status::ResourceExhausted("buckets: this line already has 64");
  }
  if (!b.started) {
    // A first-use pass that is topped up before any use starts now.
    StartCycle(&b, now, now + b.plan->validity_ms, 0);
  }
  Bucket k;
  k.id = b.next_bucket_id++;
  k.kind = BucketKind::kTopup;
  k.quota_bytes = spec.quota_bytes;
  k.valid_from = now;
  k.expires_at = now + spec.validity_ms;
  k.topup_id = spec.id;
  b.buckets.push_back(k);
  std::sort(b.buckets.begin(), b.buckets.end(), BucketOrder);
  *created = k;
  // Top-ups re-arm what they undo: thresholds no longer met, and "exhausted".
  uint64_t quota = 0, remaining = 0;
  for (const Bucket& x : b.buckets) {
    if (x.ValidAt(now)) {
      quota += x.quota_bytes;
      remaining += x.remaining();
    }
  }
  const std::vector<Threshold>& ths = b.EffectiveThresholds();
  for (size_t i = 0; i < ths.size(); ++i) {
    const Threshold& t = ths[i];
    bool met = t.kind == Threshold::Kind::kPercent     ? PercentMet(quota, remaining, t.percent_bp)
               : t.kind == Threshold::Kind::kBytesLeft ? remaining <= t.bytes_left
                                                       : false;
    if (!met) b.fired_mask &= ~(uint64_t{1} << i);
  }
  if (remaining > 0) {
    b.exhausted_fired = false;
    b.exhausted_at = 0;
  }
  Event ev = NewEvent(EventType::kTopup, o, lines_[li].get(), now);
  ev.bytes = spec.quota_bytes;
  Emit(std::move(ev), fx);
  Evaluate(o, lines_[li].get(), now, fx, "topup");
  Schedule(o);
  MarkDirty(o, fx);
  return Status::Ok();
}

Status Meter::SetThresholds(std::string_view line_key, const std::vector<Threshold>& thresholds,
                            Millis now, Effects* fx) {
  int64_t li = FindLineIndex(line_key);
  if (li < 0) return Status::NotFound("line '" + std::string(line_key) + "' does not exist");
  if (thresholds.size() > kThresholdsMax) {
    return Status::InvalidArgument("thresholds: more than 32");
  }
  Tick(now, fx);
  now = clock_;
  Owner o = OwnerOf(static_cast<uint32_t>(li));
  Balance& b = BalanceAt(o);
  b.thresholds = thresholds;
  b.fired_mask = 0;
  // Mark what is already met as fired, without events: a settings change is not an alert.
  Effects quiet;
  uint64_t seq = next_event_seq_;
  Evaluate(o, lines_[li].get(), now, &quiet);
  for (Event& ev : quiet.events) {
    if (ev.type != EventType::kThreshold && ev.type != EventType::kPace) {
      ev.seq = 0;
      fx->events.push_back(std::move(ev));
    }
  }
  next_event_seq_ = seq;
  for (Event& ev : fx->events) {
    if (ev.seq == 0) ev.seq = next_event_seq_++;
  }
  MarkDirty(o, fx);
  return Status::Ok();
}

UsageView Meter::Usage(const Line& line, Millis now) const {
  UsageView v;
  v.line = &line;
  if (!line.pool.empty()) v.pool = FindPool(line.pool);
  const Balance& b = BalanceOf(line);
  v.balance = &b;
  const Plan& p = *b.plan;
  v.has_quota = p.kind != PlanKind::kUnlimited;
  v.used_bytes = b.cycle_bytes();
  if (v.has_quota) {
    if (!b.started) {
      v.quota_bytes = p.quota_bytes;
      v.remaining_bytes = p.quota_bytes;
    }
    for (const Bucket& k : b.buckets) {
      if (!k.ValidAt(now)) continue;
      v.buckets.push_back(&k);
      v.quota_bytes += k.quota_bytes;
      v.remaining_bytes += k.remaining();
    }
    if (p.after_quota.action == QuotaAction::kOverage) {
      v.overage_bytes = b.over_quota_bytes;
      v.overage_cost_micros = OverageCostMicros(p.after_quota, b.over_quota_bytes);
    }
  }
  if (b.state == LineState::kThrottled) {
    v.throttle_rate_bps =
        b.reason == StateReason::kFairUse ? p.fair_use->rate_bps : p.after_quota.rate_bps;
  }
  if (p.fair_use) v.fair_use_window_bytes = FairUseWindowBytes(b, now);
  v.forecast = ForecastOf(b, now);
  return v;
}

}  // namespace ryuryo
