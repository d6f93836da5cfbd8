// SessionRecord: what a session leaves behind besides its replies — metrics, tracking, protocol log
// rows, trace headers — and what it teaches the source reputation.
#include "transportd/smtp/session_record.h"

#include <atomic>
#include <cstdio>

#include "store/text_util.h"
#include "transportd/delivery/received_header.h"
#include "transportd/log.h"
#include "transportd/tracking/tracking_log.h"

namespace transport::smtp {

namespace {

std::string next_queue_id() {
  static std::atomic<std::uint64_t> counter{0};
  static const auto boot = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  char id[40];
  std::snprintf(id, sizeof id, "%llX%06llX", static_cast<unsigned long long>(boot),
                static_cast<unsigned long long>(counter.fetch_add(1) & 0xFFFFFF));
  return id;
}

observability::RejectReason reject_reason(RecipientRefusal refusal) {
  using observability::RejectReason;
  switch (refusal) {
    case RecipientRefusal::syntax: return RejectReason::syntax;
    case RecipientRefusal::limit: return RejectReason::limit;
    case RecipientRefusal::relay:
    case RecipientRefusal::no_route: return RejectReason::relay;
    case RecipientRefusal::blocked: return RejectReason::blocked;
    case RecipientRefusal::unknown_user:
    case RecipientRefusal::sequence:
    case RecipientRefusal::none: break;
  }
  return RejectReason::unknown_user;
}

}  // namespace

SessionRecord::SessionRecord(SessionServices& services, const std::string& host_name,
                             const store::ReceiveConnector& connector, const SessionFacts& facts,
                             std::uint16_t remote_port)
    : services_(services),
      connector_(connector),
      host_name_(host_name),
      remote_(facts.remote),
      judged_(services.reputation != nullptr && connector.tarpit_interval.seconds() > 0 && !facts.authenticated),
      metrics_(observability::ConnectorMetrics::of(connector.name)),
      open_session_(metrics_) {
  if (services_.protocol_log != nullptr && connector.protocol_logging_level == store::ProtocolLoggingLevel::verbose) {
    plog_ = std::make_unique<protocol_log::ProtocolLogSession>(*services_.protocol_log, connector_identity(),
                                                               facts.local.to_string(),
                                                               store::Binding{facts.remote, remote_port}.to_string());
    plog_->connected();
  }
}

reputation::Judgement SessionRecord::judge() const {
  if (!judged_) {
    reputation::Judgement exempt;
    exempt.exempt = true;
    return exempt;
  }
  return services_.reputation->judge(remote_, reputation::Clock::now());
}

void SessionRecord::holding(const Reply& reply, std::chrono::seconds hold) {
  if (reply.code < 300) metrics_.uniform_holds.fetch_add(1, std::memory_order_relaxed);
  if (plog_) {
    plog_->info("tarpit " + store::TimeSpan(hold).to_string(),
                "delaying " + std::to_string(reply.code) + (reply.enhanced.empty() ? "" : " " + reply.enhanced));
  }
}

std::optional<reputation::Judgement> SessionRecord::stepped(const Step& step, const Protocol& protocol) {
  if (step.refusal != RecipientRefusal::none && step.refusal != RecipientRefusal::sequence) {
    metrics_.count_rejected(reject_reason(step.refusal));
  }
  if (step.refusal != RecipientRefusal::none) track_refusal(step, protocol.envelope());
  if (!step.source_event || protocol.authenticated()) return std::nullopt;
  return report(*step.source_event, step.source_event_count);
}

std::optional<reputation::Judgement> SessionRecord::hold_abandoned() {
  metrics_.abandoned_holds.fetch_add(1, std::memory_order_relaxed);
  if (plog_) plog_->info("hold abandoned", "the client hung up while a reply was held");
  return report(reputation::Event::abandoned_hold, 1);
}

std::optional<reputation::Judgement> SessionRecord::report(reputation::Event event, std::uint32_t count) {
  if (!judged_ || count == 0) return std::nullopt;
  changes_.clear();
  reputation::Judgement after = services_.reputation->record(remote_, event, count, connector_.tarpit_interval.value(),
                                                             reputation::Clock::now(), changes_);
  for (const reputation::StateChange& change : changes_) {
    const std::string text = reputation::describe(change);
    log::info("harvest", text + ", seen from " + remote_.to_string() + " on \"" + connector_.name + "\"");
    if (plog_) plog_->info(text);
    observability::count_source_state_change(reputation::standing_name(change.to));
  }
  if (!changes_.empty()) {
    const reputation::SourceReputation::Counts counts = services_.reputation->counts();
    observability::set_sources_by_state(counts.clean, counts.suspect, counts.discredited);
  }
  return after;
}

std::string SessionRecord::start_message(const Protocol& protocol) {
  queue_id_ = next_queue_id();
  const Envelope& envelope = protocol.envelope();
  delivery::ReceivedInfo info;
  info.helo_name = std::string(protocol.helo_name());
  info.client_ip = remote_.to_string();
  info.server_fqdn = connector_.fqdn;
  info.connector_name = connector_.name;
  info.protocol = std::string(delivery::received_protocol(
      {protocol.extended(), protocol.facts().tls, protocol.authenticated_by_auth(), envelope.smtputf8}));
  info.queue_id = queue_id_;
  if (envelope.recipients.size() == 1) info.recipient = envelope.recipients.front().address;
  info.when = std::chrono::system_clock::now();
  return delivery::return_path_header(envelope.mail_from) + delivery::received_header(info);
}

void SessionRecord::message_finished(const Envelope& envelope, const std::vector<std::string>& targets,
                                     const std::string& queued_as, bool delivered, const std::string& error,
                                     std::uint64_t size,
                                     const std::optional<std::string>& message_id, const Reply& reply) {
  if (delivered) {
    metrics_.count_delivered(size);
    log::info("delivery", "message " + queue_id_ + " from " + remote_.to_string() + " via \"" + connector_.name +
                              "\" delivered to " + std::to_string(targets.size()) + " maildir(s)" +
                              (queued_as.empty() ? "" : ", queued for its other recipients as " + queued_as));
  } else {
    log::error("delivery", "message " + queue_id_ + " from " + remote_.to_string() + " not delivered: " + error);
  }
  if (services_.tracking == nullptr) return;
  // RECEIVE for every recipient of an accepted message and DELIVER for every recipient delivered to its
  // mailbox now (the queue tracks the others: SEND, DEFER, FAIL, DSN), or FAIL for each when delivery failed.
  const bool accepted = reply.code >= 200 && reply.code < 300;
  for (const Recipient& recipient : envelope.recipients) {
    for (tracking::EventId id : accepted ? std::vector{tracking::EventId::receive, tracking::EventId::deliver}
                                         : std::vector{tracking::EventId::fail}) {
      if (id == tracking::EventId::deliver && recipient.queued()) continue;
      tracking::TrackingEvent event = tracking_event(id, envelope, reply);
      event.recipient = recipient.address;
      event.message_id = message_id.value_or(queue_id_);
      event.total_bytes = size;
      services_.tracking->record(std::move(event));
    }
  }
}

void SessionRecord::track_refusal(const Step& step, const Envelope& envelope) {
  if (services_.tracking == nullptr || step.recipient.empty()) return;
  tracking::TrackingEvent event = tracking_event(tracking::EventId::fail, envelope, step.reply);
  event.recipient = step.recipient;
  services_.tracking->record(std::move(event));
}

tracking::TrackingEvent SessionRecord::tracking_event(tracking::EventId id, const Envelope& envelope,
                                                      const Reply& reply) const {
  tracking::TrackingEvent event;
  event.timestamp = std::chrono::system_clock::now();
  event.event_id = id;
  event.connector_id = connector_identity();
  event.client_ip = remote_.to_string();
  event.sender = envelope.mail_from;
  event.reply = std::to_string(reply.code) + (reply.enhanced.empty() ? "" : " " + reply.enhanced) + " " + reply.text;
  return event;
}

std::optional<std::string> SessionRecord::message_id_header(std::string_view rest) {
  while (!rest.empty()) {
    const std::size_t end = rest.find('\n');
    if (end == std::string_view::npos) break;  // a line cut off by the search limit
    const std::string_view line = rest.substr(0, end);
    if (line.empty()) break;  // end of the header section
    if (line.size() > 11 && store::iequals(line.substr(0, 11), "message-id:")) {
      return std::string(store::trim(line.substr(11)));
    }
    rest.remove_prefix(end + 1);
  }
  return std::nullopt;
}

}  // namespace transport::smtp
