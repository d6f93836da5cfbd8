// Protocol log: formatting on the session's thread, writing on one background thread.
#include "transportd/protocol_log/protocol_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <utility>

#include "store/text_util.h"
#include "transportd/log.h"

namespace transport::protocol_log {

namespace {

constexpr std::size_t kMaxPending = 64 * 1024 * 1024;
constexpr const char* kHeaderFields =
    "#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context\r\n";

std::tm utc_now(std::chrono::system_clock::time_point now, int& millis) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  millis = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return utc;
}

std::string iso_time(std::chrono::system_clock::time_point now) {
  int millis = 0;
  const std::tm utc = utc_now(now, millis);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
  return text;
}

std::string utc_date(std::chrono::system_clock::time_point now) {
  int millis = 0;
  const std::tm utc = utc_now(now, millis);
  char text[32];
  std::snprintf(text, sizeof text, "%04d%02d%02d", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday);
  return text;
}

}  // namespace

std::string csv_field(std::string_view text) {
  std::string escaped;
  bool quote = !text.empty() && (text.front() == ' ' || text.back() == ' ');
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      escaped += hex;
      continue;
    }
    if (c == ',' || c == '"') quote = true;
    if (c == '"') escaped.push_back('"');
    escaped.push_back(static_cast<char>(c));
  }
  return quote ? "\"" + escaped + "\"" : escaped;
}

std::string log_file_name(std::string_view date, int number) {
  return "RECV" + std::string(date) + "-" + std::to_string(number) + ".LOG";
}

std::vector<std::string> files_to_prune(std::vector<LogFileFacts> files, std::chrono::system_clock::time_point now,
                                        const RetentionLimits& limits, std::string_view current) {
  std::sort(files.begin(), files.end(), [](const LogFileFacts& a, const LogFileFacts& b) {
    return a.modified != b.modified ? a.modified < b.modified : a.name < b.name;
  });
  std::vector<std::string> doomed;
  std::uint64_t kept_bytes = 0;
  std::vector<const LogFileFacts*> kept;
  for (const LogFileFacts& file : files) {
    if (file.name != current && limits.max_age && now - file.modified > *limits.max_age) {
      doomed.push_back(file.name);
    } else {
      kept.push_back(&file);
      kept_bytes += file.bytes;
    }
  }
  if (!limits.max_directory_bytes) return doomed;
  for (const LogFileFacts* file : kept) {
    if (kept_bytes <= *limits.max_directory_bytes) break;
    if (file->name == current) continue;
    doomed.push_back(file->name);
    kept_bytes -= file->bytes;
  }
  return doomed;
}

ProtocolLogWriter::ProtocolLogWriter(std::filesystem::path directory, std::uint64_t max_file_bytes)
    : directory_(std::move(directory)), max_file_bytes_(max_file_bytes) {
  std::filesystem::create_directories(directory_);
  ::chmod(directory_.c_str(), 0750);
  thread_ = std::thread([this] { run(); });
}

ProtocolLogWriter::~ProtocolLogWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void ProtocolLogWriter::append(std::string_view rows) {
  {
    std::lock_guard lock(mutex_);
    ++appended_;
    if (pending_.size() + rows.size() > kMaxPending) {
      ++dropped_;
      ++handled_;
      return;
    }
    pending_.append(rows);
  }
  // No notify: the writer wakes every second, which batches rows into few writes.
}

void ProtocolLogWriter::flush() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = appended_;
  wake_.notify_all();
  written_.wait(lock, [&] { return (handled_ >= target && !prune_requested_) || stopping_; });
}

void ProtocolLogWriter::set_retention(const RetentionLimits& limits) {
  {
    std::lock_guard lock(mutex_);
    retention_ = limits;
    prune_requested_ = true;
  }
  wake_.notify_all();
}

void ProtocolLogWriter::run() {
  constexpr auto kPruneEvery = std::chrono::minutes(1);
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, std::chrono::seconds(1));
    std::string batch;
    batch.swap(pending_);
    const std::uint64_t covered = appended_;
    const std::uint64_t dropped = std::exchange(dropped_, 0);
    const bool stopping = stopping_;
    const bool prune_requested = std::exchange(prune_requested_, false);
    const RetentionLimits limits = retention_;
    lock.unlock();
    if (dropped > 0) log::warn("protocol-log", "dropped " + std::to_string(dropped) + " row batch(es): the disk is too slow");
    if (!batch.empty()) write(batch);
    const auto now = std::chrono::steady_clock::now();
    if (prune_requested || std::exchange(rotated_, false) || now - last_prune_ >= kPruneEvery) {
      last_prune_ = now;
      prune(limits);
    }
    lock.lock();
    handled_ = std::max(handled_, covered);
    written_.notify_all();
    if (stopping && pending_.empty()) return;
  }
}

