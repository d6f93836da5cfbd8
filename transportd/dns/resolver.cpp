// Resolver (see resolver.h): c-ares asks the questions, Asio watches its sockets and its timeouts, and
// mail_route.cpp decides what the answers mean.
//
// Threading: every c-ares call and every member of Impl is touched only on `strand`. A lookup is a
// Batch of questions asked together; its coroutine waits for the whole batch, which finishes when every
// question is answered or when its deadline passes. Coroutines hold only a weak_ptr to the Impl between
// questions, so a destroyed Resolver is noticed instead of used.
//
// Readiness: Asio's epoll reactor is edge-triggered and c-ares may leave data unread (one TCP segment
// per call), so an Asio wait is only a wake-up: after each c-ares call we poll() the sockets c-ares
// watches, with a zero timeout, and process those already ready — level-triggered, never blocking.
#include "transportd/dns/resolver.h"

#include <ares.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <asio.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

namespace transport::dns {

namespace {

using namespace std::chrono_literals;

// Per try: 1 s, then 2 s (c-ares doubles the timeout on each round over the servers).
constexpr int try_timeout_ms = 1000;
constexpr int tries_per_server = 2;
// A batch of questions gives up after this, however many servers and tries c-ares has left, and
// however long it waited for its turn.
constexpr auto batch_deadline = 5s;
// c-ares lookups out at once (an address lookup is two DNS queries, A and AAAA); more wait their turn.
// A burst (the queue retrying every next hop after an outage) would otherwise overflow the DNS server's
// socket buffer, and what it drops is resent only a second later.
constexpr std::size_t max_lookups_in_flight = 64;

constexpr int dns_class_in = 1;
constexpr int dns_type_mx = 15;

const char* const shut_down_reason = "resolver shut down";

enum class QuestionType : std::uint8_t { mx, addresses };

struct Question {
  std::string name;
  QuestionType type = QuestionType::addresses;
};

std::string describe(int status) {
  switch (status) {
    case ARES_ENOTFOUND: return "NXDOMAIN";
    case ARES_ENODATA: return "no records";
    case ARES_EBADNAME: return "not a valid domain name";
    case ARES_ESERVFAIL: return "SERVFAIL from the DNS server";
    case ARES_EREFUSED: return "the DNS server refused the query";
    case ARES_ETIMEOUT: return "no answer from the DNS server";
    // c-ares 1.18 also reports a REFUSED or SERVFAIL answer from every server this way.
    case ARES_ECONNREFUSED: return "the DNS server refused the query or could not be reached";
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION: return shut_down_reason;
    default: return ares_strerror(status);
  }
}

DnsAnswer failed_answer(int status) {
  DnsAnswer answer;
  answer.reason = describe(status);
  switch (status) {
    case ARES_ENOTFOUND:
    case ARES_EBADNAME: answer.kind = AnswerKind::no_such_name; break;
    case ARES_ENODATA: answer.kind = AnswerKind::no_records; break;
    default: answer.kind = AnswerKind::failed; break;
  }
  return answer;
}

DnsAnswer failed_answer(std::string reason) {
  DnsAnswer answer;
  answer.kind = AnswerKind::failed;
  answer.reason = std::move(reason);
  return answer;
}

DnsAnswer mx_answer(int status, const unsigned char* buffer, int length) {
  if (status != ARES_SUCCESS) return failed_answer(status);
  ares_mx_reply* replies = nullptr;
  int parsed = ares_parse_mx_reply(buffer, length, &replies);
  if (parsed != ARES_SUCCESS) {
    if (parsed == ARES_ENODATA) return failed_answer(parsed);
    return failed_answer(std::string("malformed MX answer: ") + ares_strerror(parsed));
  }
  DnsAnswer answer;
  answer.kind = AnswerKind::records;
  for (const ares_mx_reply* reply = replies; reply != nullptr; reply = reply->next) {
    answer.mx_records.push_back(MxRecord{reply->host != nullptr ? reply->host : "", reply->priority});
  }
  ares_free_data(replies);
  return answer;
}

DnsAnswer address_answer(int status, const ares_addrinfo* result) {
  if (status != ARES_SUCCESS) return failed_answer(status);
  DnsAnswer answer;
  for (const ares_addrinfo_node* node = result != nullptr ? result->nodes : nullptr; node != nullptr;
       node = node->ai_next) {
    if (node->ai_family == AF_INET && node->ai_addr != nullptr) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(node->ai_addr);
      answer.addresses.push_back(asio::ip::address_v4(ntohl(in->sin_addr.s_addr)));
    } else if (node->ai_family == AF_INET6 && node->ai_addr != nullptr) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(node->ai_addr);
      asio::ip::address_v6::bytes_type bytes;
      std::copy(std::begin(in6->sin6_addr.s6_addr), std::end(in6->sin6_addr.s6_addr), bytes.begin());
      answer.addresses.push_back(asio::ip::address_v6(bytes));
    }
  }
  answer.kind = answer.addresses.empty() ? AnswerKind::no_records : AnswerKind::records;
  return answer;
}

