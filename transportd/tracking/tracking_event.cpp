// Message tracking: the text forms of event names, timestamps and the retention period.
#include "transportd/tracking/tracking_event.h"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <stdexcept>

#include "store/text_util.h"

namespace transport::tracking {

namespace {

using std::chrono::system_clock;
using store::iequals;

// Exactly `digits` decimal digits at text[at...]; nullopt otherwise.
std::optional<int> digits_at(std::string_view text, std::size_t at, std::size_t digits) {
  if (at + digits > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = at; i < at + digits; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

std::optional<system_clock::time_point> parse_iso8601(std::string_view text) {
  // YYYY-MM-DD
  const auto year = digits_at(text, 0, 4), month = digits_at(text, 5, 2), day = digits_at(text, 8, 2);
  if (!year || !month || !day || text[4] != '-' || text[7] != '-') return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year(*year), std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return std::nullopt;
  system_clock::time_point time = std::chrono::sys_days(date);
  std::string_view rest = text.substr(10);
  if (rest.empty()) return time;
  // THH:MM:SS[.fraction][Z]
  if (rest[0] != 'T' && rest[0] != 't' && rest[0] != ' ') return std::nullopt;
  const auto hour = digits_at(rest, 1, 2), minute = digits_at(rest, 4, 2), second = digits_at(rest, 7, 2);
  if (!hour || !minute || !second || rest[3] != ':' || rest[6] != ':') return std::nullopt;
  if (*hour > 23 || *minute > 59 || *second > 59) return std::nullopt;
  time += std::chrono::hours(*hour) + std::chrono::minutes(*minute) + std::chrono::seconds(*second);
  rest = rest.substr(9);
  if (!rest.empty() && rest[0] == '.') {
    std::size_t end = 1;
    std::int64_t microseconds = 0;
    for (; end < rest.size() && std::isdigit(static_cast<unsigned char>(rest[end])); ++end) {
      if (end <= 6) microseconds = microseconds * 10 + (rest[end] - '0');
    }
    if (end == 1) return std::nullopt;
    for (std::size_t scale = end; scale <= 6; ++scale) microseconds *= 10;
    time += std::chrono::microseconds(microseconds);
    rest = rest.substr(end);
  }
  if (rest == "Z" || rest == "z") rest = {};
  if (!rest.empty()) return std::nullopt;
  return time;
}

}  // namespace

std::string_view event_id_name(EventId id) {
  switch (id) {
    case EventId::receive: return "RECEIVE";
    case EventId::deliver: return "DELIVER";
    case EventId::fail: return "FAIL";
    case EventId::send: return "SEND";
    case EventId::defer: return "DEFER";
    case EventId::dsn: return "DSN";
  }
  return "";
}

EventId parse_event_id(std::string_view text) {
  for (EventId id : {EventId::receive, EventId::deliver, EventId::send, EventId::defer, EventId::fail, EventId::dsn}) {
    if (iequals(text, event_id_name(id))) return id;
  }
  throw std::invalid_argument("'" + std::string(text) +
                              "' is not an event id; allowed: RECEIVE, DELIVER, SEND, DEFER, FAIL or DSN");
}

std::string format_timestamp(system_clock::time_point time) {
  const auto milliseconds = std::chrono::floor<std::chrono::milliseconds>(time);
  const auto day = std::chrono::floor<std::chrono::days>(milliseconds);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss clock{milliseconds - day};
  char text[40];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()), static_cast<int>(clock.subseconds().count()));
  return text;
}

system_clock::time_point parse_timestamp(std::string_view text) {
  if (const auto time = parse_iso8601(text)) return *time;
  throw std::invalid_argument("'" + std::string(text) +
                              "' is not a UTC time; write ISO 8601 such as 2026-11-23T08:00:00Z, or a date such "
                              "as 2026-11-23");
}

std::chrono::hours parse_retention(std::string_view text) {
  const auto bad = [&text](const std::string& why) {
    return std::invalid_argument("tracking retention '" + std::string(text) + "' is not valid: " + why);
  };
  if (text.size() < 2) throw bad("write a whole number of days or hours, such as 30d or 12h");
  const char unit = static_cast<char>(std::tolower(static_cast<unsigned char>(text.back())));
  if (unit != 'd' && unit != 'h') throw bad("write a whole number of days or hours, such as 30d or 12h");
  const std::string_view number = text.substr(0, text.size() - 1);
  std::int64_t count = 0;
  const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), count);
  if (error != std::errc() || end != number.data() + number.size()) {
    throw bad("write a whole number of days or hours, such as 30d or 12h");
  }
  const std::int64_t hours = unit == 'd' ? count * 24 : count;
  if (count < 1 || count > 36500 * 24 || hours > 36500 * 24) throw bad("allowed 1h to 36500d");
  return std::chrono::hours(hours);
}

}  // namespace transport::tracking
