#include "notify/sms_optout.h"

namespace ryuryo::notify {

Status SmsOptOut::Open(store::Store* store, std::unique_ptr<SmsOptOut>* out) {
  std::unique_ptr<SmsOptOut> o(new SmsOptOut(store));
  Status st = store->ScanAccountData(kSmsStopPrefix, [&](std::string_view key, std::string_view) {
    o->stopped_.emplace(key.substr(kSmsStopPrefix.size()));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  *out = std::move(o);
  return Status::Ok();
}

Status SmsOptOut::Set(const std::string& line, bool stopped) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_.contains(line) == stopped) return Status::Ok();
  store::Batch b(store_);
  const std::string key = std::string(kSmsStopPrefix) + line;
  if (stopped) {
    b.PutAccountData(key, "1");
  } else {
    b.DeleteAccountData(key);
  }
  if (Status st = store_->Write(&b); !st.ok()) return st;
  if (stopped) {
    stopped_.insert(line);
  } else {
    stopped_.erase(line);
  }
  return Status::Ok();
}

bool SmsOptOut::Stopped(std::string_view line) const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopped_.contains(std::string(line));
}

}  // namespace ryuryo::notify
