// adminctl unit tests: the command table, and the flag names and help derived from the proto.
#include <gtest/gtest.h>

#include <cctype>
#include <set>

#include "adminctl/arguments.h"
#include "adminctl/command_table.h"
#include "adminctl/properties.h"
#include "transport_admin.pb.h"

namespace adminctl {
namespace {

namespace v1 = transport::admin::v1;

TEST(CommandTable, HasEveryCommandWithItsRpc) {
  const std::vector<std::pair<std::string, std::string>> expected{
      {"get-receiveconnector", "GetReceiveConnector"},
      {"new-receiveconnector", "NewReceiveConnector"},
      {"set-receiveconnector", "SetReceiveConnector"},
      {"remove-receiveconnector", "RemoveReceiveConnector"},
      {"test-receiveconnector", "TestReceiveConnector"},
      {"get-sendconnector", "GetSendConnector"},
      {"new-sendconnector", "NewSendConnector"},
      {"set-sendconnector", "SetSendConnector"},
      {"remove-sendconnector", "RemoveSendConnector"},
      {"get-accepteddomain", "GetAcceptedDomain"},
      {"new-accepteddomain", "NewAcceptedDomain"},
      {"set-accepteddomain", "SetAcceptedDomain"},
      {"remove-accepteddomain", "RemoveAcceptedDomain"},
      {"get-mailbox", "GetMailbox"},
      {"new-mailbox", "NewMailbox"},
      {"set-mailbox", "SetMailbox"},
      {"remove-mailbox", "RemoveMailbox"},
      {"get-recipientfilterconfig", "GetRecipientFilterConfig"},
      {"set-recipientfilterconfig", "SetRecipientFilterConfig"},
      {"get-messagetrackinglog", "GetMessageTrackingLog"},
      {"get-transportserver", "GetTransportServer"},
      {"set-transportserver", "SetTransportServer"},
      {"get-harvestdefenceconfig", "GetHarvestDefenceConfig"},
      {"set-harvestdefenceconfig", "SetHarvestDefenceConfig"},
      {"get-sourcereputation", "GetSourceReputation"},
      {"clear-sourcereputation", "ClearSourceReputation"},
      {"get-queue", "GetQueue"},
      {"retry-queue", "RetryQueue"},
      {"suspend-queue", "SuspendQueue"},
      {"resume-queue", "ResumeQueue"},
      {"get-message", "GetMessage"},
      {"suspend-message", "SuspendMessage"},
      {"resume-message", "ResumeMessage"},
      {"remove-message", "RemoveMessage"},
      {"test-route", "TestRoute"},
  };
  ASSERT_EQ(commands().size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(commands()[i].name, expected[i].first);
    EXPECT_EQ(commands()[i].rpc->full_name(), "transport.admin.v1.TransportAdmin." + expected[i].second);
    EXPECT_FALSE(commands()[i].summary.empty());
  }
}

TEST(CommandTable, FindsCommandsCaseInsensitively) {
  ASSERT_NE(find_command("Get-ReceiveConnector"), nullptr);
  EXPECT_EQ(find_command("Get-ReceiveConnector")->name, "get-receiveconnector");
  EXPECT_EQ(find_command("SET-MAILBOX"), find_command("set-mailbox"));
  EXPECT_EQ(find_command("get-receiveconnectors"), nullptr);
  EXPECT_EQ(find_command(""), nullptr);
}

TEST(CommandTable, KindsKnowTheirIdentityAndColumns) {
  const auto& connector = *find_command("get-receiveconnector")->kind;
  EXPECT_EQ(connector.message, v1::ReceiveConnector::descriptor());
  EXPECT_EQ(connector.identity_field->name(), "name");
  EXPECT_EQ(connector.shown_identity_field->name(), "identity");
  std::vector<std::string> columns;
  for (const auto* field : connector.default_columns) columns.push_back(field->json_name());
  EXPECT_EQ(columns, (std::vector<std::string>{"Identity", "Bindings", "RemoteIPRanges", "TarpitInterval", "Enabled"}));

  const auto& mailbox = *find_command("new-mailbox")->kind;
  EXPECT_EQ(mailbox.identity_field->name(), "primary_smtp_address");
  EXPECT_TRUE(mailbox.has_password);

  const auto& filter = *find_command("get-recipientfilterconfig")->kind;
  EXPECT_TRUE(filter.singleton);
  EXPECT_EQ(filter.identity_field, nullptr);
}

TEST(CommandTable, TransportServerIsASingletonWithSettings) {
  const Command* get = find_command("Get-TransportServer");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->verb, Verb::Get);
  const auto& server = *get->kind;
  EXPECT_EQ(server.message, v1::TransportServer::descriptor());
  EXPECT_TRUE(server.singleton);
  EXPECT_FALSE(server.query);
  EXPECT_EQ(server.identity_field, nullptr);
  std::vector<std::string> columns;
  for (const auto* field : server.default_columns) columns.push_back(field->json_name());
  EXPECT_EQ(columns, (std::vector<std::string>{"Name", "Version", "Uptime", "OpenSessions", "TarpittedSessions"}));
  EXPECT_EQ(find_command("new-transportserver"), nullptr);
  EXPECT_EQ(find_command("remove-transportserver"), nullptr);
  std::vector<std::string> options;
  for (const auto& option : command_options(*get)) options.push_back(option.names.front());
  EXPECT_EQ(options, (std::vector<std::string>{"select", "format"}));
  // set- takes the settings only: the rest is output only.
  options.clear();
  for (const auto& option : command_options(*find_command("set-transportserver"))) {
    options.push_back(option.names.front());
  }
  EXPECT_EQ(options, (std::vector<std::string>{"receive-protocol-log-max-age",
                                               "receive-protocol-log-max-directory-size",
                                               "transient-failure-retry-interval",
                                               "outbound-connection-failure-retry-interval",
                                               "message-expiration-timeout", "delay-notification-timeout",
                                               "max-outbound-connections", "max-per-domain-outbound-connections",
                                               "what-if"}));
}

TEST(CommandTable, SendConnectorIsNamedByItsNameAndTakesACredentialPassword) {
  const auto& connector = *find_command("Get-SendConnector")->kind;
  EXPECT_EQ(connector.message, v1::SendConnector::descriptor());
  EXPECT_EQ(connector.identity_field->name(), "name");
  EXPECT_EQ(connector.shown_identity_field->name(), "identity");
  EXPECT_TRUE(connector.has_password);
  EXPECT_FALSE(connector.singleton);
  EXPECT_EQ(find_command("test-sendconnector"), nullptr);
  std::set<std::string> set_flags;
  for (const auto& option : command_options(*find_command("set-sendconnector"))) {
    set_flags.insert(option.names.begin(), option.names.end());
  }
  for (const char* flag : {"address-spaces", "AddressSpaces", "add-smart-hosts", "remove-smart-hosts",
                           "dns-routing-enabled", "DNSRoutingEnabled", "require-tls", "RequireTLS",
                           "smart-host-auth-mechanism", "authentication-credential", "AuthenticationCredential",
                           "smtp-max-messages-per-connection", "password-stdin", "password-prompt", "clear-password",
                           "identity", "what-if"}) {
    EXPECT_EQ(set_flags.count(flag), 1u) << flag;
  }
  std::set<std::string> new_flags;
  for (const auto& option : command_options(*find_command("new-sendconnector"))) {
    new_flags.insert(option.names.begin(), option.names.end());
  }
  EXPECT_EQ(new_flags.count("password-stdin"), 1u);
  EXPECT_EQ(new_flags.count("clear-password"), 0u);
  EXPECT_EQ(new_flags.count("password"), 0u);  // never on the command line
}

TEST(FlagNames, EveryReceiveConnectorFieldHasKebabAndExchangeNames) {
  const auto& descriptor = *v1::ReceiveConnector::descriptor();
  const auto& options = command_options(*find_command("set-receiveconnector"));
  std::set<std::string> all_names;
  std::set<std::string> property_names;
  int properties = 0;
  for (const auto& option : options) {
    for (const auto& name : option.names) EXPECT_TRUE(all_names.insert(name).second) << "duplicate " << name;
    if (option.role != OptionRole::Property) continue;
    ++properties;
    property_names.insert(option.names.begin(), option.names.end());
  }
  // Every field except the output-only ones (Identity, BindingStatus) is a flag.
  int output_only = 0;
  for (int i = 0; i < descriptor.field_count(); ++i) output_only += property_info(*descriptor.field(i)).output_only();
  EXPECT_EQ(output_only, 2);
  EXPECT_EQ(properties, descriptor.field_count() - output_only);
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const auto& field = *descriptor.field(i);
    if (field.name() == "binding_status") {
      EXPECT_EQ(property_names.count("binding-status"), 0u);
      continue;
    }
    if (field.name() == "identity") {
      EXPECT_TRUE(property_info(field).output_only());
      EXPECT_EQ(property_names.count("identity"), 0u);  // --identity names objects, it sets nothing
      continue;
    }
    std::string kebab = field.name();
    for (char& c : kebab) c = c == '_' ? '-' : c;
    EXPECT_EQ(kebab_name(field), kebab);
    EXPECT_EQ(property_names.count(kebab), 1u) << kebab;
    // The Exchange name is accepted too: as its own alias, or as the kebab name in another case.
    const auto names = flag_names(field);
    EXPECT_EQ(names.front(), kebab);
    if (names.size() == 2) {
      EXPECT_EQ(names[1], field.json_name());
    } else {
      std::string lower = field.json_name();
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      EXPECT_EQ(lower, kebab);
    }
  }
  EXPECT_EQ(flag_names(*descriptor.FindFieldByName("tarpit_interval")),
            (std::vector<std::string>{"tarpit-interval", "TarpitInterval"}));
  EXPECT_EQ(flag_names(*descriptor.FindFieldByName("remote_ip_ranges")),
            (std::vector<std::string>{"remote-ip-ranges", "RemoteIPRanges"}));
  EXPECT_EQ(flag_names(*descriptor.FindFieldByName("enabled")), (std::vector<std::string>{"enabled"}));
  EXPECT_EQ(flag_names(*descriptor.FindFieldByName("require_tls")),
            (std::vector<std::string>{"require-tls", "RequireTLS"}));
}

