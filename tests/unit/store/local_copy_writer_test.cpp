// LocalCopyWriter: a fleet node's local copy is written behind, the latest snapshot wins, and a copy
// that cannot be written is said, not thrown at the snapshot's reader.
#include "store/local_copy_writer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <mutex>

namespace transport::store {
namespace {

class LocalCopyWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/transport-copy-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static ConfigurationPtr snapshot(std::int64_t version, int mailboxes) {
    Configuration config;
    config.host_name = "MAIL01";
    config.version = version;
    for (int i = 0; i < mailboxes; ++i) {
      Mailbox m;
      m.primary_smtp_address = "user" + std::to_string(i) + "@example.com";
      m.password_hash = "hash" + std::to_string(i);
      config.mailboxes.push_back(m);
    }
    return std::make_shared<const Configuration>(std::move(config));
  }

  std::filesystem::path dir_;
};

TEST_F(LocalCopyWriterTest, TheLatestSnapshotIsWrittenWhole) {
  LocalCopyWriter writer(dir_ / "config-cache.db", {});
  EXPECT_FALSE(writer.exists());
  writer.write_later(snapshot(1, 3));
  writer.write_later(snapshot(2, 20'000));  // a directory: one prepared statement for all of them
  writer.flush();
  const Configuration copy = writer.read();
  EXPECT_EQ(copy.version, 2);
  EXPECT_EQ(copy.host_name, "MAIL01");
  ASSERT_EQ(copy.mailboxes.size(), 20'000u);
  EXPECT_EQ(copy.mailboxes[19'999].primary_smtp_address, "user19999@example.com");
  EXPECT_EQ(copy.mailboxes[19'999].password_hash, "hash19999");
}

TEST_F(LocalCopyWriterTest, WhatIsPendingIsWrittenBeforeItStops) {
  {
    LocalCopyWriter writer(dir_ / "config-cache.db", {});
    writer.write_later(snapshot(7, 1));
  }
  EXPECT_EQ(LocalCopyWriter(dir_ / "config-cache.db", {}).read().version, 7);
}

TEST_F(LocalCopyWriterTest, AFailedWriteIsSaid) {
  std::mutex mutex;
  std::vector<std::string> warnings;
  LocalCopyWriter writer(dir_ / "missing" / "config-cache.db", [&](const std::string& m) {
    std::lock_guard lock(mutex);
    warnings.push_back(m);
  });
  writer.write_later(snapshot(3, 1));
  writer.flush();
  std::lock_guard lock(mutex);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("configuration version 3"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("serves it all the same"), std::string::npos) << warnings[0];
}

}  // namespace
}  // namespace transport::store
