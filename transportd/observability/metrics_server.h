// MetricsServer: the small HTTP/1.1 endpoint Prometheus scrapes. GET /metrics renders the registry,
// GET /healthz answers 200 "ok" or 503 "unhealthy"; one short coroutine per connection, one request
// per connection (Connection: close), requests capped at 8 KiB and 5 s.
#pragma once

#include <asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "transportd/observability/metrics.h"

namespace transport::observability {

class MetricsServer {
 public:
  // Listens on `listen` ("127.0.0.1:9125" or "[::1]:9125"; port 0 picks a free port) right away and
  // serves on `io`'s threads. `healthy` is called on an I/O thread for each /healthz: keep it cheap
  // and thread-safe. A non-loopback address is served but logged as a warning (metrics are not
  // secret, but they are not meant for the Internet either). Throws std::runtime_error naming the
  // address when it is malformed or cannot be bound.
  MetricsServer(asio::io_context& io, const std::string& listen, std::function<bool()> healthy,
                const Metrics& metrics = Metrics::instance());
  // `detail` adds lines to /healthz's body, after "ok" or "unhealthy" (a fleet node: its store's state
  // and configuration version). Called like `healthy`: cheap, thread-safe, never blocking.
  MetricsServer(asio::io_context& io, const std::string& listen, std::function<bool()> healthy,
                std::function<std::string()> detail, const Metrics& metrics = Metrics::instance());
  // Stops accepting; requests in progress finish on their own (each within 5 s).
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  std::uint16_t port() const;  // the bound port (useful after listening on port 0)
  void stop();                 // thread-safe; idempotent

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace transport::observability
