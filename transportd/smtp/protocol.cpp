// Protocol: every decision of an ESMTP session — sequence, syntax, limits, recipients, tarpit — as one
// state machine over strings. The replies' codes follow RFC 5321 and RFC 3463; their texts are ours.
#include "transportd/smtp/protocol.h"

#include <cassert>

#include "store/mailbox.h"
#include "store/text_util.h"
#include "transportd/smtp/command_parser.h"

namespace transport::smtp {

namespace {

using store::iequals;

Reply reply(int code, std::string_view enhanced, std::string_view text) {
  return Reply{code, std::string(enhanced), std::string(text)};
}

Step step(Reply r, Action action = Action::read_command) {
  Step s;
  s.reply = std::move(r);
  s.action = action;
  return s;
}

Reply body_failure(BodyOutcome outcome) {
  switch (outcome) {
    case BodyOutcome::too_large:
      return reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
    case BodyOutcome::header_too_large:
      return reply(552, "5.3.4", "Message header size exceeds limit");
    case BodyOutcome::line_too_long:
      return reply(554, "5.6.0", "Message line too long: at most 1000 octets including CRLF");
    case BodyOutcome::bare_line_feed:
      return reply(554, "5.6.0", "Bare LF is not allowed, use CRLF");
    case BodyOutcome::nul_byte:
      return reply(554, "5.6.0", "NUL octets are not allowed in a message");
    case BodyOutcome::complete:
      break;
  }
  assert(false && "complete is not a failure");
  return reply(451, "4.3.0", "Temporary failure, try again later");
}

Reply too_large() { return body_failure(BodyOutcome::too_large); }

Reply send_ehlo_first() { return reply(503, "5.5.1", "Send EHLO or HELO first"); }

}  // namespace

Protocol::Protocol(const store::ReceiveConnector& connector, const RecipientIndex& recipients,
                   SessionFacts facts)
    : connector_(connector), recipients_(recipients), facts_(std::move(facts)) {}

Reply Protocol::greeting() const {
  // Banner is validated to start with "220 "; the code is ours to write, not the text's.
  std::string text = connector_.effective_banner();
  if (text.starts_with("220 ")) text.erase(0, 4);
  return Reply{220, {}, std::move(text)};
}

bool Protocol::in_message() const { return in_message_; }

void Protocol::reset_transaction() {
  envelope_ = Envelope{};
  recipient_keys_.clear();
  chunk_total_ = 0;
  chunk_failure_.reset();
  bdat_last_ = false;
  in_message_ = false;
  if (state_ != State::greeted && state_ != State::closed) state_ = State::ready;
}

Step Protocol::finish(Step s, bool always_tarpit) {
  const int code = s.reply.code;
  if (code == 500 || code == 501 || code == 503) {
    ++protocol_errors_;
    if (connector_.max_protocol_errors.has_value() && protocol_errors_ > *connector_.max_protocol_errors) {
      s = step(reply(421, "4.7.0", "Too many errors on this connection, closing"), Action::close);
      always_tarpit = false;
    }
  }
  if (s.action == Action::close) {
    state_ = State::closed;
    in_message_ = false;
  }
  s.tarpit = !facts_.authenticated && connector_.tarpit_interval.seconds() > 0 && s.reply.code != 0 &&
             (s.reply.permanent_failure() || always_tarpit);
  return s;
}

Step Protocol::on_overlong_line() {
  if (state_ == State::closed) return step(Reply{}, Action::close);
  return finish(step(reply(500, "5.5.2", "Line too long")));
}

Step Protocol::on_command(std::string_view line) {
  if (state_ == State::closed) return step(Reply{}, Action::close);
  assert(awaiting_ == Awaiting::command);
  if (line.find('\0') != std::string_view::npos) {
    return finish(step(reply(500, "5.5.2", "NUL character not allowed in a command")));
  }
  const Command command = parse_command(line);
  switch (command.verb) {
    case Verb::ehlo:
      return on_ehlo(command.argument, true);
    case Verb::helo:
      return on_ehlo(command.argument, false);
    case Verb::mail:
      return on_mail(command.argument);
    case Verb::rcpt:
      return on_rcpt(command.argument);
    case Verb::data:
      return on_data(command.argument);
    case Verb::bdat:
      return on_bdat(command.argument);
    case Verb::rset:
      if (!command.argument.empty()) return finish(step(reply(501, "5.5.4", "RSET takes no arguments")));
      reset_transaction();
      return finish(step(reply(250, "2.0.0", "OK")));
    case Verb::noop:
      return finish(step(reply(250, "2.0.0", "OK")));
    case Verb::vrfy:
    case Verb::expn: {
      // 252 for everyone: saying whether an address exists is exactly what a harvester wants.
      if (command.argument.empty()) {
        return finish(step(reply(501, "5.5.4", command.verb == Verb::vrfy ? "Syntax: VRFY <address>"
                                                                            : "Syntax: EXPN <list>")),
                      true);
      }
      return finish(step(reply(252, "2.5.0", "Cannot verify, but will accept mail and attempt delivery")), true);
    }
    case Verb::help:
      return finish(step(reply(214, "2.0.0",
                               connector_.chunking_enabled
                                   ? "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP VRFY EXPN HELP QUIT"
                                   : "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP VRFY EXPN HELP QUIT")));
    case Verb::quit:
      return finish(step(reply(221, "2.0.0", "Bye"), Action::close));
    case Verb::starttls:
    case Verb::auth:
      return finish(step(reply(502, "5.5.1", "Command not implemented")));
    case Verb::unknown:
      break;
  }
  return finish(step(reply(500, "5.5.1", "Command unrecognized")));
}

Step Protocol::on_ehlo(std::string_view argument, bool extended) {
  if (argument.empty()) {
    return finish(step(reply(501, "5.5.4", extended ? "Syntax: EHLO <domain>" : "Syntax: HELO <domain>")));
  }
  // The name is taken as given (first word): refusing odd client names breaks real clients and stops
  // no harvester. It appears in Received:, nowhere in our replies.
  helo_name_ = std::string(argument.substr(0, argument.find(' ')));
  extended_ = extended;
  state_ = State::ready;
  reset_transaction();

  std::string text = connector_.fqdn + " Hello [" + facts_.remote.to_string() + "]";
  if (extended) {
    if (connector_.pipelining_enabled) text += "\nPIPELINING";
    text += "\nSIZE " + std::to_string(connector_.max_message_size.bytes());
    if (connector_.eight_bit_mime_enabled) text += "\n8BITMIME";
    if (connector_.enhanced_status_codes_enabled) text += "\nENHANCEDSTATUSCODES";
    if (connector_.chunking_enabled) text += "\nCHUNKING";
  }
  // RFC 3463 has no enhanced code for the greeting lines of EHLO/HELO.
  return finish(step(reply(250, "", text)));
}

Step Protocol::on_mail(std::string_view argument) {
  if (state_ == State::greeted) return finish(step(send_ehlo_first()));
  if (state_ != State::ready) return finish(step(reply(503, "5.5.1", "Nested MAIL command")));

  const PathArgument path = parse_mail_from(argument);
  switch (path.error) {
    case PathError::none:
      break;
    case PathError::missing_keyword:
      return finish(step(reply(501, "5.5.2", "Syntax: MAIL FROM:<address>")));
    case PathError::missing_brackets:
      return finish(step(reply(501, "5.5.2", "Syntax: MAIL FROM:<address>, the address in angle brackets")));
    case PathError::bad_address:
      return finish(step(reply(501, "5.1.7", "Bad sender address syntax")));
    case PathError::local_part_too_long:
      return finish(step(reply(501, "5.1.7", "Bad sender address: local part longer than 64 characters")));
    case PathError::bad_parameters:
      return finish(step(reply(501, "5.5.4", "Bad MAIL parameter syntax")));
  }

  bool seen_size = false;
  bool seen_body = false;
  std::uint64_t declared_size = 0;
  bool eight_bit = false;
  for (const EsmtpParameter& parameter : path.parameters) {
    if (iequals(parameter.keyword, "SIZE")) {
      if (seen_size) return finish(step(reply(501, "5.5.4", "Duplicate SIZE parameter")));
      seen_size = true;
      const bool digits = parameter.has_value &&
                          parameter.value.find_first_not_of("0123456789") == std::string_view::npos;
      if (!digits) return finish(step(reply(501, "5.5.4", "Bad SIZE parameter: a number of octets is expected")));
      // A number too long for 64 bits is still a number: far over any limit.
      if (!parse_decimal(parameter.value, declared_size) || declared_size > connector_.max_message_size.bytes()) {
        return finish(step(too_large()));
      }
    } else if (iequals(parameter.keyword, "BODY")) {
      if (seen_body) return finish(step(reply(501, "5.5.4", "Duplicate BODY parameter")));
      seen_body = true;
      if (!parameter.has_value) return finish(step(reply(501, "5.5.4", "Syntax: BODY=7BIT or BODY=8BITMIME")));
      if (iequals(parameter.value, "7BIT")) {
        eight_bit = false;
      } else if (iequals(parameter.value, "8BITMIME") && connector_.eight_bit_mime_enabled) {
        eight_bit = true;
      } else {
        return finish(step(reply(555, "5.5.4", "Unsupported BODY type")));
      }
    } else {
      return finish(step(reply(555, "5.5.4", "Unsupported MAIL parameter")));
    }
  }

  reset_transaction();
  envelope_.mail_from = std::string(path.address);
  envelope_.eight_bit = eight_bit;
  envelope_.declared_size = declared_size;
  state_ = State::mail;
  return finish(step(reply(250, "2.1.0", "Sender OK")));
}

Step Protocol::on_rcpt(std::string_view argument) {
  if (state_ == State::greeted) return finish(step(send_ehlo_first()));
  if (state_ == State::chunking) return finish(step(reply(503, "5.5.1", "RCPT not allowed during BDAT")));
  if (state_ != State::mail && state_ != State::recipients) {
    return finish(step(reply(503, "5.5.1", "Need MAIL before RCPT")));
  }

  const PathArgument path = parse_rcpt_to(argument);
  switch (path.error) {
    case PathError::none:
      break;
    case PathError::missing_keyword:
      return finish(step(reply(501, "5.5.2", "Syntax: RCPT TO:<address>")));
    case PathError::missing_brackets:
      return finish(step(reply(501, "5.5.2", "Syntax: RCPT TO:<address>, the address in angle brackets")));
    case PathError::bad_address:
      return finish(step(reply(501, "5.1.3", "Bad recipient address syntax")));
    case PathError::local_part_too_long:
      return finish(step(reply(501, "5.1.3", "Bad recipient address: local part longer than 64 characters")));
    case PathError::bad_parameters:
      return finish(step(reply(501, "5.5.4", "Bad RCPT parameter syntax")));
  }
  if (path.null_path) return finish(step(reply(501, "5.1.3", "The null address <> is not a recipient")));
  if (!path.parameters.empty()) return finish(step(reply(555, "5.5.4", "Unsupported RCPT parameter")));

  if (envelope_.recipients.size() >= static_cast<std::size_t>(connector_.max_recipients_per_message)) {
    return finish(step(reply(452, "4.5.3", "Too many recipients")));
  }

  const RecipientDecision decision = recipients_.check(path.address, facts_.may_relay);
  switch (decision.verdict) {
    case RecipientVerdict::not_accepted:
      return finish(step(reply(550, "5.7.1", "Unable to relay")));
    case RecipientVerdict::blocked:
      return finish(step(reply(550, "5.1.1", "Recipient address rejected")));
    case RecipientVerdict::unknown_user:
      return finish(step(reply(550, "5.1.1", "User unknown")));
    case RecipientVerdict::accepted:
      break;
  }

  // A mailbox named twice (or by two of its aliases) gets one copy: the key is the mailbox, or for
  // recipients without one, the address.
  std::string key = decision.mailbox != nullptr ? store::address_key(decision.mailbox->primary_smtp_address)
                                                : store::address_key(path.address);
  if (recipient_keys_.insert(std::move(key)).second) {
    envelope_.recipients.push_back(Recipient{std::string(path.address), decision.mailbox});
  }
  state_ = State::recipients;
  return finish(step(reply(250, "2.1.5", "Recipient OK")));
}

Step Protocol::on_data(std::string_view argument) {
  if (state_ == State::greeted) return finish(step(send_ehlo_first()));
  if (state_ == State::chunking) return finish(step(reply(503, "5.5.1", "DATA not allowed during BDAT")));
  if (state_ == State::ready) return finish(step(reply(503, "5.5.1", "Need MAIL command")));
  if (!argument.empty()) return finish(step(reply(501, "5.5.4", "DATA takes no arguments")));
  if (state_ == State::mail) return finish(step(reply(554, "5.5.1", "No valid recipients")));
  assert(state_ == State::recipients);
  in_message_ = true;
  awaiting_ = Awaiting::body;
  return finish(step(reply(354, "", "Start mail input; end with <CRLF>.<CRLF>"), Action::read_data));
}

std::optional<Reply> Protocol::bdat_refusal(std::uint64_t size, bool last) {
  if (!connector_.chunking_enabled) return reply(502, "5.5.1", "BDAT not available: CHUNKING is off");
  if (state_ == State::greeted) return send_ehlo_first();
  if (!extended_) return reply(503, "5.5.1", "BDAT needs EHLO, not HELO");
  if (chunk_failure_.has_value()) {
    // The rest of a failed sequence (already pipelined by the client): refused the same way.
    Reply failure = *chunk_failure_;
    if (last) chunk_failure_.reset();
    return failure;
  }
  if (state_ == State::ready) return reply(503, "5.5.1", "Need MAIL command");
  if (state_ == State::mail) return reply(554, "5.5.1", "No valid recipients");
  assert(state_ == State::recipients || state_ == State::chunking);
  if (size > connector_.max_message_size.bytes() - chunk_total_) {
    Reply failure = too_large();
    reset_transaction();
    if (!last) chunk_failure_ = failure;
    return failure;
  }
  return std::nullopt;
}

Step Protocol::on_bdat(std::string_view argument) {
  const std::size_t space = argument.find(' ');
  const std::string_view size_text = argument.substr(0, space);
  const std::string_view rest = space == std::string_view::npos ? std::string_view{} : store::trim(argument.substr(space));
  std::uint64_t size = 0;
  if (!parse_decimal(size_text, size) || !(rest.empty() || iequals(rest, "LAST"))) {
    return finish(step(reply(501, "5.5.4", "Syntax: BDAT <size> [LAST]")));
  }
  const bool last = !rest.empty();
  pending_chunk_refusal_ = bdat_refusal(size, last);
  pending_chunk_size_ = size;
  bdat_last_ = last;
  if (!pending_chunk_refusal_) {
    state_ = State::chunking;
    in_message_ = true;
    chunk_total_ += size;
  }
  awaiting_ = Awaiting::chunk;
  Step s;
  s.action = Action::read_chunk;
  s.chunk_size = size;
  return s;  // the reply comes after the chunk, from on_chunk
}

Step Protocol::on_chunk(std::uint64_t total_size) {
  if (state_ == State::closed) return step(Reply{}, Action::close);
  assert(awaiting_ == Awaiting::chunk);
  awaiting_ = Awaiting::command;
  if (pending_chunk_refusal_) {
    Reply refusal = std::move(*pending_chunk_refusal_);
    pending_chunk_refusal_.reset();
    return finish(step(std::move(refusal)));
  }
  if (total_size > connector_.max_message_size.bytes()) {
    Reply failure = too_large();
    reset_transaction();
    if (!bdat_last_) chunk_failure_ = failure;
    return finish(step(std::move(failure)));
  }
  if (bdat_last_) {
    awaiting_ = Awaiting::delivery;
    return finish(step(Reply{}, Action::deliver));
  }
  return finish(step(reply(250, "2.0.0", std::to_string(pending_chunk_size_) + " octets received")));
}

Step Protocol::on_message(BodyOutcome outcome, std::uint64_t size) {
  if (state_ == State::closed) return step(Reply{}, Action::close);
  assert(awaiting_ == Awaiting::body);
  awaiting_ = Awaiting::command;
  if (outcome == BodyOutcome::complete && size > connector_.max_message_size.bytes()) {
    outcome = BodyOutcome::too_large;
  }
  if (outcome != BodyOutcome::complete) {
    reset_transaction();
    return finish(step(body_failure(outcome)));
  }
  awaiting_ = Awaiting::delivery;
  return finish(step(Reply{}, Action::deliver));
}

Step Protocol::on_delivered(DeliveryOutcome outcome) {
  if (state_ == State::closed) return step(Reply{}, Action::close);
  assert(awaiting_ == Awaiting::delivery);
  awaiting_ = Awaiting::command;
  reset_transaction();
  if (outcome == DeliveryOutcome::delivered) return finish(step(reply(250, "2.6.0", "Message accepted for delivery")));
  return finish(step(reply(451, "4.3.0", "Temporary failure, try again later")));
}

Reply Protocol::connection_timeout() const { return reply(421, "4.4.1", "Connection timed out"); }

Reply Protocol::inactivity_timeout() const { return reply(451, "4.7.0", "Timeout waiting for client input"); }

Reply Protocol::shutting_down() const { return reply(421, "4.3.2", "Service shutting down"); }

}  // namespace transport::smtp
