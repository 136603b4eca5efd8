// UDP sockets for the RADIUS servers.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "core/status.h"

namespace ryuryo::ingest {

// Binds a UDP socket to address:port (an IPv4 or IPv6 literal; port 0 picks a free one), with
// receive and send buffers of `buffer_bytes` (forced when allowed). On success *fd is the socket
// and *bound_port its port. Errors start with `what`.
Status BindUdp(const std::string& what, const std::string& address, uint16_t port,
               int buffer_bytes, int* fd, uint16_t* bound_port);

// The text form of a datagram's source address (an IPv4-mapped IPv6 address as IPv4).
std::string SourceAddress(const sockaddr_storage& address);

}  // namespace ryuryo::ingest
