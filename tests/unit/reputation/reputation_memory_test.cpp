// DESIGN §9: 1,000,000 source records in at most 128 MiB of resident memory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "transportd/reputation/reputation_table.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define REPUTATION_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define REPUTATION_UNDER_SANITIZER 1
#endif
#endif

namespace transport::reputation {
namespace {

long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

TEST(ReputationMemory, AMillionRecordsFitIn128MiB) {
#ifdef REPUTATION_UNDER_SANITIZER
  GTEST_SKIP() << "a sanitizer's shadow memory makes RSS meaningless";
#endif
  constexpr std::size_t kRecords = 1'000'000;
  const long before = resident_bytes();
  ReputationTable table(kRecords);
  const Seconds now = 1'800'000'000;
  for (std::size_t i = 0; i < kRecords; ++i) {
    const auto address = store::IpAddress::v4(static_cast<std::uint32_t>(0x0a000000u + i * 7));
    table.update(address_key(address), now, 3600, [&](SourceRecord& r) { r.refused += 1; });
  }
  const long growth = resident_bytes() - before;
  EXPECT_EQ(table.size(), kRecords);
  EXPECT_LE(growth, 128L << 20) << growth / static_cast<double>(kRecords) << " bytes per record";
  RecordProperty("bytes_per_record", std::to_string(growth / static_cast<long>(kRecords)));
}

}  // namespace
}  // namespace transport::reputation
