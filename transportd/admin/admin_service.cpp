// AdminService: request → ConfigurationService → response, with one translation of failures into
// gRPC status codes.
#include "transportd/admin/admin_service.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <sys/stat.h>

#include <algorithm>
#include <limits>

#include "store/connector_selection.h"
#include "store/sqlite_store.h"
#include "store/value_error.h"
#include "transportd/admin/error_text.h"
#include "transportd/admin/proto_mapping.h"
#include "transportd/config/admin_error.h"
#include "transportd/config/change_caller.h"
#include "transportd/log.h"
#include "transportd/observability/connector_metrics.h"

namespace transport::admin {

namespace {

using config::AdminError;
using config::ConfigurationService;

// Runs a handler body, mapping each failure to its status code.
template <class Body>
grpc::Status guarded(const char* rpc, grpc::ServerContext* context, Body body) {
  observability::count_admin_call(rpc);
  const config::ChangeCaller caller([context] { return context->IsCancelled(); });
  try {
    body();
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

void to_proto(const store::Configuration& config, const store::AcceptedDomain& d, v1::AcceptedDomain& out) {
  properties_to_proto(store::accepted_domain_properties(), d, out);
  out.set_identity(ConfigurationService::identity(config, d));
}

void to_proto(const store::Configuration& config, const store::Mailbox& m, v1::Mailbox& out) {
  properties_to_proto(store::mailbox_properties(), m, out);
  out.set_identity(ConfigurationService::identity(config, m));
  out.set_has_password(!m.password_hash.empty());
}

void log_change(const std::string& what) { log::info("admin", what); }

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
  if (request.result_size() != 0) {
    if (request.result_size() < 1 || request.result_size() > 100000) {
      throw store::ValidationError("ResultSize", "--result-size " + std::to_string(request.result_size()) +
                                                     " is out of range: allowed 1 to 100000");
    }
    query.result_size = static_cast<std::size_t>(request.result_size());
  }
  return query;
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

}  // namespace

void AdminService::connector_to_proto(const store::Configuration& config, const store::ReceiveConnector& c,
                            v1::ReceiveConnector& out) const {
  properties_to_proto(store::receive_connector_properties(), c, out);
  out.set_identity(ConfigurationService::identity(config, c));
  for (const store::Binding& binding : c.bindings) {
    out.add_binding_status(binding.to_string() + " " +
                           (c.enabled ? binding_status_(binding) : std::string("not listening (connector disabled)")));
  }
}

grpc::Status AdminService::GetReceiveConnector(grpc::ServerContext* context, const v1::IdentityFilter* request,
                                               v1::ReceiveConnectorList* response) {
  return guarded("GetReceiveConnector", context, [&] {
    auto config = configuration_.snapshot();
    for (const auto& c : configuration_.get_connectors(identities(request->identities()))) {
      connector_to_proto(*config, c, *response->add_connectors());
    }
  });
}

grpc::Status AdminService::NewReceiveConnector(grpc::ServerContext* context, const v1::NewReceiveConnectorRequest* request,
                                               v1::ReceiveConnector* response) {
  return guarded("NewReceiveConnector", context, [&] {
    auto created = configuration_.new_connector(changes_from_proto(request->connector(), request->given()));
    connector_to_proto(*configuration_.snapshot(), created, *response);
    log_change("created receive connector " + response->identity());
  });
}

grpc::Status AdminService::SetReceiveConnector(grpc::ServerContext* context, const v1::SetReceiveConnectorRequest* request,
                                               v1::ReceiveConnectorList* response) {
  return guarded("SetReceiveConnector", context, [&] {
    auto changed = configuration_.set_connectors(identities(request->identities()),
                                                 changes_from_proto(request->values(), request->update_mask()));
    auto config = configuration_.snapshot();
    for (const auto& c : changed) {
      connector_to_proto(*config, c, *response->add_connectors());
      log_change("changed receive connector " + response->connectors().rbegin()->identity() + ": " +
                 request->update_mask().ShortDebugString());
    }
  });
}

grpc::Status AdminService::RemoveReceiveConnector(grpc::ServerContext* context, const v1::IdentityFilter* request,
                                                  v1::RemoveResponse* response) {
  return guarded("RemoveReceiveConnector", context, [&] {
    for (auto& id : configuration_.remove_connectors(identities(request->identities()))) {
      log_change("removed receive connector " + id);
      response->add_removed(std::move(id));
    }
  });
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
  });
}

grpc::Status AdminService::SetAcceptedDomain(grpc::ServerContext* context, const v1::SetAcceptedDomainRequest* request,
                                             v1::AcceptedDomainList* response) {
  return guarded("SetAcceptedDomain", context, [&] {
    auto changed = configuration_.set_accepted_domains(identities(request->identities()),
                                                       changes_from_proto(request->values(), request->update_mask()));
    auto config = configuration_.snapshot();
    for (const auto& d : changed) to_proto(*config, d, *response->add_domains());
    log_change("changed " + std::to_string(changed.size()) + " accepted domain(s)");
  });
}

grpc::Status AdminService::RemoveAcceptedDomain(grpc::ServerContext* context, const v1::IdentityFilter* request,
                                                v1::RemoveResponse* response) {
  return guarded("RemoveAcceptedDomain", context, [&] {
    for (auto& id : configuration_.remove_accepted_domains(identities(request->identities()))) {
      log_change("removed accepted domain " + id);
      response->add_removed(std::move(id));
    }
  });
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
  });
}

