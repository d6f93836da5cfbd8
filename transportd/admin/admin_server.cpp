// AdminServer: our accept loop on the admin socket, feeding connections to a port-less gRPC server.
#include "transportd/admin/admin_server.h"

#include <fcntl.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_posix.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <future>
#include <stdexcept>

#include "transportd/log.h"
#include "transportd/log_throttle.h"

namespace transport::admin {

namespace {

constexpr auto nothrow_awaitable = asio::experimental::as_tuple(asio::use_awaitable);

std::string errno_text(int error) { return std::strerror(error); }

sockaddr_un unix_address(const std::filesystem::path& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string& text = path.native();
  if (text.empty() || text.size() >= sizeof address.sun_path) {
    throw std::runtime_error("admin socket path " + text + " must be 1 to " +
                             std::to_string(sizeof address.sun_path - 1) + " bytes long");
  }
  std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  return address;
}

// Whether a process accepts connections on the socket at `path`: connect() succeeds, or the backlog is
// full (EAGAIN: someone listens but is slow). ECONNREFUSED means nobody listens: a stale file.
bool someone_answers(const std::filesystem::path& path) {
  const sockaddr_un address = unix_address(path);
  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (probe < 0) throw std::runtime_error("cannot check admin socket " + path.string() + ": " + errno_text(errno));
  const int result = ::connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  const int error = errno;
  ::close(probe);
  if (result == 0 || error == EAGAIN || error == EINPROGRESS) return true;
  if (error == ECONNREFUSED || error == ENOENT) return false;
  throw std::runtime_error("cannot check admin socket " + path.string() + ": " + errno_text(error));
}

}  // namespace

AdminSocket::AdminSocket(std::filesystem::path path) : path_(std::move(path)) {
  const sockaddr_un address = unix_address(path_);
  struct stat existing {};
  if (::lstat(path_.c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode)) {
      throw std::runtime_error("admin socket " + path_.string() +
                               " exists and is not a socket: remove it or choose another --admin-socket");
    }
    if (someone_answers(path_)) {
      throw std::runtime_error("admin socket " + path_.string() +
                               " is in use: another process (a transportd?) answers on it; stop it or choose another "
                               "--admin-socket");
    }
    // Stale: its server is gone (killed, or crashed before removing it).
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
      throw std::runtime_error("cannot remove stale admin socket " + path_.string() + ": " + errno_text(errno));
    }
    log::info("admin", "replaced stale admin socket " + path_.string());
  }
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("cannot create admin socket: " + errno_text(errno));
  // Linux gives the socket file the socket inode's mode at bind (less the umask): 0600 from the first
  // instant, without touching the process-wide umask while other threads create files.
  if (::fchmod(fd_, 0600) != 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd_, SOMAXCONN) != 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("cannot serve the admin API on " + path_.string() + ": " + errno_text(error));
  }
  struct stat created {};
  if (::stat(path_.c_str(), &created) != 0 || ((created.st_mode & 077) != 0 && ::chmod(path_.c_str(), 0600) != 0)) {
    const int error = errno;
    ::close(fd_);
    ::unlink(path_.c_str());
    throw std::runtime_error("cannot set mode 0600 on " + path_.string() + ": " + errno_text(error));
  }
  device_ = created.st_dev;
  inode_ = created.st_ino;
}

AdminSocket::~AdminSocket() {
  if (fd_ >= 0) ::close(fd_);
  struct stat current {};
  if (::lstat(path_.c_str(), &current) == 0 && current.st_dev == device_ && current.st_ino == inode_) {
    ::unlink(path_.c_str());
  }
}

int AdminSocket::release_descriptor() { return std::exchange(fd_, -1); }

AdminServer::AdminServer(asio::io_context& io, std::unique_ptr<AdminSocket> socket, AdminService& service)
    : socket_(std::move(socket)), strand_(asio::make_strand(io)), acceptor_(strand_), pause_(strand_) {
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  server_ = builder.BuildAndStart();
  if (!server_) throw std::runtime_error("cannot start the admin API's gRPC server");
  acceptor_.assign(asio::local::stream_protocol(), socket_->release_descriptor());
  asio::co_spawn(
      strand_,
      [this]() -> asio::awaitable<void> {
        log::LogThrottle throttle(std::chrono::seconds(10));
        while (!stopped_) {
          auto [wait_error] = co_await acceptor_.async_wait(asio::socket_base::wait_read, nothrow_awaitable);
          if (stopped_ || wait_error == asio::error::operation_aborted) break;
          const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd >= 0) {
            grpc::AddInsecureChannelFromFd(server_.get(), fd);  // gRPC owns fd from here
            continue;
          }
          const int error = errno;
          if (error == EAGAIN || error == EINTR || error == ECONNABORTED) continue;
          // EMFILE and friends: the connection stays queued; try again shortly.
          if (throttle.admit(log::LogThrottle::Clock::now())) {
            log::warn("admin", "accept on " + socket_->path().string() + " failed: " + errno_text(error) +
                                   "; retrying every 100 ms" + throttle.held_back_note());
          }
          pause_.expires_after(std::chrono::milliseconds(100));
          co_await pause_.async_wait(nothrow_awaitable);
        }
      },
      asio::detached);
}

AdminServer::~AdminServer() {
  if (!stopped_) stop(std::chrono::system_clock::now());
}

void AdminServer::stop(std::chrono::system_clock::time_point deadline) {
  auto closed = std::make_shared<std::promise<void>>();
  asio::post(strand_, [this, closed] {
    stopped_ = true;
    std::error_code ignored;
    acceptor_.close(ignored);
    pause_.cancel();
    closed->set_value();
  });
  // Bounded: the io_context may already be stopped when this runs from a destructor.
  closed->get_future().wait_for(std::chrono::seconds(2));
  stopped_ = true;
  server_->Shutdown(deadline);
  socket_.reset();
}

}  // namespace transport::admin
