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
    for (auto& u : urls) specs.push_back({"webhook", u, "", ""});
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
      "a1", {{"webhook", "https://ok.example.net/", "", ""}, {"webhook", "ftp://x", "", ""}}, &out);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("channels[1]"));
  EXPECT_TRUE(registry_->Of("a1").empty()) << "nothing applied";
  EXPECT_THAT(registry_->Set("a1", {{"pager", "", "", ""}}, &out).message(), HasSubstr("type"));
  EXPECT_THAT(registry_->Set("a1", {{"sms", "", "+819012345678", ""}}, &out).message(),
              HasSubstr("SMS"));
  for (const char* url : {"http://127.0.0.1:8080/x", "http://localhost/x", "http://10.1.2.3/",
                          "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data",
                          "http://[::1]/", "http://172.16.0.1/", "http://[fd00::1]/"}) {
    EXPECT_THAT(registry_->Set("a1", {{"webhook", url, "", ""}}, &out).message(),
                HasSubstr("private"))
        << url;
  }
  std::vector<ChannelSpec> many(options_.per_line_max + 1,
                                ChannelSpec{"webhook", "https://x.example.net/", "", ""});
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

// ---------------------------------------------------------------------------------------------
// SMS channels

constexpr char kOwn[] = "819012345678";

// An error about field `field` of entry `entry` ("channels[1]: to: ...").
auto Names(std::string entry, std::string field) {
  return ::testing::AllOf(HasSubstr(entry + ":"), HasSubstr(field + ":"));
}

class SmsChannelsTest : public ChannelsTest {
 protected:
  SmsChannelsTest() {
    options_.sms_available = true;
    Reopen();
  }
  Status SetSms(const std::string& line, std::vector<ChannelSpec> specs, std::vector<Channel>* out,
                bool any_number = false) {
    return registry_->Set(line, specs, out, kOwn, any_number);
  }
};

TEST_F(SmsChannelsTest, AnSmsChannelGoesToTheLinesOwnNumberByDefault) {
  std::vector<Channel> out;
  Status st = SetSms("a1", {{"sms", "", "", ""}}, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type, "sms");
  EXPECT_EQ(out[0].to, kOwn);
  EXPECT_EQ(out[0].line, "a1");
  EXPECT_TRUE(out[0].url.empty());
  EXPECT_TRUE(out[0].secret.empty()) << "nothing to sign";
  EXPECT_TRUE(out[0].quiet_hours.empty());
  // Without a number of the line's own, a number must be given.
  st = registry_->Set("b1", {{"sms", "", "", ""}}, &out, "");
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(st.message(), Names("channels[0]", "to"));
  EXPECT_TRUE(registry_->Of("b1").empty());
}

TEST_F(SmsChannelsTest, TheNumberIsNormalisedAndMustBeTheLinesOwn) {
  std::vector<Channel> out;
  for (const char* to :
       {"090-1234-5678", "+81 90 1234 5678", "819012345678", "０９０ー１２３４ー５６７８"}) {
    Status st = SetSms("a1", {{"sms", "", to, ""}}, &out);
    ASSERT_TRUE(st.ok()) << to << ": " << st.ToString();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].to, kOwn) << to;
  }
  // A stranger's number is refused, unless an operator sets it.
  Status st = SetSms("a1", {{"sms", "", "", ""}, {"sms", "", "090-8765-4321", ""}}, &out);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(st.message(), Names("channels[1]", "to"));
  EXPECT_EQ(registry_->Of("a1").size(), 1u) << "nothing applied";
  st = SetSms("a1", {{"sms", "", "090-8765-4321", ""}}, &out, /*any_number=*/true);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, "819087654321");
  // Not a number at all.
  for (const char* to : {"call me", "+", "12345", "00819012345678"}) {
    st = SetSms("a1", {{"sms", "", to, ""}}, &out, true);
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << to;
    EXPECT_THAT(st.message(), Names("channels[0]", "to")) << to;
  }
}

TEST_F(SmsChannelsTest, QuietHoursAreChecked) {
  std::vector<Channel> out;
  for (const char* q : {"22:00-07:00", "off", "", "00:00-23:59", "09:30-17:45"}) {
    Status st = SetSms("a1", {{"sms", "", "", q}}, &out);
    EXPECT_TRUE(st.ok()) << q << ": " << st.ToString();
  }
  for (const char* q : {"25:00-07:00", "22:00", "08:00-08:00", "22:00-7:00", "night"}) {
    Status st = SetSms("a1", {{"sms", "", "", q}}, &out);
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << q;
    EXPECT_THAT(st.message(), HasSubstr("channels[0]")) << q;
    EXPECT_THAT(st.message(), HasSubstr("quiet_hours")) << q;
  }
  EXPECT_EQ(registry_->Of("a1")[0].quiet_hours, "09:30-17:45") << "the last good setting";
}

TEST_F(SmsChannelsTest, FieldsOfTheOtherTypeAreRefused) {
  std::vector<Channel> out;
  EXPECT_THAT(SetSms("a1", {{"sms", "https://hooks.example.net/a", "", ""}}, &out).message(),
              Names("channels[0]", "url"));
  EXPECT_THAT(SetSms("a1", {{"webhook", "https://hooks.example.net/a", kOwn, ""}}, &out).message(),
              Names("channels[0]", "to"));
  EXPECT_THAT(
      SetSms("a1", {{"webhook", "https://hooks.example.net/a", "", "22:00-07:00"}}, &out).message(),
      Names("channels[0]", "quiet_hours"));
  EXPECT_TRUE(registry_->Of("a1").empty());
}

