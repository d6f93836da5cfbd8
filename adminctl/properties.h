// adminctl: the properties of an object kind, read from its proto message by reflection: the flag
// names (--tarpit-interval, --TarpitInterval), the (transport.admin.v1.property) documentation, and
// lookup by Exchange name. Nothing here is a hand-kept copy of the proto.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "transport_admin.pb.h"

namespace adminctl {

// The (transport.admin.v1.property) option of a field; empty when the field has none.
const transport::admin::v1::PropertyInfo& property_info(const google::protobuf::FieldDescriptor& field);

// The Exchange name of a property (the field's json_name): "TarpitInterval".
const std::string& exchange_name(const google::protobuf::FieldDescriptor& field);

// The kebab-case flag name, without dashes: tarpit_interval -> "tarpit-interval".
std::string kebab_name(const google::protobuf::FieldDescriptor& field);

// The long flag names of a settable property, without dashes: the kebab name first, then the
// Exchange name when it differs from the kebab name other than by case.
std::vector<std::string> flag_names(const google::protobuf::FieldDescriptor& field);

// The --help text of a property flag: its allowed values and default ("required" only for new-*).
std::string flag_help(const google::protobuf::FieldDescriptor& field, bool for_new);

// Every field of the message that a request may set (not output_only), in field order.
std::vector<const google::protobuf::FieldDescriptor*> settable_fields(const google::protobuf::Descriptor& message);

// Every field of the message, in field order.
std::vector<const google::protobuf::FieldDescriptor*> all_fields(const google::protobuf::Descriptor& message);

// Field by Exchange name, case-insensitive; null when there is none.
const google::protobuf::FieldDescriptor* find_by_exchange_name(const google::protobuf::Descriptor& message,
                                                               std::string_view name);

}  // namespace adminctl
