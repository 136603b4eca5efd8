// Memory per provisioned line and restart time at scale: provisions N lines (default 1,000,000)
// into a Meter and a RocksDB store, reports resident memory per line, then reopens the store and
// times the recovery of every line into a fresh Meter.
//
//   lines_bench [LINES] [DIR]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "core/meter.h"
#include "store/store.h"

using namespace ryuryo;

static size_t RssBytes() {
  std::ifstream f("/proc/self/statm");
  size_t pages = 0, rss = 0;
  f >> pages >> rss;
  return rss * 4096;
}

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::stoul(argv[1]) : 1'000'000;
  const std::string dir = argc > 2 ? argv[2] : "/tmp/ryuryo-lines-bench";
  std::filesystem::remove_all(dir);
  auto catalog = std::make_shared<Catalog>();
  Plan p;
  p.id = "mvno-20gb";
  p.quota_bytes = 20'000'000'000ULL;
  p.after_quota.action = QuotaAction::kThrottle;
  p.after_quota.rate_bps = 300'000;
  Threshold t;
  Threshold::Parse("80%", &t);
  p.alerts.push_back(t);
  if (Status st = catalog->Add(p); !st.ok()) return 1;
  const Millis now = 1795000000000;
  store::StoreOptions so;
  so.path = dir;
  so.sync = false;  // bulk load; recovery is what is measured
  {
    std::unique_ptr<store::Store> db;
    if (Status st = store::Store::Open(so, &db); !st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return 1;
    }
    size_t rss0 = RssBytes();
    auto meter = std::make_unique<Meter>(catalog);
    auto batch = std::make_unique<store::Batch>(db.get());
    for (size_t i = 0; i < n; ++i) {
      LineSpec s;
      s.id = "line-" + std::to_string(i);
      s.plan = "mvno-20gb";
      s.msisdn = std::to_string(819000000000ULL + i);
      Effects fx;
      meter->PutLine(s, now, &fx);
      batch->PutLine(meter->line(static_cast<uint32_t>(i)));
      if (batch->count() >= 10000) {
        db->Write(batch.get());
        batch = std::make_unique<store::Batch>(db.get());
      }
    }
    db->Write(batch.get());
    size_t rss1 = RssBytes();
    std::printf("lines=%zu sizeof_line=%zu rss_per_line_bytes=%.0f\n", n, sizeof(Line),
                static_cast<double>(rss1 - rss0) / static_cast<double>(n));
  }
  // Restart: open the store and recover every line.
  auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<store::Store> db;
  if (Status st = store::Store::Open(so, &db); !st.ok()) return 1;
  Meter meter(catalog);
  if (Status st = db->LoadInto(&meter); !st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("restart_lines=%zu restart_seconds=%.2f\n", meter.line_count(), secs);
  std::filesystem::remove_all(dir);
  return meter.line_count() == n ? 0 : 1;
}
