// AdminService::GetMessageTrackingLog called directly (no socket): filters from the request, events in
// Exchange's shape, INVALID_ARGUMENT naming the flag for bad filters, FAILED_PRECONDITION when tracking is off.
#include <gtest/gtest.h>

#include "tests/unit/support/admin_service_fixture.h"
#include "transportd/tracking/tracking_log.h"

namespace transport::admin {
namespace {

using namespace std::chrono_literals;

class TrackingAdminTest : public test::AdminServiceFixture {
 protected:
  void SetUp() override {
    AdminServiceFixture::SetUp();
    tracking_ = std::make_unique<tracking::TrackingLog>(dir_ / "tracking.db", 720h);
  }
  void TearDown() override {
    service_.reset();
    tracking_.reset();
    AdminServiceFixture::TearDown();
  }

  void record(tracking::EventId id, const std::string& recipient, const std::string& reply,
              std::chrono::system_clock::time_point when) {
    tracking::TrackingEvent event;
    event.timestamp = when;
    event.event_id = id;
    event.connector_id = "MAIL01\\Default MAIL01";
    event.client_ip = "192.0.2.7";
    event.sender = "alice@example.org";
    event.recipient = recipient;
    event.message_id = "<m1@example.org>";
    event.total_bytes = 4321;
    event.reply = reply;
    tracking_->record(std::move(event));
  }

  grpc::Status call(const v1::MessageTrackingQuery& query, v1::MessageTrackingLog& log) {
    return service_->GetMessageTrackingLog(nullptr, &query, &log);
  }

  std::unique_ptr<tracking::TrackingLog> tracking_;
};

TEST_F(TrackingAdminTest, OffUntilALogIsSet) {
  v1::MessageTrackingLog log;
  const auto status = call({}, log);
  // Not UNAVAILABLE, which adminctl takes for an unreachable server (exit 3): a refusal (exit 1).
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "message tracking is off: transportd runs without a tracking database");
}

TEST_F(TrackingAdminTest, FailForAnUnknownRecipientAndDeliverForAValidOne) {
  service_->set_tracking_log(tracking_.get());
  const auto t = std::chrono::sys_days(std::chrono::year(2026) / 11 / 23) + 8h + 47min + 12s + 123ms;
  record(tracking::EventId::fail, "nobody@example.com", "550 5.1.1 User unknown", t);
  record(tracking::EventId::receive, "bob@example.com", "250 2.6.0 Queued mail for delivery", t + 1s);
  record(tracking::EventId::deliver, "bob@example.com", "250 2.6.0 Queued mail for delivery", t + 2s);

  v1::MessageTrackingQuery query;
  query.set_recipient("<Nobody@Example.com>");
  v1::MessageTrackingLog log;
  ASSERT_TRUE(call(query, log).ok());
  ASSERT_EQ(log.events_size(), 1);
  const auto& failed = log.events(0);
  EXPECT_EQ(failed.timestamp(), "2026-11-23T08:47:12.123Z");
  EXPECT_EQ(failed.event_id(), "FAIL");
  EXPECT_EQ(failed.connector_id(), "MAIL01\\Default MAIL01");
  EXPECT_EQ(failed.client_ip(), "192.0.2.7");
  EXPECT_EQ(failed.sender(), "alice@example.org");
  ASSERT_EQ(failed.recipients_size(), 1);
  EXPECT_EQ(failed.recipients(0), "nobody@example.com");
  EXPECT_EQ(failed.message_id(), "<m1@example.org>");
  EXPECT_EQ(failed.total_bytes(), 4321);
  EXPECT_EQ(failed.recipient_status(), "550 5.1.1 User unknown");

  query.set_recipient("bob@example.com");
  query.set_event_id("deliver");
  log.Clear();
  ASSERT_TRUE(call(query, log).ok());
  ASSERT_EQ(log.events_size(), 1);
  EXPECT_EQ(log.events(0).event_id(), "DELIVER");

  v1::MessageTrackingQuery window;
  window.set_start("2026-11-23T08:47:13Z");
  window.set_end("2026-11-24");
  window.set_result_size(1);
  log.Clear();
  ASSERT_TRUE(call(window, log).ok());
  ASSERT_EQ(log.events_size(), 1);
  EXPECT_EQ(log.events(0).event_id(), "RECEIVE");
}

TEST_F(TrackingAdminTest, BadFiltersAreInvalidArgumentNamingTheFlag) {
  service_->set_tracking_log(tracking_.get());
  const auto refused = [this](auto set, const std::string& flag) {
    v1::MessageTrackingQuery query;
    set(query);
    v1::MessageTrackingLog log;
    const auto status = call(query, log);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << flag;
    EXPECT_NE(status.error_message().find(flag), std::string::npos) << status.error_message();
  };
  refused([](auto& q) { q.set_event_id("BOUNCE"); }, "--event-id");
  refused([](auto& q) { q.set_start("yesterday"); }, "--start");
  refused([](auto& q) { q.set_end("2026-02-30"); }, "--end");
  refused([](auto& q) { q.set_result_size(100001); }, "--result-size");
  refused([](auto& q) { q.set_result_size(-1); }, "--result-size");
  refused([](auto& q) { q.set_result_size(0); }, "--result-size");  // given, so judged like 99999999999
  refused([](auto& q) { q.set_start("2026-11-24"); q.set_end("2026-11-23"); }, "--start");
}

}  // namespace
}  // namespace transport::admin
