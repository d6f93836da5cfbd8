// SharedSourceReputation: the local view, the publisher and the reader.
#include "transportd/shared_reputation/shared_source_reputation.h"

#include <hiredis/hiredis.h>

#include <fstream>

#include "store/value_error.h"
#include "transportd/shared_reputation/redis_connection.h"
#include "transportd/shared_reputation/reputation_delta.h"

namespace transport::shared_reputation {

namespace {

constexpr std::size_t kMaxBatchBytes = 64u << 10;  // one stream entry
constexpr std::chrono::milliseconds kReadBlock{500};  // XREAD BLOCK: shorter than the reply timeout
constexpr std::chrono::seconds kPositionSavePeriod{1};
constexpr std::string_view kNodeField = "node";
constexpr std::string_view kDeltasField = "deltas";

std::string read_position(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string position;
  if (in >> position) return position;
  return "0-0";  // never read: everything the stream still holds
}

std::string_view text_of(const redisReply* reply) {
  if (reply == nullptr || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS)) return {};
  return {reply->str, reply->len};
}

// Drops whole lines from the front of `held` until it fits in kMaxHeldBytes; returns how many.
std::uint64_t trim_held(std::string& held) {
  if (held.size() <= kMaxHeldBytes) return 0;
  std::size_t cut = held.find('\n', held.size() - kMaxHeldBytes);
  cut = cut == std::string::npos ? held.size() : cut + 1;
  const auto lines = static_cast<std::uint64_t>(std::count(held.begin(), held.begin() + static_cast<std::ptrdiff_t>(cut), '\n'));
  held.erase(0, cut);
  return lines;
}

}  // namespace

SharedSourceReputation::SharedSourceReputation(std::unique_ptr<reputation::LocalSourceReputation> local,
                                               SharedReputationOptions options, SharedReputationHandlers handlers)
    : local_(std::move(local)), options_(std::move(options)), handlers_(std::move(handlers)) {
  position_ = read_position(options_.position_file);
  saved_position_ = position_;
  publisher_ = std::thread([this] { publish_loop(); });
  reader_ = std::thread([this] { read_loop(); });
}

SharedSourceReputation::~SharedSourceReputation() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  {
    std::lock_guard lock(connections_mutex_);
    if (reader_connection_ != nullptr) reader_connection_->interrupt();  // the publisher sends what it holds first
  }
  reader_.join();
  publisher_.join();
  save_position(true);
}

reputation::Judgement SharedSourceReputation::record(const store::IpAddress& client, reputation::Event event,
                                                     std::uint32_t count, std::chrono::seconds tarpit_interval,
                                                     reputation::TimePoint now,
                                                     std::vector<reputation::StateChange>& changes) {
  const reputation::Judgement judgement = local_->record(client, event, count, tarpit_interval, now, changes);
  if (judgement.exempt || count == 0) return judgement;  // exempt sources are not recorded anywhere
  hold(ReputationDelta::of_event(client, event, count, tarpit_interval, now));
  return judgement;
}

std::size_t SharedSourceReputation::forgive(const reputation::SourceFilter& filter) {
  const std::size_t forgiven = local_->forgive(filter);
  hold(ReputationDelta::of_forgive(filter.text));
  return forgiven;
}

void SharedSourceReputation::hold(const ReputationDelta& delta) {
  bool was_empty = false;
  {
    std::lock_guard lock(mutex_);
    was_empty = held_.empty();
    append(held_, delta);
    if (held_.size() > kMaxHeldBytes) dropped_ += trim_held(held_);
  }
  // Otherwise the publisher is already on its way. All: the reader waits on the same condition to retry.
  if (was_empty) wake_.notify_all();
}

void SharedSourceReputation::set_side(std::atomic<bool>& side, bool ok, const std::string& why) {
  std::lock_guard lock(state_mutex_);
  side = ok;
  const bool now = reachable();
  if (now && !was_reachable_) {
    std::size_t held = 0;
    {
      std::lock_guard held_lock(mutex_);
      held = static_cast<std::size_t>(std::count(held_.begin(), held_.end(), '\n'));
    }
    if (handlers_.info) {
      handlers_.info("sharing source reputation through " + description() + " as " + options_.node +
                     (warned_ ? " again (" + std::to_string(held) + " reports held meanwhile are being sent" +
                                    (dropped_ > 0 ? ", " + std::to_string(dropped_.load()) + " older ones dropped so far" : "") + ")"
                              : ""));
    }
    warned_ = false;
  } else if (!ok && !warned_) {
    if (handlers_.warn) {
      handlers_.warn("the reputation store " + description() + " is unreachable (" + why +
                     "): this node judges sources by its own view and holds its reports until it is back");
    }
    warned_ = true;
  }
  if (now != was_reachable_ && handlers_.reachable) handlers_.reachable(now);
  was_reachable_ = now;
}

bool SharedSourceReputation::stopping() {
  std::lock_guard lock(mutex_);
  return stopping_;
}

bool SharedSourceReputation::wait_to_retry() {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, options_.retry, [this] { return stopping_; });
}

