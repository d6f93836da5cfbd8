// Shared by the reputation unit tests: a fake clock, addresses, and a temporary data directory.
#pragma once

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "store/harvest_defence_config.h"
#include "store/ip_range.h"
#include "transportd/reputation/source_reputation.h"

namespace transport::reputation::test {

// A fixed wall-clock instant; tests move it forward by hand.
inline TimePoint start_time() { return TimePoint(std::chrono::seconds(1'800'000'000)); }

inline store::IpAddress ip(const std::string& text) { return store::IpAddress::parse(text); }

inline store::HarvestDefenceConfig default_config() { return store::HarvestDefenceConfig{}; }

class TempDirectory {
 public:
  TempDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "reputation_XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace transport::reputation::test
