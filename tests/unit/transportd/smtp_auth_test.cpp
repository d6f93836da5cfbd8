// STARTTLS, AUTH (PLAIN, LOGIN), permission groups and RequireTLS in the protocol: EHLO keywords per
// connector flags and session facts, every refusal, the SASL exchanges, the TLS reset, logon failures
// and what authentication changes (tarpit, relay permission) and does not change (recipient filter,
// the need for a send connector).
#include "transportd/smtp/protocol.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/unit/support/directory_builders.h"

namespace transport::smtp {
namespace {

using store::AuthMechanism;
using store::AuthMechanismFlag;
using store::PermissionGroup;
using store::PermissionGroups;

constexpr AuthMechanismFlag kTls = AuthMechanismFlag::tls;
constexpr AuthMechanismFlag kBasic = AuthMechanismFlag::basic_auth;
constexpr AuthMechanismFlag kBasicTls = AuthMechanismFlag::basic_auth_require_tls;
constexpr AuthMechanismFlag kExternal = AuthMechanismFlag::external_authoritative;
constexpr PermissionGroup kAnonymous = PermissionGroup::anonymous_users;
constexpr PermissionGroup kUsers = PermissionGroup::exchange_users;
constexpr PermissionGroup kServers = PermissionGroup::exchange_servers;
constexpr Action kRead = Action::read_command;

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, in.size() - i);
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 3; ++k) {
      group = (group << 8) | (k < n ? static_cast<unsigned char>(in[i + k]) : 0u);
    }
    for (std::size_t k = 0; k < 4; ++k) {
      out.push_back(k <= n ? kAlphabet[(group >> (18 - 6 * k)) & 63] : '=');
    }
  }
  return out;
}

std::string plain(std::string_view authzid, std::string_view authcid, std::string_view password) {
  std::string message(authzid);
  message.push_back('\0');
  message.append(authcid);
  message.push_back('\0');
  message.append(password);
  return base64(message);
}

// example.com (Authoritative: alice), a connector with the default PermissionGroups
// (AnonymousUsers, ExchangeUsers) and AuthMechanism (Tls, BasicAuth, BasicAuthRequireTLS).
struct Server {
  store::Configuration config;
  store::ReceiveConnector connector;
  std::unique_ptr<routing::RecipientRouter> index;

  Server() {
    store::AcceptedDomain domain;
    domain.name = domain.domain_name = "example.com";
    domain.domain_type = store::DomainType::authoritative;
    config.accepted_domains = {domain};
    store::Mailbox alice;
    alice.primary_smtp_address = "alice@example.com";
    config.mailboxes = {alice};
    index = std::make_unique<routing::RecipientRouter>(config);
    connector.name = "Default MX";
    connector.fqdn = "mx.example.com";
  }

  Protocol protocol(bool authenticated = false, bool tls = false) const {
    SessionFacts facts;
    facts.remote = store::IpAddress::parse("192.0.2.10");
    facts.local = store::Binding::parse("0.0.0.0:25");
    facts.authenticated = authenticated;
    facts.tls = tls;
    return Protocol(connector, *index, facts);
  }
};

void expect_reply(const Step& s, int code, const std::string& enhanced, const std::string& what) {
  EXPECT_EQ(s.reply.code, code) << what << ": " << s.reply.text;
  EXPECT_EQ(s.reply.enhanced, enhanced) << what;
}

// EHLO, STARTTLS, the handshake, EHLO again: a session ready inside TLS.
void start_tls(Protocol& p) {
  ASSERT_EQ(p.on_command("EHLO client.example").reply.code, 250);
  const Step s = p.on_command("STARTTLS");
  ASSERT_EQ(s.reply.code, 220);
  ASSERT_EQ(s.action, Action::start_tls);
  const Step started = p.on_tls_started();
  ASSERT_EQ(started.reply.code, 0);
  ASSERT_EQ(started.action, kRead);
  ASSERT_EQ(p.on_command("EHLO client.example").reply.code, 250);
}

// AUTH PLAIN with an initial response as alice, then the session's verdict.
Step authenticate(Protocol& p, bool accepted = true) {
  const Step s = p.on_command("AUTH PLAIN " + plain("", "alice@example.com", "secret"));
  EXPECT_EQ(s.action, Action::verify_credentials);
  return p.on_credentials_checked(accepted ? CredentialCheck::accepted : CredentialCheck::rejected);
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text + "\n").find("\n" + line + "\n") != std::string::npos;
}

TEST(SmtpAuth, EhloKeywords) {
  struct Case {
    AuthMechanism mechanism;
    PermissionGroups groups;
    bool tls;
    bool authenticated;
    bool starttls;  // STARTTLS offered
    bool auth;      // AUTH PLAIN LOGIN offered
  };
  const AuthMechanism defaults{kTls, kBasic, kBasicTls};
  const PermissionGroups anon_users{kAnonymous, kUsers};
  const Case cases[] = {
      {defaults, anon_users, false, false, true, false},  // AUTH waits for TLS
      {defaults, anon_users, true, false, false, true},
      {defaults, anon_users, true, true, false, false},   // already authenticated
      {defaults, anon_users, false, true, true, false},
      {defaults, {kAnonymous}, true, false, false, false},  // no ExchangeUsers: nobody to log on as
      {defaults, {kUsers}, true, false, false, true},
      {{kTls, kBasic}, anon_users, false, false, true, true},  // BasicAuth without RequireTLS
      {{kTls, kBasic}, anon_users, true, false, false, true},
      {{kTls, kBasic}, anon_users, false, true, true, false},
      {{kBasic}, anon_users, false, false, false, true},
      {{kTls}, anon_users, false, false, true, false},
      {{kTls}, anon_users, true, false, false, false},
      {{}, anon_users, false, false, false, false},
      {{kExternal}, {kServers}, false, true, false, false},   // trusted host connector
      {{kExternal, kTls}, {kServers}, false, true, true, false},
      {{kExternal, kTls}, {kServers}, true, true, false, false},
  };
  for (const Case& c : cases) {
    Server server;
    server.connector.auth_mechanism = c.mechanism;
    server.connector.permission_groups = c.groups;
    Protocol p = server.protocol(c.authenticated, c.tls);
    const std::string trace = "mechanism=" + std::to_string(c.mechanism.bits()) +
                              " groups=" + std::to_string(c.groups.bits()) + " tls=" + std::to_string(c.tls) +
                              " authenticated=" + std::to_string(c.authenticated);
    const Step s = p.on_command("EHLO client.example");
    ASSERT_EQ(s.reply.code, 250) << trace;
    EXPECT_EQ(has_line(s.reply.text, "STARTTLS"), c.starttls) << trace << "\n" << s.reply.text;
    EXPECT_EQ(has_line(s.reply.text, "AUTH PLAIN LOGIN"), c.auth) << trace << "\n" << s.reply.text;
    EXPECT_EQ(s.reply.text.find("AUTH") != std::string::npos, c.auth) << trace;
    // HELO never lists extensions.
    EXPECT_EQ(p.on_command("HELO client.example").reply.text, "mx.example.com Hello [192.0.2.10]");
  }
  // The whole reply of a default connector, outside and inside TLS: DSN after CHUNKING, before
  // STARTTLS and AUTH.
  const Server server;
  Protocol p = server.protocol();
  EXPECT_EQ(p.on_command("EHLO client.example").reply.text,
            "mx.example.com Hello [192.0.2.10]\nPIPELINING\nSIZE 10485760\n8BITMIME\nSMTPUTF8\nENHANCEDSTATUSCODES\n"
            "CHUNKING\nDSN\nSTARTTLS");
  start_tls(p);
  EXPECT_EQ(p.on_command("EHLO client.example").reply.text,
            "mx.example.com Hello [192.0.2.10]\nPIPELINING\nSIZE 10485760\n8BITMIME\nSMTPUTF8\nENHANCEDSTATUSCODES\n"
            "CHUNKING\nDSN\nAUTH PLAIN LOGIN");
  // And after AUTH, no more AUTH.
  EXPECT_EQ(authenticate(p).reply.code, 235);
  EXPECT_FALSE(has_line(p.on_command("EHLO client.example").reply.text, "AUTH PLAIN LOGIN"));
}

