// BodyReader: every case is read whole, byte by byte, and split at every possible boundary (and every
// pair of boundaries for short inputs); all readings must agree on body, outcome and bytes consumed.
#include "transportd/smtp/body_reader.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace transport::smtp {
namespace {

struct Reading {
  std::string body;
  BodyOutcome outcome = BodyOutcome::complete;
  bool done = false;
  std::size_t consumed = 0;
  std::uint64_t size = 0;
};

struct Limits {
  std::uint64_t message = 1024 * 1024;
  std::uint64_t header = 64 * 1024;
};

// Feeds `input` cut at `cuts` (ascending offsets); a piece the reader does not consume whole is not
// fed again, as the session would hand its remainder to the command reader.
Reading read_pieces(const std::string& input, const std::vector<std::size_t>& cuts, Limits limits = {}) {
  BodyReader reader(limits.message, limits.header);
  Reading r;
  std::size_t start = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(input.size());
  for (std::size_t end : ends) {
    const std::string_view piece = std::string_view(input).substr(start, end - start);
    const std::size_t used = reader.feed(piece, r.body);
    EXPECT_LE(used, piece.size());
    r.consumed += used;
    if (reader.done()) break;
    EXPECT_EQ(used, piece.size()) << "a reader that is not done consumes everything it is given";
    start = end;
  }
  r.done = reader.done();
  r.outcome = reader.outcome();
  r.size = reader.size();
  return r;
}

void expect_same(const Reading& a, const Reading& b, const std::string& what) {
  EXPECT_EQ(a.done, b.done) << what;
  EXPECT_EQ(a.outcome, b.outcome) << what;
  EXPECT_EQ(a.consumed, b.consumed) << what;
  if (a.outcome == BodyOutcome::complete) {
    EXPECT_EQ(a.body, b.body) << what;
    EXPECT_EQ(a.size, b.size) << what;
  }
}

// Reads whole, then checks every other way of splitting gives the same reading.
Reading read_every_way(const std::string& input, Limits limits = {}) {
  const Reading whole = read_pieces(input, {}, limits);
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    expect_same(read_pieces(input, {cut}, limits), whole, "cut at " + std::to_string(cut));
  }
  if (input.size() <= 64) {
    for (std::size_t a = 0; a <= input.size(); ++a) {
      for (std::size_t b = a; b <= input.size(); ++b) {
        expect_same(read_pieces(input, {a, b}, limits), whole,
                    "cuts at " + std::to_string(a) + "," + std::to_string(b));
      }
    }
  }
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < input.size(); ++i) every_byte.push_back(i);
  expect_same(read_pieces(input, every_byte, limits), whole, "byte by byte");
  return whole;
}

struct Case {
  const char* name;
  std::string input;
  std::string body;  // when complete
  BodyOutcome outcome;
  std::size_t consumed;  // npos: all of input
};

constexpr std::size_t kAll = std::string::npos;

