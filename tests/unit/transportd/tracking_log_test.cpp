// TrackingLog on a real SQLite file in a temporary directory: searches by recipient, sender, event and
// time window; concurrent recording; retention; reopening; and the text forms of events.
#include "transportd/tracking/tracking_log.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <thread>
#include <vector>

namespace transport::tracking {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::system_clock;

class TrackingLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tracking_log_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    data_dir_ = pattern;
    database_ = data_dir_ / "tracking.db";
  }
  void TearDown() override { fs::remove_all(data_dir_); }

  static TrackingEvent event(EventId id, std::string recipient, system_clock::time_point when,
                             std::string reply = "250 2.1.5 Recipient OK") {
    TrackingEvent e;
    e.timestamp = when;
    e.event_id = id;
    e.connector_id = "MAIL01\\Default MAIL01";
    e.client_ip = "192.0.2.7";
    e.sender = "alice@example.org";
    e.recipient = std::move(recipient);
    e.message_id = "<m1@example.org>";
    e.total_bytes = 1234;
    e.reply = std::move(reply);
    return e;
  }

  fs::path data_dir_;
  fs::path database_;
  const system_clock::time_point now_ = system_clock::now();
};

TEST_F(TrackingLogTest, RecordedEventsComeBackWithEveryField) {
  TrackingLog log(database_, 720h);
  log.record(event(EventId::receive, "bob@example.com", now_ - 2s, "250 2.6.0 Queued mail for delivery"));
  const auto events = log.query({});
  ASSERT_EQ(events.size(), 1u);
  const TrackingEvent& e = events.front();
  EXPECT_EQ(std::chrono::floor<std::chrono::microseconds>(e.timestamp),
            std::chrono::floor<std::chrono::microseconds>(now_ - 2s));
  EXPECT_EQ(e.event_id, EventId::receive);
  EXPECT_EQ(e.connector_id, "MAIL01\\Default MAIL01");
  EXPECT_EQ(e.client_ip, "192.0.2.7");
  EXPECT_EQ(e.sender, "alice@example.org");
  EXPECT_EQ(e.recipient, "bob@example.com");
  EXPECT_EQ(e.message_id, "<m1@example.org>");
  EXPECT_EQ(e.total_bytes, 1234u);
  EXPECT_EQ(e.reply, "250 2.6.0 Queued mail for delivery");
}

TEST_F(TrackingLogTest, FiltersByRecipientSenderEventAndMessageId) {
  TrackingLog log(database_, 720h);
  log.record(event(EventId::fail, "nobody@example.com", now_ - 3s, "550 5.1.1 User unknown"));
  log.record(event(EventId::receive, "bob@example.com", now_ - 2s));
  log.record(event(EventId::deliver, "bob@example.com", now_ - 1s));
  auto other = event(EventId::receive, "carol@example.com", now_);
  other.sender = "";
  other.message_id = "Q123";
  log.record(other);

  TrackingQuery by_recipient;
  by_recipient.recipient = "NOBODY@Example.COM";
  const auto failed = log.query(by_recipient);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].event_id, EventId::fail);
  EXPECT_EQ(failed[0].reply, "550 5.1.1 User unknown");

  TrackingQuery delivered;
  delivered.recipient = "bob@example.com";
  delivered.event_id = "deliver";
  const auto deliveries = log.query(delivered);
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_EQ(deliveries[0].event_id, EventId::deliver);

  TrackingQuery by_sender;
  by_sender.sender = "Alice@Example.org";
  EXPECT_EQ(log.query(by_sender).size(), 3u);
  TrackingQuery null_sender;
  null_sender.sender = "";
  ASSERT_EQ(log.query(null_sender).size(), 1u);
  EXPECT_EQ(log.query(null_sender)[0].recipient, "carol@example.com");

  TrackingQuery bracketed;
  bracketed.message_id = "m1@example.org";  // without the <>
  EXPECT_EQ(log.query(bracketed).size(), 3u);
  bracketed.message_id = "<m1@example.org>";
  EXPECT_EQ(log.query(bracketed).size(), 3u);
  TrackingQuery queue_id;
  queue_id.message_id = "Q123";
  EXPECT_EQ(log.query(queue_id).size(), 1u);

  TrackingQuery none;
  none.recipient = "bob@example.co";  // exact match, not a prefix
  EXPECT_TRUE(log.query(none).empty());

  TrackingQuery unknown_event;
  unknown_event.event_id = "BOUNCE";
  EXPECT_THROW(log.query(unknown_event), std::invalid_argument);
}

