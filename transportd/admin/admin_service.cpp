// AdminService: request → ConfigurationService → response, with one translation of failures into
// gRPC status codes.
#include "transportd/admin/admin_service.h"

#include <algorithm>
#include <limits>

#include "store/byte_size.h"
#include "store/connector_selection.h"
#include "store/mailbox.h"
#include "store/configuration_store.h"
#include "store/text_util.h"
#include "store/value_error.h"
#include "transportd/admin/error_text.h"
#include "transportd/admin/proto_mapping.h"
#include "transportd/config/admin_error.h"
#include "transportd/config/change_caller.h"
#include "transportd/config/identity_match.h"
#include "transportd/log.h"
#include "transportd/observability/connector_metrics.h"
#include "transportd/routing/recipient_router.h"

namespace transport::admin {

namespace {

using config::AdminError;
using config::ConfigurationService;

// The trailing metadata key of a warning (see the proto's Conventions); -bin: the text is UTF-8.
constexpr const char* kWarningKey = "warning-bin";

// Runs a handler body, mapping each failure to its status code. what_if: the body's changes are
// validated and rolled back. Warnings of a body that succeeds go back as trailing metadata.
template <class Body>
grpc::Status guarded(const char* rpc, grpc::ServerContext* context, Body body, bool what_if = false) {
  observability::count_admin_call(rpc);
  const config::ChangeCaller caller([context] { return context->IsCancelled(); }, what_if);
  try {
    body();
    for (const std::string& warning : caller.warnings()) context->AddTrailingMetadata(kWarningKey, warning);
    return grpc::Status::OK;
  } catch (const store::ValidationError& e) {
    return {grpc::StatusCode::INVALID_ARGUMENT, readable_error(e.what())};
  } catch (const store::ValueError& e) {
    return {grpc::StatusCode::INVALID_ARGUMENT, readable_error(e.what())};
  } catch (const AdminError& e) {
    switch (e.kind()) {
      case AdminError::Kind::not_found: return {grpc::StatusCode::NOT_FOUND, readable_error(e.what())};
      case AdminError::Kind::already_exists: return {grpc::StatusCode::ALREADY_EXISTS, readable_error(e.what())};
      case AdminError::Kind::conflict: return {grpc::StatusCode::FAILED_PRECONDITION, readable_error(e.what())};
      case AdminError::Kind::abandoned: return {grpc::StatusCode::DEADLINE_EXCEEDED, e.what()};
    }
    return {grpc::StatusCode::UNKNOWN, readable_error(e.what())};
  } catch (const store::StoreUnreachable& e) {
    return {grpc::StatusCode::FAILED_PRECONDITION, readable_error(e.what())};
  } catch (const store::StoreError& e) {
    log::error("admin", std::string(rpc) + " failed in the configuration database: " + e.what());
    return {grpc::StatusCode::INTERNAL, readable_error(std::string("the configuration database failed: ") + e.what())};
  } catch (const std::exception& e) {
    log::error("admin", std::string(rpc) + " failed: " + e.what());
    return {grpc::StatusCode::INTERNAL, readable_error(e.what())};
  }
}

std::vector<std::string> identities(const google::protobuf::RepeatedPtrField<std::string>& field) {
  return {field.begin(), field.end()};
}

// AuthenticationCredential renders as the user name; the password is not a property and never leaves.
void to_proto(const store::Configuration& config, const store::SendConnector& c, v1::SendConnector& out) {
  properties_to_proto(store::send_connector_properties(), c, out);
  out.set_identity(ConfigurationService::identity(config, c));
}

void to_proto(const store::Configuration& config, const store::AcceptedDomain& d, v1::AcceptedDomain& out) {
  properties_to_proto(store::accepted_domain_properties(), d, out);
  out.set_identity(ConfigurationService::identity(config, d));
}

void to_proto(const store::Configuration& config, const store::Mailbox& m, v1::Mailbox& out) {
  properties_to_proto(store::mailbox_properties(), m, out);
  out.set_identity(ConfigurationService::identity(config, m));
  out.set_has_password(!m.password_hash.empty());
}

// A what-if changes nothing, so it is not logged as a change.
void log_change(const std::string& what) {
  if (!config::ChangeCaller::what_if()) log::info("admin", what);
}

// What a Set* request changes, for the log: the mask and the list edits (never the whole request).
std::string change_text(const google::protobuf::FieldMask& mask,
                        const google::protobuf::RepeatedPtrField<v1::ListEdit>& edits) {
  std::string text = mask.ShortDebugString();
  for (const v1::ListEdit& edit : edits) text += (text.empty() ? "" : " ") + edit.ShortDebugString();
  return text;
}

// Postfix (smtp_rcpt_timeout, smtp_data_done_timeout) and most MTAs give up on a reply after 300 s
// and defer the whole message: a tarpit that long turns a refused recipient into a lost delivery.
constexpr std::int64_t kPatientClientSeconds = 300;

void warn_about_long_tarpit(const std::string& identity, const store::ReceiveConnector& connector,
                            const config::PropertyChanges& changes) {
  const bool tarpit_given = std::any_of(changes.begin(), changes.end(), [](const auto& change) {
    return store::iequals(change.first, "TarpitInterval");
  });
  if (!tarpit_given || connector.tarpit_interval.seconds() <= kPatientClientSeconds) return;
  config::ChangeCaller::warn("TarpitInterval " + connector.tarpit_interval.to_string() + " of " + identity +
                             " is above 00:05:00: Postfix and most other MTAs give up on a reply after 300 s "
                             "and defer the whole message, valid recipients included");
}

// An address filter as given, or without the <> around it; "<>" is the null sender.
std::string bare_address(const std::string& text) {
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') return text.substr(1, text.size() - 2);
  return text;
}

// The request's filters, validated; errors name the adminctl flag (the field's kebab-case form).
tracking::TrackingQuery tracking_query_from_proto(const v1::MessageTrackingQuery& request) {
  tracking::TrackingQuery query;
  if (!request.sender().empty()) query.sender = bare_address(request.sender());
  if (!request.recipient().empty()) query.recipient = bare_address(request.recipient());
  if (!request.message_id().empty()) query.message_id = request.message_id();
  if (!request.event_id().empty()) {
    try {
      query.event_id = std::string(tracking::event_id_name(tracking::parse_event_id(request.event_id())));
    } catch (const std::invalid_argument& e) {
      throw store::ValidationError("EventId", std::string("--event-id: ") + e.what());
    }
  }
  const auto time = [](const std::string& text, const char* property, const char* flag) {
    try {
      return tracking::parse_timestamp(text);
    } catch (const std::invalid_argument& e) {
      throw store::ValidationError(property, std::string(flag) + ": " + e.what());
    }
  };
  if (!request.start().empty()) query.start = time(request.start(), "Start", "--start");
  if (!request.end().empty()) query.end = time(request.end(), "End", "--end");
  if (query.start && query.end && *query.start > *query.end) {
    throw store::ValidationError("Start", "--start " + request.start() + " is after --end " + request.end());
  }
  if (request.has_result_size()) {
    if (request.result_size() < 1 || request.result_size() > 100000) {
      throw store::ValidationError("ResultSize", "--result-size " + std::to_string(request.result_size()) +
                                                     " is out of range: allowed 1 to 100000");
    }
    query.result_size = static_cast<std::size_t>(request.result_size());
  }
  return query;
}

// The identity of Get/ClearSourceReputation; a bad one is INVALID_ARGUMENT quoting it and saying what
// would do.
reputation::SourceFilter source_filter_from(const std::string& text) {
  try {
    return reputation::SourceFilter::parse(text);
  } catch (const store::ValueError& e) {
    throw store::ValidationError("Identity", std::string("Identity: ") + e.what());
  }
}

constexpr std::int32_t kDefaultSourceResultSize = 1000;
constexpr std::int32_t kMaxSourceResultSize = 1'000'000;

void to_proto(const reputation::SourceReport& report, v1::SourceReputation& out) {
  out.set_source(report.source);
  out.set_state(std::string(reputation::standing_name(report.standing)));
  out.set_level(static_cast<std::int32_t>(std::min<std::uint32_t>(report.level, std::numeric_limits<std::int32_t>::max())));
  out.set_refused(report.refused);
  out.set_accepted(report.accepted);
  out.set_abandoned(report.abandoned);
  out.set_auth_failures(report.auth_failures);
  out.set_current_interval(store::TimeSpan::from_seconds(report.current_interval.count()).to_string());
  out.set_last_seen(tracking::format_timestamp(report.last_seen));
  if (report.auth_locked_until) out.set_auth_locked_until(tracking::format_timestamp(*report.auth_locked_until));
}

void to_proto(const tracking::TrackingEvent& event, v1::MessageTrackingEvent& out) {
  out.set_timestamp(tracking::format_timestamp(event.timestamp));
  out.set_event_id(std::string(tracking::event_id_name(event.event_id)));
  out.set_connector_id(event.connector_id);
  out.set_client_ip(event.client_ip);
  out.set_sender(event.sender);
  out.add_recipients(event.recipient);
  out.set_message_id(event.message_id);
  out.set_total_bytes(static_cast<std::int64_t>(
      std::min<std::uint64_t>(event.total_bytes, std::numeric_limits<std::int64_t>::max())));
  out.set_recipient_status(event.reply);
}

// ---- The queues ----

// Not UNAVAILABLE: adminctl takes that for an unreachable server (exit 3); this is a refusal (exit 1).
grpc::Status no_queue() { return {grpc::StatusCode::FAILED_PRECONDITION, "the queue is not available"}; }

// Unix seconds as the tracking log writes times; "" for 0 (none).
std::string queue_time(std::int64_t unix_seconds) {
  if (unix_seconds == 0) return {};
  return tracking::format_timestamp(std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds)));
}

