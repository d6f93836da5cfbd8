// SmtpConnection against a scripted server on loopback: the exact octets of a transaction, PIPELINING,
// refusals at each stage, a connection that drops or goes silent, refusals made by us (8BITMIME, SIZE),
// reuse for a second message, and content read from a file on a thread pool.
#include <asio/thread_pool.hpp>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "scripted_server.h"

namespace transport::outbound::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

class OutboundTransaction : public OutboundConnectionTest {
 protected:
  // Opens a connection, sends one message, quits.
  MessageResult send_one(const OutboundEnvelope& envelope, std::string_view stored, ClientOptions options = quick_options()) {
    MessageResult result;
    run_client(io, [&]() -> asio::awaitable<void> {
      SmtpReply failure;
      auto connection = co_await SmtpConnection::open(io.get_executor(), server.endpoint(), options, *client_tls, failure);
      if (!connection) {
        ADD_FAILURE() << "open failed: " << failure.to_string();
        co_return;
      }
      StringContent content(stored);
      result = co_await connection->send(envelope, content);
      co_await connection->quit();
    });
    return result;
  }
};

TEST_F(OutboundTransaction, PlainTransactionSendsExactlyTheseOctets) {
  OutboundEnvelope envelope = envelope_for({"bob@example.net"});
  envelope.size = 60;
  const std::string stored = "Subject: test\n\n.hidden dot\nline two\n.\nlast line without end";
  const MessageResult result = send_one(envelope, stored);

  ASSERT_EQ(result.recipients.size(), 1u);
  EXPECT_EQ(result.recipients[0].code, 250);
  EXPECT_EQ(result.recipients[0].to_string(), "250 2.0.0 queued");
  EXPECT_EQ(result.message.code, 250);
  EXPECT_TRUE(result.connection_usable);
  const std::vector<std::string> expected_lines = {"EHLO client.example.test", "MAIL FROM:<alice@example.test> SIZE=60",
                                                   "RCPT TO:<bob@example.net>", "DATA", "QUIT"};
  EXPECT_EQ(server.lines, expected_lines);
  ASSERT_EQ(server.messages.size(), 1u);
  EXPECT_EQ(server.messages[0],
            "Subject: test\r\n\r\n..hidden dot\r\nline two\r\n..\r\nlast line without end\r\n.\r\n");
  // Without PIPELINING every command waits for its reply: one command per read.
  for (const std::string& read : server.reads) {
    EXPECT_EQ(read.find("\r\n"), read.size() - 2) << read;
  }
}

TEST_F(OutboundTransaction, PipeliningSendsMailRcptAndDataInOneWrite) {
  server.ehlo_reply = "250-mx.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
  // The server answers MAIL only once DATA has arrived: a client that waited for the MAIL reply would
  // wait for ever (and fail this test at its inactivity timeout).
  server.wait_for_data_before_replying = true;
  ClientOptions options = quick_options();
  options.inactivity_timeout = std::chrono::seconds(3);
  const MessageResult result =
      send_one(envelope_for({"a@example.net", "b@example.net", "c@example.net"}), "Hello\n", options);
  ASSERT_EQ(result.recipients.size(), 3u);
  for (const SmtpReply& reply : result.recipients) EXPECT_EQ(reply.code, 250) << reply.to_string();
  const std::vector<std::string> expected_lines = {
      "EHLO client.example.test", "MAIL FROM:<alice@example.test>", "RCPT TO:<a@example.net>",
      "RCPT TO:<b@example.net>",  "RCPT TO:<c@example.net>",        "DATA",
      "QUIT"};
  EXPECT_EQ(server.lines, expected_lines);
  ASSERT_EQ(server.messages.size(), 1u);
  EXPECT_EQ(server.messages[0], "Hello\r\n.\r\n");
}

