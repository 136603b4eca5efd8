#include "radius/access.h"

#include "radius/auth.h"
#include "radius/dictionary.h"

namespace ryuryo::radius {

namespace {

constexpr uint8_t kProxyState = 33;
constexpr uint8_t kEapMessage = 79;
constexpr uint8_t kEapCodeFailure = 4;

constexpr const char* kOutcomeNames[kAccessOutcomeCount] = {
    "accepted",
    "rejected_blocked",
    "rejected_unknown",
    "rejected_eap",
    "dropped_malformed",
    "dropped_not_access_request",
    "dropped_bad_authenticator",
    "dropped_missing_authenticator",
    "dropped_response_too_large",
};

AccessResult Dropped(AccessOutcome outcome, std::string detail) {
  AccessResult r;
  r.outcome = outcome;
  r.detail = std::move(detail);
  return r;
}

void Append(std::vector<Attribute>* to, std::vector<Attribute> from) {
  for (Attribute& a : from) to->push_back(std::move(a));
}

}  // namespace

const char* AccessOutcomeName(AccessOutcome outcome) {
  const int i = static_cast<int>(outcome);
  return i >= 0 && i < kAccessOutcomeCount ? kOutcomeNames[i] : "unknown";
}

AccessResult HandleAccessRequest(std::span<const uint8_t> datagram, std::string_view secret,
                                 const LineLookup& lookup, const RadiusPolicy& policy,
                                 const AccessOptions& options) {
  Packet request;
  Status st = Decode(datagram, &request);
  if (!st.ok()) return Dropped(AccessOutcome::kDroppedMalformed, st.message());
  if (request.code != kAccessRequest) {
    return Dropped(AccessOutcome::kDroppedNotAccessRequest, CodeName(request.code));
  }
  const Attribute* eap = Find(request, kEapMessage);
  switch (CheckMessageAuthenticator(datagram, secret, request.authenticator)) {
    case MessageAuthenticatorCheck::kInvalid:
      return Dropped(AccessOutcome::kDroppedBadAuthenticator,
                     "wrong Message-Authenticator (or a wrong secret)");
    case MessageAuthenticatorCheck::kAbsent:
      if (eap != nullptr) {
        return Dropped(AccessOutcome::kDroppedMissingAuthenticator,
                       "EAP-Message without a Message-Authenticator");
      }
      if (options.require_message_authenticator) {
        return Dropped(AccessOutcome::kDroppedMissingAuthenticator,
                       "no Message-Authenticator, and the client must send one");
      }
      break;
    case MessageAuthenticatorCheck::kValid:
      break;
  }

  AccessResult result;
  Packet response;
  response.identifier = request.identifier;
  response.attributes.push_back(
      StringAttribute(kMessageAuthenticator, std::string(kRadiusAuthenticatorBytes, '\0')));
  if (eap != nullptr) {
    // RFC 3579 §2.6.3: an Access-Reject answering EAP carries EAP-Failure, with the identifier
    // of the request's EAP packet.
    const uint8_t eap_id = eap->value.size() >= 2 ? static_cast<uint8_t>(eap->value[1]) : 0;
    response.code = kAccessReject;
    response.attributes.push_back(StringAttribute(
        kEapMessage,
        std::string{static_cast<char>(kEapCodeFailure), static_cast<char>(eap_id), 0, 4}));
    result.outcome = AccessOutcome::kRejectedEap;
  } else {
    result.facts = lookup ? lookup(request) : std::nullopt;
    if (!result.facts) {
      response.code = kAccessReject;
      Append(&response.attributes, ReplyMessageAttributes(options.unknown_message));
      result.outcome = AccessOutcome::kRejectedUnknown;
    } else if (policy.Refuses(result.facts->state)) {
      response.code = kAccessReject;
      Append(&response.attributes,
             ReplyMessageAttributes(policy.ReplyMessageFor(result.facts->state, *result.facts)));
      result.outcome = AccessOutcome::kRejectedBlocked;
    } else {
      response.code = kAccessAccept;
      Append(&response.attributes, policy.AttributesFor(result.facts->state, *result.facts));
      result.outcome = AccessOutcome::kAccepted;
    }
  }
  for (const Attribute& a : request.attributes) {
    if (a.vendor == 0 && a.type == kProxyState) response.attributes.push_back(a);
  }
  std::string wire;
  st = EncodeResponse(response, request.authenticator, secret, &wire);
  if (!st.ok()) {
    AccessResult dropped = Dropped(AccessOutcome::kDroppedResponseTooLarge, st.message());
    dropped.facts = std::move(result.facts);
    return dropped;
  }
  result.response = std::move(wire);
  return result;
}

}  // namespace ryuryo::radius
