// adminctl: the command table. Each object kind (ReceiveConnector, ...) is described once: its proto
// message, identity field, default table columns and RPCs; every command is derived from that.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace google::protobuf {
class Descriptor;
class FieldDescriptor;
class MethodDescriptor;
}  // namespace google::protobuf

namespace adminctl {

// Retry, Suspend and Resume act on queues and queued messages (retry-queue, suspend-message).
enum class Verb { Get, New, Set, Remove, Test, Clear, Retry, Suspend, Resume };

struct ObjectKind {
  std::string noun;           // Exchange spelling: "ReceiveConnector"
  const google::protobuf::Descriptor* message = nullptr;
  // The field that names one object in new-* (Name, PrimarySmtpAddress); null for a singleton.
  const google::protobuf::FieldDescriptor* identity_field = nullptr;
  // The field shown as the object's Identity (output_only "identity" when the message has one).
  const google::protobuf::FieldDescriptor* shown_identity_field = nullptr;
  std::vector<const google::protobuf::FieldDescriptor*> default_columns;
  bool singleton = false;     // one per server: no identities (RecipientFilterConfig)
  bool has_password = false;  // new-/set- take --password-stdin / --password-prompt
  // A log searched with filter flags (MessageTrackingLog): get-* only, no identities; each field of
  // the get RPC's request is a flag (--sender, --event-id), and the response lists the objects.
  bool query = false;
  // A query whose request has an "identity" field (SourceReputation): a positional argument sets it,
  // like --identity. Null for every other kind.
  const google::protobuf::FieldDescriptor* query_identity_field = nullptr;
  std::string get_summary;  // a query's line for `adminctl --help`
};

struct Command {
  std::string name;  // lower-case, "get-receiveconnector"
  Verb verb;
  const ObjectKind* kind;
  const google::protobuf::MethodDescriptor* rpc;
  std::string summary;  // one line for `adminctl --help`
};

// Every command, in the order `adminctl --help` lists them.
const std::vector<Command>& commands();

// test-route's kind (Route): its one positional argument is the recipient, not an identity.
bool is_route_test(const ObjectKind& kind);

// Case-insensitive lookup ("Get-ReceiveConnector" works); null when there is no such command.
const Command* find_command(std::string_view name);

}  // namespace adminctl
