// Usage records from JSON (DESIGN §4 "Usage record"): a JSON array of objects, or JSON lines
// (one object per line; blank lines skipped). Used by POST /v1/usage and `ryuryo ingest`.
//
// Each record is checked on its own: a bad record yields an error naming its index (0-based
// position in the array, or among the non-blank lines) and the field; the good ones are returned.
// Unknown fields are errors (a misspelt "bytes_dwn" must not silently count as 0).
// A body that is not JSON at all (an array that does not parse) is one error for the whole body.
//
// Never throws, whatever the input. Safe from any thread (no shared state).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/record.h"
#include "core/status.h"

namespace ryuryo::api {

// Most records accepted in one body.
inline constexpr size_t kUsageBodyRecordsMax = 100'000;

struct ParsedUsage {
  std::vector<UsageRecord> records;
  std::vector<size_t> indexes;  // each record's index in the body
  std::vector<std::pair<size_t, std::string>> errors;  // index, message
  size_t total = 0;  // records seen (good and bad)
};

// Fails only when the body as a whole is unusable (malformed array, too many records).
Status ParseUsageBody(std::string_view body, ParsedUsage* out);

// Parses one JSON object into a record; the error names the field.
Status ParseUsageObject(std::string_view json, UsageRecord* record);

// The JSON object of a record (for `ryuryo ingest` and quarantine listings).
std::string UsageRecordToJson(const UsageRecord& record);

}  // namespace ryuryo::api
