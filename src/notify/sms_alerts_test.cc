#include "notify/sms_alerts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/test_util.h"
#include "notify/channels.h"
#include "notify/sms_optout.h"
#include "sms/quiet_hours.h"
#include "store/store.h"

namespace ryuryo::notify {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kTokyoLine[] = "jp-0001";
constexpr char kTokyoMsisdn[] = "819012345678";
constexpr char kOtherTokyoLine[] = "jp-0002";
constexpr char kOtherTokyoMsisdn[] = "819087654321";
constexpr char kUtcLine[] = "gb-0001";
constexpr char kUtcMsisdn[] = "447700900123";
constexpr char kShanghaiLine[] = "cn-0001";
constexpr char kShanghaiMsisdn[] = "8613812345678";

sms::QuietHours Quiet(std::string_view text) {
  sms::QuietHours q;
  Status st = sms::ParseQuietHours(text, &q);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return q;
}

Zone FindZone(std::string_view name) {
  Zone z;
  Status st = Zone::Find(name, &z);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return z;
}

struct SentSms {
  std::string to;
  std::string text;
};

class SmsAlertsTest : public ::testing::Test {
 protected:
  SmsAlertsTest() {
    store_options_.path = dir_.path() + "/db";
    store_options_.sync = false;
    lines_[kTokyoLine] = SmsLine{kTokyoMsisdn, "ja", Zone::Tokyo(), true};
    lines_[kOtherTokyoLine] = SmsLine{kOtherTokyoMsisdn, "ja", Zone::Tokyo(), true};
    lines_[kUtcLine] = SmsLine{kUtcMsisdn, "en", Zone::Utc(), true};
    lines_[kShanghaiLine] = SmsLine{kShanghaiMsisdn, "zh", FindZone("Asia/Shanghai"), true};
    options_.all_lines = true;
    options_.quiet_hours = Quiet("22:00-08:00");
    options_.daily_max_per_line = 5;
    OpenStore();
  }

  // Opens the store, the channels and the opt-outs, then SmsAlerts.
  void OpenStore() {
    ASSERT_TRUE(store::Store::Open(store_options_, &store_).ok());
    ChannelOptions co;
    co.sms_available = true;
    Status st = ChannelRegistry::Open(
        store_.get(), co, [this] { return now_; }, &channels_);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE(SmsOptOut::Open(store_.get(), &opt_out_).ok());
    Reopen();
  }

  // Closes everything and opens it again from the same directory (a restart).
  void Restart() {
    alerts_.reset();
    opt_out_.reset();
    channels_.reset();
    store_.reset();
    OpenStore();
  }

