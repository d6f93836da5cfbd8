// reputation.db: opening and checking the file, loading it, and the write-behind transactions.
#include "transportd/reputation/reputation_file.h"

#include <algorithm>
#include <array>
#include <system_error>
#include <tuple>


namespace transport::reputation {

namespace {

constexpr std::array<const char*, 1> kMigrations = {
    "CREATE TABLE source_record ("
    " family INTEGER NOT NULL, length INTEGER NOT NULL, hi INTEGER NOT NULL, lo INTEGER NOT NULL,"
    " source TEXT NOT NULL,"  // for a human with sqlite3; the key columns are what is read back
    " standing INTEGER NOT NULL, level INTEGER NOT NULL,"
    " refused REAL NOT NULL, accepted REAL NOT NULL, delivered REAL NOT NULL, abandoned REAL NOT NULL,"
    " auth_failures REAL NOT NULL, lockouts REAL NOT NULL,"
    " updated INTEGER NOT NULL, last_seen INTEGER NOT NULL, auth_locked_until INTEGER NOT NULL,"
    " tarpit_interval INTEGER NOT NULL,"
    " PRIMARY KEY (family, length, hi, lo)) WITHOUT ROWID"};

constexpr const char* kSelect =
    "SELECT family, length, hi, lo, standing, level, refused, accepted, delivered, abandoned, auth_failures,"
    " lockouts, updated, last_seen, auth_locked_until, tarpit_interval FROM source_record";

bool is_damage(int code) {
  const int primary = code & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB || primary == SQLITE_FORMAT ||
         primary == SQLITE_MISMATCH || primary == SQLITE_SCHEMA || primary == SQLITE_ERROR;
}

[[noreturn]] void fail(sqlite3* db, const std::filesystem::path& path, const std::string& doing, int code) {
  throw ReputationFileError(path.string() + ": " + doing + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(code)),
                            is_damage(code));
}

// A statement whose errors say which file and whether it is damaged.
class Statement {
 public:
  Statement(sqlite3* db, const std::filesystem::path& path, const char* sql) : db_(db), path_(path) {
    const int rc = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
    if (rc != SQLITE_OK) fail(db, path, "preparing a statement", rc);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  void bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  bool step(const char* doing) {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, path_, doing, rc);
  }
  void reset() { sqlite3_reset(stmt_); }
  std::int64_t integer(int c) const { return sqlite3_column_int64(stmt_, c); }
  double real(int c) const { return sqlite3_column_double(stmt_, c); }

 private:
  sqlite3* db_;
  const std::filesystem::path& path_;
  sqlite3_stmt* stmt_ = nullptr;
};

void exec(sqlite3* db, const std::filesystem::path& path, const char* sql, const char* doing) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(db, path, doing, rc);
}

void bind_key(Statement& s, const SourceKey& key) {
  s.bind(1, std::int64_t{key.family});
  s.bind(2, std::int64_t{key.length});
  s.bind(3, static_cast<std::int64_t>(key.hi));
  s.bind(4, static_cast<std::int64_t>(key.lo));
}

bool valid_key(const SourceKey& key) {
  if (key.family == 4) return key.hi == 0 && key.lo <= 0xffffffffULL && key.length <= 32 && block_key(
      store::IpAddress::v4(static_cast<std::uint32_t>(key.lo)), key.length) == key;
  return key.family == 6 && key.length <= 128;
}

}  // namespace

ReputationFile::ReputationFile(std::filesystem::path path) : path_(std::move(path)) {
  const int rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = path_.string() + ": opening: " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    close();
    throw ReputationFileError(message, is_damage(rc) && (rc & 0xff) != SQLITE_ERROR);
  }
  try {
    sqlite3_busy_timeout(db_, 5000);
    exec(db_, path_, "PRAGMA journal_mode=WAL", "choosing the WAL journal");
    // A lost second of records after a power cut is fine; an fsync per write-behind is not.
    exec(db_, path_, "PRAGMA synchronous=NORMAL", "choosing the sync mode");
    // Room for a large write-behind without spilling half-written pages to the WAL over and over.
    exec(db_, path_, "PRAGMA cache_size=-8192", "sizing the page cache");
    std::int64_t version = 0;
    {
      Statement statement(db_, path_, "PRAGMA user_version");
      statement.step("reading the schema version");
      version = statement.integer(0);
    }
    std::int64_t tables = 0, ours = 0;
    {
      Statement statement(db_, path_,
                          "SELECT count(*), count(CASE WHEN name = 'source_record' THEN 1 END) FROM sqlite_master"
                          " WHERE type = 'table'");
      statement.step("listing the tables");
      tables = statement.integer(0);
      ours = statement.integer(1);
    }
    if (version > static_cast<std::int64_t>(kMigrations.size())) {
      throw ReputationFileError(path_.string() + " has schema version " + std::to_string(version) +
                                    ", newer than this transportd understands (" + std::to_string(kMigrations.size()) + ")",
                                true);
    }
    if (version == 0 && tables != 0) {
      throw ReputationFileError(path_.string() + " is a database of something else (it has tables but no schema version)",
                                true);
    }
    if (version > 0 && ours == 0) {
      throw ReputationFileError(path_.string() + " has no source_record table", true);
    }
    for (auto v = static_cast<std::size_t>(version); v < kMigrations.size(); ++v) {
      exec(db_, path_, "BEGIN IMMEDIATE", "starting the schema migration");
      try {
        exec(db_, path_, kMigrations[v], "creating the schema");
        const std::string set_version = "PRAGMA user_version = " + std::to_string(v + 1);
        exec(db_, path_, set_version.c_str(), "recording the schema version");
        exec(db_, path_, "COMMIT", "committing the schema");
      } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
    }
    // The columns load() reads must all be there.
    Statement check(db_, path_, kSelect);
  } catch (...) {
    close();
    throw;
  }
}