TEST_F(OutboundTransaction, ManyRecipientsArePipelinedInBatches) {
  server.ehlo_reply = "250-mx.example.test\r\n250 PIPELINING\r\n";
  std::vector<std::string> addresses;
  for (int i = 0; i < 250; ++i) addresses.push_back("user" + std::to_string(i) + "@example.net");
  addresses.push_back("last\r\n@example.net");  // refused here: DATA must still follow the last batch
  server.on_command = [](const std::string& line) -> std::optional<Action> {
    if (line == "RCPT TO:<user7@example.net>") return Action{"550 5.1.1 User unknown\r\n"};
    return std::nullopt;
  };
  const MessageResult result = send_one(envelope_for(addresses), "Hi\n");
  ASSERT_EQ(result.recipients.size(), 251u);
  for (std::size_t i = 0; i < 250; ++i) {
    EXPECT_EQ(result.recipients[i].code, i == 7 ? 550 : 250) << i;
  }
  EXPECT_EQ(result.recipients[250].enhanced, "5.1.3");
  EXPECT_EQ(server.messages, std::vector<std::string>{"Hi\r\n.\r\n"});
  ASSERT_EQ(server.lines.size(), 1u + 1u + 250u + 1u + 1u);  // EHLO, MAIL, RCPTs, DATA, QUIT
  EXPECT_EQ(server.lines[251], "RCPT TO:<user249@example.net>");
  EXPECT_EQ(server.lines[252], "DATA");
  // No write held more than a batch of RCPTs.
  for (const std::string& read : server.reads) {
    std::size_t rcpts = 0;
    for (std::size_t at = read.find("RCPT TO:"); at != std::string::npos; at = read.find("RCPT TO:", at + 1)) ++rcpts;
    EXPECT_LE(rcpts, 100u);
  }
}

TEST_F(OutboundTransaction, OneRefusedRecipientKeepsItsReplyAndTheOthersAreDelivered) {
  server.ehlo_reply = "250-mx.example.test\r\n250 PIPELINING\r\n";
  server.on_command = [](const std::string& line) -> std::optional<Action> {
    if (line == "RCPT TO:<nobody@example.net>") return Action{"550 5.1.1 User unknown\r\n"};
    return std::nullopt;
  };
  const MessageResult result =
      send_one(envelope_for({"a@example.net", "nobody@example.net", "c@example.net"}), "Hi\n");
  ASSERT_EQ(result.recipients.size(), 3u);
  EXPECT_EQ(result.recipients[0].code, 250);
  EXPECT_EQ(result.recipients[1].to_string(), "550 5.1.1 User unknown");
  EXPECT_TRUE(result.recipients[1].permanent());
  EXPECT_EQ(result.recipients[2].code, 250);
  EXPECT_EQ(result.message.code, 250);
  EXPECT_EQ(server.messages.size(), 1u);
  EXPECT_TRUE(result.connection_usable);
}

TEST_F(OutboundTransaction, TransientRefusalOfMailDecidesEveryRecipient) {
  for (const bool pipelining : {false, true}) {
    SCOPED_TRACE(pipelining ? "pipelined" : "one at a time");
    server.lines.clear();
    server.ehlo_reply = pipelining ? "250-mx.example.test\r\n250 PIPELINING\r\n" : "250 mx.example.test\r\n";
    bool mail_refused = false;
    server.on_command = [&](const std::string& line) -> std::optional<Action> {
      if (line.starts_with("MAIL")) {
        mail_refused = true;
        return Action{"451 4.3.0 Try again later\r\n"};
      }
      // What a server says to RCPT and DATA after a refused MAIL.
      if (mail_refused && (line.starts_with("RCPT") || line.starts_with("DATA"))) return Action{"503 5.5.1 No MAIL\r\n"};
      return std::nullopt;
    };
    const MessageResult result = send_one(envelope_for({"a@example.net", "b@example.net"}), "Hi\n");
    ASSERT_EQ(result.recipients.size(), 2u);
    for (const SmtpReply& reply : result.recipients) {
      EXPECT_EQ(reply.to_string(), "451 4.3.0 Try again later");
      EXPECT_TRUE(reply.transient());
    }
    EXPECT_EQ(result.message.code, 451);
    EXPECT_TRUE(result.connection_usable);
    EXPECT_TRUE(server.messages.empty());
    // One at a time, nothing follows a refused MAIL; pipelined, the RCPTs and DATA were already sent.
    const bool sent_rcpt = std::find(server.lines.begin(), server.lines.end(), "RCPT TO:<a@example.net>") != server.lines.end();
    EXPECT_EQ(sent_rcpt, pipelining);
  }
}

