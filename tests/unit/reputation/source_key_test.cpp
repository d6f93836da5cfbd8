// Record keys: an address and its prefix, and their text.
#include "transportd/reputation/source_key.h"

#include <gtest/gtest.h>

#include "tests/unit/reputation/reputation_test_support.h"

namespace transport::reputation {
namespace {

using test::ip;

TEST(SourceKey, AddressKeysAreTheAddress) {
  EXPECT_EQ(to_string(address_key(ip("192.0.2.7"))), "192.0.2.7");
  EXPECT_EQ(to_string(address_key(ip("2001:db8:1:2::5"))), "2001:db8:1:2::5");
  EXPECT_FALSE(address_key(ip("192.0.2.7")).is_prefix());
  EXPECT_EQ(address_key(ip("::ffff:192.0.2.7")), address_key(ip("192.0.2.7")));
}

TEST(SourceKey, PrefixKeysClearTheHostBits) {
  EXPECT_EQ(to_string(prefix_key(ip("192.0.2.7"), 24, 64)), "192.0.2.0/24");
  EXPECT_EQ(to_string(prefix_key(ip("2001:db8:1:2:aa::5"), 24, 64)), "2001:db8:1:2::/64");
  EXPECT_EQ(to_string(prefix_key(ip("192.0.2.7"), 16, 48)), "192.0.0.0/16");
  EXPECT_EQ(to_string(prefix_key(ip("2001:db8:1:2:aa::5"), 24, 48)), "2001:db8:1::/48");
  EXPECT_TRUE(prefix_key(ip("192.0.2.7"), 24, 64).is_prefix());
  EXPECT_EQ(prefix_key(ip("192.0.2.7"), 24, 64), prefix_key(ip("192.0.2.200"), 24, 64));
  EXPECT_NE(prefix_key(ip("192.0.2.7"), 24, 64), prefix_key(ip("192.0.3.7"), 24, 64));
  // A prefix of the full length is the address itself; lengths out of range are clamped.
  EXPECT_EQ(prefix_key(ip("192.0.2.7"), 32, 64), address_key(ip("192.0.2.7")));
  EXPECT_EQ(to_string(prefix_key(ip("192.0.2.7"), 99, 64)), "192.0.2.7");
  EXPECT_EQ(to_string(prefix_key(ip("192.0.2.7"), 0, 64)), "0.0.0.0/0");
  EXPECT_EQ(to_string(prefix_key(ip("2001:db8::1"), 24, 0)), "::/0");
}

TEST(SourceKey, SpansCoverTheBlock) {
  const SourceKey prefix = prefix_key(ip("192.0.2.7"), 24, 64);
  EXPECT_EQ(first_value(prefix), ip("192.0.2.0").value());
  EXPECT_EQ(last_value(prefix), ip("192.0.2.255").value());
  const SourceKey v6 = prefix_key(ip("2001:db8:1:2::5"), 24, 64);
  EXPECT_EQ(first_value(v6), ip("2001:db8:1:2::").value());
  EXPECT_EQ(last_value(v6), ip("2001:db8:1:2:ffff:ffff:ffff:ffff").value());
  const SourceKey all = prefix_key(ip("2001:db8::1"), 24, 0);
  EXPECT_EQ(last_value(all), ~store::IpValue{0});
}

TEST(SourceKey, HashDependsOnTheSeedAndTheKind) {
  const SourceKey address = address_key(ip("192.0.2.0"));
  const SourceKey prefix = prefix_key(ip("192.0.2.0"), 24, 64);
  EXPECT_NE(hash(address, 1), hash(prefix, 1));  // same bits, different length
  EXPECT_NE(hash(address, 1), hash(address, 2));
  EXPECT_EQ(hash(address, 7), hash(address_key(ip("192.0.2.0")), 7));
}

}  // namespace
}  // namespace transport::reputation
