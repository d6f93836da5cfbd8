// SmtpConnection: the I/O half of the outbound SMTP client. client_protocol decides what to send and
// what a reply means; this file connects, reads, writes and waits, each wait bounded, so a next hop
// that hangs or vanishes costs a timer, never a wedged coroutine.
#include "transportd/outbound/smtp_client.h"

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ssl.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <tuple>

namespace transport::outbound {

namespace {

using asio::ip::tcp;

constexpr auto nothrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadSize = 4096;                 // replies are short; EHLO's is the longest
constexpr std::size_t kBodyWriteSize = 64 * 1024;       // encoded body gathered up to this before a write
constexpr std::chrono::seconds kQuitWait{5};            // QUIT's reply and TLS close_notify: a courtesy
constexpr std::size_t kPipelinedRecipients = 100;       // RCPTs per pipelined write

std::string describe(const std::error_code& error) {
  if (error == asio::error::eof || error == asio::ssl::error::stream_truncated) {
    return "the next hop closed the connection";
  }
  return error.message();
}

bool is_ip_literal(const std::string& host) {
  std::error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                     reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(std::max(length, 0)));
  return out;
}

// Secrets do not linger in buffers that are reused for the rest of the connection.
void wipe(std::string& text) {
  if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
  text.clear();
}

std::string peer_name_of(const Endpoint& endpoint) {
  std::string name = endpoint.host_name;
  name += '[';
  name += endpoint.address.to_string();
  name += "]:";
  name += std::to_string(endpoint.port);
  return name;
}

}  // namespace

// ---- MessageContent ----

asio::awaitable<std::string_view> StringContent::next() {
  const std::string_view piece = rest_.substr(0, chunk_size_);
  rest_.remove_prefix(piece.size());
  co_return piece;
}

FileContent::~FileContent() { close_file(); }

void FileContent::close_file() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

asio::awaitable<std::string_view> FileContent::next() {
  std::string_view piece;
  if (at_end_ || !error_.empty()) co_return piece;
  co_await asio::co_spawn(
      pool_, [this]() -> asio::awaitable<void> {
        read_chunk();
        co_return;
      },
      asio::use_awaitable);
  if (error_.empty()) piece = std::string_view(buffer_);
  co_return piece;
}

// Fills the buffer, or reads to the end of the file: a short file is opened, read and closed in one
// trip. The buffer is the file's size (+1, to see the end) when that is below a chunk.
void FileContent::read_chunk() {
  if (!opened_) {
    opened_ = true;
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat status {};
    if (fd_ < 0 || ::fstat(fd_, &status) != 0) {
      error_ = "cannot read " + path_.string() + ": " + std::strerror(errno);
      close_file();
      return;
    }
    buffer_size_ = S_ISREG(status.st_mode)
                       ? std::min<std::size_t>(static_cast<std::size_t>(status.st_size) + 1, kChunkSize)
                       : kChunkSize;  // a pipe has no size to go by
  }
  buffer_.resize(buffer_size_);
  std::size_t filled = 0;
  while (filled < buffer_.size()) {
    const ssize_t n = ::read(fd_, buffer_.data() + filled, buffer_.size() - filled);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = "cannot read " + path_.string() + ": " + std::strerror(errno);
      close_file();
      return;
    }
    if (n == 0) {
      at_end_ = true;
      break;
    }
    filled += static_cast<std::size_t>(n);
  }
  buffer_.resize(filled);
  if (at_end_) close_file();
}

asio::ssl::context make_client_tls_context() {
  asio::ssl::context context(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_compression);
  context.set_verify_mode(asio::ssl::verify_none);
  return context;
}

// ---- SmtpConnection ----

SmtpConnection::SmtpConnection(asio::any_io_executor executor, Endpoint endpoint, ClientOptions options)
    : executor_(executor),
      endpoint_(std::move(endpoint)),
      options_(std::move(options)),
      peer_name_(peer_name_of(endpoint_)),
      socket_(executor),
      timer_(executor),
      alive_(std::make_shared<char>()),
      io_timeout_(options_.inactivity_timeout) {}

