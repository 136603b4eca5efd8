// Helpers shared by the unit tests (header-only; nothing in the libraries includes it).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/timeutil.h"

namespace ryuryo {

inline constexpr uint64_t kMB = 1'000'000;
inline constexpr uint64_t kGB = 1'000'000'000;

// An RFC 3339 time as Millis; a parse failure fails the test.
inline Millis T(std::string_view text) {
  Millis at = 0;
  Status st = ParseRfc3339(text, &at);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return at;
}

// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("ryuryo-test-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter.fetch_add(1)) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace ryuryo
