// RedisConnection: one blocking hiredis connection, for a thread of its own (never an I/O thread).
// Every wait is bounded: connecting and each reply time out, and interrupt() ends a blocked command
// at once from another thread (to stop).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "transportd/shared_reputation/redis_address.h"

struct redisContext;
struct redisReply;

namespace transport::shared_reputation {

// The connection failed, timed out or was interrupted, or Redis answered an error.
class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ReplyDeleter {
  void operator()(redisReply* reply) const;
};
using RedisReply = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisConnection {
 public:
  // Connects within `timeout`, then AUTH and SELECT as the address asks. Throws RedisError.
  RedisConnection(const RedisAddress& address, std::chrono::milliseconds timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends one command and waits up to the timeout for its reply (a blocking command's own wait must
  // be shorter). Throws RedisError; after an I/O error the connection is no longer usable.
  RedisReply command(const std::vector<std::string_view>& arguments);

  // Makes the command in progress, and every later one, fail at once. Any thread.
  void interrupt();

 private:
  std::mutex fd_mutex_;  // interrupt() against the destructor
  redisContext* context_ = nullptr;
};

}  // namespace transport::shared_reputation
