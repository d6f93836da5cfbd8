// Delivery status notifications (RFC 3464): the multipart/report a sender gets back, written for the
// person who reads it first and the program that parses it second. Everything taken from the original
// message or a remote server is untrusted: it cannot add header lines, break the MIME structure or
// make a line longer than RFC 5322's 998 octets.
#include "transportd/dsn/delivery_report.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>

#include "store/text_util.h"
#include "transportd/rfc5322_date.h"

namespace transport::dsn {

namespace {

using store::iequals;

constexpr std::size_t kMaxLine = 998;        // RFC 5322 §2.1.1, without the line end
constexpr std::size_t kHeaderWidth = 78;     // folding target for header fields
constexpr std::size_t kTextWidth = 76;       // wrapping target for the human-readable part
constexpr std::size_t kMaxToken = 900;       // a longer word is broken, so a line stays under kMaxLine
constexpr std::size_t kMaxDiagnostic = 2000;  // the remote server's answer, after cleaning
constexpr std::size_t kMaxSubject = 200;     // octets of the original Subject: we repeat

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Spaces for controls (CR and LF included: no injected lines), and runs of them collapsed, trimmed.
// With `ascii`, octets above 0x7F become '?' (fields that must be 7-bit).
std::string one_line(std::string_view text, bool ascii) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) c = ' ';
    if (ascii && byte >= 0x80) c = '?';
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += c;
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Words of `text` (split at spaces), none longer than kMaxToken: a longer one is cut into pieces.
std::vector<std::string_view> words_of(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    std::size_t end = text.find(' ', i);
    if (end == std::string_view::npos) end = text.size();
    for (std::size_t start = i; start < end; start += kMaxToken) {
      words.push_back(text.substr(start, std::min(kMaxToken, end - start)));
    }
    i = end;
  }
  return words;
}

// "Name: value\n", folded at spaces before kHeaderWidth where it can be (RFC 5322 §2.2.3), never
// beyond kMaxLine. `value` must already be one line.
std::string header_field(std::string_view name, std::string_view value) {
  std::string out(name);
  out += ':';
  std::size_t line_length = out.size();
  bool first = true;
  for (std::string_view word : words_of(value)) {
    if (!first && line_length + 1 + word.size() > kHeaderWidth) {
      out += '\n';
      line_length = 0;
    }
    out += ' ';
    out += word;
    line_length += 1 + word.size();
    first = false;
  }
  out += '\n';
  return out;
}

// Paragraph text wrapped at kTextWidth, every line starting with `indent`.
std::string wrap(std::string_view text, std::string_view indent = "") {
  std::string out;
  std::size_t line_length = 0;
  for (std::string_view word : words_of(text)) {
    if (line_length > indent.size() && line_length + 1 + word.size() > kTextWidth) {
      out += '\n';
      line_length = 0;
    }
    if (line_length == 0) {
      out += indent;
      line_length = indent.size();
    } else {
      out += ' ';
      ++line_length;
    }
    out += word;
    line_length += word.size();
  }
  if (!out.empty()) out += '\n';
  return out;
}

