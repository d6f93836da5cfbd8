// adminctl: the --usage preset table and its application to a New request.
#include "adminctl/usage_presets.h"

#include <algorithm>
#include <stdexcept>

#include "adminctl/text.h"
#include "adminctl/usage_error.h"
#include "adminctl/value_conversion.h"

namespace adminctl {

namespace pb = google::protobuf;
namespace v1 = transport::admin::v1;

const std::vector<UsagePreset>& usage_presets() {
  static const std::vector<UsagePreset> presets{
      {"Internet", "mail from anyone on the Internet: anonymous senders, STARTTLS",
       {{"permission_groups", {"AnonymousUsers"}}, {"auth_mechanism", {"Tls"}}}},
      {"Internal", "other servers and users of this organization: authenticated users and servers",
       {{"permission_groups", {"ExchangeUsers", "ExchangeServers"}},
        {"auth_mechanism", {"Tls", "BasicAuth", "BasicAuthRequireTLS"}}}},
      {"Client", "message submission by mailbox users (AUTH after STARTTLS)",
       {{"permission_groups", {"ExchangeUsers"}}, {"auth_mechanism", {"Tls", "BasicAuth", "BasicAuthRequireTLS"}}}},
      {"Partner", "a partner organization's servers, STARTTLS",
       {{"permission_groups", {"Partners"}}, {"auth_mechanism", {"Tls"}}}},
      {"Custom", "nothing preset: every property takes its default", {}},
      {"Trusted", "trusted hosts: every session counts as authenticated, no tarpit",
       {{"permission_groups", {"ExchangeServers"}},
        {"auth_mechanism", {"Tls", "ExternalAuthoritative"}},
        {"tarpit_interval", {"00:00:00"}}}},
  };
  return presets;
}

std::string usage_preset_names(std::string_view separator) {
  std::vector<std::string> names;
  for (const auto& preset : usage_presets()) names.push_back(preset.name);
  return join(names, separator);
}

const UsagePreset& find_usage_preset(std::string_view name) {
  const auto trimmed = trim(name);
  for (const auto& preset : usage_presets()) {
    if (iequals(preset.name, trimmed)) return preset;
  }
  throw UsageError("--usage '" + std::string(name) + "' is not a usage type; allowed: " + usage_preset_names());
}

bool has_usage_presets(const ObjectKind& kind) { return kind.message == v1::ReceiveConnector::descriptor(); }

void apply_usage_preset(const UsagePreset& preset, pb::Message& object, std::vector<const pb::FieldDescriptor*>& given) {
  const auto& descriptor = *object.GetDescriptor();
  for (const auto& [field_name, values] : preset.values) {
    const auto* field = descriptor.FindFieldByName(field_name);
    if (field == nullptr) throw std::logic_error(descriptor.full_name() + " has no field " + field_name);
    if (std::find(given.begin(), given.end(), field) != given.end()) continue;
    // A list preset is one comma-separated occurrence, as if the user had typed it.
    apply_property(object, *field, {join(values, ",")});
    given.push_back(field);
  }
  std::sort(given.begin(), given.end(), [](const auto* a, const auto* b) { return a->index() < b->index(); });
}

}  // namespace adminctl
