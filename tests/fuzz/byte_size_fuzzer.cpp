// Fuzz target: ByteSize parsing and formatting (store/byte_size.*), the MaxMessageSize /
// MaxHeaderSize values.
//
// Invariants:
//  - parse accepts exactly: blanks around, decimal digits, at most one space, then no unit or B, KB,
//    MB, GB in any letter case (binary units), the product fitting in 64 bits; the values agree; every
//    refusal is a ValueError whose message starts with the quoted, trimmed text.
//  - parse → to_string → parse gives the same size; to_string is canonical (idempotent) and uses
//    the largest unit that divides the size.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "store/byte_size.h"
#include "store/value_error.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using transport::fuzz::escaped;
using transport::store::ByteSize;
using transport::store::ValueError;

std::string_view trimmed(std::string_view t) {
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  return t;
}

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::optional<std::uint64_t> reference_parse(std::string_view input) {
  const std::string_view t = trimmed(input);
  std::size_t i = 0;
  unsigned __int128 value = 0;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
    value = value * 10 + static_cast<unsigned>(t[i] - '0');
    if (value > UINT64_MAX) return std::nullopt;
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string unit(t.substr(i));
  if (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  for (char& c : unit) c = upper(c);
  std::uint64_t multiplier = 0;
  if (unit.empty() || unit == "B") multiplier = 1;
  if (unit == "KB") multiplier = 1024;
  if (unit == "MB") multiplier = 1024 * 1024;
  if (unit == "GB") multiplier = 1024 * 1024 * 1024;
  if (multiplier == 0) return std::nullopt;
  value *= multiplier;
  if (value > UINT64_MAX) return std::nullopt;
  return static_cast<std::uint64_t>(value);
}

void check_text(std::string_view text) {
  const std::optional<std::uint64_t> expected = reference_parse(text);
  try {
    const ByteSize size = ByteSize::parse(text);
    FUZZ_CHECK(expected && *expected == size.bytes(),
               "\"" + escaped(text) + "\" is " + std::to_string(size.bytes()) +
                   (expected ? ", expected " + std::to_string(*expected) : ", expected a refusal"));
    const std::string shown = size.to_string();
    const ByteSize again = ByteSize::parse(shown);
    FUZZ_CHECK(again == size && again.to_string() == shown, "round trip of \"" + shown + "\"");
  } catch (const ValueError& e) {
    FUZZ_CHECK(!expected,
               "\"" + escaped(text) + "\" refused (" + e.what() + "), expected " + std::to_string(*expected));
    const std::string quoted = transport::fuzz::quoted_prefix(trimmed(text));
    FUZZ_CHECK(std::string_view(e.what()).starts_with(quoted), "message does not quote the text: " + escaped(e.what()));
  }
}

void check_bytes(std::uint64_t n) {
  const std::string shown = ByteSize(n).to_string();
  FUZZ_CHECK(ByteSize::parse(shown).bytes() == n, std::to_string(n) + " shown as \"" + shown + "\"");
  // The largest unit that divides it.
  if (n != 0 && n % 1024 == 0) FUZZ_CHECK(shown.ends_with("B"), std::to_string(n) + " shown without a unit: " + shown);
  if (n % (1024ULL * 1024 * 1024) == 0 && n != 0) FUZZ_CHECK(shown.ends_with("GB"), shown);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  check_text(text);
  if (size >= 8) {
    std::uint64_t n = 0;
    std::memcpy(&n, data, sizeof n);
    check_bytes(n);
    check_bytes(n & 0xfffff);
    check_bytes((n & 0xfff) << 20);
  }
  return 0;
}
