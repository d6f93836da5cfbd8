// Fuzz target: the whole ESMTP state machine (transportd/smtp/protocol.*) driven the way
// smtp/session.cpp drives it, with the session's own MessageIntake (smtp/message_intake.*) for DATA and
// BDAT, over one client byte stream.
//
// Input layout:
//   bytes 0-3   the connector and the session (see Setup below): extensions on/off, AuthMechanism,
//               PermissionGroups, authenticated from the start, relay, tarpit, limits, recipient
//               filter switches, whether the TLS handshake and deliveries succeed
//   the rest    what the client sends: command lines (split at LF, a CR before it dropped, lines
//               over 512 octets discarded up to their LF and answered by on_overlong_line), DATA
//               bodies and BDAT chunks (exactly the announced octets) through MessageIntake, AUTH
//               responses. Credentials are accepted when they name a mailbox and its password
//               ("secret" for alice@example.com and its alias al@example.com, "hunter2" for bob).
//
// Invariants checked on every Step (asserts inside protocol.cpp are enabled too):
//  - replies: code 0 (nothing to write) or 2xx-5xx; an enhanced code, when present, is d.d.d with
//    the reply's class; the wire form is whole CRLF lines "ddd-"/"ddd " of at most 512 octets with no
//    stray CR or LF; a code 0 only where the contract allows it (BDAT, deliver, verify, after STARTTLS,
//    and once closed).
//  - tarpit: only for an unauthenticated session, a non-zero TarpitInterval and a 5xx (or VRFY/EXPN's
//    252), or any RCPT verdict of a session whose refusals outnumbered its acceptances after two
//    (uniform timing, decided before the verdict); always TarpitInterval long (the source is Clean);
//    and every 5xx to an unauthenticated session is tarpitted (the product's promise); 334 and 4xx
//    other than a uniform RCPT verdict never.
//  - actions: close leaves the state closed, and a closed protocol answers nothing more; read_data
//    comes with 354 from the recipients state; start_tls with 220 outside TLS; a SASL response is
//    expected only right after a 334.
//  - delivery: at least one recipient, each accepted by the router with the destination and mailbox
//    the envelope records (a mailbox, a send connector, or a non-delivery report), no mailbox twice, no
//    more than MaxRecipientsPerMessage; DSN parameters (RFC 3461) as the parsers allow them; a valid or
//    null sender; the body within
//    MaxMessageSize and made only of octets sent inside its own transaction (nothing of an aborted
//    BDAT sequence); BODY=8BITMIME only when offered; TLS when RequireTLS; the session authenticated
//    or AnonymousUsers permitted.
//  - limits: no more 500/501/503 replies than MaxProtocolErrors before the 421; no more 535s than
//    MaxLogonFailures before the 421.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>

#include "store/configuration.h"
#include "store/mailbox.h"
#include "store/send_connector.h"
#include "tests/fuzz/fuzz_check.h"
#include "transportd/dsn/dsn_parameters.h"
#include "transportd/routing/recipient_router.h"
#include "transportd/smtp/command_parser.h"
#include "transportd/smtp/message_intake.h"
#include "transportd/smtp/protocol.h"
#include "transportd/smtp/reply.h"

namespace {

using transport::fuzz::escaped;
using namespace transport;
using namespace transport::smtp;

constexpr std::size_t kMaxCommandLine = 512;  // as in session.cpp, CRLF included

// Graphic US-ASCII and space: what a decoded ENVID may hold (RFC 3461 §4.4).
bool printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
}

constexpr std::array<std::uint64_t, 8> kMessageSizes{0, 10, 100, 1000, 4096, 64 * 1024, 10 * 1024 * 1024, UINT64_MAX};
constexpr std::array<std::uint64_t, 8> kHeaderSizes{0, 10, 50, 200, 1000, 4096, 64 * 1024, UINT64_MAX};

