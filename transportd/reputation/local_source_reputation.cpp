// LocalSourceReputation: the table, the write-behind thread, the connection counts, and the
// administrator's view (list, forgive).
#include "transportd/reputation/local_source_reputation.h"

#include <algorithm>
#include <cmath>
#include <queue>

namespace transport::reputation {

namespace {

constexpr std::chrono::seconds kWriteBehindPeriod{1};
constexpr int kSweepEvery = 60;  // write-behind periods
constexpr std::size_t kMaxDecayChanges = 10'000;

std::size_t max_records(const store::HarvestDefenceConfig& config) {
  return static_cast<std::size_t>(std::max<std::int64_t>(config.max_source_records, 1));
}

Judgement exempt_judgement() {
  Judgement judgement;
  judgement.exempt = true;
  return judgement;
}

}  // namespace

LocalSourceReputation::LocalSourceReputation(std::filesystem::path file, const store::HarvestDefenceConfig& config,
                                             WarningHandler warn, TimePoint now)
    : table_(max_records(config)), warn_(std::move(warn)) {
  configure(config);
  const Seconds load_time = to_seconds(now);
  const double half_life = settings()->scoring.half_life;
  try {
    file_ = std::make_unique<ReputationFile>(file);
    std::vector<SourceKey> gone;
    file_->load([&](const SourceKey& key, const SourceRecord& stored) {
      SourceRecord record = stored;
      record.decay_to(load_time, half_life);
      if (record.negligible(load_time)) {
        gone.push_back(key);
      } else {
        table_.load(key, record, load_time, half_life);
      }
    });
    file_->erase(std::move(gone));
  } catch (const ReputationFileError& e) {
    if (!e.damaged()) throw;
    file_.reset();
    table_.erase_if([](const SourceKey&, const SourceRecord&) { return true; });
    const std::filesystem::path aside = ReputationFile::move_aside(file, load_time);
    if (warn_) warn_(std::string(e.what()) + "; moved it to " + aside.string() + " and started with no source records");
    file_ = std::make_unique<ReputationFile>(file);
  }
  std::vector<std::pair<SourceKey, SourceRecord>> ignored;
  std::vector<SourceKey> evicted;
  table_.take_changes(ignored, evicted);  // a file over the bound: what loading evicted goes at once
  file_->erase(std::move(evicted));
  writer_ = std::thread([this] { write_behind(); });
}

LocalSourceReputation::~LocalSourceReputation() {
  {
    std::lock_guard lock(writer_mutex_);
    stopping_ = true;
  }
  writer_wake_.notify_all();
  writer_.join();
  try {
    flush();
  } catch (const std::exception& e) {
    if (warn_) warn_(std::string("writing the last source records: ") + e.what());
  }
}

void LocalSourceReputation::configure(const store::HarvestDefenceConfig& config) {
  auto settings = std::make_shared<Settings>();
  settings->enabled = config.enabled;
  settings->scoring = scoring_from(config);
  settings->ipv4_prefix_length = static_cast<int>(std::clamp<std::int64_t>(config.ipv4_prefix_length, 0, 32));
  settings->ipv6_prefix_length = static_cast<int>(std::clamp<std::int64_t>(config.ipv6_prefix_length, 0, 128));
  settings->discredited_max_connections = config.discredited_max_connections;
  settings->exempt = config.exempt_remote_ip_ranges;
  const double half_life = settings->scoring.half_life;
  settings_.store(std::move(settings), std::memory_order_release);
  table_.set_max_records(max_records(config), to_seconds(Clock::now()), half_life);
}

bool LocalSourceReputation::exempt(const Settings& settings, const store::IpAddress& client) {
  if (!settings.enabled) return true;
  return std::any_of(settings.exempt.begin(), settings.exempt.end(),
                     [&](const store::IpRange& range) { return range.contains(client); });
}

Judgement LocalSourceReputation::judge(const store::IpAddress& client, TimePoint now) {
  const std::shared_ptr<const Settings> s = settings();
  if (exempt(*s, client)) return exempt_judgement();
  const Seconds at = to_seconds(now);
  const double half_life = s->scoring.half_life;
  SourceRecord address, prefix;
  const bool has_address = table_.read(address_key(client), [&](const SourceRecord& r) { address = r; });
  const bool has_prefix = table_.read(prefix_key(client, s->ipv4_prefix_length, s->ipv6_prefix_length),
                                      [&](const SourceRecord& r) { prefix = r; });
  address.decay_to(at, half_life);
  prefix.decay_to(at, half_life);
  return combine(has_address ? &address : nullptr, has_prefix ? &prefix : nullptr, s->scoring, at);
}

Judgement LocalSourceReputation::record(const store::IpAddress& client, Event event, std::uint32_t count,
                                        std::chrono::seconds tarpit_interval, TimePoint now,
                                        std::vector<StateChange>& changes) {
  return add(client, event, count, tarpit_interval, now, now, changes);
}

void LocalSourceReputation::merge(const store::IpAddress& client, Event event, std::uint32_t count,
                                  std::chrono::seconds tarpit_interval, TimePoint happened, TimePoint now,
                                  std::vector<StateChange>& changes) {
  add(client, event, count, tarpit_interval, std::min(happened, now), now, changes);
}

Judgement LocalSourceReputation::add(const store::IpAddress& client, Event event, std::uint32_t count,
                                     std::chrono::seconds tarpit_interval, TimePoint happened, TimePoint now,
                                     std::vector<StateChange>& changes) {
  const std::shared_ptr<const Settings> s = settings();
  if (exempt(*s, client)) return exempt_judgement();
  if (count == 0) return judge(client, now);
  const Seconds at = to_seconds(now);
  const Seconds happened_at = to_seconds(happened);
  const Scoring& scoring = s->scoring;
  // Events reported late count for what decay has left of them, as if they had been recorded then.
  const auto weight = static_cast<float>(std::exp2(-static_cast<double>(at - happened_at) / scoring.half_life));
  const auto tarpit = static_cast<std::uint16_t>(std::clamp<std::int64_t>(tarpit_interval.count(), 0, kMaxHold.count()));

  const auto update = [&](const SourceKey& key, const Thresholds& thresholds, bool is_address) {
    Standing from = Standing::clean;
    SourceRecord after = table_.update(key, at, scoring.half_life, [&](SourceRecord& r) {
      from = r.standing;
      r.decay_to(at, scoring.half_life);
      r.apply(event, count, happened_at, scoring, thresholds, is_address, weight);
      r.tarpit_interval = tarpit;
      return r;
    });
    if (after.standing != from) changes.push_back(StateChange{to_string(key), from, after.standing});
    return after;
  };

  const SourceRecord address = update(address_key(client), scoring.address, true);
  const SourceKey prefix_k = prefix_key(client, s->ipv4_prefix_length, s->ipv6_prefix_length);
  SourceRecord prefix;
  bool has_prefix = true;
  if (event == Event::auth_failure) {
    // Password guessing is judged per address: the prefix record does not see it.
    has_prefix = table_.read(prefix_k, [&](const SourceRecord& r) { prefix = r; });
    prefix.decay_to(at, scoring.half_life);
  } else {
    prefix = update(prefix_k, scoring.prefix, false);
  }
  return combine(&address, has_prefix ? &prefix : nullptr, scoring, at);
}

bool LocalSourceReputation::open_connection(const store::IpAddress& client, const Judgement& judgement) {
  const std::shared_ptr<const Settings> s = settings();
  const SourceKey address = address_key(client);
  const SourceKey prefix = prefix_key(client, s->ipv4_prefix_length, s->ipv6_prefix_length);
  std::lock_guard lock(connections_mutex_);
  if (!judgement.exempt && judgement.standing == Standing::discredited) {
    const auto held = [&](const SourceKey& key) {
      const auto found = connections_.find(key);
      return found == connections_.end() ? std::int64_t{0} : std::int64_t{found->second};
    };
    const std::int64_t cap = s->discredited_max_connections;
    if (held(address) >= cap || held(prefix) >= cap) return false;
  }
  ++connections_[address];
  ++connections_[prefix];
  return true;
}

void LocalSourceReputation::close_connection(const store::IpAddress& client) {
  const std::shared_ptr<const Settings> s = settings();
  std::lock_guard lock(connections_mutex_);
  for (const SourceKey& key : {address_key(client), prefix_key(client, s->ipv4_prefix_length, s->ipv6_prefix_length)}) {
    const auto found = connections_.find(key);
    if (found == connections_.end()) continue;  // counted under other prefix lengths before a change
    if (--found->second == 0) connections_.erase(found);
  }
}

std::pair<std::uint32_t, std::uint32_t> LocalSourceReputation::connections(const store::IpAddress& client) const {
  const std::shared_ptr<const Settings> s = settings();
  std::lock_guard lock(connections_mutex_);
  const auto held = [&](const SourceKey& key) {
    const auto found = connections_.find(key);
    return found == connections_.end() ? std::uint32_t{0} : found->second;
  };
  return {held(address_key(client)), held(prefix_key(client, s->ipv4_prefix_length, s->ipv6_prefix_length))};
}

std::vector<SourceReport> LocalSourceReputation::list(const SourceFilter& filter, std::optional<Standing> standing,
                                                      TimePoint now, std::size_t limit) {
  const std::shared_ptr<const Settings> s = settings();
  const Seconds at = to_seconds(now);
  struct Found {
    SourceKey key;
    SourceRecord record;
    Standing standing;
  };
  // The `limit` most recently seen, kept in a heap whose top is the least recent of them.
  const auto more_recent = [](const Found& a, const Found& b) { return a.record.last_seen > b.record.last_seen; };
  std::priority_queue<Found, std::vector<Found>, decltype(more_recent)> kept(more_recent);
  if (limit == 0) return {};
  std::string text;
  table_.for_each([&](const SourceKey& key, const SourceRecord& stored) {
    if (filter.by_text()) {
      text = to_string(key);
      if (!filter.matches(key, text)) return;
    } else if (!filter.matches(key, {})) {
      return;
    }
    SourceRecord record = stored;
    record.decay_to(at, s->scoring.half_life);
    const Standing now_standing = record.evaluate(key.is_prefix() ? s->scoring.prefix : s->scoring.address);
    if (standing && *standing != now_standing) return;
    if (kept.size() == limit) {
      if (record.last_seen <= kept.top().record.last_seen) return;
      kept.pop();
    }
    kept.push(Found{key, record, now_standing});
  });
  std::vector<SourceReport> reports(kept.size());
  for (std::size_t i = kept.size(); i-- > 0;) {
    const Found& found = kept.top();
    SourceReport& report = reports[i];
    report.source = to_string(found.key);
    report.standing = found.standing;
    report.level = found.standing == Standing::discredited ? found.record.level : 0;
    report.refused = found.record.refused;
    report.accepted = found.record.accepted_total();
    report.abandoned = found.record.abandoned;
    report.auth_failures = found.record.auth_failures;
    Judgement as_judged;
    as_judged.standing = report.standing;
    as_judged.level = report.level;
    report.current_interval = as_judged.interval(std::chrono::seconds(found.record.tarpit_interval));
    report.last_seen = from_seconds(found.record.last_seen);
    if (found.record.auth_locked_until > at) report.auth_locked_until = from_seconds(found.record.auth_locked_until);
    kept.pop();
  }
  return reports;
}

std::size_t LocalSourceReputation::forgive(const SourceFilter& filter) {
  std::lock_guard file_lock(file_mutex_);  // the writer cannot write a forgiven record back meanwhile
  std::string text;
  const std::vector<SourceKey> erased = table_.erase_if([&](const SourceKey& key, const SourceRecord&) {
    if (!filter.by_text()) return filter.matches(key, {});
    text = to_string(key);
    return filter.matches(key, text);
  });
  file_->erase(erased);
  return erased.size();
}

SourceReputation::Counts LocalSourceReputation::counts() const {
  const ReputationTable::Counts c = table_.counts();
  return Counts{c.clean, c.suspect, c.discredited};
}

void LocalSourceReputation::sweep(TimePoint now) {
  const std::shared_ptr<const Settings> s = settings();
  const Seconds at = to_seconds(now);
  std::vector<StateChange> found;
  table_.sweep([&](const SourceKey& key, SourceRecord& stored) {
    if (stored.standing == Standing::clean) return;  // decay only ever lowers a standing
    SourceRecord record = stored;
    record.decay_to(at, s->scoring.half_life);
    const Standing now_standing = record.evaluate(key.is_prefix() ? s->scoring.prefix : s->scoring.address);
    if (now_standing == stored.standing) return;
    if (found.size() < kMaxDecayChanges) found.push_back(StateChange{to_string(key), stored.standing, now_standing});
    record.standing = now_standing;
    if (now_standing != Standing::discredited) record.level = 0;
    stored = record;
  });
  if (found.empty()) return;
  std::lock_guard lock(decay_changes_mutex_);
  for (StateChange& change : found) {
    if (decay_changes_.size() >= kMaxDecayChanges) break;
    decay_changes_.push_back(std::move(change));
  }
}

std::vector<StateChange> LocalSourceReputation::take_decay_changes() {
  std::lock_guard lock(decay_changes_mutex_);
  std::vector<StateChange> taken;
  taken.swap(decay_changes_);
  return taken;
}

void LocalSourceReputation::flush() {
  std::lock_guard lock(file_mutex_);
  write_changes();
}

void LocalSourceReputation::write_changes() {
  std::vector<std::pair<SourceKey, SourceRecord>> written;
  std::vector<SourceKey> evicted;
  evicted.swap(pending_evicted_);
  table_.take_changes(written, evicted);
  try {
    file_->write(written, evicted);
  } catch (...) {
    table_.mark_again(written);  // written again, as they are then, next time
    // Evictions are kept to retry, up to the table's own size: past that the file keeps a few stale
    // records, which the next load decays or evicts.
    const std::size_t keep = std::min(evicted.size(), std::max<std::size_t>(table_.size(), 1));
    pending_evicted_.assign(evicted.end() - static_cast<std::ptrdiff_t>(keep), evicted.end());
    throw;
  }
}

void LocalSourceReputation::write_behind() {
  std::unique_lock lock(writer_mutex_);
  bool failing = false;
  int periods = 0;
  while (!writer_wake_.wait_for(lock, kWriteBehindPeriod, [this] { return stopping_; })) {
    lock.unlock();
    if (++periods % kSweepEvery == 0) sweep(Clock::now());
    try {
      flush();
      if (failing && warn_) warn_("writing source records to reputation.db works again");
      failing = false;
    } catch (const std::exception& e) {
      if (!failing && warn_) warn_(std::string("writing source records (retried every second): ") + e.what());
      failing = true;
    }
    lock.lock();
  }
}

std::unique_ptr<SourceReputation> open_local_reputation(const std::filesystem::path& file,
                                                        const store::HarvestDefenceConfig& config, WarningHandler warn) {
  return std::make_unique<LocalSourceReputation>(file, config, std::move(warn));
}

}  // namespace transport::reputation
