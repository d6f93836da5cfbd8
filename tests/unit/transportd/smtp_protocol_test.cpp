// Protocol decision tables: session state + command → reply code, enhanced code, action, tarpit and
// the state after. Also EHLO keywords per connector flags, MAIL/RCPT syntax, recipient limits,
// protocol-error limits, DATA and BDAT sequences.
#include "transportd/smtp/protocol.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/unit/support/directory_builders.h"

namespace transport::smtp {
namespace {

using test::mailbox;

store::AcceptedDomain accepted(std::string name, store::DomainType type) {
  return test::accepted_domain(std::move(name), type);
}

// One server: example.com (Authoritative: alice, bob), relay.example (InternalRelay, relayed through
// a send connector to a smart host), a block list.
struct Server {
  store::Configuration config;
  store::ReceiveConnector connector;
  std::unique_ptr<routing::RecipientRouter> index;

  Server() {
    config.accepted_domains = {accepted("example.com", store::DomainType::authoritative),
                               accepted("relay.example", store::DomainType::internal_relay)};
    config.mailboxes = {mailbox("alice@example.com", {"al@example.com"}), mailbox("bob@example.com")};
    config.recipient_filter.block_list_enabled = true;
    config.recipient_filter.blocked_recipients = {"blocked@example.com"};
    config.send_connectors = {test::send_connector("To relay.example", {"relay.example"})};
    index = std::make_unique<routing::RecipientRouter>(config);
    connector.name = "Default MX";
    connector.fqdn = "mx.example.com";
  }

  Protocol protocol(bool authenticated = false) const {
    SessionFacts facts;
    facts.remote = store::IpAddress::parse("192.0.2.10");
    facts.local = store::Binding::parse("0.0.0.0:25");
    facts.authenticated = authenticated;
    return Protocol(connector, *index, facts);
  }
};

// Where a table row starts. Each is reached by the commands in reach().
enum class Stage {
  greeted,
  helo,            // after HELO
  ready,           // after EHLO
  mail,            // MAIL accepted, no recipient yet
  rejected_rcpt,   // MAIL accepted, one RCPT refused
  recipients,      // MAIL and one accepted RCPT
  chunking,        // a non-LAST BDAT chunk accepted
  after_message,   // a message delivered
};

const char* name(Stage s) {
  switch (s) {
    case Stage::greeted: return "greeted";
    case Stage::helo: return "helo";
    case Stage::ready: return "ready";
    case Stage::mail: return "mail";
    case Stage::rejected_rcpt: return "rejected_rcpt";
    case Stage::recipients: return "recipients";
    case Stage::chunking: return "chunking";
    case Stage::after_message: return "after_message";
  }
  return "?";
}

void expect_code(const Step& s, int code, const std::string& what) {
  ASSERT_EQ(s.reply.code, code) << what << ": " << s.reply.text;
}

void reach(Protocol& p, Stage stage) {
  switch (stage) {
    case Stage::greeted:
      return;
    case Stage::helo:
      expect_code(p.on_command("HELO client.example"), 250, "HELO");
      return;
    default:
      expect_code(p.on_command("EHLO client.example"), 250, "EHLO");
  }
  if (stage == Stage::ready) return;
  if (stage == Stage::after_message) {
    expect_code(p.on_command("MAIL FROM:<sender@client.example>"), 250, "MAIL");
    expect_code(p.on_command("RCPT TO:<alice@example.com>"), 250, "RCPT");
    expect_code(p.on_command("DATA"), 354, "DATA");
    EXPECT_EQ(p.on_message(BodyOutcome::complete, 10).action, Action::deliver);
    expect_code(p.on_delivered(DeliveryOutcome::delivered), 250, "delivered");
    return;
  }
  expect_code(p.on_command("MAIL FROM:<sender@client.example>"), 250, "MAIL");
  if (stage == Stage::mail) return;
  if (stage == Stage::rejected_rcpt) {
    expect_code(p.on_command("RCPT TO:<nobody@example.com>"), 550, "RCPT");
    return;
  }
  expect_code(p.on_command("RCPT TO:<alice@example.com>"), 250, "RCPT");
  if (stage == Stage::recipients) return;
  const Step bdat = p.on_command("BDAT 10");
  ASSERT_EQ(bdat.action, Action::read_chunk);
  expect_code(p.on_chunk(BodyOutcome::complete, 10), 250, "BDAT chunk");
}

struct Row {
  Stage stage;
  const char* command;
  int code;
  const char* enhanced;
  Action action;
  bool tarpit;
  State after;
};

void run_table(const Server& server, const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string(name(row.stage)) + " + \"" + row.command + "\"");
    Protocol p = server.protocol();
    reach(p, row.stage);
    const Step s = p.on_command(row.command);
    EXPECT_EQ(s.reply.code, row.code) << s.reply.text;
    EXPECT_EQ(s.reply.enhanced, row.enhanced);
    EXPECT_EQ(s.action, row.action);
    EXPECT_EQ(s.held(), row.tarpit);
    EXPECT_EQ(p.state(), row.after);
  }
}

constexpr Action kRead = Action::read_command;

TEST(SmtpProtocol, CommandsInEveryState) {
  const Server server;
  using S = Stage;
  using St = State;
  run_table(server, {
      // greeted: only EHLO/HELO open a transaction; the rest is sequence errors or harmless.
      {S::greeted, "EHLO client.example", 250, "", kRead, false, St::ready},
      {S::greeted, "ehlo client.example", 250, "", kRead, false, St::ready},
      {S::greeted, "HELO client.example", 250, "", kRead, false, St::ready},
      {S::greeted, "EHLO", 501, "5.5.4", kRead, true, St::greeted},
      {S::greeted, "HELO ", 501, "5.5.4", kRead, true, St::greeted},
      {S::greeted, "MAIL FROM:<a@client.example>", 503, "5.5.1", kRead, true, St::greeted},
      {S::greeted, "RCPT TO:<alice@example.com>", 503, "5.5.1", kRead, true, St::greeted},
      {S::greeted, "DATA", 503, "5.5.1", kRead, true, St::greeted},
      {S::greeted, "RSET", 250, "2.0.0", kRead, false, St::greeted},
      {S::greeted, "NOOP", 250, "2.0.0", kRead, false, St::greeted},
      {S::greeted, "VRFY alice", 252, "2.5.0", kRead, true, St::greeted},
      {S::greeted, "EXPN staff", 252, "2.5.0", kRead, true, St::greeted},
      {S::greeted, "VRFY", 501, "5.5.4", kRead, true, St::greeted},
      {S::greeted, "HELP", 214, "2.0.0", kRead, false, St::greeted},
      {S::greeted, "QUIT", 221, "2.0.0", Action::close, false, St::closed},
      {S::greeted, "STARTTLS", 503, "5.5.1", kRead, true, St::greeted},
      {S::greeted, "AUTH PLAIN", 503, "5.5.1", kRead, true, St::greeted},
      {S::greeted, "FOO bar", 500, "5.5.1", kRead, true, St::greeted},
      {S::greeted, "", 500, "5.5.1", kRead, true, St::greeted},
      // ready (after EHLO)
      {S::ready, "MAIL FROM:<a@client.example>", 250, "2.1.0", kRead, false, St::mail},
      {S::ready, "mail from:<a@client.example>", 250, "2.1.0", kRead, false, St::mail},
      {S::ready, "MAIL FROM:<>", 250, "2.1.0", kRead, false, St::mail},
      {S::ready, "RCPT TO:<alice@example.com>", 503, "5.5.1", kRead, true, St::ready},
      {S::ready, "DATA", 503, "5.5.1", kRead, true, St::ready},
      {S::ready, "RSET", 250, "2.0.0", kRead, false, St::ready},
      {S::ready, "RSET now", 501, "5.5.4", kRead, true, St::ready},
      {S::ready, "EHLO again.example", 250, "", kRead, false, St::ready},
      {S::ready, "VRFY alice@example.com", 252, "2.5.0", kRead, true, St::ready},
      {S::ready, "QUIT", 221, "2.0.0", Action::close, false, St::closed},
      // helo
      {S::helo, "MAIL FROM:<a@client.example>", 250, "2.1.0", kRead, false, St::mail},
      // mail
      {S::mail, "MAIL FROM:<a@client.example>", 503, "5.5.1", kRead, true, St::mail},
      {S::mail, "RCPT TO:<alice@example.com>", 250, "2.1.5", kRead, false, St::recipients},
      {S::mail, "RCPT TO:<AL@EXAMPLE.COM>", 250, "2.1.5", kRead, false, St::recipients},
      {S::mail, "RCPT TO:<someone@relay.example>", 250, "2.1.5", kRead, false, St::recipients},
      {S::mail, "RCPT TO:<nobody@example.com>", 550, "5.1.1", kRead, true, St::mail},
      {S::mail, "RCPT TO:<blocked@example.com>", 550, "5.1.1", kRead, true, St::mail},
      {S::mail, "RCPT TO:<victim@elsewhere.example>", 550, "5.7.1", kRead, true, St::mail},
      {S::mail, "DATA", 554, "5.5.1", kRead, true, St::mail},
      {S::mail, "RSET", 250, "2.0.0", kRead, false, St::ready},
      {S::mail, "EHLO client.example", 250, "", kRead, false, St::ready},
      {S::mail, "HELO client.example", 250, "", kRead, false, St::ready},
      {S::mail, "NOOP", 250, "2.0.0", kRead, false, St::mail},
      // rejected_rcpt
      {S::rejected_rcpt, "DATA", 554, "5.5.1", kRead, true, St::mail},
      {S::rejected_rcpt, "RCPT TO:<bob@example.com>", 250, "2.1.5", kRead, false, St::recipients},
      // recipients
      {S::recipients, "DATA", 354, "", Action::read_data, false, St::recipients},
      {S::recipients, "data", 354, "", Action::read_data, false, St::recipients},
      {S::recipients, "DATA now", 501, "5.5.4", kRead, true, St::recipients},
      {S::recipients, "RCPT TO:<bob@example.com>", 250, "2.1.5", kRead, false, St::recipients},
      {S::recipients, "RCPT TO:<nobody@example.com>", 550, "5.1.1", kRead, true, St::recipients},
      {S::recipients, "MAIL FROM:<a@client.example>", 503, "5.5.1", kRead, true, St::recipients},
      {S::recipients, "RSET", 250, "2.0.0", kRead, false, St::ready},
      {S::recipients, "EHLO client.example", 250, "", kRead, false, St::ready},
      {S::recipients, "VRFY bob", 252, "2.5.0", kRead, true, St::recipients},
      {S::recipients, "QUIT", 221, "2.0.0", Action::close, false, St::closed},
      // chunking: DATA can't mix with BDAT, no more RCPT or MAIL; RSET/EHLO end it.
      {S::chunking, "DATA", 503, "5.5.1", kRead, true, St::chunking},
      {S::chunking, "RCPT TO:<bob@example.com>", 503, "5.5.1", kRead, true, St::chunking},
      {S::chunking, "MAIL FROM:<a@client.example>", 503, "5.5.1", kRead, true, St::chunking},
      {S::chunking, "NOOP", 250, "2.0.0", kRead, false, St::chunking},
      {S::chunking, "RSET", 250, "2.0.0", kRead, false, St::ready},
      {S::chunking, "EHLO client.example", 250, "", kRead, false, St::ready},
      // after a delivered message: a new transaction may start.
      {S::after_message, "MAIL FROM:<a@client.example>", 250, "2.1.0", kRead, false, St::mail},
      {S::after_message, "RCPT TO:<alice@example.com>", 503, "5.5.1", kRead, true, St::ready},
      {S::after_message, "DATA", 503, "5.5.1", kRead, true, St::ready},
  });
}

