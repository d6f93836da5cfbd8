// FleetWatcher: how a fleet node (DESIGN §12) keeps up with the shared configuration store. On a thread
// of its own (libpq's waits block; never an I/O thread) it hears the changes other nodes commit and
// has ConfigurationService load the new snapshot, reconnects after an outage and then loads what it
// missed, and records that the node is alive (every 10 s and after each change heard) for
// get-transportserver's FleetNodes.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "store/cached_postgres_store.h"
#include "transportd/config/configuration_service.h"

namespace transport::fleet {

class FleetWatcher {
 public:
  FleetWatcher(std::string conninfo, store::CachedPostgresStore& store, config::ConfigurationService& configuration);
  ~FleetWatcher();
  FleetWatcher(const FleetWatcher&) = delete;
  FleetWatcher& operator=(const FleetWatcher&) = delete;

  // Whether the node hears the store now (for /healthz and transportd_config_store_reachable).
  bool reachable() const { return reachable_; }
  // The fleet's nodes as the last heartbeat found them: "NAME version N seen TIME".
  std::vector<std::string> nodes() const;

  // No new snapshot after this returns (the object stays: /healthz may still ask reachable()).
  void stop();

 private:
  void run(std::stop_token stop);
  void heartbeat();

  const std::string conninfo_;
  store::CachedPostgresStore& store_;
  config::ConfigurationService& configuration_;
  std::atomic<bool> reachable_;
  mutable std::mutex nodes_mutex_;
  std::vector<std::string> nodes_;
  std::jthread thread_;  // last: it starts running at once
};

}  // namespace transport::fleet
