// RADIUS accounting server (RFC 2866, RFC 2869, RFC 5080): the adapter a PGW / GGSN / BNG, or
// FreeRADIUS as a proxy, sends Accounting-Requests to (DESIGN §1, §3).
//
// One I/O thread receives datagrams in bursts (recvmmsg). For each:
//  - a source that is not a configured client: dropped, counted (unknown_source);
//  - malformed (RFC 2865 §3 lengths, truncated or 0/1-length attributes): dropped, counted;
//  - not an Accounting-Request: dropped, counted (unsupported_code);
//  - a wrong Request Authenticator (RFC 2866 §3): dropped, counted (bad_authenticator);
//  - an exact retransmit (same source address and port, Identifier and Authenticator: RFC 5080
//    §2.2.2) of a request already answered gets the cached response; one still waiting for its
//    commit is dropped (its response is on the way); both counted as duplicates.
// The rest of the burst goes to the ledger as ONE producer (store/ledger.h): on the ledger thread
// each request's line is resolved (the configured `line_keys` in order: 3GPP-IMSI against the
// lines' IMSI, Calling-Station-Id against their MSISDN with or without '+', User-Name as a line
// id, then as an IMSI or an MSISDN; the first that names a known line wins, else the records are
// quarantined under the first key present), the session tracker (radius/session.h) turns the
// cumulative counters into exact deltas, and a record crossing the line's cycle boundary is split
// there pro rata by time. The changed sessions are written by a commit hook into the SAME batch
// as the records, and the Accounting-Response goes out only after that batch is durable. A crash
// before the commit loses nothing: the NAS retransmits and the restored sessions count it once.
//
// A request the tracker refuses (e.g. a new session with no line key at all) is logged, counted
// (dropped) and not answered: answering would tell the NAS its usage was recorded.
//
// Sessions with no message for `session_idle_ms` are closed (their NAS lost them); a later message
// reopens them without double counting.
//
// Thread-safety: Start()/Stop() from the owning thread; every other method from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "core/timeutil.h"
#include "ingest/line_keys.h"
#include "radius/session.h"
#include "store/ledger.h"
#include "store/store.h"

namespace ryuryo::ingest {

// A NAS (or proxy) allowed to talk to us.
struct RadiusClient {
  std::string address;  // an IPv4 or IPv6 literal
  std::string secret;
  uint16_t coa_port = 3799;  // where it takes CoA / Disconnect-Requests (RFC 5176)
  std::string name;          // for metrics and logs; the address when empty
};

// The index of the client at `address` in `clients`, or clients.size() when none is.
size_t FindClientIndex(const std::vector<RadiusClient>& clients, std::string_view address);
// Gives every unnamed client its address as its name.
void NameClients(std::vector<RadiusClient>* clients);

// Limits.
inline constexpr size_t kRadiusClientsMax = 4096;
inline constexpr size_t kRecvBurstMax = 1024;

struct RadiusAccountingOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 1813;  // 0: any free port (tests)
  std::vector<LineKeyAttr> line_keys = {LineKeyAttr::kImsi, LineKeyAttr::kCallingStationId,
                                        LineKeyAttr::kUserName};
  std::vector<RadiusClient> clients;
  size_t recv_burst_max = 256;          // datagrams read (and submitted) together, <= kRecvBurstMax
  size_t pending_max = 1 << 16;         // requests waiting for their commit; beyond: dropped
  size_t retransmit_cache_max = 1 << 18;  // remembered answers for exact retransmits
  int64_t retransmit_cache_ms = 60'000;   // how long an answer is remembered
  int64_t session_idle_ms = 24 * kMillisPerHour;
  int socket_buffer_bytes = 16 << 20;
};

