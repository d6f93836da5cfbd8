// SqliteStore: the configuration's persistence in one SQLite file (WAL mode). The daemon is its only
// writer; every admin change is one transaction through transact().
#pragma once

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

#include "store/configuration.h"

struct sqlite3;

namespace transport::store {

// The database could not be opened, migrated, read or written. The message says which and why.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The writes one transaction may make. put_* inserts when the object's id is 0 (and sets the id) and
// updates otherwise.
class StoreTransaction {
 public:
  explicit StoreTransaction(sqlite3* db) : db_(db) {}
  void set_host_name(const std::string& host_name);
  void put(ReceiveConnector& connector);
  void put(SendConnector& connector);  // its auth_password too
  void put(AcceptedDomain& domain);
  void put(Mailbox& mailbox);
  void put(const RecipientFilterConfig& filter);
  void put(const TransportServerSettings& settings);
  void put(const HarvestDefenceConfig& config);
  void remove_connector(std::int64_t id);
  void remove_send_connector(std::int64_t id);
  void remove_accepted_domain(std::int64_t id);
  void remove_mailbox(std::int64_t id);

 private:
  sqlite3* db_;
};

class SqliteStore {
 public:
  enum class Access {
    // The daemon's: a missing file is created (built beside it, then renamed into place, so a crash
    // never leaves a half-made database), WAL is turned on and pending migrations run.
    read_write,
    // --check-config's: nothing is created, migrated or written, and no lock is needed, so it works
    // beside a running daemon. A missing file is an error.
    read_only,
  };

  // Only a missing file is new: an existing one must be a transportd database that passes SQLite's
  // quick_check (an empty or damaged file is refused, never taken for a first start). Refuses a
  // database written by a newer transportd. Throws StoreError naming the file and the problem.
  explicit SqliteStore(const std::filesystem::path& path, Access access = Access::read_write);
  ~SqliteStore();
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // True when this open created the schema (a first start).
  bool created() const { return created_; }
  int schema_version() const;

  Configuration load() const;

  // Runs `change` in one transaction: committed when it returns, rolled back when it throws (the
  // exception propagates).
  void transact(const std::function<void(StoreTransaction&)>& change);

 private:
  sqlite3* db_ = nullptr;
  bool created_ = false;
};

}  // namespace transport::store
