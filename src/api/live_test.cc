// LiveHub with fake streams and a clock the test drives (RunOnce), plus one test of its thread.
#include "api/live.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ryuryo::api {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

// An HttpStream that keeps what it was sent. Like the server's, it never calls on_close from
// Send or Close: the test plays the connection with PeerLeaves().
class FakeStream : public HttpStream {
 public:
  explicit FakeStream(size_t queued_bytes_max = SIZE_MAX) : queued_bytes_max_(queued_bytes_max) {}

  bool Send(std::string data) override {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    if (bytes_ + data.size() > queued_bytes_max_) {
      closed_ = overflowed_ = true;
      return false;
    }
    bytes_ += data.size();
    messages_.push_back(std::move(data));
    return true;
  }
  void Close() override {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  bool closed() const override {
    std::lock_guard lock(mu_);
    return closed_;
  }
  bool overflowed() const override {
    std::lock_guard lock(mu_);
    return overflowed_;
  }
  void set_on_close(std::function<void()> on_close) override {
    std::lock_guard lock(mu_);
    on_close_ = std::move(on_close);
  }

  // The client goes away: closed, and on_close runs (as on the connection's executor).
  void PeerLeaves() {
    std::function<void()> on_close;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      on_close = std::move(on_close_);
      on_close_ = nullptr;
    }
    if (on_close) on_close();
  }

  std::vector<std::string> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  // The messages sent since the last call.
  std::vector<std::string> TakeMessages() {
    std::lock_guard lock(mu_);
    return std::move(messages_);
  }

 private:
  const size_t queued_bytes_max_;
  mutable std::mutex mu_;
  std::vector<std::string> messages_;
  size_t bytes_ = 0;
  bool closed_ = false;
  bool overflowed_ = false;
  std::function<void()> on_close_;
};

std::string Usage(const std::string& line, const std::string& json) {
  return "event: usage\ndata: {\"line\":\"" + line + "\",\"usage\":" + json + "}\n\n";
}

// The line of each usage message in `messages` ("" for other messages).
std::vector<std::string> UsageLines(const std::vector<std::string>& messages) {
  std::vector<std::string> lines;
  const std::string prefix = "event: usage\ndata: {\"line\":\"";
  for (const std::string& m : messages) {
    if (m.rfind(prefix, 0) != 0) {
      lines.emplace_back();
      continue;
    }
    lines.push_back(m.substr(prefix.size(), m.find('"', prefix.size()) - prefix.size()));
  }
  return lines;
}

class LiveHubTest : public ::testing::Test {
 protected:
  // A hub whose Render returns {"line":"<id>","n":<renders so far>} for lines in known_lines_.
  std::unique_ptr<LiveHub> NewHub(LiveHubOptions options = {}) {
    return std::make_unique<LiveHub>(options, [this](const std::string& line) -> std::string {
      std::lock_guard lock(mu_);
      rendered_.push_back(line);
      if (line == "gone") return "";
      if (line == "throws") throw std::runtime_error("render failed");
      return "{\"n\":" + std::to_string(rendered_.size()) + "}";
    });
  }

  std::shared_ptr<FakeStream> Subscribe(LiveHub& hub, std::vector<std::string> lines) {
    auto stream = std::make_shared<FakeStream>();
    const Status st = hub.Subscribe(std::move(lines), stream);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return stream;
  }

  std::vector<std::string> rendered() {
    std::lock_guard lock(mu_);
    return rendered_;
  }

  std::mutex mu_;
  std::vector<std::string> rendered_;  // guarded by mu_
};

TEST(SseMessageTest, EventAndOneDataFieldPerLine) {
  EXPECT_EQ(SseMessage("usage", R"({"a":1})"), "event: usage\ndata: {\"a\":1}\n\n");
  EXPECT_EQ(SseMessage("", "x"), "data: x\n\n");
  EXPECT_EQ(SseMessage("e", "one\ntwo\r\nthree\rfour"),
            "event: e\ndata: one\ndata: two\ndata: three\ndata: four\n\n");
  EXPECT_EQ(SseMessage("e", ""), "event: e\ndata: \n\n");
}

