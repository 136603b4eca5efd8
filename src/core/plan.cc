#include "core/plan.h"

#include <charconv>

#include "core/quantity.h"
#include "core/record.h"

namespace ryuryo {

namespace {
// "'text'" followed by `rest`. (Built by appending: GCC 12 warns falsely, -Wrestrict, about
// "literal" + std::string.)
std::string Quoted(std::string_view text, std::string_view rest) {
  std::string out;
  out.reserve(text.size() + rest.size() + 2);
  out.push_back('\'');
  out.append(text);
  out.push_back('\'');
  out.append(rest);
  return out;
}
}  // namespace

const char* PlanKindName(PlanKind kind) {
  switch (kind) {
    case PlanKind::kMonthly:
      return "monthly";
    case PlanKind::kDaily:
      return "daily";
    case PlanKind::kPass:
      return "pass";
    case PlanKind::kUnlimited:
      return "unlimited";
  }
  return "?";
}

const char* QuotaActionName(QuotaAction action) {
  switch (action) {
    case QuotaAction::kThrottle:
      return "throttle";
    case QuotaAction::kBlock:
      return "block";
    case QuotaAction::kOverage:
      return "overage";
  }
  return "?";
}

Status ParsePlanKind(std::string_view text, PlanKind* kind) {
  if (text == "monthly")
    *kind = PlanKind::kMonthly;
  else if (text == "daily")
    *kind = PlanKind::kDaily;
  else if (text == "pass")
    *kind = PlanKind::kPass;
  else if (text == "unlimited")
    *kind = PlanKind::kUnlimited;
  else {
    return Status::InvalidArgument(
        Quoted(text, " is not a plan kind (monthly, daily, pass, unlimited)"));
  }
  return Status::Ok();
}

Status ParseQuotaAction(std::string_view text, QuotaAction* action) {
  if (text == "throttle")
    *action = QuotaAction::kThrottle;
  else if (text == "block")
    *action = QuotaAction::kBlock;
  else if (text == "overage")
    *action = QuotaAction::kOverage;
  else {
    return Status::InvalidArgument(Quoted(text, " is not an action (throttle, block, overage)"));
  }
  return Status::Ok();
}

Status Threshold::Parse(std::string_view text, Threshold* out) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  Threshold t;
  if (text == "pace") {
    t.kind = Kind::kPace;
  } else if (!text.empty() && text.back() == '%') {
    t.kind = Kind::kPercent;
    RYURYO_RETURN_IF_ERROR(ParsePercentBp(text, &t.percent_bp));
    if (t.percent_bp == 0) return Status::InvalidArgument(Quoted(text, ": 0% never warns"));
  } else if (text.size() > 5 && text.substr(text.size() - 5) == " left") {
    t.kind = Kind::kBytesLeft;
    RYURYO_RETURN_IF_ERROR(ParseBytes(text.substr(0, text.size() - 5), &t.bytes_left));
  } else {
    return Status::InvalidArgument(
        Quoted(text, " is not a threshold (e.g. \"80%\", \"500 MB left\", \"pace\")"));
  }
  *out = t;
  return Status::Ok();
}

std::string Threshold::Label() const {
  switch (kind) {
    case Kind::kPercent:
      return FormatPercent(percent_bp);
    case Kind::kBytesLeft:
      return FormatBytes(bytes_left) + " left";
    case Kind::kPace:
      return "pace";
  }
  return "?";
}