// Questions asked together and the coroutine waiting for all their answers. Touched on the strand only
// (or, when abandoned, by the last owner during the io_context's destruction).
class Batch {
 public:
  explicit Batch(std::vector<Question> questions)
      : questions_(std::move(questions)), answers_(questions_.size()), answered_(questions_.size(), false),
        remaining_(questions_.size()) {}
  virtual ~Batch() = default;

  const std::vector<Question>& questions() const { return questions_; }
  std::optional<asio::steady_timer>& deadline() { return deadline_; }

  void answer(std::size_t index, DnsAnswer answer) {
    if (completed_ || answered_[index]) return;
    answers_[index] = std::move(answer);
    answered_[index] = true;
    if (--remaining_ == 0) finish();
  }
  // Every question not yet answered fails with `reason`.
  void fail_remaining(const std::string& reason) {
    for (std::size_t i = 0; i < questions_.size(); ++i) {
      if (!answered_[i]) answer(i, failed_answer(reason));
    }
    if (questions_.empty() && !completed_) finish();
  }
  // No io_context left to resume the coroutine on: destroy it instead (as Asio does with its own).
  void abandon() {
    if (completed_) return;
    completed_ = true;
    drop();
  }
  bool completed() const { return completed_; }

 private:
  void finish() {
    completed_ = true;
    if (deadline_) deadline_->cancel();
    complete(std::move(answers_));
  }
  virtual void complete(std::vector<DnsAnswer> answers) = 0;
  virtual void drop() = 0;

  std::vector<Question> questions_;
  std::vector<DnsAnswer> answers_;
  std::vector<bool> answered_;
  std::size_t remaining_;
  bool completed_ = false;
  std::optional<asio::steady_timer> deadline_;
};

template <class Handler>
class BatchWith final : public Batch {
 public:
  BatchWith(Handler handler, std::vector<Question> questions)
      : Batch(std::move(questions)), handler_(std::move(handler)) {}

 private:
  void complete(std::vector<DnsAnswer> answers) override {
    // Posted, never run here: the coroutine must not resume inside a c-ares callback on the strand.
    auto executor = asio::get_associated_executor(*handler_);
    asio::post(executor, [handler = std::move(*handler_), answers = std::move(answers)]() mutable {
      std::move(handler)(std::move(answers));
    });
    handler_.reset();
  }
  void drop() override { handler_.reset(); }

  std::optional<Handler> handler_;
};

}  // namespace

class Resolver::Impl : public std::enable_shared_from_this<Resolver::Impl> {
 public:
  Impl(asio::any_io_executor executor, const std::string& servers)
      : strand(asio::make_strand(executor)), timer_(executor) {
    static std::once_flag library_initialised;
    std::call_once(library_initialised, [] {
      int status = ares_library_init(ARES_LIB_INIT_ALL);
      if (status != ARES_SUCCESS) {
        throw std::runtime_error(std::string("c-ares cannot start: ") + ares_strerror(status));
      }
    });
    ares_options options{};
    options.timeout = try_timeout_ms;
    options.tries = tries_per_server;
    // No search list: mail domains and MX hosts are absolute names, and a miss must not become a
    // lookup of "mx.example.com.our-domain".
    options.domains = nullptr;
    options.ndomains = 0;
    // DNS only, never /etc/hosts (Postfix's smtp_host_lookup=dns): a file read on the strand for every
    // lookup, and a mail route the zone did not publish.
    char dns_only[] = "b";
    options.lookups = dns_only;
    options.sock_state_cb = &Impl::on_socket_state;
    options.sock_state_cb_data = this;
    int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB;
    int status = ares_init_options(&channel_, &options, mask);
    if (status != ARES_SUCCESS) {
      throw std::runtime_error(std::string("c-ares cannot start: ") + ares_strerror(status));
    }
    if (!servers.empty()) {
      status = ares_set_servers_ports_csv(channel_, servers.c_str());
      if (status != ARES_SUCCESS) {
        ares_destroy(channel_);
        throw std::runtime_error("Invalid DNS server list '" + servers + "': " + ares_strerror(status));
      }
    }
  }

