// Text lines for reputation deltas: written compactly, read strictly (a node never acts on a line it
// does not fully understand).
#include "transportd/shared_reputation/reputation_delta.h"

#include <charconv>
#include <limits>

#include "store/value_error.h"

namespace transport::shared_reputation {

namespace {

using reputation::Event;

char event_letter(Event event) {
  switch (event) {
    case Event::refused_recipient: return 'r';
    case Event::accepted_recipient: return 'a';
    case Event::accepted_message: return 'm';
    case Event::abandoned_hold: return 'h';
    case Event::auth_failure: return 'f';
  }
  return '?';
}

bool event_of(std::string_view letter, Event& event) {
  if (letter.size() != 1) return false;
  switch (letter[0]) {
    case 'r': event = Event::refused_recipient; return true;
    case 'a': event = Event::accepted_recipient; return true;
    case 'm': event = Event::accepted_message; return true;
    case 'h': event = Event::abandoned_hold; return true;
    case 'f': event = Event::auth_failure; return true;
    default: return false;
  }
}

// The next space-separated field of `line`, which is advanced past it.
std::string_view field(std::string_view& line) {
  const std::size_t end = line.find(' ');
  const std::string_view taken = line.substr(0, end);
  line.remove_prefix(end == std::string_view::npos ? line.size() : end + 1);
  return taken;
}

template <class T>
bool number(std::string_view text, T& value) {
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

bool parse_line(std::string_view line, ReputationDelta& delta) {
  const std::string_view kind = field(line);
  if (kind == "F") {
    if (line.empty()) return false;
    delta = ReputationDelta::of_forgive(std::string(line));
    return true;
  }
  if (kind != "E") return false;
  std::int64_t seconds = 0;
  std::uint32_t count = 0;
  std::int64_t tarpit = 0;
  Event event{};
  if (!number(field(line), seconds) || seconds < 0 || !event_of(field(line), event) || !number(field(line), count) ||
      count == 0 || !number(field(line), tarpit) || tarpit < 0 || tarpit > reputation::kMaxHold.count()) {
    return false;
  }
  const std::string_view address = field(line);
  if (!line.empty()) return false;
  try {
    delta = ReputationDelta::of_event(store::IpAddress::parse(address), event, count, std::chrono::seconds(tarpit),
                                      reputation::TimePoint(std::chrono::seconds(seconds)));
  } catch (const store::ValueError&) {
    return false;
  }
  return true;
}

}  // namespace

ReputationDelta ReputationDelta::of_event(const store::IpAddress& client, reputation::Event event, std::uint32_t count,
                                          std::chrono::seconds tarpit_interval, reputation::TimePoint happened) {
  ReputationDelta delta;
  delta.client = client;
  delta.event = event;
  delta.count = count;
  delta.tarpit_interval = tarpit_interval;
  delta.happened = std::chrono::time_point_cast<std::chrono::seconds>(happened);
  return delta;
}

ReputationDelta ReputationDelta::of_forgive(std::string filter) {
  ReputationDelta delta;
  delta.kind = Kind::forgive;
  delta.filter = std::move(filter);
  return delta;
}

void append(std::string& batch, const ReputationDelta& delta) {
  if (delta.kind == ReputationDelta::Kind::forgive) {
    batch += "F ";
    for (const char c : delta.filter) batch += (c == '\n' ? ' ' : c);  // one line, whatever it holds
    batch += '\n';
    return;
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(delta.happened.time_since_epoch()).count();
  batch += "E ";
  batch += std::to_string(seconds);
  batch += ' ';
  batch += event_letter(delta.event);
  batch += ' ';
  batch += std::to_string(delta.count);
  batch += ' ';
  batch += std::to_string(delta.tarpit_interval.count());
  batch += ' ';
  batch += delta.client.to_string();
  batch += '\n';
}

std::size_t parse_batch(std::string_view batch, std::vector<ReputationDelta>& out) {
  std::size_t skipped = 0;
  while (!batch.empty()) {
    const std::size_t end = batch.find('\n');
    std::string_view line = batch.substr(0, end);
    batch.remove_prefix(end == std::string_view::npos ? batch.size() : end + 1);
    if (line.empty()) continue;
    ReputationDelta delta;
    if (parse_line(line, delta)) {
      out.push_back(std::move(delta));
    } else {
      ++skipped;
    }
  }
  return skipped;
}

}  // namespace transport::shared_reputation