// What `ryuryo sessions` and enforcement see of an open session.
struct OpenSession {
  std::string nas;  // NAS-IP-Address, else NAS-Identifier, else the client address
  std::string session_id;
  std::string line;  // the line id (or the key it was quarantined under)
  Millis started_at = 0;
  Millis last_event_at = 0;
  uint64_t bytes_in = 0;  // cumulative, as the NAS reported them (with Gigawords)
  uint64_t bytes_out = 0;
  // From the latest request: where to reach the session (RFC 5176 identification attributes).
  std::string client;   // the address the requests came from (a NAS or a proxy)
  std::string nas_ip;   // NAS-IP-Address, "" when absent
  std::string user_name;
  std::string framed_ip;  // Framed-IP-Address, "" when absent
  std::string calling_station_id;
};

// Counters for /metrics, per configured client.
struct RadiusClientStats {
  static constexpr double kLatencyBoundsS[] = {0.0005, 0.001, 0.002, 0.005, 0.01,
                                               0.025,  0.05,  0.1,   0.25,  1.0};
  static constexpr size_t kLatencyBuckets = sizeof(kLatencyBoundsS) / sizeof(double) + 1;
  std::atomic<uint64_t> requests{0};           // Accounting-Requests with a valid authenticator
  std::atomic<uint64_t> responses{0};          // Accounting-Responses sent (incl. cached)
  std::atomic<uint64_t> duplicates{0};         // exact retransmits (cached answer or in flight)
  std::atomic<uint64_t> malformed{0};
  std::atomic<uint64_t> bad_authenticator{0};
  std::atomic<uint64_t> unsupported_code{0};
  std::atomic<uint64_t> unknown_line{0};       // requests whose records were quarantined
  std::atomic<uint64_t> dropped{0};            // refused by the tracker, or overload
  std::atomic<uint64_t> latency_hist[kLatencyBuckets] = {};  // receive to response, first answer
  std::atomic<uint64_t> latency_count{0};
  std::atomic<uint64_t> latency_sum_us{0};
};

class RadiusAccountingServer {
 public:
  RadiusAccountingServer(store::Ledger* ledger, RadiusAccountingOptions options);
  ~RadiusAccountingServer();
  RadiusAccountingServer(const RadiusAccountingServer&) = delete;
  RadiusAccountingServer& operator=(const RadiusAccountingServer&) = delete;

  // Loads the persisted sessions and registers the commit hook. Call once, before the ledger
  // starts.
  Status Recover();
  // Binds the socket (errors name the address).
  Status Listen();
  uint16_t port() const { return port_; }
  void Start();
  void Stop();  // stops receiving; requests waiting for a commit are still answered

  // Open sessions, of one line (by line id) or of all when `line` is empty, at most `limit`.
  std::vector<OpenSession> OpenSessions(std::string_view line, size_t limit) const;
  size_t open_sessions() const;
  // The configured client at `address`, or nullptr.
  const RadiusClient* FindClient(std::string_view address) const;

  // Prometheus text for /metrics.
  std::string MetricsText() const;

 private:
  struct Request;
  struct Burst;
  class RetransmitCache;

  void Run();
  void HandleBurst(size_t count);
  void Produce(Burst* burst, const Meter& meter, Millis now, std::vector<UsageRecord>* records);
  void Answer(Burst* burst, const store::UsageResult& result);
  void CommitSessions(store::Batch* batch);
  void SendDatagram(const std::string& datagram, const void* addr, uint32_t addr_len);
  void MaybeCloseIdle();

  store::Ledger* ledger_;
  RadiusAccountingOptions options_;
  std::vector<std::unique_ptr<RadiusClientStats>> client_stats_;  // parallel to options_.clients
  std::atomic<uint64_t> unknown_source_{0};
  std::atomic<uint64_t> pending_{0};
  std::atomic<uint64_t> sessions_closed_idle_{0};
  std::unique_ptr<RetransmitCache> cache_;

  mutable std::mutex tracker_mu_;  // guards tracker_
  radius::SessionTracker tracker_;

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  int64_t last_idle_check_ms_ = 0;  // steady clock, I/O thread only
};

}  // namespace ryuryo::ingest
