#include "core/line_index.h"

#include <xxhash.h>

namespace ryuryo {

uint32_t LineIndex::Hash(std::string_view key) {
  return static_cast<uint32_t>(XXH3_64bits(key.data(), key.size()));
}

size_t LineIndex::SlotOf(std::string_view key, uint32_t hash, bool* found) const {
  const size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  for (;;) {
    uint64_t s = slots_[i];
    if (s == kEmpty) {
      *found = false;
      return i;
    }
    if (static_cast<uint32_t>(s >> 32) == hash && key_of_(static_cast<uint32_t>(s)) == key) {
      *found = true;
      return i;
    }
    i = (i + 1) & mask;
  }
}

int64_t LineIndex::Find(std::string_view key) const {
  if (size_ == 0) return -1;
  bool found;
  size_t i = SlotOf(key, Hash(key), &found);
  return found ? static_cast<int64_t>(static_cast<uint32_t>(slots_[i])) : -1;
}

void LineIndex::Grow() {
  std::vector<uint64_t> old = std::move(slots_);
  slots_.assign(old.empty() ? 16 : old.size() * 2, kEmpty);
  const size_t mask = slots_.size() - 1;
  for (uint64_t s : old) {
    if (s == kEmpty) continue;
    size_t i = (s >> 32) & mask;
    while (slots_[i] != kEmpty) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void LineIndex::Put(std::string_view key, uint32_t index) {
  if ((size_ + 1) * 2 > slots_.size()) Grow();
  const uint32_t hash = Hash(key);
  bool found;
  size_t i = SlotOf(key, hash, &found);
  if (!found) ++size_;
  slots_[i] = (uint64_t{hash} << 32) | index;
}

void LineIndex::Erase(std::string_view key) {
  if (size_ == 0) return;
  bool found;
  size_t i = SlotOf(key, Hash(key), &found);
  if (!found) return;
  // Backward-shift deletion: move later entries of the probe run into the hole.
  const size_t mask = slots_.size() - 1;
  size_t hole = i;
  size_t j = i;
  for (;;) {
    j = (j + 1) & mask;
    uint64_t s = slots_[j];
    if (s == kEmpty) break;
    size_t home = (s >> 32) & mask;
    // Move s into the hole if its home is not in (hole, j] cyclically.
    bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!between) {
      slots_[hole] = s;
      hole = j;
    }
  }
  slots_[hole] = kEmpty;
  --size_;
}

}  // namespace ryuryo
