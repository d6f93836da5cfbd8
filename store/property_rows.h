// A model as a database row: one column per property, holding the canonical text the property tables
// render (lists comma-separated). Shared by the SQLite and PostgreSQL stores, so both keep the same
// schema meaning and read back exactly what they wrote.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/configuration_store.h"
#include "store/property.h"
#include "store/value_error.h"

namespace transport::store {

inline std::string join_list(const PropertyValues& values) {
  std::string out;
  for (const std::string& v : values) {
    if (!out.empty()) out += ',';
    out += v;
  }
  return out;
}

inline PropertyValues split_list(const std::string& text) {
  PropertyValues out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    out.emplace_back(text, start, comma - start);
    start = comma + 1;
  }
  return out;
}

// The column's text for one property of `model`.
template <class Model>
std::string column_text(const Property<Model>& property, const Model& model) {
  PropertyValues values = property.render(model);
  return property.kind == PropertyKind::list ? join_list(values) : (values.empty() ? std::string() : values.front());
}

// Sets one property of `model` from its column's text. A value the property refuses means the row was
// written by hand or by a damaged store: StoreError naming the row and table.
template <class Model>
void assign_column(const Property<Model>& property, Model& model, const std::string& text, std::string_view table,
                   std::int64_t id) {
  try {
    property.assign(model, property.kind == PropertyKind::list ? split_list(text) : PropertyValues{text});
  } catch (const ValidationError& e) {
    throw StoreError("row " + std::to_string(id) + " of " + std::string(table) + " holds an invalid value: " + e.what());
  }
}

// The column name quoted for SQL: property names are Exchange's mixed-case names ("Default" is a
// keyword), so both databases are given them quoted.
inline std::string quoted_column(std::string_view column) { return "\"" + std::string(column) + "\""; }

}  // namespace transport::store
