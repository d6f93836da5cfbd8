// adminctl: output formats for objects read by reflection: table, list, json (our own small writer,
// so key names and order are exactly the Exchange names we choose), name.
#include "adminctl/output_format.h"

#include <algorithm>
#include <cstdio>

#include "adminctl/properties.h"
#include "adminctl/text.h"
#include "adminctl/usage_error.h"

namespace adminctl {

namespace pb = google::protobuf;

namespace {

std::string scalar_text(const pb::Message& object, const pb::FieldDescriptor& field, int index) {
  const auto* r = object.GetReflection();
  const bool repeated = field.is_repeated();
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      return repeated ? r->GetRepeatedString(object, &field, index) : r->GetString(object, &field);
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return (repeated ? r->GetRepeatedBool(object, &field, index) : r->GetBool(object, &field)) ? "True" : "False";
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return std::to_string(repeated ? r->GetRepeatedInt32(object, &field, index) : r->GetInt32(object, &field));
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return std::to_string(repeated ? r->GetRepeatedInt64(object, &field, index) : r->GetInt64(object, &field));
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return std::to_string(repeated ? r->GetRepeatedUInt32(object, &field, index) : r->GetUInt32(object, &field));
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return std::to_string(repeated ? r->GetRepeatedUInt64(object, &field, index) : r->GetUInt64(object, &field));
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return std::to_string(repeated ? r->GetRepeatedDouble(object, &field, index) : r->GetDouble(object, &field));
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      return std::to_string(repeated ? r->GetRepeatedFloat(object, &field, index) : r->GetFloat(object, &field));
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      return (repeated ? r->GetRepeatedEnum(object, &field, index) : r->GetEnum(object, &field))->name();
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      return (repeated ? r->GetRepeatedMessage(object, &field, index) : r->GetMessage(object, &field))
          .ShortDebugString();
  }
  return {};
}

int value_count(const pb::Message& object, const pb::FieldDescriptor& field) {
  return field.is_repeated() ? object.GetReflection()->FieldSize(object, &field) : 1;
}

// Control characters would break the table's rows and the list's lines.
std::string printable(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return text;
}

// Terminal columns of UTF-8 text, counted as code points.
std::size_t width(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

void append_padded(std::string& out, std::string_view text, std::size_t column_width) {
  out += text;
  out.append(column_width - std::min(column_width, width(text)), ' ');
}

void trim_trailing_spaces(std::string& line) {
  while (!line.empty() && line.back() == ' ') line.pop_back();
}

std::string json_value(const pb::Message& object, const pb::FieldDescriptor& field, int index) {
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return scalar_text(object, field, index) == "True" ? "true" : "false";
    case pb::FieldDescriptor::CPPTYPE_INT32:
    case pb::FieldDescriptor::CPPTYPE_INT64:
    case pb::FieldDescriptor::CPPTYPE_UINT32:
    case pb::FieldDescriptor::CPPTYPE_UINT64:
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      return scalar_text(object, field, index);
    default:
      return json_quote(scalar_text(object, field, index));
  }
}

std::string json_object(const pb::Message& object, const Properties& properties, const std::string& indent) {
  std::string out = "{\n";
  for (std::size_t p = 0; p < properties.size(); ++p) {
    const auto& field = *properties[p];
    out += indent + "  " + json_quote(exchange_name(field)) + ": ";
    if (field.is_repeated()) {
      out += "[";
      const int count = value_count(object, field);
      for (int i = 0; i < count; ++i) {
        if (i > 0) out += ", ";
        out += json_value(object, field, i);
      }
      out += "]";
    } else {
      out += json_value(object, field, 0);
    }
    out += p + 1 < properties.size() ? ",\n" : "\n";
  }
  return out + indent + "}";
}

}  // namespace

OutputFormat parse_format(std::string_view text) {
  const auto word = trim(text);
  if (iequals(word, "table")) return OutputFormat::Table;
  if (iequals(word, "list")) return OutputFormat::List;
  if (iequals(word, "json")) return OutputFormat::Json;
  if (iequals(word, "name")) return OutputFormat::Name;
  throw UsageError("--format '" + std::string(text) + "' is not valid; allowed: table, list, json or name");
}