TEST(FlagNames, HelpShowsAllowedValuesAndDefault) {
  const auto& descriptor = *v1::ReceiveConnector::descriptor();
  EXPECT_EQ(flag_help(*descriptor.FindFieldByName("tarpit_interval"), false),
            "TarpitInterval: 00:00:00 (off) to 00:10:00, written hh:mm:ss; default: 00:00:05");
  EXPECT_EQ(flag_help(*descriptor.FindFieldByName("bindings"), true).substr(0, 58),
            "Bindings (required) [list: comma-separated or repeated]: I");
  EXPECT_EQ(flag_help(*descriptor.FindFieldByName("name"), false).find("required"), std::string::npos);
}

TEST(CommandOptions, DependOnTheVerb) {
  auto names = [](const char* command) {
    std::vector<std::string> out;
    for (const auto& option : command_options(*find_command(command))) {
      if (option.role != OptionRole::Property) out.push_back(option.names.front());
    }
    return out;
  };
  EXPECT_EQ(names("get-receiveconnector"), (std::vector<std::string>{"identity", "select", "format", "server"}));
  EXPECT_EQ(names("get-recipientfilterconfig"), (std::vector<std::string>{"select", "format"}));
  EXPECT_EQ(names("remove-receiveconnector"), (std::vector<std::string>{"identity", "what-if", "confirm"}));
  EXPECT_EQ(names("test-receiveconnector"), (std::vector<std::string>{"remote-ip", "local"}));
  EXPECT_EQ(names("test-route"), (std::vector<std::string>{"authenticated"}));
  EXPECT_EQ(names("new-mailbox"), (std::vector<std::string>{"password-stdin", "password-prompt", "what-if"}));
  EXPECT_EQ(names("set-mailbox"),
            (std::vector<std::string>{"identity", "add-email-addresses", "remove-email-addresses", "password-stdin",
                                      "password-prompt", "clear-password", "what-if"}));
  EXPECT_EQ(names("set-accepteddomain"), (std::vector<std::string>{"identity", "what-if"}));
  EXPECT_EQ(names("set-recipientfilterconfig"),
            (std::vector<std::string>{"add-blocked-recipients", "remove-blocked-recipients", "what-if"}));
  EXPECT_EQ(names("new-receiveconnector"), (std::vector<std::string>{"usage", "what-if"}));
  EXPECT_EQ(names("set-receiveconnector"),
            (std::vector<std::string>{"identity", "add-bindings", "remove-bindings", "add-remote-ip-ranges",
                                      "remove-remote-ip-ranges", "add-permission-groups", "remove-permission-groups",
                                      "add-auth-mechanism", "remove-auth-mechanism", "what-if"}));
  EXPECT_EQ(names("new-accepteddomain"), std::vector<std::string>{"what-if"});
  // No flag ever takes a password as its value.
  for (const auto& command : commands()) {
    for (const auto& option : command_options(command)) {
      for (const auto& name : option.names) EXPECT_NE(name, "password");
    }
  }
}

}  // namespace
}  // namespace adminctl
