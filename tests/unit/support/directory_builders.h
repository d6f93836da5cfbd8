// Test builders for directory objects (accepted domains, mailboxes), shared by the SMTP unit tests.
#pragma once

#include <string>
#include <vector>

#include "store/accepted_domain.h"
#include "store/mailbox.h"

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

}  // namespace transport::test
