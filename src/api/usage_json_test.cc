// Usage records from JSON: arrays and JSON lines, per-record errors by index and field, limits,
// and the round trip through UsageRecordToJson.
#include "api/usage_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/record.h"
#include "core/timeutil.h"

namespace ryuryo::api {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

Millis T(std::string_view text) {
  Millis at = 0;
  Status st = ParseRfc3339(text, &at);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return at;
}

// A valid record with `extra` spliced in before the closing brace (e.g. ", \"app\": \"x\"").
std::string Obj(const std::string& line = "l1", const std::string& extra = "") {
  return R"({"line": ")" + line +
         R"(", "bytes_up": 10, "bytes_down": 20, "start": "2026-03-10T09:00:00+09:00", "end": "2026-03-10T09:10:00+09:00")" +
         extra + "}";
}

ParsedUsage MustParse(std::string_view body) {
  ParsedUsage out;
  Status st = ParseUsageBody(body, &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

// The single error of a one-record array whose object is `obj`.
std::string ErrorOf(const std::string& obj) {
  ParsedUsage p = MustParse("[" + obj + "]");
  EXPECT_THAT(p.records, IsEmpty()) << obj;
  EXPECT_EQ(p.total, 1u);
  if (p.errors.size() != 1) {
    ADD_FAILURE() << "expected one error for " << obj;
    return "";
  }
  EXPECT_EQ(p.errors[0].first, 0u);
  // The same object as a JSON line gives the same error.
  ParsedUsage q = MustParse(obj + "\n");
  EXPECT_EQ(q.errors.size(), 1u) << obj;
  if (q.errors.size() == 1) {
    EXPECT_EQ(q.errors[0].second, p.errors[0].second) << obj;
  }
  return p.errors[0].second;
}

// ---------------------------------------------------------------------------------------------
// Good bodies

TEST(UsageJsonTest, ArrayOfRecords) {
  ParsedUsage p = MustParse("[" + Obj("l1", R"(, "id": "r1", "device": "phone", "app": "maps", "source": "http")") +
                            ",\n " + Obj("msisdn:+819012345678") + "]");
  EXPECT_EQ(p.total, 2u);
  EXPECT_THAT(p.errors, IsEmpty());
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_THAT(p.indexes, ElementsAre(0, 1));
  const UsageRecord& r = p.records[0];
  EXPECT_EQ(r.id, "r1");
  EXPECT_EQ(r.line, "l1");
  EXPECT_EQ(r.bytes_up, 10u);
  EXPECT_EQ(r.bytes_down, 20u);
  EXPECT_EQ(r.start, T("2026-03-10T00:00:00Z"));
  EXPECT_EQ(r.end, T("2026-03-10T00:10:00Z"));
  EXPECT_EQ(r.device, "phone");
  EXPECT_EQ(r.app, "maps");
  EXPECT_EQ(r.source, "http");
  EXPECT_EQ(p.records[1].line, "msisdn:+819012345678");
  EXPECT_EQ(p.records[1].id, "");
}

TEST(UsageJsonTest, EmptyArrayAndEmptyBody) {
  ParsedUsage p = MustParse("[]");
  EXPECT_EQ(p.total, 0u);
  EXPECT_THAT(p.records, IsEmpty());
  p = MustParse("  \n [ ] \n");
  EXPECT_EQ(p.total, 0u);
  p = MustParse("");
  EXPECT_EQ(p.total, 0u);
  EXPECT_THAT(p.errors, IsEmpty());
  p = MustParse("\n\r\n  \n");
  EXPECT_EQ(p.total, 0u);
  EXPECT_THAT(p.errors, IsEmpty());
}

TEST(UsageJsonTest, JsonLinesWithBlankLinesAndCrlf) {
  std::string body = "\r\n" + Obj("a") + "\r\n\r\n   \n" + Obj("b") + "\r\n\t" + Obj("c") + "  \r\n\n";
  ParsedUsage p = MustParse(body);
  EXPECT_EQ(p.total, 3u);
  EXPECT_THAT(p.errors, IsEmpty());
  ASSERT_EQ(p.records.size(), 3u);
  EXPECT_EQ(p.records[0].line, "a");
  EXPECT_EQ(p.records[1].line, "b");
  EXPECT_EQ(p.records[2].line, "c");
  // Indexes count non-blank lines only.
  EXPECT_THAT(p.indexes, ElementsAre(0, 1, 2));
}

TEST(UsageJsonTest, JsonLinesWithoutTrailingNewline) {
  ParsedUsage p = MustParse(Obj("a") + "\n" + Obj("b"));
  EXPECT_EQ(p.total, 2u);
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[1].line, "b");
}

TEST(UsageJsonTest, JsonLinesErrorsByIndexGoodOnesStillParse) {
  std::string body = Obj("a") + "\n\n" + "{not json}\n" + Obj("b", R"(, "bytes_dwn": 1)") + "\n" +
                     "[1]\n" + Obj("c") + "\n";
  ParsedUsage p = MustParse(body);
  EXPECT_EQ(p.total, 5u);
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_THAT(p.indexes, ElementsAre(0, 4));
  EXPECT_EQ(p.records[1].line, "c");
  ASSERT_EQ(p.errors.size(), 3u);
  EXPECT_EQ(p.errors[0].first, 1u);
  EXPECT_THAT(p.errors[0].second, HasSubstr("not valid JSON"));
  EXPECT_EQ(p.errors[1].first, 2u);
  EXPECT_THAT(p.errors[1].second, HasSubstr("bytes_dwn"));
  EXPECT_EQ(p.errors[2].first, 3u);
  EXPECT_THAT(p.errors[2].second, HasSubstr("JSON object"));
}

TEST(UsageJsonTest, OptionalFieldsMayBeNull) {
  ParsedUsage p = MustParse("[" + Obj("a", R"(, "id": null, "device": null, "app": null, "source": null)") + "]");
  ASSERT_EQ(p.records.size(), 1u) << (p.errors.empty() ? "" : p.errors[0].second);
  EXPECT_EQ(p.records[0].id, "");
}

TEST(UsageJsonTest, OnlyOneDirectionIsEnough) {
  ParsedUsage p = MustParse(
      R"([{"line": "a", "bytes_down": 5, "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T00:00:00Z"},
          {"line": "a", "bytes_up": 0, "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T00:01:00Z"}])");
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[0].bytes_up, 0u);
  EXPECT_EQ(p.records[0].bytes_down, 5u);
  EXPECT_EQ(p.records[1].bytes(), 0u);
}

