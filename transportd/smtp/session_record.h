// SessionRecord: the bookkeeping of one SMTP session, so that Session does I/O only. It counts replies,
// refusals and deliveries in the metrics, writes message tracking events and the protocol log, names
// each message (queue id, Return-Path: and Received:), and tells the source reputation what the client
// did, handing back the judgement that follows (DESIGN §8, §10).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/receive_connector.h"
#include "transportd/observability/connector_metrics.h"
#include "transportd/protocol_log/protocol_log.h"
#include "transportd/reputation/source_reputation.h"
#include "transportd/smtp/protocol.h"
#include "transportd/smtp/session_services.h"
#include "transportd/tracking/tracking_event.h"

namespace transport::smtp {

class SessionRecord {
 public:
  // `host_name` is the TransportServer's name (HOST in HOST\Name), kept by reference: it lives in the
  // snapshot the session holds. `remote_port` is for the protocol log.
  SessionRecord(SessionServices& services, const std::string& host_name, const store::ReceiveConnector& connector,
                const SessionFacts& facts, std::uint16_t remote_port);

  // The protocol log of this session, or null when its connector does not log Verbose.
  protocol_log::ProtocolLogSession* protocol_log() { return plog_.get(); }
  observability::ConnectorMetrics& metrics() { return metrics_; }

  // How the harvest defence judges the client now (exempt when it is off).
  reputation::Judgement judge() const;

  // Every reply written is counted by class.
  void reply_queued(const Reply& reply) { metrics_.count_reply(reply.code); }
  // A reply is about to be held for `hold` (2xx replies held for uniform timing are counted apart).
  void holding(const Reply& reply, std::chrono::seconds hold);

  // After each Step: a refused RCPT is counted by reason and tracked (FAIL), and the Step's source event
  // goes to the reputation (not once the session is authenticated: DESIGN §10's exemptions). Returns the
  // judgement that follows, when the event was recorded.
  std::optional<reputation::Judgement> stepped(const Step& step, const Protocol& protocol);
  // The client hung up while a reply was being held: an offence of its own kind.
  std::optional<reputation::Judgement> hold_abandoned();

  // A message starts: a new queue id, and the trace lines we put before it (Return-Path:, Received:).
  std::string start_message(const Protocol& protocol);
  const std::string& queue_id() const { return queue_id_; }

  // Delivery ended: the log line, the metrics, and message tracking (RECEIVE + DELIVER per local
  // recipient, or FAIL). `envelope` is the transaction as it was before on_delivered ended it; `queued_as`
  // the queue's id for its other recipients ("" when all were local).
  void message_finished(const Envelope& envelope, const std::vector<std::string>& targets,
                        const std::string& queued_as, bool delivered, const std::string& error, std::uint64_t size,
                        const std::optional<std::string>& message_id, const Reply& reply);

  // Message tracking needs the Message-ID header (read from the spool on the delivery pool).
  bool wants_message_id() const { return services_.tracking != nullptr; }
  // The Message-ID header's value, from the start of a stored message (LF line ends).
  static std::optional<std::string> message_id_header(std::string_view head);

 private:
  std::optional<reputation::Judgement> report(reputation::Event event, std::uint32_t count);
  std::string connector_identity() const { return host_name_ + "\\" + connector_.name; }  // HOST\Name
  void track_refusal(const Step& step, const Envelope& envelope);
  tracking::TrackingEvent tracking_event(tracking::EventId id, const Envelope& envelope, const Reply& reply) const;

  SessionServices& services_;
  const store::ReceiveConnector& connector_;
  const std::string& host_name_;
  store::IpAddress remote_;  // written out only where a log line or an event needs it: no string per session
  bool judged_;  // the harvest defence may apply: reputation on, the connector tarpits, not trusted
  observability::ConnectorMetrics& metrics_;
  observability::OpenSessionScope open_session_;
  std::unique_ptr<protocol_log::ProtocolLogSession> plog_;
  std::string queue_id_;
  std::vector<reputation::StateChange> changes_;  // reused: no allocation per event
};

}  // namespace transport::smtp
