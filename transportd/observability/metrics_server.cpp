// MetricsServer: accept loop and per-connection coroutine for /metrics and /healthz. A connection is
// read until the end of its header block (8 KiB at most, 5 s at most), answered once, and closed.
#include "transportd/observability/metrics_server.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "transportd/log.h"

namespace transport::observability {

namespace {

using asio::ip::tcp;

constexpr auto nothrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxRequest = 8 * 1024;            // request line and headers; GET has no body
constexpr auto kRequestTimeout = std::chrono::seconds(5);  // the whole exchange, write included
constexpr int kMaxConnections = 64;                       // a scraper needs one; the rest is abuse

tcp::endpoint parse_listen(const std::string& listen) {
  const auto fail = [&]() -> tcp::endpoint {
    throw std::runtime_error("metrics: bad listen address \"" + listen +
                             "\": expected IPv4:PORT or [IPv6]:PORT, e.g. 127.0.0.1:9125");
  };
  std::string_view host;
  std::string_view port_text;
  if (listen.starts_with('[')) {
    const std::size_t close = listen.find("]:");
    if (close == std::string::npos) return fail();
    host = std::string_view(listen).substr(1, close - 1);
    port_text = std::string_view(listen).substr(close + 2);
  } else {
    const std::size_t colon = listen.rfind(':');
    if (colon == std::string::npos || listen.find(':') != colon) return fail();
    host = std::string_view(listen).substr(0, colon);
    port_text = std::string_view(listen).substr(colon + 1);
  }
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port_text.empty() || port > 65535) {
    return fail();
  }
  std::error_code address_ec;
  const asio::ip::address address = asio::ip::make_address(std::string(host), address_ec);
  if (address_ec) return fail();
  if (listen.starts_with('[') != address.is_v6()) return fail();
  return tcp::endpoint(address, static_cast<std::uint16_t>(port));
}

struct Response {
  int status;
  std::string_view reason;
  std::string_view content_type;
  std::string body;
};

Response text_response(int status, std::string_view reason, std::string body) {
  return {status, reason, "text/plain; charset=utf-8", std::move(body)};
}

}  // namespace

struct MetricsServer::State {
  State(asio::io_context& io, std::function<bool()> healthy, std::function<std::string()> detail, const Metrics& metrics)
      : io(io),
        strand(asio::make_strand(io)),
        acceptor(strand),
        healthy(std::move(healthy)),
        detail(std::move(detail)),
        metrics(metrics) {}

  asio::io_context& io;
  asio::strand<asio::io_context::executor_type> strand;  // the acceptor's
  tcp::acceptor acceptor;
  std::function<bool()> healthy;
  std::function<std::string()> detail;  // lines after "ok" / "unhealthy"; may be empty
  const Metrics& metrics;
  std::uint16_t port = 0;
  bool stopped = false;  // on the strand
  std::atomic<int> connections{0};

  Response answer(std::string_view request) const {
    const std::size_t line_end = request.find_first_of("\r\n");
    const std::string_view line = request.substr(0, line_end);
    const std::size_t first_space = line.find(' ');
    const std::size_t second_space = line.find(' ', first_space == std::string_view::npos ? 0 : first_space + 1);
    if (first_space == std::string_view::npos || second_space == std::string_view::npos ||
        !line.substr(second_space + 1).starts_with("HTTP/1.")) {
      return text_response(400, "Bad Request", "bad request\n");
    }
    const std::string_view method = line.substr(0, first_space);
    std::string_view path = line.substr(first_space + 1, second_space - first_space - 1);
    path = path.substr(0, path.find('?'));
    if (path != "/metrics" && path != "/healthz") return text_response(404, "Not Found", "not found\n");
    if (method != "GET" && method != "HEAD") return text_response(405, "Method Not Allowed", "method not allowed\n");
    if (path == "/metrics") return {200, "OK", "text/plain; version=0.0.4; charset=utf-8", metrics.render()};
    bool ok = false;
    std::string more;
    try {
      ok = healthy();
      if (detail) more = detail();
    } catch (const std::exception& e) {
      ok = false;
      log::error("metrics", std::string("health check failed: ") + e.what());
    }
    return ok ? text_response(200, "OK", "ok\n" + more) : text_response(503, "Service Unavailable", "unhealthy\n" + more);
  }