grpc::Status AdminService::SetMailbox(grpc::ServerContext* context, const v1::SetMailboxRequest* request,
                                      v1::MailboxList* response) {
  return guarded("SetMailbox", context, [&] {
    auto hash = hash_requested_password(request->has_password() ? std::optional(request->password()) : std::nullopt);
    auto changed = configuration_.set_mailboxes(identities(request->identities()),
                                                changes_from_proto(request->values(), request->update_mask()), hash);
    auto config = configuration_.snapshot();
    for (const auto& m : changed) to_proto(*config, m, *response->add_mailboxes());
    log_change("changed " + std::to_string(changed.size()) + " mailbox(es)");
  });
}

grpc::Status AdminService::RemoveMailbox(grpc::ServerContext* context, const v1::IdentityFilter* request,
                                         v1::RemoveResponse* response) {
  return guarded("RemoveMailbox", context, [&] {
    for (auto& id : configuration_.remove_mailboxes(identities(request->identities()))) {
      log_change("removed mailbox " + id);
      response->add_removed(std::move(id));
    }
  });
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
    auto filter = configuration_.set_recipient_filter(changes_from_proto(request->values(), request->update_mask()));
    properties_to_proto(store::recipient_filter_properties(), filter, *response);
    log_change("changed the recipient filter: " + request->update_mask().ShortDebugString());
  });
}

grpc::Status AdminService::GetMessageTrackingLog(grpc::ServerContext* context, const v1::MessageTrackingQuery* request,
                                                 v1::MessageTrackingLog* response) {
  tracking::TrackingLog* const tracking_log = tracking_log_.load();
  if (tracking_log == nullptr) return {grpc::StatusCode::UNAVAILABLE, "message tracking is off"};
  return guarded("GetMessageTrackingLog", context, [&] {
    for (const auto& event : tracking_log->query(tracking_query_from_proto(*request))) {
      to_proto(event, *response->add_events());
    }
  });
}

grpc::Status AdminService::GetTransportServer(grpc::ServerContext* context, const v1::GetTransportServerRequest*,
                                              v1::TransportServer* response) {
  if (!server_status_) return {grpc::StatusCode::UNAVAILABLE, "the server status is not available"};
  return guarded("GetTransportServer", context, [&] { *response = server_status_(); });
}

std::unique_ptr<grpc::Server> start_admin_server(const std::filesystem::path& socket_path, AdminService& service) {
  std::error_code ignored;
  std::filesystem::remove(socket_path, ignored);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket_path.string(), grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  // The socket is created inside BuildAndStart with the process umask: make that 0600 from the start.
  const mode_t previous = ::umask(0177);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ::umask(previous);
  if (!server) throw std::runtime_error("cannot serve the admin API on " + socket_path.string());
  if (::chmod(socket_path.c_str(), 0600) != 0) {
    throw std::runtime_error("cannot set mode 0600 on " + socket_path.string());
  }
  return server;
}

}  // namespace transport::admin
