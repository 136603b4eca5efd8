// RADIUS accounting sessions (RFC 2866, RFC 2869 §5.1–5.2, RFC 5080 §2.2): turns the cumulative
// per-session counters of Accounting-Requests into usage deltas (UsageRecords) so that no byte is
// counted twice or lost (DESIGN §2). Pure and deterministic: no sockets, no clock, no threads;
// the same state and the same inputs always yield the same records with the same ids.
//
// A session is keyed by (NAS, Acct-Session-Id). For each direction the tracker keeps the last
// cumulative counter the NAS reported; a record carries the increase since then.
//
//  - Start opens a session with a zero baseline (a Start with non-zero counters counts them).
//    Interim-Update: delta = new cumulative − last cumulative, per direction; a record
//    [last event time, event time] is emitted when the delta is positive. Stop: the final delta
//    (it covers lost interims: the counters are cumulative), then the session is closed.
//  - Exact retransmits / duplicated interims (same counters): no record, counted as duplicates.
//    Reordered interims (a counter lower than the last seen): never a negative delta; each
//    direction takes only its increase (per-direction max); counted as reordered.
//  - Interim or Stop for an unknown session (its Start was lost): an implicit Start with a zero
//    baseline, so the full cumulative amount is counted once. Its record starts at
//    event time − Acct-Session-Time.
//  - Accounting-On / Accounting-Off of a NAS close every open session of that NAS whose last
//    event is at or before the On/Off's event time (a delayed or retransmitted On/Off never
//    closes a session with activity after it). No records: their last interims counted what is
//    known. A late interim of such a session (sent before the reboot, event time <= the close)
//    still counts its increase.
//  - Closed sessions are kept in a bounded recently-closed set (kClosedSessionsMax, FIFO) so
//    that retransmitted Stops and late interims are absorbed. A message for a closed session
//    whose event time is more than kEventTimeSkewMs after the close means the NAS reused the id
//    for a new session: a new generation with a zero baseline. Within that skew after the close,
//    a Start (other than a retransmit of the closed generation's own Start) or counters lower
//    than the closed ones also begin a new generation: a NAS that reboots and starts its
//    sessions again within seconds, on the same ids.
//  - A Start for an open session with a LOWER counter than seen, more than kEventTimeSkewMs
//    after the session's last event, means the NAS restarted the id: the old generation is
//    closed and a new one opens. (An older Start is a retransmit and is ignored.) The previous
//    generation is kept, so its late messages (event time before the new generation's start)
//    still count against it.
//    Known limit: an Interim/Stop (not a Start) for a still-open session is always taken as
//    that session's continuation. If a NAS reuses an id after a reboot, the new session's Start
//    is lost AND its Accounting-On arrives after the new session's interims, the new session's
//    first bytes up to the old counters are not counted (undercount, never double counting).
//  - 32-bit wrap without Gigawords, heuristic: if a direction's counter goes down, the old value
//    was in [2^32 − 2^30, 2^32) (no Gigawords, near the top), the new one is below 2^30 and the
//    message is newer than the last one counted, the counter wrapped: delta = new + 2^32 − old.
//    Conversely, once a direction has wrapped, a message OLDER than the last counted with a
//    higher (32-bit) counter is an interim from before a wrap delivered late: ignored (a newer
//    message's cumulative counter covers it). Growth of 1 GiB or more in one direction between
//    two counted messages of a session without Gigawords defeats the heuristic (such a NAS must
//    send Gigawords; a missed wrap undercounts, it never double counts).
//
// Every record: source "radius", line = the input's line_key (or the session's when empty),
// start = the previous event time counted, end = the event time (never before start), and a
// deterministic id: "radius:" NAS ":" Acct-Session-Id ":" cumulative_in ":" cumulative_out, with
// ":g<N>" appended from the second generation of a reused id on. Cumulatives include inferred
// wraps. In the NAS and session id, '%', ':' and control characters are %XX-escaped (an IPv6 NAS
// address contains ':'); an id that would exceed kSessionRecordIdBytesMax is replaced by
// "radius:h:" and a 128-bit hash of its parts. A replay after a crash yields the same ids.
//
// Persistence: the caller stores EncodeSession() of every session TakeChanges() reports as
// upserted (and deletes the removed ones) in the same commit as the records, and calls Restore()
// for each stored session at startup.
//
// Thread-safety: SessionTracker is not thread-safe (one owner, like the meter); the free
// functions and the value types are safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/record.h"
#include "core/status.h"
#include "core/timeutil.h"

