// Whole-object rules of the harvest defence's settings.
#include "store/harvest_defence_validation.h"

#include <string>

#include "store/value_error.h"

namespace transport::store {

namespace {

void check_order(const char* suspect_name, std::int64_t suspect, const char* discredit_name, std::int64_t discredit) {
  if (suspect <= discredit) return;
  throw ValidationError(suspect_name, std::string(suspect_name) + " " + std::to_string(suspect) +
                                          " is above " + discredit_name + " " + std::to_string(discredit) +
                                          ": a source must be Suspect before it is Discredited, so " + suspect_name +
                                          " may be at most " + discredit_name);
}

}  // namespace

void validate(const HarvestDefenceConfig& config) {
  check_order("SuspectRefusedRecipients", config.suspect_refused_recipients, "DiscreditRefusedRecipients",
              config.discredit_refused_recipients);
  check_order("SuspectAbandonedHolds", config.suspect_abandoned_holds, "DiscreditAbandonedHolds",
              config.discredit_abandoned_holds);
}

}  // namespace transport::store
