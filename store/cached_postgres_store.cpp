// CachedPostgresStore: PostgreSQL first, the local copy when it cannot be reached.
#include "store/cached_postgres_store.h"

#include <utility>

#include "store/postgres_store.h"

namespace transport::store {

CachedPostgresStore::CachedPostgresStore(std::string conninfo, std::string node, std::filesystem::path cache_path,
                                         std::function<void(const std::string&)> warn)
    : conninfo_(std::move(conninfo)),
      node_(std::move(node)),
      description_(PostgresStore::describe(conninfo_)),
      copy_(std::move(cache_path), std::move(warn)) {
  std::string ignored;
  std::lock_guard lock(mutex_);
  if (primary(ignored) != nullptr) created_ = primary_->created();
}

CachedPostgresStore::~CachedPostgresStore() = default;

bool CachedPostgresStore::created() const {
  std::lock_guard lock(mutex_);
  return created_;
}

bool CachedPostgresStore::reachable() const { return reachable_; }

PostgresStore* CachedPostgresStore::primary(std::string& error) const {
  if (primary_ != nullptr && !primary_->connected()) primary_.reset();
  if (primary_ == nullptr) {
    try {
      primary_ = std::make_unique<PostgresStore>(conninfo_, node_);
    } catch (const StoreError& e) {
      error = e.what();
      reachable_ = false;
      return nullptr;
    }
  }
  return primary_.get();
}

void CachedPostgresStore::unreachable(const std::string& error, const std::string& doing) const {
  reachable_ = false;
  primary_.reset();
  throw StoreUnreachable("the configuration store " + description_ + " is unreachable (" + error + "): " + doing);
}

Configuration CachedPostgresStore::load() const {
  std::lock_guard lock(mutex_);
  std::string error;
  if (PostgresStore* store = primary(error)) {
    try {
      Configuration config = store->load();
      reachable_ = true;
      // The copy follows every snapshot served, behind it.
      if (!config.host_name.empty()) keep_copy(std::make_shared<const Configuration>(config));
      return config;
    } catch (const StoreError& e) {
      if (store->connected()) throw;  // PostgreSQL answered: a real error
      error = e.what();
    }
  }
  reachable_ = false;
  primary_.reset();
  copy_.flush();  // the last snapshot seen, not an older one
  if (!copy_.exists()) {
    throw StoreUnreachable("the configuration store " + description_ + " is unreachable (" + error +
                           ") and this node has no copy of the configuration yet (" + copy_.path().string() +
                           "): it needs PostgreSQL once, at its first start");
  }
  return copy_.read();
}

void CachedPostgresStore::keep_copy(const ConfigurationPtr& config) const {
  if (copied_version_.exchange(config->version) == config->version) return;  // the same snapshot again
  copy_.write_later(config);
}

std::vector<PostgresStore::NodeStatus> CachedPostgresStore::heartbeat(std::int64_t config_version) {
  std::lock_guard lock(mutex_);
  std::string error;
  PostgresStore* store = primary(error);
  if (store == nullptr) unreachable(error, "no heartbeat");
  try {
    return store->heartbeat(config_version);
  } catch (const StoreError& e) {
    if (store->connected()) throw;
    error = e.what();
  }
  unreachable(error, "no heartbeat");
}

std::int64_t CachedPostgresStore::transact(const std::function<void(StoreTransaction&)>& change,
                                           std::int64_t based_on) {
  std::lock_guard lock(mutex_);
  const std::string refused =
      "this node serves its last configuration and takes no change until the store is back; nothing was changed";
  std::string error;
  PostgresStore* store = primary(error);
  if (store == nullptr) unreachable(error, refused);
  try {
    const std::int64_t version = store->transact(change, based_on);
    reachable_ = true;
    return version;
  } catch (const ChangeOutcomeUnknown& e) {
    unreachable(e.what(),
                "the connection was lost while the change was being committed, so it may or may not have been "
                "made; look with get- once the store is back before making it again");
  } catch (const StoreError& e) {
    if (store->connected()) throw;
    error = e.what();
  }
  unreachable(error, refused);
}

}  // namespace transport::store
