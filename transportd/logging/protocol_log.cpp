// The protocol log: sessions format CSV rows and queue them; one writer thread per daemon puts them in
// RECV<yyyymmdd>-<n>.LOG files, rotating by UTC date and size.
#include "transportd/logging/protocol_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iterator>
#include <random>
#include <system_error>
#include <utility>

#include "transportd/log.h"

namespace transport::logging {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kFields =
    "date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context";
// The writer hands the kernel at most this much per write(2), so one batch does not hold a huge buffer.
constexpr std::size_t kChunkBytes = 256 * 1024;

// "2026-11-23T08:47:12.123Z"
std::string utc_timestamp(std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  const std::time_t seconds = system_clock::to_time_t(now);
  const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[64];  // room for any int, so -Wformat-truncation can prove it fits
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
  return stamp;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The yyyymmdd of a row starting with an ISO date-time; today (UTC) for anything else.
std::string row_date(std::string_view row) {
  const bool iso = row.size() >= 10 && row[4] == '-' && row[7] == '-' &&
                   std::all_of(row.begin(), row.begin() + 4, is_digit) && is_digit(row[5]) && is_digit(row[6]) &&
                   is_digit(row[8]) && is_digit(row[9]);
  if (!iso) return row_date(utc_timestamp(std::chrono::system_clock::now()));
  std::string date;
  date.append(row.substr(0, 4)).append(row.substr(5, 2)).append(row.substr(8, 2));
  return date;
}

// Creates dir and its missing parents with mode 0750.
void create_directories_0750(const fs::path& dir) {
  if (dir.empty() || fs::is_directory(dir)) return;
  const fs::path parent = dir.parent_path();
  if (parent != dir) create_directories_0750(parent);
  if (fs::create_directory(dir)) fs::permissions(dir, fs::perms(0750), fs::perm_options::replace);
}

fs::path prepared_directory(fs::path directory) {
  create_directories_0750(directory);
  return directory;
}

// The highest n of RECV<date>-<n>.LOG in directory, 0 when there is none.
unsigned highest_file_number(const fs::path& directory, std::string_view date) {
  const std::string prefix = "RECV" + std::string(date) + "-";
  constexpr std::string_view suffix = ".LOG";
  unsigned highest = 0;
  std::error_code ec;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() + suffix.size() || !name.starts_with(prefix) || !name.ends_with(suffix)) continue;
    const std::string_view digits =
        std::string_view(name).substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), is_digit)) continue;
    highest = std::max(highest, static_cast<unsigned>(std::stoul(std::string(digits))));
  }
  return highest;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

std::uint64_t count_rows(std::string_view rows) {
  const auto newlines = static_cast<std::uint64_t>(std::count(rows.begin(), rows.end(), '\n'));
  return std::max<std::uint64_t>(newlines + (rows.ends_with('\n') ? 0 : 1), 1);
}

std::string random_session_id() {
  thread_local std::mt19937_64 generator = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  char id[17];
  std::snprintf(id, sizeof id, "%016llX", static_cast<unsigned long long>(generator()));
  return id;
}

// RFC 4422 mechanism names: 1 to 20 of A-Z 0-9 - _. Anything else in that place may be a misplaced
// credential and is masked too.
bool looks_like_mechanism(std::string_view token) {
  return !token.empty() && token.size() <= 20 && std::all_of(token.begin(), token.end(), [](char c) {
    return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == '_';
  });
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string_view strip_line_end(std::string_view line) {
  if (line.ends_with('\n')) line.remove_suffix(1);
  if (line.ends_with('\r')) line.remove_suffix(1);
  return line;
}

}  // namespace

std::string csv_field(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string escaped;
  escaped.reserve(text.size());
  bool quote = false;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      quote = quote || c == '\r' || c == '\n';
      escaped.append("\\x").push_back(kHex[byte >> 4]);
      escaped.push_back(kHex[byte & 0xF]);
      continue;
    }
    quote = quote || c == ',' || c == '"';
    escaped.push_back(c);
  }
  quote = quote || (!escaped.empty() && (escaped.front() == ' ' || escaped.back() == ' '));
  if (!quote) return escaped;
  std::string quoted = "\"";
  for (const char c : escaped) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

