// The property tables of every model: names, defaults, allowed values, and text parsing with range
// checks. Messages name the property and the allowed range; this is the one place they are written.
#include "store/property.h"

#include <charconv>
#include <limits>

#include "store/text_util.h"
#include "store/value_error.h"

namespace transport::store {

namespace {

[[noreturn]] void fail(std::string_view property, const std::string& message) {
  throw ValidationError(std::string(property), message);
}

const std::string& single(std::string_view property, const PropertyValues& values) {
  if (values.size() != 1) fail(property, std::string(property) + " takes exactly one value");
  return values.front();
}

// Runs a value parser, turning its ValueError into a ValidationError that names the property.
template <class Parse>
auto parse_value(std::string_view property, Parse parse) {
  try {
    return parse();
  } catch (const ValueError& e) {
    fail(property, std::string(property) + ": " + e.what());
  }
}

template <class T>
void check_range(std::string_view property, const T& value, const T& min, const T& max) {
  if (value < min || value > max) {
    fail(property, std::string(property) + " " + value.to_string() + " is out of range: allowed " +
                       min.to_string() + " to " + max.to_string());
  }
}

// Like parse_value, and the message of a value that does not parse names the range too: a value too
// large to parse (1000.00:00:00, 99999999999999999999GB) is the same mistake as one just out of range.
template <class T, class Parse>
T parse_in_range(std::string_view property, Parse parse, const T& min, const T& max) {
  try {
    return parse();
  } catch (const ValueError& e) {
    fail(property, std::string(property) + ": " + e.what() + "; allowed " + min.to_string() + " to " + max.to_string());
  }
}

TimeSpan time_span_in(std::string_view property, const PropertyValues& values, std::int64_t min_seconds,
                      std::int64_t max_seconds) {
  const TimeSpan min = TimeSpan::from_seconds(min_seconds), max = TimeSpan::from_seconds(max_seconds);
  TimeSpan span = parse_in_range(property, [&] { return TimeSpan::parse(single(property, values)); }, min, max);
  check_range(property, span, min, max);
  return span;
}

ByteSize byte_size_in(std::string_view property, const PropertyValues& values, ByteSize min, ByteSize max) {
  ByteSize size = parse_in_range(property, [&] { return ByteSize::parse(single(property, values)); }, min, max);
  check_range(property, size, min, max);
  return size;
}

std::int64_t integer_in(std::string_view property, std::string_view text, std::int64_t min, std::int64_t max) {
  std::string_view digits = trim(text);
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  const std::string range = std::to_string(min) + " to " + std::to_string(max);
  if (digits.empty() || ec == std::errc::invalid_argument || end != digits.data() + digits.size()) {
    fail(property, std::string(property) + ": \"" + std::string(text) + "\" is not a whole number: allowed " + range);
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    fail(property, std::string(property) + " " + std::string(digits) + " is out of range: allowed " + range);
  }
  return value;
}

std::int32_t int32_in(std::string_view property, const PropertyValues& values, std::int32_t min, std::int32_t max) {
  return static_cast<std::int32_t>(integer_in(property, single(property, values), min, max));
}

CountLimit count_limit_in(std::string_view property, const PropertyValues& values, std::int64_t min,
                          std::int64_t max) {
  const std::string& text = single(property, values);
  if (iequals(trim(text), "unlimited")) return std::nullopt;
  try {
    return integer_in(property, text, min, max);
  } catch (const ValidationError& e) {
    fail(property, std::string(e.what()) + ", or unlimited");
  }
}

PropertyValues count_limit_text(const CountLimit& limit) {
  return {limit ? std::to_string(*limit) : "unlimited"};
}

// Free text: UTF-8 without control characters (they would break protocol lines and logs), at most
// max_length characters (code points: "é" is one character, as the administrator counts).
std::string text_in(std::string_view property, const PropertyValues& values, std::size_t max_length) {
  const std::string& text = single(property, values);
  if (const std::size_t bad = invalid_utf8_offset(text); bad != std::string::npos) {
    fail(property, std::string(property) + " is not valid UTF-8 (at byte offset " + std::to_string(bad) + ")");
  }
  if (const std::size_t length = code_point_count(text); length > max_length) {
    fail(property, std::string(property) + " is " + std::to_string(length) + " characters long: allowed at most " +
                       std::to_string(max_length));
  }
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) fail(property, std::string(property) + " may not contain control characters");
  }
  return text;
}

