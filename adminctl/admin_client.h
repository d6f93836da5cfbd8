// adminctl: one unary call to the TransportAdmin service, made generically from the method's
// descriptor (no per-RPC code), with the outcome sorted into the exit-code classes of DESIGN §7.
#pragma once

#include <string>
#include <vector>

namespace google::protobuf {
class Message;
class MethodDescriptor;
}  // namespace google::protobuf

namespace adminctl {

enum class CallOutcome {
  Ok,           // response filled in
  Refused,      // the server answered with an error (exit 1); message is its sentence
  Unreachable,  // no connection to the server (exit 3); message is gRPC's detail
};

struct CallResult {
  CallOutcome outcome;
  std::string message;
  std::vector<std::string> warnings = {};  // Ok only: the server's warnings about the change it made
};

// Calls rpc on target (a gRPC target such as unix:/path) with a 30 s deadline.
CallResult call_admin(const std::string& target, const google::protobuf::MethodDescriptor& rpc,
                      const google::protobuf::Message& request, google::protobuf::Message& response);

}  // namespace adminctl
