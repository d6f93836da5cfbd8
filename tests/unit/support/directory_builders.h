// Test builders for directory objects (accepted domains, mailboxes, send connectors), shared by the
// SMTP unit tests.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "store/accepted_domain.h"
#include "store/mailbox.h"
#include "store/send_connector.h"

namespace transport::test {

inline store::AcceptedDomain accepted_domain(std::string name, store::DomainType type) {
  store::AcceptedDomain d;
  d.name = name;
  d.domain_name = std::move(name);
  d.domain_type = type;
  return d;
}

inline store::Mailbox mailbox(std::string primary, std::vector<std::string> aliases = {}) {
  store::Mailbox m;
  m.primary_smtp_address = std::move(primary);
  m.email_addresses = std::move(aliases);
  return m;
}

// An enabled send connector for `address_spaces` ("relay.example", "*.example.net;5", "*") through one
// smart host, so that routing never needs DNS: what a test gives its configuration for mail it
// expects to be relayed.
inline store::SendConnector send_connector(std::string name, std::initializer_list<std::string_view> address_spaces,
                                           std::string_view smart_host = "smarthost.example.net") {
  store::SendConnector c;
  c.name = std::move(name);
  for (std::string_view space : address_spaces) c.address_spaces.push_back(store::AddressSpace::parse(space));
  c.smart_hosts = {store::SmartHost::parse(smart_host)};
  c.dns_routing_enabled = false;
  return c;
}

}  // namespace transport::test
