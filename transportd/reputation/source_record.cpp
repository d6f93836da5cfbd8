// The scoring of one source record: decay, the standing rule, the level and the AUTH lockout.
#include "transportd/reputation/source_record.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace transport::reputation {

namespace {

float threshold(std::int64_t value, std::int64_t multiplier) {
  return static_cast<float>(std::max<std::int64_t>(value, 0)) * static_cast<float>(std::max<std::int64_t>(multiplier, 1));
}

Thresholds thresholds_from(const store::HarvestDefenceConfig& config, std::int64_t multiplier) {
  Thresholds t;
  t.suspect_refused = threshold(config.suspect_refused_recipients, multiplier);
  t.suspect_abandoned = threshold(config.suspect_abandoned_holds, multiplier);
  t.discredit_refused = threshold(config.discredit_refused_recipients, multiplier);
  t.discredit_abandoned = threshold(config.discredit_abandoned_holds, multiplier);
  t.discredit_percent = static_cast<float>(std::clamp<std::int64_t>(config.discredit_refusal_percent, 0, 100));
  return t;
}

// A count is a decayed sum of whole events: three events a few seconds apart add up to a little under
// 3, so a threshold is reached by the nearest whole number of events (within half an event). The
// hysteresis (scale < 1) compares plainly: it is where decay is meant to show.
constexpr float kHalfEvent = 0.5f;

// Whether a clause that is on holds: `count` reaches `limit * scale`.
bool reaches(float count, float limit, float scale) {
  if (limit <= 0) return false;
  return scale >= 1.0f ? count + kHalfEvent >= limit : count >= limit * scale;
}

bool discredits(const SourceRecord& r, const Thresholds& t, float scale) {
  if (reaches(r.abandoned, t.discredit_abandoned, scale)) return true;
  return reaches(r.refused, t.discredit_refused, scale) &&
         r.refused * 100.0f >= t.discredit_percent * (r.refused + r.accepted_total());
}

bool suspects(const SourceRecord& r, const Thresholds& t, float scale) {
  if (reaches(r.abandoned, t.suspect_abandoned, scale)) return true;
  return reaches(r.refused, t.suspect_refused, scale) && r.refused > r.accepted_total();
}

// Below this a count is gone: 1/64 of one event.
constexpr float kNothing = 1.0f / 64;

}  // namespace

Seconds to_seconds(TimePoint time) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
  return static_cast<Seconds>(std::clamp<std::int64_t>(s, 0, std::numeric_limits<Seconds>::max()));
}

TimePoint from_seconds(Seconds seconds) { return TimePoint(std::chrono::seconds(seconds)); }

Scoring scoring_from(const store::HarvestDefenceConfig& config) {
  Scoring s;
  s.half_life = static_cast<double>(std::max<std::int64_t>(config.half_life.seconds(), 1));
  s.address = thresholds_from(config, 1);
  s.prefix = thresholds_from(config, config.prefix_threshold_multiplier);
  s.auth_failure_threshold = static_cast<float>(std::max<std::int64_t>(config.auth_failure_threshold, 0));
  s.auth_lockout = static_cast<Seconds>(std::clamp<std::int64_t>(config.auth_lockout_interval.seconds(), 0, kMaxAuthLockout));
  return s;
}

void SourceRecord::decay_to(Seconds now, double half_life) {
  if (now <= updated) return;  // a clock that went back decays nothing
  const auto factor = [&](Seconds from) {
    return static_cast<float>(std::exp2(-static_cast<double>(now - from) / half_life));
  };
  const auto scale = [](float& count, float by) {
    count *= by;
    if (count < kNothing) count = 0;
  };
  const float by = factor(updated);
  for (float* count : {&refused, &accepted, &delivered, &abandoned, &auth_failures}) scale(*count, by);
  // Lockouts are forgotten from the end of the last one: a lockout longer than HalfLife must not
  // erase the memory that doubled it.
  if (lockouts != 0) scale(lockouts, factor(std::max(updated, std::min(auth_locked_until, now))));
  updated = now;
}

