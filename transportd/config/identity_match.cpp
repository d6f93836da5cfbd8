// Identity patterns: case-insensitive globs over names, optionally prefixed with the host.
#include "transportd/config/identity_match.h"

#include "store/text_util.h"

namespace transport::config {

using store::glob_match;

bool identity_matches(std::string_view pattern, std::string_view host, std::string_view name) {
  std::size_t slash = pattern.find('\\');
  if (slash == std::string_view::npos) return glob_match(pattern, name);
  return glob_match(pattern.substr(0, slash), host) && glob_match(pattern.substr(slash + 1), name);
}

bool names_host(std::string_view pattern) { return pattern.find('\\') != std::string_view::npos; }

}  // namespace transport::config
