// Binding parsing and formatting: a.b.c.d:port or [ipv6]:port. IPv6 must be bracketed because its colons
// would otherwise swallow the port; an IPv4-mapped address becomes IPv4 and is shown as such.
#include "store/binding.h"

#include <charconv>

#include "store/text_util.h"
#include "store/value_error.h"

namespace transport::store {

namespace {

constexpr std::string_view kForm = "write a.b.c.d:port or [ipv6]:port, e.g. 0.0.0.0:25 or [::]:25";

[[noreturn]] void refuse(std::string_view text, std::string_view reason) {
  throw ValueError("\"" + std::string(text) + "\" is not a valid binding: " + std::string(reason));
}

std::uint16_t parse_port(std::string_view text, std::string_view port) {
  if (port.empty()) refuse(text, "the port after ':' is missing; " + std::string(kForm));
  if (!all_digits(port)) refuse(text, "the port must be a number 1-65535; " + std::string(kForm));
  unsigned value = 0;
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (error != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
    refuse(text, "the port must be 1-65535");
  }
  return static_cast<std::uint16_t>(value);
}

IpAddress parse_address(std::string_view text, std::string_view address) {
  try {
    return IpAddress::parse(address);
  } catch (const ValueError& e) {
    refuse(text, e.what());
  }
}

bool parses_as_address(std::string_view text) {
  try {
    IpAddress::parse(text);
    return true;
  } catch (const ValueError&) {
    return false;
  }
}

}  // namespace

Binding Binding::parse(std::string_view input) {
  const std::string_view text = trim(input);
  if (text.empty()) refuse(text, "it is empty; " + std::string(kForm));

  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      refuse(text, "the ']' after the IPv6 address is missing; " + std::string(kForm));
    }
    const std::string_view address_text = text.substr(1, close - 1);
    const std::string_view after = text.substr(close + 1);
    if (address_text.find(':') == std::string_view::npos) {
      refuse(text, "brackets are only for IPv6 addresses; write an IPv4 binding as a.b.c.d:port");
    }
    if (after.empty() || after.front() != ':') refuse(text, "the port is missing; write [ipv6]:port, e.g. [::]:25");
    Binding binding{parse_address(text, address_text), 0};
    binding.port = parse_port(text, after.substr(1));
    return binding;
  }

  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    if (parses_as_address(text)) {
      refuse(text, "the port is missing; write " + std::string(text) + ":port, e.g. " + std::string(text) + ":25");
    }
    refuse(text, "the port is missing; " + std::string(kForm));
  }
  const std::string_view address_text = text.substr(0, colon);
  if (address_text.find(':') != std::string_view::npos) {
    // The last colon is the likeliest place the port was meant to start ("::1:25" is [::1]:25).
    if (parses_as_address(address_text)) {
      refuse(text, "an IPv6 address must be in brackets: did you mean [" + std::string(address_text) + "]:" +
                       std::string(text.substr(colon + 1)) + "?");
    }
    if (parses_as_address(text)) {
      refuse(text, "the port is missing, and an IPv6 address must be in brackets: write [" + std::string(text) +
                       "]:port");
    }
    refuse(text, "an IPv6 address must be in brackets; write [ipv6]:port, e.g. [::]:25");
  }
  Binding binding{parse_address(text, address_text), 0};
  binding.port = parse_port(text, text.substr(colon + 1));
  return binding;
}

std::string Binding::to_string() const {
  const std::string port_text = std::to_string(port);
  if (address.family() == IpFamily::v6) return "[" + address.to_string() + "]:" + port_text;
  return address.to_string() + ":" + port_text;
}

}  // namespace transport::store
