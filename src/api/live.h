// LiveHub: fans out per-line updates to server-sent-event streams (the dashboard's live view).
//
// A subscriber is a stream (HttpStream) and the line ids it watches. The ledger's committer tells
// the hub which lines changed (LinesChanged; for a pool's balance, every member) and which events
// a batch raised (PublishEvent, PublishPoolEvent); the hub's thread turns that into messages on
// the streams:
//
//   retry: 3000                                          once, at Subscribe
//   event: usage\ndata: {"line":"<id>","usage":<json>}   at once for each line of a new
//                                                        subscriber; then when the line changed, at
//                                                        most once per line per coalesce_ms
//   event: event\ndata: <event json>                     for each event of a watched line, or
//                                                        of a pool with a watched member (once
//                                                        a stream)
//   : ping                                               every heartbeat_seconds, to every stream
//
// (each message ends with a blank line). A line's usage is rendered ONCE per pass, by the Render
// callback, however many subscribers watch it; a line nobody watches is never rendered. A render
// that returns "" (the line is gone) sends nothing.
//
// A subscriber is dropped when its stream closes (its on_close), when a send on it fails (a
// stream closed for being slow counts in streams_dropped_slow()), by Unsubscribe(), or by Stop().
// The hub holds a reference to each subscriber's stream; dropping it closes the stream unless
// someone else holds one.
//
// Thread-safety: every method may be called from any thread. LinesChanged() and Publish*Event()
// are meant for the ledger's committer thread: they take the hub's mutex for a few hash lookups
// and return; they never render and never send. Render runs on the hub's thread without the
// hub's mutex held (Members too). Sends never block (HttpStream::Send only queues).
//
// Wake-ups: the thread sleeps until its next pass is due (the next heartbeat or the earliest
// due dirty line). LinesChanged wakes it only for a line due before that, so that a change
// reaches its clients as soon as the line's window allows, without a wake-up per commit.
//
// Time: the thread started by Start() reads a monotonic clock (LiveHubOptions::clock). Tests may
// give it a clock of their own, or drive the hub with RunOnce(now_ms) instead (then never call
// Start()).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_server.h"
#include "core/status.h"

namespace ryuryo::api {

struct LiveHubOptions {
  size_t streams_max = 10000;         // subscribers; beyond, Subscribe is ResourceExhausted
  size_t lines_per_stream_max = 100;  // line ids one subscriber watches
  int64_t coalesce_ms = 500;          // at most one usage message per line per this long
  int64_t heartbeat_seconds = 15;     // ": ping" to every stream
  size_t events_queued_max = 10000;   // events waiting for the hub's thread; beyond, dropped
  int64_t retry_ms = 3000;            // the EventSource reconnection delay ("retry:")
  // The clock of the thread started by Start(): milliseconds of a monotonic clock. Empty: the
  // steady clock. Tests set one of their own to control what the thread sees as now.
  std::function<int64_t()> clock;
};

class LiveHub {
 public:
  // The usage JSON of a line (one JSON value, e.g. the body of GET /v1/lines/{id}/usage), or ""
  // when the line does not exist. Called on the hub's thread.
  using Render = std::function<std::string(const std::string& line_id)>;
  // The ids of a pool's member lines ({} when the pool does not exist). Called on the hub's
  // thread, at most once per pool per pass that has events of that pool.
  using Members = std::function<std::vector<std::string>(const std::string& pool_id)>;

  // Without `members`, an event of a pool goes to the subscribers of its line only.
  LiveHub(LiveHubOptions options, Render render, Members members = nullptr);
  // Calls Stop().
  ~LiveHub();
  LiveHub(const LiveHub&) = delete;
  LiveHub& operator=(const LiveHub&) = delete;

  // Starts the hub's thread.
  void Start();
  // Joins the thread, then closes every subscriber's stream and forgets it; Subscribe fails
  // from then on. Idempotent. Call it before the io_context of the streams is destroyed.
  void Stop();

  // Watches `line_ids` (duplicates ignored) on `stream`: sends "retry:" at once and the lines'
  // usage on the hub's next pass (woken at once). Sets *subscriber_id when given.
  // ResourceExhausted beyond streams_max (answer 503), InvalidArgument beyond
  // lines_per_stream_max or without a stream, Unavailable once stopped or if the stream is
  // already closed.
  Status Subscribe(std::vector<std::string> line_ids, std::shared_ptr<HttpStream> stream,
                   uint64_t* subscriber_id = nullptr);
  // Forgets a subscriber (unknown ids are ignored); its stream is not closed by this call.
  void Unsubscribe(uint64_t subscriber_id);

  // These lines' usage changed (after a commit). Cheap: marks the watched ones dirty.
  void LinesChanged(const std::vector<std::string>& line_ids);
  // An event of `line_id` (Event::ToJson) for that line's subscribers. Cheap: queues it if the
  // line is watched (at most events_queued_max wait; more are dropped and counted).
  void PublishEvent(const std::string& line_id, std::string event_json);
  // An event of a pool's balance (Event::pool; `line_id` is the member that raised it, or
  // empty): for the subscribers of every member line, each subscriber once. Cheap: queues it
  // while any stream is open (the members are looked up on the hub's thread); the same limit.
  void PublishPoolEvent(const std::string& pool_id, const std::string& line_id,
                        std::string event_json);

  // One pass of the hub's thread at `now_ms` (milliseconds of a monotonic clock): events, the
  // first usage of new subscribers, the usage of changed lines that are due, heartbeats that are
  // due. Returns when the next pass is due (it may come sooner, woken by new work).
  int64_t RunOnce(int64_t now_ms);

  // Metrics.
  size_t open_streams() const;            // subscribers
  uint64_t messages_sent() const;         // usage and event messages, one per stream
  uint64_t streams_dropped_slow() const;  // dropped because their stream overflowed
  uint64_t events_dropped() const;        // beyond events_queued_max
  uint64_t renders() const;               // calls of Render
  uint64_t passes() const;                // passes of the hub's thread (RunOnce calls)
  // The above in Prometheus text format (ryuryo_live_*), for /metrics.
  std::string MetricsText() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the streams' on_close callbacks (weakly)
};

// A server-sent event: "event: <event>\n" (if not empty), one "data: " field per line of `data`,
// and the blank line that ends the message.
std::string SseMessage(std::string_view event, std::string_view data);

}  // namespace ryuryo::api
