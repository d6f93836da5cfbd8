// The Received: trace header (RFC 5321 §4.4) transportd prepends to each message it accepts.
#pragma once

#include <chrono>
#include <string>

namespace transport::delivery {

struct ReceivedInfo {
  std::string helo_name;       // as the client sent it: sanitized here
  std::string client_ip;       // "192.0.2.1" or "2001:db8::1"
  std::string server_fqdn;     // the receive connector's FQDN
  std::string connector_name;  // "Default MAIL01"
  std::string protocol;        // "ESMTP" or "SMTP"
  std::string queue_id;
  std::string recipient;  // empty if several
  std::chrono::system_clock::time_point when;
};

// Folded, CRLF-terminated lines:
//   Received: from <helo> ([<ip>])\r\n
//   \tby <fqdn> (transportd, connector <name>) with <protocol> id <id>\r\n
//   \tfor <rcpt>; <RFC 5322 date, +0000>\r\n
// Without a recipient the second line ends "id <id>;" and the date has the third line to itself.
std::string received_header(const ReceivedInfo& info);

}  // namespace transport::delivery
