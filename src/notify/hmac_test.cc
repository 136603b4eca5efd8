#include "notify/hmac.h"

#include <gtest/gtest.h>

#include <string>

namespace ryuryo::notify {
namespace {

// RFC 4231 section 4: HMAC-SHA-256 test vectors.
TEST(HmacSha256HexTest, Rfc4231TestCase1) {
  EXPECT_EQ(HmacSha256Hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(HmacSha256HexTest, Rfc4231TestCase2KeyShorterThanOutput) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256HexTest, Rfc4231TestCase3) {
  EXPECT_EQ(HmacSha256Hex(std::string(20, '\xaa'), std::string(50, '\xdd')),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
}

TEST(HmacSha256HexTest, Rfc4231TestCase4) {
  std::string key;
  for (int i = 1; i <= 25; ++i) key.push_back(static_cast<char>(i));
  EXPECT_EQ(HmacSha256Hex(key, std::string(50, '\xcd')),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
}

TEST(HmacSha256HexTest, Rfc4231TestCase6KeyLargerThanBlock) {
  EXPECT_EQ(HmacSha256Hex(std::string(131, '\xaa'),
                          "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256HexTest, Rfc4231TestCase7KeyAndDataLargerThanBlock) {
  EXPECT_EQ(HmacSha256Hex(std::string(131, '\xaa'),
                          "This is a test using a larger than block-size key and a larger than "
                          "block-size data. The key needs to be hashed before being used by the "
                          "HMAC algorithm."),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(HmacSha256HexTest, EmptyKeyAndMessage) {
  EXPECT_EQ(HmacSha256Hex("", ""),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  EXPECT_EQ(HmacSha256Hex(std::string_view(), std::string_view()), HmacSha256Hex("", ""));
}

TEST(HmacSha256HexTest, BinaryMessageWithNulBytes) {
  const std::string with_nul("a\0b", 3);
  EXPECT_NE(HmacSha256Hex("k", with_nul), HmacSha256Hex("k", "a"));
  EXPECT_EQ(HmacSha256Hex("k", with_nul).size(), kHmacSha256HexChars);
}

TEST(ConstantTimeEqualsTest, ComparesContentsAndLengths) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals(std::string_view(), ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "xbc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_TRUE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(ConstantTimeEqualsTest, ChecksASignature) {
  const std::string expected = HmacSha256Hex("secret", "{\"line\":\"a\"}");
  EXPECT_TRUE(ConstantTimeEquals(expected, HmacSha256Hex("secret", "{\"line\":\"a\"}")));
  EXPECT_FALSE(ConstantTimeEquals(expected, HmacSha256Hex("secret", "{\"line\":\"b\"}")));
  EXPECT_FALSE(ConstantTimeEquals(expected, HmacSha256Hex("other", "{\"line\":\"a\"}")));
}

}  // namespace
}  // namespace ryuryo::notify