void ProtocolLogWriter::prune(const RetentionLimits& limits) {
  if (!limits.max_age && !limits.max_directory_bytes) return;
  std::vector<LogFileFacts> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("RECV") || !name.ends_with(".LOG") || !entry.is_regular_file(ec)) continue;
    const auto modified = entry.last_write_time(ec);
    const std::uint64_t bytes = entry.file_size(ec);
    if (ec) continue;  // gone meanwhile
    files.push_back({name, std::chrono::file_clock::to_sys(modified), bytes});
  }
  const std::string current = fd_ >= 0 ? log_file_name(file_date_, file_number_) : std::string();
  std::size_t removed = 0;
  for (const std::string& name : files_to_prune(std::move(files), std::chrono::system_clock::now(), limits, current)) {
    if (std::filesystem::remove(directory_ / name, ec)) ++removed;
  }
  if (removed > 0) {
    log::info("protocol-log", "deleted " + std::to_string(removed) +
                                  " old protocol log file(s) (ReceiveProtocolLogMaxAge, ReceiveProtocolLogMaxDirectorySize)");
  }
}

void ProtocolLogWriter::open_file_for(std::string_view date, std::uint64_t incoming) {
  if (fd_ >= 0 && date == file_date_ && file_bytes_ + incoming <= max_file_bytes_) return;
  if (fd_ >= 0) {  // full, or the date changed
    ::close(fd_);
    fd_ = -1;
    ++file_number_;
  }
  if (date != file_date_) {
    // A new day, or a restart: continue with the last file of this date that exists.
    file_date_ = std::string(date);
    file_number_ = 1;
    while (std::filesystem::exists(directory_ / log_file_name(file_date_, file_number_ + 1))) ++file_number_;
  }
  for (;; ++file_number_) {
    const auto path = directory_ / log_file_name(file_date_, file_number_);
    std::error_code ec;
    const std::uint64_t size = std::filesystem::exists(path, ec) ? std::filesystem::file_size(path, ec) : 0;
    if (size > 0 && size + incoming > max_file_bytes_) continue;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd_ < 0) {
      log::error("protocol-log", "cannot open " + path.string());
      return;
    }
    rotated_ = true;
    file_bytes_ = size;
    if (size == 0) {
      const std::string header = "#Software: transportd\r\n#Version: 1\r\n#Log-type: Receive Connector Protocol Log\r\n"
                                 "#Date: " + iso_time(std::chrono::system_clock::now()) + "\r\n" + kHeaderFields;
      const ssize_t n = ::write(fd_, header.data(), header.size());
      file_bytes_ += static_cast<std::uint64_t>(std::max<ssize_t>(0, n));
    }
    return;
  }
}

void ProtocolLogWriter::write(const std::string& rows) {
  // Rows are split only at row ends, so that rotation never cuts a row in two.
  std::size_t start = 0;
  while (start < rows.size()) {
    std::size_t end = rows.size();
    if (end - start > max_file_bytes_ / 2) {
      end = rows.rfind("\r\n", start + max_file_bytes_ / 2);
      end = (end == std::string::npos || end < start) ? rows.size() : end + 2;
    }
    const std::string_view chunk(rows.data() + start, end - start);
    open_file_for(utc_date(std::chrono::system_clock::now()), chunk.size());
    if (fd_ < 0) return;
    const ssize_t n = ::write(fd_, chunk.data(), chunk.size());
    if (n > 0) file_bytes_ += static_cast<std::uint64_t>(n);
    start = end;
  }
}

ProtocolLogSession::ProtocolLogSession(ProtocolLogWriter& writer, std::string connector_identity,
                                       std::string local_endpoint, std::string remote_endpoint)
    : writer_(writer),
      connector_identity_(csv_field(connector_identity)),
      local_(std::move(local_endpoint)),
      remote_(std::move(remote_endpoint)) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  char id[17];
  std::snprintf(id, sizeof id, "%016llX", static_cast<unsigned long long>(random()));
  session_id_ = id;
}

void ProtocolLogSession::sent(std::string_view wire) {
  while (!wire.empty()) {
    std::size_t end = wire.find("\r\n");
    row('>', wire.substr(0, end), {});
    if (end == std::string_view::npos) break;
    wire.remove_prefix(end + 2);
  }
}

void ProtocolLogSession::received(std::string_view line) {
  // AUTH PLAIN <credentials>: the mechanism is worth logging, the initial response never is.
  if (line.size() >= 5 && store::iequals(line.substr(0, 5), "AUTH ")) {
    std::string_view rest = store::trim(line.substr(5));
    const std::size_t space = rest.find(' ');
    if (space != std::string_view::npos) {
      row('<', "AUTH " + std::string(rest.substr(0, space)) + " ****", {});
      return;
    }
  }
  row('<', line, {});
}

void ProtocolLogSession::row(char event, std::string_view data, std::string_view context) {
  std::string line = iso_time(std::chrono::system_clock::now());
  line.reserve(line.size() + 96 + data.size());
  line.append(",").append(connector_identity_).append(",").append(session_id_).append(",");
  line.append(std::to_string(sequence_++)).append(",").append(local_).append(",").append(remote_).append(",");
  line.push_back(event);
  line.append(",").append(csv_field(data)).append(",").append(csv_field(context)).append("\r\n");
  writer_.append(line);
}

}  // namespace transport::protocol_log