// Where a row of the refusal tables starts.
enum class Stage { greeted, helo, ready, mail, recipients, chunking, tls_greeted, tls_ready, tls_mail, authenticated };

void reach(Protocol& p, Stage stage) {
  switch (stage) {
    case Stage::greeted:
      return;
    case Stage::helo:
      ASSERT_EQ(p.on_command("HELO client.example").reply.code, 250);
      return;
    case Stage::tls_greeted:  // in TLS, before the second EHLO
      ASSERT_EQ(p.on_command("EHLO client.example").reply.code, 250);
      ASSERT_EQ(p.on_command("STARTTLS").action, Action::start_tls);
      p.on_tls_started();
      return;
    case Stage::tls_ready:
    case Stage::tls_mail:
    case Stage::authenticated:
      start_tls(p);
      if (stage == Stage::authenticated) {
        ASSERT_EQ(authenticate(p).reply.code, 235);
      }
      if (stage == Stage::tls_mail) {
        ASSERT_EQ(p.on_command("MAIL FROM:<a@client.example>").reply.code, 250);
      }
      return;
    default:
      ASSERT_EQ(p.on_command("EHLO client.example").reply.code, 250);
  }
  if (stage == Stage::ready) return;
  ASSERT_EQ(p.on_command("MAIL FROM:<a@client.example>").reply.code, 250);
  if (stage == Stage::mail) return;
  ASSERT_EQ(p.on_command("RCPT TO:<alice@example.com>").reply.code, 250);
  if (stage == Stage::recipients) return;
  ASSERT_EQ(p.on_command("BDAT 3").action, Action::read_chunk);
  ASSERT_EQ(p.on_chunk(BodyOutcome::complete, 3).reply.code, 250);
}

struct Row {
  AuthMechanism mechanism;
  PermissionGroups groups;
  Stage stage;
  std::string command;
  int code;
  const char* enhanced;
  Action action;
  bool tarpit;
  State after;
};

void run_table(const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string("stage ") + std::to_string(static_cast<int>(row.stage)) + " mechanism " +
                 std::to_string(row.mechanism.bits()) + " + \"" + row.command + "\"");
    Server server;
    server.connector.auth_mechanism = row.mechanism;
    server.connector.permission_groups = row.groups;
    server.connector.max_protocol_errors = std::nullopt;
    Protocol p = server.protocol();
    reach(p, row.stage);
    const Step s = p.on_command(row.command);
    expect_reply(s, row.code, row.enhanced, row.command);
    EXPECT_EQ(s.action, row.action);
    EXPECT_EQ(s.held(), row.tarpit);
    EXPECT_EQ(p.state(), row.after);
  }
}

TEST(SmtpAuth, Starttls) {
  using S = Stage;
  using St = State;
  const AuthMechanism d{kTls, kBasic, kBasicTls};
  const PermissionGroups g{kAnonymous, kUsers};
  run_table({
      {d, g, S::ready, "STARTTLS", 220, "2.0.0", Action::start_tls, false, St::ready},
      {d, g, S::ready, "starttls", 220, "2.0.0", Action::start_tls, false, St::ready},
      {d, g, S::helo, "STARTTLS", 220, "2.0.0", Action::start_tls, false, St::ready},
      {d, g, S::greeted, "STARTTLS", 503, "5.5.1", kRead, true, St::greeted},
      {d, g, S::ready, "STARTTLS now", 501, "5.5.4", kRead, true, St::ready},
      {d, g, S::greeted, "STARTTLS now", 503, "5.5.1", kRead, true, St::greeted},
      {{kBasic}, g, S::ready, "STARTTLS", 502, "5.5.1", kRead, true, St::ready},
      {{}, g, S::ready, "STARTTLS", 502, "5.5.1", kRead, true, St::ready},
      {{}, g, S::greeted, "STARTTLS", 502, "5.5.1", kRead, true, St::greeted},  // 502 before any state check
      {d, g, S::tls_ready, "STARTTLS", 503, "5.5.1", kRead, true, St::ready},
      {d, g, S::tls_greeted, "STARTTLS", 503, "5.5.1", kRead, true, St::greeted},
      {d, g, S::authenticated, "STARTTLS", 503, "5.5.1", kRead, false, St::ready},  // in TLS; not tarpitted
      {d, g, S::mail, "STARTTLS", 503, "5.5.1", kRead, true, St::mail},
      {d, g, S::recipients, "STARTTLS", 503, "5.5.1", kRead, true, St::recipients},
      {d, g, S::chunking, "STARTTLS", 503, "5.5.1", kRead, true, St::chunking},
  });
}

