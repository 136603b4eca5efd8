// Meter: the deterministic state machine at the heart of ryuryo (DESIGN §2–§3).
//
// It holds every line's and pool's balance in memory, applies batches of usage records to them
// (expiry-first across buckets), rolls cycles, expires passes and top-ups, evaluates fair use,
// thresholds and pace, and emits events. It does no I/O, reads no clock and starts no thread:
// the caller passes `now` and persists what the Effects of each call name (dirty lines and pools,
// debits for the audit trail, events) in one commit. Feeding it the same calls gives the same
// state, which is what recovery and the seeded simulator rely on.
//
// Deduplication is the caller's job (it needs the store); Apply() counts every record it gets.
//
// Invariant (asserted): every applied record's bytes are debited exactly once, to buckets, to
// over-quota, or to a closed cycle: bytes_applied() == bytes_debited().
//
// Thread-safety: none. One thread (the meter thread) calls everything; readers elsewhere must
// hold the caller's lock.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "core/line_index.h"
#include "core/plan.h"
#include "core/record.h"
#include "core/status.h"
#include "core/timeutil.h"

namespace ryuryo {

inline constexpr uint32_t kLinesMax = 50'000'000;
inline constexpr size_t kBucketsPerBalanceMax = 64;
inline constexpr size_t kPoolMembersMax = 100'000;

enum class BucketKind : uint8_t { kPlan, kRollover, kTopup };
const char* BucketKindName(BucketKind kind);

// An allowance: `quota_bytes` usable in [valid_from, expires_at).
struct Bucket {
  uint32_t id = 0;  // unique within its balance, never reused
  BucketKind kind = BucketKind::kPlan;
  uint64_t quota_bytes = 0;
  uint64_t used_bytes = 0;
  Millis valid_from = 0;
  Millis expires_at = 0;
  std::string topup_id;  // kTopup: the idempotency key it was created with

  uint64_t remaining() const { return quota_bytes - used_bytes; }
  bool ValidAt(Millis t) const { return valid_from <= t && t < expires_at; }
};

enum class LineState : uint8_t { kNormal, kThrottled, kBlocked };
const char* LineStateName(LineState state);

// Why a line is not normal.
enum class StateReason : uint8_t { kNone, kQuota, kFairUse, kExpired };
const char* StateReasonName(StateReason reason);

// A cycle that has ended, kept so that late records can still be charged to it.
struct ClosedCycle {
  Millis start = 0;
  Millis end = 0;  // 0: none
  uint64_t used_bytes = 0;
  uint64_t over_quota_bytes = 0;
  std::vector<Bucket> buckets;      // as they were when the cycle ended
  uint32_t rollover_bucket_id = 0;  // the bucket of the next cycle its leftover became, or 0
};

// The metered thing: a line's own allowance, or a pool's shared one.
struct Balance {
  const Plan* plan = nullptr;
  Zone zone;
  bool started = false;  // false: a first-use pass that has seen no usage yet
  Millis cycle_start = 0;
  Millis cycle_end = 0;  // for a pass: when it expires
  uint64_t cycle_bytes_up = 0;
  uint64_t cycle_bytes_down = 0;
  uint64_t over_quota_bytes = 0;  // bytes of this cycle beyond every bucket
  std::vector<Bucket> buckets;    // in consumption order: by expires_at, then rollover, top-up,
                                  // plan, then id
  uint32_t next_bucket_id = 1;
  ClosedCycle previous;
  std::vector<Threshold> thresholds;  // own thresholds; empty: the plan's apply
  uint64_t fired_mask = 0;            // bit i: thresholds[i] fired this cycle
  bool exhausted_fired = false;
  Millis exhausted_at = 0;
  LineState state = LineState::kNormal;
  StateReason reason = StateReason::kNone;
  // Forecast: an exponentially weighted average of hourly use (half-life 24 h).
  int64_t rate_hour = 0;  // the UTC hour (ms / 1h) that hour_bytes belongs to
  uint64_t hour_bytes = 0;
  double ewma_bytes_per_hour = 0;
  // Fair use (unlimited plans): bytes per UTC hour over the window, a ring indexed by hour.
  std::vector<uint64_t> fair_ring;
  int64_t fair_ring_hour = 0;  // the newest hour in the ring
  Millis next_deadline = 0;    // the next instant Tick() must look at this balance

