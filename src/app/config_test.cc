// Config: the example catalog parses, and every error names its key and line.
#include "app/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/event.h"
#include "core/plan.h"
#include "core/timeutil.h"

namespace ryuryo::app {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string ReadExample() {
  std::vector<fs::path> candidates;
  if (const char* dir = std::getenv("RYURYO_SOURCE_DIR"); dir != nullptr && *dir != '\0') {
    candidates.push_back(fs::path(dir) / "examples" / "ryuryo.toml");
  }
  // Run by hand from the build dir (build-*/), or from the source root.
  for (const char* rel :
       {"../examples/ryuryo.toml", "examples/ryuryo.toml", "../../examples/ryuryo.toml"}) {
    candidates.push_back(fs::path(rel));
  }
  for (const fs::path& p : candidates) {
    std::ifstream in(p);
    if (!in) continue;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  ADD_FAILURE() << "examples/ryuryo.toml not found (set RYURYO_SOURCE_DIR)";
  return "";
}

Status Parse(const std::string& text, Config* c) { return ParseConfig(text, "test.toml", c); }

Status ParseText(const std::string& text) {
  Config c;
  return Parse(text, &c);
}

// A small valid config to break in one place.
constexpr const char* kPlan = R"([[plans]]
id = "p1"
kind = "monthly"
quota = "3 GB"
after_quota = { action = "block" }
)";

// ---------------------------------------------------------------------------------------------
// The example

TEST(ConfigTest, ExampleParses) {
  std::string text = ReadExample();
  ASSERT_FALSE(text.empty());
  Config c;
  Status st = ParseConfig(text, "examples/ryuryo.toml", &c);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(c.catalog->plans().size(), 6u);
  EXPECT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.lines.size(), 7u);
  EXPECT_TRUE(c.webhooks.empty());

  EXPECT_EQ(c.http, "127.0.0.1:8080");
  EXPECT_EQ(c.data_dir, "data");
  EXPECT_EQ(c.store.path, "data");
  EXPECT_EQ(c.store.dedup_retention_ms, 35 * kMillisPerDay);
  EXPECT_EQ(c.store.audit_retention_ms, 90 * kMillisPerDay);
  EXPECT_EQ(c.store.hourly_retention_ms, 35 * kMillisPerDay);
  EXPECT_EQ(c.store.daily_retention_ms, 800 * kMillisPerDay);

