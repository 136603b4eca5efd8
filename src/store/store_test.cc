// Store: column families, Batch atomicity, dedup states, rollup merges, audit paging, events,
// quarantine, outbox, and that everything survives a reopen.
#include "store/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/meter.h"
#include "core/plan.h"
#include "core/record.h"
#include "core/test_util.h"
#include "core/timeutil.h"

namespace ryuryo::store {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

Plan MonthlyPlan(std::string id, uint64_t quota) {
  Plan p;
  p.id = std::move(id);
  p.kind = PlanKind::kMonthly;
  p.quota_bytes = quota;
  p.cycle_day = 1;
  p.after_quota.action = QuotaAction::kThrottle;
  p.after_quota.rate_bps = 128'000;
  p.timezone = "UTC";
  Status st = Threshold::Parse("80%", &p.alerts.emplace_back());
  EXPECT_TRUE(st.ok()) << st.ToString();
  return p;
}

std::shared_ptr<Catalog> TestCatalog() {
  auto c = std::make_shared<Catalog>();
  EXPECT_TRUE(c->Add(MonthlyPlan("m10", 10 * kGB)).ok());
  EXPECT_TRUE(c->Add(MonthlyPlan("family", 30 * kGB)).ok());
  return c;
}

UsageRecord Rec(std::string id, std::string line, uint64_t up, uint64_t down, Millis start,
                Millis end) {
  UsageRecord r;
  r.id = std::move(id);
  r.line = std::move(line);
  r.bytes_up = up;
  r.bytes_down = down;
  r.start = start;
  r.end = end;
  return r;
}

class StoreTest : public ::testing::Test {
 protected:
  StoreTest() : catalog_(TestCatalog()) { Open(); }

