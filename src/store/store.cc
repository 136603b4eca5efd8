#include "store/store.h"

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <cstring>

#include "core/codec.h"

namespace ryuryo::store {

namespace {

enum Cf : size_t {
  kMeta = 0,
  kLines,
  kPools,
  kDedup,
  kRollup,
  kAudit,
  kEvents,
  kOutbox,
  kQuarantine,
  kAdapter,
  kAccounts,
  kCfCount
};
const char* const kCfNames[kCfCount] = {rocksdb::kDefaultColumnFamilyName.c_str(),
                                        "lines",
                                        "pools",
                                        "dedup",
                                        "rollup",
                                        "audit",
                                        "events",
                                        "outbox",
                                        "quarantine",
                                        "adapter",
                                        "accounts"};

Millis WallNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void PutFixed64LE(std::string* out, uint64_t v) {
  char buf[8];
  std::memcpy(buf, &v, 8);
  out->append(buf, 8);
}
uint64_t GetFixed64LE(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
void PutFixed32BE(std::string* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t GetFixed32BE(std::string_view d) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(d[i]);
  return v;
}

// Rollup values are {bytes_up, bytes_down} as two little-endian uint64; merging adds them.
class AddMergeOperator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    uint64_t up = 0, down = 0;
    if (existing != nullptr && existing->size() == 16) {
      up = GetFixed64LE(existing->data());
      down = GetFixed64LE(existing->data() + 8);
    }
    if (value.size() == 16) {
      up += GetFixed64LE(value.data());
      down += GetFixed64LE(value.data() + 8);
    }
    new_value->clear();
    PutFixed64LE(new_value, up);
    PutFixed64LE(new_value, down);
    return true;
  }
  const char* Name() const override { return "ryuryo.add16"; }
};

// Drops entries older than a retention, by a time found in the key or the value.
class RetentionFilter : public rocksdb::CompactionFilter {
 public:
  enum class Kind { kDedup, kAudit, kRollup };
  RetentionFilter(Kind kind, const StoreOptions& o) : kind_(kind), options_(o) {}
  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    const Millis now = WallNow();
    switch (kind_) {
      case Kind::kDedup: {  // value: state byte, signed varint at
        Reader r(std::string_view(value.data(), value.size()));
        uint8_t state;
        int64_t at;
        if (!r.Byte(&state) || !r.SignedVarint(&at)) return false;
        return at + options_.dedup_retention_ms < now;
      }
      case Kind::kAudit: {  // value starts with applied_at
        Reader r(std::string_view(value.data(), value.size()));
        int64_t at;
        if (!r.SignedVarint(&at)) return false;
        return at + options_.audit_retention_ms < now;
      }
      case Kind::kRollup: {  // key: line \0 g start(BE) ...
        std::string_view k(key.data(), key.size());
        size_t z = k.find('\0');
        if (z == std::string_view::npos || k.size() < z + 10) return false;
        char g = k[z + 1];
        Millis start = static_cast<Millis>(DecodeFixed64BE(k.substr(z + 2)));
        int64_t keep = g == 'h' ? options_.hourly_retention_ms : options_.daily_retention_ms;
        return start + keep < now;
      }
    }
    return false;
  }
  bool FilterMergeOperand(int level, const rocksdb::Slice& key,
                          const rocksdb::Slice& operand) const override {
    return kind_ == Kind::kRollup && Filter(level, key, operand, nullptr, nullptr);
  }
  const char* Name() const override { return "ryuryo.retention"; }

 private:
  Kind kind_;
  StoreOptions options_;
};

std::string RollupPrefix(const std::string& line, char g) {
  std::string k = line;
  k.push_back('\0');
  k.push_back(g);
  return k;
}

std::string AuditKey(const std::string& line, uint64_t seq) {
  std::string k = line;
  k.push_back('\0');
  PutFixed64BE(&k, seq);
  return k;
}

std::string SeqKey(uint64_t seq) {
  std::string k;
  PutFixed64BE(&k, seq);
  return k;
}

std::string EncodeAudit(const AuditEntry& e) {
  std::string v;
  PutSignedVarint(&v, e.applied_at);
  PutString(&v, e.record_id);
  PutVarint(&v, e.bytes_up);
  PutVarint(&v, e.bytes_down);
  PutSignedVarint(&v, e.start);
  PutSignedVarint(&v, e.end);
  PutString(&v, e.device);
  PutString(&v, e.app);
  PutString(&v, e.source);
  v.push_back(e.late ? 1 : 0);
  PutVarint(&v, e.debits.size());
  for (const Debit& d : e.debits) {
    v.push_back(static_cast<char>(d.target));
    PutVarint(&v, d.bucket_id);
    PutVarint(&v, d.bytes);
  }
  return v;
}

