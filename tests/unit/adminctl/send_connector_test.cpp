// adminctl unit tests: new-/set-/get-/remove-sendconnector requests (Exchange spellings, lists, the
// credential's password read like a mailbox's and never in the mask), the output of a connector, and
// set-transportserver's queue settings.
#include <gtest/gtest.h>

#include <sstream>

#include "adminctl/invocation.h"
#include "adminctl/usage_error.h"
#include "cli_parse.h"
#include "transport_admin.pb.h"

namespace adminctl {
namespace {

namespace v1 = transport::admin::v1;
using testing::parse;

std::vector<std::string> strings(const google::protobuf::RepeatedPtrField<std::string>& field) {
  return {field.begin(), field.end()};
}

Plan plan_with(const std::vector<std::string>& args, const std::string& stdin_text,
               const PasswordPrompt& prompt = [] { return std::string(); }) {
  std::istringstream input(stdin_text);
  return plan_call(parse(args), input, prompt);
}

TEST(SendConnectorPlan, NewTakesExchangeSpellingsListsAndAPasswordFromStdin) {
  const Plan p = plan_with({"New-SendConnector", "-Name", "Relay", "-AddressSpaces", "example.com;5,*.example.org",
                            "-SmartHosts", "relay.example.com:587", "--smart-hosts", "[::1]",
                            "-SmartHostAuthMechanism", "BasicAuth", "--authentication-credential", "relay-user",
                            "-Port", "2525", "--password-stdin"},
                           "pa55 word\nignored\n");
  const auto& request = dynamic_cast<const v1::NewSendConnectorRequest&>(*p.request);
  EXPECT_EQ(request.connector().name(), "Relay");
  EXPECT_EQ(strings(request.connector().address_spaces()),
            (std::vector<std::string>{"example.com;5", "*.example.org"}));
  EXPECT_EQ(strings(request.connector().smart_hosts()), (std::vector<std::string>{"relay.example.com:587", "[::1]"}));
  EXPECT_EQ(request.connector().port(), 2525);
  EXPECT_EQ(request.connector().authentication_credential(), "relay-user");
  ASSERT_TRUE(request.has_password());
  EXPECT_EQ(request.password(), "pa55 word");
  // DNSRoutingEnabled was not given: the server makes it follow SmartHosts.
  EXPECT_EQ(strings(request.given().paths()),
            (std::vector<std::string>{"name", "address_spaces", "smart_hosts", "port", "smart_host_auth_mechanism",
                                      "authentication_credential"}));
}

TEST(SendConnectorPlan, NewNeedsNameAndAddressSpaces) {
  EXPECT_NE(testing::usage_error({"new-sendconnector", "Internet"}).find("AddressSpaces"), std::string::npos);
  EXPECT_NE(testing::usage_error({"new-sendconnector", "--address-spaces", "*"}).find("Name"), std::string::npos);
  EXPECT_EQ(testing::usage_error({"new-sendconnector", "Internet", "--address-spaces", "*"}), "(no error)");
}

TEST(SendConnectorPlan, SetTakesGlobsListEditsPasswordsAndNothingElseIsAUsageError) {
  const Plan edits = testing::plan({"set-sendconnector", "Relay*", "Internet", "--add-smart-hosts", "a.example.com",
                                    "--remove-address-spaces", "*"});
  const auto& request = dynamic_cast<const v1::SetSendConnectorRequest&>(*edits.request);
  EXPECT_EQ(strings(request.identities()), (std::vector<std::string>{"Relay*", "Internet"}));
  ASSERT_EQ(request.list_edits_size(), 2);
  EXPECT_TRUE(request.update_mask().paths().empty());
  EXPECT_FALSE(request.has_password());

  const Plan prompted = plan_with({"set-sendconnector", "Relay", "--password-prompt"}, "", [] { return "typed"; });
  EXPECT_EQ(dynamic_cast<const v1::SetSendConnectorRequest&>(*prompted.request).password(), "typed");
  const Plan cleared = testing::plan({"set-sendconnector", "Relay", "--clear-password"});
  const auto& clear_request = dynamic_cast<const v1::SetSendConnectorRequest&>(*cleared.request);
  ASSERT_TRUE(clear_request.has_password());
  EXPECT_EQ(clear_request.password(), "");

  EXPECT_NE(testing::usage_error({"set-sendconnector", "Relay"}).find("nothing to set"), std::string::npos);
  EXPECT_NE(testing::usage_error({"set-sendconnector", "--port", "26"}).find("at least one identity"),
            std::string::npos);
  EXPECT_NE(testing::usage_error({"set-sendconnector", "Relay", "--password", "x"}).find("never taken"),
            std::string::npos);
  EXPECT_NE(testing::usage_error({"set-sendconnector", "Relay", "--port", "many"}), "(no error)");
  EXPECT_NE(testing::usage_error({"set-sendconnector", "Relay", "--require-tls", "maybe"}), "(no error)");
}

TEST(SendConnectorPlan, DashReadsIdentitiesAndCannotShareStdinWithThePassword) {
  const Plan p = plan_with({"set-sendconnector", "-", "--enabled", "false"}, "Internet\nRelay\n");
  EXPECT_EQ(strings(dynamic_cast<const v1::SetSendConnectorRequest&>(*p.request).identities()),
            (std::vector<std::string>{"Internet", "Relay"}));
  try {
    plan_with({"set-sendconnector", "-", "--password-stdin"}, "Relay\n");
    ADD_FAILURE() << "'-' and --password-stdin were both accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("both read standard input"), std::string::npos) << e.what();
  }
}

TEST(SendConnectorRender, GetShowsTheCredentialAsTheUserNameInEveryFormat) {
  v1::SendConnectorList list;
  auto* c = list.add_connectors();
  c->set_identity("Relay");
  c->set_name("Relay");
  c->add_address_spaces("SMTP:example.com;5");
  c->add_smart_hosts("relay.example.com:587");
  c->add_smart_hosts("[::1]");
  c->set_dns_routing_enabled(false);
  c->set_enabled(true);
  c->set_authentication_credential("relay-user");
  EXPECT_EQ(render_response(testing::plan({"get-sendconnector"}), list),
            "Identity  AddressSpaces       SmartHosts                   DNSRoutingEnabled  Enabled\n"
            "--------  -------------       ----------                   -----------------  -------\n"
            "Relay     SMTP:example.com;5  relay.example.com:587,[::1]  False              True\n");
  EXPECT_EQ(render_response(testing::plan({"get-sendconnector", "--format", "name"}), list), "Relay\n");
  EXPECT_EQ(render_response(testing::plan({"get-sendconnector", "--select", "SmartHosts,AuthenticationCredential",
                                           "--format", "json"}),
                            list),
            "[\n  {\n    \"SmartHosts\": [\"relay.example.com:587\", \"[::1]\"],\n"
            "    \"AuthenticationCredential\": \"relay-user\"\n  }\n]\n");
}

TEST(TransportServerPlan, QueueSettingsAreSettableByEitherSpelling) {
  const Plan p = testing::plan({"Set-TransportServer", "-TransientFailureRetryInterval", "00:00:01",
                                "--max-per-domain-outbound-connections", "unlimited", "-MessageExpirationTimeout",
                                "00:00:05"});
  const auto& request = dynamic_cast<const v1::SetTransportServerRequest&>(*p.request);
  EXPECT_EQ(request.values().transient_failure_retry_interval(), "00:00:01");
  EXPECT_EQ(request.values().max_per_domain_outbound_connections(), "unlimited");
  EXPECT_EQ(strings(request.update_mask().paths()),
            (std::vector<std::string>{"transient_failure_retry_interval", "message_expiration_timeout",
                                      "max_per_domain_outbound_connections"}));
}

}  // namespace
}  // namespace adminctl
