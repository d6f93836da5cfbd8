// The property tables: their agreement with the admin API's documented contract, and the messages
// that name the property and the allowed range.
#include "store/property.h"

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "store/value_error.h"
#include "transport_admin.pb.h"

namespace transport::store {
namespace {

namespace pb = ::google::protobuf;

// Every property of a store table appears in the proto message under its Exchange name, with the
// same default and a matching kind; every settable proto field has a table entry.
template <class Model>
void expect_table_matches_proto(std::span<const Property<Model>> table, const pb::Descriptor* message,
                                std::set<std::string> computed_defaults = {}) {
  for (const Property<Model>& p : table) {
    const pb::FieldDescriptor* field = nullptr;
    for (int i = 0; i < message->field_count(); ++i) {
      if (message->field(i)->json_name() == p.name) field = message->field(i);
    }
    ASSERT_NE(field, nullptr) << message->name() << " has no field for " << p.name;
    const auto& info = field->options().GetExtension(admin::v1::property);
    EXPECT_FALSE(info.output_only()) << p.name;
    if (!computed_defaults.count(std::string(p.name))) {
      EXPECT_EQ(info.default_value(), p.default_text) << p.name;
    }
    EXPECT_EQ(field->is_repeated(), p.kind == PropertyKind::list) << p.name;
    if (p.kind == PropertyKind::boolean) {
      EXPECT_EQ(field->cpp_type(), pb::FieldDescriptor::CPPTYPE_BOOL) << p.name;
    }
    if (p.kind == PropertyKind::integer) {
      EXPECT_EQ(field->cpp_type(), pb::FieldDescriptor::CPPTYPE_INT32) << p.name;
    }
  }
  for (int i = 0; i < message->field_count(); ++i) {
    const pb::FieldDescriptor* field = message->field(i);
    if (field->options().GetExtension(admin::v1::property).output_only()) continue;
    EXPECT_NE(find_property(table, field->json_name()), nullptr) << field->json_name() << " is not in the table";
  }
}

TEST(PropertyTables, AgreeWithTheAdminApiContract) {
  expect_table_matches_proto(receive_connector_properties(), admin::v1::ReceiveConnector::descriptor());
  expect_table_matches_proto(send_connector_properties(), admin::v1::SendConnector::descriptor());
  expect_table_matches_proto(accepted_domain_properties(), admin::v1::AcceptedDomain::descriptor());
  expect_table_matches_proto(mailbox_properties(), admin::v1::Mailbox::descriptor());
  expect_table_matches_proto(recipient_filter_properties(), admin::v1::RecipientFilterConfig::descriptor());
  expect_table_matches_proto(transport_server_properties(), admin::v1::TransportServer::descriptor());
  expect_table_matches_proto(harvest_defence_properties(), admin::v1::HarvestDefenceConfig::descriptor());
}

// The documented values with their remarks in parentheses left out: "0 (never disconnect) to 10".
std::string without_remarks(const std::string& text) {
  std::string out;
  int depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '(') {
      ++depth;
      if (!out.empty() && out.back() == ' ') out.pop_back();
    } else if (text[i] == ')') {
      --depth;
    } else if (depth == 0) {
      out += text[i];
    }
  }
  return out;
}

// A range is data in the table entry; the proto's words for it, which adminctl shows in --help and
// in its own range messages, must begin with exactly that range.
template <class Model>
void expect_documented_ranges(std::span<const Property<Model>> table, const pb::Descriptor* message) {
  for (const Property<Model>& p : table) {
    const pb::FieldDescriptor* field = nullptr;
    for (int i = 0; i < message->field_count(); ++i) {
      if (message->field(i)->json_name() == p.name) field = message->field(i);
    }
    ASSERT_NE(field, nullptr) << p.name;
    if (p.range.unit == ValueRange::Unit::none) continue;
    const std::string allowed = without_remarks(field->options().GetExtension(admin::v1::property).allowed());
    EXPECT_TRUE(allowed.starts_with(p.range.to_string())) << p.name << ": the proto says \"" << allowed
                                                          << "\", the table " << p.range.to_string();
  }
}

