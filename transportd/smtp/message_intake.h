// MessageIntake: the message being received, whichever command carries it. DATA's dot-terminated body
// and BDAT's counted chunks go through one BodyReader with one set of rules, and the message collects
// in its stored form (our trace lines first, LF line ends) in a buffer that the session drains to the
// spool file. Pure: no I/O, so the protocol fuzzer drives exactly what the session drives.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "transportd/smtp/body_reader.h"
#include "transportd/smtp/protocol.h"

namespace transport::smtp {

class MessageIntake {
 public:
  // Keeps the intake in step with the protocol; call after every Step the protocol returns. A Step that
  // starts a message begins a fresh one (`trace` — Return-Path and Received:, CRLF line ends — goes
  // first and counts against no limit); once the protocol is no longer inside a message, whatever was
  // kept is dropped, so nothing of an aborted transaction (RSET, EHLO, STARTTLS, an error) reaches
  // the next message. Returns true when a message was just started.
  bool follow(const Step& step, const Protocol& protocol, const store::ReceiveConnector& connector,
              std::string_view trace);

  bool active() const { return reader_.has_value(); }
  // DATA: consumes input up to and including the terminating "." line; returns octets consumed.
  // BDAT: consumes every octet given (the caller gives exactly the chunk's octets).
  std::size_t feed(std::string_view input);
  // BDAT: the LAST chunk has been fed.
  void finish_chunks();
  bool done() const { return reader_ && reader_->done(); }
  BodyOutcome outcome() const { return reader_ ? reader_->outcome() : BodyOutcome::complete; }
  // Message octets as the limits count them (CRLF line ends, unstuffed); our trace lines not included.
  std::uint64_t size() const { return reader_ ? reader_->size() : 0; }

  // The stored form of what arrived since the buffer was last drained.
  std::string& buffer() { return buffer_; }
  // Ends the message: nothing kept, memory returned beyond a small buffer.
  void discard();

 private:
  void append(std::string_view stored, std::size_t from);

  std::optional<BodyReader> reader_;
  std::string buffer_;
};

}  // namespace transport::smtp
