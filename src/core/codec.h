// Codec: the binary form of lines and pools in the store. Compact (varints), versioned by a
// leading format byte, and decoded defensively: a corrupt value is an error, never a crash.
//
// Pure functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/meter.h"

namespace ryuryo {

std::string EncodeLine(const Line& line);
std::string EncodePool(const Pool& pool);

// Plans are looked up by id in `catalog`; a plan that is gone is an error naming it.
Status DecodeLine(std::string_view data, const Catalog& catalog, Line* line);
Status DecodePool(std::string_view data, const Catalog& catalog, Pool* pool);

// Varint and fixed-width helpers shared with the store's keys and values.
void PutVarint(std::string* out, uint64_t v);
void PutSignedVarint(std::string* out, int64_t v);
void PutString(std::string* out, std::string_view s);
void PutFixed64BE(std::string* out, uint64_t v);  // big-endian: sorts like the number

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool Varint(uint64_t* v);
  bool SignedVarint(int64_t* v);
  bool String(std::string* s);
  bool Double(double* d);
  bool Byte(uint8_t* b);
  bool done() const { return data_.empty(); }

 private:
  std::string_view data_;
};

uint64_t DecodeFixed64BE(std::string_view data);  // data.size() >= 8

}  // namespace ryuryo