ReputationFile::~ReputationFile() { close(); }

void ReputationFile::close() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

void ReputationFile::load(const std::function<void(const SourceKey&, const SourceRecord&)>& fn) {
  Statement statement(db_, path_, kSelect);
  while (statement.step("reading the source records")) {
    SourceKey key;
    key.family = static_cast<std::uint8_t>(statement.integer(0));
    key.length = static_cast<std::uint8_t>(statement.integer(1));
    key.hi = static_cast<std::uint64_t>(statement.integer(2));
    key.lo = static_cast<std::uint64_t>(statement.integer(3));
    const std::int64_t standing = statement.integer(4);
    if (!valid_key(key) || statement.integer(1) != key.length || standing < 0 || standing > 2) {
      throw ReputationFileError(path_.string() + ": a source record has an impossible key or standing", true);
    }
    SourceRecord r;
    r.standing = static_cast<Standing>(standing);
    r.level = static_cast<std::uint16_t>(std::clamp<std::int64_t>(statement.integer(5), 0, kMaxLevel));
    float* counts[] = {&r.refused, &r.accepted, &r.delivered, &r.abandoned, &r.auth_failures, &r.lockouts};
    for (int i = 0; i < 6; ++i) {
      const double value = statement.real(6 + i);
      *counts[i] = value > 0 && value < 1e30 ? static_cast<float>(value) : 0.0f;  // NaN and negatives read as 0
    }
    const auto seconds = [&](int column) {
      return static_cast<Seconds>(std::clamp<std::int64_t>(statement.integer(column), 0, 0xffffffffLL));
    };
    r.updated = seconds(12);
    r.last_seen = seconds(13);
    r.auth_locked_until = seconds(14);
    r.tarpit_interval = static_cast<std::uint16_t>(std::clamp<std::int64_t>(statement.integer(15), 0, 0xffff));
    fn(key, r);
  }
}

void ReputationFile::write(std::vector<std::pair<SourceKey, SourceRecord>>& written, std::vector<SourceKey>& erased) {
  if (written.empty() && erased.empty()) return;
  // In key order the B-tree is walked once, not at random: a million rows take seconds, not minutes.
  const auto by_key = [](const SourceKey& a, const SourceKey& b) {
    return std::tie(a.family, a.length, a.hi, a.lo) < std::tie(b.family, b.length, b.hi, b.lo);
  };
  std::sort(erased.begin(), erased.end(), by_key);
  std::sort(written.begin(), written.end(), [&](const auto& a, const auto& b) { return by_key(a.first, b.first); });
  exec(db_, path_, "BEGIN IMMEDIATE", "starting a write");
  try {
    Statement remove(db_, path_, "DELETE FROM source_record WHERE family = ?1 AND length = ?2 AND hi = ?3 AND lo = ?4");
    for (const SourceKey& key : erased) {
      bind_key(remove, key);
      remove.step("deleting a source record");
      remove.reset();
    }
    Statement upsert(db_, path_,
                     "INSERT OR REPLACE INTO source_record (family, length, hi, lo, source, standing, level, refused,"
                     " accepted, delivered, abandoned, auth_failures, lockouts, updated, last_seen, auth_locked_until,"
                     " tarpit_interval) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)");
    for (const auto& [key, r] : written) {
      bind_key(upsert, key);
      upsert.bind(5, to_string(key));
      upsert.bind(6, static_cast<std::int64_t>(r.standing));
      upsert.bind(7, std::int64_t{r.level});
      const float counts[] = {r.refused, r.accepted, r.delivered, r.abandoned, r.auth_failures, r.lockouts};
      for (int i = 0; i < 6; ++i) upsert.bind(8 + i, static_cast<double>(counts[i]));
      upsert.bind(14, std::int64_t{r.updated});
      upsert.bind(15, std::int64_t{r.last_seen});
      upsert.bind(16, std::int64_t{r.auth_locked_until});
      upsert.bind(17, std::int64_t{r.tarpit_interval});
      upsert.step("writing a source record");
      upsert.reset();
    }
    exec(db_, path_, "COMMIT", "committing a write");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::filesystem::path ReputationFile::move_aside(const std::filesystem::path& path, Seconds now) {
  const std::string suffix = ".damaged-" + std::to_string(now);
  std::filesystem::path target = path;
  target += suffix;
  std::filesystem::rename(path, target);  // throws filesystem_error: the caller cannot go on without this
  for (const char* extra : {"-wal", "-shm"}) {
    std::filesystem::path from = path, to = target;
    from += extra;
    to += extra;
    std::error_code ignored;
    if (std::filesystem::exists(from, ignored)) std::filesystem::rename(from, to, ignored);
  }
  return target;
}

}  // namespace transport::reputation
