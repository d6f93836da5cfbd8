// PasswordVerifier with real threads: results, refusals, shutdown, and fairness under load.
#include "transportd/auth/password_verifier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace transport::auth {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr SourceKey kGuesser = 0x7f000001;
constexpr SourceKey kLegitimate = 0x7f000002;
constexpr auto kDeadline = 10s;  // only ever reached when the verifier is broken

// The outcome of one submit; counts how often done was called.
struct Outcome {
  std::atomic<int> calls{0};
  std::promise<std::optional<bool>> result;
  std::future<std::optional<bool>> future = result.get_future();

  PasswordVerifier::Done done() {
    return [this](std::optional<bool> value) {
      if (calls.fetch_add(1) == 0) result.set_value(value);
    };
  }
  std::optional<bool> wait() {
    if (future.wait_for(kDeadline) != std::future_status::ready) throw std::runtime_error("done never called");
    return future.get();
  }
};

// A job that holds its worker until released, so tests can fill the queue behind it.
struct Gate {
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();

  PasswordVerifier::Work work() {
    return [this] {
      started.set_value();
      released.wait();
      return true;
    };
  }
  void wait_started() {
    ASSERT_EQ(started.get_future().wait_for(kDeadline), std::future_status::ready);
  }
};

TEST(PasswordVerifier, ReportsWhatTheWorkFound) {
  PasswordVerifier verifier;
  Outcome match, mismatch;
  EXPECT_EQ(verifier.submit(kLegitimate, [] { return true; }, match.done()), Admission::queued);
  EXPECT_EQ(verifier.submit(kLegitimate, [] { return false; }, mismatch.done()), Admission::queued);
  EXPECT_EQ(match.wait(), std::optional<bool>(true));
  EXPECT_EQ(mismatch.wait(), std::optional<bool>(false));
}

TEST(PasswordVerifier, WorkThatThrowsReportsNoAnswer) {
  PasswordVerifier verifier;
  Outcome outcome;
  verifier.submit(kLegitimate, []() -> bool { throw std::runtime_error("bad hash"); }, outcome.done());
  EXPECT_EQ(outcome.wait(), std::nullopt);
}

TEST(PasswordVerifier, RunsDoneOnAWorkerThread) {
  PasswordVerifier verifier;
  std::promise<std::thread::id> done_thread;
  verifier.submit(kLegitimate, [] { return true; },
                  [&](std::optional<bool>) { done_thread.set_value(std::this_thread::get_id()); });
  auto future = done_thread.get_future();
  ASSERT_EQ(future.wait_for(kDeadline), std::future_status::ready);
  EXPECT_NE(future.get(), std::this_thread::get_id());
}

TEST(PasswordVerifier, RefusesASourceOverItsQuotaAtOnce) {
  PasswordVerifier verifier({.workers = 1, .max_queued_per_source = 1});
  Gate gate;
  Outcome running, waiting, refused, other_source;
  verifier.submit(kGuesser, gate.work(), running.done());
  gate.wait_started();
  EXPECT_EQ(verifier.submit(kGuesser, [] { return true; }, waiting.done()), Admission::queued);
  std::atomic<bool> refused_work_ran{false};
  EXPECT_EQ(verifier.submit(kGuesser, [&] { return refused_work_ran = true; }, refused.done()),
            Admission::refused_source_full);
  // Refused before submit returned, without waiting for the worker.
  EXPECT_EQ(refused.future.wait_for(0s), std::future_status::ready);
  EXPECT_EQ(refused.wait(), std::nullopt);
  EXPECT_EQ(verifier.submit(kLegitimate, [] { return true; }, other_source.done()), Admission::queued);
  gate.release.set_value();
  EXPECT_EQ(running.wait(), std::optional<bool>(true));
  EXPECT_EQ(waiting.wait(), std::optional<bool>(true));
  EXPECT_EQ(other_source.wait(), std::optional<bool>(true));
  EXPECT_FALSE(refused_work_ran);
  EXPECT_EQ(refused.calls, 1);
}

