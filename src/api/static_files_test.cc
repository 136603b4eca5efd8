#include "api/static_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace ryuryo::api {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string* HeaderOf(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::filesystem::path SourceDir() {
  const char* dir = std::getenv("RYURYO_SOURCE_DIR");
  // ctest sets RYURYO_SOURCE_DIR; run by hand, this file's own place tells.
  return dir != nullptr ? std::filesystem::path(dir)
                        : std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(StaticFilesTest, TableIsSortedUniqueAndAbsolute) {
  auto files = StaticFiles();
  ASSERT_FALSE(files.empty());
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_THAT(std::string(files[i].path), StartsWith("/"));
    EXPECT_FALSE(files[i].content_type.empty()) << files[i].path;
    if (i > 0) {
      EXPECT_LT(files[i - 1].path, files[i].path);
    }
  }
}

TEST(StaticFilesTest, HoldsTheDashboardAndUplot) {
  struct Want {
    const char* path;
    const char* type;
  };
  for (const Want& w :
       {Want{"/index.html", "text/html; charset=utf-8"},
        Want{"/js/app.js", "text/javascript; charset=utf-8"},
        Want{"/css/app.css", "text/css; charset=utf-8"}, Want{"/favicon.svg", "image/svg+xml"},
        Want{"/vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8"},
        Want{"/vendor/uPlot.min.css", "text/css; charset=utf-8"},
        Want{"/vendor/uPlot.LICENSE.txt", "text/plain; charset=utf-8"}}) {
    const StaticFile* f = FindStaticFile(w.path);
    ASSERT_NE(f, nullptr) << w.path;
    EXPECT_EQ(f->content_type, w.type) << w.path;
    EXPECT_FALSE(f->body.empty()) << w.path;
  }
  EXPECT_EQ(FindStaticFile("/"), nullptr);
  EXPECT_EQ(FindStaticFile("/nope.js"), nullptr);
  // The JavaScript tests and notes under web/ are not served.
  for (const StaticFile& f : StaticFiles()) {
    EXPECT_THAT(std::string(f.path), ::testing::Not(StartsWith("/test/")));
    EXPECT_THAT(std::string(f.path), ::testing::Not(::testing::EndsWith(".md")));
  }
}

// The table is what is on disk: every byte, and the ETag is the hash of those bytes.
TEST(StaticFilesTest, BodiesAreTheFilesAndEtagsTheirHash) {
  const std::filesystem::path root = SourceDir();
  ASSERT_TRUE(std::filesystem::exists(root / "web" / "index.html")) << root;
  for (const StaticFile& f : StaticFiles()) {
    std::string path(f.path);
    std::filesystem::path disk;
    if (path == "/vendor/uPlot.LICENSE.txt") {
      disk = root / "node_modules/uplot/LICENSE";
    } else if (path.starts_with("/vendor/")) {
      disk = root / "node_modules/uplot/dist" / path.substr(8);
    } else {
      disk = root / "web" / path.substr(1);
    }
    ASSERT_TRUE(std::filesystem::exists(disk)) << disk;
    EXPECT_TRUE(ReadFile(disk) == f.body) << path << " differs from " << disk << ": rebuild";
    EXPECT_EQ(f.etag, "\"" + Sha256Hex(f.body).substr(0, 20) + "\"") << path;
  }
  // And every file under web/ (but tests and notes) is in the table.
  for (const auto& e : std::filesystem::recursive_directory_iterator(root / "web")) {
    if (!e.is_regular_file()) continue;
    std::string rel = "/" + std::filesystem::relative(e.path(), root / "web").generic_string();
    if (rel.starts_with("/test/") || rel.ends_with(".md")) continue;
    EXPECT_NE(FindStaticFile(rel), nullptr) << rel << " is not embedded: re-run cmake";
  }
}

