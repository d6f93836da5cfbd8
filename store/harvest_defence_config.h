// HarvestDefenceConfig: the server-wide settings of the harvest defence (DESIGN §10), one per server,
// kept in the configuration database and shown by get-/set-harvestdefenceconfig. What the numbers mean
// and why these defaults: docs/harvest-defence.md.
#pragma once

#include <cstdint>
#include <vector>

#include "store/ip_range.h"
#include "store/time_span.h"

namespace transport::store {

struct HarvestDefenceConfig {
  // Off: every connector behaves as Exchange's fixed tarpit; nothing is remembered or limited.
  bool enabled = true;
  // Every count of a source record halves in this time: a source that stops misbehaving recovers.
  TimeSpan half_life = TimeSpan::from_seconds(3600);

  // An address is Suspect from this many refused recipients, when they outnumber its accepted ones.
  std::int64_t suspect_refused_recipients = 5;
  // ... or from this many abandoned holds (the client hung up while a reply was being held).
  std::int64_t suspect_abandoned_holds = 1;
  // An address is Discredited from this many refused recipients, when they are at least
  // discredit_refusal_percent of its recipient verdicts (refused + accepted) ...
  std::int64_t discredit_refused_recipients = 25;
  std::int64_t discredit_refusal_percent = 80;
  // ... or from this many abandoned holds.
  std::int64_t discredit_abandoned_holds = 3;
  // A prefix record's thresholds are the address thresholds times this.
  std::int64_t prefix_threshold_multiplier = 3;
  // The prefixes addresses are grouped by.
  std::int64_t ipv4_prefix_length = 24;
  std::int64_t ipv6_prefix_length = 64;
  // Concurrent connections a Discredited source (address, or its prefix) may hold; more get 421 4.3.2.
  std::int64_t discredited_max_connections = 2;

  // Failed AUTH attempts (decayed) from one address after which its AUTH is refused (454 4.7.0) ...
  std::int64_t auth_failure_threshold = 10;
  // ... for this long, doubling with each further lockout (up to a day).
  TimeSpan auth_lockout_interval = TimeSpan::from_seconds(60);

  // How many source records are kept in memory; the least valuable are evicted first.
  std::int64_t max_source_records = 1'000'000;
  // Clients in these ranges are never judged: their sessions see Exchange's fixed tarpit.
  std::vector<IpRange> exempt_remote_ip_ranges;
};

}  // namespace transport::store
