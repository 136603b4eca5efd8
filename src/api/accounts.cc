#include "api/accounts.h"

#include <sodium.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/record.h"

namespace ryuryo::api {

namespace {

using json = nlohmann::json;

constexpr std::string_view kAccountPrefix = "a/";
constexpr std::string_view kSessionPrefix = "s/";
constexpr std::string_view kLinkPrefix = "l/";
constexpr size_t kNameBytesMax = 200;

void InitSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) {
    std::fprintf(stderr, "ryuryo: fatal: libsodium failed to initialise\n");
    std::abort();
  }
}

std::string Key(std::string_view prefix, std::string_view rest) {
  std::string k(prefix);
  k += rest;
  return k;
}

std::string EncodeAccount(const Account& a) {
  return json{{"name", a.name},
              {"locale", a.locale},
              {"collect_apps", a.collect_apps},
              {"password_hash", a.password_hash},
              {"created_at", a.created_at},
              {"updated_at", a.updated_at}}
      .dump();
}

std::string EncodeSession(const Session& s) {
  return json{{"role", RoleName(s.role)},
              {"account", s.account},
              {"csrf", s.csrf_token},
              {"created_at", s.created_at},
              {"expires_at", s.expires_at}}
      .dump();
}

Status CheckLocale(const std::string& locale) {
  if (locale != "ja" && locale != "zh" && locale != "en") {
    return Status::InvalidArgument("locale: '" + locale + "' is not one of ja, zh, en");
  }
  return Status::Ok();
}

}  // namespace

const char* RoleName(Role role) { return role == Role::kAdmin ? "admin" : "subscriber"; }

