// adminctl: flag text -> proto field values, by reflection over the field's type.
#include "adminctl/value_conversion.h"

#include <charconv>
#include <limits>

#include "adminctl/properties.h"
#include "adminctl/text.h"
#include "adminctl/usage_error.h"

namespace adminctl {

namespace pb = google::protobuf;

namespace {

template <typename Integer>
bool parse_integer(std::string_view text, Integer& out) {
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out, 10);
  return error == std::errc() && end == text.data() + text.size();
}

// An optional sign and decimal digits, whatever their number.
bool is_whole_number(std::string_view text) {
  text = trim(text);
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) text.remove_prefix(1);
  return transport::store::all_digits(text);
}

template <typename Integer>
Integer parse_whole_number(std::string_view text, std::string_view property, std::string_view allowed) {
  Integer value{};
  if (parse_integer(text, value)) return value;
  // The range in the words of the daemon's errors ("1 to 512000"), without the explanation after ':'.
  const std::string range(allowed.substr(0, allowed.find(": ")));
  if (is_whole_number(text)) {
    throw OutOfRange(std::string(property) + " " + std::string(trim(text)) + " is out of range" +
                     (range.empty() ? std::string() : ": allowed " + range));
  }
  throw UsageError(std::string(property) + " '" + std::string(text) + "' is not valid: expected a whole number" +
                   (allowed.empty() ? std::string() : "; allowed: " + std::string(allowed)));
}

// Splits text at `separator` outside quotes ("..." or '...'); an unclosed quote is an error.
std::vector<std::string> split_outside_quotes(std::string_view text, char separator, std::string_view property) {
  std::vector<std::string> parts(1);
  char quote = 0;
  for (char c : text) {
    if (quote != 0) {
      if (c == quote) quote = 0;
      parts.back() += c;
    } else if (c == '"' || c == '\'') {
      quote = c;
      parts.back() += c;
    } else if (c == separator) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  if (quote != 0) throw UsageError(std::string(property) + ": a quote in '" + std::string(text) + "' is not closed");
  return parts;
}

std::string unquoted(std::string_view text) {
  text = trim(text);
  if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') && text.back() == text.front()) {
    text = text.substr(1, text.size() - 2);
  }
  return std::string(trim(text));
}

template <typename Integer>
Integer parse_whole_number(std::string_view text, const pb::FieldDescriptor& field) {
  return parse_whole_number<Integer>(text, exchange_name(field), property_info(field).allowed());
}

int enum_value(std::string_view text, const pb::FieldDescriptor& field) {
  const auto* type = field.enum_type();
  std::vector<std::string> names;
  for (int i = 0; i < type->value_count(); ++i) {
    if (iequals(type->value(i)->name(), trim(text))) return type->value(i)->number();
    names.push_back(type->value(i)->name());
  }
  throw UsageError(exchange_name(field) + " '" + std::string(text) + "' is not valid; allowed: " + join(names, ", "));
}

void add_value(pb::Message& object, const pb::FieldDescriptor& field, const std::string& text) {
  const auto* reflection = object.GetReflection();
  const std::string& name = exchange_name(field);
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING: reflection->AddString(&object, &field, text); return;
    case pb::FieldDescriptor::CPPTYPE_BOOL: reflection->AddBool(&object, &field, parse_bool(text, name)); return;
    case pb::FieldDescriptor::CPPTYPE_INT32:
      reflection->AddInt32(&object, &field, parse_whole_number<std::int32_t>(text, field));
      return;
    case pb::FieldDescriptor::CPPTYPE_INT64:
      reflection->AddInt64(&object, &field, parse_whole_number<std::int64_t>(text, field));
      return;
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      reflection->AddUInt32(&object, &field, parse_whole_number<std::uint32_t>(text, field));
      return;
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      reflection->AddUInt64(&object, &field, parse_whole_number<std::uint64_t>(text, field));
      return;
    case pb::FieldDescriptor::CPPTYPE_ENUM: reflection->AddEnumValue(&object, &field, enum_value(text, field)); return;
    default: throw std::logic_error("adminctl cannot set property " + name + " of this type");
  }
}

