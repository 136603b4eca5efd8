// Accounts: subscriber accounts, sign-in sessions and one-time login links for the dashboard.
//
// - Passwords are hashed with Argon2id (libsodium's crypto_pwhash_str); a hash carries its own
//   salt and cost, so a later change of the cost applies to new passwords only.
// - Session tokens and login-link tokens are 256 random bits, given to the browser once; the
//   store keeps only their SHA-256, so a copy of the store cannot be used to sign in.
// - Every session has its own CSRF token, which the dashboard sends back in X-CSRF-Token on every
//   request that changes something.
// - Failed sign-ins are counted per account and per remote address in a sliding window; past the
//   limit, sign-in is refused (with the time to wait) without even checking the password.
// - A login link (issued by an operator) signs in once and expires after `login_link_ttl_ms`.
// - A sign-in code by SMS (IssueSmsCode, sent by the caller to the line's number) is 6 random
//   digits, valid for `sms_code_ttl_ms`, good for one sign-in, and dies after
//   `sms_code_attempts_max` wrong tries; a new code replaces the number's previous one, and at
//   most `sms_codes_per_number_max` codes per number (and `sms_codes_per_address_max` requests
//   per address) are issued per failure window. Codes live in memory only (a restart asks the
//   subscriber for a new one) and are kept as SHA-256.
//
// Everything lives in the store's `accounts` column family (keys "a/<id>", "s/<sha256>",
// "l/<sha256>") and in memory. Every change is synced before the call returns.
//
// Thread-safety: every method may be called from any thread. Hashing or checking a password takes
// tens of milliseconds of CPU and `memlimit_bytes` of memory: call Put with a password and
// SignInWithPassword off the event loop.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/timeutil.h"
#include "store/store.h"

namespace ryuryo::api {

struct Account {
  std::string id;
  std::string name;
  std::string locale = "ja";  // ja | zh | en
  bool collect_apps = false;  // per-app usage is recorded only after the subscriber opts in
  std::string password_hash;  // empty: no password (sign-in only by login link)
  Millis created_at = 0;
  Millis updated_at = 0;
};

// What PUT /v1/accounts/{id} and PUT /v1/me change; fields left unset keep their value.
struct AccountSpec {
  std::string id;
  std::optional<std::string> name;
  std::optional<std::string> password;
  std::optional<std::string> locale;
  std::optional<bool> collect_apps;
};

enum class Role { kSubscriber, kAdmin };
const char* RoleName(Role role);

struct Session {
  Role role = Role::kSubscriber;
  std::string account;     // empty for an operator
  std::string csrf_token;  // sent back in X-CSRF-Token
  Millis created_at = 0;
  Millis expires_at = 0;
};

// A new session: `token` is the cookie's value, given out once.
struct SignIn {
  std::string token;
  Session session;
};

struct AccountsOptions {
  int64_t session_ttl_ms = 14 * kMillisPerDay;
  int64_t login_link_ttl_ms = 15 * kMillisPerMinute;
  size_t sessions_max = 100000;    // beyond it, the session closest to expiry is dropped
  size_t login_links_max = 10000;  // live links; beyond it, issuing fails
  size_t accounts_max = 10000000;
  // Sign-in throttling: failures counted over the window.
  uint32_t failures_per_account_max = 5;
  uint32_t failures_per_address_max = 20;
  int64_t failure_window_ms = 15 * kMillisPerMinute;
  size_t throttle_entries_max = 100000;  // tracked accounts and addresses, each
  // Argon2id cost (libsodium's "interactive" level by default: 2 passes, 64 MiB).
  uint64_t opslimit = 2;
  size_t memlimit_bytes = 64ull << 20;
  size_t password_bytes_min = 8;
  size_t password_bytes_max = 1024;
  // Sign-in codes by SMS.
  int64_t sms_code_ttl_ms = 5 * kMillisPerMinute;
  uint32_t sms_code_attempts_max = 5;
  uint32_t sms_codes_per_number_max = 3;
  uint32_t sms_codes_per_address_max = 10;
  size_t sms_codes_max = 100000;  // live codes; beyond it, expired ones go, then issuing fails
};

// The number of digits of an SMS sign-in code.
inline constexpr size_t kSmsCodeDigits = 6;

class Accounts {
 public:
  using Clock = std::function<Millis()>;

  // Loads accounts, live sessions and login links from the store (expired ones are deleted).
  static Status Open(store::Store* store, AccountsOptions options, Clock clock,
                     std::unique_ptr<Accounts>* out);

  // Creates the account or changes the fields the spec sets. A new password signs out the
  // account's sessions, except the one whose cookie value is `keep_session` (a subscriber who
  // changes their own password stays signed in there). Errors name the field (id, name, locale,
  // password).
  Status Put(const AccountSpec& spec, Account* out, bool* created = nullptr,
             std::string_view keep_session = {});
  std::optional<Account> Get(std::string_view id) const;
  // The account exists and its subscriber opted in to per-app usage.
  bool CollectsApps(const std::string& id) const;
  // Accounts in id order after `after`, at most `limit`.
  std::vector<Account> List(std::string_view after, size_t limit) const;
  size_t size() const;