bool DecodeAudit(std::string_view data, AuditEntry* e) {
  Reader r(data);
  uint8_t late;
  uint64_t n;
  if (!r.SignedVarint(&e->applied_at) || !r.String(&e->record_id) || !r.Varint(&e->bytes_up) ||
      !r.Varint(&e->bytes_down) || !r.SignedVarint(&e->start) || !r.SignedVarint(&e->end) ||
      !r.String(&e->device) || !r.String(&e->app) || !r.String(&e->source) || !r.Byte(&late) ||
      !r.Varint(&n) || n > 1024) {
    return false;
  }
  e->late = late != 0;
  e->debits.resize(n);
  for (Debit& d : e->debits) {
    uint8_t t;
    uint64_t id;
    if (!r.Byte(&t) || t > 3 || !r.Varint(&id) || !r.Varint(&d.bytes)) return false;
    d.target = static_cast<Debit::Target>(t);
    d.bucket_id = static_cast<uint32_t>(id);
  }
  return true;
}

std::string EncodeRecord(const UsageRecord& r) {
  std::string v;
  PutString(&v, r.id);
  PutString(&v, r.line);
  PutVarint(&v, r.bytes_up);
  PutVarint(&v, r.bytes_down);
  PutSignedVarint(&v, r.start);
  PutSignedVarint(&v, r.end);
  PutString(&v, r.device);
  PutString(&v, r.app);
  PutString(&v, r.source);
  return v;
}

bool DecodeRecord(Reader* r, UsageRecord* rec) {
  return r->String(&rec->id) && r->String(&rec->line) && r->Varint(&rec->bytes_up) &&
         r->Varint(&rec->bytes_down) && r->SignedVarint(&rec->start) &&
         r->SignedVarint(&rec->end) && r->String(&rec->device) && r->String(&rec->app) &&
         r->String(&rec->source);
}

std::string EncodeOutbox(const OutboxEntry& e) {
  std::string v;
  PutVarint(&v, e.attempts);
  PutSignedVarint(&v, e.next_attempt_at);
  PutString(&v, e.last_error);
  v.push_back(e.dead ? 1 : 0);
  return v;
}

std::string OutboxKey(const OutboxEntry& e) {
  std::string k = SeqKey(e.event_seq);
  PutFixed32BE(&k, e.endpoint);
  return k;
}

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  return Status::IOError(std::string(what) + ": " + s.ToString());
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Batch::Batch(Store* store) : store_(store), wb_(std::make_unique<rocksdb::WriteBatch>()) {}
Batch::~Batch() = default;
size_t Batch::count() const { return static_cast<size_t>(wb_->Count()); }

void Batch::PutLine(const Line& line) { wb_->Put(store_->cf_[kLines], line.id, EncodeLine(line)); }
void Batch::PutPool(const Pool& pool) { wb_->Put(store_->cf_[kPools], pool.id, EncodePool(pool)); }

void Batch::PutDedup(const std::string& key, DedupState state, Millis at) {
  std::string v;
  v.push_back(static_cast<char>(state));
  PutSignedVarint(&v, at);
  wb_->Put(store_->cf_[kDedup], key, v);
}

void Batch::AddRollup(const std::string& line, char granularity, Millis start, char dim,
                      const std::string& name, uint64_t bytes_up, uint64_t bytes_down) {
  std::string k = RollupPrefix(line, granularity);
  PutFixed64BE(&k, static_cast<uint64_t>(start));
  k.push_back(dim);
  k.append(name);
  std::string v;
  PutFixed64LE(&v, bytes_up);
  PutFixed64LE(&v, bytes_down);
  wb_->Merge(store_->cf_[kRollup], k, v);
}

void Batch::PutAudit(const std::string& line, const AuditEntry& e) {
  wb_->Put(store_->cf_[kAudit], AuditKey(line, e.seq), EncodeAudit(e));
}

void Batch::PutEvent(uint64_t seq, const std::string& json) {
  wb_->Put(store_->cf_[kEvents], SeqKey(seq), json);
}

void Batch::PutOutbox(const OutboxEntry& e) {
  wb_->Put(store_->cf_[kOutbox], OutboxKey(e), EncodeOutbox(e));
}

void Batch::PutQuarantine(const QuarantineEntry& e) {
  std::string v;
  PutSignedVarint(&v, e.received_at);
  v += EncodeRecord(e.record);
  wb_->Put(store_->cf_[kQuarantine], SeqKey(e.seq), v);
}