std::string mask_credentials(std::string_view command_line) {
  const std::string_view line = trim_spaces(command_line);
  const auto is_auth = [&] {
    if (line.size() < 4) return false;
    for (std::size_t i = 0; i < 4; ++i) {
      if ((line[i] & ~0x20) != "AUTH"[i]) return false;
    }
    return line.size() == 4 || line[4] == ' ' || line[4] == '\t';
  };
  if (!is_auth()) return std::string(command_line);
  const std::string_view arguments = trim_spaces(line.substr(4));
  if (arguments.empty()) return std::string(command_line);
  const std::size_t end_of_mechanism = std::min(arguments.find(' '), arguments.find('\t'));
  const std::string_view mechanism = arguments.substr(0, end_of_mechanism);
  const bool has_initial_response =
      end_of_mechanism != std::string_view::npos && !trim_spaces(arguments.substr(end_of_mechanism)).empty();
  std::string masked = "AUTH ";
  if (looks_like_mechanism(mechanism)) {
    std::transform(mechanism.begin(), mechanism.end(), std::back_inserter(masked),
                   [](char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; });
    if (has_initial_response) masked.append(" ****");
  } else {
    masked.append("****");
  }
  return masked;
}

std::string protocol_log_file_name(std::string_view yyyymmdd, unsigned number) {
  return "RECV" + std::string(yyyymmdd) + "-" + std::to_string(number) + ".LOG";
}

// --- ProtocolLogWriter ---

ProtocolLogWriter::ProtocolLogWriter(fs::path directory, std::uint64_t max_file_bytes)
    : directory_(prepared_directory(std::move(directory))),
      max_file_bytes_(max_file_bytes),
      writer_([this] { run_writer(); }) {}

ProtocolLogWriter::~ProtocolLogWriter() { stop(); }

void ProtocolLogWriter::append(std::string rows) {
  if (rows.empty()) return;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    if (queued_bytes_ + rows.size() > kQueueLimit) {
      dropped_rows_ += count_rows(rows);
      return;
    }
    wake = queued_bytes_ < kWakeBytes && queued_bytes_ + rows.size() >= kWakeBytes;
    queued_bytes_ += rows.size();
    pending_.push_back(std::move(rows));
  }
  if (wake) wake_writer_.notify_one();
}

void ProtocolLogWriter::stop() {
  std::lock_guard stop_lock(stop_mutex_);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_writer_.notify_one();
  if (writer_.joinable()) writer_.join();
}

void ProtocolLogWriter::run_writer() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_writer_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_ || queued_bytes_ >= kWakeBytes; });
    std::vector<std::string> batch;
    batch.swap(pending_);
    const std::uint64_t dropped = std::exchange(dropped_rows_, 0);
    const bool stopping = stopping_;
    lock.unlock();

    std::uint64_t batch_bytes = 0;
    for (const std::string& rows : batch) batch_bytes += rows.size();
    if (!batch.empty() || dropped > 0) write_rows(batch, dropped);
    batch = {};  // release the memory before it stops counting against the limit

    lock.lock();
    queued_bytes_ -= batch_bytes;
    if (stopping) break;  // append() queues nothing once stopping_ is set
  }
  lock.unlock();
  close_file();
}

void ProtocolLogWriter::write_rows(const std::vector<std::string>& batch, std::uint64_t dropped_rows) {
  std::string chunk;
  open_failed_in_batch_ = false;
  for (const std::string& rows : batch) {
    std::string_view rest = rows;
    while (!rest.empty()) {
      const std::size_t newline = rest.find('\n');
      if (newline == std::string_view::npos) {
        write_row(std::string(rest) + "\r\n", chunk);  // a caller forgot the line end: keep rows one a line
        break;
      }
      write_row(rest.substr(0, newline + 1), chunk);
      rest.remove_prefix(newline + 1);
    }
  }
  if (dropped_rows > 0) {
    const std::string message = "dropped " + std::to_string(dropped_rows) + " rows";
    log::warn("protocol-log", message + ": the protocol log queue was full (the disk cannot keep up)");
    write_row(utc_timestamp(std::chrono::system_clock::now()) + ",,,,,,*," + message + ",queue full\r\n", chunk);
  }
  flush_chunk(chunk);
}

void ProtocolLogWriter::write_row(std::string_view row, std::string& chunk) {
  const std::string date = row_date(row);
  // A row stamped just before midnight may arrive after one stamped just after: it joins the newer file
  // rather than reopening the old date.
  const bool new_date = fd_ < 0 || date > file_date_;
  if (new_date || (file_rows_ > 0 && file_bytes_ + chunk.size() + row.size() > max_file_bytes_)) {
    flush_chunk(chunk);
    if (open_failed_in_batch_ || !open_next_file(new_date ? date : file_date_)) {
      open_failed_in_batch_ = true;  // retry with the next batch, not once per row
      return;
    }
  }
  chunk.append(row);
  ++file_rows_;
  if (chunk.size() >= kChunkBytes) flush_chunk(chunk);
}

