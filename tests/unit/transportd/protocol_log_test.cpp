// Protocol log: header and row format, CSV quoting read back with a small RFC 4180 reader, credentials
// and message content never logged, rotation and numbering, flush on stop, and no row lost under
// concurrent appends. Each test waits on the files themselves, with a deadline.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "transportd/logging/protocol_log.h"

namespace {

namespace fs = std::filesystem;
using transport::logging::csv_field;
using transport::logging::mask_credentials;
using transport::logging::ProtocolLogSession;
using transport::logging::ProtocolLogWriter;

using Row = std::vector<std::string>;

constexpr std::string_view kHeaderFields =
    "#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context";

// One CSV line (without its line end) into fields, RFC 4180.
Row parse_csv_line(std::string_view line) {
  Row fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back().push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back().push_back(c);
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quote in " << line;
  return fields;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t end = text.find("\r\n"); end != std::string::npos; end = text.find("\r\n", start)) {
    lines.push_back(text.substr(start, end - start));
    start = end + 2;
  }
  EXPECT_EQ(start, text.size()) << "a line does not end in CRLF";
  return lines;
}

std::string utc_today() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char date[16];
  std::strftime(date, sizeof date, "%Y%m%d", &utc);
  return date;
}

// RECV files in the order they were written: by date, then by number.
std::vector<fs::path> log_files(const fs::path& directory) {
  static const std::regex name(R"(RECV(\d{8})-(\d+)\.LOG)");
  std::map<std::pair<std::string, unsigned long>, fs::path> files;
  for (const auto& entry : fs::directory_iterator(directory)) {
    const std::string file = entry.path().filename().string();
    std::smatch match;
    if (std::regex_match(file, match, name)) files[{match[1], std::stoul(match[2])}] = entry.path();
  }
  std::vector<fs::path> ordered;
  for (auto& [key, path] : files) ordered.push_back(path);
  return ordered;
}

// Every data row of every RECV file, parsed, in order (files written before the test are skipped by
// skip_files).
std::vector<Row> all_rows(const fs::path& directory, const std::vector<fs::path>& skip_files = {}) {
  std::vector<Row> rows;
  for (const fs::path& file : log_files(directory)) {
    if (std::find(skip_files.begin(), skip_files.end(), file) != skip_files.end()) continue;
    const std::string text = read_file(file);
    std::size_t start = 0;
    for (std::size_t end = text.find("\r\n"); end != std::string::npos; end = text.find("\r\n", start)) {
      const std::string line = text.substr(start, end - start);
      start = end + 2;
      if (!line.starts_with("#")) rows.push_back(parse_csv_line(line));
    }
  }
  return rows;
}

// Waits until at least count rows are in the files, or 30 s have passed.
std::vector<Row> wait_for_rows(const fs::path& directory, std::size_t count,
                               const std::vector<fs::path>& skip_files = {}) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::vector<Row> rows = all_rows(directory, skip_files);
  while (rows.size() < count && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    rows = all_rows(directory, skip_files);
  }
  EXPECT_GE(rows.size(), count) << "rows did not arrive in time";
  return rows;
}

class ProtocolLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "protocol_log_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    data_dir_ = pattern;
    directory_ = data_dir_ / "logs" / "protocol";
  }
  void TearDown() override { fs::remove_all(data_dir_); }

  fs::path data_dir_;
  fs::path directory_;
};

using ProtocolLogRowsTest = ProtocolLogTest;
using ProtocolLogFilesTest = ProtocolLogTest;