TEST(SmtpProtocol, NulInCommandLine) {
  const Server server;
  Protocol p = server.protocol();
  reach(p, Stage::ready);
  const Step s = p.on_command(std::string_view("MAIL FROM:<a@b.example>\0", 24));
  EXPECT_EQ(s.reply.code, 500);
  EXPECT_EQ(s.reply.enhanced, "5.5.2");
  EXPECT_NE(s.reply.text.find("NUL"), std::string::npos);
  EXPECT_TRUE(s.held());
  EXPECT_EQ(p.state(), State::ready);
}

TEST(SmtpProtocol, OverlongLine) {
  const Server server;
  Protocol p = server.protocol();
  const Step s = p.on_overlong_line();
  EXPECT_EQ(s.reply.code, 500);
  EXPECT_EQ(s.reply.enhanced, "5.5.2");
  EXPECT_EQ(s.reply.text, "Line too long");
  EXPECT_EQ(s.action, Action::read_command);
}

TEST(SmtpProtocol, Greeting) {
  Server server;
  EXPECT_EQ(server.protocol().greeting().code, 220);
  EXPECT_EQ(server.protocol().greeting().text, "mx.example.com ESMTP transportd ready");
  EXPECT_EQ(server.protocol().greeting().enhanced, "");
  server.connector.banner = "220 Welcome to the mail service";
  std::string wire;
  append_reply(wire, server.protocol().greeting(), true);
  EXPECT_EQ(wire, "220 Welcome to the mail service\r\n");
}

TEST(SmtpProtocol, EhloKeywordsFollowConnectorFlags) {
  struct Flags {
    bool pipelining, eight_bit, enhanced, chunking;
    const char* keywords;
  };
  const Flags cases[] = {
      // SMTPUTF8 goes with 8BITMIME (RFC 6531 §3.1). DSN (RFC 3461) is offered whatever the flags:
      // every accepted message may owe its sender a report.
      {true, true, true, true, "PIPELINING\nSIZE 10485760\n8BITMIME\nSMTPUTF8\nENHANCEDSTATUSCODES\nCHUNKING\nDSN"},
      {false, true, true, true, "SIZE 10485760\n8BITMIME\nSMTPUTF8\nENHANCEDSTATUSCODES\nCHUNKING\nDSN"},
      {true, false, true, true, "PIPELINING\nSIZE 10485760\nENHANCEDSTATUSCODES\nCHUNKING\nDSN"},
      {true, true, false, true, "PIPELINING\nSIZE 10485760\n8BITMIME\nSMTPUTF8\nCHUNKING\nDSN"},
      {true, true, true, false, "PIPELINING\nSIZE 10485760\n8BITMIME\nSMTPUTF8\nENHANCEDSTATUSCODES\nDSN"},
      {false, false, false, false, "SIZE 10485760\nDSN"},
  };
  for (const Flags& f : cases) {
    Server server;
    server.connector.pipelining_enabled = f.pipelining;
    server.connector.eight_bit_mime_enabled = f.eight_bit;
    server.connector.enhanced_status_codes_enabled = f.enhanced;
    server.connector.chunking_enabled = f.chunking;
    server.connector.auth_mechanism = {};  // STARTTLS and AUTH keywords: smtp_auth_test.cpp
    Protocol p = server.protocol();
    const Step s = p.on_command("EHLO client.example");
    EXPECT_EQ(s.reply.code, 250);
    EXPECT_EQ(s.reply.text, std::string("mx.example.com Hello [192.0.2.10]\n") + f.keywords);
    EXPECT_EQ(s.reply.text.find("STARTTLS"), std::string::npos);
    EXPECT_EQ(s.reply.text.find("AUTH"), std::string::npos);
  }
  Server server;
  server.connector.max_message_size = store::ByteSize::kilobytes(64);
  Protocol p = server.protocol();
  EXPECT_NE(p.on_command("EHLO client.example").reply.text.find("\nSIZE 65536\n"), std::string::npos);
  const Step helo = server.protocol().on_command("HELO client.example");
  EXPECT_EQ(helo.reply.text, "mx.example.com Hello [192.0.2.10]");
  EXPECT_EQ(p.helo_name(), "client.example");
}

TEST(SmtpProtocol, MailSyntax) {
  struct Case {
    std::string command;
    int code;
    const char* enhanced;
  };
  const std::string local300(300, 'x');
  const Case cases[] = {
      {"MAIL FROM:<alice@example.com>", 250, "2.1.0"},
      {"MAIL FROM:<>", 250, "2.1.0"},
      {"MAIL FROM: <alice@example.com>", 250, "2.1.0"},
      {"MAIL FROM:<@relay.example:alice@example.com>", 250, "2.1.0"},
      {"MAIL FROM:<\"john doe\"@example.com>", 250, "2.1.0"},
      {"MAIL FROM:<alice@[192.0.2.1]>", 250, "2.1.0"},
      {"MAIL FROM:<alice@[IPv6:2001:db8::1]>", 250, "2.1.0"},
      {"MAIL FROM:<alice@example.com> SIZE=1000", 250, "2.1.0"},
      {"MAIL FROM:<alice@example.com> SIZE=10485760", 250, "2.1.0"},
      {"MAIL FROM:<alice@example.com> size=10485761", 552, "5.3.4"},
      {"MAIL FROM:<alice@example.com> SIZE=99999999999999999999", 552, "5.3.4"},
      {"MAIL FROM:<alice@example.com> SIZE=abc", 501, "5.5.4"},
      {"MAIL FROM:<alice@example.com> SIZE=-1", 501, "5.5.4"},
      {"MAIL FROM:<alice@example.com> SIZE", 501, "5.5.4"},
      {"MAIL FROM:<alice@example.com> SIZE=1 SIZE=2", 501, "5.5.4"},
      {"MAIL FROM:<alice@example.com> SIZE=", 501, "5.5.4"},
      {"MAIL FROM:<alice@example.com> BODY=8BITMIME", 250, "2.1.0"},
      {"MAIL FROM:<alice@example.com> BODY=7bit", 250, "2.1.0"},
      {"MAIL FROM:<alice@example.com> BODY=BINARYMIME", 555, "5.5.4"},
      {"MAIL FROM:<alice@example.com> BODY", 501, "5.5.4"},
      {"MAIL FROM:<alice@example.com> BODY=7BIT BODY=7BIT", 501, "5.5.4"},
      {"MAIL FROM:<alice@example.com> SMTPUTF8", 250, "2.1.0"},
      {"MAIL FROM:<alice@example.com> smtputf8 BODY=8BITMIME", 250, "2.1.0"},
      {"MAIL FROM:<caf\xc3\xa9@example.com> SMTPUTF8", 250, "2.1.0"},
      {"MAIL FROM:<a@\xe4\xbe\x8b\xe5\xad\x90.example> SMTPUTF8", 250, "2.1.0"},
      {"MAIL FROM:<caf\xc3\xa9@example.com>", 553, "5.6.7"},  // RFC 6531 §3.5
      {"MAIL FROM:<caf\xe9@example.com> SMTPUTF8", 501, "5.1.7"},  // Latin-1: not UTF-8
      {"MAIL FROM:<alice@example.com> SMTPUTF8=yes", 501, "5.5.4"},
      {"MAIL FROM:<alice@example.com> SMTPUTF8 SMTPUTF8", 501, "5.5.4"},
      {"MAIL FROM:<alice@example.com> AUTH=<>", 555, "5.5.4"},
      {"MAIL FROM:<alice@example.com> FOO=bar", 555, "5.5.4"},
      {"MAIL FROM:alice@example.com", 501, "5.5.2"},
      {"MAIL FROM:<alice@example.com", 501, "5.5.2"},
      {"MAIL FROM:<alice@example.com>SIZE=1", 501, "5.5.2"},
      {"MAIL alice@example.com", 501, "5.5.2"},
      {"MAIL", 501, "5.5.2"},
      {"MAIL TO:<alice@example.com>", 501, "5.5.2"},
      {"MAIL FROM:<alice>", 501, "5.1.7"},
      {"MAIL FROM:<alice@>", 501, "5.1.7"},
      {"MAIL FROM:<al ice@example.com>", 501, "5.1.7"},
      {"MAIL FROM:<alice@exa_mple.com>", 501, "5.1.7"},
      {"MAIL FROM:<alice@[300.1.1.1]>", 501, "5.1.7"},
      {"MAIL FROM:<" + local300 + "@example.com>", 501, "5.1.7"},
  };
  const Server server;
  for (const Case& c : cases) {
    Protocol p = server.protocol();
    reach(p, Stage::ready);
    const Step s = p.on_command(c.command);
    EXPECT_EQ(s.reply.code, c.code) << c.command << ": " << s.reply.text;
    EXPECT_EQ(s.reply.enhanced, c.enhanced) << c.command;
    EXPECT_EQ(s.held(), c.code >= 500) << c.command;
    EXPECT_EQ(p.state(), c.code == 250 ? State::mail : State::ready) << c.command;
  }
}