// The directory: example.com Authoritative (alice with an alias, bob), *.relay.test InternalRelay,
// ext.test ExternalRelay, a block list; send connectors for *.relay.test and partner.test (a domain a
// session that may relay can reach), none for ext.test (550 5.4.4). Four variants: validation and
// block list on/off.
struct Directory {
  store::Configuration config;
  std::unique_ptr<routing::RecipientRouter> index;

  Directory(bool validation, bool block_list) {
    auto domain = [](std::string name, store::DomainType type) {
      store::AcceptedDomain d;
      d.name = name;
      d.domain_name = std::move(name);
      d.domain_type = type;
      return d;
    };
    config.accepted_domains = {domain("example.com", store::DomainType::authoritative),
                               domain("*.relay.test", store::DomainType::internal_relay),
                               domain("ext.test", store::DomainType::external_relay)};
    store::Mailbox alice;
    alice.primary_smtp_address = "alice@example.com";
    alice.email_addresses = {"al@example.com"};
    store::Mailbox bob;
    bob.primary_smtp_address = "bob@example.com";
    config.mailboxes = {alice, bob};
    config.recipient_filter.recipient_validation_enabled = validation;
    config.recipient_filter.block_list_enabled = block_list;
    config.recipient_filter.blocked_recipients = {"blocked@example.com", "bad@x.relay.test"};
    store::SendConnector relay;
    relay.name = "Fuzz relay";
    relay.address_spaces = {store::AddressSpace::parse("*.relay.test"), store::AddressSpace::parse("partner.test;5")};
    relay.smart_hosts = {store::SmartHost::parse("smarthost.example.net")};
    relay.dns_routing_enabled = false;
    config.send_connectors = {relay};
    index = std::make_unique<routing::RecipientRouter>(config);
  }

  bool password_matches(const store::Mailbox& mailbox, std::string_view password) const {
    return password == (mailbox.primary_smtp_address == "alice@example.com" ? "secret" : "hunter2");
  }
};

const Directory& directory(bool validation, bool block_list) {
  static const std::array<Directory, 4> directories{Directory(false, false), Directory(false, true),
                                                    Directory(true, false), Directory(true, true)};
  return directories[(validation ? 2 : 0) + (block_list ? 1 : 0)];
}

struct Setup {
  store::ReceiveConnector connector;
  SessionFacts facts;
  bool validation = true;
  bool block_list = false;
  bool tls_fails = false;
  bool delivery_fails = false;
};

Setup setup(const std::uint8_t* c) {
  Setup s;
  store::ReceiveConnector& k = s.connector;
  k.name = "Fuzz";
  k.fqdn = "mx.example.com";
  k.chunking_enabled = c[0] & 1;
  k.pipelining_enabled = c[0] & 2;
  k.eight_bit_mime_enabled = c[0] & 4;
  k.enhanced_status_codes_enabled = c[0] & 8;
  k.require_tls = c[0] & 16;
  store::AuthMechanism auth;
  if ((c[0] & 32) || k.require_tls) auth = auth.with(store::AuthMechanismFlag::tls);  // RequireTLS needs Tls
  if (c[0] & 64) auth = auth.with(store::AuthMechanismFlag::basic_auth);
  // BasicAuthRequireTLS needs BasicAuth and Tls (parse_auth_mechanism's rule).
  if ((c[0] & 128) && auth.has(store::AuthMechanismFlag::basic_auth) && auth.has(store::AuthMechanismFlag::tls)) {
    auth = auth.with(store::AuthMechanismFlag::basic_auth_require_tls);
  }
  k.auth_mechanism = auth;
  store::PermissionGroups groups;
  if (c[1] & 1) groups = groups.with(store::PermissionGroup::anonymous_users);
  if (c[1] & 2) groups = groups.with(store::PermissionGroup::exchange_users);
  k.permission_groups = groups;
  s.facts.authenticated = c[1] & 4;  // as an ExternalAuthoritative connector grants
  s.facts.may_relay = c[1] & 8;
  k.tarpit_interval = store::TimeSpan::from_seconds((c[1] & 16) ? 5 : 0);
  k.max_protocol_errors = (c[1] & 32) ? store::CountLimit{} : store::CountLimit{(c[3] >> 4) & 3};
  s.validation = c[1] & 64;
  s.block_list = c[1] & 128;
  k.max_message_size = store::ByteSize(kMessageSizes[c[2] & 7]);
  k.max_header_size = store::ByteSize(kHeaderSizes[(c[2] >> 3) & 7]);
  s.tls_fails = c[2] & 64;
  s.delivery_fails = c[2] & 128;
  k.max_recipients_per_message = 1 + (c[3] & 15);
  k.max_logon_failures = (c[3] >> 6) & 3;
  s.facts.remote = store::IpAddress::v4(0xc000020a);  // 192.0.2.10
  s.facts.local = store::Binding{store::IpAddress::v4(0), 25};
  return s;
}