TEST(ProtocolLogFormat, QuotesOnlyWhatNeedsItAndEscapesControlCharacters) {
  EXPECT_EQ(csv_field(""), "");
  EXPECT_EQ(csv_field("MAIL01\\Default MAIL01"), "MAIL01\\Default MAIL01");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field(" lead"), "\" lead\"");
  EXPECT_EQ(csv_field("trail "), "\"trail \"");
  EXPECT_EQ(csv_field(std::string_view("a\tb\0c\x7f", 6)), "a\\x09b\\x00c\\x7F");
  EXPECT_EQ(csv_field("line\r\nnext"), "\"line\\x0D\\x0Anext\"");
  EXPECT_EQ(csv_field("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(ProtocolLogFormat, MasksAuthInitialResponses) {
  EXPECT_EQ(mask_credentials("AUTH PLAIN AHVzZXIAc2VjcmV0"), "AUTH PLAIN ****");
  EXPECT_EQ(mask_credentials("auth login dXNlcg=="), "AUTH LOGIN ****");
  EXPECT_EQ(mask_credentials("  Auth\tPlain \t AHVzZXIAc2VjcmV0  "), "AUTH PLAIN ****");
  EXPECT_EQ(mask_credentials("AUTH PLAIN ="), "AUTH PLAIN ****");
  EXPECT_EQ(mask_credentials("AUTH LOGIN"), "AUTH LOGIN");
  EXPECT_EQ(mask_credentials("AUTH LOGIN "), "AUTH LOGIN");
  EXPECT_EQ(mask_credentials("AUTH AHVzZXIAc2VjcmV0=="), "AUTH ****");  // not a mechanism name: masked too
  EXPECT_EQ(mask_credentials("AUTH"), "AUTH");
  EXPECT_EQ(mask_credentials("AUTHX PLAIN abc"), "AUTHX PLAIN abc");
  EXPECT_EQ(mask_credentials("MAIL FROM:<a@example.com> AUTH=<>"), "MAIL FROM:<a@example.com> AUTH=<>");
}

TEST_F(ProtocolLogRowsTest, WritesTheHeaderAndOneRowPerEventForATarpittedSession) {
  ProtocolLogWriter writer(directory_);
  ProtocolLogSession session(writer, "MAIL01\\Default MAIL01", "127.0.0.1:25", "127.0.0.1:51234");
  EXPECT_TRUE(std::regex_match(session.session_id(), std::regex("[0-9A-F]{16}")));
  session.connected();
  session.sent("220 mail01.example.com Microsoft ESMTP MAIL Service ready\r\n");
  session.received("EHLO client.example\r\n");
  session.sent("250-mail01.example.com Hello\r\n250-SIZE 36700160\r\n250 AUTH LOGIN PLAIN\r\n");
  session.received("RCPT TO:<nobody@example.com>\r\n");
  session.info("tarpit 00:00:05", "delayed 550 5.1.1 User unknown");
  session.sent("550 5.1.1 User unknown\r\n");
  session.disconnected("Local");

  const std::vector<Row> rows = wait_for_rows(directory_, 10);
  ASSERT_EQ(rows.size(), 10u);

  EXPECT_EQ(fs::status(directory_).permissions() & fs::perms::all, fs::perms(0750));
  const std::vector<fs::path> files = log_files(directory_);
  ASSERT_EQ(files.size(), 1u);
  const std::string date = rows[0][0].substr(0, 4) + rows[0][0].substr(5, 2) + rows[0][0].substr(8, 2);
  EXPECT_EQ(files[0].filename(), "RECV" + date + "-1.LOG");

  const std::vector<std::string> lines = split_lines(read_file(files[0]));
  ASSERT_EQ(lines.size(), 15u);
  EXPECT_EQ(lines[0], "#Software: transportd");
  EXPECT_EQ(lines[1], "#Version: 1");
  EXPECT_EQ(lines[2], "#Log-type: Receive Connector Protocol Log");
  EXPECT_TRUE(std::regex_match(lines[3], std::regex(R"(#Date: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"))) << lines[3];
  EXPECT_EQ(lines[4], kHeaderFields);
  EXPECT_EQ(lines[5], rows[0][0] + ",MAIL01\\Default MAIL01," + session.session_id() + ",0,127.0.0.1:25,127.0.0.1:51234,+,,");

  const std::vector<std::pair<std::string, std::string>> expected = {
      {"+", ""},
      {">", "220 mail01.example.com Microsoft ESMTP MAIL Service ready"},
      {"<", "EHLO client.example"},
      {">", "250-mail01.example.com Hello"},
      {">", "250-SIZE 36700160"},
      {">", "250 AUTH LOGIN PLAIN"},
      {"<", "RCPT TO:<nobody@example.com>"},
      {"*", "tarpit 00:00:05"},
      {">", "550 5.1.1 User unknown"},
      {"-", "Local"},
  };
  const std::regex timestamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(i);
    ASSERT_EQ(rows[i].size(), 9u);
    EXPECT_TRUE(std::regex_match(rows[i][0], timestamp)) << rows[i][0];
    EXPECT_EQ(rows[i][1], "MAIL01\\Default MAIL01");
    EXPECT_EQ(rows[i][2], session.session_id());
    EXPECT_EQ(rows[i][3], std::to_string(i));
    EXPECT_EQ(rows[i][4], "127.0.0.1:25");
    EXPECT_EQ(rows[i][5], "127.0.0.1:51234");
    EXPECT_EQ(rows[i][6], expected[i].first);
    EXPECT_EQ(rows[i][7], expected[i].second);
    EXPECT_EQ(rows[i][8], i == 7 ? "delayed 550 5.1.1 User unknown" : "");
  }
}

