// Protocol: every decision of an ESMTP session — sequence, syntax, limits, recipients, tarpit — as one
// state machine over strings. The replies' codes follow RFC 5321 and RFC 3463; their texts are ours.
#include "transportd/smtp/protocol.h"

#include <algorithm>
#include <cassert>

#include "store/mailbox.h"
#include "store/text_util.h"
#include "transportd/smtp/command_parser.h"
#include "transportd/smtp/sasl.h"

namespace transport::smtp {

namespace {

using store::iequals;

// The shortest hold of an AUTH refused without verification (see on_credentials_checked).
constexpr std::chrono::seconds kLeastAuthRefusalHold{1};

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
    case BodyOutcome::bare_carriage_return:
      return reply(554, "5.6.0", "Bare CR is not allowed, use CRLF");
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

// RFC 6531 §3.5: a UTF-8 address outside an SMTPUTF8 transaction.
Reply utf8_needs_smtputf8() {
  return reply(553, "5.6.7", "Address holds non-ASCII characters: MAIL FROM needs the SMTPUTF8 parameter");
}

// RFC 3207 §4's reply when the certificate pair does not load.
Reply tls_unavailable() { return reply(454, "4.7.0", "TLS not available due to temporary reason"); }

// LOGIN's challenges: base64 of "Username:" and "Password:", as every LOGIN client expects.
constexpr std::string_view kLoginUserChallenge = "VXNlcm5hbWU6";
constexpr std::string_view kLoginPasswordChallenge = "UGFzc3dvcmQ6";

}  // namespace

bool Envelope::needs_queue() const {
  for (const Recipient& recipient : recipients) {
    if (recipient.queued()) return true;
  }
  return false;
}

void grant_connector_trust(const store::ReceiveConnector& connector, SessionFacts& facts) {
  facts.authenticated = connector.auth_mechanism.has(store::AuthMechanismFlag::external_authoritative);
  facts.may_relay = facts.authenticated;
}

Protocol::Protocol(const store::ReceiveConnector& connector, const routing::RecipientRouter& recipients,
                   SessionFacts facts)
    : connector_(connector), recipients_(recipients), facts_(std::move(facts)) {}

Reply Protocol::greeting() const {
  // Banner is validated to start with "220 "; the code is ours to write, not the text's.
  std::string text = connector_.effective_banner();
  if (text.starts_with("220 ")) text.erase(0, 4);
  return Reply{220, {}, std::move(text)};
}

std::chrono::seconds Protocol::greeting_hold() const {
  if (facts_.authenticated || judgement_.exempt || judgement_.standing != reputation::Standing::discredited) {
    return std::chrono::seconds(0);
  }
  return judgement_.interval(connector_.tarpit_interval.value());
}

bool Protocol::uniform_timing() const { return session_refusals_ >= 2 && session_refusals_ > session_acceptances_; }

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
  s.hold = hold_for(s, always_tarpit);
  return s;
}

// DESIGN §5 and §10. Exchange's rule for everyone not authenticated: a 5xx (and a VRFY/EXPN answer) waits
// TarpitInterval, or the escalated interval of a Discredited source. The harvest defence adds, for clients
// it does not exempt: every RCPT verdict waits as long when the source is Suspect or worse or the session
// itself looks like a harvest, so a 250 cannot be told from a 550 by its timing; and an AUTH lockout's 454.
std::chrono::seconds Protocol::hold_for(const Step& s, bool always_tarpit) const {
  const std::chrono::seconds none(0);
  if (facts_.authenticated || s.reply.code == 0 || connector_.tarpit_interval.seconds() <= 0) return none;
  const std::chrono::seconds interval = judgement_.interval(connector_.tarpit_interval.value());
  if (s.reply.permanent_failure() || always_tarpit) return interval;
  if (judgement_.exempt) return none;
  if (s.answers_rcpt && (judgement_.standing != reputation::Standing::clean || uniform_timing())) return interval;
  return none;
}

Step Protocol::on_overlong_line() {
  if (state_ == State::closed) return step(Reply{}, Action::close);
  if (awaiting_ == Awaiting::sasl_response) {
    // An AUTH response we could not read whole: the exchange is over.
    end_sasl();
    awaiting_ = Awaiting::command;
  }
  return finish(step(reply(500, "5.5.2", "Line too long")));
}

