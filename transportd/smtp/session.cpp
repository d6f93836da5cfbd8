// Session: the I/O half of an SMTP conversation. Protocol decides; this file reads, waits, writes.
// Everything here is a co_await on the session's strand: a tarpitted session is a timer and a few
// kilobytes, and no thread ever waits for a client.
#include "transportd/smtp/session.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/bind_executor.hpp>
#include <asio/post.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <sys/socket.h>

#include <atomic>
#include <cerrno>

#include "store/mailbox.h"
#include "transportd/log.h"
#include "transportd/queue/queue_store.h"
#include "transportd/relay/queue_manager.h"
#include "transportd/smtp/message_intake.h"
#include "transportd/smtp/session_record.h"

namespace transport::smtp {

namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr auto nothrow = asio::experimental::as_tuple(asio::use_awaitable);
// Octets including CRLF: RFC 5321 §4.5.3.1.4's 512, plus the 500 RFC 3461 §5 adds to RCPT for NOTIFY and
// ORCPT (MAIL's 100 for RET and ENVID fit within it).
constexpr std::size_t kMaxCommandLine = 512 + 500;
constexpr std::size_t kCommandReadSize = 1024;        // small: most sessions only ever send commands
constexpr std::size_t kBodyReadSize = 64 * 1024;      // message bodies stream in bigger reads
constexpr std::size_t kRecordOctets = 1000;           // RFC 5321 text line with CRLF: progress for the inactivity clock
constexpr std::size_t kMaxPendingInput = 64 * 1024;   // pipelined input buffered during a tarpit
constexpr std::size_t kKeptBufferCapacity = 8 * 1024;  // shrink buffers back after a message
constexpr std::size_t kSpoolWriteSize = 128 * 1024;    // a message buffer past this goes to its spool file
constexpr std::size_t kMessageIdSearch = 64 * 1024;    // how far into a message tracking looks for Message-ID

}  // namespace

class Session : public std::enable_shared_from_this<Session> {
 public:
  using Strand = asio::strand<asio::any_io_executor>;

  Session(tcp::socket socket, Strand strand, ServingConfigPtr serving, const store::ReceiveConnector& connector,
          SessionFacts facts, const reputation::Judgement& judgement, std::unique_ptr<Admission> admission,
          SessionServices& services,
          SessionRegistry& registry)
      : socket_(std::move(socket)),
        strand_(std::move(strand)),
        serving_(std::move(serving)),
        connector_(connector),
        protocol_(connector, serving_->recipients, facts),
        admission_(std::move(admission)),
        services_(services),
        record_(services, serving_->config->host_name, connector, facts, remote_port(socket_)),
        plog_(record_.protocol_log()),
        registry_(registry),
        watchdog_timer_(strand_),
        tarpit_timer_(strand_),
        tls_context_(serving_->tls_context(connector.id)),
        connection_deadline_(Clock::now() + connector.connection_timeout.value()) {
    protocol_.set_judgement(judgement);
  }

  const Strand& strand() const { return strand_; }

  // The session: a watchdog beside the conversation, then a farewell when a deadline ended it.
  // (Plain coroutines and cancel(), not awaitable operators: one less allocation per session, and no
  // cross-thread completion inside a parallel group.)
  asio::awaitable<void> run() {
    asio::co_spawn(strand_, [self = shared_from_this()]() -> asio::awaitable<void> { co_await self->watchdog(); },
                   asio::detached);
    co_await converse();
    std::optional<Reply> farewell;
    switch (ending_) {
      case Ending::connection_timeout: farewell = protocol_.connection_timeout(); break;
      case Ending::inactivity: farewell = protocol_.inactivity_timeout(); break;
      case Ending::shutdown: farewell = protocol_.shutting_down(); break;
      case Ending::none: break;
    }
    if (farewell) {
      // A client that stopped reading must not hold us: the watchdog cancels this write after 5 s.
      queue_reply(*farewell);
      co_await write_out();
    }
    if (tls_) co_await close_tls();
    if (plog_) plog_->disconnected(ending_name());
    finished_ = true;
    watchdog_timer_.cancel();
    std::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    registry_.remove(this);
  }