void to_proto(const relay::QueueView& queue, v1::Queue& out) {
  out.set_identity(queue.identity);
  out.set_delivery_type(queue.delivery_type);
  out.set_next_hop_domain(queue.next_hop_domain);
  out.set_status(queue.status);
  out.set_message_count(static_cast<std::int64_t>(queue.message_count));
  out.set_last_error(queue.last_error);
  out.set_next_retry_time(queue_time(queue.next_retry_time));
}

void to_proto(const relay::MessageView& message, v1::QueuedMessage& out) {
  out.set_identity(message.identity);
  out.set_from_address(message.from);
  for (const auto& recipient : message.recipients) out.add_recipients(recipient);
  out.set_status(message.status);
  out.set_size(store::ByteSize(message.size).to_string());
  out.set_date_received(queue_time(message.date_received));
  out.set_expiration_time(queue_time(message.expiration_time));
  out.set_last_error(message.last_error);
  out.set_queue(message.queue);
  out.set_origin(message.origin);
}

// "HOST\rest" -> {HOST, rest}; an identity without a host is all rest.
std::pair<std::string_view, std::string_view> split_host(std::string_view identity) {
  const std::size_t slash = identity.find('\\');
  if (slash == std::string_view::npos) return {{}, identity};
  return {identity.substr(0, slash), identity.substr(slash + 1)};
}

