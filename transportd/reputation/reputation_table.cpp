// The striped open-addressing table of source records: lookup, insertion with eviction, deletion by
// backward shift (no tombstones), and the marks the write-behind collects.
#include "transportd/reputation/reputation_table.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace transport::reputation {

namespace {

// Slots per record at most: a linear-probing table stays fast up to this load.
constexpr double kMaxLoad = 0.8;
// A stripe's share of the bound is widened by this, so that the bound itself, not an unlucky stripe,
// decides when to evict (64 stripes of 15,625 records vary by about 1 %).
constexpr double kStripeSlack = 1.04;
constexpr std::size_t kMaxDirtyKeys = 4096;
constexpr std::size_t kFirstCapacity = 64;  // one page
// Records looked at to choose one to evict.
constexpr int kEvictionSample = 8;

std::uint64_t next_random(std::uint64_t& state) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

int rank(const SourceRecord& r, Seconds now) {
  int standing = static_cast<int>(r.standing);
  if (r.auth_locked_until > now) standing = std::max(standing, 1);
  return standing;
}

// What is left of the record's evidence after decay: more is worth keeping.
double evidence(const SourceRecord& r, Seconds now, double half_life) {
  const double total = static_cast<double>(r.refused) + r.accepted + r.delivered + r.abandoned + r.auth_failures + r.lockouts;
  const double age = now > r.updated ? static_cast<double>(now - r.updated) : 0.0;
  return total * std::exp2(-age / half_life);
}

// True when a is less valuable than b.
bool less_valuable(const SourceRecord& a, const SourceRecord& b, Seconds now, double half_life) {
  const int ra = rank(a, now), rb = rank(b, now);
  if (ra != rb) return ra < rb;
  const double ea = evidence(a, now, half_life), eb = evidence(b, now, half_life);
  if (ea != eb) return ea < eb;
  return a.last_seen < b.last_seen;
}

std::size_t stripe_count(std::size_t max_records, std::size_t requested) {
  std::size_t wanted = requested != 0 ? requested : std::clamp<std::size_t>(max_records / 4096, 1, 64);
  std::size_t count = 1;
  while (count * 2 <= wanted && count < 64) count *= 2;
  return count;
}

std::size_t stripe_limit(std::size_t max_records, std::size_t stripes) {
  if (stripes == 1) return max_records;
  return static_cast<std::size_t>(std::ceil(static_cast<double>(max_records) / static_cast<double>(stripes) * kStripeSlack)) + 8;
}

}  // namespace

ReputationTable::ReputationTable(std::size_t max_records, std::size_t stripes) {
  std::random_device device;
  seed_ = (static_cast<std::uint64_t>(device()) << 32) ^ device();
  const std::size_t count = stripe_count(max_records, stripes);
  stripe_mask_ = count - 1;
  for (std::size_t i = 0; i < count; ++i) {
    auto stripe = std::make_unique<Stripe>();
    stripe->seed = &seed_;
    stripe->total = &total_;
    stripe->max_total = std::max<std::size_t>(max_records, 1);
    stripe->limit = stripe_limit(stripe->max_total, count);
    stripe->random ^= seed_ + i * 0x632be59bd9b4e019ULL;
    if (stripe->random == 0) stripe->random = 1;
    stripes_.push_back(std::move(stripe));
  }
}

void ReputationTable::set_max_records(std::size_t max_records, Seconds now, double half_life) {
  const std::size_t count = stripes_.size();
  for (auto& stripe : stripes_) {
    std::lock_guard lock(stripe->mutex);
    stripe->max_total = std::max<std::size_t>(max_records, 1);
    stripe->limit = stripe_limit(stripe->max_total, count);
    // Down to an even share at once; the stripes' unevenness is for growing into, not for keeping.
    const std::size_t share = std::max<std::size_t>(1, stripe->max_total / count);
    while (stripe->size > share) stripe->evict_one(now, half_life);
  }
}

