// MaildirStore: durable local delivery, one copy per mailbox into <root>/<address>/Maildir/new/, all
// copies or none. Blocking file I/O with fsyncs: call it from a worker thread, never an I/O thread.
#pragma once

#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "transportd/delivery/spool_file.h"

namespace transport::delivery {

struct DeliveryResult {
  bool ok = false;
  std::string error;                         // why, for the log, when !ok
  std::vector<std::filesystem::path> files;  // delivered files in new/, for logs and tests
};

// True for a name this store writes: "<seconds>.M<micros>P<pid>Q<counter>.<hostname>".
bool is_delivery_file_name(std::string_view name);

class MaildirStore {
 public:
  explicit MaildirStore(std::filesystem::path mailboxes_root);  // DATA_DIR/mailboxes

  // Delivers one copy of header + body (CRLF line endings in, LF on disk) per distinct mailbox address,
  // compared lower-cased. Every copy is written to tmp/ and fsynced first; then all are renamed into
  // new/ back to back and each new/ is fsynced, so a crash can split a message across its mailboxes only
  // in that short window. Creates the root and mailbox directories (0700) as needed. ok only when every copy is durable; on any failure
  // every copy already written is removed and error names the mailbox, the path and the OS error.
  // An empty address list is a failure: a caller must not acknowledge a message nobody received.
  // Thread-safe: several threads may deliver at once, to the same mailboxes too.
  DeliveryResult deliver(const std::vector<std::string>& mailbox_addresses, std::string_view header,
                         std::string_view body);
  // The same, for a message already in a spool file (stored form: LF line ends, header included): the
  // file is fsynced once and linked into each tmp/ instead of written there.
  DeliveryResult deliver(const std::vector<std::string>& mailbox_addresses, SpoolFile& message);
  // The same, for a durable file in stored form on this file system (a queued message): linked into
  // each tmp/, never copied.
  DeliveryResult deliver_file(const std::vector<std::string>& mailbox_addresses, const std::filesystem::path& file);

  // Removes the tmp/ files that deliveries interrupted by a crash left in every <root>/*/Maildir/tmp/.
  // Only names in this store's own format are touched: a Maildir reader (Dovecot's IMAP APPEND) may be
  // writing its own tmp/ files. Call at start, before any delivery. Returns how many were removed;
  // problems (unreadable directories) are appended to `problems`, one line each.
  std::size_t remove_interrupted_deliveries(std::vector<std::string>& problems) const;

  // Directories whose entry in their parent this process has fsynced. Finding that a directory exists
  // is not enough: another thread may have just created it and not yet fsynced its parent.
  class DurableDirectories {
   public:
    bool contains(const std::filesystem::path& directory);
    void insert(const std::filesystem::path& directory);

   private:
    std::mutex mutex_;
    std::unordered_set<std::string> directories_;
  };

 private:
  // Makes the copy named `name` in the tmp/ directory open as `tmp_dir`, complete and durable; on failure
  // sets `action` ("cannot write", ...) and leaves errno.
  using MakeCopy = std::function<bool(int tmp_dir, const std::string& name, std::string& action)>;
  DeliveryResult deliver_copies(const std::vector<std::string>& mailbox_addresses, const MakeCopy& make_copy);

  std::filesystem::path root_;
  DurableDirectories durable_;
};

}  // namespace transport::delivery
