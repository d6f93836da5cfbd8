// ContextCache: the server TLS contexts of the certificate pairs in use, kept between configuration
// snapshots. A pair is read from disk again only when one of its files changed (device, inode, size,
// modification or change time), so an admin change does not re-parse every pair.
#pragma once

#include <compare>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace asio::ssl {
class context;
}

namespace transport::tls {

class ContextCache {
 public:
  struct Pair {
    std::filesystem::path certificate;
    std::filesystem::path key;
    auto operator<=>(const Pair&) const = default;
  };
  struct Loaded {
    std::shared_ptr<asio::ssl::context> context;  // null when the pair does not load
    std::string problem;                          // why it does not load (names the property and path)
    bool reloaded = false;                        // read from disk by this refresh, not reused
  };

  // One entry per pair asked for: the previous refresh's result while both files are unchanged, else
  // loaded now (make_server_context). Pairs not asked for are forgotten. Blocking file I/O; thread-safe.
  std::map<Pair, Loaded> refresh(const std::vector<Pair>& pairs);

 private:
  // What identifies a file's content without reading it; nullopt when it cannot be stat()ed.
  struct FileStamp {
    std::uint64_t device = 0, inode = 0, size = 0;
    std::int64_t modified_ns = 0, changed_ns = 0;
    bool operator==(const FileStamp&) const = default;
  };
  static std::optional<FileStamp> stamp(const std::filesystem::path& path);
  struct Cached {
    std::optional<FileStamp> certificate, key;
    Loaded loaded;
  };

  std::mutex mutex_;
  std::map<Pair, Cached> cached_;
};

}  // namespace transport::tls