Properties resolve_select(const pb::Descriptor& message, const std::vector<std::string>& occurrences) {
  Properties selected;
  auto add = [&selected](const pb::FieldDescriptor* field) {
    if (std::find(selected.begin(), selected.end(), field) == selected.end()) selected.push_back(field);
  };
  for (const auto& occurrence : occurrences) {
    for (const auto& name : split_list(occurrence)) {
      if (name == "*") {
        for (const auto* field : all_fields(message)) add(field);
        continue;
      }
      const auto* field = find_by_exchange_name(message, name);
      if (field == nullptr) {
        std::vector<std::string> valid;
        for (const auto* f : all_fields(message)) valid.push_back(exchange_name(*f));
        throw UsageError("--select: " + message.name() + " has no property '" + name + "'; valid: " + join(valid, ", "));
      }
      add(field);
    }
  }
  if (selected.empty()) throw UsageError("--select needs at least one property name");
  return selected;
}

std::string display_value(const pb::Message& object, const pb::FieldDescriptor& field) {
  if (!field.is_repeated()) return printable(scalar_text(object, field, 0));
  std::vector<std::string> items;
  const int count = value_count(object, field);
  for (int i = 0; i < count; ++i) items.push_back(scalar_text(object, field, i));
  return printable(join(items, ","));
}

std::string format_table(const Objects& objects, const Properties& properties) {
  if (objects.empty() || properties.empty()) return {};
  std::vector<std::vector<std::string>> rows;
  std::vector<std::size_t> widths;
  for (const auto* field : properties) widths.push_back(width(exchange_name(*field)));
  for (const auto* object : objects) {
    auto& row = rows.emplace_back();
    for (std::size_t c = 0; c < properties.size(); ++c) {
      row.push_back(display_value(*object, *properties[c]));
      widths[c] = std::max(widths[c], width(row.back()));
    }
  }
  auto emit = [&](auto&& cell_of) {
    std::string line;
    for (std::size_t c = 0; c < properties.size(); ++c) {
      if (c > 0) line += "  ";
      append_padded(line, cell_of(c), widths[c]);
    }
    trim_trailing_spaces(line);
    return line + "\n";
  };
  std::string out = emit([&](std::size_t c) { return exchange_name(*properties[c]); });
  out += emit([&](std::size_t c) { return std::string(width(exchange_name(*properties[c])), '-'); });
  for (const auto& row : rows) out += emit([&](std::size_t c) { return row[c]; });
  return out;
}

std::string format_list(const Objects& objects, const Properties& properties) {
  std::size_t name_width = 0;
  for (const auto* field : properties) name_width = std::max(name_width, width(exchange_name(*field)));
  std::string out;
  for (std::size_t o = 0; o < objects.size(); ++o) {
    if (o > 0) out += "\n";
    for (const auto* field : properties) {
      std::string line;  // "Name : " keeps its space even when the value is empty, for splitting on " : "
      append_padded(line, exchange_name(*field), name_width);
      out += line + " : " + display_value(*objects[o], *field) + "\n";
    }
  }
  return out;
}

std::string format_json(const Objects& objects, const Properties& properties, bool single_object) {
  if (single_object) {
    return objects.empty() ? "{}\n" : json_object(*objects.front(), properties, "") + "\n";
  }
  if (objects.empty()) return "[]\n";
  std::string out = "[\n";
  for (std::size_t o = 0; o < objects.size(); ++o) {
    out += "  " + json_object(*objects[o], properties, "  ");
    out += o + 1 < objects.size() ? ",\n" : "\n";
  }
  return out + "]\n";
}

std::string format_names(const Objects& objects, const pb::FieldDescriptor& identity_field,
                         const pb::FieldDescriptor& fallback_field) {
  std::string out;
  for (const auto* object : objects) {
    std::string identity = scalar_text(*object, identity_field, 0);
    if (identity.empty()) identity = scalar_text(*object, fallback_field, 0);
    out += printable(std::move(identity)) + "\n";
  }
  return out;
}

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace adminctl
