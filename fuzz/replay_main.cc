// A standalone driver for a libFuzzer target, for compilers without -fsanitize=fuzzer (g++).
//
//   <target>_fuzz_replay (usage_json_fuzz_replay, radius_fuzz_replay) [options] DIR_OR_FILE...
//
// Runs LLVMFuzzerTestOneInput over every file given (directories: every regular file in them,
// sorted), then over seeded random mutations of each: bit flips, byte changes, insertions of
// random bytes and JSON tokens, deletions, truncations, duplicated ranges, and splices with the
// other inputs. It finds no new coverage (no instrumentation), but it explores well beyond the
// seeds, deterministically for a given seed, and it is bounded so that ctest can run it.
//
// Options (libFuzzer-style spellings are accepted too):
//   --mutations=N     mutated inputs per file (default 20000; 0: only replay the files)
//   --seed=N          the random seed (default 1; 0: from the clock, printed)
//   --max-seconds=S   time budget for the mutations, split evenly between files (default 5)
//   --max-len=N       longest mutated input in bytes (default 65536)
//   -runs=N, -seed=N, -max_total_time=S, -max_len=N   the same, libFuzzer spelling
//
// On a crash (abort, segfault) the input being run is written to ./crash-<target>-replay
// before the process dies, so it can be replayed: usage_json_fuzz_replay ./crash-usage_json-replay
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

// The input being run, for the crash handler.
const char* g_current = nullptr;
size_t g_current_size = 0;
// FUZZ_TARGET_NAME names the target (a compile definition set per target in CMakeLists.txt).
#ifndef FUZZ_TARGET_NAME
#define FUZZ_TARGET_NAME "usage_json"
#endif
constexpr const char* kCrashFile = "crash-" FUZZ_TARGET_NAME "-replay";

