// Connector selection (DESIGN §4): which receive connector serves a connection, decided from the
// local endpoint it arrived on and the client's address. Pure; called for every accepted connection.
#pragma once

#include <span>

#include "store/binding.h"
#include "store/receive_connector.h"

namespace transport::store {

struct ConnectorSelection {
  const ReceiveConnector* connector = nullptr;  // nullptr: no connector serves this client
  const IpRange* matched_range = nullptr;       // the winner's RemoteIPRanges entry containing the client
  bool via_wildcard = false;                    // the winner is bound to 0.0.0.0 / [::]
};

// 1. Among enabled connectors bound to exactly `local`, the smallest range containing `remote`.
// 2. The same among enabled connectors bound to the wildcard of local's family on local's port.
// 3. The specific-IP winner, unless the wildcard winner's range is strictly smaller.
// Ranges of the other address family never match. No allocation.
ConnectorSelection select_connector(std::span<const ReceiveConnector> connectors, const Binding& local,
                                    const IpAddress& remote);

}  // namespace transport::store
