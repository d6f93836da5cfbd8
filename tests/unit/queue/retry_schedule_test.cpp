// RetrySchedule: retry times from the two intervals, expiry and delay-report decisions at their edges.
#include "transportd/queue/retry_schedule.h"

#include <gtest/gtest.h>

namespace transport::queue {
namespace {

store::TransportServerSettings settings() {
  store::TransportServerSettings s;  // Exchange's defaults: 00:05:00, 00:10:00, 2.00:00:00, 04:00:00
  return s;
}

QueuedMessage waiting_message(std::int64_t arrival) {
  QueuedMessage m;
  m.id = "m";
  m.arrival_time = arrival;
  m.mail_from = "sender@example.com";
  m.recipients.resize(2);
  m.recipients[0].state = RecipientState::delivered;
  return m;
}

constexpr std::int64_t kArrival = 1'790'000'000;
constexpr std::int64_t kHour = 3600;

TEST(RetrySchedule, TransientAndConnectionFailuresUseTheirIntervals) {
  const RetrySchedule schedule(settings());
  EXPECT_EQ(schedule.after_transient_failure(kArrival), kArrival + 300);
  EXPECT_EQ(schedule.after_connection_failure(kArrival), kArrival + 600);

  store::TransportServerSettings custom = settings();
  custom.transient_failure_retry_interval = store::TimeSpan::from_seconds(17);
  custom.outbound_connection_failure_retry_interval = store::TimeSpan::from_seconds(41);
  const RetrySchedule changed(custom);
  EXPECT_EQ(changed.after_transient_failure(100), 117);
  EXPECT_EQ(changed.after_connection_failure(100), 141);
}

TEST(RetrySchedule, ExpiresExactlyAtArrivalPlusTheTimeout) {
  const RetrySchedule schedule(settings());
  const QueuedMessage m = waiting_message(kArrival);
  EXPECT_EQ(schedule.expiry_time(m), kArrival + 48 * kHour);
  EXPECT_FALSE(schedule.expired(m, kArrival));
  EXPECT_FALSE(schedule.expired(m, kArrival + 48 * kHour - 1));
  EXPECT_TRUE(schedule.expired(m, kArrival + 48 * kHour));
  EXPECT_TRUE(schedule.expired(m, kArrival + 49 * kHour));
}

TEST(RetrySchedule, DelayReportDueOnceAfterTheTimeoutWhileWaiting) {
  const RetrySchedule schedule(settings());
  QueuedMessage m = waiting_message(kArrival);
  EXPECT_EQ(schedule.delay_report_time(m), kArrival + 4 * kHour);
  EXPECT_FALSE(schedule.delay_report_due(m, kArrival + 4 * kHour - 1));
  EXPECT_TRUE(schedule.delay_report_due(m, kArrival + 4 * kHour));
  EXPECT_TRUE(schedule.delay_report_due(m, kArrival + 47 * kHour));
  EXPECT_FALSE(schedule.delay_report_due(m, kArrival + 48 * kHour)) << "expired: a failure report instead";

  m.delay_reported = true;
  EXPECT_FALSE(schedule.delay_report_due(m, kArrival + 5 * kHour));
}

TEST(RetrySchedule, NoDelayReportToTheNullSenderOrWhenNobodyWaits) {
  const RetrySchedule schedule(settings());
  QueuedMessage m = waiting_message(kArrival);
  m.mail_from.clear();
  EXPECT_FALSE(schedule.delay_report_due(m, kArrival + 5 * kHour));

  m = waiting_message(kArrival);
  m.recipients[1].state = RecipientState::failed;
  EXPECT_FALSE(schedule.delay_report_due(m, kArrival + 5 * kHour));
}

TEST(RetrySchedule, NextWakeupIsTheEarliestOfRetryExpiryAndDelayReport) {
  store::TransportServerSettings s = settings();
  const RetrySchedule schedule(s);
  QueuedMessage m = waiting_message(kArrival);
  EXPECT_EQ(schedule.next_wakeup(m, kArrival + 300), kArrival + 300);
  EXPECT_EQ(schedule.next_wakeup(m, kArrival + 5 * kHour), kArrival + 4 * kHour);
  m.delay_reported = true;
  EXPECT_EQ(schedule.next_wakeup(m, kArrival + 5 * kHour), kArrival + 5 * kHour);
  EXPECT_EQ(schedule.next_wakeup(m, kArrival + 50 * kHour), kArrival + 48 * kHour);
  m.delay_reported = false;
  m.mail_from.clear();
  EXPECT_EQ(schedule.next_wakeup(m, kArrival + 5 * kHour), kArrival + 5 * kHour);

  s.delay_notification_timeout = store::TimeSpan::from_seconds(72 * kHour);  // longer than expiry
  const RetrySchedule late(s);
  m = waiting_message(kArrival);
  EXPECT_EQ(late.next_wakeup(m, kArrival + 60 * kHour), kArrival + 48 * kHour);
  EXPECT_FALSE(late.delay_report_due(m, kArrival + 47 * kHour));
}

}  // namespace
}  // namespace transport::queue
