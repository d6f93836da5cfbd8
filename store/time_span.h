// TimeSpan: a whole number of seconds written as Exchange writes it, [d.]hh:mm:ss.
// Parsing is strict and its errors show the right form.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace transport::store {

class TimeSpan {
 public:
  constexpr TimeSpan() = default;
  constexpr explicit TimeSpan(std::chrono::seconds value) : value_(value) {}
  static constexpr TimeSpan from_seconds(std::int64_t s) { return TimeSpan(std::chrono::seconds(s)); }

  // Accepts [d.]h:mm:ss with 1-2 digit h, m, s fields (00:00:05, 0:0:5, 0.00:09:00, 1.00:00:00);
  // hours 0-23, minutes and seconds 0-59, days 0-999. Throws ValueError otherwise; a bare number
  // gets "did you mean 00:00:05?", hh:mm alone, fractions and negatives say why they are refused.
  static TimeSpan parse(std::string_view text);

  // hh:mm:ss, or d.hh:mm:ss when the span is a day or longer.
  std::string to_string() const;

  constexpr std::chrono::seconds value() const { return value_; }
  constexpr std::int64_t seconds() const { return value_.count(); }
  constexpr auto operator<=>(const TimeSpan&) const = default;

 private:
  std::chrono::seconds value_{0};
};

}  // namespace transport::store