std::string object_name(std::string_view property, const PropertyValues& values) {
  std::string name = text_in(property, values, 64);
  if (name.empty() || trim(name).size() != name.size()) {
    fail(property, std::string(property) + " \"" + name +
                       "\" is not allowed: 1 to 64 characters, no leading or trailing spaces");
  }
  if (name.find_first_of("\\*?") != std::string::npos) {
    fail(property, std::string(property) + " \"" + name + "\" may not contain \\, * or ?");
  }
  return name;
}

std::string absolute_path_or_empty(std::string_view property, const PropertyValues& values) {
  std::string path = text_in(property, values, 4096);
  if (!path.empty() && path.front() != '/') {
    fail(property, std::string(property) + " \"" + path + "\" must be an absolute path, or empty");
  }
  return path;
}

std::string host_name_in(std::string_view property, const PropertyValues& values) {
  const std::string& text = single(property, values);
  std::string host = parse_value(property, [&] { return normalize_domain_name(text); });
  if (host.starts_with("*.")) fail(property, std::string(property) + " \"" + text + "\" may not be a wildcard");
  return host;
}

std::string banner_in(std::string_view property, const PropertyValues& values) {
  std::string banner = text_in(property, values, 512);
  if (!banner.empty() && !banner.starts_with("220 ")) {
    fail(property, std::string(property) + " must start with \"220 \" (or be empty for the default)");
  }
  for (unsigned char c : banner) {
    if (c > 0x7e) fail(property, std::string(property) + " must be 7-bit ASCII");
  }
  return banner;
}

bool bool_value(std::string_view property, const PropertyValues& values) {
  return parse_bool(property, single(property, values));
}

std::vector<std::string> addresses(std::string_view property, const PropertyValues& values) {
  std::vector<std::string> out;
  out.reserve(values.size());
  for (const std::string& v : values) out.push_back(parse_value(property, [&] { return normalize_address(v); }));
  return out;
}

template <class T, class Parse>
std::vector<T> list_of(std::string_view property, const PropertyValues& values, Parse parse) {
  std::vector<T> out;
  out.reserve(values.size());
  for (const std::string& v : values) out.push_back(parse_value(property, [&] { return parse(v); }));
  return out;
}

template <class T>
PropertyValues texts(const std::vector<T>& items) {
  PropertyValues out;
  out.reserve(items.size());
  for (const T& item : items) out.push_back(item.to_string());
  return out;
}

using RC = ReceiveConnector;

