// LocalSourceReputation: SourceReputation on one node. The records live in a ReputationTable; a
// background thread it owns writes the changed ones to reputation.db once a second (callers only ever
// touch memory), and the rest on flush() and destruction. Concurrent connections are counted in a
// small map of their own.
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "transportd/reputation/reputation_file.h"
#include "transportd/reputation/reputation_table.h"
#include "transportd/reputation/source_reputation.h"

namespace transport::reputation {

// Told about trouble the reputation cannot throw to anyone: a damaged file moved aside, a failed
// write-behind (retried a second later). The daemon logs it as a warning.
using WarningHandler = std::function<void(const std::string& message)>;

class LocalSourceReputation final : public SourceReputation {
 public:
  // Loads `file` (records decayed to nothing are dropped); a damaged or foreign file is renamed to
  // <file>.damaged-<unix time>, `warn` is told, and the reputation starts empty. Throws
  // ReputationFileError when the file cannot be opened or created at all (e.g. permissions).
  // `now` is the clock of the load (tests pass a fake one).
  LocalSourceReputation(std::filesystem::path file, const store::HarvestDefenceConfig& config, WarningHandler warn,
                        TimePoint now = Clock::now());
  ~LocalSourceReputation() override;

  void configure(const store::HarvestDefenceConfig& config) override;
  Judgement judge(const store::IpAddress& client, TimePoint now) override;
  Judgement record(const store::IpAddress& client, Event event, std::uint32_t count,
                   std::chrono::seconds tarpit_interval, TimePoint now, std::vector<StateChange>& changes) override;
  bool open_connection(const store::IpAddress& client, const Judgement& judgement) override;
  void close_connection(const store::IpAddress& client) override;
  std::vector<SourceReport> list(const SourceFilter& filter, std::optional<Standing> standing, TimePoint now,
                                 std::size_t limit) override;
  std::size_t forgive(const SourceFilter& filter) override;
  Counts counts() const override;
  std::vector<StateChange> take_decay_changes() override;

  // Another node's events, reported to this one (a fleet's shared reputation, DESIGN §12): recorded as
  // record() would have recorded them at `happened`, so every node's records decay alike. Records
  // that changed state are appended to `changes`.
  void merge(const store::IpAddress& client, Event event, std::uint32_t count, std::chrono::seconds tarpit_interval,
             TimePoint happened, TimePoint now, std::vector<StateChange>& changes);

  // Re-judges every record at `now` and stores the standings decay has changed (the writer thread does
  // this once a minute).
  void sweep(TimePoint now);

  // Writes every change so far, on the caller's thread. Throws ReputationFileError.
  void flush();
  std::size_t size() const { return table_.size(); }
  // Open connections counted for the client's address and its prefix.
  std::pair<std::uint32_t, std::uint32_t> connections(const store::IpAddress& client) const;

 private:
  struct Settings {
    bool enabled = true;
    Scoring scoring;
    int ipv4_prefix_length = 24;
    int ipv6_prefix_length = 64;
    std::int64_t discredited_max_connections = 2;
    std::vector<store::IpRange> exempt;
  };
  struct KeyHash {
    std::size_t operator()(const SourceKey& key) const { return hash(key, 0); }
  };

  std::shared_ptr<const Settings> settings() const { return settings_.load(std::memory_order_acquire); }
  static bool exempt(const Settings& settings, const store::IpAddress& client);
  Judgement add(const store::IpAddress& client, Event event, std::uint32_t count, std::chrono::seconds tarpit_interval,
                TimePoint happened, TimePoint now, std::vector<StateChange>& changes);
  void write_behind();  // the writer thread
  void write_changes();  // holds file_mutex_

  ReputationTable table_;
  std::atomic<std::shared_ptr<const Settings>> settings_;
  WarningHandler warn_;

  mutable std::mutex file_mutex_;  // the file, and the order of forgive() against the writer
  std::unique_ptr<ReputationFile> file_;
  std::vector<SourceKey> pending_evicted_;  // evictions a failed write could not delete yet

  std::mutex decay_changes_mutex_;
  std::vector<StateChange> decay_changes_;  // at most kMaxDecayChanges: past that they go unreported

  mutable std::mutex connections_mutex_;
  std::unordered_map<SourceKey, std::uint32_t, KeyHash> connections_;

  std::mutex writer_mutex_;
  std::condition_variable writer_wake_;
  bool stopping_ = false;
  std::thread writer_;
};

// The daemon's SourceReputation: `file` is DATA_DIR/reputation.db.
std::unique_ptr<SourceReputation> open_local_reputation(const std::filesystem::path& file,
                                                        const store::HarvestDefenceConfig& config,
                                                        WarningHandler warn = {});

}  // namespace transport::reputation
