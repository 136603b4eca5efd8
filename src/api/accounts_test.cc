#include "api/accounts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "core/test_util.h"

namespace ryuryo::api {
namespace {

using ::testing::HasSubstr;

class AccountsTest : public ::testing::Test {
 protected:
  AccountsTest() {
    options_.opslimit = 1;  // the cheapest Argon2id: these tests check behaviour, not cost
    options_.memlimit_bytes = 64 << 10;
    OpenStore();
    Reopen();
  }

  void OpenStore() {
    accounts_.reset();
    store_.reset();
    store::StoreOptions o;
    o.path = dir_.path() + "/db";
    ASSERT_TRUE(store::Store::Open(o, &store_).ok());
  }

  void Reopen() {
    accounts_.reset();
    Status st = Accounts::Open(
        store_.get(), options_, [this] { return now_; }, &accounts_);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  Account Put(std::string id, std::optional<std::string> password,
              std::optional<std::string> name = std::nullopt) {
    AccountSpec spec;
    spec.id = std::move(id);
    spec.password = std::move(password);
    spec.name = std::move(name);
    Account a;
    Status st = accounts_->Put(spec, &a);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return a;
  }

  Status SignIn(std::string_view id, std::string_view password, std::string_view address,
                api::SignIn* out = nullptr, int64_t* retry_after_ms = nullptr) {
    api::SignIn ignored;
    return accounts_->SignInWithPassword(id, password, address, out ? out : &ignored,
                                         retry_after_ms);
  }

  TempDir dir_;
  AccountsOptions options_;
  Millis now_ = 1'800'000'000'000;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Accounts> accounts_;
};

TEST(TokensTest, RandomTokensAreUrlSafeAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string t = RandomToken();
    EXPECT_EQ(t.size(), 43u);
    EXPECT_EQ(
        t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(TokenDigest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2
  EXPECT_TRUE(SameSecret("abc", "abc"));
  EXPECT_FALSE(SameSecret("abc", "abd"));
  EXPECT_FALSE(SameSecret("abc", "abcd"));
}

TEST_F(AccountsTest, PasswordsAreStoredAsArgon2idHashesOnly) {
  Account a = Put("alice", "correct horse battery", "Alice");
  EXPECT_THAT(a.password_hash, ::testing::StartsWith("$argon2id$"));
  EXPECT_THAT(a.password_hash, ::testing::Not(HasSubstr("correct horse")));
  bool leaked = false;
  ASSERT_TRUE(store_
                  ->ScanAccountData("",
                                    [&](std::string_view, std::string_view v) {
                                      leaked |= v.find("correct horse") != std::string_view::npos;
                                      return Status::Ok();
                                    })
                  .ok());
  EXPECT_FALSE(leaked);
}

TEST_F(AccountsTest, SignInChecksThePasswordAndGivesASessionThatSurvivesRestart) {
  Put("alice", "correct horse battery", "Alice");
  api::SignIn in;
  ASSERT_TRUE(SignIn("alice", "correct horse battery", "127.0.0.1", &in).ok());
  EXPECT_EQ(in.session.account, "alice");
  EXPECT_EQ(in.session.role, Role::kSubscriber);
  EXPECT_EQ(in.session.csrf_token.size(), 43u);
  EXPECT_NE(in.session.csrf_token, in.token);
  EXPECT_EQ(in.session.expires_at, now_ + options_.session_ttl_ms);

  Status wrong = SignIn("alice", "wrong password!", "127.0.0.1");
  EXPECT_EQ(wrong.code(), Status::Code::kUnauthenticated);
  Status unknown = SignIn("mallory", "whatever123", "127.0.0.1");
  EXPECT_EQ(unknown.code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(wrong.message(), unknown.message()) << "an unknown account must not be told apart";

  // The store keeps the digest of the token, never the token.
  bool token_stored = false;
  ASSERT_TRUE(store_
                  ->ScanAccountData("s/",
                                    [&](std::string_view k, std::string_view v) {
                                      token_stored |= k.find(in.token) != std::string_view::npos ||
                                                      v.find(in.token) != std::string_view::npos;
                                      return Status::Ok();
                                    })
                  .ok());
  EXPECT_FALSE(token_stored);

  Reopen();
  auto s = accounts_->FindSession(in.token);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->account, "alice");
  EXPECT_EQ(s->csrf_token, in.session.csrf_token);
  EXPECT_FALSE(accounts_->FindSession(in.token + "x").has_value());
  EXPECT_FALSE(accounts_->FindSession("").has_value());
}

TEST_F(AccountsTest, SessionsExpireAndSignOutEndsThem) {
  Put("alice", "correct horse battery");
  api::SignIn a, b;
  ASSERT_TRUE(SignIn("alice", "correct horse battery", "127.0.0.1", &a).ok());
  ASSERT_TRUE(SignIn("alice", "correct horse battery", "127.0.0.1", &b).ok());
  ASSERT_TRUE(accounts_->SignOut(a.token).ok());
  EXPECT_FALSE(accounts_->FindSession(a.token).has_value());
  EXPECT_TRUE(accounts_->FindSession(b.token).has_value());
  Reopen();
  EXPECT_FALSE(accounts_->FindSession(a.token).has_value());
  now_ += options_.session_ttl_ms;
  EXPECT_FALSE(accounts_->FindSession(b.token).has_value());
  Reopen();  // expired sessions are deleted from the store on open
  size_t sessions = 0;
  ASSERT_TRUE(store_
                  ->ScanAccountData("s/",
                                    [&](std::string_view, std::string_view) {
                                      ++sessions;
                                      return Status::Ok();
                                    })
                  .ok());
  EXPECT_EQ(sessions, 0u);
}

TEST_F(AccountsTest, ANewPasswordSignsOutTheAccountsSessions) {
  Put("alice", "correct horse battery");
  Put("bob", "another password");
  api::SignIn a, b;
  ASSERT_TRUE(SignIn("alice", "correct horse battery", "127.0.0.1", &a).ok());
  ASSERT_TRUE(SignIn("bob", "another password", "127.0.0.1", &b).ok());
  Put("alice", "a brand new password");
  EXPECT_FALSE(accounts_->FindSession(a.token).has_value());
  EXPECT_TRUE(accounts_->FindSession(b.token).has_value());
  EXPECT_EQ(SignIn("alice", "correct horse battery", "127.0.0.1").code(),
            Status::Code::kUnauthenticated);
  EXPECT_TRUE(SignIn("alice", "a brand new password", "127.0.0.1").ok());
  Reopen();
  EXPECT_FALSE(accounts_->FindSession(a.token).has_value());
}

TEST_F(AccountsTest, PutValidatesAndKeepsUnsetFields) {
  AccountSpec bad;
  bad.id = "has space";
  EXPECT_THAT(accounts_->Put(bad, nullptr).message(), HasSubstr("id"));
  AccountSpec spec;
  spec.id = "alice";
  spec.locale = "fr";
  EXPECT_THAT(accounts_->Put(spec, nullptr).message(), HasSubstr("locale"));
  spec.locale = "en";
  spec.password = "short";
  EXPECT_THAT(accounts_->Put(spec, nullptr).message(), HasSubstr("password"));
  spec.password = std::nullopt;
  spec.name = "Alice";
  bool created = false;
  ASSERT_TRUE(accounts_->Put(spec, nullptr, &created).ok());
  EXPECT_TRUE(created);
  AccountSpec change;
  change.id = "alice";
  change.collect_apps = true;
  Account a;
  ASSERT_TRUE(accounts_->Put(change, &a, &created).ok());
  EXPECT_FALSE(created);
  EXPECT_EQ(a.name, "Alice");
  EXPECT_EQ(a.locale, "en");
  EXPECT_TRUE(a.collect_apps);
  Reopen();
  auto got = accounts_->Get("alice");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->name, "Alice");
  EXPECT_TRUE(got->collect_apps);
  // No password: password sign-in is impossible (a login link still works).
  EXPECT_EQ(SignIn("alice", "", "127.0.0.1").code(), Status::Code::kUnauthenticated);
}

TEST_F(AccountsTest, ListIsInIdOrderWithACursor) {
  for (const char* id : {"carol", "alice", "bob", "dave"}) Put(id, std::nullopt);
  auto ids = [](const std::vector<Account>& v) {
    std::vector<std::string> out;
    for (const Account& a : v) out.push_back(a.id);
    return out;
  };
  EXPECT_EQ(ids(accounts_->List("", 3)), (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ(ids(accounts_->List("carol", 3)), (std::vector<std::string>{"dave"}));
  EXPECT_EQ(accounts_->size(), 4u);
}

TEST_F(AccountsTest, FailedSignInsAreThrottledPerAccountThenTheWindowPasses) {
  Put("alice", "correct horse battery");
  for (uint32_t i = 0; i < options_.failures_per_account_max; ++i) {
    EXPECT_EQ(
        SignIn("alice", "guess" + std::to_string(i) + "xxxx", "10.0.0." + std::to_string(i)).code(),
        Status::Code::kUnauthenticated);
    now_ += 1000;
  }
  int64_t retry = 0;
  Status st = SignIn("alice", "correct horse battery", "127.0.0.1", nullptr, &retry);
  EXPECT_EQ(st.code(), Status::Code::kResourceExhausted) << "even the right password waits";
  EXPECT_GT(retry, 0);
  EXPECT_LE(retry, options_.failure_window_ms);
  // Another account is not affected.
  Put("bob", "another password");
  EXPECT_TRUE(SignIn("bob", "another password", "127.0.0.1").ok());
  now_ += retry;
  EXPECT_TRUE(SignIn("alice", "correct horse battery", "127.0.0.1").ok());
  EXPECT_EQ(accounts_->stats().sign_ins_throttled, 1u);
}

TEST_F(AccountsTest, FailedSignInsAreThrottledPerAddressAcrossAccounts) {
  Put("alice", "correct horse battery");
  for (uint32_t i = 0; i < options_.failures_per_address_max; ++i) {
    SignIn("user" + std::to_string(i), "guessguess", "192.0.2.7");
  }
  int64_t retry = 0;
  EXPECT_EQ(SignIn("alice", "correct horse battery", "192.0.2.7", nullptr, &retry).code(),
            Status::Code::kResourceExhausted);
  EXPECT_TRUE(SignIn("alice", "correct horse battery", "192.0.2.8").ok());
  // The admin sign-in shares the address limit.
  api::SignIn admin;
  EXPECT_EQ(accounts_->SignInAdmin(true, "192.0.2.7", &admin, &retry).code(),
            Status::Code::kResourceExhausted);
  ASSERT_TRUE(accounts_->SignInAdmin(true, "192.0.2.9", &admin, &retry).ok());
  EXPECT_EQ(admin.session.role, Role::kAdmin);
  EXPECT_TRUE(admin.session.account.empty());
  EXPECT_EQ(accounts_->SignInAdmin(false, "192.0.2.9", &admin, &retry).code(),
            Status::Code::kUnauthenticated);
}

TEST_F(AccountsTest, ThrottleTablesStayBounded) {
  options_.throttle_entries_max = 10;
  Reopen();
  for (int i = 0; i < 100; ++i)
    SignIn("u" + std::to_string(i), "guessguess", "10.1.0." + std::to_string(i));
  // Still works, memory bounded (observable: a fresh address is not throttled).
  Put("alice", "correct horse battery");
  EXPECT_TRUE(SignIn("alice", "correct horse battery", "10.9.9.9").ok());
}

TEST_F(AccountsTest, LoginLinksWorkOnceAndExpire) {
  Put("alice", std::nullopt, "Alice");
  std::string token;
  Millis expires = 0;
  EXPECT_EQ(accounts_->IssueLoginLink("nobody", &token, &expires).code(), Status::Code::kNotFound);
  ASSERT_TRUE(accounts_->IssueLoginLink("alice", &token, &expires).ok());
  EXPECT_EQ(expires, now_ + options_.login_link_ttl_ms);
  Reopen();  // durable
  api::SignIn in;
  ASSERT_TRUE(accounts_->SignInWithLink(token, &in).ok());
  EXPECT_EQ(in.session.account, "alice");
  EXPECT_TRUE(accounts_->FindSession(in.token).has_value());
  EXPECT_EQ(accounts_->SignInWithLink(token, &in).code(), Status::Code::kUnauthenticated);
  Reopen();
  EXPECT_EQ(accounts_->SignInWithLink(token, &in).code(), Status::Code::kUnauthenticated)
      << "a used link stays used across a restart";

  std::string late;
  ASSERT_TRUE(accounts_->IssueLoginLink("alice", &late, &expires).ok());
  now_ = expires;
  EXPECT_EQ(accounts_->SignInWithLink(late, &in).code(), Status::Code::kUnauthenticated);
}

TEST_F(AccountsTest, SmsCodesAreSixDigitsSignInOnceAndExpire) {
  Put("anna", std::nullopt);
  std::string code;
  ASSERT_TRUE(accounts_->IssueSmsCode("819012345678", "anna", "10.0.0.1", &code, nullptr).ok());
  ASSERT_EQ(code.size(), kSmsCodeDigits);
  EXPECT_TRUE(std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }));
  api::SignIn in;
  // Another number's code, or the right code for another number, does not sign in.
  EXPECT_EQ(accounts_->SignInWithSmsCode("819000000000", code, "10.0.0.1", &in, nullptr).code(),
            Status::Code::kUnauthenticated);
  ASSERT_TRUE(accounts_->SignInWithSmsCode("819012345678", code, "10.0.0.1", &in, nullptr).ok());
  EXPECT_EQ(in.session.account, "anna");
  EXPECT_EQ(in.session.role, Role::kSubscriber);
  EXPECT_TRUE(accounts_->FindSession(in.token));
  // Used once.
  Status again = accounts_->SignInWithSmsCode("819012345678", code, "10.0.0.1", &in, nullptr);
  EXPECT_EQ(again.code(), Status::Code::kUnauthenticated);
  EXPECT_THAT(again.message(), HasSubstr("expired"));
  // Five minutes.
  ASSERT_TRUE(accounts_->IssueSmsCode("819012345678", "anna", "10.0.0.1", &code, nullptr).ok());
  now_ += options_.sms_code_ttl_ms;
  EXPECT_EQ(accounts_->SignInWithSmsCode("819012345678", code, "10.0.0.1", &in, nullptr).code(),
            Status::Code::kUnauthenticated);
}

TEST_F(AccountsTest, SmsCodesDieAfterTooManyWrongTriesAndANewCodeReplacesTheOld) {
  Put("anna", std::nullopt);
  std::string code, wrong;
  ASSERT_TRUE(accounts_->IssueSmsCode("819012345678", "anna", "10.0.0.1", &code, nullptr).ok());
  wrong = code == "000000" ? "000001" : "000000";
  api::SignIn in;
  for (uint32_t i = 0; i < options_.sms_code_attempts_max; ++i) {
    EXPECT_EQ(
        accounts_
            ->SignInWithSmsCode("819012345678", wrong, "10.0.0." + std::to_string(i), &in, nullptr)
            .code(),
        Status::Code::kUnauthenticated);
  }
  // The right code no longer works: the attempts are used up.
  EXPECT_EQ(accounts_->SignInWithSmsCode("819012345678", code, "10.0.0.9", &in, nullptr).code(),
            Status::Code::kUnauthenticated);
  // A new code replaces the previous one.
  std::string first, second;
  ASSERT_TRUE(accounts_->IssueSmsCode("819012345678", "anna", "10.0.1.1", &first, nullptr).ok());
  ASSERT_TRUE(accounts_->IssueSmsCode("819012345678", "anna", "10.0.1.1", &second, nullptr).ok());
  if (first != second) {
    EXPECT_FALSE(
        accounts_->SignInWithSmsCode("819012345678", first, "10.0.1.2", &in, nullptr).ok());
  }
  EXPECT_TRUE(accounts_->SignInWithSmsCode("819012345678", second, "10.0.1.2", &in, nullptr).ok());
}

TEST_F(AccountsTest, SmsCodeRequestsAreLimitedPerNumberAndPerAddress) {
  Put("anna", std::nullopt);
  std::string code;
  int64_t retry = 0;
  for (uint32_t i = 0; i < options_.sms_codes_per_number_max; ++i) {
    ASSERT_TRUE(
        accounts_
            ->IssueSmsCode("819012345678", "anna", "10.0.0." + std::to_string(i), &code, nullptr)
            .ok());
  }
  Status st = accounts_->IssueSmsCode("819012345678", "anna", "10.0.0.99", &code, &retry);
  EXPECT_EQ(st.code(), Status::Code::kResourceExhausted);
  EXPECT_GT(retry, 0);
  now_ += options_.failure_window_ms;
  EXPECT_TRUE(accounts_->IssueSmsCode("819012345678", "anna", "10.0.0.99", &code, nullptr).ok());
  // One address asking about many numbers, known or not, is stopped too.
  Status last;
  for (uint32_t i = 0; i <= options_.sms_codes_per_address_max; ++i) {
    last = accounts_->IssueSmsCode("8190000000" + std::to_string(10 + i), "", "10.9.9.9", &code,
                                   &retry);
  }
  EXPECT_EQ(last.code(), Status::Code::kResourceExhausted);
  // No account: NotFound, nothing issued.
  EXPECT_EQ(accounts_->IssueSmsCode("819011111111", "", "10.8.8.8", &code, nullptr).code(),
            Status::Code::kNotFound);
  EXPECT_EQ(accounts_->IssueSmsCode("819011111112", "nobody", "10.8.8.8", &code, nullptr).code(),
            Status::Code::kNotFound);
}

TEST_F(AccountsTest, LiveLoginLinksAreLimited) {
  options_.login_links_max = 2;
  Reopen();
  Put("alice", std::nullopt);
  std::string t;
  Millis e;
  ASSERT_TRUE(accounts_->IssueLoginLink("alice", &t, &e).ok());
  ASSERT_TRUE(accounts_->IssueLoginLink("alice", &t, &e).ok());
  EXPECT_EQ(accounts_->IssueLoginLink("alice", &t, &e).code(), Status::Code::kResourceExhausted);
  now_ += options_.login_link_ttl_ms;  // both expired: room again
  EXPECT_TRUE(accounts_->IssueLoginLink("alice", &t, &e).ok());
}

TEST_F(AccountsTest, SessionsAreLimitedByDroppingTheOldest) {
  options_.sessions_max = 3;
  Reopen();
  Put("alice", "correct horse battery");
  std::vector<api::SignIn> ins(5);
  for (auto& in : ins) {
    ASSERT_TRUE(SignIn("alice", "correct horse battery", "127.0.0.1", &in).ok());
    now_ += 1000;
  }
  EXPECT_FALSE(accounts_->FindSession(ins[0].token).has_value());
  EXPECT_FALSE(accounts_->FindSession(ins[1].token).has_value());
  for (size_t i = 2; i < 5; ++i) EXPECT_TRUE(accounts_->FindSession(ins[i].token).has_value());
  EXPECT_EQ(accounts_->stats().sessions, 3u);
}

TEST_F(AccountsTest, ConcurrentSignInsAreSafe) {
  Put("alice", "correct horse battery");
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        api::SignIn in;
        if (accounts_
                ->SignInWithPassword("alice", "correct horse battery", "127.0.0.1", &in, nullptr)
                .ok() &&
            accounts_->FindSession(in.token).has_value()) {
          ++ok;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 20);
}

}  // namespace
}  // namespace ryuryo::api