class Driver {
 public:
  Driver(const Setup& setup, std::string_view stream)
      : setup_(setup),
        directory_(directory(setup.validation, setup.block_list)),
        protocol_(setup_.connector, *directory_.index, setup_.facts),
        in_(stream) {}

  void run() {
    const Reply greeting = protocol_.greeting();
    FUZZ_CHECK(greeting.code == 220, "greeting " + std::to_string(greeting.code));
    check_wire(greeting);
    // Every command line consumes at least its LF, so this ends.
    while (pos_ < in_.size()) {
      std::string_view line;
      const std::optional<bool> whole = next_line(line);
      if (!whole) break;  // the client stopped in the middle of a line
      last_line_ = line;
      const bool was_closed = protocol_.state() == State::closed;
      const bool secret = protocol_.expecting_sasl_response();
      FUZZ_CHECK(secret == last_was_334_, "expecting_sasl_response without a 334 before it (or the reverse)");
      Step step = *whole ? protocol_.on_command(line) : protocol_.on_overlong_line();
      if (was_closed) {
        FUZZ_CHECK(step.reply.code == 0 && step.action == Action::close, "a closed protocol answered");
        return;
      }
      if (!perform(std::move(step))) return;
    }
  }

 private:
  // session.cpp's next_line: a line up to LF (a CR before it dropped), at most 512 octets with its
  // LF; a longer one is discarded up to its LF and reported as overlong (nullopt: no LF arrived).
  std::optional<bool> next_line(std::string_view& line) {
    const std::string_view pending = in_.substr(pos_);
    const std::size_t newline = pending.substr(0, kMaxCommandLine).find('\n');
    if (newline == std::string_view::npos) {
      if (pending.size() < kMaxCommandLine) return std::nullopt;
      const std::size_t end = pending.find('\n');
      if (end == std::string_view::npos) return std::nullopt;
      pos_ += end + 1;
      return false;
    }
    line = pending.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ += newline + 1;
    return true;
  }

  // session.cpp's perform: carries out a Step and the ones that follow. False: the session ends.
  bool perform(Step step) {
    while (true) {
      check_step(step);
      if (intake_.follow(step, protocol_, setup_.connector, kTrace)) message_octets_ = 0;
      switch (step.action) {
        case Action::read_command:
          return true;
        case Action::close:
          return false;
        case Action::read_data: {
          const std::size_t consumed = intake_.feed(in_.substr(pos_));
          message_octets_ += consumed;
          pos_ += consumed;
          if (!intake_.done()) return false;  // the client went away mid-body
          step = protocol_.on_message(intake_.outcome(), intake_.size());
          break;
        }
        case Action::read_chunk: {
          if (in_.size() - pos_ < step.chunk_size) return false;  // the client went away mid-chunk
          const std::string_view chunk = in_.substr(pos_, static_cast<std::size_t>(step.chunk_size));
          pos_ += chunk.size();
          if (protocol_.keep_chunk() && intake_.active()) {
            intake_.feed(chunk);
            message_octets_ += chunk.size();
            if (step.last_chunk) intake_.finish_chunks();
          }
          step = protocol_.on_chunk(intake_.outcome(), intake_.size());
          break;
        }
        case Action::deliver:
          check_delivery();
          step = protocol_.on_delivered(setup_.delivery_fails ? DeliveryOutcome::failed : DeliveryOutcome::delivered);
          break;
        case Action::start_tls:
          if (setup_.tls_fails) return false;
          step = protocol_.on_tls_started();
          FUZZ_CHECK(protocol_.facts().tls && protocol_.state() == State::greeted, "after the TLS handshake");
          break;
        case Action::verify_credentials: {
          const Credentials& credentials = protocol_.credentials();
          const store::Mailbox* mailbox = directory_.index->find_mailbox(credentials.user);
          const bool accepted = mailbox != nullptr && directory_.password_matches(*mailbox, credentials.password);
          step = protocol_.on_credentials_checked(accepted ? CredentialCheck::accepted : CredentialCheck::rejected);
          FUZZ_CHECK(protocol_.credentials().password.empty(), "the password outlived its check");
          break;
        }
      }
    }
  }