TEST_F(OutboundTransaction, PermanentRefusalAtTheEndOfDataAndTheConnectionIsReusedAfterIt) {
  int messages = 0;
  std::vector<MessageResult> results;
  server.on_command = [&](const std::string& line) -> std::optional<Action> {
    if (line == "DATA") {
      // The first message is refused after its data, the second accepted.
      server.data_reply = ++messages == 1 ? "554 5.7.1 Content refused\r\n" : "250 2.0.0 queued as 2\r\n";
    }
    return std::nullopt;
  };
  std::size_t sent = 0;
  // (Braced lists of string literals stay outside coroutines: GCC 12 cannot put them in a frame.)
  const OutboundEnvelope envelope = envelope_for({"bob@example.net"});
  const std::vector<std::string> bodies = {"first\n", "second\n"};
  run_client(io, [&]() -> asio::awaitable<void> {
    SmtpReply failure;
    auto connection = co_await SmtpConnection::open(io.get_executor(), server.endpoint(), quick_options(), *client_tls, failure);
    if (!connection) co_return;
    for (const std::string& body : bodies) {
      StringContent content(body);
      results.push_back(co_await connection->send(envelope, content));
    }
    sent = connection->messages_sent();
    co_await connection->quit();
  });
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].recipients[0].to_string(), "554 5.7.1 Content refused");
  EXPECT_TRUE(results[0].recipients[0].permanent());
  EXPECT_TRUE(results[0].connection_usable);
  EXPECT_EQ(results[1].recipients[0].to_string(), "250 2.0.0 queued as 2");
  EXPECT_EQ(sent, 1u);
  EXPECT_EQ(server.connections, 1);
  EXPECT_EQ(server.messages, (std::vector<std::string>{"first\r\n.\r\n", "second\r\n.\r\n"}));
  // No RSET is needed after a reply to the data: the transaction is over either way.
  EXPECT_EQ(std::count(server.lines.begin(), server.lines.end(), "RSET"), 0);
}

TEST_F(OutboundTransaction, EveryRecipientRefusedMeansRsetAndNoData) {
  server.on_command = [](const std::string& line) -> std::optional<Action> {
    if (line.starts_with("RCPT")) return Action{"550 5.7.1 Relaying denied\r\n"};
    return std::nullopt;
  };
  const MessageResult result = send_one(envelope_for({"a@example.net", "b@example.net"}), "Hi\n");
  for (const SmtpReply& reply : result.recipients) EXPECT_EQ(reply.code, 550);
  EXPECT_EQ(result.message.to_string(), "550 5.7.1 Relaying denied");
  EXPECT_TRUE(result.connection_usable);
  EXPECT_TRUE(server.messages.empty());
  EXPECT_EQ(std::count(server.lines.begin(), server.lines.end(), "DATA"), 0);
  EXPECT_EQ(std::count(server.lines.begin(), server.lines.end(), "RSET"), 1);
}