void ReputationTable::load(const SourceKey& key, const SourceRecord& record, Seconds now, double half_life) {
  const std::uint64_t h = hash(key, seed_);
  Stripe& stripe = stripe_of(h);
  std::lock_guard lock(stripe.mutex);
  Entry& entry = stripe.find_or_insert(key, h, now, half_life);
  --stripe.by_standing[static_cast<int>(entry.record.standing)];
  entry.record = record;
  entry.record.flags = 0;
  ++stripe.by_standing[static_cast<int>(entry.record.standing)];
}

void ReputationTable::take_changes(std::vector<std::pair<SourceKey, SourceRecord>>& written,
                                   std::vector<SourceKey>& evicted) {
  for (auto& stripe : stripes_) {
    std::lock_guard lock(stripe->mutex);
    if (stripe->dirty_overflowed) {
      for (Entry& entry : stripe->slots) {
        if (entry.family == 0 || (entry.record.flags & kDirty) == 0) continue;
        entry.record.flags &= static_cast<std::uint8_t>(~kDirty);
        written.emplace_back(entry.key(), entry.record);
      }
    } else {
      for (const SourceKey& key : stripe->dirty) {
        const std::uint64_t h = hash(key, seed_);
        auto* entry = const_cast<Entry*>(stripe->find(key, h));
        if (entry == nullptr || (entry->record.flags & kDirty) == 0) continue;  // evicted or forgiven since
        entry->record.flags &= static_cast<std::uint8_t>(~kDirty);
        written.emplace_back(key, entry->record);
      }
    }
    stripe->dirty.clear();  // keeps its capacity: marking stays allocation-free
    stripe->dirty_overflowed = false;
    evicted.insert(evicted.end(), stripe->evicted.begin(), stripe->evicted.end());
    stripe->evicted.clear();
  }
}

void ReputationTable::mark_again(const std::vector<std::pair<SourceKey, SourceRecord>>& written) {
  for (const auto& [key, record] : written) {
    const std::uint64_t h = hash(key, seed_);
    Stripe& stripe = stripe_of(h);
    std::lock_guard lock(stripe.mutex);
    if (const Entry* entry = stripe.find(key, h)) {
      auto& mutable_entry = *const_cast<Entry*>(entry);
      stripe.touched(mutable_entry, mutable_entry.record.standing);
    }
  }
}

ReputationTable::Counts ReputationTable::counts() const {
  Counts counts;
  for (const auto& stripe : stripes_) {
    std::lock_guard lock(stripe->mutex);
    counts.clean += stripe->by_standing[0];
    counts.suspect += stripe->by_standing[1];
    counts.discredited += stripe->by_standing[2];
  }
  return counts;
}

std::size_t ReputationTable::size() const {
  std::size_t total = 0;
  for (const auto& stripe : stripes_) {
    std::lock_guard lock(stripe->mutex);
    total += stripe->size;
  }
  return total;
}

std::size_t ReputationTable::slot_bytes() const {
  std::size_t total = 0;
  for (const auto& stripe : stripes_) {
    std::lock_guard lock(stripe->mutex);
    total += stripe->slots.size() * sizeof(Entry);
  }
  return total;
}

const ReputationTable::Entry* ReputationTable::Stripe::find(const SourceKey& key, std::uint64_t h) const {
  if (slots.empty()) return nullptr;
  for (std::size_t i = home(h);; i = i + 1 == slots.size() ? 0 : i + 1) {
    const Entry& entry = slots[i];
    if (entry.family == 0) return nullptr;
    if (entry.lo == key.lo && entry.hi == key.hi && entry.family == key.family && entry.length == key.length) {
      return &entry;
    }
  }
}

