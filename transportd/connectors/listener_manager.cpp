// ListenerManager: acceptors with an accept-loop coroutine each. When descriptors run short a listener
// refuses and pauses instead of spinning on accept (the OpenSMTPD habit), and says so at most once
// every ten seconds.
#include "transportd/connectors/listener_manager.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <sys/resource.h>

#include <limits>

#include "transportd/connectors/listen_plan.h"
#include "transportd/log.h"
#include "transportd/log_throttle.h"

namespace transport::connectors {

namespace {
constexpr auto nothrow_awaitable = asio::experimental::as_tuple(asio::use_awaitable);
constexpr auto kPause = std::chrono::milliseconds(100);
constexpr auto kRetryInterval = std::chrono::seconds(5);
constexpr auto kWarningInterval = std::chrono::seconds(10);

asio::ip::address to_asio(const store::IpAddress& address) {
  return asio::ip::make_address(address.to_string());
}

std::uint64_t current_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return std::numeric_limits<int>::max();
  }
  return limit.rlim_cur;
}

// Our own sockets never collide (ListenPlan), so a Binding in use is held by another process.
std::string describe(const std::error_code& ec) {
  return "failed: " + ec.message() + (ec == asio::error::address_in_use ? " by another process" : "");
}

// A connection the reserve cannot afford: one line, written without waiting, then closed.
void refuse_at_once(asio::ip::tcp::socket& socket) {
  static constexpr std::string_view kReply = "421 4.3.2 Too busy, try again later\r\n";
  std::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(kReply), ignored);
  socket.close(ignored);
}
}  // namespace

struct ListenerManager::Listener {
  explicit Listener(const asio::strand<asio::io_context::executor_type>& strand) : acceptor(strand), pause(strand) {}
  asio::ip::tcp::acceptor acceptor;
  asio::steady_timer pause;
  bool closed = false;

  void close() {
    closed = true;
    std::error_code ignored;
    acceptor.close(ignored);
    pause.cancel();
  }
};

ListenerManager::ListenerManager(asio::io_context& io, ConnectionHandler handler)
    : handler_(std::move(handler)),
      open_file_limit_(current_open_file_limit()),
      strand_(asio::make_strand(io)),
      retry_timer_(strand_) {}

ListenerManager::~ListenerManager() = default;

void ListenerManager::reconcile(store::ConfigurationPtr config) {
  asio::post(strand_, [this, config = std::move(config)] {
    if (!closed_) reconcile_now(*config);
  });
}

void ListenerManager::close_all() {
  asio::post(strand_, [this] {
    closed_ = true;
    retry_timer_.cancel();
    for (auto& [text, listener] : listeners_) listener->close();
    listeners_.clear();
    failed_.clear();
  });
}

std::string ListenerManager::status(const store::Binding& binding) const {
  std::lock_guard lock(status_mutex_);
  auto socket = served_by_.find(binding.to_string());
  if (socket == served_by_.end()) return "not listening";
  auto it = status_.find(socket->second);
  return it == status_.end() ? "not listening" : it->second;
}

void ListenerManager::reconcile_now(const store::Configuration& config) {
  const ListenPlan plan = plan_listeners(config);
  // Close first: a wildcard socket replacing specific-IP ones can only bind once they are gone.
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (plan.sockets.count(it->first)) {
      ++it;
      continue;
    }
    auto wildcard = plan.served_by.find(it->first);
    log::info("listener", "closing " + it->first +
                              (wildcard == plan.served_by.end()
                                   ? ": no enabled connector is bound to it"
                                   : ": its connections arrive on " + wildcard->second + " now"));
    it->second->close();
    it = listeners_.erase(it);
  }
  for (auto it = failed_.begin(); it != failed_.end();) {
    it = plan.sockets.count(it->first) ? std::next(it) : failed_.erase(it);
  }
  {
    std::lock_guard lock(status_mutex_);
    served_by_ = plan.served_by;
    for (auto it = status_.begin(); it != status_.end();) {
      it = plan.sockets.count(it->first) ? std::next(it) : status_.erase(it);
    }
  }
  // A socket that failed before is tried again now too: the port may have been freed since.
  for (const auto& [text, binding] : plan.sockets) {
    if (!listeners_.count(text)) open(text, binding);
  }
  if (!failed_.empty()) schedule_retry();
}

