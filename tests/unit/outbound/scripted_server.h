// A small SMTP server for the outbound client's tests: on 127.0.0.1 and a free port, in the test's own
// io_context, answering each command as the test says (or sensibly), recording every octet it receives,
// with STARTTLS on a certificate made in memory. Header-only: each test file includes what it uses.
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cctype>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "transportd/outbound/smtp_client.h"

namespace transport::outbound::testing {

using asio::ip::tcp;
inline constexpr auto nothrow = asio::experimental::as_tuple(asio::use_awaitable);

// A self-signed certificate and key for `name`, in a server context (P-256: quick to make).
inline std::unique_ptr<asio::ssl::context> make_server_tls_context(const std::string& name) {
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* certificate = X509_new();
  X509_set_version(certificate, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate), 1);
  X509_gmtime_adj(X509_getm_notBefore(certificate), -60);
  X509_gmtime_adj(X509_getm_notAfter(certificate), 24 * 3600);
  X509_NAME* subject = X509_get_subject_name(certificate);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(certificate, subject);
  X509_set_pubkey(certificate, key);
  X509_sign(certificate, key, EVP_sha256());
  SSL_CTX_use_certificate(context->native_handle(), certificate);
  SSL_CTX_use_PrivateKey(context->native_handle(), key);
  X509_free(certificate);
  EVP_PKEY_free(key);
  return context;
}

// What the server does with a command line: write `reply`, then go on, close, or say nothing more.
struct Action {
  enum class Then {
    proceed,
    close,
    go_silent,     // read (and drop) whatever comes, answer nothing
    stop_reading,  // neither read nor answer: the client's writes back up
  };
  std::string reply;
  Then then = Then::proceed;
};