  ~Impl() {
    // Reached with a live channel only when the io_context dropped the shutdown (destroyed without
    // running it): nothing can be resumed any more.
    if (channel_ != nullptr) {
      abandoning_ = true;
      ares_destroy(channel_);
      channel_ = nullptr;
    }
    release_all_sockets();
    for (auto& batch : waiting_) batch->abandon();
  }

  // On the strand: asks the batch's questions now, or when enough others are answered; its deadline
  // bounds both.
  void ask(const std::shared_ptr<Batch>& batch) {
    if (channel_ == nullptr) {
      batch->fail_remaining(shut_down_reason);
      return;
    }
    auto& deadline = batch->deadline();
    deadline.emplace(strand.get_inner_executor());
    deadline->expires_after(batch_deadline);
    deadline->async_wait(asio::bind_executor(strand, [batch](const asio::error_code& error) {
      if (!error) {
        batch->fail_remaining("no answer within " + std::to_string(batch_deadline.count()) + " s");
      }
    }));
    waiting_.push_back(batch);
    pump();
  }

  // On the strand: every lookup in flight ends with temporary_failure; later ones are refused.
  void shutdown() {
    if (channel_ == nullptr) return;
    timer_.cancel();
    ares_destroy(channel_);  // answers every pending question with ARES_EDESTRUCTION
    channel_ = nullptr;
    release_all_sockets();
    for (auto& batch : waiting_) batch->fail_remaining(shut_down_reason);
    waiting_.clear();
  }

  asio::strand<asio::any_io_executor> strand;

 private:
  // One question's place in its batch: c-ares's callback argument, deleted by the callback.
  struct Slot {
    std::shared_ptr<Batch> batch;
    std::size_t index;
    Impl* impl;
  };

  // A socket c-ares opened. Released, never closed, when c-ares says it is done: c-ares closes it.
  struct Watch {
    explicit Watch(const asio::any_io_executor& executor) : descriptor(executor) {}
    asio::posix::stream_descriptor descriptor;
    bool want_read = false;
    bool want_write = false;
    bool read_armed = false;
    bool write_armed = false;
  };

  static void on_mx_answer(void* argument, int status, int, unsigned char* buffer, int length) {
    std::unique_ptr<Slot> slot(static_cast<Slot*>(argument));
    --slot->impl->lookups_in_flight_;
    if (slot->impl->abandoning_) {
      slot->batch->abandon();
      return;
    }
    slot->batch->answer(slot->index, mx_answer(status, buffer, length));
  }

  static void on_address_answer(void* argument, int status, int, ares_addrinfo* result) {
    std::unique_ptr<ares_addrinfo, decltype(&ares_freeaddrinfo)> owned(result, &ares_freeaddrinfo);
    std::unique_ptr<Slot> slot(static_cast<Slot*>(argument));
    --slot->impl->lookups_in_flight_;
    if (slot->impl->abandoning_) {
      slot->batch->abandon();
      return;
    }
    slot->batch->answer(slot->index, address_answer(status, result));
  }

  static void on_socket_state(void* data, ares_socket_t socket, int readable, int writable) {
    static_cast<Impl*>(data)->socket_state(socket, readable != 0, writable != 0);
  }

  void socket_state(ares_socket_t socket, bool readable, bool writable) {
    auto found = watches_.find(socket);
    if (!readable && !writable) {
      if (found != watches_.end()) {
        found->second->descriptor.release();  // its waits end with operation_aborted
        watches_.erase(found);
      }
      return;
    }
    if (abandoning_) return;
    if (found == watches_.end()) {
      auto watch = std::make_shared<Watch>(strand.get_inner_executor());
      asio::error_code error;
      watch->descriptor.assign(socket, error);
      // Unwatchable (cannot happen with epoll and a fresh socket): its questions time out.
      if (error) return;
      found = watches_.emplace(socket, std::move(watch)).first;
    }
    found->second->want_read = readable;
    found->second->want_write = writable;
    arm(socket, found->second);
  }