void Batch::DeleteQuarantine(uint64_t seq) { wb_->Delete(store_->cf_[kQuarantine], SeqKey(seq)); }

void Batch::PutAdapterState(std::string_view key, std::string_view value) {
  wb_->Put(store_->cf_[kAdapter], rocksdb::Slice(key.data(), key.size()),
           rocksdb::Slice(value.data(), value.size()));
}

void Batch::DeleteLineHistory(const std::string& line) {
  // Keys of a line are "<line>\0..." and ids hold no NUL: the range [line\0, line\1) is it.
  std::string lo = line, hi = line;
  lo.push_back('\0');
  hi.push_back('\1');
  wb_->DeleteRange(store_->cf_[kRollup], lo, hi);
  wb_->DeleteRange(store_->cf_[kAudit], lo, hi);
}

void Batch::PutAccountData(std::string_view key, std::string_view value) {
  wb_->Put(store_->cf_[kAccounts], rocksdb::Slice(key.data(), key.size()),
           rocksdb::Slice(value.data(), value.size()));
}

void Batch::DeleteAccountData(std::string_view key) {
  wb_->Delete(store_->cf_[kAccounts], rocksdb::Slice(key.data(), key.size()));
}

void Batch::DeleteAdapterState(std::string_view key) {
  wb_->Delete(store_->cf_[kAdapter], rocksdb::Slice(key.data(), key.size()));
}

void Batch::PutMeta(const std::string& key, uint64_t value) {
  std::string v;
  PutVarint(&v, value);
  wb_->Put(store_->cf_[kMeta], key, v);
}

// ---------------------------------------------------------------------------------------------

Store::~Store() {
  if (db_) {
    for (auto* h : cf_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }
}

Status Store::Open(const StoreOptions& options, std::unique_ptr<Store>* out) {
  std::unique_ptr<Store> s(new Store());
  s->options_ = options;
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.allow_concurrent_memtable_write = false;  // one writer; vector memtables need it
  db_options.IncreaseParallelism(2);
  db_options.max_total_wal_size = 256 << 20;
  db_options.keep_log_file_num = 5;

  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_cache = rocksdb::NewLRUCache(64 << 20);
  auto table_factory =
      std::shared_ptr<rocksdb::TableFactory>(rocksdb::NewBlockBasedTableFactory(table));

  static std::shared_ptr<rocksdb::MergeOperator> add_op = std::make_shared<AddMergeOperator>();
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (size_t i = 0; i < kCfCount; ++i) {
    rocksdb::ColumnFamilyOptions cfo;
    cfo.table_factory = table_factory;
    cfo.write_buffer_size = 32 << 20;
    cfs.emplace_back(kCfNames[i], cfo);
  }
  s->filters_.push_back(std::make_unique<RetentionFilter>(RetentionFilter::Kind::kDedup, options));
  s->filters_.push_back(std::make_unique<RetentionFilter>(RetentionFilter::Kind::kAudit, options));
  s->filters_.push_back(std::make_unique<RetentionFilter>(RetentionFilter::Kind::kRollup, options));
  cfs[kDedup].options.compaction_filter = s->filters_[0].get();
  cfs[kAudit].options.compaction_filter = s->filters_[1].get();
  cfs[kRollup].options.compaction_filter = s->filters_[2].get();
  cfs[kRollup].options.merge_operator = add_op;
  // Column families written with every batch but read only at startup or by rare admin queries
  // (line and pool states, the audit trail, adapter state): an append-only memtable (sorted when
  // flushed, or when read) instead of a skip list, whose ordered inserts were the largest single
  // cost of a commit. Reads stay correct, only slower while the entries are in the memtable.
  static std::shared_ptr<rocksdb::MemTableRepFactory> vector_rep =
      std::make_shared<rocksdb::VectorRepFactory>();
  for (Cf cf : {kLines, kPools, kAudit, kAdapter}) {
    cfs[cf].options.memtable_factory = vector_rep;
  }

  rocksdb::DB* db = nullptr;
  rocksdb::Status st = rocksdb::DB::Open(db_options, options.path, cfs, &s->cf_, &db);
  if (!st.ok()) return Status::IOError("store at '" + options.path + "': " + st.ToString());
  s->db_.reset(db);
  *out = std::move(s);
  return Status::Ok();
}

Status Store::Write(Batch* batch) {
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  return FromRocks(db_->Write(wo, &batch->raw()), "store write");
}

Status Store::GetMeta(const std::string& key, uint64_t* value) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_[kMeta], key, &v);
  *value = 0;
  if (s.IsNotFound()) return Status::Ok();
  RYURYO_RETURN_IF_ERROR(FromRocks(s, "meta " + key));
  Reader r(v);
  if (!r.Varint(value)) return Status::IOError("meta " + key + ": corrupt");
  return Status::Ok();
}

