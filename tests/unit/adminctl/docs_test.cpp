// adminctl unit tests: docs/adminctl.md against the real command table, so the hand-written reference
// cannot drift from what adminctl accepts: the property tables match the schema's
// (transport.admin.v1.property) options, every flag of every command is documented in its command's row
// or its property's row and every flag documented there exists (both directions), and the sample
// outputs are what adminctl prints.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "adminctl/arguments.h"
#include "adminctl/command_table.h"
#include "adminctl/invocation.h"
#include "adminctl/output_format.h"
#include "adminctl/properties.h"
#include "adminctl/text.h"
#include "transport_admin.pb.h"

namespace adminctl {
namespace {

// The checkout's root comes from the build (tests/CMakeLists.txt), not from __FILE__: ccache's base
// directory makes __FILE__ relative to the build directory.
std::string read_docs() {
  std::ifstream in(std::string(TRANSPORTD_SOURCE_DIR) + "/docs/adminctl.md");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The table cells of the row "| name | ..." inside section, trimmed.
std::vector<std::string> row_of(const std::string& section, const std::string& name) {
  std::istringstream lines(section);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("| " + name + " |", 0) != 0) continue;
    std::vector<std::string> cells;
    std::size_t start = 1;
    for (std::size_t bar = line.find('|', start); bar != std::string::npos; bar = line.find('|', start)) {
      cells.emplace_back(trim(std::string_view(line).substr(start, bar - start)));
      start = bar + 1;
    }
    return cells;
  }
  return {};
}

std::string unescape(std::string text) {
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"&lt;", "<"}, {"&gt;", ">"}, {"`", ""}}) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at)) text.replace(at, from.size(), to);
  }
  return text;
}

// An object's property table (property, flag, type, default, allowed values) against the proto: every
// field has a row, with its flags, its default or (required), and its allowed values.
void expect_property_table_matches(const std::string& heading, const google::protobuf::Descriptor& descriptor) {
  const std::string docs = read_docs();
  ASSERT_FALSE(docs.empty()) << "docs/adminctl.md not found in " << TRANSPORTD_SOURCE_DIR;
  const auto begin = docs.find(heading);
  ASSERT_NE(begin, std::string::npos) << heading;
  const std::string section = docs.substr(begin, docs.find("\n## ", begin + 1) - begin);

  for (const auto* field : all_fields(descriptor)) {
    SCOPED_TRACE(field->json_name());
    const auto cells = row_of(section, field->json_name());
    ASSERT_EQ(cells.size(), 5u) << "no row for " << field->json_name();
    const auto& info = property_info(*field);
    EXPECT_EQ(unescape(cells[4]), info.allowed());
    if (info.output_only()) {
      EXPECT_EQ(cells[1], "(output only)");
      continue;
    }
    for (const auto& name : flag_names(*field)) {
      EXPECT_NE(cells[1].find("`--" + name + "`"), std::string::npos) << cells[1];
    }
    if (info.required()) {
      EXPECT_EQ(cells[3], "(required)");
    } else if (!info.default_value().empty()) {
      EXPECT_EQ(cells[3], info.default_value());
    }
  }
}

TEST(Docs, ReceiveConnectorPropertyTableMatchesTheProto) {
  expect_property_table_matches("## Receive connectors", *transport::admin::v1::ReceiveConnector::descriptor());
}

TEST(Docs, SendConnectorPropertyTableMatchesTheProto) {
  expect_property_table_matches("## Send connectors", *transport::admin::v1::SendConnector::descriptor());
}

// The filter table of a query command's section: one row per field of its request.
void expect_filter_table_matches(const std::string& heading, const google::protobuf::Descriptor& request) {
  const std::string docs = read_docs();
  const auto begin = docs.find(heading);
  ASSERT_NE(begin, std::string::npos) << heading;
  const std::string section = docs.substr(begin, docs.find("\n## ", begin + 1) - begin);
  for (const auto* field : all_fields(request)) {
    SCOPED_TRACE(field->json_name());
    const auto cells = row_of(section, field->json_name());
    ASSERT_EQ(cells.size(), 3u) << "no row for " << field->json_name();
    for (const auto& name : flag_names(*field)) {
      EXPECT_NE(cells[1].find("`--" + name + "`"), std::string::npos) << cells[1];
    }
    const auto& info = property_info(*field);
    const std::string expected =
        info.allowed() + (info.default_value().empty() ? "" : "; default " + info.default_value());
    EXPECT_EQ(unescape(cells[2]), expected);
  }
}

