#include "api/route_util.h"

#include <charconv>

namespace ryuryo::api {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

HttpResponse JsonOk(const json& j, int status) { return HttpResponse::Json(status, j.dump()); }

HttpResponse Busy(const Status& st) {
  if (st.code() != Status::Code::kResourceExhausted) return HttpResponse::Error(st);
  HttpResponse r = HttpResponse::Error(503, "unavailable", st.message());
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

HttpResponse Bad(std::string msg) {
  return HttpResponse::Error(Status::InvalidArgument(std::move(msg)));
}

bool ParseUint(std::string_view s, uint64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

std::string StringField(const json& j, const char* name, Status* st) {
  if (!j.contains(name) || j[name].is_null()) return "";
  if (!j[name].is_string()) {
    *st = Status::InvalidArgument(std::string(name) + ": must be a string");
    return "";
  }
  return j[name].get<std::string>();
}

Status CheckFields(const json& j, std::initializer_list<const char*> allowed) {
  if (!j.is_object()) return Status::InvalidArgument("body: expected a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (!ok) return Status::InvalidArgument(it.key() + ": unknown field");
  }
  return Status::Ok();
}

Status ParseBody(const std::string& body, json* out) {
  *out = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded()) return Status::InvalidArgument("body: not valid JSON");
  return Status::Ok();
}

}  // namespace ryuryo::api
