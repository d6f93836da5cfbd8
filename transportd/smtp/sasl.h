// SASL pieces of SMTP AUTH (RFC 4954) that are pure syntax: strict base64 (RFC 4648 §4) and the PLAIN
// message (RFC 4616). The exchange itself (challenges, states, replies) lives in protocol.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace transport::smtp {

// Strict RFC 4648 §4 base64: only the standard alphabet, length a multiple of 4, "=" padding only at
// the end (one or two), unused bits of the last symbol zero, no blanks or line breaks. "" decodes to
// "". Anything else: nullopt.
std::optional<std::string> decode_base64(std::string_view text);

// RFC 4616: message = [authzid] NUL authcid NUL passwd. The three parts, or nullopt when the message
// does not hold exactly two NULs. Empty authcid/passwd are returned as they are (they simply fail
// verification), so the only syntax error is the NUL count.
struct PlainMessage {
  std::string authzid;
  std::string authcid;
  std::string passwd;
};
std::optional<PlainMessage> parse_plain(std::string_view message);

// Overwrites then empties a string that held a secret (best effort: copies made by std::string
// reallocation are out of reach).
void wipe(std::string& secret);

}  // namespace transport::smtp
