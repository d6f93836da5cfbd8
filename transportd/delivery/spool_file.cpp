// SpoolFile: O_TMPFILE where the file system has it (nothing to clean up after a crash), a named file
// otherwise; linked, never copied, into each mailbox's Maildir.
#include "transportd/delivery/spool_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <system_error>

namespace transport::delivery {
namespace fs = std::filesystem;

namespace {

std::string os_error(int error_number) { return std::generic_category().message(error_number); }

constexpr std::string_view kNamedPrefix = "spool.";

}  // namespace

std::unique_ptr<SpoolFile> SpoolFile::create(const fs::path& directory, std::string& error) {
  int fd = ::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return std::unique_ptr<SpoolFile>(new SpoolFile(fd, {}));
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    error = "cannot create a spool file in " + directory.string() + ": " + os_error(errno);
    return nullptr;
  }
  static std::atomic<std::uint64_t> counter{0};
  const fs::path path = directory / (std::string(kNamedPrefix) + std::to_string(::getpid()) + "." +
                                     std::to_string(counter.fetch_add(1, std::memory_order_relaxed)));
  fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot create " + path.string() + ": " + os_error(errno);
    return nullptr;
  }
  return std::unique_ptr<SpoolFile>(new SpoolFile(fd, path));
}

SpoolFile::~SpoolFile() {
  ::close(fd_);
  if (!named_path_.empty()) ::unlink(named_path_.c_str());
}

bool SpoolFile::append(std::string_view data, std::string& error) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd_, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      error = "cannot write the spool file: " + os_error(errno);
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(written));
    size_ += static_cast<std::uint64_t>(written);
  }
  return true;
}

bool SpoolFile::make_durable(std::string& error) {
  if (::fsync(fd_) == 0) return true;
  error = "cannot fsync the spool file: " + os_error(errno);
  return false;
}

bool SpoolFile::link_into(int directory_fd, const std::string& name) const {
  if (!named_path_.empty()) return ::linkat(AT_FDCWD, named_path_.c_str(), directory_fd, name.c_str(), 0) == 0;
  // An O_TMPFILE file gets its first name through /proc (AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH).
  const std::string self = "/proc/self/fd/" + std::to_string(fd_);
  return ::linkat(AT_FDCWD, self.c_str(), directory_fd, name.c_str(), AT_SYMLINK_FOLLOW) == 0;
}

std::string SpoolFile::read_head(std::size_t limit) const {
  std::string head(static_cast<std::size_t>(std::min<std::uint64_t>(limit, size_)), '\0');
  std::size_t done = 0;
  while (done < head.size()) {
    const ssize_t n = ::pread(fd_, head.data() + done, head.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  head.resize(done);
  return head;
}

void SpoolFile::remove_leftovers(const fs::path& directory) {
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory, error)) {
    if (entry.path().filename().native().starts_with(kNamedPrefix)) fs::remove(entry.path(), error);
  }
}

}  // namespace transport::delivery
