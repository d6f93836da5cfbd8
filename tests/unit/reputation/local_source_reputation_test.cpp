// LocalSourceReputation: address and prefix combined, exemptions, connection caps, list and forgive.
#include "transportd/reputation/local_source_reputation.h"

#include <gtest/gtest.h>

#include "tests/unit/reputation/reputation_test_support.h"

namespace transport::reputation {
namespace {

using namespace std::chrono_literals;
using test::ip;
using test::start_time;

class LocalReputationTest : public ::testing::Test {
 protected:
  void open(const store::HarvestDefenceConfig& config = {}) {
    reputation_.reset();
    reputation_ = std::make_unique<LocalSourceReputation>(directory_.path() / "reputation.db", config,
                                                          [this](const std::string& m) { warnings_.push_back(m); },
                                                          now_);
  }
  Judgement add(const std::string& client, Event event, std::uint32_t count = 1) {
    return reputation_->record(ip(client), event, count, 5s, now_, changes_);
  }
  Judgement judge(const std::string& client) { return reputation_->judge(ip(client), now_); }

  test::TempDirectory directory_;
  TimePoint now_ = start_time();
  std::vector<StateChange> changes_;
  std::vector<std::string> warnings_;
  std::unique_ptr<LocalSourceReputation> reputation_;
};

TEST_F(LocalReputationTest, AHarvesterIsDiscreditedAndEachOffenceDoublesItsInterval) {
  open();
  EXPECT_EQ(judge("192.0.2.7").standing, Standing::clean);
  for (int i = 0; i < 4; ++i) add("192.0.2.7", Event::refused_recipient);
  EXPECT_EQ(judge("192.0.2.7").standing, Standing::clean);
  EXPECT_EQ(add("192.0.2.7", Event::refused_recipient).standing, Standing::suspect);
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0].source, "192.0.2.7");
  EXPECT_EQ(changes_[0].from, Standing::clean);
  EXPECT_EQ(changes_[0].to, Standing::suspect);
  Judgement j = add("192.0.2.7", Event::refused_recipient, 20);
  EXPECT_EQ(j.standing, Standing::discredited);
  EXPECT_EQ(j.level, 0u);
  EXPECT_EQ(j.interval(5s), 5s);
  ASSERT_EQ(changes_.size(), 3u);
  EXPECT_EQ(changes_[1].source, "192.0.2.7");
  EXPECT_EQ(changes_[1].to, Standing::discredited);
  // The prefix record saw 25 too: Suspect at the prefix thresholds (15), not yet Discredited (75).
  EXPECT_EQ(changes_.back().source, "192.0.2.0/24");
  EXPECT_EQ(changes_.back().to, Standing::suspect);
  for (int level = 1; level <= 8; ++level) {
    j = add("192.0.2.7", Event::refused_recipient);
    EXPECT_EQ(j.level, static_cast<std::uint32_t>(level));
  }
  EXPECT_EQ(j.interval(5s), kMaxHold);
  EXPECT_EQ(judge("192.0.2.7").level, 8u);
}

// Another node's events (DESIGN §12) count as if recorded when they happened: one HalfLife late, half.
TEST_F(LocalReputationTest, MergedEventsCountForWhatDecayLeftOfThem) {
  open();
  const TimePoint an_hour_ago = now_ - 1h;  // the default HalfLife
  reputation_->merge(ip("192.0.2.7"), Event::refused_recipient, 48, 5s, an_hour_ago, now_, changes_);
  auto reports = reputation_->list(SourceFilter::parse("192.0.2.7"), std::nullopt, now_, 10);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_NEAR(reports[0].refused, 24.0, 0.01);
  EXPECT_EQ(reports[0].standing, Standing::suspect);  // 24 is past Suspect (5), short of Discredited (25)
  EXPECT_EQ(reports[0].last_seen, an_hour_ago);
  reputation_->merge(ip("192.0.2.7"), Event::refused_recipient, 1, 5s, now_, now_, changes_);
  EXPECT_EQ(judge("192.0.2.7").standing, Standing::discredited);
  ASSERT_FALSE(changes_.empty());
  EXPECT_EQ(changes_.back().to, Standing::discredited);
  // A clock ahead of ours counts no more than an event now.
  reputation_->merge(ip("198.51.100.1"), Event::refused_recipient, 4, 5s, now_ + 1h, now_, changes_);
  reports = reputation_->list(SourceFilter::parse("198.51.100.1"), std::nullopt, now_, 10);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_NEAR(reports[0].refused, 4.0, 0.01);
}

