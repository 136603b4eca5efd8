#include "api/live.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>
#include <utility>

#include "core/thread_name.h"

namespace ryuryo::api {
namespace {

constexpr std::string_view kPing = ": ping\n\n";

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string UsageMessage(const std::string& line_id, const std::string& usage_json) {
  std::string data = "{\"line\":";
  data += nlohmann::json(line_id).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  data += ",\"usage\":";
  data += usage_json;
  data += '}';
  return SseMessage("usage", data);
}

}  // namespace

std::string SseMessage(std::string_view event, std::string_view data) {
  std::string out;
  out.reserve(event.size() + data.size() + 16);
  if (!event.empty()) {
    out += "event: ";
    out += event;
    out += '\n';
  }
  // A line break inside the data would end the field: each line is a field of its own (the
  // client joins them with "\n" again).
  for (;;) {
    const size_t end = data.find_first_of("\r\n");
    out += "data: ";
    out += data.substr(0, end);
    out += '\n';
    if (end == std::string_view::npos) break;
    const size_t skip = data.compare(end, 2, "\r\n") == 0 ? 2 : 1;
    data.remove_prefix(end + skip);
  }
  out += '\n';
  return out;
}

struct LiveHub::Impl : std::enable_shared_from_this<Impl> {
  struct Subscriber {
    std::shared_ptr<HttpStream> stream;
    std::vector<std::string> lines;
    bool first_usage_sent = false;
  };
  struct WatchedLine {
    std::vector<uint64_t> subscribers;
    int64_t usage_sent_ms = INT64_MIN;  // the last usage message (not counting first ones)
    bool dirty = false;                 // in dirty

    // When its next usage message may go out: at once if none went out yet.
    int64_t due_ms(int64_t coalesce_ms) const {
      return usage_sent_ms == INT64_MIN ? INT64_MIN : usage_sent_ms + coalesce_ms;
    }
  };
  // An entry of the dirty heap: a line, when it is due, and the order it was marked in (ties go
  // in that order).
  struct DirtyLine {
    int64_t due_ms;
    uint64_t order;
    std::string line;
  };
  // Heap order: the earliest due at the front.
  struct DueLater {
    bool operator()(const DirtyLine& a, const DirtyLine& b) const {
      return a.due_ms != b.due_ms ? a.due_ms > b.due_ms : a.order > b.order;
    }
  };
  // An event waiting for the hub's thread: of `line`, or of `pool` (then for every member).
  struct PendingEvent {
    std::string line;
    std::string pool;
    std::string json;
  };
  // A subscriber as a pass sees it, to send to outside the lock.
  struct Target {
    uint64_t id;
    std::shared_ptr<HttpStream> stream;
  };

  Impl(LiveHubOptions o, Render r, Members m)
      : options(std::move(o)), render(std::move(r)), members(std::move(m)) {}

  // Removes a subscriber; its stream is handed to *released (to be dropped outside the lock).
  void RemoveLocked(uint64_t id, std::vector<std::shared_ptr<HttpStream>>* released) {
    auto found = subscribers.find(id);
    if (found == subscribers.end()) return;
    Subscriber& sub = found->second;
    for (const std::string& line : sub.lines) {
      auto watched = lines.find(line);
      if (watched == lines.end()) continue;
      std::vector<uint64_t>& ids = watched->second.subscribers;
      ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
      if (ids.empty()) lines.erase(watched);  // a stale entry of dirty_ is skipped by the pass
    }
    if (sub.stream->overflowed()) streams_dropped_slow.fetch_add(1, std::memory_order_relaxed);
    released->push_back(std::move(sub.stream));
    subscribers.erase(found);
    open_streams.store(subscribers.size(), std::memory_order_relaxed);
  }

  void Remove(const std::vector<uint64_t>& ids) {
    std::vector<std::shared_ptr<HttpStream>> released;
    {
      std::lock_guard lock(mu);
      for (uint64_t id : ids) RemoveLocked(id, &released);
    }
  }

