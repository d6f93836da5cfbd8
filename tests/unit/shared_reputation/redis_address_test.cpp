// --reputation-store addresses: the forms Redis clients accept, and a sentence for each mistake.
#include "transportd/shared_reputation/redis_address.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace transport::shared_reputation {
namespace {

std::string refusal(std::string_view text) {
  try {
    RedisAddress::parse(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "accepted";
}

TEST(RedisAddressTest, HostPortDatabaseAndCredentials) {
  RedisAddress a = RedisAddress::parse("redis://127.0.0.1");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 6379);
  EXPECT_EQ(a.database, 0);
  EXPECT_TRUE(a.password.empty());
  EXPECT_EQ(a.describe(), "redis://127.0.0.1:6379");

  a = RedisAddress::parse("redis://:s3cret@redis.example.net:6380/2");
  EXPECT_EQ(a.host, "redis.example.net");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.database, 2);
  EXPECT_EQ(a.user, "");
  EXPECT_EQ(a.password, "s3cret");
  EXPECT_EQ(a.describe(), "redis://:***@redis.example.net:6380/2");

  a = RedisAddress::parse("redis://transport:p@ss@[::1]:7000");  // the last '@' ends the credentials
  EXPECT_EQ(a.user, "transport");
  EXPECT_EQ(a.password, "p@ss");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 7000);
  EXPECT_EQ(a.describe(), "redis://transport:***@[::1]:7000");
  EXPECT_EQ(RedisAddress::parse("redis://[::1]").port, 6379);
}

TEST(RedisAddressTest, MistakesAreNamed) {
  EXPECT_NE(refusal("rediss://host").find("TLS to Redis is not supported"), std::string::npos);
  EXPECT_NE(refusal("http://host").find("not a redis:// address"), std::string::npos);
  EXPECT_NE(refusal("redis://").find("no host"), std::string::npos);
  EXPECT_NE(refusal("redis://host:0").find("port must be from 1 to 65535"), std::string::npos);
  EXPECT_NE(refusal("redis://host:70000").find("port must be from 1 to 65535"), std::string::npos);
  EXPECT_NE(refusal("redis://host:").find("port after ':' is empty"), std::string::npos);
  EXPECT_NE(refusal("redis://host/x").find("database after '/'"), std::string::npos);
  EXPECT_NE(refusal("redis://user@host").find("USER:PASSWORD"), std::string::npos);
  EXPECT_NE(refusal("redis://user:@host").find("password after ':' is empty"), std::string::npos);
  EXPECT_NE(refusal("redis://[::1").find("closing ']'"), std::string::npos);
  EXPECT_NE(refusal("redis://").find("(expected redis://[[USER]:PASSWORD@]HOST[:PORT][/DB])"), std::string::npos);
  EXPECT_EQ(refusal("redis://x:1"), "accepted");
}

}  // namespace
}  // namespace transport::shared_reputation