// The queue's events (SEND, DEFER, DSN) are stored and searched like the others.
TEST_F(TrackingLogTest, QueueEventsAreStoredAndSearchable) {
  TrackingLog log(database_, 720h);
  log.record(event(EventId::receive, "bob@partner.example", now_ - 4s, "250 2.1.5 Recipient OK"));
  log.record(event(EventId::defer, "bob@partner.example", now_ - 3s, "451 4.4.1 Connection refused"));
  log.record(event(EventId::send, "bob@partner.example", now_ - 2s, "250 2.0.0 Ok: queued as 4F2A"));
  log.record(event(EventId::fail, "carol@partner.example", now_ - 1s, "550 5.1.1 User unknown"));
  log.record(event(EventId::dsn, "carol@partner.example", now_, "550 5.1.1 User unknown"));

  const auto all = log.query({});
  ASSERT_EQ(all.size(), 5u);
  const EventId order[] = {EventId::receive, EventId::defer, EventId::send, EventId::fail, EventId::dsn};
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].event_id, order[i]) << i;

  struct Filter {
    const char* event_id;
    EventId expected;
    const char* reply;
  };
  const Filter filters[] = {
      {"SEND", EventId::send, "250 2.0.0 Ok: queued as 4F2A"},
      {"defer", EventId::defer, "451 4.4.1 Connection refused"},
      {"Dsn", EventId::dsn, "550 5.1.1 User unknown"},
  };
  for (const Filter& f : filters) {
    TrackingQuery query;
    query.event_id = f.event_id;
    const auto found = log.query(query);
    ASSERT_EQ(found.size(), 1u) << f.event_id;
    EXPECT_EQ(found[0].event_id, f.expected) << f.event_id;
    EXPECT_EQ(found[0].reply, f.reply) << f.event_id;
  }
  TrackingQuery by_recipient;
  by_recipient.recipient = "carol@partner.example";
  by_recipient.event_id = "DSN";
  ASSERT_EQ(log.query(by_recipient).size(), 1u);
}

TEST_F(TrackingLogTest, TimeWindowIsStartInclusiveEndExclusiveOldestFirstAndLimited) {
  TrackingLog log(database_, 720h);
  const auto base = std::chrono::floor<std::chrono::seconds>(now_) - 10min;
  // Recorded out of order: the result is ordered by timestamp.
  for (int minute : {5, 1, 3, 2, 4}) {
    log.record(event(EventId::receive, "r" + std::to_string(minute) + "@example.com", base + std::chrono::minutes(minute)));
  }
  TrackingQuery window;
  window.start = base + 2min;
  window.end = base + 4min;
  const auto inside = log.query(window);
  ASSERT_EQ(inside.size(), 2u);
  EXPECT_EQ(inside[0].recipient, "r2@example.com");
  EXPECT_EQ(inside[1].recipient, "r3@example.com");

  TrackingQuery limited;
  limited.result_size = 3;
  const auto first = log.query(limited);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].recipient, "r1@example.com");
  EXPECT_EQ(first[2].recipient, "r3@example.com");
}

TEST_F(TrackingLogTest, EventsFromManyThreadsAreAllStoredAndVisibleToTheNextQuery) {
  TrackingLog log(database_, 720h);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;  // more than a batch, so several batches are written
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, t, this] {
      for (int i = 0; i < kPerThread; ++i) {
        log.record(event(EventId::receive, "t" + std::to_string(t) + "-" + std::to_string(i) + "@example.com", now_));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  TrackingQuery all;
  all.result_size = 100000;
  const auto events = log.query(all);
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::string> recipients;
  for (const auto& e : events) recipients.insert(e.recipient);
  EXPECT_EQ(recipients.size(), events.size());
}

TEST_F(TrackingLogTest, RecordReturnsWithoutWaitingAndTheWriterCommitsWithinASecondOrSo) {
  TrackingLog log(database_, 720h);
  log.record(event(EventId::receive, "bob@example.com", now_));
  // A second connection sees the row once the writer has committed, without any query() flush.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  bool seen = false;
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    TrackingLog reader(data_dir_ / "tracking.db", 720h);  // a second handle on the same file
    seen = !reader.query({}).empty();
  }
  EXPECT_TRUE(seen);
}

