// The receive connector protocol log (DESIGN §8): with ProtocolLoggingLevel Verbose, one CSV row per
// connect, disconnect, reply line, command line and piece of information (a tarpit wait), in
// DATA_DIR/logs/protocol/RECV<yyyymmdd>-<n>.LOG like Exchange. Sessions only format rows and queue them;
// one background thread per daemon does the I/O, so logging never blocks a session on the disk.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace transport::logging {

// Owns the files under directory and the thread that writes them. Files rotate when the UTC date of a
// row differs from the file's, or when a row would take the file past max_file_bytes (a file always
// takes at least one row). Numbering continues after the files already there for that date.
class ProtocolLogWriter {
 public:
  // Creates directory (mode 0750 for what it creates); throws std::filesystem::filesystem_error when it
  // cannot. Files are opened lazily, on the first row.
  explicit ProtocolLogWriter(std::filesystem::path directory, std::uint64_t max_file_bytes = 10 * 1024 * 1024);
  ~ProtocolLogWriter();  // stop()
  ProtocolLogWriter(const ProtocolLogWriter&) = delete;
  ProtocolLogWriter& operator=(const ProtocolLogWriter&) = delete;

  // Complete CSV rows, each ending in "\r\n". Never does I/O: the text is moved into the queue. Beyond
  // kQueueLimit bytes queued (the disk cannot keep up) the rows are dropped and counted, and an info row
  // "dropped N rows" is written later. Rows appended after stop() are discarded.
  void append(std::string rows);

  // Writes everything queued, then joins the writer. Idempotent.
  void stop();

  static constexpr std::uint64_t kQueueLimit = 64 * 1024 * 1024;
  // The writer wakes early when this much is queued, so a burst is written before the second is over.
  static constexpr std::uint64_t kWakeBytes = 1024 * 1024;

 private:
  void run_writer();
  void write_rows(const std::vector<std::string>& batch, std::uint64_t dropped_rows);
  void write_row(std::string_view row, std::string& chunk);
  void flush_chunk(std::string& chunk);
  bool open_next_file(const std::string& date);
  void close_file();

  const std::filesystem::path directory_;
  const std::uint64_t max_file_bytes_;

  std::mutex mutex_;  // guards everything down to the writer-only state
  std::condition_variable wake_writer_;
  std::vector<std::string> pending_;
  std::uint64_t queued_bytes_ = 0;   // pending_ plus the batch being written
  std::uint64_t dropped_rows_ = 0;   // not yet reported in an info row
  bool stopping_ = false;

  std::mutex stop_mutex_;  // serialises stop() callers around the join

  // Writer thread only.
  int fd_ = -1;
  std::string file_date_;  // yyyymmdd
  unsigned file_number_ = 0;
  std::uint64_t file_bytes_ = 0;
  std::uint64_t file_rows_ = 0;
  bool failing_ = false;  // the last open or write failed (logged once until it works again)
  bool open_failed_in_batch_ = false;

  std::thread writer_;  // last: starts once everything above exists
};

// One session's rows. Cheap: formatting only. Not thread-safe (one session's calls come from one
// coroutine); the writer must outlive it.
class ProtocolLogSession {
 public:
  ProtocolLogSession(ProtocolLogWriter& writer, std::string connector_identity, std::string local_endpoint,
                     std::string remote_endpoint);

  const std::string& session_id() const { return session_id_; }  // 16 upper-case hex digits, random

  void connected();                         // "+"
  void disconnected(std::string_view why);  // "-" with why as data
  // ">" one row per line of wire (which may hold several lines or replies), CRLF stripped.
  void sent(std::string_view wire);
  // "<" a command line. AUTH with an initial response is logged as "AUTH <MECHANISM> ****".
  void received(std::string_view line);
  void received_secret();                   // "<" "****": a SASL continuation line
  void received_data(std::uint64_t bytes);  // "<" "<DATA n bytes>": message content is never logged
  // "*", e.g. info("tarpit 00:00:05", "delayed 550 5.1.1 User unknown").
  void info(std::string_view text, std::string_view context = {});

 private:
  void add_row(std::string& rows, char event, std::string_view data, std::string_view context);
  void append_row(char event, std::string_view data, std::string_view context = {});

  ProtocolLogWriter& writer_;
  std::string session_id_;
  std::string prefix_;  // ",connector-id,session-id,"
  std::string endpoints_;  // ",local-endpoint,remote-endpoint,"
  std::uint64_t sequence_ = 0;
};

// An RFC 4180 field: control characters (< 0x20, 0x7F) become \xNN so a row is always one line; the
// result is quoted, quotes doubled, when it holds a comma or quote or starts or ends with a space.
std::string csv_field(std::string_view text);

// The command line as it may be logged: AUTH with an initial response becomes "AUTH <MECHANISM> ****".
std::string mask_credentials(std::string_view command_line);

// "RECV20261123-1.LOG".
std::string protocol_log_file_name(std::string_view yyyymmdd, unsigned number);

}  // namespace transport::logging