  void Open() {
    store_.reset();
    StoreOptions o;
    o.path = dir_.path() + "/db";
    Status st = Store::Open(o, &store_);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  void Write(Batch* b) {
    Status st = store_->Write(b);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  std::vector<HistoryPoint> History(const std::string& line, char g, Millis from, Millis to,
                                    char by = 0) {
    std::vector<HistoryPoint> points;
    Status st = store_->ReadHistory(line, g, from, to, by, &points);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return points;
  }

  std::vector<AuditEntry> Audit(const std::string& line, uint64_t before, size_t limit) {
    std::vector<AuditEntry> entries;
    Status st = store_->ReadAudit(line, before, limit, &entries);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return entries;
  }

  static std::vector<uint64_t> Seqs(const std::vector<AuditEntry>& entries) {
    std::vector<uint64_t> out;
    for (const AuditEntry& e : entries) out.push_back(e.seq);
    return out;
  }

  TempDir dir_;
  std::shared_ptr<Catalog> catalog_;
  std::unique_ptr<Store> store_;
};

// ---------------------------------------------------------------------------------------------
// Open

TEST(StoreOpenTest, FailsWhenThePathIsAFile) {
  TempDir dir;
  std::string file = dir.path() + "/not-a-dir";
  std::ofstream(file) << "x";
  StoreOptions o;
  o.path = file;
  std::unique_ptr<Store> store;
  Status st = Store::Open(o, &store);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_THAT(st.message(), ::testing::HasSubstr(file));
  EXPECT_EQ(store, nullptr);
}

TEST_F(StoreTest, OptionsAreKept) {
  EXPECT_EQ(store_->options().path, dir_.path() + "/db");
  EXPECT_TRUE(store_->options().sync);
}

// ---------------------------------------------------------------------------------------------
// Lines and pools

TEST_F(StoreTest, LinesAndPoolsLoadIntoAFreshMeter) {
  const Millis now = T("2026-03-10T12:00:00Z");
  Meter meter(catalog_);
  Effects fx;
  PoolSpec pool;
  pool.id = "fam";
  pool.plan = "family";
  pool.account = "tanaka";
  ASSERT_TRUE(meter.PutPool(pool, now, &fx).ok());
  LineSpec a;
  a.id = "line-a";
  a.plan = "m10";
  a.account = "acct-a";
  a.msisdn = "+81 90-1234-5678";
  a.imsi = "440101234500001";
  a.locale = "en";
  ASSERT_TRUE(meter.PutLine(a, now, &fx).ok());
  LineSpec b;
  b.id = "line-b";
  b.pool = "fam";
  b.account = "tanaka";
  b.iccid = "8981100000000000003";
  ASSERT_TRUE(meter.PutLine(b, now, &fx).ok());
  LineSpec c;
  c.id = "line-c";
  c.pool = "fam";
  ASSERT_TRUE(meter.PutLine(c, now, &fx).ok());

  // Some usage so that the state is not just the initial one.
  Effects ufx;
  meter.Apply({Rec("r1", "line-a", 1000, 9 * kGB, now - 600'000, now - 1000),
               Rec("r2", "line-b", 5, 7, now - 600'000, now - 1000)},
              now, &ufx);
  ASSERT_EQ(ufx.outcomes.size(), 2u);
  ASSERT_EQ(ufx.outcomes[0].kind, RecordOutcome::Kind::kApplied);
  ASSERT_EQ(ufx.outcomes[1].kind, RecordOutcome::Kind::kApplied);

  Batch batch(store_.get());
  EXPECT_EQ(batch.count(), 0u);
  for (size_t i = 0; i < meter.pool_count(); ++i)
    batch.PutPool(meter.pool(static_cast<uint32_t>(i)));
  for (size_t i = 0; i < meter.line_count(); ++i)
    batch.PutLine(meter.line(static_cast<uint32_t>(i)));
  EXPECT_EQ(batch.count(), 4u);
  Write(&batch);

  auto check = [&](Store* store) {
    Meter fresh(catalog_);
    Status st = store->LoadInto(&fresh);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_EQ(fresh.line_count(), 3u);
    ASSERT_EQ(fresh.pool_count(), 1u);
    const Line* la = fresh.FindLine("line-a");
    ASSERT_NE(la, nullptr);
    EXPECT_EQ(la->account, "acct-a");
    EXPECT_EQ(la->msisdn, "819012345678");
    EXPECT_EQ(la->imsi, "440101234500001");
    EXPECT_EQ(la->locale, "en");
    EXPECT_EQ(la->total_bytes_up, 1000u);
    EXPECT_EQ(la->total_bytes_down, 9 * kGB);
    EXPECT_EQ(la->own.plan->id, "m10");
    EXPECT_EQ(fresh.FindLine("msisdn:+819012345678"), la);
    EXPECT_EQ(fresh.FindLine("imsi:440101234500001"), la);
    const Line& orig_a = *meter.FindLine("line-a");
    EXPECT_EQ(la->own.cycle_bytes(), orig_a.own.cycle_bytes());
    EXPECT_EQ(la->own.fired_mask, orig_a.own.fired_mask);
    EXPECT_EQ(la->own.state, orig_a.own.state);
    EXPECT_EQ(fresh.Usage(*la, now).used_bytes, meter.Usage(orig_a, now).used_bytes);
    EXPECT_EQ(fresh.Usage(*la, now).remaining_bytes, meter.Usage(orig_a, now).remaining_bytes);

    const Line* lb = fresh.FindLine("iccid:8981100000000000003");
    ASSERT_NE(lb, nullptr);
    EXPECT_EQ(lb->id, "line-b");
    EXPECT_EQ(lb->pool, "fam");
    const Pool* p = fresh.FindPool("fam");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->account, "tanaka");
    EXPECT_EQ(p->balance.plan->id, "family");
    EXPECT_EQ(p->balance.cycle_bytes(), 12u);
    EXPECT_EQ(p->members.size(), 2u);
    EXPECT_EQ(fresh.Usage(*lb, now).used_bytes, 12u);
  };
  check(store_.get());
  Open();  // reopen: the same again
  check(store_.get());
}

TEST_F(StoreTest, LoadIntoAnEmptyStoreLoadsNothing) {
  Meter fresh(catalog_);
  ASSERT_TRUE(store_->LoadInto(&fresh).ok());
  EXPECT_EQ(fresh.line_count(), 0u);
  EXPECT_EQ(fresh.pool_count(), 0u);
}

TEST_F(StoreTest, LoadIntoFailsWhenThePlanIsGoneFromTheCatalog) {
  const Millis now = T("2026-03-10T12:00:00Z");
  Meter meter(catalog_);
  Effects fx;
  LineSpec a;
  a.id = "line-a";
  a.plan = "m10";
  ASSERT_TRUE(meter.PutLine(a, now, &fx).ok());
  Batch batch(store_.get());
  batch.PutLine(meter.line(0));
  Write(&batch);

  auto other = std::make_shared<Catalog>();
  ASSERT_TRUE(other->Add(MonthlyPlan("something-else", kGB)).ok());
  Meter fresh(other);
  Status st = store_->LoadInto(&fresh);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(), ::testing::HasSubstr("m10"));
}

// ---------------------------------------------------------------------------------------------
// Meta

TEST_F(StoreTest, MetaIsZeroWhenAbsentAndKeepsValues) {
  uint64_t v = 77;
  ASSERT_TRUE(store_->GetMeta("next_event_seq", &v).ok());
  EXPECT_EQ(v, 0u);
  Batch b(store_.get());
  b.PutMeta("next_event_seq", 42);
  b.PutMeta("big", UINT64_MAX);
  Write(&b);
  ASSERT_TRUE(store_->GetMeta("next_event_seq", &v).ok());
  EXPECT_EQ(v, 42u);
  ASSERT_TRUE(store_->GetMeta("big", &v).ok());
  EXPECT_EQ(v, UINT64_MAX);
  Batch b2(store_.get());
  b2.PutMeta("next_event_seq", 43);
  Write(&b2);
  Open();
  ASSERT_TRUE(store_->GetMeta("next_event_seq", &v).ok());
  EXPECT_EQ(v, 43u);
}

// ---------------------------------------------------------------------------------------------
// Dedup

TEST_F(StoreTest, DedupStates) {
  const Millis now = T("2026-03-10T12:00:00Z");
  std::vector<DedupState> states;
  ASSERT_TRUE(store_->LookupDedup({}, &states).ok());
  EXPECT_THAT(states, IsEmpty());
  ASSERT_TRUE(store_->LookupDedup({"id:a"}, &states).ok());
  EXPECT_THAT(states, ElementsAre(DedupState::kUnseen));

  Batch b(store_.get());
  b.PutDedup("id:a", DedupState::kApplied, now);
  b.PutDedup("id:q", DedupState::kQuarantined, now);
  b.PutDedup("h:0123456789abcdef0123456789abcdef", DedupState::kApplied, now);
  Write(&b);

  ASSERT_TRUE(
      store_
          ->LookupDedup(
              {"id:q", "id:missing", "id:a", "h:0123456789abcdef0123456789abcdef", "id:a"}, &states)
          .ok());
  EXPECT_THAT(states,
              ElementsAre(DedupState::kQuarantined, DedupState::kUnseen, DedupState::kApplied,
                          DedupState::kApplied, DedupState::kApplied));

  // A quarantined record that is later applied moves to kApplied.
  Batch b2(store_.get());
  b2.PutDedup("id:q", DedupState::kApplied, now + 1000);
  Write(&b2);
  Open();
  ASSERT_TRUE(store_->LookupDedup({"id:q", "id:a", "id:b"}, &states).ok());
  EXPECT_THAT(states, ElementsAre(DedupState::kApplied, DedupState::kApplied, DedupState::kUnseen));
}

TEST_F(StoreTest, DedupLookupOfManyKeys) {
  const Millis now = T("2026-03-10T12:00:00Z");
  Batch b(store_.get());
  std::vector<std::string> keys;
  for (int i = 0; i < 2000; ++i) {
    keys.push_back("id:k" + std::to_string(i));
    if (i % 3 == 0) b.PutDedup(keys.back(), DedupState::kApplied, now);
    if (i % 3 == 1) b.PutDedup(keys.back(), DedupState::kQuarantined, now);
  }
  Write(&b);
  std::vector<DedupState> states;
  ASSERT_TRUE(store_->LookupDedup(keys, &states).ok());
  ASSERT_EQ(states.size(), keys.size());
  for (int i = 0; i < 2000; ++i) {
    DedupState want = i % 3 == 0   ? DedupState::kApplied
                      : i % 3 == 1 ? DedupState::kQuarantined
                                   : DedupState::kUnseen;
    ASSERT_EQ(states[i], want) << i;
  }
}

// ---------------------------------------------------------------------------------------------
// Rollups

TEST_F(StoreTest, RollupsMergeAcrossBatchesAndReadByRange) {
  const Millis h0 = T("2026-03-10T10:00:00Z");
  const Millis h1 = h0 + kMillisPerHour;
  const Millis h2 = h0 + 2 * kMillisPerHour;
  const Millis d0 = T("2026-03-10T00:00:00Z");
  {
    Batch b(store_.get());
    b.AddRollup("a", 'h', h0, 't', "", 10, 20);
    b.AddRollup("a", 'h', h0, 'a', "youtube", 7, 8);
    b.AddRollup("a", 'h', h0, 'd', "phone", 10, 20);
    b.AddRollup("a", 'd', d0, 't', "", 10, 20);
    b.AddRollup("a", 'h', h1, 't', "", 1, 2);
    b.AddRollup("a", 'h', h1, 'a', "maps", 1, 2);
    b.AddRollup("ab", 'h', h0, 't', "", 1000, 1000);  // another line: never mixed in
    Write(&b);
  }
  {
    Batch b(store_.get());
    b.AddRollup("a", 'h', h0, 't', "", 5, 5);
    b.AddRollup("a", 'h', h0, 'a', "youtube", 3, 2);
    b.AddRollup("a", 'h', h0, 'a', "line", 2, 3);
    b.AddRollup("a", 'd', d0, 't', "", 5, 5);
    b.AddRollup("a", 'h', h2, 't', "", 100, 200);
    Write(&b);
  }
  // Also a second merge in one batch to the same key.
  {
    Batch b(store_.get());
    b.AddRollup("a", 'h', h2, 't', "", 1, 1);
    b.AddRollup("a", 'h', h2, 't', "", 1, 1);
    Write(&b);
  }

  auto check = [&] {
    auto all = History("a", 'h', 0, INT64_MAX);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].start, h0);
    EXPECT_EQ(all[0].bytes_up, 15u);
    EXPECT_EQ(all[0].bytes_down, 25u);
    EXPECT_EQ(all[0].name, "");
    EXPECT_EQ(all[1].start, h1);
    EXPECT_EQ(all[1].bytes_up, 1u);
    EXPECT_EQ(all[1].bytes_down, 2u);
    EXPECT_EQ(all[2].start, h2);
    EXPECT_EQ(all[2].bytes_up, 102u);
    EXPECT_EQ(all[2].bytes_down, 202u);

    // Bounds: [from, to).
    auto mid = History("a", 'h', h1, h2);
    ASSERT_EQ(mid.size(), 1u);
    EXPECT_EQ(mid[0].start, h1);
    auto from_h1 = History("a", 'h', h1, INT64_MAX);
    ASSERT_EQ(from_h1.size(), 2u);
    EXPECT_EQ(from_h1[0].start, h1);
    EXPECT_EQ(from_h1[1].start, h2);
    auto to_h1 = History("a", 'h', 0, h1);
    ASSERT_EQ(to_h1.size(), 1u);
    EXPECT_EQ(to_h1[0].start, h0);
    EXPECT_THAT(History("a", 'h', h2 + 1, INT64_MAX), IsEmpty());
    EXPECT_THAT(History("a", 'h', h0, h0), IsEmpty());
    // Negative bounds are clamped to 0.
    EXPECT_EQ(History("a", 'h', -5, INT64_MAX).size(), 3u);

    // By app: one point per (start, name), names sorted within a start.
    auto apps = History("a", 'h', 0, INT64_MAX, 'a');
    ASSERT_EQ(apps.size(), 3u);
    EXPECT_EQ(apps[0].start, h0);
    EXPECT_EQ(apps[0].name, "line");
    EXPECT_EQ(apps[0].bytes_up, 2u);
    EXPECT_EQ(apps[0].bytes_down, 3u);
    EXPECT_EQ(apps[1].start, h0);
    EXPECT_EQ(apps[1].name, "youtube");
    EXPECT_EQ(apps[1].bytes_up, 10u);
    EXPECT_EQ(apps[1].bytes_down, 10u);
    EXPECT_EQ(apps[2].start, h1);
    EXPECT_EQ(apps[2].name, "maps");
    auto apps_h1 = History("a", 'h', h1, h2, 'a');
    ASSERT_EQ(apps_h1.size(), 1u);
    EXPECT_EQ(apps_h1[0].name, "maps");

    auto devices = History("a", 'h', 0, INT64_MAX, 'd');
    ASSERT_EQ(devices.size(), 1u);
    EXPECT_EQ(devices[0].name, "phone");
    EXPECT_EQ(devices[0].bytes_up, 10u);

    // Days are their own granularity.
    auto days = History("a", 'd', 0, INT64_MAX);
    ASSERT_EQ(days.size(), 1u);
    EXPECT_EQ(days[0].start, d0);
    EXPECT_EQ(days[0].bytes_up, 15u);
    EXPECT_EQ(days[0].bytes_down, 25u);
    EXPECT_THAT(History("a", 'd', 0, INT64_MAX, 'a'), IsEmpty());

    // Other lines are separate, including ones whose id extends this one.
    auto ab = History("ab", 'h', 0, INT64_MAX);
    ASSERT_EQ(ab.size(), 1u);
    EXPECT_EQ(ab[0].bytes_up, 1000u);
    EXPECT_THAT(History("nobody", 'h', 0, INT64_MAX), IsEmpty());
  };
  check();
  Open();
  check();
}

TEST_F(StoreTest, RollupsAddLargeValuesWithoutLoss) {
  const Millis h0 = T("2026-03-10T10:00:00Z");
  for (int i = 0; i < 50; ++i) {
    Batch b(store_.get());
    b.AddRollup("big", 'h', h0, 't', "", kRecordBytesMax, kRecordBytesMax - 1);
    Write(&b);
  }
  auto p = History("big", 'h', 0, INT64_MAX);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].bytes_up, 50 * kRecordBytesMax);
  EXPECT_EQ(p[0].bytes_down, 50 * (kRecordBytesMax - 1));
}

