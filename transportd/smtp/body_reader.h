// BodyReader: reads a message body incrementally — DATA's dot-unstuffing and terminator, or BDAT's
// counted chunks — enforcing one set of content rules (size, header and line limits, CRLF only, no NUL)
// whichever command carried the octets, from whatever pieces the socket delivers. Pure: bytes in, body out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "transportd/smtp/protocol.h"

namespace transport::smtp {

// Only CRLF "." CRLF ends a DATA body: a "." line after a bare LF or CR does not (those forms are how
// SMTP smuggling hides a second message inside the first). Bare LF, bare CR and NUL are refused, in DATA
// and BDAT alike; other octets, 8-bit included, pass through untouched. So every CR in `body` is the
// first half of a CRLF.
//
// After the first failure the reader keeps consuming (up to the terminator, or every chunk), so that
// the session stays in step with the client, but appends nothing more to `body`: the caller discards
// what it holds.
class BodyReader {
 public:
  enum class Framing : std::uint8_t {
    dot_terminated,  // DATA: dot-stuffed, ends at CRLF "." CRLF
    chunks,          // BDAT: the octets as sent; the session says where the message ends (finish_chunks)
  };

  // `max_message_size`: MaxMessageSize, counted over the unstuffed message including its CRLFs.
  // `max_header_size`: MaxHeaderSize, counted over the lines before the first empty line.
  BodyReader(std::uint64_t max_message_size, std::uint64_t max_header_size,
             Framing framing = Framing::dot_terminated);

  // Consumes from `input`, appends the unstuffed message (CRLF line endings, the final CRLF of the
  // last line included, the "." line not) to `body`, and returns how many octets of `input` it
  // consumed: all of them, or up to and including the terminating ".\r\n" — the bytes after it are
  // the client's next command (PIPELINING) and are left to the caller. Returns 0 once done().
  // With Framing::chunks every octet is consumed and the reader is never done() before finish_chunks().
  std::size_t feed(std::string_view input, std::string& body);
  // Framing::chunks: the LAST chunk has been fed. A CR left at the very end is a bare CR; a last line
  // without its CRLF gets one (a stored message ends with a line end). Then done().
  void finish_chunks(std::string& body);

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
  Framing framing_;
  Position position_ = Position::line_start;
  BodyOutcome outcome_ = BodyOutcome::complete;
  bool failed_ = false;
  bool in_header_ = true;
  bool done_ = false;
};

}  // namespace transport::smtp
