// The control file's text form: round trips with every octet in every text field, records applied in
// order, every torn prefix of a file parsing to nothing or to a consistent message, and damaged or random
// bytes refused without a crash.
#include "transportd/queue/queued_message.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace transport::queue {
namespace {

std::string every_octet() {
  std::string text;
  for (int c = 0; c < 256; ++c) text.push_back(static_cast<char>(c));
  return text;
}

QueuedMessage hostile_message() {
  QueuedMessage m;
  m.id = "00061a2b3c4d5e6f-1f2e";
  m.arrival_time = 1'790'000'123;
  m.mail_from = "\"odd \\\" sender\r\nX: y\"@example.com +=+41 " + every_octet();
  m.dsn.ret = dsn::Return::full;
  m.dsn.envid = "QQ+2B314159 with space\n";
  m.eight_bit = true;
  m.smtputf8 = true;
  m.size = 123'456'789'012ULL;
  m.origin = "MAIL01\\Default MAIL01 from 192.0.2.1";
  m.delay_reported = false;
  m.suspended = true;
  QueuedRecipient a;
  a.address = "j\xc3\xb6rg@b\xc3\xbcro.example";
  a.dsn.notify = {.given = true, .never = false, .success = true, .failure = true, .delay = false};
  a.dsn.orcpt = "rfc822;j\xc3\xb6rg@example.com";
  QueuedRecipient b;
  b.address = "\"two  spaces\\\r\n.\r\n\"@example.net";
  b.state = RecipientState::failed;
  b.reported = true;
  b.last_error = "550 5.1.1 <x> no such user\r\n550 5.1.1 second line " + every_octet();
  b.remote_mta = "mx.example.net [192.0.2.9]";
  QueuedRecipient c;
  c.address = every_octet();
  c.state = RecipientState::delivered;
  c.dsn.notify = {.given = true, .never = true, .success = false, .failure = false, .delay = false};
  m.recipients = {a, b, c};
  return m;
}

std::vector<Record> some_records() {
  return {
      {Record::Kind::delivered, 0, "250 2.0.0 Ok: queued as 4F\r\n" + every_octet(), "mx1.example [192.0.2.1]"},
      {Record::Kind::delay_reported, 0, "", ""},
      {Record::Kind::resumed, 0, "", ""},
      {Record::Kind::failed, 2, "554 5.7.1 refused \n\n", ""},
      {Record::Kind::reported, 2, "", ""},
      {Record::Kind::suspended, 0, "", ""},
  };
}

std::size_t count(std::string_view text, char c) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), c)); }

TEST(QueuedMessage, EnvelopeRoundTripsEveryOctetInEveryTextField) {
  const QueuedMessage m = hostile_message();
  const std::string text = encode_envelope(m);
  std::string problem;
  const auto parsed = parse_control_file(text, problem);
  ASSERT_TRUE(parsed.has_value()) << problem;
  EXPECT_EQ(*parsed, m);
  EXPECT_TRUE(problem.empty()) << problem;
  // Escaped: only printable ASCII, single spaces between fields, '\n' at the end of each line.
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE((u >= 32 && u <= 126) || c == '\n') << static_cast<int>(u);
  }
  EXPECT_EQ(count(text, '\n'), 12u + m.recipients.size() + 1);
}

TEST(QueuedMessage, EmptyFieldsAndTheNullSenderRoundTrip) {
  QueuedMessage m;
  m.id = "x";
  QueuedRecipient r;  // every field empty or default
  m.recipients = {r, r};
  std::string problem;
  const auto parsed = parse_control_file(encode_envelope(m), problem);
  ASSERT_TRUE(parsed.has_value()) << problem;
  EXPECT_EQ(*parsed, m);
  EXPECT_TRUE(parsed->mail_from.empty());

  m.recipients.clear();  // a message with no recipient left is still well-formed
  ASSERT_TRUE(parse_control_file(encode_envelope(m), problem).has_value()) << problem;
}

TEST(QueuedMessage, EveryNotifyCombinationAndReturnRoundTrip) {
  for (int bits = 0; bits < 32; ++bits) {
    for (dsn::Return ret : {dsn::Return::unspecified, dsn::Return::full, dsn::Return::headers}) {
      QueuedMessage m;
      m.id = "n";
      m.dsn.ret = ret;
      QueuedRecipient r;
      r.address = "a@b";
      r.dsn.notify = {.given = (bits & 1) != 0, .never = (bits & 2) != 0, .success = (bits & 4) != 0,
                      .failure = (bits & 8) != 0, .delay = (bits & 16) != 0};
      m.recipients = {r};
      std::string problem;
      const auto parsed = parse_control_file(encode_envelope(m), problem);
      ASSERT_TRUE(parsed.has_value()) << problem;
      EXPECT_EQ(*parsed, m) << bits;
    }
  }
}