  auto woken(ares_socket_t socket, const std::shared_ptr<Watch>& watch, bool read) {
    return [self = weak_from_this(), socket, watch, read](const asio::error_code& error) {
      (read ? watch->read_armed : watch->write_armed) = false;
      auto impl = self.lock();
      if (!impl || error || impl->channel_ == nullptr) return;
      auto current = impl->watches_.find(socket);
      if (current == impl->watches_.end() || current->second != watch) return;  // c-ares moved on
      impl->pump();
    };
  }

  void arm(ares_socket_t socket, const std::shared_ptr<Watch>& watch) {
    if (watch->want_read && !watch->read_armed) {
      watch->read_armed = true;
      watch->descriptor.async_wait(asio::posix::descriptor_base::wait_read,
                                   asio::bind_executor(strand, woken(socket, watch, true)));
    }
    if (watch->want_write && !watch->write_armed) {
      watch->write_armed = true;
      watch->descriptor.async_wait(asio::posix::descriptor_base::wait_write,
                                   asio::bind_executor(strand, woken(socket, watch, false)));
    }
  }

  // Processes every socket that is ready now, re-arming the waits first so that readiness arriving
  // after the last poll() wakes us; then sets the timer for c-ares's next timeout.
  void pump() {
    send_waiting();
    for (int round = 0; round < 64 && channel_ != nullptr; ++round) {
      std::vector<pollfd> wanted;
      for (auto& [socket, watch] : watches_) {
        arm(socket, watch);
        short events = static_cast<short>((watch->want_read ? POLLIN : 0) | (watch->want_write ? POLLOUT : 0));
        wanted.push_back(pollfd{socket, events, 0});
      }
      if (wanted.empty() || ::poll(wanted.data(), wanted.size(), 0) <= 0) break;
      for (const pollfd& ready : wanted) {
        if (channel_ == nullptr) break;
        bool trouble = (ready.revents & (POLLERR | POLLHUP)) != 0;
        bool read = (ready.events & POLLIN) != 0 && ((ready.revents & POLLIN) != 0 || trouble);
        bool write = (ready.events & POLLOUT) != 0 && ((ready.revents & POLLOUT) != 0 || trouble);
        if (read || write) {
          ares_process_fd(channel_, read ? ready.fd : ARES_SOCKET_BAD, write ? ready.fd : ARES_SOCKET_BAD);
        }
      }
      send_waiting();  // answers made room
    }
    schedule_timeout();
  }

  // Sends waiting batches in order while there is room (a batch larger than the limit goes alone).
  void send_waiting() {
    while (!waiting_.empty() && channel_ != nullptr) {
      std::shared_ptr<Batch> batch = waiting_.front();
      if (!batch->completed() && lookups_in_flight_ > 0 &&
          lookups_in_flight_ + batch->questions().size() > max_lookups_in_flight) {
        return;
      }
      waiting_.pop_front();
      if (!batch->completed()) send(batch);  // a completed one timed out while waiting
    }
  }

  void send(const std::shared_ptr<Batch>& batch) {
    for (std::size_t i = 0; i < batch->questions().size(); ++i) {
      const Question& question = batch->questions()[i];
      auto* slot = new Slot{batch, i, this};
      ++lookups_in_flight_;
      if (question.type == QuestionType::mx) {
        ares_query(channel_, question.name.c_str(), dns_class_in, dns_type_mx, &Impl::on_mx_answer, slot);
      } else {
        ares_addrinfo_hints hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_flags = ARES_AI_NOSORT;  // order_addresses orders them; sorting would connect() sockets
        ares_getaddrinfo(channel_, question.name.c_str(), nullptr, &hints, &Impl::on_address_answer, slot);
      }
    }
  }

