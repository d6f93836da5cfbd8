// SendConnector: where mail for other domains goes (DESIGN §11). Organisation-wide; Exchange 2007's
// names and defaults. Single values are validated by the property table; validate() checks the rules
// that span several properties.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/byte_size.h"
#include "store/receive_connector.h"  // ProtocolLoggingLevel, CountLimit
#include "store/time_span.h"

namespace transport::store {

// One AddressSpace entry: "example.com", "*.example.com" (the domain and its subdomains, as for accepted
// domains) or "*" (every domain), with a cost (1–100, lower wins among equally specific matches).
// Written "[SMTP:]domain[;cost]", shown "SMTP:domain;cost".
struct AddressSpace {
  std::string domain;  // lower case: "*", "*.example.com" or "example.com"
  std::int32_t cost = 1;

  // Parses "[SMTP:]domain[;cost]". Throws ValueError.
  static AddressSpace parse(std::string_view text);
  std::string to_string() const;  // "SMTP:example.com;1"

  // Whether a recipient domain (any case) falls under this address space.
  bool matches(std::string_view recipient_domain) const;
  // How specific a match is: more is more specific. An exact domain beats a wildcard of the same
  // domain, a longer domain beats a shorter one, "*" is 0.
  int specificity() const;

  friend bool operator==(const AddressSpace&, const AddressSpace&) = default;
};

// One SmartHosts entry: a host name or an IP address (IPv6 in brackets), with an optional port that
// overrides the connector's Port. Written "host[:port]", "[2001:db8::1]:587".
struct SmartHost {
  std::string host;    // lower-cased name, or the address without brackets
  std::uint16_t port = 0;  // 0: the connector's Port

  static SmartHost parse(std::string_view text);  // throws ValueError
  std::string to_string() const;
  bool is_address() const;  // an IP literal: no DNS lookup

  friend bool operator==(const SmartHost&, const SmartHost&) = default;
};

enum class SmartHostAuthMechanism : std::uint8_t { none, basic_auth, basic_auth_require_tls };

struct SendConnector {
  std::int64_t id = 0;  // database row id; 0 until stored
  std::string name;
  std::vector<AddressSpace> address_spaces;  // required, at least one
  std::vector<SmartHost> smart_hosts;        // empty: DNS MX routing
  std::int32_t port = 25;
  bool dns_routing_enabled = true;  // true exactly when SmartHosts is empty (validate())
  bool require_tls = false;         // false: STARTTLS when the next hop offers it (opportunistic)
  SmartHostAuthMechanism smart_host_auth_mechanism = SmartHostAuthMechanism::none;
  std::string auth_user;      // AuthenticationCredential's user name (shown)
  std::string auth_password;  // its password: stored, sent to the smart host, never returned by the API
  std::optional<ByteSize> max_message_size = ByteSize::megabytes(10);  // nullopt: unlimited
  std::string fqdn;  // EHLO name; empty: the server's
  TimeSpan connection_inactivity_timeout = TimeSpan::from_seconds(10 * 60);
  std::int32_t smtp_max_messages_per_connection = 20;
  bool enabled = true;
  ProtocolLoggingLevel protocol_logging_level = ProtocolLoggingLevel::none;
  std::string comment;
};

// Rules that span properties: AddressSpaces not empty and no domain twice; DNSRoutingEnabled true with
// SmartHosts empty, false with SmartHosts set; SmartHostAuthMechanism other than None needs SmartHosts
// and a credential; BasicAuthRequireTLS needs RequireTLS. Throws ValidationError naming the property.
void validate(const SendConnector& connector);

}  // namespace transport::store
