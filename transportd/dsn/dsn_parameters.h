// The DSN extension's parameters (RFC 3461): what the sender of a message asked to be told, carried
// from MAIL/RCPT through the queue to the next hop. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace transport::dsn {

// RCPT NOTIFY=: NEVER, or any of SUCCESS, FAILURE, DELAY. Not given: FAILURE and DELAY (RFC 3461 §4.1).
struct Notify {
  bool given = false;  // the parameter was given (passed on to the next hop only then)
  bool never = false;
  bool success = false;
  bool failure = true;
  bool delay = true;

  std::string to_string() const;  // "NEVER", "SUCCESS,FAILURE", ... (the parameter's value)
  friend bool operator==(const Notify&, const Notify&) = default;
};

// MAIL RET=: the whole message or its headers in a failure report. Not given: headers (we choose, §4.3).
enum class Return : std::uint8_t { unspecified, full, headers };

struct MailParameters {
  Return ret = Return::unspecified;
  std::string envid;  // ENVID=, xtext-decoded; empty when not given (printable ASCII, ≤ 100 octets)
};

struct RecipientParameters {
  Notify notify;
  std::string orcpt;  // ORCPT=, decoded: "rfc822;user@example.com"; empty when not given
};

// Parsers for the values of each parameter (the keyword already split off). nullopt: syntax error
// (the protocol answers 501 5.5.4).
std::optional<Notify> parse_notify(std::string_view value);
std::optional<Return> parse_ret(std::string_view value);
std::optional<std::string> parse_envid(std::string_view xtext);  // decoded
// ORCPT: at most 500 characters; the addr-type an atom, lower-cased. rfc822 (and other types): xtext
// decoding to printable ASCII. utf-8 (RFC 6533): \x{HEX} escapes, raw UTF-8 or xtext, to UTF-8.
std::optional<std::string> parse_orcpt(std::string_view value);  // "addr-type;xtext" → "addr-type;decoded"

// xtext (RFC 3461 §4): "+" HEXCHAR HEXCHAR for '+', '=', and characters outside 33–126. Encoding
// writes upper-case hex; decoding takes either case and a raw '=', and refuses a malformed "+" escape
// or a raw octet outside 33–126.
std::string xtext_encode(std::string_view text);
std::optional<std::string> xtext_decode(std::string_view xtext);
// The ORCPT value to send: the addr-type, ";", and the address part as xtext ("rfc822;a+2Bb@x"); for
// "utf-8" as RFC 6533's utf-8-addr-xtext ("utf-8;j\x{E9}r\x{F4}me@x"), 7-bit for any next hop. A value
// without an addr-type is taken as rfc822.
std::string orcpt_parameter(std::string_view decoded_orcpt);

}  // namespace transport::dsn
