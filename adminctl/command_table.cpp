// adminctl: the command table. Object kinds are declared once below; each command's RPC is looked up
// in the TransportAdmin service descriptor by name (Get + ReceiveConnector -> GetReceiveConnector).
#include "adminctl/command_table.h"

#include <cstdio>
#include <cstdlib>

#include "adminctl/properties.h"
#include "adminctl/text.h"
#include "transport_admin.pb.h"

namespace adminctl {

namespace pb = google::protobuf;
namespace v1 = transport::admin::v1;

namespace {

// A broken invariant between this table and the proto is a bug: fail loudly at startup.
[[noreturn]] void table_bug(const std::string& what) {
  std::fprintf(stderr, "adminctl: internal error: %s\n", what.c_str());
  std::abort();
}

const pb::FieldDescriptor* field_named(const pb::Descriptor* message, const char* name) {
  const auto* field = message->FindFieldByName(name);
  if (field == nullptr) table_bug(message->full_name() + " has no field " + name);
  return field;
}

struct KindSpec {
  const char* noun;
  const pb::Descriptor* message;
  const char* identity_field;  // nullptr for a singleton
  std::vector<const char*> columns;  // Exchange names
  bool has_password;
  std::vector<Verb> verbs;
  bool query;
  const char* get_summary = "";  // a query's line for --help
};

ObjectKind make_kind(const KindSpec& spec) {
  ObjectKind kind;
  kind.noun = spec.noun;
  kind.message = spec.message;
  kind.singleton = spec.identity_field == nullptr && !spec.query;
  kind.has_password = spec.has_password;
  kind.query = spec.query;
  kind.get_summary = spec.get_summary;
  if (spec.identity_field != nullptr) {
    kind.identity_field = field_named(spec.message, spec.identity_field);
    const auto* shown = spec.message->FindFieldByName("identity");
    kind.shown_identity_field = shown != nullptr ? shown : kind.identity_field;
  }
  for (const char* column : spec.columns) {
    const auto* field = find_by_exchange_name(*spec.message, column);
    if (field == nullptr) table_bug(spec.message->full_name() + " has no property " + column);
    kind.default_columns.push_back(field);
  }
  return kind;
}

const std::vector<KindSpec>& kind_specs() {
  static const std::vector<KindSpec> specs{
      {"ReceiveConnector", v1::ReceiveConnector::descriptor(), "name",
       {"Identity", "Bindings", "RemoteIPRanges", "TarpitInterval", "Enabled"}, false,
       {Verb::Get, Verb::New, Verb::Set, Verb::Remove, Verb::Test}, false},
      // AuthenticationCredential's password is read like a mailbox's (--password-stdin, --password-prompt).
      {"SendConnector", v1::SendConnector::descriptor(), "name",
       {"Identity", "AddressSpaces", "SmartHosts", "DNSRoutingEnabled", "Enabled"}, true,
       {Verb::Get, Verb::New, Verb::Set, Verb::Remove}, false},
      {"AcceptedDomain", v1::AcceptedDomain::descriptor(), "name",
       {"Name", "DomainName", "DomainType", "Default"}, false,
       {Verb::Get, Verb::New, Verb::Set, Verb::Remove}, false},
      {"Mailbox", v1::Mailbox::descriptor(), "primary_smtp_address",
       {"PrimarySmtpAddress", "DisplayName", "EmailAddresses", "HasPassword"}, true,
       {Verb::Get, Verb::New, Verb::Set, Verb::Remove}, false},
      {"RecipientFilterConfig", v1::RecipientFilterConfig::descriptor(), nullptr,
       {"RecipientValidationEnabled", "BlockListEnabled", "BlockedRecipients"}, false,
       {Verb::Get, Verb::Set}, false},
      // The objects are the events in the response; the filters are the request's fields.
      {"MessageTrackingLog", v1::MessageTrackingEvent::descriptor(), nullptr,
       {"Timestamp", "EventId", "Sender", "Recipients", "RecipientStatus"}, false,
       {Verb::Get}, true,
       "Search the message tracking log, oldest events first (filters: --sender, --recipient, --event-id, "
       "--message-id, --start, --end, --result-size)"},
      // The running server, one per daemon: mostly read-only, with a few server-wide settings.
      {"TransportServer", v1::TransportServer::descriptor(), nullptr,
       {"Name", "Version", "Uptime", "OpenSessions", "TarpittedSessions"}, false,
       {Verb::Get, Verb::Set}, false},
      {"HarvestDefenceConfig", v1::HarvestDefenceConfig::descriptor(), nullptr,
       {"Enabled", "HalfLife", "SuspectRefusedRecipients", "DiscreditRefusedRecipients", "DiscreditAbandonedHolds",
        "ExemptRemoteIPRanges"},
       false, {Verb::Get, Verb::Set}, false},
      // The objects are the source records in the response; the filters are the request's fields.
      {"SourceReputation", v1::SourceReputation::descriptor(), nullptr,
       {"Source", "State", "Level", "Refused", "Accepted", "Abandoned", "CurrentInterval", "LastSeen"}, false,
       {Verb::Get, Verb::Clear}, true,
       "Show what the harvest defence remembers about sources, most recently seen first (an ADDRESS, PREFIX or "
       "glob; --state, --result-size)"},
      // The queue viewer (DESIGN §11): the delivery queues and the messages in them, read-only but for
      // the actions. The message kind's proto is QueuedMessage: "Message" would clash with protobuf's.
      {"Queue", v1::Queue::descriptor(), "identity",
       {"Identity", "DeliveryType", "Status", "MessageCount", "NextRetryTime", "NextHopDomain"}, false,
       {Verb::Get, Verb::Retry, Verb::Suspend, Verb::Resume}, false},
      {"Message", v1::QueuedMessage::descriptor(), "identity",
       {"Identity", "FromAddress", "Status", "Size", "Queue"}, false,
       {Verb::Get, Verb::Suspend, Verb::Resume, Verb::Remove}, false},
      // test-route only: where mail for a recipient would go. The response is the one object shown.
      {"Route", v1::TestRouteResponse::descriptor(), nullptr, {}, false, {Verb::Test}, false},
  };
  return specs;
}

const char* verb_name(Verb verb) {
  switch (verb) {
    case Verb::Get: return "Get";
    case Verb::New: return "New";
    case Verb::Set: return "Set";
    case Verb::Remove: return "Remove";
    case Verb::Test: return "Test";
    case Verb::Clear: return "Clear";
    case Verb::Retry: return "Retry";
    case Verb::Suspend: return "Suspend";
    case Verb::Resume: return "Resume";
  }
  return "";
}

std::string summary(Verb verb, const ObjectKind& kind) {
  const std::string& noun = kind.noun;
  if (kind.query && verb == Verb::Get) return kind.get_summary;
  if (verb == Verb::Test && is_route_test(kind)) {
    return "Show where mail for RECIPIENT would go and why: RCPT TO's reply and the route (--authenticated: a "
           "session that may relay)";
  }
  if (kind.singleton) {
    return verb == Verb::Get ? "Show the " + noun : "Change the " + noun;
  }
  switch (verb) {
    case Verb::Get:
      if (noun == "Message") return "Show the queued messages (all, or the given identities or patterns; --queue)";
      return "Show " + noun + " objects (all, or the given identities or patterns)";
    case Verb::New: return std::string(noun.find_first_of("AEIOU") == 0 ? "Create an " : "Create a ") + noun;
    case Verb::Set: return "Change properties of the given " + noun + " objects";
    case Verb::Remove:
      if (noun == "Message") {
        return "Delete the given queued messages (--with-ndr false: without a non-delivery report)";
      }
      return "Delete the given " + noun + " objects";
    case Verb::Test: return "Show which " + noun + " would serve a connection from --remote-ip to --local";
    case Verb::Clear: return "Forget what is remembered about the given sources (an address, a prefix, a glob, or *)";
    case Verb::Retry: return "Connect now to the next hop of the given " + noun + "s, and send what waits";
    case Verb::Suspend:
      return noun == "Message" ? "Hold the given queued messages: they are not delivered until resumed"
                               : "Hold the given " + noun + " objects: nothing is delivered from them until resumed";
    case Verb::Resume:
      return noun == "Message" ? "Release the given suspended messages for delivery"
                               : "Release the given suspended " + noun + " objects for delivery";
  }
  return {};
}

struct Table {
  std::vector<ObjectKind> kinds;
  std::vector<Command> commands;
};

const Table& table() {
  static const Table built = [] {
    Table t;
    t.kinds.reserve(kind_specs().size());  // Command::kind points into this vector
    for (const auto& spec : kind_specs()) t.kinds.push_back(make_kind(spec));
    const auto* service = v1::ReceiveConnector::descriptor()->file()->FindServiceByName("TransportAdmin");
    if (service == nullptr) table_bug("the proto has no TransportAdmin service");
    for (std::size_t k = 0; k < t.kinds.size(); ++k) {
      const ObjectKind& kind = t.kinds[k];
      for (Verb verb : kind_specs()[k].verbs) {
        const std::string rpc_name = std::string(verb_name(verb)) + kind.noun;
        const auto* rpc = service->FindMethodByName(rpc_name);
        if (rpc == nullptr) table_bug("TransportAdmin has no RPC " + rpc_name);
        t.commands.push_back(Command{to_lower(verb_name(verb)) + "-" + to_lower(kind.noun), verb, &kind, rpc,
                                     summary(verb, kind)});
        if (kind.query && verb == Verb::Get) {
          t.kinds[k].query_identity_field = rpc->input_type()->FindFieldByName("identity");
        }
      }
    }
    return t;
  }();
  return built;
}

}  // namespace

const std::vector<Command>& commands() { return table().commands; }

bool is_route_test(const ObjectKind& kind) { return kind.message == v1::TestRouteResponse::descriptor(); }

const Command* find_command(std::string_view name) {
  for (const auto& command : commands()) {
    if (iequals(command.name, name)) return &command;
  }
  return nullptr;
}

}  // namespace adminctl