  // Any thread. Sessions inside a message get `grace` to finish it; the rest end with 421 now.
  void request_shutdown(std::chrono::seconds grace) {
    asio::post(strand_, [self = shared_from_this(), grace] {
      self->shutting_down_ = true;
      self->shutdown_deadline_ = Clock::now() + (self->protocol_.in_message() ? grace : std::chrono::seconds(0));
      self->watchdog_timer_.cancel();  // re-evaluate deadlines now
    });
  }

 private:
  enum class Ending { none, connection_timeout, inactivity, shutdown };
  enum class LineResult { line, overlong, need_more };

  static std::uint16_t remote_port(const tcp::socket& socket) {
    std::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    return ec ? 0 : remote.port();
  }

  // The protocol loop. Returns when the conversation is over for any reason.
  asio::awaitable<void> converse() {
    const Reply greeting = protocol_.greeting();
    // A Discredited client waits for its banner too (DESIGN §10).
    if (const std::chrono::seconds hold = protocol_.greeting_hold(); hold.count() > 0) {
      if (!co_await hold_reply(greeting, hold)) co_return;
    }
    queue_reply(greeting);
    if (co_await flush()) {
      for (;;) {
        if (shutting_down_ && !protocol_.in_message()) {
          co_await flush();  // the reply that finished the last message goes out before the 421
          ending_ = Ending::shutdown;
          break;
        }
        std::string_view line;
        LineResult result = next_line(line);
        if (result == LineResult::need_more) {
          // Pipelining: replies to a group of commands go out together, once the group is consumed.
          if (!co_await flush() || !co_await fill_waiting_for_client(kCommandReadSize)) break;
          continue;
        }
        if (plog_) {
          if (result != LineResult::line) {
            plog_->info("line too long: discarded");
          } else if (protocol_.expecting_sasl_response()) {
            plog_->received_secret();
          } else {
            plog_->received(line);
          }
        }
        Step step = result == LineResult::line ? protocol_.on_command(line) : protocol_.on_overlong_line();
        if (!co_await perform(std::move(step))) break;
      }
    }
  }

  // Carries out a Step and the ones that follow from it (body → delivery → reply). False: close.
  asio::awaitable<bool> perform(Step step) {
    for (;;) {
      if (ending_ != Ending::none) co_return false;
      follow(step);
      if (auto judgement = record_.stepped(step, protocol_)) protocol_.set_judgement(*judgement);
      if (step.reply.code != 0) {
        if (step.held()) {
          // Each reply goes out when it is due: the replies before a held one are not held with it
          // (a pipelining client waits on each reply with its own timeout, Postfix's 300 s).
          if (!co_await flush() || !co_await hold_reply(step.reply, step.hold)) co_return false;
        }
        queue_reply(step.reply);
      }
      switch (step.action) {
        case Action::read_command:
          co_return true;
        case Action::close:
          co_await flush();
          co_return false;
        case Action::read_data: {
          if (!co_await flush()) co_return false;
          std::optional<Step> next = co_await read_body();
          if (!next) co_return false;
          step = std::move(*next);
          break;
        }
        case Action::read_chunk: {
          if (!co_await read_chunk(step.chunk_size, step.last_chunk)) co_return false;
          if (plog_) plog_->received_data(step.chunk_size);
          step = protocol_.on_chunk(intake_.outcome(), intake_.size());
          break;
        }
        case Action::deliver:
          step = co_await deliver();
          break;
        case Action::start_tls: {
          if (!co_await flush() || !co_await start_tls()) co_return false;
          step = protocol_.on_tls_started();
          break;
        }
        case Action::verify_credentials:
          step = protocol_.on_credentials_checked(co_await verify_credentials());
          if (ending_ != Ending::none) co_return false;
          break;
      }
    }
  }

  // Every reply goes out through here: counted, then buffered until the next flush.
  void queue_reply(const Reply& reply) {
    record_.reply_queued(reply);
    append_reply(out_, reply, connector_.enhanced_status_codes_enabled);
  }

