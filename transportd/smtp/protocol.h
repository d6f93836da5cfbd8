// Protocol: the ESMTP state machine of one session, without I/O. The session (session.cpp) feeds it
// command lines and message bodies and does what each Step says; everything the server decides —
// replies, state checks, limits, recipient checks, which replies are held and for how long, what a step
// tells the harvest defence about the client — is decided here, so it is unit-testable with plain strings.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "store/binding.h"
#include "store/ip_range.h"
#include "store/receive_connector.h"
#include "transportd/reputation/source_reputation.h"
#include "transportd/dsn/dsn_parameters.h"
#include "transportd/routing/recipient_router.h"
#include "transportd/smtp/reply.h"

namespace transport::smtp {

// States of a session, in the order a transaction goes through them.
enum class State : std::uint8_t {
  greeted,       // banner sent; EHLO/HELO expected
  ready,         // after EHLO/HELO or RSET or a finished message; MAIL expected
  mail,          // MAIL accepted; RCPT expected
  recipients,    // at least one RCPT accepted; more RCPT, DATA or BDAT
  chunking,      // inside a BDAT sequence (non-LAST chunks received)
  closed,        // QUIT or a fatal error: the session closes after writing the reply
};

// What the session must do after writing (or tarpitting, then writing) a Step's reply.
enum class Action : std::uint8_t {
  read_command,  // read the next command line
  read_data,     // reply was 354: read a dot-terminated body, then call on_message()
  read_chunk,    // BDAT: read exactly chunk_size octets, then call on_chunk()
  deliver,       // the message is complete: deliver envelope() + body, then call on_delivered()
  close,         // write the reply, then close the connection
  start_tls,     // reply was 220 to STARTTLS: discard any input already buffered (RFC 3207 §6: no
                 // command pipelined behind STARTTLS may run), run the TLS handshake, then call
                 // on_tls_started(); a failed handshake closes the connection
  verify_credentials,  // AUTH gathered credentials(): look the user up and verify the password off
                       // the I/O threads, then call on_credentials_checked()
};

// Why a RCPT was refused (for metrics and tracking: the session never reads reply text for it).
enum class RecipientRefusal : std::uint8_t {
  none,          // not a RCPT, or the RCPT was accepted
  sequence,      // RCPT out of order (503): no recipient was checked
  syntax,        // 501 path syntax, 553 5.6.7 UTF-8 address without SMTPUTF8, 555 parameters
  limit,         // 452 4.5.3 MaxRecipientsPerMessage
  relay,         // 550 5.7.1 not an accepted domain and the session may not relay
  no_route,      // 550 5.4.4 the session may relay but no send connector routes the domain
  blocked,       // 550 5.1.1 on the block list
  unknown_user,  // 550 5.1.1 Authoritative domain, validation on, no such mailbox or alias
};

struct Step {
  Reply reply;                    // empty (code 0) when there is nothing to write (BDAT non-LAST chunk
                                  // replies are still written: RFC 3030 answers every chunk)
  Action action = Action::read_command;
  std::chrono::seconds hold{0};   // hold this reply this long before writing it (the tarpit, DESIGN §5/§10)
  bool starts_message = false;    // read_data, or the first read_chunk of a message: whatever was kept of
                                  // an earlier transaction is gone; a new message starts here
  bool last_chunk = false;        // read_chunk of BDAT ... LAST: the message ends with this chunk
  std::uint64_t chunk_size = 0;   // for read_chunk
  RecipientRefusal refusal = RecipientRefusal::none;  // RCPT: why it was refused
  std::string recipient;          // RCPT: the address as parsed (no brackets, no source route;
                                  // "Postmaster" as sent); empty when the path did not parse
  bool answers_rcpt = false;      // the reply is a RCPT's verdict (uniform timing holds these, 250 included)
  // What this step tells the harvest defence about the client (the session reports it to the source
  // reputation): a refused or accepted recipient, an accepted message of `source_event_count`
  // recipients, a failed AUTH.
  std::optional<reputation::Event> source_event;
  std::uint32_t source_event_count = 1;

