// A private Redis for tests: Debian's redis-server on a free loopback port, its files in a temporary
// directory, nothing saved to disk; a child of the test, stopped (SIGTERM, then waited for) at the end.
// stop() and start() again keep the port: "Redis restarted" with its data gone, as without persistence.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

#include "tests/unit/support/free_port.h"
#include "transportd/shared_reputation/redis_connection.h"

namespace transport::test {

class RedisServer {
 public:
  RedisServer() {
    char pattern[] = "/tmp/transportd-redis-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    port_ = free_loopback_port();
    start();
  }
  ~RedisServer() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts the server and waits (up to 10 s) until it answers PING.
  void start() {
    const std::string port = std::to_string(port_);
    const std::string dir = dir_.string();
    const std::string log = (dir_ / "redis.log").string();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", dir.c_str(), "--logfile", log.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
      try {
        shared_reputation::RedisConnection probe(address(), std::chrono::milliseconds(500));
        probe.command({"PING"});
        return;
      } catch (const shared_reputation::RedisError&) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          throw std::runtime_error("redis-server exited at start; see " + log);
        }
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("redis-server did not answer in 10 s");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  int port() const { return port_; }
  shared_reputation::RedisAddress address() const {
    shared_reputation::RedisAddress address;
    address.host = "127.0.0.1";
    address.port = port_;
    return address;
  }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace transport::test