TEST(ServeStaticTest, RootIsIndexWithSecurityHeaders) {
  HttpResponse r;
  ASSERT_TRUE(ServeStatic("/", nullptr, &r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.body, FindStaticFile("/index.html")->body);
  ASSERT_NE(HeaderOf(r, "ETag"), nullptr);
  EXPECT_EQ(*HeaderOf(r, "ETag"), FindStaticFile("/index.html")->etag);
  ASSERT_NE(HeaderOf(r, "Cache-Control"), nullptr);
  EXPECT_EQ(*HeaderOf(r, "Cache-Control"), "no-cache");
  ASSERT_NE(HeaderOf(r, "Content-Security-Policy"), nullptr);
  const std::string& csp = *HeaderOf(r, "Content-Security-Policy");
  EXPECT_THAT(csp, StartsWith("default-src 'self'"));
  EXPECT_THAT(csp, HasSubstr("script-src 'self';"));
  EXPECT_THAT(csp, HasSubstr("frame-ancestors 'none'"));
  EXPECT_THAT(csp, ::testing::Not(HasSubstr("unsafe-inline")));
  EXPECT_THAT(csp, ::testing::Not(HasSubstr("unsafe-eval")));
  ASSERT_NE(HeaderOf(r, "X-Content-Type-Options"), nullptr);
  EXPECT_EQ(*HeaderOf(r, "X-Content-Type-Options"), "nosniff");
  ASSERT_NE(HeaderOf(r, "Referrer-Policy"), nullptr);
  EXPECT_EQ(*HeaderOf(r, "Referrer-Policy"), "no-referrer");
  ASSERT_NE(HeaderOf(r, "X-Frame-Options"), nullptr);
  EXPECT_EQ(*HeaderOf(r, "X-Frame-Options"), "DENY");

  HttpResponse same;
  ASSERT_TRUE(ServeStatic("/index.html", nullptr, &same));
  EXPECT_EQ(same.body, r.body);
}

TEST(ServeStaticTest, AssetsHaveTheirTypeAndNoHtmlHeaders) {
  HttpResponse r;
  ASSERT_TRUE(ServeStatic("/js/app.js", nullptr, &r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(r.body, FindStaticFile("/js/app.js")->body);
  EXPECT_EQ(HeaderOf(r, "Content-Security-Policy"), nullptr);
  ASSERT_NE(HeaderOf(r, "X-Content-Type-Options"), nullptr);
  ASSERT_NE(HeaderOf(r, "ETag"), nullptr);

  ASSERT_TRUE(ServeStatic("/vendor/uPlot.min.css", nullptr, &r));
  EXPECT_EQ(r.content_type, "text/css; charset=utf-8");
  EXPECT_THAT(r.body, HasSubstr(".uplot"));
}

TEST(ServeStaticTest, IfNoneMatchAnswers304WithoutBody) {
  const std::string etag(FindStaticFile("/css/app.css")->etag);
  for (const std::string& header :
       {etag, "W/" + etag, "\"other\", " + etag, std::string("*"), "  " + etag + "  "}) {
    HttpResponse r;
    ASSERT_TRUE(ServeStatic("/css/app.css", &header, &r)) << header;
    EXPECT_EQ(r.status, 304) << header;
    EXPECT_TRUE(r.body.empty());
    EXPECT_TRUE(r.content_type.empty());
    ASSERT_NE(HeaderOf(r, "ETag"), nullptr);
    EXPECT_EQ(*HeaderOf(r, "ETag"), etag);
    ASSERT_NE(HeaderOf(r, "Cache-Control"), nullptr);
  }
  for (const std::string& header :
       {std::string("\"stale\""), std::string(""), etag.substr(1, etag.size() - 2)}) {
    HttpResponse r;
    ASSERT_TRUE(ServeStatic("/css/app.css", &header, &r)) << header;
    EXPECT_EQ(r.status, 200) << header;
    EXPECT_FALSE(r.body.empty());
  }
}

TEST(ServeStaticTest, DashboardRoutesFallBackToIndex) {
  const std::string_view index = FindStaticFile("/index.html")->body;
  for (std::string_view path :
       {"/login", "/alerts", "/privacy", "/admin", "/admin/health", "/admin/lines/demo-mvno",
        "/admin/lines/sim.0042", "/admin/lines/x.js", "/some/unknown/page"}) {
    HttpResponse r;
    ASSERT_TRUE(ServeStatic(path, nullptr, &r)) << path;
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, index) << path;
    EXPECT_NE(HeaderOf(r, "Content-Security-Policy"), nullptr) << path;
  }
}

TEST(ServeStaticTest, ApiAndMissingAssetsAreNotServed) {
  for (std::string_view path :
       {"/v1", "/v1/", "/v1/lines", "/v1/me", "/v1/stream", "/js/missing.js", "/css/none.css",
        "/vendor/uPlot.js", "/robots.txt", "/favicon.ico", "", "index.html"}) {
    HttpResponse r;
    r.status = 599;
    EXPECT_FALSE(ServeStatic(path, nullptr, &r)) << path;
    EXPECT_EQ(r.status, 599) << path << ": *out must be left alone";
  }
}

// The CSP forbids inline scripts and styles: the HTML must not need them.
TEST(ServeStaticTest, HtmlHasNoInlineScriptOrStyle) {
  for (const StaticFile& f : StaticFiles()) {
    if (!f.content_type.starts_with("text/html")) continue;
    std::string html(f.body);
    std::smatch m;
    std::regex script_tag("<script\\b([^>]*)>", std::regex::icase);
    for (auto it = std::sregex_iterator(html.begin(), html.end(), script_tag);
         it != std::sregex_iterator(); ++it) {
      EXPECT_THAT((*it)[1].str(), HasSubstr("src=")) << f.path << ": inline <script>";
    }
    EXPECT_FALSE(std::regex_search(html, std::regex("<style\\b", std::regex::icase))) << f.path;
    EXPECT_FALSE(std::regex_search(html, std::regex("\\sstyle\\s*=", std::regex::icase))) << f.path;
    EXPECT_FALSE(std::regex_search(html, std::regex("\\son[a-z]+\\s*=", std::regex::icase)))
        << f.path;
  }
}

// Whatever the HTML and the modules load is embedded: src/href in HTML, `import ... from`
// in JavaScript (relative to the importing file).
TEST(ServeStaticTest, EverythingReferencedIsEmbedded) {
  std::set<std::string> missing;
  for (const StaticFile& f : StaticFiles()) {
    std::string body(f.body);
    std::string path(f.path);
    std::string dir = path.substr(0, path.rfind('/') + 1);
    if (f.content_type.starts_with("text/html")) {
      std::regex ref("(?:src|href)=\"(/[^\"]*)\"");
      for (auto it = std::sregex_iterator(body.begin(), body.end(), ref);
           it != std::sregex_iterator(); ++it) {
        std::string target = (*it)[1].str();
        if (target == "/" || target.starts_with("/v1/")) continue;
        if (FindStaticFile(target) == nullptr) missing.insert(path + " -> " + target);
      }
    }
    if (path.starts_with("/js/")) {
      std::regex imp("from '(\\.{1,2}/[^']+)'");
      for (auto it = std::sregex_iterator(body.begin(), body.end(), imp);
           it != std::sregex_iterator(); ++it) {
        std::filesystem::path target = std::filesystem::path(dir) / (*it)[1].str();
        std::string resolved = target.lexically_normal().generic_string();
        if (FindStaticFile(resolved) == nullptr) missing.insert(path + " -> " + resolved);
      }
    }
  }
  EXPECT_TRUE(missing.empty()) << ::testing::PrintToString(missing);
}

}  // namespace
}  // namespace ryuryo::api
