#include "api/work_queue.h"

#include "core/thread_name.h"

namespace ryuryo::api {

WorkQueue::WorkQueue(size_t threads, size_t queued_max) : queued_max_(queued_max) {
  for (size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this] {
      SetThreadName("ryuryo-work");
      Run();
    });
}

WorkQueue::~WorkQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

bool WorkQueue::Post(std::function<void()> work) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= queued_max_) return false;
    queue_.push_back(std::move(work));
  }
  cv_.notify_one();
  return true;
}

void WorkQueue::Run() {
  for (;;) {
    std::function<void()> work;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
  }
}

}  // namespace ryuryo::api