  // A new SmsAlerts on the same store (with the current options_).
  void Reopen() {
    alerts_.reset();
    Status st = SmsAlerts::Open(
        store_.get(), options_, channels_.get(), opt_out_.get(),
        [this](const std::string& line) -> std::optional<SmsLine> {
          auto it = lines_.find(line);
          if (it == lines_.end()) return std::nullopt;
          return it->second;
        },
        [this](std::string_view to, std::string_view text) {
          ++send_calls_;
          if (!send_status_.ok()) return send_status_;
          sent_.push_back({std::string(to), std::string(text)});
          return Status::Ok();
        },
        [this] { return now_; }, &alerts_);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  // A threshold alert: 80% of 3 GB used, 600 MB left, the cycle ending 12/04 00:00 in Tokyo.
  Event Alert(const std::string& line, EventType type = EventType::kThreshold) {
    Event ev;
    ev.seq = ++seq_;
    ev.type = type;
    ev.line = line;
    ev.account = "acct-1";
    ev.at = now_;
    ev.threshold = type == EventType::kThreshold ? "80%" : type == EventType::kPace ? "pace" : "";
    ev.has_quota = true;
    ev.quota_bytes = 3 * kGB;
    ev.remaining_bytes = 600 * kMB;
    ev.used_bytes = ev.quota_bytes - ev.remaining_bytes;
    ev.cycle_start = T("2026-11-03T15:00:00Z");
    ev.cycle_end = T("2026-12-03T15:00:00Z");
    if (type == EventType::kPace) ev.exhausted_at = T("2026-12-02T06:00:00Z");
    if (type == EventType::kThrottled) {
      ev.reason = "quota";
      ev.rate_bps = 128'000;
    }
    return ev;
  }

  SmsResult Deliver(const Event& ev, uint32_t endpoint = kSmsEndpointBase) {
    return alerts_->Deliver(ev, endpoint);
  }

  // Sets the line's channels; the SMS ones go to the line's own number unless `to` is given.
  std::vector<Channel> SetChannels(const std::string& line, std::vector<ChannelSpec> specs,
                                   bool any_number = false) {
    std::vector<Channel> out;
    Status st = channels_->Set(line, specs, &out, lines_.at(line).msisdn, any_number);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  std::vector<std::string> SentTo() const {
    std::vector<std::string> to;
    for (const SentSms& s : sent_) to.push_back(s.to);
    return to;
  }

  bool HasMetric(const std::string& line) const {
    return alerts_->MetricsText().find(line + "\n") != std::string::npos;
  }

  TempDir dir_;
  store::StoreOptions store_options_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ChannelRegistry> channels_;
  std::unique_ptr<SmsOptOut> opt_out_;
  std::unique_ptr<SmsAlerts> alerts_;
  SmsAlertOptions options_;
  std::map<std::string, SmsLine> lines_;
  Millis now_ = T("2026-11-27T12:00:00+09:00");
  uint64_t seq_ = 0;
  Status send_status_ = Status::Ok();
  int send_calls_ = 0;
  std::vector<SentSms> sent_;
};

// ---------------------------------------------------------------------------------------------
// Quiet hours

TEST_F(SmsAlertsTest, InsideQuietHoursTheAlertWaitsUntilTheyEndInTheLinesTime) {
  now_ = T("2026-11-27T23:00:00+09:00");
  const Event ev = Alert(kTokyoLine);
  SmsResult r = Deliver(ev);
  EXPECT_EQ(r.outcome, SmsOutcome::kDeferred);
  EXPECT_EQ(r.defer_ms, 9 * kMillisPerHour) << "23:00 to 08:00";
  EXPECT_THAT(r.detail, StartsWith(std::string(kQuietHoursPrefix)));
  EXPECT_EQ(send_calls_, 0);

  // Part way into a minute: the wait ends at 08:00:00 sharp, not a minute boundary later.
  now_ = T("2026-11-27T23:00:30.250+09:00");
  r = Deliver(ev);
  EXPECT_EQ(r.outcome, SmsOutcome::kDeferred);
  EXPECT_EQ(r.defer_ms, 9 * kMillisPerHour - 30'250);

  // The window's start is inside it; after midnight it still is.
  now_ = T("2026-11-27T22:00:00+09:00");
  EXPECT_EQ(Deliver(ev).defer_ms, 10 * kMillisPerHour);
  now_ = T("2026-11-28T03:15:00+09:00");
  EXPECT_EQ(Deliver(ev).defer_ms, 4 * kMillisPerHour + 45 * kMillisPerMinute);
  now_ = T("2026-11-28T07:59:59.500+09:00");
  r = Deliver(ev);
  EXPECT_EQ(r.outcome, SmsOutcome::kDeferred);
  EXPECT_EQ(r.defer_ms, 500);
  EXPECT_EQ(send_calls_, 0);

  // Its end is outside it.
  now_ = T("2026-11-28T08:00:00+09:00");
  r = Deliver(ev);
  EXPECT_EQ(r.outcome, SmsOutcome::kSent) << r.detail;
  EXPECT_EQ(SentTo(), (std::vector<std::string>{kTokyoMsisdn}));

  // Just before the next window.
  now_ = T("2026-11-28T21:59:59.999+09:00");
  EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kSent);
  EXPECT_EQ(sent_.size(), 2u);
}

TEST_F(SmsAlertsTest, QuietHoursFollowEachLinesOwnTimeZone) {
  // 14:00 UTC is 23:00 in Tokyo and 22:00 in Shanghai.
  now_ = T("2026-11-27T14:00:00Z");
  SmsResult tokyo = Deliver(Alert(kTokyoLine));
  EXPECT_EQ(tokyo.outcome, SmsOutcome::kDeferred);
  EXPECT_EQ(tokyo.defer_ms, 9 * kMillisPerHour);
  SmsResult shanghai = Deliver(Alert(kShanghaiLine));
  EXPECT_EQ(shanghai.outcome, SmsOutcome::kDeferred);
  EXPECT_EQ(shanghai.defer_ms, 10 * kMillisPerHour);
  SmsResult utc = Deliver(Alert(kUtcLine));
  EXPECT_EQ(utc.outcome, SmsOutcome::kSent) << utc.detail;
  EXPECT_EQ(SentTo(), (std::vector<std::string>{kUtcMsisdn}));

  // 23:30 UTC is 08:30 the next morning in Tokyo.
  sent_.clear();
  now_ = T("2026-11-27T23:30:00Z");
  EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kSent);
  utc = Deliver(Alert(kUtcLine));
  EXPECT_EQ(utc.outcome, SmsOutcome::kDeferred);
  EXPECT_EQ(utc.defer_ms, 8 * kMillisPerHour + 30 * kMillisPerMinute);
  EXPECT_EQ(SentTo(), (std::vector<std::string>{kTokyoMsisdn}));
}

TEST_F(SmsAlertsTest, QuietHoursFollowDaylightSavingTime) {
  // New York is UTC-4 in summer and UTC-5 in winter: 02:30 UTC is 22:30 in July, 21:30 in
  // January.
  lines_["us-0001"] = SmsLine{"12125550123", "en", FindZone("America/New_York"), true};
  now_ = T("2026-07-15T02:30:00Z");
  SmsResult r = Deliver(Alert("us-0001"));
  EXPECT_EQ(r.outcome, SmsOutcome::kDeferred);
  EXPECT_EQ(r.defer_ms, 9 * kMillisPerHour + 30 * kMillisPerMinute);
  now_ = T("2027-01-15T02:30:00Z");
  Event winter = Alert("us-0001");
  winter.cycle_end = T("2027-02-01T05:00:00Z");
  r = Deliver(winter);
  EXPECT_EQ(r.outcome, SmsOutcome::kSent) << r.detail;
}

TEST_F(SmsAlertsTest, TheWaitEndsWithTheQuietHoursOnANightTheClocksChange) {
  lines_["us-0001"] = SmsLine{"12125550123", "en", FindZone("America/New_York"), true};
  Event ev = Alert("us-0001");
  ev.cycle_end = T("2027-01-01T05:00:00Z");
  // 2026-03-08 02:00 EST becomes 03:00 EDT: from 23:00 EST to 08:00 EDT is 8 hours.
  now_ = T("2026-03-07T23:00:00-05:00");
  SmsResult r = Deliver(ev);
  EXPECT_EQ(r.outcome, SmsOutcome::kDeferred);
  EXPECT_EQ(now_ + r.defer_ms, T("2026-03-08T08:00:00-04:00"))
      << "defer_ms " << r.defer_ms << " ends at " << FormatRfc3339Utc(now_ + r.defer_ms);
  // 2026-11-01 02:00 EDT becomes 01:00 EST: from 23:00 EDT to 08:00 EST is 10 hours.
  now_ = T("2026-10-31T23:00:00-04:00");
  r = Deliver(ev);
  EXPECT_EQ(r.outcome, SmsOutcome::kDeferred);
  EXPECT_EQ(now_ + r.defer_ms, T("2026-11-01T08:00:00-05:00"))
      << "defer_ms " << r.defer_ms << " ends at " << FormatRfc3339Utc(now_ + r.defer_ms);
}

TEST_F(SmsAlertsTest, QuietHoursEndingInTheHourTheClocksSkipEndWhenTheClocksJump) {
  // On 2026-03-08 New York's clocks go from 01:59:59 EST to 03:00 EDT (07:00Z): 02:30 never
  // comes, and a window ending then is over at 03:00 EDT.
  options_.quiet_hours = Quiet("22:00-02:30");
  Reopen();
  lines_["us-0001"] = SmsLine{"12125550123", "en", FindZone("America/New_York"), true};
  Event ev = Alert("us-0001");
  ev.cycle_end = T("2027-01-01T05:00:00Z");
  for (const char* at :
       {"2026-03-07T23:00:00-05:00", "2026-03-08T01:30:00-05:00", "2026-03-08T01:59:00-05:00"}) {
    now_ = T(at);
    SmsResult r = Deliver(ev);
    EXPECT_EQ(r.outcome, SmsOutcome::kDeferred) << at;
    EXPECT_EQ(now_ + r.defer_ms, T("2026-03-08T03:00:00-04:00"))
        << at << ": defer_ms " << r.defer_ms << " ends at " << FormatRfc3339Utc(now_ + r.defer_ms);
  }
  now_ = T("2026-03-08T03:00:00-04:00");
  EXPECT_EQ(Deliver(ev).outcome, SmsOutcome::kSent);
}

TEST_F(SmsAlertsTest, AChannelsOwnQuietHoursReplaceTheDefault) {
  // A channel with its own window, one with none ("off"), and a line whose channel leaves it
  // to the server's default.
  auto own = SetChannels(kTokyoLine, {{"sms", "", "", "01:00-06:00"}});
  auto off = SetChannels(kOtherTokyoLine, {{"sms", "", "", "off"}});
  auto dflt = SetChannels(kShanghaiLine, {{"sms", "", "", ""}});
  ASSERT_EQ(own.size(), 1u);
  ASSERT_EQ(off.size(), 1u);
  ASSERT_EQ(dflt.size(), 1u);
  const uint32_t own_ep = kSmsEndpointBase + own[0].id;
  const uint32_t off_ep = kSmsEndpointBase + off[0].id;
  const uint32_t dflt_ep = kSmsEndpointBase + dflt[0].id;

  now_ = T("2026-11-27T23:00:00+09:00");  // 22:00 in Shanghai
  EXPECT_EQ(Deliver(Alert(kTokyoLine), own_ep).outcome, SmsOutcome::kSent)
      << "the default 22:00-08:00 does not apply to a channel with its own window";
  EXPECT_EQ(Deliver(Alert(kOtherTokyoLine), off_ep).outcome, SmsOutcome::kSent);
  SmsResult r = Deliver(Alert(kShanghaiLine), dflt_ep);
  EXPECT_EQ(r.outcome, SmsOutcome::kDeferred);
  EXPECT_EQ(r.defer_ms, 10 * kMillisPerHour);

  now_ = T("2026-11-28T02:00:00+09:00");
  r = Deliver(Alert(kTokyoLine), own_ep);
  EXPECT_EQ(r.outcome, SmsOutcome::kDeferred);
  EXPECT_EQ(r.defer_ms, 4 * kMillisPerHour) << "until the channel's 06:00";
  EXPECT_THAT(r.detail, HasSubstr("01:00-06:00"));
  EXPECT_EQ(Deliver(Alert(kOtherTokyoLine), off_ep).outcome, SmsOutcome::kSent)
      << "\"off\": no quiet hours at all";
  EXPECT_EQ(SentTo(),
            (std::vector<std::string>{kTokyoMsisdn, kOtherTokyoMsisdn, kOtherTokyoMsisdn}));

  // Changing the window keeps the channel, and the next delivery uses the new one.
  auto changed = SetChannels(kTokyoLine, {{"sms", "", "", "off"}});
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].id, own[0].id);
  EXPECT_EQ(Deliver(Alert(kTokyoLine), own_ep).outcome, SmsOutcome::kSent);
}

