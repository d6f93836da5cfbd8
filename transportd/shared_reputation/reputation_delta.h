// ReputationDelta: what one node tells the others about sources (DESIGN §12): the events its sessions
// recorded and the records an administrator forgave. Nodes exchange them in batches, one Redis stream
// entry per batch, written as text lines so that `redis-cli XRANGE` shows an administrator what flows:
//   E <unix seconds> <event> <count> <tarpit seconds> <address>    an event (event: r a m h f)
//   F <filter>                                                     clear-sourcereputation FILTER
// Pure: no sockets, no clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/ip_range.h"
#include "transportd/reputation/source_reputation.h"

namespace transport::shared_reputation {

struct ReputationDelta {
  enum class Kind : std::uint8_t { event, forgive };
  Kind kind = Kind::event;
  // kind == event
  store::IpAddress client;
  reputation::Event event = reputation::Event::refused_recipient;
  std::uint32_t count = 0;
  std::chrono::seconds tarpit_interval{0};
  reputation::TimePoint happened{};  // whole seconds
  // kind == forgive: the filter as get-sourcereputation parses it ("*", a block, an address, a glob)
  std::string filter;

  static ReputationDelta of_event(const store::IpAddress& client, reputation::Event event, std::uint32_t count,
                                  std::chrono::seconds tarpit_interval, reputation::TimePoint happened);
  static ReputationDelta of_forgive(std::string filter);
};

// Appends one line for `delta` to `batch`.
void append(std::string& batch, const ReputationDelta& delta);

// The deltas of a batch, appended to `out`, in order. A line that is not a delta (another version's,
// or damaged) is skipped and counted: returns how many were skipped.
std::size_t parse_batch(std::string_view batch, std::vector<ReputationDelta>& out);

}  // namespace transport::shared_reputation