Standing SourceRecord::evaluate(const Thresholds& t) const {
  if (discredits(*this, t, 1.0f) || (standing == Standing::discredited && discredits(*this, t, 0.5f))) {
    return Standing::discredited;
  }
  if (suspects(*this, t, 1.0f) || (standing != Standing::clean && suspects(*this, t, 0.5f))) return Standing::suspect;
  return Standing::clean;
}

void SourceRecord::apply(Event event, std::uint32_t count, Seconds now, const Scoring& scoring,
                         const Thresholds& thresholds, bool address, float weight) {
  const Standing before = evaluate(thresholds);
  const float n = static_cast<float>(count) * weight;
  bool offence = false;
  switch (event) {
    case Event::refused_recipient:
      refused += n;
      offence = true;
      break;
    case Event::accepted_recipient: accepted += n; break;
    case Event::accepted_message: delivered += n; break;
    case Event::abandoned_hold:
      abandoned += n;
      offence = true;
      break;
    case Event::auth_failure:
      if (!address) break;
      auth_failures += n;
      offence = true;
      break;
  }
  const Standing after = evaluate(thresholds);
  if (after != Standing::discredited || before != Standing::discredited) {
    level = 0;  // entering Discredited starts at level 0; leaving it forgets the level
  } else if (offence) {
    level = static_cast<std::uint16_t>(std::min<std::uint32_t>(std::uint32_t{level} + count, kMaxLevel));
  }
  standing = after;
  last_seen = std::max(last_seen, now);

  // A lockout starts only when AUTH is open: failures during one are counted for the next, they do not
  // lengthen it. Each lockout doubles the next while its decayed weight is at least one half (about a
  // HalfLife), up to a day.
  if (event == Event::auth_failure && address && scoring.auth_failure_threshold > 0 && auth_locked_until <= now &&
      auth_failures + kHalfEvent >= scoring.auth_failure_threshold) {
    const auto doublings = static_cast<std::uint32_t>(std::floor(lockouts + 0.5f));
    std::uint64_t lock = scoring.auth_lockout;
    for (std::uint32_t i = 0; i < doublings && lock < kMaxAuthLockout; ++i) lock *= 2;
    lock = std::min<std::uint64_t>(lock, kMaxAuthLockout);
    auth_locked_until = static_cast<Seconds>(std::min<std::uint64_t>(std::uint64_t{now} + lock, std::numeric_limits<Seconds>::max()));
    lockouts += 1;
    auth_failures = 0;
  }
}

Judgement combine(const SourceRecord* address, const SourceRecord* prefix, const Scoring& scoring, Seconds now) {
  Judgement judgement;
  Standing address_standing = Standing::clean, prefix_standing = Standing::clean;
  std::uint32_t address_level = 0, prefix_level = 0;
  if (address != nullptr) {
    address_standing = address->evaluate(scoring.address);
    if (address_standing == Standing::discredited) address_level = address->level;
    if (address->auth_locked_until > now) judgement.auth_locked_until = from_seconds(address->auth_locked_until);
  }
  if (prefix != nullptr && !(address != nullptr && address->good_history())) {
    prefix_standing = prefix->evaluate(scoring.prefix);
    if (prefix_standing == Standing::discredited) prefix_level = prefix->level;
  }
  if (address_standing > prefix_standing) {
    judgement.standing = address_standing;
    judgement.level = address_level;
  } else if (prefix_standing > address_standing) {
    judgement.standing = prefix_standing;
    judgement.level = prefix_level;
  } else {
    judgement.standing = address_standing;
    judgement.level = std::max(address_level, prefix_level);
  }
  return judgement;
}

bool SourceRecord::negligible(Seconds now) const {
  return refused == 0 && accepted == 0 && delivered == 0 && abandoned == 0 && auth_failures == 0 && lockouts == 0 &&
         auth_locked_until <= now;
}

}  // namespace transport::reputation