// ---------------------------------------------------------------------------------------------
// Audit

AuditEntry MakeAudit(uint64_t seq, Millis at) {
  AuditEntry e;
  e.seq = seq;
  e.record_id = "id:r" + std::to_string(seq);
  e.bytes_up = seq * 10;
  e.bytes_down = seq * 100;
  e.start = at - 60'000;
  e.end = at;
  e.applied_at = at + 5;
  e.device = "dev" + std::to_string(seq);
  e.app = "app";
  e.source = "http";
  e.late = seq % 2 == 0;
  e.debits.push_back({Debit::Target::kBucket, 1, seq * 100});
  e.debits.push_back({Debit::Target::kOverQuota, 0, seq * 10});
  return e;
}

TEST_F(StoreTest, AuditNewestFirstWithPaging) {
  const Millis at = T("2026-03-10T12:00:00Z");
  Batch b(store_.get());
  for (uint64_t s : {1, 2, 4, 5, 7}) b.PutAudit("a", MakeAudit(s, at + static_cast<Millis>(s)));
  b.PutAudit("b", MakeAudit(3, at));
  b.PutAudit("ab", MakeAudit(6, at));
  b.PutAudit("", MakeAudit(8, at));  // odd line ids must not leak either
  Write(&b);

  auto check = [&] {
    EXPECT_THAT(Seqs(Audit("a", 0, 100)), ElementsAre(7, 5, 4, 2, 1));
    EXPECT_THAT(Seqs(Audit("a", 0, 2)), ElementsAre(7, 5));
    EXPECT_THAT(Seqs(Audit("a", 5, 2)), ElementsAre(4, 2));
    EXPECT_THAT(Seqs(Audit("a", 2, 2)), ElementsAre(1));
    EXPECT_THAT(Seqs(Audit("a", 1, 2)), IsEmpty());
    EXPECT_THAT(Seqs(Audit("a", 6, 10)), ElementsAre(5, 4, 2, 1));
    EXPECT_THAT(Seqs(Audit("a", 100, 10)), ElementsAre(7, 5, 4, 2, 1));
    EXPECT_THAT(Seqs(Audit("a", 0, 0)), IsEmpty());
    EXPECT_THAT(Seqs(Audit("b", 0, 10)), ElementsAre(3));
    EXPECT_THAT(Seqs(Audit("ab", 0, 10)), ElementsAre(6));
    EXPECT_THAT(Seqs(Audit("nobody", 0, 10)), IsEmpty());
    EXPECT_THAT(Seqs(Audit("0", 0, 10)), IsEmpty());
    EXPECT_THAT(Seqs(Audit("zzz", 0, 10)), IsEmpty());

    // Every field round-trips.
    auto one = Audit("a", 5, 1);
    ASSERT_EQ(one.size(), 1u);
    const AuditEntry want = MakeAudit(4, at + 4);
    const AuditEntry& got = one[0];
    EXPECT_EQ(got.seq, 4u);
    EXPECT_EQ(got.record_id, want.record_id);
    EXPECT_EQ(got.bytes_up, want.bytes_up);
    EXPECT_EQ(got.bytes_down, want.bytes_down);
    EXPECT_EQ(got.start, want.start);
    EXPECT_EQ(got.end, want.end);
    EXPECT_EQ(got.applied_at, want.applied_at);
    EXPECT_EQ(got.device, want.device);
    EXPECT_EQ(got.app, want.app);
    EXPECT_EQ(got.source, want.source);
    EXPECT_EQ(got.late, want.late);
    ASSERT_EQ(got.debits.size(), 2u);
    EXPECT_EQ(got.debits[0].target, Debit::Target::kBucket);
    EXPECT_EQ(got.debits[0].bucket_id, 1u);
    EXPECT_EQ(got.debits[0].bytes, 400u);
    EXPECT_EQ(got.debits[1].target, Debit::Target::kOverQuota);
    EXPECT_EQ(got.debits[1].bytes, 40u);
  };
  check();
  Open();
  check();
}

