// LogThrottle: lets a repeated warning through at most once per interval and counts the ones held
// back, so a condition that lasts (descriptors exhausted, an accept loop pausing ten times a second)
// is reported without flooding the log. Not thread-safe: one per loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace transport::log {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogThrottle(Clock::duration interval) : interval_(interval) {}

  // True when this occurrence is to be logged: the first one, then the first one at least an interval
  // after the last logged one. Otherwise counts it and returns false.
  bool admit(Clock::time_point now) {
    if (logged_once_ && now - last_logged_ < interval_) {
      ++held_back_;
      return false;
    }
    logged_once_ = true;
    last_logged_ = now;
    return true;
  }
  // After admit() returned true: " (N more since the last report)" for the ones held back since the
  // previous logged one, or "" when there were none. Resets the count.
  std::string held_back_note() {
    if (held_back_ == 0) return {};
    std::string note = " (" + std::to_string(held_back_) + " more since the last report)";
    held_back_ = 0;
    return note;
  }

 private:
  Clock::duration interval_;
  Clock::time_point last_logged_{};
  bool logged_once_ = false;
  std::uint64_t held_back_ = 0;
};

}  // namespace transport::log