TEST_F(SmsAlertsTest, WithoutDefaultQuietHoursAlertsGoAtAnyTime) {
  options_.quiet_hours = sms::QuietHours{};
  Reopen();
  now_ = T("2026-11-27T03:00:00+09:00");
  EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kSent);
  // A channel's own window still applies.
  auto own = SetChannels(kOtherTokyoLine, {{"sms", "", "", "02:00-04:00"}});
  ASSERT_EQ(own.size(), 1u);
  SmsResult r = Deliver(Alert(kOtherTokyoLine), kSmsEndpointBase + own[0].id);
  EXPECT_EQ(r.outcome, SmsOutcome::kDeferred);
  EXPECT_EQ(r.defer_ms, kMillisPerHour);
}

// ---------------------------------------------------------------------------------------------
// The daily cap

TEST_F(SmsAlertsTest, TheDailyCapCountsPerLineAndLocalDayAndSurvivesARestart) {
  options_.daily_max_per_line = 2;
  options_.quiet_hours = sms::QuietHours{};
  Reopen();
  now_ = T("2026-11-27T09:00:00+09:00");
  EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kSent);
  now_ = T("2026-11-27T10:00:00+09:00");
  EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kSent);
  now_ = T("2026-11-27T11:00:00+09:00");
  SmsResult r = Deliver(Alert(kTokyoLine));
  EXPECT_EQ(r.outcome, SmsOutcome::kDropped);
  EXPECT_THAT(r.detail, HasSubstr("cap"));
  EXPECT_EQ(send_calls_, 2) << "a capped alert is not sent";
  // Another line has its own count.
  EXPECT_EQ(Deliver(Alert(kOtherTokyoLine)).outcome, SmsOutcome::kSent);
  EXPECT_TRUE(HasMetric("ryuryo_sms_alerts_dropped_total{reason=\"capped\"} 1"))
      << alerts_->MetricsText();
  EXPECT_TRUE(HasMetric("ryuryo_sms_alerts_sent_total 3"));

  // The count is kept in the store: a new SmsAlerts (and a restart) still knows it.
  Reopen();
  now_ = T("2026-11-27T23:59:59+09:00");
  EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kDropped);
  Restart();
  EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kDropped);
  bool stored = false;
  ASSERT_TRUE(store_
                  ->ScanAccountData("sms/sent/",
                                    [&](std::string_view key, std::string_view) {
                                      stored |= key == "sms/sent/jp-0001";
                                      return Status::Ok();
                                    })
                  .ok());
  EXPECT_TRUE(stored);

  // Midnight in Tokyo (still 2026-11-27 in UTC) starts a new day for the line.
  now_ = T("2026-11-28T00:00:00+09:00");
  r = Deliver(Alert(kTokyoLine));
  EXPECT_EQ(r.outcome, SmsOutcome::kSent) << r.detail;
  Restart();
  now_ = T("2026-11-28T00:01:00+09:00");
  EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kSent);
  now_ = T("2026-11-28T00:02:00+09:00");
  EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kDropped)
      << "the new day's count survived the restart too";
  EXPECT_EQ(SentTo(), (std::vector<std::string>{kTokyoMsisdn, kTokyoMsisdn, kOtherTokyoMsisdn,
                                                kTokyoMsisdn, kTokyoMsisdn}));
}