TEST(PropertyTables, TheProtoDocumentsEachRangeAsTheTableHoldsIt) {
  expect_documented_ranges(receive_connector_properties(), admin::v1::ReceiveConnector::descriptor());
  expect_documented_ranges(send_connector_properties(), admin::v1::SendConnector::descriptor());
  expect_documented_ranges(transport_server_properties(), admin::v1::TransportServer::descriptor());
  expect_documented_ranges(harvest_defence_properties(), admin::v1::HarvestDefenceConfig::descriptor());
}

TEST(PropertyTables, RangesReadAsTheMessagesWriteThem) {
  EXPECT_EQ(numbers(1, 100).to_string(), "1 to 100");
  EXPECT_EQ(numbers(0, 5, true).to_string(), "0 to 5, or unlimited");
  EXPECT_EQ(seconds(1, 7 * 86400).to_string(), "00:00:01 to 7.00:00:00");
  EXPECT_EQ(byte_sizes(ByteSize::kilobytes(64), ByteSize::gigabytes(2)).to_string(), "64KB to 2GB");
  EXPECT_EQ(ValueRange{}.to_string(), "");
}

template <class Model>
void expect_defaults_render_as_documented(std::span<const Property<Model>> table) {
  const Model model;
  for (const auto& p : table) {
    if (p.default_text.empty()) continue;
    PropertyValues values = p.render(model);
    std::string joined;
    for (const auto& v : values) joined += (joined.empty() ? "" : ",") + v;
    EXPECT_EQ(joined, p.default_text) << p.name;
  }
}

TEST(PropertyTables, DefaultsOfTheModelRenderAsTheDocumentedDefaults) {
  expect_defaults_render_as_documented(receive_connector_properties());
  expect_defaults_render_as_documented(send_connector_properties());
  expect_defaults_render_as_documented(transport_server_properties());
}

template <class Model>
void expect_rejection(std::span<const Property<Model>> table, const char* property, const char* value,
                      const char* message_fragment) {
  Model model;
  const auto* p = find_property(table, property);
  ASSERT_NE(p, nullptr) << property;
  try {
    p->assign(model, {value});
    ADD_FAILURE() << property << " accepted " << value;
  } catch (const ValidationError& e) {
    EXPECT_EQ(e.property(), property);
    EXPECT_NE(std::string(e.what()).find(message_fragment), std::string::npos)
        << property << "=" << value << ": " << e.what();
  }
}

TEST(PropertyTables, SendConnectorRejectionsNameThePropertyAndTheRange) {
  const auto table = send_connector_properties();
  expect_rejection(table, "Port", "0", "Port 0 is out of range: allowed 1 to 65535");
  expect_rejection(table, "Port", "65536", "allowed 1 to 65535");
  expect_rejection(table, "MaxMessageSize", "1KB", "MaxMessageSize 1KB is out of range: allowed 64KB to 2GB, or unlimited");
  expect_rejection(table, "ConnectionInactivityTimeout", "00:00:00",
                   "ConnectionInactivityTimeout 00:00:00 is out of range: allowed 00:00:01 to 1.00:00:00");
  expect_rejection(table, "SmtpMaxMessagesPerConnection", "0", "allowed 1 to 2147483647");
  expect_rejection(table, "SmtpMaxMessagesPerConnection", "2147483648", "allowed 1 to 2147483647");
  expect_rejection(table, "SmartHostAuthMechanism", "Kerberos", "None, BasicAuth or BasicAuthRequireTLS");
  expect_rejection(table, "AddressSpaces", "example.com;0", "AddressSpaces");
  expect_rejection(table, "SmartHosts", "2001:db8::1", "SmartHosts");
  expect_rejection(table, "DNSRoutingEnabled", "sometimes", "true or false");
  expect_rejection(table, "Fqdn", "not a host", "Fqdn");
  expect_rejection(table, "ProtocolLoggingLevel", "Loud", "None or Verbose");
  expect_rejection(table, "AuthenticationCredential", "user\nname", "control characters");
  expect_rejection(table, "Name", "a\\b", "may not contain");
}

