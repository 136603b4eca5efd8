#include "notify/kannel.h"

#include "notify/http_client.h"
#include "sms/segments.h"

namespace ryuryo::notify {

namespace {

// Kannel's answers are short ("0: Accepted for delivery"); longer ones are cut in errors.
constexpr size_t kAnswerBytesShownMax = 200;

}  // namespace

std::string PercentEncode(std::string_view text, std::string_view keep) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_' || c == '~' ||
                       keep.find(static_cast<char>(c)) != std::string_view::npos;
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string KannelSendUrl(const KannelSendOptions& options, std::string_view to_e164_digits,
                          std::string_view text) {
  std::string url = options.url;
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += "username=" + PercentEncode(options.username);
  url += "&password=" + PercentEncode(options.password);
  if (!options.from.empty()) url += "&from=" + PercentEncode(options.from);
  url += "&to=%2B" + PercentEncode(to_e164_digits);
  url += "&text=" + PercentEncode(text);
  url += "&charset=UTF-8";
  if (sms::EncodingFor(text) == sms::SmsEncoding::kUcs2) url += "&coding=2";
  return url;
}

Status SendSmsViaKannel(const KannelSendOptions& options, std::string_view to_e164_digits,
                        std::string_view text) {
  if (options.url.empty()) return Status::Unavailable("SMS sending is not configured");
  HttpClientRequest req;
  req.method = "GET";
  req.url = KannelSendUrl(options, to_e164_digits, text);
  req.timeout_ms = options.timeout_ms;
  HttpClientResponse resp;
  Status st = SendHttp(req, &resp);
  if (!st.ok()) return Status::Unavailable("kannel: " + st.message());
  if (resp.status >= 200 && resp.status < 300) return Status::Ok();
  std::string answer = resp.body.substr(0, kAnswerBytesShownMax);
  while (!answer.empty() && (answer.back() == '\n' || answer.back() == '\r')) answer.pop_back();
  return Status::Unavailable("kannel: HTTP " + std::to_string(resp.status) +
                             (answer.empty() ? "" : ": " + answer));
}

}  // namespace ryuryo::notify
