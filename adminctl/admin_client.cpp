// adminctl: the gRPC client. A generic stub sends the serialized request to
// /transport.admin.v1.TransportAdmin/<Method>, so the command table needs no per-RPC code.
#include "adminctl/admin_client.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <vector>

namespace adminctl {

namespace {

constexpr auto kDeadline = std::chrono::seconds(30);  // password hashing takes ~100 ms; this is generous

std::string status_text(const grpc::Status& status) {
  if (!status.error_message().empty()) return status.error_message();
  return "gRPC status " + std::to_string(static_cast<int>(status.error_code()));
}

}  // namespace

CallResult call_admin(const std::string& target, const google::protobuf::MethodDescriptor& rpc,
                      const google::protobuf::Message& request, google::protobuf::Message& response) {
  const auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kDeadline);

  const std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  const grpc::ByteBuffer request_buffer(&slice, 1);
  const std::string method = "/" + rpc.service()->full_name() + "/" + rpc.name();

  grpc::CompletionQueue queue;
  const auto call = stub.PrepareUnaryCall(&context, method, request_buffer, &queue);
  grpc::ByteBuffer response_buffer;
  grpc::Status status;
  call->StartCall();
  call->Finish(&response_buffer, &status, nullptr);
  void* tag = nullptr;
  bool ok = false;
  queue.Next(&tag, &ok);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }

  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return {CallOutcome::Unreachable, status_text(status)};
  }
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
      channel->GetState(false) != GRPC_CHANNEL_READY) {
    return {CallOutcome::Unreachable, "no connection within 30 s"};
  }
  if (!status.ok()) return {CallOutcome::Refused, status_text(status)};

  std::vector<std::string> warnings;
  for (const auto& [key, value] : context.GetServerTrailingMetadata()) {
    if (key == "warning-bin") warnings.emplace_back(value.data(), value.size());
  }

  std::vector<grpc::Slice> slices;
  if (!response_buffer.Dump(&slices).ok()) return {CallOutcome::Refused, "the server's reply could not be read"};
  std::string reply;
  for (const auto& piece : slices) reply.append(reinterpret_cast<const char*>(piece.begin()), piece.size());
  if (!response.ParseFromString(reply)) {
    return {CallOutcome::Refused, "the server's reply is not a valid " + rpc.output_type()->full_name()};
  }
  return {CallOutcome::Ok, {}, std::move(warnings)};
}

}  // namespace adminctl
