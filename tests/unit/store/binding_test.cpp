// Binding: a.b.c.d:port and [ipv6]:port, wildcards, mapped addresses shown as IPv4, and refusals.
#include "store/binding.h"

#include <gtest/gtest.h>

#include "store/value_error.h"

namespace transport::store {
namespace {

struct Valid {
  const char* text;
  IpFamily family;
  std::uint16_t port;
  bool wildcard;
  const char* canonical;
};

TEST(Binding, ParsesAndShowsCanonically) {
  const Valid cases[] = {
      {"0.0.0.0:25", IpFamily::v4, 25, true, "0.0.0.0:25"},
      {"127.0.0.1:2525", IpFamily::v4, 2525, false, "127.0.0.1:2525"},
      {" 192.0.2.1:587 ", IpFamily::v4, 587, false, "192.0.2.1:587"},
      {"10.0.0.1:1", IpFamily::v4, 1, false, "10.0.0.1:1"},
      {"10.0.0.1:65535", IpFamily::v4, 65535, false, "10.0.0.1:65535"},
      {"[::]:25", IpFamily::v6, 25, true, "[::]:25"},
      {"[::1]:2525", IpFamily::v6, 2525, false, "[::1]:2525"},
      {"[2001:DB8:0::1]:2525", IpFamily::v6, 2525, false, "[2001:db8::1]:2525"},
      {"[::ffff:192.0.2.1]:25", IpFamily::v4, 25, false, "192.0.2.1:25"},
      {"[::ffff:0.0.0.0]:25", IpFamily::v4, 25, true, "0.0.0.0:25"},
      {"10.0.0.1:025", IpFamily::v4, 25, false, "10.0.0.1:25"},
  };
  for (const Valid& c : cases) {
    SCOPED_TRACE(c.text);
    Binding b = Binding::parse(c.text);
    EXPECT_EQ(b.address.family(), c.family);
    EXPECT_EQ(b.port, c.port);
    EXPECT_EQ(b.is_wildcard(), c.wildcard);
    EXPECT_EQ(b.to_string(), c.canonical);
    EXPECT_EQ(Binding::parse(b.to_string()), b);
  }
  EXPECT_EQ(Binding::parse("[::ffff:192.0.2.1]:25"), Binding::parse("192.0.2.1:25"));
  EXPECT_NE(Binding::parse("0.0.0.0:25"), Binding::parse("[::]:25"));
}

struct Invalid {
  const char* text;
  const char* fragment;
};

TEST(Binding, Refuses) {
  const Invalid cases[] = {
      {"10.0.0.1:0", "the port must be 1-65535"},
      {"10.0.0.1:65536", "the port must be 1-65535"},
      {"10.0.0.1:99999999999", "the port must be 1-65535"},
      {"10.0.0.1:+25", "the port must be a number"},
      {"10.0.0.1:-1", "the port must be a number"},
      {"10.0.0.1:smtp", "the port must be a number"},
      {"10.0.0.1:", "the port after ':' is missing"},
      {"10.0.0.1", "the port is missing; write 10.0.0.1:port"},
      {"mail", "the port is missing"},
      {"::1:25", "an IPv6 address must be in brackets: did you mean [::1]:25?"},
      {"2001:db8::1:2525", "did you mean [2001:db8::1]:2525?"},
      {"::1", "must be in brackets: write [::1]:port"},
      {"gg::1:25", "an IPv6 address must be in brackets"},
      {"[::1]", "the port is missing"},
      {"[::1]25", "the port is missing"},
      {"[::1:25", "the ']' after the IPv6 address is missing"},
      {"[10.0.0.1]:25", "brackets are only for IPv6"},
      {"[::1]:0", "1-65535"},
      {"[::1]:65536", "1-65535"},
      {"010.0.0.1:25", "leading zero"},
      {"10.0.0.256:25", "greater than 255"},
      {"[fe80::1%eth0]:25", "zone ids"},
      {"[::g]:25", "unexpected character 'g'"},
      {"", "it is empty"},
  };
  for (const Invalid& c : cases) {
    SCOPED_TRACE(c.text);
    try {
      Binding::parse(c.text);
      ADD_FAILURE() << "accepted";
    } catch (const ValueError& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(std::string("\"") + c.text + "\" is not a valid binding", 0), 0u) << message;
      EXPECT_NE(message.find(c.fragment), std::string::npos) << message;
    }
  }
}

}  // namespace
}  // namespace transport::store
