#include "api/usage_json.h"

#include <simdjson.h>

#include <nlohmann/json.hpp>

#include "core/timeutil.h"

namespace ryuryo::api {

namespace {

using simdjson::dom::element_type;

Status FieldError(std::string_view field, std::string_view why) {
  return Status::InvalidArgument(std::string(field) + ": " + std::string(why));
}

Status GetString(simdjson::dom::element v, std::string_view field, std::string* out) {
  if (v.type() == element_type::NULL_VALUE) return Status::Ok();
  if (v.type() != element_type::STRING) return FieldError(field, "must be a string");
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) return FieldError(field, "must be a string");
  if (s.size() > kRecordFieldBytesMax) return FieldError(field, "longer than 256 bytes");
  out->assign(s);
  return Status::Ok();
}

Status GetBytes(simdjson::dom::element v, std::string_view field, uint64_t* out) {
  switch (v.type()) {
    case element_type::INT64: {
      int64_t i = 0;
      if (v.get_int64().get(i) != simdjson::SUCCESS) return FieldError(field, "malformed number");
      if (i < 0) return FieldError(field, "must not be negative");
      *out = static_cast<uint64_t>(i);
      break;
    }
    case element_type::UINT64:
      if (v.get_uint64().get(*out) != simdjson::SUCCESS) return FieldError(field, "malformed number");
      break;
    case element_type::DOUBLE: {
      double d = 0;
      if (v.get_double().get(d) != simdjson::SUCCESS) return FieldError(field, "malformed number");
      if (d < 0) return FieldError(field, "must not be negative");
      if (d > static_cast<double>(kRecordBytesMax)) return FieldError(field, "over 10 TB in one record");
      return FieldError(field, "must be a whole number of bytes");
    }
    default: return FieldError(field, "must be a non-negative integer");
  }
  if (*out > kRecordBytesMax) return FieldError(field, "over 10 TB in one record");
  return Status::Ok();
}

Status GetTime(simdjson::dom::element v, std::string_view field, Millis* out, bool* seen) {
  std::string s;
  RYURYO_RETURN_IF_ERROR(GetString(v, field, &s));
  if (s.empty()) return FieldError(field, "missing");
  RYURYO_RETURN_IF_ERROR(ParseRfc3339(s, out).Prefixed(field));
  *seen = true;
  return Status::Ok();
}

Status ParseElement(simdjson::dom::element el, UsageRecord* r) {
  if (el.type() != element_type::OBJECT) return Status::InvalidArgument("a record must be a JSON object");
  bool has_start = false, has_end = false, has_bytes = false;
  simdjson::dom::object obj;
  if (el.get_object().get(obj) != simdjson::SUCCESS) {
    return Status::InvalidArgument("a record must be a JSON object");
  }
  for (auto [key, v] : obj) {
    if (key == "line") {
      RYURYO_RETURN_IF_ERROR(GetString(v, key, &r->line));
    } else if (key == "bytes_up") {
      RYURYO_RETURN_IF_ERROR(GetBytes(v, key, &r->bytes_up));
      has_bytes = true;
    } else if (key == "bytes_down") {
      RYURYO_RETURN_IF_ERROR(GetBytes(v, key, &r->bytes_down));
      has_bytes = true;
    } else if (key == "start") {
      RYURYO_RETURN_IF_ERROR(GetTime(v, key, &r->start, &has_start));
    } else if (key == "end") {
      RYURYO_RETURN_IF_ERROR(GetTime(v, key, &r->end, &has_end));
    } else if (key == "id") {
      RYURYO_RETURN_IF_ERROR(GetString(v, key, &r->id));
    } else if (key == "device") {
      RYURYO_RETURN_IF_ERROR(GetString(v, key, &r->device));
    } else if (key == "app") {
      RYURYO_RETURN_IF_ERROR(GetString(v, key, &r->app));
    } else if (key == "source") {
      RYURYO_RETURN_IF_ERROR(GetString(v, key, &r->source));
    } else {
      return FieldError(key, "unknown field (expected id, line, bytes_up, bytes_down, start, "
                             "end, device, app, source)");
    }
  }
  if (r->line.empty()) return FieldError("line", "missing");
  if (!has_bytes) return FieldError("bytes_up", "missing (give bytes_up and/or bytes_down)");
  if (!has_end) return FieldError("end", "missing");
  if (!has_start) return FieldError("start", "missing");
  return ValidateRecord(*r);
}

// simdjson refuses a whole document over one number it cannot represent (an integer beyond
// 64 bits, say). Such a document is still JSON: re-read it with nlohmann (which keeps such
// numbers as doubles) and write it back, so that the bad number becomes an error of its own
// record and field ("over 10 TB") instead of sinking the body. Returns false if it is not JSON.
bool ReencodeNumbers(std::string_view json, std::string* out) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return false;
  *out = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return true;
}

