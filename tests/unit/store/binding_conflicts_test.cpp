// The Bindings + RemoteIPRanges uniqueness rule: nested is fine, equal or partial overlap is not.
#include "store/binding_conflicts.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace transport::store
