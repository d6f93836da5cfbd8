// STARTTLS and AUTH against the scripted server: opportunistic TLS (SNI, EHLO again inside), its
// fallback to plain text when the handshake fails, RequireTLS against a next hop without STARTTLS, and
// AUTH PLAIN / LOGIN checked by the server, never in plain text under BasicAuthRequireTLS.
#include <gtest/gtest.h>

#include "scripted_server.h"

namespace transport::outbound::testing {
namespace {

class OutboundTls : public OutboundConnectionTest {
 protected:
  void SetUp() override {
    server_tls = make_server_tls_context("mx.example.test");
    server.tls = server_tls.get();
    server.ehlo_reply = "250-mx.example.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n";
  }

  struct Outcome {
    bool opened = false;
    SmtpReply failure;
    bool tls = false;
    MessageResult result;
  };

  Outcome open_and_send(const ClientOptions& options) {
    Outcome outcome;
    const OutboundEnvelope envelope = envelope_for({"bob@example.net"});
    run_client(io, [&]() -> asio::awaitable<void> {
      auto connection = co_await SmtpConnection::open(io.get_executor(), server.endpoint(), options, *client_tls,
                                                      outcome.failure);
      outcome.opened = connection != nullptr;
      if (!connection) co_return;
      outcome.tls = connection->tls_active();
      StringContent content("Subject: secret\n\n.x\n");
      outcome.result = co_await connection->send(envelope, content);
      co_await connection->quit();
    });
    return outcome;
  }

