// AdminService's queue RPCs called directly (no socket) against a fake QueueViewer: rows in Exchange's
// shape (ISO 8601 times, ByteSize), identities and globs resolved against the listing, each action
// reaching the viewer with the identity it listed, the viewer's refusals as NOT_FOUND (nothing by that
// name) or FAILED_PRECONDITION (a refusal of something listed), remove-message's WithNDR default and
// what-if, and FAILED_PRECONDITION when no viewer is attached.
#include <grpcpp/server_context.h>
#include <gtest/gtest.h>

#include <map>

#include "tests/unit/support/admin_service_fixture.h"

namespace transport::admin {
namespace {

// Two queues, three messages; records every call; refuses what `refuse` names with a sentence.
class FakeQueueViewer : public relay::QueueViewer {
 public:
  FakeQueueViewer() {
    relay::QueueView smart;
    smart.identity = "MAIL01\\smart.example.net";
    smart.delivery_type = "SmartHostConnectorDelivery";
    smart.next_hop_domain = "smart.example.net";
    smart.status = "Retry";
    smart.message_count = 2;
    smart.last_error = "451 4.4.0 connection refused";
    smart.next_retry_time = 1'795'000'000;  // 2026-11-18T11:06:40Z
    queues_list.push_back(smart);
    relay::QueueView other;
    other.identity = "MAIL01\\other.example.org";
    other.delivery_type = "DnsConnectorDelivery";
    other.next_hop_domain = "other.example.org";
    other.status = "Ready";
    other.message_count = 1;
    queues_list.push_back(other);
    messages_list.push_back(
        message("MAIL01\\smart.example.net", "101", "a@example.com", {"x@far.example", "y@far.example"}));
    messages_list.push_back(message("MAIL01\\smart.example.net", "102", "b@example.com", {"z@far.example"}));
    messages_list.push_back(message("MAIL01\\other.example.org", "103", "", {"w@other.example.org"}));
  }

  static relay::MessageView message(const std::string& queue, const std::string& id, const std::string& from,
                                    std::vector<std::string> recipients) {
    relay::MessageView m;
    m.identity = queue + "\\" + id;
    m.id = id;
    m.queue = queue;
    m.from = from;
    m.recipients = std::move(recipients);
    m.status = "Retry";
    m.size = 10 * 1024;
    m.date_received = 1'795'000'000;
    m.expiration_time = 1'795'172'800;
    m.origin = "MAIL01\\Apps";
    return m;
  }

  std::vector<relay::QueueView> queues() override { return queues_list; }
  std::vector<relay::MessageView> messages(const std::string& queue_identity) override {
    std::vector<relay::MessageView> out;
    for (const auto& m : messages_list) {
      if (queue_identity.empty() || m.queue == queue_identity) out.push_back(m);
    }
    return out;
  }
  std::string retry_queue(const std::string& id) override { return act("retry_queue", id); }
  std::string suspend_queue(const std::string& id) override { return act("suspend_queue", id); }
  std::string resume_queue(const std::string& id) override { return act("resume_queue", id); }
  std::string suspend_message(const std::string& id) override { return act("suspend_message", id); }
  std::string resume_message(const std::string& id) override { return act("resume_message", id); }
  std::string remove_message(const std::string& id, bool with_ndr) override {
    return act(std::string("remove_message ndr=") + (with_ndr ? "true" : "false"), id);
  }

  std::string act(const std::string& what, const std::string& id) {
    calls.push_back(what + " " + id);
    const auto refusal = refuse.find(id);
    return refusal == refuse.end() ? std::string() : refusal->second;
  }

  std::vector<relay::QueueView> queues_list;
  std::vector<relay::MessageView> messages_list;
  std::vector<std::string> calls;
  std::map<std::string, std::string> refuse;
};

class QueueAdminTest : public test::AdminServiceFixture {
 protected:
  void SetUp() override {
    AdminServiceFixture::SetUp();
    service_->set_queue_viewer(&viewer_);
  }

