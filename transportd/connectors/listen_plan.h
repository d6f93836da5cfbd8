// ListenPlan: which listening sockets serve a configuration's Bindings, and the descriptor reserve the
// SMTP listeners leave free. Pure: ListenerManager does the I/O.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "store/configuration.h"

namespace transport::connectors {

// One socket per distinct Binding of the enabled connectors, except that a specific-IP Binding on a
// port where the wildcard of its family is bound too is served by the wildcard's socket: Linux
// refuses the second bind unless both sockets set SO_REUSEPORT, and SO_REUSEPORT would let another
// process bind the port and take a share of its connections (DESIGN §4). Connector selection then
// dispatches on the connection's local address.
struct ListenPlan {
  std::map<std::string, store::Binding> sockets;  // by Binding text
  std::map<std::string, std::string> served_by;   // every Binding's text -> its socket's Binding text
};

ListenPlan plan_listeners(const store::Configuration& config);

// How many descriptors the SMTP listeners leave free for the admin API, deliveries, logs and the
// configuration store: 64, or a quarter of a smaller table.
std::uint64_t descriptor_reserve(std::uint64_t open_file_limit);

// Whether a connection just accepted on descriptor `fd` eats into the reserve. accept() returns the
// lowest free descriptor, so a number at or above limit - reserve means fewer than `reserve` are free
// below the limit: the connection must be refused. Keeping every session's descriptor below that line
// keeps the reserve free without counting open descriptors (the OpenSMTPD habit, made O(1)).
inline bool takes_from_reserve(int fd, std::uint64_t open_file_limit, std::uint64_t reserve) {
  return static_cast<std::uint64_t>(fd) + reserve >= open_file_limit;
}

}  // namespace transport::connectors