TEST(SmtpBodyReader, Table) {
  const std::string next_command = "MAIL FROM:<x@example.com>\r\n";
  const Case cases[] = {
      {"simple", "Subject: hi\r\n\r\nHello\r\n.\r\n", "Subject: hi\r\n\r\nHello\r\n", BodyOutcome::complete, kAll},
      {"empty message", ".\r\n", "", BodyOutcome::complete, kAll},
      {"empty lines", "\r\n\r\n.\r\n", "\r\n\r\n", BodyOutcome::complete, kAll},
      {"dot-stuffed dot line", "a\r\n..\r\n.\r\n", "a\r\n.\r\n", BodyOutcome::complete, kAll},
      {"dot-stuffed text", "..leading\r\n.x\r\n.\r\n", ".leading\r\nx\r\n", BodyOutcome::complete, kAll},
      {"dots inside a line stay", "a.b\r\na..\r\n.\r\n", "a.b\r\na..\r\n", BodyOutcome::complete, kAll},
      {"pipelined command stays", "Hi\r\n.\r\n" + next_command, "Hi\r\n", BodyOutcome::complete, 7},
      {"second terminator stays", "Hi\r\n.\r\n.\r\n", "Hi\r\n", BodyOutcome::complete, 7},
      {"8-bit passes", "caf\xc3\xa9 \xff\x80\r\n.\r\n", "caf\xc3\xa9 \xff\x80\r\n", BodyOutcome::complete, kAll},
      {"bare CR", "a\rb\r\n.\r\n", "", BodyOutcome::bare_carriage_return, kAll},
      {"CR before CRLF", "a\r\r\n.\r\n", "", BodyOutcome::bare_carriage_return, kAll},
      {"\\r.\\r\\n does not end (smuggling)", "a\r.\r\n" + next_command + ".\r\n", "",
       BodyOutcome::bare_carriage_return, kAll},
      {".\\r then text", ".\rx\r\n.\r\n", "", BodyOutcome::bare_carriage_return, kAll},
      {"bare CR then bare LF: the first counts", "a\rb\nc\r\n.\r\n", "", BodyOutcome::bare_carriage_return, kAll},
      {"bare LF", "a\nb\r\n.\r\n", "", BodyOutcome::bare_line_feed, kAll},
      {"bare LF at line start", "a\r\n\nb\r\n.\r\n", "", BodyOutcome::bare_line_feed, kAll},
      {"\\n.\\r\\n does not end (smuggling)", "a\n.\r\n" + next_command + ".\r\n", "",
       BodyOutcome::bare_line_feed, kAll},
      {"\\r\\n.\\n does not end (smuggling)", "a\r\n.\n" + next_command + ".\r\n", "",
       BodyOutcome::bare_line_feed, kAll},
      {"\\n.\\n does not end (smuggling)", "a\n.\n" + next_command + ".\r\n", "", BodyOutcome::bare_line_feed,
       kAll},
      {"NUL", std::string("a\0b\r\n.\r\n", 8), "", BodyOutcome::nul_byte, kAll},
      {"NUL after a bare LF: the first failure counts", std::string("a\n\0\r\n.\r\n", 8), "",
       BodyOutcome::bare_line_feed, kAll},
      {"998-octet line", std::string(998, 'x') + "\r\n.\r\n", std::string(998, 'x') + "\r\n",
       BodyOutcome::complete, kAll},
      {"999-octet line", std::string(999, 'x') + "\r\n.\r\n", "", BodyOutcome::line_too_long, kAll},
      {"stuffed dot not counted", "." + std::string(998, '.') + "\r\n.\r\n", std::string(998, '.') + "\r\n",
       BodyOutcome::complete, kAll},
      {"long line then pipelined command", std::string(5000, 'x') + "\r\n.\r\n" + next_command, "",
       BodyOutcome::line_too_long, 5005},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Reading r = read_every_way(c.input);
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.outcome, c.outcome);
    EXPECT_EQ(r.consumed, c.consumed == kAll ? c.input.size() : c.consumed);
    if (c.outcome == BodyOutcome::complete) {
      EXPECT_EQ(r.body, c.body);
      EXPECT_EQ(r.size, c.body.size());
    }
  }
}

TEST(SmtpBodyReader, NotDoneUntilTerminator) {
  for (const char* partial : {"", "a", "a\r", "a\r\n", "a\r\n.", "a\r\n.\r", "a\n.\r\n", "a\r\n.\n"}) {
    const Reading r = read_pieces(partial, {});
    EXPECT_FALSE(r.done) << partial;
    EXPECT_EQ(r.consumed, std::string_view(partial).size()) << partial;
  }
}

TEST(SmtpBodyReader, FeedAfterDoneConsumesNothing) {
  BodyReader reader(1000, 1000);
  std::string body;
  EXPECT_EQ(reader.feed("x\r\n.\r\nQUIT\r\n", body), 6u);
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(reader.feed("QUIT\r\n", body), 0u);
  EXPECT_EQ(body, "x\r\n");
}

TEST(SmtpBodyReader, MessageSizeLimit) {
  const std::string line = std::string(48, 'x') + "\r\n";  // 50 octets
  Limits limits{100, 100};
  // Exactly at the limit: complete.
  Reading r = read_every_way("\r\n" + line + line.substr(2) + ".\r\n", limits);
  EXPECT_EQ(r.outcome, BodyOutcome::complete);
  EXPECT_EQ(r.size, 100u);
  // One octet over: too large, and the reader still stops exactly after the terminator.
  r = read_every_way("\r\n" + line + line.substr(1) + ".\r\nQUIT\r\n", limits);
  EXPECT_EQ(r.outcome, BodyOutcome::too_large);
  EXPECT_EQ(r.consumed, 2 + 50 + 49 + 3u);
}

