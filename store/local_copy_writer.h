// LocalCopyWriter: keeps a fleet node's local copy of the configuration (DATA_DIR/config-cache.db and
// its .version file) up to date on a thread of its own. A node serves a new snapshot as soon as it is
// loaded; rewriting the copy (a whole directory: 100,000 mailboxes take a while) follows behind, and
// when snapshots come faster than the copy is written only the latest is written.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/configuration.h"

namespace transport::store {

class LocalCopyWriter {
 public:
  // `warn` is told when writing the copy fails (the node keeps serving; the next snapshot tries again).
  LocalCopyWriter(std::filesystem::path path, std::function<void(const std::string&)> warn);
  ~LocalCopyWriter();  // writes what is pending first
  LocalCopyWriter(const LocalCopyWriter&) = delete;
  LocalCopyWriter& operator=(const LocalCopyWriter&) = delete;

  // Queues `config` to be written, replacing one not written yet.
  void write_later(ConfigurationPtr config);
  // Waits until everything queued so far is written (or failed).
  void flush();

  // The copy as last written, with its version. Throws StoreError when it cannot be read.
  Configuration read() const;
  bool exists() const;
  const std::filesystem::path& path() const { return path_; }

 private:
  void run();
  void write(const Configuration& config);

  const std::filesystem::path path_;
  const std::function<void(const std::string&)> warn_;
  std::mutex mutex_;
  std::condition_variable changed_;
  ConfigurationPtr pending_;
  bool writing_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace transport::store
