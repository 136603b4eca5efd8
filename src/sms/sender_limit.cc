#include "sms/sender_limit.h"

namespace ryuryo::sms {

bool SenderLimiter::Allow(std::string_view sender, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = senders_.find(std::string(sender));
  if (it == senders_.end()) {
    if (senders_.size() >= senders_max_) {
      for (auto e = senders_.begin(); e != senders_.end();) {
        e = now_ms - e->second.start >= window_ms_ ? senders_.erase(e) : std::next(e);
      }
      if (senders_.size() >= senders_max_) return false;
    }
    it = senders_.emplace(std::string(sender), Window{now_ms, 0}).first;
  }
  Window& w = it->second;
  if (now_ms - w.start >= window_ms_) w = Window{now_ms, 0};
  if (w.count >= per_window_) return false;
  ++w.count;
  return true;
}

size_t SenderLimiter::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return senders_.size();
}

}  // namespace ryuryo::sms