namespace ryuryo::radius {

// Limits.
inline constexpr size_t kOpenSessionsMax = 10'000'000;
inline constexpr size_t kClosedSessionsMax = 1'000'000;  // the recently-closed set
inline constexpr size_t kSessionIdBytesMax = 253;        // a RADIUS attribute value
inline constexpr size_t kNasBytesMax = 253;
inline constexpr size_t kSessionLineKeyBytesMax = kRecordFieldBytesMax;
inline constexpr size_t kSessionPeerBytesMax = 1024;
// Cumulative counters above this are rejected (2^60 bytes: Gigawords give at most 2^64 − 1).
inline constexpr uint64_t kCumulativeOctetsMax = uint64_t{1} << 60;
// Inferred 32-bit wraps per direction and generation; beyond, a lower counter is "reordered".
inline constexpr uint32_t kWrapsMax = 1u << 24;
// Per-NAS ops counters are kept for at most this many NAS; the rest share the "" entry.
inline constexpr size_t kNasCountersMax = 4096;
// Room for split suffixes ("#1", "#2") under kRecordFieldBytesMax.
inline constexpr size_t kSessionRecordIdBytesMax = kRecordFieldBytesMax - 16;
// Event times of one message vary by this much between retransmits (Acct-Delay-Time is in
// whole seconds) and between NAS and us; a message is "newer than a close" only beyond it.
inline constexpr Millis kEventTimeSkewMs = 5 * kMillisPerSecond;
// The 32-bit wrap heuristic's bands.
inline constexpr uint64_t kWrapModulus = uint64_t{1} << 32;
inline constexpr uint64_t kWrapHighMin = kWrapModulus - (uint64_t{1} << 30);  // old >= this
inline constexpr uint64_t kWrapLowMax = uint64_t{1} << 30;                    // new < this
// Event times must be in [0, kEventTimeMax] (9999-12-31T23:59:59.999Z).
inline constexpr Millis kEventTimeMax = 253'402'300'799'999;

struct AccountingInput {
  enum class Status { kStart, kInterim, kStop, kAccountingOn, kAccountingOff };

  std::string nas;         // the NAS (client address or NAS-Identifier); 1..kNasBytesMax bytes
  std::string session_id;  // Acct-Session-Id; 1..kSessionIdBytesMax (unused for On/Off)
  Status status = Status::kInterim;
  uint64_t input_octets = 0;    // already combined with Acct-Input-Gigawords (<< 32)
  uint64_t output_octets = 0;   // same for output
  Millis event_time = 0;        // Event-Timestamp, or receive time minus Acct-Delay-Time
  uint32_t session_time_s = 0;  // Acct-Session-Time
  std::string line_key;  // the line as found by the adapter; required for a session new to us
  // Opaque to the tracker: what the adapter needs to reach the session later (the NAS address,
  // User-Name, Framed-IP-Address… for CoA). Kept with the current generation; a non-empty value
  // replaces the stored one. At most kSessionPeerBytesMax bytes.
  std::string peer;
};

// One generation of a session: the last cumulative counters counted.
struct SessionCounters {
  uint32_t generation = 0;
  uint64_t input_raw = 0;  // last cumulative Acct-Input-Octets as reported (with Gigawords)
  uint64_t output_raw = 0;
  uint32_t input_wraps = 0;  // inferred 32-bit wraps
  uint32_t output_wraps = 0;
  Millis last_time = 0;  // the latest event time counted

  uint64_t input_total() const { return input_raw + (uint64_t{input_wraps} << 32); }
  uint64_t output_total() const { return output_raw + (uint64_t{output_wraps} << 32); }
  bool operator==(const SessionCounters&) const = default;
};

struct Session {
  enum class CloseReason : uint8_t { kNone = 0, kStop, kNasReboot, kIdle };

  std::string nas;
  std::string session_id;
  std::string line_key;  // the line of the current generation
  bool open = true;
  CloseReason close_reason = CloseReason::kNone;
  Millis started_at = 0;    // start of the current generation; older messages go to `previous`
  Millis closed_at = 0;     // when closed (if !open)
  uint64_t closed_seq = 0;  // order in the recently-closed set
  SessionCounters current;
  bool has_previous = false;
  SessionCounters previous;  // the generation before (closed), for its late messages
  std::string peer;          // AccountingInput::peer of the current generation

