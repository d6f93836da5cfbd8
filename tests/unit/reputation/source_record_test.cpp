// The scoring of one record with a fake clock: thresholds, hysteresis, decay, level, AUTH lockout,
// and the targets for legitimate senders and harvesters.
#include "transportd/reputation/source_record.h"

#include <gtest/gtest.h>

#include "tests/unit/reputation/reputation_test_support.h"

namespace transport::reputation {
namespace {

constexpr Seconds kStart = 1'800'000'000;

class Scored {
 public:
  explicit Scored(store::HarvestDefenceConfig config = {}, bool prefix = false)
      : scoring_(scoring_from(config)), prefix_(prefix) {}

  Standing add(Event event, std::uint32_t count = 1) {
    record_.decay_to(now_, scoring_.half_life);
    record_.apply(event, count, now_, scoring_, thresholds(), !prefix_);
    return record_.standing;
  }
  // The standing after `seconds` more with no event.
  Standing after(Seconds seconds) {
    now_ += seconds;
    SourceRecord copy = record_;
    copy.decay_to(now_, scoring_.half_life);
    return copy.evaluate(thresholds());
  }
  void wait(Seconds seconds) { now_ += seconds; }
  const SourceRecord& record() const { return record_; }
  Seconds now() const { return now_; }

 private:
  const Thresholds& thresholds() const { return prefix_ ? scoring_.prefix : scoring_.address; }
  Scoring scoring_;
  bool prefix_;
  SourceRecord record_{.updated = kStart};
  Seconds now_ = kStart;
};

store::HarvestDefenceConfig half_life(std::int64_t seconds) {
  store::HarvestDefenceConfig config;
  config.half_life = store::TimeSpan::from_seconds(seconds);
  return config;
}

TEST(SourceRecord, OneBadRecipientIsNotSuspect) {
  Scored source;
  EXPECT_EQ(source.add(Event::refused_recipient), Standing::clean);
  // Nor one bad recipient among ten in a message.
  Scored sender;
  sender.add(Event::accepted_recipient, 9);
  sender.add(Event::refused_recipient);
  EXPECT_EQ(sender.add(Event::accepted_message, 9), Standing::clean);
}

TEST(SourceRecord, ThreePercentStaleRecipientsOverAnHourStayClean) {
  // Steady mail at several rates, 3 % of recipients stale, the stale ones coming first (the worst case).
  for (const int recipients_per_hour : {40, 100, 1000, 10000}) {
    Scored sender;
    const Seconds gap = 3600 / static_cast<Seconds>(recipients_per_hour);
    int stale_owed = 0;
    for (int i = 0; i < recipients_per_hour; ++i) {
      sender.wait(gap);
      if (i % 100 < 3 && stale_owed < 3 * recipients_per_hour / 100 + 1) {
        ++stale_owed;
        ASSERT_EQ(sender.add(Event::refused_recipient), Standing::clean) << recipients_per_hour << "/h at " << i;
      } else {
        sender.add(Event::accepted_recipient);
        ASSERT_EQ(sender.add(Event::accepted_message), Standing::clean) << recipients_per_hour << "/h at " << i;
      }
    }
  }
}

TEST(SourceRecord, AHarvesterWithFivePercentValidGuessesIsDiscreditedWithinAbout25Refusals) {
  Scored harvester;
  int refusals = 0;
  for (int guess = 1; harvester.record().standing != Standing::discredited; ++guess) {
    harvester.wait(1);  // one guess a second: decay barely helps it
    if (guess % 20 == 0) {
      harvester.add(Event::accepted_recipient);
    } else {
      harvester.add(Event::refused_recipient);
      ++refusals;
    }
    if (refusals == 6) {  // five, less a little decay, and one more
      EXPECT_EQ(harvester.record().standing, Standing::suspect);
    }
    ASSERT_LE(refusals, 27);
  }
  EXPECT_GE(refusals, 25);
}

TEST(SourceRecord, AbandonedHolds) {
  Scored source;
  EXPECT_EQ(source.add(Event::abandoned_hold), Standing::suspect);
  EXPECT_EQ(source.add(Event::abandoned_hold), Standing::suspect);
  EXPECT_EQ(source.add(Event::abandoned_hold), Standing::discredited);
  EXPECT_EQ(source.record().level, 0u);
}

TEST(SourceRecord, RefusalsNeedTheRatio) {
  // 30 refused against 10 accepted RCPTs with messages (20 by the rule's weighting): 60 % < 80 %.
  Scored source;
  source.add(Event::accepted_recipient, 10);
  source.add(Event::accepted_message, 10);
  EXPECT_EQ(source.add(Event::refused_recipient, 30), Standing::suspect);
  // The same accepted RCPTs without messages count half as much: 30 / 40 = 75 %, still under 80 %;
  // 40 / 50 = 80 % is enough.
  Scored rcpt_only;
  rcpt_only.add(Event::accepted_recipient, 10);
  EXPECT_EQ(rcpt_only.add(Event::refused_recipient, 30), Standing::suspect);
  EXPECT_EQ(rcpt_only.add(Event::refused_recipient, 10), Standing::discredited);
  // Suspect needs refusals to outnumber acceptances.
  Scored busy;
  busy.add(Event::accepted_recipient, 6);
  EXPECT_EQ(busy.add(Event::refused_recipient, 6), Standing::clean);
  EXPECT_EQ(busy.add(Event::refused_recipient), Standing::suspect);
}

TEST(SourceRecord, PrefixThresholdsAreMultiplied) {
  Scored prefix({}, true);
  EXPECT_EQ(prefix.add(Event::refused_recipient, 14), Standing::clean);
  EXPECT_EQ(prefix.add(Event::refused_recipient), Standing::suspect);  // 15 = 5 × 3
  EXPECT_EQ(prefix.add(Event::refused_recipient, 59), Standing::suspect);
  EXPECT_EQ(prefix.add(Event::refused_recipient), Standing::discredited);  // 75 = 25 × 3
  Scored held({}, true);
  EXPECT_EQ(held.add(Event::abandoned_hold, 2), Standing::clean);
  EXPECT_EQ(held.add(Event::abandoned_hold), Standing::suspect);
  EXPECT_EQ(held.add(Event::abandoned_hold, 6), Standing::discredited);  // 9 = 3 × 3
  // AUTH failures are counted on address records only.
  Scored guessed({}, true);
  guessed.add(Event::auth_failure, 50);
  EXPECT_EQ(guessed.record().auth_failures, 0.0f);
  EXPECT_EQ(guessed.record().auth_locked_until, 0u);
}

TEST(SourceRecord, DecaysToCleanAfterTheDocumentedTime) {
  // HalfLife 2 s. Discredited by 25 refusals: Discredited while refused >= 12.5 (one HalfLife),
  // Suspect while >= 2.5 (log2(10) = 3.32 HalfLives), Clean after 6.64 s.
  Scored refused(half_life(2));
  refused.add(Event::refused_recipient, 25);
  ASSERT_EQ(refused.record().standing, Standing::discredited);
  EXPECT_EQ(refused.after(2), Standing::discredited);
  EXPECT_EQ(refused.after(1), Standing::suspect);  // 3 s
  EXPECT_EQ(refused.after(3), Standing::suspect);  // 6 s
  EXPECT_EQ(refused.after(1), Standing::clean);    // 7 s

  // Discredited by 3 abandoned holds: until below 1.5 (2 s), Suspect until below 0.5 (log2(6) = 2.58
  // HalfLives: 5.17 s).
  Scored abandoned(half_life(2));
  abandoned.add(Event::abandoned_hold, 3);
  EXPECT_EQ(abandoned.after(2), Standing::discredited);
  EXPECT_EQ(abandoned.after(1), Standing::suspect);
  EXPECT_EQ(abandoned.after(2), Standing::suspect);  // 5 s
  EXPECT_EQ(abandoned.after(1), Standing::clean);    // 6 s

  // With the default HalfLife of an hour: 3 h 20 min and 2 h 35 min.
  Scored hour;
  hour.add(Event::refused_recipient, 25);
  EXPECT_EQ(hour.after(3 * 3600 + 19 * 60), Standing::suspect);
  EXPECT_EQ(hour.after(60), Standing::clean);
}

TEST(SourceRecord, OneAbandonedHoldKeepsASourceSuspectForAHalfLife) {
  Scored source(half_life(2));
  source.add(Event::abandoned_hold);
  EXPECT_EQ(source.after(2), Standing::suspect);
  EXPECT_EQ(source.after(1), Standing::clean);
}

TEST(SourceRecord, TheLevelCountsOffencesWhileDiscredited) {
  Scored source;
  source.add(Event::refused_recipient, 25);
  ASSERT_EQ(source.record().standing, Standing::discredited);
  EXPECT_EQ(source.record().level, 0u);
  source.add(Event::refused_recipient);
  EXPECT_EQ(source.record().level, 1u);
  source.add(Event::abandoned_hold);
  EXPECT_EQ(source.record().level, 2u);
  source.add(Event::auth_failure);
  EXPECT_EQ(source.record().level, 3u);
  source.add(Event::accepted_recipient);  // not an offence
  EXPECT_EQ(source.record().level, 3u);
  source.add(Event::refused_recipient, 4);
  EXPECT_EQ(source.record().level, 7u);

  Judgement judgement;
  judgement.standing = Standing::discredited;
  for (std::uint32_t level = 0; level <= 8; ++level) {
    judgement.level = level;
    const std::int64_t expected = std::min<std::int64_t>(5LL << level, 600);
    EXPECT_EQ(judgement.interval(std::chrono::seconds(5)).count(), expected) << level;
  }
  judgement.level = 70000;
  EXPECT_EQ(judgement.interval(std::chrono::seconds(1)), kMaxHold);
  EXPECT_EQ(judgement.interval(std::chrono::seconds(0)).count(), 0);
  judgement.standing = Standing::suspect;
  EXPECT_EQ(judgement.interval(std::chrono::seconds(5)).count(), 5);
}

TEST(SourceRecord, TheLevelGoesBackToZeroOutOfDiscredited) {
  Scored source(half_life(2));
  source.add(Event::refused_recipient, 25);
  source.add(Event::refused_recipient, 3);
  ASSERT_EQ(source.record().level, 3u);
  source.wait(3);  // 28 → 9.9: Suspect
  source.add(Event::refused_recipient);
  EXPECT_EQ(source.record().standing, Standing::suspect);
  EXPECT_EQ(source.record().level, 0u);
  source.add(Event::refused_recipient, 20);  // Discredited again, from level 0
  EXPECT_EQ(source.record().standing, Standing::discredited);
  EXPECT_EQ(source.record().level, 0u);
}

TEST(SourceRecord, AuthLockoutDoublesAndDecays) {
  store::HarvestDefenceConfig config = half_life(3600);
  Scored source(config);
  source.add(Event::auth_failure, 9);
  EXPECT_EQ(source.record().auth_locked_until, 0u);
  source.add(Event::auth_failure);
  EXPECT_EQ(source.record().auth_locked_until, source.now() + 60);
  EXPECT_EQ(source.record().auth_failures, 0.0f);
  // Failures during the lockout do not lengthen it.
  source.wait(30);
  source.add(Event::auth_failure, 20);
  EXPECT_EQ(source.record().auth_locked_until, source.now() + 30);
  // After it, the next failure over the threshold locks for twice as long.
  source.wait(31);
  source.add(Event::auth_failure);
  EXPECT_EQ(source.record().auth_locked_until, source.now() + 120);
  source.wait(121);
  source.add(Event::auth_failure, 10);
  EXPECT_EQ(source.record().auth_locked_until, source.now() + 240);
  // Up to a day.
  for (int i = 0; i < 20; ++i) {
    source.wait(source.record().auth_locked_until - source.now() + 1);
    source.add(Event::auth_failure, 10);
  }
  EXPECT_EQ(source.record().auth_locked_until, source.now() + kMaxAuthLockout);
  // Lockouts decay from the end of the last one: 23 of them weigh under 1/2 after 6 HalfLives.
  source.wait(kMaxAuthLockout + 5 * 3600);
  source.add(Event::auth_failure, 10);
  EXPECT_EQ(source.record().auth_locked_until, source.now() + 60 * 2);  // 23 / 32 rounds to 1
  source.wait(120 + 7 * 3600);
  source.add(Event::auth_failure, 10);
  EXPECT_EQ(source.record().auth_locked_until, source.now() + 60);
}

TEST(SourceRecord, ThresholdsOfZeroTurnTheirClauseOff) {
  store::HarvestDefenceConfig config;
  config.suspect_abandoned_holds = 0;
  config.discredit_abandoned_holds = 0;
  Scored source(config);
  EXPECT_EQ(source.add(Event::abandoned_hold, 100), Standing::clean);
}

TEST(SourceRecord, AClockThatGoesBackDecaysNothing) {
  SourceRecord record{.refused = 4, .updated = kStart};
  record.decay_to(kStart - 100, 3600);
  EXPECT_EQ(record.refused, 4.0f);
  EXPECT_EQ(record.updated, kStart);
  record.decay_to(kStart + 3600, 3600);
  EXPECT_FLOAT_EQ(record.refused, 2.0f);
}

}  // namespace
}  // namespace transport::reputation
