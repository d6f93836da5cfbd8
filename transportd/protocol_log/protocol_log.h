// The receive protocol log (DESIGN §8): per connector with ProtocolLoggingLevel Verbose, one CSV row per
// connect, disconnect, line sent or received, and tarpit wait, in DATA_DIR/logs/protocol/RECV<date>-<n>.LOG.
// Sessions format rows and hand them over; one background thread writes, so logging never blocks a
// session on the disk. The same thread deletes old files (ReceiveProtocolLogMaxAge and
// ReceiveProtocolLogMaxDirectorySize of set-transportserver).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace transport::protocol_log {

// How much protocol log is kept. nullopt: no limit of that kind.
struct RetentionLimits {
  std::optional<std::chrono::seconds> max_age;
  std::optional<std::uint64_t> max_directory_bytes;
};

struct LogFileFacts {
  std::string name;
  std::chrono::system_clock::time_point modified;
  std::uint64_t bytes = 0;
};

// The files to delete, oldest first: every file last written more than max_age before now, then the
// oldest of the rest until the remaining files together fit in max_directory_bytes. `current` (the
// file being written) is never chosen. Pure: the writer thread lists the directory and deletes.
std::vector<std::string> files_to_prune(std::vector<LogFileFacts> files, std::chrono::system_clock::time_point now,
                                        const RetentionLimits& limits, std::string_view current);

class ProtocolLogWriter {
 public:
  // Rotates daily (UTC) and when a file would pass max_file_bytes. Flushes at least every second.
  explicit ProtocolLogWriter(std::filesystem::path directory, std::uint64_t max_file_bytes = 10 * 1024 * 1024);
  ~ProtocolLogWriter();  // writes everything pending, then stops
  ProtocolLogWriter(const ProtocolLogWriter&) = delete;
  ProtocolLogWriter& operator=(const ProtocolLogWriter&) = delete;

  // Complete CSV rows ("...\r\n"). Never does I/O; beyond 64 MiB pending, rows are dropped and counted.
  void append(std::string_view rows);
  // Waits until everything appended so far is written, and a pruning asked for is done (tests, shutdown).
  void flush();
  // New limits; the writer thread prunes by them at once, then every minute and at each new file.
  // Never does I/O (called by the admin thread that changed the configuration).
  void set_retention(const RetentionLimits& limits);

 private:
  void run();
  void write(const std::string& rows);
  void open_file_for(std::string_view date, std::uint64_t incoming);
  void prune(const RetentionLimits& limits);

  const std::filesystem::path directory_;
  const std::uint64_t max_file_bytes_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable written_;
  std::string pending_;
  std::uint64_t appended_ = 0, handled_ = 0, dropped_ = 0;
  bool stopping_ = false;
  RetentionLimits retention_;
  bool prune_requested_ = false;
  // Writer thread only:
  int fd_ = -1;
  std::string file_date_;
  int file_number_ = 0;
  std::uint64_t file_bytes_ = 0;
  bool rotated_ = false;  // a new file was opened since the last pruning
  std::chrono::steady_clock::time_point last_prune_{};
  std::thread thread_;  // last: starts once everything above exists
};

// One session's rows. Sequence numbers count from 0; the session id is 16 random hex digits.
class ProtocolLogSession {
 public:
  ProtocolLogSession(ProtocolLogWriter& writer, std::string connector_identity, std::string local_endpoint,
                     std::string remote_endpoint);
  void connected() { row('+', {}, {}); }
  void disconnected(std::string_view why) { row('-', {}, why); }
  void sent(std::string_view wire);        // one row per reply line
  void received(std::string_view line);    // a command line; AUTH credentials are masked
  void received_secret() { row('<', "****", {}); }  // a SASL response line: never logged
  void received_data(std::uint64_t bytes) { row('<', "<DATA " + std::to_string(bytes) + " bytes>", {}); }
  void info(std::string_view data, std::string_view context = {}) { row('*', data, context); }

 private:
  void row(char event, std::string_view data, std::string_view context);

  ProtocolLogWriter& writer_;
  std::string connector_identity_, local_, remote_, session_id_;
  std::uint64_t sequence_ = 0;
};

// RFC 4180 field: quoted when it holds a comma, quote, or leading/trailing space; control characters
// become \xNN so that a row is always one line.
std::string csv_field(std::string_view text);

// "RECV20261123-1.LOG" for a UTC date "20261123" and number 1.
std::string log_file_name(std::string_view date, int number);

}  // namespace transport::protocol_log
