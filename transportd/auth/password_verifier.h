// PasswordVerifier: runs CPU- and memory-heavy password checks (argon2id, ~100 ms and 64 MiB each)
// on a few worker threads of its own, taking turns across sources (FairQueue), so that many
// sessions guessing from one source cannot delay another source's AUTH (DESIGN §10). Plain
// threads, no Asio: the session wraps submit() in its own async operation.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "transportd/auth/fair_queue.h"

namespace transport::auth {

class PasswordVerifier {
 public:
  struct Limits {
    std::size_t workers = 2;                // hashes running at once: CPU and 64 MiB each
    std::size_t max_queued_per_source = 8;  // waiting jobs per source; more are refused at submit
  };

  // The check itself; true when the password matches. Runs on a worker thread.
  using Work = std::function<bool()>;
  // Called exactly once per submit: with work's result, or nullopt when the job was refused (over
  // its source's quota, or the verifier is shutting down) or work threw. Must not throw.
  using Done = std::function<void(std::optional<bool>)>;

  // Throws std::invalid_argument naming the limit and its range when one is out of range.
  explicit PasswordVerifier(Limits limits);
  PasswordVerifier() : PasswordVerifier(Limits{}) {}
  PasswordVerifier(const PasswordVerifier&) = delete;
  PasswordVerifier& operator=(const PasswordVerifier&) = delete;
  // shutdown(), then waits for the jobs already running (their done gets their result).
  ~PasswordVerifier();

  // Queues work behind the source's earlier jobs; it runs when the source's turn comes, and done is
  // called on the worker thread. When refused, done(nullopt) is called at once on this thread,
  // before submit returns; the result says why.
  Admission submit(SourceKey source, Work work, Done done);

  // Stops accepting and refuses every waiting job (done(nullopt) on this thread); jobs already
  // running finish. Idempotent; does not wait. Not to be called from inside work or done.
  void shutdown();

 private:
  struct Job {
    Work work;
    Done done;
  };

  void serve();

  std::mutex mutex_;
  std::condition_variable wake_;
  FairQueue<Job> queue_;  // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::vector<std::thread> workers_;
};

}  // namespace transport::auth