  bool held() const { return hold.count() > 0; }
};

// What the session found when it verified AUTH credentials.
enum class CredentialCheck : std::uint8_t {
  accepted,    // the mailbox exists and the password matches
  rejected,    // unknown user or wrong password (the same answer for both)
  locked_out,  // not verified: the client's address is locked out of AUTH for guessing (DESIGN §10), or
               // has more verifications waiting than its fair share
};

// Facts about the connection that the protocol's decisions depend on.
struct SessionFacts {
  store::IpAddress remote;
  store::Binding local;
  bool authenticated = false;  // ExternalAuthoritative connectors start authenticated; AUTH sets it.
                               // The tarpit reads only this flag.
  bool may_relay = false;      // relay permission to any domain: an ExternalAuthoritative connector's
                               // sessions, and sessions authenticated by AUTH (DESIGN §5)
  bool tls = false;            // the session runs inside TLS (after STARTTLS)
  bool tls_available = true;   // the connector's certificate pair loaded: false stops STARTTLS from
                               // being offered (454 4.7.0 if asked, and to MAIL on RequireTLS)
};

// What a connector grants each of its sessions before the client says a word: an ExternalAuthoritative
// connector's (trusted hosts) start authenticated and may relay (DESIGN §3). The listener sets the
// facts with this, so that the tests exercise what the daemon does.
void grant_connector_trust(const store::ReceiveConnector& connector, SessionFacts& facts);

// What AUTH PLAIN / LOGIN gathered, for the session to verify.
struct Credentials {
  std::string user;      // the authentication identity (an address of a mailbox)
  std::string password;  // cleared by on_credentials_checked()
};

// One accepted recipient and where it goes.
struct Recipient {
  std::string address;                       // as given in RCPT TO (without brackets; "Postmaster"
                                             // without a domain, as sent, for the server's postmaster)
  routing::Verdict destination = routing::Verdict::local;  // local, relay or non_delivery
  const store::Mailbox* mailbox = nullptr;   // local delivery target
  dsn::RecipientParameters dsn;              // NOTIFY= and ORCPT= (RFC 3461)

  // Whether it goes through the queue: relayed, due a non-delivery report, or a local recipient whose
  // sender asked to be told of its delivery (NOTIFY=SUCCESS: the queue's mailbox delivery reports it).
  bool queued() const { return destination != routing::Verdict::local || dsn.notify.success; }
};

struct Envelope {
  std::string mail_from;  // reverse-path without brackets; empty for the null sender <>
  std::vector<Recipient> recipients;
  bool eight_bit = false;         // BODY=8BITMIME
  bool smtputf8 = false;          // MAIL's SMTPUTF8 parameter (RFC 6531): UTF-8 addresses and headers
  std::uint64_t declared_size = 0;  // SIZE=, 0 when not given
  dsn::MailParameters dsn;          // RET= and ENVID= (RFC 3461)

  // Whether any recipient goes through the queue (Recipient::queued).
  bool needs_queue() const;
};

// How reading a DATA body ended (the session's body reader reports this).
enum class BodyOutcome : std::uint8_t {
  complete,          // the terminating "." line arrived
  too_large,         // exceeded MaxMessageSize (the rest was read and discarded up to the ".")
  header_too_large,  // the header section exceeded MaxHeaderSize
  line_too_long,     // a text line over 1000 octets including CRLF (RFC 5321 §4.5.3.1.6)
  bare_line_feed,    // an LF not preceded by CR (refused: bare LF is how SMTP smuggling starts)
  bare_carriage_return,  // a CR not followed by LF (refused for the same reason)
  nul_byte,          // a NUL octet (RFC 5321 §4.5.2 text may not hold one)
};

enum class DeliveryOutcome : std::uint8_t { delivered, failed };

class Protocol {
 public:
  // `connector` and `recipients` belong to the snapshot the session started with and outlive it.
  Protocol(const store::ReceiveConnector& connector, const routing::RecipientRouter& recipients, SessionFacts facts);

  // The 220 greeting (the connector's Banner, or "220 <Fqdn> ESMTP transportd ready").
  Reply greeting() const;
  // How long the greeting is held: a Discredited client waits for its banner (DESIGN §10).
  std::chrono::seconds greeting_hold() const;

  // How the harvest defence judges the client now (from the source reputation; updated by the session
  // after every event it reports). Holds are decided with the judgement in force when a reply is made.
  void set_judgement(const reputation::Judgement& judgement) { judgement_ = judgement; }
  const reputation::Judgement& judgement() const { return judgement_; }
  // The session's own evidence: its refusals outnumber its acceptances after two (DESIGN §10), so its
  // RCPT replies are held uniformly even while its source is still Clean.
  bool uniform_timing() const;

  // One command line without its CRLF. Lines over 1012 octets (512, plus RFC 3461's 500 for DSN
  // parameters) never get here: see on_overlong_line.
  Step on_command(std::string_view line);
  // The client sent a command line over 1012 octets (the session discarded it up to its CRLF).
  Step on_overlong_line();
  // After read_data: how the body ended and its size.
  Step on_message(BodyOutcome outcome, std::uint64_t size);
  // After read_chunk: the chunk was read. `outcome` is the body reader's verdict on the message so far
  // (for the LAST chunk, on the whole message); `total_size` is the message so far.
  Step on_chunk(BodyOutcome outcome, std::uint64_t total_size);
  // After deliver.
  Step on_delivered(DeliveryOutcome outcome);
  // After start_tls, once the handshake succeeded (RFC 3207 §4.2): everything learned from the client
  // is forgotten — EHLO name, transaction, an AUTH exchange, and an identity established by AUTH
  // before TLS (an authentication the connector granted, ExternalAuthoritative, stays). State goes
  // back to greeted and facts().tls becomes true. Returns an empty reply and read_command.
  Step on_tls_started();
  // After verify_credentials: what AUTH gathered. The password is cleared by on_credentials_checked.
  const Credentials& credentials() const { return credentials_; }
  // After verify_credentials: what the session found.
  // Accepted: 235 2.7.0 and the session is authenticated (no reply is held from then on).
  // Rejected: 535 5.7.8, the same reply whether the user exists or not; a source event auth_failure.
  // Locked out: 454 4.7.0, held like a refusal (at least a second, even on a connector without a
  // tarpit), whatever the password. Both count as logon failures: the
  // one after the connector's MaxLogonFailures (0: never) is 421 4.7.0 with close instead.
  Step on_credentials_checked(CredentialCheck check);
  // Timeouts and shutdown, decided by the session's watchdog: the reply to send before closing.
  Reply connection_timeout() const;    // 421 4.4.1
  Reply inactivity_timeout() const;    // 451 4.7.0
  Reply shutting_down() const;         // 421 4.3.2

