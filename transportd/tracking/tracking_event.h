// Message tracking: what one event is (RECEIVE, DELIVER, SEND, DEFER, FAIL, DSN for one recipient), what a search asks
// for, and the text forms administrators see: event names, UTC timestamps, the retention flag.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace transport::tracking {

// Shown RECEIVE, DELIVER (into a local mailbox), SEND (a next hop took it), DEFER (a next hop said try
// later), FAIL (refused, or failed for good), DSN (a delivery status notification was queued for it).
enum class EventId : std::uint8_t { receive, deliver, fail, send, defer, dsn };

struct TrackingEvent {
  std::chrono::system_clock::time_point timestamp;
  EventId event_id = EventId::receive;
  std::string connector_id;  // HOST\Name
  std::string client_ip;
  std::string sender;        // reverse-path ("" for <>)
  std::string recipient;     // one recipient per event
  std::string message_id;    // the Message-ID header's value, or our queue id when there is none / FAIL before DATA
  std::uint64_t total_bytes = 0;
  std::string reply;         // e.g. "550 5.1.1 User unknown", "250 2.6.0 Queued mail for delivery"
};

// Every given filter must match. sender and recipient: case-insensitive (ASCII) exact match.
// event_id: RECEIVE, DELIVER, SEND, DEFER, FAIL or DSN, any case. message_id: exact, with or without the <>.
// start is inclusive, end exclusive.
struct TrackingQuery {
  std::optional<std::string> sender, recipient, event_id, message_id;
  std::optional<std::chrono::system_clock::time_point> start, end;
  std::size_t result_size = 1000;
};

// "RECEIVE", "DELIVER", "SEND", "DEFER", "FAIL", "DSN".
std::string_view event_id_name(EventId id);

// An event name in any case; std::invalid_argument naming the allowed ones otherwise.
EventId parse_event_id(std::string_view text);

// UTC, ISO 8601 with milliseconds: "2026-11-23T08:47:12.123Z".
std::string format_timestamp(std::chrono::system_clock::time_point time);

// "2026-11-23T08:00:00Z" (the Z, fractional seconds and a space for the T are optional) or a date
// "2026-11-23" (its midnight), always UTC. std::invalid_argument saying the expected form otherwise.
std::chrono::system_clock::time_point parse_timestamp(std::string_view text);

// "30d", "12h", "90d": the --tracking-retention flag's syntax, 1h to 36500d. Throws std::invalid_argument
// with a clear message.
std::chrono::hours parse_retention(std::string_view text);

}  // namespace transport::tracking