TEST(SmtpBodyReader, HeaderSizeLimit) {
  Limits limits{1000, 20};
  // "Subject: 0123456789\r\n" is 21 octets of header.
  Reading r = read_every_way("Subject: 012345678\r\n\r\n" + std::string(500, 'b') + "\r\n.\r\n", limits);
  EXPECT_EQ(r.outcome, BodyOutcome::complete) << "20 octets of header are allowed; the body is not header";
  r = read_every_way("Subject: 0123456789\r\n\r\nbody\r\n.\r\n", limits);
  EXPECT_EQ(r.outcome, BodyOutcome::header_too_large);
  r = read_every_way("Subject: 0123456789012345678901234567890\r\n.\r\n", limits);
  EXPECT_EQ(r.outcome, BodyOutcome::header_too_large);
}

TEST(SmtpBodyReader, FirstFailureWins) {
  Limits limits{1000, 10};
  const Reading r = read_every_way("Subject: long header\r\nbare\nLF\r\n.\r\n", limits);
  EXPECT_EQ(r.outcome, BodyOutcome::header_too_large);
}

// Two limits broken inside one stretch of text: the one its earliest octet breaks is reported, however
// the segments fell (found by tests/fuzz, regressions/body_reader/).
TEST(SmtpBodyReader, TheLimitBrokenFirstWinsWithinOneStretch) {
  // Octet 101 breaks the message size, octet 999 the line length.
  Reading r = read_every_way(std::string(1000, 'x') + "\r\n.\r\n", Limits{100, 64 * 1024 * 1024});
  EXPECT_EQ(r.outcome, BodyOutcome::too_large);
  // Octet 3 breaks the header size, octet 51 the message size.
  r = read_every_way("Subject: " + std::string(60, 'x') + "\r\n\r\n.\r\n", Limits{50, 2});
  EXPECT_EQ(r.outcome, BodyOutcome::header_too_large);
  // Octet 999 breaks the line before octet 1001 breaks the size.
  r = read_every_way(std::string(1200, 'x') + "\r\n.\r\n", Limits{1000, 64 * 1024 * 1024});
  EXPECT_EQ(r.outcome, BodyOutcome::line_too_long);
}

TEST(SmtpBodyReader, BodyStopsGrowingAfterFailure) {
  BodyReader reader(100, 100);
  std::string body;
  reader.feed("ok line\r\nbad\nline\r\n", body);
  const std::size_t after_failure = body.size();
  EXPECT_LE(after_failure, std::string("ok line\r\nbad").size());
  reader.feed(std::string(10000, 'x') + "\r\n", body);
  EXPECT_EQ(body.size(), after_failure);
  EXPECT_EQ(reader.feed(".\r\n", body), 3u);
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(reader.outcome(), BodyOutcome::bare_line_feed);
}

TEST(SmtpBodyReader, LargeBodyInOddPieces) {
  std::string input;
  std::string expected;
  for (int i = 0; i < 2000; ++i) {
    const std::string text = (i % 7 == 0 ? "." : "") + std::string(static_cast<std::size_t>(i % 120), 'a' + i % 26);
    input += (text.starts_with('.') ? "." : "") + text + "\r\n";
    expected += text + "\r\n";
  }
  input += ".\r\n";
  for (std::size_t piece : {1u, 2u, 3u, 7u, 64u, 1000u, 4096u}) {
    std::vector<std::size_t> cuts;
    for (std::size_t at = piece; at < input.size(); at += piece) cuts.push_back(at);
    const Reading r = read_pieces(input, cuts, Limits{10 * 1024 * 1024, 64 * 1024});
    EXPECT_EQ(r.outcome, BodyOutcome::complete) << piece;
    EXPECT_EQ(r.consumed, input.size()) << piece;
    EXPECT_EQ(r.body, expected) << piece;
  }
}