  std::string where() const {
    return "\nafter line \"" + escaped(last_line_) + "\" (stream offset " + std::to_string(pos_) + ")";
  }

  void check_wire(const Reply& reply) {
    // append_reply is deterministic and most replies are fixed texts: check each distinct one once
    // per process (it is the costliest check, and the fuzzer's time is better spent elsewhere).
    static std::unordered_set<std::string> checked;
    std::string key = setup_.connector.enhanced_status_codes_enabled ? "E" : "-";
    key += std::to_string(reply.code);
    key += '|';
    key += reply.enhanced;
    key += '|';
    key += reply.text;
    if (checked.contains(key)) return;
    if (checked.size() > 10000) checked.clear();
    checked.insert(std::move(key));
    std::string wire;
    append_reply(wire, reply, setup_.connector.enhanced_status_codes_enabled);
    const std::string code = std::to_string(reply.code);
    std::string_view rest = wire;
    FUZZ_CHECK(rest.ends_with("\r\n"), "reply does not end with CRLF: " + escaped(wire));
    while (!rest.empty()) {
      const std::size_t crlf = rest.find("\r\n");
      const std::string_view line = rest.substr(0, crlf);
      rest.remove_prefix(crlf + 2);
      FUZZ_CHECK(line.size() + 2 <= 512, "reply line over 512 octets" + where());
      FUZZ_CHECK(line.substr(0, 3) == code, "reply line without its code: " + escaped(wire));
      FUZZ_CHECK(line.size() == 3 || line[3] == (rest.empty() ? ' ' : '-'), "continuation mark: " + escaped(wire));
      FUZZ_CHECK(line.find_first_of("\r\n") == std::string_view::npos, "stray CR/LF in a reply: " + escaped(wire));
    }
  }

