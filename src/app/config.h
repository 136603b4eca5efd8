// Config: the one TOML file ryuryo reads (DESIGN §4): [server], [retention], [auth], [channels],
// [sms], [[plans]],
// [[pools]], [[lines]], [[accounts]], [[webhooks]], [radius] with [[radius.clients]]. Units as
// people write them ("3 GB", "128 kbps", "8d"). Unknown keys are errors naming the key and its
// line, so a typo never silently does nothing.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/accounts.h"
#include "core/meter.h"
#include "core/plan.h"
#include "core/status.h"
#include "ingest/radius_accounting.h"
#include "notify/channels.h"
#include "notify/kannel.h"
#include "notify/sms_alerts.h"
#include "notify/webhook.h"
#include "radius/access.h"
#include "radius/policy.h"
#include "sms/quiet_hours.h"
#include "store/store.h"

namespace ryuryo::app {

// [auth]: subscriber sessions and sign-in limits.
struct AuthConfig {
  api::AccountsOptions accounts;
  bool cookie_secure = false;
};

// [sms]: SMS through Kannel.
// Incoming (GET /v1/sms/kannel) is on (`enabled`) when a token or an allow-list is set: a request
// is accepted with the shared token (?token=) or from an address in the allow-list.
// Outgoing (alert SMS, login codes) is on when `send.url` (Kannel's sendsms) is set.
struct SmsConfig {
  bool enabled = false;
  std::string kannel_token;               // empty: no token accepted
  std::vector<std::string> kannel_allow;  // source addresses, e.g. "127.0.0.1"
  notify::KannelSendOptions send;         // send_url, send_username, send_password, sender
  notify::SmsAlertOptions alerts;         // alerts = "channels" | "all_lines", quiet_hours, ...
  bool login_codes = true;                // one-time sign-in codes by SMS (with send_url)
  std::string country_code = "81";        // for national numbers (sms/msisdn.h)
  SmsConfig() { (void)sms::ParseQuietHours("22:00-08:00", &alerts.quiet_hours); }
};

// [radius]: present when `enabled`.
struct RadiusConfig {
  bool enabled = false;
  ingest::RadiusAccountingOptions accounting;  // address, port, line_keys, clients, idle timeout
  std::string authorization;                   // "host:port" for Access-Requests; empty: off
  radius::AccessOptions access;                // unknown_message, require_message_authenticator
  radius::RadiusPolicy policy;                 // [radius.policy.normal|throttled|blocked]
};

struct Config {
  std::string http = "127.0.0.1:8080";
  std::string data_dir = "data";
  std::string admin_token;  // may be empty: then env RYURYO_ADMIN_TOKEN or data_dir/admin.token
  store::StoreOptions store;
  std::shared_ptr<Catalog> catalog = std::make_shared<Catalog>();
  std::vector<PoolSpec> pools;  // provisioned at start when missing
  std::vector<LineSpec> lines;  // provisioned at start when missing
  std::vector<notify::WebhookEndpoint> webhooks;
  RadiusConfig radius;
  AuthConfig auth;
  notify::ChannelOptions channels;         // [channels]: subscribers' own alert channels
  SmsConfig sms;                           // [sms]: incoming SMS (Kannel)
  std::vector<api::AccountSpec> accounts;  // [[accounts]]: created at start when missing
};

// Reads and checks `path`. Relative data_dir is taken relative to the working directory.
Status LoadConfig(const std::string& path, Config* config);
Status ParseConfig(std::string_view text, const std::string& source_name, Config* config);

// Splits "127.0.0.1:8080" / "[::1]:8080" / ":8080".
Status SplitHostPort(std::string_view text, std::string* host, uint16_t* port);

}  // namespace ryuryo::app