// A slow, obviously right reading to compare against: find the first ".\r\n" at the start of the
// input or right after a CRLF, split what comes before at CRLFs, unstuff each line.
Reading reference_reading(const std::string& input) {
  Reading r;
  std::size_t end = std::string::npos;
  for (std::size_t t = 0; t + 3 <= input.size(); ++t) {
    if (input.compare(t, 3, ".\r\n") == 0 && (t == 0 || (t >= 2 && input.compare(t - 2, 2, "\r\n") == 0))) {
      end = t;
      break;
    }
  }
  if (end == std::string::npos) {
    r.consumed = input.size();
    return r;
  }
  r.done = true;
  r.consumed = end + 3;
  std::size_t start = 0;
  while (start < end) {
    const std::size_t crlf = input.find("\r\n", start);
    std::string line = input.substr(start, crlf - start);
    start = crlf + 2;
    const std::size_t stray = line.find_first_of("\r\n");
    if (stray != std::string::npos && r.outcome == BodyOutcome::complete) {
      r.outcome = line[stray] == '\r' ? BodyOutcome::bare_carriage_return : BodyOutcome::bare_line_feed;
    }
    if (line.starts_with('.')) line.erase(0, 1);
    r.body += line + "\r\n";
  }
  r.size = r.body.size();
  return r;
}

TEST(SmtpBodyReader, AgreesWithReferenceOnRandomInput) {
  std::mt19937 random(20261123);
  const char alphabet[] = {'a', '.', '\r', '\n'};
  for (int round = 0; round < 3000; ++round) {
    std::string input(random() % 40, 'a');
    for (char& c : input) c = alphabet[random() % 4];
    if (round % 2 == 0) input += "\r\n.\r\nQUIT\r\n";  // most inputs then end somewhere
    const Reading expected = reference_reading(input);
    std::vector<std::size_t> every_byte;
    for (std::size_t i = 1; i < input.size(); ++i) every_byte.push_back(i);
    for (const Reading& r : {read_pieces(input, {}), read_pieces(input, every_byte)}) {
      EXPECT_EQ(r.done, expected.done);
      EXPECT_EQ(r.consumed, expected.consumed);
      if (expected.done) expect_same(r, expected, "input #" + std::to_string(round));  // outcome is final
    }
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "first failing input: \"" << input << "\"";
      return;
    }
  }
}

// BDAT: the same rules over counted chunks; no stuffing, no terminator, and the caller ends the message.
Reading read_chunks(const std::vector<std::string>& chunks, Limits limits = {}) {
  BodyReader reader(limits.message, limits.header, BodyReader::Framing::chunks);
  Reading r;
  for (const std::string& chunk : chunks) {
    EXPECT_EQ(reader.feed(chunk, r.body), chunk.size()) << "a chunk is consumed whole";
    EXPECT_FALSE(reader.done());
  }
  reader.finish_chunks(r.body);
  r.done = reader.done();
  r.outcome = reader.outcome();
  r.size = reader.size();
  return r;
}

TEST(SmtpBodyReader, ChunksFollowTheSameContentRules) {
  const struct {
    const char* name;
    std::vector<std::string> chunks;
    BodyOutcome outcome;
  } cases[] = {
      {"CRLF text", {"Subject: a\r\n\r\nbody\r\n"}, BodyOutcome::complete},
      {"CRLF split across chunks", {"Subject: a\r", "\n\r\nbody\r\n"}, BodyOutcome::complete},
      {"bare LF", {"Subject: a\n\r\nbody\r\n"}, BodyOutcome::bare_line_feed},
      {"bare CR", {"Subject: a\r\n\r\nbo\rdy\r\n"}, BodyOutcome::bare_carriage_return},
      {"CR ending the last chunk", {"Subject: a\r\n\r\nbody\r"}, BodyOutcome::bare_carriage_return},
      {"NUL", {std::string("Subject: a\r\n\r\nb\0dy\r\n", 19)}, BodyOutcome::nul_byte},
      {"999-octet line", {"\r\n" + std::string(500, 'x'), std::string(499, 'x') + "\r\n"}, BodyOutcome::line_too_long},
      {"header over MaxHeaderSize", {"Subject: " + std::string(200, 'x') + "\r\n\r\n"}, BodyOutcome::header_too_large},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(read_chunks(c.chunks, Limits{1024 * 1024, 100}).outcome, c.outcome) << c.name;
  }
}

TEST(SmtpBodyReader, ChunksKeepDotsAndGainAFinalLineEnd) {
  const Reading r = read_chunks({"Subject: a\r\n\r\n.\r\n..x\r\n", "last line"});
  EXPECT_EQ(r.outcome, BodyOutcome::complete);
  EXPECT_EQ(r.body, "Subject: a\r\n\r\n.\r\n..x\r\nlast line\r\n");
  EXPECT_TRUE(r.done);
}

}  // namespace
}  // namespace transport::smtp
