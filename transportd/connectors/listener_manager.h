// ListenerManager: the listening sockets of the enabled connectors' Bindings (ListenPlan: one per
// distinct Binding, a wildcard serving the specific-IP Bindings of its port), reconciled with each
// configuration snapshot: new ones are opened, unused ones closed, the rest left alone (their
// sessions never notice a config change). No SO_REUSEPORT: a port another process holds is reported
// ("failed: Address already in use by another process") and retried, never shared. Accepting stops
// short of the descriptor reserve (see takes_from_reserve) so the admin API can always get in.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "store/configuration.h"

namespace transport::connectors {

class ListenerManager {
 public:
  // Called on an I/O thread for every accepted connection.
  using ConnectionHandler = std::function<void(asio::ip::tcp::socket socket)>;

  ListenerManager(asio::io_context& io, ConnectionHandler handler);
  ~ListenerManager();

  // Thread-safe: the work is posted to the io_context. Failures to open a Binding are logged, kept
  // for status() and retried every few seconds; the other Bindings are unaffected.
  void reconcile(store::ConfigurationPtr config);
  // Closes every listener (shutdown). Thread-safe.
  void close_all();

  // For BindingStatus: "listening", "failed: <reason>" (a port held elsewhere: "failed: Address
  // already in use by another process"), or "not listening".
  // A specific-IP Binding served by its port's wildcard socket has that socket's state.
  std::string status(const store::Binding& binding) const;

 private:
  struct Listener;
  void reconcile_now(const store::Configuration& config);
  // Opens one socket; on failure records it for the retry timer. Logs only a new failure.
  void open(const std::string& text, const store::Binding& binding);
  void schedule_retry();

  ConnectionHandler handler_;
  const std::uint64_t open_file_limit_;  // RLIMIT_NOFILE when the manager was made (after main raised it)
  // Reconciling, retrying and every accept loop run here, one at a time, whichever I/O thread runs them.
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer retry_timer_;
  // Touched on strand_ only.
  std::map<std::string, std::shared_ptr<Listener>> listeners_;  // by socket Binding text
  std::map<std::string, store::Binding> failed_;                // planned sockets not open, retried
  bool retry_scheduled_ = false;
  bool closed_ = false;

  mutable std::mutex status_mutex_;
  std::map<std::string, std::string> status_;     // by socket Binding text
  std::map<std::string, std::string> served_by_;  // every planned Binding's text -> its socket's
};

}  // namespace transport::connectors
