// The outbound SMTP client (DESIGN §11): one connection to a next hop — connect, banner, EHLO,
// STARTTLS, AUTH — and the transactions sent over it. Asio C++20 coroutines; the protocol's rules are in
// client_protocol.h, this file only reads, writes and waits. Every read and write runs under a timeout
// and no network error escapes as an exception: each becomes a reply with code 0 that says what happened.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "store/send_connector.h"
#include "transportd/outbound/client_protocol.h"

namespace transport::outbound {

struct Endpoint {
  std::string host_name;  // the next hop's name (smart host or MX), for SNI and messages; may be empty
  asio::ip::address address;
  std::uint16_t port = 25;
};

// TLS is opportunistic unless require_tls: STARTTLS whenever the next hop offers it, plain text when it
// does not; a handshake that fails reconnects once without STARTTLS (as Postfix does at security level
// "may": a broken TLS stack must not stop mail that plain text would carry). With require_tls a next hop
// without STARTTLS, a refused STARTTLS or a failed handshake fails the connection, transiently (421
// 4.7.10 made by us, or the handshake error with code 0): its configuration may change. Certificates
// are not verified, opportunistic or required, as MTAs do without DANE or MTA-STS: require_tls buys
// privacy against a passive listener, not authentication of the next hop.
struct ClientOptions {
  std::string helo_name;  // EHLO/HELO argument: the connector's Fqdn, else the server's name
  bool require_tls = false;
  store::SmartHostAuthMechanism auth = store::SmartHostAuthMechanism::none;
  std::string auth_user, auth_password;
  std::chrono::seconds inactivity_timeout{600};  // each read and each write; also the TLS handshake
  std::chrono::seconds connect_timeout{30};
  std::optional<std::uint64_t> max_message_size;  // the send connector's MaxMessageSize
};

// What happened to one message. `recipients` is index-aligned with the envelope's: for each, the reply
// that decides it — its RCPT reply if refused, else the reply to the data (or to DATA, or to MAIL), or
// the connection failure (code 0), or a refusal of ours (a next hop without 8BITMIME, SMTPUTF8, or room
// for the size). `message` is the reply that ended the transaction (the last refusal when every
// recipient was refused). When !connection_usable the connection must be dropped (quit() and forget
// it); otherwise it is ready for the next message.
struct MessageResult {
  std::vector<SmtpReply> recipients;
  SmtpReply message;
  bool connection_usable = false;
};

// The stored form of a message (LF line ends), piece by piece.
class MessageContent {
 public:
  virtual ~MessageContent() = default;
  // The next octets, valid until the next call; empty at the end, or after a failure (error() set).
  virtual asio::awaitable<std::string_view> next() = 0;
  // Why the content could not be read; empty while all is well.
  virtual const std::string& error() const = 0;
};

// A message held in memory (tests, reports we compose ourselves). The text must outlive the content.
class StringContent final : public MessageContent {
 public:
  explicit StringContent(std::string_view text, std::size_t chunk_size = 64 * 1024)
      : rest_(text), chunk_size_(chunk_size == 0 ? 1 : chunk_size) {}
  asio::awaitable<std::string_view> next() override;
  const std::string& error() const override { return error_; }

 private:
  std::string_view rest_;
  std::size_t chunk_size_;
  std::string error_;
};

// A message file (a queue entry's content), read in 64 KiB pieces. Every open and read blocks, so each
// runs on `pool` and the coroutine comes back to its own executor: the I/O thread never waits for a
// disk. A file shorter than one piece costs one trip to the pool.
class FileContent final : public MessageContent {
 public:
  FileContent(std::filesystem::path path, asio::thread_pool& pool) : path_(std::move(path)), pool_(pool) {}
  ~FileContent() override;
  FileContent(const FileContent&) = delete;
  FileContent& operator=(const FileContent&) = delete;

  asio::awaitable<std::string_view> next() override;
  const std::string& error() const override { return error_; }

  static constexpr std::size_t kChunkSize = 64 * 1024;

 private:
  void read_chunk();  // on the pool
  void close_file();