  void Run() {
    std::unique_lock lock(mu);
    while (!stopping) {
      lock.unlock();
      const int64_t now_ms = options.clock ? options.clock() : SteadyNowMs();
      const int64_t next_ms = RunOnce(now_ms);
      lock.lock();
      if (stopping) break;
      if (wake) continue;
      cv.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(0, next_ms - now_ms)),
                  [&] { return stopping || wake; });
    }
  }

  int64_t RunOnce(int64_t now_ms);

  // Sends `message` to each target; those whose stream refused it are dropped.
  void SendAll(const std::vector<Target>& targets, const std::string& message, bool count,
               std::vector<uint64_t>* failed) {
    for (const Target& t : targets) {
      if (t.stream->Send(message)) {
        if (count) messages_sent.fetch_add(1, std::memory_order_relaxed);
      } else {
        failed->push_back(t.id);
      }
    }
  }

  const LiveHubOptions options;
  const Render render;
  const Members members;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<uint64_t, Subscriber> subscribers;  // guarded by mu
  std::unordered_map<std::string, WatchedLine> lines;    // guarded by mu; only watched lines
  // Guarded by mu: the lines marked dirty, a heap by due time (DueLater). A line whose dirty
  // flag is set has exactly one entry with its true due time; stale entries (of a line unwatched
  // since, or watched anew) are skipped when they come up.
  std::vector<DirtyLine> dirty;
  uint64_t dirty_order = 0;               // guarded by mu
  std::vector<uint64_t> new_subscribers;  // guarded by mu; first usage not sent
  std::vector<PendingEvent> events;       // guarded by mu
  uint64_t next_id = 1;                   // guarded by mu
  int64_t next_heartbeat_ms = INT64_MIN;  // guarded by mu; INT64_MIN: set by the first pass
  // Guarded by mu: when the last pass said the next one is due (the thread sleeps until then
  // unless woken). INT64_MIN before the first pass, which comes at once.
  int64_t planned_pass_ms = INT64_MIN;
  bool wake = false;      // guarded by mu; work that is due at once
  bool stopping = false;  // guarded by mu
  std::thread thread;

  std::atomic<size_t> open_streams{0};
  std::atomic<uint64_t> messages_sent{0};
  std::atomic<uint64_t> streams_dropped_slow{0};
  std::atomic<uint64_t> events_dropped{0};
  std::atomic<uint64_t> renders{0};
  std::atomic<uint64_t> passes{0};
};

int64_t LiveHub::Impl::RunOnce(int64_t now_ms) {
  // What to send, taken under the lock; rendered and sent without it.
  struct LineTargets {
    std::string line;
    std::vector<Target> targets;
  };
  // The events, taken first: a pool's members are looked up without the lock (Members reads the
  // meter), once per pool per pass. Work that comes after this wakes the thread again.
  passes.fetch_add(1, std::memory_order_relaxed);
  std::vector<PendingEvent> taken_events;
  {
    std::lock_guard lock(mu);
    wake = false;
    taken_events.swap(events);
  }
  std::unordered_map<std::string, std::vector<std::string>> pool_members;
  if (members) {
    for (const PendingEvent& e : taken_events) {
      if (e.pool.empty() || pool_members.count(e.pool) != 0) continue;
      std::vector<std::string> ids;
      try {
        ids = members(e.pool);
      } catch (...) {  // then the event goes to its line's subscribers only
      }
      pool_members.emplace(e.pool, std::move(ids));
    }
  }

  std::vector<std::pair<std::string, std::vector<Target>>> event_sends;  // message, targets
  std::vector<std::pair<Target, std::vector<std::string>>> first_usage;
  std::vector<LineTargets> usage;
  std::vector<Target> ping;
  int64_t next_ms;
  {
    std::lock_guard lock(mu);
    if (next_heartbeat_ms == INT64_MIN)
      next_heartbeat_ms = now_ms + options.heartbeat_seconds * 1000;
    auto targets_of = [&](const WatchedLine& watched, bool skip_new) {
      std::vector<Target> targets;
      targets.reserve(watched.subscribers.size());
      for (uint64_t id : watched.subscribers) {
        const Subscriber& sub = subscribers.at(id);
        if (skip_new && !sub.first_usage_sent) continue;  // its first usage is as new
        targets.push_back({id, sub.stream});
      }
      return targets;
    };
    std::vector<uint64_t> event_ids;  // the subscribers of one event, each once
    for (PendingEvent& e : taken_events) {
      event_ids.clear();
      auto add_line = [&](const std::string& line) {
        auto watched = lines.find(line);
        if (watched == lines.end()) return;
        const std::vector<uint64_t>& ids = watched->second.subscribers;
        event_ids.insert(event_ids.end(), ids.begin(), ids.end());
      };
      add_line(e.line);
      if (!e.pool.empty()) {
        auto found = pool_members.find(e.pool);
        if (found != pool_members.end()) {
          for (const std::string& member : found->second) add_line(member);
        }
        std::sort(event_ids.begin(), event_ids.end());
        event_ids.erase(std::unique(event_ids.begin(), event_ids.end()), event_ids.end());
      }
      if (event_ids.empty()) continue;
      std::vector<Target> targets;
      targets.reserve(event_ids.size());
      for (uint64_t id : event_ids) targets.push_back({id, subscribers.at(id).stream});
      event_sends.emplace_back(SseMessage("event", e.json), std::move(targets));
    }
    if (now_ms >= next_heartbeat_ms) {
      ping.reserve(subscribers.size());
      for (const auto& [id, sub] : subscribers) ping.push_back({id, sub.stream});
      next_heartbeat_ms = now_ms + options.heartbeat_seconds * 1000;
    }
    next_ms = next_heartbeat_ms;
    // The dirty lines that are due, earliest first.
    while (!dirty.empty() && dirty.front().due_ms <= now_ms) {
      std::pop_heap(dirty.begin(), dirty.end(), DueLater{});
      DirtyLine entry = std::move(dirty.back());
      dirty.pop_back();
      auto watched = lines.find(entry.line);
      if (watched == lines.end()) continue;  // nobody watches it any more
      WatchedLine& w = watched->second;
      // A stale entry: the line was unwatched, watched again and marked anew (its own entry
      // counts).
      if (!w.dirty || w.due_ms(options.coalesce_ms) > now_ms) continue;
      w.dirty = false;
      w.usage_sent_ms = now_ms;
      usage.push_back({std::move(entry.line), targets_of(w, true)});
    }
    if (!dirty.empty()) next_ms = std::min(next_ms, dirty.front().due_ms);
    planned_pass_ms = next_ms;
    for (uint64_t id : new_subscribers) {
      auto found = subscribers.find(id);
      if (found == subscribers.end()) continue;
      found->second.first_usage_sent = true;
      first_usage.emplace_back(Target{id, found->second.stream}, found->second.lines);
    }
    new_subscribers.clear();
  }

  // Each line rendered at most once in this pass.
  std::unordered_map<std::string, std::string> rendered;
  auto usage_of = [&](const std::string& line) -> const std::string& {
    auto found = rendered.find(line);
    if (found != rendered.end()) return found->second;
    std::string json;
    try {
      json = render(line);
    } catch (...) {  // a failed render sends nothing for the line
    }
    renders.fetch_add(1, std::memory_order_relaxed);
    return rendered.emplace(line, std::move(json)).first->second;
  };
  std::vector<uint64_t> failed;
  for (const auto& [target, line_ids] : first_usage) {
    for (const std::string& line : line_ids) {
      const std::string& json = usage_of(line);
      if (!json.empty()) SendAll({target}, UsageMessage(line, json), true, &failed);
    }
  }
  for (const auto& [message, targets] : event_sends) SendAll(targets, message, true, &failed);
  for (const LineTargets& u : usage) {
    if (u.targets.empty()) continue;
    const std::string& json = usage_of(u.line);
    if (!json.empty()) SendAll(u.targets, UsageMessage(u.line, json), true, &failed);
  }
  SendAll(ping, std::string(kPing), false, &failed);
  if (!failed.empty()) {
    std::sort(failed.begin(), failed.end());
    failed.erase(std::unique(failed.begin(), failed.end()), failed.end());
    Remove(failed);
  }
  return next_ms;
}

