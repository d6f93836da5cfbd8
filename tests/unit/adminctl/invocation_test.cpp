// adminctl unit tests: building requests (identities, "-" from stdin, field masks, passwords, usage
// errors), rendering responses, and choosing the server.
#include <gtest/gtest.h>

#include <sstream>

#include "adminctl/invocation.h"
#include "adminctl/usage_error.h"
#include "transport_admin.pb.h"

namespace adminctl {
namespace {

namespace v1 = transport::admin::v1;

// Does what main.cpp's CLI11 parser does with the rewritten arguments, without CLI11.
Invocation parse(const std::vector<std::string>& args) {
  const PreparedArguments prepared = prepare_arguments(args);
  Invocation invocation;
  invocation.command = prepared.command;
  const auto& options = command_options(*prepared.command);
  for (std::size_t i = 1; i < prepared.args.size(); ++i) {
    const std::string& arg = prepared.args[i];
    const CommandOption* option = nullptr;
    std::string flag_value = "true";  // a flag's value after '=' (--confirm=false), as CLI11 keeps it
    for (const auto& candidate : options) {
      const std::string name = "--" + candidate.names.front();
      if (arg == name) option = &candidate;
      if (!candidate.takes_value && arg.rfind(name + "=", 0) == 0) {
        option = &candidate;
        flag_value = arg.substr(name.size() + 1);
      }
    }
    if (option == nullptr) {
      invocation.positionals.push_back(arg);
      continue;
    }
    const std::string value = option->takes_value ? prepared.args.at(++i) : flag_value;
    auto entry = std::find_if(invocation.given.begin(), invocation.given.end(),
                              [&](const auto& given) { return given.first == option; });
    if (entry == invocation.given.end()) {
      invocation.given.emplace_back(option, std::vector<std::string>{value});
    } else {
      entry->second.push_back(value);
    }
  }
  return invocation;
}

std::string never_prompted() {
  ADD_FAILURE() << "the password prompt was used";
  return {};
}

Plan plan(const std::vector<std::string>& args, const std::string& stdin_text = "",
          const PasswordPrompt& prompt = never_prompted) {
  std::istringstream input(stdin_text);
  return plan_call(parse(args), input, prompt);
}

template <class Request>
const Request& request_of(const Plan& p) {
  return dynamic_cast<const Request&>(*p.request);
}

std::vector<std::string> strings(const google::protobuf::RepeatedPtrField<std::string>& field) {
  return {field.begin(), field.end()};
}

std::string usage_error(const std::vector<std::string>& args, const std::string& stdin_text = "") {
  try {
    plan(args, stdin_text);
  } catch (const UsageError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(PlanSet, MaskNamesEveryGivenPropertyInFieldOrder) {
  const Plan p = plan({"set-receiveconnector", "Default", "-Enabled:$false", "--tarpit-interval", "00:00:10",
                       "--remote-ip-ranges", "10.0.0.1,10.0.0.0/24", "--RemoteIPRanges", "::1",
                       "--max-recipients-per-message", "300"});
  const auto& request = request_of<v1::SetReceiveConnectorRequest>(p);
  EXPECT_EQ(strings(request.identities()), std::vector<std::string>{"Default"});
  EXPECT_EQ(strings(request.update_mask().paths()),
            (std::vector<std::string>{"remote_ip_ranges", "tarpit_interval", "enabled", "max_recipients_per_message"}));
  EXPECT_EQ(request.values().tarpit_interval(), "00:00:10");
  EXPECT_FALSE(request.values().enabled());
  EXPECT_EQ(strings(request.values().remote_ip_ranges()), (std::vector<std::string>{"10.0.0.1", "10.0.0.0/24", "::1"}));
  EXPECT_EQ(request.values().max_recipients_per_message(), 300);
}

TEST(PlanSet, SeveralIdentitiesAndGlobsGoToTheServer) {
  const Plan p = plan({"set-receiveconnector", "Default*", "MAIL01\\Trusted", "*", "--comment", "x"});
  EXPECT_EQ(strings(request_of<v1::SetReceiveConnectorRequest>(p).identities()),
            (std::vector<std::string>{"Default*", "MAIL01\\Trusted", "*"}));
}

TEST(PlanSet, ExchangeIdentityFlagAddsToPositionals) {
  const Plan p = plan({"Set-ReceiveConnector", "-Identity", "Default, with comma", "Trusted", "--identity", "Lan",
                       "-Comment", "x"});
  EXPECT_EQ(strings(request_of<v1::SetReceiveConnectorRequest>(p).identities()),
            (std::vector<std::string>{"Trusted", "Default, with comma", "Lan"}));
  const Plan removed = plan({"remove-mailbox", "-Identity", "-"}, "a@example.com\n");
  EXPECT_EQ(strings(request_of<v1::RemoveRequest>(removed).identities()), std::vector<std::string>{"a@example.com"});
}

TEST(PlanSet, DashReadsIdentitiesFromStdin) {
  const Plan p = plan({"set-receiveconnector", "-", "--tarpit-interval", "00:00:07"},
                      "MAIL01\\Default MAIL01\n\n  MAIL01\\Second \r\n");
  EXPECT_EQ(strings(request_of<v1::SetReceiveConnectorRequest>(p).identities()),
            (std::vector<std::string>{"MAIL01\\Default MAIL01", "MAIL01\\Second"}));
}

TEST(PlanSet, UsageErrors) {
  EXPECT_EQ(usage_error({"set-receiveconnector", "Default"}),
            "set-receiveconnector: nothing to set; give at least one property flag (see set-receiveconnector --help)");
  EXPECT_NE(usage_error({"set-receiveconnector", "--enabled", "true"}).find("needs at least one identity"),
            std::string::npos);
  EXPECT_NE(usage_error({"set-receiveconnector", "-", "--enabled", "true"}, "\n \n").find("no identities on standard input"),
            std::string::npos);
  EXPECT_NE(usage_error({"set-receiveconnector", "-", "Default", "--enabled", "true"}).find("must be the only"),
            std::string::npos);
  EXPECT_EQ(usage_error({"set-receiveconnector", "Default", "--enabled", "perhaps"}),
            "Enabled 'perhaps' is not valid; allowed: true or false");
  EXPECT_EQ(usage_error({"set-receiveconnector", "Default", "--tarpit-interval", "1", "-TarpitInterval", "2"}),
            "TarpitInterval is given 2 times; give it once");
  EXPECT_NE(usage_error({"set-recipientfilterconfig", "x", "--block-list-enabled", "true"}).find("takes no identities"),
            std::string::npos);
}

TEST(PlanSet, InvalidUtf8IsAUsageErrorNamingTheProperty) {
  EXPECT_EQ(usage_error({"set-receiveconnector", "Default", "--comment", "ok \xff"}),
            "Comment is not valid UTF-8 (byte 0xff at offset 3): transportd keeps text as UTF-8");
  EXPECT_EQ(usage_error({"set-receiveconnector", "Default", "--remote-ip-ranges", "10.0.0.1,\xc3\x28"}),
            "RemoteIPRanges is not valid UTF-8 (byte 0xc3 at offset 0): transportd keeps text as UTF-8");
  EXPECT_EQ(usage_error({"set-receiveconnector", "-", "--enabled", "true"}, "Default\n\xed\xa0\x80\n"),
            "an identity is not valid UTF-8 (byte 0xed at offset 0): transportd keeps text as UTF-8");
  EXPECT_NO_THROW(plan({"set-receiveconnector", "Default", "--comment", "caf\xc3\xa9 \xf0\x9f\x93\xac"}));
}

TEST(PlanSet, RecipientFilterConfigHasNoIdentities) {
  const Plan p = plan({"set-recipientfilterconfig", "--block-list-enabled", "true", "--blocked-recipients",
                       "ceo@example.com", "--blocked-recipients", "cfo@example.com"});
  const auto& request = request_of<v1::SetRecipientFilterConfigRequest>(p);
  EXPECT_EQ(strings(request.update_mask().paths()), (std::vector<std::string>{"block_list_enabled", "blocked_recipients"}));
  EXPECT_EQ(strings(request.values().blocked_recipients()),
            (std::vector<std::string>{"ceo@example.com", "cfo@example.com"}));
}

TEST(PlanSet, EmptyListIsAPropertyToo) {
  const Plan p = plan({"set-recipientfilterconfig", "--blocked-recipients", ""});
  const auto& request = request_of<v1::SetRecipientFilterConfigRequest>(p);
  EXPECT_EQ(strings(request.update_mask().paths()), std::vector<std::string>{"blocked_recipients"});
  EXPECT_EQ(request.values().blocked_recipients_size(), 0);
}

TEST(PlanNew, PositionalFillsTheIdentityAndTheGivenMask) {
  const Plan p = plan({"new-receiveconnector", "Trusted", "--bindings", "127.0.0.1:2525", "--remote-ip-ranges",
                       "127.0.0.2", "--tarpit-interval", "00:00:00"});
  const auto& request = request_of<v1::NewReceiveConnectorRequest>(p);
  EXPECT_EQ(request.connector().name(), "Trusted");
  EXPECT_EQ(strings(request.connector().bindings()), std::vector<std::string>{"127.0.0.1:2525"});
  EXPECT_EQ(strings(request.given().paths()),
            (std::vector<std::string>{"name", "bindings", "remote_ip_ranges", "tarpit_interval"}));
  EXPECT_EQ(p.output.format, OutputFormat::List);
}

TEST(PlanNew, IdentityByFlag) {
  const Plan p = plan({"new-accepteddomain", "--name", "Example", "--domain-name", "example.com", "--default", "yes"});
  const auto& request = request_of<v1::NewAcceptedDomainRequest>(p);
  EXPECT_EQ(request.domain().name(), "Example");
  EXPECT_TRUE(request.domain().default_());
  EXPECT_EQ(strings(request.given().paths()), (std::vector<std::string>{"name", "domain_name", "default"}));
  // The same name twice is fine; two different names are not.
  EXPECT_NO_THROW(plan({"new-accepteddomain", "Example", "--name", "Example", "--domain-name", "example.com"}));
  EXPECT_NE(usage_error({"new-accepteddomain", "Example", "--name", "Other", "--domain-name", "example.com"})
                .find("given twice"),
            std::string::npos);
}

TEST(PlanNew, UsageErrors) {
  EXPECT_EQ(usage_error({"new-receiveconnector", "Trusted"}), "new-receiveconnector needs Bindings (--bindings)");
  EXPECT_EQ(usage_error({"new-receiveconnector", "--bindings", "127.0.0.1:25"}),
            "new-receiveconnector needs Name (first argument or --name)");
  EXPECT_NE(usage_error({"new-receiveconnector", "A", "B", "--bindings", "127.0.0.1:25"}).find("creates one"),
            std::string::npos);
  EXPECT_NE(usage_error({"new-mailbox", "-"}).find("creates one"), std::string::npos);
}

TEST(PlanNew, UsagePresetFillsFieldsAndMask) {
  const Plan p = plan({"new-receiveconnector", "Partner Contoso", "--usage", "trusted", "--bindings", "0.0.0.0:25",
                       "--remote-ip-ranges", "198.51.100.0/24"});
  const auto& request = request_of<v1::NewReceiveConnectorRequest>(p);
  EXPECT_EQ(strings(request.connector().permission_groups()), std::vector<std::string>{"ExchangeServers"});
  EXPECT_EQ(strings(request.connector().auth_mechanism()), (std::vector<std::string>{"Tls", "ExternalAuthoritative"}));
  EXPECT_EQ(request.connector().tarpit_interval(), "00:00:00");
  EXPECT_EQ(strings(request.given().paths()),
            (std::vector<std::string>{"name", "bindings", "remote_ip_ranges", "tarpit_interval", "permission_groups",
                                      "auth_mechanism"}));
}

TEST(PlanNew, ExplicitFlagsOverrideTheUsagePreset) {
  const Plan p = plan({"New-ReceiveConnector", "-Name", "T", "-Usage", "Trusted", "-Bindings", "127.0.0.1:25",
                       "--tarpit-interval", "00:00:01", "-AuthMechanism", "ExternalAuthoritative"});
  const auto& request = request_of<v1::NewReceiveConnectorRequest>(p);
  EXPECT_EQ(request.connector().tarpit_interval(), "00:00:01");
  EXPECT_EQ(strings(request.connector().auth_mechanism()), std::vector<std::string>{"ExternalAuthoritative"});
  EXPECT_EQ(strings(request.connector().permission_groups()), std::vector<std::string>{"ExchangeServers"});
  EXPECT_EQ(strings(request.given().paths()),
            (std::vector<std::string>{"name", "bindings", "tarpit_interval", "permission_groups", "auth_mechanism"}));
}

TEST(PlanNew, UsageCustomAndWithoutUsageSendOnlyTheGivenProperties) {
  for (const bool custom : {false, true}) {
    std::vector<std::string> args{"new-receiveconnector", "C", "--bindings", "127.0.0.1:25"};
    if (custom) args.insert(args.end(), {"--usage", "CUSTOM"});
    const Plan p = plan(args);
    const auto& request = request_of<v1::NewReceiveConnectorRequest>(p);
    EXPECT_EQ(strings(request.given().paths()), (std::vector<std::string>{"name", "bindings"}));
    EXPECT_EQ(request.connector().permission_groups_size(), 0);
  }
}

TEST(PlanNew, UsageErrorsForUsage) {
  EXPECT_EQ(usage_error({"new-receiveconnector", "C", "--bindings", "127.0.0.1:25", "--usage", "Intranet"}),
            "--usage 'Intranet' is not a usage type; allowed: Internet, Internal, Client, Partner, Custom, Trusted");
  EXPECT_EQ(usage_error({"new-receiveconnector", "C", "--bindings", "127.0.0.1:25", "--usage", "Client", "-Usage",
                         "Internet"}),
            "--usage is given 2 times; give it once");
  // A preset does not make a required property optional.
  EXPECT_NE(usage_error({"new-receiveconnector", "C", "--usage", "Internet"}).find("needs Bindings"), std::string::npos);
}

TEST(PlanMailbox, PasswordFromStdinNeverInTheMask) {
  const Plan p = plan({"new-mailbox", "alice@example.com", "--display-name", "Alice", "--email-addresses",
                       "al@example.com", "--password-stdin"},
                      "S3cret Pa55 \r\nsecond line\n");
  const auto& request = request_of<v1::NewMailboxRequest>(p);
  ASSERT_TRUE(request.has_password());
  EXPECT_EQ(request.password(), "S3cret Pa55 ");
  EXPECT_EQ(request.mailbox().primary_smtp_address(), "alice@example.com");
  EXPECT_EQ(strings(request.given().paths()),
            (std::vector<std::string>{"primary_smtp_address", "email_addresses", "display_name"}));
}

TEST(PlanMailbox, NoPasswordOptionMeansNoPassword) {
  const Plan p = plan({"new-mailbox", "bob@example.com"});
  EXPECT_FALSE(request_of<v1::NewMailboxRequest>(p).has_password());
}

TEST(PlanMailbox, PromptAndClear) {
  const Plan prompted = plan({"set-mailbox", "alice@example.com", "--password-prompt"}, "", [] { return "typed"; });
  const auto& request = request_of<v1::SetMailboxRequest>(prompted);
  EXPECT_EQ(request.password(), "typed");
  EXPECT_TRUE(request.update_mask().paths().empty());  // a password alone is something to set

  const Plan cleared = plan({"set-mailbox", "alice@example.com", "--clear-password"});
  ASSERT_TRUE(request_of<v1::SetMailboxRequest>(cleared).has_password());
  EXPECT_EQ(request_of<v1::SetMailboxRequest>(cleared).password(), "");
}

TEST(PlanMailbox, PasswordUsageErrors) {
  EXPECT_NE(usage_error({"set-mailbox", "-", "--password-stdin"}, "a@example.com\n").find("both read standard input"),
            std::string::npos);
  EXPECT_NE(usage_error({"set-mailbox", "a@example.com", "--password-stdin"}, "").find("no password"),
            std::string::npos);
  EXPECT_NE(usage_error({"new-mailbox", "a@example.com", "--password-stdin"}, "\n").find("no password"),
            std::string::npos);
  EXPECT_NE(usage_error({"set-mailbox", "a@example.com", "--password-stdin", "--clear-password"}, "x\n")
                .find("only one of"),
            std::string::npos);
}

TEST(PlanGet, IdentitiesAreOptionalAndOutputDefaultsPerFormat) {
  const Plan all = plan({"get-receiveconnector"});
  EXPECT_TRUE(request_of<v1::GetReceiveConnectorRequest>(all).identities().empty());
  EXPECT_TRUE(request_of<v1::GetReceiveConnectorRequest>(all).server().empty()) << "the node asked";
  EXPECT_EQ(all.output.format, OutputFormat::Table);
  ASSERT_EQ(all.output.properties.size(), 5u);
  EXPECT_EQ(all.output.properties.front()->json_name(), "Identity");

  const Plan listed = plan({"get-receiveconnector", "Default*", "--format", "LIST"});
  EXPECT_EQ(strings(request_of<v1::GetReceiveConnectorRequest>(listed).identities()), std::vector<std::string>{"Default*"});
  EXPECT_EQ(listed.output.format, OutputFormat::List);
  EXPECT_EQ(listed.output.properties.size(), static_cast<std::size_t>(v1::ReceiveConnector::descriptor()->field_count()));

  const Plan selected = plan({"get-mailbox", "--select", "HasPassword,primarysmtpaddress", "--format", "json"});
  ASSERT_EQ(selected.output.properties.size(), 2u);
  EXPECT_EQ(selected.output.properties[0]->json_name(), "HasPassword");
  EXPECT_EQ(selected.output.properties[1]->json_name(), "PrimarySmtpAddress");
}

TEST(PlanGet, ReceiveConnectorsOfAnotherServer) {
  const Plan other = plan({"get-receiveconnector", "--server", "MAIL02", "Default*"});
  EXPECT_EQ(request_of<v1::GetReceiveConnectorRequest>(other).server(), "MAIL02");
  EXPECT_EQ(strings(request_of<v1::GetReceiveConnectorRequest>(other).identities()), std::vector<std::string>{"Default*"});
  EXPECT_EQ(request_of<v1::GetReceiveConnectorRequest>(plan({"Get-ReceiveConnector", "-Server", "*"})).server(), "*");
}

TEST(PlanGet, UsageErrors) {
  EXPECT_NE(usage_error({"get-receiveconnector", "--select", "Nope"}).find("valid: Identity"), std::string::npos);
  EXPECT_NE(usage_error({"get-receiveconnector", "--format", "yaml"}).find("allowed: table, list, json or name"),
            std::string::npos);
  EXPECT_NE(usage_error({"get-recipientfilterconfig", "--format", "name"}).find("not available"), std::string::npos);
  EXPECT_NE(usage_error({"get-recipientfilterconfig", "x"}).find("takes no identities"), std::string::npos);
  EXPECT_NE(usage_error({"get-receiveconnector", "-"}, "").find("no identities on standard input"), std::string::npos);
}

TEST(PlanRemove, NeedsIdentities) {
  EXPECT_NE(usage_error({"remove-mailbox"}).find("needs at least one identity"), std::string::npos);
  const Plan p = plan({"remove-mailbox", "-"}, "a@example.com\nb@example.com\n");
  EXPECT_EQ(strings(request_of<v1::RemoveRequest>(p).identities()),
            (std::vector<std::string>{"a@example.com", "b@example.com"}));
}

TEST(PlanRemove, WhatIfAndConfirm) {
  const Plan plain = plan({"remove-receiveconnector", "A"});
  EXPECT_FALSE(request_of<v1::RemoveRequest>(plain).what_if());
  EXPECT_EQ(plain.confirmation, Confirmation::WhenNeeded);
  const Plan what_if = plan({"remove-receiveconnector", "A", "-WhatIf"});
  EXPECT_TRUE(what_if.what_if);
  EXPECT_TRUE(request_of<v1::RemoveRequest>(what_if).what_if());
  EXPECT_EQ(plan({"remove-receiveconnector", "A", "-Confirm:$false"}).confirmation, Confirmation::Never);
  EXPECT_EQ(plan({"remove-receiveconnector", "A", "--confirm=false"}).confirmation, Confirmation::Never);
  EXPECT_EQ(plan({"remove-receiveconnector", "A", "--confirm"}).confirmation, Confirmation::Always);
  EXPECT_NE(usage_error({"remove-receiveconnector", "A", "--confirm=perhaps"}).find("true or false"), std::string::npos);
}

TEST(RemovalQuestion, AskedForSeveralObjectsOrAnEmptiedBinding) {
  const Plan p = plan({"remove-receiveconnector", "*"});
  v1::RemoveResponse one;
  one.add_removed("MAIL01\\A");
  EXPECT_FALSE(removal_question(p, one));
  v1::RemoveResponse two = one;
  two.add_removed("MAIL01\\B");
  EXPECT_EQ(removal_question(p, two), "Remove 2 ReceiveConnector objects: MAIL01\\A, MAIL01\\B? [y/N] ");
  v1::RemoveResponse last = one;
  last.add_emptied_bindings("127.0.0.1:25");
  EXPECT_EQ(removal_question(p, last),
            "Remove 1 ReceiveConnector object: MAIL01\\A? Nothing would listen on 127.0.0.1:25 any more. [y/N] ");
  EXPECT_FALSE(removal_question(plan({"remove-receiveconnector", "*", "--confirm:$false"}), two));
  EXPECT_TRUE(removal_question(plan({"remove-receiveconnector", "A", "--confirm"}), one));
  const std::string refusal = confirmation_needed(p, two);
  EXPECT_NE(refusal.find("would remove 2 ReceiveConnector objects"), std::string::npos);
  EXPECT_NE(refusal.find("--confirm:$false"), std::string::npos);
}

TEST(PlanTest, RemoteIpAndLocal) {
  const Plan p = plan({"test-receiveconnector", "-RemoteIp", "127.0.0.2", "--local", "127.0.0.1:2525"});
  const auto& request = request_of<v1::TestReceiveConnectorRequest>(p);
  EXPECT_EQ(request.remote_ip(), "127.0.0.2");
  EXPECT_EQ(request.local_endpoint(), "127.0.0.1:2525");
  EXPECT_NE(usage_error({"test-receiveconnector", "--remote-ip", "127.0.0.2"}).find("needs --remote-ip"),
            std::string::npos);
}

TEST(PlanTest, RouteTakesOneRecipientAndAuthenticated) {
  // Each plan owns its request: keep it alive while the request is read.
  const auto request = [](const std::vector<std::string>& args) {
    const Plan p = plan(args);
    return v1::TestRouteRequest(request_of<v1::TestRouteRequest>(p));
  };
  const auto anonymous = request({"test-route", " bob@Example.COM "});
  EXPECT_EQ(anonymous.recipient(), "bob@Example.COM");  // the server checks and normalises it
  EXPECT_FALSE(anonymous.authenticated());
  EXPECT_TRUE(request({"Test-Route", "a@example.org", "-Authenticated:$true"}).authenticated());
  EXPECT_TRUE(request({"test-route", "a@example.org", "--authenticated", "true"}).authenticated());
  EXPECT_FALSE(request({"test-route", "--authenticated=false", "a@example.org"}).authenticated());
  EXPECT_EQ(request({"test-route", "postmaster"}).recipient(), "postmaster");
  EXPECT_NE(usage_error({"test-route"}).find("needs one RECIPIENT"), std::string::npos);
  EXPECT_NE(usage_error({"test-route", "a@example.org", "b@example.org"}).find("needs one RECIPIENT"),
            std::string::npos);
  EXPECT_NE(usage_error({"test-route", "a@example.org", "--authenticated", "maybe"}).find("--authenticated"),
            std::string::npos);
}

TEST(Render, TestRouteShowsEveryPropertyInOrder) {
  const Plan p = plan({"test-route", "bob@example.com"});
  v1::TestRouteResponse local;
  local.set_recipient("bob@example.com");
  local.set_result("Local");
  local.set_reply("250 2.1.5");
  local.set_mailbox("robert@example.com");
  local.set_accepted_domain("Example");
  local.set_delivery_type("MailboxDelivery");
  local.set_reason("delivered locally");
  EXPECT_EQ(render_response(p, local),
            "Recipient      : bob@example.com\n"
            "Result         : Local\n"
            "Reply          : 250 2.1.5\n"
            "Mailbox        : robert@example.com\n"
            "AcceptedDomain : Example\n"
            "SendConnector  : \n"
            "AddressSpace   : \n"
            "DeliveryType   : MailboxDelivery\n"
            "NextHop        : \n"
            "Reason         : delivered locally\n");
}

TEST(Render, NewPrintsTheObjectAsAList) {
  const Plan p = plan({"new-accepteddomain", "Example", "--domain-name", "example.com"});
  v1::AcceptedDomain created;
  created.set_identity("Example");
  created.set_name("Example");
  created.set_domain_name("example.com");
  created.set_domain_type("Authoritative");
  EXPECT_EQ(render_response(p, created),
            "Identity   : Example\n"
            "Name       : Example\n"
            "DomainName : example.com\n"
            "DomainType : Authoritative\n"
            "Default    : False\n");
}

TEST(Render, SetAndRemovePrintNothing) {
  v1::ReceiveConnectorList list;
  list.add_connectors()->set_name("Default");
  EXPECT_EQ(render_response(plan({"set-receiveconnector", "Default", "--enabled", "false"}), list), "");
  EXPECT_EQ(render_response(plan({"remove-receiveconnector", "Default"}), v1::RemoveResponse()), "");
}

TEST(Render, GetInEachFormat) {
  v1::ReceiveConnectorList list;
  auto* c = list.add_connectors();
  c->set_identity("MAIL01\\Default");
  c->set_name("Default");
  c->set_tarpit_interval("00:00:05");
  EXPECT_EQ(render_response(plan({"get-receiveconnector", "--format", "name"}), list), "MAIL01\\Default\n");
  EXPECT_EQ(render_response(plan({"get-receiveconnector", "--select", "Name,TarpitInterval"}), list),
            "Name     TarpitInterval\n"
            "----     --------------\n"
            "Default  00:00:05\n");
  EXPECT_EQ(render_response(plan({"get-receiveconnector", "--select", "Name", "--format", "json"}), list),
            "[\n  {\n    \"Name\": \"Default\"\n  }\n]\n");

  v1::RecipientFilterConfig config;
  config.set_recipient_validation_enabled(true);
  EXPECT_EQ(render_response(plan({"get-recipientfilterconfig", "--format", "json"}), config),
            "{\n  \"RecipientValidationEnabled\": true,\n  \"BlockListEnabled\": false,\n  \"BlockedRecipients\": []\n}\n");
  EXPECT_EQ(render_response(plan({"get-recipientfilterconfig"}), config),
            "RecipientValidationEnabled  BlockListEnabled  BlockedRecipients\n"
            "--------------------------  ----------------  -----------------\n"
            "True                        False\n");
}

TEST(Render, TestReceiveConnector) {
  const Plan p = plan({"test-receiveconnector", "--remote-ip", "127.0.0.2", "--local", "127.0.0.1:25"});
  v1::TestReceiveConnectorResponse matched;
  matched.set_matched(true);
  matched.set_connector("MAIL01\\Trusted");
  matched.set_matched_range("127.0.0.2");
  matched.set_reason("smallest range containing 127.0.0.2 on 127.0.0.1:25");
  // Aligned like --format list, one line each, the last one ended too.
  EXPECT_EQ(render_response(p, matched),
            "Connector    : MAIL01\\Trusted\n"
            "MatchedRange : 127.0.0.2\n"
            "Reason       : smallest range containing 127.0.0.2 on 127.0.0.1:25\n");
  v1::TestReceiveConnectorResponse none;
  none.set_reason("no enabled connector is bound to 127.0.0.1:25");
  EXPECT_EQ(render_response(p, none), "Connector : (none)\nReason    : no enabled connector is bound to 127.0.0.1:25\n");
}

TEST(Render, WhatIfSaysWhatWouldChange) {
  v1::ReceiveConnectorList list;
  auto* c = list.add_connectors();
  c->set_identity("MAIL01\\Default");
  c->set_tarpit_interval("00:00:09");
  c->add_remote_ip_ranges("10.0.0.1");
  c->set_comment("unchanged, not shown");
  EXPECT_EQ(render_response(plan({"set-receiveconnector", "Default", "--tarpit-interval", "00:00:09",
                                  "--add-remote-ip-ranges", "10.0.0.1", "--what-if"}),
                            list),
            "What if: would change MAIL01\\Default to\n"
            "RemoteIPRanges : 10.0.0.1\n"
            "TarpitInterval : 00:00:09\n");
  v1::RemoveResponse removed;
  removed.add_removed("MAIL01\\Default");
  removed.add_emptied_bindings("127.0.0.1:25");
  EXPECT_EQ(render_response(plan({"remove-receiveconnector", "*", "--what-if"}), removed),
            "What if: would remove MAIL01\\Default\n"
            "What if: nothing would listen on 127.0.0.1:25 any more (its last connector would go)\n");
  v1::RecipientFilterConfig filter;
  filter.set_block_list_enabled(true);
  EXPECT_EQ(render_response(plan({"set-recipientfilterconfig", "--block-list-enabled", "true", "--what-if"}), filter),
            "What if: would change the RecipientFilterConfig to\nBlockListEnabled : True\n");
}

TEST(PlanSet, ListEditsByFlagAndByExchangeHashtable) {
  const Plan p = plan({"set-receiveconnector", "Default", "--add-remote-ip-ranges", "10.0.0.5,10.0.0.6",
                       "--remove-remote-ip-ranges", "10.0.0.4", "-PermissionGroups", "@{Add='Partners'}"});
  const auto& request = request_of<v1::SetReceiveConnectorRequest>(p);
  EXPECT_TRUE(request.update_mask().paths().empty());
  ASSERT_EQ(request.list_edits_size(), 2);
  EXPECT_EQ(request.list_edits(0).property(), "remote_ip_ranges");
  EXPECT_EQ(strings(request.list_edits(0).add()), (std::vector<std::string>{"10.0.0.5", "10.0.0.6"}));
  EXPECT_EQ(strings(request.list_edits(0).remove()), std::vector<std::string>{"10.0.0.4"});
  EXPECT_EQ(request.list_edits(1).property(), "permission_groups");
  EXPECT_EQ(strings(request.list_edits(1).add()), std::vector<std::string>{"Partners"});
  EXPECT_EQ(request.values().remote_ip_ranges_size(), 0);  // an edit is not a new list
  ASSERT_EQ(p.changed.size(), 2u);
  EXPECT_EQ(p.changed[0]->name(), "remote_ip_ranges");

  const Plan hashtable = plan({"set-mailbox", "a@example.com", "--EmailAddresses",
                               "@{Add=\"b@example.com\",\"c@example.com\";Remove=\"d@example.com\"}"});
  const auto& mailbox = request_of<v1::SetMailboxRequest>(hashtable);
  ASSERT_EQ(mailbox.list_edits_size(), 1);
  EXPECT_EQ(strings(mailbox.list_edits(0).add()), (std::vector<std::string>{"b@example.com", "c@example.com"}));
  EXPECT_EQ(strings(mailbox.list_edits(0).remove()), std::vector<std::string>{"d@example.com"});
}

TEST(PlanSet, ListEditUsageErrors) {
  EXPECT_NE(usage_error({"set-receiveconnector", "D", "--remote-ip-ranges", "10.0.0.1", "--add-remote-ip-ranges", "10.0.0.2"})
                .find("both a new list and entries to add or remove"),
            std::string::npos);
  EXPECT_NE(usage_error({"set-receiveconnector", "D", "--remote-ip-ranges", "10.0.0.1", "--remote-ip-ranges", "@{Add=x}"})
                .find("both a new list"),
            std::string::npos);
  EXPECT_NE(usage_error({"set-receiveconnector", "D", "--remote-ip-ranges", "@{Add=x"}).find("no closing }"),
            std::string::npos);
  EXPECT_NE(usage_error({"new-receiveconnector", "N", "--bindings", "@{Add='127.0.0.1:25'}"}).find("no Bindings to edit"),
            std::string::npos);
  EXPECT_NE(usage_error({"set-receiveconnector", "D", "--add-remote-ip-ranges", ""}).find("no entry given"),
            std::string::npos);
}

TEST(PlanSet, ANumberTooLargeForItsFieldIsOutOfRangeAfterUsageErrors) {
  try {
    plan({"set-receiveconnector", "D", "--max-recipients-per-message", "99999999999"});
    ADD_FAILURE() << "no OutOfRange";
  } catch (const OutOfRange& e) {
    EXPECT_STREQ(e.what(), "MaxRecipientsPerMessage 99999999999 is out of range: allowed 1 to 512000");
  }
  EXPECT_NE(usage_error({"set-receiveconnector", "D", "--max-recipients-per-message", "99999999999", "--enabled", "x"})
                .find("Enabled"),
            std::string::npos);
  EXPECT_THROW(plan({"get-messagetrackinglog", "--result-size", "-99999999999999999999"}), OutOfRange);
}

TEST(ReadLines, IdentitiesAndPassword) {
  std::istringstream identities("a\n\n  b  \r\n\t\nc");
  EXPECT_EQ(read_identity_lines(identities), (std::vector<std::string>{"a", "b", "c"}));
  std::istringstream with_newline("pw with spaces \n");
  EXPECT_EQ(read_password_line(with_newline), "pw with spaces ");
  std::istringstream without_newline("pw");
  EXPECT_EQ(read_password_line(without_newline), "pw");
  std::istringstream crlf("pw\r\n");
  EXPECT_EQ(read_password_line(crlf), "pw");
  std::istringstream empty("");
  EXPECT_EQ(read_password_line(empty), std::nullopt);
}

TEST(ServerTarget, FlagThenEnvironmentThenDefault) {
  EXPECT_EQ(server_target(std::nullopt, nullptr), "unix:/var/lib/transportd/admin.sock");
  EXPECT_EQ(server_target(std::nullopt, ""), "unix:/var/lib/transportd/admin.sock");
  EXPECT_EQ(server_target(std::nullopt, "unix:/tmp/x/admin.sock"), "unix:/tmp/x/admin.sock");
  EXPECT_EQ(server_target(std::string("unix:/a.sock"), "unix:/b.sock"), "unix:/a.sock");
  EXPECT_EQ(server_target(std::string("/tmp/x/admin.sock"), nullptr), "unix:/tmp/x/admin.sock");
  EXPECT_EQ(server_target(std::nullopt, "./admin.sock"), "unix:./admin.sock");
  EXPECT_EQ(server_target(std::string("admin.sock"), nullptr), "unix:admin.sock");
  EXPECT_THROW(server_target(std::string(""), nullptr), UsageError);
}

}  // namespace
}  // namespace adminctl
