// Reply wire form: the one place that turns a Reply into "250-..."/"250 ..." lines with CRLF, so that
// multi-line replies and enhanced status codes are written the same way everywhere.
#include "transportd/smtp/reply.h"

#include <cassert>

namespace transport::smtp {

namespace {

void append_line(std::string& out, const Reply& reply, std::string_view line, bool last, bool enhanced) {
  const int code = reply.code;
  out.push_back(static_cast<char>('0' + code / 100 % 10));
  out.push_back(static_cast<char>('0' + code / 10 % 10));
  out.push_back(static_cast<char>('0' + code % 10));
  if (!last) out.push_back('-');
  bool separated = !last;
  if (enhanced && !reply.enhanced.empty()) {
    if (!separated) out.push_back(' ');
    out.append(reply.enhanced);
    separated = false;
  }
  if (!line.empty() || (last && code == 334)) {
    // "334 " with no text is the empty SASL challenge (RFC 4954 §4), which keeps its space.
    if (!separated) out.push_back(' ');
    // A stray CR would let text end the reply line early; our texts never hold one, keep it so.
    for (char c : line) {
      if (c != '\r') out.push_back(c);
    }
  }
  out.append("\r\n");
}

}  // namespace

void append_reply(std::string& out, const Reply& reply, bool enhanced_status_codes) {
  if (reply.code == 0) return;  // nothing to write
  assert(reply.code >= 200 && reply.code <= 599);
  const bool enhanced = enhanced_status_codes && !reply.enhanced.empty();
  std::string_view text = reply.text;
  if (text.ends_with('\n')) text.remove_suffix(1);
  for (;;) {
    const std::size_t newline = text.find('\n');
    if (newline == std::string_view::npos) {
      append_line(out, reply, text, true, enhanced);
      return;
    }
    append_line(out, reply, text.substr(0, newline), false, enhanced);
    text.remove_prefix(newline + 1);
  }
}

}  // namespace transport::smtp