// A queue is named by HOST\NextHopDomain or the bare NextHopDomain (globs, any case).
bool names_queue(std::string_view pattern, const relay::QueueView& queue) {
  const auto [host, rest] = split_host(queue.identity);
  return config::identity_matches(pattern, host, rest);
}

// A message by HOST\<queue>\<id>, <queue>\<id>, or the bare id.
bool names_message(std::string_view pattern, const relay::MessageView& message) {
  const auto [host, rest] = split_host(message.identity);
  return config::identity_matches(pattern, host, rest) || store::glob_match(pattern, rest) ||
         store::glob_match(pattern, message.id);
}

bool is_glob(std::string_view pattern) { return pattern.find_first_of("*?") != std::string_view::npos; }

using Patterns = google::protobuf::RepeatedPtrField<std::string>;

// The rows the patterns name, in listing order; a pattern that names none is NOT_FOUND. Empty
// patterns: every row.
template <class Row, class Names>
std::vector<Row> chosen_rows(const std::vector<Row>& rows, const Patterns& patterns, Names names, const char* noun) {
  std::vector<bool> chosen(rows.size(), patterns.empty());
  for (const std::string& pattern : patterns) {
    bool found = false;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (names(pattern, rows[i])) chosen[i] = found = true;
    }
    if (!found) {
      throw AdminError(AdminError::Kind::not_found, std::string("no ") + noun + " matches \"" + pattern + "\"");
    }
  }
  std::vector<Row> picked;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (chosen[i]) picked.push_back(rows[i]);
  }
  return picked;
}

// The identities an action applies to: each pattern's rows; a literal that names no row is passed on
// as typed, so that the viewer says why it knows no such queue or message (NOT_FOUND, its sentence).
template <class Row, class Names>
std::vector<std::pair<std::string, bool>> action_targets(const std::vector<Row>& rows, const Patterns& patterns,
                                                         Names names, const char* noun) {
  if (patterns.empty()) {
    throw store::ValidationError("Identity", std::string("give the identity of at least one ") + noun);
  }
  std::vector<std::pair<std::string, bool>> targets;  // identity, whether it is listed now
  const auto add = [&](const std::string& identity, bool listed) {
    for (const auto& target : targets) {
      if (target.first == identity) return;
    }
    targets.emplace_back(identity, listed);
  };
  for (const std::string& pattern : patterns) {
    bool found = false;
    for (const Row& row : rows) {
      if (names(pattern, row)) {
        add(row.identity, true);
        found = true;
      }
    }
    if (found) continue;
    if (is_glob(pattern)) {
      throw AdminError(AdminError::Kind::not_found, std::string("no ") + noun + " matches \"" + pattern + "\"");
    }
    add(pattern, false);
  }
  return targets;
}

// Runs `act` on each target; the first refusal ends the call: NOT_FOUND when the target was not
// listed (the viewer knows no such thing), else FAILED_PRECONDITION (a message being delivered now).
template <class Act>
void act_on(const std::vector<std::pair<std::string, bool>>& targets, Act act,
            google::protobuf::RepeatedPtrField<std::string>& done) {
  for (const auto& [identity, listed] : targets) {
    const std::string refusal = act(identity);
    if (!refusal.empty()) {
      throw AdminError(listed ? AdminError::Kind::conflict : AdminError::Kind::not_found, refusal);
    }
    *done.Add() = identity;
  }
}

}  // namespace

void AdminService::connector_to_proto(const store::Configuration& config, const store::ReceiveConnector& c,
                            v1::ReceiveConnector& out) const {
  properties_to_proto(store::receive_connector_properties(), c, out);
  const std::string server = ConfigurationService::server_of(config, c);
  out.set_identity(store::connector_identity(server, c));
  for (const store::Binding& binding : c.bindings) {
    // Another server's listeners are its own: this node knows only its own sockets.
    const std::string status = server != config.host_name ? "on " + server + " (its listener is known there only)"
                               : c.enabled                ? binding_status_(c, binding)
                                                          : std::string("not listening (connector disabled)");
    out.add_binding_status(binding.to_string() + " " + status);
  }
}

grpc::Status AdminService::GetReceiveConnector(grpc::ServerContext* context,
                                               const v1::GetReceiveConnectorRequest* request,
                                               v1::ReceiveConnectorList* response) {
  return guarded("GetReceiveConnector", context, [&] {
    auto config = configuration_.snapshot();
    for (const auto& c : configuration_.get_connectors(identities(request->identities()), request->server())) {
      connector_to_proto(*config, c, *response->add_connectors());
    }
  });
}

grpc::Status AdminService::NewReceiveConnector(grpc::ServerContext* context, const v1::NewReceiveConnectorRequest* request,
                                               v1::ReceiveConnector* response) {
  return guarded("NewReceiveConnector", context, [&] {
    const auto changes = changes_from_proto(request->connector(), request->given());
    auto created = configuration_.new_connector(changes);
    connector_to_proto(*configuration_.snapshot(), created, *response);
    warn_about_long_tarpit(response->identity(), created, changes);
    log_change("created receive connector " + response->identity());
  }, request->what_if());
}