  // Signs in with a password. Unauthenticated for a wrong account or password (the same error
  // for both); ResourceExhausted with *retry_after_ms set while throttled.
  Status SignInWithPassword(std::string_view account, std::string_view password,
                            std::string_view remote_address, SignIn* out, int64_t* retry_after_ms);
  // Checks a password with the same throttling, without signing in (a password change).
  Status CheckPassword(std::string_view account, std::string_view password,
                       std::string_view remote_address, int64_t* retry_after_ms);
  // An operator session (the caller checked the admin token). Counts as a failure of
  // `remote_address` when `token_ok` is false, and refuses while that address is throttled.
  Status SignInAdmin(bool token_ok, std::string_view remote_address, SignIn* out,
                     int64_t* retry_after_ms);
  // A one-time login link for an account.
  Status IssueLoginLink(std::string_view account, std::string* token, Millis* expires_at);
  // Redeems a link: a new session, and the link is gone. Unauthenticated when unknown/expired.
  Status SignInWithLink(std::string_view token, SignIn* out);

  // A sign-in code for `account`, to be texted to `msisdn` (E.164 digits) by the caller.
  // ResourceExhausted with *retry_after_ms set when the number or the address asked too often;
  // NotFound when `account` is empty or unknown (the request still counts towards the limits).
  Status IssueSmsCode(std::string_view msisdn, std::string_view account,
                      std::string_view remote_address, std::string* code, int64_t* retry_after_ms);
  // Signs in with the code texted to `msisdn`. Unauthenticated when it is wrong, used, expired or
  // was tried too often; ResourceExhausted while the address is throttled.
  Status SignInWithSmsCode(std::string_view msisdn, std::string_view code,
                           std::string_view remote_address, SignIn* out, int64_t* retry_after_ms);

  // The live session of a cookie value, if any.
  std::optional<Session> FindSession(std::string_view token) const;
  Status SignOut(std::string_view token);

  int64_t session_ttl_ms() const { return options_.session_ttl_ms; }
  int64_t sms_code_ttl_ms() const { return options_.sms_code_ttl_ms; }

  // Counters for /metrics.
  struct Stats {
    uint64_t sign_ins = 0;
    uint64_t sign_in_failures = 0;
    uint64_t sign_ins_throttled = 0;
    uint64_t sessions = 0;
  };
  Stats stats() const;

 private:
  Accounts(store::Store* store, AccountsOptions options, Clock clock);
  struct Failures {
    std::deque<Millis> at;  // failure times inside the window, oldest first
  };
  // Throttling. Both take mu_.
  int64_t ThrottledFor(const std::unordered_map<std::string, Failures>& map, const std::string& key,
                       uint32_t max, Millis now) const;
  void CountFailure(std::unordered_map<std::string, Failures>* map, const std::string& key,
                    Millis now);
  // The refusal of a throttled sign-in (counted; *retry_after_ms set). mu_ held.
  Status Throttled(int64_t wait_ms, int64_t* retry_after_ms);
  Status NewSession(Role role, const std::string& account, SignIn* out);  // takes mu_
  // All but the one with digest `keep`.
  void DropSessionsOf(const std::string& account, const std::string& keep,
                      store::Batch* batch);  // mu_ held

  store::Store* store_;
  AccountsOptions options_;
  Clock clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Account> accounts_;
  std::unordered_map<std::string, Session> sessions_;  // by hex SHA-256 of the token
  struct Link {
    std::string account;
    Millis expires_at = 0;
  };
  std::unordered_map<std::string, Link> links_;  // by hex SHA-256 of the token
  struct SmsCode {
    std::string account;
    std::string digest;  // hex SHA-256 of the code
    Millis expires_at = 0;
    uint32_t attempts = 0;
  };
  std::unordered_map<std::string, SmsCode> sms_codes_;                   // by MSISDN
  std::unordered_map<std::string, Failures> sms_code_requests_;          // by MSISDN
  std::unordered_map<std::string, Failures> sms_code_address_requests_;  // by address
  std::unordered_map<std::string, Failures> account_failures_;
  std::unordered_map<std::string, Failures> address_failures_;
  Stats stats_;
  std::string dummy_hash_;  // checked for unknown accounts, so they take as long as known ones
};

// A new random token: 32 bytes as unpadded base64url (43 characters).
std::string RandomToken();
// Lower-case hex SHA-256 of a token.
std::string TokenDigest(std::string_view token);
// Constant-time comparison of two strings.
bool SameSecret(std::string_view a, std::string_view b);

}  // namespace ryuryo::api