LiveHub::LiveHub(LiveHubOptions options, Render render, Members members)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(render), std::move(members))) {}

LiveHub::~LiveHub() { Stop(); }

void LiveHub::Start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->thread.joinable() || impl_->stopping) return;
  impl_->thread = std::thread([impl = impl_.get()] {
    SetThreadName("ryuryo-live");
    impl->Run();
  });
}

void LiveHub::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  std::vector<std::shared_ptr<HttpStream>> streams;
  {
    std::lock_guard lock(impl_->mu);
    for (auto& [id, sub] : impl_->subscribers) streams.push_back(std::move(sub.stream));
    impl_->subscribers.clear();
    impl_->lines.clear();
    impl_->dirty.clear();
    impl_->new_subscribers.clear();
    impl_->events.clear();
    impl_->open_streams.store(0, std::memory_order_relaxed);
  }
  for (const auto& stream : streams) stream->Close();
}

Status LiveHub::Subscribe(std::vector<std::string> line_ids, std::shared_ptr<HttpStream> stream,
                          uint64_t* subscriber_id) {
  if (!stream) return Status::InvalidArgument("no stream");
  std::sort(line_ids.begin(), line_ids.end());
  line_ids.erase(std::unique(line_ids.begin(), line_ids.end()), line_ids.end());
  const LiveHubOptions& options = impl_->options;
  if (line_ids.size() > options.lines_per_stream_max) {
    return Status::InvalidArgument("at most " + std::to_string(options.lines_per_stream_max) +
                                   " lines per stream");
  }
  uint64_t id;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return Status::Unavailable("live updates are stopped");
    if (impl_->subscribers.size() >= options.streams_max) {
      return Status::ResourceExhausted("too many live streams (" +
                                       std::to_string(options.streams_max) + "); retry later");
    }
    // Under the lock, so that it comes before anything the hub's thread sends. (Send never
    // calls back into the hub.)
    if (!stream->Send("retry: " + std::to_string(options.retry_ms) + "\n\n")) {
      return Status::Unavailable("the stream is closed");
    }
    id = impl_->next_id++;
    for (const std::string& line : line_ids) impl_->lines[line].subscribers.push_back(id);
    impl_->subscribers.emplace(id, Impl::Subscriber{stream, std::move(line_ids), false});
    impl_->new_subscribers.push_back(id);
    impl_->open_streams.store(impl_->subscribers.size(), std::memory_order_relaxed);
    impl_->wake = true;
  }
  impl_->cv.notify_all();
  // Runs on the connection's executor, never inside a Send: it may take the hub's lock.
  stream->set_on_close([weak = std::weak_ptr<Impl>(impl_), id] {
    if (std::shared_ptr<Impl> impl = weak.lock()) impl->Remove({id});
  });
  if (subscriber_id != nullptr) *subscriber_id = id;
  return Status::Ok();
}

