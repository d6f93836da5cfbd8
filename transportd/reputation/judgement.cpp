// Standing names, state changes in words, and the escalating hold of a Judgement.
#include "transportd/reputation/source_reputation.h"

#include <algorithm>

#include "store/text_util.h"

namespace transport::reputation {

std::string_view standing_name(Standing standing) {
  switch (standing) {
    case Standing::clean: return "Clean";
    case Standing::suspect: return "Suspect";
    case Standing::discredited: return "Discredited";
  }
  return "Clean";
}

std::optional<Standing> parse_standing(std::string_view text) {
  for (Standing s : {Standing::clean, Standing::suspect, Standing::discredited}) {
    if (store::iequals(store::trim(text), standing_name(s))) return s;
  }
  return std::nullopt;
}

std::string describe(const StateChange& change) {
  return "source " + change.source + " is " + std::string(standing_name(change.to)) + " (was " +
         std::string(standing_name(change.from)) + ")";
}

std::chrono::seconds Judgement::interval(std::chrono::seconds tarpit_interval) const {
  if (tarpit_interval.count() <= 0) return std::chrono::seconds(0);
  std::chrono::seconds hold = std::min(tarpit_interval, kMaxHold);
  if (exempt || standing != Standing::discredited) return hold;
  for (std::uint32_t i = 0; i < level && hold < kMaxHold; ++i) hold = std::min(hold * 2, kMaxHold);
  return hold;
}

}  // namespace transport::reputation
