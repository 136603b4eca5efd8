#include "ingest/radius_authorization.h"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "core/thread_name.h"
#include "ingest/udp.h"
#include "radius/packet.h"

namespace ryuryo::ingest {

namespace {

bool Dropped(radius::AccessOutcome o) {
  using O = radius::AccessOutcome;
  return o == O::kDroppedMalformed || o == O::kDroppedNotAccessRequest ||
         o == O::kDroppedBadAuthenticator || o == O::kDroppedMissingAuthenticator ||
         o == O::kDroppedResponseTooLarge;
}

}  // namespace

RadiusAuthorizationServer::RadiusAuthorizationServer(const store::Ledger* ledger,
                                                     RadiusAuthorizationOptions options,
                                                     radius::RadiusPolicy policy)
    : ledger_(ledger), options_(std::move(options)), policy_(std::move(policy)) {
  NameClients(&options_.clients);
  for (size_t c = 0; c < options_.clients.size(); ++c) {
    stats_.push_back(std::make_unique<ClientStats>());
  }
}

RadiusAuthorizationServer::~RadiusAuthorizationServer() {
  Stop();
  if (fd_ >= 0) ::close(fd_);
}

Status RadiusAuthorizationServer::Listen() {
  return BindUdp("radius authorization", options_.address, options_.port,
                 options_.socket_buffer_bytes, &fd_, &port_);
}

void RadiusAuthorizationServer::Start() {
  if (thread_.joinable() || fd_ < 0) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    SetThreadName("ryuryo-radauth");
    Run();
  });
}

void RadiusAuthorizationServer::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void RadiusAuthorizationServer::Run() {
  std::vector<uint8_t> buf(radius::kRadiusPacketBytesMax + 1);
  std::atomic<uint64_t> drop_logs{0};
  while (!stopping_.load(std::memory_order_relaxed)) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    for (;;) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT,
                             reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) break;
      const std::string address = SourceAddress(from);
      const size_t client = FindClientIndex(options_.clients, address);
      if (client == options_.clients.size()) {
        if (ShouldLog(&unknown_source_)) {
          spdlog::warn("radius: Access-Request from {} dropped: not a configured client", address);
        }
        continue;
      }
      const RadiusClient& cfg = options_.clients[client];
      // Longer than a RADIUS packet: Decode() refuses it as malformed.
      std::span<const uint8_t> dg(buf.data(), static_cast<size_t>(n));
      const Millis now = ledger_->Now();
      radius::AccessResult r = radius::HandleAccessRequest(
          dg, cfg.secret,
          [&](const radius::Packet& request) -> std::optional<radius::LineFacts> {
            std::vector<std::string> candidates = LineCandidates(request, options_.line_keys);
            return ledger_->Read([&](const Meter& m) -> std::optional<radius::LineFacts> {
              const Line* line = ResolveLine(m, candidates);
              if (line == nullptr) return std::nullopt;
              return FactsOf(m, *line, now);
            });
          },
          policy_, options_.access);
      stats_[client]->outcomes[static_cast<size_t>(r.outcome)].fetch_add(1,
                                                                         std::memory_order_relaxed);
      if (Dropped(r.outcome)) {
        if (ShouldLog(&drop_logs)) {
          spdlog::warn("radius: Access-Request from {} dropped ({}): {}", cfg.name,
                       radius::AccessOutcomeName(r.outcome), r.detail);
        }
      }
      if (r.response) {
        ::sendto(fd_, r.response->data(), r.response->size(), MSG_DONTWAIT,
                 reinterpret_cast<const sockaddr*>(&from), from_len);
      }
    }
  }
}

std::string RadiusAuthorizationServer::MetricsText() const {
  std::string out =
      "# HELP ryuryo_radius_access_requests_total Access-Requests by client and outcome\n"
      "# TYPE ryuryo_radius_access_requests_total counter\n";
  for (size_t c = 0; c < options_.clients.size(); ++c) {
    for (int o = 0; o < radius::kAccessOutcomeCount; ++o) {
      out += fmt::format("ryuryo_radius_access_requests_total{{client=\"{}\",outcome=\"{}\"}} {}\n",
                         PromLabel(options_.clients[c].name),
                         radius::AccessOutcomeName(static_cast<radius::AccessOutcome>(o)),
                         stats_[c]->outcomes[o].load(std::memory_order_relaxed));
    }
  }
  out += fmt::format(
      "# HELP ryuryo_radius_access_unknown_source_total Access-Requests from addresses that are "
      "not configured clients\n# TYPE ryuryo_radius_access_unknown_source_total counter\n"
      "ryuryo_radius_access_unknown_source_total {}\n",
      unknown_source_.load(std::memory_order_relaxed));
  return out;
}

}  // namespace ryuryo::ingest
