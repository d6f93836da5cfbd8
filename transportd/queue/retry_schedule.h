// RetrySchedule: when a queued message is tried again, when it expires, and when its delay report is
// due, from the transport server's settings (DESIGN §11, Exchange's names and defaults). Pure: times are
// unix seconds (QueuedMessage::arrival_time's unit), passed in, never read from a clock.
#pragma once

#include <cstdint>

#include "store/transport_server_settings.h"
#include "transportd/queue/queued_message.h"

namespace transport::queue {

class RetrySchedule {
 public:
  explicit RetrySchedule(const store::TransportServerSettings& settings);

  // After a 4xx for the message (or some of its recipients), or a next hop that failed mid-transaction:
  // now + TransientFailureRetryInterval.
  std::int64_t after_transient_failure(std::int64_t now) const;
  // After the next hop could not be reached at all: now + OutboundConnectionFailureRetryInterval.
  std::int64_t after_connection_failure(std::int64_t now) const;

  // arrival + MessageExpirationTimeout: when the message fails undelivered (Will-Retry-Until).
  std::int64_t expiry_time(const QueuedMessage& message) const;
  bool expired(const QueuedMessage& message, std::int64_t now) const;

  // arrival + DelayNotificationTimeout.
  std::int64_t delay_report_time(const QueuedMessage& message) const;
  // A delay report is due: the timeout has passed, none was sent, the message has not expired, some
  // recipient is still waiting, and there is a sender to tell (never the null sender).
  bool delay_report_due(const QueuedMessage& message, std::int64_t now) const;

  // The next retry clamped so that expiry and a due delay report are acted on in time: the earliest of
  // `retry_at`, the expiry time, and the delay report time until delay_reported is recorded.
  std::int64_t next_wakeup(const QueuedMessage& message, std::int64_t retry_at) const;

 private:
  std::int64_t transient_failure_retry_interval_;
  std::int64_t connection_failure_retry_interval_;
  std::int64_t message_expiration_timeout_;
  std::int64_t delay_notification_timeout_;
};

}  // namespace transport::queue