TEST(UsageJsonTest, ExactlyTenTerabytesIsAllowed) {
  ParsedUsage p = MustParse(
      R"([{"line": "a", "bytes_up": 10000000000000, "bytes_down": 10000000000000, "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T01:00:00Z"}])");
  ASSERT_EQ(p.records.size(), 1u);
  EXPECT_EQ(p.records[0].bytes_up, kRecordBytesMax);
}

TEST(UsageJsonTest, FractionalSecondsAreTruncatedToMillis) {
  ParsedUsage p = MustParse(
      R"([{"line": "a", "bytes_up": 1, "start": "2026-03-10T00:00:00.1239Z", "end": "2026-03-10T00:00:01.5+00:00"}])");
  ASSERT_EQ(p.records.size(), 1u);
  EXPECT_EQ(p.records[0].start, T("2026-03-10T00:00:00Z") + 123);
  EXPECT_EQ(p.records[0].end, T("2026-03-10T00:00:01Z") + 500);
}

// ---------------------------------------------------------------------------------------------
// Per-record errors

TEST(UsageJsonErrorTest, NegativeBytes) {
  EXPECT_THAT(ErrorOf(R"({"line": "a", "bytes_up": -1, "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T00:01:00Z"})"),
              AllOf(StartsWith("bytes_up"), HasSubstr("negative")));
  EXPECT_THAT(ErrorOf(R"({"line": "a", "bytes_down": -5.5, "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T00:01:00Z"})"),
              AllOf(StartsWith("bytes_down"), HasSubstr("negative")));
}

TEST(UsageJsonErrorTest, FloatBytes) {
  EXPECT_THAT(ErrorOf(R"({"line": "a", "bytes_up": 1.5, "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T00:01:00Z"})"),
              AllOf(StartsWith("bytes_up"), HasSubstr("whole number")));
  EXPECT_THAT(ErrorOf(R"({"line": "a", "bytes_down": 1e3, "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T00:01:00Z"})"),
              StartsWith("bytes_down"));
}

