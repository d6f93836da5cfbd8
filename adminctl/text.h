// adminctl: small text helpers shared by the command table, argument rewriting and value conversion.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/text_util.h"

namespace adminctl {

// The store's helpers, so that adminctl and the daemon fold case and trim alike.
using transport::store::iequals;
using transport::store::to_lower;
using transport::store::trim;
// Splits on ',', trims each piece and drops empty pieces.
std::vector<std::string> split_list(std::string_view text);
std::string join(const std::vector<std::string>& parts, std::string_view separator);
// One UTF-8 check for the daemon and adminctl.
using transport::store::invalid_utf8_offset;

}  // namespace adminctl
