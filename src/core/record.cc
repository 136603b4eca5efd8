#include "core/record.h"

#include <xxhash.h>

#include <cstdio>

namespace ryuryo {

namespace {

Status CheckField(std::string_view name, const std::string& value) {
  if (value.size() > kRecordFieldBytesMax) {
    return Status::InvalidArgument(std::string(name) + ": longer than " +
                                   std::to_string(kRecordFieldBytesMax) + " bytes");
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidArgument(std::string(name) + ": contains a control character");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateRecord(const UsageRecord& r) {
  if (r.line.empty()) return Status::InvalidArgument("line: missing");
  RYURYO_RETURN_IF_ERROR(CheckField("id", r.id));
  RYURYO_RETURN_IF_ERROR(CheckField("line", r.line));
  RYURYO_RETURN_IF_ERROR(CheckField("device", r.device));
  RYURYO_RETURN_IF_ERROR(CheckField("app", r.app));
  RYURYO_RETURN_IF_ERROR(CheckField("source", r.source));
  if (r.bytes_up > kRecordBytesMax) {
    return Status::InvalidArgument("bytes_up: over 10 TB in one record");
  }
  if (r.bytes_down > kRecordBytesMax) {
    return Status::InvalidArgument("bytes_down: over 10 TB in one record");
  }
  if (r.end < r.start) return Status::InvalidArgument("end: before start");
  return Status::Ok();
}

std::string DedupKey(const UsageRecord& r) {
  if (!r.id.empty()) return "id:" + r.id;
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  auto add = [&](std::string_view s) {
    uint32_t n = static_cast<uint32_t>(s.size());
    XXH3_128bits_update(st, &n, sizeof n);
    XXH3_128bits_update(st, s.data(), s.size());
  };
  auto add_int = [&](uint64_t v) { XXH3_128bits_update(st, &v, sizeof v); };
  add(r.line);
  add_int(r.bytes_up);
  add_int(r.bytes_down);
  add_int(static_cast<uint64_t>(r.start));
  add_int(static_cast<uint64_t>(r.end));
  add(r.device);
  add(r.app);
  add(r.source);
  XXH128_hash_t h = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  char buf[40];
  std::snprintf(buf, sizeof buf, "h:%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

Status ValidateLineId(std::string_view id) {
  if (id.empty()) return Status::InvalidArgument("empty");
  if (id.size() > kLineIdBytesMax) {
    return Status::InvalidArgument("longer than " + std::to_string(kLineIdBytesMax) +
                                   " characters");
  }
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '+' || c == '@' || c == '-';
    if (!ok) {
      return Status::InvalidArgument(std::string("'") + c +
                                     "' is not allowed (use letters, digits and ._+@-)");
    }
  }
  return Status::Ok();
}

}  // namespace ryuryo