TEST(PasswordVerifier, ShutdownCallsEveryDoneExactlyOnce) {
  constexpr int kQueued = 10;
  auto running = std::make_unique<Outcome>();
  std::vector<std::unique_ptr<Outcome>> queued;
  auto late = std::make_unique<Outcome>();
  std::atomic<int> queued_work_ran{0};
  Gate gate;
  {
    PasswordVerifier verifier({.workers = 1, .max_queued_per_source = kQueued});
    verifier.submit(kGuesser, gate.work(), running->done());
    gate.wait_started();
    for (int i = 0; i < kQueued; ++i) {
      queued.push_back(std::make_unique<Outcome>());
      ASSERT_EQ(verifier.submit(i % 2 ? kGuesser : kLegitimate, [&] { return ++queued_work_ran > 0; },
                                queued.back()->done()),
                Admission::queued);
    }
    verifier.shutdown();
    // Waiting jobs are refused by shutdown itself, while the running one is still held.
    for (const auto& outcome : queued) {
      ASSERT_EQ(outcome->future.wait_for(0s), std::future_status::ready);
      EXPECT_EQ(outcome->wait(), std::nullopt);
    }
    EXPECT_EQ(verifier.submit(kLegitimate, [] { return true; }, late->done()), Admission::refused_shutting_down);
    EXPECT_EQ(late->wait(), std::nullopt);
    verifier.shutdown();  // idempotent
    gate.release.set_value();
  }  // the destructor waits for the running job
  EXPECT_EQ(running->calls, 1);
  EXPECT_EQ(running->wait(), std::optional<bool>(true));
  for (const auto& outcome : queued) EXPECT_EQ(outcome->calls, 1);
  EXPECT_EQ(late->calls, 1);
  EXPECT_EQ(queued_work_ran, 0);
}

TEST(PasswordVerifier, DestructionRefusesWhatIsStillQueued) {
  constexpr int kJobs = 20;  // 200 ms of work: far longer than destruction takes
  std::vector<std::unique_ptr<Outcome>> outcomes;
  for (int i = 0; i < kJobs; ++i) outcomes.push_back(std::make_unique<Outcome>());
  {
    PasswordVerifier verifier({.workers = 2, .max_queued_per_source = kJobs});
    for (auto& outcome : outcomes) {
      verifier.submit(kGuesser, [] {
        std::this_thread::sleep_for(20ms);
        return false;
      }, outcome->done());
    }
  }
  int answered = 0;
  for (const auto& outcome : outcomes) {
    EXPECT_EQ(outcome->calls, 1);
    if (outcome->wait().has_value()) ++answered;
  }
  EXPECT_LT(answered, kJobs) << "destruction ran the whole queue instead of refusing it";
}

// The case from issue #10: 60 guesses from one source queued first, then one AUTH from another.
// First-come, first-served, it would wait for all 60 (~600 ms on 2 workers); taking turns, for
// about two job-times.
TEST(PasswordVerifier, ALateSourceIsNotDelayedByAnEarlierFloodFromAnother) {
  constexpr int kGuesses = 60;
  constexpr auto kJobTime = 20ms;
  std::atomic<int> guesses_done{0};
  std::vector<std::unique_ptr<Outcome>> guesses;
  Outcome legitimate;
  int guesses_done_at_submit = -1;
  int guesses_done_before_legitimate = -1;
  Clock::duration legitimate_latency{};
  {
    PasswordVerifier verifier({.workers = 2, .max_queued_per_source = kGuesses});
    for (int i = 0; i < kGuesses; ++i) {
      guesses.push_back(std::make_unique<Outcome>());
      ASSERT_EQ(verifier.submit(kGuesser, [&] {
        std::this_thread::sleep_for(kJobTime);
        ++guesses_done;
        return false;
      }, guesses.back()->done()), Admission::queued);
    }
    guesses_done_at_submit = guesses_done;
    const Clock::time_point submitted = Clock::now();
    verifier.submit(kLegitimate, [&] {
      guesses_done_before_legitimate = guesses_done;
      std::this_thread::sleep_for(kJobTime);
      return true;
    }, legitimate.done());
    EXPECT_EQ(legitimate.wait(), std::optional<bool>(true));
    legitimate_latency = Clock::now() - submitted;
  }
  EXPECT_LT(legitimate_latency, 200ms);
  // It waits for a worker to come free (the two guesses running) and one turn of the guesser: 3 at
  // most, 4 allowing for a worker descheduled between taking the job and running it.
  EXPECT_LE(guesses_done_before_legitimate - guesses_done_at_submit, 4)
      << "the legitimate AUTH waited behind the guesses";
  for (const auto& guess : guesses) EXPECT_EQ(guess->calls, 1);
}

TEST(PasswordVerifier, LimitsOutOfRangeAreRejectedWithTheirRange) {
  try {
    PasswordVerifier verifier({.workers = 0, .max_queued_per_source = 1});
    FAIL() << "0 workers were accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "workers 0 is out of range: allowed 1 to 64");
  }
  EXPECT_THROW(PasswordVerifier({.workers = 2, .max_queued_per_source = 0}), std::invalid_argument);
}

}  // namespace
}  // namespace transport::auth
