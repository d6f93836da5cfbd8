// The uniqueness rule for Bindings + RemoteIPRanges (DESIGN §3).
#include "store/binding_conflicts.h"

#include <algorithm>
#include <vector>

namespace transport::store {

namespace {

enum class Sharing { none, same_binding, wildcard_and_specific };

Sharing how_bindings_share(const Binding& a, const Binding& b) {
  if (a.port != b.port || a.address.family() != b.address.family()) return Sharing::none;
  if (a.address == b.address) return Sharing::same_binding;
  if (a.is_wildcard() != b.is_wildcard()) return Sharing::wildcard_and_specific;
  return Sharing::none;
}

struct RangeConflict {
  const IpRange* mine;
  const IpRange* theirs;
  bool equal;
};

// Both lists are disjoint (validate() holds each connector to that), so sorted by first address they
// are sorted by last address too, and the entries of `theirs` that meet one of `mine` form one run:
// a binary search finds its start. Linear in the entries that meet, instead of every pair.
std::optional<RangeConflict> find_range_conflict(const std::vector<const IpRange*>& mine,
                                                 const std::vector<const IpRange*>& theirs, bool equal_conflicts) {
  for (const IpRange* a : mine) {
    auto b = std::partition_point(theirs.begin(), theirs.end(),
                                  [a](const IpRange* range) { return range->last() < a->first(); });
    for (; b != theirs.end() && (*b)->first() <= a->last(); ++b) {
      const bool equal = equal_conflicts && *a == **b;
      if (equal || a->partially_overlaps(**b)) return RangeConflict{a, *b, equal};
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> find_binding_conflict(std::span<const ReceiveConnector> connectors,
                                                 const ReceiveConnector& candidate) {
  const std::vector<const IpRange*> mine = sorted_by_first(candidate.remote_ip_ranges);
  for (const ReceiveConnector& other : connectors) {
    if (&other == &candidate || (candidate.id != 0 && other.id == candidate.id)) continue;
    std::optional<std::vector<const IpRange*>> theirs;  // sorted only when a Binding is shared
    for (const Binding& my_binding : candidate.bindings) {
      for (const Binding& their_binding : other.bindings) {
        Sharing sharing = how_bindings_share(my_binding, their_binding);
        if (sharing == Sharing::none) continue;
        if (!theirs) theirs = sorted_by_first(other.remote_ip_ranges);
        if (auto conflict = find_range_conflict(mine, *theirs, sharing == Sharing::same_binding)) {
          return "RemoteIPRanges " + conflict->mine->to_string() +
                 (conflict->equal ? " equals " : " partially overlaps ") + conflict->theirs->to_string() +
                 " of connector \"" + other.name + "\" on Binding " + their_binding.to_string() +
                 ": ranges on one Binding must be disjoint or nested";
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace transport::store
