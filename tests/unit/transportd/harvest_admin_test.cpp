// AdminService's harvest defence RPCs called directly (no socket): Get/SetHarvestDefenceConfig through
// the property table (what-if changes nothing), and Get/ClearSourceReputation against a fake
// SourceReputation: the filter, state and limit it is asked with, rows in Exchange's shape, and
// INVALID_ARGUMENT / FAILED_PRECONDITION for bad input and a defence that is not running.
#include <grpcpp/server_context.h>
#include <gtest/gtest.h>

#include "tests/unit/support/admin_service_fixture.h"

namespace transport::admin {
namespace {

using namespace std::chrono_literals;

// Answers list() with canned reports and remembers how it was asked.
class FakeSourceReputation : public reputation::SourceReputation {
 public:
  void configure(const store::HarvestDefenceConfig&) override {}
  reputation::Judgement judge(const store::IpAddress&, reputation::TimePoint) override { return {}; }
  reputation::Judgement record(const store::IpAddress&, reputation::Event, std::uint32_t, std::chrono::seconds,
                               reputation::TimePoint, std::vector<reputation::StateChange>&) override {
    return {};
  }
  bool open_connection(const store::IpAddress&, const reputation::Judgement&) override { return true; }
  void close_connection(const store::IpAddress&) override {}
  std::vector<reputation::SourceReport> list(const reputation::SourceFilter& filter,
                                             std::optional<reputation::Standing> standing, reputation::TimePoint,
                                             std::size_t limit) override {
    asked_filter = filter.text;
    asked_standing = standing;
    asked_limit = limit;
    return reports;
  }
  std::size_t forgive(const reputation::SourceFilter& filter) override {
    forgiven.push_back(filter.text);
    return forgive_count;
  }
  Counts counts() const override { return {}; }

  std::vector<reputation::SourceReport> reports;
  std::string asked_filter;
  std::optional<reputation::Standing> asked_standing;
  std::size_t asked_limit = 0;
  std::vector<std::string> forgiven;
  std::size_t forgive_count = 0;
};

class HarvestAdminTest : public test::AdminServiceFixture {
 protected:
  grpc::Status set(const std::vector<std::pair<std::string, std::string>>& values, v1::HarvestDefenceConfig& out,
                   bool what_if = false) {
    v1::SetHarvestDefenceConfigRequest request;
    const auto* descriptor = request.values().GetDescriptor();
    for (const auto& [field, value] : values) {
      const auto* f = descriptor->FindFieldByName(field);
      auto* message = request.mutable_values();
      if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_INT32) {
        message->GetReflection()->SetInt32(message, f, std::stoi(value));
      } else if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_BOOL) {
        message->GetReflection()->SetBool(message, f, value == "true");
      } else if (f->is_repeated()) {
        message->GetReflection()->AddString(message, f, value);
      } else {
        message->GetReflection()->SetString(message, f, value);
      }
      request.mutable_update_mask()->add_paths(field);
    }
    request.set_what_if(what_if);
    grpc::ServerContext context;
    return service_->SetHarvestDefenceConfig(&context, &request, &out);
  }

  grpc::Status list(const v1::SourceReputationQuery& query, v1::SourceReputationList& out) {
    return service_->GetSourceReputation(nullptr, &query, &out);
  }

  FakeSourceReputation reputation_;
};

TEST_F(HarvestAdminTest, GetShowsTheDefaults) {
  v1::HarvestDefenceConfig config;
  ASSERT_TRUE(service_->GetHarvestDefenceConfig(nullptr, nullptr, &config).ok());
  EXPECT_TRUE(config.enabled());
  EXPECT_EQ(config.half_life(), "01:00:00");
  EXPECT_EQ(config.suspect_refused_recipients(), 5);
  EXPECT_EQ(config.discredit_refused_recipients(), 25);
  EXPECT_EQ(config.ipv4_prefix_length(), 24);
  EXPECT_EQ(config.auth_lockout_interval(), "00:01:00");
  EXPECT_EQ(config.max_source_records(), 1000000);
  EXPECT_EQ(config.exempt_remote_ip_ranges_size(), 0);
}

TEST_F(HarvestAdminTest, SetChangesStoresAndPublishes) {
  v1::HarvestDefenceConfig shown;
  ASSERT_TRUE(set({{"half_life", "00:00:02"}, {"enabled", "false"}, {"exempt_remote_ip_ranges", "10.0.0.0/8"}}, shown)
                  .ok());
  EXPECT_EQ(shown.half_life(), "00:00:02");
  EXPECT_FALSE(shown.enabled());
  ASSERT_EQ(shown.exempt_remote_ip_ranges_size(), 1);
  EXPECT_EQ(configuration_->snapshot()->harvest_defence.half_life.seconds(), 2);
  EXPECT_EQ(store_->load().harvest_defence.exempt_remote_ip_ranges.size(), 1u);

  // A list edit goes to the list inside the change.
  v1::SetHarvestDefenceConfigRequest edit;
  auto* list_edit = edit.add_list_edits();
  list_edit->set_property("exempt_remote_ip_ranges");
  list_edit->add_add("192.0.2.0/24");
  list_edit->add_remove("10.0.0.0/8");
  grpc::ServerContext context;
  shown.Clear();
  ASSERT_TRUE(service_->SetHarvestDefenceConfig(&context, &edit, &shown).ok());
  ASSERT_EQ(shown.exempt_remote_ip_ranges_size(), 1) << shown.ShortDebugString();
  EXPECT_EQ(shown.exempt_remote_ip_ranges(0), "192.0.2.0/24");
}

