// Fuzz target: TimeSpan parsing and formatting (store/time_span.*).
//
// Invariants:
//  - parse accepts exactly what an independent reading of the grammar accepts: blanks around,
//    [d.]h:m:s with 1-3 digit days, 1-2 digit fields, hours 0-23, minutes and seconds 0-59; the
//    values agree; every refusal is a ValueError whose message starts with the quoted, trimmed text.
//  - parse → to_string → parse gives the same span, and to_string is canonical ([d.]hh:mm:ss).
//  - from_seconds(n).to_string() parses back to n for every n in range and is refused outside it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "store/time_span.h"
#include "store/value_error.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using transport::fuzz::escaped;
using transport::store::TimeSpan;
using transport::store::ValueError;

constexpr std::int64_t kMax = 999LL * 86400 + 86399;  // 999.23:59:59

std::string_view trimmed(std::string_view t) {
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  return t;
}

// Reads 1..max_digits decimal digits at t[pos], advancing pos.
std::optional<std::int64_t> number(std::string_view t, std::size_t& pos, std::size_t max_digits) {
  std::size_t digits = 0;
  std::int64_t value = 0;
  while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
    if (++digits > max_digits) return std::nullopt;
    value = value * 10 + (t[pos] - '0');
    ++pos;
  }
  if (digits == 0) return std::nullopt;
  return value;
}

std::optional<std::int64_t> reference_parse(std::string_view input) {
  const std::string_view t = trimmed(input);
  std::size_t pos = 0;
  std::int64_t days = 0;
  const bool has_days = t.find('.') != std::string_view::npos;
  if (has_days) {
    const auto d = number(t, pos, 3);
    if (!d || pos >= t.size() || t[pos] != '.') return std::nullopt;
    days = *d;
    ++pos;
  }
  const auto h = number(t, pos, 2);
  if (!h || pos >= t.size() || t[pos++] != ':') return std::nullopt;
  const auto m = number(t, pos, 2);
  if (!m || pos >= t.size() || t[pos++] != ':') return std::nullopt;
  const auto s = number(t, pos, 2);
  if (!s || pos != t.size()) return std::nullopt;
  if (*h > 23 || *m > 59 || *s > 59) return std::nullopt;
  return days * 86400 + *h * 3600 + *m * 60 + *s;
}

bool canonical_form(const std::string& s) {
  // [d.]hh:mm:ss, days without leading zeros.
  const std::size_t dot = s.find('.');
  std::string_view clock = s;
  if (dot != std::string::npos) {
    const std::string_view days = std::string_view(s).substr(0, dot);
    if (days.empty() || days.size() > 3 || days.front() == '0') return false;
    clock = std::string_view(s).substr(dot + 1);
  }
  return clock.size() == 8 && clock[2] == ':' && clock[5] == ':';
}

void check_text(std::string_view text) {
  const std::optional<std::int64_t> expected = reference_parse(text);
  try {
    const TimeSpan span = TimeSpan::parse(text);
    FUZZ_CHECK(expected.has_value(), "accepted, but the grammar refuses \"" + escaped(text) + "\"");
    FUZZ_CHECK(span.seconds() == *expected, "\"" + escaped(text) + "\" is " + std::to_string(span.seconds()) +
                                                " s, expected " + std::to_string(*expected));
    const std::string shown = span.to_string();
    FUZZ_CHECK(canonical_form(shown), "to_string \"" + shown + "\" is not [d.]hh:mm:ss");
    const TimeSpan again = TimeSpan::parse(shown);
    FUZZ_CHECK(again == span && again.to_string() == shown, "round trip of \"" + shown + "\"");
  } catch (const ValueError& e) {
    FUZZ_CHECK(!expected.has_value(), "refused, but the grammar accepts \"" + escaped(text) + "\": " + e.what());
    const std::string quoted = transport::fuzz::quoted_prefix(trimmed(text));
    FUZZ_CHECK(std::string_view(e.what()).starts_with(quoted), "message does not quote the text: " + escaped(e.what()));
  }
}

void check_seconds(std::int64_t n) {
  const std::string shown = TimeSpan::from_seconds(n).to_string();
  try {
    const TimeSpan back = TimeSpan::parse(shown);
    FUZZ_CHECK(n >= 0 && n <= kMax && back.seconds() == n, std::to_string(n) + " s shown as \"" + shown + "\"");
  } catch (const ValueError&) {
    FUZZ_CHECK(n < 0 || n > kMax, std::to_string(n) + " s shown as \"" + shown + "\" does not parse back");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  check_text(text);
  if (size >= 8) {
    std::int64_t n = 0;
    std::memcpy(&n, data, sizeof n);
    check_seconds(n);
    check_seconds(n % (kMax + 2));  // mostly in range
  }
  return 0;
}