  const Plan* travel = c.catalog->Find("travel-8d-3gb");
  ASSERT_NE(travel, nullptr);
  EXPECT_EQ(travel->kind, PlanKind::kPass);
  EXPECT_EQ(travel->quota_bytes, 3'000'000'000u);
  EXPECT_EQ(travel->validity_ms, 8 * kMillisPerDay);
  EXPECT_EQ(travel->starts, PassStart::kFirstUse);
  EXPECT_EQ(travel->after_quota.action, QuotaAction::kThrottle);
  EXPECT_EQ(travel->after_quota.rate_bps, 128'000u);
  ASSERT_EQ(travel->alerts.size(), 4u);
  EXPECT_EQ(travel->alerts[3].Label(), "200 MB left");
  EXPECT_EQ(travel->timezone, "Asia/Tokyo");
  EXPECT_EQ(travel->name, "Japan Travel SIM 8 days 3 GB");

  const Plan* mvno = c.catalog->Find("mvno-20gb");
  ASSERT_NE(mvno, nullptr);
  EXPECT_TRUE(mvno->rollover);
  EXPECT_EQ(mvno->cycle_day, 1);
  EXPECT_EQ(mvno->alerts.back().kind, Threshold::Kind::kPace);

  const Plan* unl = c.catalog->Find("unlimited-fair");
  ASSERT_NE(unl, nullptr);
  ASSERT_TRUE(unl->fair_use.has_value());
  EXPECT_EQ(unl->fair_use->window_ms, 3 * kMillisPerDay);
  EXPECT_EQ(unl->fair_use->limit_bytes, 10'000'000'000u);
  EXPECT_EQ(unl->fair_use->rate_bps, 1'000'000u);

  const Plan* payg = c.catalog->Find("payg-jpy");
  ASSERT_NE(payg, nullptr);
  EXPECT_EQ(payg->cycle_day, 15);
  EXPECT_EQ(payg->after_quota.action, QuotaAction::kOverage);
  EXPECT_EQ(payg->after_quota.unit_bytes, 100'000'000u);
  EXPECT_EQ(payg->after_quota.price_micros, 55'000'000);
  EXPECT_EQ(payg->after_quota.cap_micros, 3'300'000'000);
  EXPECT_EQ(payg->after_quota.currency, "JPY");

  EXPECT_EQ(c.pools[0].id, "tanaka-family");
  EXPECT_EQ(c.pools[0].plan, "family-30gb");
  EXPECT_EQ(c.pools[0].account, "tanaka");
  EXPECT_EQ(c.lines[0].id, "demo-travel");
  EXPECT_EQ(c.lines[0].msisdn, "+81 70-1234-0001");
  EXPECT_EQ(c.lines[0].imsi, "440101234500001");
  EXPECT_EQ(c.lines[0].locale, "en");
  EXPECT_EQ(c.lines[2].iccid, "8981100000000000003");
  EXPECT_EQ(c.lines[5].pool, "tanaka-family");
  EXPECT_EQ(c.lines[5].plan, "");
}

TEST(ConfigTest, LoadConfigReadsAFileAndNamesAMissingOne) {
  Config c;
  Status st = LoadConfig("/nonexistent/dir/ryuryo.toml", &c);
  EXPECT_EQ(st.code(), Status::Code::kNotFound);
  EXPECT_THAT(st.message(), HasSubstr("/nonexistent/dir/ryuryo.toml"));

  fs::path p =
      fs::temp_directory_path() / ("ryuryo-config-test-" + std::to_string(::getpid()) + ".toml");
  {
    std::ofstream out(p);
    out << "[server]\nhttp = \":9999\"\n" << kPlan;
  }
  Config c2;
  st = LoadConfig(p.string(), &c2);
  fs::remove(p);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(c2.http, ":9999");
  EXPECT_EQ(c2.catalog->plans().size(), 1u);
}

TEST(ConfigTest, EmptyConfigHasDefaults) {
  Config c;
  ASSERT_TRUE(Parse("", &c).ok());
  EXPECT_EQ(c.http, "127.0.0.1:8080");
  EXPECT_EQ(c.data_dir, "data");
  EXPECT_EQ(c.store.path, "data");
  EXPECT_TRUE(c.catalog->plans().empty());
}

TEST(ConfigTest, DataDirBecomesTheStorePath) {
  Config c;
  ASSERT_TRUE(Parse("[server]\ndata_dir = \"/var/lib/ryuryo\"\nadmin_token = \"t0k\"\n", &c).ok());
  EXPECT_EQ(c.store.path, "/var/lib/ryuryo");
  EXPECT_EQ(c.admin_token, "t0k");
}

TEST(ConfigTest, Sms) {
  Config c;
  ASSERT_TRUE(Parse("", &c).ok());
  EXPECT_FALSE(c.sms.enabled);
  ASSERT_TRUE(Parse("[sms]\nkannel_token = \"0123456789abcdef\"\n"
                    "kannel_allow = [\"127.0.0.1\", \"::1\"]\n",
                    &c)
                  .ok());
  EXPECT_TRUE(c.sms.enabled);
  EXPECT_EQ(c.sms.kannel_token, "0123456789abcdef");
  EXPECT_EQ(c.sms.kannel_allow, (std::vector<std::string>{"127.0.0.1", "::1"}));
  // Outgoing defaults: off; alerts only to channels; quiet 22:00-08:00; 5 a day; login codes.
  EXPECT_TRUE(c.sms.send.url.empty());
  EXPECT_FALSE(c.sms.alerts.all_lines);
  EXPECT_EQ(c.sms.alerts.quiet_hours.ToString(), "22:00-08:00");
  EXPECT_EQ(c.sms.alerts.daily_max_per_line, 5u);
  EXPECT_TRUE(c.sms.login_codes);
}

TEST(ConfigTest, SmsSending) {
  Config c;
  ASSERT_TRUE(Parse(R"([sms]
send_url = "http://127.0.0.1:13013/cgi-bin/sendsms"
send_username = "ryuryo"
send_password = "pw"
sender = "5555"
alerts = "all_lines"
quiet_hours = "23:30-07:00"
daily_max_per_line = 2
login_codes = false
country_code = "86"
)",
                    &c)
                  .ok());
  EXPECT_FALSE(c.sms.enabled);  // no incoming SMS without a token or an allow-list
  EXPECT_EQ(c.sms.send.url, "http://127.0.0.1:13013/cgi-bin/sendsms");
  EXPECT_EQ(c.sms.send.username, "ryuryo");
  EXPECT_EQ(c.sms.send.password, "pw");
  EXPECT_EQ(c.sms.send.from, "5555");
  EXPECT_TRUE(c.sms.alerts.all_lines);
  EXPECT_EQ(c.sms.alerts.quiet_hours.ToString(), "23:30-07:00");
  EXPECT_EQ(c.sms.alerts.daily_max_per_line, 2u);
  EXPECT_FALSE(c.sms.login_codes);
  EXPECT_EQ(c.sms.country_code, "86");
  ASSERT_TRUE(Parse("[sms]\nsend_url = \"http://k/s\"\nquiet_hours = \"off\"\n", &c).ok());
  EXPECT_FALSE(c.sms.alerts.quiet_hours.enabled);
}

TEST(ConfigErrorTest, SmsMistakesNameTheKey) {
  EXPECT_THAT(ParseText("[sms]\nkannel_tokn = \"0123456789abcdef\"\n").message(),
              AllOf(HasSubstr("line 2"), HasSubstr("sms: unknown key 'kannel_tokn'")));
  EXPECT_THAT(ParseText("[sms]\nkannel_token = \"short\"\n").message(),
              HasSubstr("sms.kannel_token: must be at least 16 characters"));
  EXPECT_THAT(ParseText("[sms]\nkannel_allow = \"127.0.0.1\"\n").message(),
              HasSubstr("sms.kannel_allow: must be an array"));
  EXPECT_THAT(ParseText("[sms]\nkannel_allow = [1]\n").message(),
              HasSubstr("sms.kannel_allow: must be an array"));
  EXPECT_THAT(ParseText("[sms]\n").message(), HasSubstr("sms: set kannel_token or kannel_allow"));
  const std::string send = "[sms]\nsend_url = \"http://k/s\"\n";
  EXPECT_THAT(ParseText("[sms]\nsend_url = \"ftp://x\"\n").message(), HasSubstr("sms.send_url"));
  EXPECT_THAT(ParseText(send + "alerts = \"everyone\"\n").message(),
              HasSubstr("sms.alerts: must be"));
  EXPECT_THAT(ParseText(send + "quiet_hours = \"22-8\"\n").message(), HasSubstr("sms.quiet_hours"));
  EXPECT_THAT(ParseText(send + "daily_max_per_line = -1\n").message(),
              HasSubstr("sms.daily_max_per_line"));
  EXPECT_THAT(ParseText(send + "country_code = \"0\"\n").message(), HasSubstr("sms.country_code"));
}

TEST(ConfigTest, Webhooks) {
  Config c;
  Status st = Parse(std::string(kPlan) + R"(
[[webhooks]]
url = "https://example.net/hooks/ryuryo"
secret = "s3cret"
events = ["threshold", "exhausted"]

[[webhooks]]
url = "http://127.0.0.1:9000/x"
secret = "other"
account = "tanaka"
)",
                    &c);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(c.webhooks.size(), 2u);
  EXPECT_EQ(c.webhooks[0].url, "https://example.net/hooks/ryuryo");
  EXPECT_EQ(c.webhooks[0].secret, "s3cret");
  EXPECT_EQ(c.webhooks[0].events.size(), 2u);
  EXPECT_TRUE(c.webhooks[0].events.count(EventType::kThreshold));
  EXPECT_TRUE(c.webhooks[1].events.empty());
  EXPECT_EQ(c.webhooks[1].account, "tanaka");
}

TEST(ConfigTest, Radius) {
  Config c;
  Status st = Parse(std::string(kPlan) + R"(
[radius]
accounting = "[::1]:1813"
authorization = "127.0.0.1:1812"
line_keys = ["calling-station-id", "user-name"]
session_idle_timeout = "6h"

[[radius.clients]]
address = "127.0.0.1"
secret = "testing123"

[[radius.clients]]
name = "pgw-tokyo-1"
address = "2001:db8::7"
secret = "s3cret"
coa_port = 1700
)",
                    &c);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE(c.radius.enabled);
  EXPECT_EQ(c.radius.accounting.address, "::1");
  EXPECT_EQ(c.radius.accounting.port, 1813);
  EXPECT_EQ(c.radius.authorization, "127.0.0.1:1812");
  ASSERT_EQ(c.radius.accounting.line_keys.size(), 2u);
  EXPECT_EQ(c.radius.accounting.line_keys[0], ingest::LineKeyAttr::kCallingStationId);
  EXPECT_EQ(c.radius.accounting.line_keys[1], ingest::LineKeyAttr::kUserName);
  EXPECT_EQ(c.radius.accounting.session_idle_ms, 6 * kMillisPerHour);
  ASSERT_EQ(c.radius.accounting.clients.size(), 2u);
  EXPECT_EQ(c.radius.accounting.clients[0].coa_port, 3799);
  EXPECT_EQ(c.radius.accounting.clients[1].name, "pgw-tokyo-1");
  EXPECT_EQ(c.radius.accounting.clients[1].coa_port, 1700);

  Config none;
  ASSERT_TRUE(Parse(kPlan, &none).ok());
  EXPECT_FALSE(none.radius.enabled);
}

TEST(ConfigErrorTest, RadiusMistakesNameTheKey) {
  const std::string client = "\n[[radius.clients]]\naddress = \"127.0.0.1\"\nsecret = \"x\"\n";
  struct Case {
    std::string text;
    std::string expected;
  } cases[] = {
      {"[radius]\naccounting = \"127.0.0.1:1813\"\n", "no [[radius.clients]]"},
      {"[radius]\nline_keys = [\"imsi\"]\n" + client, "radius.line_keys: unknown key"},
      {"[radius]\nline_keys = []\n" + client, "radius.line_keys: must be a non-empty array"},
      {"[radius]\naccounting = \"localhost:1813\"\n" + client, "is not an IP address"},
      {"[radius]\naccounting = \"127.0.0.1\"\n" + client, "expected host:port"},
      {"[radius]\nbogus = 1\n" + client, "radius: unknown key 'bogus'"},
      {"[radius]\n[[radius.clients]]\naddress = \"nas.example\"\nsecret = \"x\"\n",
       "radius.clients.address: 'nas.example' is not an IP address"},
      {"[radius]\n[[radius.clients]]\naddress = \"127.0.0.1\"\n", "'secret' is missing"},
      {"[radius]\n[[radius.clients]]\naddress = \"127.0.0.1\"\nsecret = \"\"\n",
       "secret: must not be empty"},
      {"[radius]\n" + client + "coa_port = 70000\n", "coa_port: must be 1..65535"},
      {"[radius]\n" + client + client, "listed twice"},
  };
  for (const Case& k : cases) {
    Config c;
    Status st = Parse(std::string(kPlan) + "\n" + k.text, &c);
    EXPECT_FALSE(st.ok()) << k.text;
    EXPECT_THAT(st.message(), AllOf(HasSubstr(k.expected), HasSubstr("line "))) << k.text;
  }
}

// ---------------------------------------------------------------------------------------------
// Errors: the key and the line

TEST(ConfigErrorTest, UnknownTopLevelKey) {
  // (A key after [server] would belong to [server] in TOML: this one is before any table.)
  Status st = ParseText("# comment\n\nbogus_key = 1\n[server]\nhttp = \"127.0.0.1:8080\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(st.message(), AllOf(HasSubstr("test.toml"), HasSubstr("line 3"),
                                  HasSubstr("unknown key 'bogus_key'")));
}

