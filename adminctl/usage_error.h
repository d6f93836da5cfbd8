// adminctl: the one error type for mistakes in the command line (exit code 2).
// Thrown by the pure logic in adminctl_core; main() prints "adminctl: <message>" and exits 2.
#pragma once

#include <stdexcept>
#include <string>

namespace adminctl {

class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace adminctl
