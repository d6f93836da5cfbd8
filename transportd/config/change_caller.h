// ChangeCaller: whether the client asking for the admin change running on this thread has given up
// (adminctl's 30 s deadline passed, or it was interrupted). ConfigurationService asks just before it
// commits: a change whose caller was already told it failed must not be applied afterwards.
#pragma once

#include <functional>

namespace transport::config {

class ChangeCaller {
 public:
  // For the lifetime of this object, changes made on this thread ask `gave_up`.
  explicit ChangeCaller(std::function<bool()> gave_up);
  ~ChangeCaller();
  ChangeCaller(const ChangeCaller&) = delete;
  ChangeCaller& operator=(const ChangeCaller&) = delete;

  // False when no caller is registered on this thread (tests, start-up).
  static bool gave_up();

 private:
  std::function<bool()> gave_up_;
  ChangeCaller* outer_;
};

}  // namespace transport::config
