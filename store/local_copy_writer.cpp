#include "store/local_copy_writer.h"

#include <fstream>

#include "store/sqlite_store.h"

namespace transport::store {

namespace {

// The copy's version beside it: the SQLite schema has no place for it, and it only labels what is served.
std::filesystem::path version_path(const std::filesystem::path& path) {
  std::filesystem::path version = path;
  version += ".version";
  return version;
}

}  // namespace

LocalCopyWriter::LocalCopyWriter(std::filesystem::path path, std::function<void(const std::string&)> warn)
    : path_(std::move(path)), warn_(std::move(warn)), thread_([this] { run(); }) {}

LocalCopyWriter::~LocalCopyWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void LocalCopyWriter::write_later(ConfigurationPtr config) {
  {
    std::lock_guard lock(mutex_);
    pending_ = std::move(config);
  }
  changed_.notify_all();
}

void LocalCopyWriter::flush() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return pending_ == nullptr && !writing_; });
}

void LocalCopyWriter::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || pending_ != nullptr; });
    if (pending_ == nullptr) return;  // stopping, nothing left to write
    ConfigurationPtr next = std::move(pending_);
    writing_ = true;
    lock.unlock();
    write(*next);
    lock.lock();
    writing_ = false;
    changed_.notify_all();  // flush() waits for this
  }
}

void LocalCopyWriter::write(const Configuration& config) {
  try {
    SqliteStore(path_).replace_all(config);
    std::ofstream version(version_path(path_), std::ios::trunc);
    version << config.version << "\n";
    if (!version.flush()) throw StoreError("cannot write " + version_path(path_).string());
  } catch (const std::exception& e) {
    if (warn_) {
      warn_("writing the local copy of the configuration " + path_.string() + " (configuration version " +
            std::to_string(config.version) + "): " + e.what() + "; the node serves it all the same");
    }
  }
}

Configuration LocalCopyWriter::read() const {
  Configuration config = SqliteStore(path_).load();
  std::ifstream(version_path(path_)) >> config.version;
  return config;
}

bool LocalCopyWriter::exists() const {
  std::error_code missing;
  return std::filesystem::exists(path_, missing);
}

}  // namespace transport::store
