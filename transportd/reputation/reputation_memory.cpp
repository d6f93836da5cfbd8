// reputation_memory: fills a ReputationTable with 1,000,000 distinct source records (the default
// MaxSourceRecords) and prints the resident memory they added. bench/ records its output; DESIGN §9
// asks for at most 128 MiB.
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "transportd/reputation/reputation_table.h"

namespace {

long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace transport::reputation;
  const std::size_t records = argc > 1 ? std::stoul(argv[1]) : 1'000'000;
  const long before = resident_bytes();
  {
    ReputationTable table(records);
    const Seconds now = 1'800'000'000;
    for (std::size_t i = 0; i < records; ++i) {
      // Distinct addresses spread over the IPv4 space, each with one refused recipient.
      const auto address = transport::store::IpAddress::v4(static_cast<std::uint32_t>(0x0a000000u + i * 7));
      table.update(address_key(address), now, 3600, [&](SourceRecord& r) {
        r.refused += 1;
        r.last_seen = now;
      });
    }
    const long after = resident_bytes();
    const double growth = static_cast<double>(after - before);
    std::printf("records %zu\nresident_growth_bytes %ld\nbytes_per_record %.1f\nresident_growth_mib %.1f\n"
                "slot_array_mib %.1f\n",
                table.size(), after - before, growth / static_cast<double>(table.size()), growth / 1048576.0,
                static_cast<double>(table.slot_bytes()) / 1048576.0);
  }
  return 0;
}
