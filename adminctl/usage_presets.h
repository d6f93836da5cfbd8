// adminctl: new-receiveconnector --usage presets, the counterpart of Exchange 2007's usage types
// (New-ReceiveConnector -Usage). A preset fills PermissionGroups, AuthMechanism and, for Trusted,
// TarpitInterval in the New request; a property the user gave explicitly always wins.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adminctl/command_table.h"
#include "transport_admin.pb.h"

namespace adminctl {

struct UsagePreset {
  std::string name;         // Exchange spelling: "Internet"
  std::string description;  // one line, for docs and errors
  // Proto field name -> value(s), as a user would give them to the field's flag.
  std::vector<std::pair<std::string, std::vector<std::string>>> values;
};

// Every preset, in the order --help lists them: Internet, Internal, Client, Partner, Custom, Trusted.
const std::vector<UsagePreset>& usage_presets();

// Case-insensitive lookup; throws UsageError listing the allowed names for an unknown one.
const UsagePreset& find_usage_preset(std::string_view name);

// "Internet, Internal, Client, Partner, Custom, Trusted" (or with another separator: "|").
std::string usage_preset_names(std::string_view separator = ", ");

// Whether new-* of this kind takes --usage (ReceiveConnector only).
bool has_usage_presets(const ObjectKind& kind);

// Sets each of the preset's properties on object unless its field is already in given, and adds the
// fields it set to given (which stays in field order). object is a ReceiveConnector.
void apply_usage_preset(const UsagePreset& preset, google::protobuf::Message& object,
                        std::vector<const google::protobuf::FieldDescriptor*>& given);

}  // namespace adminctl
