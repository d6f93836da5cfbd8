// The property tables: one entry per user-visible property of a model, with its Exchange name,
// default, allowed values, and how to read it from and show it as text. The SQLite store, the admin
// API mapping and the docs are driven by (or checked against) these tables, never by hand-kept copies.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/accepted_domain.h"
#include "store/mailbox.h"
#include "store/receive_connector.h"
#include "store/recipient_filter_config.h"
#include "store/transport_server_settings.h"

namespace transport::store {

// The shape of a property's value as text: scalars are one string, lists any number.
enum class PropertyKind : std::uint8_t { text, boolean, integer, list };

// Every value is carried as a list of strings; scalars use exactly one element.
using PropertyValues = std::vector<std::string>;

template <class Model>
struct Property {
  std::string_view name;     // Exchange name: TarpitInterval
  PropertyKind kind;
  std::string_view default_text;  // as documented; empty when required or computed
  std::string_view allowed;       // allowed values in words, for messages and help
  // Parses and validates values into the model. Throws ValidationError naming the property.
  void (*assign)(Model& model, const PropertyValues& values);
  // The value as text, in the canonical form (what get-* shows and the store persists).
  PropertyValues (*render)(const Model& model);
};

std::span<const Property<ReceiveConnector>> receive_connector_properties();
std::span<const Property<AcceptedDomain>> accepted_domain_properties();
std::span<const Property<Mailbox>> mailbox_properties();
std::span<const Property<RecipientFilterConfig>> recipient_filter_properties();
std::span<const Property<TransportServerSettings>> transport_server_properties();

// Case-insensitive lookup by Exchange name; nullptr when unknown.
template <class Model>
const Property<Model>* find_property(std::span<const Property<Model>> table, std::string_view name);

// Boolean text as the admin types it: true/false, $true/$false, yes/no, 1/0 (any case).
bool parse_bool(std::string_view property, std::string_view text);
std::string_view bool_text(bool value);  // "true" / "false"

}  // namespace transport::store