TEST_F(SmsAlertsTest, TheDailyCapOfAUtcLineResetsAtUtcMidnight) {
  options_.daily_max_per_line = 1;
  options_.quiet_hours = sms::QuietHours{};
  Reopen();
  now_ = T("2026-11-27T14:00:00Z");  // 23:00 in Tokyo
  EXPECT_EQ(Deliver(Alert(kUtcLine)).outcome, SmsOutcome::kSent);
  now_ = T("2026-11-27T15:30:00Z");  // the next day in Tokyo, not in UTC
  EXPECT_EQ(Deliver(Alert(kUtcLine)).outcome, SmsOutcome::kDropped);
  now_ = T("2026-11-28T00:00:00Z");
  EXPECT_EQ(Deliver(Alert(kUtcLine)).outcome, SmsOutcome::kSent);
}

TEST_F(SmsAlertsTest, DeferredAndFailedAlertsDoNotCountTowardsTheCap) {
  options_.daily_max_per_line = 2;
  Reopen();
  now_ = T("2026-11-27T07:00:00+09:00");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kDeferred);
  now_ = T("2026-11-27T09:00:00+09:00");
  send_status_ = Status::Unavailable("kannel: HTTP 503: Service unavailable");
  for (int i = 0; i < 3; ++i) {
    SmsResult r = Deliver(Alert(kTokyoLine));
    EXPECT_EQ(r.outcome, SmsOutcome::kFailed);
    EXPECT_THAT(r.detail, HasSubstr("503"));
  }
  EXPECT_EQ(send_calls_, 3);
  EXPECT_TRUE(sent_.empty());
  EXPECT_TRUE(HasMetric("ryuryo_sms_alerts_sent_total 0")) << alerts_->MetricsText();
  send_status_ = Status::Ok();
  EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kSent);
  EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kSent);
  EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kDropped);
  EXPECT_TRUE(HasMetric("ryuryo_sms_alerts_sent_total 2"));
}