const Property<RC> kReceiveConnectorProperties[] = {
    {"Name", PropertyKind::text, "", "1 to 64 characters, unique (case-insensitive), no \\, * or ?",
     [](RC& c, const PropertyValues& v) { c.name = object_name("Name", v); },
     [](const RC& c) { return PropertyValues{c.name}; }},
    {"Bindings", PropertyKind::list, "", "IPv4 a.b.c.d:port or IPv6 [addr]:port, port 1 to 65535",
     [](RC& c, const PropertyValues& v) {
       c.bindings = list_of<Binding>("Bindings", v, [](const std::string& s) { return Binding::parse(s); });
     },
     [](const RC& c) { return texts(c.bindings); }},
    {"RemoteIPRanges", PropertyKind::list,
     "0.0.0.0-255.255.255.255,::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     "addresses, start-end ranges or CIDR blocks, IPv4 or IPv6",
     [](RC& c, const PropertyValues& v) {
       c.remote_ip_ranges =
           list_of<IpRange>("RemoteIPRanges", v, [](const std::string& s) { return IpRange::parse(s); });
     },
     [](const RC& c) { return texts(c.remote_ip_ranges); }},
    {"TarpitInterval", PropertyKind::text, "00:00:05", "00:00:00 to 00:10:00",
     [](RC& c, const PropertyValues& v) { c.tarpit_interval = time_span_in("TarpitInterval", v, 0, 600); },
     [](const RC& c) { return PropertyValues{c.tarpit_interval.to_string()}; }},
    {"Enabled", PropertyKind::boolean, "true", "true or false",
     [](RC& c, const PropertyValues& v) { c.enabled = bool_value("Enabled", v); },
     [](const RC& c) { return PropertyValues{std::string(bool_text(c.enabled))}; }},
    {"Fqdn", PropertyKind::text, "", "a host name",
     [](RC& c, const PropertyValues& v) { c.fqdn = host_name_in("Fqdn", v); },
     [](const RC& c) { return PropertyValues{c.fqdn}; }},
    {"Banner", PropertyKind::text, "", "empty, or 7-bit text starting with \"220 \"",
     [](RC& c, const PropertyValues& v) { c.banner = banner_in("Banner", v); },
     [](const RC& c) { return PropertyValues{c.banner}; }},
    {"MaxMessageSize", PropertyKind::text, "10MB", "64KB to 2GB",
     [](RC& c, const PropertyValues& v) {
       c.max_message_size = byte_size_in("MaxMessageSize", v, ByteSize::kilobytes(64), ByteSize::gigabytes(2));
     },
     [](const RC& c) { return PropertyValues{c.max_message_size.to_string()}; }},
    {"MaxHeaderSize", PropertyKind::text, "64KB", "32KB to 2GB",
     [](RC& c, const PropertyValues& v) {
       c.max_header_size = byte_size_in("MaxHeaderSize", v, ByteSize::kilobytes(32), ByteSize::gigabytes(2));
     },
     [](const RC& c) { return PropertyValues{c.max_header_size.to_string()}; }},
    {"MaxRecipientsPerMessage", PropertyKind::integer, "200", "1 to 512000",
     [](RC& c, const PropertyValues& v) {
       c.max_recipients_per_message = int32_in("MaxRecipientsPerMessage", v, 1, 512000);
     },
     [](const RC& c) { return PropertyValues{std::to_string(c.max_recipients_per_message)}; }},
    {"MaxInboundConnection", PropertyKind::text, "5000", "1 to 2147483647, or unlimited",
     [](RC& c, const PropertyValues& v) {
       c.max_inbound_connection = count_limit_in("MaxInboundConnection", v, 1, std::numeric_limits<std::int32_t>::max());
     },
     [](const RC& c) { return count_limit_text(c.max_inbound_connection); }},
    {"MaxInboundConnectionPerSource", PropertyKind::text, "20", "1 to 10000, or unlimited",
     [](RC& c, const PropertyValues& v) {
       c.max_inbound_connection_per_source = count_limit_in("MaxInboundConnectionPerSource", v, 1, 10000);
     },
     [](const RC& c) { return count_limit_text(c.max_inbound_connection_per_source); }},
    {"MaxInboundConnectionPercentagePerSource", PropertyKind::integer, "2", "1 to 100",
     [](RC& c, const PropertyValues& v) {
       c.max_inbound_connection_percentage_per_source = int32_in("MaxInboundConnectionPercentagePerSource", v, 1, 100);
     },
     [](const RC& c) { return PropertyValues{std::to_string(c.max_inbound_connection_percentage_per_source)}; }},
    {"ConnectionTimeout", PropertyKind::text, "00:10:00", "00:00:01 to 1.00:00:00",
     [](RC& c, const PropertyValues& v) { c.connection_timeout = time_span_in("ConnectionTimeout", v, 1, 86400); },
     [](const RC& c) { return PropertyValues{c.connection_timeout.to_string()}; }},
    {"ConnectionInactivityTimeout", PropertyKind::text, "00:05:00", "00:00:01 to 1.00:00:00",
     [](RC& c, const PropertyValues& v) {
       c.connection_inactivity_timeout = time_span_in("ConnectionInactivityTimeout", v, 1, 86400);
     },
     [](const RC& c) { return PropertyValues{c.connection_inactivity_timeout.to_string()}; }},
    {"MaxProtocolErrors", PropertyKind::text, "5", "0 to 2147483647, or unlimited",
     [](RC& c, const PropertyValues& v) {
       c.max_protocol_errors = count_limit_in("MaxProtocolErrors", v, 0, std::numeric_limits<std::int32_t>::max());
     },
     [](const RC& c) { return count_limit_text(c.max_protocol_errors); }},
    {"PermissionGroups", PropertyKind::list, "AnonymousUsers,ExchangeUsers",
     "None, or any of AnonymousUsers, ExchangeUsers, ExchangeServers, Partners",
     [](RC& c, const PropertyValues& v) {
       c.permission_groups = parse_value("PermissionGroups", [&] { return parse_permission_groups(v); });
     },
     [](const RC& c) { return to_strings(c.permission_groups); }},
    {"AuthMechanism", PropertyKind::list, "Tls,BasicAuth,BasicAuthRequireTLS",
     "None, or any of Tls, BasicAuth, BasicAuthRequireTLS, ExternalAuthoritative",
     [](RC& c, const PropertyValues& v) {
       c.auth_mechanism = parse_value("AuthMechanism", [&] { return parse_auth_mechanism(v); });
     },
     [](const RC& c) { return to_strings(c.auth_mechanism); }},
    {"MaxLogonFailures", PropertyKind::integer, "3", "0 to 10",
     [](RC& c, const PropertyValues& v) { c.max_logon_failures = int32_in("MaxLogonFailures", v, 0, 10); },
     [](const RC& c) { return PropertyValues{std::to_string(c.max_logon_failures)}; }},
    {"TlsCertificatePath", PropertyKind::text, "", "empty or an absolute path",
     [](RC& c, const PropertyValues& v) { c.tls_certificate_path = absolute_path_or_empty("TlsCertificatePath", v); },
     [](const RC& c) { return PropertyValues{c.tls_certificate_path}; }},
    {"TlsKeyPath", PropertyKind::text, "", "empty or an absolute path",
     [](RC& c, const PropertyValues& v) { c.tls_key_path = absolute_path_or_empty("TlsKeyPath", v); },
     [](const RC& c) { return PropertyValues{c.tls_key_path}; }},
    {"RequireTLS", PropertyKind::boolean, "false", "true or false",
     [](RC& c, const PropertyValues& v) { c.require_tls = bool_value("RequireTLS", v); },
     [](const RC& c) { return PropertyValues{std::string(bool_text(c.require_tls))}; }},
    {"PipeliningEnabled", PropertyKind::boolean, "true", "true or false",
     [](RC& c, const PropertyValues& v) { c.pipelining_enabled = bool_value("PipeliningEnabled", v); },
     [](const RC& c) { return PropertyValues{std::string(bool_text(c.pipelining_enabled))}; }},
    {"EnhancedStatusCodesEnabled", PropertyKind::boolean, "true", "true or false",
     [](RC& c, const PropertyValues& v) {
       c.enhanced_status_codes_enabled = bool_value("EnhancedStatusCodesEnabled", v);
     },
     [](const RC& c) { return PropertyValues{std::string(bool_text(c.enhanced_status_codes_enabled))}; }},
    {"ChunkingEnabled", PropertyKind::boolean, "true", "true or false",
     [](RC& c, const PropertyValues& v) { c.chunking_enabled = bool_value("ChunkingEnabled", v); },
     [](const RC& c) { return PropertyValues{std::string(bool_text(c.chunking_enabled))}; }},
    {"EightBitMimeEnabled", PropertyKind::boolean, "true", "true or false",
     [](RC& c, const PropertyValues& v) { c.eight_bit_mime_enabled = bool_value("EightBitMimeEnabled", v); },
     [](const RC& c) { return PropertyValues{std::string(bool_text(c.eight_bit_mime_enabled))}; }},
    {"ProtocolLoggingLevel", PropertyKind::text, "None", "None or Verbose",
     [](RC& c, const PropertyValues& v) {
       const std::string& text = single("ProtocolLoggingLevel", v);
       if (iequals(trim(text), "None")) {
         c.protocol_logging_level = ProtocolLoggingLevel::none;
       } else if (iequals(trim(text), "Verbose")) {
         c.protocol_logging_level = ProtocolLoggingLevel::verbose;
       } else {
         fail("ProtocolLoggingLevel", "ProtocolLoggingLevel \"" + text + "\" is not allowed: None or Verbose");
       }
     },
     [](const RC& c) {
       return PropertyValues{c.protocol_logging_level == ProtocolLoggingLevel::verbose ? "Verbose" : "None"};
     }},
    {"Comment", PropertyKind::text, "", "at most 1024 characters",
     [](RC& c, const PropertyValues& v) { c.comment = text_in("Comment", v, 1024); },
     [](const RC& c) { return PropertyValues{c.comment}; }},
};