TEST_F(ProtocolLogRowsTest, QuotesAndEscapesSoThatEveryRowReadsBack) {
  ProtocolLogWriter writer(directory_);
  ProtocolLogSession session(writer, "MAIL01\\Comma, \"Quoted\"", "[::1]:25", "[::1]:40000");
  session.received("HELO a,b \"c\"\x01\x7f ");
  session.info(" leading", std::string_view("ctl\r\nnext\0end", 13));

  const std::vector<Row> rows = wait_for_rows(directory_, 2);
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_EQ(rows[0].size(), 9u);
  EXPECT_EQ(rows[0][1], "MAIL01\\Comma, \"Quoted\"");
  EXPECT_EQ(rows[0][4], "[::1]:25");
  EXPECT_EQ(rows[0][7], "HELO a,b \"c\"\\x01\\x7F ");
  ASSERT_EQ(rows[1].size(), 9u);
  EXPECT_EQ(rows[1][7], " leading");
  EXPECT_EQ(rows[1][8], "ctl\\x0D\\x0Anext\\x00end");
  // Header and two rows: nothing broke a row across lines.
  EXPECT_EQ(split_lines(read_file(log_files(directory_).at(0))).size(), 7u);
}

TEST_F(ProtocolLogRowsTest, NeverLogsCredentialsOrMessageContent) {
  const std::string password_plain = "AHVzZXIAUzNjcjN0UGFzcw==";  // \0user\0S3cr3tPass
  const std::string login_user = "dXNlckBleGFtcGxlLmNvbQ==";
  const std::string login_password = "UzNjcjN0UGFzcw==";
  const std::string body = "Subject: private\r\n\r\nThe launch codes are 0000.\r\n";
  {
    ProtocolLogWriter writer(directory_);
    ProtocolLogSession session(writer, "MAIL01\\Client MAIL01", "127.0.0.1:587", "127.0.0.1:40001");
    session.received("AUTH PLAIN " + password_plain + "\r\n");
    session.sent("235 2.7.0 Authentication successful\r\n");
    session.received("AUTH LOGIN " + login_user + "\r\n");
    session.sent("334 UGFzc3dvcmQ6\r\n");
    session.received_secret();  // the session never hands the line itself over
    session.received("DATA\r\n");
    session.received_data(body.size());
    session.info("tarpit 00:00:05", "delayed 250 2.6.0 Queued mail for delivery");

    const std::vector<Row> rows = wait_for_rows(directory_, 8);
    ASSERT_EQ(rows.size(), 8u);
    EXPECT_EQ(rows[0][7], "AUTH PLAIN ****");
    EXPECT_EQ(rows[2][7], "AUTH LOGIN ****");
    EXPECT_EQ(rows[4][6], "<");
    EXPECT_EQ(rows[4][7], "****");
    EXPECT_EQ(rows[6][7], "<DATA " + std::to_string(body.size()) + " bytes>");
  }
  const std::string text = read_file(log_files(directory_).at(0));
  for (const std::string& secret : {password_plain, login_user, login_password, std::string("launch codes"),
                                    std::string("S3cr3tPass"), std::string("private")}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret;
  }
}

TEST_F(ProtocolLogFilesTest, RotatesBySizeWithTheHeaderInEveryFile) {
  constexpr std::uint64_t kMaxFileBytes = 1024;
  constexpr int kRows = 60;
  ProtocolLogWriter writer(directory_, kMaxFileBytes);
  ProtocolLogSession session(writer, "MAIL01\\Default MAIL01", "127.0.0.1:25", "127.0.0.1:51234");
  for (int i = 0; i < kRows; ++i) session.info("row " + std::to_string(i), std::string(40, 'x'));

  const std::vector<Row> rows = wait_for_rows(directory_, kRows);
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kRows));
  for (int i = 0; i < kRows; ++i) EXPECT_EQ(rows[i][7], "row " + std::to_string(i));

  const std::vector<fs::path> files = log_files(directory_);
  ASSERT_GE(files.size(), 3u);
  const std::string date = rows[0][0].substr(0, 4) + rows[0][0].substr(5, 2) + rows[0][0].substr(8, 2);
  for (std::size_t i = 0; i < files.size(); ++i) {
    SCOPED_TRACE(files[i].string());
    EXPECT_EQ(files[i].filename(), "RECV" + date + "-" + std::to_string(i + 1) + ".LOG");
    EXPECT_LE(fs::file_size(files[i]), kMaxFileBytes);
    const std::vector<std::string> lines = split_lines(read_file(files[i]));
    ASSERT_GE(lines.size(), 6u);  // the header and at least one row
    EXPECT_EQ(lines[0], "#Software: transportd");
    EXPECT_EQ(lines[4], kHeaderFields);
  }
}

