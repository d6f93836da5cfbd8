// Delivery status notifications (RFC 3464): which recipients a report is due for, and the report itself
// as a message in stored form, ready to be queued for the original sender with the null reverse-path.
// Pure: the caller supplies the time, the identifiers and the original message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "transportd/dsn/dsn_parameters.h"

namespace transport::dsn {

// RFC 3464 §2.3.3 (without "expanded": we do not expand lists).
enum class Action : std::uint8_t { failed, delayed, delivered, relayed };

struct RecipientReport {
  std::string final_recipient;     // the address we tried to deliver to
  std::string original_recipient;  // decoded ORCPT, "rfc822;addr"; empty when not given
  Action action = Action::failed;
  std::string status;       // RFC 3463 "5.1.1"; one that is malformed is replaced by the action's X.0.0
  std::string remote_mta;   // host name of the server that answered; empty when none did
  std::string diagnostic;   // the remote reply ("550 5.1.1 No such user", lines joined by LF), or our own text
  std::int64_t last_attempt = 0;      // unix time, 0 = none
  std::int64_t will_retry_until = 0;  // delayed only; unix time, 0 = unknown
};

struct ReportRequest {
  std::string reporting_mta;  // our FQDN
  std::string postmaster;     // From: address: "postmaster@example.com" or "MAILER-DAEMON@fqdn"
  std::string envid;          // ENVID as given (decoded); empty when none
  std::int64_t arrival_date = 0;  // unix time the original message was received; 0 = unknown
  std::string original_sender;    // the envelope sender: the report's To: and envelope recipient
  std::string_view original_message;  // stored form: LF line ends, header section, empty line, body
  bool return_full = false;  // RET=FULL: the whole message in a failure report (RFC 3461 §4.3); a
                             // report of delays or successes only, or without RET=FULL, has headers
  std::vector<RecipientReport> recipients;
  std::int64_t now = 0;
  std::string message_id;     // unique, made by the caller, without <>
  std::string boundary_seed;  // makes the MIME boundary unique (a queue id and a counter will do)
  // RET=FULL returns at most this many octets of message; a longer one comes back as headers only,
  // as RFC 3461 §4.3 allows, and the report says so.
  std::size_t full_message_limit = 10 * 1024 * 1024;
};

// The most of the original header section a report carries (text/rfc822-headers): a header section
// larger than this is cut at a field boundary.
inline constexpr std::size_t kMaxReturnedHeaders = 64 * 1024;

// The report (LF line ends, every line at most 998 octets): multipart/report; report-type=
// delivery-status with a text/plain part for a person, message/delivery-status, and the original as
// text/rfc822-headers or (return_full) message/rfc822. A report with 8-bit octets (the original's
// 8-bit body or headers, a UTF-8 recipient address) needs 8BITMIME from the next hop: needs_8bitmime().
std::string compose_report(const ReportRequest& request);

// Any octet outside US-ASCII: the message must be sent with BODY=8BITMIME (or bounced, RFC 6152 §3).
bool needs_8bitmime(std::string_view message);

// Whether a report is due for a recipient whose delivery ended in `action`: never when the original
// sender is the null sender (RFC 3461 §6.2, RFC 5321 §4.5.5); failures unless NOTIFY was given without
// FAILURE (NEVER included); delays only with DELAY in force (the default has FAILURE and DELAY);
// delivered and relayed only with SUCCESS.
bool report_wanted(std::string_view original_sender, const Notify& notify, Action action);

// The RFC 3463 status of an SMTP reply: `enhanced` is the reply's text after the code, or the whole
// reply ("550 5.1.1 text" and "5.1.1 text" both give "5.1.1"). Without an enhanced code, or with one
// whose class disagrees with the reply's, the class of the reply decides ("5.0.0", "4.0.0", "2.0.0";
// a code that is none of these counts as permanent).
std::string status_of_reply(int code, std::string_view enhanced);


}  // namespace transport::dsn