  bool operator==(const Session&) const = default;
};

struct SessionKey {
  std::string nas;
  std::string session_id;
  bool operator==(const SessionKey&) const = default;
};

// Ops counters per NAS (Prometheus counters; not persisted).
struct NasSessionCounters {
  uint64_t requests = 0;         // every Apply call
  uint64_t errors = 0;           // Apply returned an error
  uint64_t records = 0;          // records emitted
  uint64_t duplicates = 0;       // same counters again (retransmit, duplicated interim)
  uint64_t reordered = 0;        // a counter lower than seen (ignored), or an older generation's
                                 // message with no previous generation left
  uint64_t implicit_starts = 0;  // Interim/Stop for a session without a Start
  uint64_t wraps = 0;            // inferred 32-bit wraps (per direction)
  uint64_t restarts = 0;         // a new generation on a known id (Start with lower counters,
                                 // or an id reused after a close)
  uint64_t late = 0;             // increases counted for an already closed session
  uint64_t nas_reboots = 0;      // Accounting-On / Off
  uint64_t closed_by_reboot = 0;
};

// What changed since the previous TakeChanges(): persist `upserted`, delete `removed`.
struct SessionChanges {
  std::vector<Session> upserted;
  std::vector<SessionKey> removed;
};

class SessionTracker {
 public:
  struct Limits {
    size_t open_max = kOpenSessionsMax;
    size_t closed_max = kClosedSessionsMax;
  };

  SessionTracker() = default;
  explicit SessionTracker(Limits limits) : limits_(limits) {}

  // Applies one Accounting-Request; appends 0 or 1 record to *records. On error (a field out
  // of its limits: InvalidArgument; kOpenSessionsMax reached: ResourceExhausted) nothing
  // changes and nothing is appended.
  Status Apply(const AccountingInput& input, std::vector<UsageRecord>* records);

  // Closes (reason kIdle) open sessions whose last event is before `before`. A later message
  // for such a session reopens it in the same generation (its counters continue), so closing
  // an idle session never causes double counting. Returns how many were closed.
  size_t CloseIdle(Millis before);

  // Sessions upserted or removed (evicted from the recently-closed set) since the previous
  // call, in key order.
  SessionChanges TakeChanges();

  // Loads a persisted session (startup). Errors: invalid fields (InvalidArgument), the key
  // already present (AlreadyExists), kOpenSessionsMax reached (ResourceExhausted).
  Status Restore(Session session);

  const Session* Find(std::string_view nas, std::string_view session_id) const;
  void ForEachSession(const std::function<void(const Session&)>& fn) const;
  size_t open_sessions() const { return open_count_; }
  size_t closed_sessions() const { return closed_order_.size(); }
  const std::map<std::string, NasSessionCounters>& nas_counters() const { return nas_counters_; }

  // Splits a record at `boundary` pro rata by time: [start, boundary] and [boundary, end], bytes
  // divided exactly (floor to the earlier part, the remainder to the later, so the parts add up
  // to the whole), ids suffixed "#1" and "#2" (when not empty). A boundary at or outside
  // [start, end], or a zero-length record, yields the record unchanged.
  static std::vector<UsageRecord> SplitAt(const UsageRecord& r, Millis boundary);

  // The record id for a session's cumulative counters (exposed for tests and tools).
  static std::string RecordId(std::string_view nas, std::string_view session_id,
                              uint32_t generation, uint64_t input_total, uint64_t output_total);

 private:
  using Key = std::string;  // one length byte, the NAS, the session id: a NAS's keys are adjacent
  static Key MakeKey(std::string_view nas, std::string_view session_id);

  NasSessionCounters& CountersFor(const std::string& nas);
  Status ApplySession(const AccountingInput& in, NasSessionCounters& stats,
                      std::vector<UsageRecord>* records);
  // Counts the increase of `in` over `g`; returns true when `g` changed.
  bool Count(const Session& s, SessionCounters& g, const AccountingInput& in,
             NasSessionCounters& stats, std::vector<UsageRecord>* records);
  void Close(const Key& key, Session& s, Session::CloseReason reason, Millis at);
  void Unclose(const Key& key, Session& s);
  void NewGeneration(Session& s, const AccountingInput& in, Millis started_at);
  void CloseNas(const std::string& nas, Millis at, NasSessionCounters& stats);
  void EvictClosed();
  void MarkDirty(const Key& key) { dirty_.insert(key); }

  Limits limits_;
  std::map<Key, Session> sessions_;
  std::set<std::pair<uint64_t, Key>> closed_order_;  // (closed_seq, key)
  uint64_t next_closed_seq_ = 1;
  size_t open_count_ = 0;
  std::set<Key> dirty_;
  std::map<std::string, NasSessionCounters> nas_counters_;
};

// The persisted form of a session: a format byte, then varints and strings (core/codec.h).
std::string EncodeSession(const Session& session);
// Defensive: any corrupt or truncated input is an InvalidArgument, never a crash.
Status DecodeSession(std::string_view data, Session* session);

}  // namespace ryuryo::radius
