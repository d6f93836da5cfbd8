// TimeSpan parsing and formatting: strict [d.]hh:mm:ss, whole seconds, with errors that show the right
// form. Hand-written (no regex): the cases worth a specific message are easier to tell apart by hand.
#include "store/time_span.h"

#include <charconv>
#include <optional>

#include "store/text_util.h"
#include "store/value_error.h"

namespace transport::store {

namespace {

constexpr std::int64_t kMinute = 60;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDay = 24 * kHour;
constexpr std::int64_t kMaxDays = 999;
constexpr std::string_view kForm = "write [d.]hh:mm:ss";

[[noreturn]] void refuse(std::string_view text, std::string_view reason) {
  throw ValueError("\"" + std::string(text) + "\" is not a valid TimeSpan: " + std::string(reason));
}

// A field of 1..max_digits decimal digits; nullopt when it is anything else.
std::optional<std::int64_t> field(std::string_view s, std::size_t max_digits) {
  if (!all_digits(s) || s.size() > max_digits) return std::nullopt;
  std::int64_t value = 0;
  std::from_chars(s.data(), s.data() + s.size(), value);
  return value;
}

// Written into one stack buffer: no temporary strings.
std::string format(std::int64_t seconds) {
  // Only from_seconds can make a negative span; show it plainly rather than as a huge number.
  std::uint64_t magnitude = static_cast<std::uint64_t>(seconds);
  char buffer[40];  // "-" + 20 digits of days + "." + "hh:mm:ss"
  char* out = buffer;
  if (seconds < 0) {
    *out++ = '-';
    magnitude = 0 - magnitude;
  }
  const std::uint64_t days = magnitude / kDay;
  const std::uint64_t rest = magnitude % kDay;
  if (days > 0) {
    out = std::to_chars(out, buffer + sizeof buffer, days).ptr;
    *out++ = '.';
  }
  const auto two_digits = [&out](std::uint64_t n) {
    *out++ = static_cast<char>('0' + n / 10);
    *out++ = static_cast<char>('0' + n % 10);
  };
  two_digits(rest / kHour);
  *out++ = ':';
  two_digits(rest % kHour / kMinute);
  *out++ = ':';
  two_digits(rest % kMinute);
  return std::string(buffer, out);
}

// "5": the administrator most likely meant seconds, so show that span written properly.
[[noreturn]] void refuse_bare_number(std::string_view text) {
  std::int64_t seconds = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error == std::errc() && end == text.data() + text.size() && seconds <= (kMaxDays + 1) * kDay - 1) {
    refuse(text, "did you mean " + format(seconds) + "? Write [d.]hh:mm:ss");
  }
  refuse(text, "a bare number is not a TimeSpan; write [d.]hh:mm:ss, e.g. 00:00:05 for five seconds");
}

// "00:05": minutes or seconds? Offer both readings when they are plausible.
[[noreturn]] void refuse_two_fields(std::string_view text, std::string_view first, std::string_view second,
                                    bool has_days) {
  std::optional<std::int64_t> a = field(first, 2);
  std::optional<std::int64_t> b = field(second, 2);
  if (!has_days && a && b && *a < 24 && *b < 60) {
    std::string as_hours_minutes = format(*a * kHour + *b * kMinute);
    std::string as_minutes_seconds = format(*a * kMinute + *b);
    refuse(text, "hh:mm alone is ambiguous; write " + as_hours_minutes + " if you meant hh:mm, or " +
                     as_minutes_seconds + " if you meant mm:ss");
  }
  refuse(text, "hh:mm alone is ambiguous; write [d.]hh:mm:ss");
}

}  // namespace

TimeSpan TimeSpan::parse(std::string_view input) {
  // Quote the text without the surrounding blanks: they are not what is wrong.
  const std::string_view text = trim(input);
  if (text.empty()) refuse(text, "it is empty; write [d.]hh:mm:ss, e.g. 00:00:05");
  if (text.front() == '-') refuse(text, "negative spans are not allowed");
  if (text.front() == '+') refuse(text, "no sign is allowed; " + std::string(kForm));
  for (char c : text) {
    if (!(c >= '0' && c <= '9') && c != ':' && c != '.') {
      refuse(text, "unexpected character '" + std::string(1, c) + "'; " + std::string(kForm));
    }
  }

  const std::size_t first_colon = text.find(':');
  if (first_colon == std::string_view::npos) {
    if (all_digits(text)) refuse_bare_number(text);
    refuse(text, std::string(kForm) + ", e.g. 00:00:05 or 1.00:00:00");
  }

  // Days come before the first colon, separated by a dot; everything after that is h:m:s[.fraction].
  std::string_view head = text.substr(0, first_colon);
  std::string_view days_text;
  const std::size_t dot = head.find('.');
  if (dot != std::string_view::npos) {
    days_text = head.substr(0, dot);
    head = head.substr(dot + 1);
  }
  std::string_view rest = text.substr(first_colon + 1);
  const std::size_t second_colon = rest.find(':');
  if (second_colon == std::string_view::npos) refuse_two_fields(text, head, rest, dot != std::string_view::npos);
  std::string_view minutes_text = rest.substr(0, second_colon);
  std::string_view seconds_text = rest.substr(second_colon + 1);
  if (seconds_text.find(':') != std::string_view::npos) {
    refuse(text, "too many fields; write days with a dot, as in 1.00:00:00 for one day");
  }
  if (seconds_text.find('.') != std::string_view::npos) {
    refuse(text, "fractions of a second are not allowed; " + std::string(kForm));
  }
  if (minutes_text.find('.') != std::string_view::npos || head.find('.') != std::string_view::npos) {
    refuse(text, "only the days may be followed by a dot; " + std::string(kForm));
  }

  std::int64_t days = 0;
  if (dot != std::string_view::npos) {
    std::optional<std::int64_t> d = field(days_text, 3);
    if (!d) refuse(text, "days must have 1-3 digits; " + std::string(kForm));
    days = *d;
  }
  std::optional<std::int64_t> hours = field(head, 2);
  std::optional<std::int64_t> minutes = field(minutes_text, 2);
  std::optional<std::int64_t> seconds = field(seconds_text, 2);
  if (!hours || !minutes || !seconds) {
    refuse(text, "hours, minutes and seconds must have 1-2 digits each; " + std::string(kForm));
  }
  if (*hours > 23) {
    refuse(text, "hours must be 0-23; write a day or more as d.hh:mm:ss, e.g. 1.00:00:00");
  }
  if (*minutes > 59) refuse(text, "minutes must be 0-59; " + std::string(kForm));
  if (*seconds > 59) refuse(text, "seconds must be 0-59; " + std::string(kForm));
  return from_seconds(days * kDay + *hours * kHour + *minutes * kMinute + *seconds);
}

std::string TimeSpan::to_string() const { return format(value_.count()); }

}  // namespace transport::store