const Property<AcceptedDomain> kAcceptedDomainProperties[] = {
    {"Name", PropertyKind::text, "", "1 to 64 characters, unique (case-insensitive)",
     [](AcceptedDomain& d, const PropertyValues& v) { d.name = object_name("Name", v); },
     [](const AcceptedDomain& d) { return PropertyValues{d.name}; }},
    {"DomainName", PropertyKind::text, "", "example.com or *.example.com",
     [](AcceptedDomain& d, const PropertyValues& v) {
       d.domain_name = parse_value("DomainName", [&] { return normalize_domain_name(single("DomainName", v)); });
     },
     [](const AcceptedDomain& d) { return PropertyValues{d.domain_name}; }},
    {"DomainType", PropertyKind::text, "Authoritative", "Authoritative, InternalRelay or ExternalRelay",
     [](AcceptedDomain& d, const PropertyValues& v) {
       std::string_view text = trim(single("DomainType", v));
       if (iequals(text, "Authoritative")) {
         d.domain_type = DomainType::authoritative;
       } else if (iequals(text, "InternalRelay")) {
         d.domain_type = DomainType::internal_relay;
       } else if (iequals(text, "ExternalRelay")) {
         d.domain_type = DomainType::external_relay;
       } else {
         fail("DomainType", "DomainType \"" + std::string(text) +
                                "\" is not allowed: Authoritative, InternalRelay or ExternalRelay");
       }
     },
     [](const AcceptedDomain& d) {
       switch (d.domain_type) {
         case DomainType::internal_relay: return PropertyValues{"InternalRelay"};
         case DomainType::external_relay: return PropertyValues{"ExternalRelay"};
         case DomainType::authoritative: break;
       }
       return PropertyValues{"Authoritative"};
     }},
    {"Default", PropertyKind::boolean, "false", "true or false",
     [](AcceptedDomain& d, const PropertyValues& v) { d.is_default = bool_value("Default", v); },
     [](const AcceptedDomain& d) { return PropertyValues{std::string(bool_text(d.is_default))}; }},
};

