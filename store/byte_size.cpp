// ByteSize parsing and formatting: digits with an optional B/KB/MB/GB unit (binary, any case), shown in
// the largest unit that divides the size exactly.
#include "store/byte_size.h"

#include <charconv>
#include <limits>

#include "store/text_util.h"
#include "store/value_error.h"

namespace transport::store {

namespace {

constexpr std::uint64_t kKilo = 1024;
constexpr std::uint64_t kMega = kKilo * 1024;
constexpr std::uint64_t kGiga = kMega * 1024;
constexpr std::string_view kForm = "write digits with an optional unit B, KB, MB or GB, e.g. 10MB, 512KB or 65536";

[[noreturn]] void refuse(std::string_view text, std::string_view reason) {
  throw ValueError("\"" + std::string(text) + "\" is not a valid size: " + std::string(reason));
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The multiplier for a unit name, or 0 when the name is not a unit.
std::uint64_t unit_multiplier(std::string_view unit) {
  if (unit.empty() || iequals(unit, "B")) return 1;
  if (iequals(unit, "KB")) return kKilo;
  if (iequals(unit, "MB")) return kMega;
  if (iequals(unit, "GB")) return kGiga;
  return 0;
}

// "1.5MB": show the exact equivalent in the next smaller unit when there is one.
[[noreturn]] void refuse_fraction(std::string_view text, std::string_view number, std::string_view unit) {
  const std::uint64_t multiplier = unit_multiplier(unit);
  const std::size_t dot = number.find('.');
  std::string_view whole = number.substr(0, dot);
  std::string_view fraction = number.substr(dot + 1);
  std::uint64_t whole_value = 0;
  std::uint64_t fraction_value = 0;
  std::uint64_t scale = 1;
  bool representable = multiplier > 1 && fraction.size() <= 6 && whole.size() <= 9;
  for (char c : whole) representable = representable && is_digit(c);
  for (char c : fraction) representable = representable && is_digit(c);
  if (representable) {
    for (char c : whole) whole_value = whole_value * 10 + static_cast<std::uint64_t>(c - '0');
    for (char c : fraction) {
      fraction_value = fraction_value * 10 + static_cast<std::uint64_t>(c - '0');
      scale *= 10;
    }
    // Exact in the next smaller unit when fraction * 1024 is whole.
    if ((fraction_value * 1024) % scale == 0) {
      const std::uint64_t smaller = whole_value * 1024 + fraction_value * 1024 / scale;
      const char* smaller_unit = multiplier == kKilo ? "" : multiplier == kMega ? "KB" : "MB";
      refuse(text, "fractions are not allowed; did you mean " + std::to_string(smaller) + smaller_unit + "?");
    }
  }
  refuse(text, "fractions are not allowed; " + std::string(kForm));
}

}  // namespace

ByteSize ByteSize::parse(std::string_view input) {
  const std::string_view text = trim(input);
  if (text.empty()) refuse(text, "it is empty; " + std::string(kForm));
  if (iequals(text, "unlimited")) {
    throw ValueError("\"" + std::string(text) + "\" is not allowed here: this size has a limit; " +
                     std::string(kForm));
  }
  if (text.front() == '-') refuse(text, "negative sizes are not allowed");
  if (text.front() == '+') refuse(text, "no sign is allowed; " + std::string(kForm));

  std::size_t digits_end = 0;
  while (digits_end < text.size() && (is_digit(text[digits_end]) || text[digits_end] == '.')) ++digits_end;
  const std::string_view number = text.substr(0, digits_end);
  std::string_view unit = text.substr(digits_end);
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  if (number.empty()) refuse(text, "it does not start with a number; " + std::string(kForm));
  if (number.find('.') != std::string_view::npos) refuse_fraction(text, number, unit);
  const std::uint64_t multiplier = unit_multiplier(unit);
  if (multiplier == 0) refuse(text, "unknown unit \"" + std::string(unit) + "\"; " + std::string(kForm));

  std::uint64_t value = 0;
  auto [digits_stop, error] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (error == std::errc::result_out_of_range || value > std::numeric_limits<std::uint64_t>::max() / multiplier) {
    refuse(text, "it is too large");
  }
  return ByteSize(value * multiplier);
}

std::string ByteSize::to_string() const {
  if (bytes_ == 0) return "0";
  if (bytes_ % kGiga == 0) return std::to_string(bytes_ / kGiga) + "GB";
  if (bytes_ % kMega == 0) return std::to_string(bytes_ / kMega) + "MB";
  if (bytes_ % kKilo == 0) return std::to_string(bytes_ / kKilo) + "KB";
  return std::to_string(bytes_);
}

}  // namespace transport::store