grpc::Status AdminService::SetReceiveConnector(grpc::ServerContext* context, const v1::SetReceiveConnectorRequest* request,
                                               v1::ReceiveConnectorList* response) {
  return guarded("SetReceiveConnector", context, [&] {
    const auto changes = changes_from_proto(request->values(), request->update_mask());
    auto changed = configuration_.set_connectors(
        identities(request->identities()), changes,
        list_edits_from_proto(*request->values().GetDescriptor(), request->list_edits(), request->update_mask()));
    auto config = configuration_.snapshot();
    for (const auto& c : changed) {
      connector_to_proto(*config, c, *response->add_connectors());
      const std::string& identity = response->connectors().rbegin()->identity();
      warn_about_long_tarpit(identity, c, changes);
      log_change("changed receive connector " + identity + ": " +
                 change_text(request->update_mask(), request->list_edits()));
    }
  }, request->what_if());
}

grpc::Status AdminService::RemoveReceiveConnector(grpc::ServerContext* context, const v1::RemoveRequest* request,
                                                  v1::RemoveResponse* response) {
  return guarded("RemoveReceiveConnector", context, [&] {
    const store::ConfigurationPtr before = configuration_.snapshot();
    const std::vector<std::string> removed = configuration_.remove_connectors(identities(request->identities()));
    for (const auto& id : removed) {
      log_change("removed receive connector " + id);
      response->add_removed(id);
    }
    // Bindings that only removed connectors had on their server: nothing will listen there any more.
    const auto is_removed = [&](const store::ReceiveConnector& c) {
      return std::find(removed.begin(), removed.end(), ConfigurationService::identity(*before, c)) != removed.end();
    };
    const auto report_emptied = [&](const std::vector<store::ReceiveConnector>& connectors, const std::string& where) {
      std::vector<store::Binding> emptied;
      for (const auto& c : connectors) {
        if (!is_removed(c)) continue;
        for (const auto& binding : c.bindings) {
          const bool kept = std::any_of(connectors.begin(), connectors.end(), [&](const auto& other) {
            return !is_removed(other) &&
                   std::find(other.bindings.begin(), other.bindings.end(), binding) != other.bindings.end();
          });
          if (!kept && std::find(emptied.begin(), emptied.end(), binding) == emptied.end()) emptied.push_back(binding);
        }
      }
      for (const auto& binding : emptied) response->add_emptied_bindings(binding.to_string() + where);
    };
    report_emptied(before->connectors, "");
    for (const auto& other : before->other_servers) report_emptied(other.connectors, " on " + other.server);
  }, request->what_if());
}

grpc::Status AdminService::TestReceiveConnector(grpc::ServerContext* context, const v1::TestReceiveConnectorRequest* request,
                                                v1::TestReceiveConnectorResponse* response) {
  return guarded("TestReceiveConnector", context, [&] {
    store::IpAddress remote;
    store::Binding local;
    try {
      remote = store::IpAddress::parse(request->remote_ip());
    } catch (const store::ValueError& e) {
      throw store::ValidationError("RemoteIp", std::string("remote IP: ") + e.what());
    }
    try {
      local = store::Binding::parse(request->local_endpoint());
    } catch (const store::ValueError& e) {
      throw store::ValidationError("Local", std::string("local endpoint: ") + e.what());
    }
    const bool remote_v4 = remote.family() == store::IpFamily::v4;
    const bool local_v4 = local.address.family() == store::IpFamily::v4;
    // An IPv6 socket bound to [::] also accepts IPv4 clients (as IPv4-mapped addresses); nothing else
    // connects a client of one family to a local address of the other.
    if (remote_v4 != local_v4 && !(remote_v4 && local.is_wildcard())) {
      throw store::ValidationError(
          "RemoteIp", "remote IP " + remote.to_string() + " is an " + (remote_v4 ? "IPv4" : "IPv6") +
                          " address but the local endpoint " + local.to_string() + " is " + (local_v4 ? "IPv4" : "IPv6") +
                          ": no connection has one of each; give a client and a local endpoint of the same family");
    }
    auto config = configuration_.snapshot();
    store::ConnectorSelection selection = store::select_connector(config->connectors, local, remote);
    store::Binding wildcard{local.address.family() == store::IpFamily::v4 ? store::IpAddress::parse("0.0.0.0")
                                                                          : store::IpAddress::parse("::"),
                            local.port};
    const std::string scope = "among enabled connectors bound to " + local.to_string() +
                              (local.is_wildcard() ? "" : " or " + wildcard.to_string());
    if (selection.connector == nullptr) {
      response->set_matched(false);
      response->set_reason("no RemoteIPRanges entry contains " + remote.to_string() + " " + scope +
                           ": the client would get 421 4.3.2 Service not available");
      return;
    }
    response->set_matched(true);
    response->set_connector(ConfigurationService::identity(*config, *selection.connector));
    response->set_matched_range(selection.matched_range->to_string());
    response->set_reason(selection.matched_range->to_string() + " is the most specific RemoteIPRanges entry containing " +
                         remote.to_string() + " " + scope +
                         (selection.via_wildcard ? "; the connector is bound to the wildcard address"
                                                 : "; the connector is bound to the specific IP, which wins ties"));
  });
}

