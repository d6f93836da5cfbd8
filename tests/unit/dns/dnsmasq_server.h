// DnsmasqServer: a real DNS server (dnsmasq, from Debian's dnsmasq-base) on a free loopback port,
// serving only the records the test gives it, for the Resolver's tests. Started and found answering
// before the constructor returns; stopped (SIGTERM, reaped) by the destructor.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace transport::dns::test {

// A UDP socket bound to 127.0.0.1 on a port the kernel picked; closed by the destructor.
class UdpSocket {
 public:
  UdpSocket() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("cannot bind a UDP socket on 127.0.0.1");
    }
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~UdpSocket() { ::close(fd_); }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  int fd() const { return fd_; }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

class DnsmasqServer {
 public:
  // `records`: dnsmasq options such as "--mx-host=a.test,mx.a.test,10". Every name under .test that
  // they do not define is NXDOMAIN (--local=/test/); "ready.test" is added as the readiness probe.
  explicit DnsmasqServer(const std::vector<std::string>& records) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (start(records)) return;
    }
    throw std::runtime_error("dnsmasq did not start (is dnsmasq-base installed?); its last words: " + log());
  }
  ~DnsmasqServer() {
    stop();
    if (!log_path_.empty()) ::unlink(log_path_.c_str());
  }
  DnsmasqServer(const DnsmasqServer&) = delete;
  DnsmasqServer& operator=(const DnsmasqServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string servers() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  bool start(const std::vector<std::string>& records) {
    if (!log_path_.empty()) ::unlink(log_path_.c_str());  // an earlier attempt's
    {
      UdpSocket probe;  // a port free now; dnsmasq fails cleanly (and we retry) if it is taken by then
      port_ = probe.port();
    }
    log_path_ = "/tmp/dnsmasq-test-" + std::to_string(::getpid()) + "-" + std::to_string(port_) + ".log";
    std::vector<std::string> arguments{"dnsmasq",
                                       "--no-daemon",
                                       "--conf-file=/dev/null",
                                       "--no-resolv",
                                       "--no-hosts",
                                       "--pid-file=",
                                       "--listen-address=127.0.0.1",
                                       "--bind-interfaces",
                                       "--port=" + std::to_string(port_),
                                       "--local=/test/",
                                       "--host-record=ready.test,127.0.0.1"};
    arguments.insert(arguments.end(), records.begin(), records.end());
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const char* program = ::access("/usr/sbin/dnsmasq", X_OK) == 0 ? "/usr/sbin/dnsmasq" : "dnsmasq";
    int spawned = posix_spawnp(&pid_, program, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
      pid_ = -1;
      return false;
    }
    if (wait_until_answering()) return true;
    stop();
    return false;
  }

  // Sends a query for ready.test every 50 ms until an answer comes back or dnsmasq exits.
  bool wait_until_answering() {
    UdpSocket client;
    sockaddr_in server{};
    server.sin_family = AF_INET;
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    server.sin_port = htons(port_);
    const unsigned char query[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,  // id, RD, one question
                                   5, 'r', 'e', 'a', 'd', 'y', 4, 't', 'e', 's', 't', 0,  // ready.test
                                   0, 1, 0, 1};                                          // A, IN
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;  // exited: port taken, bad option
        return false;
      }
      ::sendto(client.fd(), query, sizeof query, 0, reinterpret_cast<sockaddr*>(&server), sizeof server);
      pollfd ready{client.fd(), POLLIN, 0};
      if (::poll(&ready, 1, 50) == 1 && (ready.revents & POLLIN) != 0) {
        unsigned char answer[512];
        if (::recv(client.fd(), answer, sizeof answer, 0) >= 2 && answer[0] == 0x12 && answer[1] == 0x34) {
          return true;
        }
      }
    }
    return false;
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  std::string log() const {
    std::ifstream file(log_path_);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }

  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string log_path_;
};

}  // namespace transport::dns::test
