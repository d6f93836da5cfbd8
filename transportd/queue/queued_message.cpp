// The control file's text form: one "key value" line per envelope field, one "rcpt" line per recipient,
// a commit line with the count of recipients and an FNV-1a checksum of everything before it, then the
// records. Fields are escaped xtext-style ('+' and octets outside 33–126 as +XX), so fields are separated
// by single spaces and nothing a sender chose can end a line.
#include "transportd/queue/queued_message.h"

#include <array>
#include <charconv>

namespace transport::queue {

namespace {

constexpr std::string_view kMagic = "transportd-queue 1";
constexpr std::string_view kCommit = "commit ";
constexpr std::size_t kMaxFields = 8;

bool is_literal(unsigned char c) { return c >= 33 && c <= 126 && c != '+'; }

void append_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_literal(c)) {
      out.push_back(ch);
    } else {
      out.push_back('+');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<std::string> unescape(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    const auto c = static_cast<unsigned char>(field[i]);
    if (c == '+') {
      if (i + 2 >= field.size()) return std::nullopt;
      const int high = hex_value(field[i + 1]);
      const int low = hex_value(field[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (is_literal(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      return std::nullopt;  // a raw space, control or 8-bit octet: never written by encode
    }
  }
  return out;
}

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

template <typename Integer>
std::optional<Integer> parse_integer(std::string_view text, int base = 10) {
  Integer value{};
  if (text.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<bool> parse_flag(std::string_view text) {
  if (text == "0") return false;
  if (text == "1") return true;
  return std::nullopt;
}

// Splits a line at single spaces into at most kMaxFields fields; nullopt when there are more.
struct Fields {
  std::array<std::string_view, kMaxFields> field{};
  std::size_t count = 0;
};
std::optional<Fields> split(std::string_view line) {
  Fields fields;
  while (true) {
    if (fields.count == kMaxFields) return std::nullopt;
    const std::size_t space = line.find(' ');
    fields.field[fields.count++] = line.substr(0, space);
    if (space == std::string_view::npos) return fields;
    line.remove_prefix(space + 1);
  }
}

// dsn::Notify as bits, so that it needs no parser of its own.
constexpr unsigned kNotifyGiven = 1, kNotifyNever = 2, kNotifySuccess = 4, kNotifyFailure = 8, kNotifyDelay = 16;

unsigned notify_bits(const dsn::Notify& n) {
  return (n.given ? kNotifyGiven : 0) | (n.never ? kNotifyNever : 0) | (n.success ? kNotifySuccess : 0) |
         (n.failure ? kNotifyFailure : 0) | (n.delay ? kNotifyDelay : 0);
}

std::optional<dsn::Notify> notify_from_bits(std::string_view text) {
  const auto bits = parse_integer<unsigned>(text);
  if (!bits || *bits > 31) return std::nullopt;
  dsn::Notify n;
  n.given = (*bits & kNotifyGiven) != 0;
  n.never = (*bits & kNotifyNever) != 0;
  n.success = (*bits & kNotifySuccess) != 0;
  n.failure = (*bits & kNotifyFailure) != 0;
  n.delay = (*bits & kNotifyDelay) != 0;
  return n;
}

std::string_view state_name(RecipientState state) {
  switch (state) {
    case RecipientState::ready: return "ready";
    case RecipientState::delivered: return "delivered";
    case RecipientState::failed: return "failed";
  }
  return "ready";
}

std::optional<RecipientState> parse_state(std::string_view text) {
  if (text == "ready") return RecipientState::ready;
  if (text == "delivered") return RecipientState::delivered;
  if (text == "failed") return RecipientState::failed;
  return std::nullopt;
}

std::optional<dsn::Return> parse_return(std::string_view text) {
  if (text == "unspecified") return dsn::Return::unspecified;
  if (text == "full") return dsn::Return::full;
  if (text == "headers") return dsn::Return::headers;
  return std::nullopt;
}

std::string_view return_name(dsn::Return ret) {
  switch (ret) {
    case dsn::Return::unspecified: return "unspecified";
    case dsn::Return::full: return "full";
    case dsn::Return::headers: return "headers";
  }
  return "unspecified";
}

std::string_view record_name(Record::Kind kind) {
  switch (kind) {
    case Record::Kind::delivered: return "delivered";
    case Record::Kind::failed: return "failed";
    case Record::Kind::reported: return "reported";
    case Record::Kind::delay_reported: return "delay-reported";
    case Record::Kind::suspended: return "suspended";
    case Record::Kind::resumed: return "resumed";
  }
  return "";
}

// Reads the complete lines of a text one at a time.
class Lines {
 public:
  explicit Lines(std::string_view text) : text_(text) {}
  // The next line without its '\n'; nullopt at the end or at a torn line (no '\n').
  std::optional<std::string_view> next() {
    const std::size_t newline = text_.find('\n', position_);
    if (newline == std::string_view::npos) return std::nullopt;
    std::string_view line = text_.substr(position_, newline - position_);
    line_start_ = position_;
    position_ = newline + 1;
    return line;
  }
  std::size_t line_start() const { return line_start_; }

 private:
  std::string_view text_;
  std::size_t position_ = 0;
  std::size_t line_start_ = 0;
};

// "key value" with value escaped, for the envelope's single-field lines.
bool field_line(std::string_view line, std::string_view key, std::string_view& value) {
  if (line.size() < key.size() + 1 || line.substr(0, key.size()) != key || line[key.size()] != ' ') return false;
  value = line.substr(key.size() + 1);
  return true;
}

std::optional<QueuedRecipient> parse_recipient(std::string_view line) {
  const auto fields = split(line);
  if (!fields || fields->count != 8 || fields->field[0] != "rcpt") return std::nullopt;
  const auto& f = fields->field;
  QueuedRecipient r;
  auto address = unescape(f[1]);
  const auto notify = notify_from_bits(f[2]);
  auto orcpt = unescape(f[3]);
  const auto state = parse_state(f[4]);
  const auto reported = parse_flag(f[5]);
  auto last_error = unescape(f[6]);
  auto remote_mta = unescape(f[7]);
  if (!address || !notify || !orcpt || !state || !reported || !last_error || !remote_mta) return std::nullopt;
  r.address = std::move(*address);
  r.dsn.notify = *notify;
  r.dsn.orcpt = std::move(*orcpt);
  r.state = *state;
  r.reported = *reported;
  r.last_error = std::move(*last_error);
  r.remote_mta = std::move(*remote_mta);
  return r;
}

// The envelope lines (everything before the commit line), in the order encode_envelope writes them.
bool parse_envelope(std::string_view envelope, QueuedMessage& m, std::string& problem) {
  Lines lines(envelope);
  std::string_view value;
  auto line = lines.next();
  if (!line || *line != kMagic) {
    problem = "not a control file of this version";
    return false;
  }
  const auto text_field = [&](std::string_view key, std::string& out) {
    line = lines.next();
    if (!line || !field_line(*line, key, value)) return false;
    auto decoded = unescape(value);
    if (!decoded) return false;
    out = std::move(*decoded);
    return true;
  };
  const auto flag_field = [&](std::string_view key, bool& out) {
    line = lines.next();
    if (!line || !field_line(*line, key, value)) return false;
    const auto flag = parse_flag(value);
    if (!flag) return false;
    out = *flag;
    return true;
  };
  const auto fail = [&](std::string_view what) {
    problem = "malformed envelope: " + std::string(what);
    return false;
  };

  if (!text_field("id", m.id)) return fail("id");
  line = lines.next();
  std::optional<std::int64_t> arrival;
  if (!line || !field_line(*line, "arrival", value) || !(arrival = parse_integer<std::int64_t>(value))) return fail("arrival");
  m.arrival_time = *arrival;
  if (!text_field("from", m.mail_from)) return fail("from");
  line = lines.next();
  std::optional<dsn::Return> ret;
  if (!line || !field_line(*line, "ret", value) || !(ret = parse_return(value))) return fail("ret");
  m.dsn.ret = *ret;
  if (!text_field("envid", m.dsn.envid)) return fail("envid");
  if (!flag_field("8bitmime", m.eight_bit)) return fail("8bitmime");
  if (!flag_field("smtputf8", m.smtputf8)) return fail("smtputf8");
  line = lines.next();
  std::optional<std::uint64_t> size;
  if (!line || !field_line(*line, "size", value) || !(size = parse_integer<std::uint64_t>(value))) return fail("size");
  m.size = *size;
  if (!text_field("origin", m.origin)) return fail("origin");
  if (!flag_field("delay-reported", m.delay_reported)) return fail("delay-reported");
  if (!flag_field("suspended", m.suspended)) return fail("suspended");
  while ((line = lines.next())) {
    auto recipient = parse_recipient(*line);
    if (!recipient) return fail("recipient " + std::to_string(m.recipients.size() + 1));
    m.recipients.push_back(std::move(*recipient));
  }
  return true;
}

std::optional<Record> parse_record(std::string_view line, std::size_t recipient_count) {
  const auto fields = split(line);
  if (!fields) return std::nullopt;
  const auto& f = fields->field;
  Record record;
  const auto recipient_index = [&](std::string_view text) {
    const auto index = parse_integer<std::uint32_t>(text);
    if (!index || *index >= recipient_count) return false;
    record.recipient = *index;
    return true;
  };
  if (f[0] == "delivered" || f[0] == "failed") {
    record.kind = f[0] == "delivered" ? Record::Kind::delivered : Record::Kind::failed;
    if (fields->count != 4 || !recipient_index(f[1])) return std::nullopt;
    auto text = unescape(f[2]);
    auto remote_mta = unescape(f[3]);
    if (!text || !remote_mta) return std::nullopt;
    record.text = std::move(*text);
    record.remote_mta = std::move(*remote_mta);
    return record;
  }
  if (f[0] == "reported") {
    record.kind = Record::Kind::reported;
    if (fields->count != 2 || !recipient_index(f[1])) return std::nullopt;
    return record;
  }
  if (fields->count != 1) return std::nullopt;
  if (f[0] == "delay-reported") record.kind = Record::Kind::delay_reported;
  else if (f[0] == "suspended") record.kind = Record::Kind::suspended;
  else if (f[0] == "resumed") record.kind = Record::Kind::resumed;
  else return std::nullopt;
  return record;
}

}  // namespace

bool operator==(const QueuedRecipient& a, const QueuedRecipient& b) {
  return a.address == b.address && a.dsn.notify == b.dsn.notify && a.dsn.orcpt == b.dsn.orcpt && a.state == b.state &&
         a.reported == b.reported && a.last_error == b.last_error && a.remote_mta == b.remote_mta;
}

bool operator==(const QueuedMessage& a, const QueuedMessage& b) {
  return a.id == b.id && a.arrival_time == b.arrival_time && a.mail_from == b.mail_from && a.dsn.ret == b.dsn.ret &&
         a.dsn.envid == b.dsn.envid && a.eight_bit == b.eight_bit && a.smtputf8 == b.smtputf8 && a.size == b.size &&
         a.origin == b.origin && a.delay_reported == b.delay_reported && a.suspended == b.suspended &&
         a.recipients == b.recipients;
}

std::string encode_envelope(const QueuedMessage& m) {
  std::string out;
  out.reserve(256 + m.recipients.size() * 64);
  const auto text_field = [&](std::string_view key, std::string_view value) {
    out.append(key);
    out.push_back(' ');
    append_escaped(out, value);
    out.push_back('\n');
  };
  const auto plain_field = [&](std::string_view key, std::string_view value) {
    out.append(key);
    out.push_back(' ');
    out.append(value);
    out.push_back('\n');
  };
  out.append(kMagic);
  out.push_back('\n');
  text_field("id", m.id);
  plain_field("arrival", std::to_string(m.arrival_time));
  text_field("from", m.mail_from);
  plain_field("ret", return_name(m.dsn.ret));
  text_field("envid", m.dsn.envid);
  plain_field("8bitmime", m.eight_bit ? "1" : "0");
  plain_field("smtputf8", m.smtputf8 ? "1" : "0");
  plain_field("size", std::to_string(m.size));
  text_field("origin", m.origin);
  plain_field("delay-reported", m.delay_reported ? "1" : "0");
  plain_field("suspended", m.suspended ? "1" : "0");
  for (const QueuedRecipient& r : m.recipients) {
    out.append("rcpt ");
    append_escaped(out, r.address);
    out.push_back(' ');
    out.append(std::to_string(notify_bits(r.dsn.notify)));
    out.push_back(' ');
    append_escaped(out, r.dsn.orcpt);
    out.push_back(' ');
    out.append(state_name(r.state));
    out.append(r.reported ? " 1 " : " 0 ");
    append_escaped(out, r.last_error);
    out.push_back(' ');
    append_escaped(out, r.remote_mta);
    out.push_back('\n');
  }
  char checksum[17];
  const auto [end, ec] = std::to_chars(checksum, checksum + sizeof checksum, fnv1a(out), 16);
  (void)ec;  // 16 hex digits always fit
  out.append(kCommit);
  out.append(std::to_string(m.recipients.size()));
  out.push_back(' ');
  out.append(checksum, end);
  out.push_back('\n');
  return out;
}

std::string encode_record(const Record& record) {
  std::string out(record_name(record.kind));
  switch (record.kind) {
    case Record::Kind::delivered:
    case Record::Kind::failed:
      out.push_back(' ');
      out.append(std::to_string(record.recipient));
      out.push_back(' ');
      append_escaped(out, record.text);
      out.push_back(' ');
      append_escaped(out, record.remote_mta);
      break;
    case Record::Kind::reported:
      out.push_back(' ');
      out.append(std::to_string(record.recipient));
      break;
    case Record::Kind::delay_reported:
    case Record::Kind::suspended:
    case Record::Kind::resumed:
      break;
  }
  out.push_back('\n');
  return out;
}

void apply(QueuedMessage& message, const Record& record) {
  QueuedRecipient* recipient =
      record.recipient < message.recipients.size() ? &message.recipients[record.recipient] : nullptr;
  switch (record.kind) {
    case Record::Kind::delivered:
    case Record::Kind::failed:
      if (recipient == nullptr) return;
      recipient->state = record.kind == Record::Kind::delivered ? RecipientState::delivered : RecipientState::failed;
      recipient->last_error = record.text;
      recipient->remote_mta = record.remote_mta;
      return;
    case Record::Kind::reported:
      if (recipient != nullptr) recipient->reported = true;
      return;
    case Record::Kind::delay_reported: message.delay_reported = true; return;
    case Record::Kind::suspended: message.suspended = true; return;
    case Record::Kind::resumed: message.suspended = false; return;
  }
}

ControlFile read_control_file(std::string_view text) {
  ControlFile result;
  const std::size_t last_newline = text.rfind('\n');
  result.complete_length = last_newline == std::string_view::npos ? 0 : last_newline + 1;

  Lines lines(text);
  std::optional<std::string_view> commit;
  while (auto line = lines.next()) {
    if (line->starts_with(kCommit)) {
      commit = line;
      break;
    }
  }
  if (!commit) {
    result.status = ControlFile::Status::incomplete;
    result.problem = "no commit line: never committed";
    return result;
  }
  result.status = ControlFile::Status::corrupt;
  const std::string_view envelope = text.substr(0, lines.line_start());
  const auto commit_fields = split(*commit);
  const auto checksum =
      commit_fields && commit_fields->count == 3 ? parse_integer<std::uint64_t>(commit_fields->field[2], 16) : std::nullopt;
  const auto recipient_count =
      commit_fields && commit_fields->count == 3 ? parse_integer<std::size_t>(commit_fields->field[1]) : std::nullopt;
  if (!checksum || !recipient_count) {
    result.problem = "malformed commit line";
    return result;
  }
  if (*checksum != fnv1a(envelope)) {
    result.problem = "the envelope does not match its checksum";
    return result;
  }
  QueuedMessage message;
  if (!parse_envelope(envelope, message, result.problem)) return result;
  if (message.recipients.size() != *recipient_count) {
    result.problem = "malformed envelope: recipient count";
    return result;
  }

  std::size_t skipped = 0;
  std::size_t first_skipped = 0;
  std::size_t record_number = 0;
  while (auto line = lines.next()) {
    ++record_number;
    const auto record = parse_record(*line, message.recipients.size());
    if (!record) {
      if (skipped++ == 0) first_skipped = record_number;
      continue;
    }
    apply(message, *record);
  }
  if (skipped > 0) {
    result.problem = std::to_string(skipped) + " malformed record(s) skipped, the first is record " +
                     std::to_string(first_skipped);
  }
  result.status = ControlFile::Status::committed;
  result.message = std::move(message);
  return result;
}

std::optional<QueuedMessage> parse_control_file(std::string_view text, std::string& problem) {
  ControlFile file = read_control_file(text);
  problem = std::move(file.problem);
  return std::move(file.message);
}

}  // namespace transport::queue
