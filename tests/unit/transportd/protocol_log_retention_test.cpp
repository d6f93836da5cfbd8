// Protocol log retention: which files ReceiveProtocolLogMaxAge and ReceiveProtocolLogMaxDirectorySize
// delete (pure policy), and the writer deleting them on its own thread.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "transportd/protocol_log/protocol_log.h"

namespace transport::protocol_log {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

const Clock::time_point kNow = Clock::time_point(std::chrono::hours(24 * 20000));

LogFileFacts file(std::string name, std::chrono::hours age, std::uint64_t bytes) {
  return {std::move(name), kNow - age, bytes};
}

TEST(FilesToPrune, NothingWithoutLimits) {
  EXPECT_TRUE(files_to_prune({file("RECV1.LOG", 24h * 400, 1 << 30)}, kNow, {}, "").empty());
}

TEST(FilesToPrune, FilesOlderThanMaxAgeGoOldestFirst) {
  const RetentionLimits limits{std::chrono::seconds(24h * 30), std::nullopt};
  const auto doomed = files_to_prune(
      {file("RECV-c.LOG", 24h * 29, 10), file("RECV-a.LOG", 24h * 45, 10), file("RECV-b.LOG", 24h * 31, 10)}, kNow,
      limits, "");
  EXPECT_EQ(doomed, (std::vector<std::string>{"RECV-a.LOG", "RECV-b.LOG"}));
}

TEST(FilesToPrune, OldestGoUntilTheRestFitsInMaxDirectorySize) {
  const RetentionLimits limits{std::nullopt, 250};
  // 400 bytes in all: the two oldest (100 + 100) must go to get to 200.
  const auto doomed = files_to_prune({file("new", 1h, 100), file("older", 3h, 100), file("oldest", 4h, 100),
                                      file("newer", 2h, 100)},
                                     kNow, limits, "");
  EXPECT_EQ(doomed, (std::vector<std::string>{"oldest", "older"}));
}

TEST(FilesToPrune, ExactlyAtTheLimitKeepsEverything) {
  EXPECT_TRUE(files_to_prune({file("a", 2h, 100), file("b", 1h, 150)}, kNow, {std::nullopt, 250}, "").empty());
}

TEST(FilesToPrune, AgeFirstThenSizeCountsOnlyWhatIsLeft) {
  const RetentionLimits limits{std::chrono::seconds(48h), 150};
  const auto doomed = files_to_prune({file("ancient", 24h * 10, 1000), file("mid", 10h, 100), file("young", 1h, 100)},
                                     kNow, limits, "");
  EXPECT_EQ(doomed, (std::vector<std::string>{"ancient", "mid"}));
}

TEST(FilesToPrune, TheFileBeingWrittenIsNeverDeleted) {
  const RetentionLimits limits{std::chrono::seconds(1h), 10};
  const auto doomed = files_to_prune({file("current", 5h, 500), file("other", 3h, 20)}, kNow, limits, "current");
  EXPECT_EQ(doomed, (std::vector<std::string>{"other"}));
}

TEST(FilesToPrune, EqualTimesAreOrderedByName) {
  const auto doomed = files_to_prune({file("RECV20261124-2.LOG", 1h, 100), file("RECV20261124-1.LOG", 1h, 100)}, kNow,
                                     {std::nullopt, 100}, "");
  EXPECT_EQ(doomed, (std::vector<std::string>{"RECV20261124-1.LOG"}));
}

TEST(ProtocolLogRetention, TheWriterDeletesOldAndExcessFilesWhenTheLimitsChange) {
  char pattern[] = "/tmp/transport-plog-retention-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::filesystem::path dir = pattern;
  const auto make = [&](const std::string& name, std::chrono::hours age, std::size_t bytes) {
    std::ofstream(dir / name) << std::string(bytes, 'x');
    std::filesystem::last_write_time(dir / name, std::filesystem::file_time_type::clock::now() - age);
  };
  make("RECV20260101-1.LOG", std::chrono::hours(24 * 40), 100);  // past 30 days
  make("RECV20261101-1.LOG", std::chrono::hours(24 * 3), 3000);  // pushed out by the size limit
  make("RECV20261102-1.LOG", std::chrono::hours(24 * 2), 3000);
  make("notes.txt", std::chrono::hours(24 * 400), 10);           // not a protocol log: never touched
  {
    ProtocolLogWriter writer(dir);
    writer.set_retention({std::chrono::seconds(std::chrono::hours(24 * 30)), 4000});
    writer.flush();
    EXPECT_FALSE(std::filesystem::exists(dir / "RECV20260101-1.LOG"));
    EXPECT_FALSE(std::filesystem::exists(dir / "RECV20261101-1.LOG"));
    EXPECT_TRUE(std::filesystem::exists(dir / "RECV20261102-1.LOG"));
    EXPECT_TRUE(std::filesystem::exists(dir / "notes.txt"));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace transport::protocol_log