TEST_F(StoreTest, AuditPagingWalksEverything) {
  const Millis at = T("2026-03-10T12:00:00Z");
  Batch b(store_.get());
  for (uint64_t s = 1; s <= 300; ++s) {
    b.PutAudit(s % 3 == 0 ? "other" : "a", MakeAudit(s, at));
  }
  Write(&b);
  std::vector<uint64_t> seen;
  uint64_t before = 0;
  for (int page = 0; page < 100; ++page) {
    auto entries = Audit("a", before, 7);
    if (entries.empty()) break;
    for (const AuditEntry& e : entries) seen.push_back(e.seq);
    before = entries.back().seq;
  }
  ASSERT_EQ(seen.size(), 200u);
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_GT(seen[i - 1], seen[i]);
  for (uint64_t s : seen) EXPECT_NE(s % 3, 0u);
}

// ---------------------------------------------------------------------------------------------
// Events

TEST_F(StoreTest, EventsAfterAndLimit) {
  Batch b(store_.get());
  for (uint64_t s = 1; s <= 5; ++s) {
    b.PutEvent(s, "{\"seq\":" + std::to_string(s) + "}");
  }
  Write(&b);

  auto check = [&] {
    std::vector<std::string> json;
    uint64_t last = 99;
    ASSERT_TRUE(store_->ReadEvents(0, 100, &json, &last).ok());
    EXPECT_THAT(json, ElementsAre("{\"seq\":1}", "{\"seq\":2}", "{\"seq\":3}", "{\"seq\":4}",
                                  "{\"seq\":5}"));
    EXPECT_EQ(last, 5u);

    json.clear();
    ASSERT_TRUE(store_->ReadEvents(2, 2, &json, &last).ok());
    EXPECT_THAT(json, ElementsAre("{\"seq\":3}", "{\"seq\":4}"));
    EXPECT_EQ(last, 4u);

    json.clear();
    ASSERT_TRUE(store_->ReadEvents(5, 10, &json, &last).ok());
    EXPECT_THAT(json, IsEmpty());
    EXPECT_EQ(last, 5u);  // unchanged: `after` when nothing is newer

    json.clear();
    ASSERT_TRUE(store_->ReadEvents(1000, 10, &json, &last).ok());
    EXPECT_THAT(json, IsEmpty());
    EXPECT_EQ(last, 1000u);

    json.clear();
    ASSERT_TRUE(store_->ReadEvents(0, 0, &json, &last).ok());
    EXPECT_THAT(json, IsEmpty());
    EXPECT_EQ(last, 0u);

    std::string one;
    ASSERT_TRUE(store_->ReadEvent(3, &one).ok());
    EXPECT_EQ(one, "{\"seq\":3}");
    Status st = store_->ReadEvent(6, &one);
    EXPECT_EQ(st.code(), Status::Code::kNotFound);
  };
  check();
  Open();
  check();
}

