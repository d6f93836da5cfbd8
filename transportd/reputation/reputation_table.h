// ReputationTable: the bounded in-memory set of source records, shared by every I/O thread.
// Striped locks (a lock is held for one lookup, never two at once); each stripe is an open-addressing
// table of 64-byte entries, so 1,000,000 records take about 85 MiB (measured by reputation_memory).
// When a stripe is full the least valuable record of a small sample is evicted: Clean before Suspect
// before Discredited, then the least evidence left after decay, then the longest unseen; a Discredited
// record only when its stripe holds nothing else.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "transportd/reputation/slot_array.h"
#include "transportd/reputation/source_key.h"
#include "transportd/reputation/source_record.h"

namespace transport::reputation {

class ReputationTable {
 public:
  // `stripes` 0 chooses from max_records: one stripe per 4096 records, a power of two from 1 to 64.
  explicit ReputationTable(std::size_t max_records, std::size_t stripes = 0);
  ReputationTable(const ReputationTable&) = delete;
  ReputationTable& operator=(const ReputationTable&) = delete;

  // A new bound; a smaller one evicts down to it at once.
  void set_max_records(std::size_t max_records, Seconds now, double half_life);

  // Calls fn(SourceRecord&) on the record of `key`, created empty when absent (evicting the least
  // valuable first when the stripe is full), and marks it for the next write-behind. Returns fn's result.
  template <class F>
  auto update(const SourceKey& key, Seconds now, double half_life, F&& fn) {
    const std::uint64_t h = hash(key, seed_);
    Stripe& stripe = stripe_of(h);
    std::lock_guard lock(stripe.mutex);
    Entry& entry = stripe.find_or_insert(key, h, now, half_life);
    const Standing before = entry.record.standing;
    struct Restore {  // keeps the counts by standing and the dirty mark right whatever fn does
      Stripe& stripe;
      Entry& entry;
      Standing before;
      ~Restore() { stripe.touched(entry, before); }
    } restore{stripe, entry, before};
    return fn(entry.record);
  }

  // Calls fn(const SourceRecord&) when `key` has a record; false when it has none.
  template <class F>
  bool read(const SourceKey& key, F&& fn) const {
    const std::uint64_t h = hash(key, seed_);
    const Stripe& stripe = stripe_of(h);
    std::lock_guard lock(stripe.mutex);
    const Entry* entry = stripe.find(key, h);
    if (entry == nullptr) return false;
    fn(static_cast<const SourceRecord&>(entry->record));
    return true;
  }

  // fn(const SourceKey&, const SourceRecord&) for every record, one stripe locked at a time.
  template <class F>
  void for_each(F&& fn) const {
    for (const auto& stripe : stripes_) {
      std::lock_guard lock(stripe->mutex);
      for (const Entry& entry : stripe->slots) {
        if (entry.family != 0) fn(entry.key(), entry.record);
      }
    }
  }

  // fn(const SourceKey&, SourceRecord&) for every record, one stripe locked at a time; a record whose
  // standing fn changes is counted anew and marked for writing.
  template <class F>
  void sweep(F&& fn) {
    for (auto& stripe : stripes_) {
      std::lock_guard lock(stripe->mutex);
      for (Entry& entry : stripe->slots) {
        if (entry.family == 0) continue;
        const Standing before = entry.record.standing;
        fn(static_cast<const SourceKey&>(entry.key()), entry.record);
        if (entry.record.standing != before) stripe->touched(entry, before);
      }
    }
  }

  // Removes the records pred(key, record) names; returns their keys. Not marked for the write-behind:
  // the caller deletes them from the file itself.
  template <class P>
  std::vector<SourceKey> erase_if(P&& pred) {
    std::vector<SourceKey> erased;
    for (auto& stripe : stripes_) {
      std::lock_guard lock(stripe->mutex);
      for (std::size_t i = 0; i < stripe->slots.size();) {
        Entry& entry = stripe->slots[i];
        if (entry.family != 0 && pred(entry.key(), static_cast<const SourceRecord&>(entry.record))) {
          erased.push_back(entry.key());
          stripe->erase_at(i, false);  // the next entry may have moved into i: look at it again
        } else {
          ++i;
        }
      }
    }
    return erased;
  }

  // A record read from the file at start: not marked for writing.
  void load(const SourceKey& key, const SourceRecord& record, Seconds now, double half_life);

  // The records marked since the last call, as they are now, and the keys evicted since; the marks
  // are cleared.
  void take_changes(std::vector<std::pair<SourceKey, SourceRecord>>& written, std::vector<SourceKey>& evicted);

  // Marks these records again (when writing them failed); keys no longer present are skipped.
  void mark_again(const std::vector<std::pair<SourceKey, SourceRecord>>& written);

  struct Counts {
    std::uint64_t clean = 0, suspect = 0, discredited = 0;
  };
  Counts counts() const;  // by the standing each record was last judged at
  std::size_t size() const;
  // Bytes the slot arrays take (the bulk of the table's memory).
  std::size_t slot_bytes() const;

 private:
  struct Entry {
    std::uint64_t hi = 0, lo = 0;
    SourceRecord record;
    std::uint8_t family = 0;  // 0: the slot is empty
    std::uint8_t length = 0;
    SourceKey key() const { return SourceKey{hi, lo, family, length}; }
  };
  static_assert(sizeof(Entry) == 64, "an entry is one cache line");
  static constexpr std::uint8_t kDirty = 1;

  struct Stripe {
    mutable std::mutex mutex;
    SlotArray<Entry> slots;
    std::size_t size = 0;
    std::size_t limit = 0;  // the stripe's share of the bound, with room for the hash's unevenness
    std::uint64_t by_standing[3] = {0, 0, 0};
    // Keys marked since the last write-behind, up to kMaxDirtyKeys; past that the write-behind looks
    // for marked slots instead, so a burst of new sources costs no memory here.
    std::vector<SourceKey> dirty;
    bool dirty_overflowed = false;
    std::vector<SourceKey> evicted;  // keys evicted since the last write-behind
    std::uint64_t random = 0x9e3779b97f4a7c15ULL;
    const std::uint64_t* seed = nullptr;
    std::atomic<std::size_t>* total = nullptr;  // records in all stripes
    std::size_t max_total = 0;

    std::size_t home(std::uint64_t h) const {
      return static_cast<std::size_t>((static_cast<unsigned __int128>(h) * slots.size()) >> 64);
    }
    const Entry* find(const SourceKey& key, std::uint64_t h) const;
    Entry& find_or_insert(const SourceKey& key, std::uint64_t h, Seconds now, double half_life);
    void touched(Entry& entry, Standing before);
    void erase_at(std::size_t index, bool evicting);
    void evict_one(Seconds now, double half_life);
    void grow();
    std::size_t capacity_for_limit() const;
  };

  Stripe& stripe_of(std::uint64_t h) { return *stripes_[static_cast<std::size_t>(h & stripe_mask_)]; }
  const Stripe& stripe_of(std::uint64_t h) const { return *stripes_[static_cast<std::size_t>(h & stripe_mask_)]; }

  std::uint64_t seed_;
  std::uint64_t stripe_mask_;
  std::atomic<std::size_t> total_{0};
  std::vector<std::unique_ptr<Stripe>> stripes_;
};

}  // namespace transport::reputation