void LiveHub::Unsubscribe(uint64_t subscriber_id) { impl_->Remove({subscriber_id}); }

void LiveHub::LinesChanged(const std::vector<std::string>& line_ids) {
  if (impl_->open_streams.load(std::memory_order_relaxed) == 0) return;
  bool notify = false;
  {
    std::lock_guard lock(impl_->mu);
    for (const std::string& line : line_ids) {
      auto watched = impl_->lines.find(line);
      if (watched == impl_->lines.end() || watched->second.dirty) continue;
      watched->second.dirty = true;
      const int64_t due_ms = watched->second.due_ms(impl_->options.coalesce_ms);
      impl_->dirty.push_back({due_ms, impl_->dirty_order++, line});
      std::push_heap(impl_->dirty.begin(), impl_->dirty.end(), Impl::DueLater{});
      // The thread sleeps until the pass it planned (the next heartbeat or due line): a line due
      // before that wakes it. Not one due later, nor while a wake-up is pending: under steady
      // load most commits wake nobody.
      if (!impl_->wake && due_ms < impl_->planned_pass_ms) {
        impl_->wake = true;
        notify = true;
      }
    }
  }
  if (notify) impl_->cv.notify_all();
}

void LiveHub::PublishEvent(const std::string& line_id, std::string event_json) {
  if (impl_->open_streams.load(std::memory_order_relaxed) == 0) return;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->lines.find(line_id) == impl_->lines.end()) return;
    if (impl_->events.size() >= impl_->options.events_queued_max) {
      impl_->events_dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    impl_->events.push_back({line_id, std::string(), std::move(event_json)});
    impl_->wake = true;
  }
  impl_->cv.notify_all();
}

void LiveHub::PublishPoolEvent(const std::string& pool_id, const std::string& line_id,
                               std::string event_json) {
  if (impl_->open_streams.load(std::memory_order_relaxed) == 0) return;
  if (pool_id.empty() || !impl_->members) {
    if (!line_id.empty()) PublishEvent(line_id, std::move(event_json));
    return;
  }
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->events.size() >= impl_->options.events_queued_max) {
      impl_->events_dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    impl_->events.push_back({line_id, pool_id, std::move(event_json)});
    impl_->wake = true;
  }
  impl_->cv.notify_all();
}

int64_t LiveHub::RunOnce(int64_t now_ms) { return impl_->RunOnce(now_ms); }

size_t LiveHub::open_streams() const { return impl_->open_streams.load(); }
uint64_t LiveHub::messages_sent() const { return impl_->messages_sent.load(); }
uint64_t LiveHub::streams_dropped_slow() const { return impl_->streams_dropped_slow.load(); }
uint64_t LiveHub::events_dropped() const { return impl_->events_dropped.load(); }
uint64_t LiveHub::renders() const { return impl_->renders.load(); }
uint64_t LiveHub::passes() const { return impl_->passes.load(); }

std::string LiveHub::MetricsText() const {
  std::string out;
  auto metric = [&](const char* name, const char* help, const char* type, uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(v) + "\n";
  };
  metric("ryuryo_live_streams", "Open live-update (SSE) streams.", "gauge", open_streams());
  metric("ryuryo_live_messages_sent_total", "Usage and event messages sent on live streams.",
         "counter", messages_sent());
  metric("ryuryo_live_streams_dropped_slow_total",
         "Live streams closed because their client did not read.", "counter",
         streams_dropped_slow());
  metric("ryuryo_live_events_dropped_total", "Events not sent: too many were waiting.", "counter",
         events_dropped());
  metric("ryuryo_live_renders_total", "Usage renders for live streams.", "counter", renders());
  metric("ryuryo_live_passes_total", "Passes of the live hub's thread (wake-ups).", "counter",
         passes());
  return out;
}

}  // namespace ryuryo::api
