// AcceptedDomain: a domain this server takes mail for, exactly (example.com) or with its subdomains
// (*.example.com).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace transport::store {

enum class DomainType : std::uint8_t { authoritative, internal_relay, external_relay };

struct AcceptedDomain {
  std::int64_t id = 0;
  std::string name;
  std::string domain_name;  // lower case; "*.example.com" for a wildcard
  DomainType domain_type = DomainType::authoritative;
  bool is_default = false;

  bool is_wildcard() const { return domain_name.starts_with("*."); }
  // Whether a recipient domain (any case) falls under this accepted domain. "*.example.com" matches
  // example.com itself and every subdomain, as in Exchange.
  bool matches(std::string_view domain) const;
};

// Lower-cases and checks a DomainName: labels of letters, digits and '-', optional leading "*.".
// Throws ValueError.
std::string normalize_domain_name(std::string_view text);

}  // namespace transport::store
