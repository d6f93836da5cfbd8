// MessageIntake: one reader per message, begun and dropped as the protocol's Steps say.
#include "transportd/smtp/message_intake.h"

#include <algorithm>

namespace transport::smtp {

namespace {

constexpr std::size_t kKeptCapacity = 8 * 1024;  // what an idle session keeps of a message buffer

// The stored form has LF line ends. BodyReader refuses bare CR, so every CR it lets through (and
// every CR of our trace lines) is half of a CRLF: dropping them all is the whole conversion.
void drop_carriage_returns(std::string& text, std::size_t from) {
  text.erase(std::remove(text.begin() + static_cast<std::ptrdiff_t>(from), text.end(), '\r'), text.end());
}

}  // namespace

bool MessageIntake::follow(const Step& step, const Protocol& protocol, const store::ReceiveConnector& connector,
                           std::string_view trace) {
  if (step.starts_message) {
    discard();
    reader_.emplace(connector.max_message_size.bytes(), connector.max_header_size.bytes(),
                    step.action == Action::read_chunk ? BodyReader::Framing::chunks
                                                      : BodyReader::Framing::dot_terminated);
    buffer_.assign(trace);
    drop_carriage_returns(buffer_, 0);
    return true;
  }
  if (!protocol.in_message() && active()) discard();
  return false;
}

std::size_t MessageIntake::feed(std::string_view input) {
  const std::size_t from = buffer_.size();
  const std::size_t consumed = reader_->feed(input, buffer_);
  drop_carriage_returns(buffer_, from);
  return consumed;
}

void MessageIntake::finish_chunks() {
  const std::size_t from = buffer_.size();
  reader_->finish_chunks(buffer_);
  drop_carriage_returns(buffer_, from);
}

void MessageIntake::discard() {
  reader_.reset();
  buffer_.clear();
  if (buffer_.capacity() > kKeptCapacity) std::string().swap(buffer_);
}

}  // namespace transport::smtp
