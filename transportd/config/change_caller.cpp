// ChangeCaller: a thread-local stack of callers; the gRPC sync server runs a whole handler on one thread.
#include "transportd/config/change_caller.h"

#include <utility>

namespace transport::config {

namespace {
thread_local ChangeCaller* current = nullptr;
}  // namespace

ChangeCaller::ChangeCaller(std::function<bool()> gave_up) : gave_up_(std::move(gave_up)), outer_(current) {
  current = this;
}

ChangeCaller::~ChangeCaller() { current = outer_; }

bool ChangeCaller::gave_up() { return current != nullptr && current->gave_up_ && current->gave_up_(); }

}  // namespace transport::config