TEST(QueuedMessage, RecordsAreOneLineEachAndApplyInOrder) {
  const QueuedMessage m = hostile_message();
  std::string text = encode_envelope(m);
  QueuedMessage expected = m;
  for (const Record& record : some_records()) {
    const std::string line = encode_record(record);
    EXPECT_EQ(count(line, '\n'), 1u);
    EXPECT_EQ(line.back(), '\n');
    text += line;
    apply(expected, record);
  }
  std::string problem;
  const auto parsed = parse_control_file(text, problem);
  ASSERT_TRUE(parsed.has_value()) << problem;
  EXPECT_TRUE(problem.empty()) << problem;
  EXPECT_EQ(*parsed, expected);
  EXPECT_EQ(parsed->recipients[0].state, RecipientState::delivered);
  EXPECT_EQ(parsed->recipients[0].remote_mta, "mx1.example [192.0.2.1]");
  EXPECT_EQ(parsed->recipients[2].state, RecipientState::failed);
  EXPECT_EQ(parsed->recipients[2].last_error, "554 5.7.1 refused \n\n");
  EXPECT_TRUE(parsed->recipients[2].reported);
  EXPECT_TRUE(parsed->delay_reported);
  EXPECT_TRUE(parsed->suspended);
}

TEST(QueuedMessage, ApplySetsWhatEachRecordSays) {
  QueuedMessage m;
  m.recipients.resize(2);
  apply(m, {Record::Kind::failed, 1, "550 no", "mx"});
  EXPECT_EQ(m.recipients[1].state, RecipientState::failed);
  EXPECT_EQ(m.recipients[1].last_error, "550 no");
  EXPECT_EQ(m.recipients[1].remote_mta, "mx");
  EXPECT_FALSE(m.recipients[1].reported);
  apply(m, {Record::Kind::reported, 1, "", ""});
  EXPECT_TRUE(m.recipients[1].reported);
  EXPECT_EQ(m.recipients[0].state, RecipientState::ready);
  apply(m, {Record::Kind::delivered, 0, "250 ok", "mx2"});
  EXPECT_EQ(m.recipients[0].state, RecipientState::delivered);
  apply(m, {Record::Kind::suspended, 0, "", ""});
  EXPECT_TRUE(m.suspended);
  apply(m, {Record::Kind::resumed, 0, "", ""});
  EXPECT_FALSE(m.suspended);
  apply(m, {Record::Kind::delay_reported, 0, "", ""});
  EXPECT_TRUE(m.delay_reported);
  const QueuedMessage before = m;
  apply(m, {Record::Kind::delivered, 7, "250", ""});  // out of range: nothing
  apply(m, {Record::Kind::reported, 2, "", ""});
  EXPECT_EQ(m, before);
}

// A crash can cut the file anywhere: every prefix is either "never committed" or the committed envelope
// with exactly the records whose line is complete.
TEST(QueuedMessage, EveryTornPrefixParsesToNothingOrAConsistentMessage) {
  const QueuedMessage m = hostile_message();
  const std::string envelope = encode_envelope(m);
  std::string text = envelope;
  std::vector<std::size_t> record_ends;  // where each record's line ends (after its '\n')
  std::vector<QueuedMessage> after;      // the message after the first k records
  after.push_back(m);
  for (const Record& record : some_records()) {
    text += encode_record(record);
    record_ends.push_back(text.size());
    after.push_back(after.back());
    apply(after.back(), record);
  }
  for (std::size_t length = 0; length <= text.size(); ++length) {
    const std::string_view prefix(text.data(), length);
    const ControlFile file = read_control_file(prefix);
    if (length < envelope.size()) {
      EXPECT_EQ(file.status, ControlFile::Status::incomplete) << length;
      EXPECT_FALSE(file.message.has_value()) << length;
      EXPECT_FALSE(file.problem.empty());
      continue;
    }
    ASSERT_EQ(file.status, ControlFile::Status::committed) << length << ": " << file.problem;
    const std::size_t complete =
        static_cast<std::size_t>(std::upper_bound(record_ends.begin(), record_ends.end(), length) - record_ends.begin());
    EXPECT_EQ(*file.message, after[complete]) << length;
    EXPECT_TRUE(file.problem.empty()) << length << ": " << file.problem;
    const std::size_t expected_complete_length = complete == 0 ? envelope.size() : record_ends[complete - 1];
    EXPECT_EQ(file.complete_length, expected_complete_length) << length;
  }
}

