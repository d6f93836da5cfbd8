// Fuzz target: the DATA body reader (transportd/smtp/body_reader.*): dot-unstuffing, the terminator,
// line / header / message limits, bare LF and NUL refusal.
//
// Input layout:
//   byte 0        limits: low nibble picks MaxMessageSize, high nibble MaxHeaderSize (small values,
//                 so that every limit is reachable within -max_len)
//   byte 1        k = byte & 7: how many piece sizes follow
//   k bytes       piece sizes (0-255; 0 feeds an empty piece), used in a cycle to cut the stream
//   the rest      the stream the client sends after 354 (body, terminator, maybe pipelined commands)
//
// Invariants: the stream read whole, one octet at a time, and cut at the fuzzer's piece sizes gives
// the same reading (done, octets consumed, outcome; body and size when complete), and that reading
// equals the one of a slow octet-by-octet reference model written here from the header's contract.
// A reader that is not done consumes every piece whole; after done it consumes nothing more. A
// complete body has CRLF line ends only, no NUL, lines of at most 998 octets, and re-stuffing it and
// reading it back gives the same body.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "transportd/smtp/body_reader.h"

namespace {

using transport::fuzz::escaped;
using transport::smtp::BodyOutcome;
using transport::smtp::BodyReader;

constexpr std::array<std::uint64_t, 16> kMessageLimits{0,   1,   2,    3,    5,    8,    13,    50,
                                                       100, 997, 1000, 1001, 2000, 4096, 65536, 10 * 1024 * 1024};
constexpr std::array<std::uint64_t, 16> kHeaderLimits{0,   1,   2,    3,    5,    8,    13,    20,
                                                      100, 998, 1000, 1002, 2000, 4096, 65536, 64 * 1024 * 1024};

struct Reading {
  std::string body;
  bool done = false;
  std::size_t consumed = 0;
  BodyOutcome outcome = BodyOutcome::complete;
  std::uint64_t size = 0;
};

const char* name(BodyOutcome o) {
  switch (o) {
    case BodyOutcome::complete:
      return "complete";
    case BodyOutcome::too_large:
      return "too_large";
    case BodyOutcome::header_too_large:
      return "header_too_large";
    case BodyOutcome::line_too_long:
      return "line_too_long";
    case BodyOutcome::bare_line_feed:
      return "bare_line_feed";
    case BodyOutcome::bare_carriage_return:
      return "bare_carriage_return";
    case BodyOutcome::nul_byte:
      return "nul_byte";
  }
  return "?";
}

std::string describe(const Reading& r) {
  return std::string("done=") + (r.done ? "1" : "0") + " consumed=" + std::to_string(r.consumed) +
         " outcome=" + name(r.outcome) + " size=" + std::to_string(r.size) + " body=\"" + escaped(r.body) + "\"";
}

// Feeds `stream` in pieces of the given sizes (cycled; an empty list means one piece).
Reading read_in_pieces(std::string_view stream, const std::vector<std::size_t>& sizes, std::uint64_t max_message,
                       std::uint64_t max_header) {
  BodyReader reader(max_message, max_header);
  Reading r;
  std::size_t at = 0;
  std::size_t turn = 0;
  std::size_t empty_in_a_row = 0;
  while (true) {
    std::size_t want = sizes.empty() ? stream.size() - at : sizes[turn++ % sizes.size()];
    if (want == 0 && ++empty_in_a_row > sizes.size()) want = stream.size() - at;  // all sizes 0: no progress
    if (want != 0) empty_in_a_row = 0;
    const std::string_view piece = stream.substr(at, want);
    const std::size_t body_before = r.body.size();
    const std::size_t used = reader.feed(piece, r.body);
    FUZZ_CHECK(used <= piece.size(), "feed consumed more than it was given");
    r.consumed += used;
    if (reader.done()) {
      // Done: the rest is the client's next command, and the reader takes nothing more.
      std::string extra_body = r.body;
      FUZZ_CHECK(reader.feed(stream.substr(at + used), extra_body) == 0 && extra_body == r.body,
                 "a done reader consumed or appended more");
      break;
    }
    FUZZ_CHECK(used == piece.size(), "a reader that is not done left " + std::to_string(piece.size() - used) +
                                         " octets of a piece unconsumed");
    FUZZ_CHECK(r.body.size() >= body_before, "body shrank");
    at += used;
    if (at >= stream.size()) break;
  }
  r.done = reader.done();
  r.outcome = reader.outcome();
  r.size = reader.size();
  return r;
}

// The contract of body_reader.h, one octet at a time and as plainly as possible. Lines end only at
// CRLF; ".\r\n" at the start of a line ends the body; a leading "." is dropped; a bare CR, a bare
// LF or a NUL fails (and is not data); each data octet counts against the line (998), the
// message and, before the first empty line, the header limit, in that order; each CRLF against the
// message and header limits. The first broken limit is the outcome; nothing is appended after it.
Reading reference(std::string_view s, std::uint64_t max_message, std::uint64_t max_header) {
  Reading r;
  bool failed = false;
  std::uint64_t header = 0;
  std::uint64_t line_length = 0;
  bool in_header = true;
  auto fail = [&](BodyOutcome o) {
    if (!failed) {
      failed = true;
      r.outcome = o;
    }
  };
  auto data_octet = [&](char c) {
    if (failed) return;
    if (++line_length > 998) return fail(BodyOutcome::line_too_long);
    if (++r.size > max_message) return fail(BodyOutcome::too_large);
    if (in_header && ++header > max_header) return fail(BodyOutcome::header_too_large);
    r.body.push_back(c);
  };
  std::size_t i = 0;
  while (true) {
    // At the start of a line.
    if (s.substr(i, 3) == ".\r\n") {
      r.done = true;
      r.consumed = i + 3;
      break;
    }
    const std::size_t crlf = s.find("\r\n", i);
    std::string_view line = s.substr(i, crlf == std::string_view::npos ? std::string_view::npos : crlf - i);
    if (crlf == std::string_view::npos) {
      // An unfinished last line: its data so far (a final CR may still become a CRLF; ".\r" may
      // still become the terminator). Only done and consumed are compared for an unfinished reading.
      r.consumed = s.size();
      break;
    }
    if (line.starts_with('.')) line.remove_prefix(1);
    for (char c : line) {
      if (c == '\n') {
        fail(BodyOutcome::bare_line_feed);
      } else if (c == '\r') {
        fail(BodyOutcome::bare_carriage_return);
      } else if (c == '\0') {
        fail(BodyOutcome::nul_byte);
      } else {
        data_octet(c);
      }
    }
    if (!failed) {
      if (line_length == 0) in_header = false;
      r.size += 2;
      if (r.size > max_message) {
        fail(BodyOutcome::too_large);
      } else if (in_header && (header += 2) > max_header) {
        fail(BodyOutcome::header_too_large);
      } else {
        r.body += "\r\n";
      }
    }
    line_length = 0;
    i = crlf + 2;
  }
  return r;
}

void expect_same(const Reading& a, const Reading& b, const char* a_name, const char* b_name, std::string_view stream,
                 std::uint64_t max_message, std::uint64_t max_header) {
  const auto detail = [&] {
    return std::string(a_name) + ": " + describe(a) + "\n" + b_name + ": " + describe(b) + "\nlimits: message " +
           std::to_string(max_message) + ", header " + std::to_string(max_header) + "\nstream: \"" + escaped(stream) +
           "\"";
  };
  FUZZ_CHECK(a.done == b.done && a.consumed == b.consumed, detail());
  if (!a.done) return;
  FUZZ_CHECK(a.outcome == b.outcome, detail());
  if (a.outcome == BodyOutcome::complete) FUZZ_CHECK(a.body == b.body && a.size == b.size, detail());
}

// Dot-stuffs a complete body (CRLF lines) and adds the terminator.
std::string stuffed(std::string_view body) {
  std::string out;
  std::size_t start = 0;
  while (start < body.size()) {
    const std::size_t crlf = body.find("\r\n", start);
    const std::string_view line = body.substr(start, crlf - start);
    if (line.starts_with('.')) out += '.';
    out += line;
    out += "\r\n";
    start = crlf + 2;
  }
  return out + ".\r\n";
}

void check_complete_body(const Reading& r, std::uint64_t max_message, std::uint64_t max_header) {
  FUZZ_CHECK(r.size == r.body.size(),
             "size " + std::to_string(r.size) + " != body size " + std::to_string(r.body.size()));
  FUZZ_CHECK(r.size <= max_message, "complete but over MaxMessageSize");
  FUZZ_CHECK(r.body.empty() || r.body.ends_with("\r\n"), "body does not end with CRLF: \"" + escaped(r.body) + "\"");
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < r.body.size(); ++i) {
    FUZZ_CHECK(r.body[i] != '\0', "NUL in a complete body");
    FUZZ_CHECK(r.body[i] != '\r' || (i + 1 < r.body.size() && r.body[i + 1] == '\n'), "bare CR in a complete body");
    if (r.body[i] == '\n') {
      FUZZ_CHECK(i > 0 && r.body[i - 1] == '\r', "bare LF in a complete body");
      FUZZ_CHECK(i - 1 - line_start <= 998, "line over 998 octets in a complete body");
      line_start = i + 1;
    }
  }
  const std::string again = stuffed(r.body);
  const Reading back = read_in_pieces(again, {}, max_message, max_header);
  FUZZ_CHECK(back.done && back.consumed == again.size() && back.outcome == BodyOutcome::complete && back.body == r.body,
             "re-stuffed body reads back differently: " + describe(back) + "\nfrom \"" + escaped(again) + "\"");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint64_t max_message = kMessageLimits[data[0] & 0x0f];
  const std::uint64_t max_header = kHeaderLimits[data[0] >> 4];
  const std::size_t k = data[1] & 7;
  if (size < 2 + k) return 0;
  std::vector<std::size_t> sizes(data + 2, data + 2 + k);
  // An exact-size copy, so that ASan catches a read past the stream.
  const std::string stream(reinterpret_cast<const char*>(data) + 2 + k, size - 2 - k);

  const Reading whole = read_in_pieces(stream, {}, max_message, max_header);
  const Reading octets = read_in_pieces(stream, {1}, max_message, max_header);
  const Reading model = reference(stream, max_message, max_header);
  expect_same(model, whole, "reference", "whole", stream, max_message, max_header);
  expect_same(model, octets, "reference", "octet by octet", stream, max_message, max_header);
  if (!sizes.empty()) {
    const Reading pieces = read_in_pieces(stream, sizes, max_message, max_header);
    expect_same(model, pieces, "reference", "in pieces", stream, max_message, max_header);
  }
  if (whole.done && whole.outcome == BodyOutcome::complete) check_complete_body(whole, max_message, max_header);
  return 0;
}