TEST_F(HarvestAdminTest, WhatIfShowsTheResultAndChangesNothing) {
  v1::HarvestDefenceConfig shown;
  ASSERT_TRUE(set({{"ipv4_prefix_length", "16"}}, shown, true).ok());
  EXPECT_EQ(shown.ipv4_prefix_length(), 16);
  EXPECT_EQ(configuration_->snapshot()->harvest_defence.ipv4_prefix_length, 24);
  EXPECT_EQ(store_->load().harvest_defence.ipv4_prefix_length, 24);
}

TEST_F(HarvestAdminTest, RefusalsNameThePropertyAndChangeNothing) {
  v1::HarvestDefenceConfig shown;
  auto status = set({{"ipv6_prefix_length", "129"}}, shown);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "IPv6PrefixLength 129 is out of range: allowed 16 to 128");

  status = set({{"half_life", "8.00:00:00"}}, shown);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "HalfLife 8.00:00:00 is out of range: allowed 00:00:01 to 7.00:00:00");

  status = set({{"suspect_abandoned_holds", "4"}}, shown);  // above DiscreditAbandonedHolds 3
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("SuspectAbandonedHolds 4 is above DiscreditAbandonedHolds 3"), std::string::npos)
      << status.error_message();
  // Raising both in one change is fine.
  EXPECT_TRUE(set({{"suspect_abandoned_holds", "4"}, {"discredit_abandoned_holds", "4"}}, shown).ok());
  EXPECT_EQ(store_->load().harvest_defence.ipv6_prefix_length, 64);
}

TEST_F(HarvestAdminTest, SourceReputationIsRefusedWhileTheDefenceIsNotRunning) {
  v1::SourceReputationList rows;
  auto status = list({}, rows);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "harvest defence is not running");
  v1::ClearSourceReputationRequest clear;
  clear.set_identity("*");
  v1::ClearSourceReputationResponse cleared;
  status = service_->ClearSourceReputation(nullptr, &clear, &cleared);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(HarvestAdminTest, GetSourceReputationAsksWithTheFilterAndShowsRows) {
  service_->set_source_reputation(&reputation_);
  reputation::SourceReport report;
  report.source = "192.0.2.7";
  report.standing = reputation::Standing::discredited;
  report.level = 2;
  report.refused = 26.5;
  report.accepted = 1;
  report.abandoned = 0.25;
  report.auth_failures = 0;
  report.current_interval = 20s;
  report.last_seen = std::chrono::sys_days(std::chrono::year(2026) / 11 / 23) + 8h + 47min + 12s;
  report.auth_locked_until = report.last_seen + 60s;
  reputation_.reports = {report};

  v1::SourceReputationList rows;
  ASSERT_TRUE(list({}, rows).ok());
  EXPECT_EQ(reputation_.asked_filter, "*");
  EXPECT_FALSE(reputation_.asked_standing.has_value());
  EXPECT_EQ(reputation_.asked_limit, 1000u);  // the default ResultSize
  ASSERT_EQ(rows.sources_size(), 1);
  const auto& row = rows.sources(0);
  EXPECT_EQ(row.source(), "192.0.2.7");
  EXPECT_EQ(row.state(), "Discredited");
  EXPECT_EQ(row.level(), 2);
  EXPECT_DOUBLE_EQ(row.refused(), 26.5);
  EXPECT_DOUBLE_EQ(row.abandoned(), 0.25);
  EXPECT_EQ(row.current_interval(), "00:00:20");
  EXPECT_EQ(row.last_seen(), "2026-11-23T08:47:12.000Z");
  EXPECT_EQ(row.auth_locked_until(), "2026-11-23T08:48:12.000Z");

  v1::SourceReputationQuery query;
  query.set_identity("192.0.2.0/24");
  query.set_state("suspect");
  query.set_result_size(5);
  rows.Clear();
  ASSERT_TRUE(list(query, rows).ok());
  EXPECT_EQ(reputation_.asked_filter, "192.0.2.0/24");
  EXPECT_EQ(reputation_.asked_standing, reputation::Standing::suspect);
  EXPECT_EQ(reputation_.asked_limit, 5u);
}

TEST_F(HarvestAdminTest, BadQueriesAreInvalidArgumentsNamingTheValue) {
  service_->set_source_reputation(&reputation_);
  v1::SourceReputationList rows;
  v1::SourceReputationQuery query;
  query.set_identity("not an address");
  auto status = list(query, rows);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("not an address"), std::string::npos) << status.error_message();
  EXPECT_TRUE(status.error_message().starts_with("Identity: ")) << status.error_message();

  query.Clear();
  query.set_state("Hostile");
  status = list(query, rows);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "--state \"Hostile\" is not allowed: Clean, Suspect or Discredited");

  query.Clear();
  query.set_result_size(0);
  status = list(query, rows);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "--result-size 0 is out of range: allowed 1 to 1000000");
  EXPECT_EQ(reputation_.asked_limit, 0u);  // never asked
}

TEST_F(HarvestAdminTest, ClearForgivesWhatTheIdentityNames) {
  service_->set_source_reputation(&reputation_);
  reputation_.forgive_count = 3;
  v1::ClearSourceReputationRequest request;
  v1::ClearSourceReputationResponse response;
  request.set_identity("192.0.2.*");
  ASSERT_TRUE(service_->ClearSourceReputation(nullptr, &request, &response).ok());
  EXPECT_EQ(response.cleared(), 3);
  EXPECT_EQ(reputation_.forgiven, std::vector<std::string>{"192.0.2.*"});

  request.set_identity("");
  auto status = service_->ClearSourceReputation(nullptr, &request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  request.set_identity("192.0.2.300");
  status = service_->ClearSourceReputation(nullptr, &request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("192.0.2.300"), std::string::npos) << status.error_message();
  EXPECT_EQ(reputation_.forgiven.size(), 1u);
}

}  // namespace
}  // namespace transport::admin