SmtpConnection::~SmtpConnection() {
  close();
  wipe(options_.auth_password);
}

asio::awaitable<std::unique_ptr<SmtpConnection>> SmtpConnection::open(asio::any_io_executor executor,
                                                                       Endpoint endpoint, ClientOptions options,
                                                                       asio::ssl::context& tls, SmtpReply& failure) {
  std::unique_ptr<SmtpConnection> connection(new SmtpConnection(executor, endpoint, options));
  OpenOutcome outcome = co_await connection->establish(tls, true, failure);
  if (outcome == OpenOutcome::tls_handshake_failed && !options.require_tls) {
    // Opportunistic TLS that fails in the handshake: once more, in plain text.
    co_await connection->quit();
    connection.reset(new SmtpConnection(executor, std::move(endpoint), std::move(options)));
    outcome = co_await connection->establish(tls, false, failure);
  }
  if (outcome != OpenOutcome::ok) {
    co_await connection->quit();
    connection.reset();
  }
  co_return connection;
}

asio::awaitable<SmtpConnection::OpenOutcome> SmtpConnection::establish(asio::ssl::context& tls, bool try_tls,
                                                                       SmtpReply& failure) {
  OpenOutcome outcome = OpenOutcome::failed;
  arm(options_.connect_timeout);
  auto [connect_error] = co_await socket_.async_connect(tcp::endpoint(endpoint_.address, endpoint_.port), nothrow);
  disarm();
  if (connect_error) {
    fail(connect_error, "connecting");
    failure = failure_;
    co_return outcome;
  }
  std::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);

  SmtpReply banner;
  if (!co_await read_reply(banner, "waiting for the banner")) {
    failure = failure_;
    co_return outcome;
  }
  if (banner.code != 220) {
    failure = std::move(banner);
    co_return outcome;
  }
  if (!co_await hello(failure)) co_return outcome;

  if (try_tls && capabilities_.starttls) {
    SmtpReply reply;
    if (!co_await command("STARTTLS\r\n", reply, "waiting for the reply to STARTTLS")) {
      failure = failure_;
      co_return outcome;
    }
    if (reply.code == 220) {
      // RFC 3207 §4.2: nothing the server sent before the handshake may count as said inside it.
      in_.clear();
      in_position_ = 0;
      std::error_code handshake_error;
      try {
        tls_ = std::make_unique<TlsStream>(socket_, tls);
      } catch (const std::system_error& error) {  // SSL_new failed: no TLS here, as if the handshake had
        handshake_error = error.code();
      }
      if (tls_) {
        tls_->set_verify_mode(asio::ssl::verify_none);
        if (!endpoint_.host_name.empty() && !is_ip_literal(endpoint_.host_name)) {
          SSL_set_tlsext_host_name(tls_->native_handle(), endpoint_.host_name.c_str());
        }
        arm(options_.inactivity_timeout);
        std::tie(handshake_error) = co_await tls_->async_handshake(asio::ssl::stream_base::client, nothrow);
        disarm();
      }
      if (handshake_error) {
        fail(handshake_error, "in the TLS handshake");
        failure = failure_;
        outcome = OpenOutcome::tls_handshake_failed;
        co_return outcome;
      }
      // RFC 3207 §4.2: forget what was said in plain text and ask again.
      if (!co_await hello(failure)) co_return outcome;
    } else if (options_.require_tls || broken_) {
      failure = std::move(reply);
      co_return outcome;
    }
  } else if (options_.require_tls) {
    failure = local_reply(421, "4.7.10", peer_name_ + " does not offer STARTTLS, which RequireTLS needs");
    co_return outcome;
  }

  if (options_.auth != store::SmartHostAuthMechanism::none && !co_await authenticate(failure)) co_return outcome;
  outcome = OpenOutcome::ok;
  co_return outcome;
}

