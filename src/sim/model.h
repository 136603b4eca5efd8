// The traffic model of `ryuryo simulate`: a seeded, deterministic generator of the RADIUS
// accounting a mobile network sends for a set of lines (SIMs). Pure: no sockets, no clock, no
// threads; the same options and lines always yield the same messages in the same order.
//
// Each line plays data sessions one after the other on one of `nas_count` gateways (NAS):
// Accounting-Request Start, an Interim-Update every `interim_interval_s` of simulated time, and
// Stop. Sessions follow a daily pattern in the line's local time (low at night, a peak at lunch
// and a higher one in the evening): the gaps between sessions are shorter and the traffic heavier
// when people are awake. Each session uses one app at a time (video, social, web, maps,
// messaging, updates; each with its own byte rate and upload share), switching now and then.
// With the defaults a line in Tokyo has about 13 sessions and 0.6 GB a day (a heavy smartphone
// user), about 80 requests a day. Counters are cumulative per session, as a NAS reports them:
// Acct-Input-Octets (from the user: bytes up) and Acct-Output-Octets (bytes down) hold the low 32
// bits, Acct-Input/Output-Gigawords the high bits.
//
// Fault injection (probabilities, each drawn per message):
//  - retransmit: the message is marked `copies = 2`; the client sends the same datagram twice
//    (same Identifier, same Authenticator), as a NAS does when it retransmits;
//  - duplicate: after an Interim-Update, a new packet with the same attributes follows (the
//    client gives it another Identifier, so to RADIUS it is a new request with the same counters);
//  - reorder: an Interim-Update is held back and sent right after the session's next message
//    (an interim, the Stop, or the NAS's Accounting-On if the NAS reboots first);
//  - nas_reboot: instead of sending an Interim-Update, its NAS reboots: every session of that NAS
//    is cut without a Stop (the bytes since each session's last report are never reported: the
//    model counts them as lost), and kNasRebootMs later the NAS sends Accounting-On; the lines
//    start new sessions (new Acct-Session-Ids) after that.
//
// What a correct accounting server counts: every byte reported exactly once, i.e. for each
// session the highest cumulative counters (per direction) among its acknowledged messages.
// ExpectedTotals accumulates that per line from the messages a server acknowledged; if every
// message is acknowledged, it equals traffic() generated minus lost, per line.
//
// Times are simulated milliseconds since the Unix epoch, in whole seconds (RADIUS carries
// seconds). A message has the time its event happened (Event-Timestamp) and the time the NAS
// sends it (later for a held-back interim: Acct-Delay-Time is the difference).
// Messages come out in send-time order.
//
// Thread-safety: a Model and an ExpectedTotals are not thread-safe (one owner each).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/timeutil.h"
#include "radius/packet.h"

