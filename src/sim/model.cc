#include "sim/model.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <utility>

#include "core/record.h"
#include "radius/dictionary.h"

namespace ryuryo::sim {

namespace {

// Share of people online at each local hour (0 = midnight): a lunch peak and a higher evening
// one, as mobile networks see it. Interpolated linearly between hours.
constexpr double kActivityByHour[24] = {0.35, 0.20, 0.12, 0.08, 0.07, 0.10, 0.25, 0.50,
                                        0.65, 0.55, 0.50, 0.60, 0.90, 0.70, 0.55, 0.55,
                                        0.60, 0.70, 0.80, 0.90, 1.00, 1.00, 0.85, 0.60};

struct App {
  const char* name;
  double down_bps;  // while in use
  double up_share;  // bytes up per byte down
  double weight;    // how often a session uses it
};
constexpr App kApps[] = {
    {"video", 2.5e6, 0.03, 20}, {"social", 0.8e6, 0.12, 30},     {"web", 0.5e6, 0.08, 25},
    {"maps", 0.25e6, 0.10, 8},  {"messaging", 0.04e6, 0.45, 12}, {"updates", 8e6, 0.01, 5},
};
constexpr size_t kAppCount = sizeof(kApps) / sizeof(kApps[0]);
// Per report, the chance that the user moves on to another app.
constexpr double kAppSwitchChance = 0.25;

// Mean session length at full activity (scaled by 0.5 + activity); mean idle gap between
// sessions at full activity (longer as activity drops, down to a floor of kActivityFloor).
constexpr double kSessionMeanMs = 20.0 * kMillisPerMinute;
constexpr double kIdleGapMeanMs = 45.0 * kMillisPerMinute;
constexpr double kActivityFloor = 0.05;
constexpr Millis kIdleGapMinMs = 10 * kMillisPerSecond;

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

Millis FloorSecond(Millis t) {
  return t - ((t % kMillisPerSecond) + kMillisPerSecond) % kMillisPerSecond;
}

bool AllDigits(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Status CheckProbability(const char* name, double p) {
  if (!(p >= 0 && p <= 1))
    return Status::InvalidArgument(std::string(name) + ": must be in [0, 1]");
  return Status::Ok();
}

}  // namespace

Status Model::Create(const ModelOptions& options, std::vector<SimLine> lines,
                     std::unique_ptr<Model>* model) {
  if (lines.empty()) return Status::InvalidArgument("lines: none to simulate");
  if (lines.size() > kSimLinesMax) {
    return Status::InvalidArgument("lines: at most " + std::to_string(kSimLinesMax));
  }
  if (options.interim_interval_s < kInterimIntervalSMin ||
      options.interim_interval_s > kInterimIntervalSMax) {
    return Status::InvalidArgument("interim interval: must be from " +
                                   std::to_string(kInterimIntervalSMin) + " s to " +
                                   std::to_string(kInterimIntervalSMax) + " s");
  }
  if (options.nas_count < 1 || options.nas_count > kSimNasMax) {
    return Status::InvalidArgument("nas count: must be from 1 to " + std::to_string(kSimNasMax));
  }
  if (!(options.volume_scale > 0 && options.volume_scale <= kVolumeScaleMax)) {
    return Status::InvalidArgument("volume scale: must be above 0 and at most 1000000");
  }
  if (options.start < 0 || options.start > kSimStartMsMax) {
    return Status::InvalidArgument("start: must be from 1970 to 2105 (Event-Timestamp is 32 bits)");
  }
  RYURYO_RETURN_IF_ERROR(CheckProbability("retransmit", options.faults.retransmit));
  RYURYO_RETURN_IF_ERROR(CheckProbability("duplicate", options.faults.duplicate));
  RYURYO_RETURN_IF_ERROR(CheckProbability("reorder", options.faults.reorder));
  RYURYO_RETURN_IF_ERROR(CheckProbability("nas reboot", options.faults.nas_reboot));
  for (size_t i = 0; i < lines.size(); ++i) {
    const SimLine& l = lines[i];
    const std::string where = "line " + std::to_string(i) + " ('" + l.id + "')";
    RYURYO_RETURN_IF_ERROR(ValidateLineId(l.id).Prefixed(where + ": id"));
    if (!AllDigits(l.imsi) || l.imsi.size() > 15) {
      return Status::InvalidArgument(where + ": imsi: must be at most 15 digits");
    }
    if (!AllDigits(l.msisdn) || l.msisdn.size() > 15) {
      return Status::InvalidArgument(where + ": msisdn: must be at most 15 digits");
    }
  }
  std::unique_ptr<Model> m(new Model(options, std::move(lines)));
  std::map<std::string, uint32_t> zone_index;
  for (size_t i = 0; i < m->lines_.size(); ++i) {
    const std::string& name = m->lines_[i].timezone;
    auto it = zone_index.find(name);
    if (it == zone_index.end()) {
      ZoneCache z;
      RYURYO_RETURN_IF_ERROR(
          Zone::Find(name, &z.zone).Prefixed("line '" + m->lines_[i].id + "': timezone"));
      it = zone_index.emplace(name, static_cast<uint32_t>(m->zones_.size())).first;
      m->zones_.push_back(z);
    }
    m->state_[i].zone = it->second;
  }
  // Every line begins idle; its first session starts after an idle gap from the start.
  for (uint32_t i = 0; i < m->lines_.size(); ++i) m->ScheduleNextSession(i, m->options_.start);
  *model = std::move(m);
  return Status::Ok();
}

Model::Model(const ModelOptions& options, std::vector<SimLine> lines)
    : options_(options),
      lines_(std::move(lines)),
      state_(lines_.size()),
      traffic_(lines_.size()),
      active_(options.nas_count),
      nas_down_until_(options.nas_count, 0),
      nas_session_numbers_(options.nas_count, 0),
      nas_release_(options.nas_count) {
  options_.start = FloorSecond(options_.start);
  now_ = options_.start;
  uint64_t s = options_.seed;
  for (uint64_t& word : rng_) word = SplitMix64(&s);
  uint64_t tag_state = options_.seed ^ static_cast<uint64_t>(options_.start / kMillisPerSecond);
  run_tag_ = static_cast<uint32_t>(SplitMix64(&tag_state));
}

uint64_t Model::NextRandom() {  // xoshiro256**
  const uint64_t result = Rotl(rng_[1] * 5, 7) * 9;
  const uint64_t t = rng_[1] << 17;
  rng_[2] ^= rng_[0];
  rng_[3] ^= rng_[1];
  rng_[1] ^= rng_[2];
  rng_[0] ^= rng_[3];
  rng_[2] ^= t;
  rng_[3] = Rotl(rng_[3], 45);
  return result;
}

double Model::Uniform() { return static_cast<double>(NextRandom() >> 11) * 0x1.0p-53; }

double Model::Exponential(double mean) { return -std::log1p(-Uniform()) * mean; }

double Model::Activity(uint32_t line, Millis t) {
  ZoneCache& z = zones_[state_[line].zone];
  const Millis hour = t - ((t % kMillisPerHour) + kMillisPerHour) % kMillisPerHour;
  if (z.hour != hour) {
    z.hour = hour;
    z.offset_s = z.zone.OffsetSecondsAt(t);
  }
  const Millis local = t + z.offset_s * kMillisPerSecond;
  const double h = static_cast<double>(((local % kMillisPerDay) + kMillisPerDay) % kMillisPerDay) /
                   kMillisPerHour;
  const int h0 = static_cast<int>(h) % 24;
  const double f = h - std::floor(h);
  return kActivityByHour[h0] * (1 - f) + kActivityByHour[(h0 + 1) % 24] * f;
}

void Model::Schedule(Millis time, EventKind kind, uint32_t target) {
  const uint32_t epoch = kind == EventKind::kNasUp ? 0 : state_[target].epoch;
  events_.push(Event{time, seq_++, target, epoch, kind});
}

void Model::ScheduleNextSession(uint32_t line, Millis after) {
  // Session starts form a Poisson process whose rate follows the activity curve (drawn by
  // thinning: candidates at the peak rate, each kept in proportion to the activity then).
  Millis t = after + kIdleGapMinMs;
  for (;;) {
    t += static_cast<Millis>(Exponential(kIdleGapMeanMs));
    if (Uniform() * (1 + kActivityFloor) < kActivityFloor + Activity(line, t)) break;
  }
  Schedule(FloorSecond(t), EventKind::kSessionStart, line);
}

const Message* Model::Peek() {
  Fill();
  return out_.empty() ? nullptr : &out_.front();
}

bool Model::Next(Message* message) {
  Fill();
  if (out_.empty()) return false;
  *message = std::move(out_.front());
  out_.pop_front();
  return true;
}

void Model::Finish() { finished_ = true; }

void Model::Fill() {
  while (out_.empty()) {
    if (finished_) {
      // The end: what the NASes still hold goes out now, in a deterministic order.
      for (auto& [line, m] : held_) {
        m.send_time = now_;
        out_.push_back(std::move(m));
      }
      held_.clear();
      for (auto& release : nas_release_) {
        for (Message& m : release) {
          m.send_time = now_;
          out_.push_back(std::move(m));
        }
        release.clear();
      }
      return;
    }
    if (events_.empty()) {
      finished_ = true;
      continue;
    }
    Event e = events_.top();
    events_.pop();
    now_ = e.time;
    Process(e);
  }
}

void Model::Process(const Event& e) {
  if (e.kind == EventKind::kNasUp) {
    const uint32_t nas = e.target;
    Message on;
    on.kind = Message::Kind::kAccountingOn;
    on.event_time = e.time;
    on.send_time = e.time;
    on.nas = nas;
    on.session_number = nas_session_numbers_[nas]++;
    ++stats_.accounting_ons;
    Emit(std::move(on));
    // Interims the NAS had held back before it went down: late, but still sent.
    for (Message& m : nas_release_[nas]) {
      m.send_time = e.time;
      out_.push_back(std::move(m));
    }
    nas_release_[nas].clear();
    return;
  }
  const uint32_t line = e.target;
  LineState& ls = state_[line];
  if (e.epoch != ls.epoch) return;  // the session it belonged to was cut
  switch (e.kind) {
    case EventKind::kSessionStart:
      StartSession(line, e.time);
      return;
    case EventKind::kInterim: {
      if (Chance(options_.faults.nas_reboot)) {
        RebootNas(ls.session.nas, e.time);
        return;
      }
      Report(line, e.time, Message::Kind::kInterim);
      const Millis next = e.time + Millis{options_.interim_interval_s} * kMillisPerSecond;
      if (next < ls.session.ends_at) {
        Schedule(next, EventKind::kInterim, line);
      } else {
        Schedule(ls.session.ends_at, EventKind::kStop, line);
      }
      return;
    }
    case EventKind::kStop:
      Report(line, e.time, Message::Kind::kStop);
      EndSession(line);
      ++stats_.sessions_stopped;
      ScheduleNextSession(line, e.time);
      return;
    case EventKind::kNasUp:
      return;
  }
}

void Model::StartSession(uint32_t line, Millis t) {
  if (finished_ ||
      (options_.sessions_max != 0 && stats_.sessions_started >= options_.sessions_max)) {
    return;  // the line stays idle
  }
  const uint32_t nas = static_cast<uint32_t>(NextRandom() % options_.nas_count);
  if (nas_down_until_[nas] > t) {
    // The gateway is rebooting: the phone attaches once it is back.
    Schedule(FloorSecond(nas_down_until_[nas] + kMillisPerSecond +
                         static_cast<Millis>(Uniform() * kMillisPerMinute)),
             EventKind::kSessionStart, line);
    return;
  }
  LineState& ls = state_[line];
  Session& s = ls.session;
  s = Session{};
  s.ordinal = stats_.sessions_started++;
  s.number = nas_session_numbers_[nas]++;
  s.nas = nas;
  s.nas_slot = static_cast<uint32_t>(active_[nas].size());
  active_[nas].push_back(line);
  s.framed_ip = 0x0A400000u | ((line + 1) & 0x3FFFFFu);  // 10.64.0.0/10
  s.started_at = t;
  s.traffic_until = t;
  const double activity = Activity(line, t);
  const double duration = Exponential(kSessionMeanMs * (0.5 + activity));
  s.ends_at = t + FloorSecond(std::clamp<Millis>(static_cast<Millis>(duration),
                                                 kSessionDurationMinMs, kSessionDurationMaxMs));
  double pick = Uniform() * 100;  // the weights add up to 100
  s.app = kAppCount - 1;
  for (size_t i = 0; i < kAppCount; ++i) {
    if (pick < kApps[i].weight) {
      s.app = static_cast<uint8_t>(i);
      break;
    }
    pick -= kApps[i].weight;
  }
  Report(line, t, Message::Kind::kStart);
  const Millis next = t + Millis{options_.interim_interval_s} * kMillisPerSecond;
  if (next < s.ends_at) {
    Schedule(next, EventKind::kInterim, line);
  } else {
    Schedule(s.ends_at, EventKind::kStop, line);
  }
}

void Model::GenerateTraffic(uint32_t line, Millis until) {
  Session& s = state_[line].session;
  if (until <= s.traffic_until) return;
  const double seconds = static_cast<double>(until - s.traffic_until) / kMillisPerSecond;
  const double activity = Activity(line, s.traffic_until);
  if (Uniform() < kAppSwitchChance) s.app = static_cast<uint8_t>(NextRandom() % kAppCount);
  const App& app = kApps[s.app];
  const double duty = 0.02 + 0.3 * Uniform();  // share of the time the app moves data
  const double down =
      app.down_bps / 8 * seconds * duty * (0.4 + 0.6 * activity) * options_.volume_scale;
  const double up = down * app.up_share * (0.7 + 0.6 * Uniform());
  const uint64_t down_bytes = static_cast<uint64_t>(down);
  const uint64_t up_bytes = static_cast<uint64_t>(up);
  s.down += down_bytes;
  s.up += up_bytes;
  traffic_[line].generated_down += down_bytes;
  traffic_[line].generated_up += up_bytes;
  s.traffic_until = until;
}

void Model::Report(uint32_t line, Millis t, Message::Kind kind) {
  Session& s = state_[line].session;
  if (kind != Message::Kind::kStart) GenerateTraffic(line, t);
  Message m;
  m.kind = kind;
  m.event_time = t;
  m.send_time = t;
  m.line = line;
  m.nas = s.nas;
  m.session = s.ordinal;
  m.session_number = s.number;
  m.input_octets = s.up;
  m.output_octets = s.down;
  m.session_time_s = static_cast<uint32_t>((t - s.started_at) / kMillisPerSecond);
  m.framed_ip = s.framed_ip;
  s.reported_up = s.up;
  s.reported_down = s.down;
  switch (kind) {
    case Message::Kind::kStart:
      ++stats_.starts;
      break;
    case Message::Kind::kInterim:
      ++stats_.interims;
      break;
    case Message::Kind::kStop:
      ++stats_.stops;
      break;
    case Message::Kind::kAccountingOn:
      break;
  }
  const bool hold =
      kind == Message::Kind::kInterim && held_.count(line) == 0 && Chance(options_.faults.reorder);
  if (hold) {
    CountRequest(&m);
    m.reordered = true;
    ++stats_.reordered;
    held_.emplace(line, std::move(m));
    return;
  }
  const bool duplicate = kind == Message::Kind::kInterim && Chance(options_.faults.duplicate);
  Message copy;
  if (duplicate) copy = m;
  Emit(std::move(m));
  if (duplicate && !finished_) {
    copy.duplicate = true;
    ++stats_.duplicates;
    Emit(std::move(copy));
  }
  // The interim held back before this message goes out right after it.
  if (auto it = held_.find(line); it != held_.end()) {
    it->second.send_time = t;
    out_.push_back(std::move(it->second));
    held_.erase(it);
  }
}

void Model::CountRequest(Message* m) {
  ++stats_.requests;
  if (options_.requests_max != 0 && stats_.requests >= options_.requests_max) finished_ = true;
  if (Chance(options_.faults.retransmit)) {
    m->copies = 2;
    ++stats_.retransmits;
  }
}

void Model::Emit(Message m) {
  CountRequest(&m);
  out_.push_back(std::move(m));
}

void Model::EndSession(uint32_t line) {
  LineState& ls = state_[line];
  Session& s = ls.session;
  std::vector<uint32_t>& active = active_[s.nas];
  assert(s.nas_slot < active.size() && active[s.nas_slot] == line);
  const uint32_t moved = active.back();
  active[s.nas_slot] = moved;
  state_[moved].session.nas_slot = s.nas_slot;
  active.pop_back();
  ++ls.epoch;  // events of this session are stale from now on
}

void Model::RebootNas(uint32_t nas, Millis t) {
  ++stats_.nas_reboots;
  const Millis up = t + kNasRebootMs;
  nas_down_until_[nas] = up;
  Schedule(up, EventKind::kNasUp, nas);
  const std::vector<uint32_t> cut = active_[nas];
  for (uint32_t line : cut) {
    GenerateTraffic(line, t);
    Session& s = state_[line].session;
    traffic_[line].lost_up += s.up - s.reported_up;
    traffic_[line].lost_down += s.down - s.reported_down;
    EndSession(line);
    ++stats_.sessions_cut;
    if (auto it = held_.find(line); it != held_.end()) {
      nas_release_[nas].push_back(std::move(it->second));
      held_.erase(it);
    }
    ScheduleNextSession(line, up);
  }
}

std::string Model::NasIdentifier(uint32_t nas) { return "sim-gw-" + std::to_string(nas); }

uint32_t Model::NasIpAddress(uint32_t nas) { return 0xC6120001u + nas; }  // 198.18.0.1 + nas

std::string Model::SessionId(const Message& message) const {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%08X-%04X-%08llX", run_tag_, message.nas,
                static_cast<unsigned long long>(message.session_number));
  return buf;
}

radius::Packet Model::ToPacket(const Message& m) const {
  using namespace radius;
  Packet p;
  p.code = kAccountingRequest;
  auto& a = p.attributes;
  uint32_t status = kAcctStatusInterimUpdate;
  switch (m.kind) {
    case Message::Kind::kStart:
      status = kAcctStatusStart;
      break;
    case Message::Kind::kInterim:
      status = kAcctStatusInterimUpdate;
      break;
    case Message::Kind::kStop:
      status = kAcctStatusStop;
      break;
    case Message::Kind::kAccountingOn:
      status = kAcctStatusAccountingOn;
      break;
  }
  a.reserve(20);
  a.push_back(Uint32Attribute(kAcctStatusType, status));
  if (m.line != Message::kNoLine) {
    const SimLine& l = lines_[m.line];
    a.push_back(StringAttribute(kUserName, l.imsi.empty() ? l.id : l.imsi));
  }
  a.push_back(Ipv4Attribute(kNasIpAddress, NasIpAddress(m.nas)));
  a.push_back(StringAttribute(kNasIdentifier, NasIdentifier(m.nas)));
  a.push_back(StringAttribute(kAcctSessionId, SessionId(m)));
  a.push_back(
      Uint32Attribute(kEventTimestamp, static_cast<uint32_t>(m.event_time / kMillisPerSecond)));
  a.push_back(Uint32Attribute(
      kAcctDelayTime, static_cast<uint32_t>((m.send_time - m.event_time) / kMillisPerSecond)));
  if (m.line == Message::kNoLine) return p;  // Accounting-On
  const SimLine& l = lines_[m.line];
  a.push_back(Uint32Attribute(kServiceType, 2));   // Framed-User
  a.push_back(Uint32Attribute(kNasPortType, 18));  // Wireless-Other
  a.push_back(Ipv4Attribute(kFramedIpAddress, m.framed_ip));
  a.push_back(StringAttribute(kCalledStationId, "internet"));  // the APN
  if (!l.msisdn.empty()) a.push_back(StringAttribute(kCallingStationId, l.msisdn));
  if (m.kind != Message::Kind::kStart) {
    a.push_back(Uint32Attribute(kAcctSessionTime, m.session_time_s));
    a.push_back(Uint32Attribute(kAcctInputOctets, static_cast<uint32_t>(m.input_octets)));
    a.push_back(Uint32Attribute(kAcctOutputOctets, static_cast<uint32_t>(m.output_octets)));
    a.push_back(Uint32Attribute(kAcctInputGigawords, static_cast<uint32_t>(m.input_octets >> 32)));
    a.push_back(
        Uint32Attribute(kAcctOutputGigawords, static_cast<uint32_t>(m.output_octets >> 32)));
  }
  if (m.kind == Message::Kind::kStop) {
    a.push_back(Uint32Attribute(kAcctTerminateCause, 1));  // User-Request
  }
  if (!l.imsi.empty()) a.push_back(VendorStringAttribute(kVendor3gpp, k3gppImsi, l.imsi));
  return p;
}

void ExpectedTotals::Acknowledged(const Message& m) {
  if (m.line == Message::kNoLine || m.line >= up_.size()) return;
  if (m.session >= session_max_.size()) session_max_.resize(m.session + 1, {0, 0});
  auto& [max_up, max_down] = session_max_[m.session];
  if (m.input_octets > max_up) {
    up_[m.line] += m.input_octets - max_up;
    max_up = m.input_octets;
  }
  if (m.output_octets > max_down) {
    down_[m.line] += m.output_octets - max_down;
    max_down = m.output_octets;
  }
}

uint64_t ExpectedTotals::total_up() const {
  uint64_t t = 0;
  for (uint64_t v : up_) t += v;
  return t;
}

uint64_t ExpectedTotals::total_down() const {
  uint64_t t = 0;
  for (uint64_t v : down_) t += v;
  return t;
}

}  // namespace ryuryo::sim