TEST_F(SmsAlertsTest, WithoutASenderTheAlertFails) {
  Status st = SmsAlerts::Open(
      store_.get(), options_, channels_.get(), opt_out_.get(),
      [this](const std::string& line) -> std::optional<SmsLine> { return lines_.at(line); },
      nullptr, [this] { return now_; }, &alerts_);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kFailed);
}

// ---------------------------------------------------------------------------------------------
// STOP, and who gets what

TEST_F(SmsAlertsTest, StopDropsAlertsAndStartSendsThemAgain) {
  ASSERT_TRUE(opt_out_->Set(kTokyoLine, true).ok());
  SmsResult r = Deliver(Alert(kTokyoLine));
  EXPECT_EQ(r.outcome, SmsOutcome::kDropped);
  EXPECT_THAT(r.detail, HasSubstr("STOP"));
  // Also through a channel of the line's own.
  auto c = SetChannels(kTokyoLine, {{"sms", "", "", ""}});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(Deliver(Alert(kTokyoLine), kSmsEndpointBase + c[0].id).outcome, SmsOutcome::kDropped);
  // Only that line.
  EXPECT_EQ(Deliver(Alert(kOtherTokyoLine)).outcome, SmsOutcome::kSent);
  EXPECT_EQ(send_calls_, 1);
  EXPECT_TRUE(HasMetric("ryuryo_sms_alerts_dropped_total{reason=\"stopped\"} 2"))
      << alerts_->MetricsText();

  // STOP during quiet hours: dropped, not deferred (nothing is waiting to be sent later).
  now_ = T("2026-11-27T23:00:00+09:00");
  EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kDropped);

  ASSERT_TRUE(opt_out_->Set(kTokyoLine, false).ok());
  now_ = T("2026-11-28T09:00:00+09:00");
  EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kSent);
  EXPECT_EQ(Deliver(Alert(kTokyoLine), kSmsEndpointBase + c[0].id).outcome, SmsOutcome::kSent);
  EXPECT_EQ(SentTo(), (std::vector<std::string>{kOtherTokyoMsisdn, kTokyoMsisdn, kTokyoMsisdn}));
}

TEST_F(SmsAlertsTest, ARemovedChannelsEntryIsDroppedAndNeverSentToAnotherChannel) {
  auto old_channel = SetChannels(kTokyoLine, {{"sms", "", "", ""}});
  ASSERT_EQ(old_channel.size(), 1u);
  const Event ev = Alert(kTokyoLine);
  std::vector<uint32_t> endpoints;
  channels_->Route(ev, &endpoints);
  alerts_->Route(ev, &endpoints);
  ASSERT_EQ(endpoints, (std::vector<uint32_t>{kSmsEndpointBase + old_channel[0].id}));

  // Removed, then a new channel (another number, set by an operator) on the same line.
  SetChannels(kTokyoLine, {});
  auto new_channel = SetChannels(kTokyoLine, {{"sms", "", "+44 7700 900123", ""}}, true);
  ASSERT_EQ(new_channel.size(), 1u);
  ASSERT_NE(new_channel[0].id, old_channel[0].id);
  SmsResult r = Deliver(ev, endpoints[0]);
  EXPECT_EQ(r.outcome, SmsOutcome::kDropped);
  EXPECT_THAT(r.detail, HasSubstr("removed"));
  EXPECT_EQ(send_calls_, 0);
  EXPECT_TRUE(HasMetric("ryuryo_sms_alerts_dropped_total{reason=\"gone\"} 1"));

  // An entry for the new channel goes to the new number.
  EXPECT_EQ(Deliver(Alert(kTokyoLine), kSmsEndpointBase + new_channel[0].id).outcome,
            SmsOutcome::kSent);
  EXPECT_EQ(SentTo(), (std::vector<std::string>{"447700900123"}));

  // An id that never existed.
  EXPECT_EQ(Deliver(ev, kSmsEndpointBase + 9999).outcome, SmsOutcome::kDropped);
  EXPECT_EQ(send_calls_, 1);
}

