#include "store/ledger.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>
#include <unordered_set>

#include "core/thread_name.h"
#include "core/uint128.h"

namespace ryuryo::store {

namespace {

constexpr const char* kMetaEventSeq = "next_event_seq";
constexpr const char* kMetaAuditSeq = "next_audit_seq";
constexpr const char* kMetaQuarantineSeq = "next_quarantine_seq";
// A record spanning more hours than this is put in the hour of its end instead of spread.
constexpr int64_t kSpreadHoursMax = 7 * 24;

struct RollupKey {
  uint32_t line;
  char granularity;
  Millis start;
  char dim;
  std::string name;
  bool operator==(const RollupKey&) const = default;
};
struct RollupKeyHash {
  size_t operator()(const RollupKey& k) const {
    size_t h = std::hash<std::string>()(k.name);
    h ^= std::hash<uint64_t>()((uint64_t{k.line} << 16) ^ (uint64_t(k.granularity) << 8) ^ k.dim) +
         0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= std::hash<int64_t>()(k.start) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
  }
};
using Rollups = std::unordered_map<RollupKey, std::pair<uint64_t, uint64_t>, RollupKeyHash>;

void AddRollups(Rollups* rollups, uint32_t line, const Zone& zone, const UsageRecord& r) {
  // Spread the bytes over the UTC hours the record spans, pro rata by time, remainders to the
  // last hour so that the parts add up exactly.
  Millis first = FloorHour(r.start), last = FloorHour(r.end);
  int64_t hours = (last - first) / kMillisPerHour + 1;
  if (hours > kSpreadHoursMax || r.end <= r.start) {
    first = last;
    hours = 1;
  }
  uint64_t up_left = r.bytes_up, down_left = r.bytes_down;
  const Millis span = std::max<Millis>(1, r.end - r.start);
  Millis day_of_hour = 0, day_hour_key = INT64_MIN;
  for (int64_t i = 0; i < hours; ++i) {
    Millis h = first + i * kMillisPerHour;
    uint64_t up, down;
    if (i == hours - 1) {
      up = up_left;
      down = down_left;
    } else {
      Millis part = std::min(h + kMillisPerHour, r.end) - std::max(h, r.start);
      up = static_cast<uint64_t>(static_cast<Uint128>(r.bytes_up) * part / span);
      down = static_cast<uint64_t>(static_cast<Uint128>(r.bytes_down) * part / span);
      up = std::min(up, up_left);
      down = std::min(down, down_left);
    }
    up_left -= up;
    down_left -= down;
    if (up == 0 && down == 0) continue;
    if (h != day_hour_key) {
      // Local day of this hour (hours never straddle a local midnight in whole-hour zones; in
      // half-hour zones the hour's start decides).
      day_of_hour = zone.StartOfDay(zone.DateAt(h));
      day_hour_key = h;
    }
    auto add = [&](char g, Millis start, char dim, const std::string& name) {
      auto& v = (*rollups)[RollupKey{line, g, start, dim, name}];
      v.first += up;
      v.second += down;
    };
    add('h', h, 't', "");
    add('d', day_of_hour, 't', "");
    if (!r.app.empty()) {
      add('h', h, 'a', r.app);
      add('d', day_of_hour, 'a', r.app);
    }
    if (!r.device.empty()) {
      add('h', h, 'd', r.device);
      add('d', day_of_hour, 'd', r.device);
    }
  }
}

}  // namespace

Ledger::Ledger(Meter* meter, Store* store, Clock clock, LedgerOptions options)
    : meter_(meter), store_(store), clock_(std::move(clock)), options_(options) {}

Ledger::~Ledger() { Stop(); }

Status Ledger::Recover() {
  std::unique_lock lock(mu_);
  RYURYO_RETURN_IF_ERROR(store_->LoadInto(meter_));
  uint64_t v;
  RYURYO_RETURN_IF_ERROR(store_->GetMeta(kMetaEventSeq, &v));
  if (v > 0) meter_->set_next_event_seq(v);
  RYURYO_RETURN_IF_ERROR(store_->GetMeta(kMetaAuditSeq, &v));
  if (v > 0) next_audit_seq_ = v;
  RYURYO_RETURN_IF_ERROR(store_->GetMeta(kMetaQuarantineSeq, &v));
  if (v > 0) next_quarantine_seq_ = v;
  return Status::Ok();
}

void Ledger::Start() {
  std::lock_guard lock(queue_mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  {
    std::lock_guard commit_lock(commit_mu_);
    building_done_ = false;
  }
  committer_ = std::thread([this] {
    SetThreadName("ryuryo-commit");
    RunCommitter();
  });
  thread_ = std::thread([this] {
    SetThreadName("ryuryo-ledger");
    Run();
  });
}

void Ledger::Stop() {
  {
    std::unique_lock lock(queue_mu_);
    stopping_ = true;
    if (!thread_.joinable()) {
      // Never started: nothing will process the queue; its submitters still get an answer.
      std::deque<Item> left = std::move(queue_);
      queue_.clear();
      queued_records_ = 0;
      lock.unlock();
      for (Item& it : left) {
        Status st = Status::Unavailable("the server is shutting down");
        if (it.command_done) it.command_done(st);
        if (it.usage_done) {
          UsageResult res;
          res.status = st;
          it.usage_done(std::move(res));
        }
      }
      return;
    }
  }
  queue_cv_.notify_all();
  thread_.join();
  {
    std::lock_guard lock(commit_mu_);
    building_done_ = true;
  }
  commit_cv_.notify_all();
  committer_.join();
}

Status Ledger::SubmitUsage(std::vector<UsageRecord> records, UsageDone done,
                           std::vector<uint64_t> quarantine_seqs) {
  {
    std::lock_guard lock(queue_mu_);
    if (!quarantine_seqs.empty() && quarantine_seqs.size() != records.size()) {
      return Status::InvalidArgument("quarantine_seqs: one per record expected");
    }
    if (stopping_) return Status::Unavailable("the server is shutting down");
    if (queued_records_ + records.size() > options_.queue_records_max) {
      return Status::ResourceExhausted("ingest queue is full (" +
                                       std::to_string(options_.queue_records_max) +
                                       " records waiting); retry shortly");
    }
    queued_records_ += records.size();
    stats_.queued_records.store(queued_records_, std::memory_order_relaxed);
    Item item;
    item.records = std::move(records);
    item.quarantine_seqs = std::move(quarantine_seqs);
    item.usage_done = std::move(done);
    queue_.push_back(std::move(item));
  }
  queue_cv_.notify_one();
  return Status::Ok();
}

Status Ledger::SubmitProducer(Producer producer, size_t records_max, UsageDone done) {
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) return Status::Unavailable("the server is shutting down");
    if (queued_records_ + records_max > options_.queue_records_max) {
      return Status::ResourceExhausted("ingest queue is full (" +
                                       std::to_string(options_.queue_records_max) +
                                       " records waiting); retry shortly");
    }
    queued_records_ += records_max;
    stats_.queued_records.store(queued_records_, std::memory_order_relaxed);
    Item item;
    item.producer = std::move(producer);
    item.producer_records_max = records_max;
    item.usage_done = std::move(done);
    queue_.push_back(std::move(item));
  }
  queue_cv_.notify_one();
  return Status::Ok();
}