  uint64_t cycle_bytes() const { return cycle_bytes_up + cycle_bytes_down; }
  const std::vector<Threshold>& EffectiveThresholds() const {
    return thresholds.empty() ? plan->alerts : thresholds;
  }
};

struct Line {
  std::string id;
  std::string account;
  std::string msisdn;  // E.164 digits without '+'
  std::string imsi;
  std::string iccid;
  std::string locale = "ja";
  std::string pool;  // empty: the line has its own balance
  Millis created_at = 0;
  Millis last_record_at = 0;
  uint64_t total_bytes_up = 0;  // over the line's life
  uint64_t total_bytes_down = 0;
  uint64_t member_cycle_bytes = 0;  // in a pool: this member's use in the pool's cycle
  Millis member_cycle_start = 0;
  Balance own;  // used when pool is empty
};

struct Pool {
  std::string id;
  std::string account;
  Millis created_at = 0;
  Balance balance;
  std::vector<uint32_t> members;  // line indexes
};

struct LineSpec {
  std::string id;
  std::string plan;
  std::string account;
  std::string msisdn;
  std::string imsi;
  std::string iccid;
  std::string timezone;  // empty: the plan's
  std::string locale;    // empty: "ja"
  std::string pool;
  std::optional<Millis> activated_at;  // activation passes: default `now`
};

struct PoolSpec {
  std::string id;
  std::string plan;
  std::string account;
  std::string timezone;
};

struct TopUpSpec {
  uint64_t quota_bytes = 0;
  int64_t validity_ms = 0;
  std::string id;  // idempotency key: a second top-up with the same id returns the first
};

// Where a record's bytes went.
struct Debit {
  enum class Target : uint8_t { kBucket, kOverQuota, kPreviousCycle, kClosed };
  Target target = Target::kBucket;
  uint32_t bucket_id = 0;  // kBucket: a bucket of the current cycle; kPreviousCycle: a bucket
                           // of the previous cycle, or a top-up valid in both; else 0
  uint64_t bytes = 0;
};

struct RecordOutcome {
  enum class Kind : uint8_t { kApplied, kQuarantined, kRejected };
  Kind kind = Kind::kApplied;
  Status error;       // kRejected
  uint32_t line = 0;  // kApplied: the line index
  bool late = false;  // charged to an earlier cycle (kPreviousCycle or kClosed debits)
  std::vector<Debit> debits;
};

// A set of line or pool indexes, cheap to fill record by record (a vector, sorted and made
// unique when read), iterated in increasing order like a std::set.
class IndexSet {
 public:
  using value_type = uint32_t;
  using const_iterator = std::vector<uint32_t>::const_iterator;
  using iterator = const_iterator;
  void insert(uint32_t index) {
    v_.push_back(index);
    normal_ = v_.size() == 1 || (normal_ && v_[v_.size() - 2] < index);
  }
  template <typename It>
  void insert(It first, It last) {
    for (; first != last; ++first) insert(*first);
  }
  std::vector<uint32_t>::const_iterator begin() const { return Normal().begin(); }
  std::vector<uint32_t>::const_iterator end() const { return Normal().end(); }
  size_t size() const { return Normal().size(); }
  bool empty() const { return v_.empty(); }
  size_t count(uint32_t index) const {
    const auto& v = Normal();
    return std::binary_search(v.begin(), v.end(), index) ? 1 : 0;
  }
  void clear() {
    v_.clear();
    normal_ = true;
  }

