// The SMTP client's protocol without I/O: reply parsing, EHLO capabilities, command formatting and the
// DATA body encoder (see client_protocol.h).
#include "transportd/outbound/client_protocol.h"

#include <charconv>
#include <limits>

#include "store/text_util.h"

namespace transport::outbound {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// One line of a reply without its line end, or nullopt-like -1 when it is not "NNN" [SP|-] text.
// Reply codes (RFC 5321 §4.2): first digit 2–5, second 0–5, third 0–9.
int line_code(std::string_view line) {
  if (line.size() < 3) return -1;
  if (line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' || !is_digit(line[2])) return -1;
  if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return -1;
  return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

std::string_view without_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// An RFC 3463 code at the start of `text`: class "." 1*3digit "." 1*3digit, then a space or the end.
// Returns its length, 0 when there is none.
std::size_t enhanced_code_length(std::string_view text) {
  std::size_t i = 0;
  if (text.size() < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.') return 0;
  i = 2;
  for (int part = 0; part < 2; ++part) {
    const std::size_t start = i;
    while (i < text.size() && is_digit(text[i]) && i - start < 4) ++i;
    if (i == start || i - start > 3) return 0;
    if (part == 0) {
      if (i >= text.size() || text[i] != '.') return 0;
      ++i;
    }
  }
  if (i < text.size() && text[i] != ' ') return 0;
  return i;
}

void append_number(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, result.ptr);
}

// Fills `reply` from a complete, already checked reply.
void build_reply(std::string_view whole, int code, SmtpReply& reply) {
  reply.code = code;
  reply.enhanced.clear();
  reply.text.clear();
  bool first = true;
  while (!whole.empty()) {
    const std::size_t newline = whole.find('\n');
    std::string_view line = without_cr(whole.substr(0, newline));
    whole.remove_prefix(newline + 1);
    std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view();
    if (first) {
      // RFC 2034 §4: the enhanced code's class repeats the reply's.
      const std::size_t length = enhanced_code_length(text);
      if (length > 0 && text[0] - '0' == code / 100) {
        reply.enhanced.assign(text.substr(0, length));
        text.remove_prefix(std::min(length + 1, text.size()));
      }
    } else {
      reply.text += '\n';
      // Each line of a multi-line reply repeats the code (RFC 2034 §4): said once is enough.
      if (!reply.enhanced.empty() && text.substr(0, reply.enhanced.size()) == reply.enhanced &&
          enhanced_code_length(text) == reply.enhanced.size()) {
        text.remove_prefix(std::min(reply.enhanced.size() + 1, text.size()));
      }
    }
    reply.text.append(text);
    first = false;
  }
}

}  // namespace

std::string SmtpReply::to_string() const {
  if (code == 0) return text;
  std::string out;
  out.reserve(4 + enhanced.size() + 1 + text.size());
  append_number(out, static_cast<std::uint64_t>(code));
  if (!enhanced.empty()) {
    out += ' ';
    out += enhanced;
  }
  if (!text.empty()) {
    out += ' ';
    for (char c : text) out += c == '\n' ? ' ' : c;
  }
  return out;
}

SmtpReply local_reply(int code, std::string_view enhanced, std::string text) {
  SmtpReply reply;
  reply.code = code;
  reply.enhanced.assign(enhanced);
  reply.text = std::move(text);
  return reply;
}

ReplyParser::Status ReplyParser::parse(std::string_view input, SmtpReply& reply, std::size_t& consumed) {
  std::size_t position = checked_;
  for (;;) {
    const std::size_t newline = input.find('\n', position);
    if (newline == std::string_view::npos) {
      if (input.size() >= kMaxReplySize) return Status::too_long;
      return Status::incomplete;
    }
    if (newline + 1 > kMaxReplySize) return Status::too_long;
    const std::string_view line = without_cr(input.substr(position, newline - position));
    const int code = line_code(line);
    if (code < 0 || (position > 0 && code != code_)) {
      *this = ReplyParser();
      return Status::malformed;
    }
    code_ = code;
    position = newline + 1;
    if (line.size() > 3 && line[3] == '-') {
      checked_ = position;
      continue;
    }
    consumed = position;
    build_reply(input.substr(0, position), code, reply);
    *this = ReplyParser();
    return Status::complete;
  }
}

Capabilities parse_ehlo(const SmtpReply& reply) {
  Capabilities capabilities;
  std::string_view rest = reply.text;
  const std::size_t first_end = rest.find('\n');
  if (first_end == std::string_view::npos) return capabilities;  // greeting only
  rest.remove_prefix(first_end + 1);
  while (!rest.empty()) {
    const std::size_t newline = rest.find('\n');
    std::string_view line = rest.substr(0, newline);
    rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
    line = store::trim(line);
    // "AUTH=LOGIN PLAIN" is how some servers advertised AUTH before RFC 4954.
    const std::size_t keyword_end = line.find_first_of(" =");
    const std::string_view keyword = line.substr(0, keyword_end);
    std::string_view parameters =
        keyword_end == std::string_view::npos ? std::string_view() : store::trim(line.substr(keyword_end + 1));
    using store::iequals;
    if (iequals(keyword, "PIPELINING")) {
      capabilities.pipelining = true;
    } else if (iequals(keyword, "SIZE")) {
      capabilities.size = true;
      std::uint64_t limit = 0;
      const auto result = std::from_chars(parameters.data(), parameters.data() + parameters.size(), limit);
      if (result.ec == std::errc() && result.ptr == parameters.data() + parameters.size()) {
        capabilities.size_limit = limit;
      }
    } else if (iequals(keyword, "8BITMIME")) {
      capabilities.eight_bit_mime = true;
    } else if (iequals(keyword, "SMTPUTF8")) {
      capabilities.smtputf8 = true;
    } else if (iequals(keyword, "STARTTLS")) {
      capabilities.starttls = true;
    } else if (iequals(keyword, "DSN")) {
      capabilities.dsn = true;
    } else if (iequals(keyword, "CHUNKING")) {
      capabilities.chunking = true;
    } else if (iequals(keyword, "ENHANCEDSTATUSCODES")) {
      capabilities.enhanced_status_codes = true;
    } else if (iequals(keyword, "AUTH")) {
      while (!parameters.empty()) {
        const std::size_t space = parameters.find(' ');
        const std::string_view mechanism = parameters.substr(0, space);
        parameters = space == std::string_view::npos ? std::string_view() : store::trim(parameters.substr(space + 1));
        if (iequals(mechanism, "PLAIN")) capabilities.auth_plain = true;
        if (iequals(mechanism, "LOGIN")) capabilities.auth_login = true;
      }
    }
  }
  return capabilities;
}

bool fits_in_command(std::string_view address) {
  for (char c : address) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return false;
  }
  return true;
}

void append_mail_from(std::string& out, const OutboundEnvelope& envelope, const Capabilities& next_hop) {
  out += "MAIL FROM:<";
  out += envelope.mail_from;
  out += '>';
  if (next_hop.size && envelope.size > 0) {
    out += " SIZE=";
    append_number(out, envelope.size);
  }
  if (envelope.eight_bit && next_hop.eight_bit_mime) out += " BODY=8BITMIME";
  if (envelope.smtputf8 && next_hop.smtputf8) out += " SMTPUTF8";
  if (next_hop.dsn) {
    switch (envelope.dsn.ret) {
      case dsn::Return::full: out += " RET=FULL"; break;
      case dsn::Return::headers: out += " RET=HDRS"; break;
      case dsn::Return::unspecified: break;
    }
    if (!envelope.dsn.envid.empty()) {
      out += " ENVID=";
      out += dsn::xtext_encode(envelope.dsn.envid);
    }
  }
  out += "\r\n";
}

void append_rcpt_to(std::string& out, const OutboundRecipient& recipient, const Capabilities& next_hop) {
  out += "RCPT TO:<";
  out += recipient.address;
  out += '>';
  if (next_hop.dsn) {
    if (recipient.dsn.notify.given) {
      out += " NOTIFY=";
      out += recipient.dsn.notify.to_string();
    }
    if (!recipient.dsn.orcpt.empty()) {
      out += " ORCPT=";
      out += dsn::orcpt_parameter(recipient.dsn.orcpt);
    }
  }
  out += "\r\n";
}

void BodyEncoder::encode(std::string_view chunk, std::string& out) {
  std::size_t i = 0;
  while (i < chunk.size()) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (chunk[i] == '\n') {
        out += "\r\n";
        at_line_start_ = true;
        ++i;
        continue;
      }
      out += '\r';  // a CR on its own is data
    }
    if (at_line_start_) {
      at_line_start_ = false;
      if (chunk[i] == '.') out += '.';  // RFC 5321 §4.5.2 transparency: the line's own dot follows
    }
    std::size_t stop = i;
    while (stop < chunk.size() && chunk[stop] != '\n' && chunk[stop] != '\r') ++stop;
    out.append(chunk.data() + i, stop - i);
    if (stop == chunk.size()) break;
    if (chunk[stop] == '\n') {
      out += "\r\n";
      at_line_start_ = true;
    } else {
      pending_cr_ = true;
    }
    i = stop + 1;
  }
}

void BodyEncoder::finish(std::string& out) {
  // A CR held at the very end is taken as the line end it began.
  if (pending_cr_ || !at_line_start_) out += "\r\n";
  out += ".\r\n";
  pending_cr_ = false;
  at_line_start_ = true;
}

}  // namespace transport::outbound
