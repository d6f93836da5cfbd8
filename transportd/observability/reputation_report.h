// The harvest defence's state changes that no session saw: records that decay alone moved (a source
// forgiven by time). Logged like the changes sessions report, and the sources-by-state gauge kept
// current, so an attack that ended leaves the metrics within about a minute (DESIGN §8, §10).
#pragma once

#include "transportd/reputation/source_reputation.h"

namespace transport::observability {

// Drains reputation.take_decay_changes() into the log and the metrics. Call it now and then (the daemon
// does every 10 s) from any thread.
void report_reputation_changes(reputation::SourceReputation& reputation);

}  // namespace transport::observability