namespace {

// test-route's answer from RCPT TO's decision: the reply it would send, and the route behind it.
void route_to_proto(const routing::Decision& decision, const std::string& recipient, bool may_relay,
                    v1::TestRouteResponse& out) {
  out.set_recipient(recipient);
  switch (decision.verdict) {
    case routing::Verdict::local: out.set_result("Local"); break;
    case routing::Verdict::relay: out.set_result("Relay"); break;
    case routing::Verdict::non_delivery: out.set_result("NonDelivery"); break;
    case routing::Verdict::not_accepted:
    case routing::Verdict::no_route:
    case routing::Verdict::blocked:
    case routing::Verdict::unknown_user: out.set_result("Refused"); break;
  }
  // The codes protocol.cpp answers RCPT TO with for each verdict.
  switch (decision.verdict) {
    case routing::Verdict::not_accepted: out.set_reply("550 5.7.1"); break;
    case routing::Verdict::no_route: out.set_reply("550 5.4.4"); break;
    case routing::Verdict::blocked:
    case routing::Verdict::unknown_user: out.set_reply("550 5.1.1"); break;
    default: out.set_reply("250 2.1.5"); break;
  }
  if (decision.domain != nullptr) out.set_accepted_domain(decision.domain->name);
  if (decision.verdict == routing::Verdict::local && decision.mailbox != nullptr) {
    out.set_mailbox(decision.mailbox->primary_smtp_address);
    out.set_delivery_type("MailboxDelivery");
  }
  if (decision.verdict == routing::Verdict::relay && decision.connector != nullptr) {
    const store::SendConnector& connector = *decision.connector;
    out.set_send_connector(connector.name);
    if (decision.address_space != nullptr) out.set_address_space(decision.address_space->to_string());
    if (connector.smart_hosts.empty()) {
      out.set_delivery_type("DnsConnectorDelivery");
      out.set_next_hop(recipient.substr(recipient.rfind('@') + 1));
    } else {
      out.set_delivery_type("SmartHostConnectorDelivery");
      std::string hosts;
      for (const auto& host : connector.smart_hosts) hosts += (hosts.empty() ? "" : ", ") + host.to_string();
      out.set_next_hop(hosts);
    }
  }
  out.set_reason(routing::explain(decision, recipient, may_relay));
}

}  // namespace

grpc::Status AdminService::TestRoute(grpc::ServerContext* context, const v1::TestRouteRequest* request,
                                     v1::TestRouteResponse* response) {
  return guarded("TestRoute", context, [&] {
    const std::string text(store::trim(request->recipient()));
    // A bare postmaster is RCPT TO:<Postmaster>: no domain, no relay or block-list check.
    const bool bare_postmaster = store::iequals(text, "postmaster");
    std::string recipient;
    if (bare_postmaster) {
      recipient = text;
    } else {
      try {
        recipient = store::normalize_address(text);
      } catch (const store::ValueError& e) {
        throw store::ValidationError("Recipient", std::string("Recipient: ") + e.what() +
                                                      " (or give postmaster alone, as RCPT TO:<Postmaster>)");
      }
    }
    auto config = configuration_.snapshot();
    const routing::RecipientRouter router(*config);  // keeps pointers into *config, which outlives it here
    const bool may_relay = request->authenticated();
    const routing::Decision decision = bare_postmaster ? router.postmaster() : router.check(recipient, may_relay);
    route_to_proto(decision, recipient, may_relay, *response);
  });
}

grpc::Status AdminService::GetSendConnector(grpc::ServerContext* context, const v1::IdentityFilter* request,
                                           v1::SendConnectorList* response) {
  return guarded("GetSendConnector", context, [&] {
    auto config = configuration_.snapshot();
    for (const auto& c : configuration_.get_send_connectors(identities(request->identities()))) {
      to_proto(*config, c, *response->add_connectors());
    }
  });
}

grpc::Status AdminService::NewSendConnector(grpc::ServerContext* context, const v1::NewSendConnectorRequest* request,
                                           v1::SendConnector* response) {
  return guarded("NewSendConnector", context, [&] {
    if (request->has_password() && request->password().empty()) {
      throw store::ValidationError("AuthenticationCredential",
                                   "the password may not be empty: leave it out for a connector without a credential");
    }
    auto created = configuration_.new_send_connector(
        changes_from_proto(request->connector(), request->given()),
        request->has_password() ? std::optional(request->password()) : std::nullopt);
    to_proto(*configuration_.snapshot(), created, *response);
    log_change("created send connector " + response->identity());
  }, request->what_if());
}

grpc::Status AdminService::SetSendConnector(grpc::ServerContext* context, const v1::SetSendConnectorRequest* request,
                                           v1::SendConnectorList* response) {
  return guarded("SetSendConnector", context, [&] {
    auto changed = configuration_.set_send_connectors(
        identities(request->identities()), changes_from_proto(request->values(), request->update_mask()),
        request->has_password() ? std::optional(request->password()) : std::nullopt,
        list_edits_from_proto(*request->values().GetDescriptor(), request->list_edits(), request->update_mask()));
    auto config = configuration_.snapshot();
    // The log names the change, never the password: only whether one was set.
    const std::string password_change =
        !request->has_password() ? "" : (request->password().empty() ? " (password removed)" : " (password set)");
    for (const auto& c : changed) {
      to_proto(*config, c, *response->add_connectors());
      log_change("changed send connector " + c.name + ": " +
                 change_text(request->update_mask(), request->list_edits()) + password_change);
    }
  }, request->what_if());
}

grpc::Status AdminService::RemoveSendConnector(grpc::ServerContext* context, const v1::RemoveRequest* request,
                                              v1::RemoveResponse* response) {
  return guarded("RemoveSendConnector", context, [&] {
    for (auto& id : configuration_.remove_send_connectors(identities(request->identities()))) {
      log_change("removed send connector " + id);
      response->add_removed(std::move(id));
    }
  }, request->what_if());
}

grpc::Status AdminService::GetAcceptedDomain(grpc::ServerContext* context, const v1::IdentityFilter* request,
                                             v1::AcceptedDomainList* response) {
  return guarded("GetAcceptedDomain", context, [&] {
    auto config = configuration_.snapshot();
    for (const auto& d : configuration_.get_accepted_domains(identities(request->identities()))) {
      to_proto(*config, d, *response->add_domains());
    }
  });
}