TEST(ConfigErrorTest, UnknownTopLevelTable) {
  Status st = ParseText(std::string(kPlan) + "\n[radios]\naccounting = \"x\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 7"), HasSubstr("'radios'")));
}

TEST(ConfigErrorTest, UnknownServerKey) {
  Status st = ParseText("[server]\nhttp = \"127.0.0.1:8080\"\nhtpp = \"x\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 3"), HasSubstr("server"), HasSubstr("'htpp'")));
}

TEST(ConfigErrorTest, UnknownPlanKey) {
  Status st = ParseText(R"([[plans]]
id = "p1"
kind = "monthly"
quota = "3 GB"
quotaa = "4 GB"
after_quota = { action = "block" }
)");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(),
              AllOf(HasSubstr("line 5"), HasSubstr("plans"), HasSubstr("unknown key 'quotaa'")));
}

TEST(ConfigErrorTest, UnknownKeyInAfterQuota) {
  Status st = ParseText(R"([[plans]]
id = "p1"
kind = "monthly"
quota = "3 GB"
after_quota = { action = "throttle", rat = "128 kbps" }
)");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(),
              AllOf(HasSubstr("line 5"), HasSubstr("after_quota"), HasSubstr("unknown key 'rat'")));
}

TEST(ConfigErrorTest, BadQuantity) {
  Status st = ParseText(R"([[plans]]
id = "p1"
kind = "monthly"

quota = "3 GX"
after_quota = { action = "block" }
)");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(st.message(),
              AllOf(HasSubstr("line 5"), HasSubstr("plan 'p1'.quota"), HasSubstr("3 GX")));
}