TEST_F(SmsAlertsTest, AChannelNeverGetsAnotherLinesAlert) {
  auto other = SetChannels(kOtherTokyoLine, {{"sms", "", "", ""}});
  auto webhook = SetChannels(kTokyoLine, {{"webhook", "https://hooks.example.net/a", "", ""}});
  ASSERT_EQ(other.size(), 1u);
  ASSERT_EQ(webhook.size(), 1u);
  SmsResult r = Deliver(Alert(kTokyoLine), kSmsEndpointBase + other[0].id);
  EXPECT_EQ(r.outcome, SmsOutcome::kDropped);
  // A webhook channel's number is not an SMS channel, even on the event's line.
  EXPECT_EQ(Deliver(Alert(kTokyoLine), kSmsEndpointBase + webhook[0].id).outcome,
            SmsOutcome::kDropped);
  EXPECT_EQ(send_calls_, 0);
  EXPECT_EQ(Deliver(Alert(kOtherTokyoLine), kSmsEndpointBase + other[0].id).outcome,
            SmsOutcome::kSent);
  EXPECT_EQ(SentTo(), (std::vector<std::string>{kOtherTokyoMsisdn}));
}

TEST_F(SmsAlertsTest, AGoneLineOrOneWithoutANumberGetsNothing) {
  lines_["jp-nonum"] = SmsLine{"", "ja", Zone::Tokyo(), true};
  EXPECT_EQ(Deliver(Alert("jp-gone")).outcome, SmsOutcome::kDropped);
  SmsResult r = Deliver(Alert("jp-nonum"));
  EXPECT_EQ(r.outcome, SmsOutcome::kDropped);
  EXPECT_THAT(r.detail, HasSubstr("number"));
  // A channel with a number of its own still works for a line without one.
  std::vector<Channel> c;
  ASSERT_TRUE(channels_->Set("jp-nonum", {{"sms", "", "09011112222", ""}}, &c, "", true).ok());
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(Deliver(Alert("jp-nonum"), kSmsEndpointBase + c[0].id).outcome, SmsOutcome::kSent);
  // A channel of a line that was removed since.
  lines_.erase("jp-nonum");
  EXPECT_EQ(Deliver(Alert("jp-nonum"), kSmsEndpointBase + c[0].id).outcome, SmsOutcome::kDropped);
  EXPECT_EQ(SentTo(), (std::vector<std::string>{"819011112222"}));
}

TEST_F(SmsAlertsTest, OnlyAlertsOfALineAreSent) {
  options_.daily_max_per_line = 10;
  Reopen();
  for (EventType t :
       {EventType::kReset, EventType::kTopup, EventType::kQuarantined, EventType::kEnforcement}) {
    EXPECT_EQ(Deliver(Alert(kTokyoLine, t)).outcome, SmsOutcome::kDropped) << EventTypeName(t);
  }
  Event no_line = Alert(kTokyoLine);
  no_line.line.clear();
  EXPECT_EQ(Deliver(no_line).outcome, SmsOutcome::kDropped);
  EXPECT_EQ(send_calls_, 0);
  for (EventType t : {EventType::kThreshold, EventType::kPace, EventType::kExhausted,
                      EventType::kThrottled, EventType::kBlocked, EventType::kRestored}) {
    EXPECT_EQ(Deliver(Alert(kTokyoLine, t)).outcome, SmsOutcome::kSent) << EventTypeName(t);
  }
}

TEST_F(SmsAlertsTest, WithoutAllLinesTheLinesOwnNumberGetsNothing) {
  options_.all_lines = false;
  Reopen();
  std::vector<uint32_t> endpoints;
  alerts_->Route(Alert(kTokyoLine), &endpoints);
  EXPECT_TRUE(endpoints.empty());
  EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kDropped);
  // A channel still works.
  auto c = SetChannels(kTokyoLine, {{"sms", "", "", ""}});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(Deliver(Alert(kTokyoLine), kSmsEndpointBase + c[0].id).outcome, SmsOutcome::kSent);
}

