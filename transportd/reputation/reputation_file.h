// ReputationFile: DATA_DIR/reputation.db, the write-behind copy of the source records (SQLite, WAL,
// one table, schema version in PRAGMA user_version). Used from one thread at a time; the owner
// (LocalSourceReputation) serialises its writer thread and forgive() with a mutex.
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "transportd/reputation/source_key.h"
#include "transportd/reputation/source_record.h"

namespace transport::reputation {

class ReputationFileError : public std::runtime_error {
 public:
  ReputationFileError(const std::string& message, bool damaged) : std::runtime_error(message), damaged_(damaged) {}
  // The file is not a reputation database (corrupt, foreign, or from a newer transportd), as opposed to
  // one that cannot be reached (permissions, a full disk).
  bool damaged() const { return damaged_; }

 private:
  bool damaged_;
};

class ReputationFile {
 public:
  // Opens or creates the file. Throws ReputationFileError.
  explicit ReputationFile(std::filesystem::path path);
  ~ReputationFile();
  ReputationFile(const ReputationFile&) = delete;
  ReputationFile& operator=(const ReputationFile&) = delete;

  // fn(key, record) for every row. Throws ReputationFileError (damaged() for a corrupt row or page).
  void load(const std::function<void(const SourceKey&, const SourceRecord&)>& fn);
  // Deletes `erased`, then writes `written`, in one transaction (sorting both by key first).
  void write(std::vector<std::pair<SourceKey, SourceRecord>>& written, std::vector<SourceKey>& erased);
  void erase(std::vector<SourceKey> keys) {
    std::vector<std::pair<SourceKey, SourceRecord>> none;
    write(none, keys);
  }

  const std::filesystem::path& path() const { return path_; }

  // Moves a damaged file (and its -wal and -shm) aside to <path>.damaged-<unix time>; returns the new name.
  static std::filesystem::path move_aside(const std::filesystem::path& path, Seconds now);

 private:
  void close();
  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
};

}  // namespace transport::reputation
