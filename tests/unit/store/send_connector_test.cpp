// SendConnector: AddressSpace and SmartHost parsing and canonical text, the AddressSpace match and
// specificity rules routing relies on, and validate()'s rules across properties.
#include "store/send_connector.h"

#include <gtest/gtest.h>

#include "store/value_error.h"

namespace transport::store {
namespace {

TEST(AddressSpace, ParsesAndShowsCanonically) {
  const std::pair<const char*, const char*> cases[] = {
      {"*", "SMTP:*;1"},
      {"example.com", "SMTP:example.com;1"},
      {"SMTP:Example.COM;10", "SMTP:example.com;10"},
      {"smtp:*.example.com", "SMTP:*.example.com;1"},
      {" *.Sub.Example.com ; 100 ", "SMTP:*.sub.example.com;100"},
      {"*;5", "SMTP:*;5"},
      {"localhost", "SMTP:localhost;1"},
  };
  for (const auto& [text, canonical] : cases) {
    SCOPED_TRACE(text);
    const AddressSpace space = AddressSpace::parse(text);
    EXPECT_EQ(space.to_string(), canonical);
    EXPECT_EQ(AddressSpace::parse(space.to_string()), space);  // what is shown parses back to the same
  }
  EXPECT_EQ(AddressSpace::parse("example.com;7").cost, 7);
  EXPECT_EQ(AddressSpace::parse("Example.com").domain, "example.com");
}

TEST(AddressSpace, RefusesMalformedEntries) {
  for (const char* text : {"", "SMTP:", ";5", "example.com;0", "example.com;101", "example.com;x", "example.com;",
                           "exa mple.com", "*.", "**", "*example.com", "a.*.com", "example..com", "-a.com",
                           "X400:c=US", "example.com;-1"}) {
    SCOPED_TRACE(text);
    EXPECT_THROW(AddressSpace::parse(text), ValueError);
  }
  try {
    AddressSpace::parse("example.com;500");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("1-100"), std::string::npos) << e.what();
  }
}

TEST(AddressSpace, MatchesLikeAnAcceptedDomain) {
  const AddressSpace all = AddressSpace::parse("*");
  const AddressSpace exact = AddressSpace::parse("example.com");
  const AddressSpace wildcard = AddressSpace::parse("*.example.com");
  EXPECT_TRUE(all.matches("anything.test"));
  EXPECT_TRUE(all.matches("localhost"));
  EXPECT_TRUE(exact.matches("example.com"));
  EXPECT_TRUE(exact.matches("EXAMPLE.com"));
  EXPECT_FALSE(exact.matches("sub.example.com"));
  EXPECT_FALSE(exact.matches("example.co"));
  EXPECT_TRUE(wildcard.matches("example.com"));
  EXPECT_TRUE(wildcard.matches("sub.example.com"));
  EXPECT_TRUE(wildcard.matches("a.b.Example.Com"));
  EXPECT_FALSE(wildcard.matches("badexample.com"));
  EXPECT_FALSE(wildcard.matches("example.com.evil.test"));
  EXPECT_FALSE(wildcard.matches("com"));
}

TEST(AddressSpace, SpecificityOrdersExactOverWildcardAndLongerOverShorter) {
  EXPECT_EQ(AddressSpace::parse("*").specificity(), 0);
  EXPECT_EQ(AddressSpace::parse("*.example.com").specificity(), 4);
  EXPECT_EQ(AddressSpace::parse("example.com").specificity(), 5);
  EXPECT_EQ(AddressSpace::parse("*.sub.example.com").specificity(), 6);
  EXPECT_EQ(AddressSpace::parse("sub.example.com").specificity(), 7);
  EXPECT_EQ(AddressSpace::parse("*.com").specificity(), 2);
  // Cost does not change specificity: it only breaks ties between equally specific matches.
  EXPECT_EQ(AddressSpace::parse("example.com;50").specificity(), AddressSpace::parse("example.com").specificity());
}

TEST(SmartHost, ParsesNamesAddressesAndPorts) {
  struct Case {
    const char* text;
    const char* host;
    std::uint16_t port;
    bool address;
    const char* canonical;
  };
  const Case cases[] = {
      {"relay.example.com", "relay.example.com", 0, false, "relay.example.com"},
      {"Relay.Example.COM:587", "relay.example.com", 587, false, "relay.example.com:587"},
      {"localhost", "localhost", 0, false, "localhost"},
      {"192.0.2.10", "192.0.2.10", 0, true, "192.0.2.10"},
      {" 127.0.0.1:2525 ", "127.0.0.1", 2525, true, "127.0.0.1:2525"},
      {"[2001:DB8::1]", "2001:db8::1", 0, true, "[2001:db8::1]"},
      {"[::1]:65535", "::1", 65535, true, "[::1]:65535"},
      {"smtp-1.example.com:1", "smtp-1.example.com", 1, false, "smtp-1.example.com:1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const SmartHost host = SmartHost::parse(c.text);
    EXPECT_EQ(host.host, c.host);
    EXPECT_EQ(host.port, c.port);
    EXPECT_EQ(host.is_address(), c.address);
    EXPECT_EQ(host.to_string(), c.canonical);
    EXPECT_EQ(SmartHost::parse(host.to_string()), host);
  }
}

TEST(SmartHost, RefusesMalformedEntries) {
  for (const char* text : {"", "relay.example.com:", "relay.example.com:0", "relay.example.com:65536",
                           "relay.example.com:x", "2001:db8::1", "::1:25", "[192.0.2.1]", "[::1", "[::1]25",
                           "[::1]:", "[notv6]", "*.example.com", "10.0.0.256", "1.2.3", "exa mple.com",
                           "relay_1.example.com", "-relay.example.com"}) {
    SCOPED_TRACE(text);
    EXPECT_THROW(SmartHost::parse(text), ValueError);
  }
  try {
    SmartHost::parse("2001:db8::1");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("[2001:db8::1]"), std::string::npos) << e.what();
  }
}

SendConnector valid_connector() {
  SendConnector c;
  c.name = "Internet";
  c.address_spaces = {AddressSpace::parse("*")};
  return c;
}

std::string refused_property(const SendConnector& c) {
  try {
    validate(c);
  } catch (const ValidationError& e) {
    return e.property();
  }
  return "";
}

TEST(SendConnectorValidate, DefaultsWithAnAddressSpaceAreValid) {
  EXPECT_NO_THROW(validate(valid_connector()));
  SendConnector smart = valid_connector();
  smart.smart_hosts = {SmartHost::parse("relay.example.com"), SmartHost::parse("192.0.2.1:587")};
  smart.dns_routing_enabled = false;
  smart.smart_host_auth_mechanism = SmartHostAuthMechanism::basic_auth_require_tls;
  smart.require_tls = true;
  smart.auth_user = "relay-user";
  smart.auth_password = "secret";
  EXPECT_NO_THROW(validate(smart));
}

TEST(SendConnectorValidate, RefusesEachRuleNamingTheProperty) {
  SendConnector c = valid_connector();
  c.address_spaces.clear();
  EXPECT_EQ(refused_property(c), "AddressSpaces");

  c = valid_connector();
  c.address_spaces = {AddressSpace::parse("example.com;1"), AddressSpace::parse("EXAMPLE.com;5")};
  EXPECT_EQ(refused_property(c), "AddressSpaces");

  c = valid_connector();
  c.smart_hosts = {SmartHost::parse("relay.example.com")};
  EXPECT_EQ(refused_property(c), "DNSRoutingEnabled");  // smart hosts with DNS routing on

  c = valid_connector();
  c.dns_routing_enabled = false;
  EXPECT_EQ(refused_property(c), "DNSRoutingEnabled");  // neither DNS nor a smart host

  c = valid_connector();
  c.smart_hosts = {SmartHost::parse("relay.example.com"), SmartHost::parse("Relay.example.com")};
  c.dns_routing_enabled = false;
  EXPECT_EQ(refused_property(c), "SmartHosts");

  c = valid_connector();
  c.smart_host_auth_mechanism = SmartHostAuthMechanism::basic_auth;
  c.auth_user = "u";
  c.auth_password = "p";
  EXPECT_EQ(refused_property(c), "SmartHostAuthMechanism");  // authentication without smart hosts

  c.smart_hosts = {SmartHost::parse("relay.example.com")};
  c.dns_routing_enabled = false;
  EXPECT_EQ(refused_property(c), "");
  c.auth_password.clear();
  EXPECT_EQ(refused_property(c), "AuthenticationCredential");
  c.auth_password = "p";
  c.auth_user.clear();
  EXPECT_EQ(refused_property(c), "AuthenticationCredential");

  c.auth_user = "u";
  c.smart_host_auth_mechanism = SmartHostAuthMechanism::basic_auth_require_tls;
  EXPECT_EQ(refused_property(c), "RequireTLS");
  c.require_tls = true;
  EXPECT_EQ(refused_property(c), "");
}

}  // namespace
}  // namespace transport::store
