#include "core/thread_name.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <string>
#include <thread>

namespace ryuryo {
namespace {

std::string NameIn(std::string_view name) {
  std::string seen;
  std::thread([&] {
    SetThreadName(name);
    char buf[64] = {};
    pthread_getname_np(pthread_self(), buf, sizeof buf);
    seen = buf;
  }).join();
  return seen;
}

TEST(ThreadNameTest, NamesTheCallingThread) { EXPECT_EQ(NameIn("ryuryo-live"), "ryuryo-live"); }

TEST(ThreadNameTest, ALongNameIsCutToFifteenBytes) {
  EXPECT_EQ(NameIn("ryuryo-a-very-long-name"), "ryuryo-a-very-l");
}

}  // namespace
}  // namespace ryuryo
