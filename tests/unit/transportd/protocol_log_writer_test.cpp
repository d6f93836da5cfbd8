// Protocol log: CSV fields, row shape, masking, and rotation by size on a real directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "transportd/protocol_log/protocol_log.h"

namespace transport::protocol_log {
namespace {

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class ProtocolLogWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/transport-plog-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::vector<std::filesystem::path> files() const {
    std::vector<std::filesystem::path> out;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) out.push_back(entry.path());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::filesystem::path dir_;
};

TEST(CsvField, QuotesAndEscapes) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field(" padded"), "\" padded\"");
  EXPECT_EQ(csv_field(std::string("nul\0cr\r", 7)), "nul\\x00cr\\x0D");
  EXPECT_EQ(csv_field(""), "");
}

TEST_F(ProtocolLogWriterTest, RowsHaveNineFieldsAndSecretsAreMasked) {
  {
    ProtocolLogWriter writer(dir_);
    ProtocolLogSession session(writer, "MAIL01\\Default, MAIL01", "127.0.0.1:25", "127.0.0.1:4000");
    session.connected();
    session.received("AUTH PLAIN AGFsaWNlAHNlY3JldA==");
    session.received_secret();
    session.sent("250-first\r\n250 second\r\n");
    session.received_data(1234);
    session.info("tarpit 00:00:05", "delaying 550 5.1.1");
    session.disconnected("closed");
    writer.flush();
  }
  ASSERT_EQ(files().size(), 1u);
  const std::string text = read(files().front());
  EXPECT_EQ(files().front().filename().string().substr(0, 4), "RECV");
  EXPECT_NE(text.find("#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,"), std::string::npos);
  EXPECT_EQ(text.find("AGFsaWNl"), std::string::npos);
  EXPECT_NE(text.find(",<,AUTH PLAIN ****,"), std::string::npos);
  EXPECT_NE(text.find(",>,250-first,"), std::string::npos);
  EXPECT_NE(text.find(",>,250 second,"), std::string::npos);
  EXPECT_NE(text.find(",<,<DATA 1234 bytes>,"), std::string::npos);
  EXPECT_NE(text.find(",*,tarpit 00:00:05,delaying 550 5.1.1"), std::string::npos);
  EXPECT_NE(text.find("\"MAIL01\\Default, MAIL01\""), std::string::npos);
  EXPECT_NE(text.find(",7,127.0.0.1:25,127.0.0.1:4000,-,,closed"), std::string::npos);  // rows count from 0
}

TEST_F(ProtocolLogWriterTest, RotatesBySizeAndContinuesNumbering) {
  for (int run = 0; run < 2; ++run) {
    ProtocolLogWriter writer(dir_, /*max_file_bytes=*/4096);
    ProtocolLogSession session(writer, "H\\C", "127.0.0.1:25", "127.0.0.1:4000");
    for (int i = 0; i < 200; ++i) {
      session.info("row " + std::to_string(i));
      if (i % 50 == 0) writer.flush();
    }
    writer.flush();
  }
  const auto all = files();
  ASSERT_GE(all.size(), 4u);
  for (const auto& path : all) {
    const std::string text = read(path);
    EXPECT_LE(text.size(), 4096u) << path;
    EXPECT_EQ(text.rfind("#Software: transportd", 0), 0u) << path;
  }
  // Numbered 1..N without gaps: the second writer continued after the first one's files.
  std::vector<int> numbers;
  for (const auto& path : all) {
    const std::string name = path.filename().string();
    numbers.push_back(std::stoi(name.substr(name.find('-') + 1)));
  }
  std::sort(numbers.begin(), numbers.end());
  for (std::size_t i = 0; i < numbers.size(); ++i) EXPECT_EQ(numbers[i], static_cast<int>(i) + 1);
}

}  // namespace
}  // namespace transport::protocol_log
