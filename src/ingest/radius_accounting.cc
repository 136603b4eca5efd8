#include "ingest/radius_accounting.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <unordered_map>

#include "core/codec.h"
#include "core/record.h"
#include "core/thread_name.h"
#include "ingest/line_keys.h"
#include "ingest/udp.h"
#include "radius/auth.h"
#include "radius/dictionary.h"
#include "radius/packet.h"

namespace ryuryo::ingest {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kSessionStatePrefix = "rs/";
constexpr int64_t kIdleCheckIntervalMs = 60'000;
constexpr uint8_t kProxyStateType = 33;  // RFC 2865 §5.33
// An Event-Timestamp further ahead of our clock than this is not believed.
constexpr Millis kNasClockAheadMaxMs = 60'000;
constexpr size_t kSendChunkMax = 256;
constexpr size_t kSessionListMax = 100'000;

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}

// Source address, port, Identifier and Request Authenticator: what RFC 5080 §2.2.2 calls the
// same request.
std::string CacheKey(const sockaddr_storage& a, uint8_t identifier,
                     const radius::Authenticator& auth) {
  std::string k;
  if (a.ss_family == AF_INET) {
    const auto& a4 = reinterpret_cast<const sockaddr_in&>(a);
    k.append(reinterpret_cast<const char*>(&a4.sin_addr), 4);
    k.append(reinterpret_cast<const char*>(&a4.sin_port), 2);
  } else {
    const auto& a6 = reinterpret_cast<const sockaddr_in6&>(a);
    k.append(reinterpret_cast<const char*>(&a6.sin6_addr), 16);
    k.append(reinterpret_cast<const char*>(&a6.sin6_port), 2);
  }
  k.push_back(static_cast<char>(identifier));
  k.append(reinterpret_cast<const char*>(auth.data()), auth.size());
  return k;
}

// The session's "peer" blob: where to reach it later (OpenSession's last five fields).
std::string EncodePeer(const std::string& client, const std::string& nas_ip,
                       std::string_view user_name, const std::string& framed_ip,
                       std::string_view calling_station_id) {
  std::string out;
  PutString(&out, client);
  PutString(&out, nas_ip);
  PutString(&out, user_name);
  PutString(&out, framed_ip);
  PutString(&out, calling_station_id);
  return out;
}

void DecodePeer(std::string_view blob, OpenSession* s) {
  Reader r(blob);
  std::string client, nas_ip, user, framed, calling;
  if (r.String(&client) && r.String(&nas_ip) && r.String(&user) && r.String(&framed) &&
      r.String(&calling)) {
    s->client = std::move(client);
    s->nas_ip = std::move(nas_ip);
    s->user_name = std::move(user);
    s->framed_ip = std::move(framed);
    s->calling_station_id = std::move(calling);
  }
}

// The newer peer, with the older one's fields where the newer has none.
std::string MergePeer(std::string_view older, std::string_view newer) {
  OpenSession a, b;
  DecodePeer(older, &a);
  DecodePeer(newer, &b);
  auto pick = [](const std::string& n, const std::string& o) -> const std::string& {
    return n.empty() ? o : n;
  };
  return EncodePeer(pick(b.client, a.client), pick(b.nas_ip, a.nas_ip),
                    pick(b.user_name, a.user_name), pick(b.framed_ip, a.framed_ip),
                    pick(b.calling_station_id, a.calling_station_id));
}

