#include "core/codec.h"

#include <cstdint>
#include <cstring>

namespace ryuryo {

namespace {
constexpr uint8_t kFormatV1 = 1;
}

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutSignedVarint(std::string* out, int64_t v) {
  PutVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

void PutFixed64BE(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t DecodeFixed64BE(std::string_view data) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(data[i]);
  return v;
}

bool Reader::Varint(uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !data_.empty(); shift += 7) {
    uint8_t byte = static_cast<uint8_t>(data_[0]);
    data_.remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool Reader::SignedVarint(int64_t* v) {
  uint64_t u;
  if (!Varint(&u)) return false;
  *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

bool Reader::String(std::string* s) {
  uint64_t n;
  if (!Varint(&n) || n > data_.size()) return false;
  s->assign(data_.data(), n);
  data_.remove_prefix(n);
  return true;
}

bool Reader::Double(double* d) {
  if (data_.size() < 8) return false;
  std::memcpy(d, data_.data(), 8);
  data_.remove_prefix(8);
  return true;
}

bool Reader::Byte(uint8_t* b) {
  if (data_.empty()) return false;
  *b = static_cast<uint8_t>(data_[0]);
  data_.remove_prefix(1);
  return true;
}

namespace {

void PutDouble(std::string* out, double d) {
  char buf[8];
  std::memcpy(buf, &d, 8);
  out->append(buf, 8);
}

void PutBucket(std::string* out, const Bucket& k) {
  PutVarint(out, k.id);
  out->push_back(static_cast<char>(k.kind));
  PutVarint(out, k.quota_bytes);
  PutVarint(out, k.used_bytes);
  PutSignedVarint(out, k.valid_from);
  PutSignedVarint(out, k.expires_at);
  PutString(out, k.topup_id);
}

bool GetBucket(Reader* r, Bucket* k) {
  uint64_t id;
  uint8_t kind;
  if (!r->Varint(&id) || !r->Byte(&kind) || kind > 2 || !r->Varint(&k->quota_bytes) ||
      !r->Varint(&k->used_bytes) || !r->SignedVarint(&k->valid_from) ||
      !r->SignedVarint(&k->expires_at) || !r->String(&k->topup_id)) {
    return false;
  }
  if (k->used_bytes > k->quota_bytes || id > UINT32_MAX) return false;
  k->id = static_cast<uint32_t>(id);
  k->kind = static_cast<BucketKind>(kind);
  return true;
}

void PutBuckets(std::string* out, const std::vector<Bucket>& buckets) {
  PutVarint(out, buckets.size());
  for (const Bucket& k : buckets) PutBucket(out, k);
}

bool GetBuckets(Reader* r, std::vector<Bucket>* buckets) {
  uint64_t n;
  if (!r->Varint(&n) || n > 4 * kBucketsPerBalanceMax) return false;
  buckets->resize(n);
  for (Bucket& k : *buckets) {
    if (!GetBucket(r, &k)) return false;
  }
  return true;
}

void PutBalance(std::string* out, const Balance& b) {
  PutString(out, b.plan ? b.plan->id : "");
  PutString(out, b.zone.name());
  out->push_back(b.started ? 1 : 0);
  PutSignedVarint(out, b.cycle_start);
  PutSignedVarint(out, b.cycle_end);
  PutVarint(out, b.cycle_bytes_up);
  PutVarint(out, b.cycle_bytes_down);
  PutVarint(out, b.over_quota_bytes);
  PutBuckets(out, b.buckets);
  PutVarint(out, b.next_bucket_id);
  PutSignedVarint(out, b.previous.start);
  PutSignedVarint(out, b.previous.end);
  PutVarint(out, b.previous.used_bytes);
  PutVarint(out, b.previous.over_quota_bytes);
  PutBuckets(out, b.previous.buckets);
  PutVarint(out, b.previous.rollover_bucket_id);
  PutVarint(out, b.thresholds.size());
  for (const Threshold& t : b.thresholds) {  // exact values: a label rounds ("1.23 GB left")
    out->push_back(static_cast<char>(t.kind));
    PutVarint(out, t.percent_bp);
    PutVarint(out, t.bytes_left);
  }
  PutVarint(out, b.fired_mask);
  out->push_back(b.exhausted_fired ? 1 : 0);
  PutSignedVarint(out, b.exhausted_at);
  out->push_back(static_cast<char>(b.state));
  out->push_back(static_cast<char>(b.reason));
  PutSignedVarint(out, b.rate_hour);
  PutVarint(out, b.hour_bytes);
  PutDouble(out, b.ewma_bytes_per_hour);
  PutVarint(out, b.fair_ring.size());
  for (uint64_t v : b.fair_ring) PutVarint(out, v);
  PutSignedVarint(out, b.fair_ring_hour);
}

Status GetBalance(Reader* r, const Catalog& catalog, Balance* b, std::string_view owner) {
  auto corrupt = [&](const char* what) {
    return Status::IOError(std::string(owner) + ": corrupt stored state (" + what + ")");
  };
  std::string plan_id, zone_name;
  if (!r->String(&plan_id) || !r->String(&zone_name)) return corrupt("plan");
  if (plan_id.empty()) {
    b->plan = nullptr;
  } else {
    b->plan = catalog.Find(plan_id);
    if (b->plan == nullptr) {
      return Status::NotFound(std::string(owner) + ": plan '" + plan_id +
                              "' is no longer in the catalog");
    }
  }
  if (!zone_name.empty()) RYURYO_RETURN_IF_ERROR(Zone::Find(zone_name, &b->zone).Prefixed(owner));
  uint8_t started, exhausted, state, reason;
  uint64_t next_id, rollover_id, nthresholds, nring;
  if (!r->Byte(&started) || !r->SignedVarint(&b->cycle_start) || !r->SignedVarint(&b->cycle_end) ||
      !r->Varint(&b->cycle_bytes_up) || !r->Varint(&b->cycle_bytes_down) ||
      !r->Varint(&b->over_quota_bytes) || !GetBuckets(r, &b->buckets) || !r->Varint(&next_id) ||
      !r->SignedVarint(&b->previous.start) || !r->SignedVarint(&b->previous.end) ||
      !r->Varint(&b->previous.used_bytes) || !r->Varint(&b->previous.over_quota_bytes) ||
      !GetBuckets(r, &b->previous.buckets) || !r->Varint(&rollover_id) ||
      !r->Varint(&nthresholds) || nthresholds > kThresholdsMax) {
    return corrupt("cycle");
  }
  if (next_id > UINT32_MAX || rollover_id > UINT32_MAX) return corrupt("bucket ids");
  b->started = started != 0;
  b->next_bucket_id = static_cast<uint32_t>(next_id);
  b->previous.rollover_bucket_id = static_cast<uint32_t>(rollover_id);
  b->thresholds.resize(nthresholds);
  for (Threshold& t : b->thresholds) {
    uint8_t kind;
    uint64_t percent_bp;
    if (!r->Byte(&kind) || kind > static_cast<uint8_t>(Threshold::Kind::kPace) ||
        !r->Varint(&percent_bp) || percent_bp > 10'000 || !r->Varint(&t.bytes_left)) {
      return corrupt("thresholds");
    }
    t.kind = static_cast<Threshold::Kind>(kind);
    t.percent_bp = static_cast<uint32_t>(percent_bp);
  }
  if (!r->Varint(&b->fired_mask) || !r->Byte(&exhausted) || !r->SignedVarint(&b->exhausted_at) ||
      !r->Byte(&state) || state > 2 || !r->Byte(&reason) || reason > 3 ||
      !r->SignedVarint(&b->rate_hour) || !r->Varint(&b->hour_bytes) ||
      !r->Double(&b->ewma_bytes_per_hour) || !r->Varint(&nring) ||
      nring > static_cast<uint64_t>(kFairUseWindowMsMax / kMillisPerHour)) {
    return corrupt("state");
  }
  b->exhausted_fired = exhausted != 0;
  b->state = static_cast<LineState>(state);
  b->reason = static_cast<StateReason>(reason);
  b->fair_ring.resize(nring);
  for (uint64_t& v : b->fair_ring) {
    if (!r->Varint(&v)) return corrupt("fair use");
  }
  if (!r->SignedVarint(&b->fair_ring_hour)) return corrupt("fair use");
  if (!r->done()) return corrupt("trailing bytes");
  // A plan whose fair-use window changed since: start the ring afresh.
  if (b->plan != nullptr && b->plan->fair_use &&
      b->fair_ring.size() != static_cast<size_t>(b->plan->fair_use->window_ms / kMillisPerHour)) {
    b->fair_ring.assign(static_cast<size_t>(b->plan->fair_use->window_ms / kMillisPerHour), 0);
  }
  return Status::Ok();
}

}  // namespace

std::string EncodeLine(const Line& l) {
  std::string out;
  out.reserve(160);
  out.push_back(static_cast<char>(kFormatV1));
  PutString(&out, l.id);
  PutString(&out, l.account);
  PutString(&out, l.msisdn);
  PutString(&out, l.imsi);
  PutString(&out, l.iccid);
  PutString(&out, l.locale);
  PutString(&out, l.pool);
  PutSignedVarint(&out, l.created_at);
  PutSignedVarint(&out, l.last_record_at);
  PutVarint(&out, l.total_bytes_up);
  PutVarint(&out, l.total_bytes_down);
  PutVarint(&out, l.member_cycle_bytes);
  PutSignedVarint(&out, l.member_cycle_start);
  PutBalance(&out, l.own);
  return out;
}

Status DecodeLine(std::string_view data, const Catalog& catalog, Line* l) {
  Reader r(data);
  uint8_t format;
  if (!r.Byte(&format) || format != kFormatV1)
    return Status::IOError("line: unknown stored format");
  if (!r.String(&l->id) || !r.String(&l->account) || !r.String(&l->msisdn) || !r.String(&l->imsi) ||
      !r.String(&l->iccid) || !r.String(&l->locale) || !r.String(&l->pool) ||
      !r.SignedVarint(&l->created_at) || !r.SignedVarint(&l->last_record_at) ||
      !r.Varint(&l->total_bytes_up) || !r.Varint(&l->total_bytes_down) ||
      !r.Varint(&l->member_cycle_bytes) || !r.SignedVarint(&l->member_cycle_start)) {
    return Status::IOError("line: corrupt stored state");
  }
  return GetBalance(&r, catalog, &l->own, "line '" + l->id + "'");
}

std::string EncodePool(const Pool& p) {
  std::string out;
  out.push_back(static_cast<char>(kFormatV1));
  PutString(&out, p.id);
  PutString(&out, p.account);
  PutSignedVarint(&out, p.created_at);
  PutBalance(&out, p.balance);
  return out;
}

Status DecodePool(std::string_view data, const Catalog& catalog, Pool* p) {
  Reader r(data);
  uint8_t format;
  if (!r.Byte(&format) || format != kFormatV1)
    return Status::IOError("pool: unknown stored format");
  if (!r.String(&p->id) || !r.String(&p->account) || !r.SignedVarint(&p->created_at)) {
    return Status::IOError("pool: corrupt stored state");
  }
  return GetBalance(&r, catalog, &p->balance, "pool '" + p->id + "'");
}

}  // namespace ryuryo
