// MessageIntake driven by the real Protocol, the way the session drives it: a message starts only where
// the protocol says, nothing of an aborted transaction reaches the next, and BDAT meets DATA's rules.
#include "transportd/smtp/message_intake.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/unit/support/directory_builders.h"

namespace transport::smtp {
namespace {

constexpr std::string_view kTrace = "Received: test\r\n";

class SmtpMessageIntake : public ::testing::Test {
 protected:
  SmtpMessageIntake() {
    config_.accepted_domains = {test::accepted_domain("example.com", store::DomainType::authoritative)};
    config_.mailboxes = {test::mailbox("alice@example.com")};
    index_ = std::make_unique<routing::RecipientRouter>(config_);
    connector_.fqdn = "mx.example.com";
    SessionFacts facts;
    facts.remote = store::IpAddress::parse("192.0.2.10");
    facts.local = store::Binding::parse("0.0.0.0:25");
    protocol_ = std::make_unique<Protocol>(connector_, *index_, facts);
  }

  // One command line and what follows it, as session.cpp's perform() does; `payload` is the BDAT
  // chunk or DATA body. Returns the final reply code (0 when none).
  int command(std::string_view line, std::string_view payload = {}) {
    Step step = protocol_->on_command(line);
    for (;;) {
      intake_.follow(step, *protocol_, connector_, kTrace);
      switch (step.action) {
        case Action::read_data:
          intake_.feed(payload);
          step = protocol_->on_message(intake_.outcome(), intake_.size());
          continue;
        case Action::read_chunk:
          if (protocol_->keep_chunk() && intake_.active()) {
            intake_.feed(payload);
            if (step.last_chunk) intake_.finish_chunks();
          }
          step = protocol_->on_chunk(intake_.outcome(), intake_.size());
          continue;
        case Action::deliver:
          delivered_ = intake_.buffer();
          step = protocol_->on_delivered(DeliveryOutcome::delivered);
          continue;
        default:
          return step.reply.code;
      }
    }
  }

  void start_transaction() {
    ASSERT_EQ(command("EHLO client"), 250);
    ASSERT_EQ(command("MAIL FROM:<s@example.org>"), 250);
    ASSERT_EQ(command("RCPT TO:<alice@example.com>"), 250);
  }

  store::Configuration config_;
  store::ReceiveConnector connector_;
  std::unique_ptr<routing::RecipientRouter> index_;
  std::unique_ptr<Protocol> protocol_;
  MessageIntake intake_;
  std::string delivered_;
};

TEST_F(SmtpMessageIntake, AnAbortedChunkNeverReachesTheNextMessage) {
  for (const char* abort : {"RSET", "EHLO again"}) {
    delivered_.clear();
    start_transaction();
    ASSERT_EQ(command("BDAT 23", "Subject: smuggled\r\n\r\nX\r\n"), 250) << abort;
    ASSERT_EQ(command(abort), 250);
    EXPECT_FALSE(intake_.active()) << abort << ": the aborted message is dropped at once";
    ASSERT_EQ(command("MAIL FROM:<s@example.org>"), 250);
    ASSERT_EQ(command("RCPT TO:<alice@example.com>"), 250);
    ASSERT_EQ(command("BDAT 18 LAST", "Subject: real\r\n\r\nY\r\n"), 250) << abort;
    EXPECT_EQ(delivered_, "Received: test\nSubject: real\n\nY\n") << abort;
  }
}

TEST_F(SmtpMessageIntake, BdatRefusesWhatDataRefuses) {
  const struct {
    const char* name;
    std::string chunk;
  } cases[] = {
      {"bare LF", "Subject: a\n\r\nx\r\n"},
      {"bare CR", "Subject: a\r\n\r\nx\ry\r\n"},
      {"NUL", std::string("Subject: a\r\n\r\nx\0y\r\n", 19)},
      {"line over 998 octets", "Subject: a\r\n\r\n" + std::string(999, 'x') + "\r\n"},
  };
  for (const auto& c : cases) {
    delivered_.clear();
    start_transaction();
    const std::string bdat = "BDAT " + std::to_string(c.chunk.size()) + " LAST";
    EXPECT_EQ(command(bdat, c.chunk), 554) << c.name;
    EXPECT_TRUE(delivered_.empty()) << c.name;
    EXPECT_FALSE(intake_.active()) << c.name;
  }
}

TEST_F(SmtpMessageIntake, ARefusedChunkRefusesTheRestOfItsSequence) {
  start_transaction();
  EXPECT_EQ(command("BDAT 4", "a\nb\n"), 554);
  EXPECT_EQ(command("BDAT 3 LAST", "c\r\n"), 554) << "the rest of a failed sequence is refused the same way";
  EXPECT_TRUE(delivered_.empty());
  start_transaction();
  EXPECT_EQ(command("BDAT 3 LAST", "c\r\n"), 250);
  EXPECT_EQ(delivered_, "Received: test\nc\n");
}

TEST_F(SmtpMessageIntake, DataIsStoredWithLfLineEnds) {
  start_transaction();
  EXPECT_EQ(command("DATA", "Subject: x\r\n\r\n..dot\r\n.\r\n"), 250);
  EXPECT_EQ(delivered_, "Received: test\nSubject: x\n\n.dot\n");
}

TEST_F(SmtpMessageIntake, HeaderOverMaxHeaderSizeThroughBdat) {
  connector_.max_header_size = store::ByteSize::parse("32KB");
  start_transaction();
  const std::string chunk = "X-Big: " + std::string(900, 'x') + "\r\n";
  std::string header;
  while (header.size() <= 33 * 1024) header += chunk;
  header += "\r\nbody\r\n";
  EXPECT_EQ(command("BDAT " + std::to_string(header.size()) + " LAST", header), 552);
}

}  // namespace
}  // namespace transport::smtp
