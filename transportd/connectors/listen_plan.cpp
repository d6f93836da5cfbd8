// ListenPlan: wildcard sockets absorb the specific-IP Bindings of their family and port.
#include "transportd/connectors/listen_plan.h"

#include <algorithm>

namespace transport::connectors {

namespace {
store::Binding wildcard_of(const store::Binding& binding) {
  return store::Binding{binding.address.family() == store::IpFamily::v4 ? store::IpAddress::v4(0)
                                                                        : store::IpAddress::v6({}),
                        binding.port};
}
}  // namespace

ListenPlan plan_listeners(const store::Configuration& config) {
  std::map<std::string, store::Binding> wanted;
  for (const auto& connector : config.connectors) {
    if (!connector.enabled) continue;
    for (const auto& binding : connector.bindings) wanted.emplace(binding.to_string(), binding);
  }
  ListenPlan plan;
  for (const auto& [text, binding] : wanted) {
    const std::string wildcard = wildcard_of(binding).to_string();
    const std::string& socket = wanted.count(wildcard) ? wildcard : text;
    plan.served_by.emplace(text, socket);
    plan.sockets.emplace(socket, wanted.at(socket));
  }
  return plan;
}

std::uint64_t descriptor_reserve(std::uint64_t open_file_limit) {
  return std::min<std::uint64_t>(64, open_file_limit / 4);
}

}  // namespace transport::connectors
