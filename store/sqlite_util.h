// Small SQLite helpers shared by the configuration store and the tracking log: statements that
// finalize themselves, exec, and forward migrations kept in PRAGMA user_version. Each caller names the
// exception type its own callers expect (StoreError, TrackingError).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace transport::store {

template <class Error>
[[noreturn]] void throw_sqlite(sqlite3* db, const std::string& doing) {
  throw Error(doing + ": " + sqlite3_errmsg(db));
}

template <class Error>
void sqlite_exec(sqlite3* db, const std::string& sql, const std::string& doing) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = doing + ": " + (error ? error : "unknown error");
    sqlite3_free(error);
    throw Error(message);
  }
}

// A prepared statement that finalizes itself.
template <class Error>
class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) {
      throw_sqlite<Error>(db, "preparing \"" + sql + "\"");
    }
  }
  ~SqliteStatement() { sqlite3_finalize(stmt_); }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  void bind(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void bind(int index, std::int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  // True while there is a row to read.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw_sqlite<Error>(db_, "running \"" + std::string(sqlite3_sql(stmt_)) + "\"");
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string text(int column) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

template <class Error>
int user_version(sqlite3* db) {
  SqliteStatement<Error> statement(db, "PRAGMA user_version");
  statement.step();
  return static_cast<int>(statement.integer(0));
}

// Runs the migrations the database has not seen, each in its own transaction with its version.
// Refuses a database written by a newer transportd. Returns the version found before migrating.
template <class Error, class Migrations>
int migrate(sqlite3* db, const Migrations& migrations, const std::filesystem::path& path) {
  const int known = static_cast<int>(std::size(migrations));
  const int found = user_version<Error>(db);
  if (found > known) {
    throw Error(path.string() + " has schema version " + std::to_string(found) +
                ", newer than this transportd understands (" + std::to_string(known) +
                "): run the newer transportd, or restore a backup");
  }
  for (int version = found; version < known; ++version) {
    sqlite_exec<Error>(db, "BEGIN IMMEDIATE", "starting migration");
    try {
      sqlite_exec<Error>(db, std::string(migrations[static_cast<std::size_t>(version)]),
                         "migrating " + path.string() + " to schema version " + std::to_string(version + 1));
      sqlite_exec<Error>(db, "PRAGMA user_version = " + std::to_string(version + 1), "recording the schema version");
      sqlite_exec<Error>(db, "COMMIT", "committing migration");
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
  return found;
}

}  // namespace transport::store