  // Deadlines: the whole connection (ConnectionTimeout), waiting for the client
  // (ConnectionInactivityTimeout, armed only while we wait for input), and shutdown. When one passes,
  // it records why and cancels whatever the conversation is waiting on; then it gives the farewell
  // five seconds before cancelling that too.
  asio::awaitable<void> watchdog() {
    Clock::time_point farewell_deadline = Clock::time_point::max();
    for (;;) {
      if (finished_) co_return;
      const auto now = Clock::now();
      if (ending_ == Ending::none) {
        if (now >= connection_deadline_) {
          ending_ = Ending::connection_timeout;
        } else if (now >= inactivity_deadline_) {
          ending_ = Ending::inactivity;
        } else if (now >= shutdown_deadline_) {
          ending_ = Ending::shutdown;
        }
        if (ending_ != Ending::none) {
          cancel_waits();
          farewell_deadline = now + std::chrono::seconds(5);
        }
      } else if (now >= farewell_deadline) {
        cancel_waits();
        co_return;
      }
      watchdog_timer_.expires_at(ending_ != Ending::none
                                     ? farewell_deadline
                                     : std::min({connection_deadline_, inactivity_deadline_, shutdown_deadline_}));
      co_await watchdog_timer_.async_wait(nothrow);
    }
  }

  std::string_view ending_name() const {
    switch (ending_) {
      case Ending::connection_timeout: return "connection timeout";
      case Ending::inactivity: return "inactivity timeout";
      case Ending::shutdown: return "shutdown";
      case Ending::none: break;
    }
    return "closed";
  }

  void cancel_waits() {
    std::error_code ignored;
    socket_.cancel(ignored);
    tarpit_timer_.cancel();
  }

  // Holds a reply for `hold`. While holding, it keeps reading whatever the client pipelines (up to a
  // cap) so that a hang-up ends the session at once instead of after the wait: the socket becoming
  // readable cancels the timer wait, the data is read, the wait resumes. A hang-up is an abandoned
  // hold: real MTAs wait minutes for a reply, harvesters do not (DESIGN §10).
  asio::awaitable<bool> hold_reply(const Reply& delayed, std::chrono::seconds hold) {
    observability::TarpitWaitScope counted(record_.metrics());
    record_.holding(delayed, hold);
    tarpit_timer_.expires_after(hold);
    for (;;) {
      const bool watch_client = in_.size() - in_pos_ < kMaxPendingInput;
      const std::uint64_t generation = ++tarpit_generation_;
      if (watch_client) {
        socket_.async_wait(tcp::socket::wait_read,
                           asio::bind_executor(strand_, [self = shared_from_this(), generation](std::error_code ec) {
                             if (!ec && generation == self->tarpit_generation_) self->tarpit_timer_.cancel();
                           }));
      }
      auto [ec] = co_await tarpit_timer_.async_wait(nothrow);
      ++tarpit_generation_;  // a readiness report that arrives from now on is stale
      if (ending_ != Ending::none) co_return false;
      if (!ec) {
        if (watch_client) {
          std::error_code ignored;
          socket_.cancel(ignored);  // the pending wait_read
        }
        co_return true;
      }
      switch (peek_client()) {
        case Peek::hung_up:  // the wait is abandoned at once
          if (auto judgement = record_.hold_abandoned()) protocol_.set_judgement(*judgement);
          co_return false;
        case Peek::nothing: break;            // the readiness report was stale
        case Peek::data:
          if (!co_await fill(kCommandReadSize)) {
            if (ending_ == Ending::none) {  // reset by the client, not ended by us
              if (auto judgement = record_.hold_abandoned()) protocol_.set_judgement(*judgement);
            }
            co_return false;
          }
          break;
      }
    }
  }

  // After a readiness report: what is really there, without reading it. Readiness can be stale (the
  // data it announced was already read), so "nothing" is not a hang-up; EOF is.
  enum class Peek { data, nothing, hung_up };
  Peek peek_client() {
    char byte;
    const ssize_t n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return Peek::data;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return Peek::nothing;
    return Peek::hung_up;
  }