std::string base64(std::string_view data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t v = (static_cast<unsigned char>(data[i]) << 16) |
                            (static_cast<unsigned char>(data[i + 1]) << 8) | static_cast<unsigned char>(data[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (const std::size_t rest = data.size() - i; rest > 0) {
    std::uint32_t v = static_cast<unsigned char>(data[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(data[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// RFC 2047 encoded-words ("=?UTF-8?B?...?=", each at most 75 characters) separated by spaces, split
// only between characters so that each word decodes on its own (§5).
std::string encoded_words(std::string_view utf8) {
  constexpr std::size_t kMaxOctetsPerWord = 45;  // 60 base64 characters + 12 of "=?UTF-8?B??="
  std::string out;
  while (!utf8.empty()) {
    std::size_t take = std::min(kMaxOctetsPerWord, utf8.size());
    while (take < utf8.size() && take > 0 && (static_cast<unsigned char>(utf8[take]) & 0xC0) == 0x80) --take;
    if (!out.empty()) out += ' ';
    out += "=?UTF-8?B?" + base64(utf8.substr(0, take)) + "?=";
    utf8.remove_prefix(take);
  }
  return out;
}

// At most `limit` octets of UTF-8 text, cut between characters.
std::string_view cut_utf8(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

// The header section of a stored message: up to and including the LF before the empty line (all of
// it when there is no body). A CRLF empty line ends it too: the stored form is LF, but a stray CR must
// not turn the body into headers.
std::string_view header_section(std::string_view message) {
  if (message.starts_with('\n') || message.starts_with("\r\n")) return {};
  const std::size_t blank = std::min(message.find("\n\n"), message.find("\n\r\n"));
  return blank == std::string_view::npos ? message : message.substr(0, blank + 1);
}

// The unfolded value of the first `name:` field, or nullopt.
std::optional<std::string> header_value(std::string_view headers, std::string_view name) {
  std::size_t at = 0;
  while (at < headers.size()) {
    std::size_t end = headers.find('\n', at);
    if (end == std::string_view::npos) end = headers.size();
    const std::string_view line = headers.substr(at, end - at);
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos && iequals(store::trim(line.substr(0, colon)), name) &&
        !(line.starts_with(' ') || line.starts_with('\t'))) {
      std::string value(line.substr(colon + 1));
      // Continuation lines: unfolding removes the line break and keeps the white space (§2.2.3).
      while (end + 1 < headers.size() && (headers[end + 1] == ' ' || headers[end + 1] == '\t')) {
        const std::size_t next = end + 1;
        end = headers.find('\n', next);
        if (end == std::string_view::npos) end = headers.size();
        value += headers.substr(next, end - next);
      }
      return value;
    }
    at = end + 1;
  }
  return std::nullopt;
}

// The original header section as the report returns it: at most kMaxReturnedHeaders octets, cut before
// a field (or, when one field is larger than that, at a line end), no line longer than kMaxLine, no NUL.
std::string returned_headers(std::string_view headers) {
  if (headers.size() > kMaxReturnedHeaders) {
    std::string_view cut = headers.substr(0, kMaxReturnedHeaders);
    std::size_t end = std::string_view::npos;
    for (std::size_t i = cut.size(); i-- > 1;) {
      if (cut[i - 1] == '\n' && cut[i] != ' ' && cut[i] != '\t') {
        end = i;
        break;
      }
    }
    if (end == std::string_view::npos) {
      const std::size_t last_line = cut.rfind('\n');
      end = last_line == std::string_view::npos ? cut.size() : last_line + 1;
    }
    headers = cut.substr(0, end);
  }
  std::string out;
  out.reserve(headers.size() + 1);
  std::size_t line_length = 0;
  for (char c : headers) {
    if (c == '\0') continue;
    if (c == '\n') {
      line_length = 0;
      out += c;
    } else if (line_length < kMaxLine) {
      ++line_length;
      out += c;
    }
  }
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out;
}

// Whether the whole message can travel inside the report unchanged: no NUL, no line over kMaxLine.
bool returnable_whole(std::string_view message) {
  std::size_t line_length = 0;
  for (char c : message) {
    if (c == '\0') return false;
    if (c == '\n') {
      line_length = 0;
    } else if (++line_length > kMaxLine) {
      return false;
    }
  }
  return true;
}

// RFC 3463: class "." subject "." detail, class 2, 4 or 5, the others one to three digits.
bool is_status(std::string_view status) {
  if (status.size() < 5 || (status[0] != '2' && status[0] != '4' && status[0] != '5') || status[1] != '.') {
    return false;
  }
  std::size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    const std::size_t start = i;
    while (i < status.size() && is_digit(status[i])) ++i;
    if (i == start || i - start > 3) return false;
    if (part == 0) {
      if (i >= status.size() || status[i] != '.') return false;
      ++i;
    }
  }
  return i == status.size();
}

char class_of(Action action) {
  switch (action) {
    case Action::failed:
      return '5';
    case Action::delayed:
      return '4';
    case Action::delivered:
    case Action::relayed:
      return '2';
  }
  return '5';
}

std::string_view action_word(Action action) {
  switch (action) {
    case Action::failed:
      return "failed";
    case Action::delayed:
      return "delayed";
    case Action::delivered:
      return "delivered";
    case Action::relayed:
      return "relayed";
  }
  return "failed";
}

// The status a recipient's report carries: the caller's when well formed, in the action's class.
std::string report_status(const RecipientReport& recipient) {
  std::string status = is_status(recipient.status) ? recipient.status : std::string("X.0.0");
  status[0] = class_of(recipient.action);
  return status;
}

// "subject.detail" of a status: "1.1" of "5.1.1".
std::string_view subject_detail(std::string_view status) { return status.substr(2); }

// What an RFC 3463 status means, in words for the person reading the report.
std::string_view status_meaning(std::string_view status) {
  struct Meaning {
    std::string_view code;
    std::string_view text;
  };
  static constexpr std::array<Meaning, 17> kMeanings = {{
      {"1.1", "the mailbox does not exist"},
      {"1.2", "the recipient's domain does not exist or takes no mail"},
      {"1.3", "the address is not valid"},
      {"1.6", "the mailbox has moved"},
      {"1.10", "the recipient's domain takes no mail"},
      {"2.1", "the mailbox is disabled"},
      {"2.2", "the mailbox is full"},
      {"2.3", "the message is larger than the mailbox takes"},
      {"3.4", "the message is larger than the receiving system takes"},
      {"4.1", "the receiving server did not answer"},
      {"4.2", "the connection to the receiving server was lost"},
      {"4.3", "the recipient's domain could not be looked up"},
      {"4.4", "no route leads to the recipient's domain"},
      {"4.7", "the message expired before it could be delivered"},
      {"5.3", "the receiving system took too many recipients at once"},
      {"7.1", "the receiving system refused the message by its policy"},
      {"7.0", "the receiving system refused the message for security or policy reasons"},
  }};
  const std::string_view code = subject_detail(status);
  for (const Meaning& meaning : kMeanings) {
    if (meaning.code == code) return meaning.text;
  }
  if (code.starts_with("7.")) return "the receiving system refused the message by its policy";
  switch (status[0]) {
    case '2':
      return "success";
    case '4':
      return "a temporary problem";
    default:
      return "a permanent problem";
  }
}

// What the sender can do about a failure, by its status.
std::string_view advice_for(std::string_view status) {
  const std::string_view code = subject_detail(status);
  if (code.starts_with("1.")) {
    return "Check the address for typing mistakes, correct it, and send your message again.";
  }
  if (code == "2.2") return "The recipient's mailbox is full. Try again later, or reach the recipient another way.";
  if (code == "2.3" || code == "3.4") {
    return "Your message is too large for the receiving system. Send it again without large attachments, "
           "or share them another way.";
  }
  if (code == "4.4" || code == "4.3") {
    return "Check the part of the address after the @ for typing mistakes. If it is right, the recipient's "
           "mail system is not reachable: reach the recipient another way.";
  }
  if (code == "4.7") {
    return "The recipient's mail system could not take the message in all the time it was kept for "
           "delivery. Try again later, or reach the recipient another way.";
  }
  if (code.starts_with("7.")) {
    return "The receiving system would not accept your message. Reach the recipient another way, or ask "
           "your email administrator to look at the details below.";
  }
  return "If the problem continues, forward this report to your email administrator.";
}

// "550 text", "550-text", "550": a reply line with its code.
bool looks_like_smtp_reply(std::string_view text) {
  return text.size() >= 3 && is_digit(text[0]) && is_digit(text[1]) && is_digit(text[2]) &&
         (text.size() == 3 || text[3] == ' ' || text[3] == '-');
}

// The remote server's answer as one line of 7-bit text: a multi-line reply's lines joined, the
// repeated "550-5.1.1 " prefixes of its continuation lines dropped, bounded in length.
std::string clean_diagnostic(std::string_view diagnostic) {
  std::string joined;
  std::string_view first_prefix;  // "550" of the first line
  std::size_t at = 0;
  bool first = true;
  while (at <= diagnostic.size()) {
    std::size_t end = diagnostic.find('\n', at);
    if (end == std::string_view::npos) end = diagnostic.size();
    std::string_view line = diagnostic.substr(at, end - at);
    if (line.ends_with('\r')) line.remove_suffix(1);
    const bool has_code = looks_like_smtp_reply(line);
    if (first) {
      if (has_code) first_prefix = line.substr(0, 3);
      joined += line;
      if (has_code && line.size() > 3) joined[3] = ' ';  // "550-" announced more lines: they are joined
      first = false;
    } else if (!line.empty()) {
      if (has_code && line.substr(0, 3) == first_prefix) {
        line.remove_prefix(std::min<std::size_t>(4, line.size()));
        // and the enhanced code that most servers repeat on each line
        const std::size_t space = line.find(' ');
        if (is_status(line.substr(0, space))) line.remove_prefix(space == std::string_view::npos ? line.size() : space);
      }
      joined += ' ';
      joined += line;
    }
    at = end + 1;
    if (joined.size() > kMaxDiagnostic) break;
  }
  std::string clean = one_line(joined, true);
  if (clean.size() > kMaxDiagnostic) {
    clean.resize(kMaxDiagnostic);
    clean += "...";
  }
  return clean;
}

// An address as a report field's value (RFC 3464 §2.3.2 with RFC 6533 §3): "rfc822;addr", or for a
// non-ASCII address "utf-8;" with \x{HEX} escapes, so message/delivery-status stays 7-bit.
std::string address_field(std::string_view address) {
  const std::string clean = one_line(address, false);
  if (is_ascii(clean)) return "rfc822;" + clean;
  if (store::invalid_utf8_offset(clean) == std::string::npos) return orcpt_parameter("utf-8;" + clean);
  return "rfc822;" + one_line(clean, true);
}

// A decoded ORCPT ("type;address") as an Original-Recipient value.
std::string original_recipient_field(std::string_view orcpt) {
  const std::size_t semicolon = orcpt.find(';');
  if (semicolon == std::string_view::npos) return address_field(orcpt);
  const std::string type = store::to_lower(one_line(orcpt.substr(0, semicolon), true));
  const std::string_view address = orcpt.substr(semicolon + 1);
  if (type == "utf-8" || !is_ascii(address)) return address_field(address);
  return type + ";" + one_line(address, true);
}

// A host name as it may appear in a field: no spaces, 7-bit, bounded.
std::string host_text(std::string_view host) {
  std::string clean = one_line(host, true);
  std::replace(clean.begin(), clean.end(), ' ', '_');
  if (clean.size() > 255) clean.resize(255);
  return clean;
}

// The caller's Message-ID without anything that could end it early or split it.
std::string message_id_text(std::string_view id) {
  std::string clean;
  for (char c : id) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte > 0x20 && byte < 0x7F && c != '<' && c != '>' && c != '"' && c != '(' && c != ')' && c != '\\') clean += c;
  }
  if (clean.size() > 250) clean.resize(250);
  return clean;
}

// An address for a header field or the text: on one line, in angle brackets where it is a field.
std::string address_text(std::string_view address) {
  std::string clean = one_line(address, false);
  if (clean.size() > kMaxToken) clean.resize(kMaxToken);
  return clean;
}

// The Subject: of the report: what happened, then the original subject when it can be carried.
std::string report_subject(std::string_view headers, Action worst) {
  std::string_view what;
  switch (worst) {
    case Action::failed:
      what = "Undeliverable";
      break;
    case Action::delayed:
      what = "Delivery delayed";
      break;
    case Action::delivered:
      what = "Delivered";
      break;
    case Action::relayed:
      what = "Relayed";
      break;
  }
  const std::optional<std::string> original = header_value(headers, "Subject");
  if (!original) return std::string(what);
  const std::string clean = one_line(*original, false);
  if (clean.empty()) return std::string(what);
  const std::string_view cut = cut_utf8(clean, kMaxSubject);
  const std::string shown = std::string(cut) + (cut.size() < clean.size() ? "..." : "");
  if (is_ascii(shown)) return std::string(what) + ": " + shown;
  // 8-bit subject: encoded when it is UTF-8, left out when it is something we cannot name.
  if (store::invalid_utf8_offset(shown) != std::string::npos) return std::string(what);
  return std::string(what) + ": " + encoded_words(shown);
}

std::string hex64(std::uint64_t value) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

// FNV-1a: the boundary candidates after the first one, unpredictable without the seed.
std::uint64_t fnv1a(std::string_view text, std::uint64_t attempt) {
  std::uint64_t hash = 0xcbf29ce484222325ULL ^ attempt;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// A boundary (RFC 2046 §5.1.1: at most 70 bchars) that none of the parts contains.
std::string choose_boundary(std::string_view seed, const std::vector<std::string_view>& parts) {
  std::string base = "=_dsn_";
  for (char c : seed) {
    if (base.size() >= 40) break;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' || c == '-') base += c;
  }
  for (std::uint64_t attempt = 0;; ++attempt) {
    const std::string candidate = attempt == 0 ? base : base + "_" + hex64(fnv1a(seed, attempt));
    const bool clashes = std::any_of(parts.begin(), parts.end(),
                                     [&](std::string_view part) { return part.find(candidate) != std::string_view::npos; });
    if (!clashes) return candidate;
  }
}

// The text/plain part: what happened, to whom, what the other server said, what to do.
std::string human_text(const ReportRequest& request, bool whole_returned, bool headers_instead_of_whole) {
  const auto group = [&](Action action) {
    std::vector<const RecipientReport*> members;
    for (const RecipientReport& recipient : request.recipients) {
      if (recipient.action == action) members.push_back(&recipient);
    }
    return members;
  };
  const auto describe = [&](const RecipientReport& recipient, bool with_reason) {
    std::string text = wrap(address_text(recipient.final_recipient), "    ");
    const std::string status = report_status(recipient);
    if (with_reason) text += wrap("Reason: " + std::string(status_meaning(status)) + " (" + status + ").", "      ");
    if (recipient.last_attempt != 0 && recipient.action == Action::delayed) {
      text += wrap("Last attempt: " + rfc5322_date(recipient.last_attempt) + ".", "      ");
    }
    const std::string diagnostic = clean_diagnostic(recipient.diagnostic);
    if (!diagnostic.empty()) {
      const std::string host = host_text(recipient.remote_mta);
      text += wrap((host.empty() ? std::string("Details:") : "The server " + host + " answered:"), "      ");
      text += wrap(diagnostic, "        ");
    }
    return text;
  };

  std::string text = wrap("This is the mail system at " + host_text(request.reporting_mta) + ".");
  text += '\n';

  if (const auto failed = group(Action::failed); !failed.empty()) {
    text += wrap("Your message could not be delivered to the recipients below. The mail system has given "
                 "up on them and will not try again.");
    text += '\n';
    std::vector<std::string_view> advice;
    for (const RecipientReport* recipient : failed) {
      text += describe(*recipient, true);
      text += '\n';
      const std::string_view line = advice_for(report_status(*recipient));
      if (std::find(advice.begin(), advice.end(), line) == advice.end()) advice.push_back(line);
    }
    text += wrap("What you can do:");
    for (std::string_view line : advice) text += wrap(line, "  ");
    text += '\n';
  }
  if (const auto delayed = group(Action::delayed); !delayed.empty()) {
    text += wrap("Your message has not been delivered yet to the recipients below. The mail system is "
                 "still trying; you do not need to send it again.");
    text += '\n';
    std::int64_t until = 0;
    for (const RecipientReport* recipient : delayed) {
      text += describe(*recipient, true);
      text += '\n';
      until = std::max(until, recipient->will_retry_until);
    }
    if (until != 0) {
      text += wrap("It will keep trying until " + rfc5322_date(until) +
                   ". If the message cannot be delivered by then, you will get another report.");
    } else {
      text += wrap("If the message cannot be delivered in the end, you will get another report.");
    }
    text += '\n';
  }
  if (const auto delivered = group(Action::delivered); !delivered.empty()) {
    text += wrap("Your message was delivered to:");
    for (const RecipientReport* recipient : delivered) text += describe(*recipient, false);
    text += '\n';
  }
  if (const auto relayed = group(Action::relayed); !relayed.empty()) {
    text += wrap("Your message was passed on to the recipients' mail system, which does not send delivery "
                 "reports; this is the last report you will get for:");
    for (const RecipientReport* recipient : relayed) text += describe(*recipient, false);
    text += '\n';
  }

  std::string attached = whole_returned ? "Your message is attached." : "The headers of your message are attached.";
  if (headers_instead_of_whole) {
    attached = "The headers of your message are attached (it is too large, or not in a form that can be "
               "returned whole).";
  }
  text += wrap("The technical details of this report follow in a machine-readable part. " + attached);
  return text;
}

// The message/delivery-status part (RFC 3464 §2.2, §2.3).
std::string delivery_status(const ReportRequest& request) {
  std::string status = header_field("Reporting-MTA", "dns; " + host_text(request.reporting_mta));
  const std::string envid = one_line(request.envid, true);
  if (!envid.empty()) status += header_field("Original-Envelope-Id", envid);
  if (request.arrival_date != 0) status += header_field("Arrival-Date", rfc5322_date(request.arrival_date));
  for (const RecipientReport& recipient : request.recipients) {
    status += '\n';
    status += header_field("Final-Recipient", address_field(recipient.final_recipient));
    if (!recipient.original_recipient.empty()) {
      status += header_field("Original-Recipient", original_recipient_field(recipient.original_recipient));
    }
    status += header_field("Action", action_word(recipient.action));
    status += header_field("Status", report_status(recipient));
    const std::string host = host_text(recipient.remote_mta);
    if (!host.empty()) status += header_field("Remote-MTA", "dns; " + host);
    const std::string diagnostic = clean_diagnostic(recipient.diagnostic);
    if (!diagnostic.empty()) {
      // A reply from a server (or one we made in its form) is "smtp"; other text of ours is marked ours.
      const std::string_view type = looks_like_smtp_reply(diagnostic) ? "smtp" : "X-transportd";
      status += header_field("Diagnostic-Code", std::string(type) + "; " + diagnostic);
    }
    if (recipient.last_attempt != 0) status += header_field("Last-Attempt-Date", rfc5322_date(recipient.last_attempt));
    if (recipient.action == Action::delayed && recipient.will_retry_until != 0) {
      status += header_field("Will-Retry-Until", rfc5322_date(recipient.will_retry_until));
    }
  }
  return status;
}

// The action that names the report: failure before delay before success.
Action worst_action(const std::vector<RecipientReport>& recipients) {
  const auto any = [&](Action action) {
    return std::any_of(recipients.begin(), recipients.end(), [&](const RecipientReport& r) { return r.action == action; });
  };
  if (any(Action::failed)) return Action::failed;
  if (any(Action::delayed)) return Action::delayed;
  if (any(Action::delivered)) return Action::delivered;
  return recipients.empty() ? Action::failed : Action::relayed;
}

}  // namespace

bool needs_8bitmime(std::string_view message) { return !is_ascii(message); }

bool report_wanted(std::string_view original_sender, const Notify& notify, Action action) {
  if (original_sender.empty() || original_sender == "<>") return false;
  if (notify.never) return false;
  switch (action) {
    case Action::failed:
      return notify.failure;
    case Action::delayed:
      return notify.delay;
    case Action::delivered:
    case Action::relayed:
      return notify.success;
  }
  return false;
}

std::string status_of_reply(int code, std::string_view enhanced) {
  const char reply_class = code / 100 == 2 ? '2' : code / 100 == 4 ? '4' : '5';
  std::string_view text = store::trim(enhanced);
  if (looks_like_smtp_reply(text)) text = store::trim(text.substr(std::min<std::size_t>(4, text.size())));
  const std::string_view candidate = text.substr(0, text.find_first_of(" \t\r\n"));
  if (!is_status(candidate)) return std::string(1, reply_class) + ".0.0";
  std::string status(candidate);
  status[0] = reply_class;  // RFC 3463 §2: the class must agree with the reply; the reply decides
  return status;
}

std::string compose_report(const ReportRequest& request) {
  const std::string_view headers = header_section(request.original_message);
  // RET=FULL asks for the message in a failure report (RFC 3461 §4.3); delays and successes carry headers.
  const bool full_wanted = request.return_full && worst_action(request.recipients) == Action::failed;
  const bool fits = request.original_message.size() <= request.full_message_limit;
  const bool whole = full_wanted && fits && returnable_whole(request.original_message);

  std::string original;
  if (whole) {
    original = request.original_message;
    if (!original.empty() && original.back() != '\n') original += '\n';
  } else {
    original = returned_headers(headers);
  }
  const std::string text = human_text(request, whole, full_wanted && !whole);
  const std::string status = delivery_status(request);
  const std::string boundary = choose_boundary(request.boundary_seed, {original, text, status});

  const std::string postmaster = address_text(request.postmaster);
  std::string report;
  report.reserve(original.size() + text.size() + status.size() + 2048);
  report += header_field("From", "\"Mail Delivery System\" <" + postmaster + ">");
  report += header_field("To", "<" + address_text(request.original_sender) + ">");
  report += header_field("Subject", report_subject(headers, worst_action(request.recipients)));
  report += header_field("Date", rfc5322_date(request.now));
  report += header_field("Message-ID", "<" + message_id_text(request.message_id) + ">");
  report += header_field("Auto-Submitted", "auto-replied");
  report += header_field("MIME-Version", "1.0");
  report += header_field("Content-Type", "multipart/report; report-type=delivery-status; boundary=\"" + boundary + "\"");
  report += '\n';
  report += "This is a delivery status notification in MIME format.\n";

  const auto part = [&](std::string_view part_headers, std::string_view content) {
    report += "\n--" + boundary + "\n";
    report += part_headers;
    report += '\n';
    report += content;
  };
  part(std::string(is_ascii(text) ? "Content-Type: text/plain; charset=us-ascii\n"
                                  : "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n") +
           "Content-Description: Notification\n",
       text);
  part("Content-Type: message/delivery-status\nContent-Description: Delivery report\n", status);
  if (whole) {
    part(std::string("Content-Type: message/rfc822\n") +
             (is_ascii(original) ? "" : "Content-Transfer-Encoding: 8bit\n") +
             "Content-Description: Undelivered message\n",
         original);
  } else {
    part(std::string("Content-Type: text/rfc822-headers\n") +
             (is_ascii(original) ? "" : "Content-Transfer-Encoding: 8bit\n") +
             "Content-Description: Undelivered message headers\n",
         original);
  }
  report += "\n--" + boundary + "--\n";
  return report;
}

}  // namespace transport::dsn
