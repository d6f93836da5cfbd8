// Identity patterns as administrators type them: exact names or globs ('*', '?'), any letter case,
// with or without the "HOST\" prefix Exchange shows.
#pragma once

#include <string_view>

namespace transport::config {

// Whether `pattern` names the object whose identity is "host\name" (or just `name` when host is
// empty). "HOST\pattern" is matched against the whole identity, a bare pattern against the name.
bool identity_matches(std::string_view pattern, std::string_view host, std::string_view name);

// Whether `pattern` has a "HOST\" part: a bare pattern names objects of the server(s) a request is
// about (by default the node asked), one with HOST\ those of the servers HOST names.
bool names_host(std::string_view pattern);

}  // namespace transport::config
