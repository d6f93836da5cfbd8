// The bounded table: lookups, the bound, the eviction order, counts by standing, write-behind marks.
#include "transportd/reputation/reputation_table.h"

#include <gtest/gtest.h>

#include "tests/unit/reputation/reputation_test_support.h"

namespace transport::reputation {
namespace {

constexpr Seconds kNow = 1'800'000'000;
constexpr double kHalfLife = 3600;

SourceKey key(std::uint32_t n) { return address_key(store::IpAddress::v4(0x0a000000u + n)); }

void put(ReputationTable& table, std::uint32_t n, Standing standing, float refused, Seconds seen = kNow) {
  table.update(key(n), kNow, kHalfLife, [&](SourceRecord& r) {
    r.standing = standing;
    r.refused = refused;
    r.last_seen = seen;
  });
}

bool has(const ReputationTable& table, std::uint32_t n) {
  return table.read(key(n), [](const SourceRecord&) {});
}

TEST(ReputationTable, FindsWhatItStores) {
  ReputationTable table(1000);
  for (std::uint32_t n = 0; n < 500; ++n) put(table, n, Standing::clean, static_cast<float>(n));
  EXPECT_EQ(table.size(), 500u);
  for (std::uint32_t n = 0; n < 500; ++n) {
    float refused = -1;
    ASSERT_TRUE(table.read(key(n), [&](const SourceRecord& r) { refused = r.refused; })) << n;
    EXPECT_EQ(refused, static_cast<float>(n));
  }
  EXPECT_FALSE(has(table, 500));
  // Erasing every other one leaves the rest reachable (backward shift keeps probe runs whole).
  const auto erased = table.erase_if([](const SourceKey& k, const SourceRecord&) { return k.lo % 2 == 0; });
  EXPECT_EQ(erased.size(), 250u);
  for (std::uint32_t n = 0; n < 500; ++n) EXPECT_EQ(has(table, n), n % 2 == 1) << n;
  EXPECT_EQ(table.size(), 250u);
}

TEST(ReputationTable, EvictsTheLeastValuableFirst) {
  ReputationTable table(4, 1);
  put(table, 1, Standing::discredited, 30);
  put(table, 2, Standing::suspect, 6);
  put(table, 3, Standing::clean, 5);
  put(table, 4, Standing::clean, 1);
  put(table, 5, Standing::clean, 2);  // full: the clean record with least evidence goes (4)
  EXPECT_FALSE(has(table, 4));
  put(table, 6, Standing::clean, 3);  // then 5 (2 < 5)
  EXPECT_FALSE(has(table, 5));
  put(table, 7, Standing::clean, 9);  // then 6
  EXPECT_FALSE(has(table, 6));
  put(table, 8, Standing::clean, 1);  // 3 (5 refused) is less than 7 (9)
  EXPECT_FALSE(has(table, 3));
  put(table, 9, Standing::clean, 1);  // 8 (1 refused) goes
  EXPECT_EQ(table.size(), 4u);
  EXPECT_TRUE(has(table, 1));
  EXPECT_TRUE(has(table, 2));
  EXPECT_TRUE(has(table, 7));
  EXPECT_FALSE(has(table, 8));
  // Only Suspect and Discredited left besides the newest: Suspect goes before Discredited.
  put(table, 10, Standing::discredited, 30);
  put(table, 11, Standing::discredited, 30);
  EXPECT_TRUE(has(table, 1));
  EXPECT_TRUE(has(table, 10));
  EXPECT_TRUE(has(table, 11));
  put(table, 12, Standing::discredited, 30);
  EXPECT_FALSE(has(table, 2));
  EXPECT_EQ(table.size(), 4u);
}

TEST(ReputationTable, AmongEqualsTheLongestUnseenGoes) {
  ReputationTable table(3, 1);
  put(table, 1, Standing::clean, 1, kNow - 5);
  put(table, 2, Standing::clean, 1, kNow - 50);
  put(table, 3, Standing::clean, 1, kNow - 20);
  put(table, 4, Standing::clean, 1);
  EXPECT_FALSE(has(table, 2));
  EXPECT_TRUE(has(table, 1));
  EXPECT_TRUE(has(table, 3));
}

TEST(ReputationTable, DecayedEvidenceIsWorthLess) {
  ReputationTable table(2, 1);
  table.update(key(1), kNow - 10 * 3600, kHalfLife, [](SourceRecord& r) { r.refused = 100; });  // ten HalfLives ago
  put(table, 2, Standing::clean, 1);
  put(table, 3, Standing::clean, 1);
  EXPECT_FALSE(has(table, 1));  // 100 / 1024 < 1
}

TEST(ReputationTable, NeverEvictsADiscreditedRecordWhileAnotherExists) {
  ReputationTable table(200, 1);
  for (std::uint32_t n = 0; n < 199; ++n) put(table, n, Standing::discredited, 30);
  put(table, 1000, Standing::clean, 50);
  for (std::uint32_t n = 2000; n < 2050; ++n) {
    put(table, n, Standing::clean, 0);
    ASSERT_EQ(table.size(), 200u);
    const ReputationTable::Counts counts = table.counts();
    ASSERT_EQ(counts.discredited, 199u) << n;  // each new clean record pushed out the previous one
  }
  // With nothing else left, Discredited records do go.
  for (std::uint32_t n = 3000; n < 3010; ++n) put(table, n, Standing::discredited, 30);
  EXPECT_EQ(table.size(), 200u);
  EXPECT_EQ(table.counts().discredited, 200u);
}

TEST(ReputationTable, TheBoundHoldsAcrossStripes) {
  ReputationTable table(100'000);
  for (std::uint32_t n = 0; n < 150'000; ++n) put(table, n, Standing::clean, 1);
  EXPECT_EQ(table.size(), 100'000u);
  const ReputationTable::Counts counts = table.counts();
  EXPECT_EQ(counts.clean, 100'000u);
  // A smaller bound evicts at once.
  table.set_max_records(1000, kNow, kHalfLife);
  EXPECT_LE(table.size(), 1000u);
  EXPECT_GE(table.size(), 900u);
}

TEST(ReputationTable, CountsFollowTransitions) {
  ReputationTable table(100);
  put(table, 1, Standing::clean, 0);
  put(table, 2, Standing::suspect, 0);
  put(table, 3, Standing::discredited, 0);
  put(table, 1, Standing::discredited, 0);
  ReputationTable::Counts counts = table.counts();
  EXPECT_EQ(counts.clean, 0u);
  EXPECT_EQ(counts.suspect, 1u);
  EXPECT_EQ(counts.discredited, 2u);
  table.erase_if([](const SourceKey& k, const SourceRecord&) { return k == key(3); });
  counts = table.counts();
  EXPECT_EQ(counts.discredited, 1u);
}

TEST(ReputationTable, ChangesAreTakenOnce) {
  ReputationTable table(3, 1);
  put(table, 1, Standing::clean, 1);
  put(table, 2, Standing::clean, 2);
  put(table, 1, Standing::clean, 3);
  std::vector<std::pair<SourceKey, SourceRecord>> written;
  std::vector<SourceKey> evicted;
  table.take_changes(written, evicted);
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[0].first, key(1));
  EXPECT_EQ(written[0].second.refused, 3.0f);
  EXPECT_TRUE(evicted.empty());
  written.clear();
  table.take_changes(written, evicted);
  EXPECT_TRUE(written.empty());
  // Evictions are reported so that the file forgets them too.
  put(table, 3, Standing::clean, 5);
  put(table, 4, Standing::clean, 5);
  table.take_changes(written, evicted);
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0], key(2));  // 2 refused, less than 1's 3
  EXPECT_EQ(written.size(), 2u);
}

TEST(ReputationTable, ManyChangesAtOnceAreAllTaken) {
  ReputationTable table(20'000, 1);  // past the per-stripe list of marked keys
  for (std::uint32_t n = 0; n < 10'000; ++n) put(table, n, Standing::clean, 1);
  std::vector<std::pair<SourceKey, SourceRecord>> written;
  std::vector<SourceKey> evicted;
  table.take_changes(written, evicted);
  EXPECT_EQ(written.size(), 10'000u);
  written.clear();
  table.take_changes(written, evicted);
  EXPECT_TRUE(written.empty());
}

}  // namespace
}  // namespace transport::reputation
