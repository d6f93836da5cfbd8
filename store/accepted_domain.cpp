// AcceptedDomain: domain-name normalization and the match rule for recipient domains.
#include "store/accepted_domain.h"

#include "store/text_util.h"
#include "store/value_error.h"

namespace transport::store {

namespace {

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

// Labels of letters, digits and '-', 1-63 characters, not starting or ending with '-'.
bool is_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    std::string_view label = name.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!is_label_char(c)) return false;
    }
    start = dot + 1;
  }
  return true;
}

}  // namespace

std::string normalize_domain_name(std::string_view text) {
  std::string lower = to_lower(trim(text));
  std::string_view host = lower;
  if (host.starts_with("*.")) host.remove_prefix(2);
  if (!is_host_name(host)) {
    throw ValueError("\"" + std::string(text) +
                     "\" is not a domain: write example.com, or *.example.com to include subdomains");
  }
  return lower;
}

bool AcceptedDomain::matches(std::string_view domain) const {
  std::string_view pattern = domain_name;
  if (!is_wildcard()) return iequals(pattern, domain);
  pattern.remove_prefix(2);  // "*." → the parent itself and any subdomain
  if (iequals(pattern, domain)) return true;
  return domain.size() > pattern.size() && domain[domain.size() - pattern.size() - 1] == '.' &&
         iequals(domain.substr(domain.size() - pattern.size()), pattern);
}

}  // namespace transport::store