TEST(SmtpProtocol, MailEnvelope) {
  Server server;
  Protocol p = server.protocol();
  reach(p, Stage::ready);
  ASSERT_EQ(p.on_command("MAIL FROM:<@a.example,@b.example:Sender@Client.Example> SIZE=1234 BODY=8BITMIME")
                .reply.code,
            250);
  EXPECT_EQ(p.envelope().mail_from, "Sender@Client.Example");
  EXPECT_EQ(p.envelope().declared_size, 1234u);
  EXPECT_TRUE(p.envelope().eight_bit);
  ASSERT_EQ(p.on_command("RSET").reply.code, 250);
  ASSERT_EQ(p.on_command("MAIL FROM:<>").reply.code, 250);
  EXPECT_EQ(p.envelope().mail_from, "");
  EXPECT_EQ(p.envelope().declared_size, 0u);
  EXPECT_FALSE(p.envelope().eight_bit);

  server.connector.eight_bit_mime_enabled = false;
  Protocol off = server.protocol();
  reach(off, Stage::ready);
  const Step s = off.on_command("MAIL FROM:<a@client.example> BODY=8BITMIME");
  EXPECT_EQ(s.reply.code, 555);
  EXPECT_EQ(s.reply.enhanced, "5.5.4");
  EXPECT_EQ(off.on_command("MAIL FROM:<a@client.example> BODY=7BIT").reply.code, 250);
}

TEST(SmtpProtocol, RcptSyntax) {
  struct Case {
    std::string command;
    int code;
    const char* enhanced;
  };
  const Case cases[] = {
      {"RCPT TO:<alice@example.com>", 250, "2.1.5"},
      {"rcpt to:<Alice@Example.Com>", 250, "2.1.5"},
      {"RCPT TO: <alice@example.com>", 250, "2.1.5"},
      {"RCPT TO:<@relay.example:alice@example.com>", 250, "2.1.5"},
      {"RCPT TO:<>", 501, "5.1.3"},
      {"RCPT TO:alice@example.com", 501, "5.5.2"},
      {"RCPT TO:<alice@example.com", 501, "5.5.2"},
      {"RCPT alice@example.com", 501, "5.5.2"},
      {"RCPT FROM:<alice@example.com>", 501, "5.5.2"},
      {"RCPT TO:<alice>", 501, "5.1.3"},
      {"RCPT TO:<Postmaster>", 250, "2.1.5"},  // RFC 5321 §4.5.1: no domain needed
      {"RCPT TO:<postmaster>", 250, "2.1.5"},
      {"RCPT TO:<postmaster@example.com>", 250, "2.1.5"},  // no such mailbox: the server's postmaster
      {"RCPT TO:<caf\xc3\xa9@example.com>", 553, "5.6.7"},  // UTF-8 without SMTPUTF8 at MAIL
      {"RCPT TO:<alice@@example.com>", 501, "5.1.3"},
      {"RCPT TO:<" + std::string(300, 'x') + "@example.com>", 501, "5.1.3"},
      {"RCPT TO:<" + std::string(65, 'x') + "@example.com>", 501, "5.1.3"},
      {"RCPT TO:<" + std::string(64, 'x') + "@example.com>", 550, "5.1.1"},
      {"RCPT TO:<alice@example.com> NOTIFY=NEVER", 250, "2.1.5"},  // DSN (RFC 3461): SmtpProtocolDsn
      {"RCPT TO:<alice@example.com> NOTIFY=SOMETIMES", 501, "5.5.4"},
      {"RCPT TO:<alice@example.com> FOO=bar", 555, "5.5.4"},
      {"RCPT TO:<alice@example.com> =x", 501, "5.5.4"},
      {"RCPT TO:<x@[192.0.2.1]>", 550, "5.7.1"},
  };
  const Server server;
  for (const Case& c : cases) {
    Protocol p = server.protocol();
    reach(p, Stage::mail);
    const Step s = p.on_command(c.command);
    EXPECT_EQ(s.reply.code, c.code) << c.command << ": " << s.reply.text;
    EXPECT_EQ(s.reply.enhanced, c.enhanced) << c.command;
    EXPECT_EQ(p.envelope().recipients.size(), c.code == 250 ? 1u : 0u) << c.command;
  }
}

TEST(SmtpProtocol, RecipientsInEnvelope) {
  const Server server;
  Protocol p = server.protocol();
  reach(p, Stage::mail);
  for (const char* command : {"RCPT TO:<Alice@example.com>", "RCPT TO:<nobody@example.com>",
                              "RCPT TO:<someone@relay.example>", "RCPT TO:<bob@example.com>"}) {
    p.on_command(command);
  }
  const auto& recipients = p.envelope().recipients;
  ASSERT_EQ(recipients.size(), 3u);
  EXPECT_EQ(recipients[0].address, "Alice@example.com");
  EXPECT_EQ(recipients[0].destination, routing::Verdict::local);
  EXPECT_EQ(recipients[0].mailbox, &server.config.mailboxes[0]);
  EXPECT_EQ(recipients[1].address, "someone@relay.example");
  EXPECT_EQ(recipients[1].destination, routing::Verdict::relay);
  EXPECT_EQ(recipients[1].mailbox, nullptr);
  EXPECT_EQ(recipients[2].destination, routing::Verdict::local);
  EXPECT_EQ(recipients[2].mailbox, &server.config.mailboxes[1]);
  // No DSN parameters were given: RFC 3461's defaults.
  for (const Recipient& r : recipients) {
    EXPECT_FALSE(r.dsn.notify.given) << r.address;
    EXPECT_TRUE(r.dsn.notify.failure) << r.address;
    EXPECT_TRUE(r.dsn.notify.delay) << r.address;
    EXPECT_FALSE(r.dsn.notify.success) << r.address;
    EXPECT_EQ(r.dsn.orcpt, "") << r.address;
  }
  EXPECT_TRUE(p.envelope().needs_queue());  // the relayed recipient
}

TEST(SmtpProtocol, DuplicateRecipientsGetOneTarget) {
  const Server server;
  Protocol p = server.protocol();
  reach(p, Stage::mail);
  for (const char* command : {"RCPT TO:<alice@example.com>", "RCPT TO:<ALICE@example.com>",
                              "RCPT TO:<al@example.com>", "RCPT TO:<x@relay.example>", "RCPT TO:<X@Relay.Example>"}) {
    const Step s = p.on_command(command);
    EXPECT_EQ(s.reply.code, 250) << command;
    EXPECT_EQ(s.reply.enhanced, "2.1.5") << command;
  }
  ASSERT_EQ(p.envelope().recipients.size(), 2u);
  EXPECT_EQ(p.envelope().recipients[0].address, "alice@example.com");
  EXPECT_EQ(p.envelope().recipients[1].address, "x@relay.example");
  // A new transaction starts with no memory of the last one's recipients.
  p.on_command("RSET");
  p.on_command("MAIL FROM:<>");
  EXPECT_EQ(p.on_command("RCPT TO:<al@example.com>").reply.code, 250);
  EXPECT_EQ(p.envelope().recipients.size(), 1u);
}