  void schedule_timeout() {
    if (channel_ == nullptr) return;
    timeval wait{};
    if (ares_timeout(channel_, nullptr, &wait) == nullptr) {
      timer_.cancel();
      return;
    }
    // One millisecond late rather than early: an early wake-up finds nothing due and spins.
    timer_.expires_after(std::chrono::seconds(wait.tv_sec) + std::chrono::microseconds(wait.tv_usec) + 1ms);
    timer_.async_wait(asio::bind_executor(strand, [self = weak_from_this()](const asio::error_code& error) {
      auto impl = self.lock();
      if (!impl || error || impl->channel_ == nullptr) return;
      ares_process_fd(impl->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // expire due questions
      impl->pump();
    }));
  }

  void release_all_sockets() {
    for (auto& [socket, watch] : watches_) watch->descriptor.release();
    watches_.clear();
  }

  ares_channel channel_ = nullptr;
  asio::steady_timer timer_;
  std::map<ares_socket_t, std::shared_ptr<Watch>> watches_;
  std::deque<std::shared_ptr<Batch>> waiting_;  // asked, not yet sent: oldest first
  std::size_t lookups_in_flight_ = 0;            // sent to c-ares, not yet answered by it
  bool abandoning_ = false;
};

namespace {

template <class Token>
auto async_ask(std::weak_ptr<Resolver::Impl> weak, std::vector<Question> questions, Token&& token) {
  return asio::async_initiate<Token, void(std::vector<DnsAnswer>)>(
      [weak](auto handler, std::vector<Question> questions) {
        auto batch = std::make_shared<BatchWith<decltype(handler)>>(std::move(handler), std::move(questions));
        auto impl = weak.lock();
        if (!impl) {
          batch->fail_remaining(shut_down_reason);
          return;
        }
        asio::post(impl->strand, [impl, batch] { impl->ask(batch); });
      },
      token, std::move(questions));
}

std::uint64_t shuffle_seed() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return generator();
}

std::optional<asio::ip::address> address_literal(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  asio::error_code error;
  auto address = asio::ip::make_address(std::string(host), error);
  if (error) return std::nullopt;
  return address;
}

// Free functions, not members: the coroutine must not hold the Resolver, which may die while it waits.
asio::awaitable<MailRoute> look_up_mail_domain(std::weak_ptr<Resolver::Impl> impl, std::string domain) {
  if (auto literal = route_for_domain_literal(domain)) {
    MailRoute route = std::move(*literal);
    co_return route;
  }
  const std::string name = normalize_name(domain);
  // Named, not a braced list in the co_await: GCC 12 cannot keep an initializer_list in a coroutine frame.
  std::vector<Question> mx_question(1, Question{name, QuestionType::mx});
  std::vector<DnsAnswer> mx = co_await async_ask(impl, std::move(mx_question), asio::use_awaitable);
  MailHostPlan plan = plan_mail_hosts(name, mx.at(0), shuffle_seed());
  if (plan.finished) {
    MailRoute route = std::move(plan.route);
    co_return route;
  }
  std::vector<Question> hosts;
  for (const MailHost& host : plan.hosts) hosts.push_back(Question{host.name, QuestionType::addresses});
  std::vector<DnsAnswer> addresses = co_await async_ask(impl, std::move(hosts), asio::use_awaitable);
  MailRoute route = assemble_route(name, plan, addresses);
  co_return route;
}

asio::awaitable<HostAddresses> look_up_host(std::weak_ptr<Resolver::Impl> impl, std::string host) {
  if (auto literal = address_literal(host)) {
    HostAddresses result;
    result.status = LookupStatus::ok;
    result.addresses.push_back(*literal);
    co_return result;
  }
  const std::string name = normalize_name(host);
  std::vector<Question> question(1, Question{name, QuestionType::addresses});
  std::vector<DnsAnswer> answers = co_await async_ask(impl, std::move(question), asio::use_awaitable);
  HostAddresses result = host_addresses_from(name, answers.at(0));
  co_return result;
}

}  // namespace

Resolver::Resolver(asio::any_io_executor executor, const std::string& servers)
    : impl_(std::make_shared<Impl>(std::move(executor), servers)) {}

Resolver::~Resolver() {
  // The shutdown runs on the strand, like every c-ares call; it keeps the Impl alive until then.
  auto strand = impl_->strand;
  asio::post(strand, [impl = std::move(impl_)] { impl->shutdown(); });
}

asio::awaitable<MailRoute> Resolver::resolve_mail_domain(std::string domain) {
  return look_up_mail_domain(impl_, std::move(domain));
}

asio::awaitable<HostAddresses> Resolver::resolve_host(std::string host) {
  return look_up_host(impl_, std::move(host));
}

}  // namespace transport::dns
