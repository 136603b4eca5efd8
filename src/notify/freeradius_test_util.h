// Test helper (header-only; only tests include it): a real FreeRADIUS 3 (Debian package
// `freeradius`) standing in for a NAS that receives CoA-Request and Disconnect-Request on
// 127.0.0.1, with a self-contained configuration directory in a temporary directory.
//
// The NAS answers ACK, except for these User-Names:
//   "nak-me"     NAK with Error-Cause = Session-Context-Not-Found (503)
//   "ignore-me"  no answer at all
// and logs every request it receives, attribute by attribute, with the `detail` module; Received()
// reads that log back.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/test_util.h"
#include "notify/coa.h"

extern char** environ;

namespace ryuryo::notify {

// One request as FreeRADIUS's detail module wrote it.
struct ReceivedRequest {
  std::string packet_type;  // "CoA-Request", "Disconnect-Request"
  std::vector<std::pair<std::string, std::string>> attributes;  // text values without quotes

  // The first value of `name`, or "" when absent.
  std::string Get(std::string_view name) const {
    for (const auto& [n, v] : attributes) {
      if (n == name) return v;
    }
    return "";
  }
  bool Has(std::string_view name) const {
    for (const auto& a : attributes) {
      if (a.first == name) return true;
    }
    return false;
  }
};

// A UDP port on 127.0.0.1 that was free a moment ago.
inline uint16_t FreeUdpPort() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

class FreeRadiusNas {
 public:
  static constexpr const char* kSecret = "testing123";

  // True when the freeradius binary and its dictionaries are installed.
  static bool Available() {
    return std::system("command -v freeradius >/dev/null 2>&1") == 0 &&
           std::filesystem::exists("/usr/share/freeradius/dictionary");
  }

  FreeRadiusNas() = default;
  ~FreeRadiusNas() { Stop(); }
  FreeRadiusNas(const FreeRadiusNas&) = delete;
  FreeRadiusNas& operator=(const FreeRadiusNas&) = delete;

  // Starts FreeRADIUS on `port` (0: a free one) and waits until it is ready. Returns "" or what
  // went wrong, with the end of its log.
  std::string Start(uint16_t port = 0) {
    Stop();
    port_ = port != 0 ? port : FreeUdpPort();
    if (port_ == 0) return "no free UDP port";
    WriteConfig();
    std::filesystem::remove(DetailPath());
    std::filesystem::remove(LogPath());
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, LogPath().c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    const std::string dir = dir_.path();
    std::vector<std::string> args = {"freeradius", "-X", "-d", dir};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = ::posix_spawnp(&pid_, "freeradius", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      return "cannot start freeradius";
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Log().find("Ready to process requests") != std::string::npos) return "";
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "freeradius exited: " + Log();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Stop();
    return "freeradius did not become ready: " + Log();
  }

  // Stops it (by its pid) and waits for it to exit.
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 250 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

  uint16_t port() const { return port_; }
  NasEndpoint endpoint() const { return {"127.0.0.1", port_, kSecret}; }
  std::string Log() const { return ReadFile(LogPath()); }

  // Every request received so far, in order.
  std::vector<ReceivedRequest> Received() const {
    std::vector<ReceivedRequest> out;
    std::istringstream in(ReadFile(DetailPath()));
    std::string line;
    bool open = false;
    while (std::getline(in, line)) {
      if (line.empty()) {
        open = false;
        continue;
      }
      if (line[0] != '\t') {  // the timestamp line that starts a request
        out.emplace_back();
        open = true;
        continue;
      }
      const size_t eq = line.find(" = ");
      if (!open || eq == std::string::npos) continue;
      std::string name = line.substr(1, eq - 1);
      std::string value = line.substr(eq + 3);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (name == "Packet-Type") {
        out.back().packet_type = value;
      } else {
        out.back().attributes.emplace_back(std::move(name), std::move(value));
      }
    }
    return out;
  }

 private:
  std::string LogPath() const { return dir_.path() + "/freeradius.log"; }
  std::string DetailPath() const { return dir_.path() + "/received.detail"; }

  static std::string ReadFile(const std::string& path) {
    std::ifstream f(path);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
  }

  void WriteConfig() const {
    const std::string d = dir_.path();
    std::ofstream(d + "/radiusd.conf") << R"(prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
raddbdir = )" << d << R"(
confdir = ${raddbdir}
logdir = ${raddbdir}
run_dir = ${raddbdir}
libdir = /usr/lib/freeradius
pidfile = ${raddbdir}/radiusd.pid
name = freeradius
max_request_time = 30
cleanup_delay = 5
max_requests = 1024
hostname_lookups = no
log {
  destination = stdout
}
security {
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = no
}
client localhost {
  ipaddr = 127.0.0.1
  secret = )" << kSecret << R"(
}
thread pool {
  start_servers = 1
  max_servers = 2
  min_spare_servers = 1
  max_spare_servers = 2
}
modules {
  always reject {
    rcode = reject
  }
  always handled {
    rcode = handled
  }
  always ok {
    rcode = ok
  }
  detail received {
    filename = ${raddbdir}/received.detail
    escape_filenames = no
    permissions = 0600
    header = "%t"
  }
}
listen {
  type = coa
  ipaddr = 127.0.0.1
  port = )" << port_ << R"(
  virtual_server = coa
}
server coa {
  recv-coa {
    received
    if (&User-Name == "nak-me") {
      update reply {
        &Error-Cause := Session-Context-Not-Found
      }
      reject
    }
    if (&User-Name == "ignore-me") {
      update control {
        &Response-Packet-Type := Do-Not-Respond
      }
      handled
    }
    ok
  }
  send-coa {
    ok
  }
}
)";
  }

  TempDir dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace ryuryo::notify