  void check_step(const Step& step) {
    const Reply& reply = step.reply;
    const int code = reply.code;
    const auto what = [&] { return std::to_string(code) + " " + reply.enhanced + " " + escaped(reply.text) + where(); };
    const bool authenticated = protocol_.authenticated();
    FUZZ_CHECK(code == 0 || (code >= 200 && code <= 599), "reply code " + what());
    if (code == 0) {
      FUZZ_CHECK(step.action == Action::read_chunk || step.action == Action::deliver ||
                     step.action == Action::verify_credentials || step.action == Action::read_command ||
                     step.action == Action::close,
                 "no reply with this action: " + what());
      FUZZ_CHECK(step.action != Action::read_command || protocol_.facts().tls,
                 "a silent step outside STARTTLS: " + what());
    } else {
      check_wire(reply);
      if (!reply.enhanced.empty()) {
        const std::string& e = reply.enhanced;
        FUZZ_CHECK(e.size() >= 5 && e[0] == static_cast<char>('0' + code / 100) && e[1] == '.' &&
                       e.find_first_not_of("0123456789.") == std::string::npos && e.find("..") == std::string::npos &&
                       std::count(e.begin(), e.end(), '.') == 2 && e.back() != '.',
                   "enhanced code of another class or malformed: " + what());
      }
    }
    // The tarpit, and the session's own uniform timing (its source is Clean here): decided on the
    // evidence before this step, so a RCPT verdict is held exactly when a refusal would have been.
    const bool tarpit_on = setup_.connector.tarpit_interval.seconds() > 0;
    const bool uniform_before = uniform_timing_;
    uniform_timing_ = protocol_.uniform_timing();
    if (step.held()) {
      FUZZ_CHECK(!authenticated && tarpit_on &&
                     (code >= 500 || code == 252 || (step.answers_rcpt && uniform_before)),
                 "tarpitted: " + what());
      FUZZ_CHECK(step.hold == setup_.connector.tarpit_interval.value(), "held for another interval: " + what());
    }
    if (code >= 500 && !authenticated && tarpit_on)
      FUZZ_CHECK(step.held(), "a 5xx to an anonymous client not tarpitted: " + what());
    if (step.answers_rcpt && uniform_before && !authenticated && tarpit_on)
      FUZZ_CHECK(step.held(), "a RCPT verdict of a uniform session not held: " + what());
    // Actions.
    switch (step.action) {
      case Action::close:
        FUZZ_CHECK(protocol_.state() == State::closed && !protocol_.in_message(),
                   "close without closed state: " + what());
        break;
      case Action::read_data:
        FUZZ_CHECK(code == 354 && protocol_.in_message() && !protocol_.envelope().recipients.empty(),
                   "read_data: " + what());
        break;
      case Action::start_tls:
        FUZZ_CHECK(code == 220 && !protocol_.facts().tls && protocol_.state() == State::ready, "start_tls: " + what());
        FUZZ_CHECK(setup_.connector.auth_mechanism.has(store::AuthMechanismFlag::tls),
                   "STARTTLS not offered: " + what());
        break;
      case Action::verify_credentials:
        FUZZ_CHECK(code == 0 && !authenticated && protocol_.state() == State::ready, "verify_credentials: " + what());
        break;
      case Action::deliver:
        FUZZ_CHECK(code == 0 && protocol_.in_message(), "deliver: " + what());
        break;
      case Action::read_chunk:
        FUZZ_CHECK(code == 0, "read_chunk: " + what());
        break;
      case Action::read_command:
        break;
    }
    if (step.action != Action::close) FUZZ_CHECK(protocol_.state() != State::closed, "closed without close: " + what());
    if (code == 334) FUZZ_CHECK(!step.held() && protocol_.expecting_sasl_response(), "334: " + what());
    last_was_334_ = code == 334;
    if (code == 235) FUZZ_CHECK(authenticated, "235 without authentication: " + what());
    // Error budgets.
    if (code == 500 || code == 501 || code == 503) ++protocol_errors_;
    if (setup_.connector.max_protocol_errors) {
      FUZZ_CHECK(protocol_errors_ <= *setup_.connector.max_protocol_errors,
                 "protocol errors over the limit: " + what());
    }
    if (code == 535) ++logon_failures_;
    if (setup_.connector.max_logon_failures > 0) {
      FUZZ_CHECK(logon_failures_ <= setup_.connector.max_logon_failures, "logon failures over the limit: " + what());
    }
  }

