// SmtpServer: the receive side put together. Keeps the serving configuration current, the listeners
// reconciled with it, and turns each accepted connection into a session on the connector that
// selection picks — or a 421 when none does or a connection limit is reached.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/thread_pool.hpp>

#include <atomic>
#include <filesystem>
#include <memory>

#include "store/configuration.h"
#include "transportd/connectors/connection_limits.h"
#include "transportd/connectors/listener_manager.h"
#include "transportd/delivery/maildir.h"
#include "transportd/smtp/serving_config.h"
#include "transportd/smtp/session.h"
#include "transportd/tls/context_cache.h"

namespace transport::connectors {

class SmtpServer {
 public:
  SmtpServer(asio::io_context& io, const std::filesystem::path& data_dir, std::size_t delivery_threads);
  ~SmtpServer();

  // Serves `config` from now on: new connections use it at once, listeners follow its Bindings, and
  // running sessions finish under the snapshot they began with. Thread-safe.
  void apply(store::ConfigurationPtr config);

  // Stops accepting, gives sessions inside a message `grace` to finish, answers the rest 421 4.3.2,
  // and waits for them (at most grace + 5 s). Call from a thread that is not running the io_context.
  void shut_down(std::chrono::seconds grace);

  // For get-receiveconnector's BindingStatus and /healthz: the listener's state, followed by
  // "; STARTTLS off: <why>" when the connector offers TLS but its certificate pair does not load.
  std::string binding_status(const store::ReceiveConnector& connector, const store::Binding& binding) const;
  // The listener's state alone (ListenerManager::status).
  std::string listener_status(const store::Binding& binding) const { return listeners_.status(binding); }

  std::size_t session_count() const { return registry_.size(); }

  // Message tracking for every session from now on (call before the first connection; null = off).
  void set_tracking(tracking::TrackingLog* tracking) { services_.tracking = tracking; }
  // The protocol log writer for Verbose connectors (call before the first connection).
  void set_protocol_log(protocol_log::ProtocolLogWriter* writer) { services_.protocol_log = writer; }
  // The harvest defence's memory of sources (call before the first connection; null = off).
  void set_reputation(reputation::SourceReputation* reputation) { services_.reputation = reputation; }
  // The durable queue for relayed recipients (call before the first connection).
  void set_queue(queue::QueueStore* store, relay::QueueManager* manager) {
    services_.queue_store = store;
    services_.queue = manager;
  }
  // The delivery pool and the mailboxes, shared with the queue manager.
  asio::thread_pool& delivery_pool() { return delivery_pool_; }
  delivery::MaildirStore& mailboxes() { return mailboxes_; }

 private:
  void on_connection(asio::ip::tcp::socket socket);
  // One TLS context per certificate pair in use: reused while its files are unchanged, else loaded
  // now. Connectors whose pair does not load get a problem instead (logged when it is new).
  std::pair<smtp::TlsContexts, smtp::TlsProblems> load_tls_contexts(const store::Configuration& config);

  asio::io_context& io_;
  std::atomic<std::shared_ptr<const smtp::ServingConfig>> serving_;
  ConnectionLimits limits_;
  smtp::SessionRegistry registry_;
  std::filesystem::path default_certificate_;
  std::filesystem::path default_key_;
  tls::ContextCache tls_cache_;
  delivery::MaildirStore mailboxes_;
  asio::thread_pool delivery_pool_;
  auth::PasswordVerifier passwords_;  // argon2id verification: CPU-heavy, never on an I/O thread
  smtp::SessionServices services_;
  ListenerManager listeners_;
};

}  // namespace transport::connectors