TEST_F(ProtocolLogFilesTest, ContinuesNumberingAfterTodaysFiles) {
  const std::string today = utc_today();
  fs::create_directories(directory_);
  const std::vector<fs::path> existing = {directory_ / ("RECV" + today + "-1.LOG"),
                                          directory_ / ("RECV" + today + "-2.LOG"),
                                          directory_ / "RECV20000101-7.LOG"};
  for (const fs::path& file : existing) std::ofstream(file, std::ios::binary) << "earlier run\r\n";

  ProtocolLogWriter writer(directory_);
  ProtocolLogSession session(writer, "MAIL01\\Default MAIL01", "127.0.0.1:25", "127.0.0.1:51234");
  session.connected();
  const std::vector<Row> rows = wait_for_rows(directory_, 1, existing);
  ASSERT_EQ(rows.size(), 1u);

  const fs::path expected = directory_ / ("RECV" + today + "-3.LOG");
  ASSERT_TRUE(fs::exists(expected));
  EXPECT_TRUE(read_file(expected).starts_with("#Software: transportd\r\n"));
  for (const fs::path& file : existing) EXPECT_EQ(read_file(file), "earlier run\r\n") << file;
}

TEST_F(ProtocolLogFilesTest, StopWritesEverythingQueued) {
  ProtocolLogWriter writer(directory_);
  {
    ProtocolLogSession session(writer, "MAIL01\\Default MAIL01", "127.0.0.1:25", "127.0.0.1:51234");
    for (int i = 0; i < 1000; ++i) session.info("row " + std::to_string(i));
  }
  writer.stop();
  const std::vector<Row> rows = all_rows(directory_);
  ASSERT_EQ(rows.size(), 1000u);
  EXPECT_EQ(rows.back()[7], "row 999");

  writer.stop();  // idempotent
  writer.append("2026-11-23T08:47:12.123Z,,,,,,*,after stop,\r\n");  // discarded, not an error
  EXPECT_EQ(all_rows(directory_).size(), 1000u);
}

TEST_F(ProtocolLogFilesTest, DropsRowsBeyondTheQueueLimitAndSaysSo) {
  ProtocolLogWriter writer(directory_);
  std::string huge(ProtocolLogWriter::kQueueLimit + 1, 'x');
  huge.append("\r\n");
  writer.append(std::move(huge));
  ProtocolLogSession session(writer, "MAIL01\\Default MAIL01", "127.0.0.1:25", "127.0.0.1:51234");
  session.connected();

  // The info row comes with the next write, before or after the "+" depending on when the writer woke.
  std::vector<Row> rows = wait_for_rows(directory_, 2);
  ASSERT_EQ(rows.size(), 2u);
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a[6] < b[6]; });
  EXPECT_EQ(rows[0][6], "*");  // '*' < '+'
  EXPECT_EQ(rows[0][7], "dropped 1 rows");
  EXPECT_EQ(rows[1][6], "+");
}

TEST_F(ProtocolLogFilesTest, RowsAppendedFromManyThreadsAllArrive) {
  constexpr int kThreads = 8;
  constexpr int kRowsPerThread = 10'000;
  ProtocolLogWriter writer(directory_);
  std::vector<std::string> session_ids(kThreads);
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        ProtocolLogSession session(writer, "MAIL01\\Default MAIL01", "127.0.0.1:25",
                                   "127.0.0.1:" + std::to_string(50000 + t));
        session_ids[t] = session.session_id();
        for (int i = 0; i < kRowsPerThread; ++i) session.sent("250 2.1.5 Recipient OK\r\n");
      });
    }
    for (std::thread& thread : threads) thread.join();
  }

  const std::vector<Row> rows = wait_for_rows(directory_, kThreads * kRowsPerThread);
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kThreads * kRowsPerThread));
  std::map<std::string, std::uint64_t> next_sequence;
  for (const Row& row : rows) {
    ASSERT_EQ(row.size(), 9u);
    std::uint64_t& expected = next_sequence[row[2]];
    ASSERT_EQ(row[3], std::to_string(expected)) << "session " << row[2];
    ++expected;
  }
  ASSERT_EQ(next_sequence.size(), static_cast<std::size_t>(kThreads));
  for (const std::string& id : session_ids) EXPECT_EQ(next_sequence[id], static_cast<std::uint64_t>(kRowsPerThread));
}

}  // namespace
