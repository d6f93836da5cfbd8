// adminctl: small text helpers shared by the command table, argument rewriting and value conversion.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace adminctl {

std::string to_lower(std::string_view text);
bool iequals(std::string_view a, std::string_view b);
std::string_view trim(std::string_view text);
// Splits on ',', trims each piece and drops empty pieces.
std::vector<std::string> split_list(std::string_view text);
std::string join(const std::vector<std::string>& parts, std::string_view separator);
// The offset of the first byte that is not part of well-formed UTF-8 (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF), or npos when all of text is.
std::size_t invalid_utf8_offset(std::string_view text);

}  // namespace adminctl