TEST(SmtpAuth, AuthRefusals) {
  using S = Stage;
  using St = State;
  const AuthMechanism d{kTls, kBasic, kBasicTls};
  const AuthMechanism no_tls_needed{kTls, kBasic};
  const PermissionGroups g{kAnonymous, kUsers};
  run_table({
      {d, g, S::tls_greeted, "AUTH PLAIN", 503, "5.5.1", kRead, true, St::greeted},
      {no_tls_needed, g, S::greeted, "AUTH PLAIN", 503, "5.5.1", kRead, true, St::greeted},
      {no_tls_needed, g, S::helo, "AUTH PLAIN", 503, "5.5.1", kRead, true, St::ready},
      {d, g, S::authenticated, "AUTH PLAIN", 503, "5.5.1", kRead, false, St::ready},
      {d, g, S::tls_mail, "AUTH PLAIN", 503, "5.5.1", kRead, true, St::mail},
      {no_tls_needed, g, S::recipients, "AUTH LOGIN", 503, "5.5.1", kRead, true, St::recipients},
      {{kTls}, g, S::tls_ready, "AUTH PLAIN", 502, "5.5.1", kRead, true, St::ready},
      {{}, g, S::ready, "AUTH PLAIN", 502, "5.5.1", kRead, true, St::ready},
      {{}, g, S::greeted, "AUTH PLAIN", 502, "5.5.1", kRead, true, St::greeted},
      {d, {kAnonymous}, S::tls_ready, "AUTH PLAIN", 502, "5.5.1", kRead, true, St::ready},
      {d, g, S::ready, "AUTH PLAIN", 538, "5.7.11", kRead, true, St::ready},
      {d, g, S::ready, "AUTH LOGIN", 538, "5.7.11", kRead, true, St::ready},
      {d, g, S::ready, "AUTH PLAIN " + std::string("AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA=="), 538, "5.7.11", kRead,
       true, St::ready},
      {d, g, S::tls_ready, "AUTH CRAM-MD5", 504, "5.5.4", kRead, true, St::ready},
      {d, g, S::tls_ready, "AUTH GSSAPI", 504, "5.5.4", kRead, true, St::ready},
      {no_tls_needed, g, S::ready, "AUTH NTLM", 504, "5.5.4", kRead, true, St::ready},
      {d, g, S::tls_ready, "AUTH", 501, "5.5.4", kRead, true, St::ready},
      {d, g, S::tls_ready, "AUTH PLAIN abc= def=", 501, "5.5.4", kRead, true, St::ready},
      // Offered: a challenge (3xx, never tarpitted) or straight to verification.
      {d, g, S::tls_ready, "AUTH PLAIN", 334, "", kRead, false, St::ready},
      {d, g, S::tls_ready, "auth plain", 334, "", kRead, false, St::ready},
      {d, g, S::tls_ready, "AUTH LOGIN", 334, "", kRead, false, St::ready},
      {no_tls_needed, g, S::ready, "AUTH LOGIN", 334, "", kRead, false, St::ready},
      {d, g, S::tls_ready, "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==", 0, "", Action::verify_credentials,
       false, St::ready},
  });
}

// The protocol of a default connector, in TLS, after EHLO.
struct TlsSession {
  Server server;
  Protocol p = server.protocol();
  TlsSession() { start_tls(p); }
};

TEST(SmtpAuth, PlainWithInitialResponse) {
  TlsSession t;
  const Step s = t.p.on_command("AUTH PLAIN " + plain("", "alice@example.com", "secret"));
  EXPECT_EQ(s.reply.code, 0);
  EXPECT_EQ(s.action, Action::verify_credentials);
  EXPECT_FALSE(s.held());
  EXPECT_EQ(t.p.credentials().user, "alice@example.com");
  EXPECT_EQ(t.p.credentials().password, "secret");
  EXPECT_FALSE(t.p.authenticated());
  const Step ok = t.p.on_credentials_checked(CredentialCheck::accepted);
  expect_reply(ok, 235, "2.7.0", "accepted");
  EXPECT_EQ(ok.reply.text, "Authentication successful");
  EXPECT_EQ(ok.action, kRead);
  EXPECT_TRUE(t.p.authenticated());
  EXPECT_TRUE(t.p.facts().authenticated);
  EXPECT_TRUE(t.p.credentials().password.empty());
  EXPECT_EQ(t.p.state(), State::ready);
}

TEST(SmtpAuth, PlainWithChallenge) {
  TlsSession t;
  const Step challenge = t.p.on_command("AUTH PLAIN");
  EXPECT_EQ(challenge.reply.code, 334);
  EXPECT_EQ(challenge.reply.text, "");
  EXPECT_FALSE(challenge.held());
  // The next line is the response, whatever it looks like.
  const Step s = t.p.on_command(plain("alice@example.com", "alice@example.com", "pw with spaces"));
  EXPECT_EQ(s.action, Action::verify_credentials);
  EXPECT_EQ(t.p.credentials().user, "alice@example.com");
  EXPECT_EQ(t.p.credentials().password, "pw with spaces");
  EXPECT_EQ(t.p.on_credentials_checked(CredentialCheck::accepted).reply.code, 235);  // authzid equal to authcid: fine
}

