// adminctl unit tests: the new-receiveconnector --usage preset table and how a preset fills a New
// request (fields and mask) without overriding what the user gave.
#include <gtest/gtest.h>

#include <algorithm>

#include "adminctl/arguments.h"
#include "adminctl/properties.h"
#include "adminctl/usage_error.h"
#include "adminctl/usage_presets.h"
#include "transport_admin.pb.h"

namespace adminctl {
namespace {

namespace pb = google::protobuf;
namespace v1 = transport::admin::v1;

std::vector<std::string> strings(const pb::RepeatedPtrField<std::string>& field) { return {field.begin(), field.end()}; }

std::vector<std::string> names(const std::vector<const pb::FieldDescriptor*>& fields) {
  std::vector<std::string> out;
  for (const auto* field : fields) out.push_back(field->name());
  return out;
}

const pb::FieldDescriptor* field(const char* name) { return v1::ReceiveConnector::descriptor()->FindFieldByName(name); }

struct Applied {
  v1::ReceiveConnector connector;
  std::vector<const pb::FieldDescriptor*> given;
};

Applied apply(const char* usage, std::vector<const pb::FieldDescriptor*> given = {}) {
  Applied applied;
  applied.given = std::move(given);
  apply_usage_preset(find_usage_preset(usage), applied.connector, applied.given);
  return applied;
}

TEST(UsagePresets, NamesInOrder) {
  EXPECT_EQ(usage_preset_names(), "Internet, Internal, Client, Partner, Custom, Trusted");
  EXPECT_EQ(usage_preset_names("|"), "Internet|Internal|Client|Partner|Custom|Trusted");
}

TEST(UsagePresets, EveryPresetNamesRealListOrTextFields) {
  for (const auto& preset : usage_presets()) {
    for (const auto& [name, values] : preset.values) {
      const auto* f = v1::ReceiveConnector::descriptor()->FindFieldByName(name);
      ASSERT_NE(f, nullptr) << preset.name << ": " << name;
      EXPECT_FALSE(property_info(*f).output_only());
      EXPECT_FALSE(values.empty());
    }
  }
}

TEST(UsagePresets, LookupIsCaseInsensitiveAndUnknownListsTheAllowed) {
  EXPECT_EQ(find_usage_preset("trusted").name, "Trusted");
  EXPECT_EQ(find_usage_preset("INTERNET").name, "Internet");
  try {
    find_usage_preset("Intranet");
    FAIL() << "no error";
  } catch (const UsageError& error) {
    EXPECT_EQ(std::string(error.what()),
              "--usage 'Intranet' is not a usage type; allowed: Internet, Internal, Client, Partner, Custom, Trusted");
  }
  EXPECT_THROW(find_usage_preset(""), UsageError);
}

TEST(UsagePresets, Values) {
  struct Expected {
    const char* usage;
    std::vector<std::string> groups, auth;
    std::string tarpit;
  };
  const std::vector<Expected> table{
      {"Internet", {"AnonymousUsers"}, {"Tls"}, ""},
      {"Internal", {"ExchangeUsers", "ExchangeServers"}, {"Tls", "BasicAuth", "BasicAuthRequireTLS"}, ""},
      {"Client", {"ExchangeUsers"}, {"Tls", "BasicAuth", "BasicAuthRequireTLS"}, ""},
      {"Partner", {"Partners"}, {"Tls"}, ""},
      {"Trusted", {"ExchangeServers"}, {"Tls", "ExternalAuthoritative"}, "00:00:00"},
  };
  for (const auto& expected : table) {
    SCOPED_TRACE(expected.usage);
    const Applied applied = apply(expected.usage);
    EXPECT_EQ(strings(applied.connector.permission_groups()), expected.groups);
    EXPECT_EQ(strings(applied.connector.auth_mechanism()), expected.auth);
    EXPECT_EQ(applied.connector.tarpit_interval(), expected.tarpit);
    std::vector<std::string> mask{"permission_groups", "auth_mechanism"};
    if (!expected.tarpit.empty()) mask.insert(mask.begin(), "tarpit_interval");
    EXPECT_EQ(names(applied.given), mask);
  }
}

TEST(UsagePresets, CustomSetsNothing) {
  const Applied applied = apply("Custom", {field("name"), field("bindings")});
  EXPECT_EQ(names(applied.given), (std::vector<std::string>{"name", "bindings"}));
  EXPECT_EQ(applied.connector.ByteSizeLong(), 0u);
}

TEST(UsagePresets, GivenFieldsAreLeftAloneAndTheMaskStaysInFieldOrder) {
  v1::ReceiveConnector connector;
  connector.set_tarpit_interval("00:00:01");
  connector.add_permission_groups("Partners");
  std::vector<const pb::FieldDescriptor*> given{field("tarpit_interval"), field("permission_groups")};
  apply_usage_preset(find_usage_preset("Trusted"), connector, given);
  EXPECT_EQ(connector.tarpit_interval(), "00:00:01");
  EXPECT_EQ(strings(connector.permission_groups()), std::vector<std::string>{"Partners"});
  EXPECT_EQ(strings(connector.auth_mechanism()), (std::vector<std::string>{"Tls", "ExternalAuthoritative"}));
  EXPECT_EQ(names(given), (std::vector<std::string>{"tarpit_interval", "permission_groups", "auth_mechanism"}));
}

TEST(UsagePresets, OnlyNewReceiveConnectorTakesUsage) {
  for (const auto& command : commands()) {
    const auto& options = command_options(command);
    const bool has = std::any_of(options.begin(), options.end(),
                                 [](const CommandOption& o) { return o.role == OptionRole::Usage; });
    EXPECT_EQ(has, command.name == "new-receiveconnector") << command.name;
  }
}

TEST(UsagePresets, HelpListsEveryPresetAndItsValues) {
  const auto& options = command_options(*find_command("new-receiveconnector"));
  const auto usage = std::find_if(options.begin(), options.end(),
                                  [](const CommandOption& o) { return o.role == OptionRole::Usage; });
  ASSERT_NE(usage, options.end());
  EXPECT_TRUE(usage->takes_value);
  for (const char* text : {"Internet, Internal, Client, Partner, Custom, Trusted", "override",
                           "Trusted: PermissionGroups ExchangeServers; AuthMechanism Tls,ExternalAuthoritative; "
                           "TarpitInterval 00:00:00",
                           "Internet: PermissionGroups AnonymousUsers; AuthMechanism Tls", "Custom: (all defaults)"}) {
    EXPECT_NE(usage->help.find(text), std::string::npos) << text << "\n" << usage->help;
  }
}

}  // namespace
}  // namespace adminctl
