// Ledger: the meter and its store driven by one writer thread with group commit (DESIGN §3).
//
// Adapters submit usage and commands from any thread; the ledger thread takes everything that
// queued up while the previous batch was being built (at most `batch_records_max` records), drops
// duplicates (within the batch, against the batches still being committed, and against the
// store's dedup keys), applies the rest to the meter and builds ONE RocksDB write batch with all
// of it (records' dedup keys, changed lines and pools, audit trail, rollups, events, outbox
// entries, adapter state). A second thread, the committer, writes the batches in order, each
// with a synced WAL, and only then calls their submitters' callbacks. So an ack (HTTP 200, RADIUS
// Accounting-Response) always means durable; and while one batch waits for the disk, the next
// is being built (at most `commit_queue_max` batches wait for the committer).
//
// The thread also ticks the meter once a second so that resets and expiries commit with no
// traffic. Reads of the in-memory state take a shared lock (Read()); they may see a batch a few
// milliseconds before it is durable, never an acknowledgement.
//
// A failed store write is fatal: the process exits, and a restart recovers the last committed
// state. (Memory and disk must never disagree about an acknowledged record.)
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/meter.h"
#include "core/record.h"
#include "core/status.h"
#include "store/store.h"

namespace ryuryo::store {

struct LedgerOptions {
  size_t batch_records_max = 4096;     // records applied and committed together at most
  size_t queue_records_max = 1 << 20;  // records waiting; beyond it submitters get 503
  int64_t tick_interval_ms = 1000;
  size_t commit_queue_max = 2;  // built batches waiting for the committer
};

struct UsageResult {
  Status status;  // not ok: nothing of the submission was applied (e.g. queue full)
  size_t accepted = 0;
  size_t duplicates = 0;
  size_t quarantined = 0;  // accepted, but kept aside for an unknown line
  std::vector<std::pair<size_t, std::string>> rejected;  // index in the submission, error
};
using UsageDone = std::function<void(UsageResult)>;

// A change to the meter other than usage (provisioning, top-up, thresholds). Runs on the ledger
// thread under the write lock, commits with the batch; `done` is called after the commit.
using Command = std::function<Status(Meter& meter, Millis now, Effects* fx)>;
using CommandDone = std::function<void(Status)>;

// An adapter's step that must run on the ledger thread because it turns network input into
// records with adapter state that commits with them (RADIUS session counters: DESIGN §3). It
// runs first in a batch, before deduplication, and appends records to *records (their index in
// that vector is the index UsageResult::rejected reports). It may read the meter (only the ledger
// thread writes it) but not change it. Adapter state it changed goes into the same commit through
// a commit hook. Its records are exactly-once by construction (the state that made them commits
// with them), so they are deduplicated within the batch but neither looked up in nor added to the
// store's dedup keys (a quarantined one is, so that its replay works like any other).
using Producer =
    std::function<void(const Meter& meter, Millis now, std::vector<UsageRecord>* records)>;
// Runs on the ledger thread just before each commit: adds adapter state to the batch.
using CommitHook = std::function<void(Batch* batch)>;

// Which webhook endpoints an event goes to (indexes into the configured list).
using OutboxRouter = std::function<std::vector<uint32_t>(const Event&)>;

// Told of each batch once it is durable (before its submitters are answered), on the committer
// thread: the ids of the lines whose state changed (usage, state, buckets, settings; for a pool,
// all its members), each once, and the events the batch raised. Not called for a batch that
// changed nothing. It runs on the commit path: keep it cheap (mark, queue, notify), never block.
using CommittedListener = std::function<void(const std::vector<std::string>& changed_line_ids,
                                             const std::vector<Event>& events)>;

// Counters for /metrics. Written by the ledger thread, read by anyone.
struct LedgerStats {
  std::atomic<uint64_t> records_applied{0};
  std::atomic<uint64_t> records_duplicate{0};
  std::atomic<uint64_t> records_rejected{0};
  std::atomic<uint64_t> records_quarantined{0};
  std::atomic<uint64_t> bytes_applied{0};
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> events{0};
  std::atomic<uint64_t> queued_records{0};
  // Commit latency histogram (seconds): bucket upper bounds below, plus +Inf.
  static constexpr double kCommitBoundsS[] = {0.0005, 0.001, 0.002, 0.005, 0.01,
                                              0.025,  0.05,  0.1,   0.25,  1.0};
  static constexpr size_t kCommitBuckets = sizeof(kCommitBoundsS) / sizeof(double) + 1;
  std::atomic<uint64_t> commit_hist[kCommitBuckets] = {};
  std::atomic<uint64_t> commit_count{0};
  std::atomic<uint64_t> commit_sum_us{0};
};

class Ledger {
 public:
  using Clock = std::function<Millis()>;
  Ledger(Meter* meter, Store* store, Clock clock, LedgerOptions options);
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Loads the committed state into the meter. Call once, before Start().
  Status Recover();
  void set_outbox_router(OutboxRouter router) { router_ = std::move(router); }
  // Called on the ledger thread after a commit that queued outbox entries (wakes the delivery).
  void set_outbox_committed(std::function<void()> f) { outbox_committed_ = std::move(f); }
  // Whether an account's per-app usage may be kept (the subscriber opted in). When set, the app
  // of a record of a line whose account says no is dropped before the audit trail and the
  // rollups see it (the bytes still count). Lines without an account always keep it. Called on
  // the ledger thread, at most once per line per batch. Call before Start().
  void set_app_collection(std::function<bool(const std::string& account)> f) {
    app_collection_ = std::move(f);
  }
  // Adds a hook called before every commit. Call before Start().
  void AddCommitHook(CommitHook hook) { commit_hooks_.push_back(std::move(hook)); }
  // Adds a listener told of every commit that changed something. Call before Start().
  void AddCommittedListener(CommittedListener listener) {
    committed_listeners_.push_back(std::move(listener));
  }
  void Start();
  void Stop();  // finishes what is queued, then joins