TEST_F(SmsAlertsTest, RoutesAlertsOfLinesWithoutAnSmsChannelToTheirOwnNumber) {
  std::vector<uint32_t> endpoints;
  for (EventType t : {EventType::kThreshold, EventType::kPace, EventType::kExhausted,
                      EventType::kThrottled, EventType::kBlocked, EventType::kRestored}) {
    endpoints.clear();
    alerts_->Route(Alert(kTokyoLine, t), &endpoints);
    EXPECT_EQ(endpoints, (std::vector<uint32_t>{kSmsEndpointBase})) << EventTypeName(t);
  }
  endpoints.clear();
  alerts_->Route(Alert(kTokyoLine, EventType::kReset), &endpoints);
  alerts_->Route(Alert(kTokyoLine, EventType::kTopup), &endpoints);
  alerts_->Route(Alert(kTokyoLine, EventType::kEnforcement), &endpoints);
  Event no_line = Alert(kTokyoLine);
  no_line.line.clear();
  alerts_->Route(no_line, &endpoints);
  EXPECT_TRUE(endpoints.empty());

  // A webhook channel does not replace the SMS; an SMS channel does.
  SetChannels(kTokyoLine, {{"webhook", "https://hooks.example.net/a", "", ""}});
  alerts_->Route(Alert(kTokyoLine), &endpoints);
  EXPECT_EQ(endpoints, (std::vector<uint32_t>{kSmsEndpointBase}));
  auto c = SetChannels(kOtherTokyoLine, {{"sms", "", "", "off"}});
  ASSERT_EQ(c.size(), 1u);
  endpoints.clear();
  const Event ev = Alert(kOtherTokyoLine);
  channels_->Route(ev, &endpoints);
  alerts_->Route(ev, &endpoints);
  EXPECT_EQ(endpoints, (std::vector<uint32_t>{kSmsEndpointBase + c[0].id}))
      << "one SMS per alert, not one to the channel and one to the line";
}

// ---------------------------------------------------------------------------------------------
// Stale alerts

TEST_F(SmsAlertsTest, AlertsAboutACycleThatHasEndedAreDropped) {
  options_.quiet_hours = sms::QuietHours{};
  Reopen();
  now_ = T("2026-12-04T00:00:00+09:00");  // cycle_end of Alert()
  for (EventType t : {EventType::kThreshold, EventType::kPace, EventType::kExhausted}) {
    SmsResult r = Deliver(Alert(kTokyoLine, t));
    EXPECT_EQ(r.outcome, SmsOutcome::kDropped) << EventTypeName(t);
    EXPECT_THAT(r.detail, HasSubstr("cycle")) << EventTypeName(t);
  }
  EXPECT_EQ(send_calls_, 0);
  EXPECT_TRUE(HasMetric("ryuryo_sms_alerts_dropped_total{reason=\"stale\"} 3"))
      << alerts_->MetricsText();
  // A change of the line's state is still true news.
  for (EventType t : {EventType::kThrottled, EventType::kBlocked, EventType::kRestored}) {
    EXPECT_EQ(Deliver(Alert(kTokyoLine, t)).outcome, SmsOutcome::kSent) << EventTypeName(t);
  }
  // One millisecond before the end it is not stale.
  now_ = T("2026-12-03T23:59:59.999+09:00");
  EXPECT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kSent);
  // An alert without a cycle end (e.g. unlimited) never goes stale that way.
  Event no_end = Alert(kTokyoLine);
  no_end.cycle_end = 0;
  now_ = T("2027-03-01T12:00:00+09:00");
  EXPECT_EQ(Deliver(no_end).outcome, SmsOutcome::kSent);
}

TEST_F(SmsAlertsTest, AnAlertDeferredPastItsCycleEndIsDroppedWhenTheQuietHoursEnd) {
  Event ev = Alert(kTokyoLine);
  ev.cycle_end = T("2026-11-28T00:00:00+09:00");
  now_ = T("2026-11-27T23:00:00+09:00");
  EXPECT_EQ(Deliver(ev).outcome, SmsOutcome::kDeferred);
  now_ = T("2026-11-28T08:00:00+09:00");
  EXPECT_EQ(Deliver(ev).outcome, SmsOutcome::kDropped);
  EXPECT_EQ(send_calls_, 0);
}

// ---------------------------------------------------------------------------------------------
// The text

