// The rules a HarvestDefenceConfig is held to as a whole, beyond each property's own range: checked
// on every change and on the configuration as stored (--check-config).
#pragma once

#include "store/harvest_defence_config.h"

namespace transport::store {

// A source must be able to become Suspect before it is Discredited: each Suspect threshold is at
// most its Discredit counterpart. Throws ValidationError naming the Suspect property and both values.
void validate(const HarvestDefenceConfig& config);

}  // namespace transport::store
