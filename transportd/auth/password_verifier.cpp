// Worker threads taking password checks from the fair queue; every done called exactly once.
#include "transportd/auth/password_verifier.h"

#include <stdexcept>
#include <string>
#include <utility>

namespace transport::auth {

namespace {

constexpr std::size_t kMaxWorkers = 64;

std::size_t checked_workers(std::size_t workers) {
  if (workers < 1 || workers > kMaxWorkers) {
    throw std::invalid_argument("workers " + std::to_string(workers) + " is out of range: allowed 1 to " +
                                std::to_string(kMaxWorkers));
  }
  return workers;
}

}  // namespace

PasswordVerifier::PasswordVerifier(Limits limits) : queue_(limits.max_queued_per_source) {
  const std::size_t workers = checked_workers(limits.workers);
  workers_.reserve(workers);
  try {
    for (std::size_t i = 0; i < workers; ++i) workers_.emplace_back([this] { serve(); });
  } catch (...) {
    // A thread could not be started: the destructor will not run, so stop the ones that did.
    shutdown();
    for (std::thread& worker : workers_) worker.join();
    throw;
  }
}

PasswordVerifier::~PasswordVerifier() {
  shutdown();
  for (std::thread& worker : workers_) worker.join();
}

Admission PasswordVerifier::submit(SourceKey source, Work work, Done done) {
  Job job{std::move(work), std::move(done)};
  Admission admission = Admission::refused_shutting_down;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) admission = queue_.push(source, std::move(job));
  }
  if (admission == Admission::queued) {
    wake_.notify_one();
  } else {
    job.done(std::nullopt);  // push left the job with us
  }
  return admission;
}

void PasswordVerifier::shutdown() {
  std::vector<Job> refused;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    refused.reserve(queue_.size());
    while (std::optional<Job> job = queue_.pop()) refused.push_back(std::move(*job));
  }
  wake_.notify_all();
  // Outside the lock: a done may post elsewhere, or even submit (and be refused).
  for (Job& job : refused) job.done(std::nullopt);
}

void PasswordVerifier::serve() {
  for (;;) {
    std::optional<Job> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      job = queue_.pop();  // shutdown() empties the queue, so this is nullopt once stopping
    }
    if (!job) return;
    std::optional<bool> result;
    try {
      result = job->work();
    } catch (...) {
      // Reported as "no answer" (nullopt); the caller logs and answers the client with a temporary failure.
    }
    job->done(result);
  }
}

}  // namespace transport::auth
