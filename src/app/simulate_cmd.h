// `ryuryo simulate`: a seeded RADIUS accounting traffic generator (sim/model.h) driven against an
// accounting server over UDP (sim/client.h), with a summary of what was acknowledged and how
// fast (human, or --json), and the bytes per line a correct server has counted (--expected).
//
// Lines are synthetic (--lines N: line i is "sim-<i>" with IMSI imsi-base + i and MSISDN
// msisdn-base + i), optionally provisioned first through the HTTP API (--provision PLAN --server
// URL), or taken from a running server (--from-server URL: GET /v1/lines).
//
// Exit status: 0 when every request sent was acknowledged; 2 when some were not (timed out);
// 1 on an error (bad options, the server's HTTP API failing, no socket).
//
// Thread-safety: Run() is called once, from the main thread (it installs SIGINT/SIGTERM
// handlers for its duration: the first signal ends the run and drains what is in flight).
#pragma once

#include <memory>

namespace CLI {
class App;
}

namespace ryuryo::app {

class SimulateCommand {
 public:
  // Adds the `simulate` subcommand and its options to `app`.
  explicit SimulateCommand(CLI::App* app);
  ~SimulateCommand();

  // True when the command line chose `simulate` (after app->parse()).
  bool parsed() const;
  // Runs it; returns the process exit status.
  int Run();

 private:
  struct Options;
  std::unique_ptr<Options> options_;
  CLI::App* command_ = nullptr;
};

}  // namespace ryuryo::app
