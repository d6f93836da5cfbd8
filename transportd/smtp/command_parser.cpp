// Command parser: RFC 5321 command and path syntax by hand (no regex): a recursive-descent walk over
// the grammar of §4.1.2 that never allocates except for the ESMTP parameter list.
#include "transportd/smtp/command_parser.h"

#include <array>

#include "store/ip_range.h"
#include "store/mailbox.h"
#include "store/text_util.h"
#include "store/value_error.h"

namespace transport::smtp {

namespace {

using store::iequals;
using store::is_dot_string;

struct VerbName {
  std::string_view name;
  Verb verb;
};

constexpr std::array<VerbName, 14> kVerbs{{
    {"EHLO", Verb::ehlo}, {"HELO", Verb::helo}, {"MAIL", Verb::mail}, {"RCPT", Verb::rcpt},
    {"DATA", Verb::data}, {"BDAT", Verb::bdat}, {"RSET", Verb::rset}, {"NOOP", Verb::noop},
    {"VRFY", Verb::vrfy}, {"EXPN", Verb::expn}, {"HELP", Verb::help}, {"QUIT", Verb::quit},
    {"STARTTLS", Verb::starttls}, {"AUTH", Verb::auth},
}};

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_let_dig(char c) { return is_alpha(c) || is_digit(c); }
bool is_non_ascii(char c) { return static_cast<unsigned char>(c) >= 0x80; }
bool has_non_ascii(std::string_view text) {
  for (char c : text) {
    if (is_non_ascii(c)) return true;
  }
  return false;
}

// Quoted-string = DQUOTE *QcontentSMTP DQUOTE, where qtextSMTP is %d32-33 / %d35-91 / %d93-126 and
// quoted-pairSMTP is "\" followed by %d32-126; RFC 6531 adds UTF8-non-ascii to qtextSMTP (its UTF-8
// form is checked by the caller). Returns the length of the quoted string at the start of `text`, or 0
// when there is none.
std::size_t quoted_string_length(std::string_view text, bool allow_utf8) {
  if (text.empty() || text.front() != '"') return 0;
  for (std::size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') return i + 1;
    if (c == '\\') {
      if (i + 1 >= text.size() || text[i + 1] < 32 || text[i + 1] > 126) return 0;
      ++i;
    } else if ((c < 32 || c > 126) && !(allow_utf8 && is_non_ascii(c))) {
      return 0;
    }
  }
  return 0;
}

// Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str]. Labels of at most 63 octets
// (RFC 1035), the whole at most 255. With `allow_utf8`, RFC 6531's U-labels too: non-ASCII octets
// count as letters (their UTF-8 form is checked by the caller; IDNA2008's finer rules are not).
bool is_domain(std::string_view domain, bool allow_utf8 = false) {
  const auto letter = [&](char c) { return is_let_dig(c) || (allow_utf8 && is_non_ascii(c)); };
  if (domain.empty() || domain.size() > 255) return false;
  std::size_t label_start = 0;
  for (std::size_t i = 0; i <= domain.size(); ++i) {
    if (i == domain.size() || domain[i] == '.') {
      const std::size_t length = i - label_start;
      if (length == 0 || length > 63) return false;
      if (!letter(domain[label_start]) || !letter(domain[i - 1])) return false;
      label_start = i + 1;
    } else if (!letter(domain[i]) && domain[i] != '-') {
      return false;
    }
  }
  return true;
}

// IPv4-address-literal = Snum 3("." Snum); Snum = 1*3DIGIT with a value of 0-255.
bool is_ipv4_literal(std::string_view text) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t digits = 0;
    unsigned value = 0;
    while (i < text.size() && is_digit(text[i]) && digits < 4) {
      value = value * 10 + static_cast<unsigned>(text[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
    ++parts;
    if (i == text.size()) return parts == 4;
    if (text[i] != '.' || parts == 4) return false;
    ++i;
  }
}

// address-literal = "[" ( IPv4-address-literal / IPv6-address-literal ) "]". General-address-literal
// tags other than the registered "IPv6" are refused.
bool is_address_literal(std::string_view text) {
  if (text.size() < 3 || text.front() != '[' || text.back() != ']') return false;
  std::string_view inner = text.substr(1, text.size() - 2);
  constexpr std::string_view kIpv6Tag = "IPv6:";
  if (inner.size() > kIpv6Tag.size() && iequals(inner.substr(0, kIpv6Tag.size()), kIpv6Tag)) {
    inner.remove_prefix(kIpv6Tag.size());
    if (inner.find(':') == std::string_view::npos) return false;
    for (char c : inner) {
      if (!is_digit(c) && !is_alpha(c) && c != ':' && c != '.') return false;
    }
    try {
      (void)store::IpAddress::parse(inner);
      return true;
    } catch (const store::ValueError&) {
      return false;
    }
  }
  return is_ipv4_literal(inner);
}

enum class MailboxCheck : std::uint8_t { ok, bad, local_part_too_long };

MailboxCheck check_mailbox(std::string_view mailbox, bool allow_utf8) {
  if (allow_utf8 && store::invalid_utf8_offset(mailbox) != std::string_view::npos) return MailboxCheck::bad;
  std::size_t local_length = quoted_string_length(mailbox, allow_utf8);
  if (local_length == 0) {
    local_length = mailbox.rfind('@');
    if (local_length == std::string_view::npos || !is_dot_string(mailbox.substr(0, local_length), allow_utf8)) {
      return MailboxCheck::bad;
    }
  }
  if (local_length >= mailbox.size() || mailbox[local_length] != '@') return MailboxCheck::bad;
  const std::string_view domain = mailbox.substr(local_length + 1);
  const bool domain_ok = domain.starts_with('[') ? is_address_literal(domain) : is_domain(domain, allow_utf8);
  if (!domain_ok) return MailboxCheck::bad;
  if (local_length > 64) return MailboxCheck::local_part_too_long;
  return MailboxCheck::ok;
}

// Index of the '>' closing a path that starts after '<' at text[0], skipping quoted strings (a quoted
// local part may hold '>'); npos when there is none.
std::size_t closing_bracket(std::string_view text) {
  bool quoted = false;
  for (std::size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"); esmtp-value = 1*(%d33-60 / %d62-126).
bool parse_parameters(std::string_view text, std::vector<EsmtpParameter>& out) {
  while (true) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    if (text.empty()) return true;
    const std::size_t end = text.find(' ');
    std::string_view item = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end);

    EsmtpParameter parameter;
    const std::size_t equals = item.find('=');
    parameter.keyword = item.substr(0, equals);
    if (parameter.keyword.empty() || !is_let_dig(parameter.keyword.front())) return false;
    for (char c : parameter.keyword) {
      if (!is_let_dig(c) && c != '-') return false;
    }
    if (equals != std::string_view::npos) {
      parameter.has_value = true;
      parameter.value = item.substr(equals + 1);
      if (parameter.value.empty()) return false;
      for (char c : parameter.value) {
        if (c < 33 || c > 126 || c == '=') return false;
      }
    }
    out.push_back(parameter);
  }
}

// `rcpt`: the argument of RCPT, where "<Postmaster>" needs no domain.
PathArgument parse_path_argument(std::string_view argument, std::string_view keyword, bool rcpt) {
  PathArgument result;
  if (argument.size() < keyword.size() || !iequals(argument.substr(0, keyword.size()), keyword)) {
    result.error = PathError::missing_keyword;
    return result;
  }
  std::string_view rest = argument.substr(keyword.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty() || rest.front() != '<') {
    result.error = PathError::missing_brackets;
    return result;
  }
  const std::size_t close = closing_bracket(rest);
  if (close == std::string_view::npos) {
    result.error = PathError::missing_brackets;
    return result;
  }
  std::string_view path = rest.substr(1, close - 1);
  std::string_view after = rest.substr(close + 1);
  if (!after.empty() && after.front() != ' ') {
    result.error = PathError::missing_brackets;  // "<a@b>x": the path does not end at the '>'
    return result;
  }

  if (path.empty()) {
    result.null_path = true;
  } else if (rcpt && iequals(path, "Postmaster")) {
    result.postmaster = true;
    result.address = path;
  } else {
    // A-d-l = At-domain *( "," At-domain ) ":" — checked, then dropped.
    if (path.front() == '@') {
      const std::size_t colon = path.find(':');
      if (colon == std::string_view::npos) {
        result.error = PathError::bad_address;
        return result;
      }
      std::string_view route = path.substr(0, colon);
      while (!route.empty()) {
        const std::size_t comma = route.find(',');
        const std::string_view at_domain = route.substr(0, comma);
        if (at_domain.size() < 2 || at_domain.front() != '@' || !is_domain(at_domain.substr(1))) {
          result.error = PathError::bad_address;
          return result;
        }
        route.remove_prefix(comma == std::string_view::npos ? route.size() : comma + 1);
        if (comma != std::string_view::npos && route.empty()) {
          result.error = PathError::bad_address;
          return result;
        }
      }
      path.remove_prefix(colon + 1);
    }
    switch (check_mailbox(path, true)) {
      case MailboxCheck::ok:
        break;
      case MailboxCheck::bad:
        result.error = PathError::bad_address;
        return result;
      case MailboxCheck::local_part_too_long:
        result.error = PathError::local_part_too_long;
        return result;
    }
    result.address = path;
    result.utf8 = has_non_ascii(path);
  }
  if (!parse_parameters(after, result.parameters)) {
    result.parameters.clear();
    result.error = PathError::bad_parameters;
  }
  return result;
}

}  // namespace

Command parse_command(std::string_view line) {
  Command command;
  const std::size_t space = line.find(' ');
  command.verb_text = line.substr(0, space);
  if (space != std::string_view::npos) command.argument = store::trim(line.substr(space + 1));
  for (const VerbName& entry : kVerbs) {
    if (iequals(entry.name, command.verb_text)) {
      command.verb = entry.verb;
      break;
    }
  }
  return command;
}

PathArgument parse_mail_from(std::string_view argument) { return parse_path_argument(argument, "FROM:", false); }

PathArgument parse_rcpt_to(std::string_view argument) { return parse_path_argument(argument, "TO:", true); }

bool is_valid_mailbox(std::string_view mailbox, bool allow_utf8) {
  return check_mailbox(mailbox, allow_utf8) == MailboxCheck::ok;
}

bool parse_decimal(std::string_view text, std::uint64_t& value) {
  if (text.empty() || text.size() > 20) return false;
  std::uint64_t result = 0;
  for (char c : text) {
    if (!is_digit(c)) return false;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (result > (UINT64_MAX - digit) / 10) return false;
    result = result * 10 + digit;
  }
  value = result;
  return true;
}

}  // namespace transport::smtp
