// DataDirLock: one transportd per data directory. Holds an exclusive flock on DATA_DIR/transportd.lock
// for the life of the process; the kernel drops it if the process dies, so a crash leaves no stale lock.
#pragma once

#include <filesystem>

namespace transport {

class DataDirLock {
 public:
  // Throws std::runtime_error naming the directory (and the holder's pid when known) if another
  // process holds the lock.
  explicit DataDirLock(const std::filesystem::path& data_dir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace transport