void ListenerManager::schedule_retry() {
  if (retry_scheduled_) return;
  retry_scheduled_ = true;
  retry_timer_.expires_after(kRetryInterval);
  retry_timer_.async_wait([this](std::error_code ec) {
    retry_scheduled_ = false;
    if (ec || closed_) return;
    const std::map<std::string, store::Binding> failed = failed_;
    for (const auto& [text, binding] : failed) {
      if (!listeners_.count(text)) open(text, binding);
    }
    if (!failed_.empty()) schedule_retry();
  });
}

void ListenerManager::open(const std::string& text, const store::Binding& binding) {
  auto listener = std::make_shared<Listener>(strand_);
  std::error_code ec;
  asio::ip::tcp::endpoint endpoint(to_asio(binding.address), binding.port);
  listener->acceptor.open(endpoint.protocol(), ec);
  // SO_REUSEADDR only: a restart may bind while old connections sit in TIME_WAIT. Never SO_REUSEPORT.
  if (!ec) listener->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && endpoint.protocol() == asio::ip::tcp::v6()) listener->acceptor.set_option(asio::ip::v6_only(true), ec);
  if (!ec) listener->acceptor.bind(endpoint, ec);
  if (!ec) listener->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    const std::string state = describe(ec);
    std::lock_guard lock(status_mutex_);
    auto [it, first] = status_.try_emplace(text, state);
    if (first || it->second != state) log::error("listener", "cannot listen on " + text + ": " + state);
    it->second = state;
    failed_.insert_or_assign(text, binding);
    return;
  }
  failed_.erase(text);
  {
    std::lock_guard lock(status_mutex_);
    status_[text] = "listening";
  }
  listeners_.emplace(text, listener);
  log::info("listener", "listening on " + text);

  const std::uint64_t limit = open_file_limit_;
  const std::uint64_t reserve = descriptor_reserve(limit);
  asio::co_spawn(
      strand_,
      [listener, handler = handler_, text, limit, reserve,
       io = asio::any_io_executor(strand_.get_inner_executor())]() -> asio::awaitable<void> {
        log::LogThrottle throttle(kWarningInterval);
        while (!listener->closed) {
          // The session's socket belongs to the io_context, not to this strand: sessions run in parallel.
          auto [ec, socket] = co_await listener->acceptor.async_accept(io, nothrow_awaitable);
          if (listener->closed || ec == asio::error::operation_aborted) break;
          std::string pause_reason;
          if (ec == asio::error::no_descriptors || ec.value() == ENFILE || ec == asio::error::no_buffer_space ||
              ec == asio::error::no_memory) {
            pause_reason = "accept on " + text + " failed: " + ec.message();
          } else if (ec) {
            continue;  // the client went away between SYN and accept
          } else if (takes_from_reserve(socket.native_handle(), limit, reserve)) {
            refuse_at_once(socket);
            pause_reason = "refusing connections on " + text + ": fewer than " + std::to_string(reserve) + " of " +
                           std::to_string(limit) + " file descriptors free (kept for the admin API and deliveries)";
          } else {
            handler(std::move(socket));
            continue;
          }
          // Let sessions finish before accepting again.
          if (throttle.admit(log::LogThrottle::Clock::now())) {
            log::warn("listener", pause_reason + "; pausing " + std::to_string(kPause.count()) + " ms" +
                                      throttle.held_back_note());
          }
          listener->pause.expires_after(kPause);
          co_await listener->pause.async_wait(nothrow_awaitable);
        }
      },
      asio::detached);
}

}  // namespace transport::connectors
