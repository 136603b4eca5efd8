// In-process meter apply rate (no store, no network): how many usage records per second one
// core can apply to lines' balances, with thresholds, forecast and state evaluated per record.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <vector>

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

}  // namespace
}  // namespace ryuryo

BENCHMARK_MAIN();