TEST(ConfigErrorTest, BadRate) {
  Status st = ParseText(R"([[plans]]
id = "p1"
kind = "monthly"
quota = "3 GB"
after_quota = { action = "throttle", rate = "fast" }
)");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 5"), HasSubstr("after_quota.rate")));
}

TEST(ConfigErrorTest, QuantityOfTheWrongType) {
  Status st = ParseText(R"([[plans]]
id = "p1"
kind = "monthly"
quota = 3000000000
after_quota = { action = "block" }
)");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(),
              AllOf(HasSubstr("line 4"), HasSubstr("quota"), HasSubstr("must be a string")));
}

TEST(ConfigErrorTest, PassWithoutValidity) {
  Status st = ParseText(R"(# a pass needs a validity
[[plans]]
id = "pass-3gb"
kind = "pass"
quota = "3 GB"
after_quota = { action = "block" }
)");
  ASSERT_FALSE(st.ok());
  // The plan's table starts at line 2.
  EXPECT_THAT(st.message(),
              AllOf(HasSubstr("line 2"), HasSubstr("pass-3gb"), HasSubstr("validity")));
}

TEST(ConfigErrorTest, ValidityOnANonPass) {
  Status st = ParseText(std::string(kPlan) + "validity = \"8d\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 1"), HasSubstr("validity")));
}