TEST(PropertyTables, SendConnectorValuesAreShownCanonically) {
  SendConnector connector;
  auto set = [&](const char* name, PropertyValues values) {
    const auto* p = find_property(send_connector_properties(), name);
    p->assign(connector, values);
    return p->render(connector);
  };
  EXPECT_EQ(set("addressspaces", {"Example.COM", "smtp:*.Example.org;7", "*"}),
            (PropertyValues{"SMTP:example.com;1", "SMTP:*.example.org;7", "SMTP:*;1"}));
  EXPECT_EQ(set("SmartHosts", {"Relay.Example.com:587", "[2001:DB8::1]"}),
            (PropertyValues{"relay.example.com:587", "[2001:db8::1]"}));
  EXPECT_EQ(set("SmartHosts", {}), PropertyValues{});
  EXPECT_EQ(set("MaxMessageSize", {"Unlimited"}), PropertyValues{"unlimited"});
  EXPECT_EQ(set("MaxMessageSize", {"65536"}), PropertyValues{"64KB"});
  EXPECT_EQ(set("SmartHostAuthMechanism", {"basicauthrequiretls"}), PropertyValues{"BasicAuthRequireTLS"});
  EXPECT_EQ(set("Fqdn", {"Out.Example.com"}), PropertyValues{"out.example.com"});
  EXPECT_EQ(set("Fqdn", {""}), PropertyValues{""});  // the server's own name
  EXPECT_EQ(set("AuthenticationCredential", {"relay-user"}), PropertyValues{"relay-user"});
  EXPECT_EQ(connector.auth_password, "");  // the table never touches the password
}

TEST(PropertyTables, TransportServerQueueSettingsHaveExchangesRanges) {
  const auto table = transport_server_properties();
  expect_rejection(table, "TransientFailureRetryInterval", "00:00:00",
                   "TransientFailureRetryInterval 00:00:00 is out of range: allowed 00:00:01 to 12:00:00");
  expect_rejection(table, "TransientFailureRetryInterval", "12:00:01", "allowed 00:00:01 to 12:00:00");
  expect_rejection(table, "OutboundConnectionFailureRetryInterval", "1.00:00:01",
                   "allowed 00:00:01 to 1.00:00:00");
  expect_rejection(table, "MessageExpirationTimeout", "00:00:04", "allowed 00:00:05 to 90.00:00:00");
  expect_rejection(table, "MessageExpirationTimeout", "91.00:00:00", "allowed 00:00:05 to 90.00:00:00");
  expect_rejection(table, "DelayNotificationTimeout", "31.00:00:00", "allowed 00:00:01 to 30.00:00:00");
  expect_rejection(table, "MaxOutboundConnections", "0", "allowed 1 to 2147483647, or unlimited");
  expect_rejection(table, "MaxPerDomainOutboundConnections", "lots", "is not a whole number");

  // The short values tests need are allowed.
  TransportServerSettings settings;
  find_property(table, "TransientFailureRetryInterval")->assign(settings, {"00:00:01"});
  find_property(table, "OutboundConnectionFailureRetryInterval")->assign(settings, {"00:00:01"});
  find_property(table, "MessageExpirationTimeout")->assign(settings, {"00:00:05"});
  find_property(table, "DelayNotificationTimeout")->assign(settings, {"00:00:01"});
  find_property(table, "MaxOutboundConnections")->assign(settings, {"unlimited"});
  find_property(table, "MaxPerDomainOutboundConnections")->assign(settings, {"1"});
  EXPECT_EQ(settings.transient_failure_retry_interval.seconds(), 1);
  EXPECT_EQ(settings.outbound_connection_failure_retry_interval.seconds(), 1);
  EXPECT_EQ(settings.message_expiration_timeout.seconds(), 5);
  EXPECT_EQ(settings.delay_notification_timeout.seconds(), 1);
  EXPECT_FALSE(settings.max_outbound_connections.has_value());
  EXPECT_EQ(settings.max_per_domain_outbound_connections, 1);
}