 private:
  const std::vector<uint32_t>& Normal() const {
    if (!normal_) {
      std::sort(v_.begin(), v_.end());
      v_.erase(std::unique(v_.begin(), v_.end()), v_.end());
      normal_ = true;
    }
    return v_;
  }
  mutable std::vector<uint32_t> v_;
  mutable bool normal_ = true;
};

// What one call changed: the caller persists it in one commit.
struct Effects {
  std::vector<Event> events;
  std::vector<RecordOutcome> outcomes;  // Apply(): one per record, in order
  IndexSet dirty_lines;
  IndexSet dirty_pools;
  bool empty() const { return events.empty() && dirty_lines.empty() && dirty_pools.empty(); }
};

struct Forecast {
  double rate_bytes_per_hour = 0;
  std::optional<Millis> exhausted_at;  // projected run-out within this cycle
  uint64_t projected_cycle_bytes = 0;
  std::optional<uint64_t> daily_budget_bytes;
};

// A read-only summary of a line for the API and CLI, computed at `now`.
struct UsageView {
  const Line* line = nullptr;
  const Balance* balance = nullptr;
  const Pool* pool = nullptr;
  bool has_quota = false;
  uint64_t used_bytes = 0;  // charged to this cycle, including over quota
  uint64_t quota_bytes = 0;
  uint64_t remaining_bytes = 0;
  std::vector<const Bucket*> buckets;  // active now, in consumption order
  uint64_t overage_bytes = 0;
  int64_t overage_cost_micros = 0;
  uint64_t fair_use_window_bytes = 0;
  uint64_t throttle_rate_bps = 0;
  Forecast forecast;
};

class Meter {
 public:
  explicit Meter(std::shared_ptr<const Catalog> catalog);
  Meter(const Meter&) = delete;
  Meter& operator=(const Meter&) = delete;

  const Catalog& catalog() const { return *catalog_; }

  // Creates or updates a pool / a line. A changed plan starts the new plan's cycle at `now`
  // (top-ups are kept). Identifiers must not belong to another line.
  Status PutPool(const PoolSpec& spec, Millis now, Effects* fx);
  Status PutLine(const LineSpec& spec, Millis now, Effects* fx);

  // Applies records already deduplicated by the caller, at meter time `now` (first advancing
  // time to `now`). fx->outcomes is replaced by one outcome per record (a reused Effects keeps
  // its events and dirty sets, which accumulate).
  void Apply(const std::vector<UsageRecord>& records, Millis now, Effects* fx);

  // Advances time: cycle resets, pass and top-up expiry, fair-use windows falling back.
  void Tick(Millis now, Effects* fx);

  // Adds a top-up bucket valid from `now`. With a known id, returns that bucket and changes
  // nothing.
  Status TopUp(std::string_view line_key, const TopUpSpec& spec, Millis now, Effects* fx,
               Bucket* created);

  // Replaces the line's (or its pool's) own thresholds; empty restores the plan's. Thresholds
  // already met are marked fired (no alert storm when settings change).
  Status SetThresholds(std::string_view line_key, const std::vector<Threshold>& thresholds,
                       Millis now, Effects* fx);

  // Records an event raised outside the meter (an enforcement outcome, ...): gives it the next
  // seq and appends it to fx->events, so it commits with the batch like the meter's own.
  void EmitEvent(Event ev, Effects* fx) { Emit(std::move(ev), fx); }

  // A line by id or by "msisdn:", "imsi:", "iccid:" (an MSISDN with or without '+').
  const Line* FindLine(std::string_view key) const;
  int64_t FindLineIndex(std::string_view key) const;  // -1 when unknown
  const Pool* FindPool(std::string_view id) const;
  // The indexes of an account's lines, in the order they were provisioned (empty if none).
  const std::vector<uint32_t>& LinesOfAccount(std::string_view account) const;
  const Line& line(uint32_t index) const { return *lines_[index]; }
  const Pool& pool(uint32_t index) const { return *pools_[index]; }
  size_t line_count() const { return lines_.size(); }
  size_t pool_count() const { return pools_.size(); }
  const Balance& BalanceOf(const Line& line) const;

  UsageView Usage(const Line& line, Millis now) const;
  Forecast ForecastOf(const Balance& b, Millis now) const;

