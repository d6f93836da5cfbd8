// ConfigurationService on a real SQLite file: first-start defaults, whole-change validation, one
// transaction per change, and snapshots that are replaced, never mutated.
#include "transportd/config/configuration_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "store/value_error.h"
#include "transportd/config/admin_error.h"
#include "transportd/config/change_caller.h"

namespace transport::config {
namespace {

class ConfigurationServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/transport-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    store_ = std::make_unique<store::SqliteStore>(dir_ / "config.db");
    service_ = std::make_unique<ConfigurationService>(*store_, "MAIL01", std::vector<std::string>{"127.0.0.1:2525"});
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<ConfigurationService> service_;
};

TEST_F(ConfigurationServiceTest, FirstStartCreatesTheDefaultConnector) {
  auto config = service_->snapshot();
  ASSERT_EQ(config->connectors.size(), 1u);
  EXPECT_EQ(config->connectors[0].name, "Default MAIL01");
  EXPECT_EQ(config->connectors[0].tarpit_interval.seconds(), 5);
  EXPECT_EQ(config->connectors[0].fqdn, "mail01");
  EXPECT_EQ(ConfigurationService::identity(*config, config->connectors[0]), "MAIL01\\Default MAIL01");
}

TEST_F(ConfigurationServiceTest, AChangePublishesANewSnapshotAndLeavesTheOldOneAlone) {
  auto before = service_->snapshot();
  int notified = 0;
  service_->on_change([&](const store::ConfigurationPtr&) { ++notified; });
  service_->set_connectors({"*"}, {{"TarpitInterval", {"00:00:10"}}});
  EXPECT_EQ(before->connectors[0].tarpit_interval.seconds(), 5);
  EXPECT_EQ(service_->snapshot()->connectors[0].tarpit_interval.seconds(), 10);
  EXPECT_EQ(notified, 1);
}

TEST_F(ConfigurationServiceTest, ASetOverSeveralConnectorsIsAllOrNothing) {
  service_->new_connector({{"Name", {"Trusted"}}, {"Bindings", {"127.0.0.1:2525"}}, {"RemoteIPRanges", {"127.0.0.2"}}});
  // Giving both connectors the same range makes them collide with each other: nothing may change.
  EXPECT_THROW(service_->set_connectors({"*"}, {{"RemoteIPRanges", {"10.0.0.0/8"}}, {"TarpitInterval", {"00:00:01"}}}),
               AdminError);
  for (const auto& c : service_->snapshot()->connectors) EXPECT_NE(c.tarpit_interval.seconds(), 1) << c.name;
  for (const auto& c : store_->load().connectors) EXPECT_NE(c.tarpit_interval.seconds(), 1) << c.name;
}

TEST_F(ConfigurationServiceTest, AChangeWhoseCallerGaveUpIsNotApplied) {
  bool gave_up = true;
  {
    const ChangeCaller caller([&] { return gave_up; });
    try {
      service_->set_connectors({"*"}, {{"TarpitInterval", {"00:00:09"}}});
      ADD_FAILURE() << "an abandoned change was applied";
    } catch (const AdminError& e) {
      EXPECT_EQ(e.kind(), AdminError::Kind::abandoned);
    }
    EXPECT_EQ(service_->snapshot()->connectors[0].tarpit_interval.seconds(), 5);
    EXPECT_EQ(store_->load().connectors[0].tarpit_interval.seconds(), 5);
    gave_up = false;
    service_->set_connectors({"*"}, {{"TarpitInterval", {"00:00:09"}}});
    EXPECT_EQ(store_->load().connectors[0].tarpit_interval.seconds(), 9);
  }
  EXPECT_FALSE(ChangeCaller::gave_up());  // the scope ended: no caller on this thread any more
}

TEST_F(ConfigurationServiceTest, ErrorsCarryTheirKind) {
  EXPECT_THROW(service_->set_connectors({"Nope"}, {{"Enabled", {"false"}}}), AdminError);
  EXPECT_THROW(service_->set_connectors({"*"}, {{"NoSuchProperty", {"1"}}}), store::ValidationError);
  EXPECT_THROW(service_->new_connector({{"Name", {"X"}}}), store::ValidationError);  // Bindings required
  try {
    service_->new_connector({{"Name", {"default mail01"}}, {"Bindings", {"127.0.0.1:1"}}});
    FAIL() << "duplicate name accepted";
  } catch (const AdminError& e) {
    EXPECT_EQ(e.kind(), AdminError::Kind::already_exists);
  }
}

TEST_F(ConfigurationServiceTest, MakingADomainTheDefaultClearsThePreviousDefault) {
  service_->new_accepted_domain({{"Name", {"A"}}, {"DomainName", {"a.example"}}, {"Default", {"true"}}});
  service_->new_accepted_domain({{"Name", {"B"}}, {"DomainName", {"b.example"}}, {"Default", {"true"}}});
  auto domains = store_->load().accepted_domains;
  ASSERT_EQ(domains.size(), 2u);
  EXPECT_FALSE(domains[0].is_default);
  EXPECT_TRUE(domains[1].is_default);
}

}  // namespace
}  // namespace transport::config
