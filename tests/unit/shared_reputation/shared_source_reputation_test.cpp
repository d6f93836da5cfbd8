// SharedSourceReputation against a real Redis (a private redis-server): two nodes' views merge, a
// node's own reports are not counted twice, forgiving spreads, and Redis going away and coming back
// loses nothing either node recorded meanwhile.
#include "transportd/shared_reputation/shared_source_reputation.h"

#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "tests/unit/reputation/reputation_test_support.h"
#include "tests/unit/support/redis_server.h"
#include "transportd/shared_reputation/redis_connection.h"

namespace transport::shared_reputation {
namespace {

using namespace std::chrono_literals;
using reputation::Event;
using reputation::Standing;
using reputation::test::ip;

// Polls `condition` until it holds or `limit` passes; true when it held.
bool within(std::chrono::milliseconds limit, const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

class Node {
 public:
  Node(const std::string& name, const RedisAddress& address, const std::filesystem::path& dir) {
    SharedReputationOptions options;
    options.address = address;
    options.node = name;
    options.position_file = dir / "reputation-stream.position";
    options.timeout = 500ms;
    options.retry = 100ms;
    SharedReputationHandlers handlers;
    handlers.info = [this](const std::string& m) { add(infos_, m); };
    handlers.warn = [this](const std::string& m) { add(warnings_, m); };
    handlers.changed = [this](const reputation::StateChange& c) { add(changes_, c.source + " " + std::string(reputation::standing_name(c.to))); };
    reputation_ = std::make_unique<SharedSourceReputation>(
        std::make_unique<reputation::LocalSourceReputation>(dir / "reputation.db", store::HarvestDefenceConfig{},
                                                            reputation::WarningHandler{}),
        options, handlers);
  }

  SharedSourceReputation& operator*() { return *reputation_; }
  SharedSourceReputation* operator->() { return reputation_.get(); }

  void refuse(const std::string& client, std::uint32_t count) {
    std::vector<reputation::StateChange> ignored;
    reputation_->record(ip(client), Event::refused_recipient, count, 1s, reputation::Clock::now(), ignored);
  }
  Standing standing(const std::string& client) { return reputation_->judge(ip(client), reputation::Clock::now()).standing; }
  double refused(const std::string& client) {
    const auto reports = reputation_->list(reputation::SourceFilter::parse(client), std::nullopt, reputation::Clock::now(), 1);
    return reports.empty() ? 0.0 : reports[0].refused;
  }
  std::vector<std::string> warnings() { return copy(warnings_); }
  std::vector<std::string> infos() { return copy(infos_); }
  std::vector<std::string> changes() { return copy(changes_); }

 private:
  void add(std::vector<std::string>& to, const std::string& m) {
    std::lock_guard lock(mutex_);
    to.push_back(m);
  }
  std::vector<std::string> copy(const std::vector<std::string>& from) {
    std::lock_guard lock(mutex_);
    return from;
  }
  std::mutex mutex_;
  std::vector<std::string> infos_, warnings_, changes_;
  std::unique_ptr<SharedSourceReputation> reputation_;
};

class SharedReputationTest : public ::testing::Test {
 protected:
  std::unique_ptr<Node> node(const std::string& name, const reputation::test::TempDirectory& dir) {
    auto made = std::make_unique<Node>(name, redis_.address(), dir.path());
    EXPECT_TRUE(within(5s, [&] { return (*made)->reachable(); })) << name << " never reached Redis";
    return made;
  }

  test::RedisServer redis_;
  reputation::test::TempDirectory dir_a_, dir_b_;
};

TEST_F(SharedReputationTest, ASourceDiscreditedOnOneNodeIsDiscreditedOnTheOtherWithinTwoSeconds) {
  auto a = node("MAIL01", dir_a_);
  auto b = node("MAIL02", dir_b_);
  EXPECT_EQ(b->standing("203.0.113.9"), Standing::clean);
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 25; ++i) a->refuse("203.0.113.9", 1);
  EXPECT_EQ(a->standing("203.0.113.9"), Standing::discredited);
  EXPECT_TRUE(within(2s, [&] { return b->standing("203.0.113.9") == Standing::discredited; }));
  RecordProperty("propagation_ms", static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                        std::chrono::steady_clock::now() - started).count()));
  EXPECT_TRUE(within(2s, [&] {
    const auto changes = b->changes();
    return std::find(changes.begin(), changes.end(), "203.0.113.9 Discredited") != changes.end();
  }));
  // Each node counts every refusal once: its own when they happen, the other's when read.
  b->refuse("203.0.113.9", 5);
  EXPECT_TRUE(within(2s, [&] { return std::abs(a->refused("203.0.113.9") - 30) < 0.1; }));
  std::this_thread::sleep_for(700ms);  // more than one XREAD block: nothing more arrives
  EXPECT_NEAR(a->refused("203.0.113.9"), 30, 0.1);
  EXPECT_NEAR(b->refused("203.0.113.9"), 30, 0.1);
}

