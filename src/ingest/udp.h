// What the RADIUS servers (UDP adapters) share: sockets, rate-limited logs, metric labels.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace ryuryo::ingest {

// Binds a UDP socket to address:port (an IPv4 or IPv6 literal; port 0 picks a free one), with
// receive and send buffers of `buffer_bytes` (forced when allowed). On success *fd is the socket
// and *bound_port its port. Errors start with `what`.
Status BindUdp(const std::string& what, const std::string& address, uint16_t port,
               int buffer_bytes, int* fd, uint16_t* bound_port);

// The text form of a datagram's source address (an IPv4-mapped IPv6 address as IPv4).
std::string SourceAddress(const sockaddr_storage& address);

// Counts one more occurrence in *counter and says whether to log it: the first kLogFirst, then
// one in kLogEvery (network input must not be able to flood the log).
inline constexpr uint64_t kLogFirst = 20;
inline constexpr uint64_t kLogEvery = 10'000;
bool ShouldLog(std::atomic<uint64_t>* counter);

// A Prometheus label value with backslashes, double quotes and newlines escaped.
std::string PromLabel(std::string_view value);

}  // namespace ryuryo::ingest
