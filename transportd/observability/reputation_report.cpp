// Reports the reputation's decay-driven state changes.
#include "transportd/observability/reputation_report.h"

#include <string>

#include "transportd/log.h"
#include "transportd/observability/connector_metrics.h"

namespace transport::observability {

void report_reputation_changes(reputation::SourceReputation& reputation) {
  for (const reputation::StateChange& change : reputation.take_decay_changes()) {
    log::info("harvest", reputation::describe(change) + ": its counts decayed");
    count_source_state_change(reputation::standing_name(change.to));
  }
  const reputation::SourceReputation::Counts counts = reputation.counts();
  set_sources_by_state(counts.clean, counts.suspect, counts.discredited);
}

}  // namespace transport::observability