TEST_F(SharedReputationTest, ForgivingSpreads) {
  auto a = node("MAIL01", dir_a_);
  auto b = node("MAIL02", dir_b_);
  a->refuse("203.0.113.9", 30);
  ASSERT_TRUE(within(2s, [&] { return b->standing("203.0.113.9") == Standing::discredited; }));
  EXPECT_GE((*b)->forgive(reputation::SourceFilter::parse("203.0.113.0/24")), 1u);
  EXPECT_TRUE(within(2s, [&] { return a->standing("203.0.113.9") == Standing::clean; }));
  EXPECT_EQ(a->refused("203.0.113.9"), 0);
}

TEST_F(SharedReputationTest, RedisAwayEachNodeKeepsItsOwnViewAndTheViewsMergeWhenItIsBack) {
  auto a = node("MAIL01", dir_a_);
  auto b = node("MAIL02", dir_b_);
  redis_.stop();
  ASSERT_TRUE(within(5s, [&] { return !(*a)->reachable() && !(*b)->reachable(); }));
  EXPECT_TRUE(within(2s, [&] { return !a->warnings().empty(); }));
  EXPECT_NE(a->warnings().front().find("is unreachable"), std::string::npos) << a->warnings().front();
  EXPECT_NE(a->warnings().front().find("its own view"), std::string::npos);

  a->refuse("203.0.113.9", 30);  // judged here at once, held for the others
  b->refuse("198.51.100.4", 30);
  EXPECT_EQ(a->standing("203.0.113.9"), Standing::discredited);
  EXPECT_EQ(b->standing("203.0.113.9"), Standing::clean);

  redis_.start();  // empty: without persistence Redis comes back with nothing
  ASSERT_TRUE(within(5s, [&] { return (*a)->reachable() && (*b)->reachable(); }));
  EXPECT_TRUE(within(3s, [&] {
    return b->standing("203.0.113.9") == Standing::discredited && a->standing("198.51.100.4") == Standing::discredited;
  }));
  EXPECT_NEAR(b->refused("203.0.113.9"), 30, 0.1);
  EXPECT_NEAR(a->refused("198.51.100.4"), 30, 0.1);
  const auto infos = a->infos();
  EXPECT_NE(infos.back().find("again"), std::string::npos) << infos.back();
  EXPECT_EQ((*a)->dropped(), 0u);
}

TEST_F(SharedReputationTest, ARestartedNodeCatchesUpOnWhatItMissedOnce) {
  auto a = node("MAIL01", dir_a_);
  auto b = node("MAIL02", dir_b_);
  a->refuse("203.0.113.9", 10);
  ASSERT_TRUE(within(2s, [&] { return std::abs(b->refused("203.0.113.9") - 10) < 0.1; }));
  b.reset();  // saves its stream position and reputation.db
  a->refuse("203.0.113.9", 20);
  b = node("MAIL02", dir_b_);
  EXPECT_TRUE(within(2s, [&] { return b->standing("203.0.113.9") == Standing::discredited; }));
  std::this_thread::sleep_for(700ms);
  EXPECT_NEAR(b->refused("203.0.113.9"), 30, 0.1);  // the first 10 not read again
}

TEST_F(SharedReputationTest, EntriesItCannotReadAreSkipped) {
  auto b = node("MAIL02", dir_b_);
  RedisConnection writer(redis_.address(), 1s);
  writer.command({"XADD", "transportd:reputation", "*", "node", "MAIL09", "deltas", "garbage\nE 1 r 1 1 not-an-ip"});
  writer.command({"XADD", "transportd:reputation", "*", "other", "field"});
  auto a = node("MAIL01", dir_a_);
  a->refuse("203.0.113.9", 25);
  EXPECT_TRUE(within(2s, [&] { return b->standing("203.0.113.9") == Standing::discredited; }));
  EXPECT_TRUE((*b)->reachable());
}

}  // namespace
}  // namespace transport::shared_reputation