Step Protocol::on_command(std::string_view line) {
  if (state_ == State::closed) return step(Reply{}, Action::close);
  if (awaiting_ == Awaiting::sasl_response) return on_sasl_response(line, false);
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
      return on_starttls(command.argument);
    case Verb::auth:
      return on_auth(command.argument);
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
    // RFC 6531 §3.1: SMTPUTF8 is offered only together with 8BITMIME.
    if (connector_.eight_bit_mime_enabled) text += "\n8BITMIME\nSMTPUTF8";
    if (connector_.enhanced_status_codes_enabled) text += "\nENHANCEDSTATUSCODES";
    if (connector_.chunking_enabled) text += "\nCHUNKING";
    text += "\nDSN";  // RFC 3461: NOTIFY, ORCPT, RET, ENVID honoured and passed on
    if (connector_.auth_mechanism.has(store::AuthMechanismFlag::tls) && facts_.tls_available && !facts_.tls) {
      text += "\nSTARTTLS";
    }
    // Not to a session that is already authenticated (by AUTH, or by an ExternalAuthoritative
    // connector), and with BasicAuthRequireTLS only inside TLS.
    if (auth_offered() && !facts_.authenticated &&
        (!connector_.auth_mechanism.has(store::AuthMechanismFlag::basic_auth_require_tls) || facts_.tls)) {
      text += "\nAUTH PLAIN LOGIN";
    }
  }
  // RFC 3463 has no enhanced code for the greeting lines of EHLO/HELO.
  return finish(step(reply(250, "", text)));
}

Step Protocol::on_mail(std::string_view argument) {
  if (state_ == State::greeted) return finish(step(send_ehlo_first()));
  if (state_ != State::ready) return finish(step(reply(503, "5.5.1", "Nested MAIL command")));
  if (connector_.require_tls && !facts_.tls) {
    // Without a loadable certificate the client cannot do what 530 asks: a temporary failure, so
    // the sender retries after the administrator repairs the pair (DESIGN §3).
    if (!facts_.tls_available) return finish(step(tls_unavailable()));
    return finish(step(reply(530, "5.7.0", "Must issue a STARTTLS command first")));
  }
  if (!facts_.authenticated && !connector_.permission_groups.has(store::PermissionGroup::anonymous_users)) {
    return finish(step(reply(530, "5.7.1", "Client was not authenticated")));
  }

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
  bool smtputf8 = false;
  dsn::MailParameters dsn_parameters;
  bool seen_ret = false;
  bool seen_envid = false;
  for (const EsmtpParameter& parameter : path.parameters) {
    if (iequals(parameter.keyword, "RET")) {
      if (seen_ret) return finish(step(reply(501, "5.5.4", "Duplicate RET parameter")));
      seen_ret = true;
      const std::optional<dsn::Return> ret = parameter.has_value ? dsn::parse_ret(parameter.value) : std::nullopt;
      if (!ret) return finish(step(reply(501, "5.5.4", "Syntax: RET=FULL or RET=HDRS")));
      dsn_parameters.ret = *ret;
    } else if (iequals(parameter.keyword, "ENVID")) {
      if (seen_envid) return finish(step(reply(501, "5.5.4", "Duplicate ENVID parameter")));
      seen_envid = true;
      std::optional<std::string> envid = parameter.has_value ? dsn::parse_envid(parameter.value) : std::nullopt;
      if (!envid) return finish(step(reply(501, "5.5.4", "Bad ENVID parameter: xtext of at most 100 characters")));
      dsn_parameters.envid = std::move(*envid);
    } else if (iequals(parameter.keyword, "SIZE")) {
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
    } else if (iequals(parameter.keyword, "SMTPUTF8") && connector_.eight_bit_mime_enabled) {
      if (smtputf8) return finish(step(reply(501, "5.5.4", "Duplicate SMTPUTF8 parameter")));
      if (parameter.has_value) return finish(step(reply(501, "5.5.4", "SMTPUTF8 takes no value")));
      smtputf8 = true;
    } else {
      return finish(step(reply(555, "5.5.4", "Unsupported MAIL parameter")));
    }
  }

  if (path.utf8 && !smtputf8) return finish(step(utf8_needs_smtputf8()));

  reset_transaction();
  envelope_.mail_from = std::string(path.address);
  envelope_.eight_bit = eight_bit;
  envelope_.smtputf8 = smtputf8;
  envelope_.declared_size = declared_size;
  envelope_.dsn = std::move(dsn_parameters);
  state_ = State::mail;
  return finish(step(reply(250, "2.1.0", "Sender OK")));
}