TEST_F(LiveHubTest, SubscriberGetsRetryThenTheUsageOfEachLine) {
  auto hub = NewHub();
  auto stream = Subscribe(*hub, {"b", "a", "b"});
  EXPECT_THAT(stream->TakeMessages(), ElementsAre("retry: 3000\n\n"));
  EXPECT_EQ(hub->open_streams(), 1u);
  hub->RunOnce(0);
  EXPECT_THAT(stream->TakeMessages(),
              ElementsAre(Usage("a", R"({"n":1})"), Usage("b", R"({"n":2})")));
  EXPECT_THAT(rendered(), ElementsAre("a", "b"));
  EXPECT_EQ(hub->messages_sent(), 2u);
  // Nothing changed: nothing more.
  hub->RunOnce(1000);
  EXPECT_THAT(stream->TakeMessages(), IsEmpty());
  EXPECT_EQ(hub->renders(), 2u);
}

TEST_F(LiveHubTest, ChangesAreCoalescedPerLine) {
  LiveHubOptions options;
  options.coalesce_ms = 500;
  auto hub = NewHub(options);
  auto stream = Subscribe(*hub, {"a"});
  hub->RunOnce(0);
  stream->TakeMessages();
  ASSERT_EQ(hub->renders(), 1u);

  // The first change after a quiet time goes out at the next pass.
  for (int i = 0; i < 100; ++i) hub->LinesChanged({"a"});
  hub->RunOnce(10);
  EXPECT_EQ(hub->renders(), 2u);
  EXPECT_EQ(stream->TakeMessages().size(), 1u);

  // Changes within coalesce_ms of it wait for the window to pass, then go out as one.
  for (int i = 0; i < 100; ++i) hub->LinesChanged({"a"});
  EXPECT_EQ(hub->RunOnce(20), 510);
  EXPECT_EQ(hub->RunOnce(300), 510);
  EXPECT_EQ(hub->renders(), 2u);
  EXPECT_THAT(stream->TakeMessages(), IsEmpty());
  hub->RunOnce(510);
  EXPECT_EQ(hub->renders(), 3u);
  EXPECT_THAT(stream->TakeMessages(), ElementsAre(Usage("a", R"({"n":3})")));

  hub->RunOnce(5000);
  EXPECT_EQ(hub->renders(), 3u);
}

// Lines that change at different times go out each when its own window has passed, earliest
// first; a line unwatched and watched again while dirty leaves a stale entry that is skipped.
TEST_F(LiveHubTest, DirtyLinesGoOutWhenDueEarliestFirst) {
  LiveHubOptions options;
  options.coalesce_ms = 500;
  options.heartbeat_seconds = 3600;
  auto hub = NewHub(options);
  auto stream = Subscribe(*hub, {"a", "b"});
  uint64_t leaving_id = 0;
  ASSERT_TRUE(hub->Subscribe({"c"}, std::make_shared<FakeStream>(), &leaving_id).ok());
  hub->RunOnce(0);
  stream->TakeMessages();
  hub->LinesChanged({"b"});
  hub->RunOnce(100);  // "b" due again at 600
  hub->LinesChanged({"a", "c"});
  hub->RunOnce(200);  // "a" and "c" due again at 700
  EXPECT_THAT(UsageLines(stream->TakeMessages()), ElementsAre("b", "a"));

  hub->LinesChanged({"a", "c"});
  hub->LinesChanged({"b"});
  // "c" is unwatched while dirty, then watched anew: its old entry (due at 700) is stale.
  hub->Unsubscribe(leaving_id);
  auto on_c = Subscribe(*hub, {"c"});
  EXPECT_EQ(hub->RunOnce(300), 600);  // "c"'s first usage; "b" is due first
  on_c->TakeMessages();
  hub->LinesChanged({"c"});  // only a first usage so far: due at once
  hub->RunOnce(400);         // "c" due again at 900
  EXPECT_THAT(UsageLines(on_c->TakeMessages()), ElementsAre("c"));
  hub->LinesChanged({"c"});
  EXPECT_EQ(hub->RunOnce(600), 700);
  EXPECT_THAT(UsageLines(stream->TakeMessages()), ElementsAre("b"));
  EXPECT_EQ(hub->RunOnce(700), 900);  // the stale entry of "c" sends nothing
  EXPECT_THAT(UsageLines(stream->TakeMessages()), ElementsAre("a"));
  EXPECT_THAT(on_c->TakeMessages(), IsEmpty());
  EXPECT_EQ(hub->RunOnce(900), 3'600'000);
  EXPECT_THAT(UsageLines(on_c->TakeMessages()), ElementsAre("c"));
}

