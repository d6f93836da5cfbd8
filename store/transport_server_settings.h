// TransportServerSettings: the server-wide settings of set-transportserver (one per server), kept in
// the configuration database. Today: how long and how much receive protocol log is kept.
#pragma once

#include <optional>

#include "store/byte_size.h"
#include "store/time_span.h"

namespace transport::store {

struct TransportServerSettings {
  // Protocol log files older than this are deleted; 00:00:00 = no age limit (Exchange's default: 30 days).
  TimeSpan receive_protocol_log_max_age = TimeSpan::from_seconds(30 * 24 * 3600);
  // The oldest protocol log files are deleted while all of them together are larger; nullopt = unlimited.
  std::optional<ByteSize> receive_protocol_log_max_directory_size = ByteSize::megabytes(250);
};

}  // namespace transport::store