struct Rejection {
  const char* property;
  const char* value;
  const char* message_fragment;
};

TEST(PropertyTables, RejectionsNameThePropertyAndTheAllowedValues) {
  const Rejection cases[] = {
      {"TarpitInterval", "00:10:01", "TarpitInterval 00:10:01 is out of range: allowed 00:00:00 to 00:10:00"},
      {"TarpitInterval", "1.00:00:00", "TarpitInterval 1.00:00:00 is out of range: allowed 00:00:00 to 00:10:00"},
      {"TarpitInterval", "5", "did you mean 00:00:05"},
      {"TarpitInterval", "-00:00:01", "TarpitInterval"},
      {"TarpitInterval", "00:00:01.5", "TarpitInterval"},
      {"ConnectionTimeout", "00:00:00", "ConnectionTimeout 00:00:00 is out of range: allowed 00:00:01 to 1.00:00:00"},
      {"MaxMessageSize", "1KB", "MaxMessageSize 1KB is out of range: allowed 64KB to 2GB"},
      {"MaxRecipientsPerMessage", "0", "MaxRecipientsPerMessage 0 is out of range: allowed 1 to 512000"},
      {"MaxRecipientsPerMessage", "many", "MaxRecipientsPerMessage: \"many\" is not a whole number: allowed 1 to 512000"},
      {"MaxInboundConnectionPerSource", "10001", "allowed 1 to 10000, or unlimited"},
      {"MaxLogonFailures", "11", "allowed 0 to 10"},
      {"MaxProtocolErrors", "x", "MaxProtocolErrors: \"x\" is not a whole number: allowed 0 to 2147483647, or unlimited"},
      {"Enabled", "maybe", "Enabled \"maybe\" is not allowed: true or false"},
      {"Banner", "hello", "Banner must start with \"220 \""},
      {"Name", "a\\b", "may not contain"},
      {"Name", "", "1 to 64 characters"},
      {"ProtocolLoggingLevel", "Loud", "None or Verbose"},
      {"TlsCertificatePath", "cert.pem", "absolute path"},
      {"Fqdn", "not a host", "Fqdn"},
  };
  for (const Rejection& c : cases) {
    ReceiveConnector connector;
    const auto* p = find_property(receive_connector_properties(), c.property);
    ASSERT_NE(p, nullptr) << c.property;
    try {
      p->assign(connector, {c.value});
      ADD_FAILURE() << c.property << " accepted " << c.value;
    } catch (const ValidationError& e) {
      EXPECT_EQ(e.property(), c.property);
      EXPECT_NE(std::string(e.what()).find(c.message_fragment), std::string::npos)
          << c.property << "=" << c.value << ": " << e.what();
    }
  }
}

// "unlimited" is accepted, so the message of a refused size says so (it used to say only "1MB to 1024GB").
TEST(PropertyTables, AnOutOfRangeDirectorySizeNamesUnlimitedToo) {
  TransportServerSettings settings;
  const auto* p = find_property(transport_server_properties(), "ReceiveProtocolLogMaxDirectorySize");
  try {
    p->assign(settings, {"512KB"});
    ADD_FAILURE() << "512KB accepted";
  } catch (const ValidationError& e) {
    EXPECT_STREQ(e.what(),
                 "ReceiveProtocolLogMaxDirectorySize 512KB is out of range: allowed 1MB to 1024GB, or unlimited");
  }
  p->assign(settings, {" Unlimited "});
  EXPECT_FALSE(settings.receive_protocol_log_max_directory_size.has_value());
}

