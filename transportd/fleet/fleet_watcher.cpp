// FleetWatcher: the listen / reload / heartbeat loop of a fleet node.
#include "transportd/fleet/fleet_watcher.h"

#include <chrono>
#include <condition_variable>
#include <utility>

#include "store/postgres_store.h"
#include "transportd/log.h"
#include "transportd/observability/metrics.h"

namespace transport::fleet {

namespace {

constexpr auto kHeartbeatInterval = std::chrono::seconds(10);

}  // namespace

FleetWatcher::FleetWatcher(std::string conninfo, store::CachedPostgresStore& store,
                           config::ConfigurationService& configuration)
    : conninfo_(std::move(conninfo)),
      store_(store),
      configuration_(configuration),
      reachable_(store.reachable()),
      thread_([this](std::stop_token stop) { run(stop); }) {}

FleetWatcher::~FleetWatcher() { stop(); }

void FleetWatcher::stop() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> FleetWatcher::nodes() const {
  std::lock_guard lock(nodes_mutex_);
  return nodes_;
}

void FleetWatcher::heartbeat() {
  try {
    std::vector<std::string> lines;
    for (const auto& node : store_.heartbeat(configuration_.snapshot()->version)) {
      // No comma inside an entry: list output joins entries with commas.
      lines.push_back(node.name + " version " + std::to_string(node.config_version) + " seen " + node.last_seen);
    }
    std::lock_guard lock(nodes_mutex_);
    nodes_ = std::move(lines);
  } catch (const store::StoreError& e) {
    log::warn("fleet", e.what());
  }
}

void FleetWatcher::run(std::stop_token stop) {
  using namespace std::chrono_literals;
  store::PostgresChangeListener listener(conninfo_);
  bool reachable = reachable_;
  auto& gauge = observability::Metrics::instance().gauge(
      "transportd_config_store_reachable", "1 while the fleet's configuration store answers, 0 while the node serves its local copy",
      {});
  gauge = reachable ? 1 : 0;
  std::mutex mutex;
  std::condition_variable_any stopped;
  auto next_heartbeat = std::chrono::steady_clock::now();
  while (!stop.stop_requested()) {
    std::string error;
    const auto heard = listener.wait(500ms, error);
    if (!heard.connected) {
      if (reachable) log::warn("fleet", error + "; serving the last configuration until it is back");
      reachable = reachable_ = false;
      gauge = 0;
      std::unique_lock lock(mutex);
      stopped.wait_for(lock, stop, 1s, [] { return false; });  // try again in a second, or stop
      continue;
    }
    if (!reachable) log::info("fleet", "the configuration store is reachable again");
    reachable = reachable_ = true;
    gauge = 1;
    // A version this node already serves is its own change, published when it was made: not loaded again.
    if (heard.reconnected || heard.version > configuration_.snapshot()->version) {
      if (!configuration_.reload(error)) log::warn("fleet", error);
    }
    // After a change too: a node that just joined has made one (its default connector).
    if (heard.reconnected || heard.version > 0 || std::chrono::steady_clock::now() >= next_heartbeat) {
      heartbeat();
      next_heartbeat = std::chrono::steady_clock::now() + kHeartbeatInterval;
    }
  }
}

}  // namespace transport::fleet
