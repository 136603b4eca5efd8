// Small helpers the route files share: path splitting, JSON bodies and answers.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_server.h"
#include "api/views.h"
#include "core/status.h"

namespace ryuryo::api {

// "/v1/lines/a/usage" -> {"v1", "lines", "a", "usage"} (empty segments dropped).
std::vector<std::string_view> SplitPath(std::string_view path);
HttpResponse JsonOk(const json& j, int status = 200);
// The ledger's answer to a submission it cannot take now: a full queue is 503 with Retry-After.
HttpResponse Busy(const Status& st);
HttpResponse Bad(std::string msg);  // 400 invalid_argument
bool ParseUint(std::string_view s, uint64_t* v);
// A string field of a JSON object; "" when absent or null; *st set when not a string.
std::string StringField(const json& j, const char* name, Status* st);
// The body is an object with no fields beyond `allowed`.
Status CheckFields(const json& j, std::initializer_list<const char*> allowed);
Status ParseBody(const std::string& body, json* out);

}  // namespace ryuryo::api