grpc::Status AdminService::NewAcceptedDomain(grpc::ServerContext* context, const v1::NewAcceptedDomainRequest* request,
                                             v1::AcceptedDomain* response) {
  return guarded("NewAcceptedDomain", context, [&] {
    auto created = configuration_.new_accepted_domain(changes_from_proto(request->domain(), request->given()));
    to_proto(*configuration_.snapshot(), created, *response);
    log_change("created accepted domain " + response->identity());
  }, request->what_if());
}

grpc::Status AdminService::SetAcceptedDomain(grpc::ServerContext* context, const v1::SetAcceptedDomainRequest* request,
                                             v1::AcceptedDomainList* response) {
  return guarded("SetAcceptedDomain", context, [&] {
    auto changed = configuration_.set_accepted_domains(
        identities(request->identities()), changes_from_proto(request->values(), request->update_mask()),
        list_edits_from_proto(*request->values().GetDescriptor(), request->list_edits(), request->update_mask()));
    auto config = configuration_.snapshot();
    for (const auto& d : changed) to_proto(*config, d, *response->add_domains());
    log_change("changed " + std::to_string(changed.size()) + " accepted domain(s)");
  }, request->what_if());
}

grpc::Status AdminService::RemoveAcceptedDomain(grpc::ServerContext* context, const v1::RemoveRequest* request,
                                                v1::RemoveResponse* response) {
  return guarded("RemoveAcceptedDomain", context, [&] {
    for (auto& id : configuration_.remove_accepted_domains(identities(request->identities()))) {
      log_change("removed accepted domain " + id);
      response->add_removed(std::move(id));
    }
  }, request->what_if());
}

grpc::Status AdminService::GetMailbox(grpc::ServerContext* context, const v1::IdentityFilter* request,
                                      v1::MailboxList* response) {
  return guarded("GetMailbox", context, [&] {
    auto config = configuration_.snapshot();
    for (const auto& m : configuration_.get_mailboxes(identities(request->identities()))) {
      to_proto(*config, m, *response->add_mailboxes());
    }
  });
}

std::optional<std::string> AdminService::hash_requested_password(const std::optional<std::string>& password) {
  if (!password) return std::nullopt;
  if (password->empty()) return std::string();  // remove the password
  if (password->size() > 1024) throw store::ValidationError("Password", "Password is longer than 1024 characters");
  hashing_slots_.acquire();
  try {
    std::string hash = store::hash_password(*password);
    hashing_slots_.release();
    return hash;
  } catch (...) {
    hashing_slots_.release();
    throw;
  }
}

grpc::Status AdminService::NewMailbox(grpc::ServerContext* context, const v1::NewMailboxRequest* request,
                                      v1::Mailbox* response) {
  return guarded("NewMailbox", context, [&] {
    if (request->has_password() && request->password().empty()) {
      throw store::ValidationError("Password", "Password may not be empty: leave it out for a mailbox without one");
    }
    auto hash = hash_requested_password(request->has_password() ? std::optional(request->password()) : std::nullopt);
    auto created = configuration_.new_mailbox(changes_from_proto(request->mailbox(), request->given()), hash);
    to_proto(*configuration_.snapshot(), created, *response);
    log_change("created mailbox " + response->identity());
  }, request->what_if());
}

grpc::Status AdminService::SetMailbox(grpc::ServerContext* context, const v1::SetMailboxRequest* request,
                                      v1::MailboxList* response) {
  return guarded("SetMailbox", context, [&] {
    auto hash = hash_requested_password(request->has_password() ? std::optional(request->password()) : std::nullopt);
    auto changed = configuration_.set_mailboxes(
        identities(request->identities()), changes_from_proto(request->values(), request->update_mask()), hash,
        list_edits_from_proto(*request->values().GetDescriptor(), request->list_edits(), request->update_mask()));
    auto config = configuration_.snapshot();
    for (const auto& m : changed) to_proto(*config, m, *response->add_mailboxes());
    log_change("changed " + std::to_string(changed.size()) + " mailbox(es)");
  }, request->what_if());
}

grpc::Status AdminService::RemoveMailbox(grpc::ServerContext* context, const v1::RemoveRequest* request,
                                         v1::RemoveResponse* response) {
  return guarded("RemoveMailbox", context, [&] {
    for (auto& id : configuration_.remove_mailboxes(identities(request->identities()))) {
      log_change("removed mailbox " + id);
      response->add_removed(std::move(id));
    }
  }, request->what_if());
}

grpc::Status AdminService::GetRecipientFilterConfig(grpc::ServerContext* context, const v1::GetRecipientFilterConfigRequest*,
                                                    v1::RecipientFilterConfig* response) {
  return guarded("GetRecipientFilterConfig", context, [&] {
    properties_to_proto(store::recipient_filter_properties(), configuration_.get_recipient_filter(), *response);
  });
}

grpc::Status AdminService::SetRecipientFilterConfig(grpc::ServerContext* context,
                                                    const v1::SetRecipientFilterConfigRequest* request,
                                                    v1::RecipientFilterConfig* response) {
  return guarded("SetRecipientFilterConfig", context, [&] {
    auto filter = configuration_.set_recipient_filter(
        changes_from_proto(request->values(), request->update_mask()),
        list_edits_from_proto(*request->values().GetDescriptor(), request->list_edits(), request->update_mask()));
    properties_to_proto(store::recipient_filter_properties(), filter, *response);
    log_change("changed the recipient filter: " + change_text(request->update_mask(), request->list_edits()));
  }, request->what_if());
}

