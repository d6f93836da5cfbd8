// TransportServerSettings: the server-wide settings of set-transportserver (one per server), kept in
// the configuration database: how long and how much receive protocol log is kept, and the queue's retry,
// expiry and connection settings (DESIGN §11, Exchange's names and defaults).
#pragma once

#include <cstdint>
#include <optional>

#include "store/byte_size.h"
#include "store/time_span.h"

namespace transport::store {

struct TransportServerSettings {
  // Protocol log files older than this are deleted; 00:00:00 = no age limit (Exchange's default: 30 days).
  TimeSpan receive_protocol_log_max_age = TimeSpan::from_seconds(30 * 24 * 3600);
  // The oldest protocol log files are deleted while all of them together are larger; nullopt = unlimited.
  std::optional<ByteSize> receive_protocol_log_max_directory_size = ByteSize::megabytes(250);

  // A message or recipient that got a 4xx (or whose next hop failed mid-transaction) is tried again after this.
  TimeSpan transient_failure_retry_interval = TimeSpan::from_seconds(5 * 60);
  // A next hop that could not be reached at all: its queue is in Retry this long.
  TimeSpan outbound_connection_failure_retry_interval = TimeSpan::from_seconds(10 * 60);
  // A message still undelivered this long after it arrived fails (non-delivery report).
  TimeSpan message_expiration_timeout = TimeSpan::from_seconds(2 * 24 * 3600);
  // A message still undelivered this long after it arrived gets a delay report (once).
  TimeSpan delay_notification_timeout = TimeSpan::from_seconds(4 * 3600);
  // Outbound SMTP connections at once, in total and to one next hop; nullopt = unlimited.
  std::optional<std::int64_t> max_outbound_connections = 1000;
  std::optional<std::int64_t> max_per_domain_outbound_connections = 20;
};

}  // namespace transport::store
