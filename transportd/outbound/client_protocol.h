// The SMTP client's protocol without I/O: replies parsed from the next hop's octets, EHLO capabilities,
// MAIL/RCPT commands with the parameters the next hop advertised, and the DATA body encoder. Pure, so
// that every rule here is unit-tested without sockets; smtp_client.cpp only reads and writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "transportd/dsn/dsn_parameters.h"

namespace transport::outbound {

// A reply from the next hop, or one we made in its place. Code 0: there was no reply (the connection
// failed, timed out or spoke something that is not SMTP) and `text` says what happened.
struct SmtpReply {
  int code = 0;
  std::string enhanced;  // RFC 3463 "5.1.1" when the first line carried one; else empty
  std::string text;      // without code and enhanced code; the lines of a multi-line reply joined by '\n'

  bool positive() const { return code >= 200 && code <= 399; }
  bool permanent() const { return code >= 500 && code <= 599; }
  // 4xx, and no reply at all: worth trying again later.
  bool transient() const { return code == 0 || (code >= 400 && code <= 499); }
  // One line for logs, LastError and reports: "550 5.1.1 User unknown" (lines joined by a space), or
  // the text alone for code 0.
  std::string to_string() const;
};

// Replies made by us rather than the next hop (a message it cannot take, a local read error).
SmtpReply local_reply(int code, std::string_view enhanced, std::string text);

// Reads one reply at a time from the octets a next hop sends. A reply is one or more lines
// "250-text" ... "250 text", each ending in CRLF (a bare LF is taken too: it is unambiguous here).
class ReplyParser {
 public:
  enum class Status : std::uint8_t {
    complete,    // `reply` filled; `consumed` octets of the input were the reply
    incomplete,  // read more and call again with the same input extended
    malformed,   // not an SMTP reply: a protocol error, the connection is no longer usable
    too_long,    // over kMaxReplySize without ending: a protocol error too
  };
  static constexpr std::size_t kMaxReplySize = 64 * 1024;

  // `input` starts at a reply. Between calls that return incomplete, the caller only appends to it:
  // lines already checked are not checked again, so a reply trickling in costs linear time.
  Status parse(std::string_view input, SmtpReply& reply, std::size_t& consumed);

 private:
  std::size_t checked_ = 0;  // octets of complete continuation lines ("250-...") already checked
  int code_ = 0;             // their code
};

// What an EHLO reply advertised (RFC 5321 §4.1.1.1 and each extension's RFC). HELO: nothing.
struct Capabilities {
  bool pipelining = false;    // RFC 2920
  bool size = false;          // RFC 1870
  std::uint64_t size_limit = 0;  // SIZE's argument; 0: no fixed limit stated
  bool eight_bit_mime = false;   // RFC 6152
  bool smtputf8 = false;         // RFC 6531
  bool starttls = false;         // RFC 3207
  bool dsn = false;              // RFC 3461
  bool chunking = false;         // RFC 3030 (recognised, not used: DATA serves every message)
  bool enhanced_status_codes = false;  // RFC 2034
  bool auth_plain = false;       // RFC 4954 AUTH (and the old "AUTH=" form) with these mechanisms
  bool auth_login = false;
};

Capabilities parse_ehlo(const SmtpReply& reply);

struct OutboundRecipient {
  std::string address;  // without angle brackets
  dsn::RecipientParameters dsn;
};

struct OutboundEnvelope {
  std::string mail_from;  // without angle brackets; empty: the null sender
  dsn::MailParameters dsn;
  bool eight_bit = false;  // BODY=8BITMIME was given, or the content has 8-bit octets
  bool smtputf8 = false;   // the envelope or headers need SMTPUTF8
  std::uint64_t size = 0;  // the message's size in octets as stored (the wire form adds a CR per line); 0: unknown
  std::vector<OutboundRecipient> recipients;
};

// Addresses go into command lines: one with a control character (CR, LF, NUL, ...) or an angle
// bracket would end or break the command, so it is never sent.
bool fits_in_command(std::string_view address);

// "MAIL FROM:<a>" with SIZE=, BODY=8BITMIME, SMTPUTF8 and the DSN parameters RET=/ENVID= (xtext), each
// only when the next hop advertised its extension, then CRLF. Appended to `out`.
void append_mail_from(std::string& out, const OutboundEnvelope& envelope, const Capabilities& next_hop);
// "RCPT TO:<a>" with NOTIFY= and ORCPT= when the next hop advertised DSN, then CRLF.
void append_rcpt_to(std::string& out, const OutboundRecipient& recipient, const Capabilities& next_hop);

// The stored form of a message (LF line ends, as queue and spool files keep it) as DATA sends it: CRLF
// line ends, a "." doubled at the start of a line, and ".\r\n" after the last line (a last line
// without a line end gets one). A stored CRLF is one line end, not two; a CR that no LF follows is sent
// as it is. Chunks may split anything anywhere, CRLF pairs included.
class BodyEncoder {
 public:
  void encode(std::string_view chunk, std::string& out);
  void finish(std::string& out);
  // Ready for the next message.
  void reset() { *this = BodyEncoder(); }

 private:
  bool at_line_start_ = true;
  bool pending_cr_ = false;  // a CR held back: the next octet says whether it begins a line end
};

}  // namespace transport::outbound
