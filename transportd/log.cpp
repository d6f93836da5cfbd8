// The logger: formats a line and writes it with one write(2), so lines from threads never interleave.
#include "transportd/log.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace transport::log {

namespace {

void write_line(std::string_view level, std::string_view component, std::string_view message) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t seconds = system_clock::to_time_t(now);
  const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
  std::string line;
  line.reserve(64 + message.size());
  line.append(stamp).append(" level=").append(level).append(" component=").append(component).append(" msg=\"");
  for (char c : message) {
    if (c == '"' || c == '\\') line.push_back('\\');
    line.push_back(c == '\n' ? ' ' : c);
  }
  line.append("\"\n");
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace

void info(std::string_view component, std::string_view message) { write_line("info", component, message); }
void warn(std::string_view component, std::string_view message) { write_line("warn", component, message); }
void error(std::string_view component, std::string_view message) { write_line("error", component, message); }

}  // namespace transport::log