Step Protocol::on_rcpt(std::string_view argument) {
  // Every RCPT reply says why a recipient was refused, as a type (metrics, tracking, reputation).
  const auto refuse = [this](RecipientRefusal why, Reply r, std::string_view address = {}) {
    Step s = step(std::move(r));
    s.refusal = why;
    s.recipient = std::string(address);
    s.answers_rcpt = true;
    // What a harvester's guesses earn: the harvest defence counts these (DESIGN §10), not mistakes of
    // syntax, order or limits.
    const bool counted =
        why == RecipientRefusal::unknown_user || why == RecipientRefusal::relay || why == RecipientRefusal::no_route;
    if (counted) s.source_event = reputation::Event::refused_recipient;
    // The hold is decided on the evidence before this verdict: otherwise the verdict itself would
    // change its own timing.
    Step out = finish(std::move(s));
    if (counted) ++session_refusals_;
    return out;
  };
  if (state_ == State::greeted) return refuse(RecipientRefusal::sequence, send_ehlo_first());
  if (state_ == State::chunking) {
    return refuse(RecipientRefusal::sequence, reply(503, "5.5.1", "RCPT not allowed during BDAT"));
  }
  if (state_ != State::mail && state_ != State::recipients) {
    return refuse(RecipientRefusal::sequence, reply(503, "5.5.1", "Need MAIL before RCPT"));
  }

  const PathArgument path = parse_rcpt_to(argument);
  constexpr RecipientRefusal kSyntax = RecipientRefusal::syntax;
  switch (path.error) {
    case PathError::none:
      break;
    case PathError::missing_keyword:
      return refuse(kSyntax, reply(501, "5.5.2", "Syntax: RCPT TO:<address>"));
    case PathError::missing_brackets:
      return refuse(kSyntax, reply(501, "5.5.2", "Syntax: RCPT TO:<address>, the address in angle brackets"));
    case PathError::bad_address:
      return refuse(kSyntax, reply(501, "5.1.3", "Bad recipient address syntax"));
    case PathError::local_part_too_long:
      return refuse(kSyntax, reply(501, "5.1.3", "Bad recipient address: local part longer than 64 characters"));
    case PathError::bad_parameters:
      return refuse(kSyntax, reply(501, "5.5.4", "Bad RCPT parameter syntax"));
  }
  const std::string_view address = path.address;
  if (path.null_path) return refuse(kSyntax, reply(501, "5.1.3", "The null address <> is not a recipient"));
  dsn::RecipientParameters dsn_parameters;
  bool seen_notify = false;
  bool seen_orcpt = false;
  for (const EsmtpParameter& parameter : path.parameters) {
    if (iequals(parameter.keyword, "NOTIFY") && !seen_notify) {
      seen_notify = true;
      const std::optional<dsn::Notify> notify = parameter.has_value ? dsn::parse_notify(parameter.value) : std::nullopt;
      if (!notify) {
        return refuse(kSyntax, reply(501, "5.5.4", "Syntax: NOTIFY=NEVER or NOTIFY=SUCCESS,FAILURE,DELAY"), address);
      }
      dsn_parameters.notify = *notify;
    } else if (iequals(parameter.keyword, "ORCPT") && !seen_orcpt) {
      seen_orcpt = true;
      std::optional<std::string> orcpt = parameter.has_value ? dsn::parse_orcpt(parameter.value) : std::nullopt;
      if (!orcpt) return refuse(kSyntax, reply(501, "5.5.4", "Syntax: ORCPT=rfc822;address (xtext)"), address);
      dsn_parameters.orcpt = std::move(*orcpt);
    } else if (iequals(parameter.keyword, "NOTIFY") || iequals(parameter.keyword, "ORCPT")) {
      return refuse(kSyntax, reply(501, "5.5.4", "Duplicate " + std::string(parameter.keyword) + " parameter"), address);
    } else {
      return refuse(kSyntax, reply(555, "5.5.4", "Unsupported RCPT parameter"), address);
    }
  }
  if (path.utf8 && !envelope_.smtputf8) return refuse(kSyntax, utf8_needs_smtputf8(), address);

  if (envelope_.recipients.size() >= static_cast<std::size_t>(connector_.max_recipients_per_message)) {
    return refuse(RecipientRefusal::limit, reply(452, "4.5.3", "Too many recipients"), address);
  }

  // <Postmaster> needs no domain and is always accepted (RFC 5321 §4.5.1, DESIGN §5).
  const routing::Decision decision =
      path.postmaster ? recipients_.postmaster() : recipients_.check(address, facts_.may_relay);
  switch (decision.verdict) {
    case routing::Verdict::not_accepted:
      return refuse(RecipientRefusal::relay,
                    reply(550, "5.7.1", "Unable to relay: this server accepts mail only for its accepted domains"),
                    address);
    case routing::Verdict::no_route:
      return refuse(RecipientRefusal::no_route,
                    reply(550, "5.4.4", "Unable to route: no send connector serves this domain"), address);
    case routing::Verdict::blocked:
      return refuse(RecipientRefusal::blocked, reply(550, "5.1.1", "Recipient address rejected"), address);
    case routing::Verdict::unknown_user:
      return refuse(RecipientRefusal::unknown_user, reply(550, "5.1.1", "User unknown"), address);
    case routing::Verdict::local:
    case routing::Verdict::relay:
    case routing::Verdict::non_delivery:
      break;
  }
  // A mailbox stored before addresses were checked when made may have one that cannot name its
  // Maildir. Only this recipient waits (450): it must never fail the message for the others.
  if (decision.mailbox != nullptr &&
      !store::mailbox_directory_problem(decision.mailbox->primary_smtp_address).empty()) {
    Step s = step(reply(450, "4.2.1", "Mailbox unavailable, try again later"));
    s.answers_rcpt = true;
    return finish(std::move(s));
  }

  // A mailbox named twice (or by two of its aliases) gets one copy: the key is the mailbox, or for
  // recipients without one, the address.
  std::string key = decision.mailbox != nullptr ? store::address_key(decision.mailbox->primary_smtp_address)
                                                : store::address_key(address);
  if (recipient_keys_.insert(std::move(key)).second) {
    envelope_.recipients.push_back(
        Recipient{std::string(address), decision.verdict, decision.mailbox, std::move(dsn_parameters)});
  }
  state_ = State::recipients;
  Step s = step(reply(250, "2.1.5", "Recipient OK"));
  s.recipient = std::string(address);
  s.answers_rcpt = true;
  s.source_event = reputation::Event::accepted_recipient;
  Step out = finish(std::move(s));
  ++session_acceptances_;
  return out;
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
  Step s = step(reply(354, "", "Start mail input; end with <CRLF>.<CRLF>"), Action::read_data);
  s.starts_message = true;
  return finish(std::move(s));
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
  Step s;
  if (!pending_chunk_refusal_) {
    s.starts_message = state_ == State::recipients;
    state_ = State::chunking;
    in_message_ = true;
    chunk_total_ += size;
  }
  awaiting_ = Awaiting::chunk;
  s.action = Action::read_chunk;
  s.chunk_size = size;
  s.last_chunk = last;
  return s;  // the reply comes after the chunk, from on_chunk
}

