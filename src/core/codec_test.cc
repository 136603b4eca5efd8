#include "core/codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace ryuryo {
namespace {

constexpr uint64_t kGB = 1'000'000'000;

Threshold Th(std::string_view text) {
  Threshold t;
  EXPECT_TRUE(Threshold::Parse(text, &t).ok()) << text;
  return t;
}

std::shared_ptr<Catalog> MakeCatalog() {
  auto c = std::make_shared<Catalog>();
  Plan m;
  m.id = "mvno-20gb";
  m.kind = PlanKind::kMonthly;
  m.quota_bytes = 20 * kGB;
  m.rollover = true;
  m.after_quota.action = QuotaAction::kThrottle;
  m.after_quota.rate_bps = 128'000;
  m.alerts = {Th("80%")};
  EXPECT_TRUE(c->Add(m).ok());
  Plan u;
  u.id = "unlimited-fair";
  u.kind = PlanKind::kUnlimited;
  u.fair_use = FairUse{3 * kMillisPerDay, 10 * kGB, QuotaAction::kThrottle, 1'000'000};
  EXPECT_TRUE(c->Add(u).ok());
  return c;
}

Bucket MakeBucket(uint32_t id, BucketKind kind, uint64_t quota, uint64_t used, Millis from,
                  Millis to, std::string topup_id = "") {
  Bucket k;
  k.id = id;
  k.kind = kind;
  k.quota_bytes = quota;
  k.used_bytes = used;
  k.valid_from = from;
  k.expires_at = to;
  k.topup_id = std::move(topup_id);
  return k;
}

// A line with every field away from its default.
Line FullLine(const Catalog& catalog) {
  Line l;
  l.id = "line-1";
  l.account = "acct-9";
  l.msisdn = "819012345678";
  l.imsi = "440101234567890";
  l.iccid = "8981100000000000001";
  l.locale = "en";
  l.pool = "";
  l.created_at = 1'790'000'000'000;
  l.last_record_at = 1'791'000'000'123;
  l.total_bytes_up = 123'456'789'012;
  l.total_bytes_down = std::numeric_limits<uint64_t>::max() / 3;
  l.member_cycle_bytes = 77;
  l.member_cycle_start = -1;  // negative instants survive the signed varints
  Balance& b = l.own;
  b.plan = catalog.Find("mvno-20gb");
  EXPECT_TRUE(Zone::Find("Europe/Berlin", &b.zone).ok());
  b.started = true;
  b.cycle_start = 1'790'500'000'000;
  b.cycle_end = 1'793'100'000'000;
  b.cycle_bytes_up = 1'000;
  b.cycle_bytes_down = 25 * kGB;
  b.over_quota_bytes = 3 * kGB;
  b.buckets = {MakeBucket(7, BucketKind::kRollover, 5 * kGB, 5 * kGB, b.cycle_start, b.cycle_end),
               MakeBucket(6, BucketKind::kPlan, 20 * kGB, 20 * kGB, b.cycle_start, b.cycle_end),
               MakeBucket(9, BucketKind::kTopup, 1 * kGB, 123, b.cycle_start + 5,
                          b.cycle_end + 30 * kMillisPerDay, "order-42")};
  b.next_bucket_id = 10;
  b.previous.start = 1'787'900'000'000;
  b.previous.end = b.cycle_start;
  b.previous.used_bytes = 15 * kGB;
  b.previous.over_quota_bytes = 1;
  b.previous.buckets = {
      MakeBucket(3, BucketKind::kPlan, 20 * kGB, 15 * kGB, b.previous.start, b.previous.end),
      MakeBucket(5, BucketKind::kTopup, 2 * kGB, 0, b.previous.start + 1, b.previous.end - 1, "x")};
  b.previous.rollover_bucket_id = 7;
  // Values a label would round ("1.23 GB left", "33.33%") must come back exactly.
  b.thresholds = {Th("80%"), Th("1234567890 B left"), Th("pace"), Th("33.33%")};
  b.fired_mask = 0b1011;
  b.exhausted_fired = true;
  b.exhausted_at = b.cycle_start + 12345;
  b.state = LineState::kThrottled;
  b.reason = StateReason::kQuota;
  b.rate_hour = 497'361;
  b.hour_bytes = 4242;
  b.ewma_bytes_per_hour = 1234.5678;
  b.fair_ring = {1, 0, 5, std::numeric_limits<uint64_t>::max()};  // kept: the plan has no fair use
  b.fair_ring_hour = 497'360;
  b.next_deadline = 999;  // not stored: the meter recomputes it
  return l;
}

void ExpectBucketsEq(const std::vector<Bucket>& a, const std::vector<Bucket>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id) << i;
    EXPECT_EQ(a[i].kind, b[i].kind) << i;
    EXPECT_EQ(a[i].quota_bytes, b[i].quota_bytes) << i;
    EXPECT_EQ(a[i].used_bytes, b[i].used_bytes) << i;
    EXPECT_EQ(a[i].valid_from, b[i].valid_from) << i;
    EXPECT_EQ(a[i].expires_at, b[i].expires_at) << i;
    EXPECT_EQ(a[i].topup_id, b[i].topup_id) << i;
  }
}