TEST_F(LocalReputationTest, AbusedPrefixCatchesItsOtherAddressesButNotGoodSenders) {
  open();
  // A sender with its own good history in the /24, from before the abuse.
  add("192.0.2.50", Event::accepted_recipient, 2);
  add("192.0.2.50", Event::accepted_message, 2);
  // Four addresses of the /24 share the abuse: each stays under the address thresholds (20 < 25)...
  for (const char* a : {"192.0.2.1", "192.0.2.2", "192.0.2.3"}) {
    add(a, Event::refused_recipient, 20);
    EXPECT_EQ(judge(a).standing, Standing::suspect) << a;
  }
  add("192.0.2.4", Event::refused_recipient, 20);
  // ... but the prefix passed its own (80 >= 75): every address of it is Discredited, a new one too.
  EXPECT_EQ(judge("192.0.2.1").standing, Standing::discredited);
  EXPECT_EQ(judge("192.0.2.99").standing, Standing::discredited);
  // Not the sender with good history, nor another /24.
  EXPECT_EQ(judge("192.0.2.50").standing, Standing::clean);
  EXPECT_EQ(judge("192.0.3.1").standing, Standing::clean);
  // The level follows the record that decided: the prefix's offences raise it for all of them.
  add("192.0.2.5", Event::refused_recipient, 2);
  EXPECT_EQ(judge("192.0.2.99").level, 2u);
  EXPECT_EQ(judge("192.0.2.1").level, 2u);
}

TEST_F(LocalReputationTest, IPv6IsGroupedBySlash64) {
  open();
  for (int i = 1; i <= 4; ++i) add("2001:db8:1:2::" + std::to_string(i), Event::refused_recipient, 20);
  EXPECT_EQ(judge("2001:db8:1:2:ffff::1").standing, Standing::discredited);
  EXPECT_EQ(judge("2001:db8:1:3::1").standing, Standing::clean);
}

TEST_F(LocalReputationTest, ExemptRangesAndTheSwitch) {
  store::HarvestDefenceConfig config;
  config.exempt_remote_ip_ranges = {store::IpRange::parse("192.0.2.0/28")};
  open(config);
  EXPECT_TRUE(add("192.0.2.5", Event::refused_recipient, 100).exempt);
  EXPECT_TRUE(judge("192.0.2.5").exempt);
  EXPECT_EQ(reputation_->size(), 0u);  // nothing recorded
  EXPECT_FALSE(add("192.0.2.20", Event::abandoned_hold, 3).exempt);
  EXPECT_EQ(judge("192.0.2.20").standing, Standing::discredited);
  EXPECT_TRUE(changes_.size() >= 1);

  config.enabled = false;
  reputation_->configure(config);
  EXPECT_TRUE(judge("192.0.2.20").exempt);
  EXPECT_TRUE(add("198.51.100.21", Event::abandoned_hold, 3).exempt);
  config.enabled = true;
  reputation_->configure(config);
  EXPECT_EQ(judge("192.0.2.20").standing, Standing::discredited);  // remembered meanwhile
  EXPECT_EQ(judge("198.51.100.21").standing, Standing::clean);
}