// Relay-type accepted domains (InternalRelay, ExternalRelay) are accepted only when a send connector
// routes them (DESIGN §5): otherwise 550 5.4.4 and nothing is parked, held like every refusal for an
// anonymous client and counted by the harvest defence. A send connector never lets an anonymous
// client relay to a domain that is not accepted.
TEST(SmtpProtocol, RelayDomainsNeedASendConnector) {
  Server server;
  server.config.accepted_domains.push_back(accepted("partner.example", store::DomainType::external_relay));
  struct Case {
    const char* what;
    std::vector<store::SendConnector> connectors;
    int code;  // for someone@relay.example and someone@partner.example alike
    const char* enhanced;
  };
  store::SendConnector disabled = test::send_connector("Disabled", {"relay.example", "partner.example"});
  disabled.enabled = false;
  const Case cases[] = {
      {"no send connector", {}, 550, "5.4.4"},
      {"one for another domain", {test::send_connector("Other", {"other.example"})}, 550, "5.4.4"},
      {"a disabled one", {disabled}, 550, "5.4.4"},
      {"one for every domain", {test::send_connector("Internet", {"*"})}, 250, "2.1.5"},
      {"one for each", {test::send_connector("Both", {"relay.example", "partner.example"})}, 250, "2.1.5"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    server.config.send_connectors = c.connectors;
    server.index = std::make_unique<routing::RecipientRouter>(server.config);
    Protocol p = server.protocol();
    reach(p, Stage::mail);
    for (const char* address : {"someone@relay.example", "someone@partner.example"}) {
      const Step s = p.on_command(std::string("RCPT TO:<") + address + ">");
      EXPECT_EQ(s.reply.code, c.code) << address << ": " << s.reply.text;
      EXPECT_EQ(s.reply.enhanced, c.enhanced) << address;
      EXPECT_EQ(s.recipient, address);
      if (c.code == 550) {
        EXPECT_EQ(s.reply.text, "Unable to route: no send connector serves this domain");
        EXPECT_EQ(s.refusal, RecipientRefusal::no_route) << address;
        EXPECT_TRUE(s.held()) << address;
        EXPECT_EQ(s.source_event, reputation::Event::refused_recipient) << address;
      } else {
        EXPECT_EQ(s.refusal, RecipientRefusal::none) << address;
        EXPECT_FALSE(s.held()) << address;
      }
    }
    if (c.code == 550) {
      EXPECT_TRUE(p.envelope().recipients.empty());
      EXPECT_EQ(p.on_command("DATA").reply.code, 554);
    } else {
      ASSERT_EQ(p.envelope().recipients.size(), 2u);
      for (const Recipient& r : p.envelope().recipients) {
        EXPECT_EQ(r.destination, routing::Verdict::relay) << r.address;
        EXPECT_EQ(r.mailbox, nullptr) << r.address;
      }
    }
    // Whatever the send connectors, an anonymous client relays nowhere else.
    const Step open_relay = p.on_command("RCPT TO:<victim@elsewhere.example>");
    EXPECT_EQ(open_relay.reply.code, 550);
    EXPECT_EQ(open_relay.reply.enhanced, "5.7.1");
    EXPECT_EQ(open_relay.refusal, RecipientRefusal::relay);
    EXPECT_TRUE(open_relay.held());
  }
}

// RecipientValidationEnabled false: an unknown user of an Authoritative domain is accepted, and the
// queue sends its sender a non-delivery report (DESIGN §5); nothing is parked. The block list and the
// relay check still apply, and known users still go to their mailboxes.
TEST(SmtpProtocol, ValidationOffAcceptsUnknownUsersForANonDeliveryReport) {
  Server server;
  server.config.recipient_filter.recipient_validation_enabled = false;
  server.index = std::make_unique<routing::RecipientRouter>(server.config);
  Protocol p = server.protocol();
  reach(p, Stage::mail);
  Step s = p.on_command("RCPT TO:<alice@example.com>");
  EXPECT_EQ(s.reply.code, 250);
  EXPECT_FALSE(p.envelope().needs_queue());  // local delivery only, so far
  s = p.on_command("RCPT TO:<nobody@example.com>");
  EXPECT_EQ(s.reply.code, 250) << s.reply.text;
  EXPECT_EQ(s.reply.enhanced, "2.1.5");
  EXPECT_EQ(s.refusal, RecipientRefusal::none);
  EXPECT_FALSE(s.held());
  s = p.on_command("RCPT TO:<blocked@example.com>");
  EXPECT_EQ(s.reply.code, 550);
  EXPECT_EQ(s.refusal, RecipientRefusal::blocked);
  s = p.on_command("RCPT TO:<victim@elsewhere.example>");
  EXPECT_EQ(s.reply.code, 550);
  EXPECT_EQ(s.refusal, RecipientRefusal::relay);

  const auto& recipients = p.envelope().recipients;
  ASSERT_EQ(recipients.size(), 2u);
  EXPECT_EQ(recipients[0].destination, routing::Verdict::local);
  EXPECT_EQ(recipients[0].mailbox, &server.config.mailboxes[0]);
  EXPECT_EQ(recipients[1].address, "nobody@example.com");
  EXPECT_EQ(recipients[1].destination, routing::Verdict::non_delivery);
  EXPECT_EQ(recipients[1].mailbox, nullptr);
  EXPECT_TRUE(p.envelope().needs_queue());

  // The same address with validation on: refused, as before.
  Server validating;
  Protocol q = validating.protocol();
  reach(q, Stage::mail);
  EXPECT_EQ(q.on_command("RCPT TO:<nobody@example.com>").refusal, RecipientRefusal::unknown_user);
}

// needs_queue(): whether any recipient goes through the queue rather than straight to a mailbox.
TEST(SmtpProtocol, EnvelopeNeedsQueue) {
  store::Mailbox alice = mailbox("alice@example.com");
  const auto envelope = [&](std::vector<routing::Verdict> destinations) {
    Envelope e;
    for (routing::Verdict d : destinations) {
      Recipient r;
      r.address = "someone@example.com";
      r.destination = d;
      if (d == routing::Verdict::local) r.mailbox = &alice;
      e.recipients.push_back(std::move(r));
    }
    return e;
  };
  using V = routing::Verdict;
  EXPECT_FALSE(envelope({}).needs_queue());
  EXPECT_FALSE(envelope({V::local}).needs_queue());
  EXPECT_FALSE(envelope({V::local, V::local}).needs_queue());
  EXPECT_TRUE(envelope({V::relay}).needs_queue());
  EXPECT_TRUE(envelope({V::non_delivery}).needs_queue());
  EXPECT_TRUE(envelope({V::local, V::relay}).needs_queue());
  EXPECT_TRUE(envelope({V::local, V::local, V::non_delivery}).needs_queue());
}

// The DSN extension (RFC 3461) at MAIL: RET and ENVID are stored in the envelope; a malformed or
// repeated one is 501 5.5.4 and the transaction does not start; RCPT's parameters are unknown here.
TEST(SmtpProtocolDsn, MailParameters) {
  const Server server;
  struct Accepted {
    std::string command;
    dsn::Return ret;
    std::string envid;
  };
  const Accepted accepted[] = {
      {"MAIL FROM:<a@client.example>", dsn::Return::unspecified, ""},
      {"MAIL FROM:<a@client.example> RET=FULL", dsn::Return::full, ""},
      {"MAIL FROM:<a@client.example> ret=hdrs", dsn::Return::headers, ""},
      {"MAIL FROM:<a@client.example> RET=Hdrs", dsn::Return::headers, ""},
      {"MAIL FROM:<a@client.example> ENVID=QQ314159", dsn::Return::unspecified, "QQ314159"},
      // xtext: "+2B" is '+', "+20" a space, lower-case hex taken too.
      {"MAIL FROM:<a@client.example> ENVID=a+2Bb+20c+2bd", dsn::Return::unspecified, "a+b c+d"},
      {"MAIL FROM:<a@client.example> SIZE=100 ENVID=id-1 BODY=8BITMIME RET=FULL", dsn::Return::full, "id-1"},
      {"MAIL FROM:<> RET=HDRS ENVID=bounce", dsn::Return::headers, "bounce"},
      {"MAIL FROM:<a@client.example> ENVID=" + std::string(100, 'x'), dsn::Return::unspecified,
       std::string(100, 'x')},
  };
  for (const Accepted& c : accepted) {
    SCOPED_TRACE(c.command);
    Protocol p = server.protocol();
    reach(p, Stage::ready);
    const Step s = p.on_command(c.command);
    EXPECT_EQ(s.reply.code, 250) << s.reply.text;
    EXPECT_EQ(p.state(), State::mail);
    EXPECT_EQ(p.envelope().dsn.ret, c.ret);
    EXPECT_EQ(p.envelope().dsn.envid, c.envid);
  }

  struct Refused {
    std::string command;
    int code;
    const char* mentions;  // a word the reply text must hold: which parameter was wrong
  };
  const Refused refused[] = {
      {"MAIL FROM:<a@client.example> RET=NONE", 501, "RET"},
      {"MAIL FROM:<a@client.example> RET=FULLY", 501, "RET"},
      {"MAIL FROM:<a@client.example> RET", 501, "RET"},
      {"MAIL FROM:<a@client.example> RET=", 501, "parameter"},  // no value after '=': the parser's
      {"MAIL FROM:<a@client.example> RET=FULL RET=FULL", 501, "Duplicate RET"},
      {"MAIL FROM:<a@client.example> RET=FULL ret=HDRS", 501, "Duplicate RET"},
      {"MAIL FROM:<a@client.example> ENVID", 501, "ENVID"},
      {"MAIL FROM:<a@client.example> ENVID=a+2", 501, "ENVID"},     // a cut "+" escape
      {"MAIL FROM:<a@client.example> ENVID=a+ZZ", 501, "ENVID"},    // not hex
      {"MAIL FROM:<a@client.example> ENVID=a+00b", 501, "ENVID"},   // decodes to a control character
      {"MAIL FROM:<a@client.example> ENVID=" + std::string(101, 'x'), 501, "ENVID"},
      {"MAIL FROM:<a@client.example> ENVID=x ENVID=x", 501, "Duplicate ENVID"},
      {"MAIL FROM:<a@client.example> ENVID=x envid=y", 501, "Duplicate ENVID"},
      // RCPT's parameters are no MAIL parameters.
      {"MAIL FROM:<a@client.example> NOTIFY=NEVER", 555, "MAIL"},
      {"MAIL FROM:<a@client.example> ORCPT=rfc822;a@client.example", 555, "MAIL"},
  };
  for (const Refused& c : refused) {
    SCOPED_TRACE(c.command);
    Protocol p = server.protocol();
    reach(p, Stage::ready);
    const Step s = p.on_command(c.command);
    EXPECT_EQ(s.reply.code, c.code) << s.reply.text;
    EXPECT_EQ(s.reply.enhanced, "5.5.4");
    EXPECT_NE(s.reply.text.find(c.mentions), std::string::npos) << s.reply.text;
    EXPECT_TRUE(s.held());  // an anonymous client's 5xx
    EXPECT_EQ(p.state(), State::ready);
    // The client may try again without the bad parameter.
    EXPECT_EQ(p.on_command("MAIL FROM:<a@client.example>").reply.code, 250);
    EXPECT_EQ(p.envelope().dsn.ret, dsn::Return::unspecified);
    EXPECT_EQ(p.envelope().dsn.envid, "");
  }

  // Each transaction has its own: RSET and a delivered message forget them.
  Protocol p = server.protocol();
  reach(p, Stage::ready);
  ASSERT_EQ(p.on_command("MAIL FROM:<a@client.example> RET=FULL ENVID=first").reply.code, 250);
  ASSERT_EQ(p.on_command("RSET").reply.code, 250);
  ASSERT_EQ(p.on_command("MAIL FROM:<a@client.example> ENVID=second").reply.code, 250);
  EXPECT_EQ(p.envelope().dsn.ret, dsn::Return::unspecified);
  EXPECT_EQ(p.envelope().dsn.envid, "second");
  ASSERT_EQ(p.on_command("RCPT TO:<alice@example.com>").reply.code, 250);
  ASSERT_EQ(p.on_command("DATA").reply.code, 354);
  ASSERT_EQ(p.on_message(BodyOutcome::complete, 10).action, Action::deliver);
  EXPECT_EQ(p.envelope().dsn.envid, "second");  // still there for the delivery
  ASSERT_EQ(p.on_delivered(DeliveryOutcome::delivered).reply.code, 250);
  ASSERT_EQ(p.on_command("MAIL FROM:<a@client.example>").reply.code, 250);
  EXPECT_EQ(p.envelope().dsn.envid, "");
}

// The DSN extension at RCPT: NOTIFY and ORCPT are stored with their recipient; a malformed or repeated
// one refuses that RCPT with 501 5.5.4 (a mistake of syntax: held for an anonymous client, but not
// counted against it); MAIL's parameters are unknown here (555).
TEST(SmtpProtocolDsn, RcptParameters) {
  const Server server;
  struct Accepted {
    const char* command;
    bool given, never, success, failure, delay;  // NOTIFY as stored
    const char* orcpt;
  };
  const Accepted accepted[] = {
      {"RCPT TO:<alice@example.com> NOTIFY=NEVER", true, true, false, false, false, ""},
      {"RCPT TO:<alice@example.com> notify=never", true, true, false, false, false, ""},
      {"RCPT TO:<alice@example.com> NOTIFY=SUCCESS", true, false, true, false, false, ""},
      {"RCPT TO:<alice@example.com> NOTIFY=SUCCESS,FAILURE", true, false, true, true, false, ""},
      {"RCPT TO:<alice@example.com> NOTIFY=delay,Failure,SUCCESS", true, false, true, true, true, ""},
      // ORCPT alone: NOTIFY keeps RFC 3461's default (FAILURE, DELAY), marked as not given.
      {"RCPT TO:<alice@example.com> ORCPT=rfc822;alice@example.com", false, false, false, true, true,
       "rfc822;alice@example.com"},
      // The addr-type is lower-cased; xtext is decoded.
      {"RCPT TO:<alice@example.com> ORCPT=RFC822;Old+2BName@example.com", false, false, false, true, true,
       "rfc822;Old+Name@example.com"},
      // RFC 6533: a UTF-8 original recipient, written in 7 bits.
      {"RCPT TO:<alice@example.com> ORCPT=utf-8;j\\x{E9}r\\x{F4}me@example.com", false, false, false, true, true,
       "utf-8;j\xc3\xa9r\xc3\xb4me@example.com"},
      {"RCPT TO:<alice@example.com> ORCPT=rfc822;x@example.org NOTIFY=FAILURE", true, false, false, true, false,
       "rfc822;x@example.org"},
      {"RCPT TO:<someone@relay.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;someone@relay.example", true, false,
       true, false, true, "rfc822;someone@relay.example"},
  };
  for (const Accepted& c : accepted) {
    SCOPED_TRACE(c.command);
    Protocol p = server.protocol();
    reach(p, Stage::mail);
    const Step s = p.on_command(c.command);
    EXPECT_EQ(s.reply.code, 250) << s.reply.text;
    EXPECT_EQ(s.refusal, RecipientRefusal::none);
    ASSERT_EQ(p.envelope().recipients.size(), 1u);
    const dsn::RecipientParameters& got = p.envelope().recipients[0].dsn;
    EXPECT_EQ(got.notify.given, c.given);
    EXPECT_EQ(got.notify.never, c.never);
    EXPECT_EQ(got.notify.success, c.success);
    EXPECT_EQ(got.notify.failure, c.failure);
    EXPECT_EQ(got.notify.delay, c.delay);
    EXPECT_EQ(got.orcpt, c.orcpt);
  }

  struct Refused {
    std::string command;
    int code;
    const char* mentions;  // a word the reply text must hold
  };
  const Refused refused[] = {
      {"RCPT TO:<alice@example.com> NOTIFY=NEVER,SUCCESS", 501, "NOTIFY"},  // NEVER stands alone
      {"RCPT TO:<alice@example.com> NOTIFY=SUCCESS,NEVER", 501, "NOTIFY"},
      {"RCPT TO:<alice@example.com> NOTIFY=SUCCESS,SUCCESS", 501, "NOTIFY"},
      {"RCPT TO:<alice@example.com> NOTIFY=SUCCESS,", 501, "NOTIFY"},
      {"RCPT TO:<alice@example.com> NOTIFY=ALWAYS", 501, "NOTIFY"},
      {"RCPT TO:<alice@example.com> NOTIFY", 501, "NOTIFY"},
      {"RCPT TO:<alice@example.com> NOTIFY=NEVER NOTIFY=NEVER", 501, "Duplicate NOTIFY"},
      {"RCPT TO:<alice@example.com> NOTIFY=NEVER notify=FAILURE", 501, "Duplicate"},
      {"RCPT TO:<alice@example.com> ORCPT=alice@example.com", 501, "ORCPT"},  // no addr-type
      {"RCPT TO:<alice@example.com> ORCPT=rfc822;", 501, "ORCPT"},
      {"RCPT TO:<alice@example.com> ORCPT=;alice@example.com", 501, "ORCPT"},
      {"RCPT TO:<alice@example.com> ORCPT=rfc822;a+ZZ@example.com", 501, "ORCPT"},
      {"RCPT TO:<alice@example.com> ORCPT=rfc822;a+0Ab@example.com", 501, "ORCPT"},  // a line feed
      {"RCPT TO:<alice@example.com> ORCPT", 501, "ORCPT"},
      {"RCPT TO:<alice@example.com> ORCPT=rfc822;a@x ORCPT=rfc822;a@x", 501, "Duplicate ORCPT"},
      {"RCPT TO:<alice@example.com> NOTIFY=NEVER FOO=bar", 555, "RCPT"},
      {"RCPT TO:<alice@example.com> RET=FULL", 555, "RCPT"},
      {"RCPT TO:<alice@example.com> ENVID=x", 555, "RCPT"},
  };
  for (const Refused& c : refused) {
    SCOPED_TRACE(c.command);
    Protocol p = server.protocol();
    reach(p, Stage::mail);
    const Step s = p.on_command(c.command);
    EXPECT_EQ(s.reply.code, c.code) << s.reply.text;
    EXPECT_EQ(s.reply.enhanced, "5.5.4");
    EXPECT_NE(s.reply.text.find(c.mentions), std::string::npos) << s.reply.text;
    EXPECT_EQ(s.refusal, RecipientRefusal::syntax);
    EXPECT_EQ(s.recipient, "alice@example.com");
    EXPECT_TRUE(s.answers_rcpt);
    EXPECT_TRUE(s.held());
    EXPECT_FALSE(s.source_event.has_value());
    EXPECT_TRUE(p.envelope().recipients.empty());
    EXPECT_EQ(p.state(), State::mail);
  }
  // Each recipient keeps its own parameters; a refused RCPT leaves no trace.
  Protocol p = server.protocol();
  reach(p, Stage::mail);
  ASSERT_EQ(p.on_command("RCPT TO:<alice@example.com> NOTIFY=NEVER").reply.code, 250);
  ASSERT_EQ(p.on_command("RCPT TO:<bob@example.com> NOTIFY=BOGUS").reply.code, 501);
  ASSERT_EQ(p.on_command("RCPT TO:<bob@example.com> ORCPT=rfc822;robert@example.com").reply.code, 250);
  ASSERT_EQ(p.on_command("RCPT TO:<x@relay.example>").reply.code, 250);
  const auto& recipients = p.envelope().recipients;
  ASSERT_EQ(recipients.size(), 3u);
  EXPECT_TRUE(recipients[0].dsn.notify.never);
  EXPECT_EQ(recipients[0].dsn.orcpt, "");
  EXPECT_FALSE(recipients[1].dsn.notify.given);
  EXPECT_TRUE(recipients[1].dsn.notify.failure);
  EXPECT_EQ(recipients[1].dsn.orcpt, "rfc822;robert@example.com");
  EXPECT_FALSE(recipients[2].dsn.notify.given);
  EXPECT_EQ(recipients[2].dsn.orcpt, "");
  EXPECT_EQ(recipients[2].destination, routing::Verdict::relay);
}

TEST(SmtpProtocol, MaxRecipientsPerMessage) {
  const Server server;  // default 200
  ASSERT_EQ(server.connector.max_recipients_per_message, 200);
  Protocol p = server.protocol();
  reach(p, Stage::mail);
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(p.on_command("RCPT TO:<user" + std::to_string(i) + "@relay.example>").reply.code, 250) << i;
  }
  Step s = p.on_command("RCPT TO:<user200@relay.example>");
  EXPECT_EQ(s.reply.code, 452);
  EXPECT_EQ(s.reply.enhanced, "4.5.3");
  EXPECT_FALSE(s.held());
  // Also for a recipient that would have been refused, and for a mailbox already accepted.
  EXPECT_EQ(p.on_command("RCPT TO:<nobody@example.com>").reply.code, 452);
  EXPECT_EQ(p.on_command("RCPT TO:<user0@relay.example>").reply.code, 452);
  EXPECT_EQ(p.envelope().recipients.size(), 200u);
  EXPECT_EQ(p.on_command("DATA").reply.code, 354);
}

