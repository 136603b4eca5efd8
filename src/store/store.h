// Store: ryuryo's durable state in an embedded RocksDB (DESIGN §3).
//
// Everything one meter batch changed goes into one Store::Batch and is written by Write() as one
// RocksDB WriteBatch with a synced WAL: the records' dedup keys, the lines and pools they changed,
// the audit trail of their debits, the hourly and daily rollups they touched, the events they
// raised and the webhook outbox entries for those events. So a restart, clean or after kill -9,
// finds exactly the last committed batch.
//
// Column families:
//   default     meta: next event seq, next audit seq, next quarantine seq
//   lines       line id -> EncodeLine()
//   pools       pool id -> EncodePool()
//   dedup       dedup key -> {state, at}; dropped by a compaction filter after the retention
//   rollup      line \0 'h'|'d' start(BE) dim name -> {bytes_up, bytes_down} (merge: add)
//   audit       line \0 seq(BE) -> one applied record and its debits
//   events      seq(BE) -> event JSON
//   outbox      seq(BE) endpoint(BE32) -> delivery state; entries given up on move under a
//               0xff prefix, after every live one
//   quarantine  seq(BE) -> a record for an unknown line
//   adapter     adapter prefix + key -> an adapter's own state that must commit with the records
//               it produced (RADIUS sessions: "rs/" + NAS + session id -> the session's counters)
//
// Thread-safety: a Store may be used from several threads at once (RocksDB is); the meter thread
// is the only writer of batches, the outbox worker updates outbox entries, readers read.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/meter.h"
#include "core/record.h"
#include "core/status.h"
#include "core/timeutil.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
class CompactionFilter;
}  // namespace rocksdb

namespace ryuryo::store {

struct StoreOptions {
  std::string path = "data";
  bool sync = true;  // fsync the WAL on every Write (ack means durable)
  int64_t dedup_retention_ms = 35 * kMillisPerDay;
  int64_t audit_retention_ms = 90 * kMillisPerDay;
  int64_t hourly_retention_ms = 35 * kMillisPerDay;
  int64_t daily_retention_ms = 800 * kMillisPerDay;
};

enum class DedupState : uint8_t { kUnseen = 0, kApplied = 'a', kQuarantined = 'q' };

// One point of history. `name` is the app or device when the query asked `by`.
struct HistoryPoint {
  Millis start = 0;
  std::string name;
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
};

struct AuditEntry {
  uint64_t seq = 0;
  std::string record_id;  // the dedup key
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  Millis start = 0;
  Millis end = 0;
  Millis applied_at = 0;
  std::string device;
  std::string app;
  std::string source;
  bool late = false;
  std::vector<Debit> debits;
};

struct QuarantineEntry {
  uint64_t seq = 0;
  Millis received_at = 0;
  UsageRecord record;
};

struct OutboxEntry {
  uint64_t event_seq = 0;
  uint32_t endpoint = 0;  // index into the configured webhooks
  uint32_t attempts = 0;
  Millis next_attempt_at = 0;
  std::string last_error;
  bool dead = false;  // gave up; kept for operators
};

class Store;

// A set of changes written atomically by Store::Write().
class Batch {
 public:
  explicit Batch(Store* store);
  ~Batch();
  void PutLine(const Line& line);
  void PutPool(const Pool& pool);
  void PutDedup(const std::string& key, DedupState state, Millis at);
  // Adds to a rollup row: granularity 'h' (UTC hour) or 'd' (local day), dim 't' total,
  // 'a' app, 'd' device.
  void AddRollup(const std::string& line, char granularity, Millis start, char dim,
                 const std::string& name, uint64_t bytes_up, uint64_t bytes_down);
  void PutAudit(const std::string& line, const AuditEntry& entry);
  void PutEvent(uint64_t seq, const std::string& json);
  void PutOutbox(const OutboxEntry& entry);
  void PutQuarantine(const QuarantineEntry& entry);
  void DeleteQuarantine(uint64_t seq);
  void PutAdapterState(std::string_view key, std::string_view value);
  void DeleteAdapterState(std::string_view key);
  // Deletes a line's usage history (hourly, daily, per app and per device) and audit trail.
  void DeleteLineHistory(const std::string& line);
  // Subscriber accounts, their sessions and one-time login links (api/accounts), by key.
  void PutAccountData(std::string_view key, std::string_view value);
  void DeleteAccountData(std::string_view key);
  void PutMeta(const std::string& key, uint64_t value);
  size_t count() const;
  rocksdb::WriteBatch& raw() { return *wb_; }

 private:
  Store* store_;
  std::unique_ptr<rocksdb::WriteBatch> wb_;
};

class Store {
 public:
  static Status Open(const StoreOptions& options, std::unique_ptr<Store>* store);
  ~Store();

  // Durable when it returns ok (the WAL is synced unless options.sync is false).
  Status Write(Batch* batch);

  // Recovery: loads every pool, then every line, into the meter.
  Status LoadInto(Meter* meter);
  Status GetMeta(const std::string& key, uint64_t* value);  // 0 when absent

  // Dedup states of `keys`, in order.
  Status LookupDedup(const std::vector<std::string>& keys, std::vector<DedupState>* states);

  Status ReadEvents(uint64_t after_seq, size_t limit, std::vector<std::string>* json,
                    uint64_t* last_seq);
  Status ReadEvent(uint64_t seq, std::string* json);
  // Rows of one line in [from, to), summed per start (and name when by_dim is 'a' or 'd').
  Status ReadHistory(const std::string& line, char granularity, Millis from, Millis to, char by_dim,
                     std::vector<HistoryPoint>* points);
  // The newest `limit` audit entries of a line (newest first), before seq `before` (0: newest).
  Status ReadAudit(const std::string& line, uint64_t before, size_t limit,
                   std::vector<AuditEntry>* entries);
  // Calls fn for every adapter state entry whose key starts with `prefix`, in key order; stops
  // at fn's first error and returns it.
  Status ScanAdapterState(
      std::string_view prefix,
      const std::function<Status(std::string_view key, std::string_view value)>& fn);
  // The same over account data (keys and values are api/accounts' own).
  Status ScanAccountData(
      std::string_view prefix,
      const std::function<Status(std::string_view key, std::string_view value)>& fn);
  Status ListQuarantine(uint64_t after_seq, size_t limit, std::vector<QuarantineEntry>* entries);

  // Outbox for the delivery worker (its own small writes).
  // Live outbox entries in event order, at most `limit`, after `after` when given (a cursor).
  Status ListOutbox(size_t limit, std::vector<OutboxEntry>* entries,
                    const OutboxEntry* after = nullptr);
  Status UpdateOutbox(const OutboxEntry& entry);
  Status DeleteOutbox(const OutboxEntry& entry);
  // Moves an entry given up on out of the way of live ones (kept for operators).
  Status BuryOutbox(const OutboxEntry& entry);
  // The entries given up on: their number, or `fn` called with the endpoint of each.
  Status CountDeadOutbox(uint64_t* count);
  Status ForEachDeadOutbox(const std::function<void(uint32_t endpoint)>& fn);

  const StoreOptions& options() const { return options_; }

 private:
  friend class Batch;
  Store() = default;
  Status ScanPrefix(size_t cf, std::string_view prefix,
                    const std::function<Status(std::string_view key, std::string_view value)>& fn,
                    const char* what);
  StoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cf_;
  std::vector<std::unique_ptr<rocksdb::CompactionFilter>> filters_;  // outlive db_: declared after
};

}  // namespace ryuryo::store