TEST_F(LiveHubTest, OnlyWatchedLinesAreRendered) {
  auto hub = NewHub();
  auto stream = Subscribe(*hub, {"a"});
  hub->RunOnce(0);
  hub->LinesChanged({"x", "a", "y"});
  hub->LinesChanged({"z"});
  hub->RunOnce(1000);
  EXPECT_THAT(rendered(), ElementsAre("a", "a"));
}

TEST_F(LiveHubTest, RenderingDoesNotDependOnTheNumberOfSubscribers) {
  auto hub = NewHub();
  std::vector<std::shared_ptr<FakeStream>> streams;
  for (int i = 0; i < 50; ++i) streams.push_back(Subscribe(*hub, {"a"}));
  hub->RunOnce(0);  // 50 new subscribers: their first usage, rendered once
  EXPECT_EQ(hub->renders(), 1u);
  hub->LinesChanged({"a"});
  hub->RunOnce(1000);
  EXPECT_EQ(hub->renders(), 2u);
  for (const auto& stream : streams) {
    EXPECT_THAT(stream->messages(),
                ElementsAre("retry: 3000\n\n", Usage("a", R"({"n":1})"), Usage("a", R"({"n":2})")));
  }
  EXPECT_EQ(hub->messages_sent(), 100u);
}

TEST_F(LiveHubTest, ANewSubscriberGetsItsFirstUsageOnceEvenIfTheLineChanged) {
  auto hub = NewHub();
  auto old_stream = Subscribe(*hub, {"a"});
  hub->RunOnce(0);
  old_stream->TakeMessages();
  auto new_stream = Subscribe(*hub, {"a"});
  new_stream->TakeMessages();
  hub->LinesChanged({"a"});
  hub->RunOnce(1000);
  EXPECT_EQ(old_stream->TakeMessages().size(), 1u);
  EXPECT_EQ(new_stream->TakeMessages().size(), 1u);
  EXPECT_EQ(hub->renders(), 2u);
}

TEST_F(LiveHubTest, EventsGoToTheLinesSubscribersOnly) {
  auto hub = NewHub();
  auto on_a = Subscribe(*hub, {"a"});
  auto on_b = Subscribe(*hub, {"b"});
  auto on_both = Subscribe(*hub, {"a", "b"});
  hub->RunOnce(0);
  for (auto* s : {&on_a, &on_b, &on_both}) (*s)->TakeMessages();

  const std::string event = R"({"seq":7,"type":"threshold","line":"a","threshold":"80%"})";
  hub->PublishEvent("a", event);
  hub->PublishEvent("nobody", R"({"seq":8})");
  hub->RunOnce(10);
  const std::string message = "event: event\ndata: " + event + "\n\n";
  EXPECT_THAT(on_a->TakeMessages(), ElementsAre(message));
  EXPECT_THAT(on_b->TakeMessages(), IsEmpty());
  EXPECT_THAT(on_both->TakeMessages(), ElementsAre(message));
  EXPECT_EQ(hub->renders(), 2u);  // events render nothing
}

