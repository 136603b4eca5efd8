#include "api/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace ryuryo::api {
namespace {

TEST(WorkQueueTest, RunsEverythingPostedBeforeItIsDestroyed) {
  std::atomic<int> ran{0};
  {
    WorkQueue q(2, 1000);
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(q.Post([&] { ++ran; }));
  }
  EXPECT_EQ(ran.load(), 500);
}

TEST(WorkQueueTest, RefusesWorkBeyondItsLimit) {
  // Declared before the queue: the queue's destructor joins its thread, which still uses them.
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  WorkQueue q(1, 2);
  ASSERT_TRUE(q.Post([&started, gate] {
    started.set_value();
    gate.wait();
  }));
  started.get_future().wait();  // the thread is busy; the queue is empty
  EXPECT_TRUE(q.Post([] {}));
  EXPECT_TRUE(q.Post([] {}));
  EXPECT_FALSE(q.Post([] {})) << "a third queued item is over the limit";
  release.set_value();
}

}  // namespace
}  // namespace ryuryo::api
