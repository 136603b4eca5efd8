// The server process: config -> store -> meter -> ledger -> webhooks -> HTTP, on one event loop
// for the network, one writer thread for the meter, one thread for webhook delivery. SIGINT and
// SIGTERM stop it cleanly (queued work is committed first).
#pragma once

#include <string>

#include "app/config.h"

namespace ryuryo::app {

struct ServeOverrides {
  std::string http;      // replaces [server].http when set
  std::string data_dir;  // replaces [server].data_dir when set
  std::string radius_accounting;  // replaces [radius].accounting when set (and [radius] exists)
  std::string radius_authorization;  // replaces [radius].authorization when that is set
};

// Runs until a signal; returns the process exit code.
int Serve(const std::string& config_path, const ServeOverrides& overrides);

// The admin token: config, else env RYURYO_ADMIN_TOKEN, else data_dir/admin.token (created with
// a random token when missing, mode 0600).
Status ResolveAdminToken(const Config& config, bool create, std::string* token);

}  // namespace ryuryo::app
