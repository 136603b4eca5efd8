#include "sms/keywords.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace ryuryo::sms {
namespace {

// "balance/ja" for the parse of `text`, so that failures show both halves.
std::string Parse(std::string_view text) {
  ParsedKeyword k = ParseKeyword(text);
  return std::string(KeywordName(k.kind)) + "/" + LanguageName(k.lang);
}

TEST(KeywordsTest, JapaneseVariants) {
  for (const char* t :
       {"残量", "残り", "のこり", "ざんりょう", "データ残量", "残量確認", "データ"}) {
    EXPECT_EQ(Parse(t), "balance/ja") << t;
  }
  for (const char* t : {"今日", "きょう", "本日", "今日の使用量"})
    EXPECT_EQ(Parse(t), "today/ja") << t;
  for (const char* t : {"リセット", "リセット日", "更新日"}) EXPECT_EQ(Parse(t), "reset/ja") << t;
  for (const char* t : {"チャージ", "追加", "データ追加"}) EXPECT_EQ(Parse(t), "topups/ja") << t;
  for (const char* t : {"停止", "ストップ", "配信停止"}) EXPECT_EQ(Parse(t), "stop/ja") << t;
  for (const char* t : {"再開", "開始", "スタート"}) EXPECT_EQ(Parse(t), "start/ja") << t;
  for (const char* t : {"ヘルプ", "使い方"}) EXPECT_EQ(Parse(t), "help/ja") << t;
}

TEST(KeywordsTest, ChineseVariants) {
  for (const char* t : {"余额", "流量", "剩余流量", "查询", "查询流量"}) {
    EXPECT_EQ(Parse(t), "balance/zh") << t;
  }
  for (const char* t : {"今天", "今日用量", "今天用量"}) EXPECT_EQ(Parse(t), "today/zh") << t;
  for (const char* t : {"重置", "重置日期"}) EXPECT_EQ(Parse(t), "reset/zh") << t;
  for (const char* t : {"充值", "加油包"}) EXPECT_EQ(Parse(t), "topups/zh") << t;
  EXPECT_EQ(Parse("退订"), "stop/zh");
  for (const char* t : {"开始", "恢复"}) EXPECT_EQ(Parse(t), "start/zh") << t;
  EXPECT_EQ(Parse("帮助"), "help/zh");
}

TEST(KeywordsTest, SharedHanWordsAreJapanese) {
  EXPECT_EQ(Parse("今日"), "today/ja");
  EXPECT_EQ(Parse("停止"), "stop/ja");
}

TEST(KeywordsTest, EnglishVariants) {
  for (const char* t : {"BALANCE", "BAL", "DATA", "LEFT"}) EXPECT_EQ(Parse(t), "balance/en") << t;
  for (const char* t : {"TODAY", "USAGE"}) EXPECT_EQ(Parse(t), "today/en") << t;
  for (const char* t : {"RESET", "RENEW"}) EXPECT_EQ(Parse(t), "reset/en") << t;
  for (const char* t : {"TOPUP", "TOP UP", "TOP-UP", "TOPUPS", "TOP UPS"}) {
    EXPECT_EQ(Parse(t), "topups/en") << t;
  }
  for (const char* t : {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}) {
    EXPECT_EQ(Parse(t), "stop/en") << t;
  }
  for (const char* t : {"START", "UNSTOP"}) EXPECT_EQ(Parse(t), "start/en") << t;
  for (const char* t : {"HELP", "INFO"}) EXPECT_EQ(Parse(t), "help/en") << t;
}

TEST(KeywordsTest, CaseAndFullWidthFold) {
  EXPECT_EQ(Parse("balance"), "balance/en");
  EXPECT_EQ(Parse("Balance"), "balance/en");
  EXPECT_EQ(Parse("bAlAnCe"), "balance/en");
  EXPECT_EQ(Parse("Ｂａｌａｎｃｅ"), "balance/en");
  EXPECT_EQ(Parse("ＳＴＯＰ"), "stop/en");
  EXPECT_EQ(Parse("ＴＯＰ－ＵＰ"), "topups/en");
  EXPECT_EQ(Parse("ＴＯＰ　ＵＰ"), "topups/en");  // ideographic space inside
  EXPECT_EQ(Parse("ｈｅｌｐ"), "help/en");
}

TEST(KeywordsTest, WhitespaceIsTrimmedAndCollapsed) {
  EXPECT_EQ(Parse("  stop\n"), "stop/en");
  EXPECT_EQ(Parse("\t残量\r\n"), "balance/ja");
  EXPECT_EQ(Parse("　残量　"), "balance/ja");              // U+3000 both sides
  EXPECT_EQ(Parse("\xC2\xA0余额\xC2\xA0"), "balance/zh");  // U+00A0
  EXPECT_EQ(Parse("top    up"), "topups/en");
  EXPECT_EQ(Parse("top \t　up"), "topups/en");
}

TEST(KeywordsTest, TrailingPunctuationIsIgnored) {
  EXPECT_EQ(Parse("残量？"), "balance/ja");
  EXPECT_EQ(Parse("残量?"), "balance/ja");
  EXPECT_EQ(Parse("残量。"), "balance/ja");
  EXPECT_EQ(Parse("余额！"), "balance/zh");
  EXPECT_EQ(Parse("balance!!"), "balance/en");
  EXPECT_EQ(Parse("balance ?"), "balance/en");
  EXPECT_EQ(Parse("stop."), "stop/en");
  EXPECT_EQ(Parse("help…"), "help/en");
  EXPECT_EQ(Parse("ヘルプ〜"), "help/ja");
  EXPECT_EQ(Parse("今日は？！ "), "unknown/unknown");  // は is not punctuation
  EXPECT_EQ(Parse("今天？！ "), "today/zh");
}

TEST(KeywordsTest, QuestionMarkAloneIsLanguageNeutralHelp) {
  EXPECT_EQ(Parse("?"), "help/unknown");
  EXPECT_EQ(Parse("？"), "help/unknown");
  EXPECT_EQ(Parse(" ??？ "), "help/unknown");
}

TEST(KeywordsTest, UnknownText) {
  for (const char* t :
       {"", " ", "　", "...", "!", "what is my balance", "balances", "bala", "stop it",
        "残量を教えて", "余额多少", "top up up", "ｾﾞﾝﾘｮｳ", "?stop", "h e l p", "\xEF\xBF\xBD"}) {
    EXPECT_EQ(Parse(t), "unknown/unknown") << t;
  }
}

TEST(KeywordsTest, PunctuationInsideIsNotStripped) {
  EXPECT_EQ(Parse("st.op"), "unknown/unknown");
  EXPECT_EQ(Parse("!stop"), "unknown/unknown");
}

TEST(KeywordsTest, TooLongIsUnknown) {
  std::string padded = "stop" + std::string(kKeywordTextBytesMax - 4, ' ');
  EXPECT_EQ(Parse(padded), "stop/en");
  EXPECT_EQ(Parse(padded + " "), "unknown/unknown");
}

TEST(KeywordsTest, InvalidUtf8NeverMatchesOrCrashes) {
  EXPECT_EQ(Parse("st\xFFop"), "unknown/unknown");
  EXPECT_EQ(Parse("stop\xE6"), "unknown/unknown");  // a truncated character is not punctuation
  EXPECT_EQ(Parse(std::string("stop\0", 5)), "unknown/unknown");

  std::mt19937 rng(20261127);
  std::uniform_int_distribution<int> len(0, 120);  // mostly under kKeywordTextBytesMax
  std::uniform_int_distribution<int> byte(0, 255);
  const std::string pieces[] = {"残量", "ＳＴＯＰ", "　", "？", "stop", "\xE6\xAE", "\xF0\x9F"};
  std::uniform_int_distribution<size_t> piece(0, std::size(pieces) - 1);
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const int n = len(rng);
    for (int j = 0; j < n; ++j) {
      if (byte(rng) < 32) {
        s += pieces[piece(rng)];
      } else {
        s.push_back(static_cast<char>(byte(rng)));
      }
    }
    ParsedKeyword k = ParseKeyword(s);
    // Whatever matched must be a real keyword with a consistent language.
    if (k.kind == Keyword::kUnknown) {
      EXPECT_EQ(k.lang, Language::kUnknown);
    } else {
      EXPECT_TRUE(k.lang != Language::kUnknown || k.kind == Keyword::kHelp);
    }
  }
}

}  // namespace
}  // namespace ryuryo::sms
