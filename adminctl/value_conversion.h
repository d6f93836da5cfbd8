// adminctl: turning flag text into proto field values. Only what the proto type itself demands is
// checked here (a bool is a bool, an int32 fits); TimeSpans, ranges, sizes travel as text and the
// daemon validates them, naming the property.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "transport_admin.pb.h"

namespace adminctl {

// true/false/$true/$false/yes/no/1/0, any case; UsageError naming the property otherwise.
bool parse_bool(std::string_view text, std::string_view property);

// A decimal int32; UsageError naming the property and its allowed values otherwise.
std::int32_t parse_int32(std::string_view text, std::string_view property, std::string_view allowed);

// Sets one property of object from the values of every occurrence of its flag. A repeated field takes
// the comma-separated pieces of all occurrences (empty pieces dropped, so "" gives an empty list); a
// singular field must be given once.
void apply_property(google::protobuf::Message& object, const google::protobuf::FieldDescriptor& field,
                    const std::vector<std::string>& occurrences);

}  // namespace adminctl
