// ChangeCaller: the client asking for the admin change running on this thread. ConfigurationService
// asks it just before it commits whether the caller has given up (adminctl's 30 s deadline passed, or
// it was interrupted: a change whose caller was already told it failed must not be applied
// afterwards) and whether it asked only for a what-if (validate, roll back, publish nothing), and
// hands it the warnings about a change that is applied but probably not meant.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace transport::config {

class ChangeCaller {
 public:
  // For the lifetime of this object, changes made on this thread ask `gave_up` and `what_if`.
  explicit ChangeCaller(std::function<bool()> gave_up, bool what_if = false);
  ~ChangeCaller();
  ChangeCaller(const ChangeCaller&) = delete;
  ChangeCaller& operator=(const ChangeCaller&) = delete;

  // False when no caller is registered on this thread (tests, start-up).
  static bool gave_up();
  static bool what_if();
  // Records a warning for the caller on this thread; dropped when there is none.
  static void warn(std::string warning);

  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  std::function<bool()> gave_up_;
  bool what_if_;
  std::vector<std::string> warnings_;
  ChangeCaller* outer_;
};

}  // namespace transport::config