std::string RandomToken() {
  InitSodium();
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  char out[sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

std::string TokenDigest(std::string_view token) {
  InitSodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  char hex[2 * sizeof digest + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

bool SameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Accounts::Accounts(store::Store* store, AccountsOptions options, Clock clock)
    : store_(store), options_(options), clock_(std::move(clock)) {}

Status Accounts::Open(store::Store* store, AccountsOptions options, Clock clock,
                      std::unique_ptr<Accounts>* out) {
  InitSodium();
  std::unique_ptr<Accounts> a(new Accounts(store, options, std::move(clock)));
  // A hash to check against for unknown accounts (same cost as real ones).
  char hash[crypto_pwhash_STRBYTES];
  const std::string filler = RandomToken();
  if (crypto_pwhash_str_alg(hash, filler.data(), filler.size(), options.opslimit,
                            options.memlimit_bytes, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::ResourceExhausted("accounts: not enough memory for Argon2id");
  }
  a->dummy_hash_ = hash;

  const Millis now = a->clock_();
  store::Batch expired(store);
  Status st = store->ScanAccountData("", [&](std::string_view key, std::string_view value) {
    // The column family is shared (notify/channels keeps "c/" and "n/" keys there).
    if (!key.starts_with(kAccountPrefix) && !key.starts_with(kSessionPrefix) &&
        !key.starts_with(kLinkPrefix)) {
      return Status::Ok();
    }
    json j = json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
      return Status::Internal("accounts: unreadable entry '" + std::string(key) + "'");
    }
    if (key.starts_with(kAccountPrefix)) {
      Account acc;
      acc.id = std::string(key.substr(kAccountPrefix.size()));
      acc.name = j.value("name", "");
      acc.locale = j.value("locale", "ja");
      acc.collect_apps = j.value("collect_apps", false);
      acc.password_hash = j.value("password_hash", "");
      acc.created_at = j.value("created_at", Millis{0});
      acc.updated_at = j.value("updated_at", Millis{0});
      a->accounts_[acc.id] = std::move(acc);
    } else if (key.starts_with(kSessionPrefix)) {
      Session s;
      s.role = j.value("role", "") == "admin" ? Role::kAdmin : Role::kSubscriber;
      s.account = j.value("account", "");
      s.csrf_token = j.value("csrf", "");
      s.created_at = j.value("created_at", Millis{0});
      s.expires_at = j.value("expires_at", Millis{0});
      if (s.expires_at <= now) {
        expired.DeleteAccountData(key);
      } else {
        a->sessions_[std::string(key.substr(kSessionPrefix.size()))] = std::move(s);
      }
    } else if (key.starts_with(kLinkPrefix)) {
      Link l{j.value("account", ""), j.value("expires_at", Millis{0})};
      if (l.expires_at <= now) {
        expired.DeleteAccountData(key);
      } else {
        a->links_[std::string(key.substr(kLinkPrefix.size()))] = std::move(l);
      }
    }
    return Status::Ok();
  });
  RYURYO_RETURN_IF_ERROR(st);
  if (expired.count() > 0) RYURYO_RETURN_IF_ERROR(store->Write(&expired));
  a->stats_.sessions = a->sessions_.size();
  *out = std::move(a);
  return Status::Ok();
}

Status Accounts::Put(const AccountSpec& spec, Account* out, bool* created,
                     std::string_view keep_session) {
  if (Status st = ValidateLineId(spec.id); !st.ok()) {
    return Status::InvalidArgument("id: " + st.message());
  }
  if (spec.name && spec.name->size() > kNameBytesMax) {
    return Status::InvalidArgument("name: longer than " + std::to_string(kNameBytesMax) + " bytes");
  }
  if (spec.locale) RYURYO_RETURN_IF_ERROR(CheckLocale(*spec.locale));
  std::string hash;
  if (spec.password) {
    const std::string& p = *spec.password;
    if (p.size() < options_.password_bytes_min) {
      return Status::InvalidArgument("password: shorter than " +
                                     std::to_string(options_.password_bytes_min) + " characters");
    }
    if (p.size() > options_.password_bytes_max) {
      return Status::InvalidArgument("password: longer than " +
                                     std::to_string(options_.password_bytes_max) + " bytes");
    }
    char buf[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(buf, p.data(), p.size(), options_.opslimit, options_.memlimit_bytes,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
      return Status::ResourceExhausted("password: not enough memory to hash it");
    }
    hash = buf;
  }
  const std::string keep = keep_session.empty() ? "" : TokenDigest(keep_session);
  const Millis now = clock_();
  std::lock_guard lock(mu_);
  auto it = accounts_.find(spec.id);
  const bool is_new = it == accounts_.end();
  if (is_new && accounts_.size() >= options_.accounts_max) {
    return Status::ResourceExhausted("accounts: the limit of " +
                                     std::to_string(options_.accounts_max) + " is reached");
  }
  Account a = is_new ? Account{} : it->second;
  if (is_new) {
    a.id = spec.id;
    a.created_at = now;
  }
  if (spec.name) a.name = *spec.name;
  if (spec.locale) a.locale = *spec.locale;
  if (spec.collect_apps) a.collect_apps = *spec.collect_apps;
  if (spec.password) a.password_hash = hash;
  a.updated_at = now;
  store::Batch b(store_);
  b.PutAccountData(Key(kAccountPrefix, a.id), EncodeAccount(a));
  if (spec.password && !is_new) DropSessionsOf(a.id, keep, &b);
  RYURYO_RETURN_IF_ERROR(store_->Write(&b));
  if (spec.password && !is_new) {
    std::erase_if(sessions_,
                  [&](const auto& kv) { return kv.second.account == a.id && kv.first != keep; });
    stats_.sessions = sessions_.size();
  }
  accounts_[a.id] = a;
  if (out != nullptr) *out = std::move(a);
  if (created != nullptr) *created = is_new;
  return Status::Ok();
}

void Accounts::DropSessionsOf(const std::string& account, const std::string& keep,
                              store::Batch* batch) {
  for (const auto& [digest, s] : sessions_) {
    if (s.account == account && digest != keep)
      batch->DeleteAccountData(Key(kSessionPrefix, digest));
  }
}

std::optional<Account> Accounts::Get(std::string_view id) const {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(std::string(id));
  if (it == accounts_.end()) return std::nullopt;
  return it->second;
}

bool Accounts::CollectsApps(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(id);
  return it != accounts_.end() && it->second.collect_apps;
}

std::vector<Account> Accounts::List(std::string_view after, size_t limit) const {
  std::vector<Account> out;
  std::lock_guard lock(mu_);
  std::vector<const Account*> all;
  all.reserve(accounts_.size());
  for (const auto& [id, a] : accounts_) {
    if (id > after) all.push_back(&a);
  }
  const size_t n = std::min(limit, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<ptrdiff_t>(n), all.end(),
                    [](const Account* x, const Account* y) { return x->id < y->id; });
  for (size_t i = 0; i < n; ++i) out.push_back(*all[i]);
  return out;
}

size_t Accounts::size() const {
  std::lock_guard lock(mu_);
  return accounts_.size();
}

int64_t Accounts::ThrottledFor(const std::unordered_map<std::string, Failures>& map,
                               const std::string& key, uint32_t max, Millis now) const {
  auto it = map.find(key);
  if (it == map.end()) return 0;
  const std::deque<Millis>& at = it->second.at;
  // Failures inside the window.
  size_t live = 0;
  for (Millis t : at) live += t > now - options_.failure_window_ms;
  if (live < max) return 0;
  // Refused until the oldest failure that keeps the count at the limit leaves the window.
  const Millis oldest = at[at.size() - max];
  return std::max<int64_t>(1000, oldest + options_.failure_window_ms - now);
}

Status Accounts::Throttled(int64_t wait_ms, int64_t* retry_after_ms) {
  ++stats_.sign_ins_throttled;
  if (retry_after_ms != nullptr) *retry_after_ms = wait_ms;
  return Status::ResourceExhausted("too many failed sign-ins: try again in " +
                                   std::to_string((wait_ms + 999) / 1000) + " s");
}

void Accounts::CountFailure(std::unordered_map<std::string, Failures>* map, const std::string& key,
                            Millis now) {
  if (map->size() >= options_.throttle_entries_max && map->find(key) == map->end()) {
    // Forget entries whose failures all left the window; if none did, forget the whole table
    // rather than grow without bound (an attacker spraying addresses gains only a fresh window).
    std::erase_if(*map, [&](const auto& kv) {
      return kv.second.at.empty() || kv.second.at.back() <= now - options_.failure_window_ms;
    });
    if (map->size() >= options_.throttle_entries_max) map->clear();
  }
  std::deque<Millis>& at = (*map)[key].at;
  at.push_back(now);
  while (!at.empty() && at.front() <= now - options_.failure_window_ms) at.pop_front();
  while (at.size() > 64) at.pop_front();  // the limits are far below this
}

Status Accounts::SignInWithPassword(std::string_view account, std::string_view password,
                                    std::string_view remote_address, SignIn* out,
                                    int64_t* retry_after_ms) {
  RYURYO_RETURN_IF_ERROR(CheckPassword(account, password, remote_address, retry_after_ms));
  return NewSession(Role::kSubscriber, std::string(account), out);
}

Status Accounts::CheckPassword(std::string_view account, std::string_view password,
                               std::string_view remote_address, int64_t* retry_after_ms) {
  const std::string id(account), address(remote_address);
  std::string hash;
  {
    const Millis now = clock_();
    std::lock_guard lock(mu_);
    const int64_t wait =
        std::max(ThrottledFor(account_failures_, id, options_.failures_per_account_max, now),
                 ThrottledFor(address_failures_, address, options_.failures_per_address_max, now));
    if (wait > 0) return Throttled(wait, retry_after_ms);
    auto it = accounts_.find(id);
    if (it != accounts_.end()) hash = it->second.password_hash;
  }
  const bool known = !hash.empty();
  const std::string& check = known ? hash : dummy_hash_;
  const bool ok = password.size() <= options_.password_bytes_max &&
                  crypto_pwhash_str_verify(check.c_str(), password.data(), password.size()) == 0 &&
                  known;
  const Millis now = clock_();
  std::lock_guard lock(mu_);
  if (!ok) {
    CountFailure(&account_failures_, id, now);
    CountFailure(&address_failures_, address, now);
    ++stats_.sign_in_failures;
    return Status::Unauthenticated("wrong account or password");
  }
  account_failures_.erase(id);
  return Status::Ok();
}

Status Accounts::SignInAdmin(bool token_ok, std::string_view remote_address, SignIn* out,
                             int64_t* retry_after_ms) {
  const std::string address(remote_address);
  {
    const Millis now = clock_();
    std::lock_guard lock(mu_);
    const int64_t wait =
        ThrottledFor(address_failures_, address, options_.failures_per_address_max, now);
    if (wait > 0) return Throttled(wait, retry_after_ms);
    if (!token_ok) {
      CountFailure(&address_failures_, address, now);
      ++stats_.sign_in_failures;
      return Status::Unauthenticated("wrong admin token");
    }
  }
  return NewSession(Role::kAdmin, "", out);
}

Status Accounts::NewSession(Role role, const std::string& account, SignIn* out) {
  SignIn in;
  in.token = RandomToken();
  in.session.role = role;
  in.session.account = account;
  in.session.csrf_token = RandomToken();
  in.session.created_at = clock_();
  in.session.expires_at = in.session.created_at + options_.session_ttl_ms;
  const std::string digest = TokenDigest(in.token);
  std::lock_guard lock(mu_);
  store::Batch b(store_);
  std::string evicted;
  if (sessions_.size() >= options_.sessions_max) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& x, auto& y) {
      return x.second.expires_at < y.second.expires_at;
    });
    evicted = oldest->first;
    b.DeleteAccountData(Key(kSessionPrefix, evicted));
  }
  b.PutAccountData(Key(kSessionPrefix, digest), EncodeSession(in.session));
  RYURYO_RETURN_IF_ERROR(store_->Write(&b));
  if (!evicted.empty()) sessions_.erase(evicted);
  sessions_[digest] = in.session;
  ++stats_.sign_ins;
  stats_.sessions = sessions_.size();
  *out = std::move(in);
  return Status::Ok();
}

Status Accounts::IssueLoginLink(std::string_view account, std::string* token, Millis* expires_at) {
  const Millis now = clock_();
  std::lock_guard lock(mu_);
  if (accounts_.find(std::string(account)) == accounts_.end()) {
    return Status::NotFound("account '" + std::string(account) + "' does not exist");
  }
  std::erase_if(links_, [&](const auto& kv) { return kv.second.expires_at <= now; });
  if (links_.size() >= options_.login_links_max) {
    return Status::ResourceExhausted("login links: " + std::to_string(options_.login_links_max) +
                                     " are live; wait for some to be used or expire");
  }
  std::string t = RandomToken();
  Link l{std::string(account), now + options_.login_link_ttl_ms};
  const std::string digest = TokenDigest(t);
  store::Batch b(store_);
  b.PutAccountData(Key(kLinkPrefix, digest),
                   json{{"account", l.account}, {"expires_at", l.expires_at}}.dump());
  RYURYO_RETURN_IF_ERROR(store_->Write(&b));
  links_[digest] = l;
  *token = std::move(t);
  *expires_at = l.expires_at;
  return Status::Ok();
}

Status Accounts::SignInWithLink(std::string_view token, SignIn* out) {
  const std::string digest = TokenDigest(token);
  std::string account;
  {
    const Millis now = clock_();
    std::lock_guard lock(mu_);
    auto it = links_.find(digest);
    if (it == links_.end() || it->second.expires_at <= now ||
        accounts_.find(it->second.account) == accounts_.end()) {
      ++stats_.sign_in_failures;
      return Status::Unauthenticated("this login link is not valid: it was used or has expired");
    }
    account = it->second.account;
    // Used once: gone (durably) before the session exists.
    store::Batch b(store_);
    b.DeleteAccountData(Key(kLinkPrefix, digest));
    RYURYO_RETURN_IF_ERROR(store_->Write(&b));
    links_.erase(it);
  }
  return NewSession(Role::kSubscriber, account, out);
}

Status Accounts::IssueSmsCode(std::string_view msisdn, std::string_view account,
                              std::string_view remote_address, std::string* code,
                              int64_t* retry_after_ms) {
  const std::string number(msisdn), address(remote_address);
  const Millis now = clock_();
  std::lock_guard lock(mu_);
  const int64_t wait = std::max(
      ThrottledFor(sms_code_requests_, number, options_.sms_codes_per_number_max, now),
      ThrottledFor(sms_code_address_requests_, address, options_.sms_codes_per_address_max, now));
  if (wait > 0) {
    if (retry_after_ms != nullptr) *retry_after_ms = wait;
    return Status::ResourceExhausted("too many codes asked for: try again in " +
                                     std::to_string((wait + 999) / 1000) + " s");
  }
  // Every request counts, for a number nobody has too: asking about many numbers is throttled.
  CountFailure(&sms_code_requests_, number, now);
  CountFailure(&sms_code_address_requests_, address, now);
  if (account.empty() || accounts_.find(std::string(account)) == accounts_.end()) {
    return Status::NotFound("no account has this number");
  }
  if (sms_codes_.size() >= options_.sms_codes_max && !sms_codes_.count(number)) {
    std::erase_if(sms_codes_, [&](const auto& kv) { return kv.second.expires_at <= now; });
    if (sms_codes_.size() >= options_.sms_codes_max) {
      return Status::ResourceExhausted("too many sign-in codes are live: try again later");
    }
  }
  char digits[kSmsCodeDigits + 1];
  std::snprintf(digits, sizeof digits, "%06u", randombytes_uniform(1'000'000));
  *code = digits;
  sms_codes_[number] =
      SmsCode{std::string(account), TokenDigest(*code), now + options_.sms_code_ttl_ms, 0};
  return Status::Ok();
}

Status Accounts::SignInWithSmsCode(std::string_view msisdn, std::string_view code,
                                   std::string_view remote_address, SignIn* out,
                                   int64_t* retry_after_ms) {
  const std::string number(msisdn), address(remote_address);
  std::string account;
  {
    const Millis now = clock_();
    std::lock_guard lock(mu_);
    const int64_t wait =
        ThrottledFor(address_failures_, address, options_.failures_per_address_max, now);
    if (wait > 0) return Throttled(wait, retry_after_ms);
    auto it = sms_codes_.find(number);
    const bool live = it != sms_codes_.end() && it->second.expires_at > now &&
                      accounts_.count(it->second.account);
    if (!live || !SameSecret(TokenDigest(code), it->second.digest)) {
      CountFailure(&address_failures_, address, now);
      ++stats_.sign_in_failures;
      if (live && ++it->second.attempts >= options_.sms_code_attempts_max) sms_codes_.erase(it);
      return Status::Unauthenticated("the code is wrong or has expired: ask for a new one");
    }
    account = it->second.account;
    sms_codes_.erase(it);  // used once
  }
  return NewSession(Role::kSubscriber, account, out);
}

std::optional<Session> Accounts::FindSession(std::string_view token) const {
  if (token.empty()) return std::nullopt;
  const std::string digest = TokenDigest(token);
  const Millis now = clock_();
  std::lock_guard lock(mu_);
  auto it = sessions_.find(digest);
  if (it == sessions_.end() || it->second.expires_at <= now) return std::nullopt;
  if (it->second.role == Role::kSubscriber &&
      accounts_.find(it->second.account) == accounts_.end()) {
    return std::nullopt;
  }
  return it->second;
}

Status Accounts::SignOut(std::string_view token) {
  const std::string digest = TokenDigest(token);
  std::lock_guard lock(mu_);
  auto it = sessions_.find(digest);
  if (it == sessions_.end()) return Status::Ok();
  store::Batch b(store_);
  b.DeleteAccountData(Key(kSessionPrefix, digest));
  RYURYO_RETURN_IF_ERROR(store_->Write(&b));
  sessions_.erase(it);
  stats_.sessions = sessions_.size();
  return Status::Ok();
}

Accounts::Stats Accounts::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace ryuryo::api
