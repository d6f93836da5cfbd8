// Identity patterns: case-insensitive globs over names, optionally prefixed with the host.
#include "transportd/config/identity_match.h"

#include "store/text_util.h"

namespace transport::config {

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative matcher with one backtrack point: linear in practice, no recursion on hostile input.
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || store::ascii_lower(pattern[p]) == store::ascii_lower(text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool identity_matches(std::string_view pattern, std::string_view host, std::string_view name) {
  std::size_t slash = pattern.find('\\');
  if (slash == std::string_view::npos) return glob_match(pattern, name);
  return glob_match(pattern.substr(0, slash), host) && glob_match(pattern.substr(slash + 1), name);
}

}  // namespace transport::config
