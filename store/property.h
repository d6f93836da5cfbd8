// The property tables: one entry per user-visible property of a model, with its Exchange name,
// default, range, and how to read it from and show it as text. The SQLite store, the admin
// API mapping and the docs are driven by (or checked against) these tables, never by hand-kept copies.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/accepted_domain.h"
#include "store/byte_size.h"
#include "store/harvest_defence_config.h"
#include "store/mailbox.h"
#include "store/receive_connector.h"
#include "store/recipient_filter_config.h"
#include "store/send_connector.h"
#include "store/transport_server_settings.h"

namespace transport::store {

// The shape of a property's value as text: scalars are one string, lists any number.
enum class PropertyKind : std::uint8_t { text, boolean, integer, list };

// Every value is carried as a list of strings; scalars use exactly one element.
using PropertyValues = std::vector<std::string>;

// The bounds of a numeric property, written once, in its table entry: the value is checked against
// them, and every message that states the range is made from them.
struct ValueRange {
  enum class Unit : std::uint8_t { none, number, time_span, byte_size };
  Unit unit = Unit::none;  // none: not a numeric property
  std::int64_t min = 0;    // a number, seconds or bytes
  std::int64_t max = 0;
  bool or_unlimited = false;  // "unlimited" is a value too

  // "1 to 100", "00:00:01 to 7.00:00:00", "64KB to 2GB", each with ", or unlimited" when it applies.
  std::string to_string() const;
};

constexpr ValueRange numbers(std::int64_t min, std::int64_t max, bool or_unlimited = false) {
  return {ValueRange::Unit::number, min, max, or_unlimited};
}
constexpr ValueRange seconds(std::int64_t min, std::int64_t max) { return {ValueRange::Unit::time_span, min, max, false}; }
constexpr ValueRange byte_sizes(ByteSize min, ByteSize max, bool or_unlimited = false) {
  return {ValueRange::Unit::byte_size, static_cast<std::int64_t>(min.bytes()), static_cast<std::int64_t>(max.bytes()),
          or_unlimited};
}

template <class Model>
struct Property {
  std::string_view name;     // Exchange name: TarpitInterval
  PropertyKind kind;
  std::string_view default_text;  // as documented; empty when required or computed
  ValueRange range;               // numeric properties only
  // Parses and validates values into the model, by this entry's name and range. Throws
  // ValidationError naming the property.
  void (*parse)(const Property& self, Model& model, const PropertyValues& values);
  // The value as text, in the canonical form (what get-* shows and the store persists).
  PropertyValues (*render)(const Model& model);

  void assign(Model& model, const PropertyValues& values) const { parse(*this, model, values); }
};

std::span<const Property<ReceiveConnector>> receive_connector_properties();
// AuthenticationCredential is the user name; the password is kept beside the properties (stored, never rendered).
std::span<const Property<SendConnector>> send_connector_properties();
std::span<const Property<AcceptedDomain>> accepted_domain_properties();
std::span<const Property<Mailbox>> mailbox_properties();
std::span<const Property<RecipientFilterConfig>> recipient_filter_properties();
std::span<const Property<TransportServerSettings>> transport_server_properties();
std::span<const Property<HarvestDefenceConfig>> harvest_defence_properties();

// Case-insensitive lookup by Exchange name; nullptr when unknown.
template <class Model>
const Property<Model>* find_property(std::span<const Property<Model>> table, std::string_view name);

std::string_view bool_text(bool value);  // "true" / "false"

}  // namespace transport::store