Status Plan::Validate() const {
  auto bad = [&](std::string_view field, std::string_view why) {
    return Status::InvalidArgument("plan '" + id + "': " + std::string(field) + ": " +
                                   std::string(why));
  };
  if (id.empty()) return Status::InvalidArgument("plan: id: missing");
  if (Status st = ValidateLineId(id); !st.ok()) return bad("id", st.message());
  const bool has_quota = kind != PlanKind::kUnlimited;
  if (has_quota && quota_bytes == 0) return bad("quota", "missing or zero");
  if (!has_quota && quota_bytes != 0) return bad("quota", "an unlimited plan has no quota");
  if (cycle_day < 1 || cycle_day > 31) return bad("cycle_day", "must be 1..31");
  if (rollover && kind != PlanKind::kMonthly)
    return bad("rollover", "only monthly plans roll over");
  if (kind == PlanKind::kPass) {
    if (validity_ms <= 0) return bad("validity", "a pass needs a validity (e.g. \"8d\")");
  } else if (validity_ms != 0) {
    return bad("validity", "only passes have a validity");
  }
  if (kind == PlanKind::kUnlimited) {
    if (!fair_use) return bad("fair_use", "an unlimited plan needs a fair_use rule");
  } else if (fair_use) {
    return bad("fair_use", "only unlimited plans have a fair_use rule");
  }
  if (fair_use) {
    if (fair_use->window_ms < kMillisPerHour || fair_use->window_ms % kMillisPerHour != 0 ||
        fair_use->window_ms > kFairUseWindowMsMax) {
      return bad("fair_use.window", "must be whole hours, 1h..31d");
    }
    if (fair_use->limit_bytes == 0) return bad("fair_use.limit", "missing or zero");
    if (fair_use->action == QuotaAction::kOverage) {
      return bad("fair_use.action", "must be throttle or block");
    }
    if (fair_use->action == QuotaAction::kThrottle && fair_use->rate_bps == 0) {
      return bad("fair_use.rate", "a throttle needs a rate");
    }
  }
  if (has_quota) {
    const AfterQuota& a = after_quota;
    if (a.action == QuotaAction::kThrottle && a.rate_bps == 0) {
      return bad("after_quota.rate", "a throttle needs a rate (e.g. \"128 kbps\")");
    }
    if (a.action == QuotaAction::kOverage) {
      if (a.unit_bytes == 0)
        return bad("after_quota.unit", "overage needs a unit (e.g. \"100 MB\")");
      if (a.price_micros < 0) return bad("after_quota.price", "must not be negative");
      if (a.currency.size() != 3)
        return bad("after_quota.currency", "needs an ISO 4217 code (e.g. \"JPY\")");
      if (a.cap_micros < -1) return bad("after_quota.cap", "must not be negative");
    }
  }
  if (alerts.size() > kThresholdsMax) return bad("alerts", "more than 32 thresholds");
  Zone z;
  if (Status st = Zone::Find(timezone, &z); !st.ok()) return bad("timezone", st.message());
  return Status::Ok();
}

Status Catalog::Add(Plan plan) {
  RYURYO_RETURN_IF_ERROR(plan.Validate());
  if (by_id_.count(plan.id))
    return Status::AlreadyExists("plan '" + plan.id + "' is defined twice");
  if (plan.name.empty()) plan.name = plan.id;
  auto p = std::make_shared<const Plan>(std::move(plan));
  by_id_.emplace(p->id, p.get());
  plans_.push_back(std::move(p));
  return Status::Ok();
}

const Plan* Catalog::Find(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

namespace {
int CurrencyDecimals(std::string_view currency) {
  if (currency == "JPY" || currency == "KRW" || currency == "VND" || currency == "CLP" ||
      currency == "ISK" || currency == "TWD")
    return 0;
  return 2;
}
}  // namespace

std::string FormatMoney(int64_t micros, std::string_view currency) {
  int decimals = CurrencyDecimals(currency);
  bool negative = micros < 0;
  uint64_t v = negative ? static_cast<uint64_t>(-(micros + 1)) + 1 : static_cast<uint64_t>(micros);
  uint64_t whole = v / 1000000, frac = v % 1000000;
  std::string out = negative ? "-" : "";
  out += std::to_string(whole);
  // Show the currency's decimals, plus any finer non-zero digits so nothing is hidden.
  std::string f = std::to_string(frac);
  f.insert(0, 6 - f.size(), '0');
  size_t keep = f.size();
  while (keep > static_cast<size_t>(decimals) && f[keep - 1] == '0') --keep;
  if (keep > 0) {
    out += '.';
    out.append(f, 0, keep);
  }
  return out;
}

Status ParseMoneyMicros(std::string_view text, int64_t* micros) {
  std::string_view whole = text, frac;
  if (auto dot = text.find('.'); dot != std::string_view::npos) {
    whole = text.substr(0, dot);
    frac = text.substr(dot + 1);
  }
  auto bad = [&] { return Status::InvalidArgument(Quoted(text, " is not an amount")); };
  const bool has_dot = whole.size() != text.size();
  if (whole.empty() || frac.size() > 6 || (has_dot && frac.empty())) return bad();
  uint64_t w = 0;
  auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), w);
  if (ec != std::errc() || p != whole.data() + whole.size() || w > 9'000'000'000'000ULL)
    return bad();
  uint64_t f = 0;
  for (char c : frac) {
    if (c < '0' || c > '9') return bad();
    f = f * 10 + static_cast<uint64_t>(c - '0');
  }
  for (size_t i = frac.size(); i < 6; ++i) f *= 10;
  *micros = static_cast<int64_t>(w * 1000000 + f);
  return Status::Ok();
}

}  // namespace ryuryo
