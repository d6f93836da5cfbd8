// TrackingLog: the message tracking log, in its own SQLite database (DATA_DIR/tracking.db). Sessions
// record events without waiting for the disk; a background writer stores them in batches and
// deletes what is older than the retention period; the admin API searches them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "transportd/tracking/tracking_event.h"

struct sqlite3;

namespace transport::tracking {

// The tracking database cannot be opened, migrated or read.
class TrackingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class TrackingLog {
 public:
  // Opens (creating or migrating) the database and deletes events older than retention. Throws
  // TrackingError when the database is unusable.
  TrackingLog(std::filesystem::path database, std::chrono::hours retention);
  ~TrackingLog();  // writes what is pending, then stops the writer
  TrackingLog(const TrackingLog&) = delete;
  TrackingLog& operator=(const TrackingLog&) = delete;

  // Never does I/O: queues the event for the writer, which commits a batch at least every second.
  // When the queue is full (the disk cannot keep up) the event is dropped and counted; the writer
  // logs how many.
  void record(TrackingEvent event);

  // Events matching every filter of query, oldest first, at most query.result_size. Sees every event
  // recorded before the call (it waits for the writer to store them). Throws std::invalid_argument for
  // an unknown query.event_id, TrackingError when the database cannot be read.
  std::vector<TrackingEvent> query(const TrackingQuery& query);

  static constexpr std::size_t kQueueLimit = 65536;
  static constexpr std::size_t kBatchSize = 1024;

 private:
  void run_writer();
  void write_batch(std::vector<TrackingEvent>& batch);
  void delete_expired();

  const std::filesystem::path path_;
  const std::chrono::hours retention_;
  sqlite3* writer_db_ = nullptr;  // used by the constructor, then by the writer thread only
  sqlite3* reader_db_ = nullptr;  // guarded by reader_mutex_
  std::mutex reader_mutex_;

  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_writer_;
  std::condition_variable written_;
  std::deque<TrackingEvent> pending_;
  std::uint64_t queued_ = 0;   // events queued by record() since the start
  std::uint64_t handled_ = 0;  // of those, written (or lost to a failed write)
  std::uint64_t dropped_ = 0;  // dropped because the queue was full, not yet logged
  bool flush_requested_ = false;
  bool stopping_ = false;

  std::thread writer_;  // last: starts after everything above exists
};

}  // namespace transport::tracking
