// The RFC 5322 date-time that Received: lines, DSNs and their reports carry, in UTC with English names
// whatever the locale: "Mon, 2 Mar 2026 08:47:12 +0000". Shared by delivery/ and dsn/ (which does not
// link the daemon's core), so that both write dates one way.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace transport {

inline std::string rfc5322_date(std::int64_t unix_seconds) {
  using namespace std::chrono;
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const sys_seconds when{seconds{unix_seconds}};
  const sys_days day = floor<days>(when);
  const year_month_day date{day};
  const hh_mm_ss time{when - day};
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s, %u %s %d %02d:%02d:%02d +0000", kDays[weekday{day}.c_encoding()],
                static_cast<unsigned>(date.day()), kMonths[static_cast<unsigned>(date.month()) - 1],
                static_cast<int>(date.year()), static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()));
  return buffer;
}

inline std::string rfc5322_date(std::chrono::system_clock::time_point when) {
  return rfc5322_date(std::chrono::duration_cast<std::chrono::seconds>(when.time_since_epoch()).count());
}

}  // namespace transport
