// ReceiveConnector: the rules that tie several properties together, checked on every new and set.
#include "store/receive_connector.h"

#include <algorithm>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "store/value_error.h"

namespace transport::store {

std::string ReceiveConnector::effective_banner() const {
  return banner.empty() ? "220 " + fqdn + " ESMTP transportd ready" : banner;
}

std::string connector_identity(const std::string& host_name, const ReceiveConnector& connector) {
  return host_name + "\\" + connector.name;
}

namespace {

// Two entries that overlap (neighbours once sorted), or nothing when the list is disjoint.
std::optional<std::pair<const IpRange*, const IpRange*>> overlapping_neighbours(const std::vector<IpRange>& ranges) {
  const std::vector<const IpRange*> sorted = sorted_by_first(ranges);
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i - 1]->overlaps(*sorted[i])) {
      const IpRange* a = sorted[i - 1];
      const IpRange* b = sorted[i];
      if (b < a) std::swap(a, b);  // named in the order the administrator wrote them
      return std::pair{a, b};
    }
  }
  return std::nullopt;
}

}  // namespace

void validate(const ReceiveConnector& c) {
  if (c.bindings.empty()) {
    throw ValidationError("Bindings", "Bindings is required: give at least one IP:port, e.g. 0.0.0.0:25");
  }
  // Sorted, a duplicate or an overlap shows up between neighbours: O(n log n), so a list of 100,000
  // RemoteIPRanges is checked in milliseconds rather than minutes.
  std::vector<const Binding*> bindings;
  for (const Binding& b : c.bindings) bindings.push_back(&b);
  std::sort(bindings.begin(), bindings.end(), [](const Binding* a, const Binding* b) {
    return std::tie(a->address, a->port) < std::tie(b->address, b->port);
  });
  for (std::size_t i = 1; i < bindings.size(); ++i) {
    if (*bindings[i - 1] == *bindings[i]) {
      throw ValidationError("Bindings", "Bindings lists " + bindings[i]->to_string() + " twice");
    }
  }
  if (c.remote_ip_ranges.empty()) {
    throw ValidationError("RemoteIPRanges",
                          "RemoteIPRanges may not be empty: give at least one address, range or CIDR block");
  }
  if (const auto overlap = overlapping_neighbours(c.remote_ip_ranges)) {
    throw ValidationError("RemoteIPRanges", "RemoteIPRanges entries " + overlap->first->to_string() + " and " +
                                                overlap->second->to_string() +
                                                " overlap: a connector's ranges must be disjoint");
  }
  if (c.connection_timeout < c.connection_inactivity_timeout) {
    throw ValidationError("ConnectionTimeout", "ConnectionTimeout " + c.connection_timeout.to_string() +
                                                   " is less than ConnectionInactivityTimeout " +
                                                   c.connection_inactivity_timeout.to_string() +
                                                   ": it must be at least as long");
  }
  if (c.require_tls && !c.auth_mechanism.has(AuthMechanismFlag::tls)) {
    throw ValidationError("RequireTLS", "RequireTLS true needs Tls in AuthMechanism");
  }
  // Every session on such a connector counts as authenticated and may relay: only for known servers,
  // never for anyone (AnonymousUsers). Alone or with Tls is checked when AuthMechanism is parsed.
  if (c.auth_mechanism.has(AuthMechanismFlag::external_authoritative) &&
      (!c.permission_groups.has(PermissionGroup::exchange_servers) ||
       c.permission_groups.has(PermissionGroup::anonymous_users))) {
    const bool anonymous = c.permission_groups.has(PermissionGroup::anonymous_users);
    throw ValidationError("AuthMechanism",
                          std::string("AuthMechanism ExternalAuthoritative needs PermissionGroups with ExchangeServers "
                                      "and without AnonymousUsers (every session on it may relay); ") +
                              (anonymous ? "remove AnonymousUsers" : "add ExchangeServers") + " or ExternalAuthoritative");
  }
  if (c.tls_certificate_path.empty() != c.tls_key_path.empty()) {
    throw ValidationError(c.tls_certificate_path.empty() ? "TlsCertificatePath" : "TlsKeyPath",
                          "TlsCertificatePath and TlsKeyPath are set together: give both or neither");
  }
}

}  // namespace transport::store
