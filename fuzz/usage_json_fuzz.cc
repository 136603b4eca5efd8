// Fuzz target for the usage JSON decoder (src/api/usage_json.h): POST /v1/usage bodies and
// `ryuryo ingest` files are attacker-controlled bytes.
//
// Whatever the input, ParseUsageBody must not crash, hang or throw, and what it returns must be
// consistent:
//   - every record it accepts passes ValidateRecord and has a well-formed DedupKey;
//   - records + errors account for `total`, with strictly increasing, disjoint indexes;
//   - a record survives UsageRecordToJson -> ParseUsageObject with the same content (so the
//     quarantine listing and `ryuryo ingest` can always re-read what was accepted).
// A broken invariant aborts, which libFuzzer (and the replay driver) report as a crash.
//
// Built two ways (see fuzz/README.md): with clang as a libFuzzer binary (`usage_json_fuzz`), and
// with any compiler together with replay_main.cc (`usage_json_fuzz_replay`, run by ctest).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/usage_json.h"
#include "core/record.h"
#include "core/status.h"

namespace {

[[noreturn]] void Fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "usage_json_fuzz: invariant broken: %s %.*s\n", what,
               static_cast<int>(std::min<size_t>(detail.size(), 400)), detail.data());
  std::abort();
}

void Check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) Fail(what, detail);
}

void CheckRecord(const ryuryo::UsageRecord& r) {
  ryuryo::Status st = ryuryo::ValidateRecord(r);
  Check(st.ok(), "an accepted record fails ValidateRecord:", st.message());
  Check(!r.line.empty(), "an accepted record has no line");
  Check(r.end >= r.start, "an accepted record ends before it starts");
  Check(r.bytes_up <= ryuryo::kRecordBytesMax && r.bytes_down <= ryuryo::kRecordBytesMax,
        "an accepted record is over 10 TB");

  const std::string key = ryuryo::DedupKey(r);
  if (r.id.empty()) {
    Check(key.size() == 2 + 32 && key.starts_with("h:"), "bad content dedup key:", key);
    Check(key == ryuryo::DedupKey(r), "the content dedup key is not deterministic", key);
  } else {
    Check(key == "id:" + r.id, "bad id dedup key:", key);
  }

  // Round trip through the JSON the API and the CLI print.
  const std::string json = ryuryo::api::UsageRecordToJson(r);
  ryuryo::UsageRecord back;
  st = ryuryo::api::ParseUsageObject(json, &back);
  Check(st.ok(), "UsageRecordToJson output does not parse back:", json + " -> " + st.message());
  Check(back.id == r.id && back.line == r.line && back.bytes_up == r.bytes_up &&
            back.bytes_down == r.bytes_down && back.start == r.start && back.end == r.end &&
            back.device == r.device && back.app == r.app && back.source == r.source,
        "the record changed in the JSON round trip:", json);
  Check(ryuryo::DedupKey(back) == key, "the dedup key changed in the JSON round trip:", json);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  ryuryo::api::ParsedUsage parsed;
  ryuryo::Status st = ryuryo::api::ParseUsageBody(body, &parsed);
  if (st.ok()) {
    Check(parsed.records.size() == parsed.indexes.size(), "records and indexes differ in size");
    Check(parsed.records.size() + parsed.errors.size() == parsed.total,
          "records + errors != total");
    Check(parsed.total <= ryuryo::api::kUsageBodyRecordsMax, "more records than the limit");
    // Indexes: strictly increasing within each list, below total, and the two lists disjoint.
    size_t ri = 0, ei = 0;
    for (size_t index = 0; index < parsed.total; ++index) {
      const bool is_record = ri < parsed.indexes.size() && parsed.indexes[ri] == index;
      const bool is_error = ei < parsed.errors.size() && parsed.errors[ei].first == index;
      Check(is_record != is_error, "an index is neither or both a record and an error");
      if (is_record) ++ri;
      if (is_error) {
        Check(!parsed.errors[ei].second.empty(), "an error without a message");
        ++ei;
      }
    }
    Check(ri == parsed.indexes.size() && ei == parsed.errors.size(), "indexes out of order");
    for (const ryuryo::UsageRecord& r : parsed.records) CheckRecord(r);
  } else {
    Check(!st.message().empty(), "a body error without a message");
    Check(st.code() == ryuryo::Status::Code::kInvalidArgument ||
              st.code() == ryuryo::Status::Code::kResourceExhausted,
          "unexpected body error code:", st.ToString());
  }

  // The single-object entry point (used for quarantine listings and tests) on the same bytes.
  if (size <= 4096) {
    ryuryo::UsageRecord r;
    if (ryuryo::api::ParseUsageObject(body, &r).ok()) CheckRecord(r);
  }
  return 0;
}
