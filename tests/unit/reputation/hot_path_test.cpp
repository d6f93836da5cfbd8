// The hot path: judge() and record() of a known source allocate nothing, and many threads at once
// keep the table consistent.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <thread>

#include "tests/unit/reputation/reputation_test_support.h"
#include "transportd/reputation/local_source_reputation.h"

namespace {
std::atomic<long> allocations{0};
}  // namespace

// Counts every allocation of this test binary; only the test below looks at the count. GCC sees the
// replacement delete's free() as mismatched with new at some optimisation levels; it is the pair.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace transport::reputation {
namespace {

using namespace std::chrono_literals;
using test::ip;
using test::start_time;

TEST(HotPath, JudgeAndRecordOfAKnownSourceDoNotAllocate) {
  test::TempDirectory directory;
  TimePoint now = start_time();
  LocalSourceReputation reputation(directory.path() / "reputation.db", {}, {}, now);
  const store::IpAddress client = ip("192.0.2.7");
  std::vector<StateChange> changes;
  changes.reserve(8);
  for (int i = 0; i < 3; ++i) reputation.record(client, Event::accepted_recipient, 1, 5s, now, changes);
  reputation.flush();  // the marks are taken; their lists keep their room
  const long before = allocations.load();
  for (int i = 0; i < 1000; ++i) {
    now += 1s;
    reputation.record(client, Event::accepted_recipient, 1, 5s, now, changes);
    reputation.record(client, Event::accepted_message, 1, 5s, now, changes);
    const Judgement j = reputation.judge(client, now);
    ASSERT_EQ(j.standing, Standing::clean);
  }
  EXPECT_EQ(allocations.load() - before, 0);
  EXPECT_TRUE(changes.empty());
  // The count does see allocations: a listing makes its strings.
  reputation.list(SourceFilter::parse("*"), std::nullopt, now, 10);
  EXPECT_GT(allocations.load() - before, 0);
}

TEST(HotPath, ManyThreadsAtOnce) {
  test::TempDirectory directory;
  store::HarvestDefenceConfig config;
  config.max_source_records = 5000;
  LocalSourceReputation reputation(directory.path() / "reputation.db", config, {}, start_time());
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      std::vector<StateChange> changes;
      TimePoint now = start_time();
      for (int i = 0; i < 20'000; ++i) {
        const auto client = store::IpAddress::v4(0x0a000000u + static_cast<std::uint32_t>((i * 7919 + t) % 8000));
        now += 1ms;
        reputation.record(client, i % 3 == 0 ? Event::refused_recipient : Event::accepted_recipient, 1, 5s, now,
                          changes);
        const Judgement j = reputation.judge(client, now);
        if (reputation.open_connection(client, j)) reputation.close_connection(client);
      }
    });
  }
  threads.emplace_back([&] {
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < 20; ++i) {
      reputation.flush();
      reputation.list(SourceFilter::parse("10.0.*"), std::nullopt, start_time(), 10);
      reputation.forgive(SourceFilter::parse("10.0.0." + std::to_string(i)));
    }
  });
  go = true;
  for (auto& thread : threads) thread.join();
  EXPECT_LE(reputation.size(), 5000u);
  const SourceReputation::Counts counts = reputation.counts();
  EXPECT_EQ(counts.clean + counts.suspect + counts.discredited, reputation.size());
  EXPECT_EQ(reputation.connections(ip("10.0.0.1")), std::make_pair(0u, 0u));
}

}  // namespace
}  // namespace transport::reputation
