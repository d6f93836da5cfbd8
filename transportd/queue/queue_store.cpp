// QueueStore: names made and removed relative to one open directory descriptor; every change that must
// survive a crash is fsynced before the call returns, and the directory fsyncs of concurrent callers are
// shared. Order of creation: content, then the committed control file, then the directory; of removal:
// control file first, so that a crash in between leaves only content, which load() removes.
#include "transportd/queue/queue_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <random>
#include <system_error>
#include <thread>
#include <utility>

#include "transportd/delivery/spool_file.h"
#include "transportd/posix_file.h"

namespace transport::queue {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kControlSuffix = ".ctl";
constexpr std::string_view kContentSuffix = ".eml";
constexpr std::string_view kCorruptSuffix = ".corrupt";
constexpr std::string_view kSpareSuffix = ".spare";  // a removed message's control file, kept for reuse

std::string os_error(int error_number) { return std::generic_category().message(error_number); }

// Ids become file names: letters, digits, '-' and '_' only, so no id can reach outside the directory or
// collide with a suffix.
bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
  });
}


// The whole file into `buffer` (kept between calls: loading reads every control file), its length, or
// nullopt with errno set. open, read, close: a short read of a regular file is its end.
std::optional<std::size_t> read_file_at(int directory_fd, const std::string& name, std::string& buffer) {
  FileDescriptor fd(::openat(directory_fd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return std::nullopt;
  if (buffer.size() < 64 * 1024) buffer.resize(64 * 1024);
  std::size_t done = 0;
  while (true) {
    if (done == buffer.size()) buffer.resize(buffer.size() * 2);
    const std::size_t wanted = buffer.size() - done;
    const ssize_t n = ::read(fd.get(), buffer.data() + done, wanted);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;
    }
    done += static_cast<std::size_t>(n);
    if (static_cast<std::size_t>(n) < wanted) return done;
  }
}

}  // namespace

QueueStore::QueueStore(fs::path directory)
    : directory_(std::move(directory)), instance_(std::random_device{}()) {
  std::error_code ec;
  if (!fs::exists(directory_, ec)) {
    fs::create_directories(directory_, ec);
    if (ec) throw std::system_error(ec, "cannot create the queue directory " + directory_.string());
    fs::permissions(directory_, fs::perms::owner_all, ec);
    if (ec) throw std::system_error(ec, "cannot set the mode of " + directory_.string());
  }
  directory_fd_ = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory_fd_ < 0) {
    throw std::system_error(errno, std::generic_category(), "cannot open the queue directory " + directory_.string());
  }
}

QueueStore::~QueueStore() { ::close(directory_fd_); }

std::string QueueStore::new_id() {
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  // Strictly increasing, so ids made in one microsecond stay distinct and in order; the store's random
  // instance number keeps another store (a restart while the clock was set back, or ahead of it because
  // ids were made faster than one per microsecond) from repeating one. A process id would not: a daemon
  // in a container is pid 1 on every start.
  std::uint64_t last = last_id_time_.load(std::memory_order_relaxed);
  std::uint64_t next = 0;
  do {
    next = std::max<std::uint64_t>(static_cast<std::uint64_t>(now), last + 1);
  } while (!last_id_time_.compare_exchange_weak(last, next, std::memory_order_relaxed));
  char text[40];
  const int length = std::snprintf(text, sizeof text, "%016llx-%08x", static_cast<unsigned long long>(next),
                                   instance_);
  return std::string(text, static_cast<std::size_t>(length));
}

fs::path QueueStore::content_path(const std::string& id) const {
  return directory_ / (id + std::string(kContentSuffix));
}

void QueueStore::hold_adds_until_loaded() {
  std::lock_guard lock(load_mutex_);
  adds_held_ = true;
}

void QueueStore::wait_until_loaded() {
  std::unique_lock lock(load_mutex_);
  load_done_.wait(lock, [this] { return !adds_held_; });
}