bool IsNumberError(simdjson::error_code err) {
  return err == simdjson::NUMBER_ERROR || err == simdjson::NUMBER_OUT_OF_RANGE;
}

Status ParseOne(simdjson::dom::parser& parser, std::string_view json, UsageRecord* r) {
  simdjson::dom::element el;
  auto err = parser.parse(json.data(), json.size()).get(el);
  std::string reencoded;
  if (IsNumberError(err) && ReencodeNumbers(json, &reencoded)) {
    err = parser.parse(reencoded.data(), reencoded.size()).get(el);
  }
  if (err != simdjson::SUCCESS) {
    return Status::InvalidArgument(std::string("not valid JSON (") + simdjson::error_message(err) + ")");
  }
  return ParseElement(el, r);
}

}  // namespace

Status ParseUsageObject(std::string_view json, UsageRecord* record) {
  simdjson::dom::parser parser;
  return ParseOne(parser, json, record);
}

Status ParseUsageBody(std::string_view body, ParsedUsage* out) {
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);  // a UTF-8 byte order mark
  size_t p = 0;
  while (p < body.size() && (body[p] == ' ' || body[p] == '\n' || body[p] == '\r' || body[p] == '\t')) ++p;
  simdjson::dom::parser parser;
  if (p < body.size() && body[p] == '[') {
    simdjson::dom::element root;
    std::string reencoded;  // must outlive `root`
    auto err = parser.parse(body.data(), body.size()).get(root);
    if (IsNumberError(err) && ReencodeNumbers(body, &reencoded)) {
      err = parser.parse(reencoded.data(), reencoded.size()).get(root);
    }
    if (err != simdjson::SUCCESS) {
      return Status::InvalidArgument(std::string("body: not valid JSON (") +
                                     simdjson::error_message(err) + ")");
    }
    simdjson::dom::array arr;
    if (root.get_array().get(arr) != simdjson::SUCCESS) {
      return Status::InvalidArgument("body: expected a JSON array of records");
    }
    if (arr.size() > kUsageBodyRecordsMax) {
      return Status::ResourceExhausted("body: more than " + std::to_string(kUsageBodyRecordsMax) +
                                       " records");
    }
    size_t index = 0;
    for (simdjson::dom::element el : arr) {
      UsageRecord r;
      Status st = ParseElement(el, &r);
      if (st.ok()) {
        out->records.push_back(std::move(r));
        out->indexes.push_back(index);
      } else {
        out->errors.emplace_back(index, st.message());
      }
      ++index;
    }
    out->total = index;
    return Status::Ok();
  }
  // JSON lines.
  size_t index = 0;
  size_t start = 0;
  while (start <= body.size()) {
    size_t nl = body.find('\n', start);
    if (nl == std::string_view::npos) nl = body.size();
    std::string_view line = body.substr(start, nl - start);
    start = nl + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty()) {
      if (nl == body.size()) break;
      continue;
    }
    if (index >= kUsageBodyRecordsMax) {
      return Status::ResourceExhausted("body: more than " + std::to_string(kUsageBodyRecordsMax) +
                                       " records");
    }
    UsageRecord r;
    Status st = ParseOne(parser, line, &r);
    if (st.ok()) {
      out->records.push_back(std::move(r));
      out->indexes.push_back(index);
    } else {
      out->errors.emplace_back(index, st.message());
    }
    ++index;
    if (nl == body.size()) break;
  }
  out->total = index;
  return Status::Ok();
}

std::string UsageRecordToJson(const UsageRecord& r) {
  nlohmann::json j;
  if (!r.id.empty()) j["id"] = r.id;
  j["line"] = r.line;
  j["bytes_up"] = r.bytes_up;
  j["bytes_down"] = r.bytes_down;
  j["start"] = FormatRfc3339Utc(r.start);
  j["end"] = FormatRfc3339Utc(r.end);
  if (!r.device.empty()) j["device"] = r.device;
  if (!r.app.empty()) j["app"] = r.app;
  if (!r.source.empty()) j["source"] = r.source;
  return j.dump();
}

}  // namespace ryuryo::api
