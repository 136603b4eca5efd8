// Static files: the web dashboard (web/ and uPlot from node_modules), compiled into the binary
// by cmake/RyuryoWeb.cmake, served without looking anything up on disk at run time.
//
// ServeStatic answers a GET (or HEAD) for a dashboard path:
//   - "/" is /index.html; an embedded file is served with its content type, a strong ETag (a
//     hash of its bytes) and `Cache-Control: no-cache` (the browser revalidates every time and
//     gets a body-less 304 when If-None-Match names the current ETag);
//   - a path that is no embedded file falls back to /index.html (the dashboard routes itself by
//     the URL: /admin, /alerts, /privacy, /admin/lines/<id>, ...) unless it is an asset path
//     (under /js/, /css/ or /vendor/, or a top-level name with a dot such as /robots.txt), which
//     is not found;
//   - /v1 and everything under it is never served here (the API answers it).
// Every answer carries X-Content-Type-Options: nosniff; HTML also carries a
// Content-Security-Policy that allows only same-origin scripts, styles and connections (the
// dashboard has no inline script or style), Referrer-Policy: no-referrer and X-Frame-Options: DENY.
//
// Thread-safety: the table is immutable; every function may be called from any thread.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "api/http_server.h"

namespace ryuryo::api {

struct StaticFile {
  std::string_view path;          // "/index.html", "/js/app.js", "/vendor/uPlot.iife.min.js"
  std::string_view content_type;  // "text/html; charset=utf-8"
  std::string_view body;
  std::string_view etag;  // quoted, e.g. "\"3fa9c01b2d4e5f607182\""
};

// Every embedded file, sorted by path.
std::span<const StaticFile> StaticFiles();

// The embedded file at exactly this path ("/index.html", not "/"), or nullptr.
const StaticFile* FindStaticFile(std::string_view path);

// Fills *out for a GET/HEAD of `path` (the request's percent-decoded path, without the query)
// and returns true; returns false, leaving *out alone, when the path is not the dashboard's
// (the caller answers 404 or routes it elsewhere). `if_none_match` is the request's
// If-None-Match header or nullptr. The caller checks the method.
bool ServeStatic(std::string_view path, const std::string* if_none_match, HttpResponse* out);

// The Content-Security-Policy sent with the dashboard's HTML.
extern const std::string_view kDashboardContentSecurityPolicy;

namespace internal {
// Defined in the generated web_assets.cc (cmake/EmbedWeb.cmake), sorted by path.
extern const StaticFile kStaticFiles[];
extern const size_t kStaticFileCount;
}  // namespace internal

}  // namespace ryuryo::api
