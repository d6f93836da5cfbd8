// CachedPostgresStore: a fleet node's configuration store (DESIGN §12). PostgreSQL while it answers;
// every snapshot loaded from it is also written, behind, to a local SQLite copy
// (DATA_DIR/config-cache.db; see LocalCopyWriter), so that while PostgreSQL is unreachable the node
// keeps serving, and can restart, with the last configuration it saw. Changes need PostgreSQL: without
// it they fail with StoreUnreachable.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/configuration_store.h"
#include "store/local_copy_writer.h"
#include "store/postgres_store.h"

namespace transport::store {

class CachedPostgresStore final : public ConfigurationStore {
 public:
  // Connects when it can; an unreachable PostgreSQL is not an error here (load() decides). `warn` is
  // told when the local copy cannot be written.
  CachedPostgresStore(std::string conninfo, std::string node, std::filesystem::path cache_path,
                      std::function<void(const std::string&)> warn = {});
  ~CachedPostgresStore() override;

  bool created() const override;
  // From PostgreSQL (and written to the copy), or, when it is unreachable, from the copy. Throws
  // StoreUnreachable when it is unreachable and there is no copy yet (a node's very first start).
  Configuration load() const override;
  using ConfigurationStore::transact;
  std::int64_t transact(const std::function<void(StoreTransaction&)>& change, std::int64_t based_on) override;

  // PostgresStore::heartbeat through this node's connection; StoreUnreachable when it cannot.
  std::vector<PostgresStore::NodeStatus> heartbeat(std::int64_t config_version);

  // Whether the last load() or transact() reached PostgreSQL, and the version of the copy it serves from.
  bool reachable() const;
  std::string description() const { return description_; }
  // Queues `config` for the local copy unless that version is the one last queued: load() does this
  // for what it loads, and the daemon for the snapshots its own changes publish (it does not load
  // those again when it hears of them).
  void keep_copy(const ConfigurationPtr& config) const;
  // Waits until the local copy holds the last snapshot queued.
  void flush_copy() { copy_.flush(); }

 private:
  // The connection, made again when it was lost; nullptr (and `error` set) when PostgreSQL does not answer.
  PostgresStore* primary(std::string& error) const;
  [[noreturn]] void unreachable(const std::string& error, const std::string& doing) const;

  std::string conninfo_;
  std::string node_;
  std::string description_;
  mutable LocalCopyWriter copy_;
  mutable std::atomic<std::int64_t> copied_version_{-1};  // the version last queued for the copy
  mutable std::mutex mutex_;  // one caller at a time: the admin thread and the fleet watcher
  mutable std::unique_ptr<PostgresStore> primary_;
  mutable std::atomic<bool> reachable_{false};  // read without the mutex (by /healthz)
  mutable bool created_ = false;
};

}  // namespace transport::store
