// adminctl: the error types of the pure logic in adminctl_core; main() prints "adminctl: <message>".
// UsageError: the command line is wrong in itself (exit 2). OutOfRange: a well-formed number that no
// property allows, too large for the request's field (exit 1, like the server's own range errors).
#pragma once

#include <stdexcept>
#include <string>

namespace adminctl {

class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

class OutOfRange : public std::runtime_error {
 public:
  explicit OutOfRange(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace adminctl