TEST_F(LocalReputationTest, DiscreditedSourceIsCleanAgainAfterTheDocumentedTime) {
  store::HarvestDefenceConfig config;
  config.half_life = store::TimeSpan::from_seconds(2);
  open(config);
  add("192.0.2.7", Event::abandoned_hold, 3);
  EXPECT_EQ(judge("192.0.2.7").standing, Standing::discredited);
  now_ += 2s;
  EXPECT_EQ(judge("192.0.2.7").standing, Standing::discredited);
  now_ += 1s;
  EXPECT_EQ(judge("192.0.2.7").standing, Standing::suspect);
  now_ += 3s;  // 6 s: HalfLife × log2(6) = 5.17 s
  EXPECT_EQ(judge("192.0.2.7").standing, Standing::clean);
  EXPECT_EQ(judge("192.0.2.7").level, 0u);
  // The next event reports the move the decay made.
  changes_.clear();
  add("192.0.2.7", Event::accepted_recipient);
  ASSERT_GE(changes_.size(), 1u);
  EXPECT_EQ(changes_[0].from, Standing::discredited);
  EXPECT_EQ(changes_[0].to, Standing::clean);
}

TEST_F(LocalReputationTest, AuthLockoutIsPerAddress) {
  open();
  for (int i = 0; i < 9; ++i) EXPECT_FALSE(add("192.0.2.7", Event::auth_failure).auth_locked_until);
  const Judgement locked = add("192.0.2.7", Event::auth_failure);
  ASSERT_TRUE(locked.auth_locked_until);
  EXPECT_EQ(*locked.auth_locked_until, now_ + 60s);
  EXPECT_TRUE(judge("192.0.2.7").auth_locked_until);
  EXPECT_FALSE(judge("192.0.2.8").auth_locked_until);  // the same /24 is not locked
  EXPECT_EQ(judge("192.0.2.7").standing, Standing::clean);  // and AUTH failures alone do not judge
  now_ += 61s;
  EXPECT_FALSE(judge("192.0.2.7").auth_locked_until);
  for (int i = 0; i < 10; ++i) add("192.0.2.7", Event::auth_failure);
  EXPECT_EQ(*judge("192.0.2.7").auth_locked_until, now_ + 120s);
}

TEST_F(LocalReputationTest, ConnectionsAreCappedOnlyWhileDiscredited) {
  open();
  const Judgement clean = judge("192.0.2.7");
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(reputation_->open_connection(ip("192.0.2.7"), clean));
  EXPECT_EQ(reputation_->connections(ip("192.0.2.7")), std::make_pair(5u, 5u));
  for (int i = 0; i < 5; ++i) reputation_->close_connection(ip("192.0.2.7"));
  EXPECT_EQ(reputation_->connections(ip("192.0.2.7")), std::make_pair(0u, 0u));

  add("192.0.2.7", Event::abandoned_hold, 3);
  const Judgement discredited = judge("192.0.2.7");
  ASSERT_EQ(discredited.standing, Standing::discredited);
  EXPECT_TRUE(reputation_->open_connection(ip("192.0.2.7"), discredited));
  EXPECT_TRUE(reputation_->open_connection(ip("192.0.2.7"), discredited));
  EXPECT_FALSE(reputation_->open_connection(ip("192.0.2.7"), discredited));  // the third: 421 4.3.2
  EXPECT_EQ(reputation_->connections(ip("192.0.2.7")), std::make_pair(2u, 2u));
  reputation_->close_connection(ip("192.0.2.7"));
  EXPECT_TRUE(reputation_->open_connection(ip("192.0.2.7"), discredited));
  // Another address of the prefix is clean and unlimited, but a Discredited one meets the prefix's cap.
  EXPECT_TRUE(reputation_->open_connection(ip("192.0.2.8"), judge("192.0.2.8")));
  Judgement other = discredited;
  EXPECT_FALSE(reputation_->open_connection(ip("192.0.2.9"), other));
  // An exempt judgement is never refused, but still counted.
  Judgement exempt = discredited;
  exempt.exempt = true;
  EXPECT_TRUE(reputation_->open_connection(ip("192.0.2.7"), exempt));
  EXPECT_EQ(reputation_->connections(ip("192.0.2.7")), std::make_pair(3u, 4u));
}

