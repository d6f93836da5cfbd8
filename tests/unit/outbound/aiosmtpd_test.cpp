// SmtpConnection against a real SMTP server it was not written with: Python's aiosmtpd from Debian
// (/usr/bin/python3: the python3 on PATH is another interpreter without Debian's packages), started by
// the fixture on a free loopback port with a handler that writes each message it receives to a file.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "scripted_server.h"

extern char** environ;

namespace transport::outbound::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// aiosmtpd's handler: the envelope and the content exactly as received (dot-unstuffed, CRLF kept).
constexpr const char* kCaptureHandler = R"(import os

class Capture:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    @classmethod
    def from_cli(cls, parser, *args):
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        path = os.path.join(self.directory, "message-%d" % self.count)
        with open(path + ".tmp", "wb") as out:
            out.write(("MAIL FROM:%s\n" % envelope.mail_from).encode())
            out.write(("MAIL OPTIONS:%s\n" % " ".join(envelope.mail_options)).encode())
            for rcpt in envelope.rcpt_tos:
                out.write(("RCPT TO:%s\n" % rcpt).encode())
            out.write(b"\n")
            out.write(envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 Captured as message-%d" % self.count
)";

class OutboundAiosmtpd : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists("/usr/bin/python3")) << "Debian's python3 is needed (scripts/deps)";
    std::string pattern = (fs::temp_directory_path() / "outbound_aiosmtpd_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    fs::create_directory(dir_ / "messages");
    { std::ofstream(dir_ / "capture_handler.py") << kCaptureHandler; }

    // A port free a moment ago (aiosmtpd does not report one it chose itself).
    {
      asio::io_context probe_io;
      tcp::acceptor probe(probe_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
      port_ = probe.local_endpoint().port();
    }
    const std::string listen = "127.0.0.1:" + std::to_string(port_);
    const std::string messages = (dir_ / "messages").string();
    std::vector<std::string> arguments = {"/usr/bin/python3", "-m", "aiosmtpd", "-n", "-s", "10000000", "-l", listen,
                                          "-c", "capture_handler.Capture", messages};
    std::vector<std::string> environment = {"PYTHONPATH=" + dir_.string(), "PYTHONDONTWRITEBYTECODE=1"};
    for (char** variable = environ; *variable; ++variable) {
      if (!std::string_view(*variable).starts_with("PYTHON")) environment.emplace_back(*variable);
    }
    std::vector<char*> argv, envp;
    for (std::string& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    for (std::string& variable : environment) envp.push_back(variable.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = (dir_ / "aiosmtpd.log").string();
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ASSERT_EQ(spawned, 0) << std::strerror(spawned);

    // Ready when it accepts a connection; given up on after 15 s or when it exits.
    const auto deadline = Clock::now() + std::chrono::seconds(15);
    for (;;) {
      asio::io_context io;
      tcp::socket socket(io);
      std::error_code error;
      socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), error);
      if (!error) break;
      int status = 0;
      ASSERT_EQ(::waitpid(pid_, &status, WNOHANG), 0) << "aiosmtpd exited: " << server_log();
      ASSERT_LT(Clock::now(), deadline) << "aiosmtpd did not listen within 15 s: " << server_log();
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      const auto deadline = Clock::now() + std::chrono::seconds(5);
      int status = 0;
      while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (Clock::now() >= deadline) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, &status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::string server_log() const { return read_file(dir_ / "aiosmtpd.log"); }

  static std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  fs::path dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(OutboundAiosmtpd, ReceivesTheMessageAsStored) {
  const std::string stored =
      "From: alice@example.test\nTo: bob@example.net\nSubject: relay test\n\n"
      ".a line that starts with a dot\n..two dots\n.\nGr\xc3\xbc\xc3\x9f" "e\nlast line\n";
  OutboundEnvelope envelope = envelope_for({"bob@example.net", "carol@example.net"});
  envelope.eight_bit = true;
  envelope.size = stored.size();

  asio::io_context io;
  auto client_tls = make_client_tls_context();
  MessageResult result;
  SmtpReply failure;
  bool opened = false;
  Capabilities capabilities;
  run_client(io, [&]() -> asio::awaitable<void> {
    Endpoint endpoint{"localhost", asio::ip::make_address("127.0.0.1"), port_};
    auto connection = co_await SmtpConnection::open(io.get_executor(), endpoint, quick_options(), client_tls, failure);
    opened = connection != nullptr;
    if (!connection) co_return;
    capabilities = connection->capabilities();
    StringContent content(stored);
    result = co_await connection->send(envelope, content);
    co_await connection->quit();
  });
  ASSERT_TRUE(opened) << failure.to_string() << "\n" << server_log();
  EXPECT_TRUE(capabilities.eight_bit_mime);
  EXPECT_TRUE(capabilities.size);
  ASSERT_EQ(result.recipients.size(), 2u);
  for (const SmtpReply& reply : result.recipients) EXPECT_EQ(reply.to_string(), "250 2.0.0 Captured as message-1");
  EXPECT_TRUE(result.connection_usable);

  std::string expected_content;
  for (char c : stored) {
    if (c == '\n') expected_content += '\r';
    expected_content += c;
  }
  const std::string expected = "MAIL FROM:alice@example.test\nMAIL OPTIONS:SIZE=" + std::to_string(stored.size()) +
                               " BODY=8BITMIME\nRCPT TO:bob@example.net\nRCPT TO:carol@example.net\n\n" +
                               expected_content;
  EXPECT_EQ(read_file(dir_ / "messages" / "message-1"), expected) << server_log();
}

}  // namespace
}  // namespace transport::outbound::testing
