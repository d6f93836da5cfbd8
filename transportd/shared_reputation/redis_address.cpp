#include "transportd/shared_reputation/redis_address.h"

#include <charconv>
#include <stdexcept>

namespace transport::shared_reputation {

namespace {

constexpr std::string_view kForm = "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]";

[[noreturn]] void refuse(std::string_view text, const std::string& why) {
  throw std::invalid_argument("\"" + std::string(text) + "\": " + why + " (expected " + std::string(kForm) + ")");
}

bool whole_number(std::string_view text, int low, int high, int& value) {
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && value >= low && value <= high;
}

}  // namespace

RedisAddress RedisAddress::parse(std::string_view text) {
  constexpr std::string_view scheme = "redis://";
  if (text.starts_with("rediss://")) refuse(text, "TLS to Redis is not supported; use a local stunnel or a private network");
  if (!text.starts_with(scheme)) refuse(text, "not a redis:// address");
  std::string_view rest = text.substr(scheme.size());
  RedisAddress address;

  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view credentials = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    const std::size_t colon = credentials.find(':');
    if (colon == std::string_view::npos) refuse(text, "credentials must be USER:PASSWORD or :PASSWORD");
    address.user = credentials.substr(0, colon);
    address.password = credentials.substr(colon + 1);
    if (address.password.empty()) refuse(text, "the password after ':' is empty");
  }
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    if (!whole_number(rest.substr(slash + 1), 0, 1'000'000, address.database)) {
      refuse(text, "the database after '/' must be a number from 0");
    }
    rest = rest.substr(0, slash);
  }
  std::string_view port;
  if (rest.starts_with('[')) {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) refuse(text, "an IPv6 address needs its closing ']'");
    address.host = rest.substr(1, close - 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) refuse(text, "expected ':PORT' after ']'");
    if (!after.empty()) port = after.substr(1);
    if (!after.empty() && port.empty()) refuse(text, "the port after ':' is empty");
  } else {
    const std::size_t colon = rest.find(':');
    address.host = rest.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      if (port.empty()) refuse(text, "the port after ':' is empty");
    }
  }
  if (address.host.empty()) refuse(text, "no host");
  if (!port.empty() && !whole_number(port, 1, 65535, address.port)) refuse(text, "the port must be from 1 to 65535");
  return address;
}

std::string RedisAddress::describe() const {
  std::string text = "redis://";
  if (!password.empty()) text += user + ":***@";
  text += host.find(':') == std::string::npos ? host : "[" + host + "]";
  text += ":" + std::to_string(port);
  if (database != 0) text += "/" + std::to_string(database);
  return text;
}

}  // namespace transport::shared_reputation