  // STARTTLS (RFC 3207): whatever the client pipelined behind the command is dropped unread, so no
  // plaintext command can run inside the TLS session; then the handshake, under the inactivity timeout.
  asio::awaitable<bool> start_tls() {
    in_.clear();
    in_pos_ = 0;
    discarding_line_ = false;
    if (!tls_context_) {
      log::error("tls", "no usable certificate for connector \"" + connector_.name + "\": closing the session");
      co_return false;
    }
    tls_ = std::make_unique<TlsStream>(socket_, *tls_context_);
    inactivity_deadline_ = Clock::now() + connector_.connection_inactivity_timeout.value();
    watchdog_timer_.cancel();
    auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, nothrow);
    inactivity_deadline_ = Clock::time_point::max();
    co_return !ec && ending_ == Ending::none;
  }

  // TLS ends with our close_notify (RFC 8446 §6.1), so the client sees a clean end, not a truncation. The
  // client's own close_notify is waited for at most a moment: it may simply close the connection.
  asio::awaitable<void> close_tls() {
    tarpit_timer_.expires_after(std::chrono::seconds(2));
    tarpit_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
      std::error_code ignored;
      if (!ec) self->socket_.cancel(ignored);
    });
    co_await tls_->async_shutdown(nothrow);
    tarpit_timer_.cancel();
  }

  // AUTH: the user is looked up in this session's snapshot and the password verified on the auth
  // pool. An unknown user costs the same verification against a stand-in hash, so neither the reply
  // nor its timing tells a harvester whether the mailbox exists. A client locked out of AUTH for
  // guessing is not verified at all (DESIGN §10).
  asio::awaitable<CredentialCheck> verify_credentials() {
    const reputation::Judgement judgement = record_.judge();
    protocol_.set_judgement(judgement);
    if (judgement.auth_locked_until && *judgement.auth_locked_until > reputation::Clock::now()) {
      co_return CredentialCheck::locked_out;
    }
    const Credentials& credentials = protocol_.credentials();
    const store::Mailbox* mailbox = serving_->recipients.find_mailbox(credentials.user);
    const bool has_password = mailbox != nullptr && !mailbox->password_hash.empty();
    // The verifier takes turns between client addresses, so guessers wait behind each other, not in
    // front of everyone. Its answer comes on a worker thread and is posted back to the strand.
    const std::optional<bool> verified =
        co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::optional<bool>)>(
            [&](auto handler) {
              auto waiting = std::make_shared<decltype(handler)>(std::move(handler));
              services_.passwords.submit(
                  protocol_.facts().remote.value(),
                  [&] {
                    static const std::string stand_in = store::hash_password("stand-in for an unknown user");
                    return store::verify_password(has_password ? mailbox->password_hash : stand_in,
                                                  credentials.password) &&
                           has_password;
                  },
                  [waiting, strand = strand_](std::optional<bool> result) {
                    asio::post(strand, [waiting, result]() mutable { (*waiting)(result); });
                  });
            },
            asio::use_awaitable);
    if (!verified) co_return CredentialCheck::locked_out;  // over its fair share, or shutting down: 454
    co_return *verified ? CredentialCheck::accepted : CredentialCheck::rejected;
  }

  // Keeps the message being received in step with the protocol (see MessageIntake::follow); a
  // message that ended without delivery takes its spool file with it.
  void follow(const Step& step) {
    const bool had_message = intake_.active();
    if (intake_.follow(step, protocol_, connector_, step.starts_message ? record_.start_message(protocol_) : std::string())) {
      spool_.reset();
      spool_error_.clear();
    } else if (had_message && !intake_.active()) {
      spool_.reset();
      release_input_buffer();
    }
  }

  // Moves the message buffer to the spool file on the delivery pool (the strand is free meanwhile, and
  // the client is not read from: that is the back-pressure). A failure is remembered and reported when
  // the message is delivered, as a temporary failure.
  asio::awaitable<void> spool_buffered() {
    if (!spool_error_.empty()) intake_.buffer().clear();  // the message is lost already: keep nothing
    if (intake_.buffer().empty()) co_return;
    try {
      co_await asio::co_spawn(
          services_.delivery_pool,
          [&]() -> asio::awaitable<void> {
            if (!spool_) spool_ = delivery::SpoolFile::create(services_.spool_directory, spool_error_);
            if (spool_) spool_->append(intake_.buffer(), spool_error_);
            co_return;
          },
          asio::use_awaitable);
    } catch (const std::exception& e) {
      spool_error_ = e.what();
    }
    intake_.buffer().clear();
  }

  // Reads a DATA body through the intake, then asks Protocol what follows.
  asio::awaitable<std::optional<Step>> read_body() {
    for (;;) {
      in_pos_ += intake_.feed(std::string_view(in_).substr(in_pos_));
      if (intake_.buffer().size() >= kSpoolWriteSize && intake_.outcome() == BodyOutcome::complete) {
        co_await spool_buffered();
      }
      if (intake_.done()) break;
      compact_input();
      if (!co_await fill_waiting_for_client(kBodyReadSize)) co_return std::nullopt;
    }
    if (plog_) plog_->received_data(intake_.size());
    // A named Step, not a prvalue converted in co_return: GCC 12 miscompiles that conversion.
    Step next = protocol_.on_message(intake_.outcome(), intake_.size());
    co_return next;
  }

  // Reads exactly `size` octets of a BDAT chunk into the intake; a refused chunk is read and dropped.
  asio::awaitable<bool> read_chunk(std::uint64_t size, bool last) {
    const bool keep = protocol_.keep_chunk() && intake_.active();
    while (size > 0) {
      if (in_pos_ == in_.size()) {
        compact_input();
        if (!co_await fill_waiting_for_client(static_cast<std::size_t>(std::min<std::uint64_t>(size, kBodyReadSize)))) {
          co_return false;
        }
        continue;
      }
      const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(size, in_.size() - in_pos_));
      if (keep) {
        intake_.feed(std::string_view(in_).substr(in_pos_, take));
        if (intake_.buffer().size() >= kSpoolWriteSize && intake_.outcome() == BodyOutcome::complete) {
          co_await spool_buffered();
        }
      }
      in_pos_ += take;
      size -= take;
    }
    if (keep && last) intake_.finish_chunks();
    compact_input();
    co_return true;
  }

  // The queue's entry for the recipients that are not delivered here (Recipient::queued): relayed ones,
  // those accepted only to be reported, and local ones whose delivery is to be reported. nullopt when
  // the session delivers every recipient itself.
  std::optional<queue::QueuedMessage> queue_entry(const Envelope& envelope) const {
    if (!envelope.needs_queue() || services_.queue_store == nullptr) return std::nullopt;
    queue::QueuedMessage message;
    message.id = services_.queue_store->new_id();
    message.arrival_time =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    message.mail_from = envelope.mail_from;
    message.dsn = envelope.dsn;
    message.eight_bit = envelope.eight_bit;
    message.smtputf8 = envelope.smtputf8;
    message.origin = serving_->config->host_name + "\\" + connector_.name + " from " + protocol_.facts().remote.to_string();
    for (const Recipient& r : envelope.recipients) {
      if (!r.queued()) continue;
      queue::QueuedRecipient recipient;
      recipient.address = r.address;
      recipient.dsn = r.dsn;
      if (r.destination == routing::Verdict::non_delivery) {
        recipient.state = queue::RecipientState::failed;
        recipient.last_error = "550 5.1.1 User unknown: no mailbox has this address";
      }
      message.recipients.push_back(std::move(recipient));
    }
    return message;
  }

  // Delivers the message on the delivery pool; the session's strand is free meanwhile. Recipients
  // that go through the queue are made durable there first, then the local copies: the 250 waits for
  // both, and a failed local delivery takes the queue entry back, so nothing is half-accepted.
  asio::awaitable<Step> deliver() {
    const Envelope& envelope = protocol_.envelope();
    std::vector<std::string> targets;
    for (const Recipient& r : envelope.recipients) {
      if (!r.queued() && r.mailbox != nullptr) targets.push_back(r.mailbox->primary_smtp_address);
    }
    std::optional<queue::QueuedMessage> queued = queue_entry(envelope);
    if (envelope.needs_queue() && !queued) {
      spool_error_ = "the queue is not available";
    }

    co_await spool_buffered();
    delivery::DeliveryResult result;
    std::optional<std::string> message_id;
    if (!spool_error_.empty() || !spool_) {
      result.error = spool_error_.empty() ? "the message was never spooled" : spool_error_;
    } else {
      try {
        result = co_await asio::co_spawn(
            services_.delivery_pool,
            [&]() -> asio::awaitable<delivery::DeliveryResult> {
              if (record_.wants_message_id()) {
                message_id = SessionRecord::message_id_header(spool_->read_head(kMessageIdSearch));
              }
              delivery::DeliveryResult delivered;
              if (queued) {
                queued->size = spool_->size();
                if (!services_.queue_store->add(*queued, *spool_, delivered.error)) co_return delivered;
              }
              if (targets.empty()) {
                delivered.ok = true;
                co_return delivered;
              }
              delivered = services_.mailboxes.deliver(targets, *spool_);
              if (!delivered.ok && queued) {
                std::string ignored;
                services_.queue_store->remove(queued->id, ignored);
              }
              co_return delivered;
            },
            asio::use_awaitable);
      } catch (const std::exception& e) {
        result.ok = false;
        result.error = e.what();
      }
    }
    const std::string queued_as = result.ok && queued ? queued->id : std::string();
    if (result.ok && queued) services_.queue->submit(std::move(*queued));
    const Envelope finished = envelope;  // on_delivered ends the transaction: keep it for the record
    Step step = protocol_.on_delivered(result.ok ? DeliveryOutcome::delivered : DeliveryOutcome::failed);
    record_.message_finished(finished, targets, queued_as, result.ok, result.error, intake_.size(), message_id,
                             step.reply);
    co_return step;
  }

  LineResult next_line(std::string_view& line) {
    const std::string_view pending = std::string_view(in_).substr(in_pos_);
    if (discarding_line_) {
      std::size_t newline = pending.find('\n');
      if (newline == std::string_view::npos) {
        in_pos_ = in_.size();
        compact_input();
        return LineResult::need_more;
      }
      in_pos_ += newline + 1;
      discarding_line_ = false;
      return LineResult::overlong;
    }
    std::size_t newline = pending.substr(0, kMaxCommandLine).find('\n');
    if (newline == std::string_view::npos) {
      if (pending.size() >= kMaxCommandLine) {
        discarding_line_ = true;  // skip to the end of this line, then answer "line too long"
        return next_line(line);
      }
      compact_input();
      return LineResult::need_more;
    }
    line = pending.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    in_pos_ += newline + 1;
    return LineResult::line;
  }

  // Reads while the inactivity deadline runs. The deadline counts from the client's last progress, not
  // its last byte: a read that brings a line end, or a whole line's worth of octets (BDAT data has no
  // lines). A slowloris trickling a byte at a time is closed by ConnectionInactivityTimeout, like
  // Postfix's smtpd_per_record_deadline, instead of holding the connection to ConnectionTimeout.
  asio::awaitable<bool> fill_waiting_for_client(std::size_t size) {
    if (!inside_record_) progress_deadline_ = Clock::now() + connector_.connection_inactivity_timeout.value();
    inactivity_deadline_ = progress_deadline_;
    if (inactivity_deadline_ < watchdog_timer_.expiry()) watchdog_timer_.cancel();
    const std::size_t before = in_.size();
    const bool ok = co_await fill(size);
    const std::string_view arrived = std::string_view(in_).substr(before);
    inside_record_ = arrived.size() < kRecordOctets && arrived.find('\n') == std::string_view::npos;
    inactivity_deadline_ = Clock::time_point::max();
    co_return ok;
  }

  asio::awaitable<bool> fill(std::size_t size) {
    const std::size_t old_size = in_.size();
    in_.resize(old_size + size);
    auto buffer = asio::buffer(in_.data() + old_size, size);
    auto [ec, n] = tls_ ? co_await tls_->async_read_some(buffer, nothrow)
                        : co_await socket_.async_read_some(buffer, nothrow);
    in_.resize(old_size + n);
    co_return !ec && ending_ == Ending::none;
  }

  asio::awaitable<bool> flush() {
    if (out_.empty()) co_return true;
    const bool ok = co_await write_out();
    co_return ok && ending_ == Ending::none;
  }

  asio::awaitable<bool> write_out() {
    if (plog_) plog_->sent(out_);
    auto [ec, n] = tls_ ? co_await asio::async_write(*tls_, asio::buffer(out_), nothrow)
                        : co_await asio::async_write(socket_, asio::buffer(out_), nothrow);
    out_.clear();
    co_return !ec;
  }

  void compact_input() {
    if (in_pos_ == in_.size()) {
      in_.clear();
      in_pos_ = 0;
    } else if (in_pos_ >= 4096) {
      in_.erase(0, in_pos_);
      in_pos_ = 0;
    }
  }

  void release_input_buffer() {
    compact_input();
    if (in_.capacity() > kKeptBufferCapacity && in_.size() - in_pos_ < kKeptBufferCapacity) in_.shrink_to_fit();
  }

  tcp::socket socket_;
  Strand strand_;
  ServingConfigPtr serving_;  // keeps connector_ and the recipient index alive
  const store::ReceiveConnector& connector_;
  Protocol protocol_;
  std::unique_ptr<Admission> admission_;  // released when the session ends
  SessionServices& services_;
  SessionRecord record_;
  protocol_log::ProtocolLogSession* plog_;  // record_'s, when the connector logs Verbose
  SessionRegistry& registry_;
  asio::steady_timer watchdog_timer_;
  asio::steady_timer tarpit_timer_;
  using TlsStream = asio::ssl::stream<tcp::socket&>;
  std::shared_ptr<asio::ssl::context> tls_context_;  // this connector's certificate, if it offers TLS
  std::unique_ptr<TlsStream> tls_;                   // after STARTTLS

  std::string in_;          // received, not yet consumed from in_pos_ on
  std::size_t in_pos_ = 0;
  bool discarding_line_ = false;
  std::string out_;         // replies not yet written
  MessageIntake intake_;    // the message being received
  std::unique_ptr<delivery::SpoolFile> spool_;  // where it goes, once it outgrows a buffer or is delivered
  std::string spool_error_;  // the spool file could not be made or written: the message gets 451

  Clock::time_point connection_deadline_;
  Clock::time_point inactivity_deadline_ = Clock::time_point::max();
  Clock::time_point progress_deadline_ = Clock::time_point::max();  // see fill_waiting_for_client
  bool inside_record_ = false;  // the last read brought no line end: the inactivity clock keeps running
  Clock::time_point shutdown_deadline_ = Clock::time_point::max();
  bool shutting_down_ = false;
  bool finished_ = false;
  std::uint64_t tarpit_generation_ = 0;
  Ending ending_ = Ending::none;
};

