#include "notify/channels.h"

#include <arpa/inet.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "notify/http_client.h"
#include "sms/msisdn.h"
#include "sms/quiet_hours.h"

namespace ryuryo::notify {

namespace {

using json = nlohmann::json;

constexpr std::string_view kChannelsPrefix = "c/";
constexpr std::string_view kNextIdKey = "n/channel";

std::string NewSecret() {
  unsigned char raw[24];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    std::fprintf(stderr, "ryuryo: fatal: no random bytes for a channel secret\n");
    std::abort();
  }
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : raw) {
    s.push_back(kHex[c >> 4]);
    s.push_back(kHex[c & 15]);
  }
  return s;
}

// A loopback, private, link-local, unspecified or unique-local address literal, or localhost.
bool IsPrivateHost(const std::string& host) {
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  unsigned char a[16];
  if (inet_pton(AF_INET, host.c_str(), a) == 1) {
    return a[0] == 127 || a[0] == 10 || a[0] == 0 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
           (a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254) ||
           (a[0] == 100 && (a[1] & 0xc0) == 64);  // carrier-grade NAT
  }
  if (inet_pton(AF_INET6, host.c_str(), a) == 1) {
    static const unsigned char kZero[16] = {};
    const bool loopback = std::equal(a, a + 15, kZero) && a[15] == 1;
    const bool unspecified = std::equal(a, a + 16, kZero);
    const bool mapped_v4 = std::equal(a, a + 10, kZero) && a[10] == 0xff && a[11] == 0xff;
    return loopback || unspecified || mapped_v4 || (a[0] & 0xfe) == 0xfc ||
           (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
  }
  return false;
}

std::string EncodeChannels(const std::vector<Channel>& list) {
  json arr = json::array();
  for (const Channel& c : list) {
    json j = {{"id", c.id}, {"type", c.type}, {"created_at", c.created_at}};
    if (c.type == "sms") {
      j["to"] = c.to;
      if (!c.quiet_hours.empty()) j["quiet_hours"] = c.quiet_hours;
    } else {
      j["url"] = c.url;
      j["secret"] = c.secret;
    }
    arr.push_back(std::move(j));
  }
  return arr.dump();
}

}  // namespace

ChannelRegistry::ChannelRegistry(store::Store* store, ChannelOptions options, Clock clock)
    : store_(store), options_(options), clock_(std::move(clock)) {}

Status ChannelRegistry::Open(store::Store* store, ChannelOptions options, Clock clock,
                             std::unique_ptr<ChannelRegistry>* out) {
  std::unique_ptr<ChannelRegistry> r(new ChannelRegistry(store, options, std::move(clock)));
  RYURYO_RETURN_IF_ERROR(
      store->ScanAccountData(kChannelsPrefix, [&](std::string_view key, std::string_view value) {
        json arr = json::parse(value, nullptr, /*allow_exceptions=*/false);
        if (!arr.is_array()) {
          return Status::Internal("channels: unreadable entry '" + std::string(key) + "'");
        }
        const std::string line(key.substr(kChannelsPrefix.size()));
        std::vector<Channel>& list = r->by_line_[line];
        for (const json& j : arr) {
          Channel c;
          c.id = j.value("id", 0u);
          c.line = line;
          c.type = j.value("type", "");
          c.url = j.value("url", "");
          c.secret = j.value("secret", "");
          c.to = j.value("to", "");
          c.quiet_hours = j.value("quiet_hours", "");
          c.created_at = j.value("created_at", Millis{0});
          r->line_of_[c.id] = line;
          r->next_id_ = std::max(r->next_id_, c.id + 1);
          list.push_back(std::move(c));
        }
        return Status::Ok();
      }));
  RYURYO_RETURN_IF_ERROR(store->ScanAccountData(kNextIdKey, [&](std::string_view key,
                                                                std::string_view value) {
    if (key != kNextIdKey) return Status::Ok();
    uint32_t stored = static_cast<uint32_t>(std::strtoul(std::string(value).c_str(), nullptr, 10));
    r->next_id_ = std::max(r->next_id_, stored);
    return Status::Ok();
  }));
  *out = std::move(r);
  return Status::Ok();
}

