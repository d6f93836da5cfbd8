// Persistence: the write-behind, a restart keeping a Discredited source, forgive, damaged files.
#include "transportd/reputation/reputation_file.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <thread>

#include "tests/unit/reputation/reputation_test_support.h"
#include "transportd/reputation/local_source_reputation.h"

namespace transport::reputation {
namespace {

using namespace std::chrono_literals;
using test::ip;
using test::start_time;

// Rows in the file, read by a connection of its own.
std::int64_t rows(const std::filesystem::path& file, const std::string& where = "1") {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  const std::string sql = "SELECT count(*) FROM source_record WHERE " + where;
  std::int64_t count = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
    count = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return count;
}

class ReputationFileTest : public ::testing::Test {
 protected:
  std::unique_ptr<LocalSourceReputation> open(const store::HarvestDefenceConfig& config = {}) {
    return std::make_unique<LocalSourceReputation>(
        file(), config, [this](const std::string& m) { warnings_.push_back(m); }, now_);
  }
  std::filesystem::path file() const { return directory_.path() / "reputation.db"; }
  void discredit(SourceReputation& reputation, const std::string& client) {
    std::vector<StateChange> changes;
    reputation.record(ip(client), Event::abandoned_hold, 3, 5s, now_, changes);
  }

  test::TempDirectory directory_;
  TimePoint now_ = start_time();
  std::vector<std::string> warnings_;
};

TEST_F(ReputationFileTest, ARestartKeepsADiscreditedSource) {
  {
    auto reputation = open();
    discredit(*reputation, "192.0.2.7");
    std::vector<StateChange> changes;
    reputation->record(ip("192.0.2.7"), Event::refused_recipient, 3, 5s, now_, changes);  // level 3
    reputation->record(ip("2001:db8::1"), Event::auth_failure, 10, 5s, now_, changes);
  }  // destruction writes the rest
  EXPECT_EQ(rows(file()), 3);  // AUTH failures make no prefix record
  EXPECT_EQ(rows(file(), "source = '192.0.2.7' AND standing = 2 AND level = 3"), 1);
  now_ += 10s;
  auto reputation = open();
  const Judgement j = reputation->judge(ip("192.0.2.7"), now_);
  EXPECT_EQ(j.standing, Standing::discredited);
  EXPECT_EQ(j.level, 3u);
  EXPECT_EQ(j.interval(5s), 40s);
  const Judgement locked = reputation->judge(ip("2001:db8::1"), now_);
  ASSERT_TRUE(locked.auth_locked_until);
  EXPECT_EQ(*locked.auth_locked_until, start_time() + 60s);
  EXPECT_EQ(reputation->counts().discredited, 1u);
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(ReputationFileTest, TheWriteBehindRunsWithinSeconds) {
  auto reputation = open();
  discredit(*reputation, "192.0.2.7");
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (rows(file()) != 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(rows(file()), 2);
}

TEST_F(ReputationFileTest, ForgiveRemovesFromMemoryAndFileAtOnce) {
  auto reputation = open();
  discredit(*reputation, "192.0.2.7");
  discredit(*reputation, "192.0.3.7");
  reputation->flush();
  ASSERT_EQ(rows(file()), 4);
  EXPECT_EQ(reputation->forgive(SourceFilter::parse("192.0.2.0/24")), 2u);
  EXPECT_EQ(rows(file()), 2);
  EXPECT_EQ(reputation->judge(ip("192.0.2.7"), now_).standing, Standing::clean);
  EXPECT_EQ(reputation->judge(ip("192.0.3.7"), now_).standing, Standing::discredited);
  EXPECT_EQ(reputation->forgive(SourceFilter::parse("192.0.3.7")), 1u);
  EXPECT_EQ(reputation->judge(ip("192.0.3.7"), now_).standing, Standing::suspect);  // its prefix remains
  EXPECT_EQ(reputation->forgive(SourceFilter::parse("*")), 1u);
  EXPECT_EQ(rows(file()), 0);
  reputation.reset();
  reputation = open();
  EXPECT_EQ(reputation->size(), 0u);
}

TEST_F(ReputationFileTest, RecordsDecayedToNothingAreDroppedAtLoad) {
  {
    auto reputation = open();
    discredit(*reputation, "192.0.2.7");
  }
  now_ += 24h;  // 24 HalfLives: 3 × 2^-24 is nothing
  auto reputation = open();
  EXPECT_EQ(reputation->size(), 0u);
  EXPECT_EQ(rows(file()), 0);
}

TEST_F(ReputationFileTest, ALoadOverTheBoundKeepsTheMostValuable) {
  {
    auto reputation = open();
    discredit(*reputation, "192.0.2.7");
    std::vector<StateChange> changes;
    for (int i = 1; i <= 20; ++i) {
      reputation->record(ip("198.51.100." + std::to_string(i)), Event::accepted_recipient, 1, 5s, now_, changes);
    }
  }
  store::HarvestDefenceConfig small;
  small.max_source_records = 4;
  auto reputation = open(small);
  EXPECT_EQ(reputation->size(), 4u);
  EXPECT_EQ(reputation->judge(ip("192.0.2.7"), now_).standing, Standing::discredited);
  reputation->flush();
  EXPECT_EQ(rows(file()), 4);
}

TEST_F(ReputationFileTest, ADamagedFileIsMovedAsideAndTheReputationStartsEmpty) {
  {
    std::ofstream junk(file());
    junk << "this is not a database, just some text that is long enough to look like a header......\n";
  }
  auto reputation = open();
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("reputation.db"), std::string::npos) << warnings_[0];
  EXPECT_NE(warnings_[0].find("moved it to"), std::string::npos) << warnings_[0];
  EXPECT_TRUE(std::filesystem::exists(directory_.path() / "reputation.db.damaged-1800000000"));
  EXPECT_EQ(reputation->size(), 0u);
  discredit(*reputation, "192.0.2.7");
  reputation->flush();
  EXPECT_EQ(rows(file()), 2);
}

TEST_F(ReputationFileTest, AForeignDatabaseIsMovedAside) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE mailbox (name TEXT)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto reputation = open();
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("something else"), std::string::npos) << warnings_[0];
  EXPECT_TRUE(std::filesystem::exists(directory_.path() / "reputation.db.damaged-1800000000"));
}

TEST_F(ReputationFileTest, ANewerSchemaIsMovedAside) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 9", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto reputation = open();
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("schema version 9"), std::string::npos) << warnings_[0];
}

TEST_F(ReputationFileTest, AnUnreachableFileIsAnError) {
  const std::filesystem::path missing = directory_.path() / "no-such-directory" / "reputation.db";
  try {
    LocalSourceReputation reputation(missing, {}, {}, now_);
    ADD_FAILURE() << "opened a file in a missing directory";
  } catch (const ReputationFileError& e) {
    EXPECT_FALSE(e.damaged());
    EXPECT_NE(std::string(e.what()).find("no-such-directory"), std::string::npos) << e.what();
  }
}

TEST_F(ReputationFileTest, TheFactoryOpensALocalReputation) {
  std::unique_ptr<SourceReputation> reputation = open_local_reputation(file(), {});
  EXPECT_EQ(reputation->judge(ip("192.0.2.7"), Clock::now()).standing, Standing::clean);
}

}  // namespace
}  // namespace transport::reputation
