// adminctl: how get-* and new-* show objects: table (default), list (like Format-List), json, and
// name (identities, one per line, for piping into set-*/remove-* with "-").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "transport_admin.pb.h"

namespace adminctl {

enum class OutputFormat { Table, List, Json, Name };

// "table", "list", "json", "name", any case; UsageError otherwise.
OutputFormat parse_format(std::string_view text);

// --select values (each comma-separated) -> fields, in the given order, duplicates dropped. Names are
// Exchange names, any case; "*" means every property. UsageError listing the valid names otherwise.
std::vector<const google::protobuf::FieldDescriptor*> resolve_select(const google::protobuf::Descriptor& message,
                                                                     const std::vector<std::string>& occurrences);

using Objects = std::vector<const google::protobuf::Message*>;
using Properties = std::vector<const google::protobuf::FieldDescriptor*>;

// One property as text for table and list: lists comma-separated, bools True/False.
std::string display_value(const google::protobuf::Message& object, const google::protobuf::FieldDescriptor& field);

// Header, a dashed underline, one row per object; columns padded to the widest cell. Empty for no objects.
std::string format_table(const Objects& objects, const Properties& properties);

// "Name : value" lines, names padded to the longest; a blank line between objects.
std::string format_list(const Objects& objects, const Properties& properties);

// A JSON array of objects (or the one object when single_object), keys = Exchange names in the given
// order, lists as arrays, bools and numbers unquoted.
std::string format_json(const Objects& objects, const Properties& properties, bool single_object);

// The identity of each object, one per line: identity_field's value, or fallback_field's when that
// is empty.
std::string format_names(const Objects& objects, const google::protobuf::FieldDescriptor& identity_field,
                         const google::protobuf::FieldDescriptor& fallback_field);

// A JSON string literal, quotes included.
std::string json_quote(std::string_view text);

}  // namespace adminctl
