// In-process meter apply rate (no store, no network): how many usage records per second one
// core can apply to lines' balances, with thresholds, forecast and state evaluated per record.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <vector>

#include "api/views.h"
#include "core/meter.h"

namespace ryuryo {
namespace {

constexpr Millis kStart = 1795000000000;  // 2026-11-18, a Wednesday

std::shared_ptr<Catalog> BenchCatalog() {
  auto catalog = std::make_shared<Catalog>();
  Plan p;
  p.id = "mvno-20gb";
  p.kind = PlanKind::kMonthly;
  p.quota_bytes = 20'000'000'000ULL;
  p.rollover = true;
  p.after_quota.action = QuotaAction::kThrottle;
  p.after_quota.rate_bps = 300'000;
  Threshold t;
  Threshold::Parse("50%", &t);
  p.alerts.push_back(t);
  Threshold::Parse("80%", &t);
  p.alerts.push_back(t);
  Threshold::Parse("1 GB left", &t);
  p.alerts.push_back(t);
  Threshold::Parse("pace", &t);
  p.alerts.push_back(t);
  catalog->Add(p);
  return catalog;
}

void BM_MeterApply(benchmark::State& state) {
  const size_t lines = static_cast<size_t>(state.range(0));
  const size_t batch = 4096;
  Meter meter(BenchCatalog());
  Effects fx;
  for (size_t i = 0; i < lines; ++i) {
    LineSpec s;
    s.id = "line-" + std::to_string(i);
    s.plan = "mvno-20gb";
    meter.PutLine(s, kStart, &fx);
  }
  std::mt19937_64 rng(42);
  std::vector<std::vector<UsageRecord>> batches(64);
  Millis t = kStart;
  for (auto& b : batches) {
    b.resize(batch);
    for (auto& r : b) {
      r.line = "line-" + std::to_string(rng() % lines);
      r.bytes_up = rng() % 20000;
      r.bytes_down = rng() % 200000;
      r.start = t;
      r.end = t + 60000;
      t += 10;
    }
  }
  size_t i = 0;
  Millis now = t;
  for (auto _ : state) {
    Effects out;
    out.outcomes.reserve(batch);
    meter.Apply(batches[i++ % batches.size()], now, &out);
    benchmark::DoNotOptimize(out.events.size());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
  state.counters["conserved"] = meter.bytes_applied() == meter.bytes_debited() ? 1 : 0;
}
BENCHMARK(BM_MeterApply)->Arg(1000)->Arg(100000)->Unit(benchmark::kMicrosecond);

// The usage of one line as the live stream renders it: the snapshot (what runs under the ledger's
// lock) and the JSON text (what runs after it), separately.
void BM_UsageRender(benchmark::State& state) {
  const bool json = state.range(0) != 0;
  Meter meter(BenchCatalog());
  Effects fx;
  LineSpec s;
  s.id = "line-1";
  s.plan = "mvno-20gb";
  meter.PutLine(s, kStart, &fx);
  UsageRecord r;
  r.line = "line-1";
  r.bytes_down = 3'000'000'000ULL;
  r.start = kStart + 3'600'000;
  r.end = kStart + 7'200'000;
  meter.Apply({r}, r.end, &fx);
  const Line& line = *meter.FindLine("line-1");
  const Millis now = r.end + 60'000;
  size_t bytes = 0;
  for (auto _ : state) {
    api::UsageSnapshot u = api::UsageOf(meter, line, now);
    if (json) {
      std::string text =
          api::UsageJson(u).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      bytes = text.size();
      benchmark::DoNotOptimize(text);
    } else {
      benchmark::DoNotOptimize(u);
    }
  }
  state.counters["json_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_UsageRender)->ArgName("json")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ryuryo

BENCHMARK_MAIN();