void SharedSourceReputation::publish_loop() {
  const std::string max_entries = std::to_string(options_.max_stream_entries);
  std::string sending;  // taken from held_, not yet acknowledged by Redis
  bool stopping = false;
  while (true) {
    std::unique_ptr<RedisConnection> connection;
    try {
      connection = std::make_unique<RedisConnection>(options_.address, options_.timeout);
    } catch (const RedisError& e) {
      set_side(publisher_ok_, false, e.what());
      if (stopping || !wait_to_retry()) break;
      continue;
    }
    set_side(publisher_ok_, true, {});
    try {
      while (true) {
        {
          std::unique_lock lock(mutex_);
          wake_.wait(lock, [&] { return stopping_ || !held_.empty() || !sending.empty(); });
          // A moment to gather more: a busy node sends about 20 batches a second, not one per event.
          wake_.wait_for(lock, options_.batch_delay, [&] { return stopping_; });
          stopping = stopping_;
          sending += held_;
          held_.clear();
        }
        while (!sending.empty()) {
          std::size_t end = sending.size();
          if (end > kMaxBatchBytes) {
            end = sending.rfind('\n', kMaxBatchBytes - 1);
            end = end == std::string::npos ? sending.size() : end + 1;
          }
          const std::string_view batch(sending.data(), end);
          connection->command({"XADD", options_.stream, "MAXLEN", "~", max_entries, "*", kNodeField, options_.node,
                               kDeltasField, batch});
          sending.erase(0, end);
        }
        if (stopping) break;
      }
    } catch (const RedisError& e) {
      set_side(publisher_ok_, false, e.what());
      std::lock_guard lock(mutex_);
      held_.insert(0, sending);  // sent first when Redis is back
      sending.clear();
      dropped_ += trim_held(held_);
    }
    if (stopping || !wait_to_retry()) break;
  }
}

void SharedSourceReputation::read_loop() {
  const std::string block = std::to_string(kReadBlock.count());
  while (true) {
    if (stopping()) break;
    std::unique_ptr<RedisConnection> connection;
    try {
      connection = std::make_unique<RedisConnection>(options_.address, options_.timeout);
      {
        std::lock_guard lock(connections_mutex_);
        reader_connection_ = connection.get();
      }
      set_side(reader_ok_, true, {});
      while (true) {
        if (stopping()) break;
        RedisReply reply = connection->command(
            {"XREAD", "COUNT", "100", "BLOCK", block, "STREAMS", options_.stream, position_});
        // nil: nothing new within the block. Otherwise [[stream, [[id, [field, value, ...]], ...]]].
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 && reply->element[0]->type == REDIS_REPLY_ARRAY &&
            reply->element[0]->elements == 2) {
          const redisReply* entries = reply->element[0]->element[1];
          for (std::size_t i = 0; entries->type == REDIS_REPLY_ARRAY && i < entries->elements; ++i) {
            const redisReply* entry = entries->element[i];
            if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) continue;
            const std::string_view id = text_of(entry->element[0]);
            const redisReply* fields = entry->element[1];
            std::string_view node, deltas;
            for (std::size_t f = 0; fields->type == REDIS_REPLY_ARRAY && f + 1 < fields->elements; f += 2) {
              const std::string_view name = text_of(fields->element[f]);
              if (name == kNodeField) node = text_of(fields->element[f + 1]);
              if (name == kDeltasField) deltas = text_of(fields->element[f + 1]);
            }
            if (node != options_.node) apply_batch(deltas);  // its own were recorded when they happened
            if (!id.empty()) position_ = id;
          }
        }
        save_position(false);
      }
    } catch (const RedisError& e) {
      if (!stopping()) set_side(reader_ok_, false, e.what());  // not when interrupted to stop
    }
    {
      std::lock_guard lock(connections_mutex_);
      reader_connection_ = nullptr;
    }
    connection.reset();
    if (!wait_to_retry()) break;
  }
}

void SharedSourceReputation::apply_batch(std::string_view batch) {
  std::vector<ReputationDelta> deltas;
  parse_batch(batch, deltas);  // lines another version wrote are skipped
  const reputation::TimePoint now = reputation::Clock::now();
  std::vector<reputation::StateChange> changes;
  for (const ReputationDelta& delta : deltas) {
    if (delta.kind == ReputationDelta::Kind::event) {
      local_->merge(delta.client, delta.event, delta.count, delta.tarpit_interval, delta.happened, now, changes);
      continue;
    }
    try {
      const std::size_t forgiven = local_->forgive(reputation::SourceFilter::parse(delta.filter));
      if (handlers_.info) {
        handlers_.info("forgave " + std::to_string(forgiven) + " source record(s) matching " + delta.filter +
                       ", as another node was told to");
      }
    } catch (const store::ValueError&) {
      // A filter this version cannot read: nothing is forgiven here.
    }
  }
  if (handlers_.changed) {
    for (const reputation::StateChange& change : changes) handlers_.changed(change);
  }
}

void SharedSourceReputation::save_position(bool force) {
  if (position_ == saved_position_ || options_.position_file.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - position_saved_at_ < kPositionSavePeriod) return;
  position_saved_at_ = now;
  // Written whole then renamed: a crash leaves the old position (a few batches read twice), never half a one.
  std::filesystem::path next = options_.position_file;
  next += ".next";
  {
    std::ofstream out(next, std::ios::trunc);
    out << position_ << '\n';
    if (!out.flush()) return;
  }
  std::error_code ec;
  std::filesystem::rename(next, options_.position_file, ec);
  if (!ec) saved_position_ = position_;
}

}  // namespace transport::shared_reputation
