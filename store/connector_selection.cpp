// Connector selection: most specific RemoteIPRanges entry wins; specific-IP bindings win ties.
#include "store/connector_selection.h"

namespace transport::store {

namespace {

// The smallest range containing `remote` among enabled connectors with a Binding that `accepts`.
template <class Accepts>
ConnectorSelection best_match(std::span<const ReceiveConnector> connectors, const IpAddress& remote,
                              Accepts accepts) {
  ConnectorSelection best;
  for (const ReceiveConnector& connector : connectors) {
    if (!connector.enabled) continue;
    bool bound = false;
    for (const Binding& binding : connector.bindings) bound = bound || accepts(binding);
    if (!bound) continue;
    for (const IpRange& range : connector.remote_ip_ranges) {
      if (!range.contains(remote)) continue;
      if (best.matched_range == nullptr || range.span() < best.matched_range->span()) {
        best.connector = &connector;
        best.matched_range = &range;
      }
    }
  }
  return best;
}

}  // namespace

ConnectorSelection select_connector(std::span<const ReceiveConnector> connectors, const Binding& local,
                                    const IpAddress& remote) {
  ConnectorSelection specific;
  if (!local.is_wildcard()) {
    specific = best_match(connectors, remote, [&](const Binding& b) { return b == local; });
  }
  ConnectorSelection wildcard = best_match(connectors, remote, [&](const Binding& b) {
    return b.port == local.port && b.is_wildcard() && b.address.family() == local.address.family();
  });
  wildcard.via_wildcard = wildcard.connector != nullptr;
  if (specific.connector == nullptr) return wildcard;
  if (wildcard.connector != nullptr && wildcard.matched_range->span() < specific.matched_range->span()) {
    return wildcard;
  }
  return specific;
}

}  // namespace transport::store
