// AdminError: why an admin change was refused, in the categories the admin API reports as gRPC
// status codes. (A bad property value is a store::ValidationError: INVALID_ARGUMENT.)
#pragma once

#include <stdexcept>
#include <string>

namespace transport::config {

class AdminError : public std::runtime_error {
 public:
  enum class Kind { not_found, already_exists, conflict, abandoned };
  AdminError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

}  // namespace transport::config