void set_value(pb::Message& object, const pb::FieldDescriptor& field, const std::string& text) {
  const auto* reflection = object.GetReflection();
  const std::string& name = exchange_name(field);
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING: reflection->SetString(&object, &field, text); return;
    case pb::FieldDescriptor::CPPTYPE_BOOL: reflection->SetBool(&object, &field, parse_bool(text, name)); return;
    case pb::FieldDescriptor::CPPTYPE_INT32:
      reflection->SetInt32(&object, &field, parse_whole_number<std::int32_t>(text, field));
      return;
    case pb::FieldDescriptor::CPPTYPE_INT64:
      reflection->SetInt64(&object, &field, parse_whole_number<std::int64_t>(text, field));
      return;
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      reflection->SetUInt32(&object, &field, parse_whole_number<std::uint32_t>(text, field));
      return;
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      reflection->SetUInt64(&object, &field, parse_whole_number<std::uint64_t>(text, field));
      return;
    case pb::FieldDescriptor::CPPTYPE_ENUM: reflection->SetEnumValue(&object, &field, enum_value(text, field)); return;
    default: throw std::logic_error("adminctl cannot set property " + name + " of this type");
  }
}

}  // namespace

bool parse_bool(std::string_view text, std::string_view property) {
  if (const auto value = transport::store::bool_word(text)) return *value;
  throw UsageError(std::string(property) + " '" + std::string(text) + "' is not valid; allowed: true or false");
}

std::int32_t parse_int32(std::string_view text, std::string_view property, std::string_view allowed) {
  return parse_whole_number<std::int32_t>(text, property, allowed);
}

std::optional<ListEditText> parse_list_edit(std::string_view text, std::string_view property) {
  const std::string_view body = trim(text);
  if (!body.starts_with("@{")) return std::nullopt;
  const std::string form = "write @{Add=\"entry\",\"entry\";Remove=\"entry\"}";
  if (!body.ends_with("}")) throw UsageError(std::string(property) + " '" + std::string(text) + "' has no closing }; " + form);
  ListEditText edit;
  for (const std::string& pair : split_outside_quotes(body.substr(2, body.size() - 3), ';', property)) {
    if (trim(pair).empty()) continue;
    const auto equals = pair.find('=');
    const std::string_view key = trim(std::string_view(pair).substr(0, equals));
    std::vector<std::string>* entries = iequals(key, "Add") ? &edit.add : iequals(key, "Remove") ? &edit.remove : nullptr;
    if (equals == std::string::npos || entries == nullptr) {
      throw UsageError(std::string(property) + " '" + std::string(text) + "': '" + std::string(trim(pair)) +
                       "' is not Add=... or Remove=...; " + form);
    }
    for (const std::string& item : split_outside_quotes(std::string_view(pair).substr(equals + 1), ',', property)) {
      std::string entry = unquoted(item);
      if (!entry.empty()) entries->push_back(std::move(entry));
    }
  }
  if (edit.add.empty() && edit.remove.empty()) {
    throw UsageError(std::string(property) + " '" + std::string(text) + "' names no entry to add or remove; " + form);
  }
  return edit;
}

void apply_property(pb::Message& object, const pb::FieldDescriptor& field, const std::vector<std::string>& occurrences) {
  if (field.is_repeated()) {
    object.GetReflection()->ClearField(&object, &field);
    for (const auto& occurrence : occurrences) {
      for (const auto& piece : split_list(occurrence)) add_value(object, field, piece);
    }
    return;
  }
  if (occurrences.size() != 1) {
    throw UsageError(exchange_name(field) + " is given " + std::to_string(occurrences.size()) +
                     " times; give it once");
  }
  set_value(object, field, occurrences.front());
}

}  // namespace adminctl
