// SpoolFile: the message being received, on disk from its first octets, so that a session holds only a
// bounded buffer however large the message. Delivery links the finished file into each mailbox. Blocking
// file I/O: call it from a worker thread, never an I/O thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace transport::delivery {

class SpoolFile {
 public:
  // An unnamed file (O_TMPFILE) in `directory` (DATA_DIR/spool), which a crash or an aborted message
  // leaves nothing of. Where the file system has no O_TMPFILE, a named file that the destructor
  // removes (and remove_leftovers() after a crash). nullptr and `error` set when it cannot be made.
  static std::unique_ptr<SpoolFile> create(const std::filesystem::path& directory, std::string& error);
  ~SpoolFile();
  SpoolFile(const SpoolFile&) = delete;
  SpoolFile& operator=(const SpoolFile&) = delete;

  // Appends octets at the end. False and `error` set on failure (the file is then unusable).
  bool append(std::string_view data, std::string& error);
  // fsync: the content is durable (each link made later needs only its directory's fsync).
  bool make_durable(std::string& error);
  // Links the file as `name` in the directory open as `directory_fd` (same file system). errno on failure.
  bool link_into(int directory_fd, const std::string& name) const;
  // Up to `limit` octets from the start of the file (the header section, for tracking).
  std::string read_head(std::size_t limit) const;
  std::uint64_t size() const { return size_; }

  // Named spool files that a crash left behind (the O_TMPFILE fallback only). Call at start.
  static void remove_leftovers(const std::filesystem::path& directory);

 private:
  SpoolFile(int fd, std::filesystem::path named_path) : fd_(fd), named_path_(std::move(named_path)) {}

  int fd_;
  std::filesystem::path named_path_;  // empty for an O_TMPFILE file
  std::uint64_t size_ = 0;
};

}  // namespace transport::delivery
