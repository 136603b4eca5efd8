// RADIUS authorization server (RFC 2865, RFC 3579; DESIGN §4 [radius].authorization): a NAS asks
// with an Access-Request when a session starts, and ryuryo answers with the line's current policy
// (radius/access.h, radius/policy.h): Access-Accept with the attributes of the line's state, or
// Access-Reject with a Reply-Message for a refused (blocked) or unknown line.
//
// Read-only: answers come from the meter's in-memory state (under the ledger's shared lock), so
// nothing waits for a commit. The line is found as for accounting (ingest/line_keys.h).
//
// Datagrams from addresses that are not configured clients, malformed ones, other codes, and
// wrong Message-Authenticators are dropped and counted per client (/metrics).
//
// Thread-safety: Start()/Stop() from the owning thread; MetricsText() from any.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "ingest/line_keys.h"
#include "ingest/radius_accounting.h"
#include "radius/access.h"
#include "radius/policy.h"
#include "store/ledger.h"

namespace ryuryo::ingest {

struct RadiusAuthorizationOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 1812;  // 0: any free port (tests)
  std::vector<LineKeyAttr> line_keys = {LineKeyAttr::kImsi, LineKeyAttr::kCallingStationId,
                                        LineKeyAttr::kUserName};
  std::vector<RadiusClient> clients;
  radius::AccessOptions access;
  int socket_buffer_bytes = 4 << 20;
};

class RadiusAuthorizationServer {
 public:
  RadiusAuthorizationServer(const store::Ledger* ledger, RadiusAuthorizationOptions options,
                            radius::RadiusPolicy policy);
  ~RadiusAuthorizationServer();
  RadiusAuthorizationServer(const RadiusAuthorizationServer&) = delete;
  RadiusAuthorizationServer& operator=(const RadiusAuthorizationServer&) = delete;

  Status Listen();  // binds (errors name the address)
  uint16_t port() const { return port_; }
  void Start();
  void Stop();

  std::string MetricsText() const;

 private:
  struct ClientStats {
    std::atomic<uint64_t> outcomes[radius::kAccessOutcomeCount] = {};
  };
  void Run();

  const store::Ledger* ledger_;
  RadiusAuthorizationOptions options_;
  radius::RadiusPolicy policy_;
  std::vector<std::unique_ptr<ClientStats>> stats_;  // parallel to options_.clients
  std::atomic<uint64_t> unknown_source_{0};
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace ryuryo::ingest
