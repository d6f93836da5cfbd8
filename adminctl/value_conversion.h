// adminctl: turning flag text into proto field values. Only what the proto type itself demands is
// checked here (a bool is a bool, a number is a whole number); TimeSpans, ranges, sizes travel as text
// and the daemon validates them, naming the property. A whole number too large for its field is no
// mistake of type: it is out of range like any other, and OutOfRange says so (exit 1, as the daemon's
// range errors), naming the allowed values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transport_admin.pb.h"

namespace adminctl {

// The store's boolean words (store::bool_word); UsageError naming the property otherwise.
bool parse_bool(std::string_view text, std::string_view property);

// A decimal int32; UsageError naming the property and its allowed values when text is not a whole
// number, OutOfRange when it is one that does not fit.
std::int32_t parse_int32(std::string_view text, std::string_view property, std::string_view allowed);

// Exchange's way to edit a list instead of replacing it: @{Add="10.0.0.5","10.0.0.6";Remove="10.0.0.4"}.
// Keys Add and Remove (any case, either or both); values comma-separated, each bare or quoted with "
// or '. No list entry starts with "@{", so the form is unambiguous.
struct ListEditText {
  std::vector<std::string> add;
  std::vector<std::string> remove;
};
// nullopt when text does not start with "@{"; UsageError naming the property when it does but is
// not of that form.
std::optional<ListEditText> parse_list_edit(std::string_view text, std::string_view property);

// Sets one property of object from the values of every occurrence of its flag. A repeated field takes
// the comma-separated pieces of all occurrences (empty pieces dropped, so "" gives an empty list); a
// singular field must be given once.
void apply_property(google::protobuf::Message& object, const google::protobuf::FieldDescriptor& field,
                    const std::vector<std::string>& occurrences);

}  // namespace adminctl
