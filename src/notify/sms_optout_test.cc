#include "notify/sms_optout.h"

#include <gtest/gtest.h>

#include "core/test_util.h"

namespace ryuryo::notify {
namespace {

TEST(SmsOptOutTest, StopAndStartAreDurable) {
  TempDir dir;
  store::StoreOptions o;
  o.path = dir.path() + "/db";
  std::unique_ptr<store::Store> store;
  ASSERT_TRUE(store::Store::Open(o, &store).ok());
  std::unique_ptr<SmsOptOut> opt;
  ASSERT_TRUE(SmsOptOut::Open(store.get(), &opt).ok());
  EXPECT_FALSE(opt->Stopped("a"));
  ASSERT_TRUE(opt->Set("a", true).ok());
  ASSERT_TRUE(opt->Set("b", true).ok());
  ASSERT_TRUE(opt->Set("b", true).ok());  // again: no change
  ASSERT_TRUE(opt->Set("b", false).ok());
  EXPECT_TRUE(opt->Stopped("a"));
  EXPECT_FALSE(opt->Stopped("b"));
  EXPECT_FALSE(opt->Stopped("ab"));

  // Reopened from the store: the same flags.
  opt.reset();
  store.reset();
  ASSERT_TRUE(store::Store::Open(o, &store).ok());
  ASSERT_TRUE(SmsOptOut::Open(store.get(), &opt).ok());
  EXPECT_TRUE(opt->Stopped("a"));
  EXPECT_FALSE(opt->Stopped("b"));
}

}  // namespace
}  // namespace ryuryo::notify
