// Protocol's side of the harvest defence (DESIGN §10): which replies are held and for how long, given
// the source's judgement and the session's own evidence, and what each step reports about the client.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/unit/support/directory_builders.h"
#include "transportd/smtp/protocol.h"

namespace transport::smtp {
namespace {

using std::chrono::seconds;
using reputation::Event;
using reputation::Judgement;
using reputation::Standing;

// example.com (Authoritative) with alice and bob; TarpitInterval 00:00:05.
struct Server {
  store::Configuration config;
  store::ReceiveConnector connector;
  std::unique_ptr<routing::RecipientRouter> index;

  Server() {
    config.accepted_domains = {test::accepted_domain("example.com", store::DomainType::authoritative)};
    config.mailboxes = {test::mailbox("alice@example.com"), test::mailbox("bob@example.com")};
    index = std::make_unique<routing::RecipientRouter>(config);
    connector.name = "Default MX";
    connector.fqdn = "mx.example.com";
    connector.tarpit_interval = store::TimeSpan::from_seconds(5);
  }

  Protocol in_transaction(Judgement judgement = {}, bool authenticated = false) const {
    SessionFacts facts;
    facts.remote = store::IpAddress::parse("192.0.2.10");
    facts.local = store::Binding::parse("0.0.0.0:25");
    facts.authenticated = authenticated;
    Protocol p(connector, *index, facts);
    p.set_judgement(judgement);
    EXPECT_EQ(p.on_command("EHLO client.example").reply.code, 250);
    EXPECT_EQ(p.on_command("MAIL FROM:<sender@remote.example>").reply.code, 250);
    return p;
  }
};

Judgement standing(Standing s, std::uint32_t level = 0) {
  Judgement j;
  j.standing = s;
  j.level = level;
  return j;
}

TEST(HarvestHolds, CleanSourceHoldsOnlyRefusalsAndReportsEachVerdict) {
  Server server;
  Protocol p = server.in_transaction();
  const Step accepted = p.on_command("RCPT TO:<alice@example.com>");
  EXPECT_EQ(accepted.reply.code, 250);
  EXPECT_FALSE(accepted.held());
  EXPECT_TRUE(accepted.answers_rcpt);
  EXPECT_EQ(accepted.source_event, Event::accepted_recipient);

  const Step refused = p.on_command("RCPT TO:<nobody@example.com>");
  EXPECT_EQ(refused.reply.code, 550);
  EXPECT_EQ(refused.hold, seconds(5));
  EXPECT_EQ(refused.source_event, Event::refused_recipient);

  const Step relay = p.on_command("RCPT TO:<someone@elsewhere.example>");
  EXPECT_EQ(relay.reply.code, 550);
  EXPECT_EQ(relay.source_event, Event::refused_recipient);
}

TEST(HarvestHolds, MistakesOfSyntaxAreNotOffences) {
  Server server;
  Protocol p = server.in_transaction();
  const Step bad = p.on_command("RCPT TO:<not an address>");
  EXPECT_EQ(bad.reply.code, 501);
  EXPECT_FALSE(bad.source_event.has_value());
}

TEST(HarvestHolds, SuspectSourceWaitsAsLongForA250AsForA550) {
  Server server;
  Protocol p = server.in_transaction(standing(Standing::suspect));
  const Step accepted = p.on_command("RCPT TO:<alice@example.com>");
  const Step refused = p.on_command("RCPT TO:<nobody@example.com>");
  EXPECT_EQ(accepted.reply.code, 250);
  EXPECT_EQ(accepted.hold, seconds(5));
  EXPECT_EQ(refused.hold, accepted.hold) << "timing must not tell a 250 from a 550";
  // Only RCPT verdicts are made uniform: the rest of the conversation is not slowed.
  EXPECT_FALSE(p.on_command("NOOP").held());
  EXPECT_EQ(p.greeting_hold(), seconds(0)) << "a Suspect source's banner is not held";
}

TEST(HarvestHolds, SessionTurnsUniformOnItsOwnEvidenceAfterTwoRefusals) {
  Server server;
  Protocol p = server.in_transaction();
  EXPECT_FALSE(p.on_command("RCPT TO:<alice@example.com>").held());
  p.on_command("RCPT TO:<x1@example.com>");
  EXPECT_FALSE(p.uniform_timing()) << "1 refused, 1 accepted";
  p.on_command("RCPT TO:<x2@example.com>");
  EXPECT_TRUE(p.uniform_timing()) << "2 refused, 1 accepted";
  // Decided on the evidence before the verdict: this acceptance evens the count, but its own 250 is
  // still held, exactly as a refusal would have been.
  EXPECT_EQ(p.on_command("RCPT TO:<bob@example.com>").hold, seconds(5));
  EXPECT_FALSE(p.uniform_timing()) << "2 refused, 2 accepted";
}

TEST(HarvestHolds, LegitimateSenderWithOneStaleRecipientKeepsFast250s) {
  Server server;
  Protocol p = server.in_transaction();
  int held = 0;
  for (int i = 0; i < 10; ++i) {
    const Step s = p.on_command(i == 4 ? "RCPT TO:<stale@example.com>"
                                       : (i % 2 ? "RCPT TO:<alice@example.com>" : "RCPT TO:<bob@example.com>"));
    if (s.held()) {
      ++held;
      EXPECT_EQ(s.reply.code, 550);
    }
  }
  EXPECT_EQ(held, 1);
  EXPECT_FALSE(p.uniform_timing());
}

TEST(HarvestHolds, DiscreditedSourceWaitsForItsBannerAtTheEscalatedInterval) {
  Server server;
  Protocol p = server.in_transaction(standing(Standing::discredited, 3));
  EXPECT_EQ(p.greeting_hold(), seconds(40));  // 5 s doubled three times
  EXPECT_EQ(p.on_command("RCPT TO:<alice@example.com>").hold, seconds(40));
  p.set_judgement(standing(Standing::discredited, 30));
  EXPECT_EQ(p.greeting_hold(), reputation::kMaxHold) << "never above TarpitInterval's cap";
}

TEST(HarvestHolds, ExemptClientsGetExchangesFixedTarpit) {
  Server server;
  Judgement exempt = standing(Standing::discredited, 4);
  exempt.exempt = true;
  Protocol p = server.in_transaction(exempt);
  EXPECT_EQ(p.greeting_hold(), seconds(0));
  EXPECT_FALSE(p.on_command("RCPT TO:<alice@example.com>").held());
  EXPECT_EQ(p.on_command("RCPT TO:<nobody@example.com>").hold, seconds(5));
}

TEST(HarvestHolds, AuthenticatedSessionsAreNeverHeldAndReportNothing) {
  Server server;
  Protocol p = server.in_transaction(standing(Standing::discredited, 2), /*authenticated=*/true);
  EXPECT_EQ(p.greeting_hold(), seconds(0));
  const Step refused = p.on_command("RCPT TO:<nobody@example.com>");
  EXPECT_EQ(refused.reply.code, 550);
  EXPECT_FALSE(refused.held());
}

TEST(HarvestHolds, TarpitIntervalZeroTurnsEveryHoldOff) {
  Server server;
  server.connector.tarpit_interval = store::TimeSpan::from_seconds(0);
  Protocol p = server.in_transaction(standing(Standing::discredited, 2));
  EXPECT_EQ(p.greeting_hold(), seconds(0));
  EXPECT_FALSE(p.on_command("RCPT TO:<alice@example.com>").held());
  EXPECT_FALSE(p.on_command("RCPT TO:<nobody@example.com>").held());
}

TEST(HarvestHolds, AcceptedMessageReportsItsRecipients) {
  Server server;
  Protocol p = server.in_transaction();
  p.on_command("RCPT TO:<alice@example.com>");
  p.on_command("RCPT TO:<bob@example.com>");
  EXPECT_EQ(p.on_command("DATA").action, Action::read_data);
  EXPECT_EQ(p.on_message(BodyOutcome::complete, 100).action, Action::deliver);
  const Step done = p.on_delivered(DeliveryOutcome::delivered);
  EXPECT_EQ(done.reply.code, 250);
  EXPECT_EQ(done.source_event, Event::accepted_message);
  EXPECT_EQ(done.source_event_count, 2u);
}

}  // namespace
}  // namespace transport::smtp