TEST_F(OutboundTransaction, ConnectionDroppedDuringDataIsATransientFailureWithoutReply) {
  server.drop_during_data = true;
  const std::string big(200 * 1024, 'x');
  std::string stored;
  for (int i = 0; i < 4; ++i) stored += big + "\n";
  const MessageResult result = send_one(envelope_for({"a@example.net", "b@example.net"}), stored);
  ASSERT_EQ(result.recipients.size(), 2u);
  const std::string peer = "mx.example.test[127.0.0.1]:" + std::to_string(server.port());
  for (const SmtpReply& reply : result.recipients) {
    EXPECT_EQ(reply.code, 0);
    EXPECT_TRUE(reply.transient());
    EXPECT_EQ(reply.text.rfind("connection to " + peer + " lost ", 0), 0u) << reply.text;
  }
  EXPECT_FALSE(result.connection_usable);
}

TEST_F(OutboundTransaction, SilentNextHopIsGivenUpOnAfterTheInactivityTimeout) {
  server.on_command = [](const std::string& line) -> std::optional<Action> {
    if (line.starts_with("MAIL")) return Action{"", Action::Then::go_silent};
    return std::nullopt;
  };
  ClientOptions options = quick_options();
  options.inactivity_timeout = std::chrono::seconds(1);
  const auto start = Clock::now();
  const MessageResult result = send_one(envelope_for({"a@example.net"}), "Hi\n", options);
  const auto elapsed = Clock::now() - start;
  ASSERT_EQ(result.recipients.size(), 1u);
  EXPECT_EQ(result.recipients[0].code, 0);
  EXPECT_NE(result.recipients[0].text.find("timed out waiting for the reply to MAIL FROM (no progress in 1 s)"),
            std::string::npos)
      << result.recipients[0].text;
  EXPECT_FALSE(result.connection_usable);
  EXPECT_GE(elapsed, std::chrono::milliseconds(900));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST_F(OutboundTransaction, NextHopThatStopsReadingTheMessageIsGivenUpOn) {
  server.on_command = [](const std::string& line) -> std::optional<Action> {
    if (line == "DATA") return Action{"354 Go ahead\r\n", Action::Then::stop_reading};
    return std::nullopt;
  };
  ClientOptions options = quick_options();
  options.inactivity_timeout = std::chrono::seconds(1);
  // Far more than the loopback socket buffers hold, so a write has to wait for the next hop.
  const std::string stored(48 * 1024 * 1024, 'x');
  const auto start = Clock::now();
  const MessageResult result = send_one(envelope_for({"a@example.net"}), stored, options);
  ASSERT_EQ(result.recipients.size(), 1u);
  EXPECT_EQ(result.recipients[0].code, 0);
  EXPECT_NE(result.recipients[0].text.find("timed out sending the message (no progress in 1 s)"), std::string::npos)
      << result.recipients[0].text;
  EXPECT_FALSE(result.connection_usable);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
}

TEST_F(OutboundTransaction, SilentBannerFailsTheOpenAfterTheInactivityTimeout) {
  server.silent_banner = true;
  ClientOptions options = quick_options();
  options.inactivity_timeout = std::chrono::seconds(1);
  SmtpReply failure;
  bool opened = true;
  const auto start = Clock::now();
  run_client(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await SmtpConnection::open(io.get_executor(), server.endpoint(), options, *client_tls, failure);
    opened = connection != nullptr;
  });
  EXPECT_FALSE(opened);
  EXPECT_EQ(failure.code, 0);
  EXPECT_NE(failure.text.find("timed out waiting for the banner"), std::string::npos) << failure.text;
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
}

TEST_F(OutboundTransaction, RefusedConnectionSaysSo) {
  // A port that was free a moment ago: nothing listens there.
  std::uint16_t closed_port = 0;
  {
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed_port = probe.local_endpoint().port();
  }
  SmtpReply failure;
  run_client(io, [&]() -> asio::awaitable<void> {
    Endpoint endpoint{"down.example.test", asio::ip::make_address("127.0.0.1"), closed_port};
    auto connection = co_await SmtpConnection::open(io.get_executor(), endpoint, quick_options(), *client_tls, failure);
    EXPECT_FALSE(connection);
  });
  EXPECT_EQ(failure.code, 0);
  EXPECT_EQ(failure.text,
            "connection to down.example.test[127.0.0.1]:" + std::to_string(closed_port) + " failed: Connection refused");
}

