// SharedSourceReputation: a fleet's source reputation (DESIGN §12). Each node judges by its own
// in-memory view (a LocalSourceReputation, still written behind to its reputation.db) and tells the
// others what it records through one Redis stream; what the others tell it is merged into its view.
// So a harvester spread over every MX host is one attacker, and judging never waits on the network.
//
// Two threads of its own talk to Redis, never an I/O thread: the publisher sends this node's deltas
// in batches (XADD), the reader follows the stream (XREAD BLOCK) from the position it last reached,
// kept in a file so a restarted node catches up on what it missed. Redis down: the node judges by its
// own view, holds its deltas (up to kMaxHeldBytes) and says so; back: it sends them and reads what the
// others sent meanwhile, and the views merge again.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "transportd/reputation/local_source_reputation.h"
#include "transportd/shared_reputation/redis_address.h"

namespace transport::shared_reputation {

class RedisConnection;
struct ReputationDelta;

// Deltas held while Redis is away: about 300,000 events. Past it the oldest are dropped (and counted).
inline constexpr std::size_t kMaxHeldBytes = 16u << 20;

struct SharedReputationOptions {
  RedisAddress address;
  std::string node;                     // this server's name: its own entries are skipped when read back
  std::filesystem::path position_file;  // where the reader's stream position is kept
  std::string stream = "transportd:reputation";
  // XADD MAXLEN ~: the batches Redis keeps for nodes catching up (docs/fleet.md: minutes of a busy
  // fleet, hours of a quiet one).
  std::size_t max_stream_entries = 100'000;
  std::chrono::milliseconds batch_delay{50};  // gathering a batch after the first delta
  std::chrono::milliseconds timeout{2000};  // connecting, and each reply
  std::chrono::milliseconds retry{1000};    // between attempts to reach Redis
};

struct SharedReputationHandlers {
  std::function<void(const std::string&)> info;
  std::function<void(const std::string&)> warn;
  // A record another node's report moved to another standing (record() returns this node's own).
  std::function<void(const reputation::StateChange&)> changed;
  // Whether both threads reach Redis, on every change of it.
  std::function<void(bool)> reachable;
};

class SharedSourceReputation final : public reputation::SourceReputation {
 public:
  SharedSourceReputation(std::unique_ptr<reputation::LocalSourceReputation> local, SharedReputationOptions options,
                         SharedReputationHandlers handlers);
  ~SharedSourceReputation() override;  // sends what it holds if Redis is there, then stops its threads

  void configure(const store::HarvestDefenceConfig& config) override { local_->configure(config); }
  reputation::Judgement judge(const store::IpAddress& client, reputation::TimePoint now) override {
    return local_->judge(client, now);
  }
  reputation::Judgement record(const store::IpAddress& client, reputation::Event event, std::uint32_t count,
                               std::chrono::seconds tarpit_interval, reputation::TimePoint now,
                               std::vector<reputation::StateChange>& changes) override;
  bool open_connection(const store::IpAddress& client, const reputation::Judgement& judgement) override {
    return local_->open_connection(client, judgement);
  }
  void close_connection(const store::IpAddress& client) override { local_->close_connection(client); }
  std::vector<reputation::SourceReport> list(const reputation::SourceFilter& filter,
                                             std::optional<reputation::Standing> standing, reputation::TimePoint now,
                                             std::size_t limit) override {
    return local_->list(filter, standing, now, limit);
  }
  // Forgives here at once, and on every other node when they read it.
  std::size_t forgive(const reputation::SourceFilter& filter) override;
  std::vector<reputation::StateChange> take_decay_changes() override { return local_->take_decay_changes(); }
  Counts counts() const override { return local_->counts(); }

  // Whether both threads reach Redis now (false until they first do).
  bool reachable() const { return publisher_ok_.load() && reader_ok_.load(); }
  // "redis://HOST:PORT" without the password.
  std::string description() const { return options_.address.describe(); }
  // Deltas dropped because Redis was away longer than kMaxHeldBytes lasts.
  std::uint64_t dropped() const { return dropped_.load(); }

 private:
  void hold(const ReputationDelta& delta);  // for the publisher
  void publish_loop();
  void read_loop();
  void apply_batch(std::string_view batch);
  // One thread's news about Redis: logs when the node starts or stops sharing.
  void set_side(std::atomic<bool>& side, bool ok, const std::string& why);
  bool stopping();
  bool wait_to_retry();  // false when stopping
  void save_position(bool force);

  std::unique_ptr<reputation::LocalSourceReputation> local_;
  const SharedReputationOptions options_;
  const SharedReputationHandlers handlers_;

  std::mutex mutex_;  // held_, stopping_
  std::condition_variable wake_;
  std::string held_;  // delta lines not yet sent, oldest first
  bool stopping_ = false;
  std::atomic<std::uint64_t> dropped_{0};

  std::mutex state_mutex_;  // the reachable state's transitions and their messages
  bool was_reachable_ = false;
  bool warned_ = false;  // about being unreachable, since it last was reachable
  std::atomic<bool> publisher_ok_{false}, reader_ok_{false};

  std::mutex connections_mutex_;  // the reader's connection, which the destructor interrupts
  RedisConnection* reader_connection_ = nullptr;

  std::string position_;  // reader thread only: the last stream id read
  std::string saved_position_;
  std::chrono::steady_clock::time_point position_saved_at_{};

  std::thread publisher_;
  std::thread reader_;
};

}  // namespace transport::shared_reputation
