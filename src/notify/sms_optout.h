// SmsOptOut: the lines whose subscriber texted STOP (no alert SMS) and not START since. Kept
// durably in the store's account data (key "sms/stop/<line>", present = stopped) and in memory
// for lookups; alert SMS delivery asks Stopped() before sending.
//
// Thread-safety: all methods may be called from any thread (one mutex; Set writes the store
// under it, so that the memory and the store agree).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "core/status.h"
#include "store/store.h"

namespace ryuryo::notify {

inline constexpr std::string_view kSmsStopPrefix = "sms/stop/";

class SmsOptOut {
 public:
  // Loads the stopped lines from `store`, which must outlive the object.
  static Status Open(store::Store* store, std::unique_ptr<SmsOptOut>* out);

  // Records STOP (stopped = true) or START for `line`; durable when it returns ok.
  Status Set(const std::string& line, bool stopped);
  bool Stopped(std::string_view line) const;

 private:
  explicit SmsOptOut(store::Store* store) : store_(store) {}
  store::Store* store_;
  mutable std::mutex mu_;
  std::unordered_set<std::string> stopped_;
};

}  // namespace ryuryo::notify
