// The uniqueness rule of receive connectors: on one Binding, RemoteIPRanges may nest but never be
// equal or partially overlap, so that connector selection always has exactly one winner.
// Expects every connector to have passed validate() (its own ranges disjoint).
#pragma once

#include <optional>
#include <span>
#include <string>

#include "store/receive_connector.h"

namespace transport::store {

// Checks `candidate` against every other connector: `connectors` may contain the candidate itself
// (same object, or same non-zero id), which is skipped. Returns a sentence naming the other
// connector, the Binding and both ranges, or nullopt when there is no conflict.
//  - Same Binding (equal IP and port): equal or partially overlapping ranges conflict.
//  - Wildcard and specific IP of the same family on the same port: only partial overlaps conflict.
std::optional<std::string> find_binding_conflict(std::span<const ReceiveConnector> connectors,
                                                 const ReceiveConnector& candidate);

}  // namespace transport::store