class ScriptedServer {
 public:
  explicit ScriptedServer(asio::io_context& io) : io_(io), acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
  }
  ~ScriptedServer() { stop(); }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  outbound::Endpoint endpoint() const { return {"mx.example.test", asio::ip::make_address("127.0.0.1"), port()}; }

  void stop() {
    std::error_code ignored;
    acceptor_.close(ignored);
    if (socket_) socket_->close(ignored);
    hang_.cancel();
  }

  // Configuration, before the client connects.
  std::string banner = "220 mx.example.test ESMTP scripted\r\n";
  std::string ehlo_reply = "250-mx.example.test\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n";
  std::string data_reply = "250 2.0.0 queued\r\n";
  std::function<std::optional<Action>(const std::string& line)> on_command;  // nullopt: the default answer
  asio::ssl::context* tls = nullptr;  // STARTTLS answered with 220 and a handshake (else 454)
  bool wait_for_data_before_replying = false;  // PIPELINING proof: MAIL is answered once DATA has arrived
  bool drop_during_data = false;               // close after the first octets of the message
  bool silent_banner = false;

  // What it saw.
  int connections = 0;
  std::vector<std::string> lines;     // command lines without CRLF, every connection
  std::vector<std::string> reads;     // each read's octets, commands only (not message data)
  std::vector<std::string> messages;  // each message's octets after 354, terminator included
  std::string server_name_indication;
  bool tls_handshake_done = false;

 private:
  using TlsStream = asio::ssl::stream<tcp::socket&>;

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [error, socket] = co_await acceptor_.async_accept(nothrow);
      if (error) co_return;
      ++connections;
      socket_ = std::make_unique<tcp::socket>(std::move(socket));
      tls_stream_.reset();
      co_await serve();
      std::error_code ignored;
      tls_stream_.reset();
      socket_->close(ignored);
    }
  }

  asio::awaitable<bool> write(std::string_view text) {
    auto [error, n] = tls_stream_ ? co_await asio::async_write(*tls_stream_, asio::buffer(text), nothrow)
                                  : co_await asio::async_write(*socket_, asio::buffer(text), nothrow);
    co_return !error;
  }

  asio::awaitable<bool> read_more(bool record) {
    char chunk[4096];
    auto [error, n] = tls_stream_ ? co_await tls_stream_->async_read_some(asio::buffer(chunk), nothrow)
                                  : co_await socket_->async_read_some(asio::buffer(chunk), nothrow);
    if (error) co_return false;
    if (record) reads.emplace_back(chunk, n);
    buffer_.append(chunk, n);
    co_return true;
  }

  std::optional<std::string> take_line() {
    const std::size_t end = buffer_.find("\r\n");
    if (end == std::string::npos) return std::nullopt;
    std::string line = buffer_.substr(0, end);
    buffer_.erase(0, end + 2);
    return line;
  }

  static bool starts_with(const std::string& line, std::string_view prefix) {
    if (line.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      if (std::toupper(static_cast<unsigned char>(line[i])) != prefix[i]) return false;
    }
    return true;
  }

  Action default_action(const std::string& line) {
    if (starts_with(line, "EHLO")) return {ehlo_reply};
    if (starts_with(line, "HELO")) return {"250 mx.example.test\r\n"};
    if (starts_with(line, "MAIL")) return {"250 2.1.0 Sender ok\r\n"};
    if (starts_with(line, "RCPT")) return {"250 2.1.5 Recipient ok\r\n"};
    if (starts_with(line, "DATA")) return {"354 Go ahead\r\n"};
    if (starts_with(line, "RSET")) return {"250 2.0.0 Reset\r\n"};
    if (starts_with(line, "NOOP")) return {"250 2.0.0 Ok\r\n"};
    if (starts_with(line, "QUIT")) return {"221 2.0.0 Bye\r\n", Action::Then::close};
    if (starts_with(line, "STARTTLS")) return {tls ? "220 2.0.0 Ready\r\n" : "454 4.7.0 No TLS\r\n"};
    return {"502 5.5.1 Unknown command\r\n"};
  }

  asio::awaitable<void> serve() {
    buffer_.clear();
    if (silent_banner) {
      co_await read_more(true);  // until the client gives up
      co_return;
    }
    if (!co_await write(banner)) co_return;
    for (;;) {
      std::optional<std::string> line = take_line();
      if (!line) {
        if (!co_await read_more(true)) co_return;
        continue;
      }
      lines.push_back(*line);
      if (wait_for_data_before_replying && starts_with(*line, "MAIL")) {
        while (buffer_.find("DATA\r\n") == std::string::npos) {
          if (!co_await read_more(false)) co_return;
        }
      }
      std::optional<Action> action = on_command ? on_command(*line) : std::nullopt;
      if (!action) action = default_action(*line);
      if (!co_await write(action->reply)) co_return;
      if (action->then == Action::Then::close) co_return;
      if (action->then == Action::Then::stop_reading) {
        hang_.expires_after(std::chrono::minutes(5));
        co_await hang_.async_wait(nothrow);
        co_return;
      }
      if (action->then == Action::Then::go_silent) {
        while (co_await read_more(false)) {
        }
        co_return;
      }
      if (starts_with(*line, "STARTTLS") && action->reply.starts_with("220")) {
        buffer_.clear();
        tls_stream_ = std::make_unique<TlsStream>(*socket_, *tls);
        auto [error] = co_await tls_stream_->async_handshake(asio::ssl::stream_base::server, nothrow);
        if (error) co_return;
        tls_handshake_done = true;
        if (const char* name = SSL_get_servername(tls_stream_->native_handle(), TLSEXT_NAMETYPE_host_name)) {
          server_name_indication = name;
        }
      }
      if (starts_with(*line, "DATA") && action->reply.starts_with("354")) {
        if (!co_await receive_message()) co_return;
      }
    }
  }

  asio::awaitable<bool> receive_message() {
    std::string message;
    for (;;) {
      // The terminator: CRLF "." CRLF, or "." CRLF as the very first line (an empty message).
      const std::size_t end = buffer_.starts_with(".\r\n") ? 0 : buffer_.find("\r\n.\r\n");
      if (end != std::string::npos && !drop_during_data) {
        const std::size_t length = end == 0 && buffer_.starts_with(".\r\n") ? 3 : end + 5;
        messages.push_back(buffer_.substr(0, length));
        buffer_.erase(0, length);
        const bool written = co_await write(data_reply);
        co_return written;
      }
      if (drop_during_data && !buffer_.empty()) co_return false;
      if (!co_await read_more(false)) co_return false;
    }
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  std::unique_ptr<tcp::socket> socket_;
  std::unique_ptr<TlsStream> tls_stream_;
  std::string buffer_;
  asio::steady_timer hang_{io_};
};

// The io_context first, the server second: the server is torn down while the io_context can still run
// its coroutines to their end.
class OutboundConnectionTest : public ::testing::Test {
 protected:
  void TearDown() override {
    server.stop();
    io.restart();
    io.run_for(std::chrono::seconds(2));
  }
  asio::io_context io;
  ScriptedServer server{io};
  std::unique_ptr<asio::ssl::context> client_tls = std::make_unique<asio::ssl::context>(make_client_tls_context());
};

// Runs `body` as a coroutine on `io` until it finishes, or fails the test after `limit`.
template <typename Body>
void run_client(asio::io_context& io, Body body, std::chrono::seconds limit = std::chrono::seconds(30)) {
  bool finished = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await body();
        finished = true;
        io.stop();
      },
      asio::detached);
  io.run_for(limit);
  io.restart();
  ASSERT_TRUE(finished) << "the client did not finish within " << limit.count() << " s";
}

inline OutboundEnvelope envelope_for(std::vector<std::string> recipients, std::string from = "alice@example.test") {
  OutboundEnvelope envelope;
  envelope.mail_from = std::move(from);
  for (std::string& address : recipients) {
    OutboundRecipient recipient;
    recipient.address = std::move(address);
    envelope.recipients.push_back(std::move(recipient));
  }
  return envelope;
}

inline ClientOptions quick_options() {
  ClientOptions options;
  options.helo_name = "client.example.test";
  options.inactivity_timeout = std::chrono::seconds(10);
  options.connect_timeout = std::chrono::seconds(10);
  return options;
}

}  // namespace transport::outbound::testing
