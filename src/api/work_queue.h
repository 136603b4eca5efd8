// WorkQueue: a few threads for work that must not run on the event loop (hashing or checking a
// password with Argon2id takes tens of milliseconds and tens of MiB). A bounded queue: Post()
// refuses work beyond `queued_max`, so a flood of sign-ins is answered "busy", not queued without
// end. The destructor runs what is queued, then joins.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ryuryo::api {

class WorkQueue {
 public:
  WorkQueue(size_t threads, size_t queued_max);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // False (and `work` not run) when the queue is full or stopping.
  bool Post(std::function<void()> work);

 private:
  void Run();
  const size_t queued_max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace ryuryo::api
