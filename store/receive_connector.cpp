// ReceiveConnector: the rules that tie several properties together, checked on every new and set.
#include "store/receive_connector.h"

#include "store/value_error.h"

namespace transport::store {

std::string ReceiveConnector::effective_banner() const {
  return banner.empty() ? "220 " + fqdn + " ESMTP transportd ready" : banner;
}

std::string connector_identity(const std::string& host_name, const ReceiveConnector& connector) {
  return host_name + "\\" + connector.name;
}

void validate(const ReceiveConnector& c) {
  if (c.bindings.empty()) {
    throw ValidationError("Bindings", "Bindings is required: give at least one IP:port, e.g. 0.0.0.0:25");
  }
  for (std::size_t i = 0; i < c.bindings.size(); ++i) {
    for (std::size_t j = i + 1; j < c.bindings.size(); ++j) {
      if (c.bindings[i] == c.bindings[j]) {
        throw ValidationError("Bindings", "Bindings lists " + c.bindings[i].to_string() + " twice");
      }
    }
  }
  if (c.remote_ip_ranges.empty()) {
    throw ValidationError("RemoteIPRanges",
                          "RemoteIPRanges may not be empty: give at least one address, range or CIDR block");
  }
  for (std::size_t i = 0; i < c.remote_ip_ranges.size(); ++i) {
    for (std::size_t j = i + 1; j < c.remote_ip_ranges.size(); ++j) {
      const IpRange& a = c.remote_ip_ranges[i];
      const IpRange& b = c.remote_ip_ranges[j];
      if (a.overlaps(b)) {
        throw ValidationError("RemoteIPRanges", "RemoteIPRanges entries " + a.to_string() + " and " +
                                                    b.to_string() + " overlap: a connector's ranges must be disjoint");
      }
    }
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
  if (c.auth_mechanism.has(AuthMechanismFlag::external_authoritative) &&
      !c.permission_groups.has(PermissionGroup::exchange_servers)) {
    throw ValidationError("AuthMechanism",
                          "AuthMechanism ExternalAuthoritative needs ExchangeServers in PermissionGroups");
  }
  if (c.tls_certificate_path.empty() != c.tls_key_path.empty()) {
    throw ValidationError(c.tls_certificate_path.empty() ? "TlsCertificatePath" : "TlsKeyPath",
                          "TlsCertificatePath and TlsKeyPath are set together: give both or neither");
  }
}

}  // namespace transport::store
