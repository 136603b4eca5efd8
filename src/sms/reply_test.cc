#include "sms/reply.h"

#include <gtest/gtest.h>

#include "sms/segments.h"
#include "sms/sender_limit.h"

namespace ryuryo::sms {
namespace {

constexpr uint64_t kGB = 1'000'000'000;

UsageFacts Typical() {
  UsageFacts f;
  f.has_quota = true;
  f.quota_bytes = 3 * kGB;
  f.used_bytes = 1'770'000'000;
  f.remaining_bytes = 1'230'000'000;
  f.today_bytes = 120'000'000;
  f.cycle_end = {12, 4, 0, 0};
  f.has_exhausted = true;
  f.exhausted_at = {12, 2, 18, 30};
  return f;
}

// Long values: the largest numbers and every optional part.
UsageFacts Longest() {
  UsageFacts f = Typical();
  f.quota_bytes = 999'000'000'000'000;
  f.remaining_bytes = 888'000'000'000'000;
  f.used_bytes = 777'000'000'000'000;
  f.today_bytes = 666'000'000'000'000;
  f.cycle_end = {12, 31, 23, 59};
  f.exhausted_at = {12, 30, 23, 59};
  for (int i = 0; i < 6; ++i)
    f.topups.push_back({999'000'000'000, 888'000'000'000, {12, 31, 0, 0}});
  return f;
}

const Keyword kAll[] = {Keyword::kBalance, Keyword::kToday, Keyword::kReset, Keyword::kTopups,
                        Keyword::kStop,    Keyword::kStart, Keyword::kHelp,  Keyword::kUnknown};
const Language kLangs[] = {Language::kJa, Language::kZh, Language::kEn};

TEST(ReplyTest, BalanceInThreeLanguages) {
  EXPECT_EQ(ReplyText(Keyword::kBalance, Language::kJa, Typical()),
            "残り 1.23 GB / 3 GB、12/04 00:00 にリセット。このペースだと 12/02 に上限。");
  EXPECT_EQ(ReplyText(Keyword::kBalance, Language::kZh, Typical()),
            "剩余 1.23 GB / 3 GB，12/04 00:00 重置。按当前用量，12/02 用完。");
  EXPECT_EQ(ReplyText(Keyword::kBalance, Language::kEn, Typical()),
            "1.23 GB of 3 GB left, resets 12/04 00:00. At this pace you run out 12/02.");
}

TEST(ReplyTest, UnlimitedAndNotStarted) {
  UsageFacts f = Typical();
  f.has_quota = false;
  f.has_exhausted = false;
  EXPECT_EQ(ReplyText(Keyword::kBalance, Language::kEn, f),
            "1.77 GB used (unlimited), resets 12/04 00:00.");
  f.started = false;
  EXPECT_EQ(ReplyText(Keyword::kReset, Language::kJa, f), "初回利用時に開始します。");
  EXPECT_EQ(ReplyText(Keyword::kBalance, Language::kZh, f), "本期已用 1.77 GB（不限量）。");
}

TEST(ReplyTest, TodayResetTopups) {
  UsageFacts f = Typical();
  EXPECT_EQ(ReplyText(Keyword::kToday, Language::kJa, f), "今日の使用量 120 MB。残り 1.23 GB。");
  EXPECT_EQ(ReplyText(Keyword::kToday, Language::kEn, f), "Used today: 120 MB. 1.23 GB left.");
  EXPECT_EQ(ReplyText(Keyword::kReset, Language::kZh, f), "下次重置：12/04 00:00。");
  EXPECT_EQ(ReplyText(Keyword::kTopups, Language::kEn, f), "No active top-ups.");
  f.topups.push_back({kGB, 800'000'000, {12, 31, 0, 0}});
  EXPECT_EQ(ReplyText(Keyword::kTopups, Language::kJa, f), "追加データ: 800 MB / 1 GB (12/31まで)");
  EXPECT_EQ(ReplyText(Keyword::kTopups, Language::kEn, f), "Top-ups: 800 MB / 1 GB (to 12/31)");
}

TEST(ReplyTest, EveryReplyFitsOneSegmentWithoutCutting) {
  for (Language lang : kLangs) {
    for (Keyword k : kAll) {
      for (const UsageFacts& f : {Typical(), Longest(), UsageFacts{}}) {
        std::string s = ReplyText(k, lang, f);
        SCOPED_TRACE(s);
        EXPECT_EQ(SegmentsFor(s), 1u);
        EXPECT_FALSE(s.ends_with("…"));
        EXPECT_FALSE(s.empty());
      }
    }
    EXPECT_EQ(SegmentsFor(UnknownSenderReply(lang)), 1u);
  }
}

TEST(ReplyTest, EnglishRepliesAreGsm7) {
  for (Keyword k : kAll) {
    EXPECT_EQ(EncodingFor(ReplyText(k, Language::kEn, Longest())), SmsEncoding::kGsm7);
  }
  EXPECT_EQ(EncodingFor(UnknownSenderReply(Language::kEn)), SmsEncoding::kGsm7);
}

TEST(ReplyTest, Language) {
  auto lang = [](std::string_view locale, std::string_view text) {
    return ReplyLanguage(locale, ParseKeyword(text), text);
  };
  EXPECT_EQ(lang("ja", "残量"), Language::kJa);
  EXPECT_EQ(lang("ja", "BALANCE"), Language::kEn);  // asked in English
  EXPECT_EQ(lang("en", "余额"), Language::kZh);
  EXPECT_EQ(lang("zh", "?"), Language::kZh);     // neutral: the line's
  EXPECT_EQ(lang("zh", "停止"), Language::kZh);  // shared Han keyword keeps zh
  EXPECT_EQ(lang("zh", "ストップ"), Language::kJa);
  EXPECT_EQ(lang("en", "停止"), Language::kJa);
  EXPECT_EQ(lang("", "hello"), Language::kJa);
}

TEST(ReplyTest, FormatSmsBytes) {
  EXPECT_EQ(FormatSmsBytes(0), "0 B");
  EXPECT_EQ(FormatSmsBytes(999), "999 B");
  EXPECT_EQ(FormatSmsBytes(3 * kGB), "3 GB");
  EXPECT_EQ(FormatSmsBytes(1'239'999'999), "1.23 GB");  // rounded down
  EXPECT_EQ(FormatSmsBytes(850'000'000), "850 MB");
  EXPECT_EQ(FormatSmsBytes(12'500'000), "12.5 MB");
  EXPECT_EQ(FormatSmsBytes(1'500), "1.5 KB");
}

TEST(SenderLimiterTest, LimitsPerSenderPerWindow) {
  SenderLimiter l(2, 1000, 3);
  EXPECT_TRUE(l.Allow("a", 0));
  EXPECT_TRUE(l.Allow("a", 1));
  EXPECT_FALSE(l.Allow("a", 2));
  EXPECT_TRUE(l.Allow("b", 2));     // per sender
  EXPECT_TRUE(l.Allow("a", 1000));  // a new window
  EXPECT_TRUE(l.Allow("c", 3));
  EXPECT_FALSE(l.Allow("d", 4));  // table full, nothing expired: refused
  EXPECT_EQ(l.size(), 3u);
  EXPECT_TRUE(l.Allow("d", 2000));  // expired windows are dropped
  EXPECT_LE(l.size(), 3u);
}

TEST(ReplyTest, LoginCodeFitsOneSegmentInEveryLanguage) {
  for (Language lang : {Language::kJa, Language::kZh, Language::kEn}) {
    const std::string text = LoginCodeText(lang, "042917", 5);
    EXPECT_NE(text.find("042917"), std::string::npos) << text;
    EXPECT_NE(text.find('5'), std::string::npos) << text;
    EXPECT_EQ(SegmentsFor(text), 1u) << text;
  }
  EXPECT_EQ(EncodingFor(LoginCodeText(Language::kEn, "000000", 5)), SmsEncoding::kGsm7);
}

}  // namespace
}  // namespace ryuryo::sms
