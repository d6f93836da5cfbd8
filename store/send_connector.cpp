// SendConnector: AddressSpace and SmartHost parsing, the AddressSpace match and specificity rules that
// routing relies on, and the rules that tie a connector's properties together.
#include "store/send_connector.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "store/accepted_domain.h"
#include "store/ip_range.h"
#include "store/text_util.h"
#include "store/value_error.h"

namespace transport::store {

namespace {

constexpr std::string_view kAddressSpaceForm = "write [SMTP:]domain[;cost], e.g. *, example.com, *.example.com;10";
constexpr std::string_view kSmartHostForm = "write host[:port], a.b.c.d[:port] or [ipv6][:port]";

// Labels in a domain name: "example.com" has 2.
int label_count(std::string_view domain) {
  return static_cast<int>(std::count(domain.begin(), domain.end(), '.')) + 1;
}

// Digits within [min, max], or nullopt.
std::optional<std::uint32_t> bounded_number(std::string_view text, std::uint32_t min, std::uint32_t max) {
  if (!all_digits(text)) return std::nullopt;
  std::uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < min || value > max) return std::nullopt;
  return value;
}

std::optional<IpAddress> as_address(std::string_view text) {
  try {
    return IpAddress::parse(text);
  } catch (const ValueError&) {
    return std::nullopt;
  }
}

[[noreturn]] void refuse_smart_host(std::string_view text, std::string_view reason) {
  throw ValueError("\"" + std::string(text) + "\" is not a valid smart host: " + std::string(reason));
}

std::uint16_t smart_host_port(std::string_view text, std::string_view port) {
  const auto value = bounded_number(port, 1, 65535);
  if (!value) refuse_smart_host(text, "the port must be a number 1-65535; " + std::string(kSmartHostForm));
  return static_cast<std::uint16_t>(*value);
}

// The key of some entry that appears twice, or nullopt.
template <class T, class Key>
std::optional<std::string> first_duplicate(const std::vector<T>& items, Key key) {
  std::vector<std::string> keys;
  keys.reserve(items.size());
  for (const T& item : items) keys.push_back(key(item));
  std::sort(keys.begin(), keys.end());
  const auto twice = std::adjacent_find(keys.begin(), keys.end());
  if (twice == keys.end()) return std::nullopt;
  return *twice;
}

}  // namespace

AddressSpace AddressSpace::parse(std::string_view input) {
  const std::string_view text = trim(input);
  std::string_view rest = text;
  if (rest.size() >= 5 && iequals(rest.substr(0, 5), "SMTP:")) rest.remove_prefix(5);
  AddressSpace space;
  if (const std::size_t semicolon = rest.find(';'); semicolon != std::string_view::npos) {
    const std::string_view cost_text = trim(rest.substr(semicolon + 1));
    const auto cost = bounded_number(cost_text, 1, 100);
    if (!cost) {
      throw ValueError("\"" + std::string(text) + "\" is not a valid address space: the cost after ';' must be 1-100");
    }
    space.cost = static_cast<std::int32_t>(*cost);
    rest = rest.substr(0, semicolon);
  }
  rest = trim(rest);
  if (rest == "*") {
    space.domain = "*";
    return space;
  }
  if (rest.empty()) {
    throw ValueError("\"" + std::string(text) + "\" is not a valid address space: the domain is missing; " +
                     std::string(kAddressSpaceForm));
  }
  try {
    space.domain = normalize_domain_name(rest);
  } catch (const ValueError&) {
    throw ValueError("\"" + std::string(text) + "\" is not a valid address space: " + std::string(kAddressSpaceForm));
  }
  return space;
}

std::string AddressSpace::to_string() const { return "SMTP:" + domain + ";" + std::to_string(cost); }

bool AddressSpace::matches(std::string_view recipient_domain) const {
  if (domain == "*") return true;
  // The same rule as an accepted domain's: "*.example.com" is example.com and every subdomain.
  AcceptedDomain pattern;
  pattern.domain_name = domain;
  return pattern.matches(recipient_domain);
}

int AddressSpace::specificity() const {
  if (domain == "*") return 0;
  if (domain.starts_with("*.")) return 2 * label_count(std::string_view(domain).substr(2));
  return 2 * label_count(domain) + 1;
}

