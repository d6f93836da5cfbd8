// SqliteStore: the configuration's persistence in one SQLite file (WAL mode). The daemon is its only
// writer; every admin change is one transaction through transact().
#pragma once

#include <filesystem>
#include <functional>

#include "store/configuration_store.h"

struct sqlite3;

namespace transport::store {

class SqliteStore final : public ConfigurationStore {
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

  bool created() const override { return created_; }
  int schema_version() const;

  Configuration load() const override;
  // Makes the file hold `config` and nothing else, in one transaction (a fleet node's local copy of the
  // shared store: new row ids; other servers' connectors are not kept).
  void replace_all(const Configuration& config);

  using ConfigurationStore::transact;
  // One file, one writer: there is no other change to be stale against.
  std::int64_t transact(const std::function<void(StoreTransaction&)>& change, std::int64_t based_on) override;

 private:
  sqlite3* db_ = nullptr;
  bool created_ = false;
};

}  // namespace transport::store
