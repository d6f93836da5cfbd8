// Errors raised when text from an administrator does not make a valid value.
// ValueError describes a bad value on its own; ValidationError names the property it was meant for.
#pragma once

#include <stdexcept>
#include <string>

namespace transport::store {

// A value that does not parse or is out of its type's range. The message starts with the offending
// text in quotes and says what the right form is, e.g. "5" is not a TimeSpan: did you mean 00:00:05?
class ValueError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A property value or a combination of properties that is not allowed. what() names the property and
// the allowed values, e.g. "TarpitInterval 00:15:00 is out of range: allowed 00:00:00 to 00:10:00".
class ValidationError : public std::invalid_argument {
 public:
  ValidationError(std::string property, const std::string& message)
      : std::invalid_argument(message), property_(std::move(property)) {}
  const std::string& property() const { return property_; }

 private:
  std::string property_;
};

}  // namespace transport::store
