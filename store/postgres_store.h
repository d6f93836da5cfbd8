// PostgresStore: the configuration in PostgreSQL, for a fleet of transportd nodes (DESIGN §12). The same
// ConfigurationStore as SQLite: one transaction per admin change, the same tables and columns. Changes
// are serialised fleet-wide (a transaction-scoped advisory lock), each one counted in config_version.
// Called on admin threads only: libpq's calls block.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/configuration_store.h"

struct pg_conn;

namespace transport::store {

class PostgresStore final : public ConfigurationStore {
 public:
  // Connects (conninfo: a postgresql:// URI or key=value pairs) and runs pending migrations, one node
  // at a time. Throws StoreError naming the server (never the password) and the problem; refuses a
  // schema written by a newer transportd. `node` is this server's name: load() gives its receive
  // connectors as `connectors` and the other registered servers' as `other_servers` (a server without
  // connectors too), and host_name only once the node is registered (set_host_name, on its first
  // start); put() of a new receive connector makes it this node's.
  PostgresStore(const std::string& conninfo, std::string node);
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  bool created() const override { return created_; }
  int schema_version() const;
  // Committed changes so far: every transact() adds one.
  std::int64_t version() const;
  // A fleet node as the store last heard of it.
  struct NodeStatus {
    std::string name;
    std::string last_seen;  // ISO 8601, UTC
    std::int64_t config_version = 0;
  };
  // Records that this node is alive and serves `config_version`; returns every node, by name.
  std::vector<NodeStatus> heartbeat(std::int64_t config_version);

  // False once the connection is lost (load() and transact() try to reconnect first).
  bool connected() const;

  Configuration load() const override;
  using ConfigurationStore::transact;
  std::int64_t transact(const std::function<void(StoreTransaction&)>& change, std::int64_t based_on) override;

  // "postgresql://user@host:port/db" with any password left out: what messages and logs show.
  static std::string describe(const std::string& conninfo);

 private:
  pg_conn* connection_ = nullptr;
  std::string description_;
  std::string node_;
  bool created_ = false;
};

// The other half of a fleet's configuration: a node hears, on its own connection, every change another
// node commits (LISTEN/NOTIFY), and then loads the new snapshot. Used by one thread of its own (wait()
// blocks up to its timeout); it reconnects by itself after PostgreSQL comes back.
class PostgresChangeListener {
 public:
  explicit PostgresChangeListener(const std::string& conninfo);
  ~PostgresChangeListener();
  PostgresChangeListener(const PostgresChangeListener&) = delete;
  PostgresChangeListener& operator=(const PostgresChangeListener&) = delete;

  struct Heard {
    bool connected = true;     // false: the store is unreachable now (`error` says why); try again later
    std::int64_t version = 0;  // the newest change heard, 0 for none within the timeout
    bool reconnected = false;  // listening anew: changes made meanwhile were not heard, load the snapshot
  };
  Heard wait(std::chrono::milliseconds timeout, std::string& error);

 private:
  bool connect(std::string& error);

  std::string conninfo_;
  std::string description_;
  pg_conn* connection_ = nullptr;
};

}  // namespace transport::store