asio::awaitable<bool> SmtpConnection::hello(SmtpReply& failure) {
  SmtpReply reply;
  std::string line = "EHLO " + options_.helo_name + "\r\n";
  if (!co_await command(line, reply, "waiting for the reply to EHLO")) {
    failure = failure_;
    co_return false;
  }
  if (reply.code == 250) {
    capabilities_ = parse_ehlo(reply);
    co_return true;
  }
  // A server that does not know EHLO (RFC 5321 §3.2) says 5xx: HELO, and no extensions.
  if (reply.permanent() && !broken_) {
    line = "HELO " + options_.helo_name + "\r\n";
    if (!co_await command(line, reply, "waiting for the reply to HELO")) {
      failure = failure_;
      co_return false;
    }
    if (reply.code == 250) {
      capabilities_ = Capabilities();
      co_return true;
    }
  }
  failure = std::move(reply);
  co_return false;
}

// AUTH PLAIN with an initial response (RFC 4954, RFC 4616), else LOGIN; PLAIN is preferred when both
// are offered. Credentials are never sent in plain text under BasicAuthRequireTLS.
asio::awaitable<bool> SmtpConnection::authenticate(SmtpReply& failure) {
  if (options_.auth == store::SmartHostAuthMechanism::basic_auth_require_tls && !tls_) {
    failure = local_reply(421, "4.7.11", "not sending credentials to " + peer_name_ +
                                              " without TLS (SmartHostAuthMechanism BasicAuthRequireTLS)");
    co_return false;
  }
  if (!capabilities_.auth_plain && !capabilities_.auth_login) {
    failure = local_reply(421, "4.7.0", peer_name_ + " offers neither AUTH PLAIN nor AUTH LOGIN");
    co_return false;
  }
  SmtpReply reply;
  std::string secret;
  bool sent = false;
  if (capabilities_.auth_plain) {
    std::string credentials;
    credentials.reserve(options_.auth_user.size() + options_.auth_password.size() + 2);
    credentials += '\0';
    credentials += options_.auth_user;
    credentials += '\0';
    credentials += options_.auth_password;
    secret = "AUTH PLAIN " + base64(credentials) + "\r\n";
    wipe(credentials);
    secret_in_out_ = true;
    sent = co_await command(secret, reply, "waiting for the reply to AUTH");
  } else {
    sent = co_await command("AUTH LOGIN\r\n", reply, "waiting for the reply to AUTH");
    if (sent && reply.code == 334) {
      secret = base64(options_.auth_user) + "\r\n";
      secret_in_out_ = true;
      sent = co_await command(secret, reply, "waiting for the reply to AUTH");
      wipe(secret);
      if (sent && reply.code == 334) {
        secret = base64(options_.auth_password) + "\r\n";
        secret_in_out_ = true;
        sent = co_await command(secret, reply, "waiting for the reply to AUTH");
      }
    }
  }
  wipe(secret);
  if (!sent) {
    failure = failure_;
    co_return false;
  }
  if (reply.code != 235) {
    failure = std::move(reply);
    co_return false;
  }
  co_return true;
}

asio::awaitable<MessageResult> SmtpConnection::send(const OutboundEnvelope& envelope, MessageContent& content) {
  MessageResult result;
  result.recipients.resize(envelope.recipients.size());
  co_await transact(envelope, content, result);
  result.connection_usable = !broken_;
  co_return result;
}

