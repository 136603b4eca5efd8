// The UDP side of `ryuryo simulate`: sends a Model's messages as RADIUS Accounting-Requests to
// one accounting server and measures how it answers.
//
// Up to `window` requests are in flight at once. RADIUS has 256 Identifiers per source port, so
// the client opens one non-blocking UDP socket per 256 requests of the window and gives each
// request a free (socket, Identifier) pair; Identifiers are reused oldest-first. A request is
// acknowledged by an Accounting-Response with the same Identifier on the same socket whose
// Response Authenticator is right for the request and the shared secret; any other datagram is
// counted (unmatched: e.g. the second answer to a request sent twice; invalid: not an
// Accounting-Response) and dropped. A request unanswered after `timeout_ms` is sent again as
// the same datagram (same Identifier and Authenticator), at most `retries` times; after that it
// is given up (timed out) and its counters are not expected to have been counted.
//
// Pacing (simulated time is the Model's; Event-Timestamps carry it):
//  - speed X > 0: the simulated clock starts at the model's start and runs X times as fast as
//    the wall clock; a message goes out once the simulated clock reaches its send time. speed 0:
//    no pacing by time (as fast as the window allows).
//  - the simulated clock never runs ahead of the wall clock: a message whose send time is in the
//    future (wall time) waits for it. So a time-compressed run catches up with the present and
//    then continues in real time, and a server never sees an event from the future.
//  - rate_per_s > 0: at most that many new requests per second (copies and retransmits extra).
//  Paced messages go out in bursts of up to 1 ms (a message due within 1 ms is sent now).
//
// Latency is measured from a request's first transmission to its acknowledgement.
//
// The end of a run (duration_ms reached or `stop` set): the model is finished (Model::Finish),
// what it still has queued or held back is sent at once without pacing, except messages whose
// event time is still in the future (counted as unsent), and what is in flight is drained.
//
// Thread-safety: Run blocks the calling thread; `stop` may be set from any thread (or a signal
// handler).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"
#include "core/timeutil.h"
#include "sim/latency.h"
#include "sim/model.h"

namespace ryuryo::sim {

// Limits.
inline constexpr uint32_t kClientWindowMax = 16384;  // 64 sockets
inline constexpr uint32_t kClientIdsPerSocket = 256;
inline constexpr uint32_t kClientRetriesMax = 100;
inline constexpr int64_t kClientTimeoutMsMax = 60'000;
// Datagrams per sendmmsg / recvmmsg call.
inline constexpr size_t kClientBatchMax = 64;

struct ClientOptions {
  std::string host = "127.0.0.1";  // the accounting server: an IPv4/IPv6 address or a name
  uint16_t port = 1813;
  std::string secret = "testing123";
  uint32_t window = 1024;     // requests in flight at most, 1..kClientWindowMax
  int64_t timeout_ms = 1000;  // before a retransmission, 1..kClientTimeoutMsMax
  uint32_t retries = 3;       // retransmissions of one request, 0..kClientRetriesMax
  double speed = 1;           // simulated seconds per wall second; 0: unpaced
  double rate_per_s = 0;      // new requests per second at most; 0: no cap
  int64_t duration_ms = 0;    // end the run after this long (wall); 0: when the model ends
  // Called every progress_interval_ms (wall) during the run, if both are set.
  int64_t progress_interval_ms = 0;
  std::function<void(const struct ClientStats&)> progress;
  const std::atomic<bool>* stop = nullptr;
};

struct ClientStats {
  uint64_t requests = 0;        // distinct requests sent (the model's messages)
  uint64_t datagrams_sent = 0;  // including injected copies and retransmissions
  uint64_t copies_sent = 0;     // injected retransmits (a message marked copies = 2)
  uint64_t retransmitted = 0;   // sent again after a timeout
  uint64_t acknowledged = 0;
  uint64_t timed_out = 0;  // given up after the retries
  uint64_t responses_unmatched = 0;
  uint64_t responses_invalid = 0;
  uint64_t send_errors = 0;  // e.g. ICMP port unreachable reported on the socket
  uint64_t unsent = 0;       // left in the model at the end of the run with an event time to come
  uint64_t in_flight = 0;    // at the time of a progress report; 0 at the end
  double elapsed_s = 0;      // wall time from the first send until the last answer or give-up
  Millis sim_time = 0;       // event time of the latest message sent
  LatencyHistogram latency;

  double acked_per_s() const { return elapsed_s > 0 ? acknowledged / elapsed_s : 0; }
};

// Runs `model` against the server; every acknowledged message goes into *expected. Errors:
// bad options (InvalidArgument), the address does not resolve or sockets cannot be opened
// (Unavailable). Unanswered requests are not errors: they are counted in *stats.
Status RunClient(const ClientOptions& options, Model* model, ExpectedTotals* expected,
                 ClientStats* stats);

}  // namespace ryuryo::sim
