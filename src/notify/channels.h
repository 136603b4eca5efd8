// ChannelRegistry: the alert channels a subscriber sets on their own lines (a webhook URL of
// their own, next to the operator's [[webhooks]]). An alert of a line (threshold, pace, exhausted,
// throttled, blocked, restored) gets one outbox entry per channel of that line, in the commit that
// raised it, like any webhook; the outbox worker delivers it with the channel's own secret.
//
// Each channel has a number that is never reused (the next one is stored with the channels), and
// its outbox endpoint is kChannelEndpointBase + that number, so an entry queued for a channel
// that was removed since is dropped, never sent to another channel. The worker also checks that
// the event is about the channel's line before sending anything.
//
// Stored in the store's `accounts` column family under "c/<line>" (a JSON array) and
// "n/channel" (the next number); every change is synced before the call returns.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "store/store.h"

namespace ryuryo::notify {

// Outbox endpoints kChannelEndpointBase .. kEnforcementEndpoint-1 are subscribers' webhook
// channels; kSmsEndpointBase + id their SMS channels, and kSmsEndpointBase itself the line's own
// number (notify/sms_alerts.h).
inline constexpr uint32_t kChannelEndpointBase = 0x4000'0000;
inline constexpr uint32_t kSmsEndpointBase = 0xC000'0000;
inline constexpr uint32_t kChannelIdMax = 0x3fff'ffff;

struct Channel {
  uint32_t id = 0;
  std::string line;
  std::string type;         // "webhook" | "sms"
  std::string url;          // webhook
  std::string secret;       // webhook: signs the body (X-Ryuryo-Signature), shown to the subscriber
  std::string to;           // sms: E.164 digits ("819012345678")
  std::string quiet_hours;  // sms: "22:00-07:00", "off", or empty for the server's default
  Millis created_at = 0;
};

// What a subscriber asks for; a channel equal to an existing one keeps its number and secret.
struct ChannelSpec {
  std::string type;
  std::string url;
  std::string to;           // sms: the number, in any form sms/msisdn.h takes
  std::string quiet_hours;  // sms: see sms/quiet_hours.h; empty: the server's default
};

struct ChannelOptions {
  size_t per_line_max = 5;
  // SMS channels are accepted only when the server can send SMS ([sms] send_url).
  bool sms_available = false;
  std::string default_country_code = "81";  // for national numbers in `to`
  // Webhook URLs naming a loopback, private or link-local address literal (or "localhost") are
  // refused unless this is set: a subscriber must not make the server call into its own network.
  bool allow_private_addresses = false;
};

// The event types a channel receives (core/event.h).
using ::ryuryo::IsAlertEvent;

class ChannelRegistry {
 public:
  using Clock = std::function<Millis()>;
  static Status Open(store::Store* store, ChannelOptions options, Clock clock,
                     std::unique_ptr<ChannelRegistry>* out);

  // Replaces the line's channels. Errors name the entry: "channels[1]: url: ...". An SMS channel
  // goes to `own_msisdn` (the line's number) when its `to` is empty; a `to` other than
  // `own_msisdn` is refused unless `any_number` (an operator) is set, so that a subscriber cannot
  // make the server text strangers.
  Status Set(const std::string& line, const std::vector<ChannelSpec>& specs,
             std::vector<Channel>* out, std::string_view own_msisdn = {}, bool any_number = false);
  std::vector<Channel> Of(const std::string& line) const;
  std::optional<Channel> Find(uint32_t id) const;
  // Appends the outbox endpoints of the event's line's channels (alert events only).
  void Route(const Event& ev, std::vector<uint32_t>* endpoints) const;
  // Whether the line has an SMS channel.
  bool HasSmsChannel(const std::string& line) const;

 private:
  ChannelRegistry(store::Store* store, ChannelOptions options, Clock clock);
  // Checks `spec` and puts it in its stored form (an SMS number normalised) into *out.
  Status Check(const ChannelSpec& spec, std::string_view own_msisdn, bool any_number,
               ChannelSpec* out) const;

  store::Store* store_;
  ChannelOptions options_;
  Clock clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::vector<Channel>> by_line_;
  std::unordered_map<uint32_t, std::string> line_of_;  // channel id -> line
  uint32_t next_id_ = 1;
};

}  // namespace ryuryo::notify
