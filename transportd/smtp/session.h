// Session: one SMTP connection as one coroutine on its own strand. It reads commands, lets Protocol
// decide, waits out tarpits on a timer (never a thread), reads bodies, hands messages to the delivery
// pool, and answers timeouts and shutdown from a watchdog running beside it.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/thread_pool.hpp>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "transportd/connectors/connection_limits.h"
#include "transportd/connectors/serving_config.h"
#include "transportd/delivery/maildir.h"
#include "transportd/smtp/protocol.h"

namespace transport::tracking {
class TrackingLog;
}
namespace transport::protocol_log {
class ProtocolLogWriter;
}

namespace transport::smtp {

class Session;

// Long-lived services every session uses.
struct SessionServices {
  delivery::MaildirStore& mailboxes;  // DATA_DIR/mailboxes
  asio::thread_pool& delivery_pool;   // fsync-heavy work happens here, never on an I/O thread
  asio::thread_pool& auth_pool;       // password verification (argon2id, ~100 ms each), bounded
  tracking::TrackingLog* tracking = nullptr;  // message tracking; null when off
  protocol_log::ProtocolLogWriter* protocol_log = nullptr;  // for connectors at ProtocolLoggingLevel Verbose
  std::filesystem::path spool_directory;  // DATA_DIR/spool: messages being received (delivery::SpoolFile)
};

// Accepted recipients with no local mailbox (relay domains, whose send connectors come later, and
// unknown users when RecipientValidationEnabled is off) are kept in this Maildir under
// DATA_DIR/mailboxes/, delivered in the same all-or-nothing step as the rest. It is no address
// (no '@'), so no mailbox can collide with it.
inline constexpr const char* kUnroutableMaildir = "_unroutable";

// Every live session, so that shutdown can reach them and wait for them.
class SessionRegistry {
 public:
  void add(const std::shared_ptr<Session>& session);
  void remove(Session* session);
  // Asks every session to finish: those inside a message get `grace`, the rest get 421 at once.
  void shut_down_all(std::chrono::seconds grace);
  // Waits until no session is left or the deadline passes; returns how many are left.
  std::size_t wait_until_empty(std::chrono::steady_clock::time_point deadline);
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable emptied_;
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions_;  // O(1) removal of any session
};

// Starts a session for an accepted connection already matched to `connector` (which lives in
// serving->config) and admitted by the connection limits.
void start_session(asio::ip::tcp::socket socket, connectors::ServingConfigPtr serving,
                   const store::ReceiveConnector& connector, SessionFacts facts,
                   connectors::ConnectionLimits::Ticket ticket, SessionServices& services,
                   SessionRegistry& registry);

}  // namespace transport::smtp