asio::awaitable<void> SmtpConnection::transact(const OutboundEnvelope& envelope, MessageContent& content,
                                               MessageResult& result) {
  const std::size_t count = envelope.recipients.size();
  // Every recipient not yet decided gets `reply`; it also becomes the message's.
  const auto decide_rest = [&](const SmtpReply& reply) {
    for (SmtpReply& recipient : result.recipients) {
      if (recipient.code == 0 && recipient.text.empty()) recipient = reply;
    }
    result.message = reply;
  };

  if (broken_) {
    decide_rest(failure_);
    co_return;
  }
  // What the next hop cannot take is refused here, before anything is sent (RFC 6152, RFC 6531, RFC 1870).
  if (!fits_in_command(envelope.mail_from)) {
    decide_rest(local_reply(550, "5.1.7", "the sender address has a control character"));
    co_return;
  }
  if (envelope.eight_bit && !capabilities_.eight_bit_mime) {
    decide_rest(local_reply(554, "5.6.3", peer_name_ + " does not accept 8-bit content (no 8BITMIME)"));
    co_return;
  }
  if (envelope.smtputf8 && !capabilities_.smtputf8) {
    decide_rest(local_reply(554, "5.6.7", peer_name_ + " does not accept internationalized addresses (no SMTPUTF8)"));
    co_return;
  }
  if (capabilities_.size && capabilities_.size_limit > 0 && envelope.size > capabilities_.size_limit) {
    decide_rest(local_reply(552, "5.3.4", "the message (" + std::to_string(envelope.size) + " octets) is larger than " +
                                              peer_name_ + " accepts (" +
                                              std::to_string(capabilities_.size_limit) + ")"));
    co_return;
  }
  if (options_.max_message_size && envelope.size > *options_.max_message_size) {
    decide_rest(local_reply(552, "5.3.4", "the message (" + std::to_string(envelope.size) +
                                              " octets) is larger than the send connector's MaxMessageSize (" +
                                              std::to_string(*options_.max_message_size) + ")"));
    co_return;
  }
  std::size_t to_send = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (fits_in_command(envelope.recipients[i].address)) {
      ++to_send;
    } else {
      result.recipients[i] = local_reply(550, "5.1.3", "the recipient address has a control character");
      result.message = result.recipients[i];
    }
  }
  if (to_send == 0) {
    if (count == 0) result.message = local_reply(554, "5.5.1", "no recipients");
    co_return;
  }

  // The first piece before any command: a message that cannot be read is not begun.
  std::string_view piece = co_await content.next();
  if (!content.error().empty()) {
    decide_rest(local_reply(451, "4.3.0", "could not read the message: " + content.error()));
    co_return;
  }

  const bool pipelining = capabilities_.pipelining;
  std::size_t accepted_count = 0;
  bool transaction_open = false;  // MAIL accepted, not yet ended by a reply to the data or RSET
  bool data_written = false;
  SmtpReply reply;
  SmtpReply last_refusal;

  // RFC 2920: with PIPELINING, MAIL, the RCPTs and DATA go in as few writes as there are batches, and
  // the replies are read back in order. A batch holds at most kPipelinedRecipients RCPTs: a client
  // that writes thousands of commands before reading can deadlock with a next hop whose replies have
  // filled the socket buffers.
  std::size_t written_up_to = 0;  // recipients before this one have had their RCPT written (or are ours)
  const auto append_batch = [&] {
    std::size_t in_batch = 0;
    for (; written_up_to < count && in_batch < kPipelinedRecipients; ++written_up_to) {
      if (result.recipients[written_up_to].code != 0) continue;
      append_rcpt_to(out_, envelope.recipients[written_up_to], capabilities_);
      ++in_batch;
    }
    if (written_up_to == count) {
      out_ += "DATA\r\n";
      data_written = true;
    }
  };

  out_.clear();
  append_mail_from(out_, envelope, capabilities_);
  if (pipelining) append_batch();
  if (!co_await write_out("sending MAIL FROM")) {
    decide_rest(failure_);
    co_return;
  }
  if (!co_await read_reply(reply, "waiting for the reply to MAIL FROM")) {
    decide_rest(failure_);
    co_return;
  }
  const bool mail_accepted = reply.code / 100 == 2;
  SmtpReply mail_reply = std::move(reply);
  transaction_open = mail_accepted;
  if (mail_accepted || pipelining) {
    for (std::size_t i = 0; i < count; ++i) {
      if (result.recipients[i].code != 0) continue;
      if (!pipelining || i >= written_up_to) {
        if (!mail_accepted) break;  // nothing more is written behind a refused MAIL
        if (pipelining) {
          append_batch();
        } else {
          append_rcpt_to(out_, envelope.recipients[i], capabilities_);
        }
        if (!co_await write_out("sending RCPT TO")) {
          decide_rest(failure_);
          co_return;
        }
      }
      if (!co_await read_reply(reply, "waiting for the reply to RCPT TO")) {
        decide_rest(failure_);
        co_return;
      }
      if (!mail_accepted) continue;  // pipelined behind a refused MAIL: the MAIL reply decides
      if (reply.code / 100 == 2) {
        ++accepted_count;  // decided later, by the reply to the data
      } else {
        result.recipients[i] = reply;
        last_refusal = std::move(reply);
      }
    }
  }
  if (!mail_accepted) {
    decide_rest(mail_reply);
  } else if (accepted_count == 0) {
    result.message = last_refusal;
  }

  // DATA: written with the last batch when pipelining; otherwise only when someone is left to
  // receive the message (with pipelining too, when the last recipients were refused here).
  bool send_data = false;
  if (!data_written && mail_accepted && accepted_count > 0) {
    out_ += "DATA\r\n";
    data_written = true;
    if (!co_await write_out("sending DATA")) {
      decide_rest(failure_);
      co_return;
    }
  }
  if (data_written) {
    if (!co_await read_reply(reply, "waiting for the reply to DATA")) {
      decide_rest(failure_);
      co_return;
    }
    if (reply.code == 354) {
      send_data = true;
    } else if (accepted_count > 0) {
      decide_rest(reply);
    }
  }

  if (send_data) {
    // A server that says 354 with no recipient accepted gets an empty message, which it must refuse.
    encoder_.reset();
    if (accepted_count > 0) {
      for (;;) {
        encoder_.encode(piece, out_);
        piece = co_await content.next();
        if (piece.empty()) break;
        if (out_.size() >= kBodyWriteSize) {
          if (!co_await write_out("sending the message")) {
            decide_rest(failure_);
            co_return;
          }
        }
      }
      if (!content.error().empty()) {
        // The end of the data must not be sent for a message we could not read to its end: closing
        // the connection makes the next hop discard what it has.
        out_.clear();
        close();
        broken_ = true;
        decide_rest(local_reply(451, "4.3.0", "could not read the message: " + content.error()));
        co_return;
      }
    }
    encoder_.finish(out_);
    if (!co_await write_out("sending the message")) {
      decide_rest(failure_);
      co_return;
    }
    if (!co_await read_reply(reply, "waiting for the reply to the message")) {
      decide_rest(failure_);
      co_return;
    }
    transaction_open = false;
    if (accepted_count > 0) {
      if (reply.code / 100 == 2) ++messages_sent_;
      decide_rest(reply);
    }
  }

  // A transaction that ended before its data leaves state behind on the next hop: RSET clears it.
  if (transaction_open && !broken_) {
    SmtpReply reset;
    if (co_await command("RSET\r\n", reset, "waiting for the reply to RSET") && reset.code != 250) broken_ = true;
  }
}