TEST_F(StoreTest, EventsAfterTheLargestSeqAreNone) {
  // GET /v1/events?after=18446744073709551615 passes UINT64_MAX through: after + 1 must not wrap
  // around to 0 and return the log from its start.
  Batch b(store_.get());
  for (uint64_t s = 1; s <= 3; ++s) b.PutEvent(s, std::to_string(s));
  Write(&b);
  std::vector<std::string> json;
  uint64_t last = 0;
  ASSERT_TRUE(store_->ReadEvents(UINT64_MAX, 10, &json, &last).ok());
  EXPECT_THAT(json, IsEmpty());
  EXPECT_EQ(last, UINT64_MAX);
  json.clear();
  ASSERT_TRUE(store_->ReadEvents(UINT64_MAX - 1, 10, &json, &last).ok());
  EXPECT_THAT(json, IsEmpty());
}

TEST_F(StoreTest, EventsOrderBySeqNumericallyNotLexically) {
  Batch b(store_.get());
  for (uint64_t s : {9ull, 10ull, 255ull, 256ull, 65536ull, 1ull << 40}) {
    b.PutEvent(s, std::to_string(s));
  }
  Write(&b);
  std::vector<std::string> json;
  uint64_t last = 0;
  ASSERT_TRUE(store_->ReadEvents(0, 100, &json, &last).ok());
  EXPECT_THAT(json, ElementsAre("9", "10", "255", "256", "65536", std::to_string(1ull << 40)));
  EXPECT_EQ(last, 1ull << 40);
  json.clear();
  ASSERT_TRUE(store_->ReadEvents(255, 100, &json, &last).ok());
  EXPECT_THAT(json, ElementsAre("256", "65536", std::to_string(1ull << 40)));
}

