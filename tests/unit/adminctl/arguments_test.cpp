// adminctl unit tests: argv rewriting (Exchange one-dash spellings, -Name:value, values that start
// with '-') and finding the command word.
#include <gtest/gtest.h>

#include "adminctl/arguments.h"
#include "adminctl/usage_error.h"

namespace adminctl {
namespace {

using Args = std::vector<std::string>;

Args prepared(const Args& args) { return prepare_arguments(args).args; }

TEST(PrepareArguments, FindsTheCommandInAnyCase) {
  const auto result = prepare_arguments({"--server", "unix:/x", "Set-ReceiveConnector", "Default"});
  ASSERT_NE(result.command, nullptr);
  EXPECT_EQ(result.command->name, "set-receiveconnector");
  EXPECT_EQ(result.args, (Args{"--server", "unix:/x", "set-receiveconnector", "Default"}));
}

TEST(PrepareArguments, NoCommandWordIsLeftToTheParser) {
  EXPECT_EQ(prepare_arguments({}).command, nullptr);
  EXPECT_EQ(prepare_arguments({"--help"}).command, nullptr);
  EXPECT_EQ(prepared({"-Help"}), (Args{"--help"}));
  EXPECT_EQ(prepared({"-h"}), (Args{"--help"}));
}

// get-receiveconnector --server HOST is Exchange's -Server; an endpoint there stays the endpoint.
TEST(PrepareArguments, AfterGetReceiveConnectorServerNamesAServerUnlessItIsAnEndpoint) {
  EXPECT_EQ(prepared({"get-receiveconnector", "--server", "MAIL02"}), (Args{"get-receiveconnector", "--server", "MAIL02"}));
  EXPECT_EQ(prepared({"Get-ReceiveConnector", "-Server:mail0?"}), (Args{"get-receiveconnector", "--server", "mail0?"}));
  EXPECT_EQ(prepared({"get-receiveconnector", "Default*", "--server", "unix:/x", "-Server", "*"}),
            (Args{"--server", "unix:/x", "get-receiveconnector", "Default*", "--server", "*"}));
  EXPECT_EQ(prepared({"get-receiveconnector", "--server=./admin.sock", "--format", "name"}),
            (Args{"--server", "./admin.sock", "get-receiveconnector", "--format", "name"}));
  EXPECT_EQ(prepared({"--server", "unix:/x", "get-receiveconnector", "--server", "MAIL02"}),
            (Args{"--server", "unix:/x", "get-receiveconnector", "--server", "MAIL02"}));
  EXPECT_EQ(prepared({"get-receiveconnector", "--", "--server", "unix:/x"}),
            (Args{"get-receiveconnector", "--", "--server", "unix:/x"}));
  // Every other command: --server is the endpoint wherever it is, as it always was.
  EXPECT_EQ(prepared({"get-mailbox", "--server", "admin.sock"}), (Args{"get-mailbox", "--server", "admin.sock"}));
  EXPECT_EQ(prepared({"set-receiveconnector", "X", "--server", "unix:/x"}),
            (Args{"set-receiveconnector", "X", "--server", "unix:/x"}));
}

TEST(PrepareArguments, AnAdminEndpointHasAColonOrASlashAServerNameNeither) {
  EXPECT_TRUE(is_admin_endpoint("unix:/var/lib/transportd/admin.sock"));
  EXPECT_TRUE(is_admin_endpoint("/tmp/x/admin.sock"));
  EXPECT_TRUE(is_admin_endpoint("./admin.sock"));
  EXPECT_FALSE(is_admin_endpoint("MAIL02"));
  EXPECT_FALSE(is_admin_endpoint("mail02.example.com"));
  EXPECT_FALSE(is_admin_endpoint("MAIL0?"));
  EXPECT_FALSE(is_admin_endpoint("*"));
}

TEST(PrepareArguments, UnknownCommandIsAUsageError) {
  EXPECT_THROW(prepare_arguments({"get-receiveconnectors"}), UsageError);
  EXPECT_THROW(prepare_arguments({"-server", "/x", "frobnicate"}), UsageError);
}

TEST(PrepareArguments, OneDashExchangeNamesBecomeLongOptions) {
  EXPECT_EQ(prepared({"set-receiveconnector", "Default", "-TarpitInterval", "00:00:10"}),
            (Args{"set-receiveconnector", "Default", "--tarpit-interval", "00:00:10"}));
  EXPECT_EQ(prepared({"set-receiveconnector", "Default", "-tarpit-interval", "00:00:10"}),
            (Args{"set-receiveconnector", "Default", "--tarpit-interval", "00:00:10"}));
  EXPECT_EQ(prepared({"set-receiveconnector", "Default", "-remoteipranges", "10.0.0.1", "-RequireTLS", "$true"}),
            (Args{"set-receiveconnector", "Default", "--remote-ip-ranges", "10.0.0.1", "--require-tls", "$true"}));
}

TEST(PrepareArguments, TwoDashNamesInAnyCaseAreCanonical) {
  EXPECT_EQ(prepared({"set-receiveconnector", "Default", "--TARPITINTERVAL", "00:00:08"}),
            (Args{"set-receiveconnector", "Default", "--tarpit-interval", "00:00:08"}));
  EXPECT_EQ(prepared({"set-receiveconnector", "Default", "--TarpitInterval", "00:00:08"}),
            (Args{"set-receiveconnector", "Default", "--tarpit-interval", "00:00:08"}));
}

TEST(PrepareArguments, InlineValuesWithColonOrEquals) {
  EXPECT_EQ(prepared({"set-receiveconnector", "Default", "-Enabled:$false"}),
            (Args{"set-receiveconnector", "Default", "--enabled", "$false"}));
  EXPECT_EQ(prepared({"set-receiveconnector", "Default", "--enabled=false"}),
            (Args{"set-receiveconnector", "Default", "--enabled", "false"}));
  // Only the first separator counts: the value keeps its own colons.
  EXPECT_EQ(prepared({"set-receiveconnector", "Default", "-TarpitInterval:00:00:10", "-Bindings:[::1]:25"}),
            (Args{"set-receiveconnector", "Default", "--tarpit-interval", "00:00:10", "--bindings", "[::1]:25"}));
  EXPECT_EQ(prepared({"set-receiveconnector", "Default", "--tarpit-interval=00:10:01"}),
            (Args{"set-receiveconnector", "Default", "--tarpit-interval", "00:10:01"}));
  EXPECT_EQ(prepared({"--server=unix:/tmp/a.sock", "get-receiveconnector"}),
            (Args{"--server", "unix:/tmp/a.sock", "get-receiveconnector"}));
}

TEST(PrepareArguments, ValuesMayStartWithADashOrBeEmpty) {
  EXPECT_EQ(prepared({"set-receiveconnector", "Default", "--tarpit-interval=-00:00:01"}),
            (Args{"set-receiveconnector", "Default", "--tarpit-interval", "-00:00:01"}));
  EXPECT_EQ(prepared({"set-receiveconnector", "Default", "--comment", "-Enabled", "-Enabled", "no"}),
            (Args{"set-receiveconnector", "Default", "--comment", "-Enabled", "--enabled", "no"}));
  EXPECT_EQ(prepared({"set-receiveconnector", "Default", "-Comment", "--", "--banner="}),
            (Args{"set-receiveconnector", "Default", "--comment", "--", "--banner", ""}));
  EXPECT_EQ(prepared({"set-receiveconnector", "Default", "-Banner:"}),
            (Args{"set-receiveconnector", "Default", "--banner", ""}));
  // A value option at the very end stays valueless; the parser reports it.
  EXPECT_EQ(prepared({"set-receiveconnector", "Default", "-Comment"}),
            (Args{"set-receiveconnector", "Default", "--comment"}));
}

TEST(PrepareArguments, UnknownOptionsAndPositionalsAreLeftAlone) {
  EXPECT_EQ(prepared({"set-receiveconnector", "-", "-Confirm:$false", "-x", "--nope", "Default*"}),
            (Args{"set-receiveconnector", "-", "-Confirm:$false", "-x", "--nope", "Default*"}));
  // Options of other commands are unknown here.
  EXPECT_EQ(prepared({"get-receiveconnector", "-TarpitInterval", "00:00:01"}),
            (Args{"get-receiveconnector", "-TarpitInterval", "00:00:01"}));
  // Everything after "--" is positional.
  EXPECT_EQ(prepared({"remove-receiveconnector", "--", "-Enabled"}),
            (Args{"remove-receiveconnector", "--", "-Enabled"}));
}

TEST(PrepareArguments, FlagsWithoutValues) {
  EXPECT_EQ(prepared({"set-mailbox", "a@example.com", "-PasswordStdin", "-DisplayName", "A"}),
            (Args{"set-mailbox", "a@example.com", "--password-stdin", "--display-name", "A"}));
  EXPECT_EQ(prepared({"set-mailbox", "a@example.com", "-clearpassword"}),
            (Args{"set-mailbox", "a@example.com", "--clear-password"}));
}

TEST(PrepareArguments, GlobalOptionsAroundTheCommand) {
  EXPECT_EQ(prepared({"-Server", "/run/t.sock", "get-mailbox", "--server", "unix:/b"}),
            (Args{"--server", "/run/t.sock", "get-mailbox", "--server", "unix:/b"}));
  EXPECT_EQ(prepare_arguments({"--server", "get-mailbox", "set-mailbox"}).command->name, "set-mailbox");
}

TEST(PrepareArguments, PasswordValuesAreRefused) {
  EXPECT_THROW(prepare_arguments({"new-mailbox", "a@example.com", "--password", "secret"}), UsageError);
  EXPECT_THROW(prepare_arguments({"new-mailbox", "a@example.com", "-Password:secret"}), UsageError);
  EXPECT_THROW(prepare_arguments({"set-mailbox", "a@example.com", "--PASSWORD=secret"}), UsageError);
  // ... but a value that merely looks like it is fine.
  EXPECT_NO_THROW(prepare_arguments({"set-mailbox", "a@example.com", "--display-name", "--password"}));
}

TEST(RewriteArguments, UsesOnlyTheGivenOptions) {
  const CommandOption color{OptionRole::Property, {"color", "Colour"}, true, "", nullptr};
  const CommandOption quiet{OptionRole::Help, {"quiet"}, false, "", nullptr};
  EXPECT_EQ(rewrite_arguments({"-colour", "red", "-Quiet", "x", "-Size", "3"}, {&color, &quiet}),
            (Args{"--color", "red", "--quiet", "x", "-Size", "3"}));
}

}  // namespace
}  // namespace adminctl
