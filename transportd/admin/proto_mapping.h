// Maps admin API messages to and from the store's property tables by protobuf reflection: a proto
// field corresponds to the property whose Exchange name is the field's json_name. No per-property
// code lives here, so a new property needs no change in this file.
#pragma once

#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/message.h>

#include <span>

#include "store/property.h"
#include "transport_admin.pb.h"
#include "transportd/config/configuration_service.h"

namespace transport::admin {

// The properties named by `mask` (proto field names) with their values in `message`, as text.
// Throws store::ValidationError for an unknown path or an output-only field.
config::PropertyChanges changes_from_proto(const google::protobuf::Message& message,
                                           const google::protobuf::FieldMask& mask);

// The list edits of a Set* request, by Exchange name. Throws store::ValidationError for a field that
// is unknown, not a list, output-only, or also in `mask` (a new value and edits of one property).
config::ListEdits list_edits_from_proto(const google::protobuf::Descriptor& object,
                                        const google::protobuf::RepeatedPtrField<v1::ListEdit>& edits,
                                        const google::protobuf::FieldMask& mask);

// Sets every field of `out` that has a property in `table` from `model`.
template <class Model>
void properties_to_proto(std::span<const store::Property<Model>> table, const Model& model,
                         google::protobuf::Message& out);

}  // namespace transport::admin
