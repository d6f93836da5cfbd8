// RedisAddress: where a fleet's shared reputation lives, as --reputation-store gives it:
//   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]     HOST a name, an IPv4 address or [IPv6]; PORT 6379
// Pure: parsing and the description that logs and get-transportserver show (never the password).
#pragma once

#include <string>
#include <string_view>

namespace transport::shared_reputation {

struct RedisAddress {
  std::string host;
  int port = 6379;
  std::string user;      // Redis 6 ACL user; empty: AUTH with the password alone
  std::string password;  // empty: no AUTH
  int database = 0;      // SELECT when not 0

  // Throws std::invalid_argument with a sentence naming what is wrong and the form expected.
  static RedisAddress parse(std::string_view text);

  // "redis://HOST:PORT/DB" with the user but not the password ("redis://app:***@HOST:PORT").
  std::string describe() const;
};

}  // namespace transport::shared_reputation
