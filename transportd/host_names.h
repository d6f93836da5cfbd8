// The machine's names, read once at start-up: the short name is the HOST of HOST\Name identities (as
// Exchange shows it), the fully qualified one the default Fqdn of receive connectors (DESIGN §3).
#pragma once

#include <string>
#include <string_view>

namespace transport {

struct HostNames {
  std::string short_name;  // "MAIL01"
  std::string fqdn;        // "mail01.example.com" (lower case), or the short name lower-cased if none
};

// gethostname() and the resolver's canonical name for it (getaddrinfo with AI_CANONNAME). The lookup
// may ask DNS and wait: call it at start-up, never on an I/O thread.
HostNames system_host_names();

// The choice, apart from the lookup: a host name that is already qualified is used as it is; else the
// canonical name, when it is a qualified host name whose first label is the host name (so that
// "localhost.localdomain" is not taken for the machine's name); else the host name. Lower-cased.
std::string choose_fqdn(std::string_view host_name, std::string_view canonical_name);

}  // namespace transport