void SessionRegistry::add(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(mutex_);
  sessions_.emplace(session.get(), session);
}

void SessionRegistry::remove(Session* session) {
  std::shared_ptr<Session> keep;  // destroyed outside the lock
  std::lock_guard lock(mutex_);
  if (auto found = sessions_.find(session); found != sessions_.end()) {
    keep = std::move(found->second);
    sessions_.erase(found);
  }
  if (sessions_.empty()) emptied_.notify_all();
}

void SessionRegistry::shut_down_all(std::chrono::seconds grace) {
  std::lock_guard lock(mutex_);
  for (const auto& [key, session] : sessions_) session->request_shutdown(grace);
}

std::size_t SessionRegistry::wait_until_empty(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  emptied_.wait_until(lock, deadline, [&] { return sessions_.empty(); });
  return sessions_.size();
}

std::size_t SessionRegistry::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

void start_session(tcp::socket socket, ServingConfigPtr serving, const store::ReceiveConnector& connector,
                   SessionFacts facts, const reputation::Judgement& judgement, std::unique_ptr<Admission> admission,
                   SessionServices& services, SessionRegistry& registry) {
  auto strand = asio::make_strand(socket.get_executor());
  auto session = std::make_shared<Session>(std::move(socket), strand, std::move(serving), connector, std::move(facts),
                                           judgement, std::move(admission), services, registry);
  registry.add(session);
  asio::co_spawn(strand, [session]() -> asio::awaitable<void> { co_await session->run(); }, asio::detached);
}

}  // namespace transport::smtp
