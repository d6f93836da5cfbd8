// BodyReader: reads a DATA body incrementally — dot-unstuffing, finding the end, enforcing the size,
// header and line limits — from whatever pieces the socket delivers. Pure: bytes in, body out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "transportd/smtp/protocol.h"

namespace transport::smtp {

// Only CRLF "." CRLF ends a body: a "." line after a bare LF or CR does not (those forms are how SMTP
// smuggling hides a second message inside the first). Bare LF and NUL are refused; other octets,
// 8-bit included, pass through untouched. A lone CR is kept as data.
//
// After the first failure the reader keeps consuming up to the terminator, so that the session stays
// in step with the client, but appends nothing more to `body`: the caller discards what it holds.
class BodyReader {
 public:
  // `max_message_size`: MaxMessageSize, counted over the unstuffed message including its CRLFs.
  // `max_header_size`: MaxHeaderSize, counted over the lines before the first empty line.
  BodyReader(std::uint64_t max_message_size, std::uint64_t max_header_size);

  // Consumes from `input`, appends the unstuffed message (CRLF line endings, the final CRLF of the
  // last line included, the "." line not) to `body`, and returns how many octets of `input` it
  // consumed: all of them, or up to and including the terminating ".\r\n" — the bytes after it are
  // the client's next command (PIPELINING) and are left to the caller. Returns 0 once done().
  std::size_t feed(std::string_view input, std::string& body);

  bool done() const { return done_; }
  // complete unless a limit was broken; meaningful once done().
  BodyOutcome outcome() const { return outcome_; }
  // Unstuffed octets of the message so far (what a complete body's size is).
  std::uint64_t size() const { return size_; }

 private:
  enum class Position : std::uint8_t {
    line_start,     // at the first octet of a line
    line_dot,       // a line started with "." (held back: stuffing or the terminator)
    line_dot_cr,    // a line started with ".\r" (held back)
    text,           // inside a line
    text_cr,        // inside a line after "\r" (held back: CRLF or a lone CR)
  };

  void fail(BodyOutcome outcome);
  // Appends data octets of the current line, checking the limits.
  void add_text(const char* data, std::size_t length, std::string& body);
  void end_line(std::string& body);

  std::uint64_t max_message_size_;
  std::uint64_t max_header_size_;
  std::uint64_t size_ = 0;
  std::uint64_t header_size_ = 0;
  std::size_t line_length_ = 0;  // data octets of the current line (unstuffed, without CRLF)
  Position position_ = Position::line_start;
  BodyOutcome outcome_ = BodyOutcome::complete;
  bool failed_ = false;
  bool in_header_ = true;
  bool done_ = false;
};

}  // namespace transport::smtp