  static v1::QueueActionRequest action(std::initializer_list<std::string> identities) {
    v1::QueueActionRequest request;
    for (const auto& identity : identities) request.add_identities(identity);
    return request;
  }

  FakeQueueViewer viewer_;
  grpc::ServerContext context_;
};

TEST_F(QueueAdminTest, GetQueueShowsEveryQueueInExchangeShape) {
  v1::IdentityFilter request;
  v1::QueueList response;
  ASSERT_TRUE(service_->GetQueue(&context_, &request, &response).ok());
  ASSERT_EQ(response.queues_size(), 2);
  const auto& smart = response.queues(0);
  EXPECT_EQ(smart.identity(), "MAIL01\\smart.example.net");
  EXPECT_EQ(smart.delivery_type(), "SmartHostConnectorDelivery");
  EXPECT_EQ(smart.next_hop_domain(), "smart.example.net");
  EXPECT_EQ(smart.status(), "Retry");
  EXPECT_EQ(smart.message_count(), 2);
  EXPECT_EQ(smart.last_error(), "451 4.4.0 connection refused");
  EXPECT_EQ(smart.next_retry_time(), "2026-11-18T11:06:40.000Z");
  EXPECT_EQ(response.queues(1).next_retry_time(), "") << "no retry time is empty, not 1970";
}

TEST_F(QueueAdminTest, GetQueueMatchesIdentitiesBareNamesAndGlobs) {
  for (const std::string pattern : {"MAIL01\\smart.example.net", "smart.example.net", "SMART.*", "*\\smart*"}) {
    SCOPED_TRACE(pattern);
    v1::IdentityFilter request;
    request.add_identities(pattern);
    v1::QueueList response;
    ASSERT_TRUE(service_->GetQueue(&context_, &request, &response).ok());
    ASSERT_EQ(response.queues_size(), 1);
    EXPECT_EQ(response.queues(0).next_hop_domain(), "smart.example.net");
  }
}

TEST_F(QueueAdminTest, GetQueueOfAnUnknownQueueIsNotFound) {
  v1::IdentityFilter request;
  request.add_identities("nowhere.example");
  v1::QueueList response;
  const auto status = service_->GetQueue(&context_, &request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(status.error_message().find("nowhere.example"), std::string::npos) << status.error_message();
}

TEST_F(QueueAdminTest, GetMessageShowsEveryMessageWithSizeAndTimes) {
  v1::MessageFilter request;
  v1::QueuedMessageList response;
  ASSERT_TRUE(service_->GetMessage(&context_, &request, &response).ok());
  ASSERT_EQ(response.messages_size(), 3);
  const auto& first = response.messages(0);
  EXPECT_EQ(first.identity(), "MAIL01\\smart.example.net\\101");
  EXPECT_EQ(first.from_address(), "a@example.com");
  ASSERT_EQ(first.recipients_size(), 2);
  EXPECT_EQ(first.recipients(1), "y@far.example");
  EXPECT_EQ(first.status(), "Retry");
  EXPECT_EQ(first.size(), "10KB");
  EXPECT_EQ(first.date_received(), "2026-11-18T11:06:40.000Z");
  EXPECT_EQ(first.expiration_time(), "2026-11-20T11:06:40.000Z");
  EXPECT_EQ(first.queue(), "MAIL01\\smart.example.net");
  EXPECT_EQ(first.origin(), "MAIL01\\Apps");
}

TEST_F(QueueAdminTest, GetMessageOfOneQueue) {
  v1::MessageFilter request;
  request.set_queue("other.example.org");
  v1::QueuedMessageList response;
  ASSERT_TRUE(service_->GetMessage(&context_, &request, &response).ok());
  ASSERT_EQ(response.messages_size(), 1);
  EXPECT_EQ(response.messages(0).identity(), "MAIL01\\other.example.org\\103");

  // Suspended messages show in HOST\Submission, which get-queue does not list.
  viewer_.messages_list.push_back(
      FakeQueueViewer::message("MAIL01\\Submission", "104", "s@example.com", {"v@far.example"}));
  request.set_queue("MAIL01\\Submission");
  v1::QueuedMessageList suspended;
  ASSERT_TRUE(service_->GetMessage(&context_, &request, &suspended).ok());
  ASSERT_EQ(suspended.messages_size(), 1);
  EXPECT_EQ(suspended.messages(0).identity(), "MAIL01\\Submission\\104");

  // A queue that is listed but empty has no messages; that is not an error.
  viewer_.messages_list.clear();
  request.set_queue("smart.example.net");
  v1::QueuedMessageList empty;
  ASSERT_TRUE(service_->GetMessage(&context_, &request, &empty).ok());
  EXPECT_EQ(empty.messages_size(), 0);

  request.set_queue("nowhere.example");
  v1::QueuedMessageList none;
  EXPECT_EQ(service_->GetMessage(&context_, &request, &none).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(QueueAdminTest, GetMessageByBareIdOrGlob) {
  v1::MessageFilter request;
  request.add_identities("102");
  request.add_identities("*other*\\*");
  v1::QueuedMessageList response;
  ASSERT_TRUE(service_->GetMessage(&context_, &request, &response).ok());
  ASSERT_EQ(response.messages_size(), 2);
  EXPECT_EQ(response.messages(0).identity(), "MAIL01\\smart.example.net\\102");
  EXPECT_EQ(response.messages(1).identity(), "MAIL01\\other.example.org\\103");
}

TEST_F(QueueAdminTest, QueueActionsReachTheViewerWithTheListedIdentity) {
  v1::QueueActionResponse response;
  auto request = action({"smart.example.net"});
  ASSERT_TRUE(service_->RetryQueue(&context_, &request, &response).ok());
  ASSERT_TRUE(service_->SuspendQueue(&context_, &request, &response).ok());
  ASSERT_TRUE(service_->ResumeQueue(&context_, &request, &response).ok());
  EXPECT_EQ(viewer_.calls, (std::vector<std::string>{"retry_queue MAIL01\\smart.example.net",
                                                     "suspend_queue MAIL01\\smart.example.net",
                                                     "resume_queue MAIL01\\smart.example.net"}));
  ASSERT_GE(response.identities_size(), 1);
  EXPECT_EQ(response.identities(0), "MAIL01\\smart.example.net");
}

TEST_F(QueueAdminTest, AGlobActsOnEveryQueueItNames) {
  auto request = action({"*"});
  v1::QueueActionResponse response;
  ASSERT_TRUE(service_->SuspendQueue(&context_, &request, &response).ok());
  EXPECT_EQ(viewer_.calls, (std::vector<std::string>{"suspend_queue MAIL01\\smart.example.net",
                                                     "suspend_queue MAIL01\\other.example.org"}));
  EXPECT_EQ(response.identities_size(), 2);
}

TEST_F(QueueAdminTest, AnUnknownQueueIsNotFoundWithTheViewersSentence) {
  viewer_.refuse["nowhere.example"] = "there is no queue nowhere.example";
  auto request = action({"nowhere.example"});
  v1::QueueActionResponse response;
  const auto status = service_->RetryQueue(&context_, &request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "there is no queue nowhere.example");

  auto glob = action({"nowhere*"});
  const auto glob_status = service_->RetryQueue(&context_, &glob, &response);
  EXPECT_EQ(glob_status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(viewer_.calls.size(), 1u) << "a glob that names nothing reaches no queue";
}

TEST_F(QueueAdminTest, MessageActionsAndTheirRefusals) {
  auto request = action({"101"});
  v1::QueueActionResponse response;
  ASSERT_TRUE(service_->SuspendMessage(&context_, &request, &response).ok());
  ASSERT_TRUE(service_->ResumeMessage(&context_, &request, &response).ok());
  EXPECT_EQ(viewer_.calls, (std::vector<std::string>{"suspend_message MAIL01\\smart.example.net\\101",
                                                     "resume_message MAIL01\\smart.example.net\\101"}));

  viewer_.refuse["MAIL01\\smart.example.net\\102"] = "message 102 is being delivered now";
  auto busy = action({"102"});
  const auto status = service_->SuspendMessage(&context_, &busy, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "message 102 is being delivered now");

  viewer_.refuse["999"] = "there is no message 999";
  auto unknown = action({"999"});
  const auto missing = service_->ResumeMessage(&context_, &unknown, &response);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(missing.error_message(), "there is no message 999");
}

TEST_F(QueueAdminTest, AnActionNeedsAnIdentity) {
  v1::QueueActionRequest request;
  v1::QueueActionResponse response;
  EXPECT_EQ(service_->SuspendMessage(&context_, &request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(viewer_.calls.empty());
}

TEST_F(QueueAdminTest, RemoveMessageSendsAReportUnlessToldNot) {
  v1::RemoveMessageRequest request;
  request.add_identities("101");
  v1::RemoveResponse response;
  ASSERT_TRUE(service_->RemoveMessage(&context_, &request, &response).ok());
  request.set_with_ndr(false);
  v1::RemoveResponse without;
  ASSERT_TRUE(service_->RemoveMessage(&context_, &request, &without).ok());
  request.set_with_ndr(true);
  v1::RemoveResponse with;
  ASSERT_TRUE(service_->RemoveMessage(&context_, &request, &with).ok());
  EXPECT_EQ(viewer_.calls, (std::vector<std::string>{"remove_message ndr=true MAIL01\\smart.example.net\\101",
                                                     "remove_message ndr=false MAIL01\\smart.example.net\\101",
                                                     "remove_message ndr=true MAIL01\\smart.example.net\\101"}));
  ASSERT_EQ(response.removed_size(), 1);
  EXPECT_EQ(response.removed(0), "MAIL01\\smart.example.net\\101");
}

TEST_F(QueueAdminTest, RemoveMessageWhatIfNamesTheMessagesAndRemovesNothing) {
  v1::RemoveMessageRequest request;
  request.add_identities("MAIL01\\smart.example.net\\*");
  request.set_what_if(true);
  v1::RemoveResponse response;
  ASSERT_TRUE(service_->RemoveMessage(&context_, &request, &response).ok());
  EXPECT_EQ(response.removed_size(), 2);
  EXPECT_TRUE(viewer_.calls.empty());

  v1::RemoveMessageRequest unknown;
  unknown.add_identities("999");
  unknown.set_what_if(true);
  v1::RemoveResponse none;
  EXPECT_EQ(service_->RemoveMessage(&context_, &unknown, &none).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(QueueAdminTest, WithoutAViewerEveryQueueRpcIsFailedPrecondition) {
  service_->set_queue_viewer(nullptr);
  v1::IdentityFilter filter;
  v1::QueueList queues;
  const auto status = service_->GetQueue(&context_, &filter, &queues);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "the queue is not available");
  v1::MessageFilter message_filter;
  v1::QueuedMessageList messages;
  EXPECT_EQ(service_->GetMessage(&context_, &message_filter, &messages).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  auto request = action({"*"});
  v1::QueueActionResponse response;
  EXPECT_EQ(service_->RetryQueue(&context_, &request, &response).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(service_->SuspendQueue(&context_, &request, &response).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(service_->ResumeQueue(&context_, &request, &response).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(service_->SuspendMessage(&context_, &request, &response).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(service_->ResumeMessage(&context_, &request, &response).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::RemoveMessageRequest remove;
  remove.add_identities("*");
  v1::RemoveResponse removed;
  EXPECT_EQ(service_->RemoveMessage(&context_, &remove, &removed).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace transport::admin
