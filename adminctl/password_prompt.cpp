// adminctl: the --password-prompt terminal dialogue. Echo is turned off with termios and restored
// afterwards, also when the user presses Ctrl-C.
#include "adminctl/password_prompt.h"

#include <fcntl.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <string_view>

#include "adminctl/usage_error.h"

namespace adminctl {

namespace {

int g_tty = -1;
struct termios g_saved;

void restore_and_reraise(int signal_number) {
  tcsetattr(g_tty, TCSAFLUSH, &g_saved);
  std::signal(signal_number, SIG_DFL);
  raise(signal_number);
}

void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t written = write(fd, text.data(), text.size());
    if (written <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(written));
  }
}

// One line from the terminal without echo; the newline itself is echoed (ECHONL).
std::string read_hidden_line(int tty, std::string_view prompt) {
  write_all(tty, prompt);
  struct termios quiet = g_saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  tcsetattr(tty, TCSAFLUSH, &quiet);
  std::string line;
  char c = 0;
  ssize_t got = 0;
  while ((got = read(tty, &c, 1)) == 1 && c != '\n') line += c;
  tcsetattr(tty, TCSAFLUSH, &g_saved);
  if (got != 1) {
    write_all(tty, "\n");
    throw UsageError("--password-prompt: no password entered");
  }
  return line;
}

// Owns /dev/tty for the dialogue: restores the signal handlers and closes it on every exit path.
class Terminal {
 public:
  Terminal() {
    g_tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (g_tty < 0) throw UsageError("--password-prompt needs a terminal; use --password-stdin instead");
    if (tcgetattr(g_tty, &g_saved) != 0) {
      close(g_tty);
      throw UsageError("--password-prompt needs a terminal; use --password-stdin instead");
    }
    previous_int_ = std::signal(SIGINT, restore_and_reraise);
    previous_term_ = std::signal(SIGTERM, restore_and_reraise);
    previous_quit_ = std::signal(SIGQUIT, restore_and_reraise);
  }
  ~Terminal() {
    std::signal(SIGINT, previous_int_);
    std::signal(SIGTERM, previous_term_);
    std::signal(SIGQUIT, previous_quit_);
    close(g_tty);
    g_tty = -1;
  }
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;
  int fd() const { return g_tty; }

 private:
  void (*previous_int_)(int) = SIG_DFL;
  void (*previous_term_)(int) = SIG_DFL;
  void (*previous_quit_)(int) = SIG_DFL;
};

}  // namespace

std::string prompt_new_password() {
  const Terminal terminal;
  const std::string first = read_hidden_line(terminal.fd(), "New password: ");
  const std::string second = read_hidden_line(terminal.fd(), "Repeat password: ");
  if (first != second) throw UsageError("--password-prompt: the two passwords differ; nothing was changed");
  return first;
}

}  // namespace adminctl
