// Structured logs to stderr, one logfmt line per event:
//   2026-11-23T08:47:12.123Z level=info component=admin msg="created receive connector MAIL01\Trusted"
#pragma once

#include <string_view>

namespace transport::log {

void info(std::string_view component, std::string_view message);
void warn(std::string_view component, std::string_view message);
void error(std::string_view component, std::string_view message);

}  // namespace transport::log