std::string SessionStateKey(std::string_view nas, std::string_view session_id) {
  std::string k(kSessionStatePrefix);
  k.push_back(static_cast<char>(nas.size()));
  k.append(nas);
  k.append(session_id);
  return k;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

// Answers remembered for exact retransmits, bounded in entries and age (FIFO).
class RadiusAccountingServer::RetransmitCache {
 public:
  enum class Found { kNew, kPending, kAnswered };
  RetransmitCache(size_t max_entries, int64_t ttl_ms) : max_(max_entries), ttl_ms_(ttl_ms) {
    map_.reserve(max_entries);
  }

  // A new key is inserted as pending.
  Found Lookup(const std::string& key, int64_t now_ms, std::string* response) {
    std::lock_guard lock(mu_);
    Evict(now_ms);
    auto [it, inserted] = map_.try_emplace(key);
    if (inserted) {
      it->second.at_ms = now_ms;
      fifo_.emplace_back(now_ms, key);
      return Found::kNew;
    }
    if (it->second.pending) return Found::kPending;
    *response = it->second.response;
    return Found::kAnswered;
  }
  void Fill(const std::string& key, std::string response, int64_t now_ms) {
    std::lock_guard lock(mu_);
    auto [it, inserted] = map_.try_emplace(key);
    if (inserted) fifo_.emplace_back(now_ms, key);
    it->second.pending = false;
    it->second.response = std::move(response);
    it->second.at_ms = now_ms;
  }
  void Erase(const std::string& key) {
    std::lock_guard lock(mu_);
    map_.erase(key);
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return map_.size();
  }

 private:
  struct Entry {
    bool pending = true;
    int64_t at_ms = 0;
    std::string response;
  };
  void Evict(int64_t now_ms) {
    while (!fifo_.empty() && (fifo_.size() > max_ || fifo_.front().first < now_ms - ttl_ms_)) {
      auto it = map_.find(fifo_.front().second);
      // Keep an entry re-inserted (or filled) after this FIFO slot was made, and a pending one
      // unless the cache overflows.
      if (it != map_.end() && it->second.at_ms <= fifo_.front().first &&
          (!it->second.pending || fifo_.size() > max_)) {
        map_.erase(it);
      }
      fifo_.pop_front();
    }
  }
  const size_t max_;
  const int64_t ttl_ms_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;
  std::deque<std::pair<int64_t, std::string>> fifo_;
};

struct RadiusAccountingServer::Request {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  size_t client = 0;
  uint8_t identifier = 0;
  radius::Authenticator authenticator{};
  std::string cache_key;
  SteadyClock::time_point received;
  bool has_usage = true;  // false: a status type that carries no usage (answered, not tracked)
  radius::AccountingInput input;
  std::vector<std::string> candidates;         // line keys, in the configured order
  std::vector<radius::Attribute> proxy_state;  // copied into the response (RFC 2865 §5.33)
  // Set by Produce().
  bool ok = false;
  std::string error;
};

struct RadiusAccountingServer::Burst {
  std::vector<Request> requests;
};

RadiusAccountingServer::RadiusAccountingServer(store::Ledger* ledger,
                                               RadiusAccountingOptions options)
    : ledger_(ledger),
      options_(std::move(options)),
      cache_(std::make_unique<RetransmitCache>(options_.retransmit_cache_max,
                                               options_.retransmit_cache_ms)) {
  options_.recv_burst_max = std::clamp<size_t>(options_.recv_burst_max, 1, kRecvBurstMax);
  NameClients(&options_.clients);
  for (size_t c = 0; c < options_.clients.size(); ++c) {
    client_stats_.push_back(std::make_unique<RadiusClientStats>());
  }
}

RadiusAccountingServer::~RadiusAccountingServer() {
  Stop();
  if (fd_ >= 0) ::close(fd_);
}

size_t FindClientIndex(const std::vector<RadiusClient>& clients, std::string_view address) {
  for (size_t c = 0; c < clients.size(); ++c) {
    if (clients[c].address == address) return c;
  }
  return clients.size();
}

void NameClients(std::vector<RadiusClient>* clients) {
  for (RadiusClient& c : *clients) {
    if (c.name.empty()) c.name = c.address;
  }
}

const RadiusClient* RadiusAccountingServer::FindClient(std::string_view address) const {
  size_t c = FindClientIndex(options_.clients, address);
  return c < options_.clients.size() ? &options_.clients[c] : nullptr;
}

Status RadiusAccountingServer::Recover() {
  size_t restored = 0, corrupt = 0;
  Status st = ledger_->store()->ScanAdapterState(
      kSessionStatePrefix, [&](std::string_view key, std::string_view value) {
        radius::Session s;
        Status d = radius::DecodeSession(value, &s);
        if (d.ok()) d = tracker_.Restore(std::move(s));
        if (!d.ok()) {
          ++corrupt;
          spdlog::error("radius: stored session skipped: {}", d.message());
          return Status::Ok();
        }
        ++restored;
        return Status::Ok();
      });
  RYURYO_RETURN_IF_ERROR(st);
  tracker_.TakeChanges();  // restoring is not a change
  if (restored > 0 || corrupt > 0) {
    spdlog::info("radius: restored {} sessions ({} open){}", restored, tracker_.open_sessions(),
                 corrupt > 0 ? fmt::format(", {} unreadable skipped", corrupt) : "");
  }
  ledger_->AddCommitHook([this](store::Batch* batch) { CommitSessions(batch); });
  return Status::Ok();
}

void RadiusAccountingServer::CommitSessions(store::Batch* batch) {
  std::lock_guard lock(tracker_mu_);
  radius::SessionChanges changes = tracker_.TakeChanges();
  for (const radius::Session& s : changes.upserted) {
    batch->PutAdapterState(SessionStateKey(s.nas, s.session_id), radius::EncodeSession(s));
  }
  for (const radius::SessionKey& k : changes.removed) {
    batch->DeleteAdapterState(SessionStateKey(k.nas, k.session_id));
  }
}

Status RadiusAccountingServer::Listen() {
  return BindUdp("radius accounting", options_.address, options_.port, options_.socket_buffer_bytes,
                 &fd_, &port_);
}

void RadiusAccountingServer::Start() {
  if (thread_.joinable() || fd_ < 0) return;
  stopping_ = false;
  last_idle_check_ms_ = SteadyMs();
  thread_ = std::thread([this] {
    SetThreadName("ryuryo-radacct");
    Run();
  });
}

void RadiusAccountingServer::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

namespace {

struct RecvSlots {
  explicit RecvSlots(size_t n) : buffers(n), addrs(n), iovs(n), msgs(n) {
    for (size_t i = 0; i < n; ++i) {
      buffers[i].resize(radius::kRadiusPacketBytesMax + 1);
      iovs[i].iov_base = buffers[i].data();
      iovs[i].iov_len = buffers[i].size();
    }
  }
  void Reset() {
    for (size_t i = 0; i < msgs.size(); ++i) {
      std::memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = sizeof addrs[i];
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<sockaddr_storage> addrs;
  std::vector<iovec> iovs;
  std::vector<mmsghdr> msgs;
};

}  // namespace

void RadiusAccountingServer::Run() {
  RecvSlots slots(options_.recv_burst_max);
  auto handle = [&](size_t n) {
    auto burst = std::make_shared<Burst>();
    burst->requests.reserve(n);
    const auto received = SteadyClock::now();
    const int64_t now_ms = SteadyMs();
    const Millis wall = ledger_->Now();
    for (size_t i = 0; i < n; ++i) {
      const sockaddr_storage& from = slots.addrs[i];
      const std::string address = SourceAddress(from);
      const size_t client = FindClientIndex(options_.clients, address);
      if (client == options_.clients.size()) {
        if (ShouldLog(&unknown_source_)) {
          spdlog::warn("radius: datagram from {} dropped: not a configured client", address);
        }
        continue;
      }
      RadiusClientStats& stats = *client_stats_[client];
      const RadiusClient& cfg = options_.clients[client];
      std::span<const uint8_t> dg(slots.buffers[i].data(), slots.msgs[i].msg_len);
      if (slots.msgs[i].msg_hdr.msg_flags & MSG_TRUNC) dg = {};
      radius::Packet packet;
      Status st = dg.empty() ? Status::InvalidArgument("datagram longer than 4096 bytes")
                             : radius::Decode(dg, &packet);
      if (!st.ok()) {
        if (ShouldLog(&stats.malformed)) {
          spdlog::warn("radius: malformed datagram from {} dropped: {}", cfg.name, st.message());
        }
        continue;
      }
      if (packet.code != radius::kAccountingRequest) {
        if (ShouldLog(&stats.unsupported_code)) {
          spdlog::warn("radius: {} from {} dropped: this port takes Accounting-Requests",
                       radius::CodeName(packet.code), cfg.name);
        }
        continue;
      }
      if (!radius::VerifyAccountingRequest(dg, cfg.secret)) {
        if (ShouldLog(&stats.bad_authenticator)) {
          spdlog::warn(
              "radius: Accounting-Request from {} dropped: bad Request Authenticator "
              "(is the shared secret right?)",
              cfg.name);
        }
        continue;
      }
      stats.requests.fetch_add(1, std::memory_order_relaxed);
      Request req;
      req.addr = from;
      req.addr_len = slots.msgs[i].msg_hdr.msg_namelen;
      req.client = client;
      req.identifier = packet.identifier;
      req.authenticator = packet.authenticator;
      req.received = received;
      req.cache_key = CacheKey(from, packet.identifier, packet.authenticator);
      std::string cached;
      switch (cache_->Lookup(req.cache_key, now_ms, &cached)) {
        case RetransmitCache::Found::kAnswered:
          stats.duplicates.fetch_add(1, std::memory_order_relaxed);
          stats.responses.fetch_add(1, std::memory_order_relaxed);
          SendDatagram(cached, &req.addr, req.addr_len);
          continue;
        case RetransmitCache::Found::kPending:
          stats.duplicates.fetch_add(1, std::memory_order_relaxed);
          continue;
        case RetransmitCache::Found::kNew:
          break;
      }
      if (pending_.load(std::memory_order_relaxed) >= options_.pending_max) {
        cache_->Erase(req.cache_key);
        stats.dropped.fetch_add(1, std::memory_order_relaxed);
        continue;
      }

      // The request's fields.
      radius::AccountingInput& in = req.input;
      uint32_t status_type = 0;
      const radius::Attribute* a = radius::Find(packet, radius::kAcctStatusType);
      if (a == nullptr || !radius::GetUint32(*a, &status_type)) {
        cache_->Erase(req.cache_key);
        if (ShouldLog(&stats.malformed)) {
          spdlog::warn("radius: Accounting-Request from {} dropped: no Acct-Status-Type", cfg.name);
        }
        continue;
      }
      using S = radius::AccountingInput::Status;
      switch (status_type) {
        case radius::kAcctStatusStart:
          in.status = S::kStart;
          break;
        case radius::kAcctStatusStop:
          in.status = S::kStop;
          break;
        case radius::kAcctStatusInterimUpdate:
          in.status = S::kInterim;
          break;
        case radius::kAcctStatusAccountingOn:
          in.status = S::kAccountingOn;
          break;
        case radius::kAcctStatusAccountingOff:
          in.status = S::kAccountingOff;
          break;
        default:
          req.has_usage = false;  // Failed, Tunnel-*…: nothing to count, answered
      }
      uint32_t v = 0;
      std::string nas_ip;
      if ((a = radius::Find(packet, radius::kNasIpAddress)) && radius::GetIpv4(*a, &v)) {
        nas_ip = radius::Ipv4ToString(v);
      }
      if (!nas_ip.empty()) {
        in.nas = nas_ip;
      } else if ((a = radius::Find(packet, radius::kNasIdentifier)) && !a->value.empty()) {
        in.nas = a->value;
      } else {
        in.nas = address;
      }
      if ((a = radius::Find(packet, radius::kAcctSessionId))) in.session_id = a->value;
      auto octets = [&](uint8_t low, uint8_t high) {
        uint32_t lo = 0, hi = 0;
        const radius::Attribute* x = radius::Find(packet, low);
        if (x) radius::GetUint32(*x, &lo);
        x = radius::Find(packet, high);
        if (x) radius::GetUint32(*x, &hi);
        return (uint64_t{hi} << 32) | lo;
      };
      in.input_octets = octets(radius::kAcctInputOctets, radius::kAcctInputGigawords);
      in.output_octets = octets(radius::kAcctOutputOctets, radius::kAcctOutputGigawords);
      uint32_t delay_s = 0;
      if ((a = radius::Find(packet, radius::kAcctDelayTime))) radius::GetUint32(*a, &delay_s);
      const Millis received_event_time =
          std::max<Millis>(0, wall - Millis{delay_s} * kMillisPerSecond);
      in.event_time = received_event_time;
      if ((a = radius::Find(packet, radius::kEventTimestamp)) && radius::GetUint32(*a, &v)) {
        in.event_time = Millis{v} * kMillisPerSecond;
        // A NAS clock ahead of ours: its records would end in the future (which the meter
        // refuses), so our receive time stands in.
        if (in.event_time > wall + kNasClockAheadMaxMs) {
          static std::atomic<uint64_t> clock_logs{0};
          if (ShouldLog(&clock_logs)) {
            spdlog::warn(
                "radius: {} sends Event-Timestamps {} s ahead of this clock; using the "
                "receive time",
                cfg.name, (in.event_time - wall) / kMillisPerSecond);
          }
          in.event_time = received_event_time;
        }
      }
      if ((a = radius::Find(packet, radius::kAcctSessionTime))) {
        radius::GetUint32(*a, &in.session_time_s);
      }
      std::string_view user_name, calling;
      if ((a = radius::Find(packet, radius::kUserName))) user_name = radius::GetText(*a);
      if ((a = radius::Find(packet, radius::kCallingStationId))) calling = radius::GetText(*a);
      std::string framed_ip;
      if ((a = radius::Find(packet, radius::kFramedIpAddress)) && radius::GetIpv4(*a, &v)) {
        framed_ip = radius::Ipv4ToString(v);
      }
      if (user_name.size() <= radius::kRadiusAttributeValueBytesMax &&
          calling.size() <= radius::kRadiusAttributeValueBytesMax) {
        in.peer = EncodePeer(address, nas_ip, user_name, framed_ip, calling);
      }
      req.candidates = LineCandidates(packet, options_.line_keys);
      for (radius::Attribute& attr : packet.attributes) {
        if (attr.vendor == 0 && attr.type == kProxyStateType)
          req.proxy_state.push_back(std::move(attr));
      }
      burst->requests.push_back(std::move(req));
    }
    if (burst->requests.empty()) return;
    const size_t count = burst->requests.size();
    pending_.fetch_add(count, std::memory_order_relaxed);
    // At most two records a request (a split at a cycle boundary; more only across several).
    Status st = ledger_->SubmitProducer(
        [this, burst](const Meter& meter, Millis now, std::vector<UsageRecord>* records) {
          Produce(burst.get(), meter, now, records);
        },
        2 * count, [this, burst](store::UsageResult result) { Answer(burst.get(), result); });
    if (!st.ok()) {
      pending_.fetch_sub(count, std::memory_order_relaxed);
      for (const Request& r : burst->requests) {
        cache_->Erase(r.cache_key);
        client_stats_[r.client]->dropped.fetch_add(1, std::memory_order_relaxed);
      }
      static std::atomic<uint64_t> overloads{0};
      if (ShouldLog(&overloads)) {
        spdlog::warn("radius: {} requests dropped (the NAS will retransmit): {}", count,
                     st.message());
      }
    }
  };

  while (!stopping_.load(std::memory_order_relaxed)) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, 100);
    MaybeCloseIdle();
    if (r <= 0) continue;
    for (;;) {
      slots.Reset();
      int n = ::recvmmsg(fd_, slots.msgs.data(), static_cast<unsigned>(slots.msgs.size()),
                         MSG_DONTWAIT, nullptr);
      if (n <= 0) break;
      handle(static_cast<size_t>(n));
      if (static_cast<size_t>(n) < slots.msgs.size()) break;
    }
  }
}

void RadiusAccountingServer::Produce(Burst* burst, const Meter& meter, Millis now,
                                     std::vector<UsageRecord>* records) {
  std::lock_guard lock(tracker_mu_);
  std::vector<UsageRecord> produced;
  for (Request& req : burst->requests) {
    if (!req.has_usage) {
      req.ok = true;
      continue;
    }
    radius::AccountingInput& in = req.input;
    const Line* line = nullptr;
    using S = radius::AccountingInput::Status;
    if (in.status != S::kAccountingOn && in.status != S::kAccountingOff) {
      if ((line = ResolveLine(meter, req.candidates)) != nullptr) {
        in.line_key = line->id;
      } else if (!req.candidates.empty()) {
        in.line_key = req.candidates.front();  // quarantined under it
      }
    }
    if (const radius::Session* known = tracker_.Find(in.nas, in.session_id);
        known != nullptr && !known->peer.empty() && !in.peer.empty()) {
      in.peer = MergePeer(known->peer, in.peer);  // attributes this message left out are kept
    }
    produced.clear();
    Status st = tracker_.Apply(in, &produced);
    if (!st.ok()) {
      req.error = st.message();
      continue;
    }
    req.ok = true;
    RadiusClientStats& stats = *client_stats_[req.client];
    if (line == nullptr && !produced.empty()) {
      // The session may name a known line from an earlier message.
      line = meter.FindLine(produced.front().line);
      if (line == nullptr) stats.unknown_line.fetch_add(1, std::memory_order_relaxed);
    }
    for (UsageRecord& r : produced) {
      if (line == nullptr) {
        records->push_back(std::move(r));
        continue;
      }
      // A record over a cycle boundary of its line is split there (DESIGN §2).
      const Balance& b = meter.BalanceOf(*line);
      std::vector<UsageRecord> parts{std::move(r)};
      for (Millis boundary : {b.previous.end, b.cycle_start, b.cycle_end}) {
        if (boundary <= 0) continue;
        std::vector<UsageRecord> next;
        for (const UsageRecord& p : parts) {
          std::vector<UsageRecord> split = radius::SessionTracker::SplitAt(p, boundary);
          // Cycles are [start, end) and a record belongs to the cycle its end falls in: the
          // earlier part ends just before the boundary.
          if (split.size() == 2 && split[0].end > split[0].start) split[0].end -= 1;
          for (UsageRecord& q : split) next.push_back(std::move(q));
        }
        parts = std::move(next);
      }
      for (UsageRecord& p : parts) records->push_back(std::move(p));
    }
  }
  (void)now;
}

void RadiusAccountingServer::Answer(Burst* burst, const store::UsageResult& result) {
  const int64_t now_ms = SteadyMs();
  const auto now = SteadyClock::now();
  std::vector<std::string> datagrams;
  std::vector<const Request*> to;
  datagrams.reserve(burst->requests.size());
  to.reserve(burst->requests.size());
  static std::atomic<uint64_t> refused_logs{0};
  for (const Request& req : burst->requests) {
    RadiusClientStats& stats = *client_stats_[req.client];
    const RadiusClient& cfg = options_.clients[req.client];
    if (!req.ok || !result.status.ok()) {
      cache_->Erase(req.cache_key);
      stats.dropped.fetch_add(1, std::memory_order_relaxed);
      if (ShouldLog(&refused_logs)) {
        spdlog::warn("radius: Accounting-Request from {} (session '{}') not recorded: {}", cfg.name,
                     req.input.session_id, req.ok ? result.status.message() : req.error);
      }
      continue;
    }
    radius::Packet response;
    response.code = radius::kAccountingResponse;
    response.identifier = req.identifier;
    response.attributes = req.proxy_state;
    std::string dg;
    if (!radius::EncodeResponse(response, req.authenticator, cfg.secret, &dg).ok()) continue;
    cache_->Fill(req.cache_key, dg, now_ms);
    datagrams.push_back(std::move(dg));
    to.push_back(&req);
  }
  if (!result.rejected.empty()) {
    static std::atomic<uint64_t> rejected_logs{0};
    if (ShouldLog(&rejected_logs)) {
      spdlog::warn("radius: {} records refused by the meter, first: {}", result.rejected.size(),
                   result.rejected.front().second);
    }
  }
  // Counted before sending, so that /metrics read after an answer already shows it.
  for (const Request* req : to) {
    RadiusClientStats& stats = *client_stats_[req->client];
    stats.responses.fetch_add(1, std::memory_order_relaxed);
    double secs = std::chrono::duration<double>(now - req->received).count();
    size_t b = 0;
    while (b < RadiusClientStats::kLatencyBuckets - 1 &&
           secs > RadiusClientStats::kLatencyBoundsS[b]) {
      ++b;
    }
    stats.latency_hist[b].fetch_add(1, std::memory_order_relaxed);
    stats.latency_count.fetch_add(1, std::memory_order_relaxed);
    stats.latency_sum_us.fetch_add(static_cast<uint64_t>(secs * 1e6), std::memory_order_relaxed);
  }
  // Send in chunks with sendmmsg.
  for (size_t i = 0; i < datagrams.size(); i += kSendChunkMax) {
    const size_t n = std::min(kSendChunkMax, datagrams.size() - i);
    std::vector<mmsghdr> msgs(n);
    std::vector<iovec> iovs(n);
    for (size_t j = 0; j < n; ++j) {
      iovs[j].iov_base = datagrams[i + j].data();
      iovs[j].iov_len = datagrams[i + j].size();
      std::memset(&msgs[j], 0, sizeof msgs[j]);
      msgs[j].msg_hdr.msg_name = const_cast<sockaddr_storage*>(&to[i + j]->addr);
      msgs[j].msg_hdr.msg_namelen = to[i + j]->addr_len;
      msgs[j].msg_hdr.msg_iov = &iovs[j];
      msgs[j].msg_hdr.msg_iovlen = 1;
    }
    size_t sent = 0;
    while (sent < n) {
      int r = ::sendmmsg(fd_, msgs.data() + sent, static_cast<unsigned>(n - sent), 0);
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        break;  // lost like any datagram: the NAS retransmits and gets the cached answer
      }
      sent += static_cast<size_t>(r);
    }
  }
  pending_.fetch_sub(burst->requests.size(), std::memory_order_relaxed);
}

