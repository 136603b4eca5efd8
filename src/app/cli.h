// The `ryuryo` command line: `serve` runs the server; `usage`, `lines`, `ingest`, `topup` are
// clients of a running server (--server URL, --token or RYURYO_ADMIN_TOKEN or the data dir's
// admin.token); `simulate` sends simulated RADIUS accounting traffic (app/simulate_cmd.h);
// `version` prints the version.
#pragma once

namespace ryuryo::app {

int RunCli(int argc, char** argv);

}  // namespace ryuryo::app