TEST_F(SmsAlertsTest, TheTextIsInTheLinesLanguageAndTimeZoneAndNamesTheThreshold) {
  options_.quiet_hours = sms::QuietHours{};
  Reopen();
  ASSERT_EQ(Deliver(Alert(kTokyoLine)).outcome, SmsOutcome::kSent);
  ASSERT_EQ(Deliver(Alert(kShanghaiLine)).outcome, SmsOutcome::kSent);
  ASSERT_EQ(Deliver(Alert(kUtcLine)).outcome, SmsOutcome::kSent);
  ASSERT_EQ(sent_.size(), 3u);
  // The cycle ends 2026-12-03T15:00Z: 00:00 on 12/04 in Tokyo, 23:00 on 12/03 in Shanghai.
  EXPECT_EQ(sent_[0].text,
            "[流量] 80%を使用しました。残り 600 MB / 3 GB、12/04 00:00 にリセット。"
            "停止→「停止」と返信");
  EXPECT_EQ(sent_[1].text,
            "[流量] 本期流量已用 80%。剩余 600 MB / 3 GB，12/03 23:00 重置。回复 退订 停止通知");
  EXPECT_EQ(sent_[2].text,
            "[ryuryo] You have used 80% of your data. 600 MB of 3 GB left, resets 12/03 15:00. "
            "Reply STOP to opt out.");

  // Another threshold label is quoted as it is.
  sent_.clear();
  Event low = Alert(kTokyoLine);
  low.threshold = "500 MB left";
  low.remaining_bytes = 480 * kMB;
  ASSERT_EQ(Deliver(low).outcome, SmsOutcome::kSent);
  Event ninety = Alert(kUtcLine);
  ninety.threshold = "90%";
  ASSERT_EQ(Deliver(ninety).outcome, SmsOutcome::kSent);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_THAT(sent_[0].text, HasSubstr("データ残量が 500 MB を下回りました。残り 480 MB、"));
  EXPECT_THAT(sent_[1].text, HasSubstr("You have used 90% of your data."));
}

TEST_F(SmsAlertsTest, ALocaleOfALineChoosesTheLanguage) {
  options_.quiet_hours = sms::QuietHours{};
  Reopen();
  lines_["x-en"] = SmsLine{"819000000001", "en-US", Zone::Tokyo(), true};
  lines_["x-zh"] = SmsLine{"819000000002", "zh-TW", Zone::Tokyo(), true};
  lines_["x-none"] = SmsLine{"819000000003", "", Zone::Tokyo(), true};
  for (const char* line : {"x-en", "x-zh", "x-none"}) {
    ASSERT_EQ(Deliver(Alert(line, EventType::kBlocked)).outcome, SmsOutcome::kSent) << line;
  }
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_THAT(sent_[0].text, StartsWith("[ryuryo] "));
  EXPECT_THAT(sent_[1].text, HasSubstr("已暂停上网"));
  EXPECT_THAT(sent_[2].text, HasSubstr("通信を停止しました"));
}

TEST_F(SmsAlertsTest, APassThatDoesNotRenewDoesNotPromiseAReset) {
  options_.quiet_hours = sms::QuietHours{};
  Reopen();
  lines_[kTokyoLine].renews = false;
  ASSERT_EQ(Deliver(Alert(kTokyoLine, EventType::kExhausted)).outcome, SmsOutcome::kSent);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_THAT(sent_[0].text, HasSubstr("データ容量 3 GB を使い切りました。"));
  EXPECT_EQ(sent_[0].text.find("リセット"), std::string::npos) << sent_[0].text;
}

TEST_F(SmsAlertsTest, APaceAlertGivesTheRunOutTimeInLocalTime) {
  options_.quiet_hours = sms::QuietHours{};
  Reopen();
  ASSERT_EQ(Deliver(Alert(kTokyoLine, EventType::kPace)).outcome, SmsOutcome::kSent);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_THAT(sent_[0].text, HasSubstr("このペースだと 12/02 15:00 に上限に達します。"));
}

TEST_F(SmsAlertsTest, AnAlertSentLateSaysWhenItHappened) {
  // Raised at 23:12 in Tokyo, inside the quiet hours; sent at 08:00.
  now_ = T("2026-11-27T23:12:40+09:00");
  const Event ev = Alert(kTokyoLine);
  ASSERT_EQ(Deliver(ev).outcome, SmsOutcome::kDeferred);
  now_ = T("2026-11-28T08:00:00+09:00");
  ASSERT_EQ(Deliver(ev).outcome, SmsOutcome::kSent);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_THAT(sent_[0].text, StartsWith("[流量] (23:12) 80%を使用しました。"));

  // In the line's own time zone.
  now_ = T("2026-11-27T21:40:00Z");
  Event utc = Alert(kUtcLine);
  utc.at = T("2026-11-27T21:29:59.999Z");
  ASSERT_EQ(Deliver(utc).outcome, SmsOutcome::kSent);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_THAT(sent_[1].text, StartsWith("[ryuryo] (21:29) You have used 80%"));

  // Exactly 10 minutes late is not late.
  utc.at = T("2026-11-27T21:30:00Z");
  ASSERT_EQ(Deliver(utc).outcome, SmsOutcome::kSent);
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_THAT(sent_[2].text, StartsWith("[ryuryo] You have used 80%"));
}

}  // namespace
}  // namespace ryuryo::notify