namespace ryuryo::sim {

// Limits.
inline constexpr size_t kSimLinesMax = 10'000'000;
inline constexpr uint32_t kSimNasMax = 1024;
inline constexpr uint32_t kInterimIntervalSMin = 10;
inline constexpr uint32_t kInterimIntervalSMax = 86'400;
inline constexpr double kVolumeScaleMax = 1'000'000;
// Event-Timestamp is 32-bit seconds: a start leaves a year of room before it wraps (2106).
inline constexpr Millis kSimStartMsMax = (Millis{UINT32_MAX} - 366 * 86'400) * 1000;
// A rebooting NAS sends Accounting-On this long after it went down.
inline constexpr Millis kNasRebootMs = 60 * kMillisPerSecond;
// Sessions last between these (before being cut short by a reboot or the end of the run).
inline constexpr Millis kSessionDurationMinMs = 1 * kMillisPerMinute;
inline constexpr Millis kSessionDurationMaxMs = 6 * kMillisPerHour;

struct SimLine {
  std::string id;      // the line id: User-Name when the line has no IMSI
  std::string imsi;    // User-Name and 3GPP-IMSI; may be empty
  std::string msisdn;  // Calling-Station-Id, digits only (no '+'); may be empty
  std::string timezone = "Asia/Tokyo";
};

struct FaultOptions {
  double retransmit = 0;  // probability, per message, that it is sent twice as the same datagram
  double duplicate = 0;   // per Interim-Update: a second packet with the same counters follows
  double reorder = 0;     // per Interim-Update: held back and sent after the session's next one
  double nas_reboot = 0;  // per Interim-Update: its NAS reboots instead of sending it
};

struct ModelOptions {
  uint64_t seed = 1;
  Millis start = 0;  // simulated time of the beginning (whole seconds)
  uint32_t interim_interval_s = 300;
  uint32_t nas_count = 4;
  double volume_scale = 1.0;  // multiplies every app's byte rate (large values reach Gigawords)
  FaultOptions faults;
  uint64_t sessions_max = 0;  // sessions started at most; 0: no bound
  uint64_t requests_max = 0;  // new packets generated at most (not counting copies); 0: no bound
};

// One Accounting-Request to send, before the client gives it an Identifier and Authenticator.
struct Message {
  enum class Kind : uint8_t { kStart, kInterim, kStop, kAccountingOn };
  static constexpr uint32_t kNoLine = UINT32_MAX;

  Kind kind = Kind::kInterim;
  Millis event_time = 0;    // Event-Timestamp
  Millis send_time = 0;     // when the NAS sends it (>= event_time)
  uint32_t line = kNoLine;  // index into the model's lines; kNoLine for Accounting-On
  uint32_t nas = 0;
  uint64_t session = 0;         // session ordinal, unique in the run (0, 1, 2, ...)
  uint64_t session_number = 0;  // the number in Acct-Session-Id
  uint64_t input_octets = 0;    // cumulative, full 64 bits (Start: 0)
  uint64_t output_octets = 0;
  uint32_t session_time_s = 0;  // Acct-Session-Time
  uint32_t framed_ip = 0;       // Framed-IP-Address, host byte order
  uint8_t copies = 1;           // 2: send the same datagram twice (injected retransmit)
  bool duplicate = false;       // an injected duplicate (a new packet with the same counters)
  bool reordered = false;       // an interim that was held back
};

// Bytes per line as the sessions produced them.
struct LineTraffic {
  uint64_t generated_up = 0;  // every byte the sessions used
  uint64_t generated_down = 0;
  uint64_t lost_up = 0;  // used but never reported: cut off by a NAS reboot
  uint64_t lost_down = 0;
};

struct ModelStats {
  uint64_t requests = 0;  // new packets generated (what requests_max bounds)
  uint64_t sessions_started = 0;
  uint64_t sessions_stopped = 0;  // with a Stop
  uint64_t sessions_cut = 0;      // by a NAS reboot
  uint64_t starts = 0, interims = 0, stops = 0, accounting_ons = 0;
  uint64_t retransmits = 0;  // messages marked copies = 2
  uint64_t duplicates = 0;
  uint64_t reordered = 0;
  uint64_t nas_reboots = 0;
};

class Model {
 public:
  // Checks the options (ranges above; probabilities in [0, 1]; lines 1..kSimLinesMax, each with
  // a valid id, digits-only IMSI/MSISDN of at most 15 digits, a known time zone).
  static Status Create(const ModelOptions& options, std::vector<SimLine> lines,
                       std::unique_ptr<Model>* model);

  // The next message, or nullptr when the model has ended (sessions_max sessions all ended, or
  // requests_max reached, or Finish() called, and every held-back message released).
  const Message* Peek();
  // Removes the message Peek() returned; returns false when there is none.
  bool Next(Message* message);
  // Ends the run: no further events; messages already queued or held back still come out.
  void Finish();

  // The Accounting-Request for a message (Identifier 0, zero Authenticator).
  radius::Packet ToPacket(const Message& message) const;
  // Acct-Session-Id of a message: "<run tag>-<NAS>-<number>" in hexadecimal, unique per session.
  std::string SessionId(const Message& message) const;

  const std::vector<SimLine>& lines() const { return lines_; }
  const std::vector<LineTraffic>& traffic() const { return traffic_; }
  const ModelStats& stats() const { return stats_; }
  const ModelOptions& options() const { return options_; }
  // The NAS's NAS-Identifier ("sim-gw-3") and NAS-IP-Address (198.18.0.4, host byte order).
  static std::string NasIdentifier(uint32_t nas);
  static uint32_t NasIpAddress(uint32_t nas);

 private:
  enum class EventKind : uint8_t { kSessionStart, kInterim, kStop, kNasUp };
  struct Event {
    Millis time;
    uint64_t seq;     // ties broken by scheduling order
    uint32_t target;  // line index, or NAS index for kNasUp
    uint32_t epoch;   // the line's epoch when scheduled; stale events are skipped
    EventKind kind;
    bool operator>(const Event& o) const { return time != o.time ? time > o.time : seq > o.seq; }
  };
  struct Session {
    uint64_t ordinal = 0;
    uint64_t number = 0;
    uint32_t nas = 0;
    uint32_t nas_slot = 0;  // position in active_[nas]
    uint32_t framed_ip = 0;
    Millis started_at = 0;
    Millis ends_at = 0;
    Millis traffic_until = 0;   // bytes are generated up to here
    uint64_t up = 0, down = 0;  // cumulative, generated
    uint64_t reported_up = 0, reported_down = 0;
    uint8_t app = 0;
  };
  struct LineState {
    uint32_t zone = 0;  // index into zones_
    uint32_t epoch = 0;
    Session session;
  };
  struct ZoneCache {
    Zone zone;
    Millis hour = -1;  // the UTC hour (ms) cached
    int offset_s = 0;
  };

  Model(const ModelOptions& options, std::vector<SimLine> lines);
  void Schedule(Millis time, EventKind kind, uint32_t target);
  // Processes events until a message is queued or the model ends.
  void Fill();
  void Process(const Event& e);
  void StartSession(uint32_t line, Millis t);
  void Report(uint32_t line, Millis t, Message::Kind kind);
  void EndSession(uint32_t line);
  void RebootNas(uint32_t nas, Millis t);
  void ScheduleNextSession(uint32_t line, Millis after);
  void GenerateTraffic(uint32_t line, Millis until);
  void CountRequest(Message* m);             // counts a new packet, draws a retransmit
  void Emit(Message m);                      // CountRequest, then queues it
  double Activity(uint32_t line, Millis t);  // diurnal activity, 0..1
  uint64_t NextRandom();
  double Uniform();  // [0, 1)
  double Exponential(double mean);
  bool Chance(double p) { return p > 0 && Uniform() < p; }

  ModelOptions options_;
  std::vector<SimLine> lines_;
  std::vector<LineState> state_;
  std::vector<ZoneCache> zones_;
  std::vector<LineTraffic> traffic_;
  std::vector<std::vector<uint32_t>> active_;  // per NAS: lines with a session on it
  std::vector<Millis> nas_down_until_;
  std::vector<uint64_t> nas_session_numbers_;
  std::vector<std::vector<Message>> nas_release_;  // held messages to send after Accounting-On
  std::map<uint32_t, Message> held_;               // per line: the held-back interim
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  std::deque<Message> out_;
  uint64_t seq_ = 0;
  Millis now_ = 0;  // the time of the event processed last
  uint64_t rng_[4] = {};
  uint32_t run_tag_ = 0;
  bool finished_ = false;
  ModelStats stats_;
};

// The bytes per line a correct server counts, from the messages it acknowledged (see above).
class ExpectedTotals {
 public:
  explicit ExpectedTotals(size_t lines) : up_(lines), down_(lines) {}
  // A message the server acknowledged (Accounting-On and Start change nothing).
  void Acknowledged(const Message& message);
  uint64_t bytes_up(uint32_t line) const { return up_[line]; }
  uint64_t bytes_down(uint32_t line) const { return down_[line]; }
  uint64_t total_up() const;
  uint64_t total_down() const;

 private:
  std::vector<uint64_t> up_, down_;
  std::vector<std::pair<uint64_t, uint64_t>> session_max_;  // by session ordinal
};

}  // namespace ryuryo::sim