asio::awaitable<void> SmtpConnection::quit() {
  if (!broken_ && socket_.is_open()) {
    io_timeout_ = std::min<Clock::duration>(options_.inactivity_timeout, kQuitWait);
    SmtpReply goodbye;
    if (co_await command("QUIT\r\n", goodbye, "waiting for the reply to QUIT") && tls_) {
      // Our close_notify; the next hop's is waited for only briefly.
      arm(io_timeout_);
      (void)co_await tls_->async_shutdown(nothrow);
      disarm();
    }
  }
  close();
}

// ---- I/O under timeouts ----

asio::awaitable<bool> SmtpConnection::command(std::string_view line, SmtpReply& reply, std::string_view stage) {
  out_.assign(line);
  bool ok = co_await write_out(stage);
  if (ok) ok = co_await read_reply(reply, stage);
  co_return ok;
}

asio::awaitable<bool> SmtpConnection::write_out(std::string_view stage) {
  if (broken_) co_return false;
  arm(io_timeout_);
  auto [error, written] = tls_ ? co_await asio::async_write(*tls_, asio::buffer(out_), nothrow)
                               : co_await asio::async_write(socket_, asio::buffer(out_), nothrow);
  disarm();
  if (secret_in_out_) {
    wipe(out_);
    secret_in_out_ = false;
  } else {
    out_.clear();
  }
  if (error) {
    fail(error, stage);
    co_return false;
  }
  co_return true;
}