TEST_F(OutboundTransaction, BannerRefusalIsTheFailure) {
  server.banner = "554 5.7.1 Go away\r\n";
  SmtpReply failure;
  run_client(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await SmtpConnection::open(io.get_executor(), server.endpoint(), quick_options(), *client_tls, failure);
    EXPECT_FALSE(connection);
  });
  EXPECT_EQ(failure.to_string(), "554 5.7.1 Go away");
  EXPECT_EQ(server.lines, std::vector<std::string>{"QUIT"});  // RFC 5321 §3.1: the client says QUIT
}

TEST_F(OutboundTransaction, HeloWhenEhloIsRefusedAndNoEightBitWithoutEightBitMime) {
  server.on_command = [](const std::string& line) -> std::optional<Action> {
    if (line.starts_with("EHLO")) return Action{"502 5.5.1 What?\r\n"};
    return std::nullopt;
  };
  OutboundEnvelope envelope = envelope_for({"a@example.net", "b@example.net"});
  envelope.eight_bit = true;
  const MessageResult result = send_one(envelope, "Gr\xc3\xbc\xc3\x9f" "e\n");
  for (const SmtpReply& reply : result.recipients) {
    EXPECT_EQ(reply.code, 554);
    EXPECT_EQ(reply.enhanced, "5.6.3");
  }
  EXPECT_TRUE(result.connection_usable);
  const std::vector<std::string> expected_lines = {"EHLO client.example.test", "HELO client.example.test", "QUIT"};
  EXPECT_EQ(server.lines, expected_lines);
}

TEST_F(OutboundTransaction, RefusalsMadeHereSendNothing) {
  server.ehlo_reply = "250-mx.example.test\r\n250 SIZE 1000\r\n";
  OutboundEnvelope too_big = envelope_for({"a@example.net"});
  too_big.size = 1001;
  OutboundEnvelope international = envelope_for({"a@example.net"}, "j\xc3\xb6rg@example.test");
  international.smtputf8 = true;
  OutboundEnvelope over_connector_limit = envelope_for({"a@example.net"});
  over_connector_limit.size = 600;
  OutboundEnvelope injected = envelope_for({"a@example.net>\r\nRCPT TO:<eve@example.org"});
  ClientOptions options = quick_options();
  options.max_message_size = 500;
  std::vector<MessageResult> results;
  run_client(io, [&]() -> asio::awaitable<void> {
    SmtpReply failure;
    auto connection = co_await SmtpConnection::open(io.get_executor(), server.endpoint(), options, *client_tls, failure);
    if (!connection) co_return;
    for (const OutboundEnvelope* envelope : {&too_big, &international, &over_connector_limit, &injected}) {
      StringContent content("Hi\n");
      results.push_back(co_await connection->send(*envelope, content));
    }
    co_await connection->quit();
  });
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].recipients[0].code, 552);
  EXPECT_EQ(results[0].recipients[0].enhanced, "5.3.4");
  EXPECT_EQ(results[1].recipients[0].code, 554);
  EXPECT_EQ(results[1].recipients[0].enhanced, "5.6.7");
  EXPECT_EQ(results[2].recipients[0].enhanced, "5.3.4");
  EXPECT_NE(results[2].recipients[0].text.find("MaxMessageSize"), std::string::npos);
  EXPECT_EQ(results[3].recipients[0].enhanced, "5.1.3");
  for (const MessageResult& result : results) EXPECT_TRUE(result.connection_usable);
  EXPECT_EQ(server.lines, (std::vector<std::string>{"EHLO client.example.test", "QUIT"}));
}