void ProtocolLogWriter::flush_chunk(std::string& chunk) {
  if (chunk.empty() || fd_ < 0) {
    chunk.clear();
    return;
  }
  if (write_all(fd_, chunk)) {
    failing_ = false;
  } else if (!failing_) {
    failing_ = true;
    log::error("protocol-log", "cannot write " + (directory_ / protocol_log_file_name(file_date_, file_number_)).string() +
                                   ": " + std::strerror(errno) + "; rows are lost until it works again");
  }
  file_bytes_ += chunk.size();
  chunk.clear();
}

bool ProtocolLogWriter::open_next_file(const std::string& date) {
  close_file();
  try {
    create_directories_0750(directory_);  // an administrator may have removed it
  } catch (const fs::filesystem_error&) {
    // open() below reports the failure
  }
  unsigned number = std::max(date == file_date_ ? file_number_ : 0U, highest_file_number(directory_, date));
  int fd = -1;
  fs::path path;
  do {
    ++number;
    path = directory_ / protocol_log_file_name(date, number);
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
  } while (fd < 0 && errno == EEXIST);
  if (fd < 0) {
    if (!failing_) {
      failing_ = true;
      log::error("protocol-log", "cannot create " + path.string() + ": " + std::strerror(errno) +
                                     "; rows are lost until it works again");
    }
    return false;
  }
  fd_ = fd;
  file_date_ = date;
  file_number_ = number;
  file_rows_ = 0;
  std::string header = "#Software: transportd\r\n#Version: 1\r\n#Log-type: Receive Connector Protocol Log\r\n";
  header.append("#Date: ").append(utc_timestamp(std::chrono::system_clock::now())).append("\r\n");
  header.append("#Fields: ").append(kFields).append("\r\n");
  flush_chunk(header);
  return true;
}

void ProtocolLogWriter::close_file() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  file_bytes_ = 0;
  file_rows_ = 0;
}

// --- ProtocolLogSession ---

ProtocolLogSession::ProtocolLogSession(ProtocolLogWriter& writer, std::string connector_identity,
                                       std::string local_endpoint, std::string remote_endpoint)
    : writer_(writer), session_id_(random_session_id()) {
  prefix_ = "," + csv_field(connector_identity) + "," + session_id_ + ",";
  endpoints_ = "," + csv_field(local_endpoint) + "," + csv_field(remote_endpoint) + ",";
}

void ProtocolLogSession::connected() { append_row('+', {}); }

void ProtocolLogSession::disconnected(std::string_view why) { append_row('-', why); }

void ProtocolLogSession::sent(std::string_view wire) {
  std::string rows;
  while (!wire.empty()) {
    const std::size_t newline = wire.find('\n');
    add_row(rows, '>', strip_line_end(wire.substr(0, newline)), {});
    if (newline == std::string_view::npos) break;
    wire.remove_prefix(newline + 1);
  }
  if (!rows.empty()) writer_.append(std::move(rows));
}

void ProtocolLogSession::received(std::string_view line) { append_row('<', mask_credentials(strip_line_end(line))); }

void ProtocolLogSession::received_secret() { append_row('<', "****"); }

void ProtocolLogSession::received_data(std::uint64_t bytes) {
  append_row('<', "<DATA " + std::to_string(bytes) + " bytes>");
}

void ProtocolLogSession::info(std::string_view text, std::string_view context) { append_row('*', text, context); }

void ProtocolLogSession::add_row(std::string& rows, char event, std::string_view data, std::string_view context) {
  rows.append(utc_timestamp(std::chrono::system_clock::now()))
      .append(prefix_)
      .append(std::to_string(sequence_++))
      .append(endpoints_)
      .append(1, event)
      .append(1, ',')
      .append(csv_field(data))
      .append(1, ',')
      .append(csv_field(context))
      .append("\r\n");
}

void ProtocolLogSession::append_row(char event, std::string_view data, std::string_view context) {
  std::string row;
  add_row(row, event, data, context);
  writer_.append(std::move(row));
}

}  // namespace transport::logging
