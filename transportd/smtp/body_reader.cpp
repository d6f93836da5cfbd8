// BodyReader: a five-state scanner over the DATA stream. Inside a line it jumps from one CR/LF/NUL to
// the next with memchr, so a body costs a few vectorized scans and one append per line.
#include "transportd/smtp/body_reader.h"

#include <cstdint>
#include <cstring>

namespace transport::smtp {

namespace {

// RFC 5321 §4.5.3.1.6: 1000 octets including the CRLF (not counting a stuffed leading dot).
constexpr std::size_t kMaxLineData = 998;

const char* find(const char* begin, const char* end, char c) {
  const void* found = std::memchr(begin, c, static_cast<std::size_t>(end - begin));
  return found != nullptr ? static_cast<const char*>(found) : end;
}

}  // namespace

BodyReader::BodyReader(std::uint64_t max_message_size, std::uint64_t max_header_size, Framing framing)
    : max_message_size_(max_message_size), max_header_size_(max_header_size), framing_(framing) {}

void BodyReader::fail(BodyOutcome outcome) {
  if (failed_) return;  // the first broken limit is the one reported
  failed_ = true;
  outcome_ = outcome;
}

void BodyReader::add_text(const char* data, std::size_t length, std::string& body) {
  if (failed_) return;
  // The limit reported is the one the earliest octet breaks, wherever TCP happened to cut the input:
  // the one with the least room left (ties: line, message, header).
  const std::uint64_t line_room = kMaxLineData - line_length_;
  const std::uint64_t message_room = max_message_size_ - size_;
  const std::uint64_t header_room = in_header_ ? max_header_size_ - header_size_ : UINT64_MAX;
  if (length > line_room || length > message_room || length > header_room) {
    if (line_room <= message_room && line_room <= header_room) return fail(BodyOutcome::line_too_long);
    if (message_room <= header_room) return fail(BodyOutcome::too_large);
    return fail(BodyOutcome::header_too_large);
  }
  line_length_ += length;
  size_ += length;
  if (in_header_) header_size_ += length;
  body.append(data, length);
}

void BodyReader::end_line(std::string& body) {
  const bool empty = line_length_ == 0;
  line_length_ = 0;
  if (failed_) return;
  if (empty) in_header_ = false;  // the empty line ends the header section and is not part of it
  size_ += 2;
  if (size_ > max_message_size_) return fail(BodyOutcome::too_large);
  if (in_header_) {
    header_size_ += 2;
    if (header_size_ > max_header_size_) return fail(BodyOutcome::header_too_large);
  }
  body.append("\r\n", 2);
}

std::size_t BodyReader::feed(std::string_view input, std::string& body) {
  if (done_) return 0;
  const char* const begin = input.data();
  const char* const end = begin + input.size();
  const char* p = begin;
  const char* next_lf = nullptr;  // first LF at or after p, once searched (p only moves forward)
  while (p < end) {
    switch (position_) {
      case Position::line_start:
        if (*p == '.' && framing_ == Framing::dot_terminated) {
          position_ = Position::line_dot;
          ++p;
        } else {
          position_ = Position::text;
        }
        break;
      case Position::line_dot:
        if (*p == '\r') {
          position_ = Position::line_dot_cr;
          ++p;
        } else {
          position_ = Position::text;  // the leading dot was stuffing: it stays dropped
        }
        break;
      case Position::line_dot_cr:
        if (*p == '\n') {
          done_ = true;
          return static_cast<std::size_t>(p + 1 - begin);
        }
        fail(BodyOutcome::bare_carriage_return);  // ".\r" then something else
        position_ = Position::text;
        break;
      case Position::text_cr:
        if (*p == '\n') {
          ++p;
          end_line(body);
          position_ = Position::line_start;
        } else {
          fail(BodyOutcome::bare_carriage_return);  // and not a line end, just as a bare LF
          position_ = Position::text;
        }
        break;
      case Position::text: {
        if (next_lf == nullptr || next_lf < p) next_lf = find(p, end, '\n');
        const char* stop = find(p, next_lf, '\r');
        if (!failed_) stop = find(p, stop, '\0');
        if (stop > p) add_text(p, static_cast<std::size_t>(stop - p), body);
        p = stop;
        if (p == end) break;
        const char special = *p++;
        if (special == '\r') {
          position_ = Position::text_cr;
        } else if (special == '\n') {
          fail(BodyOutcome::bare_line_feed);  // and not a line end: "\n.\r\n" must not end the body
        } else {
          fail(BodyOutcome::nul_byte);
        }
        break;
      }
    }
  }
  return input.size();
}

void BodyReader::finish_chunks(std::string& body) {
  if (done_) return;
  if (position_ == Position::text_cr) {
    fail(BodyOutcome::bare_carriage_return);
  } else if (position_ == Position::text) {
    end_line(body);
  }
  done_ = true;
}

}  // namespace transport::smtp