void ExpectBalancesEq(const Balance& a, const Balance& b) {
  EXPECT_EQ(a.plan, b.plan);
  EXPECT_EQ(a.zone.name(), b.zone.name());
  EXPECT_EQ(a.started, b.started);
  EXPECT_EQ(a.cycle_start, b.cycle_start);
  EXPECT_EQ(a.cycle_end, b.cycle_end);
  EXPECT_EQ(a.cycle_bytes_up, b.cycle_bytes_up);
  EXPECT_EQ(a.cycle_bytes_down, b.cycle_bytes_down);
  EXPECT_EQ(a.over_quota_bytes, b.over_quota_bytes);
  ExpectBucketsEq(a.buckets, b.buckets);
  EXPECT_EQ(a.next_bucket_id, b.next_bucket_id);
  EXPECT_EQ(a.previous.start, b.previous.start);
  EXPECT_EQ(a.previous.end, b.previous.end);
  EXPECT_EQ(a.previous.used_bytes, b.previous.used_bytes);
  EXPECT_EQ(a.previous.over_quota_bytes, b.previous.over_quota_bytes);
  ExpectBucketsEq(a.previous.buckets, b.previous.buckets);
  EXPECT_EQ(a.previous.rollover_bucket_id, b.previous.rollover_bucket_id);
  EXPECT_EQ(a.thresholds, b.thresholds);
  EXPECT_EQ(a.fired_mask, b.fired_mask);
  EXPECT_EQ(a.exhausted_fired, b.exhausted_fired);
  EXPECT_EQ(a.exhausted_at, b.exhausted_at);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.rate_hour, b.rate_hour);
  EXPECT_EQ(a.hour_bytes, b.hour_bytes);
  EXPECT_EQ(a.ewma_bytes_per_hour, b.ewma_bytes_per_hour);
  EXPECT_EQ(a.fair_ring, b.fair_ring);
  EXPECT_EQ(a.fair_ring_hour, b.fair_ring_hour);
}

void ExpectLinesEq(const Line& a, const Line& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.account, b.account);
  EXPECT_EQ(a.msisdn, b.msisdn);
  EXPECT_EQ(a.imsi, b.imsi);
  EXPECT_EQ(a.iccid, b.iccid);
  EXPECT_EQ(a.locale, b.locale);
  EXPECT_EQ(a.pool, b.pool);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.last_record_at, b.last_record_at);
  EXPECT_EQ(a.total_bytes_up, b.total_bytes_up);
  EXPECT_EQ(a.total_bytes_down, b.total_bytes_down);
  EXPECT_EQ(a.member_cycle_bytes, b.member_cycle_bytes);
  EXPECT_EQ(a.member_cycle_start, b.member_cycle_start);
  ExpectBalancesEq(a.own, b.own);
}