// Limits count characters (code points), as the administrator counts them, not UTF-8 bytes.
TEST(PropertyTables, TextLimitsCountCharactersNotBytes) {
  std::string e_acute_64;
  for (int i = 0; i < 64; ++i) e_acute_64 += "\xc3\xa9";  // 64 characters, 128 bytes
  ReceiveConnector connector;
  const auto* name = find_property(receive_connector_properties(), "Name");
  EXPECT_NO_THROW(name->assign(connector, {e_acute_64}));
  EXPECT_EQ(connector.name, e_acute_64);
  try {
    name->assign(connector, {e_acute_64 + "x"});
    ADD_FAILURE() << "65 characters accepted";
  } catch (const ValidationError& e) {
    EXPECT_NE(std::string(e.what()).find("Name is 65 characters long: allowed at most 64"), std::string::npos)
        << e.what();
  }

  std::string comment;
  for (int i = 0; i < 1024; ++i) comment += "\xe2\x82\xac";  // 1024 euro signs, 3072 bytes
  const auto* comment_property = find_property(receive_connector_properties(), "Comment");
  EXPECT_NO_THROW(comment_property->assign(connector, {comment}));
  try {
    comment_property->assign(connector, {comment + "\xe2\x82\xac"});
    ADD_FAILURE() << "1025 characters accepted";
  } catch (const ValidationError& e) {
    EXPECT_NE(std::string(e.what()).find("Comment is 1025 characters long: allowed at most 1024"), std::string::npos)
        << e.what();
  }

  Mailbox mailbox;
  std::string display_name;
  for (int i = 0; i < 256; ++i) display_name += "\xf0\x9f\x93\xac";  // 256 four-byte characters
  const auto* display = find_property(mailbox_properties(), "DisplayName");
  EXPECT_NO_THROW(display->assign(mailbox, {display_name}));
  EXPECT_THROW(display->assign(mailbox, {display_name + "x"}), ValidationError);

  AcceptedDomain domain;
  EXPECT_NO_THROW(find_property(accepted_domain_properties(), "Name")->assign(domain, {e_acute_64}));
}

TEST(PropertyTables, InvalidUtf8IsRefusedNamingTheProperty) {
  ReceiveConnector connector;
  for (const char* property : {"Name", "Comment", "Banner"}) {
    try {
      find_property(receive_connector_properties(), property)->assign(connector, {"220 ab\xff"});
      ADD_FAILURE() << property << " accepted invalid UTF-8";
    } catch (const ValidationError& e) {
      EXPECT_EQ(e.property(), property);
      EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
    }
  }
  Mailbox mailbox;
  EXPECT_THROW(find_property(mailbox_properties(), "DisplayName")->assign(mailbox, {"\xc0\xaf"}), ValidationError);
}

TEST(PropertyTables, AcceptedValuesAreShownCanonically) {
  ReceiveConnector connector;
  auto set = [&](const char* name, PropertyValues values) {
    const auto* p = find_property(receive_connector_properties(), name);
    p->assign(connector, values);
    return p->render(connector);
  };
  EXPECT_EQ(set("tarpitinterval", {"0.00:09:00"}), PropertyValues{"00:09:00"});
  EXPECT_EQ(set("MaxInboundConnection", {"Unlimited"}), PropertyValues{"unlimited"});
  EXPECT_EQ(set("MaxMessageSize", {"25 mb"}), PropertyValues{"25MB"});
  EXPECT_EQ(set("Enabled", {"$false"}), PropertyValues{"false"});
  EXPECT_EQ(set("RemoteIPRanges", {"10.0.0.1", "10.0.1.0/24"}), (PropertyValues{"10.0.0.1", "10.0.1.0/24"}));
}

