#include "api/static_files.h"

#include <algorithm>

namespace ryuryo::api {

namespace {

constexpr std::string_view kIndexPath = "/index.html";

// Paths whose absence is a 404 rather than the dashboard's index.html.
bool IsAssetPath(std::string_view path) {
  for (std::string_view dir : {"/js/", "/css/", "/vendor/"}) {
    if (path.substr(0, dir.size()) == dir) return true;
  }
  // A top-level file name with an extension ("/robots.txt", "/favicon.ico").
  std::string_view name = path.substr(1);
  return name.find('/') == std::string_view::npos && name.find('.') != std::string_view::npos;
}

bool IsApiPath(std::string_view path) { return path == "/v1" || path.substr(0, 4) == "/v1/"; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// If-None-Match: "*" or a comma-separated list of entity tags, weak ones (W/"...") included:
// the comparison for If-None-Match is the weak one (RFC 9110 §13.1.2).
bool EtagMatches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view tag = Trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    if (tag == "*") return true;
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

}  // namespace

const std::string_view kDashboardContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

std::span<const StaticFile> StaticFiles() {
  return {internal::kStaticFiles, internal::kStaticFileCount};
}

const StaticFile* FindStaticFile(std::string_view path) {
  std::span<const StaticFile> files = StaticFiles();
  auto it = std::lower_bound(files.begin(), files.end(), path,
                             [](const StaticFile& f, std::string_view p) { return f.path < p; });
  return it != files.end() && it->path == path ? &*it : nullptr;
}

bool ServeStatic(std::string_view path, const std::string* if_none_match, HttpResponse* out) {
  if (path.empty() || path.front() != '/' || IsApiPath(path)) return false;
  const StaticFile* file = FindStaticFile(path == "/" ? kIndexPath : path);
  if (file == nullptr) {
    if (IsAssetPath(path)) return false;
    file = FindStaticFile(kIndexPath);
    if (file == nullptr) return false;
  }
  HttpResponse r;
  r.headers.emplace_back("ETag", std::string(file->etag));
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (file->content_type.substr(0, 9) == "text/html") {
    r.headers.emplace_back("Content-Security-Policy", std::string(kDashboardContentSecurityPolicy));
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    r.headers.emplace_back("X-Frame-Options", "DENY");
  }
  if (if_none_match != nullptr && EtagMatches(*if_none_match, file->etag)) {
    r.status = 304;
    r.content_type.clear();  // a 304 has no body, and so no Content-Type
    r.body.clear();
  } else {
    r.status = 200;
    r.content_type = std::string(file->content_type);
    r.body = std::string(file->body);
  }
  *out = std::move(r);
  return true;
}

}  // namespace ryuryo::api
