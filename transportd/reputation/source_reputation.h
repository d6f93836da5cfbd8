// SourceReputation: what the server remembers about client addresses and their prefixes across
// connections (DESIGN §10), behind one interface: a bounded in-memory table written behind to
// DATA_DIR/reputation.db on a single node (LocalSourceReputation), a shared store in a fleet later.
// Sessions report what happened (events) and ask how a source stands (a Judgement); the judgement
// only ever delays or limits, it never changes which recipients are accepted.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/harvest_defence_config.h"
#include "store/ip_range.h"

namespace transport::reputation {

// Records outlive restarts, so their times are wall-clock times.
using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

// The longest a reply is ever held (TarpitInterval's own cap).
inline constexpr std::chrono::seconds kMaxHold{600};

enum class Standing : std::uint8_t {
  clean,        // Exchange's behaviour: 5xx replies held for TarpitInterval
  suspect,      // every RCPT reply held for the same interval, 250 included: timing tells nothing
  discredited,  // also the banner held, concurrent connections capped, interval doubling per offence
};
std::string_view standing_name(Standing standing);             // "Clean", "Suspect", "Discredited"
std::optional<Standing> parse_standing(std::string_view text);  // any case; nullopt when unknown

// What a session reports about its client.
enum class Event : std::uint8_t {
  refused_recipient,   // RCPT refused: unknown user, relay denied, no route (not syntax, limits, order)
  accepted_recipient,  // RCPT answered 250
  accepted_message,    // a message was accepted (250 after DATA/BDAT LAST); `count` = its recipients
  abandoned_hold,      // the client hung up while one of our replies was being held
  auth_failure,        // AUTH with a wrong password (or unknown user)
};

// How a client stands now: its address record and its prefix record combined. An address with its
// own good history (more accepted than refused, and at least 3 accepted) is judged by its own record
// only, so a sender inside an abused prefix keeps fast replies; otherwise the worse of the two decides.
// The rule itself: transportd/reputation/source_record.h.
struct Judgement {
  bool exempt = false;  // harvest defence off, or the address is in ExemptRemoteIPRanges
  Standing standing = Standing::clean;
  std::uint32_t level = 0;  // offences since the source became Discredited: the interval doubles per level
  std::optional<TimePoint> auth_locked_until;  // AUTH refused (454 4.7.0) until then

  // The hold for this source's replies, from the connector's TarpitInterval: doubled `level` times when
  // Discredited, never above kMaxHold; 0 stays 0 (a connector with the tarpit off is exempt). Exempt
  // clients get the connector's interval as it is (Exchange's fixed tarpit).
  std::chrono::seconds interval(std::chrono::seconds tarpit_interval) const;
};

// A record that moved between states, for the log, the protocol log and the metrics.
struct StateChange {
  std::string source;  // "192.0.2.7" or "192.0.2.0/24"
  Standing from = Standing::clean;
  Standing to = Standing::clean;
};
// "source 192.0.2.7 is Discredited (was Suspect)": how the log and the protocol log say it.
std::string describe(const StateChange& change);

// One row of get-sourcereputation. Counts are decayed to `now` of the query.
struct SourceReport {
  std::string source;  // an address, or a prefix written a.b.c.0/24 or x:y::/64
  Standing standing = Standing::clean;
  std::uint32_t level = 0;
  double refused = 0;
  double accepted = 0;  // accepted recipients, each recipient of an accepted message counted once more
  double abandoned = 0;
  double auth_failures = 0;
  std::chrono::seconds current_interval{0};  // from the TarpitInterval the source last met
  TimePoint last_seen{};
  std::optional<TimePoint> auth_locked_until;
};

struct SourceKey;

// Which records a query or a clear names: an address ("192.0.2.7": that record only), any CIDR block
// ("192.0.2.0/24", "10.0.0.0/8": every address and prefix record inside it, the block's own prefix
// record included), a glob over the Source text ("192.0.2.*", "2001:db8:*", "*"; `*` any run of
// characters, `?` one), or nothing (empty text: every record, like "*").
// Throws store::ValueError for text that is none of these.
struct SourceFilter {
  static SourceFilter parse(std::string_view text);
  std::string text = "*";  // as parsed, canonical ("*" for every record, the default)

  // Whether the record of `key`, written `source` (to_string(key)), is named.
  bool matches(const SourceKey& key, std::string_view source) const;
  // Whether matches() reads `source` (a glob); otherwise the caller may pass an empty one.
  bool by_text() const { return kind_ == Kind::glob; }

 private:
  enum class Kind : std::uint8_t { all, block, glob };
  Kind kind_ = Kind::all;
  std::uint8_t family_ = 0;  // block: 4 or 6
  store::IpValue first_ = 0, last_ = 0;  // block: the addresses it spans
};

class SourceReputation {
 public:
  virtual ~SourceReputation() = default;

  // The settings in force, after every configuration change (and once at start).
  virtual void configure(const store::HarvestDefenceConfig& config) = 0;

  // How `client` stands now. Cheap: one lookup per record under a striped lock.
  virtual Judgement judge(const store::IpAddress& client, TimePoint now) = 0;

  // Records `count` events of one kind for `client` (its address and its prefix record) and returns the
  // judgement after them; `tarpit_interval` is the connector's, remembered for CurrentInterval. Records
  // that changed state are appended to `changes`. Exempt clients are not recorded.
  virtual Judgement record(const store::IpAddress& client, Event event, std::uint32_t count,
                           std::chrono::seconds tarpit_interval, TimePoint now, std::vector<StateChange>& changes) = 0;

  // Concurrent connections: the listener opens a ticket per accepted connection (it counts the
  // address and its prefix) and refuses a Discredited client whose address or prefix already holds
  // DiscreditedMaxConnections (0 or less: every connection of a Discredited client is refused).
  // Connections are counted whatever the judgement. Returns false (and opens nothing) when refused.
  virtual bool open_connection(const store::IpAddress& client, const Judgement& judgement) = 0;
  virtual void close_connection(const store::IpAddress& client) = 0;

  // get-sourcereputation: matching records, most recently seen first, at most `limit`.
  virtual std::vector<SourceReport> list(const SourceFilter& filter, std::optional<Standing> standing,
                                         TimePoint now, std::size_t limit) = 0;
  // clear-sourcereputation: forgets the matching records at once (memory and reputation.db); returns how many.
  virtual std::size_t forgive(const SourceFilter& filter) = 0;

  // State changes that decay alone made (no event came to report them), found by a sweep about once a
  // minute; each is returned once, for the log. record() returns the changes events make.
  virtual std::vector<StateChange> take_decay_changes() { return {}; }

  // Records by the standing they were last judged at (the metrics' sources-by-state gauge); the sweep
  // moves records that decay has changed, so a finished attack leaves the gauge within about a minute.
  struct Counts {
    std::uint64_t clean = 0, suspect = 0, discredited = 0;
  };
  virtual Counts counts() const = 0;
};

}  // namespace transport::reputation