TEST(Docs, MessageTrackingFilterTableMatchesTheProto) {
  expect_filter_table_matches("## Message tracking", *transport::admin::v1::MessageTrackingQuery::descriptor());
}

TEST(Docs, SourceReputationFilterTableMatchesTheProto) {
  expect_filter_table_matches("## Source reputation", *transport::admin::v1::SourceReputationQuery::descriptor());
}

// The queue section's property tables: every field of Queue and QueuedMessage has a row with its
// documentation.
void expect_output_table_matches(const std::string& heading, const google::protobuf::Descriptor& message) {
  const std::string docs = read_docs();
  const auto begin = docs.find(heading);
  ASSERT_NE(begin, std::string::npos) << heading;
  const std::string section = docs.substr(begin, docs.find("\n## ", begin + 1) - begin);
  for (const auto* field : all_fields(message)) {
    SCOPED_TRACE(field->json_name());
    const auto cells = row_of(section, field->json_name());
    ASSERT_EQ(cells.size(), 2u) << "no row for " << field->json_name();
    EXPECT_EQ(unescape(cells[1]), property_info(*field).allowed());
  }
}

TEST(Docs, QueuePropertyTablesMatchTheProto) {
  expect_output_table_matches("### Queue properties", *transport::admin::v1::Queue::descriptor());
  expect_output_table_matches("### Message properties", *transport::admin::v1::QueuedMessage::descriptor());
}

// A settings table (property, flags, type, default, allowed values) against the proto's documentation.
void expect_settings_table_matches(const std::string& heading, const google::protobuf::Descriptor& message) {
  const std::string docs = read_docs();
  const auto begin = docs.find(heading);
  ASSERT_NE(begin, std::string::npos) << heading;
  const std::string section = docs.substr(begin, docs.find("\n## ", begin + 1) - begin);
  for (const auto* field : settable_fields(message)) {
    SCOPED_TRACE(field->json_name());
    const auto cells = row_of(section, field->json_name());
    ASSERT_EQ(cells.size(), 5u) << "no row for " << field->json_name();
    const auto& info = property_info(*field);
    EXPECT_EQ(unescape(cells[4]), info.allowed());
    EXPECT_EQ(cells[3], info.default_value().empty() ? "none" : info.default_value());
  }
}

TEST(Docs, HarvestDefenceSettingsTableMatchesTheProto) {
  expect_settings_table_matches("## Harvest defence", *transport::admin::v1::HarvestDefenceConfig::descriptor());
}

TEST(Docs, TransportServerSettingsTableMatchesTheProto) {
  expect_settings_table_matches("## Transport server", *transport::admin::v1::TransportServer::descriptor());
}

// The section of the docs that documents each object kind.
std::string section_of(const std::string& docs, const ObjectKind& kind) {
  static const std::map<std::string, std::string> headings{
      {"ReceiveConnector", "## Receive connectors"}, {"SendConnector", "## Send connectors"},
      {"AcceptedDomain", "## Accepted domains"},
      {"Mailbox", "## Mailboxes"},                   {"RecipientFilterConfig", "## Recipient filter"},
      {"MessageTrackingLog", "## Message tracking"}, {"TransportServer", "## Transport server"},
      {"HarvestDefenceConfig", "## Harvest defence"}, {"SourceReputation", "## Source reputation"},
      {"Queue", "## Queues"},                        {"Message", "## Queues"},
      {"Route", "## Routing test"},
  };
  const auto heading = headings.find(kind.noun);
  if (heading == headings.end()) return {};
  const auto begin = docs.find("\n" + heading->second + "\n");
  if (begin == std::string::npos) return {};
  return docs.substr(begin, docs.find("\n## ", begin + 1) - begin);
}

// Every "--flag" spelled in text (not the dashes inside a word, as in a link's #output-get---select).
std::set<std::string> flags_in(const std::string& text) {
  static const std::regex flag("--[A-Za-z?][A-Za-z0-9-]*");
  std::set<std::string> found;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), flag); it != std::sregex_iterator(); ++it) {
    const auto at = static_cast<std::size_t>(it->position());
    if (at > 0 && (text[at - 1] == '-' || std::isalnum(static_cast<unsigned char>(text[at - 1])))) continue;
    found.insert(it->str());
  }
  return found;
}

// The last cell of a table row; "\|" inside a cell is an escaped bar, not a cell border.
std::string last_cell(const std::string& row) {
  std::size_t border = row.size() - 1;  // the row's closing '|'
  do {
    border = row.rfind('|', border - 1);
  } while (border != std::string::npos && border > 0 && row[border - 1] == '\\');
  return row.substr(border);
}