Status Store::LoadInto(Meter* meter) {
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kPools]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto pool = std::make_unique<Pool>();
      RYURYO_RETURN_IF_ERROR(DecodePool(std::string_view(it->value().data(), it->value().size()),
                                        meter->catalog(), pool.get()));
      RYURYO_RETURN_IF_ERROR(meter->RestorePool(std::move(pool)));
    }
    RYURYO_RETURN_IF_ERROR(FromRocks(it->status(), "loading pools"));
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kLines]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto line = std::make_unique<Line>();
    RYURYO_RETURN_IF_ERROR(DecodeLine(std::string_view(it->value().data(), it->value().size()),
                                      meter->catalog(), line.get()));
    RYURYO_RETURN_IF_ERROR(meter->RestoreLine(std::move(line)));
  }
  return FromRocks(it->status(), "loading lines");
}

Status Store::LookupDedup(const std::vector<std::string>& keys, std::vector<DedupState>* states) {
  states->assign(keys.size(), DedupState::kUnseen);
  if (keys.empty()) return Status::Ok();
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->MultiGet(rocksdb::ReadOptions(), cf_[kDedup], keys.size(), slices.data(), values.data(),
                statuses.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    RYURYO_RETURN_IF_ERROR(FromRocks(statuses[i], "dedup lookup"));
    if (values[i].size() > 0) (*states)[i] = static_cast<DedupState>(values[i].data()[0]);
  }
  return Status::Ok();
}

Status Store::ReadEvents(uint64_t after_seq, size_t limit, std::vector<std::string>* json,
                         uint64_t* last_seq) {
  *last_seq = after_seq;
  if (after_seq == UINT64_MAX) return Status::Ok();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kEvents]));
  for (it->Seek(SeqKey(after_seq + 1)); it->Valid() && json->size() < limit; it->Next()) {
    json->emplace_back(it->value().data(), it->value().size());
    *last_seq = DecodeFixed64BE(std::string_view(it->key().data(), it->key().size()));
  }
  return FromRocks(it->status(), "reading events");
}

Status Store::ReadEvent(uint64_t seq, std::string* json) {
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_[kEvents], SeqKey(seq), json);
  if (s.IsNotFound()) return Status::NotFound("event " + std::to_string(seq));
  return FromRocks(s, "reading an event");
}

Status Store::ReadHistory(const std::string& line, char granularity, Millis from, Millis to,
                          char by_dim, std::vector<HistoryPoint>* points) {
  std::string prefix = RollupPrefix(line, granularity);
  std::string lo = prefix, hi = prefix;
  PutFixed64BE(&lo, static_cast<uint64_t>(std::max<Millis>(0, from)));
  PutFixed64BE(&hi, static_cast<uint64_t>(std::max<Millis>(0, to)));
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(hi);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_[kRollup]));
  const char dim = by_dim == 0 ? 't' : by_dim;
  for (it->Seek(lo); it->Valid(); it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    if (k.size() < prefix.size() + 9) continue;
    std::string_view rest = k.substr(prefix.size());
    if (rest[8] != dim) continue;
    if (it->value().size() != 16) continue;
    HistoryPoint p;
    p.start = static_cast<Millis>(DecodeFixed64BE(rest));
    if (by_dim != 0) p.name = std::string(rest.substr(9));
    p.bytes_up = GetFixed64LE(it->value().data());
    p.bytes_down = GetFixed64LE(it->value().data() + 8);
    points->push_back(std::move(p));
  }
  return FromRocks(it->status(), "reading history");
}

Status Store::ReadAudit(const std::string& line, uint64_t before, size_t limit,
                        std::vector<AuditEntry>* entries) {
  std::string prefix = line;
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kAudit]));
  it->SeekForPrev(AuditKey(line, before == 0 ? UINT64_MAX : before - 1));
  for (; it->Valid() && entries->size() < limit; it->Prev()) {
    std::string_view k(it->key().data(), it->key().size());
    if (!k.starts_with(prefix) || k.size() != prefix.size() + 8) break;
    AuditEntry e;
    if (!DecodeAudit(std::string_view(it->value().data(), it->value().size()), &e)) {
      return Status::IOError("audit of line '" + line + "': corrupt entry");
    }
    e.seq = DecodeFixed64BE(k.substr(prefix.size()));
    entries->push_back(std::move(e));
  }
  return FromRocks(it->status(), "reading the audit trail");
}