SmartHost SmartHost::parse(std::string_view input) {
  const std::string_view text = trim(input);
  if (text.empty()) refuse_smart_host(text, "it is empty; " + std::string(kSmartHostForm));
  SmartHost smart_host;

  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) refuse_smart_host(text, "the ']' after the IPv6 address is missing");
    const std::string_view address_text = text.substr(1, close - 1);
    const auto address = as_address(address_text);
    if (address_text.find(':') == std::string_view::npos || !address) {
      refuse_smart_host(text, "brackets are only for IPv6 addresses; " + std::string(kSmartHostForm));
    }
    const std::string_view after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') refuse_smart_host(text, "only \":port\" may follow the ']'");
      smart_host.port = smart_host_port(text, after.substr(1));
    }
    smart_host.host = address->to_string();
    return smart_host;
  }

  std::string_view host = text;
  if (const std::size_t colon = text.find(':'); colon != std::string_view::npos) {
    if (text.find(':', colon + 1) != std::string_view::npos) {
      const std::string_view bare = as_address(text) ? text : text.substr(0, text.rfind(':'));
      refuse_smart_host(text, "an IPv6 address must be in brackets: write [" + std::string(bare) + "] or [" +
                                  std::string(bare) + "]:port");
    }
    host = text.substr(0, colon);
    smart_host.port = smart_host_port(text, text.substr(colon + 1));
  }
  if (const auto address = as_address(host)) {
    smart_host.host = address->to_string();
    return smart_host;
  }
  // A name whose last label is all digits is neither a host name nor an address ("10.0.0.256", "1.2.3").
  if (all_digits(host.substr(host.rfind('.') + 1))) {
    refuse_smart_host(text, "\"" + std::string(host) + "\" is neither an IPv4 address nor a host name");
  }
  try {
    smart_host.host = normalize_domain_name(host);
  } catch (const ValueError&) {
    refuse_smart_host(text, std::string(kSmartHostForm));
  }
  if (smart_host.host.starts_with("*.")) refuse_smart_host(text, "a smart host may not be a wildcard");
  return smart_host;
}

std::string SmartHost::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string text = v6 ? "[" + host + "]" : host;
  if (port != 0) text += ":" + std::to_string(port);
  return text;
}

bool SmartHost::is_address() const { return as_address(host).has_value(); }

void validate(const SendConnector& c) {
  if (c.address_spaces.empty()) {
    throw ValidationError("AddressSpaces",
                          "AddressSpaces is required: give at least one domain, e.g. * or example.com");
  }
  // Sorted, a duplicate shows up between neighbours: a long list is checked in O(n log n).
  if (const auto twice = first_duplicate(c.address_spaces, [](const AddressSpace& a) { return a.domain; })) {
    throw ValidationError("AddressSpaces", "AddressSpaces lists " + *twice + " twice");
  }
  if (const auto twice = first_duplicate(c.smart_hosts, [](const SmartHost& h) { return h.to_string(); })) {
    throw ValidationError("SmartHosts", "SmartHosts lists " + *twice + " twice");
  }
  if (c.dns_routing_enabled && !c.smart_hosts.empty()) {
    throw ValidationError("DNSRoutingEnabled",
                          "DNSRoutingEnabled true needs SmartHosts empty: clear SmartHosts, or set DNSRoutingEnabled "
                          "false to deliver through the smart hosts");
  }
  if (!c.dns_routing_enabled && c.smart_hosts.empty()) {
    throw ValidationError("DNSRoutingEnabled",
                          "DNSRoutingEnabled false needs at least one SmartHosts entry: give SmartHosts, or set "
                          "DNSRoutingEnabled true to route by DNS MX records");
  }
  if (c.smart_host_auth_mechanism != SmartHostAuthMechanism::none) {
    const std::string mechanism =
        c.smart_host_auth_mechanism == SmartHostAuthMechanism::basic_auth ? "BasicAuth" : "BasicAuthRequireTLS";
    if (c.smart_hosts.empty()) {
      throw ValidationError("SmartHostAuthMechanism",
                            "SmartHostAuthMechanism " + mechanism + " needs SmartHosts: only smart hosts are "
                            "authenticated to");
    }
    if (c.auth_user.empty() || c.auth_password.empty()) {
      throw ValidationError("AuthenticationCredential",
                            "SmartHostAuthMechanism " + mechanism +
                                " needs AuthenticationCredential (a user name and a password)");
    }
    if (c.smart_host_auth_mechanism == SmartHostAuthMechanism::basic_auth_require_tls && !c.require_tls) {
      throw ValidationError("RequireTLS", "SmartHostAuthMechanism BasicAuthRequireTLS needs RequireTLS true");
    }
  }
}

}  // namespace transport::store
