// Sending one SMS through Kannel's sendsms HTTP interface (smsbox `sendsms-port`):
//   GET <url>?username=..&password=..&from=..&to=%2B819012345678&text=..&charset=UTF-8[&coding=2]
// The text is sent as UTF-8; a text outside the GSM 7-bit alphabet (Japanese, Chinese) also
// asks for UCS-2 (`coding=2`), else Kannel would send it as GSM 7-bit with every such character
// turned into '?'. Kannel answers 202 ("0: Accepted for delivery" or "3: Queued for later
// delivery") once the message is in its queue; anything else is a failure, which the caller
// retries later.
//
// Thread-safety: pure and blocking (notify/http_client.h); safe from any thread. Never call it
// on the event loop: it waits up to `timeout_ms` for Kannel.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace ryuryo::notify {

struct KannelSendOptions {
  std::string url;  // e.g. "http://127.0.0.1:13013/cgi-bin/sendsms"; empty: SMS sending is off
  std::string username;
  std::string password;
  std::string from;  // the sender shown to the subscriber (a short code or a name)
  int timeout_ms = 5000;
};

// The request URL for one SMS to `to_e164_digits` ("819012345678": sent as "+819012345678").
std::string KannelSendUrl(const KannelSendOptions& options, std::string_view to_e164_digits,
                          std::string_view text);

// Sends one SMS; ok once Kannel accepted it. Unavailable (naming Kannel's answer) otherwise.
Status SendSmsViaKannel(const KannelSendOptions& options, std::string_view to_e164_digits,
                        std::string_view text);

// "a b&c" -> "a%20b%26c": every byte but ALPHA / DIGIT / "-._~" (RFC 3986 unreserved) and the
// characters of `keep` percent-encoded.
std::string PercentEncode(std::string_view text, std::string_view keep = {});

}  // namespace ryuryo::notify
