// adminctl unit tests: docs/adminctl.md's ReceiveConnector property table matches the schema's
// (transport.admin.v1.property) options, so the hand-written reference cannot drift from the proto.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "adminctl/command_table.h"
#include "adminctl/properties.h"
#include "adminctl/text.h"
#include "transport_admin.pb.h"

namespace adminctl {
namespace {

std::string read_docs() {
  std::string path = __FILE__;
  path = path.substr(0, path.rfind("tests/unit/adminctl/")) + "docs/adminctl.md";
  std::ifstream in(path);
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

TEST(Docs, ReceiveConnectorPropertyTableMatchesTheProto) {
  const std::string docs = read_docs();
  ASSERT_FALSE(docs.empty()) << "docs/adminctl.md not found from " << __FILE__;
  const auto begin = docs.find("## Receive connectors");
  ASSERT_NE(begin, std::string::npos);
  const std::string section = docs.substr(begin, docs.find("\n## ", begin + 1) - begin);

  const auto& descriptor = *transport::admin::v1::ReceiveConnector::descriptor();
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

TEST(Docs, MessageTrackingFilterTableMatchesTheProto) {
  const std::string docs = read_docs();
  const auto begin = docs.find("## Message tracking");
  ASSERT_NE(begin, std::string::npos);
  const std::string section = docs.substr(begin, docs.find("\n## ", begin + 1) - begin);
  for (const auto* field : all_fields(*transport::admin::v1::MessageTrackingQuery::descriptor())) {
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

TEST(Docs, EveryCommandIsDocumented) {
  const std::string docs = read_docs();
  for (const auto& command : commands()) {
    EXPECT_NE(docs.find("`" + command.name), std::string::npos) << command.name << " is not in docs/adminctl.md";
  }
}

}  // namespace
}  // namespace adminctl