TEST_F(LocalReputationTest, ListIsMostRecentFirstAndFiltered) {
  open();
  add("192.0.2.7", Event::refused_recipient, 30);
  now_ += 10s;
  add("192.0.3.8", Event::accepted_recipient);
  now_ += 10s;
  add("2001:db8::9", Event::abandoned_hold);
  const auto all = reputation_->list(SourceFilter::parse("*"), std::nullopt, now_, 100);
  ASSERT_EQ(all.size(), 6u);  // three addresses and their prefixes
  EXPECT_TRUE(all[0].source == "2001:db8::9" || all[0].source == "2001:db8::/64");
  EXPECT_TRUE(all[5].source == "192.0.2.7" || all[5].source == "192.0.2.0/24");
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_GE(all[i - 1].last_seen, all[i].last_seen);

  const auto limited = reputation_->list(SourceFilter::parse("*"), std::nullopt, now_, 2);
  ASSERT_EQ(limited.size(), 2u);
  EXPECT_EQ(limited[0].last_seen, now_);
  EXPECT_EQ(limited[1].last_seen, now_);

  const auto discredited = reputation_->list(SourceFilter::parse("*"), Standing::discredited, now_, 100);
  ASSERT_EQ(discredited.size(), 1u);
  EXPECT_EQ(discredited[0].source, "192.0.2.7");
  EXPECT_NEAR(discredited[0].refused, 30.0, 0.2);
  EXPECT_EQ(discredited[0].current_interval, 5s);
  EXPECT_EQ(discredited[0].last_seen, start_time());

  const auto block = reputation_->list(SourceFilter::parse("192.0.2.0/24"), std::nullopt, now_, 100);
  EXPECT_EQ(block.size(), 2u);
  const auto glob = reputation_->list(SourceFilter::parse("192.0.3.*"), std::nullopt, now_, 100);
  ASSERT_EQ(glob.size(), 2u);
  EXPECT_NEAR(glob[0].accepted, 1.0, 0.01);
  EXPECT_TRUE(reputation_->list(SourceFilter::parse("*"), std::nullopt, now_, 0).empty());
}

TEST_F(LocalReputationTest, CountsByStanding) {
  open();
  add("192.0.2.7", Event::abandoned_hold, 3);
  add("192.0.3.7", Event::abandoned_hold, 1);
  add("192.0.4.7", Event::accepted_recipient, 1);
  const SourceReputation::Counts counts = reputation_->counts();
  EXPECT_EQ(counts.discredited, 1u);
  EXPECT_EQ(counts.suspect, 2u);  // 192.0.3.7, and 192.0.2.0/24 (3 abandoned holds = its Suspect threshold)
  EXPECT_EQ(counts.clean, 3u);
}

}  // namespace
}  // namespace transport::reputation

namespace transport::reputation {
namespace {

TEST_F(LocalReputationTest, TheSweepMovesRecordsDecayHasChanged) {
  store::HarvestDefenceConfig config;
  config.half_life = store::TimeSpan::from_seconds(2);
  open(config);
  add("192.0.2.7", Event::refused_recipient, 25);  // address Discredited, prefix Suspect
  add("192.0.2.7", Event::refused_recipient, 2);   // level 2
  ASSERT_EQ(reputation_->counts().discredited, 1u);
  now_ += 3s;  // 27 → 9.5: the address is Suspect, the prefix (hysteresis at 7.5) still Suspect
  reputation_->sweep(now_);
  SourceReputation::Counts counts = reputation_->counts();
  EXPECT_EQ(counts.discredited, 0u);
  EXPECT_EQ(counts.suspect, 2u);
  std::vector<StateChange> changes = reputation_->take_decay_changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].source, "192.0.2.7");
  EXPECT_EQ(changes[0].from, Standing::discredited);
  EXPECT_EQ(changes[0].to, Standing::suspect);
  EXPECT_TRUE(reputation_->take_decay_changes().empty());  // each once
  now_ += 10s;
  reputation_->sweep(now_);
  EXPECT_EQ(reputation_->counts().clean, 2u);
  EXPECT_EQ(reputation_->take_decay_changes().size(), 2u);
  // An event after the sweep reports no second move.
  changes_.clear();
  add("192.0.2.7", Event::accepted_recipient);
  EXPECT_TRUE(changes_.empty());
}

}  // namespace
}  // namespace transport::reputation
