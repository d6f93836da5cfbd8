// Session: one SMTP connection as one coroutine on its own strand. It reads commands, lets Protocol
// decide, waits out tarpits on a timer (never a thread), reads bodies, hands messages to the delivery
// pool, and answers timeouts and shutdown from a watchdog running beside it.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/thread_pool.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "transportd/smtp/serving_config.h"
#include "transportd/smtp/protocol.h"
#include "transportd/smtp/session_services.h"

namespace transport::smtp {

class Session;

// Every live session, so that shutdown can reach them and wait for them.
class SessionRegistry {
 public:
  void add(const std::shared_ptr<Session>& session);
  void remove(Session* session);
  // Asks every session to finish: those inside a message get `grace`, the rest get 421 at once.
  void shut_down_all(std::chrono::seconds grace);
  // Waits until no session is left or the deadline passes; returns how many are left.
  std::size_t wait_until_empty(std::chrono::steady_clock::time_point deadline);
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable emptied_;
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions_;  // O(1) removal of any session
};

// Whatever admitted a connection (the listener's connection limits) and is released when its session
// ends: the session keeps it without knowing what it is.
class Admission {
 public:
  virtual ~Admission() = default;
};

// Starts a session for an accepted connection already matched to `connector` (which lives in
// serving->config), judged by the harvest defence (`judgement`: exempt when it does not apply) and
// admitted.
void start_session(asio::ip::tcp::socket socket, ServingConfigPtr serving,
                   const store::ReceiveConnector& connector, SessionFacts facts,
                   const reputation::Judgement& judgement, std::unique_ptr<Admission> admission, SessionServices& services,
                   SessionRegistry& registry);

}  // namespace transport::smtp
