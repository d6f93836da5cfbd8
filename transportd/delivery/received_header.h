// The trace headers (RFC 5321 §4.4) transportd prepends to each message it accepts: Received: at
// every hop, and Return-Path: with the envelope sender on final delivery.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace transport::delivery {

struct ReceivedInfo {
  std::string helo_name;       // as the client sent it: sanitized here
  std::string client_ip;       // "192.0.2.1" or "2001:db8::1" (written as "[IPv6:2001:db8::1]")
  std::string server_fqdn;     // the receive connector's FQDN
  std::string connector_name;  // "Default MAIL01"
  std::string protocol;        // received_protocol(): "SMTP", "ESMTP", "ESMTPSA", "UTF8SMTPS", ...
  std::string queue_id;
  std::string recipient;  // empty if several
  std::chrono::system_clock::time_point when;
};

// Folded, CRLF-terminated lines:
//   Received: from <helo> ([<ip>] or [IPv6:<ip>], RFC 5321 §4.1.3 address literals)\r\n
//   \tby <fqdn> (transportd, connector <name>) with <protocol> id <id>\r\n
//   \tfor <rcpt>; <RFC 5322 date, +0000>\r\n
// Without a recipient the second line ends "id <id>;" and the date has the third line to itself.
std::string received_header(const ReceivedInfo& info);

// How the message came in, for the "with" clause (RFC 3848).
struct ReceivedVia {
  bool extended = false;       // the client said EHLO, not HELO
  bool tls = false;            // inside TLS (STARTTLS)
  bool authenticated = false;  // the client authenticated with AUTH (RFC 4954); a connector that
                               // trusts its clients (ExternalAuthoritative) is not SMTP AUTH
  bool smtputf8 = false;       // MAIL FROM had the SMTPUTF8 parameter (RFC 6531)
};

// The registered protocol name (RFC 3848, RFC 6531 §3.7.3): "SMTP" after HELO; after EHLO "ESMTP",
// or "UTF8SMTP" for an SMTPUTF8 transaction, then "S" for TLS and "A" for AUTH, in that order
// ("ESMTPS", "ESMTPA", "ESMTPSA", "UTF8SMTPSA", ...). HELO has no extensions: TLS, AUTH and SMTPUTF8
// only count after EHLO.
std::string_view received_protocol(const ReceivedVia& via);

// "Return-Path: <sender>\r\n" with the envelope sender (RFC 5321 §4.4: added at final delivery);
// the null sender gives "Return-Path: <>". Control bytes are dropped.
std::string return_path_header(std::string_view mail_from);

}  // namespace transport::delivery
