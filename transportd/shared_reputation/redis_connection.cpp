#include "transportd/shared_reputation/redis_connection.h"

#include <hiredis/hiredis.h>
#include <sys/socket.h>
#include <sys/time.h>

namespace transport::shared_reputation {

namespace {

timeval to_timeval(std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(timeout.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((timeout.count() % 1000) * 1000);
  return tv;
}

}  // namespace

void ReplyDeleter::operator()(redisReply* reply) const { freeReplyObject(reply); }

RedisConnection::RedisConnection(const RedisAddress& address, std::chrono::milliseconds timeout) {
  context_ = redisConnectWithTimeout(address.host.c_str(), address.port, to_timeval(timeout));
  if (context_ == nullptr) throw RedisError("cannot allocate a Redis connection");
  if (context_->err != 0) {
    const std::string why = context_->errstr;
    redisFree(context_);
    context_ = nullptr;
    throw RedisError(why);
  }
  try {
    if (redisSetTimeout(context_, to_timeval(timeout)) != REDIS_OK) throw RedisError("cannot set the reply timeout");
    if (!address.password.empty()) {
      if (address.user.empty()) {
        command({"AUTH", address.password});
      } else {
        command({"AUTH", address.user, address.password});
      }
    }
    if (address.database != 0) command({"SELECT", std::to_string(address.database)});
  } catch (...) {
    redisFree(context_);
    context_ = nullptr;
    throw;
  }
}

RedisConnection::~RedisConnection() {
  std::lock_guard lock(fd_mutex_);
  if (context_ != nullptr) redisFree(context_);
}

RedisReply RedisConnection::command(const std::vector<std::string_view>& arguments) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(arguments.size());
  lengths.reserve(arguments.size());
  for (const std::string_view argument : arguments) {
    argv.push_back(argument.data());
    lengths.push_back(argument.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  if (reply == nullptr) {
    throw RedisError(context_->err != 0 ? std::string(context_->errstr) : std::string("no reply"));
  }
  RedisReply owned(reply);
  if (owned->type == REDIS_REPLY_ERROR) throw RedisError(std::string(owned->str, owned->len));
  return owned;
}

void RedisConnection::interrupt() {
  std::lock_guard lock(fd_mutex_);
  if (context_ != nullptr && context_->fd >= 0) ::shutdown(context_->fd, SHUT_RDWR);
}

}  // namespace transport::shared_reputation
