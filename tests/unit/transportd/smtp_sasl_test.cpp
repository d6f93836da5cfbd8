// SASL syntax: strict base64 (RFC 4648 §4) and the PLAIN message (RFC 4616).
#include "transportd/smtp/sasl.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace transport::smtp {
namespace {

TEST(SmtpSasl, Base64) {
  struct Case {
    const char* text;
    std::optional<std::string> decoded;
  };
  const Case cases[] = {
      {"", std::string()},
      {"Zg==", std::string("f")},
      {"Zm8=", std::string("fo")},
      {"Zm9v", std::string("foo")},
      {"Zm9vYg==", std::string("foob")},
      {"Zm9vYmE=", std::string("fooba")},
      {"Zm9vYmFy", std::string("foobar")},
      {"AGFsaWNlAHNlY3JldA==", std::string("\0alice\0secret", 13)},
      {"+/+/", std::string("\xfb\xff\xbf")},
      {"VXNlcm5hbWU6", std::string("Username:")},
      // Refused: wrong length, missing or misplaced padding, other alphabets, blanks, non-canonical bits.
      {"Zg", std::nullopt},
      {"Zg=", std::nullopt},
      {"Zm9vY", std::nullopt},
      {"=", std::nullopt},
      {"====", std::nullopt},
      {"Z===", std::nullopt},
      {"Zg==Zg==", std::nullopt},
      {"Z=g=", std::nullopt},
      {"Zm9v\r\n", std::nullopt},
      {"Zm 9v", std::nullopt},
      {"-_-_", std::nullopt},  // base64url
      {"Zh==", std::nullopt},  // "f" with non-zero unused bits
      {"Zm9=", std::nullopt},
      {"*", std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(decode_base64(c.text), c.decoded) << '"' << c.text << '"';
  }
}

TEST(SmtpSasl, PlainMessage) {
  const auto parts = parse_plain(std::string("authz\0user\0pass", 15));
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->authzid, "authz");
  EXPECT_EQ(parts->authcid, "user");
  EXPECT_EQ(parts->passwd, "pass");
  const auto empty = parse_plain(std::string("\0\0", 2));
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->authcid, "");
  EXPECT_EQ(empty->passwd, "");
  EXPECT_FALSE(parse_plain("").has_value());
  EXPECT_FALSE(parse_plain(std::string("user\0pass", 9)).has_value());
  EXPECT_FALSE(parse_plain(std::string("\0user\0pa\0ss", 11)).has_value());
}

TEST(SmtpSasl, Wipe) {
  std::string secret = "a rather long secret that is not in the small string buffer";
  wipe(secret);
  EXPECT_TRUE(secret.empty());
}

}  // namespace
}  // namespace transport::smtp