TEST(SmtpProtocol, TarpitTable) {
  struct Case {
    bool authenticated;
    std::int64_t interval;
    Stage stage;
    const char* command;
    int code;
    bool tarpit;
  };
  const Case cases[] = {
      {false, 5, Stage::mail, "RCPT TO:<nobody@example.com>", 550, true},
      {false, 5, Stage::mail, "RCPT TO:<x@elsewhere.example>", 550, true},
      {false, 5, Stage::greeted, "FOO", 500, true},
      {false, 5, Stage::greeted, "MAIL FROM:<a@b.example>", 503, true},
      {false, 5, Stage::ready, "VRFY alice", 252, true},
      {false, 5, Stage::ready, "EXPN staff", 252, true},
      {false, 5, Stage::ready, "STARTTLS now", 501, true},
      {false, 5, Stage::ready, "STARTTLS", 220, false},
      {false, 5, Stage::ready, "AUTH PLAIN", 538, true},
      {false, 5, Stage::mail, "RCPT TO:<alice@example.com>", 250, false},
      {false, 5, Stage::recipients, "DATA", 354, false},
      {false, 5, Stage::ready, "NOOP", 250, false},
      {false, 5, Stage::ready, "QUIT", 221, false},
      {false, 600, Stage::mail, "RCPT TO:<nobody@example.com>", 550, true},
      {true, 5, Stage::mail, "RCPT TO:<nobody@example.com>", 550, false},
      {true, 5, Stage::ready, "VRFY alice", 252, false},
      {true, 5, Stage::greeted, "FOO", 500, false},
      {false, 0, Stage::mail, "RCPT TO:<nobody@example.com>", 550, false},
      {false, 0, Stage::ready, "VRFY alice", 252, false},
  };
  for (const Case& c : cases) {
    Server server;
    server.connector.tarpit_interval = store::TimeSpan::from_seconds(c.interval);
    Protocol p = server.protocol(c.authenticated);
    reach(p, c.stage);
    const Step s = p.on_command(c.command);
    EXPECT_EQ(s.reply.code, c.code) << c.command;
    EXPECT_EQ(s.held(), c.tarpit) << c.command << " authenticated=" << c.authenticated
                                  << " interval=" << c.interval;
  }

  // 4xx replies are never held, whoever asks.
  Server server;
  server.connector.max_recipients_per_message = 1;
  Protocol p = server.protocol();
  reach(p, Stage::recipients);
  const Step too_many = p.on_command("RCPT TO:<nobody@example.com>");
  EXPECT_EQ(too_many.reply.code, 452);
  EXPECT_FALSE(too_many.held());
  ASSERT_EQ(p.on_command("DATA").action, Action::read_data);
  p.on_message(BodyOutcome::complete, 1);
  const Step failed = p.on_delivered(DeliveryOutcome::failed);
  EXPECT_EQ(failed.reply.code, 451);
  EXPECT_FALSE(failed.held());

}

