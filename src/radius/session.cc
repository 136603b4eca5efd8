#include "radius/session.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <limits>

#include "core/codec.h"
#include "core/uint128.h"

namespace ryuryo::radius {

namespace {

constexpr uint8_t kSessionFormat = 2;  // 1: without the peer
// Times stored in a session may exceed an event time by the skew (a generation's start).
constexpr Millis kStoredTimeMax = kEventTimeMax + kMillisPerDay;

Status CheckText(std::string_view name, std::string_view value, size_t min, size_t max) {
  if (value.size() < min) return Status::InvalidArgument(std::string(name) + ": missing");
  if (value.size() > max) {
    return Status::InvalidArgument(std::string(name) + ": longer than " + std::to_string(max) +
                                   " bytes");
  }
  return Status::Ok();
}

Status CheckLineKey(std::string_view key) {
  RYURYO_RETURN_IF_ERROR(CheckText("line_key", key, 0, kSessionLineKeyBytesMax));
  for (unsigned char c : key) {
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidArgument("line_key: contains a control character");
    }
  }
  return Status::Ok();
}

Status CheckCounters(std::string_view name, const SessionCounters& c) {
  if (c.input_raw > kCumulativeOctetsMax || c.output_raw > kCumulativeOctetsMax) {
    return Status::InvalidArgument(std::string(name) + ": counter out of range");
  }
  if (c.input_wraps > kWrapsMax || c.output_wraps > kWrapsMax) {
    return Status::InvalidArgument(std::string(name) + ": wraps out of range");
  }
  if (c.last_time < 0 || c.last_time > kStoredTimeMax) {
    return Status::InvalidArgument(std::string(name) + ": last_time out of range");
  }
  return Status::Ok();
}

Status ValidateSession(const Session& s) {
  RYURYO_RETURN_IF_ERROR(CheckText("nas", s.nas, 1, kNasBytesMax));
  RYURYO_RETURN_IF_ERROR(CheckText("session_id", s.session_id, 1, kSessionIdBytesMax));
  RYURYO_RETURN_IF_ERROR(CheckLineKey(s.line_key));
  RYURYO_RETURN_IF_ERROR(CheckText("peer", s.peer, 0, kSessionPeerBytesMax));
  if (s.open != (s.close_reason == Session::CloseReason::kNone)) {
    return Status::InvalidArgument("close_reason: does not match open");
  }
  if (static_cast<uint8_t>(s.close_reason) > static_cast<uint8_t>(Session::CloseReason::kIdle)) {
    return Status::InvalidArgument("close_reason: unknown");
  }
  for (Millis t : {s.started_at, s.closed_at}) {
    if (t < 0 || t > kStoredTimeMax) return Status::InvalidArgument("time out of range");
  }
  RYURYO_RETURN_IF_ERROR(CheckCounters("current", s.current));
  if (s.has_previous) RYURYO_RETURN_IF_ERROR(CheckCounters("previous", s.previous));
  return Status::Ok();
}

// '%', ':' and control characters become %XX, so that the parts of an id cannot run together.
void AppendEscaped(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (c == '%' || c == ':' || c < 0x20 || c == 0x7f) {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
}

Millis StartEstimate(const AccountingInput& in) {
  return std::max<Millis>(0, in.event_time - Millis{in.session_time_s} * kMillisPerSecond);
}

void PutCounters(std::string* out, const SessionCounters& c) {
  PutVarint(out, c.generation);
  PutVarint(out, c.input_raw);
  PutVarint(out, c.output_raw);
  PutVarint(out, c.input_wraps);
  PutVarint(out, c.output_wraps);
  PutSignedVarint(out, c.last_time);
}

bool ReadCounters(Reader* r, SessionCounters* c) {
  uint64_t gen, in_wraps, out_wraps;
  if (!r->Varint(&gen) || !r->Varint(&c->input_raw) || !r->Varint(&c->output_raw) ||
      !r->Varint(&in_wraps) || !r->Varint(&out_wraps) || !r->SignedVarint(&c->last_time)) {
    return false;
  }
  if (gen > std::numeric_limits<uint32_t>::max() || in_wraps > kWrapsMax || out_wraps > kWrapsMax) {
    return false;
  }
  c->generation = static_cast<uint32_t>(gen);
  c->input_wraps = static_cast<uint32_t>(in_wraps);
  c->output_wraps = static_cast<uint32_t>(out_wraps);
  return true;
}

// The move of one direction's cumulative counter.
struct Step {
  uint64_t delta = 0;
  bool up = false;
  bool down = false;  // lower than seen (reordered), ignored
  bool wrap = false;
};

Step Advance(uint64_t last, uint32_t wraps, uint64_t now, bool newer, bool older) {
  Step s;
  if (now > last) {
    if (wraps > 0 && older && now < kWrapModulus) {
      s.down = true;  // an interim from before the last wrap, delivered after it
    } else {
      s.up = true;
      s.delta = now - last;
    }
  } else if (now < last) {
    if (newer && last >= kWrapHighMin && last < kWrapModulus && now < kWrapLowMax &&
        wraps < kWrapsMax) {
      s.up = s.wrap = true;
      s.delta = now + kWrapModulus - last;
    } else {
      s.down = true;
    }
  }
  return s;
}

}  // namespace

enum class Outcome { kCounted, kSame, kIgnored };

SessionTracker::Key SessionTracker::MakeKey(std::string_view nas, std::string_view session_id) {
  Key k;
  k.reserve(1 + nas.size() + session_id.size());
  k.push_back(static_cast<char>(static_cast<uint8_t>(nas.size())));
  k.append(nas);
  k.append(session_id);
  return k;
}

std::string SessionTracker::RecordId(std::string_view nas, std::string_view session_id,
                                     uint32_t generation, uint64_t input_total,
                                     uint64_t output_total) {
  std::string id = "radius:";
  AppendEscaped(&id, nas);
  id.push_back(':');
  AppendEscaped(&id, session_id);
  id.push_back(':');
  id += std::to_string(input_total);
  id.push_back(':');
  id += std::to_string(output_total);
  if (generation > 0) {
    id += ":g";
    id += std::to_string(generation);
  }
  if (id.size() <= kSessionRecordIdBytesMax) return id;
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  auto add = [&](std::string_view s) {
    uint32_t n = static_cast<uint32_t>(s.size());
    XXH3_128bits_update(st, &n, sizeof n);
    XXH3_128bits_update(st, s.data(), s.size());
  };
  auto add_int = [&](uint64_t v) { XXH3_128bits_update(st, &v, sizeof v); };
  add(nas);
  add(session_id);
  add_int(generation);
  add_int(input_total);
  add_int(output_total);
  XXH128_hash_t h = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  char buf[48];
  std::snprintf(buf, sizeof buf, "radius:h:%016llx%016llx",
                static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

NasSessionCounters& SessionTracker::CountersFor(const std::string& nas) {
  auto it = nas_counters_.find(nas);
  if (it != nas_counters_.end()) return it->second;
  if (nas_counters_.size() >= kNasCountersMax) return nas_counters_[""];
  return nas_counters_[nas];
}

Status SessionTracker::Apply(const AccountingInput& in, std::vector<UsageRecord>* records) {
  if (in.nas.empty() || in.nas.size() > kNasBytesMax) {
    NasSessionCounters& other = nas_counters_[""];
    ++other.requests;
    ++other.errors;
    return CheckText("nas", in.nas, 1, kNasBytesMax);
  }
  NasSessionCounters& stats = CountersFor(in.nas);
  ++stats.requests;
  Status st;
  if (in.event_time < 0 || in.event_time > kEventTimeMax) {
    st = Status::InvalidArgument("event_time: out of range");
  } else if (in.status == AccountingInput::Status::kAccountingOn ||
             in.status == AccountingInput::Status::kAccountingOff) {
    ++stats.nas_reboots;
    CloseNas(in.nas, in.event_time, stats);
    return Status::Ok();
  } else if (in.input_octets > kCumulativeOctetsMax || in.output_octets > kCumulativeOctetsMax) {
    st = Status::InvalidArgument("octets: cumulative counter over 2^60");
  } else {
    st = CheckText("session_id", in.session_id, 1, kSessionIdBytesMax);
    if (st.ok()) st = CheckLineKey(in.line_key);
    if (st.ok()) st = CheckText("peer", in.peer, 0, kSessionPeerBytesMax);
    if (st.ok()) st = ApplySession(in, stats, records);
  }
  if (!st.ok()) ++stats.errors;
  return st;
}

void SessionTracker::NewGeneration(Session& s, const AccountingInput& in, Millis started_at) {
  uint32_t generation = s.has_previous ? s.previous.generation + 1 : 0;
  s.current = SessionCounters{};
  s.current.generation = generation;
  s.current.last_time = started_at;
  s.started_at = started_at;
  if (!in.line_key.empty()) s.line_key = in.line_key;
  if (!in.peer.empty()) s.peer = in.peer;
}

Status SessionTracker::ApplySession(const AccountingInput& in, NasSessionCounters& stats,
                                    std::vector<UsageRecord>* records) {
  using S = AccountingInput::Status;
  const bool is_start = in.status == S::kStart;
  const bool is_stop = in.status == S::kStop;
  Key key = MakeKey(in.nas, in.session_id);
  auto it = sessions_.find(key);
  // Counts `in` against generation `g`; marks the session dirty when `g` changed.
  auto count = [&](Session& s, SessionCounters& g) -> Outcome {
    size_t before = records->size();
    if (Count(s, g, in, stats, records)) MarkDirty(key);
    if (records->size() > before) return Outcome::kCounted;
    return g.input_raw == in.input_octets && g.output_raw == in.output_octets ? Outcome::kSame
                                                                              : Outcome::kIgnored;
  };
  // A message of the generation before the current one (older than its start).
  auto to_previous = [&](Session& s) {
    if (is_start) {
      // A Start begins a generation, it is never a late message of the one before: this is a
      // retransmit (whose event time moved by the Acct-Delay-Time truncation) of a Start.
      ++stats.duplicates;
      return;
    }
    if (!s.has_previous) {
      ++stats.reordered;
      return;
    }
    Outcome o = count(s, s.previous);
    if (o == Outcome::kCounted) ++stats.late;
    if (o == Outcome::kSame) ++stats.duplicates;
  };
  // A new generation on a known id (the NAS restarted or reused it).
  auto restart = [&](Session& s, Millis started_at) {
    ++stats.restarts;
    if (!is_start) ++stats.implicit_starts;
    s.previous = s.current;
    s.has_previous = true;
    NewGeneration(s, in, started_at);
    count(s, s.current);
    if (is_stop)
      Close(key, s, Session::CloseReason::kStop, std::max(s.current.last_time, in.event_time));
    MarkDirty(key);
  };

  if (it == sessions_.end()) {
    if (in.line_key.empty()) {
      return Status::InvalidArgument("line_key: missing for a session new to us");
    }
    if (open_count_ >= limits_.open_max) {
      return Status::ResourceExhausted("open RADIUS sessions: limit of " +
                                       std::to_string(limits_.open_max) + " reached");
    }
    Session fresh;
    fresh.nas = in.nas;
    fresh.session_id = in.session_id;
    NewGeneration(fresh, in, StartEstimate(in));
    if (!is_start) ++stats.implicit_starts;
    ++open_count_;
    Session& s = sessions_.emplace(key, std::move(fresh)).first->second;
    count(s, s.current);
    if (is_stop) {
      Close(key, s, Session::CloseReason::kStop, std::max(s.current.last_time, in.event_time));
      EvictClosed();
    }
    MarkDirty(key);
    return Status::Ok();
  }

  Session& s = it->second;
  const uint32_t generation_max = std::numeric_limits<uint32_t>::max();
  if (s.open) {
    if (in.event_time < s.started_at) {
      to_previous(s);
      return Status::Ok();
    }
    const bool lower =
        in.input_octets < s.current.input_raw || in.output_octets < s.current.output_raw;
    if (is_start && lower && in.event_time > s.current.last_time + kEventTimeSkewMs &&
        s.current.generation < generation_max) {
      // Older messages (even those after the last counted) belong to the old generation.
      restart(s, in.event_time);
      return Status::Ok();
    }
    if (!in.peer.empty() && in.peer != s.peer) {
      s.peer = in.peer;
      MarkDirty(key);
    }
    Outcome o = count(s, s.current);
    if (is_stop) {
      Close(key, s, Session::CloseReason::kStop, std::max(s.current.last_time, in.event_time));
      MarkDirty(key);
      EvictClosed();
    } else if (o == Outcome::kSame) {
      ++stats.duplicates;
    }
    return Status::Ok();
  }

  // Closed.
  if (s.close_reason == Session::CloseReason::kIdle && in.event_time > s.closed_at) {
    if (open_count_ >= limits_.open_max) {
      return Status::ResourceExhausted("open RADIUS sessions: limit of " +
                                       std::to_string(limits_.open_max) + " reached");
    }
    Unclose(key, s);
    count(s, s.current);
    if (is_stop) {
      Close(key, s, Session::CloseReason::kStop, std::max(s.current.last_time, in.event_time));
    }
    MarkDirty(key);
    EvictClosed();
    return Status::Ok();
  }
  if (in.event_time < s.started_at) {
    to_previous(s);
    return Status::Ok();
  }
  const bool reuse_ok = s.current.generation < generation_max;
  if (reuse_ok && in.event_time >= s.closed_at && in.event_time <= s.closed_at + kEventTimeSkewMs) {
    // Within the skew after the close, two messages still mean a new session on the same id
    // (a NAS that reboots and starts sessions again within seconds): a Start that is not a
    // retransmit of this generation's own Start, and counters lower than the closed ones
    // (counters of one session never go down, and the closed one's late messages are older than
    // the close).
    const bool lower =
        in.input_octets < s.current.input_raw || in.output_octets < s.current.output_raw;
    if ((is_start && in.event_time > s.started_at + kEventTimeSkewMs) || (!is_start && lower)) {
      if (open_count_ >= limits_.open_max) {
        return Status::ResourceExhausted("open RADIUS sessions: limit of " +
                                         std::to_string(limits_.open_max) + " reached");
      }
      Unclose(key, s);
      restart(s, std::max(s.closed_at, StartEstimate(in)));
      EvictClosed();
      return Status::Ok();
    }
  }
  if (in.event_time <= s.closed_at + kEventTimeSkewMs) {
    // A retransmitted Stop, or a late message of the closed generation.
    Outcome o = count(s, s.current);
    if (o == Outcome::kCounted) ++stats.late;
    if (o == Outcome::kSame) ++stats.duplicates;
    return Status::Ok();
  }
  // Newer than the close: the NAS reused the id for a new session.
  if (!reuse_ok) {
    ++stats.reordered;
    return Status::Ok();
  }
  if (open_count_ >= limits_.open_max) {
    return Status::ResourceExhausted("open RADIUS sessions: limit of " +
                                     std::to_string(limits_.open_max) + " reached");
  }
  // Earlier by the skew, so that retransmits of this message with an earlier event time still
  // belong to the new generation; but after anything of the closed one.
  const Millis started_at =
      std::max(StartEstimate(in) - kEventTimeSkewMs, s.closed_at + kEventTimeSkewMs + 1);
  Unclose(key, s);
  restart(s, started_at);
  EvictClosed();
  return Status::Ok();
}

bool SessionTracker::Count(const Session& s, SessionCounters& g, const AccountingInput& in,
                           NasSessionCounters& stats, std::vector<UsageRecord>* records) {
  const bool newer = in.event_time > g.last_time;
  const bool older = in.event_time < g.last_time;
  Step up = Advance(g.input_raw, g.input_wraps, in.input_octets, newer, older);
  Step down = Advance(g.output_raw, g.output_wraps, in.output_octets, newer, older);
  if (up.down || down.down) ++stats.reordered;
  if (!up.up && !down.up) {
    if (up.down || down.down) return false;
    // Same counters: only the time may move on (a Stop or an idle interim).
    if (in.event_time > g.last_time) {
      g.last_time = in.event_time;
      return true;
    }
    return false;
  }
  const Millis start = g.last_time;
  if (up.up) {
    g.input_raw = in.input_octets;
    if (up.wrap) {
      ++g.input_wraps;
      ++stats.wraps;
    }
  }
  if (down.up) {
    g.output_raw = in.output_octets;
    if (down.wrap) {
      ++g.output_wraps;
      ++stats.wraps;
    }
  }
  g.last_time = std::max(g.last_time, in.event_time);
  UsageRecord r;
  r.id = RecordId(s.nas, s.session_id, g.generation, g.input_total(), g.output_total());
  r.line = in.line_key.empty() ? s.line_key : in.line_key;
  r.bytes_up = up.delta;  // Acct-Input-Octets: from the user
  r.bytes_down = down.delta;
  r.start = start;
  r.end = g.last_time;
  r.source = "radius";
  records->push_back(std::move(r));
  ++stats.records;
  return true;
}

void SessionTracker::Close(const Key& key, Session& s, Session::CloseReason reason, Millis at) {
  s.open = false;
  s.close_reason = reason;
  s.closed_at = at;
  s.closed_seq = next_closed_seq_++;
  closed_order_.emplace(s.closed_seq, key);
  --open_count_;
  MarkDirty(key);
}

void SessionTracker::Unclose(const Key& key, Session& s) {
  closed_order_.erase({s.closed_seq, key});
  s.open = true;
  s.close_reason = Session::CloseReason::kNone;
  s.closed_at = 0;
  s.closed_seq = 0;
  ++open_count_;
}

void SessionTracker::CloseNas(const std::string& nas, Millis at, NasSessionCounters& stats) {
  Key prefix = MakeKey(nas, "");
  for (auto it = sessions_.lower_bound(prefix);
       it != sessions_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    Session& s = it->second;
    // A session with activity after the On/Off lives in the NAS's new life (or the On/Off was
    // delivered late): left open.
    if (!s.open || s.current.last_time > at) continue;
    Close(it->first, s, Session::CloseReason::kNasReboot, std::max(s.current.last_time, at));
    ++stats.closed_by_reboot;
  }
  EvictClosed();
}

size_t SessionTracker::CloseIdle(Millis before) {
  size_t n = 0;
  for (auto& [key, s] : sessions_) {
    if (s.open && s.current.last_time < before) {
      Close(key, s, Session::CloseReason::kIdle, s.current.last_time);
      ++n;
    }
  }
  EvictClosed();
  return n;
}

void SessionTracker::EvictClosed() {
  while (closed_order_.size() > limits_.closed_max) {
    auto first = closed_order_.begin();
    Key key = first->second;
    closed_order_.erase(first);
    sessions_.erase(key);
    MarkDirty(key);
  }
}

SessionChanges SessionTracker::TakeChanges() {
  SessionChanges changes;
  for (const Key& key : dirty_) {
    auto it = sessions_.find(key);
    if (it != sessions_.end()) {
      changes.upserted.push_back(it->second);
    } else {
      size_t n = static_cast<uint8_t>(key[0]);
      changes.removed.push_back({key.substr(1, n), key.substr(1 + n)});
    }
  }
  dirty_.clear();
  return changes;
}

Status SessionTracker::Restore(Session session) {
  RYURYO_RETURN_IF_ERROR(ValidateSession(session));
  Key key = MakeKey(session.nas, session.session_id);
  if (sessions_.count(key)) {
    return Status::AlreadyExists("session " + session.session_id + " of " + session.nas);
  }
  if (session.open) {
    if (open_count_ >= limits_.open_max) {
      return Status::ResourceExhausted("open RADIUS sessions: limit of " +
                                       std::to_string(limits_.open_max) + " reached");
    }
    ++open_count_;
  } else {
    closed_order_.emplace(session.closed_seq, key);
    next_closed_seq_ = std::max(next_closed_seq_, session.closed_seq + 1);
  }
  sessions_.emplace(std::move(key), std::move(session));
  EvictClosed();
  return Status::Ok();
}

const Session* SessionTracker::Find(std::string_view nas, std::string_view session_id) const {
  if (nas.size() > kNasBytesMax) return nullptr;
  auto it = sessions_.find(MakeKey(nas, session_id));
  return it == sessions_.end() ? nullptr : &it->second;
}

void SessionTracker::ForEachSession(const std::function<void(const Session&)>& fn) const {
  for (const auto& [key, s] : sessions_) fn(s);
}

std::vector<UsageRecord> SessionTracker::SplitAt(const UsageRecord& r, Millis boundary) {
  if (r.end <= r.start || boundary <= r.start || boundary >= r.end) return {r};
  const uint64_t span = static_cast<uint64_t>(r.end) - static_cast<uint64_t>(r.start);
  const uint64_t first_span = static_cast<uint64_t>(boundary) - static_cast<uint64_t>(r.start);
  auto first_share = [&](uint64_t bytes) {
    return static_cast<uint64_t>(Uint128{bytes} * first_span / span);
  };
  UsageRecord a = r;
  UsageRecord b = r;
  a.end = boundary;
  b.start = boundary;
  a.bytes_up = first_share(r.bytes_up);
  a.bytes_down = first_share(r.bytes_down);
  b.bytes_up = r.bytes_up - a.bytes_up;
  b.bytes_down = r.bytes_down - a.bytes_down;
  if (!r.id.empty()) {
    a.id += "#1";
    b.id += "#2";
  }
  return {std::move(a), std::move(b)};
}

std::string EncodeSession(const Session& s) {
  std::string out;
  out.push_back(static_cast<char>(kSessionFormat));
  PutString(&out, s.nas);
  PutString(&out, s.session_id);
  PutString(&out, s.line_key);
  out.push_back(static_cast<char>((s.open ? 1 : 0) | (s.has_previous ? 2 : 0)));
  out.push_back(static_cast<char>(s.close_reason));
  PutSignedVarint(&out, s.started_at);
  PutSignedVarint(&out, s.closed_at);
  PutVarint(&out, s.closed_seq);
  PutCounters(&out, s.current);
  if (s.has_previous) PutCounters(&out, s.previous);
  PutString(&out, s.peer);
  return out;
}

Status DecodeSession(std::string_view data, Session* session) {
  Reader r(data);
  Session s;
  uint8_t format, flags, reason;
  if (!r.Byte(&format)) return Status::InvalidArgument("session: empty");
  if (format != kSessionFormat && format != 1) {
    return Status::InvalidArgument("session: unknown format " + std::to_string(format));
  }
  if (!r.String(&s.nas) || !r.String(&s.session_id) || !r.String(&s.line_key) || !r.Byte(&flags) ||
      !r.Byte(&reason) || !r.SignedVarint(&s.started_at) || !r.SignedVarint(&s.closed_at) ||
      !r.Varint(&s.closed_seq) || !ReadCounters(&r, &s.current)) {
    return Status::InvalidArgument("session: truncated or corrupt");
  }
  if (flags & ~3u) return Status::InvalidArgument("session: unknown flags");
  if (reason > static_cast<uint8_t>(Session::CloseReason::kIdle)) {
    return Status::InvalidArgument("session: unknown close reason");
  }
  s.open = flags & 1;
  s.has_previous = flags & 2;
  s.close_reason = static_cast<Session::CloseReason>(reason);
  if (s.has_previous && !ReadCounters(&r, &s.previous)) {
    return Status::InvalidArgument("session: truncated or corrupt");
  }
  if (format >= 2 && !r.String(&s.peer)) return Status::InvalidArgument("session: truncated peer");
  if (!r.done()) return Status::InvalidArgument("session: trailing bytes");
  RYURYO_RETURN_IF_ERROR(ValidateSession(s).Prefixed("session"));
  *session = std::move(s);
  return Status::Ok();
}

}  // namespace ryuryo::radius
