#include "sms/alert_text.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/quantity.h"
#include "sms/segments.h"

namespace ryuryo::sms {
namespace {

constexpr uint64_t kMB = 1'000'000;
constexpr uint64_t kGB = 1'000'000'000;
constexpr uint64_t kTB = 1'000'000'000'000;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

constexpr std::string_view kHintJa = "停止→「停止」と返信";
constexpr std::string_view kHintZh = "回复 退订 停止通知";
constexpr std::string_view kHintEn = " Reply STOP to opt out.";

const Language kLangs[] = {Language::kJa, Language::kZh, Language::kEn};

std::string_view HintFor(Language lang) {
  return lang == Language::kZh ? kHintZh : lang == Language::kEn ? kHintEn : kHintJa;
}
std::string_view TagFor(Language lang) { return lang == Language::kEn ? "[ryuryo] " : "[流量] "; }

std::string DateTime(const LocalStamp& s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d/%02d %02d:%02d", s.month, s.day, s.hour, s.minute);
  return buf;
}

// A 3 GB monthly line with 600 MB left, resetting 12/04 00:00.
AlertFacts Typical(EventType type, std::string reason = "") {
  AlertFacts f;
  f.type = type;
  f.reason = std::move(reason);
  f.threshold = "80%";
  f.has_quota = true;
  f.quota_bytes = 3 * kGB;
  f.remaining_bytes = 600 * kMB;
  f.used_bytes = f.quota_bytes - f.remaining_bytes;
  f.rate_bps = 128'000;
  f.has_cycle_end = true;
  f.cycle_end = {12, 4, 0, 0};
  f.has_exhausted_at = true;
  f.exhausted_at = {12, 2, 15, 0};
  f.raised_at = {11, 30, 23, 12};
  return f;
}

AlertFacts Delayed(AlertFacts f) {
  f.delayed = true;
  return f;
}

// ---------------------------------------------------------------------------------------------
// Exact texts

TEST(AlertTextTest, ThresholdPercent) {
  AlertFacts f = Typical(EventType::kThreshold);
  EXPECT_EQ(AlertText(Language::kJa, f),
            "[流量] 80%を使用しました。残り 600 MB / 3 GB、12/04 00:00 にリセット。"
            "停止→「停止」と返信");
  EXPECT_EQ(AlertText(Language::kZh, f),
            "[流量] 本期流量已用 80%。剩余 600 MB / 3 GB，12/04 00:00 重置。回复 退订 停止通知");
  EXPECT_EQ(AlertText(Language::kEn, f),
            "[ryuryo] You have used 80% of your data. 600 MB of 3 GB left, resets 12/04 00:00. "
            "Reply STOP to opt out.");
}

TEST(AlertTextTest, ThresholdBytesLeft) {
  AlertFacts f = Typical(EventType::kThreshold);
  f.threshold = "500 MB left";
  f.remaining_bytes = 480 * kMB;
  EXPECT_EQ(AlertText(Language::kJa, f),
            "[流量] データ残量が 500 MB を下回りました。残り 480 MB、12/04 00:00 にリセット。"
            "停止→「停止」と返信");
  EXPECT_EQ(AlertText(Language::kZh, f),
            "[流量] 剩余流量已低于 500 MB。剩余 480 MB，12/04 00:00 重置。回复 退订 停止通知");
  EXPECT_EQ(AlertText(Language::kEn, f),
            "[ryuryo] Your data is below 500 MB. 480 MB left, resets 12/04 00:00. "
            "Reply STOP to opt out.");
}

TEST(AlertTextTest, ThresholdLabelsAreWrittenLikeSmsQuantities) {
  AlertFacts f = Typical(EventType::kThreshold);
  f.threshold = "12.50%";
  EXPECT_EQ(AlertText(Language::kEn, f).find("You have used 12.5% of your data."), 9u);
  f.threshold = "1.5 kB left";
  EXPECT_EQ(AlertText(Language::kEn, f).find("Your data is below 1.5 KB."), 9u);
  // A label that is neither: a general alert that does not quote it.
  f.threshold = "pace";
  EXPECT_EQ(AlertText(Language::kJa, f),
            "[流量] データ使用量のお知らせです。残り 600 MB / 3 GB、12/04 00:00 にリセット。"
            "停止→「停止」と返信");
  EXPECT_EQ(AlertText(Language::kEn, f),
            "[ryuryo] Data usage alert. 600 MB of 3 GB left, resets 12/04 00:00. "
            "Reply STOP to opt out.");
}

TEST(AlertTextTest, DelayedSaysWhenAndDropsTheHintWhenItNoLongerFits) {
  AlertFacts f = Delayed(Typical(EventType::kThreshold));
  EXPECT_EQ(AlertText(Language::kJa, f),
            "[流量] (23:12) 80%を使用しました。残り 600 MB / 3 GB、12/04 00:00 にリセット。"
            "停止→「停止」と返信");
  f.quota_bytes = 30 * kGB;
  f.remaining_bytes = 5'990 * kMB;
  EXPECT_EQ(AlertText(Language::kJa, f),
            "[流量] (23:12) 80%を使用しました。残り 5.99 GB / 30 GB、12/04 00:00 にリセット。");
  EXPECT_EQ(AlertText(Language::kZh, f),
            "[流量] (23:12) 本期流量已用 80%。剩余 5.99 GB / 30 GB，12/04 00:00 重置。"
            "回复 退订 停止通知");
  EXPECT_EQ(AlertText(Language::kEn, f),
            "[ryuryo] (23:12) You have used 80% of your data. 5.99 GB of 30 GB left, resets "
            "12/04 00:00. Reply STOP to opt out.");
}

TEST(AlertTextTest, Pace) {
  AlertFacts f = Typical(EventType::kPace);
  f.threshold = "pace";
  f.remaining_bytes = 1200 * kMB;
  EXPECT_EQ(AlertText(Language::kJa, f),
            "[流量] このペースだと 12/02 15:00 に上限に達します。残り 1.2 GB / 3 GB。"
            "停止→「停止」と返信");
  EXPECT_EQ(AlertText(Language::kZh, f),
            "[流量] 按当前用量，流量将于 12/02 15:00 用完。剩余 1.2 GB / 3 GB。回复 退订 停止通知");
  EXPECT_EQ(AlertText(Language::kEn, f),
            "[ryuryo] At this pace you run out of data by 12/02 15:00. 1.2 GB of 3 GB left. "
            "Reply STOP to opt out.");
  f.has_exhausted_at = false;
  EXPECT_EQ(AlertText(Language::kJa, f),
            "[流量] このペースだとリセット前に上限に達します。残り 1.2 GB / 3 GB。"
            "停止→「停止」と返信");
}

TEST(AlertTextTest, Exhausted) {
  AlertFacts f = Typical(EventType::kExhausted);
  f.remaining_bytes = 0;
  EXPECT_EQ(AlertText(Language::kJa, f),
            "[流量] データ容量 3 GB を使い切りました。12/04 00:00 にリセット。停止→「停止」と返信");
  EXPECT_EQ(AlertText(Language::kZh, f),
            "[流量] 本期 3 GB 流量已用完。12/04 00:00 重置。回复 退订 停止通知");
  EXPECT_EQ(AlertText(Language::kEn, f),
            "[ryuryo] You have used all 3 GB of your data. It resets 12/04 00:00. "
            "Reply STOP to opt out.");
  // A pass that does not renew: no reset.
  f.has_cycle_end = false;
  EXPECT_EQ(AlertText(Language::kEn, f),
            "[ryuryo] You have used all 3 GB of your data. Reply STOP to opt out.");
}

TEST(AlertTextTest, ThrottledByQuota) {
  AlertFacts f = Typical(EventType::kThrottled, "quota");
  f.remaining_bytes = 0;
  EXPECT_EQ(AlertText(Language::kJa, f),
            "[流量] 上限に達したため通信速度を 128 kbps に制限中。12/04 00:00 に解除。"
            "停止→「停止」と返信");
  EXPECT_EQ(AlertText(Language::kZh, f),
            "[流量] 流量已用完，网速已限制为 128 kbps，12/04 00:00 恢复。回复 退订 停止通知");
  EXPECT_EQ(AlertText(Language::kEn, f),
            "[ryuryo] Data limit reached: speed is limited to 128 kbps until 12/04 00:00. "
            "Reply STOP to opt out.");
}

TEST(AlertTextTest, ThrottledByFairUseAndExpiry) {
  AlertFacts f = Typical(EventType::kThrottled, "fair_use");
  f.has_quota = false;
  f.rate_bps = 1'000'000;
  EXPECT_EQ(AlertText(Language::kJa, f),
            "[流量] 直近の通信量が多いため通信速度を 1 Mbps に制限中。しばらくすると解除されます。"
            "停止→「停止」と返信");
  EXPECT_EQ(AlertText(Language::kZh, f),
            "[流量] 近期用量较大，网速已限制为 1 Mbps，稍后自动恢复。回复 退订 停止通知");
  EXPECT_EQ(AlertText(Language::kEn, f),
            "[ryuryo] Heavy recent use: speed is limited to 1 Mbps for a while. "
            "Reply STOP to opt out.");
  f = Typical(EventType::kThrottled, "expired");
  EXPECT_EQ(AlertText(Language::kJa, f),
            "[流量] 有効期限が切れたため通信速度を 128 kbps に制限中。停止→「停止」と返信");
  EXPECT_EQ(AlertText(Language::kZh, f),
            "[流量] 套餐已到期，网速已限制为 128 kbps。回复 退订 停止通知");
  EXPECT_EQ(AlertText(Language::kEn, f),
            "[ryuryo] Your plan has expired: speed is limited to 128 kbps. Reply STOP to opt out.");
}

TEST(AlertTextTest, Blocked) {
  AlertFacts f = Typical(EventType::kBlocked, "quota");
  EXPECT_EQ(AlertText(Language::kJa, f),
            "[流量] データ容量の上限に達したため通信を停止しました。12/04 00:00 に再開します。"
            "停止→「停止」と返信");
  EXPECT_EQ(AlertText(Language::kZh, f),
            "[流量] 流量已用完，已暂停上网，12/04 00:00 恢复。回复 退订 停止通知");
  EXPECT_EQ(AlertText(Language::kEn, f),
            "[ryuryo] Data limit reached: data is paused until 12/04 00:00. "
            "Reply STOP to opt out.");
  f.reason = "fair_use";
  EXPECT_EQ(AlertText(Language::kJa, f),
            "[流量] 直近の通信量が多いため通信を一時停止しました。しばらくすると再開します。"
            "停止→「停止」と返信");
  f.reason = "something_else";
  EXPECT_EQ(AlertText(Language::kZh, f), "[流量] 已暂停上网。回复 退订 停止通知");
}

TEST(AlertTextTest, Restored) {
  AlertFacts f = Typical(EventType::kRestored, "topup");
  f.remaining_bytes = kGB;
  EXPECT_EQ(AlertText(Language::kJa, f),
            "[流量] チャージにより通信制限を解除しました。残り 1 GB。停止→「停止」と返信");
  EXPECT_EQ(AlertText(Language::kZh, f),
            "[流量] 加油包已生效，已恢复正常上网。剩余 1 GB。回复 退订 停止通知");
  EXPECT_EQ(AlertText(Language::kEn, f),
            "[ryuryo] Top-up added: normal service is back. 1 GB left. Reply STOP to opt out.");
  f.reason = "reset";
  f.remaining_bytes = 3 * kGB;
  EXPECT_EQ(AlertText(Language::kJa, f),
            "[流量] データ容量のリセットにより通信制限を解除しました。残り 3 GB。"
            "停止→「停止」と返信");
  EXPECT_EQ(AlertText(Language::kEn, f),
            "[ryuryo] Your data has reset: normal service is back. 3 GB left. "
            "Reply STOP to opt out.");
  f.reason = "fair_use";
  f.has_quota = false;
  EXPECT_EQ(AlertText(Language::kZh, f),
            "[流量] 近期用量已回落，已恢复正常上网。回复 退订 停止通知");
}

// ---------------------------------------------------------------------------------------------
// Types and languages

TEST(AlertTextTest, HasAlertTextForTheSixAlertTypes) {
  for (int i = 0; i < kEventTypeCount; ++i) {
    EventType type = static_cast<EventType>(i);
    bool want = type == EventType::kThreshold || type == EventType::kPace ||
                type == EventType::kExhausted || type == EventType::kThrottled ||
                type == EventType::kBlocked || type == EventType::kRestored;
    EXPECT_EQ(HasAlertText(type), want) << EventTypeName(type);
    for (Language lang : kLangs) {
      EXPECT_EQ(AlertText(lang, Typical(type)).empty(), !want) << EventTypeName(type);
    }
  }
}

TEST(AlertTextTest, UnknownLanguageIsJapanese) {
  AlertFacts f = Typical(EventType::kExhausted);
  EXPECT_EQ(AlertText(Language::kUnknown, f), AlertText(Language::kJa, f));
}

// ---------------------------------------------------------------------------------------------
// Every combination fits one segment, uncut, with its key numbers

struct Variant {
  EventType type;
  std::string reason;
  std::string threshold;
};

std::vector<Variant> AllVariants() {
  std::vector<Variant> out;
  for (const char* label : {"80%", "100%", "0.01%", "12.34%", "500 MB left", "1.5 kB left",
                            "999 TB left", "1 PB left", "pace", "", "bogus label"}) {
    out.push_back({EventType::kThreshold, "", label});
  }
  out.push_back({EventType::kPace, "", "pace"});
  out.push_back({EventType::kExhausted, "", ""});
  for (const char* reason : {"quota", "fair_use", "expired", "", "other"}) {
    out.push_back({EventType::kThrottled, reason, ""});
    out.push_back({EventType::kBlocked, reason, ""});
  }
  for (const char* reason : {"reset", "topup", "fair_use", "plan_change", "", "quota"}) {
    out.push_back({EventType::kRestored, reason, ""});
  }
  return out;
}

// The numbers a text must show.
std::vector<std::string> KeyNumbers(const AlertFacts& f) {
  std::vector<std::string> out;
  const bool quota_reason = f.reason == "quota";
  switch (f.type) {
    case EventType::kThreshold: {
      if (f.has_quota) out.push_back(FormatSmsBytes(f.remaining_bytes));
      uint32_t bp = 0;
      uint64_t bytes = 0;
      std::string_view label = f.threshold;
      if (label.ends_with("%") && ParsePercentBp(label, &bp).ok()) out.push_back(FormatPercent(bp));
      if (label.ends_with(" left") && ParseBytes(label.substr(0, label.size() - 5), &bytes).ok())
        out.push_back(FormatSmsBytes(bytes));
      if (f.has_cycle_end) out.push_back(DateTime(f.cycle_end));
      break;
    }
    case EventType::kPace:
      if (f.has_exhausted_at) out.push_back(DateTime(f.exhausted_at));
      if (f.has_quota) out.push_back(FormatSmsBytes(f.remaining_bytes));
      break;
    case EventType::kExhausted:
      if (f.has_quota) out.push_back(FormatSmsBytes(f.quota_bytes));
      if (f.has_cycle_end) out.push_back(DateTime(f.cycle_end));
      break;
    case EventType::kThrottled:
      if (f.rate_bps > 0) out.push_back(FormatRate(f.rate_bps));
      if (quota_reason && f.has_cycle_end) out.push_back(DateTime(f.cycle_end));
      break;
    case EventType::kBlocked:
      if (quota_reason && f.has_cycle_end) out.push_back(DateTime(f.cycle_end));
      break;
    case EventType::kRestored:
      if (f.has_quota) out.push_back(FormatSmsBytes(f.remaining_bytes));
      break;
    default:
      break;
  }
  return out;
}

TEST(AlertTextTest, EveryCombinationFitsOneSegmentWithItsNumbers) {
  struct Sizes {
    uint64_t remaining, quota;
  };
  const Sizes kSizes[] = {
      {0, 0}, {0, 3 * kGB}, {999 * kTB, 999 * kTB}, {123'456'789'012, 999 * kTB}, {kMax, kMax}};
  const uint64_t kRates[] = {0, 1, 999, 128'000, 1'500'000, 1'000'000'000'000'000, kMax};
  const LocalStamp kLate = {12, 31, 23, 59};
  int checked = 0, with_hint = 0;
  for (const Variant& v : AllVariants()) {
    for (const Sizes& size : kSizes) {
      for (uint64_t rate : kRates) {
        for (int flags = 0; flags < 16; ++flags) {
          AlertFacts f;
          f.type = v.type;
          f.reason = v.reason;
          f.threshold = v.threshold;
          f.has_quota = flags & 1;
          f.quota_bytes = size.quota;
          f.remaining_bytes = size.remaining;
          f.used_bytes = size.quota - size.remaining;
          f.rate_bps = rate;
          f.has_cycle_end = flags & 2;
          f.cycle_end = kLate;
          f.has_exhausted_at = flags & 4;
          f.exhausted_at = kLate;
          f.delayed = flags & 8;
          f.raised_at = {12, 31, 23, 58};
          for (Language lang : kLangs) {
            const std::string text = AlertText(lang, f);
            SCOPED_TRACE(text);
            ++checked;
            ASSERT_EQ(SegmentsFor(text), 1u);
            ASSERT_EQ(text.find("…"), std::string::npos) << "cut";
            ASSERT_TRUE(text.starts_with(TagFor(lang)));
            if (lang == Language::kEn) {
              ASSERT_EQ(EncodingFor(text), SmsEncoding::kGsm7);
            }
            if (f.delayed) {
              ASSERT_EQ(text.substr(TagFor(lang).size(), 8), "(23:58) ");
            } else {
              ASSERT_EQ(text.find("(23:58)"), std::string::npos);
            }
            for (const std::string& number : KeyNumbers(f)) {
              ASSERT_NE(text.find(number), std::string::npos) << number;
            }
            // The hint is there, at the end, exactly when it fits.
            const std::string_view hint = HintFor(lang);
            if (text.ends_with(hint)) {
              ++with_hint;
            } else {
              ASSERT_GT(SegmentsFor(text + std::string(hint)), 1u);
            }
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 10'000);
  EXPECT_GT(with_hint, checked / 2);
}

// Without delay and with everyday numbers every text has room for the hint.
TEST(AlertTextTest, TypicalTextsCarryTheOptOutHint) {
  for (const Variant& v : AllVariants()) {
    AlertFacts f = Typical(v.type, v.reason);
    if (!v.threshold.empty()) f.threshold = v.threshold;
    for (Language lang : kLangs) {
      const std::string text = AlertText(lang, f);
      EXPECT_TRUE(text.ends_with(HintFor(lang))) << text;
    }
  }
}

}  // namespace
}  // namespace ryuryo::sms
