// adminctl unit tests for the queue cmdlets: the commands and their RPCs, identities (globs, "-" from
// standard input) for the actions, get-message --queue, remove-message -WithNDR in both spellings and
// its confirmation, and how queues and messages render.
#include <gtest/gtest.h>

#include <sstream>

#include "adminctl/arguments.h"
#include "adminctl/invocation.h"
#include "adminctl/output_format.h"
#include "adminctl/usage_error.h"
#include "cli_parse.h"
#include "transport_admin.pb.h"

namespace adminctl {
namespace {

namespace v1 = transport::admin::v1;

using testing::parse;
using testing::plan;
using testing::usage_error;

Plan plan_with_input(const std::vector<std::string>& args, const std::string& input_text) {
  std::istringstream input(input_text);
  return plan_call(parse(args), input, [] { return std::string(); });
}

std::vector<std::string> identities_of(const google::protobuf::Message& request) {
  const auto* field = request.GetDescriptor()->FindFieldByName("identities");
  std::vector<std::string> out;
  for (int i = 0; i < request.GetReflection()->FieldSize(request, field); ++i) {
    out.push_back(request.GetReflection()->GetRepeatedString(request, field, i));
  }
  return out;
}

TEST(Queue, EveryQueueCmdletExistsWithItsRpc) {
  const std::vector<std::pair<std::string, std::string>> expected{
      {"get-queue", "GetQueue"},           {"retry-queue", "RetryQueue"},
      {"suspend-queue", "SuspendQueue"},   {"resume-queue", "ResumeQueue"},
      {"get-message", "GetMessage"},       {"suspend-message", "SuspendMessage"},
      {"resume-message", "ResumeMessage"}, {"remove-message", "RemoveMessage"},
  };
  for (const auto& [name, rpc] : expected) {
    const Command* command = find_command(name);
    ASSERT_NE(command, nullptr) << name;
    EXPECT_EQ(command->rpc->name(), rpc);
  }
  EXPECT_EQ(find_command("Retry-Queue"), find_command("retry-queue"));
  EXPECT_EQ(find_command("retry-message"), nullptr);
  EXPECT_EQ(find_command("new-queue"), nullptr);
}

TEST(Queue, ActionsTakeIdentitiesGlobsAndStandardInput) {
  const Plan retry = plan({"retry-queue", "MAIL01\\smart.example.net", "other*"});
  EXPECT_EQ(identities_of(*retry.request), (std::vector<std::string>{"MAIL01\\smart.example.net", "other*"}));
  const Plan suspend = plan({"Suspend-Message", "-Identity", "101"});
  EXPECT_EQ(identities_of(*suspend.request), std::vector<std::string>{"101"});
  const Plan resume = plan_with_input({"resume-message", "-"}, "MAIL01\\q\\1\r\n\nMAIL01\\q\\2\n");
  EXPECT_EQ(identities_of(*resume.request), (std::vector<std::string>{"MAIL01\\q\\1", "MAIL01\\q\\2"}));
  EXPECT_NE(usage_error({"suspend-queue"}).find("needs at least one identity"), std::string::npos);
  EXPECT_NE(usage_error({"resume-message"}).find("needs at least one identity"), std::string::npos);
}

TEST(Queue, ActionsHaveNoWhatIfOrPropertyFlags) {
  for (const char* name : {"retry-queue", "suspend-queue", "resume-queue", "suspend-message", "resume-message"}) {
    SCOPED_TRACE(name);
    std::vector<OptionRole> roles;
    for (const auto& option : command_options(*find_command(name))) roles.push_back(option.role);
    EXPECT_EQ(roles, std::vector<OptionRole>{OptionRole::Identity});
  }
}

TEST(Queue, GetMessageOfOneQueue) {
  const Plan p = plan({"get-message", "--queue", "smart.example.net", "1*"});
  const auto& request = dynamic_cast<const v1::MessageFilter&>(*p.request);
  EXPECT_EQ(request.queue(), "smart.example.net");
  EXPECT_EQ(identities_of(request), std::vector<std::string>{"1*"});
  const Plan exchange = plan({"Get-Message", "-Queue", "MAIL01\\smart.example.net"});
  EXPECT_EQ(dynamic_cast<const v1::MessageFilter&>(*exchange.request).queue(), "MAIL01\\smart.example.net");
}

TEST(Queue, RemoveMessageWithNdrDefaultsToTheServersChoiceAndTakesBothSpellings) {
  const Plan unset = plan({"remove-message", "101"});
  EXPECT_FALSE(dynamic_cast<const v1::RemoveMessageRequest&>(*unset.request).has_with_ndr())
      << "unset: the server's default (true, as Exchange)";
  const Plan off = plan({"remove-message", "101", "--with-ndr", "false"});
  const auto& off_request = dynamic_cast<const v1::RemoveMessageRequest&>(*off.request);
  ASSERT_TRUE(off_request.has_with_ndr());
  EXPECT_FALSE(off_request.with_ndr());
  const Plan exchange = plan({"Remove-Message", "-Identity", "101", "-WithNDR:$false", "-Confirm:$false"});
  const auto& exchange_request = dynamic_cast<const v1::RemoveMessageRequest&>(*exchange.request);
  EXPECT_FALSE(exchange_request.with_ndr());
  EXPECT_EQ(exchange.confirmation, Confirmation::Never);
  const Plan on = plan({"remove-message", "101", "-WithNDR", "$true"});
  EXPECT_TRUE(dynamic_cast<const v1::RemoveMessageRequest&>(*on.request).with_ndr());
  EXPECT_NE(usage_error({"remove-message", "101", "--with-ndr", "maybe"}), "(no error)");
  EXPECT_NE(usage_error({"remove-message"}).find("needs at least one identity"), std::string::npos);
}

TEST(Queue, RemovingSeveralMessagesAsksFirst) {
  const Plan p = plan({"remove-message", "MAIL01\\smart.example.net\\*"});
  v1::RemoveResponse one;
  one.add_removed("MAIL01\\smart.example.net\\101");
  EXPECT_FALSE(removal_question(p, one));
  v1::RemoveResponse two = one;
  two.add_removed("MAIL01\\smart.example.net\\102");
  EXPECT_EQ(removal_question(p, two),
            "Remove 2 Message objects: MAIL01\\smart.example.net\\101, MAIL01\\smart.example.net\\102? [y/N] ");
  const Plan what_if = plan({"remove-message", "101", "--what-if"});
  EXPECT_TRUE(dynamic_cast<const v1::RemoveMessageRequest&>(*what_if.request).what_if());
}

TEST(Queue, ActionsPrintNothing) {
  const Plan p = plan({"suspend-queue", "*"});
  v1::QueueActionResponse response;
  response.add_identities("MAIL01\\smart.example.net");
  EXPECT_EQ(render_response(p, response), "");
}

v1::QueueList sample_queues() {
  v1::QueueList list;
  auto* queue = list.add_queues();
  queue->set_identity("MAIL01\\smart.example.net");
  queue->set_delivery_type("SmartHostConnectorDelivery");
  queue->set_next_hop_domain("smart.example.net");
  queue->set_status("Retry");
  queue->set_message_count(2);
  queue->set_last_error("connection refused");
  queue->set_next_retry_time("2026-11-30T02:30:00.000Z");
  return list;
}

TEST(Queue, GetQueueRendersTableListJsonAndNames) {
  const auto list = sample_queues();
  const Plan table = plan({"get-queue"});
  const std::string text = render_response(table, list);
  for (const char* column : {"Identity", "DeliveryType", "Status", "MessageCount", "NextRetryTime", "NextHopDomain",
                             "SmartHostConnectorDelivery", "Retry", "2026-11-30T02:30:00.000Z"}) {
    EXPECT_NE(text.find(column), std::string::npos) << column << " in\n" << text;
  }
  EXPECT_EQ(text.find("connection refused"), std::string::npos) << "LastError is not a default column";

  const std::string listed = render_response(plan({"get-queue", "--format", "list"}), list);
  EXPECT_NE(listed.find("LastError"), std::string::npos) << listed;
  EXPECT_NE(listed.find("connection refused"), std::string::npos) << listed;

  const std::string json =
      render_response(plan({"get-queue", "--format", "json", "--select", "Identity,MessageCount"}), list);
  EXPECT_NE(json.find("\"MessageCount\": 2"), std::string::npos) << json;
  EXPECT_EQ(json.find("Status"), std::string::npos) << json;

  EXPECT_EQ(render_response(plan({"get-queue", "--format", "name"}), list), "MAIL01\\smart.example.net\n");
}

TEST(Queue, GetMessageRendersRecipientsAsAList) {
  v1::QueuedMessageList list;
  auto* message = list.add_messages();
  message->set_identity("MAIL01\\smart.example.net\\101");
  message->set_from_address("a@example.com");
  message->add_recipients("x@far.example");
  message->add_recipients("y@far.example");
  message->set_status("Suspended");
  message->set_size("10KB");
  message->set_queue("MAIL01\\smart.example.net");
  const std::string json =
      render_response(plan({"get-message", "--format", "json", "--select", "Identity,Recipients,Size"}), list);
  EXPECT_NE(json.find("\"Recipients\": ["), std::string::npos) << json;
  EXPECT_NE(json.find("\"y@far.example\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"10KB\""), std::string::npos) << json;
  const std::string table = render_response(plan({"get-message"}), list);
  for (const char* shown : {"FromAddress", "Suspended", "10KB", "a@example.com"}) {
    EXPECT_NE(table.find(shown), std::string::npos) << shown << " in\n" << table;
  }
  EXPECT_NE(usage_error({"get-message", "--select", "Subject"}), "(no error)");
}

}  // namespace
}  // namespace adminctl