TEST_F(TrackingLogTest, ReopeningKeepsEventsAndDeletesExpiredOnes) {
  {
    TrackingLog log(database_, 720h);
    log.record(event(EventId::receive, "old@example.com", now_ - 3h));
    log.record(event(EventId::receive, "new@example.com", now_ - 10min));
  }  // the destructor writes what is pending
  {
    TrackingLog log(database_, 720h);
    EXPECT_EQ(log.query({}).size(), 2u);
  }
  TrackingLog log(database_, 1h);  // opening deletes what is older than the retention
  const auto events = log.query({});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].recipient, "new@example.com");
}

TEST_F(TrackingLogTest, AnUnusableDatabaseIsATrackingError) {
  EXPECT_THROW(TrackingLog(data_dir_ / "missing-directory" / "tracking.db", 720h), TrackingError);
}

TEST(TrackingText, EventIdNames) {
  struct Name {
    EventId id;
    const char* name;
  };
  const Name names[] = {
      {EventId::receive, "RECEIVE"}, {EventId::deliver, "DELIVER"}, {EventId::send, "SEND"},
      {EventId::defer, "DEFER"},     {EventId::fail, "FAIL"},       {EventId::dsn, "DSN"},
  };
  for (const Name& n : names) {
    EXPECT_EQ(event_id_name(n.id), n.name);
    EXPECT_EQ(parse_event_id(n.name), n.id) << n.name;
  }
  EXPECT_EQ(parse_event_id("Fail"), EventId::fail);
  EXPECT_EQ(parse_event_id("send"), EventId::send);
  EXPECT_EQ(parse_event_id("Defer"), EventId::defer);
  EXPECT_EQ(parse_event_id("dsn"), EventId::dsn);
  for (const char* bad : {"BOUNCE", "", "SENDS", "DSN ", "RECEIVED"}) {
    EXPECT_THROW(parse_event_id(bad), std::invalid_argument) << bad;
  }
  // The refusal names every allowed event, so an administrator can correct the query.
  try {
    parse_event_id("BOUNCE");
    FAIL();
  } catch (const std::invalid_argument& e) {
    for (const Name& n : names) EXPECT_NE(std::string(e.what()).find(n.name), std::string::npos) << e.what();
  }
}

TEST(TrackingText, TimestampsAreUtcIso8601) {
  const system_clock::time_point t = std::chrono::sys_days(std::chrono::year(2026) / 11 / 23) + 8h + 47min + 12s + 123ms;
  EXPECT_EQ(format_timestamp(t), "2026-11-23T08:47:12.123Z");
  EXPECT_EQ(parse_timestamp("2026-11-23T08:47:12.123Z"), t);
  EXPECT_EQ(parse_timestamp("2026-11-23 08:47:12.123"), t);
  EXPECT_EQ(parse_timestamp("2026-11-23T08:47:12Z"), t - 123ms);
  EXPECT_EQ(parse_timestamp("2026-11-23"), std::chrono::sys_days(std::chrono::year(2026) / 11 / 23));
  for (const char* bad : {"", "2026-11-31", "2026-11-23T24:00:00Z", "2026-11-23T08:00Z", "2026/11/23",
                          "2026-11-23T08:00:00+01:00", "yesterday", "2026-11-23T08:00:00."}) {
    EXPECT_THROW(parse_timestamp(bad), std::invalid_argument) << bad;
  }
}

TEST(TrackingText, Retention) {
  EXPECT_EQ(parse_retention("30d"), 720h);
  EXPECT_EQ(parse_retention("12h"), 12h);
  EXPECT_EQ(parse_retention("90D"), 2160h);
  for (const char* bad : {"", "d", "30", "0d", "-1d", "30m", "1.5d", " 30d", "36501d"}) {
    EXPECT_THROW(parse_retention(bad), std::invalid_argument) << bad;
  }
  try {
    parse_retention("30x");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("30d"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace transport::tracking
