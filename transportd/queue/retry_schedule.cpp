// RetrySchedule: arithmetic on the transport server's intervals; the queue manager acts on the times.
#include "transportd/queue/retry_schedule.h"

#include <algorithm>

namespace transport::queue {

RetrySchedule::RetrySchedule(const store::TransportServerSettings& settings)
    : transient_failure_retry_interval_(settings.transient_failure_retry_interval.seconds()),
      connection_failure_retry_interval_(settings.outbound_connection_failure_retry_interval.seconds()),
      message_expiration_timeout_(settings.message_expiration_timeout.seconds()),
      delay_notification_timeout_(settings.delay_notification_timeout.seconds()) {}

std::int64_t RetrySchedule::after_transient_failure(std::int64_t now) const {
  return now + transient_failure_retry_interval_;
}

std::int64_t RetrySchedule::after_connection_failure(std::int64_t now) const {
  return now + connection_failure_retry_interval_;
}

std::int64_t RetrySchedule::expiry_time(const QueuedMessage& message) const {
  return message.arrival_time + message_expiration_timeout_;
}

bool RetrySchedule::expired(const QueuedMessage& message, std::int64_t now) const {
  return now >= expiry_time(message);
}

std::int64_t RetrySchedule::delay_report_time(const QueuedMessage& message) const {
  return message.arrival_time + delay_notification_timeout_;
}

bool RetrySchedule::delay_report_due(const QueuedMessage& message, std::int64_t now) const {
  if (message.delay_reported || message.mail_from.empty() || expired(message, now)) return false;
  if (now < delay_report_time(message)) return false;
  return std::any_of(message.recipients.begin(), message.recipients.end(),
                     [](const QueuedRecipient& r) { return r.state == RecipientState::ready; });
}

std::int64_t RetrySchedule::next_wakeup(const QueuedMessage& message, std::int64_t retry_at) const {
  std::int64_t wakeup = std::min(retry_at, expiry_time(message));
  // Once the report is queued (delay_reported recorded) the delay no longer wakes the message.
  if (!message.delay_reported && !message.mail_from.empty()) wakeup = std::min(wakeup, delay_report_time(message));
  return wakeup;
}

}  // namespace transport::queue
