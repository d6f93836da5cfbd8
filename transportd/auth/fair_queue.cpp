// The non-template parts of FairQueue: names of admissions and the check of its bound.
#include "transportd/auth/fair_queue.h"

#include <stdexcept>
#include <string>

namespace transport::auth {

std::string_view admission_name(Admission admission) {
  switch (admission) {
    case Admission::queued: return "queued";
    case Admission::refused_source_full: return "refused: the source has too many jobs waiting";
    case Admission::refused_shutting_down: return "refused: shutting down";
  }
  return "queued";
}

std::size_t checked_max_queued_per_source(std::size_t max_queued_per_source) {
  if (max_queued_per_source == 0) {
    throw std::invalid_argument("max_queued_per_source " + std::to_string(max_queued_per_source) +
                                " is out of range: allowed 1 or more");
  }
  return max_queued_per_source;
}

}  // namespace transport::auth
