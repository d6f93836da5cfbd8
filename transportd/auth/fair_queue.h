// FairQueue: pending jobs per source, served round-robin across sources and FIFO within one, so a
// source that queues many jobs (a password guesser) cannot delay another's (DESIGN §10). A source that
// had nothing waiting goes before those that already had a turn (as in start-time fair queueing): a
// legitimate AUTH waits for the jobs running, not for another turn of the guessers. Pure: no threads,
// no locking; PasswordVerifier is its thread-safe shell.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "store/ip_range.h"

namespace transport::auth {

// Whose job it is: a client address or its prefix (/24, /64…) as the caller chooses; only equality
// matters here.
using SourceKey = store::IpValue;

enum class Admission {
  queued,
  refused_source_full,  // the source already has its quota of waiting jobs
  refused_shutting_down,
};

std::string_view admission_name(Admission admission);

// Throws std::invalid_argument naming max_queued_per_source and its range when it is 0.
std::size_t checked_max_queued_per_source(std::size_t max_queued_per_source);

template <typename Job>
class FairQueue {
 public:
  // A source may have at most max_queued_per_source jobs waiting (jobs being run do not count).
  explicit FairQueue(std::size_t max_queued_per_source)
      : max_queued_per_source_(checked_max_queued_per_source(max_queued_per_source)) {}

  // Queues job behind the source's earlier ones. job is moved from only when it is queued: on a
  // refusal the caller still holds it (to tell its owner).
  Admission push(SourceKey source, Job&& job) {
    auto [it, added] = sources_.try_emplace(source);
    if (!added && it->second.size() >= max_queued_per_source_) return Admission::refused_source_full;
    it->second.push_back(std::move(job));
    if (added) newcomers_.push_back(it);
    ++size_;
    return Admission::queued;
  }

  // The next job: the oldest of the source whose turn it is, newcomers first. That source, if it has
  // more, goes to the back of the turn order; one with none left is forgotten, and comes back as a
  // newcomer.
  std::optional<Job> pop() {
    auto& order = newcomers_.empty() ? turn_order_ : newcomers_;
    if (order.empty()) return std::nullopt;
    const auto source = order.front();
    order.pop_front();
    std::optional<Job> job(std::move(source->second.front()));
    source->second.pop_front();
    --size_;
    if (source->second.empty()) {
      sources_.erase(source);
    } else {
      turn_order_.push_back(source);
    }
    return job;
  }

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  std::size_t sources_waiting() const { return sources_.size(); }
  std::size_t queued_for(SourceKey source) const {
    const auto it = sources_.find(source);
    return it == sources_.end() ? 0 : it->second.size();
  }
  std::size_t max_queued_per_source() const { return max_queued_per_source_; }

 private:
  using Sources = std::map<SourceKey, std::deque<Job>>;

  std::size_t max_queued_per_source_;
  Sources sources_;                               // only sources with jobs waiting
  // Each waiting source is in one of these, once; front is next.
  std::deque<typename Sources::iterator> newcomers_;   // had nothing waiting when their job came
  std::deque<typename Sources::iterator> turn_order_;  // have had a turn and have more waiting
  std::size_t size_ = 0;
};

}  // namespace transport::auth
