// ListenerManager: acceptors with an accept-loop coroutine each. When the process runs out of file
// descriptors, a listener pauses briefly instead of spinning on accept (the OpenSMTPD habit).
#include "transportd/connectors/listener_manager.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <sys/socket.h>

#include <set>

#include "transportd/log.h"

namespace transport::connectors {

namespace {
constexpr auto nothrow_awaitable = asio::experimental::as_tuple(asio::use_awaitable);

asio::ip::address to_asio(const store::IpAddress& address) {
  return asio::ip::make_address(address.to_string());
}
}  // namespace

struct ListenerManager::Listener {
  explicit Listener(asio::io_context& io) : acceptor(io), pause(io) {}
  asio::ip::tcp::acceptor acceptor;
  asio::steady_timer pause;
  bool closed = false;
};

ListenerManager::ListenerManager(asio::io_context& io, ConnectionHandler handler)
    : io_(io), handler_(std::move(handler)) {}

ListenerManager::~ListenerManager() = default;

void ListenerManager::reconcile(store::ConfigurationPtr config) {
  asio::post(io_, [this, config = std::move(config)] { reconcile_now(*config); });
}

void ListenerManager::close_all() {
  asio::post(io_, [this] {
    for (auto& [text, listener] : listeners_) {
      listener->closed = true;
      std::error_code ignored;
      listener->acceptor.close(ignored);
      listener->pause.cancel();
    }
    listeners_.clear();
  });
}

std::string ListenerManager::status(const store::Binding& binding) const {
  std::lock_guard lock(status_mutex_);
  auto it = status_.find(binding.to_string());
  return it == status_.end() ? "not listening" : it->second;
}

void ListenerManager::reconcile_now(const store::Configuration& config) {
  std::set<std::string> wanted;
  std::map<std::string, store::Binding> bindings;
  for (const auto& connector : config.connectors) {
    if (!connector.enabled) continue;
    for (const auto& binding : connector.bindings) {
      wanted.insert(binding.to_string());
      bindings.emplace(binding.to_string(), binding);
    }
  }
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    log::info("listener", "closing " + it->first + ": no enabled connector is bound to it");
    it->second->closed = true;
    std::error_code ignored;
    it->second->acceptor.close(ignored);
    it->second->pause.cancel();
    {
      std::lock_guard lock(status_mutex_);
      status_.erase(it->first);
    }
    it = listeners_.erase(it);
  }
  for (const auto& [text, binding] : bindings) {
    if (!listeners_.count(text)) open(binding);
  }
  // A Binding that failed before is retried at each change: the port may have been freed since.
  std::lock_guard lock(status_mutex_);
  for (auto it = status_.begin(); it != status_.end();) {
    it = wanted.count(it->first) ? std::next(it) : status_.erase(it);
  }
}

void ListenerManager::open(const store::Binding& binding) {
  const std::string text = binding.to_string();
  auto listener = std::make_shared<Listener>(io_);
  std::error_code ec;
  asio::ip::tcp::endpoint endpoint(to_asio(binding.address), binding.port);
  listener->acceptor.open(endpoint.protocol(), ec);
  if (!ec) listener->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) {
    // SO_REUSEPORT lets a specific-IP listener coexist with a wildcard one on the same port; the
    // kernel hands each connection to the most specific socket, and selection decides the connector.
    int one = 1;
    if (::setsockopt(listener->acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      ec = std::error_code(errno, std::system_category());
    }
  }
  if (!ec && endpoint.protocol() == asio::ip::tcp::v6()) listener->acceptor.set_option(asio::ip::v6_only(true), ec);
  if (!ec) listener->acceptor.bind(endpoint, ec);
  if (!ec) listener->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  std::lock_guard lock(status_mutex_);
  if (ec) {
    log::error("listener", "cannot listen on " + text + ": " + ec.message());
    status_[text] = "failed: " + ec.message();
    return;
  }
  status_[text] = "listening";
  listeners_.emplace(text, listener);
  log::info("listener", "listening on " + text);

  asio::co_spawn(
      io_,
      [listener, handler = handler_, text]() -> asio::awaitable<void> {
        while (!listener->closed) {
          auto [ec, socket] = co_await listener->acceptor.async_accept(nothrow_awaitable);
          if (listener->closed || ec == asio::error::operation_aborted) break;
          if (ec == asio::error::no_descriptors || ec.value() == ENFILE || ec == asio::error::no_buffer_space) {
            // Out of file descriptors: let sessions finish before accepting again.
            log::warn("listener", "accept on " + text + " paused for 100 ms: " + ec.message());
            listener->pause.expires_after(std::chrono::milliseconds(100));
            co_await listener->pause.async_wait(nothrow_awaitable);
            continue;
          }
          if (ec) continue;  // the client went away between SYN and accept
          handler(std::move(socket));
        }
      },
      asio::detached);
}

}  // namespace transport::connectors
