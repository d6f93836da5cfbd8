// ListenPlan (which sockets serve which Bindings), the descriptor reserve, and LogThrottle.
#include "transportd/connectors/listen_plan.h"

#include <gtest/gtest.h>

#include "transportd/log_throttle.h"

namespace transport::connectors {
namespace {

store::ReceiveConnector connector(std::string name, std::vector<std::string> bindings, bool enabled = true) {
  store::ReceiveConnector c;
  c.name = std::move(name);
  c.enabled = enabled;
  for (const auto& text : bindings) c.bindings.push_back(store::Binding::parse(text));
  return c;
}

// Linux refuses 0.0.0.0:P beside 127.0.0.1:P without SO_REUSEPORT: the wildcard socket serves both.
TEST(ListenPlan, WildcardServesTheSpecificBindingsOfItsFamilyAndPort) {
  store::Configuration config;
  config.connectors = {connector("Internet", {"0.0.0.0:25", "[::]:25"}),
                       connector("Trusted", {"127.0.0.1:25", "[::1]:25", "127.0.0.1:587"}),
                       connector("Off", {"10.0.0.1:2525"}, /*enabled=*/false)};
  const ListenPlan plan = plan_listeners(config);
  std::vector<std::string> sockets;
  for (const auto& [text, binding] : plan.sockets) sockets.push_back(text);
  EXPECT_EQ(sockets, (std::vector<std::string>{"0.0.0.0:25", "127.0.0.1:587", "[::]:25"}));
  EXPECT_EQ(plan.served_by.at("127.0.0.1:25"), "0.0.0.0:25");
  EXPECT_EQ(plan.served_by.at("[::1]:25"), "[::]:25");
  EXPECT_EQ(plan.served_by.at("127.0.0.1:587"), "127.0.0.1:587");
  EXPECT_EQ(plan.served_by.at("0.0.0.0:25"), "0.0.0.0:25");
  EXPECT_EQ(plan.served_by.count("10.0.0.1:2525"), 0u);  // disabled connectors are not served
}

TEST(ListenPlan, SpecificBindingsWithoutAWildcardGetTheirOwnSockets) {
  store::Configuration config;
  config.connectors = {connector("A", {"127.0.0.1:25"}), connector("B", {"127.0.0.2:25"}),
                       connector("C", {"0.0.0.0:26", "[::]:25"})};
  const ListenPlan plan = plan_listeners(config);
  EXPECT_EQ(plan.sockets.size(), 4u);
  EXPECT_EQ(plan.served_by.at("127.0.0.1:25"), "127.0.0.1:25");  // [::]:25 is the other family
  EXPECT_EQ(plan.served_by.at("127.0.0.2:25"), "127.0.0.2:25");
}

TEST(DescriptorReserve, SixtyFourOrAQuarterOfASmallTable) {
  EXPECT_EQ(descriptor_reserve(20000), 64u);
  EXPECT_EQ(descriptor_reserve(1024), 64u);
  EXPECT_EQ(descriptor_reserve(200), 50u);
  // accept() returns the lowest free descriptor: number 149 of 200 leaves 50 above it, 150 leaves 49.
  EXPECT_FALSE(takes_from_reserve(149, 200, 50));
  EXPECT_TRUE(takes_from_reserve(150, 200, 50));
  EXPECT_TRUE(takes_from_reserve(199, 200, 50));
  EXPECT_FALSE(takes_from_reserve(3, 20000, 64));
}

TEST(LogThrottle, OnceAnIntervalWithTheCountHeldBack) {
  using namespace std::chrono_literals;
  log::LogThrottle throttle(10s);
  const auto t0 = log::LogThrottle::Clock::time_point{} + 1h;
  EXPECT_TRUE(throttle.admit(t0));
  EXPECT_EQ(throttle.held_back_note(), "");
  for (int i = 1; i < 100; ++i) EXPECT_FALSE(throttle.admit(t0 + i * 100ms));  // ten a second
  EXPECT_TRUE(throttle.admit(t0 + 10s));
  EXPECT_EQ(throttle.held_back_note(), " (99 more since the last report)");
  EXPECT_FALSE(throttle.admit(t0 + 15s));
  EXPECT_TRUE(throttle.admit(t0 + 20s));
  EXPECT_EQ(throttle.held_back_note(), " (1 more since the last report)");
}

}  // namespace
}  // namespace transport::connectors
