// Health: /healthz's listener check over a configuration snapshot.
#include "transportd/observability/health.h"

namespace transport::observability {

std::string listener_problem(const store::Configuration& config, const BindingStatusFn& status) {
  for (const store::ReceiveConnector& connector : config.connectors) {
    if (!connector.enabled) continue;
    for (const store::Binding& binding : connector.bindings) {
      const std::string state = status(connector, binding);
      if (state != "listening") {
        return binding.to_string() + " of connector \"" + connector.name + "\": " + state;
      }
    }
  }
  return {};
}

}  // namespace transport::observability