  // Restores persisted state (recovery): pools first, then lines. The plan named by the state
  // must exist in the catalog.
  Status RestorePool(std::unique_ptr<Pool> pool);
  Status RestoreLine(std::unique_ptr<Line> line);
  uint64_t next_event_seq() const { return next_event_seq_; }
  void set_next_event_seq(uint64_t seq) { next_event_seq_ = seq; }

  // Conservation counters (bytes of applied records, bytes debited).
  uint64_t bytes_applied() const { return bytes_applied_; }
  uint64_t bytes_debited() const { return bytes_debited_; }
  uint64_t records_applied() const { return records_applied_; }

 private:
  struct Deadline {
    Millis at;
    bool is_pool;
    uint32_t index;
    bool operator>(const Deadline& o) const { return at > o.at; }
  };
  struct Owner {  // who a balance belongs to, for events and dirty marking
    bool is_pool = false;
    uint32_t index = 0;
  };

  Balance& BalanceAt(Owner o);
  Owner OwnerOf(uint32_t line_index) const;
  void MarkDirty(Owner o, Effects* fx);
  Event NewEvent(EventType type, Owner o, const Line* trigger, Millis at) const;
  void Emit(Event ev, Effects* fx);

  void InitBalance(Balance* b, const Plan* plan, const Zone& zone, Millis now,
                   std::optional<Millis> activated_at);
  void StartCycle(Balance* b, Millis start, Millis end, uint64_t rollover_bytes);
  void CycleAt(const Balance& b, Millis at, Millis* start, Millis* end) const;
  // Rolls cycles / expires buckets up to `now`; emits reset events.
  void AdvanceTo(Owner o, Millis now, Effects* fx);
  // Recomputes the state and thresholds after a change; emits events for transitions.
  void Evaluate(Owner o, const Line* trigger, Millis now, Effects* fx, std::string_view cause = {});
  void Schedule(Owner o);
  void ChargeRecord(Owner o, Line* line, const UsageRecord& r, Millis now, RecordOutcome* out);
  void DebitBuckets(std::vector<Bucket>* buckets, Millis at, uint64_t bytes, Debit::Target target,
                    std::vector<Debit>* debits, uint64_t* left);
  uint64_t FairUseWindowBytes(const Balance& b, Millis now) const;
  void AddFairUse(Balance* b, Millis at, uint64_t bytes);
  void AddRate(Balance* b, Millis at, uint64_t bytes);
  void IndexLine(uint32_t index);
  void UnindexLine(const Line& line);

  std::shared_ptr<const Catalog> catalog_;
  std::vector<std::unique_ptr<Line>> lines_;
  std::vector<std::unique_ptr<Pool>> pools_;
  LineIndex line_by_id_{[this](uint32_t i) -> std::string_view { return lines_[i]->id; }};
  LineIndex line_by_msisdn_{[this](uint32_t i) -> std::string_view { return lines_[i]->msisdn; }};
  LineIndex line_by_imsi_{[this](uint32_t i) -> std::string_view { return lines_[i]->imsi; }};
  LineIndex line_by_iccid_{[this](uint32_t i) -> std::string_view { return lines_[i]->iccid; }};
  std::unordered_map<std::string, uint32_t> pool_by_id_;
  std::unordered_map<std::string, std::vector<uint32_t>> lines_by_account_;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<Deadline>> deadlines_;
  Millis clock_ = 0;  // the latest `now` seen
  uint64_t next_event_seq_ = 1;
  uint64_t bytes_applied_ = 0;
  uint64_t bytes_debited_ = 0;
  uint64_t records_applied_ = 0;
};

// Normalises an MSISDN to its digits (drops '+', spaces, dashes); "+81 90-1234-5678" ->
// "819012345678". Leading-zero national forms are kept as written.
std::string NormalizeMsisdn(std::string_view msisdn);

// Money owed for over-quota bytes on an overage plan in the current cycle.
int64_t OverageCostMicros(const AfterQuota& policy, uint64_t over_bytes);

}  // namespace ryuryo
