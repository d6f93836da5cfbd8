// adminctl: property names and documentation, read from the proto descriptors and the
// (transport.admin.v1.property) field option.
#include "adminctl/properties.h"

#include "adminctl/text.h"

namespace adminctl {

namespace pb = google::protobuf;

const transport::admin::v1::PropertyInfo& property_info(const pb::FieldDescriptor& field) {
  return field.options().GetExtension(transport::admin::v1::property);
}

const std::string& exchange_name(const pb::FieldDescriptor& field) { return field.json_name(); }

std::string kebab_name(const pb::FieldDescriptor& field) {
  std::string name = field.name();
  for (char& c : name) {
    if (c == '_') c = '-';
  }
  return name;
}

std::vector<std::string> flag_names(const pb::FieldDescriptor& field) {
  std::vector<std::string> names{kebab_name(field)};
  if (!iequals(names.front(), exchange_name(field))) names.push_back(exchange_name(field));
  return names;
}

std::string flag_help(const pb::FieldDescriptor& field, bool for_new) {
  const auto& info = property_info(field);
  std::string help = exchange_name(field);
  if (for_new && info.required()) help += " (required)";
  if (field.is_repeated()) {
    help += for_new ? " [list: comma-separated or repeated]"
                    : " [list: comma-separated or repeated, replaces the list; @{Add=...;Remove=...} edits it]";
  }
  if (!info.allowed().empty()) help += ": " + info.allowed();
  if (!info.default_value().empty()) help += "; default: " + info.default_value();
  return help;
}

std::vector<const pb::FieldDescriptor*> settable_fields(const pb::Descriptor& message) {
  std::vector<const pb::FieldDescriptor*> fields;
  for (int i = 0; i < message.field_count(); ++i) {
    const auto* field = message.field(i);
    if (!property_info(*field).output_only()) fields.push_back(field);
  }
  return fields;
}

std::vector<const pb::FieldDescriptor*> all_fields(const pb::Descriptor& message) {
  std::vector<const pb::FieldDescriptor*> fields;
  for (int i = 0; i < message.field_count(); ++i) fields.push_back(message.field(i));
  return fields;
}

const pb::FieldDescriptor* find_by_exchange_name(const pb::Descriptor& message, std::string_view name) {
  for (int i = 0; i < message.field_count(); ++i) {
    if (iequals(exchange_name(*message.field(i)), name)) return message.field(i);
  }
  return nullptr;
}

}  // namespace adminctl
