// TrackingLog: a bounded queue in front of one writer thread that owns the write connection; searches
// use a second connection (WAL lets them read while the writer writes).
#include "transportd/tracking/tracking_log.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "store/sqlite_util.h"
#include "transportd/log.h"

namespace transport::tracking {

namespace {

using std::chrono::system_clock;

// Schema version N is reached by running kMigrations[N-1]; PRAGMA user_version holds N.
// Timestamps are microseconds since 1970-01-01 UTC. sender and recipient compare case-insensitively
// (ASCII), so their indexes serve the filters directly.
constexpr std::array<const char*, 1> kMigrations{
    R"sql(
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  timestamp INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  connector_id TEXT NOT NULL,
  client_ip TEXT NOT NULL,
  sender TEXT NOT NULL COLLATE NOCASE,
  recipient TEXT NOT NULL COLLATE NOCASE,
  message_id TEXT NOT NULL,
  total_bytes INTEGER NOT NULL,
  reply TEXT NOT NULL);
CREATE INDEX events_by_time ON events (timestamp);
CREATE INDEX events_by_recipient ON events (recipient, timestamp);
CREATE INDEX events_by_sender ON events (sender, timestamp);
CREATE INDEX events_by_message_id ON events (message_id);
)sql",
};

using Statement = store::SqliteStatement<TrackingError>;

void exec(sqlite3* db, const std::string& sql, const std::string& doing) {
  store::sqlite_exec<TrackingError>(db, sql, doing);
}

std::int64_t to_column(system_clock::time_point time) {
  return std::chrono::floor<std::chrono::microseconds>(time).time_since_epoch().count();
}

system_clock::time_point from_column(std::int64_t microseconds) {
  return system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(
      std::chrono::microseconds(microseconds)));
}

sqlite3* open_database(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string message = "cannot open the tracking database " + path.string() + ": " +
                          (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    throw TrackingError(message);
  }
  sqlite3_busy_timeout(db, 5000);
  return db;
}

// Losing the last second of tracking in a power cut is acceptable; fsync per batch is not needed.
void prepare_schema(sqlite3* db, const std::filesystem::path& path) {
  exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;", "configuring " + path.string());
  store::migrate<TrackingError>(db, kMigrations, path);
}

}  // namespace

TrackingLog::TrackingLog(std::filesystem::path database, std::chrono::hours retention)
    : path_(std::move(database)), retention_(retention) {
  try {
    writer_db_ = open_database(path_);
    prepare_schema(writer_db_, path_);
    delete_expired();
    reader_db_ = open_database(path_);
  } catch (...) {
    sqlite3_close(reader_db_);
    sqlite3_close(writer_db_);
    throw;
  }
  writer_ = std::thread([this] { run_writer(); });
}

TrackingLog::~TrackingLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_writer_.notify_one();
  writer_.join();
  sqlite3_close(reader_db_);
  sqlite3_close(writer_db_);
}

void TrackingLog::record(TrackingEvent event) {
  std::unique_lock lock(mutex_);
  if (pending_.size() >= kQueueLimit) {
    ++dropped_;
    return;
  }
  pending_.push_back(std::move(event));
  ++queued_;
  const bool batch_ready = pending_.size() == kBatchSize;
  lock.unlock();
  if (batch_ready) wake_writer_.notify_one();
}

void TrackingLog::run_writer() {
  using std::chrono::steady_clock;
  auto next_expiry = steady_clock::now() + std::chrono::hours(1);
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_writer_.wait_for(lock, std::chrono::seconds(1), [this] {
      return stopping_ || flush_requested_ || pending_.size() >= kBatchSize;
    });
    const bool stop = stopping_;
    const std::uint64_t dropped = std::exchange(dropped_, 0);
    flush_requested_ = false;
    while (!pending_.empty()) {
      const auto count = std::min(pending_.size(), kBatchSize);
      std::vector<TrackingEvent> batch(std::make_move_iterator(pending_.begin()),
                                       std::make_move_iterator(pending_.begin() + static_cast<std::ptrdiff_t>(count)));
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(count));
      lock.unlock();
      write_batch(batch);
      lock.lock();
      handled_ += count;
      written_.notify_all();
    }
    lock.unlock();
    if (dropped > 0) {
      log::warn("tracking", "dropped " + std::to_string(dropped) +
                                " message tracking event(s): the tracking database is not keeping up");
    }
    if (steady_clock::now() >= next_expiry) {
      next_expiry += std::chrono::hours(1);
      try {
        delete_expired();
      } catch (const TrackingError& e) {
        log::error("tracking", std::string("deleting expired message tracking events failed: ") + e.what());
      }
    }
    lock.lock();
    if (stop && pending_.empty()) return;
  }
}

