// MetricsServer over real loopback HTTP: /metrics, the /healthz switch, 404/405, the request cap and
// the read timeout, bind failures and address parsing.
#include <gtest/gtest.h>

#include <asio/connect.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "transportd/observability/metrics.h"
#include "transportd/observability/metrics_server.h"

namespace {

using asio::ip::tcp;
using transport::observability::Metrics;
using transport::observability::MetricsServer;

// An io_context running on its own thread for the server under test.
class ServerThread {
 public:
  ServerThread() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~ServerThread() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  asio::io_context& io() { return io_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

// Sends `request` (as is) and returns everything the server sends until it closes; a reset counts as
// the end. Blocking client with its own io_context.
std::string http_exchange(std::uint16_t port, const std::string& request, const char* host = "127.0.0.1") {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address(host), port));
  std::error_code ec;
  asio::write(socket, asio::buffer(request), ec);
  std::string response;
  char buffer[4096];
  for (;;) {
    const std::size_t n = socket.read_some(asio::buffer(buffer), ec);
    response.append(buffer, n);
    if (ec) break;
  }
  return response;
}

std::string get(std::uint16_t port, const std::string& path) {
  return http_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n");
}

std::string body_of(const std::string& response) {
  const std::size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

TEST(MetricsServer, ServesMetricsInPrometheusTextFormat) {
  ServerThread server_thread;
  Metrics metrics;
  auto& replies = metrics.counter("transportd_replies_total", "SMTP replies sent", {{"connector", "Default"}, {"class", "5xx"}});
  MetricsServer server(server_thread.io(), "127.0.0.1:0", [] { return true; }, metrics);
  ASSERT_NE(server.port(), 0);

  replies += 41;
  std::string response = get(server.port(), "/metrics");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 200 OK\r\n")) << response;
  EXPECT_NE(response.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(response.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_EQ(body_of(response), metrics.render());
  EXPECT_NE(response.find("\r\nContent-Length: " + std::to_string(metrics.render().size()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(body_of(response).find("transportd_replies_total{class=\"5xx\",connector=\"Default\"} 41\n"),
            std::string::npos);

  ++replies;
  EXPECT_NE(get(server.port(), "/metrics?x=1").find("connector=\"Default\"} 42\n"), std::string::npos);
}

TEST(MetricsServer, HealthzFollowsTheCallback) {
  ServerThread server_thread;
  Metrics metrics;
  std::atomic<bool> healthy{true};
  MetricsServer server(server_thread.io(), "127.0.0.1:0", [&] { return healthy.load(); }, metrics);

  std::string response = get(server.port(), "/healthz");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 200 OK\r\n")) << response;
  EXPECT_EQ(body_of(response), "ok\n");

  healthy = false;
  response = get(server.port(), "/healthz");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 503 Service Unavailable\r\n")) << response;
  EXPECT_EQ(body_of(response), "unhealthy\n");

  healthy = true;
  EXPECT_TRUE(get(server.port(), "/healthz").starts_with("HTTP/1.1 200 "));
}

TEST(MetricsServer, AThrowingHealthCheckIsUnhealthy) {
  ServerThread server_thread;
  Metrics metrics;
  MetricsServer server(server_thread.io(), "127.0.0.1:0", []() -> bool { throw std::runtime_error("boom"); }, metrics);
  EXPECT_TRUE(get(server.port(), "/healthz").starts_with("HTTP/1.1 503 "));
}

TEST(MetricsServer, OtherPathsMethodsAndGarbage) {
  ServerThread server_thread;
  Metrics metrics;
  MetricsServer server(server_thread.io(), "127.0.0.1:0", [] { return true; }, metrics);

  EXPECT_TRUE(get(server.port(), "/").starts_with("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_TRUE(get(server.port(), "/metricsx").starts_with("HTTP/1.1 404 "));
  EXPECT_TRUE(http_exchange(server.port(), "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
                  .starts_with("HTTP/1.1 405 "));
  EXPECT_TRUE(http_exchange(server.port(), "hello\r\n\r\n").starts_with("HTTP/1.1 400 "));

  // HEAD: the headers of GET, no body.
  const std::string head = http_exchange(server.port(), "HEAD /healthz HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  EXPECT_NE(head.find("Content-Length: 3\r\n"), std::string::npos);
  EXPECT_EQ(body_of(head), "");
}

TEST(MetricsServer, OversizedRequestIsClosedWithoutAnAnswer200) {
  ServerThread server_thread;
  Metrics metrics;
  MetricsServer server(server_thread.io(), "127.0.0.1:0", [] { return true; }, metrics);

  const std::string huge = "GET /metrics HTTP/1.1\r\nX-Padding: " + std::string(16 * 1024, 'a') + "\r\n\r\n";
  const auto started = std::chrono::steady_clock::now();
  const std::string response = http_exchange(server.port(), huge);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  // Either the 431 arrives before the close, or the close resets it away: never a 200.
  EXPECT_TRUE(response.empty() || response.starts_with("HTTP/1.1 431 ")) << response.substr(0, 200);

  // The server still serves afterwards.
  EXPECT_TRUE(get(server.port(), "/healthz").starts_with("HTTP/1.1 200 "));
}

TEST(MetricsServer, SilentClientIsDroppedAfterTheReadTimeout) {
  ServerThread server_thread;
  Metrics metrics;
  MetricsServer server(server_thread.io(), "127.0.0.1:0", [] { return true; }, metrics);

  const auto started = std::chrono::steady_clock::now();
  const std::string response = http_exchange(server.port(), "GET /metrics HTTP/1.1\r\n");  // never finishes
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(response, "");
  EXPECT_GE(waited, std::chrono::milliseconds(4900));
  EXPECT_LT(waited, std::chrono::seconds(8));
}

TEST(MetricsServer, ServesIpv6Loopback) {
  ServerThread server_thread;
  Metrics metrics;
  std::unique_ptr<MetricsServer> server;
  try {
    server = std::make_unique<MetricsServer>(server_thread.io(), "[::1]:0", [] { return true; }, metrics);
  } catch (const std::runtime_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  EXPECT_TRUE(http_exchange(server->port(), "GET /healthz HTTP/1.1\r\n\r\n", "::1").starts_with("HTTP/1.1 200 "));
}

TEST(MetricsServer, ThrowsNamingTheAddressWhenItCannotBind) {
  ServerThread server_thread;
  Metrics metrics;
  MetricsServer first(server_thread.io(), "127.0.0.1:0", [] { return true; }, metrics);
  const std::string taken = "127.0.0.1:" + std::to_string(first.port());
  try {
    MetricsServer second(server_thread.io(), taken, [] { return true; }, metrics);
    FAIL() << "bound a port that is in use";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(taken), std::string::npos) << e.what();
  }
}

TEST(MetricsServer, RejectsMalformedListenAddresses) {
  ServerThread server_thread;
  Metrics metrics;
  for (const char* bad : {"", "9125", "localhost:9125", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
                          "127.0.0.1:91x", "::1:9125", "[127.0.0.1]:9125", "[::1]9125"}) {
    try {
      MetricsServer server(server_thread.io(), bad, [] { return true; }, metrics);
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("\"") + bad + "\""), std::string::npos) << e.what();
    }
  }
}

TEST(MetricsServer, StopClosesTheListener) {
  ServerThread server_thread;
  Metrics metrics;
  MetricsServer server(server_thread.io(), "127.0.0.1:0", [] { return true; }, metrics);
  const std::uint16_t port = server.port();
  server.stop();
  server.stop();  // idempotent
  // The close is posted to the server's strand; give it a moment.
  bool refused = false;
  for (int i = 0; i < 50 && !refused; ++i) {
    asio::io_context io;
    tcp::socket socket(io);
    std::error_code ec;
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    refused = ec == asio::error::connection_refused;
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(refused);
}

}  // namespace
