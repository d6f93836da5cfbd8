// MaildirStore: writes every copy to tmp/ and fsyncs it, then renames them all into new/ and fsyncs
// new/; on any failure removes the copies already written, so a message reaches all its mailboxes or none.
#include "transportd/delivery/maildir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <system_error>
#include <utility>

#include "store/mailbox.h"
#include "transportd/posix_file.h"

namespace transport::delivery {
namespace fs = std::filesystem;

namespace {

struct Failure {
  std::string action;  // "cannot create directory", ...
  fs::path path;
  int error_number = 0;
};

std::string os_error(int error_number) { return std::generic_category().message(error_number); }

std::string printable(std::string_view text) {
  std::string out;
  for (char c : text) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out;
}

// One on-disk copy: header + body with every CRLF turned into LF (a CR not followed by LF is kept).
// A CRLF split across header and body is still one line ending.
std::string to_lf_message(std::string_view header, std::string_view body) {
  std::string out;
  out.reserve(header.size() + body.size());
  for (std::string_view in : {header, body}) {
    while (!in.empty()) {
      const std::size_t newline = in.find('\n');
      if (newline == std::string_view::npos) {
        out.append(in);
        break;
      }
      out.append(in.substr(0, newline));
      // Every byte in out stands for the input byte at the same place, so a trailing '\r' is the
      // input byte just before this LF.
      if (!out.empty() && out.back() == '\r') {
        out.back() = '\n';
      } else {
        out.push_back('\n');
      }
      in.remove_prefix(newline + 1);
    }
  }
  return out;
}

// The hostname part of a Maildir name, with '/' and ':' escaped as the Maildir spec asks.
const std::string& maildir_hostname() {
  static const std::string hostname = [] {
    char buffer[256] = {};
    std::string raw = ::gethostname(buffer, sizeof buffer - 1) == 0 && buffer[0] != '\0' ? buffer : "localhost";
    std::string escaped;
    for (char c : raw) {
      if (c == '/') {
        escaped += "\\057";
      } else if (c == ':') {
        escaped += "\\072";
      } else {
        escaped += c;
      }
    }
    return escaped;
  }();
  return hostname;
}

// "<seconds>.M<micros>P<pid>Q<counter>.<hostname>" (cr.yp.to/proto/maildir.html): the counter makes it
// unique within this process, the pid and time across processes.
std::string unique_name() {
  static std::atomic<std::uint64_t> deliveries{0};
  const std::uint64_t counter = deliveries.fetch_add(1, std::memory_order_relaxed) + 1;
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(since_epoch - seconds);
  return std::to_string(seconds.count()) + ".M" + std::to_string(micros.count()) + "P" +
         std::to_string(::getpid()) + "Q" + std::to_string(counter) + "." + maildir_hostname();
}


// Opens parent/name as a directory, creating it (0700) if missing, and makes its entry in the parent
// durable unless this process already did.
bool open_directory(int parent_fd, const fs::path& parent_path, const std::string& name,
                    MaildirStore::DurableDirectories& durable, FileDescriptor& out, Failure& failure) {
  const fs::path path = parent_path / name;
  const bool created = ::mkdirat(parent_fd, name.c_str(), 0700) == 0;
  if (!created && errno != EEXIST) {
    failure = {"cannot create directory", path, errno};
    return false;
  }
  FileDescriptor fd(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    failure = {"cannot open directory", path, errno};
    return false;
  }
  if (created || !durable.contains(path)) {
    if (::fsync(parent_fd) != 0) {
      failure = {"cannot fsync directory", parent_path, errno};
      return false;
    }
    durable.insert(path);
  }
  out = std::move(fd);
  return true;
}

// A copy written so far, and where it is: rollback needs to know whether the rename happened.
struct Copy {
  std::string mailbox;
  std::string name;
  fs::path tmp_path;
  fs::path new_path;
  FileDescriptor tmp_dir;
  FileDescriptor new_dir;
  bool in_new = false;
};

// Consumes one or more leading digits.
bool take_digits(std::string_view& text) {
  std::size_t count = 0;
  while (count < text.size() && text[count] >= '0' && text[count] <= '9') ++count;
  text.remove_prefix(count);
  return count > 0;
}

bool take(std::string_view& text, char c) {
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

}  // namespace

bool is_delivery_file_name(std::string_view name) {
  return take_digits(name) && take(name, '.') && take(name, 'M') && take_digits(name) && take(name, 'P') &&
         take_digits(name) && take(name, 'Q') && take_digits(name) && take(name, '.') && !name.empty();
}

std::size_t MaildirStore::remove_interrupted_deliveries(std::vector<std::string>& problems) const {
  std::size_t removed = 0;
  std::error_code error;
  fs::directory_iterator mailboxes(root_, error);
  if (error) {
    if (error != std::errc::no_such_file_or_directory) problems.push_back(root_.string() + ": " + error.message());
    return 0;
  }
  for (const fs::directory_entry& mailbox : mailboxes) {
    const fs::path tmp = mailbox.path() / "Maildir" / "tmp";
    fs::directory_iterator files(tmp, error);
    if (error) {
      if (error != std::errc::no_such_file_or_directory && error != std::errc::not_a_directory) {
        problems.push_back(tmp.string() + ": " + error.message());
      }
      error.clear();
      continue;
    }
    for (const fs::directory_entry& file : files) {
      if (!is_delivery_file_name(file.path().filename().native())) continue;
      if (::unlink(file.path().c_str()) == 0) {
        ++removed;
      } else if (errno != ENOENT) {
        problems.push_back(file.path().string() + ": cannot remove: " + os_error(errno));
      }
    }
  }
  return removed;
}

bool MaildirStore::DurableDirectories::contains(const fs::path& directory) {
  std::lock_guard lock(mutex_);
  return directories_.contains(directory.native());
}

void MaildirStore::DurableDirectories::insert(const fs::path& directory) {
  std::lock_guard lock(mutex_);
  directories_.insert(directory.native());
}

MaildirStore::MaildirStore(fs::path mailboxes_root) : root_(std::move(mailboxes_root).lexically_normal()) {
  // "/data/mailboxes/" normalizes with a trailing separator; the root must end in its own name.
  if (!root_.has_filename() && root_.has_parent_path() && root_ != root_.root_path()) root_ = root_.parent_path();
}

DeliveryResult MaildirStore::deliver(const std::vector<std::string>& mailbox_addresses, std::string_view header,
                                     std::string_view body) {
  const std::string message = to_lf_message(header, body);
  return deliver_copies(mailbox_addresses, [&](int tmp_dir, const std::string& name, std::string& action) {
    FileDescriptor file(::openat(tmp_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!file.valid()) {
      action = "cannot create";
      return false;
    }
    if (!write_all(file.get(), message)) {
      action = "cannot write";
      return false;
    }
    if (::fsync(file.get()) != 0) {
      action = "cannot fsync";
      return false;
    }
    if (file.close() != 0) {
      action = "cannot close";
      return false;
    }
    return true;
  });
}

DeliveryResult MaildirStore::deliver(const std::vector<std::string>& mailbox_addresses, SpoolFile& message) {
  std::string error;
  if (!message.make_durable(error)) {
    DeliveryResult result;
    result.error = error;
    return result;
  }
  // One durable file, linked into every mailbox (as qmail and Dovecot do): a copy costs a link, not a write.
  return deliver_copies(mailbox_addresses, [&](int tmp_dir, const std::string& name, std::string& action) {
    if (message.link_into(tmp_dir, name)) return true;
    action = "cannot link the spool file as";
    return false;
  });
}

DeliveryResult MaildirStore::deliver_file(const std::vector<std::string>& mailbox_addresses,
                                          const std::filesystem::path& file) {
  return deliver_copies(mailbox_addresses, [&](int tmp_dir, const std::string& name, std::string& action) {
    if (::linkat(AT_FDCWD, file.c_str(), tmp_dir, name.c_str(), 0) == 0) return true;
    action = "cannot link " + file.string() + " as";
    return false;
  });
}

DeliveryResult MaildirStore::deliver_copies(const std::vector<std::string>& mailbox_addresses,
                                            const MakeCopy& make_copy) {
  DeliveryResult result;
  if (mailbox_addresses.empty()) {
    result.error = "no mailbox to deliver to";
    return result;
  }

  // Directory names, lower-cased and deduplicated in order; all are checked before anything is written.
  std::vector<std::string> mailboxes;
  std::unordered_set<std::string> seen;
  for (const std::string& address : mailbox_addresses) {
    // Addresses are checked when a mailbox is made; this is the last guard before one names a directory.
    if (std::string problem = store::mailbox_directory_problem(address); !problem.empty()) {
      result.error = "refusing mailbox address \"" + printable(address) + "\": " + problem;
      return result;
    }
    std::string key = store::address_key(address);
    if (seen.insert(key).second) mailboxes.push_back(std::move(key));
  }

  std::vector<Copy> copies;
  copies.reserve(mailboxes.size());
  std::string failed_mailbox;
  Failure failure;

  // Phase 1: every copy written and fsynced in its tmp/. Nothing is visible to a reader yet.
  const auto write_copy = [&](const std::string& mailbox, int root_fd) {
    failed_mailbox = mailbox;
    const fs::path mailbox_path = root_ / mailbox;
    const fs::path maildir_path = mailbox_path / "Maildir";
    FileDescriptor tmp_dir, new_dir;
    // A Maildir this process already made durable (cur/ is the last directory made): open tmp/ and new/
    // directly, two system calls instead of ten. Anything missing takes the full path below.
    if (durable_.contains(maildir_path / "cur")) {
      tmp_dir = FileDescriptor(::openat(root_fd, (mailbox + "/Maildir/tmp").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      new_dir = FileDescriptor(::openat(root_fd, (mailbox + "/Maildir/new").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    }
    if (!tmp_dir.valid() || !new_dir.valid()) {
      FileDescriptor mailbox_dir, maildir, cur_dir;
      if (!open_directory(root_fd, root_, mailbox, durable_, mailbox_dir, failure) ||
          !open_directory(mailbox_dir.get(), mailbox_path, "Maildir", durable_, maildir, failure) ||
          !open_directory(maildir.get(), maildir_path, "tmp", durable_, tmp_dir, failure) ||
          !open_directory(maildir.get(), maildir_path, "new", durable_, new_dir, failure) ||
          !open_directory(maildir.get(), maildir_path, "cur", durable_, cur_dir, failure)) {
        return false;
      }
    }

    std::string name = unique_name();
    const fs::path tmp_path = maildir_path / "tmp" / name;
    std::string action;
    if (!make_copy(tmp_dir.get(), name, action)) {
      const int error_number = errno;
      // A file that was created before the failure is rolled back with the rest.
      if (::faccessat(tmp_dir.get(), name.c_str(), F_OK, 0) == 0) {
        copies.push_back({mailbox, name, tmp_path, maildir_path / "new" / name, std::move(tmp_dir),
                          std::move(new_dir), false});
      }
      failure = {action, tmp_path, error_number};
      return false;
    }
    const fs::path new_path = maildir_path / "new" / name;
    copies.push_back({mailbox, std::move(name), tmp_path, new_path, std::move(tmp_dir), std::move(new_dir), false});
    return true;
  };

  // Phase 2: all renames back to back, then the new/ fsyncs. A crash can only split a message across
  // its mailboxes inside this short window, never during the (slow) writes above.
  const auto publish_copies = [&]() {
    for (Copy& copy : copies) {
      failed_mailbox = copy.mailbox;
      if (::renameat(copy.tmp_dir.get(), copy.name.c_str(), copy.new_dir.get(), copy.name.c_str()) != 0) {
        failure = {"cannot rename the tmp/ file to", copy.new_path, errno};
        return false;
      }
      copy.in_new = true;
    }
    for (const Copy& copy : copies) {
      failed_mailbox = copy.mailbox;
      if (::fsync(copy.new_dir.get()) != 0) {
        failure = {"cannot fsync directory", copy.new_path.parent_path(), errno};
        return false;
      }
    }
    return true;
  };

  bool delivered = false;
  {
    FileDescriptor root_parent, root;
    const fs::path root_parent_path = root_.has_parent_path() ? root_.parent_path() : fs::path(".");
    root_parent = FileDescriptor(::open(root_parent_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root_parent.valid()) {
      failure = {"cannot open directory", root_parent_path, errno};
    } else if (open_directory(root_parent.get(), root_parent_path, root_.filename().string(), durable_, root,
                              failure)) {
      delivered = std::all_of(mailboxes.begin(), mailboxes.end(),
                              [&](const std::string& mailbox) { return write_copy(mailbox, root.get()); }) &&
                  publish_copies();
    }
  }

  if (delivered) {
    result.ok = true;
    for (const Copy& copy : copies) result.files.push_back(copy.new_path);
    return result;
  }

  result.error = (failed_mailbox.empty() ? std::string("mailboxes root") : "mailbox " + failed_mailbox) + ": " +
                 failure.action + " " + failure.path.string() + ": " + os_error(failure.error_number);
  // Nothing half-delivered: the client gets a temporary failure and will send the message again.
  for (const Copy& copy : copies) {
    const fs::path& path = copy.in_new ? copy.new_path : copy.tmp_path;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      result.error += "; and cannot remove " + path.string() + ": " + os_error(errno);
      continue;
    }
    // Best effort: make the removal durable too, so a crash does not bring the copy back.
    if (copy.in_new) static_cast<void>(::fsync(copy.new_dir.get()));
  }
  return result;
}

}  // namespace transport::delivery
