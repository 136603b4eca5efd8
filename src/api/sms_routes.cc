// GET /v1/sms/kannel?from=%p&to=%P&text=%a[&token=...]: an SMS a subscriber sent to the service
// number, as Kannel's smsbox passes it on (sms-service get-url). The text/plain body is the reply
// that Kannel sends back to the sender; an empty body (with `omit-empty = true` in the
// sms-service group) makes Kannel send nothing. Kannel needs `accept-x-kannel-headers = true`
// there too, for the UCS-2 coding header of Japanese and Chinese replies (PlainText below).
//
// - Kannel has no session: the shared token (?token=, [sms] kannel_token) or the source address
//   ([sms] kannel_allow) lets it in; anything else is 403. When SMS is off the route is 404.
// - The sender is matched to a line by MSISDN (sms/msisdn.h, default country code 81).
// - Keywords (sms/keywords.h) get the facts of the line's usage view in its time zone
//   (sms/reply.h); STOP / START set the line's alert-SMS flag durably (notify/sms_optout.h).
// - A number that is no line's gets a short generic reply, at most
//   sms::kUnknownSenderRepliesPerWindow per sender per window; then an empty body.
#include <algorithm>
#include <optional>

#include "api/api.h"
#include "api/route_util.h"
#include "sms/keywords.h"
#include "sms/msisdn.h"
#include "sms/reply.h"
#include "sms/segments.h"

namespace ryuryo::api {

namespace {

// Senders longer than this (after a failed normalisation) are cut for the limiter's key.
constexpr size_t kSenderKeyBytesMax = 64;

// The reply. A text outside the GSM 7-bit alphabet (Japanese, Chinese) also carries
// `X-Kannel-Coding: 2` (UCS-2): without it Kannel sends the text as GSM 7-bit, every such
// character becoming '?'. Kannel honours the header with `accept-x-kannel-headers = true` in
// the sms-service group, and converts the UTF-8 body to UCS-2 itself.
HttpResponse PlainText(std::string body) {
  HttpResponse r;
  r.content_type = "text/plain; charset=utf-8";
  if (!body.empty() && sms::EncodingFor(body) == sms::SmsEncoding::kUcs2) {
    r.headers.emplace_back("X-Kannel-Coding", "2");
  }
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace

bool Api::RouteSms(HttpRequest& req, const std::vector<std::string_view>& parts,
                   Responder& respond) {
  if (parts.size() != 3 || parts[1] != "sms" || parts[2] != "kannel") return false;
  const SmsOptions& o = options_.sms;
  if (!o.enabled || o.opt_out == nullptr) {
    respond(HttpResponse::Error(Status::NotFound("no route for " + req.path)));
    return true;
  }
  if (req.method != "GET" && req.method != "HEAD") {
    respond(HttpResponse::Error(405, "method_not_allowed",
                                req.method + " is not allowed on " + req.path));
    return true;
  }
  const std::string* token = req.Query("token");
  const bool token_ok =
      !o.kannel_token.empty() && token != nullptr && SameSecret(*token, o.kannel_token);
  const bool address_ok = std::find(o.kannel_allow.begin(), o.kannel_allow.end(),
                                    req.remote_address) != o.kannel_allow.end();
  if (!token_ok && !address_ok) {
    respond(HttpResponse::Error(403, "permission_denied",
                                "incoming SMS: wrong token or address not allowed"));
    return true;
  }
  const std::string* from = req.Query("from");
  if (from == nullptr || from->empty()) {
    respond(Bad("from: missing (the sender, Kannel's %p)"));
    return true;
  }
  ++sms_received_;
  const std::string* text_p = req.Query("text");
  const std::string text = text_p ? *text_p : "";
  const sms::ParsedKeyword kw = sms::ParseKeyword(text);

  std::string digits;
  const bool valid = sms::NormalizeMsisdn(*from, o.default_country_code, &digits).ok();
  const Millis now = ledger_->Now();

  struct Found {
    std::string line;
    std::string locale;
    Zone zone;
    Millis day_start = 0;
    sms::UsageFacts facts;
  };
  std::optional<Found> found;
  if (valid) {
    found = ledger_->Read([&](const Meter& m) -> std::optional<Found> {
      const Line* l = m.FindLine("msisdn:" + digits);
      if (l == nullptr) return std::nullopt;
      UsageView v = m.Usage(*l, now);
      const Balance& b = *v.balance;
      Found f;
      f.line = l->id;
      f.locale = l->locale;
      f.zone = b.zone;
      f.day_start = b.zone.StartOfDay(b.zone.DateAt(now));
      sms::UsageFacts& u = f.facts;
      u.has_quota = v.has_quota;
      u.used_bytes = v.used_bytes;
      u.quota_bytes = v.quota_bytes;
      u.remaining_bytes = v.remaining_bytes;
      u.started = b.started;
      if (b.started) u.cycle_end = sms::LocalStampAt(b.zone, b.cycle_end);
      if (v.forecast.exhausted_at) {
        u.has_exhausted = true;
        u.exhausted_at = sms::LocalStampAt(b.zone, *v.forecast.exhausted_at);
      }
      for (const Bucket* k : v.buckets) {
        if (k->kind != BucketKind::kTopup) continue;
        u.topups.push_back(
            {k->quota_bytes, k->remaining(), sms::LocalStampAt(b.zone, k->expires_at)});
      }
      return f;
    });
  }
  if (!found) {
    std::string key = valid ? digits : from->substr(0, kSenderKeyBytesMax);
    if (!sms_unknown_senders_.Allow(key, now)) {
      ++sms_unknown_limited_;
      respond(PlainText(""));
      return true;
    }
    sms::Language lang = kw.lang == sms::Language::kUnknown ? sms::Language::kJa : kw.lang;
    respond(PlainText(sms::UnknownSenderReply(lang)));
    return true;
  }
  if (kw.kind == sms::Keyword::kToday) {
    std::vector<store::HistoryPoint> points;
    Status st =
        ledger_->store()->ReadHistory(found->line, 'd', found->day_start, now + 1, 0, &points);
    if (st.ok()) {
      for (const store::HistoryPoint& p : points) {
        found->facts.today_bytes += p.bytes_up + p.bytes_down;
      }
    }
  }
  if (kw.kind == sms::Keyword::kStop || kw.kind == sms::Keyword::kStart) {
    Status st = o.opt_out->Set(found->line, kw.kind == sms::Keyword::kStop);
    if (!st.ok()) {
      respond(HttpResponse::Error(st));
      return true;
    }
  }
  const sms::Language lang = sms::ReplyLanguage(found->locale, kw, text);
  respond(PlainText(sms::ReplyText(kw.kind, lang, found->facts)));
  return true;
}

}  // namespace ryuryo::api
