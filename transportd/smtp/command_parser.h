// Command parser: splits an SMTP command line into verb and argument, and parses the MAIL FROM and
// RCPT TO arguments (RFC 5321 §4.1.2 path syntax with RFC 6531's UTF-8 addresses, and ESMTP
// parameters). Pure syntax, no policy: whether a UTF-8 address may be used is the protocol's call.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace transport::smtp {

enum class Verb : std::uint8_t {
  ehlo, helo, mail, rcpt, data, bdat, rset, noop, vrfy, expn, help, quit, starttls, auth,
  unknown,
};

struct Command {
  Verb verb = Verb::unknown;
  std::string_view verb_text;  // as sent
  std::string_view argument;   // after the verb's space, without surrounding blanks; may be empty
};

// The verb (any letter case) runs up to the first space or the end of the line. Views into `line`.
Command parse_command(std::string_view line);

// What is wrong with a MAIL FROM / RCPT TO argument. Each maps to one reply in protocol.cpp.
enum class PathError : std::uint8_t {
  none,
  missing_keyword,      // no "FROM:" / "TO:"                       → 501 5.5.2
  missing_brackets,     // path not enclosed in "<" ">"            → 501 5.5.2
  bad_address,          // not an RFC 5321 / RFC 6531 Mailbox (or  → 501 5.1.7 (MAIL) / 5.1.3 (RCPT)
                        // not well-formed UTF-8)
  local_part_too_long,  // local part over 64 octets               → same codes as bad_address
  bad_parameters,       // ESMTP parameter syntax                  → 501 5.5.4
};

struct EsmtpParameter {
  std::string_view keyword;  // as sent; compare case-insensitively
  std::string_view value;    // empty when there is no "="
  bool has_value = false;
};

struct PathArgument {
  PathError error = PathError::none;
  bool null_path = false;       // "<>"
  bool postmaster = false;      // RCPT only: "<Postmaster>" without a domain (any letter case, RFC 5321
                                // §4.1.1.3); `address` is then the word as sent, not a Mailbox
  bool utf8 = false;            // the address holds non-ASCII characters (well-formed UTF-8): usable
                                // only in an SMTPUTF8 transaction (RFC 6531 §3.5)
  std::string_view address;     // local@domain: no brackets, no source route; empty for "<>"
  std::vector<EsmtpParameter> parameters;
};

// `argument` is Command::argument of MAIL / RCPT: "FROM:<path> [params]" / "TO:<path> [params]".
// The keyword is case-insensitive; blanks between the colon and "<" are tolerated (common, harmless).
// A source route ("@a,@b:user@c") is accepted and dropped, as RFC 5321 §4.1.2 allows. Addresses may
// hold UTF-8 (RFC 6531 §3.3: UTF8-non-ascii in atext, qtext and domain labels); `utf8` says so.
PathArgument parse_mail_from(std::string_view argument);
PathArgument parse_rcpt_to(std::string_view argument);

// RFC 5321 Mailbox: Local-part "@" (Domain / address-literal), with the local part a dot-string or a
// quoted-string of at most 64 octets and the domain at most 255. 8-bit octets are refused unless
// `allow_utf8`, which accepts RFC 6531's UTF-8 mailboxes (well-formed UTF-8 only).
bool is_valid_mailbox(std::string_view mailbox, bool allow_utf8 = false);

// A decimal number of at most 20 digits that fits in 64 bits (BDAT sizes, SIZE=).
bool parse_decimal(std::string_view text, std::uint64_t& value);

}  // namespace transport::smtp