// ---------------------------------------------------------------------------------------------
// Quarantine

QuarantineEntry MakeQuarantine(uint64_t seq, Millis at) {
  QuarantineEntry q;
  q.seq = seq;
  q.received_at = at;
  q.record = Rec("rec-" + std::to_string(seq), "msisdn:81900000" + std::to_string(seq), seq,
                 2 * seq, at - 60'000, at);
  q.record.device = "dev";
  q.record.app = "app";
  q.record.source = "radius";
  return q;
}

TEST_F(StoreTest, QuarantinePutListDelete) {
  const Millis at = T("2026-03-10T12:00:00Z");
  Batch b(store_.get());
  for (uint64_t s = 1; s <= 4; ++s) b.PutQuarantine(MakeQuarantine(s, at + static_cast<Millis>(s)));
  Write(&b);

  auto list = [&](uint64_t after, size_t limit) {
    std::vector<QuarantineEntry> entries;
    Status st = store_->ListQuarantine(after, limit, &entries);
    EXPECT_TRUE(st.ok()) << st.ToString();
    std::vector<uint64_t> seqs;
    for (const auto& e : entries) seqs.push_back(e.seq);
    return std::make_pair(seqs, entries);
  };
  EXPECT_THAT(list(0, 100).first, ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(list(1, 2).first, ElementsAre(2, 3));
  EXPECT_THAT(list(4, 2).first, IsEmpty());

  auto [seqs, entries] = list(2, 1);
  ASSERT_EQ(entries.size(), 1u);
  const QuarantineEntry want = MakeQuarantine(3, at + 3);
  EXPECT_EQ(entries[0].seq, 3u);
  EXPECT_EQ(entries[0].received_at, want.received_at);
  EXPECT_EQ(entries[0].record.id, want.record.id);
  EXPECT_EQ(entries[0].record.line, want.record.line);
  EXPECT_EQ(entries[0].record.bytes_up, want.record.bytes_up);
  EXPECT_EQ(entries[0].record.bytes_down, want.record.bytes_down);
  EXPECT_EQ(entries[0].record.start, want.record.start);
  EXPECT_EQ(entries[0].record.end, want.record.end);
  EXPECT_EQ(entries[0].record.device, "dev");
  EXPECT_EQ(entries[0].record.app, "app");
  EXPECT_EQ(entries[0].record.source, "radius");

  Batch d(store_.get());
  d.DeleteQuarantine(2);
  d.DeleteQuarantine(4);
  d.DeleteQuarantine(99);  // deleting what is not there is fine
  Write(&d);
  EXPECT_THAT(list(0, 100).first, ElementsAre(1, 3));
  Open();
  EXPECT_THAT(list(0, 100).first, ElementsAre(1, 3));
}

TEST_F(StoreTest, QuarantineAfterTheLargestSeqIsEmpty) {
  // GET /v1/quarantine?after=18446744073709551615: after + 1 must not wrap around to 0.
  Batch b(store_.get());
  b.PutQuarantine(MakeQuarantine(1, T("2026-03-10T12:00:00Z")));
  Write(&b);
  std::vector<QuarantineEntry> entries;
  ASSERT_TRUE(store_->ListQuarantine(UINT64_MAX, 10, &entries).ok());
  EXPECT_THAT(entries, IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// Outbox

TEST_F(StoreTest, OutboxListUpdateDelete) {
  const Millis at = T("2026-03-10T12:00:00Z");
  Batch b(store_.get());
  for (auto [seq, ep] :
       std::vector<std::pair<uint64_t, uint32_t>>{{2, 0}, {1, 256}, {1, 1}, {1, 0}, {300, 2}}) {
    OutboxEntry o;
    o.event_seq = seq;
    o.endpoint = ep;
    o.next_attempt_at = at;
    b.PutOutbox(o);
  }
  Write(&b);

  auto list = [&](size_t limit = 100) {
    std::vector<OutboxEntry> entries;
    Status st = store_->ListOutbox(limit, &entries);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return entries;
  };
  auto keys = [](const std::vector<OutboxEntry>& entries) {
    std::vector<std::pair<uint64_t, uint32_t>> out;
    for (const auto& e : entries) out.emplace_back(e.event_seq, e.endpoint);
    return out;
  };
  using P = std::pair<uint64_t, uint32_t>;
  auto all = list();
  EXPECT_THAT(keys(all), ElementsAre(P{1, 0}, P{1, 1}, P{1, 256}, P{2, 0}, P{300, 2}));
  for (const auto& e : all) {
    EXPECT_EQ(e.attempts, 0u);
    EXPECT_EQ(e.next_attempt_at, at);
    EXPECT_EQ(e.last_error, "");
    EXPECT_FALSE(e.dead);
  }
  EXPECT_THAT(keys(list(2)), ElementsAre(P{1, 0}, P{1, 1}));

  OutboxEntry u = all[1];
  u.attempts = 3;
  u.next_attempt_at = at + 4000;
  u.last_error = "HTTP 500";
  ASSERT_TRUE(store_->UpdateOutbox(u).ok());
  OutboxEntry dead = all[4];
  dead.attempts = 40;
  dead.dead = true;
  dead.last_error = "connection refused";
  ASSERT_TRUE(store_->UpdateOutbox(dead).ok());
  ASSERT_TRUE(store_->DeleteOutbox(all[0]).ok());
  ASSERT_TRUE(store_->DeleteOutbox(all[3]).ok());

  auto check = [&] {
    auto now = list();
    ASSERT_THAT(keys(now), ElementsAre(P{1, 1}, P{1, 256}, P{300, 2}));
    EXPECT_EQ(now[0].attempts, 3u);
    EXPECT_EQ(now[0].next_attempt_at, at + 4000);
    EXPECT_EQ(now[0].last_error, "HTTP 500");
    EXPECT_FALSE(now[0].dead);
    EXPECT_EQ(now[1].attempts, 0u);
    EXPECT_EQ(now[2].attempts, 40u);
    EXPECT_TRUE(now[2].dead);
    EXPECT_EQ(now[2].last_error, "connection refused");
  };
  check();
  Open();
  check();
}

// ---------------------------------------------------------------------------------------------
// One batch: all or nothing, and everything back after a reopen.

TEST_F(StoreTest, OneBatchOfEverythingSurvivesAReopen) {
  const Millis now = T("2026-03-10T12:00:00Z");
  Meter meter(catalog_);
  Effects fx;
  LineSpec a;
  a.id = "line-a";
  a.plan = "m10";
  ASSERT_TRUE(meter.PutLine(a, now, &fx).ok());

  Batch b(store_.get());
  b.PutLine(meter.line(0));
  b.PutDedup("id:r1", DedupState::kApplied, now);
  b.AddRollup("line-a", 'h', T("2026-03-10T11:00:00Z"), 't', "", 1, 2);
  b.PutAudit("line-a", MakeAudit(1, now));
  b.PutEvent(1, "{\"seq\":1}");
  OutboxEntry o;
  o.event_seq = 1;
  b.PutOutbox(o);
  b.PutQuarantine(MakeQuarantine(1, now));
  b.PutMeta("next_event_seq", 2);
  EXPECT_EQ(b.count(), 8u);
  Write(&b);

  // A batch that is never written changes nothing.
  {
    Batch unwritten(store_.get());
    unwritten.PutEvent(2, "{\"seq\":2}");
    unwritten.PutDedup("id:r2", DedupState::kApplied, now);
  }

  Open();
  Meter fresh(catalog_);
  ASSERT_TRUE(store_->LoadInto(&fresh).ok());
  EXPECT_EQ(fresh.line_count(), 1u);
  std::vector<DedupState> states;
  ASSERT_TRUE(store_->LookupDedup({"id:r1", "id:r2"}, &states).ok());
  EXPECT_THAT(states, ElementsAre(DedupState::kApplied, DedupState::kUnseen));
  EXPECT_EQ(History("line-a", 'h', 0, INT64_MAX).size(), 1u);
  EXPECT_EQ(Audit("line-a", 0, 10).size(), 1u);
  std::vector<std::string> json;
  uint64_t last = 0;
  ASSERT_TRUE(store_->ReadEvents(0, 10, &json, &last).ok());
  EXPECT_THAT(json, ElementsAre("{\"seq\":1}"));
  std::vector<OutboxEntry> outbox;
  ASSERT_TRUE(store_->ListOutbox(10, &outbox).ok());
  EXPECT_EQ(outbox.size(), 1u);
  std::vector<QuarantineEntry> q;
  ASSERT_TRUE(store_->ListQuarantine(0, 10, &q).ok());
  EXPECT_EQ(q.size(), 1u);
  uint64_t v = 0;
  ASSERT_TRUE(store_->GetMeta("next_event_seq", &v).ok());
  EXPECT_EQ(v, 2u);
}

// The outbox reads in pages with a cursor, and buried (given up) entries never come back.
TEST_F(StoreTest, OutboxPagesWithACursorAndSkipsBuriedEntries) {
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    for (uint32_t ep = 0; ep < 2; ++ep) {
      OutboxEntry e;
      e.event_seq = seq;
      e.endpoint = ep;
      ASSERT_TRUE(store_->UpdateOutbox(e).ok());
    }
  }
  OutboxEntry gone;
  gone.event_seq = 2;
  gone.endpoint = 1;
  ASSERT_TRUE(store_->BuryOutbox(gone).ok());
  std::vector<std::pair<uint64_t, uint32_t>> seen;
  std::vector<OutboxEntry> page;
  const OutboxEntry* after = nullptr;
  OutboxEntry cursor;
  for (;;) {
    page.clear();
    ASSERT_TRUE(store_->ListOutbox(3, &page, after).ok());
    for (const OutboxEntry& e : page) seen.emplace_back(e.event_seq, e.endpoint);
    if (page.size() < 3) break;
    cursor = page.back();
    after = &cursor;
  }
  EXPECT_EQ(seen.size(), 9u);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), std::make_pair(uint64_t{2}, uint32_t{1})), 0);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  uint64_t dead = 0;
  ASSERT_TRUE(store_->CountDeadOutbox(&dead).ok());
  EXPECT_EQ(dead, 1u);
}

