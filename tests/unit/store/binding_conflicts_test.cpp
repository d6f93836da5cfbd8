// The Bindings + RemoteIPRanges uniqueness rule: nested is fine, equal or partial overlap is not.
#include "store/binding_conflicts.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace transport::store {
namespace {

ReceiveConnector connector(std::int64_t id, std::string name, std::string binding, std::vector<std::string> ranges) {
  ReceiveConnector c;
  c.id = id;
  c.name = std::move(name);
  c.bindings = {Binding::parse(binding)};
  c.remote_ip_ranges.clear();
  for (const auto& r : ranges) c.remote_ip_ranges.push_back(IpRange::parse(r));
  return c;
}

struct Case {
  const char* binding;
  std::vector<std::string> ranges;
  bool conflicts;
};

TEST(BindingConflicts, Table) {
  const std::vector<ReceiveConnector> existing = {
      connector(1, "Default", "127.0.0.1:2525", {"0.0.0.0-255.255.255.255", "::/0"}),
      connector(2, "Lan", "127.0.0.1:2525", {"10.0.0.0/24"}),
      connector(3, "Wild", "0.0.0.0:587", {"192.0.2.0/24"}),
  };
  const Case cases[] = {
      {"127.0.0.1:2525", {"127.0.0.2"}, false},          // nested inside Default
      {"127.0.0.1:2525", {"10.0.0.5"}, false},           // nested inside Lan and Default
      {"127.0.0.1:2525", {"0.0.0.0/0"}, true},           // equal to Default's range
      {"127.0.0.1:2525", {"10.0.0.0/24"}, true},         // equal to Lan's
      {"127.0.0.1:2525", {"10.0.0.128-10.0.1.5"}, true},  // partial overlap with Lan
      {"127.0.0.1:2526", {"0.0.0.0/0"}, false},          // other port
      {"127.0.0.2:2525", {"0.0.0.0/0"}, false},          // other IP, neither is a wildcard
      {"127.0.0.1:587", {"192.0.2.0/24"}, false},        // specific vs wildcard: equal is fine
      {"127.0.0.1:587", {"192.0.2.128-192.0.3.1"}, true},  // specific vs wildcard: partial overlap
      {"[::1]:587", {"::/0"}, false},                    // other family than Wild
  };
  for (const Case& c : cases) {
    auto conflict = find_binding_conflict(existing, connector(0, "New", c.binding, c.ranges));
    EXPECT_EQ(conflict.has_value(), c.conflicts) << c.binding << " " << c.ranges.front();
  }
}

TEST(BindingConflicts, MessageNamesTheOtherConnectorAndAConnectorDoesNotConflictWithItself) {
  const std::vector<ReceiveConnector> existing = {connector(1, "Default Mail01", "0.0.0.0:25", {"0.0.0.0/0"})};
  auto conflict = find_binding_conflict(existing, connector(0, "Copy", "0.0.0.0:25", {"0.0.0.0/0"}));
  ASSERT_TRUE(conflict);
  EXPECT_NE(conflict->find("\"Default Mail01\""), std::string::npos) << *conflict;
  EXPECT_NE(conflict->find("0.0.0.0:25"), std::string::npos) << *conflict;
  EXPECT_FALSE(find_binding_conflict(existing, existing.front()));
}

// The sorted sweep against the definition (every pair), on random disjoint lists of IPv4 ranges.
std::vector<IpRange> random_disjoint_ranges(std::mt19937& random, int count) {
  std::vector<IpRange> ranges;
  std::uint32_t next = random() % 64;
  for (int i = 0; i < count; ++i) {
    const std::uint32_t first = next + random() % 8;
    const std::uint32_t last = first + random() % 8;
    ranges.push_back(IpRange::between(IpAddress::v4(first), IpAddress::v4(last)));
    next = last + 1;
  }
  std::shuffle(ranges.begin(), ranges.end(), random);
  return ranges;
}

TEST(BindingConflicts, AgreesWithEveryPairCheckOnRandomLists) {
  std::mt19937 random(20261123);
  for (int round = 0; round < 500; ++round) {
    ReceiveConnector theirs = connector(1, "Theirs", "127.0.0.1:25", {"127.0.0.1"});
    ReceiveConnector mine = connector(0, "Mine", round % 2 ? "127.0.0.1:25" : "0.0.0.0:25", {"127.0.0.1"});
    theirs.remote_ip_ranges = random_disjoint_ranges(random, 1 + round % 12);
    mine.remote_ip_ranges = random_disjoint_ranges(random, 1 + round % 7);
    bool expected = false;
    for (const IpRange& a : mine.remote_ip_ranges) {
      for (const IpRange& b : theirs.remote_ip_ranges) {
        expected = expected || a.partially_overlaps(b) || (round % 2 == 1 && a == b);
      }
    }
    EXPECT_EQ(find_binding_conflict(std::vector{theirs}, mine).has_value(), expected) << "round " << round;
  }
}

TEST(BindingConflicts, OneConflictAmongTenThousandRangesIsFound) {
  ReceiveConnector big = connector(1, "Big", "127.0.0.1:25", {"127.0.0.1"});
  big.remote_ip_ranges.clear();
  for (std::uint32_t i = 0; i < 10000; ++i) {
    big.remote_ip_ranges.push_back(
        IpRange::between(IpAddress::v4(0x0a000000u + i * 4), IpAddress::v4(0x0a000000u + i * 4 + 1)));
  }
  ReceiveConnector nested = connector(0, "Nested", "127.0.0.1:25", {"10.0.0.0/8"});
  EXPECT_FALSE(find_binding_conflict(std::vector{big}, nested));  // every one of Big's ranges nests inside
  ReceiveConnector partial = connector(0, "Partial", "127.0.0.1:25", {"10.0.39.1-10.0.39.4"});
  const auto conflict = find_binding_conflict(std::vector{big}, partial);
  ASSERT_TRUE(conflict);
  EXPECT_NE(conflict->find("10.0.39.0-10.0.39.1"), std::string::npos) << *conflict;
}

}  // namespace
}  // namespace transport::store