const Property<Mailbox> kMailboxProperties[] = {
    {"PrimarySmtpAddress", PropertyKind::text, "", "local@domain, unique",
     [](Mailbox& m, const PropertyValues& v) {
       m.primary_smtp_address =
           parse_value("PrimarySmtpAddress", [&] { return normalize_address(single("PrimarySmtpAddress", v)); });
     },
     [](const Mailbox& m) { return PropertyValues{m.primary_smtp_address}; }},
    {"EmailAddresses", PropertyKind::list, "", "addresses (local@domain), each unique",
     [](Mailbox& m, const PropertyValues& v) { m.email_addresses = addresses("EmailAddresses", v); },
     [](const Mailbox& m) { return PropertyValues(m.email_addresses); }},
    {"DisplayName", PropertyKind::text, "", "at most 256 characters",
     [](Mailbox& m, const PropertyValues& v) { m.display_name = text_in("DisplayName", v, 256); },
     [](const Mailbox& m) { return PropertyValues{m.display_name}; }},
};

const Property<RecipientFilterConfig> kRecipientFilterProperties[] = {
    {"RecipientValidationEnabled", PropertyKind::boolean, "true", "true or false",
     [](RecipientFilterConfig& r, const PropertyValues& v) {
       r.recipient_validation_enabled = bool_value("RecipientValidationEnabled", v);
     },
     [](const RecipientFilterConfig& r) { return PropertyValues{std::string(bool_text(r.recipient_validation_enabled))}; }},
    {"BlockListEnabled", PropertyKind::boolean, "false", "true or false",
     [](RecipientFilterConfig& r, const PropertyValues& v) { r.block_list_enabled = bool_value("BlockListEnabled", v); },
     [](const RecipientFilterConfig& r) { return PropertyValues{std::string(bool_text(r.block_list_enabled))}; }},
    {"BlockedRecipients", PropertyKind::list, "", "addresses (local@domain)",
     [](RecipientFilterConfig& r, const PropertyValues& v) { r.blocked_recipients = addresses("BlockedRecipients", v); },
     [](const RecipientFilterConfig& r) { return PropertyValues(r.blocked_recipients); }},
};