TEST(UsageJsonErrorTest, StringOrOtherTypeBytes) {
  for (const char* v : {R"("100")", "true", "null", "[1]", "{}"}) {
    std::string obj = std::string(R"({"line": "a", "bytes_down": )") + v +
                      R"(, "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T00:01:00Z"})";
    EXPECT_THAT(ErrorOf(obj), AllOf(StartsWith("bytes_down"), HasSubstr("non-negative integer"))) << v;
  }
}

TEST(UsageJsonErrorTest, OverTenTerabytes) {
  EXPECT_THAT(ErrorOf(R"({"line": "a", "bytes_up": 10000000000001, "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T00:01:00Z"})"),
              AllOf(StartsWith("bytes_up"), HasSubstr("10 TB")));
  EXPECT_THAT(ErrorOf(R"({"line": "a", "bytes_down": 18446744073709551615, "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T00:01:00Z"})"),
              AllOf(StartsWith("bytes_down"), HasSubstr("10 TB")));
  EXPECT_THAT(ErrorOf(R"({"line": "a", "bytes_down": 1e20, "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T00:01:00Z"})"),
              StartsWith("bytes_down"));
}

TEST(UsageJsonErrorTest, TimeWithoutOffset) {
  EXPECT_THAT(ErrorOf(R"({"line": "a", "bytes_up": 1, "start": "2026-03-10T00:00:00", "end": "2026-03-10T00:01:00Z"})"),
              AllOf(StartsWith("start"), HasSubstr("offset")));
  EXPECT_THAT(ErrorOf(R"({"line": "a", "bytes_up": 1, "start": "2026-03-10T00:00:00Z", "end": "2026-03-10 00:01"})"),
              StartsWith("end"));
  EXPECT_THAT(ErrorOf(R"({"line": "a", "bytes_up": 1, "start": 1741564800, "end": "2026-03-10T00:01:00Z"})"),
              AllOf(StartsWith("start"), HasSubstr("string")));
}

TEST(UsageJsonErrorTest, EndBeforeStart) {
  EXPECT_THAT(ErrorOf(R"({"line": "a", "bytes_up": 1, "start": "2026-03-10T00:01:00Z", "end": "2026-03-10T00:00:59Z"})"),
              AllOf(StartsWith("end"), HasSubstr("before start")));
  // The same instant written in two offsets is not "before".
  ParsedUsage p = MustParse(
      R"([{"line": "a", "bytes_up": 1, "start": "2026-03-10T09:00:00+09:00", "end": "2026-03-10T00:00:00Z"}])");
  EXPECT_EQ(p.records.size(), 1u);
}

TEST(UsageJsonErrorTest, UnknownField) {
  EXPECT_THAT(ErrorOf(Obj("a", R"(, "bytes_dwn": 5)")),
              AllOf(StartsWith("bytes_dwn"), HasSubstr("unknown field")));
  EXPECT_THAT(ErrorOf(Obj("a", R"(, "Line": "b")")), StartsWith("Line"));
}

TEST(UsageJsonErrorTest, NonObjectElements) {
  ParsedUsage p = MustParse("[1, \"x\", null, [], " + Obj("ok") + ", true]");
  EXPECT_EQ(p.total, 6u);
  ASSERT_EQ(p.records.size(), 1u);
  EXPECT_THAT(p.indexes, ElementsAre(4));
  ASSERT_EQ(p.errors.size(), 5u);
  std::vector<size_t> idx;
  for (const auto& [i, msg] : p.errors) {
    idx.push_back(i);
    EXPECT_THAT(msg, HasSubstr("JSON object"));
  }
  EXPECT_THAT(idx, ElementsAre(0, 1, 2, 3, 5));
}