TEST(ReceiveConnectorValidation, CrossPropertyRules) {
  ReceiveConnector c;
  c.name = "X";
  c.bindings = {Binding::parse("127.0.0.1:25")};
  EXPECT_NO_THROW(validate(c));

  ReceiveConnector overlapping = c;
  overlapping.remote_ip_ranges = {IpRange::parse("10.0.0.0/8"), IpRange::parse("10.1.0.0/16")};
  EXPECT_THROW(validate(overlapping), ValidationError);

  // Among 20,000 disjoint entries, the one pair that overlaps is found and named in the order written.
  ReceiveConnector many = c;
  many.remote_ip_ranges.clear();
  for (std::uint32_t i = 0; i < 20000; ++i) many.remote_ip_ranges.push_back(IpRange::between(
      IpAddress::v4(0x0a000000u + i * 2), IpAddress::v4(0x0a000000u + i * 2)));
  EXPECT_NO_THROW(validate(many));
  many.remote_ip_ranges.push_back(IpRange::parse("10.0.0.0/30"));
  try {
    validate(many);
    ADD_FAILURE() << "an overlap was not found";
  } catch (const ValidationError& e) {
    EXPECT_NE(std::string(e.what()).find("entries 10.0.0.0-10.0.0.0 and 10.0.0.0/30 overlap"), std::string::npos) << e.what();
  }

  ReceiveConnector timeouts = c;
  timeouts.connection_timeout = TimeSpan::from_seconds(60);
  timeouts.connection_inactivity_timeout = TimeSpan::from_seconds(120);
  EXPECT_THROW(validate(timeouts), ValidationError);

  ReceiveConnector tls = c;
  tls.auth_mechanism = AuthMechanism{};
  tls.require_tls = true;
  EXPECT_THROW(validate(tls), ValidationError);

  ReceiveConnector external = c;
  external.auth_mechanism = AuthMechanism{AuthMechanismFlag::external_authoritative};
  EXPECT_THROW(validate(external), ValidationError);
  external.permission_groups = PermissionGroups{PermissionGroup::exchange_servers};
  EXPECT_NO_THROW(validate(external));
  external.auth_mechanism = AuthMechanism{AuthMechanismFlag::tls, AuthMechanismFlag::external_authoritative};
  EXPECT_NO_THROW(validate(external));  // the Trusted preset of adminctl --usage
  // Every session on it may relay: never with AnonymousUsers, whatever else is there.
  external.permission_groups = PermissionGroups{PermissionGroup::exchange_servers, PermissionGroup::anonymous_users};
  try {
    validate(external);
    ADD_FAILURE() << "ExternalAuthoritative accepted with AnonymousUsers";
  } catch (const ValidationError& e) {
    EXPECT_EQ(e.property(), "AuthMechanism");
    EXPECT_NE(std::string(e.what()).find("PermissionGroups with ExchangeServers and without AnonymousUsers"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("remove AnonymousUsers"), std::string::npos) << e.what();
  }
  external.permission_groups = PermissionGroups{PermissionGroup::partners};
  EXPECT_THROW(validate(external), ValidationError);

  ReceiveConnector no_bindings = c;
  no_bindings.bindings.clear();
  EXPECT_THROW(validate(no_bindings), ValidationError);
}

TEST(AcceptedDomain, WildcardMatchesParentAndSubdomains) {
  AcceptedDomain exact;
  exact.domain_name = normalize_domain_name("Example.COM");
  AcceptedDomain wild;
  wild.domain_name = normalize_domain_name("*.example.com");
  EXPECT_TRUE(exact.matches("EXAMPLE.com"));
  EXPECT_FALSE(exact.matches("a.example.com"));
  EXPECT_TRUE(wild.matches("example.com"));
  EXPECT_TRUE(wild.matches("mail.Example.com"));
  EXPECT_FALSE(wild.matches("badexample.com"));
  EXPECT_THROW(normalize_domain_name("exa mple.com"), ValueError);
  EXPECT_THROW(normalize_domain_name("-bad.com"), ValueError);
}

TEST(Mailbox, AddressSyntax) {
  EXPECT_EQ(normalize_address("John.Doe@Example.COM"), "John.Doe@example.com");
  EXPECT_THROW(normalize_address("no-at-sign"), ValueError);
  EXPECT_THROW(normalize_address(".dot@example.com"), ValueError);
  EXPECT_THROW(normalize_address("a..b@example.com"), ValueError);
  EXPECT_THROW(normalize_address(std::string(65, 'a') + "@example.com"), ValueError);
  EXPECT_THROW(normalize_address("a@*.example.com"), ValueError);
}

TEST(Mailbox, PasswordHashIsArgon2idAndVerifies) {
  std::string hash = hash_password("correct horse");
  EXPECT_TRUE(hash.starts_with("$argon2id$"));
  EXPECT_TRUE(verify_password(hash, "correct horse"));
  EXPECT_FALSE(verify_password(hash, "wrong"));
}

}  // namespace
}  // namespace transport::store