  State state() const { return state_; }
  const Envelope& envelope() const { return envelope_; }
  std::string_view helo_name() const { return helo_name_; }
  const SessionFacts& facts() const { return facts_; }
  bool authenticated() const { return facts_.authenticated; }
  // For the Received: header's protocol name (RFC 3848): EHLO rather than HELO, and whether the
  // client authenticated with AUTH (an ExternalAuthoritative connector's trust is not SMTP AUTH).
  bool extended() const { return extended_; }
  bool authenticated_by_auth() const { return authenticated_by_auth_; }
  bool in_message() const;  // between DATA/BDAT start and the final reply (graceful shutdown waits)
  // The next line answers an AUTH challenge: it holds credentials and must never be logged.
  bool expecting_sasl_response() const { return awaiting_ == Awaiting::sasl_response; }
  // During read_chunk: whether the chunk being read is part of an accepted message. When false, the
  // BDAT is refused (on_chunk will say why): read the announced octets and drop them.
  bool keep_chunk() const { return !pending_chunk_refusal_.has_value(); }

 private:
  // What the protocol waits for from the session besides a command line.
  enum class Awaiting : std::uint8_t {
    command, body, chunk, delivery,
    sasl_response,  // an AUTH exchange sent 334: the next line is its response (see sasl_stage_)
    credentials,    // verify_credentials: on_credentials_checked is next
  };
  // Which response an AUTH exchange waits for.
  enum class SaslStage : std::uint8_t { none, plain, login_user, login_password };

  Step on_ehlo(std::string_view argument, bool extended);
  Step on_mail(std::string_view argument);
  Step on_rcpt(std::string_view argument);
  Step on_data(std::string_view argument);
  Step on_bdat(std::string_view argument);
  Step on_starttls(std::string_view argument);
  Step on_auth(std::string_view argument);
  // One line of an AUTH exchange (a response to 334, or the initial response of AUTH).
  Step on_sasl_response(std::string_view line, bool initial);
  // A PLAIN message (decoded) is complete: credentials to verify.
  Step plain_credentials(std::string_view message);
  // Credentials gathered: ask the session to verify them.
  Step verify();
  // Ends an AUTH exchange (cancelled, failed or done): nothing secret stays behind.
  void end_sasl();
  bool auth_offered() const;  // BasicAuth and ExchangeUsers on this connector
  // The reply to a BDAT that will be refused, or nullopt when its chunk is accepted.
  std::optional<Reply> bdat_refusal(std::uint64_t size, bool last);
  // Every Step passes here: counts protocol errors (maybe replacing the reply with 421 and close) and
  // decides how long the reply is held.
  Step finish(Step step, bool always_tarpit = false);
  std::chrono::seconds hold_for(const Step& step, bool always_tarpit) const;
  void reset_transaction();

  const store::ReceiveConnector& connector_;
  const routing::RecipientRouter& recipients_;
  SessionFacts facts_;
  State state_ = State::greeted;
  Envelope envelope_;
  std::string helo_name_;
  std::int64_t protocol_errors_ = 0;
  bool bdat_last_ = false;
  bool in_message_ = false;
  bool extended_ = false;                 // EHLO (not HELO): BDAT allowed
  Awaiting awaiting_ = Awaiting::command;
  std::uint64_t pending_chunk_size_ = 0;
  std::optional<Reply> pending_chunk_refusal_;
  std::optional<Reply> chunk_failure_;    // a BDAT sequence failed: its later chunks get this, up to LAST
  std::uint64_t chunk_total_ = 0;         // octets of the accepted chunks of the current message
  std::unordered_set<std::string> recipient_keys_;  // one delivery target per mailbox / address
  SaslStage sasl_stage_ = SaslStage::none;
  Credentials credentials_;
  bool reject_credentials_ = false;       // PLAIN authzid differs from authcid: verified, then refused
  bool authenticated_by_auth_ = false;    // facts_.authenticated came from AUTH, not the connector
  std::int32_t logon_failures_ = 0;
  reputation::Judgement judgement_;
  std::uint32_t session_refusals_ = 0;    // RCPTs refused for a reason the harvest defence counts
  std::uint32_t session_acceptances_ = 0;
};

}  // namespace transport::smtp
