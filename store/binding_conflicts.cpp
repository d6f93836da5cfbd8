// The uniqueness rule for Bindings + RemoteIPRanges (DESIGN §3).
#include "store/binding_conflicts.h"

namespace transport::store {

namespace {

enum class Sharing { none, same_binding, wildcard_and_specific };

Sharing how_bindings_share(const Binding& a, const Binding& b) {
  if (a.port != b.port || a.address.family() != b.address.family()) return Sharing::none;
  if (a.address == b.address) return Sharing::same_binding;
  if (a.is_wildcard() != b.is_wildcard()) return Sharing::wildcard_and_specific;
  return Sharing::none;
}

}  // namespace

std::optional<std::string> find_binding_conflict(std::span<const ReceiveConnector> connectors,
                                                 const ReceiveConnector& candidate) {
  for (const ReceiveConnector& other : connectors) {
    if (&other == &candidate || (candidate.id != 0 && other.id == candidate.id)) continue;
    for (const Binding& mine : candidate.bindings) {
      for (const Binding& theirs : other.bindings) {
        Sharing sharing = how_bindings_share(mine, theirs);
        if (sharing == Sharing::none) continue;
        for (const IpRange& a : candidate.remote_ip_ranges) {
          for (const IpRange& b : other.remote_ip_ranges) {
            bool equal = sharing == Sharing::same_binding && a == b;
            if (!equal && !a.partially_overlaps(b)) continue;
            return "RemoteIPRanges " + a.to_string() + (equal ? " equals " : " partially overlaps ") +
                   b.to_string() + " of connector \"" + other.name + "\" on Binding " + theirs.to_string() +
                   ": ranges on one Binding must be disjoint or nested";
          }
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace transport::store
