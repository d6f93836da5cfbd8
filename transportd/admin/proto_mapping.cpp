// Reflection-driven mapping between admin API messages and property text values.
#include "transportd/admin/proto_mapping.h"

#include <algorithm>
#include <charconv>

#include "store/value_error.h"
#include "transport_admin.pb.h"

namespace transport::admin {

namespace pb = ::google::protobuf;

namespace {

const pb::FieldDescriptor* field_by_exchange_name(const pb::Descriptor& descriptor, std::string_view name) {
  for (int i = 0; i < descriptor.field_count(); ++i) {
    if (descriptor.field(i)->json_name() == name) return descriptor.field(i);
  }
  return nullptr;
}

store::PropertyValues values_of(const pb::Message& message, const pb::FieldDescriptor& field) {
  const pb::Reflection& reflection = *message.GetReflection();
  if (field.is_repeated()) {
    store::PropertyValues values;
    for (int i = 0; i < reflection.FieldSize(message, &field); ++i) {
      values.push_back(reflection.GetRepeatedString(message, &field, i));
    }
    return values;
  }
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return {reflection.GetBool(message, &field) ? "true" : "false"};
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return {std::to_string(reflection.GetInt32(message, &field))};
    default:
      return {reflection.GetString(message, &field)};
  }
}

}  // namespace

config::PropertyChanges changes_from_proto(const pb::Message& message, const pb::FieldMask& mask) {
  const pb::Descriptor& descriptor = *message.GetDescriptor();
  config::PropertyChanges changes;
  for (const std::string& path : mask.paths()) {
    const pb::FieldDescriptor* field = descriptor.FindFieldByName(path);
    if (field == nullptr) {
      throw store::ValidationError(path, "\"" + path + "\" is not a property of " + descriptor.name());
    }
    if (field->options().GetExtension(v1::property).output_only()) {
      throw store::ValidationError(field->json_name(), field->json_name() + " is read-only");
    }
    changes.emplace_back(field->json_name(), values_of(message, *field));
  }
  return changes;
}

config::ListEdits list_edits_from_proto(const pb::Descriptor& object, const pb::RepeatedPtrField<v1::ListEdit>& edits,
                                        const pb::FieldMask& mask) {
  config::ListEdits out;
  for (const v1::ListEdit& edit : edits) {
    const pb::FieldDescriptor* field = object.FindFieldByName(edit.property());
    if (field == nullptr) {
      throw store::ValidationError(edit.property(), "\"" + edit.property() + "\" is not a property of " + object.name());
    }
    const std::string& name = field->json_name();
    if (!field->is_repeated() || field->options().GetExtension(v1::property).output_only()) {
      throw store::ValidationError(name, name + " is not a list that can be edited");
    }
    if (std::find(mask.paths().begin(), mask.paths().end(), field->name()) != mask.paths().end()) {
      throw store::ValidationError(name, name + " is given both a new value and entries to add or remove: give one");
    }
    out.push_back({name, {edit.add().begin(), edit.add().end()}, {edit.remove().begin(), edit.remove().end()}});
  }
  return out;
}

template <class Model>
void properties_to_proto(std::span<const store::Property<Model>> table, const Model& model, pb::Message& out) {
  const pb::Reflection& reflection = *out.GetReflection();
  for (const store::Property<Model>& property : table) {
    const pb::FieldDescriptor* field = field_by_exchange_name(*out.GetDescriptor(), property.name);
    if (field == nullptr) continue;  // a property the API does not carry
    store::PropertyValues values = property.render(model);
    if (field->is_repeated()) {
      for (std::string& v : values) reflection.AddString(&out, field, std::move(v));
      continue;
    }
    const std::string text = values.empty() ? std::string() : values.front();
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        reflection.SetBool(&out, field, text == "true");
        break;
      case pb::FieldDescriptor::CPPTYPE_INT32: {
        std::int32_t number = 0;
        std::from_chars(text.data(), text.data() + text.size(), number);
        reflection.SetInt32(&out, field, number);
        break;
      }
      default:
        reflection.SetString(&out, field, text);
    }
  }
}

template void properties_to_proto(std::span<const store::Property<store::ReceiveConnector>>,
                                  const store::ReceiveConnector&, pb::Message&);
template void properties_to_proto(std::span<const store::Property<store::SendConnector>>,
                                  const store::SendConnector&, pb::Message&);
template void properties_to_proto(std::span<const store::Property<store::AcceptedDomain>>,
                                  const store::AcceptedDomain&, pb::Message&);
template void properties_to_proto(std::span<const store::Property<store::Mailbox>>, const store::Mailbox&,
                                  pb::Message&);
template void properties_to_proto(std::span<const store::Property<store::RecipientFilterConfig>>,
                                  const store::RecipientFilterConfig&, pb::Message&);
template void properties_to_proto(std::span<const store::Property<store::TransportServerSettings>>,
                                  const store::TransportServerSettings&, pb::Message&);
template void properties_to_proto(std::span<const store::Property<store::HarvestDefenceConfig>>,
                                  const store::HarvestDefenceConfig&, pb::Message&);

}  // namespace transport::admin
