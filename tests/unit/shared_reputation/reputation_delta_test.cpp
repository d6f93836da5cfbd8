// Delta lines: every kind survives the trip, and a line that is not exactly a delta is skipped.
#include "transportd/shared_reputation/reputation_delta.h"

#include <gtest/gtest.h>

namespace transport::shared_reputation {
namespace {

using namespace std::chrono_literals;
using reputation::Event;

const reputation::TimePoint kWhen{std::chrono::seconds(1'800'000'123)};

TEST(ReputationDeltaTest, EventsAndForgivesRoundTrip) {
  std::string batch;
  const Event events[] = {Event::refused_recipient, Event::accepted_recipient, Event::accepted_message,
                          Event::abandoned_hold, Event::auth_failure};
  for (const Event event : events) {
    append(batch, ReputationDelta::of_event(store::IpAddress::parse("192.0.2.7"), event, 3, 20s, kWhen));
  }
  append(batch, ReputationDelta::of_event(store::IpAddress::parse("2001:db8::1"), Event::refused_recipient, 1, 0s,
                                          kWhen + 500ms));  // whole seconds travel
  append(batch, ReputationDelta::of_forgive("192.0.2.0/24"));
  EXPECT_EQ(batch.substr(0, batch.find('\n')), "E 1800000123 r 3 20 192.0.2.7");

  std::vector<ReputationDelta> read;
  EXPECT_EQ(parse_batch(batch, read), 0u);
  ASSERT_EQ(read.size(), 7u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(read[i].kind, ReputationDelta::Kind::event);
    EXPECT_EQ(read[i].event, events[i]);
    EXPECT_EQ(read[i].client.to_string(), "192.0.2.7");
    EXPECT_EQ(read[i].count, 3u);
    EXPECT_EQ(read[i].tarpit_interval, 20s);
    EXPECT_EQ(read[i].happened, kWhen);
  }
  EXPECT_EQ(read[5].client.to_string(), "2001:db8::1");
  EXPECT_EQ(read[5].happened, kWhen);
  EXPECT_EQ(read[6].kind, ReputationDelta::Kind::forgive);
  EXPECT_EQ(read[6].filter, "192.0.2.0/24");
}

TEST(ReputationDeltaTest, AFilterStaysOneLine) {
  std::string batch;
  append(batch, ReputationDelta::of_forgive("192.0.2.*\nE 1 r 99 0 10.0.0.1"));
  std::vector<ReputationDelta> read;
  EXPECT_EQ(parse_batch(batch, read), 0u);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].kind, ReputationDelta::Kind::forgive);
}

TEST(ReputationDeltaTest, LinesThatAreNotExactlyDeltasAreSkipped) {
  const std::string batch =
      "E 1800000123 r 3 20 192.0.2.7\n"
      "E 1800000123 r 3 20 192.0.2.7 extra\n"  // a field too many
      "E 1800000123 x 3 20 192.0.2.7\n"        // unknown event
      "E 1800000123 r 0 20 192.0.2.7\n"        // no events
      "E 1800000123 r 3 601 192.0.2.7\n"       // past the longest hold
      "E -5 r 3 20 192.0.2.7\n"                // before 1970
      "E 1800000123 r 3 20 192.0.2.700\n"      // not an address
      "E 1800000123 r 3x 20 192.0.2.7\n"       // not a number
      "F\n"                                    // no filter
      "Z something newer\n"                    // another version's kind
      "\n"
      "E 1800000124 h 1 5 2001:db8::7";        // the last line needs no newline
  std::vector<ReputationDelta> read;
  EXPECT_EQ(parse_batch(batch, read), 9u);
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0].count, 3u);
  EXPECT_EQ(read[1].event, Event::abandoned_hold);
}

}  // namespace
}  // namespace transport::shared_reputation