// ---------------------------------------------------------------------------------------------
// Account data

TEST_F(StoreTest, AccountDataIsKeptApartFromAdapterStateAndSurvivesReopen) {
  {
    Batch b(store_.get());
    b.PutAccountData("a/alice", "{alice}");
    b.PutAccountData("a/bob", "{bob}");
    b.PutAccountData("s/0001", "{session}");
    b.PutAdapterState("a/alice", "adapter");
    Write(&b);
  }
  Open();
  auto scan = [&](std::string_view prefix) {
    std::vector<std::string> out;
    Status st = store_->ScanAccountData(prefix, [&](std::string_view k, std::string_view v) {
      out.push_back(std::string(k) + "=" + std::string(v));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  };
  EXPECT_EQ(scan("a/"), (std::vector<std::string>{"a/alice={alice}", "a/bob={bob}"}));
  EXPECT_EQ(scan("s/"), (std::vector<std::string>{"s/0001={session}"}));
  {
    Batch b(store_.get());
    b.DeleteAccountData("a/alice");
    Write(&b);
  }
  EXPECT_EQ(scan("a/"), (std::vector<std::string>{"a/bob={bob}"}));
  std::vector<std::string> adapter;
  ASSERT_TRUE(store_
                  ->ScanAdapterState("a/",
                                     [&](std::string_view k, std::string_view v) {
                                       adapter.push_back(std::string(k) + "=" + std::string(v));
                                       return Status::Ok();
                                     })
                  .ok());
  EXPECT_EQ(adapter, (std::vector<std::string>{"a/alice=adapter"}));
  // A scan stops at the callback's first error and returns it.
  Status st = store_->ScanAccountData(
      "", [](std::string_view, std::string_view) { return Status::Internal("stop"); });
  EXPECT_EQ(st.code(), Status::Code::kInternal);
}

}  // namespace
}  // namespace ryuryo::store
