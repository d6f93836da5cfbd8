// adminctl unit tests for the harvest defence's commands: get-/set-harvestdefenceconfig like every
// singleton (flags in both spellings, list edits, out-of-range numbers), get-sourcereputation's
// identity and filters, and clear-sourcereputation's one identity and its confirmation.
#include <gtest/gtest.h>

#include "adminctl/arguments.h"
#include "adminctl/command_table.h"
#include "adminctl/invocation.h"
#include "adminctl/output_format.h"
#include "adminctl/usage_error.h"
#include "cli_parse.h"
#include "transport_admin.pb.h"

namespace adminctl {
namespace {

namespace v1 = transport::admin::v1;
using testing::plan;
using testing::usage_error;

TEST(HarvestDefence, CommandsAndTheirRpcs) {
  for (const auto& [name, rpc] : std::vector<std::pair<const char*, const char*>>{
           {"Get-HarvestDefenceConfig", "GetHarvestDefenceConfig"},
           {"set-harvestdefenceconfig", "SetHarvestDefenceConfig"},
           {"Get-SourceReputation", "GetSourceReputation"},
           {"clear-sourcereputation", "ClearSourceReputation"}}) {
    const Command* command = find_command(name);
    ASSERT_NE(command, nullptr) << name;
    EXPECT_EQ(command->rpc->name(), rpc);
    EXPECT_FALSE(command->summary.empty());
  }
  EXPECT_TRUE(find_command("get-harvestdefenceconfig")->kind->singleton);
  const ObjectKind& sources = *find_command("get-sourcereputation")->kind;
  EXPECT_TRUE(sources.query);
  ASSERT_NE(sources.query_identity_field, nullptr);
  EXPECT_EQ(sources.query_identity_field->name(), "identity");
}

TEST(HarvestDefence, SetTakesBothSpellingsAndListEdits) {
  const Plan kebab = plan({"set-harvestdefenceconfig", "--half-life", "00:00:02", "--ipv4-prefix-length", "16",
                           "--enabled", "false"});
  const auto& request = dynamic_cast<const v1::SetHarvestDefenceConfigRequest&>(*kebab.request);
  EXPECT_EQ(request.values().half_life(), "00:00:02");
  EXPECT_EQ(request.values().ipv4_prefix_length(), 16);
  EXPECT_FALSE(request.values().enabled());
  EXPECT_EQ(request.update_mask().paths_size(), 3);

  const Plan exchange = plan({"Set-HarvestDefenceConfig", "-IPv6PrefixLength", "48", "-Enabled:$true",
                              "-DiscreditedMaxConnections:1", "--what-if"});
  const auto& by_exchange = dynamic_cast<const v1::SetHarvestDefenceConfigRequest&>(*exchange.request);
  EXPECT_EQ(by_exchange.values().ipv6_prefix_length(), 48);
  EXPECT_EQ(by_exchange.values().discredited_max_connections(), 1);
  EXPECT_TRUE(by_exchange.what_if());

  const Plan edit = plan({"set-harvestdefenceconfig", "--add-exempt-remote-ip-ranges", "10.0.0.0/8,192.0.2.1",
                          "--remove-exempt-remote-ip-ranges", "127.0.0.1"});
  const auto& edits = dynamic_cast<const v1::SetHarvestDefenceConfigRequest&>(*edit.request);
  ASSERT_EQ(edits.list_edits_size(), 1);
  EXPECT_EQ(edits.list_edits(0).property(), "exempt_remote_ip_ranges");
  EXPECT_EQ(edits.list_edits(0).add_size(), 2);
  EXPECT_EQ(edits.list_edits(0).remove_size(), 1);
  EXPECT_EQ(edits.update_mask().paths_size(), 0);

  EXPECT_NE(usage_error({"set-harvestdefenceconfig"}).find("nothing to set"), std::string::npos);
  EXPECT_NE(usage_error({"set-harvestdefenceconfig", "x", "--enabled", "true"}).find("takes no identities"),
            std::string::npos);
  EXPECT_NE(usage_error({"set-harvestdefenceconfig", "--max-source-records", "many"}).find("MaxSourceRecords 'many'"),
            std::string::npos);
  // Too large for the field: out of range (exit 1) with the range the proto documents.
  try {
    plan({"set-harvestdefenceconfig", "--max-source-records", "99999999999"});
    ADD_FAILURE() << "no OutOfRange";
  } catch (const OutOfRange& e) {
    EXPECT_STREQ(e.what(), "MaxSourceRecords 99999999999 is out of range: allowed 1000 to 10000000");
  }
}

TEST(SourceReputation, TheIdentityIsPositionalOrAFlagAndFiltersFillTheQuery) {
  const Plan none = plan({"get-sourcereputation"});
  const auto& all = dynamic_cast<const v1::SourceReputationQuery&>(*none.request);
  EXPECT_TRUE(all.identity().empty());
  EXPECT_FALSE(all.has_result_size());

  const Plan positional = plan({"get-sourcereputation", "192.0.2.0/24", "--state", "Discredited", "--result-size", "5"});
  const auto& query = dynamic_cast<const v1::SourceReputationQuery&>(*positional.request);
  EXPECT_EQ(query.identity(), "192.0.2.0/24");
  EXPECT_EQ(query.state(), "Discredited");
  EXPECT_EQ(query.result_size(), 5);

  const Plan exchange = plan({"Get-SourceReputation", "-Identity", "192.0.2.*", "-ResultSize:10"});
  const auto& by_flag = dynamic_cast<const v1::SourceReputationQuery&>(*exchange.request);
  EXPECT_EQ(by_flag.identity(), "192.0.2.*");
  EXPECT_EQ(by_flag.result_size(), 10);

  EXPECT_NE(usage_error({"get-sourcereputation", "192.0.2.7", "192.0.2.8"}).find("takes one identity"),
            std::string::npos);
  EXPECT_NE(usage_error({"get-sourcereputation", "192.0.2.7", "--identity", "192.0.2.8"}).find("given twice"),
            std::string::npos);
  EXPECT_NE(usage_error({"get-sourcereputation", "--format", "name"}).find("use --select Source"), std::string::npos);
  EXPECT_THROW(plan({"get-sourcereputation", "--result-size", "99999999999"}), OutOfRange);
}

TEST(SourceReputation, RowsRenderWithTheDefaultColumns) {
  const Plan shown = plan({"get-sourcereputation"});
  v1::SourceReputationList list;
  auto* row = list.add_sources();
  row->set_source("192.0.2.7");
  row->set_state("Discredited");
  row->set_level(2);
  row->set_refused(26.5);
  row->set_accepted(1);
  row->set_current_interval("00:00:20");
  row->set_last_seen("2026-11-23T08:47:12.000Z");
  const std::string table = render_response(shown, list);
  EXPECT_NE(table.find("Source"), std::string::npos) << table;
  EXPECT_NE(table.find("192.0.2.7"), std::string::npos) << table;
  EXPECT_NE(table.find("Discredited"), std::string::npos) << table;
  EXPECT_EQ(table.find("AuthLockedUntil"), std::string::npos) << table;
  EXPECT_EQ(render_response(shown, v1::SourceReputationList{}), format_table({}, shown.output.properties));
}

TEST(ClearSourceReputation, OneIdentityAndConfirmationForManySources) {
  const Plan address = plan({"clear-sourcereputation", "192.0.2.7"});
  EXPECT_EQ(dynamic_cast<const v1::ClearSourceReputationRequest&>(*address.request).identity(), "192.0.2.7");
  EXPECT_FALSE(clearing_question(address).has_value());  // one address: no question

  const Plan prefix = plan({"Clear-SourceReputation", "-Identity", "192.0.2.0/24"});
  ASSERT_TRUE(clearing_question(prefix).has_value());
  EXPECT_NE(clearing_question(prefix)->find("192.0.2.0/24"), std::string::npos);
  EXPECT_TRUE(clearing_question(plan({"clear-sourcereputation", "*"})).has_value());
  EXPECT_FALSE(clearing_question(plan({"clear-sourcereputation", "*", "--confirm:$false"})).has_value());
  EXPECT_FALSE(clearing_question(plan({"clear-sourcereputation", "192.0.2.*", "--confirm=false"})).has_value());
  EXPECT_TRUE(clearing_question(plan({"clear-sourcereputation", "192.0.2.7", "--confirm"})).has_value());
  EXPECT_NE(clearing_needs_confirmation(prefix).find("--confirm:$false"), std::string::npos);

  EXPECT_NE(usage_error({"clear-sourcereputation"}).find("needs one identity"), std::string::npos);
  EXPECT_NE(usage_error({"clear-sourcereputation", "a", "b"}).find("not 2"), std::string::npos);
  EXPECT_NE(usage_error({"clear-sourcereputation", "-"}).find("needs one identity"), std::string::npos);

  v1::ClearSourceReputationResponse response;
  response.set_cleared(3);
  EXPECT_EQ(render_response(prefix, response), "Cleared 3 source records matching 192.0.2.0/24\n");
  response.set_cleared(1);
  EXPECT_EQ(render_response(address, response), "Cleared 1 source record matching 192.0.2.7\n");
}

}  // namespace
}  // namespace adminctl