  std::unique_ptr<asio::ssl::context> server_tls;
};

TEST_F(OutboundTls, OpportunisticStartTlsWithSniAndEhloAgain) {
  const Outcome outcome = open_and_send(quick_options());
  ASSERT_TRUE(outcome.opened) << outcome.failure.to_string();
  EXPECT_TRUE(outcome.tls);
  EXPECT_TRUE(server.tls_handshake_done);
  EXPECT_EQ(server.server_name_indication, "mx.example.test");
  ASSERT_EQ(outcome.result.recipients.size(), 1u);
  EXPECT_EQ(outcome.result.recipients[0].code, 250);
  ASSERT_GE(server.lines.size(), 4u);
  EXPECT_EQ(server.lines[0], "EHLO client.example.test");
  EXPECT_EQ(server.lines[1], "STARTTLS");
  EXPECT_EQ(server.lines[2], "EHLO client.example.test");
  EXPECT_EQ(server.lines[3], "MAIL FROM:<alice@example.test>");
  EXPECT_EQ(server.messages, std::vector<std::string>{"Subject: secret\r\n\r\n..x\r\n.\r\n"});
}

TEST_F(OutboundTls, NoSniForAnAddressLiteral) {
  run_client(io, [&]() -> asio::awaitable<void> {
    SmtpReply failure;
    Endpoint endpoint = server.endpoint();
    endpoint.host_name = "127.0.0.1";
    auto connection = co_await SmtpConnection::open(io.get_executor(), endpoint, quick_options(), *client_tls, failure);
    EXPECT_TRUE(connection && connection->tls_active()) << failure.to_string();
    if (connection) co_await connection->quit();
  });
  EXPECT_TRUE(server.tls_handshake_done);
  EXPECT_EQ(server.server_name_indication, "");
}

TEST_F(OutboundTls, RequireTlsAgainstANextHopWithoutStartTlsFailsTransiently) {
  server.ehlo_reply = "250-mx.example.test\r\n250 PIPELINING\r\n";
  ClientOptions options = quick_options();
  options.require_tls = true;
  const Outcome outcome = open_and_send(options);
  EXPECT_FALSE(outcome.opened);
  EXPECT_EQ(outcome.failure.code, 421);
  EXPECT_EQ(outcome.failure.enhanced, "4.7.10");
  EXPECT_TRUE(outcome.failure.transient());
  EXPECT_NE(outcome.failure.text.find("does not offer STARTTLS"), std::string::npos);
  EXPECT_EQ(server.lines, (std::vector<std::string>{"EHLO client.example.test", "QUIT"}));
}

TEST_F(OutboundTls, RequireTlsWhenStartTlsIsRefusedFailsWithThatReply) {
  server.tls = nullptr;  // advertised, then refused with 454
  ClientOptions options = quick_options();
  options.require_tls = true;
  const Outcome outcome = open_and_send(options);
  EXPECT_FALSE(outcome.opened);
  EXPECT_EQ(outcome.failure.to_string(), "454 4.7.0 No TLS");
  // Opportunistic: the same refusal and the message goes in plain text.
  server.lines.clear();
  const Outcome plain = open_and_send(quick_options());
  ASSERT_TRUE(plain.opened) << plain.failure.to_string();
  EXPECT_FALSE(plain.tls);
  EXPECT_EQ(plain.result.recipients[0].code, 250);
}

TEST_F(OutboundTls, FailedHandshakeFallsBackToPlainTextOnceUnlessTlsIsRequired) {
  server.on_command = [](const std::string& line) -> std::optional<Action> {
    if (line == "STARTTLS") return Action{"220 Ready\r\nthis is not TLS at all\r\n", Action::Then::close};
    return std::nullopt;
  };
  const Outcome outcome = open_and_send(quick_options());
  ASSERT_TRUE(outcome.opened) << outcome.failure.to_string();
  EXPECT_FALSE(outcome.tls);
  EXPECT_NE(outcome.failure.text.find("in the TLS handshake"), std::string::npos) << outcome.failure.text;
  EXPECT_EQ(server.connections, 2);
  EXPECT_EQ(outcome.result.recipients[0].code, 250);
  // The second connection does not try STARTTLS again.
  EXPECT_EQ(std::count(server.lines.begin(), server.lines.end(), "STARTTLS"), 1);

  server.lines.clear();
  ClientOptions required = quick_options();
  required.require_tls = true;
  const Outcome refused = open_and_send(required);
  EXPECT_FALSE(refused.opened);
  EXPECT_EQ(refused.failure.code, 0);
  EXPECT_NE(refused.failure.text.find("in the TLS handshake"), std::string::npos) << refused.failure.text;
  EXPECT_EQ(server.connections, 3);  // no second try
}

class OutboundAuth : public OutboundTls {
 protected:
  ClientOptions auth_options(store::SmartHostAuthMechanism mechanism, std::string password = "s3cret") {
    ClientOptions options = quick_options();
    options.auth = mechanism;
    options.auth_user = "relay";
    options.auth_password = std::move(password);
    return options;
  }
};

TEST_F(OutboundAuth, PlainWithTheRightCredentialsAndTheWrongOnes) {
  bool inside_tls = false;
  server.on_command = [&](const std::string& line) -> std::optional<Action> {
    if (!line.starts_with("AUTH")) return std::nullopt;
    inside_tls = server.tls_handshake_done;
    // base64("\0relay\0s3cret")
    if (line == "AUTH PLAIN AHJlbGF5AHMzY3JldA==") return Action{"235 2.7.0 Authentication successful\r\n"};
    return Action{"535 5.7.8 Authentication credentials invalid\r\n"};
  };
  const Outcome outcome = open_and_send(auth_options(store::SmartHostAuthMechanism::basic_auth));
  ASSERT_TRUE(outcome.opened) << outcome.failure.to_string();
  EXPECT_TRUE(inside_tls);  // opportunistic TLS came first
  EXPECT_EQ(outcome.result.recipients[0].code, 250);

  const Outcome wrong = open_and_send(auth_options(store::SmartHostAuthMechanism::basic_auth, "guess"));
  EXPECT_FALSE(wrong.opened);
  EXPECT_EQ(wrong.failure.to_string(), "535 5.7.8 Authentication credentials invalid");
  EXPECT_TRUE(wrong.failure.permanent());
}

TEST_F(OutboundAuth, LoginWhenThatIsAllTheServerOffers) {
  server.tls = nullptr;
  server.ehlo_reply = "250-mx.example.test\r\n250 AUTH LOGIN\r\n";
  int step = 0;
  server.on_command = [&](const std::string& line) -> std::optional<Action> {
    if (line == "AUTH LOGIN" && step == 0) {
      step = 1;
      return Action{"334 VXNlcm5hbWU6\r\n"};
    }
    if (step == 1) {
      step = line == "cmVsYXk=" ? 2 : -1;  // "relay"
      return Action{step == 2 ? "334 UGFzc3dvcmQ6\r\n" : "535 5.7.8 No\r\n"};
    }
    if (step == 2) {
      step = line == "czNjcmV0" ? 3 : -1;  // "s3cret"
      return Action{step == 3 ? "235 2.7.0 Ok\r\n" : "535 5.7.8 No\r\n"};
    }
    return std::nullopt;
  };
  const Outcome outcome = open_and_send(auth_options(store::SmartHostAuthMechanism::basic_auth));
  ASSERT_TRUE(outcome.opened) << outcome.failure.to_string();
  EXPECT_EQ(step, 3);
  EXPECT_EQ(outcome.result.recipients[0].code, 250);
}

TEST_F(OutboundAuth, RequireTlsAuthNeverSendsCredentialsInPlainText) {
  server.tls = nullptr;
  server.ehlo_reply = "250-mx.example.test\r\n250 AUTH PLAIN LOGIN\r\n";
  const Outcome outcome = open_and_send(auth_options(store::SmartHostAuthMechanism::basic_auth_require_tls));
  EXPECT_FALSE(outcome.opened);
  EXPECT_EQ(outcome.failure.code, 421);
  EXPECT_EQ(outcome.failure.enhanced, "4.7.11");
  for (const std::string& line : server.lines) EXPECT_FALSE(line.starts_with("AUTH")) << line;
}

TEST_F(OutboundAuth, RequireTlsAuthInsideTls) {
  bool inside_tls = false;
  server.on_command = [&](const std::string& line) -> std::optional<Action> {
    if (!line.starts_with("AUTH")) return std::nullopt;
    inside_tls = server.tls_handshake_done;
    return Action{line == "AUTH PLAIN AHJlbGF5AHMzY3JldA==" ? "235 2.7.0 Ok\r\n" : "535 5.7.8 No\r\n"};
  };
  ClientOptions options = auth_options(store::SmartHostAuthMechanism::basic_auth_require_tls);
  options.require_tls = true;
  const Outcome outcome = open_and_send(options);
  ASSERT_TRUE(outcome.opened) << outcome.failure.to_string();
  EXPECT_TRUE(outcome.tls);
  EXPECT_TRUE(inside_tls);
}

TEST_F(OutboundAuth, NoUsableMechanismFailsTheOpen) {
  server.tls = nullptr;
  server.ehlo_reply = "250-mx.example.test\r\n250 AUTH CRAM-MD5\r\n";
  const Outcome outcome = open_and_send(auth_options(store::SmartHostAuthMechanism::basic_auth));
  EXPECT_FALSE(outcome.opened);
  EXPECT_EQ(outcome.failure.code, 421);
  EXPECT_TRUE(outcome.failure.transient());
}

}  // namespace
}  // namespace transport::outbound::testing
