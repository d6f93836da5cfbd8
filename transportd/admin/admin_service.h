// AdminService: the gRPC TransportAdmin service. Translates requests into ConfigurationService calls
// and its exceptions into gRPC status codes whose messages name the property at fault.
#pragma once

#include <grpcpp/server.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <semaphore>

#include "transport_admin.grpc.pb.h"
#include "transportd/config/configuration_service.h"
#include "transportd/relay/queue_viewer.h"
#include "transportd/reputation/source_reputation.h"
#include "transportd/tracking/tracking_log.h"

namespace transport::admin {

namespace v1 = ::transport::admin::v1;

class AdminService final : public v1::TransportAdmin::Service {
 public:
  // The state of a connector's Binding, shown as BindingStatus (SmtpServer::binding_status).
  using BindingStatus = std::function<std::string(const store::ReceiveConnector&, const store::Binding&)>;

  AdminService(config::ConfigurationService& configuration, BindingStatus binding_status)
      : configuration_(configuration), binding_status_(std::move(binding_status)) {}

  // The message tracking log that GetMessageTrackingLog searches; null (the default) = tracking is
  // off, and the RPC answers FAILED_PRECONDITION. The log must outlive the service.
  void set_tracking_log(tracking::TrackingLog* log) { tracking_log_.store(log); }

  // The source records that Get/ClearSourceReputation show and forgive; null (the default) = the
  // harvest defence is not running, and those RPCs answer FAILED_PRECONDITION. It must outlive the service.
  void set_source_reputation(reputation::SourceReputation* reputation) { source_reputation_.store(reputation); }

  // The queues that the queue RPCs show and act on; null (the default) = the queue manager is not
  // attached, and those RPCs answer FAILED_PRECONDITION. It must outlive the service. Its calls block
  // until the queue answers, which is fine on gRPC threads.
  void set_queue_viewer(relay::QueueViewer* viewer) { queue_viewer_.store(viewer); }

  // What GetTransportServer shows besides the settings, built by the daemon on each call. Unset (the
  // default) = Get/SetTransportServer answer FAILED_PRECONDITION. Set it before the server starts serving.
  using ServerStatus = std::function<v1::TransportServer()>;
  void set_server_status(ServerStatus status) { server_status_ = std::move(status); }

  grpc::Status GetReceiveConnector(grpc::ServerContext*, const v1::GetReceiveConnectorRequest*,
                                   v1::ReceiveConnectorList*) override;
  grpc::Status NewReceiveConnector(grpc::ServerContext*, const v1::NewReceiveConnectorRequest*,
                                   v1::ReceiveConnector*) override;
  grpc::Status SetReceiveConnector(grpc::ServerContext*, const v1::SetReceiveConnectorRequest*,
                                   v1::ReceiveConnectorList*) override;
  grpc::Status RemoveReceiveConnector(grpc::ServerContext*, const v1::RemoveRequest*, v1::RemoveResponse*) override;
  grpc::Status TestReceiveConnector(grpc::ServerContext*, const v1::TestReceiveConnectorRequest*,
                                    v1::TestReceiveConnectorResponse*) override;
  grpc::Status TestRoute(grpc::ServerContext*, const v1::TestRouteRequest*, v1::TestRouteResponse*) override;

  grpc::Status GetSendConnector(grpc::ServerContext*, const v1::IdentityFilter*, v1::SendConnectorList*) override;
  grpc::Status NewSendConnector(grpc::ServerContext*, const v1::NewSendConnectorRequest*, v1::SendConnector*) override;
  grpc::Status SetSendConnector(grpc::ServerContext*, const v1::SetSendConnectorRequest*,
                                v1::SendConnectorList*) override;
  grpc::Status RemoveSendConnector(grpc::ServerContext*, const v1::RemoveRequest*, v1::RemoveResponse*) override;

  grpc::Status GetAcceptedDomain(grpc::ServerContext*, const v1::IdentityFilter*, v1::AcceptedDomainList*) override;
  grpc::Status NewAcceptedDomain(grpc::ServerContext*, const v1::NewAcceptedDomainRequest*,
                                 v1::AcceptedDomain*) override;
  grpc::Status SetAcceptedDomain(grpc::ServerContext*, const v1::SetAcceptedDomainRequest*,
                                 v1::AcceptedDomainList*) override;
  grpc::Status RemoveAcceptedDomain(grpc::ServerContext*, const v1::RemoveRequest*, v1::RemoveResponse*) override;

