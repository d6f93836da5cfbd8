// SourceFilter: addresses, CIDR blocks and globs, and what each names.
#include <gtest/gtest.h>

#include "store/value_error.h"
#include "tests/unit/reputation/reputation_test_support.h"
#include "transportd/reputation/source_key.h"
#include "transportd/reputation/source_reputation.h"

namespace transport::reputation {
namespace {

using test::ip;

bool names(const SourceFilter& filter, const SourceKey& key) { return filter.matches(key, to_string(key)); }

TEST(SourceFilter, EmptyAndStarNameEverything) {
  for (const char* text : {"", "  ", "*"}) {
    const SourceFilter filter = SourceFilter::parse(text);
    EXPECT_EQ(filter.text, "*");
    EXPECT_TRUE(names(filter, address_key(ip("192.0.2.7"))));
    EXPECT_TRUE(names(filter, prefix_key(ip("2001:db8::1"), 24, 64)));
  }
}

TEST(SourceFilter, AnAddressNamesItsRecordOnly) {
  const SourceFilter filter = SourceFilter::parse(" 192.0.2.7 ");
  EXPECT_EQ(filter.text, "192.0.2.7");
  EXPECT_TRUE(names(filter, address_key(ip("192.0.2.7"))));
  EXPECT_FALSE(names(filter, address_key(ip("192.0.2.8"))));
  EXPECT_FALSE(names(filter, prefix_key(ip("192.0.2.7"), 24, 64)));
  EXPECT_EQ(SourceFilter::parse("2001:DB8::0001").text, "2001:db8::1");
}

TEST(SourceFilter, ABlockNamesEveryRecordInsideIt) {
  const SourceFilter filter = SourceFilter::parse("192.0.2.0/24");
  EXPECT_EQ(filter.text, "192.0.2.0/24");
  EXPECT_TRUE(names(filter, prefix_key(ip("192.0.2.7"), 24, 64)));
  EXPECT_TRUE(names(filter, address_key(ip("192.0.2.7"))));
  EXPECT_TRUE(names(filter, address_key(ip("192.0.2.255"))));
  EXPECT_FALSE(names(filter, address_key(ip("192.0.3.0"))));
  EXPECT_FALSE(names(filter, prefix_key(ip("192.0.2.7"), 16, 64)));  // wider than the block
  EXPECT_FALSE(names(filter, address_key(ip("::c000:207"))));        // the other family

  const SourceFilter wide = SourceFilter::parse("10.0.0.0/8");
  EXPECT_TRUE(names(wide, prefix_key(ip("10.1.2.3"), 24, 64)));
  const SourceFilter v6 = SourceFilter::parse("2001:db8:1:2::/64");
  EXPECT_TRUE(names(v6, prefix_key(ip("2001:db8:1:2::5"), 24, 64)));
  EXPECT_TRUE(names(v6, address_key(ip("2001:db8:1:2::5"))));
  EXPECT_FALSE(names(v6, address_key(ip("2001:db8:1:3::5"))));
}

TEST(SourceFilter, GlobsMatchTheSourceText) {
  const SourceFilter filter = SourceFilter::parse("192.0.2.*");
  EXPECT_TRUE(names(filter, address_key(ip("192.0.2.7"))));
  EXPECT_TRUE(names(filter, prefix_key(ip("192.0.2.7"), 24, 64)));  // "192.0.2.0/24"
  EXPECT_FALSE(names(filter, address_key(ip("192.0.20.7"))));
  const SourceFilter one = SourceFilter::parse("192.0.2.?");
  EXPECT_TRUE(names(one, address_key(ip("192.0.2.7"))));
  EXPECT_FALSE(names(one, address_key(ip("192.0.2.17"))));
  const SourceFilter v6 = SourceFilter::parse("2001:DB8:*/64");
  EXPECT_EQ(v6.text, "2001:db8:*/64");
  EXPECT_TRUE(names(v6, prefix_key(ip("2001:db8:1:2::5"), 24, 64)));
  EXPECT_FALSE(names(v6, address_key(ip("2001:db8:1:2::5"))));
  EXPECT_TRUE(names(SourceFilter::parse("*.7"), address_key(ip("192.0.2.7"))));
  EXPECT_TRUE(names(SourceFilter::parse("**2**"), address_key(ip("192.0.2.7"))));
}

TEST(SourceFilter, RefusalsSayWhy) {
  try {
    SourceFilter::parse("192.0.2.7/24");
    ADD_FAILURE();
  } catch (const store::ValueError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("\"192.0.2.7/24\" is not a source: it has host bits set: did you mean 192.0.2.0/24", 0), 0u)
        << e.what();
  }
  try {
    SourceFilter::parse(std::string("a\0b*", 4));
    ADD_FAILURE();
  } catch (const store::ValueError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("\"a\\x00b*\" is not a source", 0), 0u) << e.what();
  }
}

TEST(SourceFilter, BadTextSaysWhatIsAllowed) {
  for (const char* text : {"mail.example.com", "192.0.2.0/33", "192.0.2.1-192.0.2.9", "192.0.2.7/24", "192.0.2.x*",
                           "10.0.0.0/8 junk"}) {
    try {
      SourceFilter::parse(text);
      ADD_FAILURE() << text << " was accepted";
    } catch (const store::ValueError& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(std::string("\"") + text + "\" is not a source", 0), 0u) << message;
      EXPECT_NE(message.find("192.0.2.0/24"), std::string::npos) << message;
    }
  }
}

}  // namespace
}  // namespace transport::reputation
