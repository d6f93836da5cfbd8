// SourceRecord: the pure scoring of one address or prefix (DESIGN §10). Decaying counts, the
// Clean / Suspect / Discredited rule with its hysteresis, the level, and the AUTH lockout. Every
// function takes the time; nothing here locks, allocates or reads a clock.
#pragma once

#include <cstdint>

#include "store/harvest_defence_config.h"
#include "transportd/reputation/source_reputation.h"

namespace transport::reputation {

// Seconds since the Unix epoch: 32 bits keep a record small and last until 2106.
using Seconds = std::uint32_t;
Seconds to_seconds(TimePoint time);
TimePoint from_seconds(Seconds seconds);

// The count thresholds of one kind of record; a threshold of 0 or less turns its clause off.
struct Thresholds {
  float suspect_refused = 0;
  float suspect_abandoned = 0;
  float discredit_refused = 0;
  float discredit_abandoned = 0;
  float discredit_percent = 0;  // of refused + accepted
};

// HarvestDefenceConfig in the form the scoring uses it.
struct Scoring {
  double half_life = 3600;  // seconds
  Thresholds address;
  Thresholds prefix;  // the address's counts times prefix_threshold_multiplier, the percentage unchanged
  float auth_failure_threshold = 10;
  Seconds auth_lockout = 60;
};
Scoring scoring_from(const store::HarvestDefenceConfig& config);

// Longest AUTH lockout, however many came before.
inline constexpr Seconds kMaxAuthLockout = 86400;
// The level stops counting here: 2^16 doublings of any interval are far past kMaxHold.
inline constexpr std::uint16_t kMaxLevel = 0xffff;

struct SourceRecord {
  // Decayed counts as of `updated`.
  float refused = 0;        // refused recipients
  float accepted = 0;       // accepted recipients (RCPT 250)
  float delivered = 0;      // recipients of accepted messages, counted again on top of their RCPT
  float abandoned = 0;      // abandoned holds
  float auth_failures = 0;  // failed AUTH since the last lockout (address records only)
  float lockouts = 0;       // AUTH lockouts so far (decaying): each doubles the next
  Seconds updated = 0;      // when the counts were last decayed
  Seconds last_seen = 0;    // the last event
  Seconds auth_locked_until = 0;
  std::uint16_t level = 0;     // offences since it became Discredited
  std::uint16_t tarpit_interval = 0;  // seconds: the TarpitInterval the source last met
  Standing standing = Standing::clean;  // as last judged: the hysteresis starts from it
  std::uint8_t flags = 0;      // the table's bookkeeping (dirty)

  // What the rule weighs against refusals: a recipient of a delivered message counts twice, an
  // accepted RCPT alone once, so a harvester's valid guesses do not buy it much.
  float accepted_total() const { return accepted + delivered; }
  // Enough accepted mail of its own that an address is judged without its prefix.
  bool good_history() const { return accepted_total() > refused && accepted_total() >= 3; }

  // Counts halved every half_life seconds since `updated`, and `updated` moved to now.
  void decay_to(Seconds now, double half_life);
  // The standing the current counts give: a record enters a state at its thresholds and keeps it
  // until its counts fall below half of them (the refusal ratio itself stays as it was).
  Standing evaluate(const Thresholds& thresholds) const;
  // Adds `count` events that happened at `now` and re-judges the record: the level grows by `count`
  // for each offence while Discredited, and is 0 otherwise. AUTH failures count only when `address` is
  // true; reaching the threshold locks AUTH from `now`. The record must be decayed to the present;
  // `weight` (at most 1) is what decay has left of events reported late (another node's, DESIGN §12).
  void apply(Event event, std::uint32_t count, Seconds now, const Scoring& scoring, const Thresholds& thresholds,
             bool address, float weight = 1.0f);
  // Whether the counts have decayed to nothing worth keeping (at `updated`).
  bool negligible(Seconds now) const;
};
static_assert(sizeof(SourceRecord) <= 44, "a record must stay small: 1,000,000 of them in 128 MiB");

// A client's judgement from copies of its address and prefix records, each already decayed to `now`
// (null when it has none). An address with good history is judged by itself; otherwise the worse
// standing decides, and the level is that record's (the higher one when both stand equal). AUTH is
// locked by the address record alone.
Judgement combine(const SourceRecord* address, const SourceRecord* prefix, const Scoring& scoring, Seconds now);

}  // namespace transport::reputation