Status ChannelRegistry::Check(const ChannelSpec& spec, std::string_view own_msisdn, bool any_number,
                              ChannelSpec* out) const {
  *out = spec;
  if (spec.type == "sms") {
    if (!options_.sms_available) {
      return Status::InvalidArgument(
          "type: SMS alerts are not available on this server (no SMS gateway is configured)");
    }
    if (!spec.url.empty()) return Status::InvalidArgument("url: only for a webhook channel");
    sms::QuietHours quiet;
    RYURYO_RETURN_IF_ERROR(sms::ParseQuietHours(spec.quiet_hours, &quiet));
    if (spec.to.empty()) {
      if (own_msisdn.empty()) {
        return Status::InvalidArgument("to: the line has no phone number; give one");
      }
      out->to = std::string(own_msisdn);
      return Status::Ok();
    }
    RYURYO_RETURN_IF_ERROR(
        sms::NormalizeMsisdn(spec.to, options_.default_country_code, &out->to).Prefixed("to"));
    if (!any_number && out->to != own_msisdn) {
      return Status::InvalidArgument("to: SMS alerts go to this line's own number only");
    }
    return Status::Ok();
  }
  if (spec.type != "webhook") {
    return Status::InvalidArgument("type: '" + spec.type + "' is not one of webhook, sms");
  }
  if (!spec.to.empty()) return Status::InvalidArgument("to: only for an sms channel");
  if (!spec.quiet_hours.empty()) {
    return Status::InvalidArgument("quiet_hours: only for an sms channel");
  }
  Url url;
  RYURYO_RETURN_IF_ERROR(ParseUrl(spec.url, &url));
  if (!options_.allow_private_addresses && IsPrivateHost(url.host)) {
    return Status::InvalidArgument("url: '" + url.host +
                                   "' is a local or private address; use a public one");
  }
  return Status::Ok();
}

Status ChannelRegistry::Set(const std::string& line, const std::vector<ChannelSpec>& asked,
                            std::vector<Channel>* out, std::string_view own_msisdn,
                            bool any_number) {
  if (asked.size() > options_.per_line_max) {
    return Status::InvalidArgument("channels: at most " + std::to_string(options_.per_line_max) +
                                   " per line");
  }
  std::vector<ChannelSpec> specs(asked.size());
  for (size_t i = 0; i < asked.size(); ++i) {
    RYURYO_RETURN_IF_ERROR(Check(asked[i], own_msisdn, any_number, &specs[i])
                               .Prefixed("channels[" + std::to_string(i) + "]"));
  }
  // The same destination: a webhook by its URL, an SMS channel by its number.
  auto same_as = [](const ChannelSpec& spec) {
    return [&spec](const Channel& c) {
      return c.type == spec.type && (spec.type == "sms" ? c.to == spec.to : c.url == spec.url);
    };
  };
  std::lock_guard lock(mu_);
  const std::vector<Channel> old =
      by_line_.count(line) ? by_line_.at(line) : std::vector<Channel>{};
  std::vector<Channel> next;
  uint32_t next_id = next_id_;
  for (const ChannelSpec& spec : specs) {
    auto same = std::find_if(old.begin(), old.end(), same_as(spec));
    const bool listed = std::any_of(next.begin(), next.end(), same_as(spec));
    if (listed) continue;  // the same channel twice is one channel
    if (same != old.end()) {
      next.push_back(*same);
      next.back().quiet_hours = spec.quiet_hours;  // a setting of the channel, not its identity
      continue;
    }
    if (next_id > kChannelIdMax) return Status::ResourceExhausted("channels: numbers used up");
    Channel c;
    c.id = next_id++;
    c.line = line;
    c.type = spec.type;
    c.url = spec.url;
    c.to = spec.to;
    c.quiet_hours = spec.quiet_hours;
    if (spec.type == "webhook") c.secret = NewSecret();
    c.created_at = clock_();
    next.push_back(std::move(c));
  }
  store::Batch b(store_);
  const std::string key = std::string(kChannelsPrefix) + line;
  if (next.empty()) {
    b.DeleteAccountData(key);
  } else {
    b.PutAccountData(key, EncodeChannels(next));
  }
  b.PutAccountData(kNextIdKey, std::to_string(next_id));
  RYURYO_RETURN_IF_ERROR(store_->Write(&b));
  for (const Channel& c : old) line_of_.erase(c.id);
  for (const Channel& c : next) line_of_[c.id] = line;
  next_id_ = next_id;
  if (next.empty()) {
    by_line_.erase(line);
  } else {
    by_line_[line] = next;
  }
  if (out != nullptr) *out = std::move(next);
  return Status::Ok();
}

std::vector<Channel> ChannelRegistry::Of(const std::string& line) const {
  std::lock_guard lock(mu_);
  auto it = by_line_.find(line);
  return it == by_line_.end() ? std::vector<Channel>{} : it->second;
}

std::optional<Channel> ChannelRegistry::Find(uint32_t id) const {
  std::lock_guard lock(mu_);
  auto l = line_of_.find(id);
  if (l == line_of_.end()) return std::nullopt;
  for (const Channel& c : by_line_.at(l->second)) {
    if (c.id == id) return c;
  }
  return std::nullopt;
}

void ChannelRegistry::Route(const Event& ev, std::vector<uint32_t>* endpoints) const {
  if (ev.line.empty() || !IsAlertEvent(ev.type)) return;
  std::lock_guard lock(mu_);
  auto it = by_line_.find(ev.line);
  if (it == by_line_.end()) return;
  for (const Channel& c : it->second) {
    endpoints->push_back((c.type == "sms" ? kSmsEndpointBase : kChannelEndpointBase) + c.id);
  }
}

bool ChannelRegistry::HasSmsChannel(const std::string& line) const {
  std::lock_guard lock(mu_);
  auto it = by_line_.find(line);
  if (it == by_line_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(),
                     [](const Channel& c) { return c.type == "sms"; });
}

}  // namespace ryuryo::notify