  std::filesystem::path path_;
  asio::thread_pool& pool_;
  int fd_ = -1;
  bool opened_ = false;
  std::size_t buffer_size_ = 0;  // what one trip reads: a chunk, or the whole file when smaller
  bool at_end_ = false;
  std::string buffer_;
  std::string error_;
};

// A client TLS context for opportunistic and required TLS alike: TLS 1.2 or later, no verification
// (see ClientOptions). One serves every connection.
asio::ssl::context make_client_tls_context();

// One connection to a next hop. Used by one coroutine at a time, on the executor given to open()
// (a strand or a single-threaded io_context: the timeouts' handlers run there too).
class SmtpConnection {
 public:
  // Connect (connect_timeout), read the banner, EHLO (HELO when EHLO is refused with 5xx), STARTTLS as
  // the options say (then EHLO again), AUTH PLAIN or LOGIN when asked (BasicAuthRequireTLS: only
  // inside TLS). nullptr and `failure` set on any failure: code 0 for socket errors and timeouts, else
  // the next hop's reply (or one of ours: 421 4.7.10 no STARTTLS under require_tls, 421 4.7.11 AUTH
  // that would be in plain text, 421 4.7.0 no AUTH mechanism we know). On success `failure` is left
  // alone, except after the fall back to plain text: it then says why TLS failed (worth a log line).
  static asio::awaitable<std::unique_ptr<SmtpConnection>> open(asio::any_io_executor executor, Endpoint endpoint,
                                                                ClientOptions options, asio::ssl::context& tls,
                                                                SmtpReply& failure);

  ~SmtpConnection();
  SmtpConnection(const SmtpConnection&) = delete;
  SmtpConnection& operator=(const SmtpConnection&) = delete;

  // One transaction: MAIL, RCPTs, DATA (in one write when the next hop offers PIPELINING, up to 100
  // RCPTs a write), then the content. RSET after a transaction that failed before its data, so the
  // connection stays reusable. Refused here without sending anything: a message that needs 8BITMIME
  // (554 5.6.3) or SMTPUTF8 (554 5.6.7) the next hop lacks, one over its SIZE or the connector's
  // MaxMessageSize (552 5.3.4), an address with a control character (550 5.1.7 / 5.1.3), content that
  // cannot be read (451 4.3.0; if that happens mid-message the connection is closed so the next hop
  // drops what it has).
  asio::awaitable<MessageResult> send(const OutboundEnvelope& envelope, MessageContent& content);
  // QUIT and close, with at most a few seconds' wait for the goodbye. Never throws.
  asio::awaitable<void> quit();

  bool tls_active() const { return tls_ != nullptr; }
  const std::string& peer_name() const { return peer_name_; }  // "mx1.example.test[192.0.2.1]:25"
  std::size_t messages_sent() const { return messages_sent_; }
  const Capabilities& capabilities() const { return capabilities_; }
  bool usable() const { return !broken_; }

 private:
  using Clock = std::chrono::steady_clock;
  using TlsStream = asio::ssl::stream<asio::ip::tcp::socket&>;
  enum class OpenOutcome : std::uint8_t { ok, failed, tls_handshake_failed };

  SmtpConnection(asio::any_io_executor executor, Endpoint endpoint, ClientOptions options);

  asio::awaitable<OpenOutcome> establish(asio::ssl::context& tls, bool try_tls, SmtpReply& failure);
  asio::awaitable<bool> hello(SmtpReply& failure);
  asio::awaitable<bool> authenticate(SmtpReply& failure);
  // send()'s work: fills `result` (recipients already sized), returning wherever the transaction ends.
  asio::awaitable<void> transact(const OutboundEnvelope& envelope, MessageContent& content, MessageResult& result);

  // I/O under the inactivity timeout. False when the connection failed: failure_ says how, and the
  // connection is broken.
  asio::awaitable<bool> write_out(std::string_view stage);
  asio::awaitable<bool> read_reply(SmtpReply& reply, std::string_view stage);
  // A command and its reply (out_ must be empty).
  asio::awaitable<bool> command(std::string_view line, SmtpReply& reply, std::string_view stage);

  void arm(Clock::duration timeout);
  void disarm();
  // `doing`: "connecting", "waiting for the reply to MAIL FROM", ... (goes into the failure text)
  void fail(const std::error_code& error, std::string_view doing);
  void close();

  asio::any_io_executor executor_;
  Endpoint endpoint_;
  ClientOptions options_;
  std::string peer_name_;
  asio::ip::tcp::socket socket_;
  std::unique_ptr<TlsStream> tls_;
  asio::steady_timer timer_;
  std::shared_ptr<char> alive_;  // the timeout handlers' way to see that the connection is gone
  std::uint64_t generation_ = 0;  // which arm() a firing timer belongs to
  Clock::duration armed_for_{};
  Clock::duration io_timeout_;  // each read and write: the inactivity timeout, shorter for QUIT
  bool timed_out_ = false;
  bool broken_ = false;
  Capabilities capabilities_;
  ReplyParser parser_;
  std::string in_;
  std::size_t in_position_ = 0;
  std::string out_;
  bool secret_in_out_ = false;  // out_ holds credentials: wiped, not just cleared, once written
  BodyEncoder encoder_;
  SmtpReply failure_;  // why the connection broke
  std::size_t messages_sent_ = 0;
};

}  // namespace transport::outbound
