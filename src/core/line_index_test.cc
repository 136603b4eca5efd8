#include "core/line_index.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace ryuryo {
namespace {

// Random puts, replacements and erases against std::unordered_map as the reference.
TEST(LineIndexTest, MatchesAReferenceMapUnderRandomOperations) {
  std::vector<std::string> keys;  // keys[i] is the key of index i (as a line's id would be)
  LineIndex index([&](uint32_t i) -> std::string_view { return keys[i]; });
  std::unordered_map<std::string, uint32_t> ref;
  std::mt19937_64 rng(7);
  for (int step = 0; step < 200000; ++step) {
    std::string key = "k" + std::to_string(rng() % 5000);
    switch (rng() % 3) {
      case 0: {  // put under a new index whose key is `key`
        uint32_t i = static_cast<uint32_t>(keys.size());
        keys.push_back(key);
        index.Put(key, i);
        ref[key] = i;
        break;
      }
      case 1:
        index.Erase(key);
        ref.erase(key);
        break;
      default: {
        auto it = ref.find(key);
        ASSERT_EQ(index.Find(key), it == ref.end() ? -1 : int64_t{it->second}) << key;
      }
    }
    ASSERT_EQ(index.size(), ref.size());
  }
  for (const auto& [k, v] : ref) ASSERT_EQ(index.Find(k), int64_t{v});
}

TEST(LineIndexTest, EmptyAndMissing) {
  std::vector<std::string> keys = {"a"};
  LineIndex index([&](uint32_t i) -> std::string_view { return keys[i]; });
  EXPECT_EQ(index.Find("a"), -1);
  index.Erase("a");
  index.Put("a", 0);
  EXPECT_EQ(index.Find("a"), 0);
  EXPECT_EQ(index.Find("b"), -1);
  EXPECT_EQ(index.Find(""), -1);
}

}  // namespace
}  // namespace ryuryo