TEST(SmtpProtocol, MaxProtocolErrorsDefault) {
  Server server;
  server.connector.auth_mechanism = {};  // STARTTLS not offered: 502
  ASSERT_EQ(server.connector.max_protocol_errors, 5);
  Protocol p = server.protocol();
  // 500, 501, 503, an overlong line and a NUL count; 502, 550, 554 and 252 do not.
  EXPECT_EQ(p.on_command("FOO").reply.code, 500);
  EXPECT_EQ(p.on_command("EHLO").reply.code, 501);
  EXPECT_EQ(p.on_command("DATA").reply.code, 503);
  EXPECT_EQ(p.on_overlong_line().reply.code, 500);
  EXPECT_EQ(p.on_command("STARTTLS").reply.code, 502);
  EXPECT_EQ(p.on_command("VRFY x").reply.code, 252);
  reach(p, Stage::mail);
  EXPECT_EQ(p.on_command("RCPT TO:<nobody@example.com>").reply.code, 550);
  EXPECT_EQ(p.on_command("DATA").reply.code, 554);
  EXPECT_EQ(p.on_command(std::string_view("NOOP\0", 5)).reply.code, 500);  // the 5th: still answered
  const Step s = p.on_command("RCPT TO:<>");                                 // the 6th
  EXPECT_EQ(s.reply.code, 421);
  EXPECT_EQ(s.reply.enhanced, "4.7.0");
  EXPECT_EQ(s.action, Action::close);
  EXPECT_FALSE(s.held());
  EXPECT_EQ(p.state(), State::closed);
  EXPECT_FALSE(p.in_message());
  const Step after = p.on_command("NOOP");
  EXPECT_EQ(after.reply.code, 0);
  EXPECT_EQ(after.action, Action::close);
}

TEST(SmtpProtocol, MaxProtocolErrorsLimits) {
  struct Case {
    store::CountLimit limit;
    int errors_answered;  // errors before the 421; -1: never closes within 1000
  };
  const Case cases[] = {{0, 0}, {1, 1}, {3, 3}, {std::nullopt, -1}};
  for (const Case& c : cases) {
    Server server;
    server.connector.max_protocol_errors = c.limit;
    Protocol p = server.protocol();
    int answered = 0;
    for (; answered < 1000; ++answered) {
      const Step s = p.on_command("BOGUS");
      if (s.reply.code == 421) {
        EXPECT_EQ(s.action, Action::close);
        EXPECT_FALSE(s.held());
        break;
      }
      ASSERT_EQ(s.reply.code, 500);
      EXPECT_TRUE(s.held());
    }
    EXPECT_EQ(answered, c.errors_answered == -1 ? 1000 : c.errors_answered);
  }
}

TEST(SmtpProtocol, DataMessage) {
  const Server server;
  Protocol p = server.protocol();
  reach(p, Stage::recipients);
  EXPECT_FALSE(p.in_message());
  const Step go = p.on_command("DATA");
  EXPECT_EQ(go.reply.code, 354);
  EXPECT_EQ(go.reply.text, "Start mail input; end with <CRLF>.<CRLF>");
  EXPECT_EQ(go.action, Action::read_data);
  EXPECT_TRUE(p.in_message());
  const Step received = p.on_message(BodyOutcome::complete, 1234);
  EXPECT_EQ(received.reply.code, 0);
  EXPECT_EQ(received.action, Action::deliver);
  EXPECT_FALSE(received.held());
  EXPECT_TRUE(p.in_message());
  EXPECT_EQ(p.envelope().recipients.size(), 1u);  // still there for the delivery
  const Step done = p.on_delivered(DeliveryOutcome::delivered);
  EXPECT_EQ(done.reply.code, 250);
  EXPECT_EQ(done.reply.enhanced, "2.6.0");
  EXPECT_EQ(done.action, Action::read_command);
  EXPECT_FALSE(p.in_message());
  EXPECT_EQ(p.state(), State::ready);
  EXPECT_TRUE(p.envelope().recipients.empty());
  EXPECT_EQ(p.envelope().mail_from, "");
}

TEST(SmtpProtocol, DeliveryFailure) {
  const Server server;
  Protocol p = server.protocol();
  reach(p, Stage::recipients);
  p.on_command("DATA");
  p.on_message(BodyOutcome::complete, 10);
  const Step s = p.on_delivered(DeliveryOutcome::failed);
  EXPECT_EQ(s.reply.code, 451);
  EXPECT_EQ(s.reply.enhanced, "4.3.0");
  EXPECT_FALSE(s.held());
  EXPECT_EQ(p.state(), State::ready);
  EXPECT_FALSE(p.in_message());
  EXPECT_TRUE(p.envelope().recipients.empty());
}

TEST(SmtpProtocol, BodyOutcomes) {
  struct Case {
    BodyOutcome outcome;
    std::uint64_t size;
    int code;
    const char* enhanced;
    Action action;
  };
  const std::uint64_t max = 10 * 1024 * 1024;
  const Case cases[] = {
      {BodyOutcome::complete, 100, 0, "", Action::deliver},
      {BodyOutcome::complete, max, 0, "", Action::deliver},
      {BodyOutcome::complete, max + 1, 552, "5.3.4", kRead},
      {BodyOutcome::too_large, max + 1, 552, "5.3.4", kRead},
      {BodyOutcome::header_too_large, 70000, 552, "5.3.4", kRead},
      {BodyOutcome::line_too_long, 5000, 554, "5.6.0", kRead},
      {BodyOutcome::bare_line_feed, 50, 554, "5.6.0", kRead},
      {BodyOutcome::nul_byte, 50, 554, "5.6.0", kRead},
  };
  const Server server;
  for (const Case& c : cases) {
    Protocol p = server.protocol();
    reach(p, Stage::recipients);
    ASSERT_EQ(p.on_command("DATA").action, Action::read_data);
    const Step s = p.on_message(c.outcome, c.size);
    EXPECT_EQ(s.reply.code, c.code) << static_cast<int>(c.outcome);
    EXPECT_EQ(s.reply.enhanced, c.enhanced) << static_cast<int>(c.outcome);
    EXPECT_EQ(s.action, c.action) << static_cast<int>(c.outcome);
    EXPECT_EQ(s.held(), c.code >= 500) << static_cast<int>(c.outcome);
    if (c.action != Action::deliver) {
      EXPECT_EQ(p.state(), State::ready);
      EXPECT_FALSE(p.in_message());
      EXPECT_TRUE(p.envelope().recipients.empty());
      EXPECT_EQ(p.on_command("DATA").reply.code, 503);  // the transaction is gone
    }
  }
  Protocol p = server.protocol();
  reach(p, Stage::recipients);
  p.on_command("DATA");
  EXPECT_NE(p.on_message(BodyOutcome::header_too_large, 1).reply.text.find("header"), std::string::npos);
}

TEST(SmtpProtocol, BdatSequence) {
  const Server server;
  Protocol p = server.protocol();
  reach(p, Stage::recipients);
  Step s = p.on_command("BDAT 1000");
  EXPECT_EQ(s.reply.code, 0);
  EXPECT_EQ(s.action, Action::read_chunk);
  EXPECT_EQ(s.chunk_size, 1000u);
  EXPECT_TRUE(p.keep_chunk());
  EXPECT_TRUE(p.in_message());
  EXPECT_EQ(p.state(), State::chunking);
  s = p.on_chunk(BodyOutcome::complete, 1000);
  EXPECT_EQ(s.reply.code, 250);
  EXPECT_EQ(s.reply.enhanced, "2.0.0");
  EXPECT_EQ(s.reply.text, "1000 octets received");
  EXPECT_EQ(s.action, kRead);
  EXPECT_TRUE(p.in_message());
  s = p.on_command("BDAT 24 last");
  EXPECT_EQ(s.action, Action::read_chunk);
  EXPECT_EQ(s.chunk_size, 24u);
  s = p.on_chunk(BodyOutcome::complete, 1024);
  EXPECT_EQ(s.reply.code, 0);
  EXPECT_EQ(s.action, Action::deliver);
  EXPECT_TRUE(p.in_message());
  EXPECT_EQ(p.envelope().recipients.size(), 1u);
  s = p.on_delivered(DeliveryOutcome::delivered);
  EXPECT_EQ(s.reply.code, 250);
  EXPECT_EQ(s.reply.enhanced, "2.6.0");
  EXPECT_FALSE(p.in_message());
  EXPECT_EQ(p.state(), State::ready);
  // The next transaction can use BDAT again, from zero.
  reach(p, Stage::ready);
  p.on_command("MAIL FROM:<>");
  p.on_command("RCPT TO:<bob@example.com>");
  s = p.on_command("BDAT 0 LAST");
  EXPECT_EQ(s.action, Action::read_chunk);
  EXPECT_EQ(s.chunk_size, 0u);
  EXPECT_EQ(p.on_chunk(BodyOutcome::complete, 0).action, Action::deliver);
}