void RadiusAccountingServer::SendDatagram(const std::string& datagram, const void* addr,
                                          uint32_t addr_len) {
  ::sendto(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT, static_cast<const sockaddr*>(addr),
           addr_len);
}

void RadiusAccountingServer::MaybeCloseIdle() {
  const int64_t now_ms = SteadyMs();
  if (now_ms - last_idle_check_ms_ < kIdleCheckIntervalMs) return;
  last_idle_check_ms_ = now_ms;
  const int64_t idle_ms = options_.session_idle_ms;
  if (idle_ms <= 0) return;
  ledger_->SubmitProducer(
      [this, idle_ms](const Meter&, Millis now, std::vector<UsageRecord>*) {
        std::lock_guard lock(tracker_mu_);
        size_t n = tracker_.CloseIdle(now - idle_ms);
        if (n > 0) {
          sessions_closed_idle_.fetch_add(n, std::memory_order_relaxed);
          spdlog::info("radius: closed {} sessions idle for {} s", n, idle_ms / 1000);
        }
      },
      0, nullptr);
}

std::vector<OpenSession> RadiusAccountingServer::OpenSessions(std::string_view line,
                                                              size_t limit) const {
  limit = std::min(limit, kSessionListMax);
  std::vector<OpenSession> out;
  std::lock_guard lock(tracker_mu_);
  tracker_.ForEachSession([&](const radius::Session& s) {
    if (!s.open || out.size() >= limit) return;
    if (!line.empty() && s.line_key != line) return;
    OpenSession o;
    o.nas = s.nas;
    o.session_id = s.session_id;
    o.line = s.line_key;
    o.started_at = s.started_at;
    o.last_event_at = s.current.last_time;
    o.bytes_in = s.current.input_total();
    o.bytes_out = s.current.output_total();
    DecodePeer(s.peer, &o);
    out.push_back(std::move(o));
  });
  return out;
}