TEST_F(OutboundTransaction, ContentFromAFileReadOnThePool) {
  std::string pattern = (fs::temp_directory_path() / "outbound_content_XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const fs::path dir = pattern;
  // Three chunks and a bit, with a dot line and an LF just at the chunk boundary.
  std::string stored;
  while (stored.size() < 3 * FileContent::kChunkSize + 100) stored += "line " + std::to_string(stored.size()) + "\n.dot\n";
  stored.resize(FileContent::kChunkSize - 1);
  stored += "\n.at the boundary\n";
  while (stored.size() < 3 * FileContent::kChunkSize + 100) stored += "more\n";
  { std::ofstream(dir / "message") << stored; }
  BodyEncoder encoder;
  std::string expected;
  encoder.encode(stored, expected);
  encoder.finish(expected);

  asio::thread_pool pool(1);
  const OutboundEnvelope envelope = envelope_for({"a@example.net"});
  std::vector<MessageResult> results;
  run_client(io, [&]() -> asio::awaitable<void> {
    SmtpReply failure;
    auto connection = co_await SmtpConnection::open(io.get_executor(), server.endpoint(), quick_options(), *client_tls, failure);
    if (!connection) co_return;
    FileContent content(dir / "message", pool);
    results.push_back(co_await connection->send(envelope, content));
    FileContent missing(dir / "missing", pool);
    results.push_back(co_await connection->send(envelope, missing));
    co_await connection->quit();
  });
  pool.join();
  fs::remove_all(dir);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].recipients[0].code, 250);
  ASSERT_EQ(server.messages.size(), 1u);
  EXPECT_TRUE(server.messages[0] == expected) << "the file's message arrived changed";
  // A message that cannot be read is not begun, and the connection serves on.
  EXPECT_EQ(results[1].recipients[0].code, 451);
  EXPECT_EQ(results[1].recipients[0].enhanced, "4.3.0");
  EXPECT_NE(results[1].recipients[0].text.find("missing"), std::string::npos);
  EXPECT_TRUE(results[1].connection_usable);
  EXPECT_EQ(std::count(server.lines.begin(), server.lines.end(), "MAIL FROM:<alice@example.test> SIZE=0"), 0);
  EXPECT_EQ(std::count_if(server.lines.begin(), server.lines.end(),
                          [](const std::string& line) { return line.starts_with("MAIL"); }),
            1);
}