std::set<std::string> spellings(const CommandOption& option) {
  std::set<std::string> out;
  for (const auto& name : option.names) {
    if (name.size() >= 2) out.insert("--" + name);  // one-letter names are CLI11's short options (-h)
  }
  return out;
}

bool edits_properties(OptionRole role) {
  return role == OptionRole::Property || role == OptionRole::ListAdd || role == OptionRole::ListRemove;
}

// The row of the command in its section's command table: "| `get-mailbox [IDENTITY...]` | ... |".
std::string command_row(const std::string& section, const Command& command) {
  std::istringstream lines(section);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("| `" + command.name + " ", 0) == 0 || line.rfind("| `" + command.name + "`", 0) == 0) return line;
  }
  return {};
}

TEST(Docs, EveryCommandsFlagsAreItsDocumentedFlags) {
  const std::string docs = read_docs();
  for (const auto& command : commands()) {
    SCOPED_TRACE(command.name);
    const std::string section = section_of(docs, *command.kind);
    ASSERT_FALSE(section.empty()) << "no section for " << command.kind->noun;
    const std::string row = command_row(section, command);
    ASSERT_FALSE(row.empty()) << "no row for `" << command.name << "` in the " << command.kind->noun << " section";
    // The last cell lists the flags that are not properties; the property rows list the rest.
    const std::string flags_cell = last_cell(row);
    std::set<std::string> expected;
    bool has_properties = false;
    for (const auto& option : command_options(command)) {
      if (edits_properties(option.role)) {
        has_properties = true;
      } else if (option.role != OptionRole::Filter || !command.kind->query) {
        // A query's filters have their own table; another command's request flags (get-message
        // --queue, remove-message --with-ndr) are in its row.
        const auto names = spellings(option);
        expected.insert(names.begin(), names.end());
      }
    }
    std::set<std::string> documented = flags_in(flags_cell);
    if (command.kind->query && command.verb == Verb::Get) {
      // The filters have their own table, checked by MessageTrackingFilterTableMatchesTheProto.
      for (const auto* field : all_fields(*command.rpc->input_type())) {
        for (const auto& name : flag_names(*field)) documented.erase("--" + name);
      }
    }
    EXPECT_EQ(documented, expected) << "flags cell: " << flags_cell;
    if (has_properties) {
      EXPECT_NE(flags_cell.find("below"), std::string::npos) << "the flags cell should point at the property table";
    }
  }
}

TEST(Docs, EveryPropertyRowListsExactlyItsFlags) {
  const std::string docs = read_docs();
  for (const auto& command : commands()) {
    if (command.verb != Verb::New && command.verb != Verb::Set) continue;
    const std::string section = section_of(docs, *command.kind);
    std::map<const google::protobuf::FieldDescriptor*, std::set<std::string>> by_field;
    for (const auto& other : commands()) {
      if (other.kind != command.kind) continue;
      for (const auto& option : command_options(other)) {
        if (!edits_properties(option.role)) continue;
        const auto names = spellings(option);
        by_field[option.field].insert(names.begin(), names.end());
      }
    }
    for (const auto& [field, expected] : by_field) {
      SCOPED_TRACE(command.name + " " + field->json_name());
      const auto cells = row_of(section, field->json_name());
      ASSERT_GE(cells.size(), 2u) << "no row for " << field->json_name();
      EXPECT_EQ(flags_in(cells[1]), expected) << cells[1];
    }
  }
}

TEST(Docs, TheGlobalFlagsAreDocumented) {
  const std::string docs = read_docs();
  const auto begin = docs.find("## Connecting to transportd");
  const std::string section = docs.substr(begin, docs.find("\n## ", begin + 1) - begin);
  std::set<std::string> expected;
  for (const auto& option : global_options()) {
    const auto names = spellings(option);
    expected.insert(names.begin(), names.end());
  }
  std::set<std::string> documented;
  std::istringstream lines(section);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("| `--", 0) != 0) continue;
    const auto in_first_cell = flags_in(line.substr(0, line.find('|', 2)));
    documented.insert(in_first_cell.begin(), in_first_cell.end());
  }
  EXPECT_EQ(documented, expected);
}

