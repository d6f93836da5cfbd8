// QueuedMessage: a message in the durable queue (DESIGN §11) — its envelope, per-recipient state and
// what has been reported — and its control file's text form: the envelope ending in a commit line, then
// one appended line per change. Pure: no I/O, so every torn or hostile file is testable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transportd/dsn/dsn_parameters.h"

namespace transport::queue {

enum class RecipientState : std::uint8_t {
  ready,      // to be delivered (not tried yet, or tried and deferred)
  delivered,  // the next hop (or the mailbox) took it
  failed,     // permanent: a failure report may be due
};

struct QueuedRecipient {
  std::string address;
  dsn::RecipientParameters dsn;
  RecipientState state = RecipientState::ready;
  bool reported = false;    // its failure (or delay) report has been queued
  std::string last_error;   // last reply or our reason: "550 5.1.1 ..."
  std::string remote_mta;   // who said it

  // Field by field (dsn::RecipientParameters has no operator== of its own).
  friend bool operator==(const QueuedRecipient&, const QueuedRecipient&);
};

struct QueuedMessage {
  std::string id;                // the file names' stem (QueueStore::new_id)
  std::int64_t arrival_time = 0;  // unix seconds
  std::string mail_from;          // "" = the null sender
  dsn::MailParameters dsn;
  bool eight_bit = false;
  bool smtputf8 = false;
  std::uint64_t size = 0;         // of the content, in octets
  std::string origin;             // e.g. "MAIL01\Default MAIL01 from 192.0.2.1", for get-message and tracking
  bool delay_reported = false;
  bool suspended = false;
  std::vector<QueuedRecipient> recipients;

  friend bool operator==(const QueuedMessage&, const QueuedMessage&);
};

// A change made after the message was queued, appended to its control file as one durable line.
struct Record {
  enum class Kind : std::uint8_t { delivered, failed, reported, delay_reported, suspended, resumed };
  Kind kind = Kind::delivered;
  std::uint32_t recipient = 0;  // index into QueuedMessage::recipients (delivered, failed, reported)
  std::string text;             // the reply or our reason (delivered, failed)
  std::string remote_mta;       // who answered (delivered, failed)

  friend bool operator==(const Record&, const Record&) = default;
};

// The control file's first part, ending in a commit line that carries a checksum of what precedes it.
std::string encode_envelope(const QueuedMessage& message);
// One line, ending in '\n'. Every field is escaped, so any octet in addresses and replies is safe.
std::string encode_record(const Record& record);

// Parses a control file: the envelope, then each complete record applied in order. nullopt (and
// `problem` set) when the envelope has no commit line, or is malformed: such a message was never
// acknowledged. A torn last record (no final newline) is ignored. A malformed complete record is
// skipped, and `problem` says so although a message is returned. Bad bytes never crash it.
std::optional<QueuedMessage> parse_control_file(std::string_view text, std::string& problem);

// What QueueStore::load needs beyond the message: whether a file without a message is an entry that was
// never committed (removed) or a committed one that is damaged (kept aside), and where a torn tail begins
// (cut off before the next record is appended, or that record would be glued to it).
struct ControlFile {
  enum class Status : std::uint8_t { committed, incomplete, corrupt };
  Status status = Status::incomplete;
  std::optional<QueuedMessage> message;  // set when committed
  std::string problem;                   // why not committed, or which records were skipped
  std::size_t complete_length = 0;       // octets up to and including the last '\n'
};
ControlFile read_control_file(std::string_view text);

// Applies one record. A recipient index out of range is ignored (the parser reports it).
void apply(QueuedMessage& message, const Record& record);

}  // namespace transport::queue