using TS = TransportServerSettings;

const Property<TS> kTransportServerProperties[] = {
    {"ReceiveProtocolLogMaxAge", PropertyKind::text, "30.00:00:00", "00:00:00 (no age limit) to 999.00:00:00",
     [](TS& s, const PropertyValues& v) {
       s.receive_protocol_log_max_age = time_span_in("ReceiveProtocolLogMaxAge", v, 0, 999 * 86400);
     },
     [](const TS& s) { return PropertyValues{s.receive_protocol_log_max_age.to_string()}; }},
    {"ReceiveProtocolLogMaxDirectorySize", PropertyKind::text, "250MB", "1MB to 1024GB, or unlimited",
     [](TS& s, const PropertyValues& v) {
       constexpr std::string_view name = "ReceiveProtocolLogMaxDirectorySize";
       if (iequals(trim(single(name, v)), "unlimited")) {
         s.receive_protocol_log_max_directory_size = std::nullopt;
         return;
       }
       s.receive_protocol_log_max_directory_size =
           byte_size_in(name, v, ByteSize::megabytes(1), ByteSize::gigabytes(1024));
     },
     [](const TS& s) {
       const auto& size = s.receive_protocol_log_max_directory_size;
       return PropertyValues{size ? size->to_string() : "unlimited"};
     }},
};

}  // namespace

std::span<const Property<ReceiveConnector>> receive_connector_properties() { return kReceiveConnectorProperties; }
std::span<const Property<AcceptedDomain>> accepted_domain_properties() { return kAcceptedDomainProperties; }
std::span<const Property<Mailbox>> mailbox_properties() { return kMailboxProperties; }
std::span<const Property<RecipientFilterConfig>> recipient_filter_properties() { return kRecipientFilterProperties; }
std::span<const Property<TransportServerSettings>> transport_server_properties() { return kTransportServerProperties; }

template <class Model>
const Property<Model>* find_property(std::span<const Property<Model>> table, std::string_view name) {
  for (const Property<Model>& p : table) {
    if (iequals(p.name, name)) return &p;
  }
  return nullptr;
}

template const Property<ReceiveConnector>* find_property(std::span<const Property<ReceiveConnector>>, std::string_view);
template const Property<AcceptedDomain>* find_property(std::span<const Property<AcceptedDomain>>, std::string_view);
template const Property<Mailbox>* find_property(std::span<const Property<Mailbox>>, std::string_view);
template const Property<RecipientFilterConfig>* find_property(std::span<const Property<RecipientFilterConfig>>,
                                                               std::string_view);
template const Property<TransportServerSettings>* find_property(std::span<const Property<TransportServerSettings>>,
                                                                 std::string_view);

bool parse_bool(std::string_view property, std::string_view text) {
  std::string_view t = trim(text);
  if (iequals(t, "true") || iequals(t, "$true") || iequals(t, "yes") || t == "1") return true;
  if (iequals(t, "false") || iequals(t, "$false") || iequals(t, "no") || t == "0") return false;
  fail(property, std::string(property) + " \"" + std::string(text) + "\" is not allowed: true or false");
}

std::string_view bool_text(bool value) { return value ? "true" : "false"; }

}  // namespace transport::store
