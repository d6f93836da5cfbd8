// SASL syntax for SMTP AUTH: strict base64 and the PLAIN message.
#include "transportd/smtp/sasl.h"

#include <cstdint>

namespace transport::smtp {

namespace {

// The 6-bit value of a base64 symbol, or -1.
int symbol_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    padding = 1;
    if (text[text.size() - 2] == '=') padding = 2;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t symbols = last ? 4 - padding : 4;
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      int v = 0;
      if (k < symbols) {
        v = symbol_value(text[i + k]);
        if (v < 0) return std::nullopt;  // includes a "=" anywhere but the final padding
      }
      group = (group << 6) | static_cast<std::uint32_t>(v);
    }
    out.push_back(static_cast<char>((group >> 16) & 0xff));
    if (symbols >= 3) out.push_back(static_cast<char>((group >> 8) & 0xff));
    if (symbols == 4) out.push_back(static_cast<char>(group & 0xff));
    // Canonical encoding only: the bits the padding stands for must be zero.
    if (symbols == 2 && (group & 0xffff) != 0) return std::nullopt;
    if (symbols == 3 && (group & 0xff) != 0) return std::nullopt;
  }
  return out;
}

std::optional<PlainMessage> parse_plain(std::string_view message) {
  const std::size_t first = message.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  const std::size_t second = message.find('\0', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  if (message.find('\0', second + 1) != std::string_view::npos) return std::nullopt;
  PlainMessage out;
  out.authzid = std::string(message.substr(0, first));
  out.authcid = std::string(message.substr(first + 1, second - first - 1));
  out.passwd = std::string(message.substr(second + 1));
  return out;
}

void wipe(std::string& secret) {
  volatile char* p = secret.data();
  for (std::size_t i = 0; i < secret.size(); ++i) p[i] = 0;
  secret.clear();
}

}  // namespace transport::smtp