// The proof that a file read never blocks the I/O thread: the "file" is a FIFO that only a timer on the
// I/O thread fills. Were the read done there, the timer could not fire; a rescuer thread then fills the
// FIFO after 10 s so that the test fails instead of hanging.
TEST_F(OutboundTransaction, FileReadsDoNotBlockTheIoThread) {
  std::string pattern = (fs::temp_directory_path() / "outbound_fifo_XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const fs::path dir = pattern;
  const fs::path fifo = dir / "message";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::mutex mutex;
  std::condition_variable written_cv;
  bool written = false;
  bool rescued = false;
  const auto fill = [&] {
    std::ofstream(fifo) << "Hello from a FIFO\n";
    std::lock_guard lock(mutex);
    written = true;
    written_cv.notify_all();
  };
  std::thread rescuer([&] {
    std::unique_lock lock(mutex);
    if (written_cv.wait_for(lock, std::chrono::seconds(10), [&] { return written; })) return;
    rescued = true;
    lock.unlock();
    fill();
  });
  asio::steady_timer timer(io);
  timer.expires_after(std::chrono::milliseconds(200));
  timer.async_wait([&](std::error_code error) {
    if (!error) fill();  // blocks only until the pool thread has the FIFO open for reading
  });
  asio::thread_pool pool(1);
  const OutboundEnvelope envelope = envelope_for({"a@example.net"});
  MessageResult result;
  run_client(io, [&]() -> asio::awaitable<void> {
    SmtpReply failure;
    auto connection = co_await SmtpConnection::open(io.get_executor(), server.endpoint(), quick_options(), *client_tls, failure);
    if (!connection) co_return;
    FileContent content(fifo, pool);
    result = co_await connection->send(envelope, content);
    co_await connection->quit();
  });
  rescuer.join();
  pool.join();
  fs::remove_all(dir);
  EXPECT_FALSE(rescued) << "the I/O thread was blocked by the file read";
  ASSERT_EQ(result.recipients.size(), 1u);
  EXPECT_EQ(result.recipients[0].code, 250);
  EXPECT_EQ(server.messages, std::vector<std::string>{"Hello from a FIFO\r\n.\r\n"});
}

TEST_F(OutboundTransaction, DsnParametersPassedOnToANextHopThatAdvertisesDsn) {
  server.ehlo_reply = "250-mx.example.test\r\n250-DSN\r\n250 PIPELINING\r\n";
  OutboundEnvelope envelope = envelope_for({"bob@example.net", "carol@example.net"});
  envelope.dsn.ret = dsn::Return::full;
  envelope.dsn.envid = "id=42";
  envelope.recipients[0].dsn.notify.given = true;
  envelope.recipients[0].dsn.notify.never = true;
  envelope.recipients[0].dsn.orcpt = "rfc822;bob@example.org";
  const MessageResult result = send_one(envelope, "Hi\n");
  EXPECT_EQ(result.message.code, 250);
  const std::vector<std::string> expected_lines = {
      "EHLO client.example.test", "MAIL FROM:<alice@example.test> RET=FULL ENVID=id+3D42",
      "RCPT TO:<bob@example.net> NOTIFY=NEVER ORCPT=rfc822;bob@example.org", "RCPT TO:<carol@example.net>", "DATA",
      "QUIT"};
  EXPECT_EQ(server.lines, expected_lines);
}

// Content that gives one piece and then fails, as a disk error halfway through a queue file would.
class FailingContent final : public MessageContent {
 public:
  asio::awaitable<std::string_view> next() override {
    std::string_view piece;
    if (calls_++ == 0) {
      piece = "Subject: half\n\nthe first half\n";
    } else {
      error_ = "cannot read message: Input/output error";
    }
    co_return piece;
  }
  const std::string& error() const override { return error_; }

 private:
  int calls_ = 0;
  std::string error_;
};

TEST_F(OutboundTransaction, ContentFailingMidMessageIsNeverEndedWithADot) {
  MessageResult result;
  const OutboundEnvelope envelope = envelope_for({"a@example.net"});
  run_client(io, [&]() -> asio::awaitable<void> {
    SmtpReply failure;
    auto connection = co_await SmtpConnection::open(io.get_executor(), server.endpoint(), quick_options(), *client_tls, failure);
    if (!connection) co_return;
    FailingContent content;
    result = co_await connection->send(envelope, content);
    co_await connection->quit();
  });
  ASSERT_EQ(result.recipients.size(), 1u);
  EXPECT_EQ(result.recipients[0].code, 451);
  EXPECT_EQ(result.recipients[0].enhanced, "4.3.0");
  EXPECT_NE(result.recipients[0].text.find("Input/output error"), std::string::npos);
  EXPECT_FALSE(result.connection_usable);
  EXPECT_TRUE(server.messages.empty());  // the next hop never saw an end of data
}

TEST_F(OutboundTransaction, ServiceClosingAtRcptEndsTheConnection) {
  server.on_command = [](const std::string& line) -> std::optional<Action> {
    if (line.starts_with("RCPT")) return Action{"421 4.3.2 Shutting down\r\n", Action::Then::close};
    return std::nullopt;
  };
  const MessageResult result = send_one(envelope_for({"a@example.net", "b@example.net"}), "Hi\n");
  ASSERT_EQ(result.recipients.size(), 2u);
  EXPECT_EQ(result.recipients[0].to_string(), "421 4.3.2 Shutting down");
  EXPECT_TRUE(result.recipients[1].transient());
  EXPECT_FALSE(result.connection_usable);
}

}  // namespace
}  // namespace transport::outbound::testing
