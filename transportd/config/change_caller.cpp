// ChangeCaller: a thread-local stack of callers; the gRPC sync server runs a whole handler on one thread.
#include "transportd/config/change_caller.h"

#include <utility>

namespace transport::config {

namespace {
thread_local ChangeCaller* current = nullptr;
}  // namespace

ChangeCaller::ChangeCaller(std::function<bool()> gave_up, bool what_if)
    : gave_up_(std::move(gave_up)), what_if_(what_if), outer_(current) {
  current = this;
}

ChangeCaller::~ChangeCaller() { current = outer_; }

bool ChangeCaller::gave_up() { return current != nullptr && current->gave_up_ && current->gave_up_(); }

bool ChangeCaller::what_if() { return current != nullptr && current->what_if_; }

void ChangeCaller::warn(std::string warning) {
  if (current != nullptr) current->warnings_.push_back(std::move(warning));
}

}  // namespace transport::config