TEST(SmtpAuth, PlainResponses) {
  struct Case {
    std::string name;
    bool initial;          // as the initial response (else after the 334)
    std::string response;
    int code;              // 0: verify_credentials
    const char* enhanced;
  };
  const Case cases[] = {
      {"empty initial response", true, "=", 501, "5.5.2"},  // "" holds no NULs: malformed PLAIN
      {"empty continuation", false, "", 501, "5.5.2"},
      {"= continuation", false, "=", 501, "5.5.2"},       // "=" stands for empty only as initial response
      {"bad base64 initial", true, "not*base64", 501, "5.5.2"},
      {"bad base64", false, "AGFsaWNl!", 501, "5.5.2"},
      {"bad padding", false, "AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA=", 501, "5.5.2"},
      {"no padding", false, "AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA", 501, "5.5.2"},
      {"one NUL", false, base64(std::string("alice@example.com\0secret", 24)), 501, "5.5.2"},
      {"three NULs", false, base64(std::string("\0alice@example.com\0secret\0", 26)), 501, "5.5.2"},
      {"well formed", false, plain("", "alice@example.com", "secret"), 0, ""},
      {"empty password", true, plain("", "alice@example.com", ""), 0, ""},
      {"empty user", true, plain("", "", "secret"), 0, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TlsSession t;
    Step s;
    if (c.initial) {
      s = t.p.on_command("AUTH PLAIN " + c.response);
    } else {
      ASSERT_EQ(t.p.on_command("AUTH PLAIN").reply.code, 334);
      s = t.p.on_command(c.response);
    }
    EXPECT_EQ(s.reply.code, c.code) << s.reply.text;
    EXPECT_EQ(s.reply.enhanced, c.enhanced);
    EXPECT_EQ(s.action, c.code == 0 ? Action::verify_credentials : kRead);
    EXPECT_EQ(s.held(), c.code != 0);
    if (c.code != 0) {
      // The exchange is over: the next line is a command again.
      EXPECT_TRUE(t.p.credentials().password.empty());
      EXPECT_EQ(t.p.on_command("NOOP").reply.code, 250);
      EXPECT_EQ(t.p.on_command("AUTH PLAIN").reply.code, 334);
    }
  }
}

TEST(SmtpAuth, PlainAuthzidMismatchIsVerifiedThenRefused) {
  // Acting for another user is not supported: the session still verifies (same work, same timing),
  // and the verdict is refused whatever the session found.
  for (const bool session_says : {true, false}) {
    TlsSession t;
    const Step s = t.p.on_command("AUTH PLAIN " + plain("bob@example.com", "alice@example.com", "secret"));
    ASSERT_EQ(s.action, Action::verify_credentials);
    EXPECT_EQ(t.p.credentials().user, "alice@example.com");
    const Step verdict = t.p.on_credentials_checked(session_says ? CredentialCheck::accepted : CredentialCheck::rejected);
    expect_reply(verdict, 535, "5.7.8", "authzid mismatch");
    EXPECT_EQ(verdict.reply.text, "Authentication credentials invalid");
    EXPECT_TRUE(verdict.held());
    EXPECT_FALSE(t.p.authenticated());
    // It counts as a failure, and the next attempt is judged on its own.
    EXPECT_EQ(authenticate(t.p).reply.code, 235);
  }
  // An authzid that names the authcid in another letter case is the same identity.
  TlsSession t;
  t.p.on_command("AUTH PLAIN " + plain("Alice@Example.com", "alice@example.com", "secret"));
  EXPECT_EQ(t.p.on_credentials_checked(CredentialCheck::accepted).reply.code, 235);
}

TEST(SmtpAuth, Login) {
  {
    TlsSession t;
    const Step user = t.p.on_command("AUTH LOGIN");
    EXPECT_EQ(user.reply.code, 334);
    EXPECT_EQ(user.reply.text, "VXNlcm5hbWU6");  // "Username:"
    EXPECT_FALSE(user.held());
    const Step password = t.p.on_command(base64("alice@example.com"));
    EXPECT_EQ(password.reply.code, 334);
    EXPECT_EQ(password.reply.text, "UGFzc3dvcmQ6");  // "Password:"
    EXPECT_FALSE(password.held());
    const Step s = t.p.on_command(base64("secret"));
    EXPECT_EQ(s.reply.code, 0);
    EXPECT_EQ(s.action, Action::verify_credentials);
    EXPECT_EQ(t.p.credentials().user, "alice@example.com");
    EXPECT_EQ(t.p.credentials().password, "secret");
    EXPECT_EQ(t.p.on_credentials_checked(CredentialCheck::accepted).reply.code, 235);
    EXPECT_TRUE(t.p.authenticated());
  }
  {
    // Initial response: the user name.
    TlsSession t;
    const Step password = t.p.on_command("AUTH LOGIN " + base64("alice@example.com"));
    EXPECT_EQ(password.reply.code, 334);
    EXPECT_EQ(password.reply.text, "UGFzc3dvcmQ6");
    const Step s = t.p.on_command(base64("secret"));
    EXPECT_EQ(s.action, Action::verify_credentials);
    EXPECT_EQ(t.p.credentials().user, "alice@example.com");
    EXPECT_EQ(t.p.credentials().password, "secret");
    expect_reply(t.p.on_credentials_checked(CredentialCheck::rejected), 535, "5.7.8", "wrong password");
    EXPECT_TRUE(t.p.credentials().password.empty());
  }
  {
    // Bad base64 at either step ends the exchange.
    TlsSession t;
    t.p.on_command("AUTH LOGIN");
    expect_reply(t.p.on_command("alice@example.com"), 501, "5.5.2", "user not base64");
    EXPECT_EQ(t.p.on_command("NOOP").reply.code, 250);
    t.p.on_command("AUTH LOGIN " + base64("alice@example.com"));
    expect_reply(t.p.on_command("secret!"), 501, "5.5.2", "password not base64");
    EXPECT_EQ(t.p.on_command("NOOP").reply.code, 250);
    expect_reply(t.p.on_command("AUTH LOGIN %%%%"), 501, "5.5.2", "initial response not base64");
    EXPECT_EQ(t.p.on_command("NOOP").reply.code, 250);
  }
}

TEST(SmtpAuth, Cancel) {
  struct Case {
    std::vector<std::string> lines;  // the last one is "*"
  };
  const Case cases[] = {
      {{"AUTH PLAIN", "*"}},
      {{"AUTH LOGIN", "*"}},
      {{"AUTH LOGIN", base64("alice@example.com"), "*"}},
      {{"AUTH LOGIN " + base64("alice@example.com"), "*"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.lines.front());
    TlsSession t;
    Step s;
    for (const std::string& line : c.lines) s = t.p.on_command(line);
    expect_reply(s, 501, "5.0.0", "cancel");
    EXPECT_EQ(s.reply.text, "Authentication cancelled");
    EXPECT_EQ(s.action, kRead);
    EXPECT_TRUE(s.held());
    EXPECT_FALSE(t.p.authenticated());
    EXPECT_TRUE(t.p.credentials().user.empty());
    EXPECT_EQ(t.p.on_command("NOOP").reply.code, 250);
    EXPECT_EQ(authenticate(t.p).reply.code, 235);  // a cancelled exchange is no logon failure
  }
  // "*" is a cancel only as a response; as an initial response it is not base64.
  TlsSession t;
  expect_reply(t.p.on_command("AUTH PLAIN *"), 501, "5.5.2", "initial *");
}

TEST(SmtpAuth, OverlongLineEndsTheExchange) {
  TlsSession t;
  ASSERT_EQ(t.p.on_command("AUTH LOGIN").reply.code, 334);
  expect_reply(t.p.on_overlong_line(), 500, "5.5.2", "overlong");
  EXPECT_EQ(t.p.on_command("NOOP").reply.code, 250);
}

TEST(SmtpAuth, AuthenticatedSessionIsNeverTarpitted) {
  TlsSession t;
  ASSERT_EQ(authenticate(t.p).reply.code, 235);
  struct Case {
    const char* command;
    int code;
    const char* enhanced;
  };
  const Case cases[] = {
      {"FOO", 500, "5.5.1"},
      {"VRFY alice", 252, "2.5.0"},
      {"AUTH PLAIN", 503, "5.5.1"},
      {"MAIL FROM:<a@client.example>", 250, "2.1.0"},
      {"RCPT TO:<nobody@example.com>", 550, "5.1.1"},       // the recipient filter still applies
      {"RCPT TO:<victim@elsewhere.example>", 550, "5.4.4"}, // may relay, but no send connector serves it
      {"RCPT TO:<alice@example.com>", 250, "2.1.5"},
  };
  for (const Case& c : cases) {
    const Step s = t.p.on_command(c.command);
    expect_reply(s, c.code, c.enhanced, c.command);
    EXPECT_FALSE(s.held()) << c.command;
  }
  // And EHLO/RSET keep the identity (RFC 4954).
  t.p.on_command("RSET");
  t.p.on_command("EHLO client.example");
  EXPECT_TRUE(t.p.authenticated());
}

// Without a send connector nobody relays, but for different reasons: an anonymous client may not
// (550 5.7.1, held), an authenticated one may and finds no route (550 5.4.4, DESIGN §5).
TEST(SmtpAuth, WithoutASendConnectorNobodyRelays) {
  for (const bool authenticated : {false, true}) {
    SCOPED_TRACE(authenticated);
    TlsSession t;
    if (authenticated) {
      ASSERT_EQ(authenticate(t.p).reply.code, 235);
    }
    EXPECT_EQ(t.p.facts().may_relay, authenticated);
    ASSERT_EQ(t.p.on_command("MAIL FROM:<a@client.example>").reply.code, 250);
    const Step s = t.p.on_command("RCPT TO:<victim@elsewhere.example>");
    if (authenticated) {
      expect_reply(s, 550, "5.4.4", "relay without a route");
      EXPECT_EQ(s.reply.text, "Unable to route: no send connector serves this domain");
      EXPECT_EQ(s.refusal, RecipientRefusal::no_route);
    } else {
      expect_reply(s, 550, "5.7.1", "relay");
      EXPECT_EQ(s.reply.text, "Unable to relay: this server accepts mail only for its accepted domains");
      EXPECT_EQ(s.refusal, RecipientRefusal::relay);
    }
    EXPECT_EQ(s.held(), !authenticated);
    EXPECT_TRUE(t.p.envelope().recipients.empty());
  }
}

// The default server plus a send connector for partner.example (a smart host, no DNS).
struct RelayServer : Server {
  RelayServer() {
    config.send_connectors = {test::send_connector("To partner", {"partner.example"})};
    index = std::make_unique<routing::RecipientRouter>(config);
  }
};

// A session authenticated by AUTH may relay (DESIGN §5): to a domain a send connector serves, accepted
// with a relay destination; to one no send connector serves, 550 5.4.4. Its own domains are served as
// for anyone. An anonymous session, and one whose AUTH failed, still may not relay.
TEST(SmtpAuth, AuthenticatedSessionRelaysThroughASendConnector) {
  const RelayServer server;
  Protocol p = server.protocol();
  start_tls(p);
  EXPECT_FALSE(p.facts().may_relay);
  ASSERT_EQ(p.on_command("MAIL FROM:<a@client.example>").reply.code, 250);
  Step s = p.on_command("RCPT TO:<bob@partner.example>");
  expect_reply(s, 550, "5.7.1", "anonymous relay");
  EXPECT_TRUE(s.held());
  ASSERT_EQ(p.on_command("RSET").reply.code, 250);

  // A failed AUTH grants nothing.
  EXPECT_EQ(authenticate(p, false).reply.code, 535);
  EXPECT_FALSE(p.facts().may_relay);
  ASSERT_EQ(p.on_command("MAIL FROM:<a@client.example>").reply.code, 250);
  expect_reply(p.on_command("RCPT TO:<bob@partner.example>"), 550, "5.7.1", "relay after a failed AUTH");
  ASSERT_EQ(p.on_command("RSET").reply.code, 250);

  ASSERT_EQ(authenticate(p).reply.code, 235);
  EXPECT_TRUE(p.facts().authenticated);
  EXPECT_TRUE(p.facts().may_relay);
  ASSERT_EQ(p.on_command("MAIL FROM:<alice@example.com>").reply.code, 250);
  s = p.on_command("RCPT TO:<bob@partner.example>");
  expect_reply(s, 250, "2.1.5", "relay through the send connector");
  EXPECT_EQ(s.refusal, RecipientRefusal::none);
  EXPECT_FALSE(s.held());
  s = p.on_command("RCPT TO:<carol@Sub.Elsewhere.example>");
  expect_reply(s, 550, "5.4.4", "relay without a route");
  EXPECT_EQ(s.refusal, RecipientRefusal::no_route);
  EXPECT_FALSE(s.held());
  expect_reply(p.on_command("RCPT TO:<alice@example.com>"), 250, "2.1.5", "local recipient");
  expect_reply(p.on_command("RCPT TO:<nobody@example.com>"), 550, "5.1.1", "unknown local recipient");
  ASSERT_EQ(p.envelope().recipients.size(), 2u);
  EXPECT_EQ(p.envelope().recipients[0].address, "bob@partner.example");
  EXPECT_EQ(p.envelope().recipients[0].destination, routing::Verdict::relay);
  EXPECT_EQ(p.envelope().recipients[0].mailbox, nullptr);
  EXPECT_EQ(p.envelope().recipients[1].destination, routing::Verdict::local);
  EXPECT_EQ(p.envelope().recipients[1].mailbox, &server.config.mailboxes[0]);
  EXPECT_TRUE(p.envelope().needs_queue());

  // EHLO and RSET keep the identity, and with it the permission (RFC 4954).
  ASSERT_EQ(p.on_command("RSET").reply.code, 250);
  ASSERT_EQ(p.on_command("EHLO client.example").reply.code, 250);
  EXPECT_TRUE(p.facts().may_relay);
  ASSERT_EQ(p.on_command("MAIL FROM:<alice@example.com>").reply.code, 250);
  expect_reply(p.on_command("RCPT TO:<dave@partner.example>"), 250, "2.1.5", "relay after EHLO");
}

// STARTTLS forgets an identity proved by AUTH before it (RFC 3207 §4.2), and the relay permission that
// came with it: the client must authenticate again inside TLS to relay.
TEST(SmtpAuth, StarttlsTakesAwayTheRelayPermissionOfAuth) {
  RelayServer server;
  server.connector.auth_mechanism = {kTls, kBasic};  // AUTH allowed outside TLS
  Protocol p = server.protocol();
  ASSERT_EQ(p.on_command("EHLO client.example").reply.code, 250);
  ASSERT_EQ(authenticate(p).reply.code, 235);
  ASSERT_TRUE(p.facts().may_relay);
  ASSERT_EQ(p.on_command("MAIL FROM:<alice@example.com>").reply.code, 250);
  expect_reply(p.on_command("RCPT TO:<bob@partner.example>"), 250, "2.1.5", "relay before STARTTLS");

  ASSERT_EQ(p.on_command("RSET").reply.code, 250);  // STARTTLS is refused inside a transaction
  ASSERT_EQ(p.on_command("STARTTLS").action, Action::start_tls);
  p.on_tls_started();
  EXPECT_FALSE(p.authenticated());
  EXPECT_FALSE(p.facts().may_relay);
  ASSERT_EQ(p.on_command("EHLO client.example").reply.code, 250);
  ASSERT_EQ(p.on_command("MAIL FROM:<alice@example.com>").reply.code, 250);
  const Step s = p.on_command("RCPT TO:<bob@partner.example>");
  expect_reply(s, 550, "5.7.1", "relay after STARTTLS");
  EXPECT_EQ(s.refusal, RecipientRefusal::relay);
  EXPECT_TRUE(s.held());
  ASSERT_EQ(p.on_command("RSET").reply.code, 250);

  ASSERT_EQ(authenticate(p).reply.code, 235);
  EXPECT_TRUE(p.facts().may_relay);
  ASSERT_EQ(p.on_command("MAIL FROM:<alice@example.com>").reply.code, 250);
  expect_reply(p.on_command("RCPT TO:<bob@partner.example>"), 250, "2.1.5", "relay after AUTH in TLS");
}

// A trusted host connector (ExternalAuthoritative), with the facts the listener gives its sessions:
// authenticated and allowed to relay. Mail to other domains then needs a send connector; without one
// it is refused as unroutable (550 5.4.4, DESIGN §5), never accepted and parked.
TEST(SmtpAuth, TrustedConnectorMayRelayButNeedsASendConnector) {
  Server server;
  server.connector.auth_mechanism = {kExternal};
  server.connector.permission_groups = {kServers};
  SessionFacts facts;
  facts.remote = store::IpAddress::parse("192.0.2.10");
  facts.local = store::Binding::parse("0.0.0.0:25");
  grant_connector_trust(server.connector, facts);
  ASSERT_TRUE(facts.authenticated);
  ASSERT_TRUE(facts.may_relay);
  Protocol p(server.connector, *server.index, facts);
  ASSERT_EQ(p.on_command("EHLO client.example").reply.code, 250);
  ASSERT_EQ(p.on_command("MAIL FROM:<a@client.example>").reply.code, 250);
  Step s = p.on_command("RCPT TO:<victim@elsewhere.example>");
  expect_reply(s, 550, "5.4.4", "relay from a trusted connector");
  EXPECT_EQ(s.reply.text, "Unable to route: no send connector serves this domain");
  EXPECT_EQ(s.refusal, RecipientRefusal::no_route);
  EXPECT_FALSE(s.held());  // authenticated: never held
  // Its own domains are served as for anyone: the mailbox, and the directory still says who is unknown.
  expect_reply(p.on_command("RCPT TO:<alice@example.com>"), 250, "2.1.5", "local recipient");
  s = p.on_command("RCPT TO:<nobody@example.com>");
  expect_reply(s, 550, "5.1.1", "unknown local recipient");
  EXPECT_FALSE(s.held());
  ASSERT_EQ(p.envelope().recipients.size(), 1u);

  // Connectors without ExternalAuthoritative grant nothing.
  for (const AuthMechanism mechanism : {AuthMechanism{kTls, kBasic, kBasicTls}, AuthMechanism{}}) {
    Server plain_server;
    plain_server.connector.auth_mechanism = mechanism;
    SessionFacts none;
    grant_connector_trust(plain_server.connector, none);
    EXPECT_FALSE(none.authenticated);
    EXPECT_FALSE(none.may_relay);
  }
}

// The trusted host connector's classic use: an application server relaying through a send connector
// (DESIGN §5, §11). Accepted with a relay destination, never held; domains no send connector serves
// are still 550 5.4.4. The connector's trust, unlike AUTH's, survives STARTTLS.
TEST(SmtpAuth, TrustedConnectorRelaysThroughASendConnector) {
  RelayServer server;
  server.connector.auth_mechanism = {kExternal, kTls};
  server.connector.permission_groups = {kServers};
  SessionFacts facts;
  facts.remote = store::IpAddress::parse("192.0.2.10");
  facts.local = store::Binding::parse("0.0.0.0:25");
  grant_connector_trust(server.connector, facts);
  Protocol p(server.connector, *server.index, facts);
  ASSERT_EQ(p.on_command("EHLO app.example").reply.code, 250);
  ASSERT_EQ(p.on_command("MAIL FROM:<app@example.com>").reply.code, 250);
  Step s = p.on_command("RCPT TO:<bob@partner.example>");
  expect_reply(s, 250, "2.1.5", "relay from a trusted connector");
  EXPECT_FALSE(s.held());
  s = p.on_command("RCPT TO:<victim@elsewhere.example>");
  expect_reply(s, 550, "5.4.4", "no route");
  EXPECT_EQ(s.refusal, RecipientRefusal::no_route);
  EXPECT_FALSE(s.held());
  ASSERT_EQ(p.envelope().recipients.size(), 1u);
  EXPECT_EQ(p.envelope().recipients[0].destination, routing::Verdict::relay);
  EXPECT_EQ(p.envelope().recipients[0].mailbox, nullptr);
  EXPECT_TRUE(p.envelope().needs_queue());

  ASSERT_EQ(p.on_command("RSET").reply.code, 250);
  ASSERT_EQ(p.on_command("STARTTLS").action, Action::start_tls);
  p.on_tls_started();
  EXPECT_TRUE(p.authenticated());
  EXPECT_TRUE(p.facts().may_relay);
  ASSERT_EQ(p.on_command("EHLO app.example").reply.code, 250);
  ASSERT_EQ(p.on_command("MAIL FROM:<app@example.com>").reply.code, 250);
  expect_reply(p.on_command("RCPT TO:<bob@partner.example>"), 250, "2.1.5", "relay in TLS");
}

TEST(SmtpAuth, LogonFailures) {
  struct Case {
    std::int32_t max_logon_failures;
    int refused_before_close;  // -1: never closes within 20
  };
  const Case cases[] = {{3, 3}, {1, 1}, {10, 10}, {0, -1}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.max_logon_failures);
    Server server;
    server.connector.max_logon_failures = c.max_logon_failures;
    Protocol p = server.protocol();
    start_tls(p);
    int refused = 0;
    for (; refused < 20; ++refused) {
      // A user that exists and one that does not: the session says false for both, and the reply
      // must not tell them apart.
      const std::string user = refused % 2 == 0 ? "alice@example.com" : "nobody@example.com";
      ASSERT_EQ(p.on_command("AUTH PLAIN " + plain("", user, "wrong")).action, Action::verify_credentials);
      const Step s = p.on_credentials_checked(CredentialCheck::rejected);
      EXPECT_TRUE(p.credentials().password.empty());
      if (s.reply.code == 421) {
        EXPECT_EQ(s.reply.enhanced, "4.7.0");
        EXPECT_EQ(s.reply.text, "Too many authentication failures");
        EXPECT_EQ(s.action, Action::close);
        EXPECT_FALSE(s.held());
        EXPECT_EQ(p.state(), State::closed);
        EXPECT_EQ(p.on_command("NOOP").action, Action::close);
        break;
      }
      expect_reply(s, 535, "5.7.8", "failure " + std::to_string(refused + 1));
      EXPECT_EQ(s.reply.text, "Authentication credentials invalid");
      EXPECT_EQ(s.action, kRead);
      EXPECT_TRUE(s.held());
      EXPECT_FALSE(p.authenticated());
    }
    EXPECT_EQ(refused, c.refused_before_close == -1 ? 20 : c.refused_before_close);
  }
  // Failures are not protocol errors, and a success after some failures counts.
  Server server;
  server.connector.max_protocol_errors = 1;
  Protocol p = server.protocol();
  start_tls(p);
  EXPECT_EQ(authenticate(p, false).reply.code, 535);
  EXPECT_EQ(authenticate(p, false).reply.code, 535);
  EXPECT_EQ(authenticate(p, true).reply.code, 235);
}

TEST(SmtpAuth, NoTarpitWhenIntervalIsZero) {
  Server server;
  server.connector.tarpit_interval = store::TimeSpan::from_seconds(0);
  Protocol p = server.protocol();
  start_tls(p);
  EXPECT_FALSE(authenticate(p, false).held());
}

TEST(SmtpAuth, TlsStartedResetsTheSession) {
  Server server;
  server.connector.auth_mechanism = {kTls, kBasic};  // AUTH allowed outside TLS
  Protocol p = server.protocol();
  ASSERT_EQ(p.on_command("EHLO first.example").reply.code, 250);
  EXPECT_EQ(p.helo_name(), "first.example");
  ASSERT_EQ(authenticate(p).reply.code, 235);
  ASSERT_EQ(p.on_command("STARTTLS").action, Action::start_tls);
  const Step started = p.on_tls_started();
  EXPECT_EQ(started.reply.code, 0);
  EXPECT_EQ(started.action, kRead);
  EXPECT_FALSE(started.held());
  EXPECT_TRUE(p.facts().tls);
  EXPECT_EQ(p.state(), State::greeted);
  EXPECT_EQ(p.helo_name(), "");
  EXPECT_TRUE(p.envelope().mail_from.empty());
  EXPECT_TRUE(p.envelope().recipients.empty());
  // The identity proved before TLS is knowledge from the client: gone (RFC 3207 §4.2).
  EXPECT_FALSE(p.authenticated());
  // EHLO is needed again, then MAIL and AUTH work.
  expect_reply(p.on_command("MAIL FROM:<a@client.example>"), 503, "5.5.1", "MAIL before EHLO");
  expect_reply(p.on_command("AUTH PLAIN"), 503, "5.5.1", "AUTH before EHLO");
  const Step ehlo = p.on_command("EHLO second.example");
  ASSERT_EQ(ehlo.reply.code, 250);
  EXPECT_FALSE(ehlo.held());
  EXPECT_FALSE(has_line(ehlo.reply.text, "STARTTLS"));
  EXPECT_TRUE(has_line(ehlo.reply.text, "AUTH PLAIN LOGIN"));
  EXPECT_EQ(p.helo_name(), "second.example");
  EXPECT_EQ(p.on_command("MAIL FROM:<a@client.example>").reply.code, 250);
  // BDAT after the new EHLO works (extended again).
  EXPECT_EQ(p.on_command("RCPT TO:<alice@example.com>").reply.code, 250);
  ASSERT_EQ(p.on_command("BDAT 2 LAST").action, Action::read_chunk);
  EXPECT_EQ(p.on_chunk(BodyOutcome::complete, 2).action, Action::deliver);
}

TEST(SmtpAuth, TlsStartedAfterHeloNeedsEhloForAuth) {
  Server server;
  Protocol p = server.protocol();
  ASSERT_EQ(p.on_command("HELO client.example").reply.code, 250);
  ASSERT_EQ(p.on_command("STARTTLS").action, Action::start_tls);
  p.on_tls_started();
  ASSERT_EQ(p.on_command("HELO client.example").reply.code, 250);
  expect_reply(p.on_command("AUTH PLAIN"), 503, "5.5.1", "AUTH after HELO");
  ASSERT_EQ(p.on_command("EHLO client.example").reply.code, 250);
  EXPECT_EQ(p.on_command("AUTH PLAIN").reply.code, 334);
}

TEST(SmtpAuth, ConnectorAuthenticationSurvivesTls) {
  Server server;
  server.connector.auth_mechanism = {kExternal, kTls};
  server.connector.permission_groups = {kServers};
  Protocol p = server.protocol(true);
  ASSERT_EQ(p.on_command("EHLO client.example").reply.code, 250);
  ASSERT_EQ(p.on_command("STARTTLS").action, Action::start_tls);
  p.on_tls_started();
  EXPECT_TRUE(p.authenticated());
  EXPECT_EQ(p.on_command("EHLO client.example").reply.text.find("AUTH"), std::string::npos);
  EXPECT_EQ(p.on_command("AUTH PLAIN").reply.code, 502);  // no BasicAuth on a trusted connector
  EXPECT_EQ(p.on_command("MAIL FROM:<a@partner.example>").reply.code, 250);
  const Step s = p.on_command("RCPT TO:<nobody@example.com>");
  EXPECT_EQ(s.reply.code, 550);
  EXPECT_FALSE(s.held());
}

TEST(SmtpAuth, RequireTls) {
  Server server;
  server.connector.require_tls = true;
  Protocol p = server.protocol();
  ASSERT_EQ(p.on_command("EHLO client.example").reply.code, 250);
  const Step s = p.on_command("MAIL FROM:<a@client.example>");
  expect_reply(s, 530, "5.7.0", "MAIL before STARTTLS");
  EXPECT_EQ(s.reply.text, "Must issue a STARTTLS command first");
  EXPECT_TRUE(s.held());
  EXPECT_EQ(s.action, kRead);
  EXPECT_EQ(p.state(), State::ready);
  ASSERT_EQ(p.on_command("STARTTLS").action, Action::start_tls);
  p.on_tls_started();
  ASSERT_EQ(p.on_command("EHLO client.example").reply.code, 250);
  EXPECT_EQ(p.on_command("MAIL FROM:<a@client.example>").reply.code, 250);

  // Authentication does not replace TLS (e.g. a trusted host on a RequireTLS connector).
  Server trusted;
  trusted.connector.require_tls = true;
  trusted.connector.auth_mechanism = {kExternal, kTls};
  trusted.connector.permission_groups = {kServers};
  Protocol q = trusted.protocol(true);
  q.on_command("EHLO client.example");
  const Step refused = q.on_command("MAIL FROM:<a@client.example>");
  EXPECT_EQ(refused.reply.code, 530);
  EXPECT_FALSE(refused.held());
}

TEST(SmtpAuth, WithoutAnonymousUsers) {
  Server server;
  server.connector.permission_groups = {kUsers};
  Protocol p = server.protocol();
  start_tls(p);
  for (int i = 0; i < 2; ++i) {  // refused, and the session goes on
    const Step s = p.on_command("MAIL FROM:<a@client.example>");
    expect_reply(s, 530, "5.7.1", "anonymous MAIL");
    EXPECT_EQ(s.reply.text, "Client was not authenticated");
    EXPECT_TRUE(s.held());
    EXPECT_EQ(s.action, kRead);
    EXPECT_EQ(p.state(), State::ready);
  }
  ASSERT_EQ(authenticate(p).reply.code, 235);
  EXPECT_EQ(p.on_command("MAIL FROM:<a@client.example>").reply.code, 250);
  EXPECT_EQ(p.on_command("RCPT TO:<alice@example.com>").reply.code, 250);

  // With AnonymousUsers, anonymous MAIL is fine.
  const Server open;
  Protocol q = open.protocol();
  start_tls(q);
  EXPECT_EQ(q.on_command("MAIL FROM:<a@client.example>").reply.code, 250);

  // A trusted host connector: ExchangeServers only, but every session is authenticated.
  Server trusted;
  trusted.connector.auth_mechanism = {kExternal};
  trusted.connector.permission_groups = {kServers};
  trusted.connector.tarpit_interval = store::TimeSpan::from_seconds(0);
  Protocol r = trusted.protocol(true);
  r.on_command("EHLO client.example");
  EXPECT_EQ(r.on_command("MAIL FROM:<a@client.example>").reply.code, 250);
  // An unauthenticated session there (the session did not set the flag) would be refused.
  Protocol stranger = trusted.protocol(false);
  stranger.on_command("EHLO client.example");
  EXPECT_EQ(stranger.on_command("MAIL FROM:<a@client.example>").reply.code, 530);
}

// Password guessing is an offence of its own kind (DESIGN §10): a wrong password is reported, and a
// client locked out gets a temporary, held 454 whatever its password, without a verification.
TEST(SmtpAuth, FailuresAreReportedAndALockedOutClientGetsAHeld454) {
  TlsSession t;
  t.server.connector.tarpit_interval = store::TimeSpan::from_seconds(2);
  const Step wrong = authenticate(t.p, false);
  expect_reply(wrong, 535, "5.7.8", "wrong password");
  EXPECT_EQ(wrong.source_event, reputation::Event::auth_failure);

  t.p.on_command("AUTH PLAIN " + plain("", "alice@example.com", "secret"));
  const Step locked = t.p.on_credentials_checked(CredentialCheck::locked_out);
  expect_reply(locked, 454, "4.7.0", "locked out");
  EXPECT_EQ(locked.hold, std::chrono::seconds(2));
  EXPECT_FALSE(locked.source_event.has_value()) << "nothing was guessed: no new offence";
  EXPECT_FALSE(t.p.authenticated());
  EXPECT_EQ(authenticate(t.p, true).reply.code, 235) << "the lockout ends; the right password then works";
}

TEST(SmtpAuth, ALockedOutClientWaitsEvenWithoutATarpit) {
  TlsSession t;
  t.server.connector.tarpit_interval = store::TimeSpan::from_seconds(0);
  t.p.on_command("AUTH PLAIN " + plain("", "alice@example.com", "secret"));
  const Step locked = t.p.on_credentials_checked(CredentialCheck::locked_out);
  expect_reply(locked, 454, "4.7.0", "locked out");
  EXPECT_EQ(locked.hold, std::chrono::seconds(1)) << "a free refusal would let a guesser spin on it";
}

}  // namespace
}  // namespace transport::smtp