// A pool's events go to the subscribers of every member line that is watched, once a stream,
// in the order they were published among the line's own events; the members are looked up once
// per pool per pass.
TEST_F(LiveHubTest, PoolEventsGoToTheSubscribersOfEveryMember) {
  std::vector<std::string> looked_up;  // only the test's thread runs RunOnce
  auto hub = std::make_unique<LiveHub>(
      LiveHubOptions{}, [](const std::string&) { return std::string("{}"); },
      [&looked_up](const std::string& pool) -> std::vector<std::string> {
        looked_up.push_back(pool);
        if (pool == "fam") return {"p1", "p2", "p3"};
        if (pool == "throws") throw std::runtime_error("lookup failed");
        return {};
      });
  auto on_p1 = Subscribe(*hub, {"p1"});
  auto on_p2 = Subscribe(*hub, {"p2"});
  auto on_both = Subscribe(*hub, {"p1", "p2", "solo"});
  auto on_solo = Subscribe(*hub, {"solo"});
  auto on_other = Subscribe(*hub, {"x"});
  hub->RunOnce(0);
  for (auto* s : {&on_p1, &on_p2, &on_both, &on_solo, &on_other}) (*s)->TakeMessages();

  auto message = [](const std::string& json) { return "event: event\ndata: " + json + "\n\n"; };
  const std::string solo1 = R"({"seq":1,"line":"solo"})";
  const std::string threshold = R"({"seq":2,"type":"threshold","line":"p2","pool":"fam"})";
  const std::string solo2 = R"({"seq":3,"line":"solo"})";
  const std::string reset = R"({"seq":4,"type":"reset","pool":"fam"})";  // no line
  hub->PublishEvent("solo", solo1);
  hub->PublishPoolEvent("fam", "p2", threshold);
  hub->PublishEvent("solo", solo2);
  hub->PublishPoolEvent("fam", "", reset);
  hub->PublishPoolEvent("empty", "", R"({"seq":5})");
  hub->RunOnce(10);
  EXPECT_THAT(on_p1->TakeMessages(), ElementsAre(message(threshold), message(reset)));
  EXPECT_THAT(on_p2->TakeMessages(), ElementsAre(message(threshold), message(reset)));
  EXPECT_THAT(on_both->TakeMessages(),
              ElementsAre(message(solo1), message(threshold), message(solo2), message(reset)));
  EXPECT_THAT(on_solo->TakeMessages(), ElementsAre(message(solo1), message(solo2)));
  EXPECT_THAT(on_other->TakeMessages(), IsEmpty());
  EXPECT_THAT(looked_up, ElementsAre("fam", "empty"));
  EXPECT_EQ(hub->messages_sent(), 7u + 10u);  // first usages, then events

  // A pool whose members cannot be looked up: the event still reaches its own line.
  hub->PublishPoolEvent("throws", "p1", R"({"seq":6})");
  hub->RunOnce(20);
  EXPECT_THAT(on_p1->TakeMessages(), ElementsAre(message(R"({"seq":6})")));
  EXPECT_THAT(on_both->TakeMessages(), ElementsAre(message(R"({"seq":6})")));
  EXPECT_THAT(on_p2->TakeMessages(), IsEmpty());

  // A pool's balance changes every member's usage (the ledger names them all): each member's
  // subscribers get it, each line rendered once.
  hub->LinesChanged({"p1", "p2", "p3"});
  hub->RunOnce(1000);
  EXPECT_THAT(UsageLines(on_p1->TakeMessages()), ElementsAre("p1"));
  EXPECT_THAT(UsageLines(on_p2->TakeMessages()), ElementsAre("p2"));
  EXPECT_THAT(UsageLines(on_both->TakeMessages()), ElementsAre("p1", "p2"));
  EXPECT_EQ(hub->renders(), 4u + 2u);
}

// Without a way to look up members, a pool's event goes to its line's subscribers only.
TEST_F(LiveHubTest, PoolEventsWithoutMembersGoToTheirLine) {
  auto hub = NewHub();
  auto on_p1 = Subscribe(*hub, {"p1"});
  auto on_p2 = Subscribe(*hub, {"p2"});
  hub->RunOnce(0);
  on_p1->TakeMessages();
  on_p2->TakeMessages();
  hub->PublishPoolEvent("fam", "p1", R"({"seq":1})");
  hub->PublishPoolEvent("fam", "", R"({"seq":2})");
  hub->RunOnce(10);
  EXPECT_THAT(on_p1->TakeMessages(), ElementsAre("event: event\ndata: {\"seq\":1}\n\n"));
  EXPECT_THAT(on_p2->TakeMessages(), IsEmpty());
}

TEST_F(LiveHubTest, EventsBeyondTheQueueLimitAreDropped) {
  LiveHubOptions options;
  options.events_queued_max = 3;
  auto hub = NewHub(options);
  auto stream = Subscribe(*hub, {"a"});
  hub->RunOnce(0);
  stream->TakeMessages();
  for (int i = 0; i < 5; ++i) hub->PublishEvent("a", std::to_string(i));
  EXPECT_EQ(hub->events_dropped(), 2u);
  hub->RunOnce(10);
  EXPECT_EQ(stream->TakeMessages().size(), 3u);
}