  // One request, one response, then close. The timer closes the socket when the 5 s are up, which
  // ends whatever read or write is pending.
  static asio::awaitable<void> serve(std::shared_ptr<State> state, std::shared_ptr<tcp::socket> socket) {
    struct Slot {
      std::atomic<int>& count;
      ~Slot() { count.fetch_sub(1); }
    } slot{state->connections};
    asio::steady_timer deadline(socket->get_executor());
    deadline.expires_after(kRequestTimeout);
    deadline.async_wait([socket](std::error_code ec) {
      std::error_code ignored;
      if (!ec) socket->close(ignored);
    });

    std::string request;
    std::optional<Response> response;
    for (;;) {
      const std::size_t have = request.size();
      request.resize(kMaxRequest + 1);
      auto [ec, n] = co_await socket->async_read_some(asio::buffer(request.data() + have, request.size() - have), nothrow);
      request.resize(have + n);
      if (ec) break;  // hang-up or timeout: nobody to answer
      const std::size_t end = request.find("\r\n\r\n");
      if (end != std::string::npos || request.find("\n\n") != std::string::npos) {
        response = state->answer(request);
        break;
      }
      if (request.size() > kMaxRequest) {
        response = text_response(431, "Request Header Fields Too Large", "request too large\n");
        break;
      }
    }
    if (response) {
      const bool head = request.starts_with("HEAD ");
      std::string out = "HTTP/1.1 " + std::to_string(response->status) + " " + std::string(response->reason) +
                        "\r\nContent-Type: " + std::string(response->content_type) +
                        "\r\nContent-Length: " + std::to_string(response->body.size()) +
                        "\r\nConnection: close\r\n\r\n";
      if (!head) out += response->body;
      co_await asio::async_write(*socket, asio::buffer(out), nothrow);
    }
    deadline.cancel();
    std::error_code ignored;
    socket->shutdown(tcp::socket::shutdown_both, ignored);
    socket->close(ignored);
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<State> state) {
    asio::steady_timer pause(state->strand);
    for (;;) {
      // Each connection gets its own strand: its coroutine and its deadline timer run there.
      auto [ec, socket] = co_await state->acceptor.async_accept(asio::make_strand(state->io), nothrow);
      if (state->stopped || ec == asio::error::operation_aborted) co_return;
      if (ec == asio::error::no_descriptors || ec.value() == ENFILE || ec == asio::error::no_buffer_space) {
        pause.expires_after(std::chrono::milliseconds(100));
        co_await pause.async_wait(nothrow);
        continue;
      }
      if (ec) continue;
      if (state->connections.fetch_add(1) >= kMaxConnections) {
        state->connections.fetch_sub(1);
        continue;  // the socket closes as it goes out of scope
      }
      auto connection = std::make_shared<tcp::socket>(std::move(socket));
      const auto executor = connection->get_executor();
      asio::co_spawn(executor, serve(state, std::move(connection)), asio::detached);
    }
  }
};

MetricsServer::MetricsServer(asio::io_context& io, const std::string& listen, std::function<bool()> healthy,
                             const Metrics& metrics)
    : MetricsServer(io, listen, std::move(healthy), {}, metrics) {}

MetricsServer::MetricsServer(asio::io_context& io, const std::string& listen, std::function<bool()> healthy,
                             std::function<std::string()> detail, const Metrics& metrics)
    : state_(std::make_shared<State>(io, std::move(healthy), std::move(detail), metrics)) {
  const tcp::endpoint endpoint = parse_listen(listen);
  std::error_code ec;
  state_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) state_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && endpoint.protocol() == tcp::v6()) state_->acceptor.set_option(asio::ip::v6_only(true), ec);
  if (!ec) state_->acceptor.bind(endpoint, ec);
  if (!ec) state_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) state_->port = state_->acceptor.local_endpoint(ec).port();
  if (ec) throw std::runtime_error("metrics: cannot listen on " + listen + ": " + ec.message());

  if (!endpoint.address().is_loopback()) {
    log::warn("metrics", "serving /metrics and /healthz on " + listen +
                             ", which is not a loopback address: anyone who can reach it can read the counters");
  }
  log::info("metrics", "serving /metrics and /healthz on http://" + listen.substr(0, listen.rfind(':') + 1) +
                           std::to_string(state_->port));
  asio::co_spawn(state_->strand, State::accept_loop(state_), asio::detached);
}

MetricsServer::~MetricsServer() { stop(); }

std::uint16_t MetricsServer::port() const { return state_->port; }

void MetricsServer::stop() {
  asio::post(state_->strand, [state = state_] {
    state->stopped = true;
    std::error_code ignored;
    state->acceptor.close(ignored);
  });
}

}  // namespace transport::observability
