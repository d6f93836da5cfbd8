// ListenerManager: exactly one listening socket per distinct Binding of the enabled connectors,
// reconciled with each configuration snapshot: new Bindings are opened, unused ones closed, the rest
// left alone (their sessions never notice a config change).
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

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

  // Thread-safe: the work is posted to the io_context. Failures to open a Binding are logged and
  // kept for status(); the other Bindings are unaffected.
  void reconcile(store::ConfigurationPtr config);
  // Closes every listener (shutdown). Thread-safe.
  void close_all();

  // "listening", "failed: <reason>", or "not listening" — for get-receiveconnector's BindingStatus.
  std::string status(const store::Binding& binding) const;

 private:
  struct Listener;
  void reconcile_now(const store::Configuration& config);
  void open(const store::Binding& binding);

  asio::io_context& io_;
  ConnectionHandler handler_;
  std::map<std::string, std::shared_ptr<Listener>> listeners_;  // by Binding text; touched on io_ only
  mutable std::mutex status_mutex_;
  std::map<std::string, std::string> status_;  // by Binding text
};

}  // namespace transport::connectors
