// ContextCache: stat() both files of each pair; reuse the context when neither changed.
#include "transportd/tls/context_cache.h"

#include <sys/stat.h>

#include "transportd/tls/server_context.h"

namespace transport::tls {

std::optional<ContextCache::FileStamp> ContextCache::stamp(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  constexpr std::int64_t kNs = 1'000'000'000;
  return FileStamp{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
                   static_cast<std::uint64_t>(st.st_size), st.st_mtim.tv_sec * kNs + st.st_mtim.tv_nsec,
                   st.st_ctim.tv_sec * kNs + st.st_ctim.tv_nsec};
}

std::map<ContextCache::Pair, ContextCache::Loaded> ContextCache::refresh(const std::vector<Pair>& pairs) {
  std::lock_guard lock(mutex_);
  std::map<Pair, Cached> next;
  std::map<Pair, Loaded> result;
  for (const Pair& pair : pairs) {
    if (next.count(pair)) continue;
    Cached entry{stamp(pair.certificate), stamp(pair.key), {}};
    auto previous = cached_.find(pair);
    if (previous != cached_.end() && previous->second.certificate == entry.certificate &&
        previous->second.key == entry.key) {
      entry.loaded = previous->second.loaded;
      entry.loaded.reloaded = false;
    } else {
      entry.loaded.reloaded = true;
      try {
        entry.loaded.context = make_server_context(pair.certificate, pair.key);
      } catch (const std::exception& e) {
        entry.loaded.problem = e.what();
      }
    }
    result.emplace(pair, entry.loaded);
    next.emplace(pair, std::move(entry));
  }
  cached_ = std::move(next);
  return result;
}

}  // namespace transport::tls