TEST(UsageJsonErrorTest, MissingLineStartEndBytes) {
  EXPECT_THAT(ErrorOf(R"({"bytes_up": 1, "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T00:01:00Z"})"),
              AllOf(StartsWith("line"), HasSubstr("missing")));
  EXPECT_THAT(ErrorOf(R"({"line": "", "bytes_up": 1, "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T00:01:00Z"})"),
              AllOf(StartsWith("line"), HasSubstr("missing")));
  EXPECT_THAT(ErrorOf(R"({"line": "a", "bytes_up": 1, "end": "2026-03-10T00:01:00Z"})"),
              AllOf(StartsWith("start"), HasSubstr("missing")));
  EXPECT_THAT(ErrorOf(R"({"line": "a", "bytes_up": 1, "start": "2026-03-10T00:00:00Z"})"),
              AllOf(StartsWith("end"), HasSubstr("missing")));
  EXPECT_THAT(ErrorOf(R"({"line": "a", "bytes_up": 1, "start": "", "end": "2026-03-10T00:01:00Z"})"),
              AllOf(StartsWith("start"), HasSubstr("missing")));
  EXPECT_THAT(ErrorOf(R"({"line": "a", "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T00:01:00Z"})"),
              AllOf(StartsWith("bytes_up"), HasSubstr("missing")));
  EXPECT_THAT(ErrorOf("{}"), HasSubstr("missing"));
}

TEST(UsageJsonErrorTest, StringFieldsMustBeShortStringsWithoutControlCharacters) {
  EXPECT_THAT(ErrorOf(Obj(std::string(257, 'x'))), AllOf(StartsWith("line"), HasSubstr("256")));
  EXPECT_EQ(MustParse("[" + Obj(std::string(256, 'x')) + "]").records.size(), 1u);
  EXPECT_THAT(ErrorOf(Obj("a", R"(, "device": 5)")), AllOf(StartsWith("device"), HasSubstr("string")));
  EXPECT_THAT(ErrorOf(Obj("a", R"(, "app": "a\u0001b")")), AllOf(StartsWith("app"), HasSubstr("control")));
  EXPECT_THAT(ErrorOf(Obj("a\\nb")), AllOf(StartsWith("line"), HasSubstr("control")));
}

TEST(UsageJsonErrorTest, ErrorIndexesInALongArray) {
  std::string body = "[";
  for (int i = 0; i < 50; ++i) {
    if (i) body += ",";
    body += i % 7 == 3 ? Obj("a", R"(, "bytes_up": -1)") : Obj("a");
  }
  body += "]";
  ParsedUsage p = MustParse(body);
  EXPECT_EQ(p.total, 50u);
  std::vector<size_t> want;
  for (size_t i = 0; i < 50; ++i) {
    if (i % 7 == 3) want.push_back(i);
  }
  std::vector<size_t> got;
  for (const auto& e : p.errors) got.push_back(e.first);
  EXPECT_EQ(got, want);
  EXPECT_EQ(p.records.size() + p.errors.size(), 50u);
  for (size_t k = 0; k < p.indexes.size(); ++k) EXPECT_NE(p.indexes[k] % 7, 3u);
}

// ---------------------------------------------------------------------------------------------
// Whole-body errors

TEST(UsageJsonBodyTest, MalformedArrays) {
  for (const std::string& body :
       {std::string("["), std::string("[") + Obj("a"), std::string("[") + Obj("a") + ",",
        std::string("[") + Obj("a") + ",]", std::string("[1 2]"), std::string("[{]"),
        std::string("[]]"), std::string("[] []"), std::string("[\"unterminated]"),
        std::string("[") + Obj("a") + "]\n" + Obj("b")}) {
    ParsedUsage p;
    Status st = ParseUsageBody(body, &p);
    EXPECT_FALSE(st.ok()) << body;
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << body;
    EXPECT_THAT(st.message(), StartsWith("body")) << body;
  }
}

TEST(UsageJsonBodyTest, TooManyRecordsInAnArray) {
  std::string body = "[";
  body.reserve(3 * (kUsageBodyRecordsMax + 2));
  for (size_t i = 0; i <= kUsageBodyRecordsMax; ++i) {
    if (i) body += ",";
    body += "{}";
  }
  body += "]";
  ParsedUsage p;
  Status st = ParseUsageBody(body, &p);
  EXPECT_EQ(st.code(), Status::Code::kResourceExhausted);
  EXPECT_THAT(st.message(), HasSubstr(std::to_string(kUsageBodyRecordsMax)));
}