grpc::Status AdminService::GetMessageTrackingLog(grpc::ServerContext* context, const v1::MessageTrackingQuery* request,
                                                 v1::MessageTrackingLog* response) {
  tracking::TrackingLog* const tracking_log = tracking_log_.load();
  // Not UNAVAILABLE: adminctl takes that for an unreachable server (exit 3); this is a refusal (exit 1).
  if (tracking_log == nullptr) {
    return {grpc::StatusCode::FAILED_PRECONDITION,
            "message tracking is off: transportd runs without a tracking database"};
  }
  return guarded("GetMessageTrackingLog", context, [&] {
    for (const auto& event : tracking_log->query(tracking_query_from_proto(*request))) {
      to_proto(event, *response->add_events());
    }
  });
}

grpc::Status AdminService::GetTransportServer(grpc::ServerContext* context, const v1::GetTransportServerRequest*,
                                              v1::TransportServer* response) {
  if (!server_status_) return {grpc::StatusCode::FAILED_PRECONDITION, "the server status is not available"};
  return guarded("GetTransportServer", context, [&] {
    *response = server_status_();
    properties_to_proto(store::transport_server_properties(), configuration_.get_transport_server(), *response);
  });
}

grpc::Status AdminService::SetTransportServer(grpc::ServerContext* context, const v1::SetTransportServerRequest* request,
                                              v1::TransportServer* response) {
  if (!server_status_) return {grpc::StatusCode::FAILED_PRECONDITION, "the server status is not available"};
  return guarded("SetTransportServer", context, [&] {
    const auto settings = configuration_.set_transport_server(changes_from_proto(request->values(), request->update_mask()));
    *response = server_status_();
    properties_to_proto(store::transport_server_properties(), settings, *response);
    log_change("changed the transport server: " + request->update_mask().ShortDebugString());
  }, request->what_if());
}

grpc::Status AdminService::GetHarvestDefenceConfig(grpc::ServerContext* context, const v1::GetHarvestDefenceConfigRequest*,
                                                   v1::HarvestDefenceConfig* response) {
  return guarded("GetHarvestDefenceConfig", context, [&] {
    properties_to_proto(store::harvest_defence_properties(), configuration_.get_harvest_defence(), *response);
  });
}

grpc::Status AdminService::SetHarvestDefenceConfig(grpc::ServerContext* context,
                                                   const v1::SetHarvestDefenceConfigRequest* request,
                                                   v1::HarvestDefenceConfig* response) {
  return guarded("SetHarvestDefenceConfig", context, [&] {
    const auto config = configuration_.set_harvest_defence(
        changes_from_proto(request->values(), request->update_mask()),
        list_edits_from_proto(*request->values().GetDescriptor(), request->list_edits(), request->update_mask()));
    properties_to_proto(store::harvest_defence_properties(), config, *response);
    log_change("changed the harvest defence: " + change_text(request->update_mask(), request->list_edits()));
  }, request->what_if());
}

grpc::Status AdminService::GetSourceReputation(grpc::ServerContext* context, const v1::SourceReputationQuery* request,
                                               v1::SourceReputationList* response) {
  reputation::SourceReputation* const source_reputation = source_reputation_.load();
  // Not UNAVAILABLE: adminctl takes that for an unreachable server (exit 3); this is a refusal (exit 1).
  if (source_reputation == nullptr) {
    return {grpc::StatusCode::FAILED_PRECONDITION, "harvest defence is not running"};
  }
  return guarded("GetSourceReputation", context, [&] {
    const auto filter = source_filter_from(request->identity().empty() ? "*" : request->identity());
    std::optional<reputation::Standing> standing;
    if (!request->state().empty()) {
      standing = reputation::parse_standing(request->state());
      if (!standing) {
        throw store::ValidationError("State", "--state \"" + request->state() +
                                                  "\" is not allowed: Clean, Suspect or Discredited");
      }
    }
    std::int32_t limit = kDefaultSourceResultSize;
    if (request->has_result_size()) {
      limit = request->result_size();
      if (limit < 1 || limit > kMaxSourceResultSize) {
        throw store::ValidationError("ResultSize", "--result-size " + std::to_string(limit) +
                                                       " is out of range: allowed 1 to " +
                                                       std::to_string(kMaxSourceResultSize));
      }
    }
    const auto reports = source_reputation->list(filter, standing, reputation::Clock::now(),
                                                 static_cast<std::size_t>(limit));
    for (const auto& report : reports) to_proto(report, *response->add_sources());
  });
}

grpc::Status AdminService::ClearSourceReputation(grpc::ServerContext* context,
                                                 const v1::ClearSourceReputationRequest* request,
                                                 v1::ClearSourceReputationResponse* response) {
  reputation::SourceReputation* const source_reputation = source_reputation_.load();
  if (source_reputation == nullptr) {
    return {grpc::StatusCode::FAILED_PRECONDITION, "harvest defence is not running"};
  }
  return guarded("ClearSourceReputation", context, [&] {
    if (request->identity().empty()) {
      throw store::ValidationError("Identity", "give the source to forgive: an address, a prefix, a glob, or * for all");
    }
    const auto filter = source_filter_from(request->identity());
    const std::size_t cleared = source_reputation->forgive(filter);
    response->set_cleared(static_cast<std::int64_t>(cleared));
    log::info("admin", "cleared " + std::to_string(cleared) + " source record(s) matching " + filter.text);
  });
}

grpc::Status AdminService::GetQueue(grpc::ServerContext* context, const v1::IdentityFilter* request,
                                    v1::QueueList* response) {
  relay::QueueViewer* const viewer = queue_viewer_.load();
  if (viewer == nullptr) return no_queue();
  return guarded("GetQueue", context, [&] {
    for (const auto& queue : chosen_rows(viewer->queues(), request->identities(), names_queue, "queue")) {
      to_proto(queue, *response->add_queues());
    }
  });
}