size_t RadiusAccountingServer::open_sessions() const {
  std::lock_guard lock(tracker_mu_);
  return tracker_.open_sessions();
}

std::string RadiusAccountingServer::MetricsText() const {
  std::string out;
  auto counter = [&](const char* name, const char* help, auto get) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
    for (size_t c = 0; c < options_.clients.size(); ++c) {
      out += fmt::format("{}{{client=\"{}\"}} {}\n", name, PromLabel(options_.clients[c].name),
                         get(*client_stats_[c]).load(std::memory_order_relaxed));
    }
  };
  counter(
      "ryuryo_radius_acct_requests_total",
      "Accounting-Requests with a valid authenticator, per client",
      [](const RadiusClientStats& s) -> const auto& { return s.requests; });
  counter(
      "ryuryo_radius_acct_responses_total", "Accounting-Responses sent (cached ones too)",
      [](const RadiusClientStats& s) -> const auto& { return s.responses; });
  counter(
      "ryuryo_radius_acct_duplicates_total",
      "exact retransmits answered from the cache or still in flight",
      [](const RadiusClientStats& s) -> const auto& { return s.duplicates; });
  counter(
      "ryuryo_radius_acct_malformed_total", "datagrams dropped as malformed",
      [](const RadiusClientStats& s) -> const auto& { return s.malformed; });
  counter(
      "ryuryo_radius_acct_bad_authenticator_total",
      "Accounting-Requests dropped for a wrong Request Authenticator",
      [](const RadiusClientStats& s) -> const auto& { return s.bad_authenticator; });
  counter(
      "ryuryo_radius_acct_unsupported_code_total", "packets other than Accounting-Request dropped",
      [](const RadiusClientStats& s) -> const auto& { return s.unsupported_code; });
  counter(
      "ryuryo_radius_acct_unknown_line_total", "requests for no known line (records quarantined)",
      [](const RadiusClientStats& s) -> const auto& { return s.unknown_line; });
  counter(
      "ryuryo_radius_acct_dropped_total",
      "requests not recorded nor answered (refused, or overload)",
      [](const RadiusClientStats& s) -> const auto& { return s.dropped; });
  out +=
      "# HELP ryuryo_radius_acct_response_seconds time from receiving an Accounting-Request to "
      "its durable answer\n# TYPE ryuryo_radius_acct_response_seconds histogram\n";
  for (size_t c = 0; c < options_.clients.size(); ++c) {
    const RadiusClientStats& s = *client_stats_[c];
    const std::string label = PromLabel(options_.clients[c].name);
    uint64_t cum = 0;
    for (size_t b = 0; b < RadiusClientStats::kLatencyBuckets; ++b) {
      cum += s.latency_hist[b].load(std::memory_order_relaxed);
      std::string le = b + 1 < RadiusClientStats::kLatencyBuckets
                           ? fmt::format("{}", RadiusClientStats::kLatencyBoundsS[b])
                           : "+Inf";
      out +=
          fmt::format("ryuryo_radius_acct_response_seconds_bucket{{client=\"{}\",le=\"{}\"}} {}\n",
                      label, le, cum);
    }
    out += fmt::format("ryuryo_radius_acct_response_seconds_sum{{client=\"{}\"}} {:.6f}\n", label,
                       s.latency_sum_us.load(std::memory_order_relaxed) / 1e6);
    out += fmt::format("ryuryo_radius_acct_response_seconds_count{{client=\"{}\"}} {}\n", label,
                       s.latency_count.load(std::memory_order_relaxed));
  }
  out += fmt::format(
      "# HELP ryuryo_radius_acct_unknown_source_total datagrams from addresses that are not "
      "configured clients\n# TYPE ryuryo_radius_acct_unknown_source_total counter\n"
      "ryuryo_radius_acct_unknown_source_total {}\n",
      unknown_source_.load(std::memory_order_relaxed));
  out += fmt::format(
      "# HELP ryuryo_radius_acct_pending requests waiting for their commit\n"
      "# TYPE ryuryo_radius_acct_pending gauge\nryuryo_radius_acct_pending {}\n",
      pending_.load(std::memory_order_relaxed));
  out += fmt::format(
      "# HELP ryuryo_radius_sessions_closed_idle_total sessions closed after no message for the "
      "idle timeout\n# TYPE ryuryo_radius_sessions_closed_idle_total counter\n"
      "ryuryo_radius_sessions_closed_idle_total {}\n",
      sessions_closed_idle_.load(std::memory_order_relaxed));

  // The tracker's own counters, per NAS.
  std::lock_guard lock(tracker_mu_);
  out += fmt::format(
      "# HELP ryuryo_radius_sessions_open open accounting sessions\n"
      "# TYPE ryuryo_radius_sessions_open gauge\nryuryo_radius_sessions_open {}\n",
      tracker_.open_sessions());
  struct Field {
    const char* name;
    const char* help;
    uint64_t radius::NasSessionCounters::*member;
  };
  static const Field kFields[] = {
      {"ryuryo_radius_session_records_total", "usage records made from session counters",
       &radius::NasSessionCounters::records},
      {"ryuryo_radius_session_duplicates_total",
       "messages repeating counters already counted (duplicated interims, retransmits)",
       &radius::NasSessionCounters::duplicates},
      {"ryuryo_radius_session_reordered_total", "messages older than what was counted (ignored)",
       &radius::NasSessionCounters::reordered},
      {"ryuryo_radius_session_implicit_starts_total", "sessions first seen without their Start",
       &radius::NasSessionCounters::implicit_starts},
      {"ryuryo_radius_session_wraps_total", "inferred 32-bit counter wraps",
       &radius::NasSessionCounters::wraps},
      {"ryuryo_radius_session_restarts_total", "session ids reused for a new session",
       &radius::NasSessionCounters::restarts},
      {"ryuryo_radius_nas_reboots_total", "Accounting-On / Accounting-Off received",
       &radius::NasSessionCounters::nas_reboots},
      {"ryuryo_radius_sessions_closed_by_reboot_total", "sessions closed by Accounting-On/Off",
       &radius::NasSessionCounters::closed_by_reboot},
      {"ryuryo_radius_session_errors_total", "requests the tracker refused",
       &radius::NasSessionCounters::errors},
  };
  for (const Field& f : kFields) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", f.name, f.help, f.name);
    for (const auto& [nas, counters] : tracker_.nas_counters()) {
      out += fmt::format("{}{{nas=\"{}\"}} {}\n", f.name, PromLabel(nas), counters.*f.member);
    }
  }
  return out;
}

}  // namespace ryuryo::ingest
