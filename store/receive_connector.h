// The ReceiveConnector model: every property of DESIGN §3 with its default. Validation of single
// values happens in the property table (receive_connector_properties.h); validate() checks the rules
// that span several properties.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/binding.h"
#include "store/byte_size.h"
#include "store/flags.h"
#include "store/ip_range.h"
#include "store/time_span.h"

namespace transport::store {

// A count that may be "unlimited" (nullopt).
using CountLimit = std::optional<std::int64_t>;

enum class ProtocolLoggingLevel : std::uint8_t { none, verbose };

struct ReceiveConnector {
  std::int64_t id = 0;  // database row id; 0 until stored
  std::string name;
  std::vector<Binding> bindings;
  std::vector<IpRange> remote_ip_ranges{IpRange::all_v4(), IpRange::all_v6()};
  TimeSpan tarpit_interval = TimeSpan::from_seconds(5);
  bool enabled = true;
  std::string fqdn;
  std::string banner;  // empty: "220 <Fqdn> ESMTP transportd ready"
  ByteSize max_message_size = ByteSize::megabytes(10);
  ByteSize max_header_size = ByteSize::kilobytes(64);
  std::int32_t max_recipients_per_message = 200;
  CountLimit max_inbound_connection = 5000;
  CountLimit max_inbound_connection_per_source = 20;
  std::int32_t max_inbound_connection_percentage_per_source = 2;
  TimeSpan connection_timeout = TimeSpan::from_seconds(10 * 60);
  TimeSpan connection_inactivity_timeout = TimeSpan::from_seconds(5 * 60);
  CountLimit max_protocol_errors = 5;
  PermissionGroups permission_groups{PermissionGroup::anonymous_users, PermissionGroup::exchange_users};
  AuthMechanism auth_mechanism{AuthMechanismFlag::tls, AuthMechanismFlag::basic_auth,
                               AuthMechanismFlag::basic_auth_require_tls};
  std::int32_t max_logon_failures = 3;
  std::string tls_certificate_path;
  std::string tls_key_path;
  bool require_tls = false;
  bool pipelining_enabled = true;
  bool enhanced_status_codes_enabled = true;
  bool chunking_enabled = true;
  bool eight_bit_mime_enabled = true;
  ProtocolLoggingLevel protocol_logging_level = ProtocolLoggingLevel::none;
  std::string comment;

  // The banner actually sent: Banner, or the default built from Fqdn.
  std::string effective_banner() const;
};

// Rules that span properties: RemoteIPRanges entries may not overlap each other; ConnectionTimeout
// >= ConnectionInactivityTimeout; RequireTLS needs Tls; ExternalAuthoritative needs PermissionGroups
// with ExchangeServers and without AnonymousUsers; TlsCertificatePath and TlsKeyPath are set
// together; Bindings and RemoteIPRanges not empty. Throws ValidationError naming the property.
void validate(const ReceiveConnector& connector);

// "HOST\Name", the form Exchange shows.
std::string connector_identity(const std::string& host_name, const ReceiveConnector& connector);

}  // namespace transport::store
