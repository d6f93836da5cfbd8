// SMTP replies: a code, an enhanced status code (RFC 3463) and text, and their wire form.
#pragma once

#include <string>
#include <string_view>

namespace transport::smtp {

struct Reply {
  int code = 0;          // 250
  std::string enhanced;  // "2.1.5"; empty where RFC 3463 has none (220, 221 banners, 354)
  std::string text;      // lines separated by '\n' make a multi-line reply (EHLO)

  bool permanent_failure() const { return code >= 500 && code <= 599; }
};

// Appends the wire form: "250-first\r\n250 last\r\n"; each line gets the enhanced code when
// `enhanced_status_codes` is on and the reply has one.
void append_reply(std::string& out, const Reply& reply, bool enhanced_status_codes);

}  // namespace transport::smtp