  grpc::Status GetMailbox(grpc::ServerContext*, const v1::IdentityFilter*, v1::MailboxList*) override;
  grpc::Status NewMailbox(grpc::ServerContext*, const v1::NewMailboxRequest*, v1::Mailbox*) override;
  grpc::Status SetMailbox(grpc::ServerContext*, const v1::SetMailboxRequest*, v1::MailboxList*) override;
  grpc::Status RemoveMailbox(grpc::ServerContext*, const v1::RemoveRequest*, v1::RemoveResponse*) override;

  grpc::Status GetRecipientFilterConfig(grpc::ServerContext*, const v1::GetRecipientFilterConfigRequest*,
                                        v1::RecipientFilterConfig*) override;
  grpc::Status SetRecipientFilterConfig(grpc::ServerContext*, const v1::SetRecipientFilterConfigRequest*,
                                        v1::RecipientFilterConfig*) override;

  grpc::Status GetMessageTrackingLog(grpc::ServerContext*, const v1::MessageTrackingQuery*,
                                     v1::MessageTrackingLog*) override;

  grpc::Status GetTransportServer(grpc::ServerContext*, const v1::GetTransportServerRequest*,
                                  v1::TransportServer*) override;
  grpc::Status SetTransportServer(grpc::ServerContext*, const v1::SetTransportServerRequest*,
                                  v1::TransportServer*) override;

  grpc::Status GetHarvestDefenceConfig(grpc::ServerContext*, const v1::GetHarvestDefenceConfigRequest*,
                                       v1::HarvestDefenceConfig*) override;
  grpc::Status SetHarvestDefenceConfig(grpc::ServerContext*, const v1::SetHarvestDefenceConfigRequest*,
                                       v1::HarvestDefenceConfig*) override;
  grpc::Status GetSourceReputation(grpc::ServerContext*, const v1::SourceReputationQuery*,
                                   v1::SourceReputationList*) override;
  grpc::Status ClearSourceReputation(grpc::ServerContext*, const v1::ClearSourceReputationRequest*,
                                     v1::ClearSourceReputationResponse*) override;

  grpc::Status GetQueue(grpc::ServerContext*, const v1::IdentityFilter*, v1::QueueList*) override;
  grpc::Status RetryQueue(grpc::ServerContext*, const v1::QueueActionRequest*, v1::QueueActionResponse*) override;
  grpc::Status SuspendQueue(grpc::ServerContext*, const v1::QueueActionRequest*, v1::QueueActionResponse*) override;
  grpc::Status ResumeQueue(grpc::ServerContext*, const v1::QueueActionRequest*, v1::QueueActionResponse*) override;
  grpc::Status GetMessage(grpc::ServerContext*, const v1::MessageFilter*, v1::QueuedMessageList*) override;
  grpc::Status SuspendMessage(grpc::ServerContext*, const v1::QueueActionRequest*, v1::QueueActionResponse*) override;
  grpc::Status ResumeMessage(grpc::ServerContext*, const v1::QueueActionRequest*, v1::QueueActionResponse*) override;
  grpc::Status RemoveMessage(grpc::ServerContext*, const v1::RemoveMessageRequest*, v1::RemoveResponse*) override;

 private:
  // argon2id costs ~100 ms and 64 MiB: at most two hashes at once, whatever the number of callers.
  std::optional<std::string> hash_requested_password(const std::optional<std::string>& password);

  // Retry/Suspend/Resume of queues or messages: resolve the identities, then call `action` on each.
  using QueueAction = std::string (relay::QueueViewer::*)(const std::string&);
  grpc::Status act_on_queues(const char* rpc, grpc::ServerContext* context, const v1::QueueActionRequest& request,
                             v1::QueueActionResponse& response, QueueAction action, const char* done_text);
  grpc::Status act_on_messages(const char* rpc, grpc::ServerContext* context, const v1::QueueActionRequest& request,
                               v1::QueueActionResponse& response, QueueAction action, const char* done_text);

  void connector_to_proto(const store::Configuration& config, const store::ReceiveConnector& connector,
                          v1::ReceiveConnector& out) const;

  config::ConfigurationService& configuration_;
  BindingStatus binding_status_;
  std::counting_semaphore<2> hashing_slots_{2};
  std::atomic<tracking::TrackingLog*> tracking_log_{nullptr};
  std::atomic<reputation::SourceReputation*> source_reputation_{nullptr};
  std::atomic<relay::QueueViewer*> queue_viewer_{nullptr};
  ServerStatus server_status_;
};

}  // namespace transport::admin