TEST(CodecTest, LineRoundTrip) {
  auto catalog = MakeCatalog();
  Line line = FullLine(*catalog);
  std::string data = EncodeLine(line);
  Line back;
  Status st = DecodeLine(data, *catalog, &back);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ExpectLinesEq(line, back);
  EXPECT_EQ(back.own.next_deadline, 0);
  EXPECT_EQ(EncodeLine(back), data);
}

TEST(CodecTest, UnlimitedLineWithFairRingRoundTrip) {
  auto catalog = MakeCatalog();
  Line line;
  line.id = "u1";
  line.own.plan = catalog->Find("unlimited-fair");
  line.own.zone = Zone::Tokyo();
  line.own.started = true;
  line.own.state = LineState::kThrottled;
  line.own.reason = StateReason::kFairUse;
  line.own.fair_ring.assign(72, 0);
  for (size_t i = 0; i < line.own.fair_ring.size(); ++i) line.own.fair_ring[i] = i * 1'000'003;
  line.own.fair_ring_hour = 500'000;
  Line back;
  ASSERT_TRUE(DecodeLine(EncodeLine(line), *catalog, &back).ok());
  ExpectLinesEq(line, back);
}

TEST(CodecTest, FairRingOfAnotherWindowStartsAfresh) {
  auto catalog = MakeCatalog();
  Line line;
  line.id = "u1";
  line.own.plan = catalog->Find("unlimited-fair");
  line.own.zone = Zone::Tokyo();
  line.own.fair_ring.assign(24, 5);  // the plan's window was 1d, is 3d now
  Line back;
  ASSERT_TRUE(DecodeLine(EncodeLine(line), *catalog, &back).ok());
  EXPECT_EQ(back.own.fair_ring, std::vector<uint64_t>(72, 0));
}

TEST(CodecTest, PoolMemberWithoutOwnPlan) {
  auto catalog = MakeCatalog();
  Line line;
  line.id = "m1";
  line.pool = "fam";
  line.member_cycle_bytes = 5;
  Line back;
  ASSERT_TRUE(DecodeLine(EncodeLine(line), *catalog, &back).ok());
  ExpectLinesEq(line, back);
  EXPECT_EQ(back.own.plan, nullptr);
  EXPECT_FALSE(back.own.zone.valid());
}

TEST(CodecTest, PoolRoundTrip) {
  auto catalog = MakeCatalog();
  Pool pool;
  pool.id = "fam";
  pool.account = "acct-1";
  pool.created_at = 1'790'000'000'000;
  pool.balance = FullLine(*catalog).own;
  pool.members = {3, 1, 4};  // not stored: rebuilt from the lines on recovery
  std::string data = EncodePool(pool);
  Pool back;
  Status st = DecodePool(data, *catalog, &back);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(back.id, pool.id);
  EXPECT_EQ(back.account, pool.account);
  EXPECT_EQ(back.created_at, pool.created_at);
  EXPECT_TRUE(back.members.empty());
  ExpectBalancesEq(pool.balance, back.balance);
  EXPECT_EQ(EncodePool(back), data);
}

