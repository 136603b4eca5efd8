// LineIndex: a compact open-addressing hash index from a string key (a line id, an MSISDN, an
// IMSI, an ICCID) to a line's index in the meter. It stores only 8 bytes a slot — a 32-bit hash
// tag and the 32-bit index — and finds the key itself through the caller's `KeyOf`, so the
// strings are not stored twice. Linear probing, load factor at most 1/2, backward-shift deletion.
//
// Not thread-safe; the meter owns it.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace ryuryo {

class LineIndex {
 public:
  // Returns the key of the line at `index` for this index (e.g. its id).
  using KeyOf = std::function<std::string_view(uint32_t index)>;
  explicit LineIndex(KeyOf key_of) : key_of_(std::move(key_of)) {}

  // -1 when absent.
  int64_t Find(std::string_view key) const;
  // Inserts or replaces the entry for `key`.
  void Put(std::string_view key, uint32_t index);
  // Removes `key` if present.
  void Erase(std::string_view key);
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint32_t Hash(std::string_view key);
  size_t SlotOf(std::string_view key, uint32_t hash, bool* found) const;
  void Grow();

  KeyOf key_of_;
  std::vector<uint64_t> slots_;  // (hash << 32) | index, or kEmpty
  size_t size_ = 0;
};

}  // namespace ryuryo