// Every --flag the reference mentions anywhere is one adminctl (or, where named, transportd) has.
TEST(Docs, NoFlagIsDocumentedThatDoesNotExist) {
  std::set<std::string> known{"--data-dir",        "--hostname",       "--tracking-retention", "--default-bindings",
                              "--admin-socket",    "--metrics-listen", "--check-config",      "--PROPERTY",
                              "--flags",
                              "--password"};  // documented as refused: passwords never travel on the command line
  for (const auto& option : global_options()) {
    const auto names = spellings(option);
    known.insert(names.begin(), names.end());
  }
  for (const auto& command : commands()) {
    for (const auto& option : command_options(command)) {
      for (const auto& name : spellings(option)) known.insert(name);
    }
  }
  for (const auto& flag : flags_in(read_docs())) {
    bool found = known.count(flag) > 0;
    for (const auto& name : known) found = found || iequals(name, flag);  // any case is accepted
    EXPECT_TRUE(found) << flag << " is in docs/adminctl.md but no command has it";
  }
}

// The code block after `marker` in the docs; inside_a_block: the marker is in a block of its own,
// which is skipped.
std::string sample_after(const std::string& docs, const std::string& marker, bool inside_a_block = false) {
  auto at = docs.find(marker);
  if (at == std::string::npos) return {};
  if (inside_a_block) at = docs.find("```\n", at) + 4;
  const auto open = docs.find("```\n", at);
  const auto close = docs.find("```\n", open + 4);
  return docs.substr(open + 4, close - open - 4);
}

TEST(Docs, TestReceiveConnectorSampleIsWhatAdminctlPrints) {
  transport::admin::v1::TestReceiveConnectorResponse response;
  response.set_matched(true);
  response.set_connector("MAIL01\\Partners");
  response.set_matched_range("192.0.2.0/24");
  response.set_reason("192.0.2.0/24 is the most specific RemoteIPRanges entry containing 192.0.2.7 among enabled "
                      "connectors bound to 10.0.0.5:25 or 0.0.0.0:25; the connector is bound to the wildcard address");
  Plan plan;
  plan.command = find_command("test-receiveconnector");
  EXPECT_EQ(render_response(plan, response), sample_after(read_docs(), "`test-receiveconnector` prints"));
}

TEST(Docs, TestRouteSampleIsWhatAdminctlPrints) {
  transport::admin::v1::TestRouteResponse response;
  response.set_recipient("someone@example.org");
  response.set_result("Relay");
  response.set_reply("250 2.1.5");
  response.set_send_connector("Internet");
  response.set_address_space("SMTP:*;1");
  response.set_delivery_type("SmartHostConnectorDelivery");
  response.set_next_hop("smarthost.example.net");
  response.set_reason(
      "relayed through the send connector Internet (AddressSpace SMTP:*;1) for a session that may relay");
  Plan plan;
  plan.command = find_command("test-route");
  EXPECT_EQ(render_response(plan, response), sample_after(read_docs(), "`test-route` prints"));
}

// The Routing test section's property table lists each property of TestRouteResponse, in order.
TEST(Docs, TestRoutePropertyTableMatchesTheProto) {
  const std::string section = section_of(read_docs(), *find_command("test-route")->kind);
  std::vector<std::string> documented;
  std::istringstream lines(section.substr(section.find("| property | meaning |")));
  std::string line;
  std::getline(lines, line);
  std::getline(lines, line);  // |---|---|
  while (std::getline(lines, line) && line.rfind("| ", 0) == 0) {
    documented.push_back(line.substr(2, line.find(" |") - 2));
  }
  std::vector<std::string> expected;
  for (const auto* field : all_fields(*transport::admin::v1::TestRouteResponse::descriptor())) {
    expected.push_back(exchange_name(*field));
  }
  EXPECT_EQ(documented, expected);
}

TEST(Docs, TransportServerSampleIsWhatAdminctlPrints) {
  transport::admin::v1::TransportServer server;
  server.set_name("MAIL01");
  server.set_version("0.1.0");
  server.set_uptime("02:14:09");
  server.set_open_sessions(12);
  server.set_tarpitted_sessions(3);
  const Command& get = *find_command("get-transportserver");
  EXPECT_EQ(format_table({&server}, get.kind->default_columns),
            sample_after(read_docs(), "adminctl get-transportserver --format json | jq .TarpittedSessions", true));
}

TEST(Docs, EveryCommandIsDocumented) {
  const std::string docs = read_docs();
  for (const auto& command : commands()) {
    EXPECT_NE(docs.find("`" + command.name), std::string::npos) << command.name << " is not in docs/adminctl.md";
  }
}

}  // namespace
}  // namespace adminctl