Status Store::ScanPrefix(
    size_t cf, std::string_view prefix,
    const std::function<Status(std::string_view key, std::string_view value)>& fn,
    const char* what) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[cf]));
  const rocksdb::Slice p(prefix.data(), prefix.size());
  for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next()) {
    RYURYO_RETURN_IF_ERROR(fn(std::string_view(it->key().data(), it->key().size()),
                              std::string_view(it->value().data(), it->value().size())));
  }
  return FromRocks(it->status(), what);
}

Status Store::ScanAdapterState(
    std::string_view prefix,
    const std::function<Status(std::string_view key, std::string_view value)>& fn) {
  return ScanPrefix(kAdapter, prefix, fn, "reading adapter state");
}

Status Store::ScanAccountData(
    std::string_view prefix,
    const std::function<Status(std::string_view key, std::string_view value)>& fn) {
  return ScanPrefix(kAccounts, prefix, fn, "reading accounts");
}

Status Store::ListQuarantine(uint64_t after_seq, size_t limit,
                             std::vector<QuarantineEntry>* entries) {
  if (after_seq == UINT64_MAX) return Status::Ok();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kQuarantine]));
  for (it->Seek(SeqKey(after_seq + 1)); it->Valid() && entries->size() < limit; it->Next()) {
    QuarantineEntry e;
    e.seq = DecodeFixed64BE(std::string_view(it->key().data(), it->key().size()));
    Reader r(std::string_view(it->value().data(), it->value().size()));
    if (!r.SignedVarint(&e.received_at) || !DecodeRecord(&r, &e.record)) {
      return Status::IOError("quarantine entry " + std::to_string(e.seq) + ": corrupt");
    }
    entries->push_back(std::move(e));
  }
  return FromRocks(it->status(), "reading the quarantine");
}

Status Store::ListOutbox(size_t limit, std::vector<OutboxEntry>* entries,
                         const OutboxEntry* after) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kOutbox]));
  if (after == nullptr) {
    it->SeekToFirst();
  } else {
    const std::string from = OutboxKey(*after);
    it->Seek(from);
    if (it->Valid() && it->key() == rocksdb::Slice(from)) it->Next();
  }
  for (; it->Valid() && entries->size() < limit; it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    if (k.size() != 12) break;  // the buried (dead) entries, all after the live ones
    OutboxEntry e;
    e.event_seq = DecodeFixed64BE(k);
    e.endpoint = GetFixed32BE(k.substr(8));
    Reader r(std::string_view(it->value().data(), it->value().size()));
    uint64_t attempts;
    uint8_t dead;
    if (!r.Varint(&attempts) || !r.SignedVarint(&e.next_attempt_at) || !r.String(&e.last_error) ||
        !r.Byte(&dead)) {
      continue;
    }
    e.attempts = static_cast<uint32_t>(attempts);
    e.dead = dead != 0;
    entries->push_back(std::move(e));
  }
  return FromRocks(it->status(), "reading the outbox");
}

Status Store::UpdateOutbox(const OutboxEntry& e) {
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  return FromRocks(db_->Put(wo, cf_[kOutbox], OutboxKey(e), EncodeOutbox(e)), "outbox update");
}

Status Store::BuryOutbox(const OutboxEntry& e) {
  rocksdb::WriteBatch wb;
  wb.Delete(cf_[kOutbox], OutboxKey(e));
  OutboxEntry dead = e;
  dead.dead = true;
  wb.Put(cf_[kOutbox], std::string(1, '\xff') + OutboxKey(e), EncodeOutbox(dead));
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  return FromRocks(db_->Write(wo, &wb), "outbox bury");
}

Status Store::CountDeadOutbox(uint64_t* count) {
  *count = 0;
  return ForEachDeadOutbox([count](uint32_t) { ++*count; });
}

Status Store::ForEachDeadOutbox(const std::function<void(uint32_t endpoint)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kOutbox]));
  for (it->Seek(std::string(1, '\xff')); it->Valid(); it->Next()) {
    // The key ends with the endpoint (OutboxKey: the event's sequence, then the endpoint).
    const rocksdb::Slice key = it->key();
    if (key.size() < 5) continue;
    const auto* end = reinterpret_cast<const unsigned char*>(key.data() + key.size());
    fn((uint32_t{end[-4]} << 24) | (uint32_t{end[-3]} << 16) | (uint32_t{end[-2]} << 8) |
       uint32_t{end[-1]});
  }
  return FromRocks(it->status(), "counting the outbox");
}

Status Store::DeleteOutbox(const OutboxEntry& e) {
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  return FromRocks(db_->Delete(wo, cf_[kOutbox], OutboxKey(e)), "outbox delete");
}

}  // namespace ryuryo::store