  // Records already validated by the adapter. `quarantine_seqs`, when given, names the quarantine
  // entry each record was replayed from (records already quarantined count as new then).
  Status SubmitUsage(std::vector<UsageRecord> records, UsageDone done,
                     std::vector<uint64_t> quarantine_seqs = {});
  Status SubmitCommand(Command command, CommandDone done);
  // Queues a producer; `records_max` (the most records it may produce) counts against the queue
  // and batch limits like submitted records. `done` is called after the commit, as for usage.
  Status SubmitProducer(Producer producer, size_t records_max, UsageDone done);

  // Runs `f(const Meter&)` under the shared lock.
  template <typename F>
  auto Read(F&& f) const {
    std::shared_lock lock(mu_);
    return f(static_cast<const Meter&>(*meter_));
  }

  Millis Now() const { return clock_(); }
  const LedgerStats& stats() const { return stats_; }
  Store* store() const { return store_; }

 private:
  struct Item {
    std::vector<UsageRecord> records;
    std::vector<uint64_t> quarantine_seqs;
    UsageDone usage_done;
    Command command;
    CommandDone command_done;
    Producer producer;
    size_t producer_records_max = 0;
    size_t weight() const { return records.size() + producer_records_max; }  // queue records
  };
  // A batch built and applied to the meter, waiting for its commit.
  struct Built;
  void Run();
  void RunCommitter();
  void ProcessBatch(std::vector<Item>* items);
  bool AppsCollected(uint32_t line, std::unordered_map<uint32_t, bool>* cache) const;
  void Commit(Built* built);

  Meter* meter_;
  Store* store_;
  Clock clock_;
  LedgerOptions options_;
  OutboxRouter router_;
  std::function<void()> outbox_committed_;
  std::vector<CommitHook> commit_hooks_;
  std::function<bool(const std::string& account)> app_collection_;
  std::vector<CommittedListener> committed_listeners_;
  mutable std::shared_mutex mu_;  // guards *meter_

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Item> queue_;
  size_t queued_records_ = 0;
  bool stopping_ = false;
  std::thread thread_;

  std::mutex commit_mu_;
  std::condition_variable commit_cv_;
  std::deque<std::unique_ptr<Built>> commit_queue_;
  bool building_done_ = false;  // the ledger thread has exited: the committer drains and ends
  std::thread committer_;
  // Dedup keys of the batches built but not yet committed (the store cannot see them yet).
  // Dedup keys of batches built but not yet written, with the state they will have.
  std::unordered_map<std::string, DedupState> inflight_keys_;  // guarded by commit_mu_

  uint64_t next_audit_seq_ = 1;
  uint64_t next_quarantine_seq_ = 1;
  LedgerStats stats_;
};

}  // namespace ryuryo::store
