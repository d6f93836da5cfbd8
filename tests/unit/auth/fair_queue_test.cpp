// FairQueue's order and bound, without threads.
#include "transportd/auth/fair_queue.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace transport::auth {
namespace {

constexpr SourceKey kA = 0x7f000001;  // 127.0.0.1
constexpr SourceKey kB = 0x7f000002;
constexpr SourceKey kC = 0x7f000003;

std::vector<std::string> drain(FairQueue<std::string>& queue) {
  std::vector<std::string> order;
  while (std::optional<std::string> job = queue.pop()) order.push_back(*job);
  return order;
}

Admission push(FairQueue<std::string>& queue, SourceKey source, std::string job) {
  return queue.push(source, std::move(job));
}

TEST(FairQueue, EmptyQueueHasNothingToPop) {
  FairQueue<std::string> queue(4);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.pop(), std::nullopt);
}

// A source with nothing waiting goes before sources that already had their turn: a legitimate AUTH
// waits for the hashes running, not for one more of each guesser's.
TEST(FairQueue, ANewcomerGoesBeforeSourcesThatHadATurn) {
  FairQueue<std::string> queue(8);
  for (const char* job : {"a1", "a2", "a3"}) ASSERT_EQ(push(queue, kA, job), Admission::queued);
  ASSERT_EQ(push(queue, kB, "b1"), Admission::queued);
  ASSERT_EQ(queue.pop(), "a1");
  ASSERT_EQ(queue.pop(), "b1");  // b arrived while a waited: both newcomers, in order of arrival
  ASSERT_EQ(push(queue, kC, "c1"), Admission::queued);
  EXPECT_EQ(queue.pop(), "c1") << "c had nothing waiting; a already had its turn";
  ASSERT_EQ(push(queue, kB, "b2"), Admission::queued);
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"b2", "a2", "a3"}));
}

TEST(FairQueue, ServesSourcesInTurnOneJobEach) {
  FairQueue<std::string> queue(8);
  for (const char* job : {"a1", "a2", "a3", "a4"}) ASSERT_EQ(push(queue, kA, job), Admission::queued);
  ASSERT_EQ(push(queue, kB, "b1"), Admission::queued);
  ASSERT_EQ(push(queue, kC, "c1"), Admission::queued);
  ASSERT_EQ(push(queue, kC, "c2"), Admission::queued);
  EXPECT_EQ(queue.size(), 7u);
  EXPECT_EQ(queue.sources_waiting(), 3u);
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"a1", "b1", "c1", "a2", "c2", "a3", "a4"}));
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.sources_waiting(), 0u);
}

TEST(FairQueue, KeepsEachSourcesJobsInOrder) {
  FairQueue<std::string> queue(8);
  for (const char* job : {"1", "2", "3", "4", "5"}) ASSERT_EQ(push(queue, kA, job), Admission::queued);
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"1", "2", "3", "4", "5"}));
}

TEST(FairQueue, LateSourceIsServedAfterAtMostOneJobOfEachOther) {
  // The password-guessing case: one source queues many, another arrives later.
  FairQueue<std::string> queue(64);
  for (int i = 0; i < 60; ++i) ASSERT_EQ(push(queue, kA, "guess"), Admission::queued);
  ASSERT_EQ(push(queue, kB, "legitimate"), Admission::queued);
  EXPECT_EQ(queue.pop(), "guess");
  EXPECT_EQ(queue.pop(), "legitimate");
}

TEST(FairQueue, SourceThatEmptiedRejoinsAtTheBack) {
  FairQueue<std::string> queue(8);
  ASSERT_EQ(push(queue, kA, "a1"), Admission::queued);
  ASSERT_EQ(push(queue, kB, "b1"), Admission::queued);
  ASSERT_EQ(push(queue, kB, "b2"), Admission::queued);
  EXPECT_EQ(queue.pop(), "a1");
  ASSERT_EQ(push(queue, kA, "a2"), Admission::queued);
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"b1", "a2", "b2"}));
}

TEST(FairQueue, RefusesTheNewestJobOfASourceOverItsQuota) {
  FairQueue<std::string> queue(2);
  ASSERT_EQ(push(queue, kA, "a1"), Admission::queued);
  ASSERT_EQ(push(queue, kA, "a2"), Admission::queued);
  std::string refused = "a3";
  EXPECT_EQ(queue.push(kA, std::move(refused)), Admission::refused_source_full);
  EXPECT_EQ(refused, "a3") << "a refused job stays with the caller";
  EXPECT_EQ(queue.queued_for(kA), 2u);
  // The quota is per source: another source is unaffected.
  EXPECT_EQ(push(queue, kB, "b1"), Admission::queued);
  // Room again once one of A's jobs has been taken.
  EXPECT_EQ(queue.pop(), "a1");
  EXPECT_EQ(push(queue, kA, "a4"), Admission::queued);
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"b1", "a2", "a4"}));
}

TEST(FairQueue, KeysDifferingOnlyInTheirHighBitsAreDifferentSources) {
  FairQueue<std::string> queue(1);
  const SourceKey high = SourceKey{1} << 100;
  ASSERT_EQ(push(queue, kA, "low"), Admission::queued);
  EXPECT_EQ(push(queue, kA | high, "high"), Admission::queued);
  EXPECT_EQ(queue.sources_waiting(), 2u);
}

TEST(FairQueue, ZeroQuotaIsRejectedWithItsRange) {
  try {
    FairQueue<std::string> queue(0);
    FAIL() << "a quota of 0 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "max_queued_per_source 0 is out of range: allowed 1 or more");
  }
}

}  // namespace
}  // namespace transport::auth