asio::awaitable<bool> SmtpConnection::read_reply(SmtpReply& reply, std::string_view stage) {
  for (;;) {
    if (broken_) co_return false;
    std::size_t consumed = 0;
    const ReplyParser::Status status =
        parser_.parse(std::string_view(in_).substr(in_position_), reply, consumed);
    if (status == ReplyParser::Status::complete) {
      in_position_ += consumed;
      if (in_position_ == in_.size()) {
        in_.clear();
        in_position_ = 0;
      }
      // 421: the next hop is closing (RFC 5321 §3.8); the reply stands, the connection does not.
      if (reply.code == 421) {
        broken_ = true;
        failure_ = reply;
        close();
      }
      co_return true;
    }
    if (status != ReplyParser::Status::incomplete) {
      broken_ = true;
      failure_ = local_reply(0, {}, "connection to " + peer_name_ + " failed " + std::string(stage) + ": " +
                                        (status == ReplyParser::Status::too_long ? "a reply over 64 KiB"
                                                                                 : "a reply that is not SMTP"));
      close();
      co_return false;
    }
    if (in_position_ > 0) {
      in_.erase(0, in_position_);
      in_position_ = 0;
    }
    const std::size_t old_size = in_.size();
    in_.resize(old_size + kReadSize);
    auto buffer = asio::buffer(in_.data() + old_size, kReadSize);
    arm(io_timeout_);
    auto [error, n] = tls_ ? co_await tls_->async_read_some(buffer, nothrow)
                           : co_await socket_.async_read_some(buffer, nothrow);
    disarm();
    in_.resize(old_size + n);
    if (error) {
      fail(error, stage);
      co_return false;
    }
  }
}

// The timeout: the timer cancels the socket's operations when it fires. A handler that fires after
// its operation finished (or after the connection is gone) sees a newer generation and does nothing.
void SmtpConnection::arm(Clock::duration timeout) {
  timed_out_ = false;
  armed_for_ = timeout;
  timer_.expires_after(timeout);
  timer_.async_wait([this, alive = std::weak_ptr<char>(alive_), generation = ++generation_](std::error_code error) {
    if (error || alive.expired() || generation != generation_) return;
    timed_out_ = true;
    std::error_code ignored;
    socket_.cancel(ignored);
  });
}

void SmtpConnection::disarm() {
  ++generation_;
  timer_.cancel();
}

void SmtpConnection::fail(const std::error_code& error, std::string_view doing) {
  if (broken_) return;  // the first failure is the one worth reporting
  broken_ = true;
  std::string text = "connection to " + peer_name_;
  if (timed_out_) {
    text += " timed out ";
    text += doing;
    text += " (no progress in ";
    text += std::to_string(std::chrono::duration_cast<std::chrono::seconds>(armed_for_).count());
    text += " s)";
  } else if (doing == "connecting") {
    text += " failed: " + describe(error);
  } else {
    text += " lost ";
    text += doing;
    text += ": " + describe(error);
  }
  failure_ = local_reply(0, {}, std::move(text));
  close();
}

void SmtpConnection::close() {
  disarm();
  std::error_code ignored;
  if (socket_.is_open()) {
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
}

}  // namespace transport::outbound