Status Ledger::SubmitCommand(Command command, CommandDone done) {
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) return Status::Unavailable("the server is shutting down");
    Item item;
    item.command = std::move(command);
    item.command_done = std::move(done);
    queue_.push_back(std::move(item));
  }
  queue_cv_.notify_one();
  return Status::Ok();
}

void Ledger::Run() {
  for (;;) {
    std::vector<Item> items;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait_for(lock, std::chrono::milliseconds(options_.tick_interval_ms),
                         [&] { return stopping_ || !queue_.empty(); });
      if (stopping_ && queue_.empty()) return;
      size_t records = 0;
      while (!queue_.empty() &&
             (items.empty() || records + queue_.front().weight() <= options_.batch_records_max)) {
        records += queue_.front().weight();
        items.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_records_ -= records;
      stats_.queued_records.store(queued_records_, std::memory_order_relaxed);
    }
    ProcessBatch(&items);
  }
}

struct Ledger::Built {
  explicit Built(Store* store) : batch(store) {}
  Batch batch;
  std::vector<Item> items;
  std::vector<UsageResult> results;
  std::vector<Status> command_status;
  // Dedup keys this batch claimed (in inflight_keys_) and the state each will have.
  std::vector<std::pair<std::string, DedupState>> keys;
  size_t outbox_entries = 0;
  uint64_t applied = 0, duplicates = 0, rejected = 0, quarantined = 0, bytes = 0, events = 0;
  // For the committed listeners (filled only when there are some).
  std::vector<std::string> changed_line_ids;
  std::vector<Event> raised;
};