TEST(ConfigErrorTest, BadKindNamesItsLine) {
  Status st = ParseText("[[plans]]\nid = \"x\"\nkind = \"weekly\"\nquota = \"1 GB\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 3"), HasSubstr("kind")));
}

TEST(ConfigErrorTest, MissingPlanId) {
  Status st = ParseText("\n[[plans]]\nkind = \"monthly\"\nquota = \"1 GB\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 2"), HasSubstr("'id' is missing")));
}

TEST(ConfigErrorTest, DuplicatePlan) {
  Status st = ParseText(std::string(kPlan) + "\n" + kPlan);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 7"), HasSubstr("p1"), HasSubstr("twice")));
}

TEST(ConfigErrorTest, BadCycleDay) {
  Status st = ParseText(std::string(kPlan) + "cycle_day = 32\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 6"), HasSubstr("cycle_day")));
}

TEST(ConfigErrorTest, BadAlert) {
  Status st = ParseText(std::string(kPlan) + "alerts = [\"80%\",\n  \"lots\"]\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 7"), HasSubstr("alerts")));
}

TEST(ConfigErrorTest, BadRetention) {
  Status st = ParseText("[retention]\ndedup = \"35d\"\naudit = \"1h\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(),
              AllOf(HasSubstr("line 3"), HasSubstr("retention.audit"), HasSubstr("at least 1d")));
  st = ParseText("[retention]\ndedupe = \"35d\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 2"), HasSubstr("'dedupe'")));
}

TEST(ConfigErrorTest, UnknownPlanReferencedByALine) {
  Status st = ParseText(std::string(kPlan) + R"(
[[lines]]
id = "l1"
plan = "p2"
)");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 7"), HasSubstr("l1"), HasSubstr("plan 'p2'"),
                                  HasSubstr("not defined")));
}

TEST(ConfigErrorTest, UnknownPlanReferencedByAPool) {
  Status st = ParseText(std::string(kPlan) + "\n[[pools]]\nid = \"fam\"\nplan = \"nope\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 7"), HasSubstr("fam"), HasSubstr("'nope'")));
}

TEST(ConfigErrorTest, LineWithoutPlanOrPool) {
  Status st = ParseText(std::string(kPlan) + "\n[[lines]]\nid = \"l1\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 7"), HasSubstr("needs a plan or a pool")));
}

TEST(ConfigErrorTest, UnknownLineKey) {
  Status st =
      ParseText(std::string(kPlan) + "\n[[lines]]\nid = \"l1\"\nplan = \"p1\"\nmsisnd = \"1\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 10"), HasSubstr("'msisnd'")));
}

TEST(ConfigErrorTest, UnknownPoolReferencedByALine) {
  // A typo in a line's pool must fail at load, not be logged and skipped at start.
  Status st = ParseText(std::string(kPlan) + R"(
[[pools]]
id = "fam"
plan = "p1"

[[lines]]
id = "l1"
pool = "famliy"
)");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 11"), HasSubstr("l1"), HasSubstr("famliy")));
}