TEST(QueuedMessage, AChangedEnvelopeIsCorruptNotIncomplete) {
  const std::string text = encode_envelope(hostile_message());
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (text.compare(i, 7, "commit ") == 0) break;
    std::string changed = text;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    const ControlFile file = read_control_file(changed);
    if (changed.find("\ncommit ") == std::string::npos) continue;  // the change broke the commit line's start
    EXPECT_NE(file.status, ControlFile::Status::committed) << i;
    EXPECT_FALSE(file.message.has_value()) << i;
  }
  std::string wrong_count = text;
  const std::size_t commit = wrong_count.rfind("commit 3 ");
  ASSERT_NE(commit, std::string::npos);
  wrong_count[commit + 7] = '4';
  std::string problem;
  EXPECT_FALSE(parse_control_file(wrong_count, problem).has_value());
  EXPECT_EQ(read_control_file(wrong_count).status, ControlFile::Status::corrupt);
}

TEST(QueuedMessage, MalformedRecordsAreSkippedAndReported) {
  const QueuedMessage m = hostile_message();
  std::string text = encode_envelope(m);
  text += "delivered 3 250 mx\n";           // no such recipient
  text += "failed 0 550\n";                  // a field missing
  text += "exploded\n";                      // no such record
  text += std::string(10, '\0') + "\n";      // zeros a crash can leave
  text += "delivered 1 250+0 mx\n";          // a bad escape
  text += "delivered 1 250 mx extra\n";      // a field too many
  text += encode_record({Record::Kind::delivered, 1, "250 ok", "mx"});
  std::string problem;
  const auto parsed = parse_control_file(text, problem);
  ASSERT_TRUE(parsed.has_value()) << problem;
  EXPECT_NE(problem.find("6 malformed record"), std::string::npos) << problem;
  EXPECT_NE(problem.find("record 1"), std::string::npos) << problem;
  QueuedMessage expected = m;
  apply(expected, {Record::Kind::delivered, 1, "250 ok", "mx"});
  EXPECT_EQ(*parsed, expected);
}

TEST(QueuedMessage, NotAControlFile) {
  std::string problem;
  EXPECT_FALSE(parse_control_file("", problem).has_value());
  EXPECT_FALSE(problem.empty());
  EXPECT_FALSE(parse_control_file("commit 0 0\n", problem).has_value());
  EXPECT_FALSE(parse_control_file("hello\nworld\n", problem).has_value());
  EXPECT_FALSE(parse_control_file(std::string(4096, '\0'), problem).has_value());
  EXPECT_FALSE(parse_control_file("commit\ncommit \ncommit 1 zz\n", problem).has_value());
}

// Random damage: flipped, inserted and deleted octets never crash the parser, and whatever it accepts
// has the committed envelope's checksum (so is the original envelope or a consistent one).
TEST(QueuedMessage, RandomDamageNeverCrashes) {
  QueuedMessage m = hostile_message();
  std::string text = encode_envelope(m);
  for (const Record& record : some_records()) text += encode_record(record);
  std::mt19937 random(20261130);
  std::size_t accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string damaged = text;
    const int changes = 1 + static_cast<int>(random() % 4);
    for (int c = 0; c < changes && !damaged.empty(); ++c) {
      const std::size_t at = random() % damaged.size();
      switch (random() % 3) {
        case 0: damaged[at] = static_cast<char>(random()); break;
        case 1: damaged.insert(at, 1, static_cast<char>(random())); break;
        default: damaged.erase(at, 1 + random() % 8); break;
      }
    }
    std::string problem;
    const auto parsed = parse_control_file(damaged, problem);
    if (parsed) {
      ++accepted;
      EXPECT_EQ(parsed->id, m.id);
      EXPECT_EQ(parsed->recipients.size(), m.recipients.size());
    }
  }
  EXPECT_GT(accepted, 0u) << "damage to the records alone leaves the envelope readable";
}

}  // namespace
}  // namespace transport::queue
