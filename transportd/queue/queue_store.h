// QueueStore: the durable queue under DATA_DIR/queue (DESIGN §6, §11). Each message is two files: its
// content <id>.eml and its control file <id>.ctl (envelope, commit line, then appended records). A message
// exists once both are durable and its control file is committed; a removed one never comes back.
// Blocking file I/O: call it from worker threads, never an I/O thread. Thread-safe for different ids.
//
// Costs (measured on this project's 2-core VM, where one fsync is ~9 ms): add = fsync of the content +
// fdatasync of the control file + the directory's fsync, which concurrent adds and removes share; append =
// one fdatasync; remove = one shared directory fsync. The kernel merges concurrent fsyncs into one journal
// commit, so throughput comes from adding from many threads at once (queue_load_timing add: 42 adds/s
// from 1 thread, ~720/s from 8). A message all of whose recipients are done needs no records: remove it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <array>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "transportd/queue/queued_message.h"

namespace transport::delivery {
class SpoolFile;
}

namespace transport::queue {

class QueueStore {
 public:
  // Opens DATA_DIR/queue, creating it (0700) when missing. Throws std::system_error when it cannot.
  explicit QueueStore(std::filesystem::path directory);
  ~QueueStore();
  QueueStore(const QueueStore&) = delete;
  QueueStore& operator=(const QueueStore&) = delete;

  // Unique across restarts, sortable by arrival, safe as a file name: 16 hex digits of a strictly
  // increasing microsecond clock, '-', this store's random instance number in hex.
  std::string new_id();

  // Durable before they return true (the 250 waits for this): the content as <id>.eml, the control file
  // <id>.ctl written and fsynced, the directory fsynced. false + `error`, and nothing left behind, on
  // failure (including an id already queued). message.id names the files. (A crash while a failed add
  // is cleaning up can leave a complete entry, which load() finds: a duplicate the sender may cause by
  // sending again, never a loss.)
  // The received message: fsynced here (SpoolFile::make_durable; cheap when the caller already did),
  // then linked into the queue, never copied.
  bool add(const QueuedMessage& message, delivery::SpoolFile& content, std::string& error);
  // A report (DSN) we generated: `content` is written as the stored form.
  bool add(const QueuedMessage& message, std::string_view content, std::string& error);

  // One record appended to <id>.ctl and fdatasync'ed.
  bool append(const std::string& id, const Record& record, std::string& error);
  // Both names gone and the directory fsynced, so a message gone never comes back after a crash. The
  // control file is kept under a spare name (up to kMaxSpareControlFiles) for a later add to reuse.
  bool remove(const std::string& id, std::string& error);

  std::filesystem::path content_path(const std::string& id) const;
  const std::filesystem::path& directory() const { return directory_; }

  // Makes add() wait until load() has finished: the daemon serves (and receives) while a large queue
  // loads, but no new entry may appear in the directory while load() sorts out what a crash left.
  void hold_adds_until_loaded();

  // Start-up (before any add): every committed message, its records applied, in arrival (id) order.
  // Entries never committed and content without a control file are removed; a committed control file
  // that is damaged is renamed <id>.ctl.corrupt (its content <id>.eml.corrupt) and kept for inspection;
  // torn last records are cut off. Problems are reported one line each in `problems`, never thrown.
  // About 16 us of CPU per message (-O2), the control files read on up to 4 threads: 100,000 messages
  // take ~1.7 s of CPU. Start serving first and load in the background when the queue may be large.
  std::vector<QueuedMessage> load(std::vector<std::string>& problems);

  // Control files of removed messages kept for reuse: a new file costs an inode allocation, which on
  // a busy ext4 without a journal scans past every inode freed in the last 30 s (most of the CPU of a
  // relayed message in the relay benchmark).
  static constexpr std::size_t kMaxSpareControlFiles = 256;

 private:
  bool add_entry(const QueuedMessage& message, std::string& error);
  // Writes the envelope into a spare control file, fdatasyncs it and renames it <id>.ctl (not yet
  // durable: the caller syncs the directory). A spare that fails is dropped.
  enum class SpareUse { none, renamed, failed };
  SpareUse write_into_spare(const QueuedMessage& message, const std::string& control_name, std::string& error);
  // A removed message's control file becomes a spare, or is unlinked when there are enough.
  bool retire_control_file(const std::string& id, const std::string& control_name);
  // The lock of a message's control file (one of kRecycleStripes, by its id).
  std::shared_mutex& recycle_lock(const std::string& id);
  // fsync of the directory, shared: one call makes durable every name change made before it started, so
  // concurrent adds and removes wait for one fsync instead of queueing one each.
  bool sync_directory(std::string& error);

  void wait_until_loaded();

  std::filesystem::path directory_;
  int directory_fd_ = -1;
  std::mutex load_mutex_;
  std::condition_variable load_done_;
  bool adds_held_ = false;
  std::atomic<std::uint64_t> last_id_time_{0};
  unsigned instance_;

  // Spare control files by name (<n>.spare). An append holds its message's recycle lock shared from
  // open to close and a removal renames a control file to a spare only under that lock exclusively, so
  // no late append can write into a file that has become another message's. The locks are striped by
  // id: a removal waits only for appends (and their fdatasync) that share its stripe.
  std::mutex spare_mutex_;
  std::vector<std::string> spares_;
  std::size_t spares_coming_ = 0;  // removals renaming a file to a spare now: counted against the bound
  std::uint64_t next_spare_ = 0;
  static constexpr std::size_t kRecycleStripes = 64;
  std::array<std::shared_mutex, kRecycleStripes> recycle_locks_;

  std::mutex sync_mutex_;
  std::condition_variable sync_done_;
  std::uint64_t sync_requested_ = 0;   // tickets handed out (name changes that need a directory fsync)
  std::uint64_t sync_completed_ = 0;   // every ticket up to this one is durable
  std::uint64_t sync_failed_through_ = 0;  // a failed fsync fails every ticket up to this one
  bool sync_running_ = false;
  int sync_errno_ = 0;                 // of the last failed fsync
};

}  // namespace transport::queue
