// Connector selection (DESIGN §4): nested ranges, specific vs wildcard bindings, IPv6, no match.
#include "store/connector_selection.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace transport::store {
namespace {

ReceiveConnector connector(std::string name, std::vector<std::string> bindings, std::vector<std::string> ranges,
                           bool enabled = true) {
  ReceiveConnector c;
  c.name = std::move(name);
  c.enabled = enabled;
  c.bindings.clear();
  for (const auto& b : bindings) c.bindings.push_back(Binding::parse(b));
  c.remote_ip_ranges.clear();
  for (const auto& r : ranges) c.remote_ip_ranges.push_back(IpRange::parse(r));
  return c;
}

struct Case {
  const char* local;
  const char* remote;
  const char* expected;  // connector name, or "" for no match
};

std::string winner(const std::vector<ReceiveConnector>& connectors, const Case& c) {
  ConnectorSelection s = select_connector(connectors, Binding::parse(c.local), IpAddress::parse(c.remote));
  return s.connector ? s.connector->name : "";
}

TEST(ConnectorSelection, NestedRangesOnOneBindingPickTheSmallest) {
  std::vector<ReceiveConnector> connectors = {
      connector("Default", {"127.0.0.1:2525"}, {"0.0.0.0-255.255.255.255", "::/0"}),
      connector("Lan", {"127.0.0.1:2525"}, {"10.1.2.0/24"}),
      connector("Host", {"127.0.0.1:2525"}, {"10.1.2.7"}),
  };
  const Case cases[] = {
      {"127.0.0.1:2525", "10.1.2.7", "Host"},   {"127.0.0.1:2525", "10.1.2.8", "Lan"},
      {"127.0.0.1:2525", "10.1.3.1", "Default"}, {"127.0.0.1:2525", "2001:db8::1", "Default"},
      {"127.0.0.1:2526", "10.1.2.7", ""},        {"127.0.0.2:2525", "10.1.2.7", ""},
      {"127.0.0.1:2525", "::ffff:10.1.2.7", "Host"},
  };
  for (const Case& c : cases) EXPECT_EQ(winner(connectors, c), c.expected) << c.local << " from " << c.remote;
}

TEST(ConnectorSelection, SpecificBindingWinsUnlessWildcardRangeIsStrictlySmaller) {
  std::vector<ReceiveConnector> connectors = {
      connector("AnyAll", {"0.0.0.0:25"}, {"0.0.0.0/0"}),
      connector("AnyTrusted", {"0.0.0.0:25"}, {"192.0.2.10"}),
      connector("SpecificLan", {"192.0.2.1:25"}, {"192.0.2.0/24"}),
      connector("SpecificAll", {"198.51.100.1:25"}, {"0.0.0.0/0"}),
  };
  const Case cases[] = {
      {"192.0.2.1:25", "192.0.2.10", "AnyTrusted"},   // wildcard range strictly smaller
      {"192.0.2.1:25", "192.0.2.11", "SpecificLan"},  // specific beats the wider wildcard range
      {"192.0.2.1:25", "203.0.113.5", "AnyAll"},      // specific has no matching range
      {"198.51.100.1:25", "203.0.113.5", "SpecificAll"},  // equal ranges: the specific IP wins
      {"10.0.0.1:25", "203.0.113.5", "AnyAll"},
      {"192.0.2.1:587", "192.0.2.10", ""},
  };
  for (const Case& c : cases) EXPECT_EQ(winner(connectors, c), c.expected) << c.local << " from " << c.remote;
}

TEST(ConnectorSelection, AddressFamiliesNeverCrossAndDisabledConnectorsAreSkipped) {
  std::vector<ReceiveConnector> connectors = {
      connector("V6", {"[::]:25"}, {"::/0"}),
      connector("V6Host", {"[::1]:25"}, {"::1"}),
      connector("V4", {"0.0.0.0:25"}, {"0.0.0.0/0"}),
      connector("Off", {"0.0.0.0:25"}, {"127.0.0.9"}, /*enabled=*/false),
  };
  const Case cases[] = {
      {"[::1]:25", "::1", "V6Host"},
      {"[::1]:25", "2001:db8::5", "V6"},
      {"127.0.0.1:25", "127.0.0.9", "V4"},
      {"[2001:db8::2]:25", "127.0.0.1", ""},
  };
  for (const Case& c : cases) EXPECT_EQ(winner(connectors, c), c.expected) << c.local << " from " << c.remote;
}

TEST(ConnectorSelection, ReportsTheMatchedRangeAndWhetherTheWildcardWon) {
  std::vector<ReceiveConnector> connectors = {connector("Any", {"0.0.0.0:25"}, {"10.0.0.0/8", "192.0.2.0/24"})};
  ConnectorSelection s = select_connector(connectors, Binding::parse("127.0.0.1:25"), IpAddress::parse("192.0.2.9"));
  ASSERT_NE(s.connector, nullptr);
  EXPECT_TRUE(s.via_wildcard);
  EXPECT_EQ(s.matched_range->to_string(), "192.0.2.0/24");
}

}  // namespace
}  // namespace transport::store
