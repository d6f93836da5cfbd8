// AdminSocket and AdminServer: the admin API's unix socket and the gRPC server behind it.
//
// We accept on the socket ourselves and hand each connection to gRPC (AddInsecureChannelFromFd).
// gRPC 1.51's own listener stops for good after one accept() fails with EMFILE: its on_read
// (iomgr/tcp_server_posix.cc) logs "Failed accept4" and returns without re-arming the read
// notification, so after a descriptor exhaustion every later adminctl call hung until a restart. Our
// loop pauses and tries again, and the SMTP listeners leave a descriptor reserve so it rarely must.
#pragma once

#include <grpcpp/server.h>
#include <sys/types.h>

#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>

#include "transportd/admin/admin_service.h"

namespace transport::admin {

// The listening socket file, mode 0600 from its creation. Refuses to take over a socket another
// process answers on (throws std::runtime_error naming the path); a stale one (connect refused) is
// replaced. Removes the file when destroyed only if it is still the one this object created (same
// device and inode): a socket another process made in its place is left alone.
class AdminSocket {
 public:
  explicit AdminSocket(std::filesystem::path path);
  ~AdminSocket();
  AdminSocket(const AdminSocket&) = delete;
  AdminSocket& operator=(const AdminSocket&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The listening descriptor; the caller takes it over (AdminServer). -1 once released.
  int release_descriptor();

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

class AdminServer {
 public:
  // Starts gRPC with `service` (no listening port of its own) and the accept loop on `io`.
  // Throws std::runtime_error when gRPC does not start.
  AdminServer(asio::io_context& io, std::unique_ptr<AdminSocket> socket, AdminService& service);
  ~AdminServer();

  // Stops accepting and shuts gRPC down, cancelling calls still running at `deadline`; removes the
  // socket file (see AdminSocket). Call from a thread that is not running `io`.
  void stop(std::chrono::system_clock::time_point deadline);

 private:
  std::unique_ptr<AdminSocket> socket_;
  asio::strand<asio::io_context::executor_type> strand_;  // the accept loop and stop(), one at a time
  asio::local::stream_protocol::acceptor acceptor_;
  asio::steady_timer pause_;
  std::unique_ptr<grpc::Server> server_;
  std::atomic<bool> stopped_{false};
};

}  // namespace transport::admin
