// The harvest defence's settings: the property table (defaults, ranges, messages), the whole-object
// rule that a source is Suspect before it is Discredited, and persistence (migration 3's defaults
// are the model's).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "store/harvest_defence_validation.h"
#include "store/property.h"
#include "store/sqlite_store.h"
#include "store/value_error.h"

namespace transport::store {
namespace {

std::string joined(const PropertyValues& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ",") + v;
  return out;
}

std::string refusal(const char* property, const PropertyValues& values) {
  HarvestDefenceConfig config;
  const auto* p = find_property(harvest_defence_properties(), property);
  if (p == nullptr) return std::string("no property ") + property;
  try {
    p->assign(config, values);
  } catch (const ValidationError& e) {
    EXPECT_EQ(e.property(), property);
    return e.what();
  }
  return "accepted";
}

TEST(HarvestDefenceConfig, DefaultsOfTheModelRenderAsTheDocumentedDefaults) {
  const HarvestDefenceConfig config;
  for (const auto& p : harvest_defence_properties()) {
    EXPECT_EQ(joined(p.render(config)), p.default_text) << p.name;
  }
}

TEST(HarvestDefenceConfig, EveryRangeIsEnforcedAtBothEndsWithItsOwnMessage) {
  struct Case {
    const char* property;
    const char* lowest;
    const char* below;
    const char* highest;
    const char* above;
    const char* message;  // for `above`
  };
  const Case cases[] = {
      {"HalfLife", "00:00:01", "00:00:00", "7.00:00:00", "7.00:00:01",
       "HalfLife 7.00:00:01 is out of range: allowed 00:00:01 to 7.00:00:00"},
      {"SuspectRefusedRecipients", "1", "0", "100000", "100001",
       "SuspectRefusedRecipients 100001 is out of range: allowed 1 to 100000"},
      {"SuspectAbandonedHolds", "1", "0", "100000", "100001", "allowed 1 to 100000"},
      {"DiscreditRefusedRecipients", "1", "0", "100000", "100001", "allowed 1 to 100000"},
      {"DiscreditRefusalPercent", "1", "0", "100", "101",
       "DiscreditRefusalPercent 101 is out of range: allowed 1 to 100"},
      {"DiscreditAbandonedHolds", "1", "0", "100000", "100001", "allowed 1 to 100000"},
      {"PrefixThresholdMultiplier", "1", "0", "1000", "1001", "allowed 1 to 1000"},
      {"IPv4PrefixLength", "8", "7", "32", "33", "IPv4PrefixLength 33 is out of range: allowed 8 to 32"},
      {"IPv6PrefixLength", "16", "15", "128", "129", "IPv6PrefixLength 129 is out of range: allowed 16 to 128"},
      {"DiscreditedMaxConnections", "1", "0", "10000", "10001", "allowed 1 to 10000"},
      {"AuthFailureThreshold", "1", "0", "100000", "100001", "allowed 1 to 100000"},
      {"AuthLockoutInterval", "00:00:01", "00:00:00", "1.00:00:00", "1.00:00:01",
       "AuthLockoutInterval 1.00:00:01 is out of range: allowed 00:00:01 to 1.00:00:00"},
      {"MaxSourceRecords", "1000", "999", "10000000", "10000001",
       "MaxSourceRecords 10000001 is out of range: allowed 1000 to 10000000"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(refusal(c.property, {c.lowest}), "accepted") << c.property;
    EXPECT_EQ(refusal(c.property, {c.highest}), "accepted") << c.property;
    EXPECT_NE(refusal(c.property, {c.below}).find("is out of range"), std::string::npos) << c.property;
    const std::string above = refusal(c.property, {c.above});
    EXPECT_NE(above.find(c.message), std::string::npos) << c.property << ": " << above;
  }
  // A number too large to parse is out of range like any other; words name the range too.
  EXPECT_EQ(refusal("MaxSourceRecords", {"99999999999999999999"}),
            "MaxSourceRecords 99999999999999999999 is out of range: allowed 1000 to 10000000");
  EXPECT_EQ(refusal("IPv4PrefixLength", {"/24"}), "IPv4PrefixLength: \"/24\" is not a whole number: allowed 8 to 32");
  EXPECT_NE(refusal("HalfLife", {"3600"}).find("did you mean 01:00:00"), std::string::npos);
  EXPECT_EQ(refusal("Enabled", {"maybe"}), "Enabled \"maybe\" is not allowed: true or false");
  EXPECT_NE(refusal("ExemptRemoteIPRanges", {"10.0.0.0/33"}).find("ExemptRemoteIPRanges"), std::string::npos);
}

TEST(HarvestDefenceConfig, ValuesAreShownCanonically) {
  HarvestDefenceConfig config;
  auto set = [&](const char* name, PropertyValues values) {
    const auto* p = find_property(harvest_defence_properties(), name);
    p->assign(config, values);
    return p->render(config);
  };
  EXPECT_EQ(set("halflife", {"0.00:30:00"}), PropertyValues{"00:30:00"});
  EXPECT_EQ(set("Enabled", {"$false"}), PropertyValues{"false"});
  EXPECT_EQ(set("IPV6PREFIXLENGTH", {" 48 "}), PropertyValues{"48"});
  EXPECT_EQ(set("ExemptRemoteIPRanges", {"192.0.2.0/24", "2001:DB8::1"}), (PropertyValues{"192.0.2.0/24", "2001:db8::1"}));
  EXPECT_EQ(set("ExemptRemoteIPRanges", {}), PropertyValues{});
  EXPECT_FALSE(config.enabled);
  EXPECT_EQ(config.half_life.seconds(), 1800);
  EXPECT_EQ(config.ipv6_prefix_length, 48);
}

TEST(HarvestDefenceConfig, SuspectThresholdsMayNotBeAboveTheDiscreditOnes) {
  HarvestDefenceConfig config;
  EXPECT_NO_THROW(validate(config));
  config.suspect_refused_recipients = config.discredit_refused_recipients;
  EXPECT_NO_THROW(validate(config));  // equal: Suspect and Discredited at once is allowed

  config.suspect_refused_recipients = 30;
  try {
    validate(config);
    ADD_FAILURE() << "SuspectRefusedRecipients 30 above DiscreditRefusedRecipients 25 was accepted";
  } catch (const ValidationError& e) {
    EXPECT_EQ(e.property(), "SuspectRefusedRecipients");
    EXPECT_STREQ(e.what(),
                 "SuspectRefusedRecipients 30 is above DiscreditRefusedRecipients 25: a source must be Suspect before "
                 "it is Discredited, so SuspectRefusedRecipients may be at most DiscreditRefusedRecipients");
  }

  HarvestDefenceConfig holds;
  holds.discredit_abandoned_holds = 1;
  holds.suspect_abandoned_holds = 2;
  try {
    validate(holds);
    ADD_FAILURE() << "SuspectAbandonedHolds above DiscreditAbandonedHolds was accepted";
  } catch (const ValidationError& e) {
    EXPECT_EQ(e.property(), "SuspectAbandonedHolds");
    EXPECT_NE(std::string(e.what()).find("SuspectAbandonedHolds 2 is above DiscreditAbandonedHolds 1"),
              std::string::npos);
  }
}

TEST(HarvestDefenceConfig, ANewDatabaseHoldsTheDefaultsAndAChangeRoundTrips) {
  char pattern[] = "/tmp/transport-harvest-test-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::filesystem::path dir = pattern;
  {
    SqliteStore store(dir / "config.db");
    const HarvestDefenceConfig loaded = store.load().harvest_defence;
    for (const auto& p : harvest_defence_properties()) {
      EXPECT_EQ(joined(p.render(loaded)), p.default_text) << p.name << " of migration 3";
    }
    HarvestDefenceConfig changed;
    changed.enabled = false;
    changed.half_life = TimeSpan::from_seconds(2);
    changed.max_source_records = 5000;
    changed.exempt_remote_ip_ranges = {IpRange::parse("127.0.0.0/8"), IpRange::parse("::1")};
    store.transact([&](StoreTransaction& t) { t.put(changed); });
  }
  SqliteStore reopened(dir / "config.db");
  const HarvestDefenceConfig loaded = reopened.load().harvest_defence;
  EXPECT_FALSE(loaded.enabled);
  EXPECT_EQ(loaded.half_life.seconds(), 2);
  EXPECT_EQ(loaded.max_source_records, 5000);
  ASSERT_EQ(loaded.exempt_remote_ip_ranges.size(), 2u);
  EXPECT_EQ(loaded.exempt_remote_ip_ranges[0].to_string(), "127.0.0.0/8");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace transport::store
