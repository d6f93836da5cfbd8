// Binding: the local IP:port a receive connector listens on. 0.0.0.0 and [::] mean every local address
// of that family.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/ip_range.h"

namespace transport::store {

struct Binding {
  IpAddress address;
  std::uint16_t port = 0;

  // "a.b.c.d:port" or "[ipv6]:port", port 1-65535. Throws ValueError with the expected form.
  static Binding parse(std::string_view text);
  std::string to_string() const;  // same forms, canonical address
  bool is_wildcard() const { return address.is_unspecified(); }

  bool operator==(const Binding&) const = default;
};

}  // namespace transport::store
