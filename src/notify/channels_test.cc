#include "notify/channels.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/test_util.h"

namespace ryuryo::notify {
namespace {

using ::testing::HasSubstr;

class ChannelsTest : public ::testing::Test {
 protected:
  ChannelsTest() {
    store::StoreOptions o;
    o.path = dir_.path() + "/db";
    EXPECT_TRUE(store::Store::Open(o, &store_).ok());
    Reopen();
  }
  void Reopen() {
    registry_.reset();
    Status st = ChannelRegistry::Open(
        store_.get(), options_, [] { return Millis{1000}; }, &registry_);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  std::vector<Channel> Set(const std::string& line, std::vector<std::string> urls) {
    std::vector<ChannelSpec> specs;
    for (auto& u : urls) specs.push_back({"webhook", u, ""});
    std::vector<Channel> out;
    Status st = registry_->Set(line, specs, &out);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }
  static Event Alert(std::string line, EventType type = EventType::kThreshold) {
    Event ev;
    ev.type = type;
    ev.line = std::move(line);
    return ev;
  }

  TempDir dir_;
  ChannelOptions options_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ChannelRegistry> registry_;
};

TEST_F(ChannelsTest, ChannelsSurviveRestartAndKeepTheirNumberAndSecret) {
  auto a = Set("a1", {"https://hooks.example.net/a", "https://hooks.example.net/b"});
  ASSERT_EQ(a.size(), 2u);
  EXPECT_NE(a[0].id, a[1].id);
  EXPECT_EQ(a[0].secret.size(), 48u);
  EXPECT_NE(a[0].secret, a[1].secret);
  Reopen();
  auto again = registry_->Of("a1");
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].id, a[0].id);
  EXPECT_EQ(again[0].secret, a[0].secret);
  // Setting the same URL again keeps it; a new URL is a new channel.
  auto b = Set("a1", {"https://hooks.example.net/b", "https://hooks.example.net/c"});
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].id, a[1].id);
  EXPECT_EQ(b[0].secret, a[1].secret);
  EXPECT_GT(b[1].id, a[1].id);
  EXPECT_FALSE(registry_->Find(a[0].id).has_value()) << "a removed channel is gone";
}

TEST_F(ChannelsTest, NumbersAreNeverReusedEvenAfterRemovingTheNewest) {
  auto a = Set("a1", {"https://hooks.example.net/a"});
  Set("a1", {});
  EXPECT_TRUE(registry_->Of("a1").empty());
  Reopen();
  auto b = Set("b1", {"https://hooks.example.net/b"});
  ASSERT_EQ(b.size(), 1u);
  EXPECT_GT(b[0].id, a[0].id) << "an entry queued for a's channel must never reach b's";
}

TEST_F(ChannelsTest, RoutesOnlyAlertsOfTheChannelsLine) {
  auto a = Set("a1", {"https://hooks.example.net/a"});
  Set("b1", {"https://hooks.example.net/b"});
  std::vector<uint32_t> to;
  registry_->Route(Alert("a1"), &to);
  EXPECT_EQ(to, (std::vector<uint32_t>{kChannelEndpointBase + a[0].id}));
  to.clear();
  registry_->Route(Alert("a1", EventType::kTopup), &to);
  registry_->Route(Alert("a1", EventType::kReset), &to);
  registry_->Route(Alert("c1"), &to);
  registry_->Route(Alert(""), &to);
  EXPECT_TRUE(to.empty());
  for (EventType t : {EventType::kPace, EventType::kExhausted, EventType::kThrottled,
                      EventType::kBlocked, EventType::kRestored}) {
    to.clear();
    registry_->Route(Alert("a1", t), &to);
    EXPECT_EQ(to.size(), 1u) << EventTypeName(t);
  }
  EXPECT_LT(kChannelEndpointBase + kChannelIdMax, 0x8000'0000u);
}

TEST_F(ChannelsTest, BadChannelsAreRefusedWithTheEntryNamed) {
  std::vector<Channel> out;
  Status st = registry_->Set(
      "a1", {{"webhook", "https://ok.example.net/", ""}, {"webhook", "ftp://x", ""}}, &out);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("channels[1]"));
  EXPECT_TRUE(registry_->Of("a1").empty()) << "nothing applied";
  EXPECT_THAT(registry_->Set("a1", {{"pager", "", ""}}, &out).message(), HasSubstr("type"));
  EXPECT_THAT(registry_->Set("a1", {{"sms", "", "+819012345678"}}, &out).message(),
              HasSubstr("SMS"));
  for (const char* url : {"http://127.0.0.1:8080/x", "http://localhost/x", "http://10.1.2.3/",
                          "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data",
                          "http://[::1]/", "http://172.16.0.1/", "http://[fd00::1]/"}) {
    EXPECT_THAT(registry_->Set("a1", {{"webhook", url, ""}}, &out).message(), HasSubstr("private"))
        << url;
  }
  std::vector<ChannelSpec> many(options_.per_line_max + 1,
                                ChannelSpec{"webhook", "https://x.example.net/", ""});
  EXPECT_THAT(registry_->Set("a1", many, &out).message(), HasSubstr("at most"));
}

TEST_F(ChannelsTest, PrivateAddressesWhenAllowed) {
  options_.allow_private_addresses = true;
  Reopen();
  auto a = Set("a1", {"http://127.0.0.1:8080/hook"});
  EXPECT_EQ(a.size(), 1u);
}

TEST_F(ChannelsTest, TheSameUrlTwiceIsOneChannel) {
  auto a = Set("a1", {"https://hooks.example.net/a", "https://hooks.example.net/a"});
  EXPECT_EQ(a.size(), 1u);
}

}  // namespace
}  // namespace ryuryo::notify
