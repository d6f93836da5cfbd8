// The property tables of every model: names, defaults, ranges, and text parsing with range checks.
// Messages name the property and the allowed range; a range is written once, in its entry's
// ValueRange, and every check and message of that property is made from it.
#include "store/property.h"

#include <charconv>
#include <limits>

#include "store/text_util.h"
#include "store/value_error.h"

namespace transport::store {

std::string ValueRange::to_string() const {
  const auto bound = [this](std::int64_t value) -> std::string {
    switch (unit) {
      case Unit::time_span: return TimeSpan::from_seconds(value).to_string();
      case Unit::byte_size: return ByteSize(static_cast<std::uint64_t>(value)).to_string();
      case Unit::number:
      case Unit::none: break;
    }
    return std::to_string(value);
  };
  if (unit == Unit::none) return {};
  return bound(min) + " to " + bound(max) + (or_unlimited ? ", or unlimited" : "");
}

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

bool is_unlimited(const PropertyValues& values) { return values.size() == 1 && iequals(trim(values.front()), "unlimited"); }

template <class P, class T>
void check_range(const P& p, const T& value, std::int64_t amount) {
  if (amount < p.range.min || amount > p.range.max) {
    fail(p.name, std::string(p.name) + " " + value.to_string() + " is out of range: allowed " + p.range.to_string());
  }
}

// Like parse_value, and the message of a value that does not parse names the range too: a value too
// large to parse (1000.00:00:00, 99999999999999999999GB) is the same mistake as one just out of range.
template <class P, class Parse>
auto parse_in_range(const P& p, Parse parse) {
  try {
    return parse();
  } catch (const ValueError& e) {
    fail(p.name, std::string(p.name) + ": " + e.what() + "; allowed " + p.range.to_string());
  }
}

template <class P>
TimeSpan time_span_in(const P& p, const PropertyValues& values) {
  TimeSpan span = parse_in_range(p, [&] { return TimeSpan::parse(single(p.name, values)); });
  check_range(p, span, span.seconds());
  return span;
}

template <class P>
ByteSize byte_size_in(const P& p, const PropertyValues& values) {
  ByteSize size = parse_in_range(p, [&] { return ByteSize::parse(single(p.name, values)); });
  const auto bytes = size.bytes() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                         ? std::numeric_limits<std::int64_t>::max()
                         : static_cast<std::int64_t>(size.bytes());
  check_range(p, size, bytes);
  return size;
}

template <class P>
std::int64_t integer_in(const P& p, const PropertyValues& values) {
  const std::string& text = single(p.name, values);
  std::string_view digits = trim(text);
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  const std::string name(p.name);
  if (digits.empty() || ec == std::errc::invalid_argument || end != digits.data() + digits.size()) {
    fail(p.name, name + ": \"" + text + "\" is not a whole number: allowed " + p.range.to_string());
  }
  if (ec == std::errc::result_out_of_range || value < p.range.min || value > p.range.max) {
    fail(p.name, name + " " + std::string(digits) + " is out of range: allowed " + p.range.to_string());
  }
  return value;
}

template <class P>
std::int32_t int32_in(const P& p, const PropertyValues& values) {
  return static_cast<std::int32_t>(integer_in(p, values));
}

template <class P>
CountLimit count_limit_in(const P& p, const PropertyValues& values) {
  if (is_unlimited(values)) return std::nullopt;
  return integer_in(p, values);
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
  const std::string& text = single(property, values);
  if (const auto value = bool_word(text)) return *value;
  fail(property, std::string(property) + " \"" + text + "\" is not allowed: true or false");
}

PropertyValues bool_values(bool value) { return {std::string(bool_text(value))}; }

ProtocolLoggingLevel logging_level_in(std::string_view property, const PropertyValues& values) {
  const std::string& text = single(property, values);
  if (iequals(trim(text), "None")) return ProtocolLoggingLevel::none;
  if (iequals(trim(text), "Verbose")) return ProtocolLoggingLevel::verbose;
  fail(property, std::string(property) + " \"" + text + "\" is not allowed: None or Verbose");
}

PropertyValues logging_level_text(ProtocolLoggingLevel level) {
  return {level == ProtocolLoggingLevel::verbose ? "Verbose" : "None"};
}

std::vector<std::string> addresses(std::string_view property, const PropertyValues& values) {
  std::vector<std::string> out;
  out.reserve(values.size());
  for (const std::string& v : values) out.push_back(parse_value(property, [&] { return normalize_address(v); }));
  return out;
}

// Each value parsed by T::parse (Binding, IpRange).
template <class T>
std::vector<T> list_of(std::string_view property, const PropertyValues& values) {
  std::vector<T> out;
  out.reserve(values.size());
  for (const std::string& v : values) out.push_back(parse_value(property, [&] { return T::parse(v); }));
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
using RCP = Property<RC>;
constexpr ValueRange kNoRange{};

const RCP kReceiveConnectorProperties[] = {
    {"Name", PropertyKind::text, "", kNoRange,
     [](const RCP& p, RC& c, const PropertyValues& v) { c.name = object_name(p.name, v); },
     [](const RC& c) { return PropertyValues{c.name}; }},
    {"Bindings", PropertyKind::list, "", kNoRange,
     [](const RCP& p, RC& c, const PropertyValues& v) { c.bindings = list_of<Binding>(p.name, v); },
     [](const RC& c) { return texts(c.bindings); }},
    {"RemoteIPRanges", PropertyKind::list, "0.0.0.0-255.255.255.255,::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     kNoRange, [](const RCP& p, RC& c, const PropertyValues& v) { c.remote_ip_ranges = list_of<IpRange>(p.name, v); },
     [](const RC& c) { return texts(c.remote_ip_ranges); }},
    {"TarpitInterval", PropertyKind::text, "00:00:05", seconds(0, 600),
     [](const RCP& p, RC& c, const PropertyValues& v) { c.tarpit_interval = time_span_in(p, v); },
     [](const RC& c) { return PropertyValues{c.tarpit_interval.to_string()}; }},
    {"Enabled", PropertyKind::boolean, "true", kNoRange,
     [](const RCP& p, RC& c, const PropertyValues& v) { c.enabled = bool_value(p.name, v); },
     [](const RC& c) { return bool_values(c.enabled); }},
    {"Fqdn", PropertyKind::text, "", kNoRange,
     [](const RCP& p, RC& c, const PropertyValues& v) { c.fqdn = host_name_in(p.name, v); },
     [](const RC& c) { return PropertyValues{c.fqdn}; }},
    {"Banner", PropertyKind::text, "", kNoRange,
     [](const RCP& p, RC& c, const PropertyValues& v) { c.banner = banner_in(p.name, v); },
     [](const RC& c) { return PropertyValues{c.banner}; }},
    {"MaxMessageSize", PropertyKind::text, "10MB", byte_sizes(ByteSize::kilobytes(64), ByteSize::gigabytes(2)),
     [](const RCP& p, RC& c, const PropertyValues& v) { c.max_message_size = byte_size_in(p, v); },
     [](const RC& c) { return PropertyValues{c.max_message_size.to_string()}; }},
    {"MaxHeaderSize", PropertyKind::text, "64KB", byte_sizes(ByteSize::kilobytes(32), ByteSize::gigabytes(2)),
     [](const RCP& p, RC& c, const PropertyValues& v) { c.max_header_size = byte_size_in(p, v); },
     [](const RC& c) { return PropertyValues{c.max_header_size.to_string()}; }},
    {"MaxRecipientsPerMessage", PropertyKind::integer, "200", numbers(1, 512000),
     [](const RCP& p, RC& c, const PropertyValues& v) { c.max_recipients_per_message = int32_in(p, v); },
     [](const RC& c) { return PropertyValues{std::to_string(c.max_recipients_per_message)}; }},
    {"MaxInboundConnection", PropertyKind::text, "5000",
     numbers(1, std::numeric_limits<std::int32_t>::max(), true),
     [](const RCP& p, RC& c, const PropertyValues& v) { c.max_inbound_connection = count_limit_in(p, v); },
     [](const RC& c) { return count_limit_text(c.max_inbound_connection); }},
    {"MaxInboundConnectionPerSource", PropertyKind::text, "20", numbers(1, 10000, true),
     [](const RCP& p, RC& c, const PropertyValues& v) { c.max_inbound_connection_per_source = count_limit_in(p, v); },
     [](const RC& c) { return count_limit_text(c.max_inbound_connection_per_source); }},
    {"MaxInboundConnectionPercentagePerSource", PropertyKind::integer, "2", numbers(1, 100),
     [](const RCP& p, RC& c, const PropertyValues& v) {
       c.max_inbound_connection_percentage_per_source = int32_in(p, v);
     },
     [](const RC& c) { return PropertyValues{std::to_string(c.max_inbound_connection_percentage_per_source)}; }},
    {"ConnectionTimeout", PropertyKind::text, "00:10:00", seconds(1, 86400),
     [](const RCP& p, RC& c, const PropertyValues& v) { c.connection_timeout = time_span_in(p, v); },
     [](const RC& c) { return PropertyValues{c.connection_timeout.to_string()}; }},
    {"ConnectionInactivityTimeout", PropertyKind::text, "00:05:00", seconds(1, 86400),
     [](const RCP& p, RC& c, const PropertyValues& v) { c.connection_inactivity_timeout = time_span_in(p, v); },
     [](const RC& c) { return PropertyValues{c.connection_inactivity_timeout.to_string()}; }},
    {"MaxProtocolErrors", PropertyKind::text, "5", numbers(0, std::numeric_limits<std::int32_t>::max(), true),
     [](const RCP& p, RC& c, const PropertyValues& v) { c.max_protocol_errors = count_limit_in(p, v); },
     [](const RC& c) { return count_limit_text(c.max_protocol_errors); }},
    {"PermissionGroups", PropertyKind::list, "AnonymousUsers,ExchangeUsers", kNoRange,
     [](const RCP& p, RC& c, const PropertyValues& v) {
       c.permission_groups = parse_value(p.name, [&] { return parse_permission_groups(v); });
     },
     [](const RC& c) { return to_strings(c.permission_groups); }},
    {"AuthMechanism", PropertyKind::list, "Tls,BasicAuth,BasicAuthRequireTLS", kNoRange,
     [](const RCP& p, RC& c, const PropertyValues& v) {
       c.auth_mechanism = parse_value(p.name, [&] { return parse_auth_mechanism(v); });
     },
     [](const RC& c) { return to_strings(c.auth_mechanism); }},
    {"MaxLogonFailures", PropertyKind::integer, "3", numbers(0, 10),
     [](const RCP& p, RC& c, const PropertyValues& v) { c.max_logon_failures = int32_in(p, v); },
     [](const RC& c) { return PropertyValues{std::to_string(c.max_logon_failures)}; }},
    {"TlsCertificatePath", PropertyKind::text, "", kNoRange,
     [](const RCP& p, RC& c, const PropertyValues& v) { c.tls_certificate_path = absolute_path_or_empty(p.name, v); },
     [](const RC& c) { return PropertyValues{c.tls_certificate_path}; }},
    {"TlsKeyPath", PropertyKind::text, "", kNoRange,
     [](const RCP& p, RC& c, const PropertyValues& v) { c.tls_key_path = absolute_path_or_empty(p.name, v); },
     [](const RC& c) { return PropertyValues{c.tls_key_path}; }},
    {"RequireTLS", PropertyKind::boolean, "false", kNoRange,
     [](const RCP& p, RC& c, const PropertyValues& v) { c.require_tls = bool_value(p.name, v); },
     [](const RC& c) { return bool_values(c.require_tls); }},
    {"PipeliningEnabled", PropertyKind::boolean, "true", kNoRange,
     [](const RCP& p, RC& c, const PropertyValues& v) { c.pipelining_enabled = bool_value(p.name, v); },
     [](const RC& c) { return bool_values(c.pipelining_enabled); }},
    {"EnhancedStatusCodesEnabled", PropertyKind::boolean, "true", kNoRange,
     [](const RCP& p, RC& c, const PropertyValues& v) { c.enhanced_status_codes_enabled = bool_value(p.name, v); },
     [](const RC& c) { return bool_values(c.enhanced_status_codes_enabled); }},
    {"ChunkingEnabled", PropertyKind::boolean, "true", kNoRange,
     [](const RCP& p, RC& c, const PropertyValues& v) { c.chunking_enabled = bool_value(p.name, v); },
     [](const RC& c) { return bool_values(c.chunking_enabled); }},
    {"EightBitMimeEnabled", PropertyKind::boolean, "true", kNoRange,
     [](const RCP& p, RC& c, const PropertyValues& v) { c.eight_bit_mime_enabled = bool_value(p.name, v); },
     [](const RC& c) { return bool_values(c.eight_bit_mime_enabled); }},
    {"ProtocolLoggingLevel", PropertyKind::text, "None", kNoRange,
     [](const RCP& p, RC& c, const PropertyValues& v) { c.protocol_logging_level = logging_level_in(p.name, v); },
     [](const RC& c) { return logging_level_text(c.protocol_logging_level); }},
    {"Comment", PropertyKind::text, "", kNoRange,
     [](const RCP& p, RC& c, const PropertyValues& v) { c.comment = text_in(p.name, v, 1024); },
     [](const RC& c) { return PropertyValues{c.comment}; }},
};

using SC = SendConnector;
using SCP = Property<SC>;

// A size limit that may be "unlimited" (nullopt).
template <class P>
std::optional<ByteSize> byte_size_limit_in(const P& p, const PropertyValues& values) {
  if (is_unlimited(values)) return std::nullopt;
  return byte_size_in(p, values);
}

PropertyValues byte_size_limit_text(const std::optional<ByteSize>& size) {
  return {size ? size->to_string() : "unlimited"};
}

// A host name, or empty for "the server's own".
std::string host_name_or_empty(std::string_view property, const PropertyValues& values) {
  if (values.size() == 1 && trim(values.front()).empty()) return {};
  return host_name_in(property, values);
}

const SCP kSendConnectorProperties[] = {
    {"Name", PropertyKind::text, "", kNoRange,
     [](const SCP& p, SC& c, const PropertyValues& v) { c.name = object_name(p.name, v); },
     [](const SC& c) { return PropertyValues{c.name}; }},
    {"AddressSpaces", PropertyKind::list, "", kNoRange,
     [](const SCP& p, SC& c, const PropertyValues& v) { c.address_spaces = list_of<AddressSpace>(p.name, v); },
     [](const SC& c) { return texts(c.address_spaces); }},
    {"SmartHosts", PropertyKind::list, "", kNoRange,
     [](const SCP& p, SC& c, const PropertyValues& v) { c.smart_hosts = list_of<SmartHost>(p.name, v); },
     [](const SC& c) { return texts(c.smart_hosts); }},
    {"Port", PropertyKind::integer, "25", numbers(1, 65535),
     [](const SCP& p, SC& c, const PropertyValues& v) { c.port = int32_in(p, v); },
     [](const SC& c) { return PropertyValues{std::to_string(c.port)}; }},
    {"DNSRoutingEnabled", PropertyKind::boolean, "true", kNoRange,
     [](const SCP& p, SC& c, const PropertyValues& v) { c.dns_routing_enabled = bool_value(p.name, v); },
     [](const SC& c) { return bool_values(c.dns_routing_enabled); }},
    {"RequireTLS", PropertyKind::boolean, "false", kNoRange,
     [](const SCP& p, SC& c, const PropertyValues& v) { c.require_tls = bool_value(p.name, v); },
     [](const SC& c) { return bool_values(c.require_tls); }},
    {"SmartHostAuthMechanism", PropertyKind::text, "None", kNoRange,
     [](const SCP& p, SC& c, const PropertyValues& v) {
       const std::string& text = single(p.name, v);
       if (iequals(trim(text), "None")) {
         c.smart_host_auth_mechanism = SmartHostAuthMechanism::none;
       } else if (iequals(trim(text), "BasicAuth")) {
         c.smart_host_auth_mechanism = SmartHostAuthMechanism::basic_auth;
       } else if (iequals(trim(text), "BasicAuthRequireTLS")) {
         c.smart_host_auth_mechanism = SmartHostAuthMechanism::basic_auth_require_tls;
       } else {
         fail(p.name, std::string(p.name) + " \"" + text + "\" is not allowed: None, BasicAuth or BasicAuthRequireTLS");
       }
     },
     [](const SC& c) {
       switch (c.smart_host_auth_mechanism) {
         case SmartHostAuthMechanism::basic_auth: return PropertyValues{"BasicAuth"};
         case SmartHostAuthMechanism::basic_auth_require_tls: return PropertyValues{"BasicAuthRequireTLS"};
         case SmartHostAuthMechanism::none: break;
       }
       return PropertyValues{"None"};
     }},
    // The user name only: the password travels beside the properties and is never rendered.
    {"AuthenticationCredential", PropertyKind::text, "", kNoRange,
     [](const SCP& p, SC& c, const PropertyValues& v) { c.auth_user = text_in(p.name, v, 256); },
     [](const SC& c) { return PropertyValues{c.auth_user}; }},
    {"MaxMessageSize", PropertyKind::text, "10MB", byte_sizes(ByteSize::kilobytes(64), ByteSize::gigabytes(2), true),
     [](const SCP& p, SC& c, const PropertyValues& v) { c.max_message_size = byte_size_limit_in(p, v); },
     [](const SC& c) { return byte_size_limit_text(c.max_message_size); }},
    {"Fqdn", PropertyKind::text, "", kNoRange,
     [](const SCP& p, SC& c, const PropertyValues& v) { c.fqdn = host_name_or_empty(p.name, v); },
     [](const SC& c) { return PropertyValues{c.fqdn}; }},
    {"ConnectionInactivityTimeout", PropertyKind::text, "00:10:00", seconds(1, 86400),
     [](const SCP& p, SC& c, const PropertyValues& v) { c.connection_inactivity_timeout = time_span_in(p, v); },
     [](const SC& c) { return PropertyValues{c.connection_inactivity_timeout.to_string()}; }},
    {"SmtpMaxMessagesPerConnection", PropertyKind::integer, "20", numbers(1, std::numeric_limits<std::int32_t>::max()),
     [](const SCP& p, SC& c, const PropertyValues& v) { c.smtp_max_messages_per_connection = int32_in(p, v); },
     [](const SC& c) { return PropertyValues{std::to_string(c.smtp_max_messages_per_connection)}; }},
    {"Enabled", PropertyKind::boolean, "true", kNoRange,
     [](const SCP& p, SC& c, const PropertyValues& v) { c.enabled = bool_value(p.name, v); },
     [](const SC& c) { return bool_values(c.enabled); }},
    {"ProtocolLoggingLevel", PropertyKind::text, "None", kNoRange,
     [](const SCP& p, SC& c, const PropertyValues& v) { c.protocol_logging_level = logging_level_in(p.name, v); },
     [](const SC& c) { return logging_level_text(c.protocol_logging_level); }},
    {"Comment", PropertyKind::text, "", kNoRange,
     [](const SCP& p, SC& c, const PropertyValues& v) { c.comment = text_in(p.name, v, 1024); },
     [](const SC& c) { return PropertyValues{c.comment}; }},
};

using AD = AcceptedDomain;
using ADP = Property<AD>;

const ADP kAcceptedDomainProperties[] = {
    {"Name", PropertyKind::text, "", kNoRange,
     [](const ADP& p, AD& d, const PropertyValues& v) { d.name = object_name(p.name, v); },
     [](const AD& d) { return PropertyValues{d.name}; }},
    {"DomainName", PropertyKind::text, "", kNoRange,
     [](const ADP& p, AD& d, const PropertyValues& v) {
       d.domain_name = parse_value(p.name, [&] { return normalize_domain_name(single(p.name, v)); });
     },
     [](const AD& d) { return PropertyValues{d.domain_name}; }},
    {"DomainType", PropertyKind::text, "Authoritative", kNoRange,
     [](const ADP& p, AD& d, const PropertyValues& v) {
       std::string_view text = trim(single(p.name, v));
       if (iequals(text, "Authoritative")) {
         d.domain_type = DomainType::authoritative;
       } else if (iequals(text, "InternalRelay")) {
         d.domain_type = DomainType::internal_relay;
       } else if (iequals(text, "ExternalRelay")) {
         d.domain_type = DomainType::external_relay;
       } else {
         fail(p.name, std::string(p.name) + " \"" + std::string(text) +
                          "\" is not allowed: Authoritative, InternalRelay or ExternalRelay");
       }
     },
     [](const AD& d) {
       switch (d.domain_type) {
         case DomainType::internal_relay: return PropertyValues{"InternalRelay"};
         case DomainType::external_relay: return PropertyValues{"ExternalRelay"};
         case DomainType::authoritative: break;
       }
       return PropertyValues{"Authoritative"};
     }},
    {"Default", PropertyKind::boolean, "false", kNoRange,
     [](const ADP& p, AD& d, const PropertyValues& v) { d.is_default = bool_value(p.name, v); },
     [](const AD& d) { return bool_values(d.is_default); }},
};

using MP = Property<Mailbox>;

const MP kMailboxProperties[] = {
    {"PrimarySmtpAddress", PropertyKind::text, "", kNoRange,
     [](const MP& p, Mailbox& m, const PropertyValues& v) {
       m.primary_smtp_address = parse_value(p.name, [&] { return normalize_address(single(p.name, v)); });
     },
     [](const Mailbox& m) { return PropertyValues{m.primary_smtp_address}; }},
    {"EmailAddresses", PropertyKind::list, "", kNoRange,
     [](const MP& p, Mailbox& m, const PropertyValues& v) { m.email_addresses = addresses(p.name, v); },
     [](const Mailbox& m) { return PropertyValues(m.email_addresses); }},
    {"DisplayName", PropertyKind::text, "", kNoRange,
     [](const MP& p, Mailbox& m, const PropertyValues& v) { m.display_name = text_in(p.name, v, 256); },
     [](const Mailbox& m) { return PropertyValues{m.display_name}; }},
};

using RF = RecipientFilterConfig;
using RFP = Property<RF>;

const RFP kRecipientFilterProperties[] = {
    {"RecipientValidationEnabled", PropertyKind::boolean, "true", kNoRange,
     [](const RFP& p, RF& r, const PropertyValues& v) { r.recipient_validation_enabled = bool_value(p.name, v); },
     [](const RF& r) { return bool_values(r.recipient_validation_enabled); }},
    {"BlockListEnabled", PropertyKind::boolean, "false", kNoRange,
     [](const RFP& p, RF& r, const PropertyValues& v) { r.block_list_enabled = bool_value(p.name, v); },
     [](const RF& r) { return bool_values(r.block_list_enabled); }},
    {"BlockedRecipients", PropertyKind::list, "", kNoRange,
     [](const RFP& p, RF& r, const PropertyValues& v) { r.blocked_recipients = addresses(p.name, v); },
     [](const RF& r) { return PropertyValues(r.blocked_recipients); }},
};

using TS = TransportServerSettings;
using TSP = Property<TS>;

const TSP kTransportServerProperties[] = {
    {"ReceiveProtocolLogMaxAge", PropertyKind::text, "30.00:00:00", seconds(0, 999 * 86400),
     [](const TSP& p, TS& s, const PropertyValues& v) { s.receive_protocol_log_max_age = time_span_in(p, v); },
     [](const TS& s) { return PropertyValues{s.receive_protocol_log_max_age.to_string()}; }},
    {"ReceiveProtocolLogMaxDirectorySize", PropertyKind::text, "250MB",
     byte_sizes(ByteSize::megabytes(1), ByteSize::gigabytes(1024), true),
     [](const TSP& p, TS& s, const PropertyValues& v) {
       if (is_unlimited(v)) {
         s.receive_protocol_log_max_directory_size = std::nullopt;
       } else {
         s.receive_protocol_log_max_directory_size = byte_size_in(p, v);
       }
     },
     [](const TS& s) {
       const auto& size = s.receive_protocol_log_max_directory_size;
       return PropertyValues{size ? size->to_string() : "unlimited"};
     }},
    {"TransientFailureRetryInterval", PropertyKind::text, "00:05:00", seconds(1, 12 * 3600),
     [](const TSP& p, TS& s, const PropertyValues& v) { s.transient_failure_retry_interval = time_span_in(p, v); },
     [](const TS& s) { return PropertyValues{s.transient_failure_retry_interval.to_string()}; }},
    {"OutboundConnectionFailureRetryInterval", PropertyKind::text, "00:10:00", seconds(1, 86400),
     [](const TSP& p, TS& s, const PropertyValues& v) {
       s.outbound_connection_failure_retry_interval = time_span_in(p, v);
     },
     [](const TS& s) { return PropertyValues{s.outbound_connection_failure_retry_interval.to_string()}; }},
    {"MessageExpirationTimeout", PropertyKind::text, "2.00:00:00", seconds(5, 90 * 86400),
     [](const TSP& p, TS& s, const PropertyValues& v) { s.message_expiration_timeout = time_span_in(p, v); },
     [](const TS& s) { return PropertyValues{s.message_expiration_timeout.to_string()}; }},
    {"DelayNotificationTimeout", PropertyKind::text, "04:00:00", seconds(1, 30 * 86400),
     [](const TSP& p, TS& s, const PropertyValues& v) { s.delay_notification_timeout = time_span_in(p, v); },
     [](const TS& s) { return PropertyValues{s.delay_notification_timeout.to_string()}; }},
    {"MaxOutboundConnections", PropertyKind::text, "1000", numbers(1, std::numeric_limits<std::int32_t>::max(), true),
     [](const TSP& p, TS& s, const PropertyValues& v) { s.max_outbound_connections = count_limit_in(p, v); },
     [](const TS& s) { return count_limit_text(s.max_outbound_connections); }},
    {"MaxPerDomainOutboundConnections", PropertyKind::text, "20",
     numbers(1, std::numeric_limits<std::int32_t>::max(), true),
     [](const TSP& p, TS& s, const PropertyValues& v) { s.max_per_domain_outbound_connections = count_limit_in(p, v); },
     [](const TS& s) { return count_limit_text(s.max_per_domain_outbound_connections); }},
};

// The counts of the harvest defence: from 1 (one event is evidence enough) to far beyond any sane
// setting, so a typo of one digit too many is caught.
constexpr ValueRange kEventCounts = numbers(1, 100000);

using HD = HarvestDefenceConfig;
using HDP = Property<HD>;

const HDP kHarvestDefenceProperties[] = {
    {"Enabled", PropertyKind::boolean, "true", kNoRange,
     [](const HDP& p, HD& h, const PropertyValues& v) { h.enabled = bool_value(p.name, v); },
     [](const HD& h) { return bool_values(h.enabled); }},
    {"HalfLife", PropertyKind::text, "01:00:00", seconds(1, 7 * 86400),
     [](const HDP& p, HD& h, const PropertyValues& v) { h.half_life = time_span_in(p, v); },
     [](const HD& h) { return PropertyValues{h.half_life.to_string()}; }},
    {"SuspectRefusedRecipients", PropertyKind::integer, "5", kEventCounts,
     [](const HDP& p, HD& h, const PropertyValues& v) { h.suspect_refused_recipients = integer_in(p, v); },
     [](const HD& h) { return PropertyValues{std::to_string(h.suspect_refused_recipients)}; }},
    {"SuspectAbandonedHolds", PropertyKind::integer, "1", kEventCounts,
     [](const HDP& p, HD& h, const PropertyValues& v) { h.suspect_abandoned_holds = integer_in(p, v); },
     [](const HD& h) { return PropertyValues{std::to_string(h.suspect_abandoned_holds)}; }},
    {"DiscreditRefusedRecipients", PropertyKind::integer, "25", kEventCounts,
     [](const HDP& p, HD& h, const PropertyValues& v) { h.discredit_refused_recipients = integer_in(p, v); },
     [](const HD& h) { return PropertyValues{std::to_string(h.discredit_refused_recipients)}; }},
    {"DiscreditRefusalPercent", PropertyKind::integer, "80", numbers(1, 100),
     [](const HDP& p, HD& h, const PropertyValues& v) { h.discredit_refusal_percent = integer_in(p, v); },
     [](const HD& h) { return PropertyValues{std::to_string(h.discredit_refusal_percent)}; }},
    {"DiscreditAbandonedHolds", PropertyKind::integer, "3", kEventCounts,
     [](const HDP& p, HD& h, const PropertyValues& v) { h.discredit_abandoned_holds = integer_in(p, v); },
     [](const HD& h) { return PropertyValues{std::to_string(h.discredit_abandoned_holds)}; }},
    {"PrefixThresholdMultiplier", PropertyKind::integer, "3", numbers(1, 1000),
     [](const HDP& p, HD& h, const PropertyValues& v) { h.prefix_threshold_multiplier = integer_in(p, v); },
     [](const HD& h) { return PropertyValues{std::to_string(h.prefix_threshold_multiplier)}; }},
    {"IPv4PrefixLength", PropertyKind::integer, "24", numbers(8, 32),
     [](const HDP& p, HD& h, const PropertyValues& v) { h.ipv4_prefix_length = integer_in(p, v); },
     [](const HD& h) { return PropertyValues{std::to_string(h.ipv4_prefix_length)}; }},
    {"IPv6PrefixLength", PropertyKind::integer, "64", numbers(16, 128),
     [](const HDP& p, HD& h, const PropertyValues& v) { h.ipv6_prefix_length = integer_in(p, v); },
     [](const HD& h) { return PropertyValues{std::to_string(h.ipv6_prefix_length)}; }},
    {"DiscreditedMaxConnections", PropertyKind::integer, "2", numbers(1, 10000),
     [](const HDP& p, HD& h, const PropertyValues& v) { h.discredited_max_connections = integer_in(p, v); },
     [](const HD& h) { return PropertyValues{std::to_string(h.discredited_max_connections)}; }},
    {"AuthFailureThreshold", PropertyKind::integer, "10", kEventCounts,
     [](const HDP& p, HD& h, const PropertyValues& v) { h.auth_failure_threshold = integer_in(p, v); },
     [](const HD& h) { return PropertyValues{std::to_string(h.auth_failure_threshold)}; }},
    {"AuthLockoutInterval", PropertyKind::text, "00:01:00", seconds(1, 86400),
     [](const HDP& p, HD& h, const PropertyValues& v) { h.auth_lockout_interval = time_span_in(p, v); },
     [](const HD& h) { return PropertyValues{h.auth_lockout_interval.to_string()}; }},
    {"MaxSourceRecords", PropertyKind::integer, "1000000", numbers(1000, 10'000'000),
     [](const HDP& p, HD& h, const PropertyValues& v) { h.max_source_records = integer_in(p, v); },
     [](const HD& h) { return PropertyValues{std::to_string(h.max_source_records)}; }},
    {"ExemptRemoteIPRanges", PropertyKind::list, "", kNoRange,
     [](const HDP& p, HD& h, const PropertyValues& v) { h.exempt_remote_ip_ranges = list_of<IpRange>(p.name, v); },
     [](const HD& h) { return texts(h.exempt_remote_ip_ranges); }},
};

}  // namespace

std::span<const Property<ReceiveConnector>> receive_connector_properties() { return kReceiveConnectorProperties; }
std::span<const Property<SendConnector>> send_connector_properties() { return kSendConnectorProperties; }
std::span<const Property<AcceptedDomain>> accepted_domain_properties() { return kAcceptedDomainProperties; }
std::span<const Property<Mailbox>> mailbox_properties() { return kMailboxProperties; }
std::span<const Property<RecipientFilterConfig>> recipient_filter_properties() { return kRecipientFilterProperties; }
std::span<const Property<TransportServerSettings>> transport_server_properties() { return kTransportServerProperties; }
std::span<const Property<HarvestDefenceConfig>> harvest_defence_properties() { return kHarvestDefenceProperties; }

template <class Model>
const Property<Model>* find_property(std::span<const Property<Model>> table, std::string_view name) {
  for (const Property<Model>& p : table) {
    if (iequals(p.name, name)) return &p;
  }
  return nullptr;
}

template const Property<ReceiveConnector>* find_property(std::span<const Property<ReceiveConnector>>, std::string_view);
template const Property<SendConnector>* find_property(std::span<const Property<SendConnector>>, std::string_view);
template const Property<AcceptedDomain>* find_property(std::span<const Property<AcceptedDomain>>, std::string_view);
template const Property<Mailbox>* find_property(std::span<const Property<Mailbox>>, std::string_view);
template const Property<RecipientFilterConfig>* find_property(std::span<const Property<RecipientFilterConfig>>,
                                                               std::string_view);
template const Property<TransportServerSettings>* find_property(std::span<const Property<TransportServerSettings>>,
                                                                 std::string_view);
template const Property<HarvestDefenceConfig>* find_property(std::span<const Property<HarvestDefenceConfig>>,
                                                              std::string_view);

std::string_view bool_text(bool value) { return value ? "true" : "false"; }

}  // namespace transport::store
