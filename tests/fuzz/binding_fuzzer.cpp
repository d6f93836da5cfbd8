// Fuzz target: Binding parsing and formatting (store/binding.*).
//
// Invariants:
//  - parse accepts exactly "address:port" with an unbracketed IPv4 address (no colon) or
//    "[address]:port" with an IPv6 address (the text in brackets holds a colon), an address
//    IpAddress::parse accepts, and a decimal port 1-65535, blanks around the whole ignored; every
//    refusal is a ValueError quoting the trimmed text.
//  - parse → to_string → parse gives the same Binding; to_string is canonical (idempotent); an IPv6
//    Binding is shown bracketed; is_wildcard() is the unspecified address.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/binding.h"
#include "store/value_error.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using transport::fuzz::escaped;
using transport::store::Binding;
using transport::store::IpAddress;
using transport::store::IpFamily;
using transport::store::ValueError;

std::string_view trimmed(std::string_view t) {
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  return t;
}

std::optional<std::uint16_t> reference_port(std::string_view p) {
  if (p.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > 65535) return std::nullopt;
  }
  if (value == 0) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::optional<IpAddress> address(std::string_view text) {
  try {
    return IpAddress::parse(text);
  } catch (const ValueError&) {
    return std::nullopt;
  }
}

std::optional<Binding> reference_parse(std::string_view input) {
  const std::string_view t = trimmed(input);
  std::string_view address_text;
  std::string_view port_text;
  if (!t.empty() && t.front() == '[') {
    const std::size_t close = t.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    address_text = t.substr(1, close - 1);
    if (address_text.find(':') == std::string_view::npos) return std::nullopt;
    if (close + 1 >= t.size() || t[close + 1] != ':') return std::nullopt;
    port_text = t.substr(close + 2);
  } else {
    const std::size_t colon = t.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    address_text = t.substr(0, colon);
    if (address_text.find(':') != std::string_view::npos) return std::nullopt;
    port_text = t.substr(colon + 1);
  }
  const auto a = address(address_text);
  const auto p = reference_port(port_text);
  if (!a || !p) return std::nullopt;
  return Binding{*a, *p};
}

void check(std::string_view text) {
  const std::optional<Binding> expected = reference_parse(text);
  try {
    const Binding b = Binding::parse(text);
    FUZZ_CHECK(expected.has_value() && *expected == b,
               "\"" + escaped(text) + "\" parsed as " + b.to_string() +
                   (expected ? ", expected " + expected->to_string() : ", expected a refusal"));
    FUZZ_CHECK(b.port >= 1, "port 0 accepted");
    FUZZ_CHECK(b.is_wildcard() == b.address.is_unspecified(), "is_wildcard");
    const std::string shown = b.to_string();
    FUZZ_CHECK((b.address.family() == IpFamily::v6) == shown.starts_with('['), "brackets of \"" + shown + "\"");
    const Binding again = Binding::parse(shown);
    FUZZ_CHECK(again == b && again.to_string() == shown, "round trip of \"" + shown + "\"");
  } catch (const ValueError& e) {
    FUZZ_CHECK(!expected.has_value(),
               "\"" + escaped(text) + "\" refused (" + e.what() + "), expected " + expected->to_string());
    const std::string quoted = transport::fuzz::quoted_prefix(trimmed(text));
    FUZZ_CHECK(std::string_view(e.what()).starts_with(quoted), "message does not quote the text: " + escaped(e.what()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  check(text);
  return 0;
}