void Ledger::RunCommitter() {
  for (;;) {
    std::unique_ptr<Built> built;
    {
      std::unique_lock lock(commit_mu_);
      commit_cv_.wait(lock, [&] { return building_done_ || !commit_queue_.empty(); });
      if (commit_queue_.empty()) return;  // building_done_
      built = std::move(commit_queue_.front());
    }
    Commit(built.get());
    {
      std::lock_guard lock(commit_mu_);
      commit_queue_.pop_front();
    }
    commit_cv_.notify_all();  // a builder waiting for room
  }
}

void Ledger::Commit(Built* b) {
  if (b->batch.count() > 0) {
    auto t0 = std::chrono::steady_clock::now();
    Status st = store_->Write(&b->batch);
    if (!st.ok()) {
      std::fprintf(stderr, "ryuryo: fatal: %s\n", st.ToString().c_str());
      std::abort();
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    size_t k = 0;
    while (k < LedgerStats::kCommitBuckets - 1 && secs > LedgerStats::kCommitBoundsS[k]) ++k;
    stats_.commit_hist[k].fetch_add(1, std::memory_order_relaxed);
    stats_.commit_count.fetch_add(1, std::memory_order_relaxed);
    stats_.commit_sum_us.fetch_add(static_cast<uint64_t>(secs * 1e6), std::memory_order_relaxed);
    stats_.batches.fetch_add(1, std::memory_order_relaxed);
  }
  // The keys are readable from the store now: forget them before anyone hears of the commit,
  // so that a sender reacting to its answer is checked against the store.
  if (!b->keys.empty()) {
    std::lock_guard lock(commit_mu_);
    for (const auto& [key, state] : b->keys) inflight_keys_.erase(key);
  }

  if (b->outbox_entries > 0 && outbox_committed_) outbox_committed_();
  if (!b->changed_line_ids.empty() || !b->raised.empty()) {
    for (const CommittedListener& listener : committed_listeners_) {
      listener(b->changed_line_ids, b->raised);
    }
  }

  // Durable: count, then answer (so /metrics read after an ack already shows it).
  stats_.records_applied.fetch_add(b->applied, std::memory_order_relaxed);
  stats_.records_duplicate.fetch_add(b->duplicates, std::memory_order_relaxed);
  stats_.records_rejected.fetch_add(b->rejected, std::memory_order_relaxed);
  stats_.records_quarantined.fetch_add(b->quarantined, std::memory_order_relaxed);
  stats_.bytes_applied.fetch_add(b->bytes, std::memory_order_relaxed);
  stats_.events.fetch_add(b->events, std::memory_order_relaxed);
  for (size_t i = 0; i < b->items.size(); ++i) {
    Item& it = b->items[i];
    if (it.command) {
      if (it.command_done) it.command_done(b->command_status[i]);
      continue;
    }
    UsageResult& res = b->results[i];
    std::sort(res.rejected.begin(), res.rejected.end());
    if (it.usage_done) it.usage_done(std::move(res));
  }
}

bool Ledger::AppsCollected(uint32_t line, std::unordered_map<uint32_t, bool>* cache) const {
  if (!app_collection_) return true;
  auto [it, inserted] = cache->try_emplace(line, true);
  if (inserted) {
    const std::string& account = meter_->line(line).account;
    it->second = account.empty() || app_collection_(account);
  }
  return it->second;
}

void Ledger::ProcessBatch(std::vector<Item>* items) {
  const Millis now = clock_();
  // 0. Adapters' producers turn their input into records (the meter is read without the lock:
  // this thread is its only writer).
  for (Item& it : *items) {
    if (it.producer) it.producer(*meter_, now, &it.records);
  }
  // 1. Deduplicate: within the batch, then against the store.
  struct Ref {
    size_t item;
    size_t index;
  };
  std::vector<Ref> refs;
  std::vector<std::string> keys;
  std::vector<UsageResult> results(items->size());
  std::unordered_set<std::string> in_batch;
  // Quarantined records whose replay turned out a duplicate: their entries go.
  std::vector<uint64_t> stale_quarantine;
  // Replays of quarantined records claim their keys first, so that a resend of the same record
  // in this batch is the duplicate, not the replay.
  std::vector<size_t> order;
  for (size_t i = 0; i < items->size(); ++i) {
    if (!(*items)[i].quarantine_seqs.empty()) order.push_back(i);
  }
  for (size_t i = 0; i < items->size(); ++i) {
    if ((*items)[i].quarantine_seqs.empty()) order.push_back(i);
  }
  for (size_t i : order) {
    Item& it = (*items)[i];
    for (size_t j = 0; j < it.records.size(); ++j) {
      std::string key = DedupKey(it.records[j]);
      if (!in_batch.insert(key).second) {
        results[i].duplicates++;
        if (!it.quarantine_seqs.empty()) stale_quarantine.push_back(it.quarantine_seqs[j]);
        continue;
      }
      refs.push_back({i, j});
      keys.push_back(std::move(key));
    }
  }
  // Producers' records are exactly-once by construction (the state that made them commits with
  // them): they are not looked up in the store's dedup keys.
  // Keys of batches built but not committed yet are not in the store: they count as the state
  // that batch gives them (applied or quarantined). Checked BEFORE the store lookup: the
  // committer forgets a key only after its write, so a key not found here is either new or
  // already readable from the store.
  std::vector<bool> inflight(refs.size(), false);
  std::vector<DedupState> inflight_state(refs.size(), DedupState::kUnseen);
  {
    std::lock_guard lock(commit_mu_);
    if (!inflight_keys_.empty()) {
      for (size_t k = 0; k < refs.size(); ++k) {
        auto found = inflight_keys_.find(keys[k]);
        if (found == inflight_keys_.end()) continue;
        inflight[k] = true;
        inflight_state[k] = found->second;
      }
    }
  }
  std::vector<std::string> lookup_keys;
  std::vector<size_t> lookup_ref;  // index into refs
  for (size_t k = 0; k < refs.size(); ++k) {
    if ((*items)[refs[k].item].producer || inflight[k]) continue;
    lookup_keys.push_back(keys[k]);
    lookup_ref.push_back(k);
  }
  std::vector<DedupState> looked_up;
  Status st = store_->LookupDedup(lookup_keys, &looked_up);
  std::vector<DedupState> states(refs.size(), DedupState::kUnseen);
  for (size_t i = 0; i < lookup_ref.size() && i < looked_up.size(); ++i) {
    states[lookup_ref[i]] = looked_up[i];
  }
  for (size_t k = 0; k < refs.size(); ++k) {
    if (inflight[k]) states[k] = inflight_state[k];
  }

  if (!st.ok()) {
    std::fprintf(stderr, "ryuryo: fatal: %s\n", st.ToString().c_str());
    std::abort();
  }
  std::vector<UsageRecord> fresh;
  std::vector<size_t> fresh_ref;  // index into refs
  for (size_t k = 0; k < refs.size(); ++k) {
    const Item& it = (*items)[refs[k].item];
    bool replay = !it.quarantine_seqs.empty();
    if (states[k] == DedupState::kApplied || (states[k] == DedupState::kQuarantined && !replay)) {
      results[refs[k].item].duplicates++;
      if (replay) stale_quarantine.push_back(it.quarantine_seqs[refs[k].index]);
      continue;
    }
    fresh.push_back(it.records[refs[k].index]);
    fresh_ref.push_back(k);
  }

  // 2. Apply under the write lock; serialise what changed while it is consistent.
  auto built = std::make_unique<Built>(store_);
  Batch& batch = built->batch;
  Effects fx;
  std::vector<Status> command_status(items->size());
  std::vector<Zone> zones(fresh.size());
  {
    std::unique_lock lock(mu_);
    meter_->Tick(now, &fx);
    for (size_t i = 0; i < items->size(); ++i) {
      if ((*items)[i].command) command_status[i] = (*items)[i].command(*meter_, now, &fx);
    }
    // A replayed record whose line is still unknown stays where it is: no new event.
    std::vector<UsageRecord> to_apply;
    std::vector<size_t> applied_index;  // fresh index of each record in to_apply
    to_apply.reserve(fresh.size());
    for (size_t f = 0; f < fresh.size(); ++f) {
      const bool replay = !(*items)[refs[fresh_ref[f]].item].quarantine_seqs.empty();
      if (replay && meter_->FindLineIndex(fresh[f].line) < 0) continue;
      to_apply.push_back(std::move(fresh[f]));
      applied_index.push_back(f);
    }
    Effects usage_fx;
    meter_->Apply(to_apply, now, &usage_fx);
    fx.events.insert(fx.events.end(), std::make_move_iterator(usage_fx.events.begin()),
                     std::make_move_iterator(usage_fx.events.end()));
    fx.dirty_lines.insert(usage_fx.dirty_lines.begin(), usage_fx.dirty_lines.end());
    fx.dirty_pools.insert(usage_fx.dirty_pools.begin(), usage_fx.dirty_pools.end());
    fx.outcomes.assign(fresh.size(), RecordOutcome{});
    for (size_t a = 0; a < to_apply.size(); ++a) {
      fresh[applied_index[a]] = std::move(to_apply[a]);
      fx.outcomes[applied_index[a]] = std::move(usage_fx.outcomes[a]);
    }
    for (size_t f = 0, a = 0; f < fresh.size(); ++f) {
      if (a < applied_index.size() && applied_index[a] == f) {
        ++a;
      } else {
        fx.outcomes[f].kind = RecordOutcome::Kind::kQuarantined;
      }
    }
    for (uint32_t l : fx.dirty_lines) batch.PutLine(meter_->line(l));
    for (uint32_t p : fx.dirty_pools) batch.PutPool(meter_->pool(p));
    if (!committed_listeners_.empty()) {
      // Ids, not indexes: the committer runs while the next batch may change the meter.
      IndexSet changed;
      changed.insert(fx.dirty_lines.begin(), fx.dirty_lines.end());
      for (uint32_t p : fx.dirty_pools) {
        const std::vector<uint32_t>& members = meter_->pool(p).members;
        changed.insert(members.begin(), members.end());
      }
      built->changed_line_ids.reserve(changed.size());
      for (uint32_t l : changed) built->changed_line_ids.push_back(meter_->line(l).id);
    }
    for (size_t f = 0; f < fresh.size(); ++f) {
      if (fx.outcomes[f].kind == RecordOutcome::Kind::kApplied) {
        zones[f] = meter_->BalanceOf(meter_->line(fx.outcomes[f].line)).zone;
      }
    }
  }

  // 3. The rest of the batch: dedup keys, audit, rollups, quarantine, events, outbox, meta.
  Rollups rollups;
  std::unordered_map<uint32_t, bool> apps_collected;  // by line index, for this batch
  uint64_t bytes = 0;
  for (size_t f = 0; f < fresh.size(); ++f) {
    const UsageRecord& r = fresh[f];
    const RecordOutcome& out = fx.outcomes[f];
    const Ref& ref = refs[fresh_ref[f]];
    UsageResult& res = results[ref.item];
    const Item& it = (*items)[ref.item];
    const std::string& key = keys[fresh_ref[f]];
    switch (out.kind) {
      case RecordOutcome::Kind::kRejected:
        res.rejected.emplace_back(ref.index, out.error.message());
        break;
      case RecordOutcome::Kind::kQuarantined:
        res.quarantined++;
        res.accepted++;
        if (it.quarantine_seqs.empty()) {
          QuarantineEntry q;
          q.seq = next_quarantine_seq_++;
          q.received_at = now;
          q.record = r;
          batch.PutQuarantine(q);
          batch.PutDedup(key, DedupState::kQuarantined, now);
        }
        break;
      case RecordOutcome::Kind::kApplied: {
        res.accepted++;
        bytes += r.bytes();
        const std::string& line_id = meter_->line(out.line).id;  // ids never change
        AuditEntry a;
        a.seq = next_audit_seq_++;
        a.record_id = key;
        a.bytes_up = r.bytes_up;
        a.bytes_down = r.bytes_down;
        a.start = r.start;
        a.end = r.end;
        a.applied_at = now;
        a.device = r.device;
        // Per-app usage of a subscriber who has not opted in is not kept (privacy).
        const bool keep_app = r.app.empty() || AppsCollected(out.line, &apps_collected);
        if (keep_app) a.app = r.app;
        a.source = r.source;
        a.late = out.late;
        a.debits = out.debits;
        batch.PutAudit(line_id, a);
        if (!it.producer) batch.PutDedup(key, DedupState::kApplied, now);
        if (!it.quarantine_seqs.empty()) batch.DeleteQuarantine(it.quarantine_seqs[ref.index]);
        if (keep_app) {
          AddRollups(&rollups, out.line, zones[f], r);
        } else {
          UsageRecord without_app = r;
          without_app.app.clear();
          AddRollups(&rollups, out.line, zones[f], without_app);
        }
        break;
      }
    }
  }
  for (uint64_t seq : stale_quarantine) batch.DeleteQuarantine(seq);
  for (const auto& [k, v] : rollups) {
    batch.AddRollup(meter_->line(k.line).id, k.granularity, k.start, k.dim, k.name, v.first,
                    v.second);
  }
  size_t outbox_entries = 0;
  for (const Event& ev : fx.events) {
    batch.PutEvent(ev.seq, ev.ToJson());
    if (router_) {
      for (uint32_t endpoint : router_(ev)) {
        ++outbox_entries;
        OutboxEntry o;
        o.event_seq = ev.seq;
        o.endpoint = endpoint;
        o.next_attempt_at = now;
        batch.PutOutbox(o);
      }
    }
  }
  if (!fx.events.empty()) batch.PutMeta(kMetaEventSeq, meter_->next_event_seq());
  if (!fresh.empty()) {
    batch.PutMeta(kMetaAuditSeq, next_audit_seq_);
    batch.PutMeta(kMetaQuarantineSeq, next_quarantine_seq_);
  }

  for (const CommitHook& hook : commit_hooks_) hook(&batch);

  // 4. Hand the batch to the committer, which answers after its commit.
  built->outbox_entries = outbox_entries;
  for (size_t i = 0; i < items->size(); ++i) {
    if ((*items)[i].command) continue;
    const UsageResult& res = results[i];
    built->applied += res.accepted - res.quarantined;
    built->duplicates += res.duplicates;
    built->rejected += res.rejected.size();
    built->quarantined += res.quarantined;
  }
  built->bytes = bytes;
  built->events = fx.events.size();
  if (!committed_listeners_.empty()) built->raised = std::move(fx.events);
  built->results = std::move(results);
  built->command_status = std::move(command_status);
  built->items = std::move(*items);
  for (size_t f = 0; f < fresh.size(); ++f) {
    const RecordOutcome::Kind kind = fx.outcomes[f].kind;
    if (kind == RecordOutcome::Kind::kRejected) continue;
    built->keys.emplace_back(keys[fresh_ref[f]], kind == RecordOutcome::Kind::kQuarantined
                                                     ? DedupState::kQuarantined
                                                     : DedupState::kApplied);
  }
  {
    std::unique_lock lock(commit_mu_);
    commit_cv_.wait(lock, [&] { return commit_queue_.size() < options_.commit_queue_max; });
    for (const auto& [key, state] : built->keys) inflight_keys_[key] = state;
    commit_queue_.push_back(std::move(built));
  }
  commit_cv_.notify_all();
}

}  // namespace ryuryo::store