TEST_F(LiveHubTest, ASubscriberIsDroppedWhenItsStreamCloses) {
  auto hub = NewHub();
  auto leaving = Subscribe(*hub, {"a"});
  auto staying = Subscribe(*hub, {"a"});
  hub->RunOnce(0);
  leaving->PeerLeaves();
  EXPECT_EQ(hub->open_streams(), 1u);
  hub->LinesChanged({"a"});
  hub->RunOnce(1000);
  EXPECT_EQ(leaving->messages().size(), 2u);  // retry and the first usage only
  EXPECT_EQ(staying->messages().size(), 3u);

  // Closed without on_close having run yet: dropped at the first send that fails.
  staying->Close();
  hub->LinesChanged({"a"});
  hub->RunOnce(2000);
  EXPECT_EQ(hub->open_streams(), 0u);
  EXPECT_EQ(hub->streams_dropped_slow(), 0u);
  // Nobody watches "a" now: changes are not even marked.
  const uint64_t renders = hub->renders();
  hub->LinesChanged({"a"});
  hub->RunOnce(3000);
  EXPECT_EQ(hub->renders(), renders);
}

TEST_F(LiveHubTest, ASlowStreamIsDroppedAndCounted) {
  auto hub = NewHub();
  auto slow = std::make_shared<FakeStream>(/*queued_bytes_max=*/40);
  ASSERT_TRUE(hub->Subscribe({"a"}, slow).ok());
  hub->RunOnce(0);  // the first usage does not fit
  EXPECT_TRUE(slow->overflowed());
  EXPECT_EQ(hub->open_streams(), 0u);
  EXPECT_EQ(hub->streams_dropped_slow(), 1u);
  slow->PeerLeaves();  // its on_close finds nothing to drop
  EXPECT_EQ(hub->streams_dropped_slow(), 1u);
}

