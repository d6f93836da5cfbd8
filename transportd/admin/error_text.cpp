// readable_error: shortens quoted input in error messages, so that the reason always reaches adminctl.
#include "transportd/admin/error_text.h"

#include <cstddef>

namespace transport::admin {

namespace {

constexpr std::size_t kLongQuote = 120;
constexpr std::size_t kKeptOfQuote = 60;
constexpr std::size_t kLongMessage = 2000;

// The longest prefix of at most `limit` bytes that does not end inside a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

// Characters, not bytes: UTF-8 continuation bytes are not counted.
std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

}  // namespace

std::string readable_error(std::string_view message) {
  std::string out;
  out.reserve(message.size() < kLongMessage ? message.size() : kLongMessage + 64);
  while (!message.empty()) {
    const std::size_t open = message.find('"');
    const std::size_t close = open == std::string_view::npos ? open : message.find('"', open + 1);
    if (close == std::string_view::npos) {
      out.append(message);
      break;
    }
    const std::string_view quoted = message.substr(open + 1, close - open - 1);
    out.append(message.substr(0, open + 1));
    if (quoted.size() > kLongQuote) {
      out.append(utf8_prefix(quoted, kKeptOfQuote));
      out.append("\xE2\x80\xA6\" (" + std::to_string(utf8_length(quoted)) + " characters)");
    } else {
      out.append(quoted);
      out.push_back('"');
    }
    message.remove_prefix(close + 1);
  }
  if (out.size() > kLongMessage) {
    out.resize(utf8_prefix(out, kLongMessage).size());
    out.append("\xE2\x80\xA6 (message shortened)");
  }
  return out;
}

}  // namespace transport::admin