TEST(SmtpProtocol, BdatRefusals) {
  struct Case {
    const char* what;
    Stage stage;
    bool chunking_enabled;
    const char* command;
    int code;
    const char* enhanced;
  };
  const Case cases[] = {
      {"before EHLO", Stage::greeted, true, "BDAT 10", 503, "5.5.1"},
      {"after HELO", Stage::helo, true, "BDAT 10", 503, "5.5.1"},
      {"no MAIL", Stage::ready, true, "BDAT 10 LAST", 503, "5.5.1"},
      {"no accepted RCPT", Stage::rejected_rcpt, true, "BDAT 10", 554, "5.5.1"},
      {"CHUNKING off", Stage::recipients, false, "BDAT 10", 502, "5.5.1"},
      {"too large at once", Stage::recipients, true, "BDAT 10485761 LAST", 552, "5.3.4"},
      {"too large with the last chunk", Stage::chunking, true, "BDAT 10485751 LAST", 552, "5.3.4"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Server server;
    server.connector.chunking_enabled = c.chunking_enabled;
    Protocol p = server.protocol();
    if (c.stage == Stage::chunking) {
      reach(p, Stage::recipients);
      ASSERT_EQ(p.on_command("BDAT 10").action, Action::read_chunk);
      ASSERT_EQ(p.on_chunk(BodyOutcome::complete, 10).reply.code, 250);
    } else {
      reach(p, c.stage);
    }
    const Step s = p.on_command(c.command);
    // The announced octets are read either way, so the session stays in step with the client.
    EXPECT_EQ(s.action, Action::read_chunk);
    EXPECT_EQ(s.reply.code, 0);
    EXPECT_FALSE(p.keep_chunk());
    const Step reply = p.on_chunk(BodyOutcome::complete, s.chunk_size);
    EXPECT_EQ(reply.reply.code, c.code) << reply.reply.text;
    EXPECT_EQ(reply.reply.enhanced, c.enhanced);
    EXPECT_EQ(reply.action, kRead);
    EXPECT_TRUE(reply.held());
    EXPECT_FALSE(p.in_message());
  }
}

TEST(SmtpProtocol, BdatSyntax) {
  const Server server;
  for (const char* command : {"BDAT", "BDAT x", "BDAT -1", "BDAT 10 LASTX", "BDAT 10 LAST more", "BDAT 1e3",
                              "BDAT 99999999999999999999999"}) {
    Protocol p = server.protocol();
    reach(p, Stage::recipients);
    const Step s = p.on_command(command);
    EXPECT_EQ(s.reply.code, 501) << command;
    EXPECT_EQ(s.reply.enhanced, "5.5.4") << command;
    EXPECT_EQ(s.action, kRead) << command;
    EXPECT_EQ(p.state(), State::recipients) << command;
  }
}

TEST(SmtpProtocol, BdatFailedSequenceRefusesTheRest) {
  Server server;
  server.connector.max_message_size = store::ByteSize::kilobytes(64);
  Protocol p = server.protocol();
  reach(p, Stage::recipients);
  ASSERT_EQ(p.on_command("BDAT 40000").action, Action::read_chunk);
  EXPECT_TRUE(p.keep_chunk());
  EXPECT_EQ(p.on_chunk(BodyOutcome::complete, 40000).reply.code, 250);
  // Over the limit: refused, and the client's pipelined chunks after it are read and refused too.
  for (const char* command : {"BDAT 40000", "BDAT 100", "BDAT 10 LAST"}) {
    const Step s = p.on_command(command);
    ASSERT_EQ(s.action, Action::read_chunk) << command;
    EXPECT_FALSE(p.keep_chunk()) << command;
    const Step r = p.on_chunk(BodyOutcome::complete, 0);
    EXPECT_EQ(r.reply.code, 552) << command;
    EXPECT_EQ(r.reply.enhanced, "5.3.4") << command;
    EXPECT_FALSE(p.in_message()) << command;
    EXPECT_EQ(p.state(), State::ready) << command;
  }
  // After LAST the sequence is over: a lone BDAT is a sequence error again.
  p.on_command("BDAT 5");
  EXPECT_EQ(p.on_chunk(BodyOutcome::complete, 5).reply.code, 503);
  // And a new transaction works.
  p.on_command("MAIL FROM:<>");
  p.on_command("RCPT TO:<alice@example.com>");
  p.on_command("BDAT 5 LAST");
  EXPECT_TRUE(p.keep_chunk());
  EXPECT_EQ(p.on_chunk(BodyOutcome::complete, 5).action, Action::deliver);
}

TEST(SmtpProtocol, BdatNewTransactionAfterFailure) {
  Server server;
  server.connector.max_message_size = store::ByteSize::kilobytes(64);
  Protocol p = server.protocol();
  reach(p, Stage::recipients);
  p.on_command("BDAT 70000");
  EXPECT_EQ(p.on_chunk(BodyOutcome::complete, 70000).reply.code, 552);
  // The client gave up on the message without sending LAST: MAIL starts afresh.
  EXPECT_EQ(p.on_command("MAIL FROM:<>").reply.code, 250);
  EXPECT_EQ(p.on_command("RCPT TO:<alice@example.com>").reply.code, 250);
  p.on_command("BDAT 10");
  EXPECT_TRUE(p.keep_chunk());
  EXPECT_EQ(p.on_chunk(BodyOutcome::complete, 10).reply.code, 250);
}

TEST(SmtpProtocol, BdatTotalReportedBySessionIsChecked) {
  Server server;
  server.connector.max_message_size = store::ByteSize::kilobytes(64);
  Protocol p = server.protocol();
  reach(p, Stage::recipients);
  p.on_command("BDAT 100");
  const Step s = p.on_chunk(BodyOutcome::complete, 65537);
  EXPECT_EQ(s.reply.code, 552);
  EXPECT_EQ(p.state(), State::ready);
}

TEST(SmtpProtocol, BdatAndDataDoNotMix) {
  const Server server;
  Protocol p = server.protocol();
  reach(p, Stage::chunking);
  const Step s = p.on_command("DATA");
  EXPECT_EQ(s.reply.code, 503);
  EXPECT_EQ(s.reply.enhanced, "5.5.1");
  EXPECT_TRUE(p.in_message());
  p.on_command("BDAT 1 LAST");
  EXPECT_EQ(p.on_chunk(BodyOutcome::complete, 11).action, Action::deliver);
}

TEST(SmtpProtocol, TimeoutsAndShutdown) {
  const Server server;
  const Protocol p = server.protocol();
  struct Case {
    Reply reply;
    int code;
    const char* enhanced;
  };
  const Case cases[] = {
      {p.connection_timeout(), 421, "4.4.1"},
      {p.inactivity_timeout(), 451, "4.7.0"},
      {p.shutting_down(), 421, "4.3.2"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.reply.code, c.code);
    EXPECT_EQ(c.reply.enhanced, c.enhanced);
    EXPECT_FALSE(c.reply.text.empty());
  }
}

TEST(SmtpProtocol, FactsAndHeloName) {
  const Server server;
  Protocol p = server.protocol(true);
  EXPECT_TRUE(p.facts().authenticated);
  EXPECT_EQ(p.facts().remote.to_string(), "192.0.2.10");
  p.on_command("EHLO first.example extra words");
  EXPECT_EQ(p.helo_name(), "first.example");
  p.on_command("HELO second.example");
  EXPECT_EQ(p.helo_name(), "second.example");
  // BDAT is refused after HELO even in a transaction.
  p.on_command("MAIL FROM:<>");
  p.on_command("RCPT TO:<alice@example.com>");
  p.on_command("BDAT 3 LAST");
  EXPECT_EQ(p.on_chunk(BodyOutcome::complete, 3).reply.code, 503);
  EXPECT_EQ(p.on_command("DATA").reply.code, 354);
}

// SMTPUTF8 (RFC 6531): offered with 8BITMIME, a MAIL parameter without a value, and the key that lets
// UTF-8 addresses into this transaction only.
TEST(SmtpProtocol, Smtputf8Transaction) {
  Server server;
  server.config.mailboxes.push_back(mailbox("j\xc3\xb6rg@example.com"));
  server.index = std::make_unique<routing::RecipientRouter>(server.config);
  Protocol p = server.protocol();
  EXPECT_NE(p.on_command("EHLO client.example").reply.text.find("\n8BITMIME\nSMTPUTF8\n"), std::string::npos);
  ASSERT_EQ(p.on_command("MAIL FROM:<caf\xc3\xa9@client.example> SMTPUTF8").reply.code, 250);
  EXPECT_TRUE(p.envelope().smtputf8);
  EXPECT_EQ(p.envelope().mail_from, "caf\xc3\xa9@client.example");
  Step s = p.on_command("RCPT TO:<J\xc3\xb6RG@example.com>");  // ASCII letters in any case
  EXPECT_EQ(s.reply.code, 250) << s.reply.text;
  EXPECT_EQ(s.recipient, "J\xc3\xb6RG@example.com");
  s = p.on_command("RCPT TO:<J\xc3\x96rg@example.com>");  // Ö is not ö: no Unicode case folding
  EXPECT_EQ(s.reply.code, 550);
  EXPECT_EQ(s.refusal, RecipientRefusal::unknown_user);
  ASSERT_EQ(p.envelope().recipients.size(), 1u);
  EXPECT_EQ(p.envelope().recipients[0].mailbox, &server.config.mailboxes.back());

  // The next transaction without SMTPUTF8: UTF-8 recipients are refused as RFC 6531 §3.5 says.
  ASSERT_EQ(p.on_command("RSET").reply.code, 250);
  ASSERT_EQ(p.on_command("MAIL FROM:<a@client.example>").reply.code, 250);
  EXPECT_FALSE(p.envelope().smtputf8);
  s = p.on_command("RCPT TO:<j\xc3\xb6rg@example.com>");
  EXPECT_EQ(s.reply.code, 553);
  EXPECT_EQ(s.reply.enhanced, "5.6.7");
  EXPECT_EQ(s.refusal, RecipientRefusal::syntax);
  EXPECT_EQ(s.recipient, "j\xc3\xb6rg@example.com");
  EXPECT_TRUE(s.held());

  // Without 8BITMIME there is no SMTPUTF8 either.
  server.connector.eight_bit_mime_enabled = false;
  Protocol off = server.protocol();
  EXPECT_EQ(off.on_command("EHLO client.example").reply.text.find("SMTPUTF8"), std::string::npos);
  s = off.on_command("MAIL FROM:<a@client.example> SMTPUTF8");
  EXPECT_EQ(s.reply.code, 555);
  EXPECT_EQ(s.reply.enhanced, "5.5.4");
}

// RCPT TO:<Postmaster> needs no domain and is always accepted (RFC 5321 §4.5.1, DESIGN §5): from an
// anonymous session, with validation on, and for the server's postmaster mailbox.
TEST(SmtpProtocol, PostmasterWithoutDomain) {
  Server server;
  server.config.accepted_domains[0].is_default = true;
  server.config.mailboxes.push_back(mailbox("root@example.com", {"postmaster@example.com"}));
  server.index = std::make_unique<routing::RecipientRouter>(server.config);
  Protocol p = server.protocol();
  reach(p, Stage::mail);
  for (const char* command : {"RCPT TO:<Postmaster>", "RCPT TO:<POSTMASTER>", "RCPT TO:<postmaster@Example.com>"}) {
    const Step s = p.on_command(command);
    EXPECT_EQ(s.reply.code, 250) << command << ": " << s.reply.text;
    EXPECT_EQ(s.reply.enhanced, "2.1.5") << command;
    EXPECT_FALSE(s.held()) << command;
    EXPECT_EQ(s.refusal, RecipientRefusal::none) << command;
  }
  // One copy for the mailbox, however it was named.
  ASSERT_EQ(p.envelope().recipients.size(), 1u);
  EXPECT_EQ(p.envelope().recipients[0].address, "Postmaster");
  EXPECT_EQ(p.envelope().recipients[0].destination, routing::Verdict::local);
  EXPECT_EQ(p.envelope().recipients[0].mailbox, &server.config.mailboxes.back());
  EXPECT_EQ(p.state(), State::recipients);

  // No postmaster mailbox anywhere: still accepted, and the sender is told by a non-delivery report
  // (nothing is kept where nobody reads it, DESIGN §5).
  const Server bare;
  Protocol q = bare.protocol();
  reach(q, Stage::mail);
  const Step s = q.on_command("RCPT TO:<postmaster>");
  EXPECT_EQ(s.reply.code, 250);
  EXPECT_FALSE(s.held());
  ASSERT_EQ(q.envelope().recipients.size(), 1u);
  EXPECT_EQ(q.envelope().recipients[0].destination, routing::Verdict::non_delivery);
  EXPECT_EQ(q.envelope().recipients[0].mailbox, nullptr);
  EXPECT_TRUE(q.envelope().needs_queue());
}

// Every RCPT reply carries its typed reason and the parsed address: the session reads neither the
// command line nor the reply text for them.
TEST(SmtpProtocol, RcptStepSaysWhyAndWhom) {
  struct Case {
    const char* command;
    int code;
    RecipientRefusal refusal;
    const char* recipient;
  };
  using R = RecipientRefusal;
  const Case cases[] = {
      {"RCPT TO:<alice@example.com>", 250, R::none, "alice@example.com"},
      {"RCPT TO:<@relay.example:Bob@example.com>", 250, R::none, "Bob@example.com"},
      {"RCPT TO:<nobody@example.com>", 550, R::unknown_user, "nobody@example.com"},
      {"RCPT TO:<blocked@example.com>", 550, R::blocked, "blocked@example.com"},
      {"RCPT TO:<victim@elsewhere.example>", 550, R::relay, "victim@elsewhere.example"},
      {"RCPT TO:<alice@example.com> NOTIFY=NEVER", 250, R::none, "alice@example.com"},
      {"RCPT TO:<alice@example.com> NOTIFY=SOMETIMES", 501, R::syntax, "alice@example.com"},
      {"RCPT TO:<alice@example.com> ORCPT=rfc822;a+ZZ@example.com", 501, R::syntax, "alice@example.com"},
      {"RCPT TO:<alice@example.com> FOO=bar", 555, R::syntax, "alice@example.com"},
      {"RCPT TO:<alice>", 501, R::syntax, ""},
      {"RCPT TO:<>", 501, R::syntax, ""},
      {"RCPT TO:alice@example.com", 501, R::syntax, ""},
  };
  const Server server;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.command);
    Protocol p = server.protocol();
    reach(p, Stage::mail);
    const Step s = p.on_command(c.command);
    EXPECT_EQ(s.reply.code, c.code) << s.reply.text;
    EXPECT_EQ(s.refusal, c.refusal);
    EXPECT_EQ(s.recipient, c.recipient);
  }
  // Out of order: nothing was checked.
  Protocol p = server.protocol();
  reach(p, Stage::ready);
  Step s = p.on_command("RCPT TO:<alice@example.com>");
  EXPECT_EQ(s.reply.code, 503);
  EXPECT_EQ(s.refusal, R::sequence);
  // The recipient limit.
  Server limited;
  limited.connector.max_recipients_per_message = 1;
  Protocol q = limited.protocol();
  reach(q, Stage::recipients);
  s = q.on_command("RCPT TO:<bob@example.com>");
  EXPECT_EQ(s.reply.code, 452);
  EXPECT_EQ(s.refusal, R::limit);
  EXPECT_EQ(s.recipient, "bob@example.com");
  // Other commands carry no refusal.
  EXPECT_EQ(q.on_command("NOOP").refusal, R::none);
}