TEST(UsageJsonBodyTest, ExactlyTheLimitIsFine) {
  std::string body = "[";
  for (size_t i = 0; i < kUsageBodyRecordsMax; ++i) {
    if (i) body += ",";
    body += "1";
  }
  body += "]";
  ParsedUsage p;
  Status st = ParseUsageBody(body, &p);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(p.total, kUsageBodyRecordsMax);
  EXPECT_EQ(p.errors.size(), kUsageBodyRecordsMax);
}

TEST(UsageJsonBodyTest, TooManyJsonLines) {
  std::string body;
  body.reserve(3 * (kUsageBodyRecordsMax + 2));
  for (size_t i = 0; i <= kUsageBodyRecordsMax; ++i) body += "{}\n\n";
  ParsedUsage p;
  Status st = ParseUsageBody(body, &p);
  EXPECT_EQ(st.code(), Status::Code::kResourceExhausted);
  EXPECT_THAT(st.message(), HasSubstr(std::to_string(kUsageBodyRecordsMax)));
}

// ---------------------------------------------------------------------------------------------
// Round trip

TEST(UsageJsonRoundTripTest, FullRecord) {
  UsageRecord r;
  r.id = "rec-\"1\"\\ 東京";
  r.line = "imsi:440101234500001";
  r.bytes_up = 123;
  r.bytes_down = kRecordBytesMax;
  r.start = T("2026-03-10T00:00:00.001Z");
  r.end = T("2026-03-10T00:59:59.999Z");
  r.device = "phone/ünï";
  r.app = "com.example.maps";
  r.source = "radius";
  std::string json = UsageRecordToJson(r);
  UsageRecord back;
  Status st = ParseUsageObject(json, &back);
  ASSERT_TRUE(st.ok()) << st.ToString() << " " << json;
  EXPECT_EQ(back.id, r.id);
  EXPECT_EQ(back.line, r.line);
  EXPECT_EQ(back.bytes_up, r.bytes_up);
  EXPECT_EQ(back.bytes_down, r.bytes_down);
  EXPECT_EQ(back.start, r.start);
  EXPECT_EQ(back.end, r.end);
  EXPECT_EQ(back.device, r.device);
  EXPECT_EQ(back.app, r.app);
  EXPECT_EQ(back.source, r.source);
  EXPECT_EQ(DedupKey(back), DedupKey(r));
}

TEST(UsageJsonRoundTripTest, MinimalRecordOmitsEmptyOptionals) {
  UsageRecord r;
  r.line = "a";
  r.start = T("2026-03-10T00:00:00Z");
  r.end = r.start;
  std::string json = UsageRecordToJson(r);
  EXPECT_THAT(json, ::testing::Not(HasSubstr("\"id\"")));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("device")));
  UsageRecord back;
  Status st = ParseUsageObject(json, &back);
  ASSERT_TRUE(st.ok()) << st.ToString() << " " << json;
  EXPECT_EQ(DedupKey(back), DedupKey(r));  // the content hash is the same after the trip
}

TEST(UsageJsonRoundTripTest, ParsedRecordsSurviveTheTrip) {
  ParsedUsage p = MustParse(Obj("a", R"(, "id": "x", "app": "y")") + "\n" + Obj("msisdn:+8190") + "\n");
  ASSERT_EQ(p.records.size(), 2u);
  for (const UsageRecord& r : p.records) {
    UsageRecord back;
    ASSERT_TRUE(ParseUsageObject(UsageRecordToJson(r), &back).ok());
    EXPECT_EQ(DedupKey(back), DedupKey(r));
  }
}

TEST(UsageJsonRoundTripTest, ParseUsageObjectRejectsNonObjectsAndGarbage) {
  UsageRecord r;
  EXPECT_FALSE(ParseUsageObject("", &r).ok());
  EXPECT_FALSE(ParseUsageObject("[]", &r).ok());
  EXPECT_FALSE(ParseUsageObject("{", &r).ok());
  EXPECT_FALSE(ParseUsageObject("{} {}", &r).ok());
  Status st = ParseUsageObject("{\"line\": \"a\"}", &r);
  EXPECT_FALSE(st.ok());
}

}  // namespace
}  // namespace ryuryo::api
