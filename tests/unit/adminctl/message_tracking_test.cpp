// adminctl unit tests for get-messagetrackinglog: filter flags (kebab and Exchange spellings) fill the
// request, there are no identities, and events render in table, list and json.
#include <gtest/gtest.h>

#include <algorithm>

#include "adminctl/arguments.h"
#include "adminctl/invocation.h"
#include "adminctl/usage_error.h"
#include "cli_parse.h"
#include "transport_admin.pb.h"

namespace adminctl {
namespace {

namespace v1 = transport::admin::v1;

using testing::plan;
using testing::usage_error;

TEST(MessageTracking, TheCommandHasFilterFlagsAndNoIdentities) {
  const Command* command = find_command("Get-MessageTrackingLog");
  ASSERT_NE(command, nullptr);
  EXPECT_EQ(command->rpc->name(), "GetMessageTrackingLog");
  EXPECT_TRUE(command->kind->query);
  EXPECT_FALSE(command->kind->singleton);
  std::vector<std::string> filters;
  for (const auto& option : command_options(*command)) {
    EXPECT_NE(option.role, OptionRole::Identity);
    if (option.role == OptionRole::Filter) filters.push_back(option.names.front());
  }
  EXPECT_EQ(filters, (std::vector<std::string>{"sender", "recipient", "event-id", "message-id", "start", "end",
                                               "result-size"}));
}

TEST(MessageTracking, FiltersFillTheRequestInEitherSpelling) {
  const Plan kebab = plan({"get-messagetrackinglog", "--sender", "alice@example.org", "--recipient", "bob@example.com",
                           "--event-id", "FAIL", "--message-id", "<m1@example.org>", "--start",
                           "2026-11-23T08:00:00Z", "--end", "2026-11-24", "--result-size", "50"});
  const auto& request = dynamic_cast<const v1::MessageTrackingQuery&>(*kebab.request);
  EXPECT_EQ(request.sender(), "alice@example.org");
  EXPECT_EQ(request.recipient(), "bob@example.com");
  EXPECT_EQ(request.event_id(), "FAIL");
  EXPECT_EQ(request.message_id(), "<m1@example.org>");
  EXPECT_EQ(request.start(), "2026-11-23T08:00:00Z");
  EXPECT_EQ(request.end(), "2026-11-24");
  EXPECT_EQ(request.result_size(), 50);

  const Plan exchange = plan({"Get-MessageTrackingLog", "-Recipients", "bob@example.com", "-EventId:DELIVER",
                              "-ResultSize", "5", "-Start", "2026-11-23", "-MessageId", "Q1"});
  const auto& from_exchange = dynamic_cast<const v1::MessageTrackingQuery&>(*exchange.request);
  EXPECT_EQ(from_exchange.event_id(), "DELIVER");
  EXPECT_EQ(from_exchange.result_size(), 5);
  EXPECT_EQ(from_exchange.start(), "2026-11-23");
  EXPECT_EQ(from_exchange.message_id(), "Q1");
  const Plan singular = plan({"get-messagetrackinglog", "-Recipient", "carol@example.com"});
  EXPECT_EQ(dynamic_cast<const v1::MessageTrackingQuery&>(*singular.request).recipient(), "carol@example.com");

  // Nothing given: every filter empty, the daemon's defaults apply.
  const Plan none = plan({"get-messagetrackinglog"});
  EXPECT_EQ(none.request->ByteSizeLong(), 0u);
}

TEST(MessageTracking, UsageErrors) {
  EXPECT_NE(usage_error({"get-messagetrackinglog", "bob@example.com"}).find("takes no identities"), std::string::npos);
  EXPECT_NE(usage_error({"get-messagetrackinglog", "--result-size", "many"}).find("ResultSize 'many'"),
            std::string::npos);
  EXPECT_NE(usage_error({"get-messagetrackinglog", "--sender", "a@x", "--sender", "b@x"}).find("give it once"),
            std::string::npos);
  EXPECT_NE(usage_error({"get-messagetrackinglog", "--format", "name"}).find("not available"), std::string::npos);
  EXPECT_NE(usage_error({"get-messagetrackinglog", "--select", "Subject"}).find("RecipientStatus"), std::string::npos);
}

v1::MessageTrackingLog sample_log() {
  v1::MessageTrackingLog log;
  auto& failed = *log.add_events();
  failed.set_timestamp("2026-11-23T08:47:12.123Z");
  failed.set_event_id("FAIL");
  failed.set_connector_id("MAIL01\\Default MAIL01");
  failed.set_client_ip("192.0.2.7");
  failed.set_sender("alice@example.org");
  failed.add_recipients("nobody@example.com");
  failed.set_message_id("Q42");
  failed.set_total_bytes(0);
  failed.set_recipient_status("550 5.1.1 User unknown");
  auto& delivered = *log.add_events();
  delivered = failed;
  delivered.set_timestamp("2026-11-23T08:47:13.000Z");
  delivered.set_event_id("DELIVER");
  delivered.set_recipients(0, "bob@example.com");
  delivered.set_total_bytes(5000000000);
  delivered.set_recipient_status("250 2.6.0 Queued mail for delivery");
  return log;
}

TEST(MessageTracking, TableShowsTheDefaultColumns) {
  const Plan p = plan({"get-messagetrackinglog"});
  EXPECT_EQ(render_response(p, sample_log()),
            "Timestamp                 EventId  Sender             Recipients          RecipientStatus\n"
            "---------                 -------  ------             ----------          ---------------\n"
            "2026-11-23T08:47:12.123Z  FAIL     alice@example.org  nobody@example.com  550 5.1.1 User unknown\n"
            "2026-11-23T08:47:13.000Z  DELIVER  alice@example.org  bob@example.com     250 2.6.0 Queued mail for delivery\n");
}

TEST(MessageTracking, JsonIsAnArrayWithNumbersUnquotedAndRecipientsAsAList) {
  const Plan p = plan({"get-messagetrackinglog", "--format", "json", "--select", "EventId,Recipients,TotalBytes"});
  EXPECT_EQ(render_response(p, sample_log()),
            "[\n"
            "  {\n"
            "    \"EventId\": \"FAIL\",\n"
            "    \"Recipients\": [\"nobody@example.com\"],\n"
            "    \"TotalBytes\": 0\n"
            "  },\n"
            "  {\n"
            "    \"EventId\": \"DELIVER\",\n"
            "    \"Recipients\": [\"bob@example.com\"],\n"
            "    \"TotalBytes\": 5000000000\n"
            "  }\n"
            "]\n");
  EXPECT_EQ(render_response(p, v1::MessageTrackingLog()), "[]\n");
}

TEST(MessageTracking, ListShowsEveryProperty) {
  const Plan p = plan({"get-messagetrackinglog", "--format", "list"});
  const std::string listing = render_response(p, sample_log());
  for (const char* line : {"ConnectorId     : MAIL01\\Default MAIL01\n", "ClientIp        : 192.0.2.7\n",
                           "MessageId       : Q42\n", "TotalBytes      : 5000000000\n"}) {
    EXPECT_NE(listing.find(line), std::string::npos) << line << "\nin\n" << listing;
  }
}

}  // namespace
}  // namespace adminctl