TEST_F(LiveHubTest, StreamsMaxAndLinesPerStreamMax) {
  LiveHubOptions options;
  options.streams_max = 2;
  options.lines_per_stream_max = 3;
  auto hub = NewHub(options);
  uint64_t first_id = 0;
  ASSERT_TRUE(hub->Subscribe({"a"}, std::make_shared<FakeStream>(), &first_id).ok());
  ASSERT_TRUE(hub->Subscribe({"a"}, std::make_shared<FakeStream>()).ok());
  auto refused = std::make_shared<FakeStream>();
  const Status full = hub->Subscribe({"a"}, refused);
  EXPECT_EQ(full.code(), Status::Code::kResourceExhausted) << full.ToString();
  EXPECT_THAT(refused->messages(), IsEmpty());
  EXPECT_EQ(hub->open_streams(), 2u);

  hub->Unsubscribe(first_id);
  hub->Unsubscribe(first_id);  // unknown now: ignored
  EXPECT_TRUE(hub->Subscribe({"a", "b", "c", "a"}, std::make_shared<FakeStream>()).ok());
  hub->Unsubscribe(2);
  EXPECT_EQ(hub->Subscribe({"a", "b", "c", "d"}, std::make_shared<FakeStream>()).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(hub->Subscribe({"a"}, nullptr).code(), Status::Code::kInvalidArgument);
  auto closed = std::make_shared<FakeStream>();
  closed->Close();
  EXPECT_EQ(hub->Subscribe({"a"}, closed).code(), Status::Code::kUnavailable);
}

TEST_F(LiveHubTest, HeartbeatsGoToEveryStreamWhenDue) {
  LiveHubOptions options;
  options.heartbeat_seconds = 15;
  auto hub = NewHub(options);
  auto a = Subscribe(*hub, {"a"});
  auto b = Subscribe(*hub, {});
  EXPECT_EQ(hub->RunOnce(0), 15'000);
  a->TakeMessages();
  b->TakeMessages();
  EXPECT_EQ(hub->RunOnce(14'999), 15'000);
  EXPECT_THAT(a->TakeMessages(), IsEmpty());
  EXPECT_EQ(hub->RunOnce(15'000), 30'000);
  EXPECT_THAT(a->TakeMessages(), ElementsAre(": ping\n\n"));
  EXPECT_THAT(b->TakeMessages(), ElementsAre(": ping\n\n"));
  hub->RunOnce(15'001);
  EXPECT_THAT(a->TakeMessages(), IsEmpty());
  EXPECT_EQ(hub->messages_sent(), 1u);  // the first usage; pings do not count
  EXPECT_EQ(hub->passes(), 4u);
}

TEST_F(LiveHubTest, AGoneLineOrAFailingRenderSendsNothing) {
  auto hub = NewHub();
  auto stream = Subscribe(*hub, {"gone", "throws", "a"});
  hub->RunOnce(0);
  EXPECT_THAT(stream->messages(), ElementsAre("retry: 3000\n\n", Usage("a", R"({"n":1})")));
}

TEST_F(LiveHubTest, StopClosesTheStreamsAndRefusesNewOnes) {
  auto hub = NewHub();
  auto stream = Subscribe(*hub, {"a"});
  hub->Start();
  hub->Stop();
  hub->Stop();
  EXPECT_TRUE(stream->closed());
  EXPECT_EQ(hub->open_streams(), 0u);
  EXPECT_EQ(hub->Subscribe({"a"}, std::make_shared<FakeStream>()).code(),
            Status::Code::kUnavailable);
  stream->PeerLeaves();  // a late on_close is harmless
}

TEST_F(LiveHubTest, OnCloseAfterTheHubIsGoneIsHarmless) {
  auto hub = NewHub();
  auto stream = Subscribe(*hub, {"a"});
  hub.reset();
  stream->PeerLeaves();
}

// The hub's own thread, on the real clock: a new subscriber's usage comes at once, a burst of
// changes is coalesced, heartbeats come.
TEST_F(LiveHubTest, ThreadSendsCoalescedUpdates) {
  LiveHubOptions options;
  options.coalesce_ms = 200;
  options.heartbeat_seconds = 1;
  auto hub = NewHub(options);
  hub->Start();
  auto stream = Subscribe(*hub, {"a"});
  auto wait_for = [](const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!condition()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(2ms);
    }
    return true;
  };
  ASSERT_TRUE(wait_for([&] { return stream->messages().size() == 2; }));  // retry, usage

  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    hub->LinesChanged({"a"});
    std::this_thread::sleep_for(1ms);
  }
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  // 100 changes: the first at once, the rest at most one per coalesce window (one more for the
  // window still open when they stopped), besides the first usage.
  ASSERT_TRUE(wait_for([&] { return hub->renders() >= 2; }));
  std::this_thread::sleep_for(500ms);
  EXPECT_LE(hub->renders(), 3u + static_cast<uint64_t>(elapsed_ms / options.coalesce_ms));
  const size_t renders = hub->renders();
  ASSERT_TRUE(wait_for([&] {
    for (const std::string& m : stream->messages()) {
      if (m == ": ping\n\n") return true;
    }
    return false;
  }));
  EXPECT_EQ(hub->renders(), renders);
  hub->Stop();
  EXPECT_TRUE(stream->closed());
}

// True once `condition` holds; false if it still does not after 10 s.
bool WaitFor(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// The hub's thread on a clock the test sets (it never moves by itself): the thread sleeps until
// the next heartbeat or the next line that is due, in real time. A change wakes it early when
// the changed line is due before then, even though other lines are waiting out their window;
// a change of a line that is not due yet does not wake it.
TEST_F(LiveHubTest, AChangeWakesTheThreadWhenItsLineIsDueBeforeThePlannedWakeUp) {
  std::atomic<int64_t> now{0};
  std::atomic<int> clock_reads{0};  // one a pass of the thread
  LiveHubOptions options;
  options.coalesce_ms = 60'000;  // a window of a minute: waiting it out fails the test
  options.heartbeat_seconds = 3600;
  options.clock = [&] {
    clock_reads.fetch_add(1);
    return now.load();
  };
  auto hub = NewHub(options);
  auto stream = Subscribe(*hub, {"a", "b", "c"});
  hub->Start();
  ASSERT_TRUE(WaitFor([&] { return stream->messages().size() == 4; }));  // retry, a, b, c
  stream->TakeMessages();

  // At 1,000: "a" goes out; its window ends at 61,000.
  now = 1'000;
  hub->LinesChanged({"a"});
  ASSERT_TRUE(WaitFor([&] { return stream->messages().size() == 1; }));
  // At 100,000: "b" goes out (its window ends at 160,000) and changes again; "c" goes out in the
  // same pass. Then the thread sleeps until 160,000, "b"'s due time: a real minute.
  now = 100'000;
  hub->LinesChanged({"b"});
  ASSERT_TRUE(WaitFor([&] { return stream->messages().size() == 2; }));
  hub->LinesChanged({"b", "c"});
  ASSERT_TRUE(WaitFor([&] { return stream->messages().size() == 3; }));
  EXPECT_THAT(UsageLines(stream->TakeMessages()), ElementsAre("a", "b", "c"));

  // "a" changes: due since 61,000, before the planned wake-up, so it goes out at once although
  // "b" keeps the dirty list from being empty.
  hub->LinesChanged({"a"});
  ASSERT_TRUE(WaitFor([&] { return stream->messages().size() == 1; }))
      << "the line due at once waited for the planned wake-up";
  EXPECT_THAT(UsageLines(stream->TakeMessages()), ElementsAre("a"));

  // Changes of lines due at 160,000 (not before the planned wake-up) do not wake the thread.
  const int reads = clock_reads.load();
  for (int i = 0; i < 100; ++i) hub->LinesChanged({"a", "b", "c"});
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(clock_reads.load(), reads);
  EXPECT_THAT(stream->messages(), IsEmpty());
  hub->Stop();
}

// The route's wiring over a real socket: the opener subscribes the stream; the client gets the
// header, "retry", the first usage, an update after LinesChanged and an event; when it leaves,
// the subscriber is dropped.
TEST_F(LiveHubTest, OverARealHttpStream) {
  namespace net = boost::asio;
  namespace beast = boost::beast;
  using tcp = net::ip::tcp;
  LiveHubOptions options;
  options.coalesce_ms = 50;
  auto hub = NewHub(options);
  hub->Start();
  net::io_context io;
  HttpServerOptions http_options;
  http_options.port = 0;
  HttpServer server(io, http_options, [&hub](HttpRequest&& request, Responder respond) {
    std::vector<std::string> lines = {request.Query("line") ? *request.Query("line") : ""};
    respond(HttpResponse::EventStream(
        [&hub, lines](const std::shared_ptr<HttpStream>& stream) -> std::optional<HttpResponse> {
          const Status st = hub->Subscribe(lines, stream);
          if (!st.ok()) return HttpResponse::Error(503, "unavailable", st.message());
          return std::nullopt;
        }));
  });
  ASSERT_TRUE(server.Listen().ok());
  server.Start();
  std::thread io_thread([&io] { io.run(); });

  net::io_context client_io;
  beast::tcp_stream client(client_io);
  client.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
  const std::string request = "GET /v1/stream?line=a HTTP/1.1\r\nHost: t\r\n\r\n";
  net::write(client.socket(), net::buffer(request));
  std::string received;
  // Reads until `text` was received (true) or 5 s passed.
  auto read_until = [&](const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (received.find(text) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      char bytes[4096];
      size_t got = 0;
      client.expires_after(1s);
      client.async_read_some(net::buffer(bytes), [&](beast::error_code, size_t n) { got = n; });
      client_io.restart();
      client_io.run();
      received.append(bytes, got);
    }
    return true;
  };
  ASSERT_TRUE(read_until("text/event-stream"));
  ASSERT_TRUE(read_until("retry: 3000\n\n"));
  ASSERT_TRUE(read_until(Usage("a", R"({"n":1})")));
  hub->LinesChanged({"a", "b"});
  ASSERT_TRUE(read_until(Usage("a", R"({"n":2})")));
  hub->PublishEvent("a", R"({"type":"exhausted"})");
  ASSERT_TRUE(read_until("event: event\ndata: {\"type\":\"exhausted\"}\n\n"));
  EXPECT_EQ(hub->open_streams(), 1u);
  EXPECT_EQ(server.open_streams(), 1u);

  client.close();
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (hub->open_streams() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(hub->open_streams(), 0u);
  EXPECT_THAT(rendered(), ElementsAre("a", "a"));

  // Shut down in the server's order: the hub, then the HTTP server and its io_context.
  hub->Stop();
  net::post(io, [&server] { server.Stop(); });
  io_thread.join();
}

}  // namespace
}  // namespace ryuryo::api