TEST_F(SmsChannelsTest, RefusedWhenTheServerCannotSendSms) {
  options_.sms_available = false;
  Reopen();
  std::vector<Channel> out;
  Status st =
      SetSms("a1", {{"webhook", "https://hooks.example.net/a", "", ""}, {"sms", "", "", ""}}, &out);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(st.message(), Names("channels[1]", "type"));
  EXPECT_TRUE(registry_->Of("a1").empty());
}

TEST_F(SmsChannelsTest, RoutesSmsChannelsToTheirOwnEndpoints) {
  std::vector<Channel> out;
  ASSERT_TRUE(
      SetSms("a1", {{"webhook", "https://hooks.example.net/a", "", ""}, {"sms", "", "", ""}}, &out)
          .ok());
  ASSERT_EQ(out.size(), 2u);
  std::vector<uint32_t> to;
  registry_->Route(Alert("a1"), &to);
  EXPECT_EQ(
      to, (std::vector<uint32_t>{kChannelEndpointBase + out[0].id, kSmsEndpointBase + out[1].id}));
  to.clear();
  registry_->Route(Alert("a1", EventType::kTopup), &to);
  registry_->Route(Alert("b1"), &to);
  EXPECT_TRUE(to.empty());
  EXPECT_TRUE(registry_->HasSmsChannel("a1"));
  EXPECT_FALSE(registry_->HasSmsChannel("b1"));
  auto found = registry_->Find(out[1].id);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->type, "sms");
  EXPECT_EQ(found->to, kOwn);
  // SMS endpoints are above every webhook channel and enforcement endpoint.
  EXPECT_GT(kSmsEndpointBase, kChannelEndpointBase + kChannelIdMax);
  EXPECT_EQ(uint64_t{kSmsEndpointBase} + kChannelIdMax, 0xFFFF'FFFFu);

  // Only a webhook left: no SMS channel.
  ASSERT_TRUE(SetSms("a1", {{"webhook", "https://hooks.example.net/a", "", ""}}, &out).ok());
  EXPECT_FALSE(registry_->HasSmsChannel("a1"));
  EXPECT_FALSE(registry_->Find(found->id).has_value()) << "a removed channel is gone";
}

TEST_F(SmsChannelsTest, TheSameNumberTwiceIsOneChannel) {
  std::vector<Channel> out;
  ASSERT_TRUE(
      SetSms("a1", {{"sms", "", "", ""}, {"sms", "", "090-1234-5678", "22:00-07:00"}}, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(registry_->Of("a1").size(), 1u);
  std::vector<uint32_t> to;
  registry_->Route(Alert("a1"), &to);
  EXPECT_EQ(to.size(), 1u) << "one SMS per alert";
}

TEST_F(SmsChannelsTest, ChangingQuietHoursKeepsTheChannelAndSurvivesRestart) {
  std::vector<Channel> first, second, third;
  ASSERT_TRUE(SetSms("a1", {{"sms", "", "", "22:00-07:00"}}, &first).ok());
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(SetSms("a1", {{"sms", "", "+819012345678", "off"}}, &second).ok());
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id, first[0].id);
  EXPECT_EQ(second[0].quiet_hours, "off");
  EXPECT_EQ(second[0].created_at, first[0].created_at);
  // Back to the server's default.
  ASSERT_TRUE(SetSms("a1", {{"sms", "", "", ""}}, &third).ok());
  EXPECT_EQ(third[0].id, first[0].id);
  EXPECT_TRUE(third[0].quiet_hours.empty());
  ASSERT_TRUE(SetSms("a1", {{"sms", "", "", "23:00-06:30"}}, &third).ok());

  Reopen();
  auto again = registry_->Of("a1");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, first[0].id);
  EXPECT_EQ(again[0].type, "sms");
  EXPECT_EQ(again[0].to, kOwn);
  EXPECT_EQ(again[0].quiet_hours, "23:00-06:30");
  EXPECT_TRUE(again[0].url.empty());
  EXPECT_TRUE(registry_->HasSmsChannel("a1"));
  ASSERT_TRUE(registry_->Find(first[0].id).has_value());
  EXPECT_EQ(registry_->Find(first[0].id)->to, kOwn);

  // Another number is another channel, with a number never used before.
  std::vector<Channel> other;
  ASSERT_TRUE(SetSms("a1", {{"sms", "", "447700900123", ""}}, &other, true).ok());
  ASSERT_EQ(other.size(), 1u);
  EXPECT_GT(other[0].id, first[0].id);
  EXPECT_FALSE(registry_->Find(first[0].id).has_value());
}

TEST_F(SmsChannelsTest, SmsChannelsCountTowardsThePerLineMaximum) {
  std::vector<ChannelSpec> specs;
  for (size_t i = 0; i < options_.per_line_max; ++i) {
    specs.push_back({"webhook", "https://hooks.example.net/" + std::to_string(i), "", ""});
  }
  specs.push_back({"sms", "", "", ""});
  std::vector<Channel> out;
  EXPECT_THAT(SetSms("a1", specs, &out).message(), HasSubstr("at most"));
}

}  // namespace
}  // namespace ryuryo::notify
