// The fixture the admin service's unit tests share: a real SQLite configuration store in a temporary
// directory, the ConfigurationService over it as server MAIL01, and the AdminService called directly
// (no socket). Tests add what they need (a queue viewer, a tracking log) in their own SetUp.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "store/sqlite_store.h"
#include "transportd/admin/admin_service.h"
#include "transportd/config/configuration_service.h"

namespace transport::test {

class AdminServiceFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "admin_service_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    store_ = std::make_unique<store::SqliteStore>(dir_ / "config.db");
    configuration_ = std::make_unique<config::ConfigurationService>(*store_, "MAIL01",
                                                                    std::vector<std::string>{"127.0.0.1:2525"});
    service_ = std::make_unique<admin::AdminService>(
        *configuration_, [](const store::ReceiveConnector&, const store::Binding&) { return "listening"; });
  }
  void TearDown() override {
    service_.reset();
    configuration_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<config::ConfigurationService> configuration_;
  std::unique_ptr<admin::AdminService> service_;
};

}  // namespace transport::test