extern "C" void OnCrash(int sig) {
  int fd = ::open(kCrashFile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    size_t off = 0;
    while (g_current != nullptr && off < g_current_size) {
      ssize_t n = ::write(fd, g_current + off, g_current_size - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    ::close(fd);
    static const char msg[] =
        "\n" FUZZ_TARGET_NAME "_fuzz_replay: crash; input written to crash-" FUZZ_TARGET_NAME
        "-replay\n";
    ssize_t ignored = ::write(2, msg, sizeof(msg) - 1);
    (void)ignored;
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void Run(const std::string& input) {
  g_current = input.data();
  g_current_size = input.size();
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  g_current = nullptr;
  g_current_size = 0;
}

// Tokens that matter to a JSON / JSON-lines usage decoder.
const std::vector<std::string>& Dictionary() {
  static const std::vector<std::string> kTokens = {
      "{", "}", "[", "]", ",", ":", "\"", "\\", "\n", "\r\n", " ", "\t", "null", "true", "false",
      "0", "-0", "-1", "1.5", "1e3", "1e400", "-1e400", "10000000000000", "10000000000001",
      "9223372036854775807", "9223372036854775808", "18446744073709551615",
      "18446744073709551616", "0.0000001", "\"line\"", "\"id\"", "\"bytes_up\"", "\"bytes_down\"",
      "\"start\"", "\"end\"", "\"device\"", "\"app\"", "\"source\"", "\"bytes_dwn\"",
      "\"2026-03-10T00:00:00Z\"", "\"2026-03-10T09:00:00+09:00\"", "\"2026-03-10T00:00:00\"",
      "\"1969-12-31T23:59:59Z\"", "\"9999-12-31T23:59:59.999Z\"", "\"2026-02-29T00:00:00Z\"",
      "\"2028-02-29T23:59:60Z\"", "\"2026-03-10T00:00:00.123456789-23:59\"", "\"\"",
      "\"msisdn:+819012345678\"", "\"imsi:440101234500001\"", "\\u0000", "\\u001f",
      "\\ud83d\\ude00", "\\ud800", "\\\"", "\xef\xbb\xbf", "\xc3\xa9", "\xff", "\xed\xa0\x80",
      "{\"line\":\"a\",\"bytes_up\":1,\"start\":\"2026-03-10T00:00:00Z\",\"end\":\"2026-03-10T00:01:00Z\"}",
  };
  return kTokens;
}

class Mutator {
 public:
  Mutator(uint64_t seed, size_t max_len, const std::vector<std::string>* pool)
      : rng_(seed), max_len_(max_len), pool_(pool) {}

  std::string Mutate(const std::string& seed) {
    std::string s = seed;
    // Half the time one change (mostly still-parseable JSON), else a stack of up to six.
    const int steps = Below(2) == 0 ? 1 : 1 + static_cast<int>(Below(6));
    for (int i = 0; i < steps; ++i) Step(&s);
    if (s.size() > max_len_) s.resize(max_len_);
    return s;
  }

 private:
  size_t Below(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  char RandomByte() { return static_cast<char>(Below(256)); }
  char InterestingByte() {
    static constexpr char kBytes[] = "{}[],:\"\\ \n\r\t0123456789-+.eEZTnulltrfase";
    return kBytes[Below(sizeof(kBytes) - 1)];
  }

  void Step(std::string* s) {
    const size_t n = s->size();
    switch (Below(12)) {
      case 0:  // flip a bit
        if (n) (*s)[Below(n)] ^= static_cast<char>(1u << Below(8));
        break;
      case 1:  // set a random byte
        if (n) (*s)[Below(n)] = RandomByte();
        break;
      case 2:  // set a JSON-significant byte
        if (n) (*s)[Below(n)] = InterestingByte();
        break;
      case 3: {  // insert random bytes
        std::string ins(1 + Below(8), '\0');
        for (char& c : ins) c = RandomByte();
        s->insert(Below(n + 1), ins);
        break;
      }
      case 4:
      case 5: {  // insert a dictionary token
        const auto& d = Dictionary();
        s->insert(Below(n + 1), d[Below(d.size())]);
        break;
      }
      case 6:  // delete a range
        if (n) {
          size_t at = Below(n);
          s->erase(at, 1 + Below(std::min<size_t>(16, n - at)));
        }
        break;
      case 7:  // truncate
        s->resize(Below(n + 1));
        break;
      case 8:  // duplicate a range (more records, deeper nesting)
        if (n) {
          size_t at = Below(n), len = 1 + Below(std::min<size_t>(256, n - at));
          std::string chunk = s->substr(at, len);
          int times = 1 + static_cast<int>(Below(4));
          for (int i = 0; i < times && s->size() + chunk.size() <= max_len_; ++i) {
            s->insert(at, chunk);
          }
        }
        break;
      case 9:  // splice a range of another input
        if (pool_ != nullptr && !pool_->empty()) {
          const std::string& other = (*pool_)[Below(pool_->size())];
          if (!other.empty()) {
            size_t at = Below(other.size());
            std::string chunk = other.substr(at, 1 + Below(std::min<size_t>(512, other.size() - at)));
            s->insert(Below(n + 1), chunk);
          }
        }
        break;
      case 10: {  // replace a run of digits with an interesting number
        static const char* kNumbers[] = {"-1", "0", "1.5", "1e400", "18446744073709551616",
                                         "10000000000001", "-0", "99999999999999999999999"};
        size_t at = n ? Below(n) : 0;
        size_t b = at;
        while (b < n && std::isdigit(static_cast<unsigned char>((*s)[b]))) ++b;
        if (b > at) s->replace(at, b - at, kNumbers[Below(std::size(kNumbers))]);
        break;
      }
      case 11:  // swap the line ends (JSON lines, CRLF)
        for (size_t i = 0; i < s->size(); ++i) {
          if ((*s)[i] == '\n' && Below(2) == 0) {
            s->insert(i, "\r");
            ++i;
          }
        }
        break;
    }
  }

  std::mt19937_64 rng_;
  size_t max_len_;
  const std::vector<std::string>* pool_;
};

bool ParseFlag(std::string_view arg, std::string_view name, uint64_t* out) {
  if (!arg.starts_with(name)) return false;
  std::string value(arg.substr(name.size()));
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno != 0) {
    std::fprintf(stderr, "bad value in %.*s\n", static_cast<int>(arg.size()), arg.data());
    std::exit(2);
  }
  *out = v;
  return true;
}

bool ReadFile(const fs::path& p, std::string* out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t mutations = 20000, seed = 1, max_seconds = 5, max_len = 65536;
  std::vector<fs::path> paths;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (ParseFlag(a, "--mutations=", &mutations) || ParseFlag(a, "-runs=", &mutations) ||
        ParseFlag(a, "--seed=", &seed) || ParseFlag(a, "-seed=", &seed) ||
        ParseFlag(a, "--max-seconds=", &max_seconds) ||
        ParseFlag(a, "-max_total_time=", &max_seconds) || ParseFlag(a, "--max-len=", &max_len) ||
        ParseFlag(a, "-max_len=", &max_len)) {
      continue;
    }
    if (a == "-h" || a == "--help") {
      std::printf("usage: %s [--mutations=N] [--seed=N] [--max-seconds=S] [--max-len=N] DIR_OR_FILE...\n",
                  argv[0]);
      return 0;
    }
    if (a.starts_with("-")) {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
    paths.emplace_back(argv[i]);
  }
  if (paths.empty()) {
    std::fprintf(stderr, "usage: %s [options] DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  if (seed == 0) {
    seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }

  std::vector<fs::path> files;
  for (const fs::path& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> in_dir;
      for (const auto& e : fs::directory_iterator(p, ec)) {
        if (e.is_regular_file()) in_dir.push_back(e.path());
      }
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (fs::is_regular_file(p, ec)) {
      files.push_back(p);
    } else {
      std::fprintf(stderr, "%s: not a file or directory\n", p.c_str());
      return 2;
    }
  }
  std::vector<std::string> inputs(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    if (!ReadFile(files[i], &inputs[i])) {
      std::fprintf(stderr, "%s: cannot be read\n", files[i].c_str());
      return 2;
    }
  }

  std::signal(SIGABRT, OnCrash);
  std::signal(SIGSEGV, OnCrash);
  std::signal(SIGBUS, OnCrash);
  std::signal(SIGFPE, OnCrash);
  std::signal(SIGILL, OnCrash);

  // 1. The files as they are.
  for (const std::string& in : inputs) Run(in);
  Run("");  // and nothing at all

  // 2. Mutations, each file with its own stream so that a file's results do not depend on the
  // others' (except through splicing, which only reads them).
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto budget = std::chrono::duration<double>(static_cast<double>(max_seconds));
  uint64_t runs = inputs.size() + 1;
  size_t files_cut_short = 0;
  for (size_t f = 0; f < inputs.size(); ++f) {
    const auto file_deadline =
        start + std::chrono::duration_cast<Clock::duration>(budget * (static_cast<double>(f + 1) /
                                                                      static_cast<double>(inputs.size())));
    Mutator m(seed * 0x9e3779b97f4a7c15ULL + f, max_len, &inputs);
    std::string current = inputs[f];
    for (uint64_t k = 0; k < mutations; ++k) {
      if ((k & 31) == 0 && Clock::now() > file_deadline) {
        ++files_cut_short;
        break;
      }
      // Mostly mutate the seed; sometimes keep walking from the last mutant.
      std::string next = m.Mutate((k % 4 == 3) ? current : inputs[f]);
      Run(next);
      ++runs;
      current = std::move(next);
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(FUZZ_TARGET_NAME "_fuzz_replay: %zu files, %llu runs (%llu mutations/file, seed %llu) in "
              "%.2f s%s; no crash\n",
              inputs.size(), static_cast<unsigned long long>(runs),
              static_cast<unsigned long long>(mutations), static_cast<unsigned long long>(seed), secs,
              files_cut_short ? " (time budget reached)" : "");
  return 0;
}