bool QueueStore::add(const QueuedMessage& message, delivery::SpoolFile& content, std::string& error) {
  wait_until_loaded();
  if (!valid_id(message.id)) {
    error = "cannot queue a message with the id \"" + message.id + "\"";
    return false;
  }
  if (!content.make_durable(error)) return false;
  const std::string content_name = message.id + std::string(kContentSuffix);
  if (!content.link_into(directory_fd_, content_name)) {
    error = "cannot link the message into the queue as " + content_name + ": " + os_error(errno);
    return false;
  }
  if (!add_entry(message, error)) {
    ::unlinkat(directory_fd_, content_name.c_str(), 0);
    return false;
  }
  return true;
}

bool QueueStore::add(const QueuedMessage& message, std::string_view content, std::string& error) {
  wait_until_loaded();
  if (!valid_id(message.id)) {
    error = "cannot queue a message with the id \"" + message.id + "\"";
    return false;
  }
  const std::string content_name = message.id + std::string(kContentSuffix);
  FileDescriptor fd(::openat(directory_fd_, content_name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    error = "cannot create " + content_name + " in the queue: " + os_error(errno);
    return false;
  }
  if (!write_all(fd.get(), content) || ::fsync(fd.get()) != 0 || fd.close() != 0) {
    error = "cannot write " + content_name + " in the queue: " + os_error(errno);
    ::unlinkat(directory_fd_, content_name.c_str(), 0);
    return false;
  }
  if (!add_entry(message, error)) {
    ::unlinkat(directory_fd_, content_name.c_str(), 0);
    return false;
  }
  return true;
}

// The control file, written and fsynced, then the directory: the message is queued when this returns
// true. On failure the control file is gone again (the caller removes the content).
bool QueueStore::add_entry(const QueuedMessage& message, std::string& error) {
  const std::string control_name = message.id + std::string(kControlSuffix);
  switch (write_into_spare(message, control_name, error)) {
    case SpareUse::renamed:
      if (!sync_directory(error)) {
        ::unlinkat(directory_fd_, control_name.c_str(), 0);
        return false;
      }
      return true;
    case SpareUse::failed: return false;
    case SpareUse::none: break;
  }
  FileDescriptor fd(::openat(directory_fd_, control_name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    error = "cannot create " + control_name + " in the queue: " + os_error(errno);
    return false;
  }
  if (!write_all(fd.get(), encode_envelope(message)) || ::fdatasync(fd.get()) != 0 || fd.close() != 0) {
    error = "cannot write " + control_name + " in the queue: " + os_error(errno);
    ::unlinkat(directory_fd_, control_name.c_str(), 0);
    return false;
  }
  if (!sync_directory(error)) {
    ::unlinkat(directory_fd_, control_name.c_str(), 0);
    return false;
  }
  return true;
}

QueueStore::SpareUse QueueStore::write_into_spare(const QueuedMessage& message, const std::string& control_name,
                                                  std::string& error) {
  std::string spare;
  {
    std::lock_guard lock(spare_mutex_);
    if (spares_.empty()) return SpareUse::none;
    spare = std::move(spares_.back());
    spares_.pop_back();
  }
  FileDescriptor fd(::openat(directory_fd_, spare.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return SpareUse::none;  // gone (someone cleaned the directory): make a new one
  // Overwritten from the start, then cut to length: what the file held before is never read again.
  const std::string envelope = encode_envelope(message);
  if (!write_all(fd.get(), envelope) || ::ftruncate(fd.get(), static_cast<off_t>(envelope.size())) != 0 ||
      ::fdatasync(fd.get()) != 0 || fd.close() != 0) {
    error = "cannot write " + control_name + " in the queue: " + os_error(errno);
    ::unlinkat(directory_fd_, spare.c_str(), 0);
    return SpareUse::failed;
  }
  // Never over an existing entry: an id queued already is an error, as with O_EXCL.
  if (::renameat2(directory_fd_, spare.c_str(), directory_fd_, control_name.c_str(), RENAME_NOREPLACE) != 0) {
    error = "cannot create " + control_name + " in the queue: " + os_error(errno);
    ::unlinkat(directory_fd_, spare.c_str(), 0);
    return SpareUse::failed;
  }
  return SpareUse::renamed;
}

std::shared_mutex& QueueStore::recycle_lock(const std::string& id) {
  return recycle_locks_[std::hash<std::string>{}(id) % kRecycleStripes];
}

bool QueueStore::retire_control_file(const std::string& id, const std::string& control_name) {
  std::string spare;
  {
    std::lock_guard lock(spare_mutex_);
    if (spares_.size() + spares_coming_ >= kMaxSpareControlFiles) {
      return ::unlinkat(directory_fd_, control_name.c_str(), 0) == 0;
    }
    ++spares_coming_;
    spare = std::to_string(next_spare_++) + std::string(kSpareSuffix);
  }
  std::unique_lock recycling(recycle_lock(id));  // waits for appends that may have the file open
  const bool renamed = ::renameat(directory_fd_, control_name.c_str(), directory_fd_, spare.c_str()) == 0;
  recycling.unlock();
  std::lock_guard lock(spare_mutex_);
  --spares_coming_;
  if (renamed) spares_.push_back(std::move(spare));
  return renamed;
}

bool QueueStore::append(const std::string& id, const Record& record, std::string& error) {
  if (!valid_id(id)) {
    error = "no queued message has the id \"" + id + "\"";
    return false;
  }
  std::shared_lock recycling(recycle_lock(id));  // the file cannot become a spare while it is open here
  const std::string control_name = id + std::string(kControlSuffix);
  FileDescriptor fd(::openat(directory_fd_, control_name.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  if (!fd.valid()) {
    error = "cannot open " + control_name + " in the queue: " + os_error(errno);
    return false;
  }
  // A record that fails half-written is cut off again, or the next one would be glued to it.
  const off_t end = ::lseek(fd.get(), 0, SEEK_END);
  if (end < 0 || !write_all(fd.get(), encode_record(record)) || ::fdatasync(fd.get()) != 0) {
    error = "cannot append to " + control_name + " in the queue: " + os_error(errno);
    if (end >= 0 && ::ftruncate(fd.get(), end) == 0) ::fdatasync(fd.get());
    return false;
  }
  if (fd.close() != 0) {
    error = "cannot append to " + control_name + " in the queue: " + os_error(errno);
    return false;
  }
  return true;
}

bool QueueStore::remove(const std::string& id, std::string& error) {
  if (!valid_id(id)) {
    error = "no queued message has the id \"" + id + "\"";
    return false;
  }
  const std::string control_name = id + std::string(kControlSuffix);
  const std::string content_name = id + std::string(kContentSuffix);
  if (!retire_control_file(id, control_name)) {
    error = "cannot remove " + control_name + " from the queue: " + os_error(errno);
    return false;
  }
  // The control file is gone: from here on the message is removed, even if its content stays behind
  // (load() removes content without a control file).
  bool removed = true;
  if (::unlinkat(directory_fd_, content_name.c_str(), 0) != 0 && errno != ENOENT) {
    error = "cannot remove " + content_name + " from the queue: " + os_error(errno);
    removed = false;
  }
  return sync_directory(error) && removed;
}

bool QueueStore::sync_directory(std::string& error) {
  std::unique_lock lock(sync_mutex_);
  const std::uint64_t ticket = ++sync_requested_;
  while (sync_completed_ < ticket && sync_failed_through_ < ticket) {
    if (sync_running_) {
      sync_done_.wait(lock);
      continue;
    }
    // This fsync covers every name change whose ticket was taken before it starts.
    sync_running_ = true;
    const std::uint64_t covered = sync_requested_;
    lock.unlock();
    const int result = ::fsync(directory_fd_);
    const int saved_errno = errno;
    lock.lock();
    sync_running_ = false;
    if (result == 0) {
      sync_completed_ = std::max(sync_completed_, covered);
    } else {
      sync_failed_through_ = covered;
      sync_errno_ = saved_errno;
    }
    sync_done_.notify_all();
  }
  if (sync_completed_ >= ticket) return true;
  error = "cannot fsync the queue directory " + directory_.string() + ": " + os_error(sync_errno_);
  return false;
}

std::vector<QueuedMessage> QueueStore::load(std::vector<std::string>& problems) {
  // However it ends, adds held by hold_adds_until_loaded() may go on.
  struct Release {
    QueueStore& store;
    ~Release() {
      {
        std::lock_guard lock(store.load_mutex_);
        store.adds_held_ = false;
      }
      store.load_done_.notify_all();
    }
  } release{*this};
  // Each id once, with the files it has.
  struct Entry {
    std::string id;
    bool has_control = false;
    bool has_content = false;
    ControlFile file;
    std::size_t length = 0;  // of the control file as read
    int read_errno = 0;      // the control file could not be read
  };
  std::vector<Entry> entries;
  {
    std::vector<std::pair<std::string, bool>> names;  // (stem, is control file)
    DIR* directory = ::fdopendir(::dup(directory_fd_));
    if (directory == nullptr) {
      problems.push_back("cannot read the queue directory " + directory_.string() + ": " + os_error(errno));
      return {};
    }
    ::rewinddir(directory);
    while (const dirent* entry = ::readdir(directory)) {
      const std::string_view name = entry->d_name;
      if (name == "." || name == ".." || name.ends_with(kCorruptSuffix)) continue;
      if (name.ends_with(kSpareSuffix)) {
        std::uint64_t number = 0;
        const std::string_view digits = name.substr(0, name.size() - kSpareSuffix.size());
        if (std::from_chars(digits.data(), digits.data() + digits.size(), number).ptr == digits.data() + digits.size()) {
          std::lock_guard lock(spare_mutex_);
          next_spare_ = std::max(next_spare_, number + 1);
          if (spares_.size() < kMaxSpareControlFiles) {
            spares_.emplace_back(name);
            continue;
          }
        }
        ::unlinkat(directory_fd_, entry->d_name, 0);  // more than we keep, or not a name we give
        continue;
      }
      const bool is_control = name.ends_with(kControlSuffix);
      const bool is_content = name.ends_with(kContentSuffix);
      const std::string_view stem = name.substr(0, name.size() - 4);
      if ((!is_control && !is_content) || !valid_id(stem)) {
        problems.push_back(directory_.string() + "/" + std::string(name) + ": not a queue file, left alone");
        continue;
      }
      names.emplace_back(std::string(stem), is_control);
    }
    ::closedir(directory);
    std::sort(names.begin(), names.end());
    entries.reserve(names.size() / 2 + 1);
    for (auto& [stem, is_control] : names) {
      if (entries.empty() || entries.back().id != stem) {
        entries.emplace_back();
        entries.back().id = std::move(stem);
      }
      (is_control ? entries.back().has_control : entries.back().has_content) = true;
    }
  }

  // Reading and parsing the control files is most of a restart's cost: spread over a few threads.
  {
    std::atomic<std::size_t> next{0};
    const auto read_some = [&] {
      std::string buffer;
      for (std::size_t i = next.fetch_add(1); i < entries.size(); i = next.fetch_add(1)) {
        Entry& entry = entries[i];
        if (!entry.has_control) continue;
        const auto length = read_file_at(directory_fd_, entry.id + std::string(kControlSuffix), buffer);
        if (!length) {
          entry.read_errno = errno;
          continue;
        }
        entry.length = *length;
        entry.file = read_control_file(std::string_view(buffer.data(), *length));
      }
    };
    const unsigned helpers = std::min(3u, std::max(1u, std::thread::hardware_concurrency()) - 1);
    std::vector<std::thread> threads;
    if (entries.size() > 1000) {
      for (unsigned t = 0; t < helpers; ++t) threads.emplace_back(read_some);
    }
    read_some();
    for (std::thread& thread : threads) thread.join();
  }

  std::vector<QueuedMessage> messages;
  messages.reserve(entries.size());
  bool removed_any = false;
  const auto remove_name = [&](const std::string& name) {
    if (::unlinkat(directory_fd_, name.c_str(), 0) == 0) removed_any = true;
  };
  const auto set_aside = [&](const std::string& name) {
    const std::string aside = name + std::string(kCorruptSuffix);
    if (::renameat(directory_fd_, name.c_str(), directory_fd_, aside.c_str()) == 0) removed_any = true;
  };

  const std::string prefix = directory_.string() + "/";
  for (Entry& entry : entries) {
    const std::string control_name = entry.id + std::string(kControlSuffix);
    const std::string content_name = entry.id + std::string(kContentSuffix);
    const std::string control_path = prefix + control_name;
    ControlFile& file = entry.file;
    if (!entry.has_control) {
      problems.push_back(prefix + content_name + ": content without a control file (never queued), removed");
      remove_name(content_name);
      continue;
    }
    if (entry.read_errno != 0) {
      problems.push_back(control_path + ": cannot be read (" + os_error(entry.read_errno) + "), left alone");
      continue;
    }
    if (file.status == ControlFile::Status::committed && file.message->id != entry.id) {
      file.status = ControlFile::Status::corrupt;
      file.problem = "the envelope names another message";
    }
    if (file.status == ControlFile::Status::incomplete) {
      problems.push_back(control_path + ": " + file.problem + ", removed");
      remove_name(control_name);
      if (entry.has_content) remove_name(content_name);
      continue;
    }
    if (file.status == ControlFile::Status::corrupt) {
      problems.push_back(control_path + ": " + file.problem + ", kept as " + control_name + std::string(kCorruptSuffix));
      set_aside(control_name);
      if (entry.has_content) set_aside(content_name);
      continue;
    }
    if (!entry.has_content) {
      // The content is linked before the control file is made: a committed control file without it was
      // never acknowledged (a crash before the directory's fsync) or lost its content since.
      problems.push_back(control_path + ": its content " + content_name + " is missing, removed");
      remove_name(control_name);
      continue;
    }
    if (!file.problem.empty()) problems.push_back(control_path + ": " + file.problem);
    if (file.complete_length < entry.length) {
      // A record torn by a crash: cut off, or the next record appended would be glued to it.
      problems.push_back(control_path + ": a torn last record was cut off");
      FileDescriptor fd(::openat(directory_fd_, control_name.c_str(), O_WRONLY | O_CLOEXEC));
      if (!fd.valid() || ::ftruncate(fd.get(), static_cast<off_t>(file.complete_length)) != 0 ||
          ::fdatasync(fd.get()) != 0) {
        problems.push_back(control_path + ": cannot cut off the torn record: " + os_error(errno));
      }
    }
    messages.push_back(std::move(*file.message));
  }
  // New ids sort after every loaded one even when the clock was set back across the restart.
  if (!messages.empty()) {
    std::uint64_t newest = 0;
    const std::string& id = messages.back().id;
    if (id.size() > 16 && id[16] == '-' &&
        std::from_chars(id.data(), id.data() + 16, newest, 16).ptr == id.data() + 16) {
      std::uint64_t last = last_id_time_.load();
      while (last < newest && !last_id_time_.compare_exchange_weak(last, newest)) {
      }
    }
  }
  if (removed_any) {
    std::string error;
    if (!sync_directory(error)) problems.push_back(error);
  }
  return messages;
}

}  // namespace transport::queue