grpc::Status AdminService::GetMessage(grpc::ServerContext* context, const v1::MessageFilter* request,
                                      v1::QueuedMessageList* response) {
  relay::QueueViewer* const viewer = queue_viewer_.load();
  if (viewer == nullptr) return no_queue();
  return guarded("GetMessage", context, [&] {
    std::vector<relay::MessageView> messages = viewer->messages("");
    if (!request->queue().empty()) {
      // --queue names a queue (or a glob of them) as get-queue does, or HOST\Submission, where the
      // messages in no delivery queue show (suspended, or being delivered) though get-queue has no row.
      const std::string& pattern = request->queue();
      std::erase_if(messages, [&](const relay::MessageView& message) {
        const auto [host, rest] = split_host(message.queue);
        return !config::identity_matches(pattern, host, rest);
      });
      const auto queues = viewer->queues();
      const bool names_a_queue = std::any_of(
          queues.begin(), queues.end(), [&](const relay::QueueView& queue) { return names_queue(pattern, queue); });
      if (messages.empty() && !names_a_queue) {
        throw AdminError(AdminError::Kind::not_found, "no queue matches \"" + pattern + "\"");
      }
    }
    for (const auto& message : chosen_rows(messages, request->identities(), names_message, "message")) {
      to_proto(message, *response->add_messages());
    }
  });
}

grpc::Status AdminService::act_on_queues(const char* rpc, grpc::ServerContext* context,
                                         const v1::QueueActionRequest& request, v1::QueueActionResponse& response,
                                         QueueAction action, const char* done_text) {
  relay::QueueViewer* const viewer = queue_viewer_.load();
  if (viewer == nullptr) return no_queue();
  return guarded(rpc, context, [&] {
    const auto targets = action_targets(viewer->queues(), request.identities(), names_queue, "queue");
    act_on(targets, [&](const std::string& identity) { return (viewer->*action)(identity); },
           *response.mutable_identities());
    for (const auto& identity : response.identities()) {
      log::info("admin", std::string(done_text) + " queue " + identity);
    }
  });
}

grpc::Status AdminService::act_on_messages(const char* rpc, grpc::ServerContext* context,
                                           const v1::QueueActionRequest& request, v1::QueueActionResponse& response,
                                           QueueAction action, const char* done_text) {
  relay::QueueViewer* const viewer = queue_viewer_.load();
  if (viewer == nullptr) return no_queue();
  return guarded(rpc, context, [&] {
    const auto targets = action_targets(viewer->messages(""), request.identities(), names_message, "message");
    act_on(targets, [&](const std::string& identity) { return (viewer->*action)(identity); },
           *response.mutable_identities());
    for (const auto& identity : response.identities()) {
      log::info("admin", std::string(done_text) + " message " + identity);
    }
  });
}

grpc::Status AdminService::RetryQueue(grpc::ServerContext* context, const v1::QueueActionRequest* request,
                                      v1::QueueActionResponse* response) {
  return act_on_queues("RetryQueue", context, *request, *response, &relay::QueueViewer::retry_queue, "retrying");
}

grpc::Status AdminService::SuspendQueue(grpc::ServerContext* context, const v1::QueueActionRequest* request,
                                        v1::QueueActionResponse* response) {
  return act_on_queues("SuspendQueue", context, *request, *response, &relay::QueueViewer::suspend_queue, "suspended");
}

grpc::Status AdminService::ResumeQueue(grpc::ServerContext* context, const v1::QueueActionRequest* request,
                                       v1::QueueActionResponse* response) {
  return act_on_queues("ResumeQueue", context, *request, *response, &relay::QueueViewer::resume_queue, "resumed");
}

grpc::Status AdminService::SuspendMessage(grpc::ServerContext* context, const v1::QueueActionRequest* request,
                                          v1::QueueActionResponse* response) {
  return act_on_messages("SuspendMessage", context, *request, *response, &relay::QueueViewer::suspend_message,
                         "suspended");
}

grpc::Status AdminService::ResumeMessage(grpc::ServerContext* context, const v1::QueueActionRequest* request,
                                         v1::QueueActionResponse* response) {
  return act_on_messages("ResumeMessage", context, *request, *response, &relay::QueueViewer::resume_message,
                         "resumed");
}

grpc::Status AdminService::RemoveMessage(grpc::ServerContext* context, const v1::RemoveMessageRequest* request,
                                         v1::RemoveResponse* response) {
  relay::QueueViewer* const viewer = queue_viewer_.load();
  if (viewer == nullptr) return no_queue();
  // Exchange's -WithNDR defaults to $true.
  const bool with_ndr = !request->has_with_ndr() || request->with_ndr();
  return guarded("RemoveMessage", context, [&] {
    const auto targets = action_targets(viewer->messages(""), request->identities(), names_message, "message");
    if (request->what_if()) {
      for (const auto& [identity, listed] : targets) {
        if (!listed) throw AdminError(AdminError::Kind::not_found, "no message matches \"" + identity + "\"");
        response->add_removed(identity);
      }
      return;
    }
    act_on(targets, [&](const std::string& identity) { return viewer->remove_message(identity, with_ndr); },
           *response->mutable_removed());
    for (const auto& identity : response->removed()) {
      log::info("admin", "removed message " + identity + (with_ndr ? " (the sender gets a non-delivery report)"
                                                                   : " without a non-delivery report"));
    }
  });
}

}  // namespace transport::admin