  void check_delivery() {
    const Envelope& envelope = protocol_.envelope();
    const store::ReceiveConnector& k = setup_.connector;
    const auto what = [&] { return "delivery of \"" + escaped(envelope.mail_from) + "\"" + where(); };
    FUZZ_CHECK(!envelope.recipients.empty(), "no recipients: " + what());
    FUZZ_CHECK(envelope.recipients.size() <= static_cast<std::size_t>(k.max_recipients_per_message),
               "too many recipients: " + what());
    FUZZ_CHECK(envelope.mail_from.empty() || is_valid_mailbox(envelope.mail_from, envelope.smtputf8),
               "sender: " + what());
    FUZZ_CHECK(!envelope.smtputf8 || k.eight_bit_mime_enabled, "SMTPUTF8 without 8BITMIME: " + what());
    FUZZ_CHECK(intake_.active() && intake_.done() && intake_.outcome() == BodyOutcome::complete,
               "delivery of a message not wholly received: " + what());
    FUZZ_CHECK(intake_.size() <= k.max_message_size.bytes(), "body over MaxMessageSize: " + what());
    // DATA's stuffing and terminator only shrink a body; BDAT's last line may gain its CRLF.
    FUZZ_CHECK(intake_.size() <= message_octets_ + 2, "octets from outside the transaction in the message: " + what());
    FUZZ_CHECK(intake_.buffer().size() >= kTrace.size() - 1 && intake_.buffer().find('\r') == std::string::npos,
               "stored form: trace first, LF line ends: " + what());
    FUZZ_CHECK(envelope.declared_size <= k.max_message_size.bytes(), "SIZE= over MaxMessageSize: " + what());
    FUZZ_CHECK(!envelope.eight_bit || k.eight_bit_mime_enabled, "8BITMIME not offered: " + what());
    FUZZ_CHECK(!k.require_tls || protocol_.facts().tls, "RequireTLS without TLS: " + what());
    FUZZ_CHECK(protocol_.authenticated() || k.permission_groups.has(store::PermissionGroup::anonymous_users),
               "anonymous delivery without AnonymousUsers: " + what());
    FUZZ_CHECK(envelope.dsn.envid.size() <= 100 && printable(envelope.dsn.envid), "ENVID: " + what());
    std::set<std::string> keys;
    for (const Recipient& r : envelope.recipients) {
      // "<Postmaster>" without a domain goes to the server's postmaster (RFC 5321 §4.5.1).
      const bool postmaster = store::address_key(r.address) == "postmaster";
      FUZZ_CHECK(postmaster || is_valid_mailbox(r.address, envelope.smtputf8),
                 "recipient \"" + escaped(r.address) + "\": " + what());
      const routing::Decision decision =
          postmaster ? directory_.index->postmaster() : directory_.index->check(r.address, protocol_.facts().may_relay);
      FUZZ_CHECK(routing::accepted(decision.verdict) && decision.verdict == r.destination && decision.mailbox == r.mailbox,
                 "recipient not accepted by the filter: \"" + escaped(r.address) + "\": " + what());
      const std::string key = store::address_key(r.mailbox ? r.mailbox->primary_smtp_address : r.address);
      FUZZ_CHECK(keys.insert(key).second, "one mailbox twice: \"" + escaped(r.address) + "\": " + what());
      const dsn::Notify& n = r.dsn.notify;
      FUZZ_CHECK(n.given || (!n.never && !n.success && n.failure && n.delay), "NOTIFY default: " + what());
      FUZZ_CHECK(!n.never || (!n.success && !n.failure && !n.delay), "NOTIFY=NEVER with others: " + what());
      FUZZ_CHECK(!n.given || n.never || n.success || n.failure || n.delay, "NOTIFY asks for nothing: " + what());
      FUZZ_CHECK(r.dsn.orcpt.empty() || r.dsn.orcpt.find(';') != std::string::npos, "ORCPT: " + what());
      FUZZ_CHECK(r.dsn.orcpt.size() <= 500, "ORCPT over 500 characters: " + what());
    }
  }

  const Setup& setup_;
  const Directory& directory_;
  Protocol protocol_;
  std::string_view in_;
  std::size_t pos_ = 0;
  std::string_view last_line_;
  static constexpr std::string_view kTrace = "Received: by fuzz\r\n";
  MessageIntake intake_;
  bool uniform_timing_ = false;  // the protocol's uniform_timing() after the last step
  std::uint64_t message_octets_ = 0;  // octets the client sent as this message's body or chunks
  bool last_was_334_ = false;
  std::int64_t protocol_errors_ = 0;
  std::int32_t logon_failures_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  const Setup s = setup(data);
  // An exact-size copy, so that ASan catches a read past the stream.
  const std::string stream(reinterpret_cast<const char*>(data) + 4, size - 4);
  Driver(s, stream).run();
  return 0;
}