// The facts the Received: header's protocol name is made of (RFC 3848).
TEST(SmtpProtocol, ReceivedProtocolFacts) {
  const Server server;
  Protocol p = server.protocol();
  p.on_command("HELO client.example");
  EXPECT_FALSE(p.extended());
  p.on_command("EHLO client.example");
  EXPECT_TRUE(p.extended());
  EXPECT_FALSE(p.authenticated_by_auth());
  // A connector's trust is not SMTP AUTH.
  Protocol trusted = server.protocol(true);
  EXPECT_TRUE(trusted.authenticated());
  EXPECT_FALSE(trusted.authenticated_by_auth());
}

// A connector whose certificate pair no longer loads (DESIGN §3): STARTTLS is not offered, asking for
// it is a temporary failure, and a RequireTLS connector answers MAIL the same way rather than demand
// a STARTTLS the client cannot get.
TEST(SmtpProtocol, CertificatePairThatDoesNotLoadStopsStarttls) {
  Server server;
  server.connector.auth_mechanism = {store::AuthMechanismFlag::tls};
  SessionFacts facts;
  facts.remote = store::IpAddress::parse("192.0.2.10");
  facts.local = store::Binding::parse("0.0.0.0:25");

  Protocol offered(server.connector, *server.index, facts);
  EXPECT_NE(offered.on_command("EHLO client.example").reply.text.find("STARTTLS"), std::string::npos);

  facts.tls_available = false;
  Protocol broken(server.connector, *server.index, facts);
  EXPECT_EQ(broken.on_command("EHLO client.example").reply.text.find("STARTTLS"), std::string::npos);
  Step s = broken.on_command("STARTTLS");
  EXPECT_EQ(s.reply.code, 454);
  EXPECT_EQ(s.reply.enhanced, "4.7.0");
  EXPECT_EQ(s.action, Action::read_command);
  EXPECT_FALSE(s.held());
  // Without RequireTLS the session goes on in the clear.
  EXPECT_EQ(broken.on_command("MAIL FROM:<a@example.org>").reply.code, 250);

  server.connector.require_tls = true;
  Protocol required(server.connector, *server.index, facts);
  required.on_command("EHLO client.example");
  s = required.on_command("MAIL FROM:<a@example.org>");
  EXPECT_EQ(s.reply.code, 454);
  EXPECT_EQ(s.reply.enhanced, "4.7.0");
  EXPECT_EQ(required.state(), State::ready);

  // A connector without Tls still answers 502: STARTTLS is not one of its commands.
  server.connector.require_tls = false;
  server.connector.auth_mechanism = {};
  Protocol plain(server.connector, *server.index, facts);
  plain.on_command("EHLO client.example");
  EXPECT_EQ(plain.on_command("STARTTLS").reply.code, 502);
}

// A mailbox whose address cannot name its Maildir (stored before addresses were checked when made):
// only its own RCPT is deferred, and the other recipients of the message go through.
TEST(SmtpProtocolMailboxes, AnUnstorableMailboxDefersOnlyItsOwnRecipient) {
  Server server;
  server.config.mailboxes.push_back(mailbox("a/b@example.com"));
  server.index = std::make_unique<routing::RecipientRouter>(server.config);
  Protocol p = server.protocol();
  p.on_command("EHLO client");
  p.on_command("MAIL FROM:<s@example.org>");
  const Step deferred = p.on_command("RCPT TO:<a/b@example.com>");
  EXPECT_EQ(deferred.reply.code, 450);
  EXPECT_EQ(deferred.reply.enhanced, "4.2.1");
  EXPECT_EQ(p.on_command("RCPT TO:<alice@example.com>").reply.code, 250);
  EXPECT_EQ(p.on_command("DATA").reply.code, 354);
  ASSERT_EQ(p.envelope().recipients.size(), 1u);
  EXPECT_EQ(p.envelope().recipients.front().address, "alice@example.com");
}

}  // namespace
}  // namespace transport::smtp