TEST(CodecTest, MeterStateRoundTrips) {
  auto catalog = MakeCatalog();
  Meter meter(catalog);
  Effects fx;
  Millis now = 1'790'000'000'000;
  ASSERT_TRUE(meter.PutPool({"fam", "mvno-20gb", "acct", "UTC"}, now, &fx).ok());
  LineSpec a;
  a.id = "a";
  a.plan = "mvno-20gb";
  a.msisdn = "+819012345678";
  ASSERT_TRUE(meter.PutLine(a, now, &fx).ok());
  LineSpec u;
  u.id = "u";
  u.plan = "unlimited-fair";
  ASSERT_TRUE(meter.PutLine(u, now, &fx).ok());
  LineSpec m;
  m.id = "m";
  m.pool = "fam";
  ASSERT_TRUE(meter.PutLine(m, now, &fx).ok());
  for (int day = 0; day < 70; ++day) {
    Millis t = now + day * kMillisPerDay;
    std::vector<UsageRecord> rs;
    for (const char* key : {"a", "u", "m"}) {
      UsageRecord r;
      r.line = key;
      r.bytes_down = 700'000'000ULL + static_cast<uint64_t>(day) * 1'000;
      r.start = t - kMillisPerHour;
      r.end = t;
      rs.push_back(r);
    }
    meter.Apply(rs, t, &fx);
    if (day == 20) {
      Bucket k;
      ASSERT_TRUE(meter.TopUp("a", {kGB, 30 * kMillisPerDay, "t1"}, t, &fx, &k).ok());
      ASSERT_TRUE(meter.SetThresholds("a", {Th("50%"), Th("500 MB left")}, t, &fx).ok());
    }
  }
  for (size_t i = 0; i < meter.line_count(); ++i) {
    const Line& l = meter.line(i);
    std::string data = EncodeLine(l);
    Line back;
    ASSERT_TRUE(DecodeLine(data, *catalog, &back).ok()) << l.id;
    ExpectLinesEq(l, back);
    EXPECT_EQ(EncodeLine(back), data);
  }
  Pool back;
  ASSERT_TRUE(DecodePool(EncodePool(meter.pool(0)), *catalog, &back).ok());
  ExpectBalancesEq(meter.pool(0).balance, back.balance);
}

TEST(CodecTest, EveryPrefixIsAnError) {
  auto catalog = MakeCatalog();
  Line line = FullLine(*catalog);
  std::string data = EncodeLine(line);
  for (size_t n = 0; n < data.size(); ++n) {
    Line back;
    Status st = DecodeLine(std::string_view(data).substr(0, n), *catalog, &back);
    EXPECT_FALSE(st.ok()) << "prefix of " << n << " bytes decoded";
  }
  Pool pool;
  pool.id = "fam";
  pool.balance = line.own;
  data = EncodePool(pool);
  for (size_t n = 0; n < data.size(); ++n) {
    Pool back;
    EXPECT_FALSE(DecodePool(std::string_view(data).substr(0, n), *catalog, &back).ok()) << n;
  }
}

TEST(CodecTest, TrailingBytesAreAnError) {
  auto catalog = MakeCatalog();
  std::string data = EncodeLine(FullLine(*catalog)) + '\0';
  Line back;
  EXPECT_EQ(DecodeLine(data, *catalog, &back).code(), Status::Code::kIOError);
}