ReputationTable::Entry& ReputationTable::Stripe::find_or_insert(const SourceKey& key, std::uint64_t h, Seconds now,
                                                                double half_life) {
  if (const Entry* found = find(key, h)) return *const_cast<Entry*>(found);
  while (size > 0 && (size >= limit || total->load(std::memory_order_relaxed) >= max_total)) evict_one(now, half_life);
  if (static_cast<double>(size + 1) > kMaxLoad * static_cast<double>(slots.size())) grow();
  std::size_t i = home(h);
  while (slots[i].family != 0) i = i + 1 == slots.size() ? 0 : i + 1;
  Entry& entry = slots[i];
  entry = Entry{};
  entry.hi = key.hi;
  entry.lo = key.lo;
  entry.family = key.family;
  entry.length = key.length;
  entry.record.updated = now;
  ++size;
  total->fetch_add(1, std::memory_order_relaxed);
  ++by_standing[0];
  return entry;
}

void ReputationTable::Stripe::touched(Entry& entry, Standing before) {
  if (entry.record.standing != before) {
    --by_standing[static_cast<int>(before)];
    ++by_standing[static_cast<int>(entry.record.standing)];
  }
  if ((entry.record.flags & kDirty) == 0) {
    entry.record.flags |= kDirty;
    if (dirty.size() < kMaxDirtyKeys) {
      dirty.push_back(entry.key());
    } else {
      dirty_overflowed = true;
    }
  }
}

void ReputationTable::Stripe::erase_at(std::size_t index, bool evicting) {
  Entry& gone = slots[index];
  if (evicting) evicted.push_back(gone.key());
  --by_standing[static_cast<int>(gone.record.standing)];
  --size;
  total->fetch_sub(1, std::memory_order_relaxed);
  // Backward shift: pull later entries of the same probe run into the hole, so lookups never need
  // tombstones.
  const std::size_t capacity = slots.size();
  std::size_t hole = index;
  for (std::size_t j = hole + 1 == capacity ? 0 : hole + 1; slots[j].family != 0; j = j + 1 == capacity ? 0 : j + 1) {
    const std::size_t want = home(hash(slots[j].key(), *seed));
    const std::size_t from_home = (j + capacity - want) % capacity;
    const std::size_t from_hole = (j + capacity - hole) % capacity;
    if (from_home >= from_hole) {
      slots[hole] = slots[j];
      hole = j;
    }
  }
  slots[hole] = Entry{};
}

void ReputationTable::Stripe::evict_one(Seconds now, double half_life) {
  if (size == 0) return;
  const std::size_t capacity = slots.size();
  std::size_t i = static_cast<std::size_t>(next_random(random) % capacity);
  std::size_t victim = capacity;
  for (int seen = 0; seen < kEvictionSample;) {
    if (slots[i].family != 0) {
      if (victim == capacity || less_valuable(slots[i].record, slots[victim].record, now, half_life)) victim = i;
      if (++seen == static_cast<int>(size)) break;
    }
    i = i + 1 == capacity ? 0 : i + 1;
  }
  if (slots[victim].record.standing == Standing::discredited && by_standing[0] + by_standing[1] > 0) {
    // The sample was all Discredited but the stripe is not: walk on to the first record that is not.
    while (slots[i].family == 0 || slots[i].record.standing == Standing::discredited) i = i + 1 == capacity ? 0 : i + 1;
    victim = i;
  }
  erase_at(victim, true);
}

std::size_t ReputationTable::Stripe::capacity_for_limit() const {
  return static_cast<std::size_t>(std::ceil(static_cast<double>(limit) / kMaxLoad)) + 1;
}

void ReputationTable::Stripe::grow() {
  // Doubling, but never past what the limit needs: the last step lands exactly there.
  const std::size_t target = std::max(capacity_for_limit(), size + 2);
  std::size_t capacity = slots.empty() ? kFirstCapacity : std::min(slots.size() * 2, target);
  if (capacity <= slots.size()) capacity = slots.size() * 2;
  SlotArray<Entry> old(capacity);
  old.swap(slots);
  for (const Entry& entry : old) {
    if (entry.family == 0) continue;
    std::size_t i = home(hash(entry.key(), *seed));
    while (slots[i].family != 0) i = i + 1 == slots.size() ? 0 : i + 1;
    slots[i] = entry;
  }
}

}  // namespace transport::reputation