Step Protocol::on_chunk(BodyOutcome outcome, std::uint64_t total_size) {
  if (state_ == State::closed) return step(Reply{}, Action::close);
  assert(awaiting_ == Awaiting::chunk);
  awaiting_ = Awaiting::command;
  if (pending_chunk_refusal_) {
    Reply refusal = std::move(*pending_chunk_refusal_);
    pending_chunk_refusal_.reset();
    return finish(step(std::move(refusal)));
  }
  if (outcome == BodyOutcome::complete && total_size > connector_.max_message_size.bytes()) {
    outcome = BodyOutcome::too_large;
  }
  if (outcome != BodyOutcome::complete) {
    // The same content rules as DATA; the rest of the sequence is refused the same way, up to LAST.
    Reply failure = body_failure(outcome);
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
  const auto recipients = static_cast<std::uint32_t>(envelope_.recipients.size());
  reset_transaction();
  if (outcome == DeliveryOutcome::delivered) {
    Step s = step(reply(250, "2.6.0", "Message accepted for delivery"));
    s.source_event = reputation::Event::accepted_message;
    s.source_event_count = recipients;
    return finish(std::move(s));
  }
  return finish(step(reply(451, "4.3.0", "Temporary failure, try again later")));
}

bool Protocol::auth_offered() const {
  return connector_.auth_mechanism.has(store::AuthMechanismFlag::basic_auth) &&
         connector_.permission_groups.has(store::PermissionGroup::exchange_users);
}

Step Protocol::on_starttls(std::string_view argument) {
  // A command this connector does not offer is 502 whatever the state (it is not a sequence error).
  if (!connector_.auth_mechanism.has(store::AuthMechanismFlag::tls)) {
    return finish(step(reply(502, "5.5.1", "STARTTLS not available")));
  }
  if (state_ == State::greeted) return finish(step(send_ehlo_first()));
  if (!argument.empty()) return finish(step(reply(501, "5.5.4", "STARTTLS takes no arguments")));
  if (facts_.tls) return finish(step(reply(503, "5.5.1", "TLS already active")));
  if (!facts_.tls_available) return finish(step(tls_unavailable()));
  if (state_ != State::ready) return finish(step(reply(503, "5.5.1", "STARTTLS not allowed during a mail transaction")));
  return finish(step(reply(220, "2.0.0", "Ready to start TLS"), Action::start_tls));
}

Step Protocol::on_tls_started() {
  if (state_ == State::closed) return step(Reply{}, Action::close);
  assert(awaiting_ == Awaiting::command);
  // RFC 3207 §4.2: discard any knowledge obtained from the client, which includes an identity it
  // proved by AUTH before TLS (RFC 4954 §4 leaves AUTH after STARTTLS to the client). What the
  // connector granted (ExternalAuthoritative) is not knowledge from the client and stays.
  end_sasl();
  state_ = State::greeted;
  reset_transaction();
  helo_name_.clear();
  extended_ = false;
  if (authenticated_by_auth_) {
    facts_.authenticated = false;
    facts_.may_relay = false;
    authenticated_by_auth_ = false;
  }
  facts_.tls = true;
  return step(Reply{});
}

Step Protocol::on_auth(std::string_view argument) {
  if (!auth_offered()) return finish(step(reply(502, "5.5.1", "AUTH not available")));
  if (state_ == State::greeted) return finish(step(send_ehlo_first()));
  if (!extended_) return finish(step(reply(503, "5.5.1", "AUTH needs EHLO, not HELO")));
  if (facts_.authenticated) return finish(step(reply(503, "5.5.1", "Already authenticated")));
  if (state_ != State::ready) return finish(step(reply(503, "5.5.1", "AUTH not allowed during a mail transaction")));
  if (connector_.auth_mechanism.has(store::AuthMechanismFlag::basic_auth_require_tls) && !facts_.tls) {
    return finish(step(reply(538, "5.7.11", "Encryption required for requested authentication mechanism")));
  }

  const std::size_t space = argument.find(' ');
  const std::string_view mechanism = argument.substr(0, space);
  const std::string_view initial =
      space == std::string_view::npos ? std::string_view{} : store::trim(argument.substr(space));
  if (mechanism.empty() || initial.find_first_of(" \t") != std::string_view::npos) {
    return finish(step(reply(501, "5.5.4", "Syntax: AUTH <mechanism> [initial-response]")));
  }
  end_sasl();
  if (iequals(mechanism, "PLAIN")) {
    sasl_stage_ = SaslStage::plain;
  } else if (iequals(mechanism, "LOGIN")) {
    // LOGIN's initial response, when given, is the user name.
    sasl_stage_ = SaslStage::login_user;
  } else {
    return finish(step(reply(504, "5.5.4", "Unrecognized authentication mechanism")));
  }
  if (!initial.empty()) return on_sasl_response(initial, true);
  awaiting_ = Awaiting::sasl_response;
  // 334 is 3xx: never tarpitted. PLAIN's challenge is empty (RFC 4616).
  return finish(step(reply(334, "", sasl_stage_ == SaslStage::plain ? "" : kLoginUserChallenge)));
}

Step Protocol::on_sasl_response(std::string_view line, bool initial) {
  awaiting_ = Awaiting::command;
  if (!initial && line == "*") {
    end_sasl();
    return finish(step(reply(501, "5.0.0", "Authentication cancelled")));
  }
  // "=" stands for an empty initial response (RFC 4954 §4); on a continuation line an empty
  // response is an empty line.
  std::optional<std::string> decoded = initial && line == "=" ? std::optional<std::string>(std::string())
                                                               : decode_base64(line);
  if (!decoded) {
    end_sasl();
    return finish(step(reply(501, "5.5.2", "Cannot decode the authentication response (base64)")));
  }
  switch (sasl_stage_) {
    case SaslStage::plain: {
      Step s = plain_credentials(*decoded);
      wipe(*decoded);
      return s;
    }
    case SaslStage::login_user:
      credentials_.user = *decoded;
      sasl_stage_ = SaslStage::login_password;
      awaiting_ = Awaiting::sasl_response;
      return finish(step(reply(334, "", kLoginPasswordChallenge)));
    case SaslStage::login_password:
      credentials_.password = *decoded;
      wipe(*decoded);
      return verify();
    case SaslStage::none:
      break;
  }
  assert(false && "a SASL response without an exchange");
  end_sasl();
  return finish(step(reply(503, "5.5.1", "No authentication in progress")));
}

Step Protocol::plain_credentials(std::string_view message) {
  std::optional<PlainMessage> plain = parse_plain(message);
  if (!plain) {
    end_sasl();
    return finish(step(reply(501, "5.5.2", "Malformed PLAIN response: authzid NUL authcid NUL password expected")));
  }
  credentials_.user = plain->authcid;
  credentials_.password = plain->passwd;
  wipe(plain->passwd);
  // Acting for another identity (authzid) is not supported. Refusing it here would answer faster
  // than a real verification and tell a prober the user was never looked up; instead the session
  // verifies as usual (same work, same timing) and on_credentials_checked refuses whatever it says.
  reject_credentials_ = !plain->authzid.empty() && !iequals(plain->authzid, plain->authcid);
  return verify();
}

Step Protocol::verify() {
  sasl_stage_ = SaslStage::none;
  awaiting_ = Awaiting::credentials;
  return finish(step(Reply{}, Action::verify_credentials));
}

void Protocol::end_sasl() {
  sasl_stage_ = SaslStage::none;
  credentials_.user.clear();
  wipe(credentials_.password);
  reject_credentials_ = false;
}

Step Protocol::on_credentials_checked(CredentialCheck check) {
  if (state_ == State::closed) return step(Reply{}, Action::close);
  assert(awaiting_ == Awaiting::credentials);
  awaiting_ = Awaiting::command;
  const bool ok = check == CredentialCheck::accepted && !reject_credentials_;
  reject_credentials_ = false;
  wipe(credentials_.password);
  if (ok) {
    facts_.authenticated = true;
    facts_.may_relay = true;  // an authenticated user may send anywhere (DESIGN §5)
    authenticated_by_auth_ = true;
    return finish(step(reply(235, "2.7.0", "Authentication successful")));
  }
  ++logon_failures_;
  if (connector_.max_logon_failures > 0 && logon_failures_ > connector_.max_logon_failures) {
    Step s = step(reply(421, "4.7.0", "Too many authentication failures"), Action::close);
    if (check == CredentialCheck::rejected) s.source_event = reputation::Event::auth_failure;
    return finish(std::move(s));
  }
  if (check == CredentialCheck::locked_out) {
    // Temporary, and held like a refusal: the lockout ends, and guessing through it costs time. Held
    // at least a second even where nothing else is (TarpitInterval 00:00:00): a refusal that costs
    // nothing invites a guesser to spin on it.
    Step s = finish(step(reply(454, "4.7.0", "Temporary authentication failure, try again later")), true);
    if (s.reply.code == 454) s.hold = std::max(s.hold, kLeastAuthRefusalHold);
    return s;
  }
  // The same words whether the user exists or not.
  Step s = step(reply(535, "5.7.8", "Authentication credentials invalid"));
  s.source_event = reputation::Event::auth_failure;
  return finish(std::move(s));
}

Reply Protocol::connection_timeout() const { return reply(421, "4.4.1", "Connection timed out"); }

Reply Protocol::inactivity_timeout() const { return reply(451, "4.7.0", "Timeout waiting for client input"); }

Reply Protocol::shutting_down() const { return reply(421, "4.3.2", "Service shutting down"); }

}  // namespace transport::smtp