TEST(CodecTest, UnknownFormatAndPlan) {
  auto catalog = MakeCatalog();
  std::string data = EncodeLine(FullLine(*catalog));
  std::string bad = data;
  bad[0] = 2;
  Line back;
  EXPECT_EQ(DecodeLine(bad, *catalog, &back).code(), Status::Code::kIOError);
  EXPECT_FALSE(DecodeLine("", *catalog, &back).ok());
  Catalog empty;
  Status st = DecodeLine(data, empty, &back);
  EXPECT_EQ(st.code(), Status::Code::kNotFound);
  EXPECT_NE(st.message().find("mvno-20gb"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("line-1"), std::string::npos) << st.message();
}

TEST(CodecTest, CorruptInputNeverCrashes) {
  auto catalog = MakeCatalog();
  const std::string line_data = EncodeLine(FullLine(*catalog));
  Pool pool;
  pool.id = "fam";
  pool.balance = FullLine(*catalog).own;
  const std::string pool_data = EncodePool(pool);
  std::mt19937_64 rng(20261127);
  int decoded = 0;
  for (int i = 0; i < 20'000; ++i) {
    const std::string& src = i % 2 == 0 ? line_data : pool_data;
    std::string data = src;
    switch (rng() % 4) {
      case 0:  // flip a few bits
        for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) {
          data[rng() % data.size()] ^= static_cast<char>(1 << (rng() % 8));
        }
        break;
      case 1:  // overwrite a byte with an extreme value
        data[rng() % data.size()] = static_cast<char>(rng() % 2 == 0 ? 0xff : 0x80);
        break;
      case 2:  // cut a piece out
        data.erase(rng() % data.size(), 1 + rng() % 8);
        break;
      default:  // random garbage
        data.resize(rng() % 200);
        for (char& c : data) c = static_cast<char>(rng());
        if (!data.empty()) data[0] = 1;
        break;
    }
    if (i % 2 == 0) {
      Line back;
      if (DecodeLine(data, *catalog, &back).ok()) {
        ++decoded;
        (void)EncodeLine(back);
      }
    } else {
      Pool back;
      if (DecodePool(data, *catalog, &back).ok()) {
        ++decoded;
        (void)EncodePool(back);
      }
    }
  }
  // Most damage is caught; some flips land in a value and decode as a different value.
  EXPECT_LT(decoded, 20'000);
}

TEST(CodecTest, BucketWithMoreUsedThanQuotaIsCorrupt) {
  auto catalog = MakeCatalog();
  Line line = FullLine(*catalog);
  line.own.buckets[2].used_bytes = line.own.buckets[2].quota_bytes + 1;
  Line back;
  EXPECT_EQ(DecodeLine(EncodeLine(line), *catalog, &back).code(), Status::Code::kIOError);
}

TEST(CodecTest, Varints) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{300},
                     uint64_t{1} << 32, std::numeric_limits<uint64_t>::max()}) {
    std::string s;
    PutVarint(&s, v);
    Reader r(s);
    uint64_t back = 0;
    ASSERT_TRUE(r.Varint(&back)) << v;
    EXPECT_EQ(back, v);
    EXPECT_TRUE(r.done());
  }
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, int64_t{-64}, int64_t{64},
                    std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
    std::string s;
    PutSignedVarint(&s, v);
    Reader r(s);
    int64_t back = 0;
    ASSERT_TRUE(r.SignedVarint(&back)) << v;
    EXPECT_EQ(back, v);
  }
  std::string small;
  PutSignedVarint(&small, -1);
  EXPECT_EQ(small.size(), 1u);  // zigzag: small magnitudes stay small
  // Unterminated and overlong varints are errors.
  Reader unterminated(std::string_view("\x80\x80", 2));
  uint64_t v;
  EXPECT_FALSE(unterminated.Varint(&v));
  std::string overlong(11, '\x80');
  overlong.push_back('\x01');
  Reader r(overlong);
  EXPECT_FALSE(r.Varint(&v));
}

TEST(CodecTest, StringsAndBytes) {
  std::string s;
  PutString(&s, "hello");
  PutString(&s, "");
  s.push_back('\x07');
  Reader r(s);
  std::string a, b;
  uint8_t byte;
  ASSERT_TRUE(r.String(&a));
  ASSERT_TRUE(r.String(&b));
  ASSERT_TRUE(r.Byte(&byte));
  EXPECT_EQ(a, "hello");
  EXPECT_EQ(b, "");
  EXPECT_EQ(byte, 7);
  EXPECT_TRUE(r.done());
  EXPECT_FALSE(r.Byte(&byte));
  // A length beyond the data.
  std::string lying;
  PutVarint(&lying, 100);
  lying += "short";
  Reader r2(lying);
  EXPECT_FALSE(r2.String(&a));
  double d;
  Reader r3(std::string_view("1234567", 7));
  EXPECT_FALSE(r3.Double(&d));
}

TEST(CodecTest, Fixed64SortsLikeTheNumber) {
  std::vector<uint64_t> values = {
      0, 1, 255, 256, 65'535, uint64_t{1} << 40, std::numeric_limits<uint64_t>::max()};
  std::string prev;
  for (uint64_t v : values) {
    std::string s;
    PutFixed64BE(&s, v);
    ASSERT_EQ(s.size(), 8u);
    EXPECT_EQ(DecodeFixed64BE(s), v);
    if (!prev.empty()) {
      EXPECT_LT(prev, s);
    }
    prev = s;
  }
}

}  // namespace
}  // namespace ryuryo