TEST(ConfigErrorTest, DuplicateLineOrPoolId) {
  Status st = ParseText(
      std::string(kPlan) +
      "\n[[lines]]\nid = \"l1\"\nplan = \"p1\"\n\n[[lines]]\nid = \"l1\"\nplan = \"p1\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 11"), HasSubstr("'l1'"), HasSubstr("twice")));
  st =
      ParseText(std::string(kPlan) +
                "\n[[pools]]\nid = \"f\"\nplan = \"p1\"\n\n[[pools]]\nid = \"f\"\nplan = \"p1\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 11"), HasSubstr("'f'"), HasSubstr("twice")));
}

TEST(ConfigErrorTest, BadLineId) {
  Status st = ParseText(std::string(kPlan) + "\n[[lines]]\nid = \"has space\"\nplan = \"p1\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 8"), HasSubstr("lines.id")));
}

TEST(ConfigErrorTest, BadWebhookUrl) {
  Status st = ParseText(std::string(kPlan) + R"(
[[webhooks]]
url = "ftp://example.net/hook"
secret = "s"
)");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(),
              AllOf(HasSubstr("line 7"), HasSubstr("webhooks.url"), HasSubstr("http://")));
  st = ParseText(std::string(kPlan) + "\n[[webhooks]]\nurl = \"https://\"\nsecret = \"s\"\n");
  ASSERT_FALSE(st.ok()) << "a URL without a host";
  EXPECT_THAT(st.message(), HasSubstr("webhooks.url"));
}

TEST(ConfigErrorTest, WebhookWithoutSecretOrWithBadEvent) {
  Status st = ParseText("[[webhooks]]\nurl = \"https://example.net/h\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 1"), HasSubstr("'secret' is missing")));
  st = ParseText(
      "[[webhooks]]\nurl = \"https://example.net/h\"\nsecret = \"s\"\n"
      "events = [\"threshold\", \"thresold\"]\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 4"), HasSubstr("webhooks.events")));
}

TEST(ConfigErrorTest, BadServerHttp) {
  Status st = ParseText("[server]\nhttp = \"localhost\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 1"), HasSubstr("server.http")));
}

TEST(ConfigErrorTest, BadTomlSyntax) {
  Status st = ParseText("[server]\nhttp = \"127.0.0.1:8080\"\ndata_dir = \"unterminated\n");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(st.message(), AllOf(HasSubstr("test.toml"), HasSubstr("line 3")));
  st = ParseText("[[plans]]\nid = \"p1\"\nkind = = \"monthly\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("line 3"));
  st = ParseText("[server]\n[server]\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("line 2"));
}

TEST(ConfigErrorTest, WrongShapes) {
  EXPECT_FALSE(ParseText("server = 1\n").ok());
  EXPECT_FALSE(ParseText("plans = 1\n").ok());
  EXPECT_FALSE(ParseText("plans = [1, 2]\n").ok());
  EXPECT_FALSE(ParseText("retention = \"35d\"\n").ok());
  Status st = ParseText(std::string(kPlan) + "fair_use = 3\n");
  EXPECT_FALSE(st.ok());
  st = ParseText(
      "[[plans]]\nid = \"p\"\nkind = \"monthly\"\nquota = \"1 GB\"\nafter_quota = \"block\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), AllOf(HasSubstr("line 5"), HasSubstr("after_quota")));
}

// ---------------------------------------------------------------------------------------------
// SplitHostPort

TEST(SplitHostPortTest, Cases) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(SplitHostPort("127.0.0.1:8080", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(SplitHostPort("[::1]:8443", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 8443);
  ASSERT_TRUE(SplitHostPort(":9000", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9000);
  ASSERT_TRUE(SplitHostPort("example.net:65535", &host, &port).ok());
  EXPECT_EQ(host, "example.net");
  EXPECT_EQ(port, 65535);
  ASSERT_TRUE(SplitHostPort("0.0.0.0:0", &host, &port).ok());
  EXPECT_EQ(port, 0);

  for (const char* bad : {"localhost", "", "host:", "host:65536", "host:99999", "host:123456",
                          "host:-1", "host:80a", "host: 80", "[::1]", "host:+80"}) {
    Status st = SplitHostPort(bad, &host, &port);
    EXPECT_FALSE(st.ok()) << "'" << bad << "'";
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << bad;
  }
  Status st = SplitHostPort("localhost", &host, &port);
  EXPECT_THAT(st.message(), HasSubstr("localhost"));
}

}  // namespace
}  // namespace ryuryo::app
