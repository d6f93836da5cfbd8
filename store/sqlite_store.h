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
  void put(AcceptedDomain& domain);
  void put(Mailbox& mailbox);
  void put(const RecipientFilterConfig& filter);
  void remove_connector(std::int64_t id);
  void remove_accepted_domain(std::int64_t id);
  void remove_mailbox(std::int64_t id);

 private:
  sqlite3* db_;
};

class SqliteStore {
 public:
  // Opens or creates the file, turns on WAL, and runs pending migrations. Refuses a database written
  // by a newer transportd (a higher schema version than this build knows).
  explicit SqliteStore(const std::filesystem::path& path);
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
