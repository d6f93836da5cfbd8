// HostNames: gethostname() plus one getaddrinfo(AI_CANONNAME) for the fully qualified name.
#include "transportd/host_names.h"

#include <netdb.h>
#include <unistd.h>

#include "store/accepted_domain.h"
#include "store/text_util.h"
#include "store/value_error.h"

namespace transport {

namespace {

bool is_qualified_host_name(std::string_view name) {
  if (name.find('.') == std::string_view::npos || name.starts_with("*.")) return false;
  try {
    store::normalize_domain_name(name);
    return true;
  } catch (const store::ValueError&) {
    return false;
  }
}

}  // namespace

std::string choose_fqdn(std::string_view host_name, std::string_view canonical_name) {
  if (is_qualified_host_name(host_name)) return store::to_lower(host_name);
  const std::string first_label(canonical_name.substr(0, canonical_name.find('.')));
  if (is_qualified_host_name(canonical_name) && store::iequals(first_label, host_name)) {
    return store::to_lower(canonical_name);
  }
  return store::to_lower(host_name);
}

HostNames system_host_names() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return {"localhost", "localhost"};
  const std::string host(name);
  std::string canonical;
  addrinfo hints{};
  hints.ai_flags = AI_CANONNAME;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) == 0) {
    if (found != nullptr && found->ai_canonname != nullptr) canonical = found->ai_canonname;
    ::freeaddrinfo(found);
  }
  return {host.substr(0, host.find('.')), choose_fqdn(host, canonical)};
}

}  // namespace transport