void TrackingLog::write_batch(std::vector<TrackingEvent>& batch) {
  try {
    exec(writer_db_, "BEGIN IMMEDIATE", "starting a tracking batch");
    try {
      Statement insert(writer_db_,
                       "INSERT INTO events (timestamp, event_id, connector_id, client_ip, sender, recipient, "
                       "message_id, total_bytes, reply) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
      for (const TrackingEvent& event : batch) {
        insert.bind(1, to_column(event.timestamp));
        insert.bind(2, std::string(event_id_name(event.event_id)));
        insert.bind(3, event.connector_id);
        insert.bind(4, event.client_ip);
        insert.bind(5, event.sender);
        insert.bind(6, event.recipient);
        insert.bind(7, event.message_id);
        insert.bind(8, static_cast<std::int64_t>(std::min<std::uint64_t>(
                           event.total_bytes, std::numeric_limits<std::int64_t>::max())));
        insert.bind(9, event.reply);
        insert.step();
        insert.reset();
      }
      exec(writer_db_, "COMMIT", "committing a tracking batch");
    } catch (...) {
      sqlite3_exec(writer_db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  } catch (const TrackingError& e) {
    log::error("tracking", "lost " + std::to_string(batch.size()) + " message tracking event(s) writing " +
                               path_.string() + ": " + e.what());
  }
}

void TrackingLog::delete_expired() {
  Statement remove(writer_db_, "DELETE FROM events WHERE timestamp < ?");
  remove.bind(1, to_column(system_clock::now() - retention_));
  remove.step();
}

std::vector<TrackingEvent> TrackingLog::query(const TrackingQuery& query) {
  std::string sql =
      "SELECT timestamp, event_id, connector_id, client_ip, sender, recipient, message_id, total_bytes, reply "
      "FROM events WHERE 1";
  std::vector<std::string> texts;
  std::vector<std::int64_t> numbers;
  if (query.sender) {
    sql += " AND sender = ?";
    texts.push_back(*query.sender);
  }
  if (query.recipient) {
    sql += " AND recipient = ?";
    texts.push_back(*query.recipient);
  }
  if (query.event_id) {
    sql += " AND event_id = ?";
    texts.emplace_back(event_id_name(parse_event_id(*query.event_id)));
  }
  if (query.message_id) {
    // Accepted with or without the <> that a Message-ID header's value has.
    std::string bare = *query.message_id;
    if (bare.size() >= 2 && bare.front() == '<' && bare.back() == '>') bare = bare.substr(1, bare.size() - 2);
    sql += " AND message_id IN (?, ?)";
    texts.push_back(bare);
    texts.push_back("<" + bare + ">");
  }
  if (query.start) {
    sql += " AND timestamp >= ?";
    numbers.push_back(to_column(*query.start));
  }
  if (query.end) {
    sql += " AND timestamp < ?";
    numbers.push_back(to_column(*query.end));
  }
  sql += " ORDER BY timestamp, id LIMIT ?";
  numbers.push_back(static_cast<std::int64_t>(
      std::min<std::size_t>(query.result_size, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max()))));

  {
    std::unique_lock lock(mutex_);
    const std::uint64_t target = queued_;
    if (handled_ < target) {
      flush_requested_ = true;
      wake_writer_.notify_one();
      written_.wait(lock, [&] { return handled_ >= target; });
    }
  }

  std::lock_guard reading(reader_mutex_);
  Statement select(reader_db_, sql);
  int index = 1;
  for (const auto& text : texts) select.bind(index++, text);
  for (const auto number : numbers) select.bind(index++, number);
  std::vector<TrackingEvent> events;
  while (select.step()) {
    TrackingEvent& event = events.emplace_back();
    event.timestamp = from_column(select.integer(0));
    event.event_id = parse_event_id(select.text(1));
    event.connector_id = select.text(2);
    event.client_ip = select.text(3);
    event.sender = select.text(4);
    event.recipient = select.text(5);
    event.message_id = select.text(6);
    event.total_bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(select.integer(7), 0));
    event.reply = select.text(8);
  }
  return events;
}

}  // namespace transport::tracking
