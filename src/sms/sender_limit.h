// SenderLimiter: how many replies one unknown sender number gets per window, so that a number
// that is not a line's (a spammer, a loop with another auto-responder) cannot make the service
// send SMS without bound. In memory only; the table of senders is bounded.
//
// Thread-safety: all methods may be called from any thread (one mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ryuryo::sms {

// Replies to one unknown sender per window, and the window.
inline constexpr uint32_t kUnknownSenderRepliesPerWindow = 3;
inline constexpr int64_t kUnknownSenderWindowMs = 60 * 60 * 1000;  // 1 hour
// Senders remembered at most; when full and none has an expired window, a new sender is
// refused (fails closed: no reply).
inline constexpr size_t kUnknownSendersMax = 10'000;

class SenderLimiter {
 public:
  SenderLimiter(uint32_t per_window = kUnknownSenderRepliesPerWindow,
                int64_t window_ms = kUnknownSenderWindowMs, size_t senders_max = kUnknownSendersMax)
      : per_window_(per_window), window_ms_(window_ms), senders_max_(senders_max) {}

  // True when `sender` may get a reply at `now_ms` (and counts it).
  bool Allow(std::string_view sender, int64_t now_ms);
  size_t size() const;

 private:
  struct Window {
    int64_t start = 0;
    uint32_t count = 0;
  };
  const uint32_t per_window_;
  const int64_t window_ms_;
  const size_t senders_max_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Window> senders_;
};

}  // namespace ryuryo::sms
