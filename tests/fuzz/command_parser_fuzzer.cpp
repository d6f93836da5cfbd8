// Fuzz target: the SMTP command parser (transportd/smtp/command_parser.*).
//
// The input is one command line (any octets). Invariants:
//  - parse_command: the verb is the text before the first space, recognised exactly when it equals a
//    verb name in any letter case; the argument is the rest without surrounding blanks; both are views
//    into the line.
//  - parse_mail_from / parse_rcpt_to (fed the line itself and the argument of the parsed command):
//    an accepted path's address is a valid Mailbox and a view into the argument; errors carry no
//    parameters; accepted parameters have RFC 5321 esmtp-keyword / esmtp-value syntax; re-writing an
//    accepted path canonically ("FROM:<address> KEY=VALUE ...", source route dropped) parses to the same
//    result.
//  - is_valid_mailbox agrees with an independent RFC 5321 Mailbox checker written here from the grammar
//    (dot-string or quoted-string local part of at most 64 octets, Domain of at most 255 octets with
//    labels of at most 63, or an IPv4 / IPv6 address literal checked with inet_pton).
//  - parse_decimal agrees with a 128-bit reference conversion.
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "transportd/smtp/command_parser.h"

namespace {

using transport::fuzz::escaped;
using namespace transport::smtp;

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_let_dig(char c) { return is_alpha(c) || is_digit(c); }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool same_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;  // an empty view may point anywhere
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

struct VerbName {
  std::string_view name;
  Verb verb;
};
constexpr std::array<VerbName, 14> kVerbs{{
    {"ehlo", Verb::ehlo},
    {"helo", Verb::helo},
    {"mail", Verb::mail},
    {"rcpt", Verb::rcpt},
    {"data", Verb::data},
    {"bdat", Verb::bdat},
    {"rset", Verb::rset},
    {"noop", Verb::noop},
    {"vrfy", Verb::vrfy},
    {"expn", Verb::expn},
    {"help", Verb::help},
    {"quit", Verb::quit},
    {"starttls", Verb::starttls},
    {"auth", Verb::auth},
}};

// ---- An independent RFC 5321 §4.1.2 Mailbox checker -------------------------------------------

bool is_atext(char c) {
  if (is_let_dig(c)) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// Dot-string = Atom *("." Atom)
bool ref_dot_string(std::string_view s) {
  if (s.empty()) return false;
  bool atom_open = false;
  for (char c : s) {
    if (c == '.') {
      if (!atom_open) return false;
      atom_open = false;
    } else if (is_atext(c)) {
      atom_open = true;
    } else {
      return false;
    }
  }
  return atom_open;
}

// Quoted-string = DQUOTE *QcontentSMTP DQUOTE; the whole of `s`.
bool ref_quoted_string(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      if (i + 2 >= s.size()) return false;  // the escaped octet may not be the closing quote
      const auto next = static_cast<unsigned char>(s[i + 1]);
      if (next < 32 || next > 126) return false;
      ++i;
    } else if (c == '"' || c < 32 || c > 126) {
      return false;
    }
  }
  return true;
}

bool ref_domain(std::string_view d) {
  if (d.empty() || d.size() > 255) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = d.find('.', start);
    const std::string_view label =
        d.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (!is_let_dig(label.front()) || !is_let_dig(label.back())) return false;
    for (char c : label) {
      if (!is_let_dig(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// Snum = 1*3DIGIT with a value of 0-255 (leading zeros are allowed by the grammar).
bool ref_ipv4_literal(std::string_view s) {
  int parts = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    const std::string_view part = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty() || part.size() > 3) return false;
    unsigned value = 0;
    for (char c : part) {
      if (!is_digit(c)) return false;
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) return parts == 4;
    start = dot + 1;
  }
}

bool ref_address_literal(std::string_view s) {
  if (s.size() < 2 || s.front() != '[' || s.back() != ']') return false;
  const std::string_view inner = s.substr(1, s.size() - 2);
  if (inner.size() > 5 && same_ignoring_case(inner.substr(0, 5), "IPv6:")) {
    const std::string text(inner.substr(5));
    if (text.find('\0') != std::string::npos) return false;
    unsigned char bytes[16];
    return inet_pton(AF_INET6, text.c_str(), bytes) == 1;
  }
  return ref_ipv4_literal(inner);
}

enum class RefMailbox { ok, bad, too_long };

RefMailbox ref_mailbox(std::string_view m) {
  // The local part ends at the '@' before the domain. A quoted local part may itself hold '@', so try
  // each '@' as the separator: at most one split can make a valid quoted or dot-string local part
  // followed by a valid domain (a dot-string holds no '@'; a quoted string ends at its first bare '"').
  RefMailbox best = RefMailbox::bad;
  for (std::size_t at = m.find('@'); at != std::string_view::npos; at = m.find('@', at + 1)) {
    const std::string_view local = m.substr(0, at);
    const std::string_view domain = m.substr(at + 1);
    if (!ref_dot_string(local) && !ref_quoted_string(local)) continue;
    const bool domain_ok = !domain.empty() && domain.front() == '[' ? ref_address_literal(domain) : ref_domain(domain);
    if (!domain_ok) continue;
    if (local.size() <= 64) return RefMailbox::ok;
    best = RefMailbox::too_long;
  }
  return best;
}

// ---- Checks ---------------------------------------------------------------------------------

void check_command(std::string_view line) {
  const Command command = parse_command(line);
  const std::size_t space = line.find(' ');
  FUZZ_CHECK(command.verb_text == line.substr(0, space), "verb_text \"" + escaped(command.verb_text) + "\"");
  FUZZ_CHECK(inside(command.verb_text, line) && inside(command.argument, line), "views leave the line");
  if (space == std::string_view::npos) {
    FUZZ_CHECK(command.argument.empty(), "argument without a space: \"" + escaped(command.argument) + "\"");
  } else {
    std::string_view expected = line.substr(space + 1);
    while (!expected.empty() && (expected.front() == ' ' || expected.front() == '\t')) expected.remove_prefix(1);
    while (!expected.empty() && (expected.back() == ' ' || expected.back() == '\t')) expected.remove_suffix(1);
    FUZZ_CHECK(command.argument == expected, "argument \"" + escaped(command.argument) + "\"");
  }
  Verb expected_verb = Verb::unknown;
  for (const VerbName& v : kVerbs) {
    if (same_ignoring_case(v.name, command.verb_text)) expected_verb = v.verb;
  }
  FUZZ_CHECK(command.verb == expected_verb, "verb of \"" + escaped(command.verb_text) + "\"");
}

bool valid_keyword(std::string_view k) {
  if (k.empty() || !is_let_dig(k.front())) return false;
  for (char c : k) {
    if (!is_let_dig(c) && c != '-') return false;
  }
  return true;
}

bool valid_value(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v) {
    if (c < 33 || c > 126 || c == '=') return false;
  }
  return true;
}

std::string canonical(std::string_view keyword, const PathArgument& path) {
  std::string out(keyword);
  out += '<';
  out += path.address;
  out += '>';
  for (const EsmtpParameter& p : path.parameters) {
    out += ' ';
    out += p.keyword;
    if (p.has_value) {
      out += '=';
      out += p.value;
    }
  }
  return out;
}

void check_path(std::string_view argument, bool mail) {
  const std::string_view keyword = mail ? "FROM:" : "TO:";
  const PathArgument path = mail ? parse_mail_from(argument) : parse_rcpt_to(argument);
  const auto what = [&] { return std::string(keyword) + " \"" + escaped(argument) + "\""; };
  if (path.error != PathError::none) {
    FUZZ_CHECK(path.parameters.empty(), "an error with parameters: " + what());
    if (path.error != PathError::missing_keyword) {
      FUZZ_CHECK(same_ignoring_case(argument.substr(0, keyword.size()), keyword), "keyword: " + what());
    }
    return;
  }
  FUZZ_CHECK(same_ignoring_case(argument.substr(0, keyword.size()), keyword), "accepted without keyword: " + what());
  FUZZ_CHECK(inside(path.address, argument), "address outside the argument: " + what());
  if (path.null_path) {
    FUZZ_CHECK(path.address.empty(), "null path with an address: " + what());
  } else {
    FUZZ_CHECK(!path.address.empty(), "empty address, not null path: " + what());
    if (path.postmaster) {
      // RFC 5321 §4.5.1: "<Postmaster>" alone, RCPT only.
      FUZZ_CHECK(!mail && same_ignoring_case(path.address, "postmaster"), "postmaster: " + what());
    } else {
      FUZZ_CHECK(is_valid_mailbox(path.address, true), "accepted address is not a valid mailbox: " + what());
      const bool non_ascii = std::any_of(path.address.begin(), path.address.end(),
                                         [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
      FUZZ_CHECK(path.utf8 == non_ascii, "utf8 flag: " + what());
    }
  }
  for (const EsmtpParameter& p : path.parameters) {
    FUZZ_CHECK(inside(p.keyword, argument) && inside(p.value, argument), "parameter views: " + what());
    FUZZ_CHECK(valid_keyword(p.keyword), "parameter keyword \"" + escaped(p.keyword) + "\": " + what());
    FUZZ_CHECK(p.has_value ? valid_value(p.value) : p.value.empty(),
               "parameter value \"" + escaped(p.value) + "\": " + what());
  }

  // Canonical re-writing parses to the same thing; the keyword is case-insensitive.
  std::string rewritten = canonical(keyword, path);
  for (int pass = 0; pass < 2; ++pass) {
    const PathArgument again = mail ? parse_mail_from(rewritten) : parse_rcpt_to(rewritten);
    FUZZ_CHECK(again.error == PathError::none && again.null_path == path.null_path && again.address == path.address &&
                   again.parameters.size() == path.parameters.size(),
               "re-parse of \"" + escaped(rewritten) + "\" differs: " + what());
    for (std::size_t i = 0; i < path.parameters.size(); ++i) {
      FUZZ_CHECK(again.parameters[i].keyword == path.parameters[i].keyword &&
                     again.parameters[i].value == path.parameters[i].value &&
                     again.parameters[i].has_value == path.parameters[i].has_value,
                 "re-parsed parameter differs: " + what());
    }
    for (std::size_t i = 0; i < keyword.size(); ++i) rewritten[i] = lower(rewritten[i]);
  }
}

void check_mailbox(std::string_view text) {
  const bool valid = is_valid_mailbox(text);
  const RefMailbox reference = ref_mailbox(text);
  FUZZ_CHECK(valid == (reference == RefMailbox::ok), "is_valid_mailbox(\"" + escaped(text) +
                                                         "\") = " + (valid ? "true" : "false") + ", the grammar says " +
                                                         (reference == RefMailbox::ok         ? "valid"
                                                          : reference == RefMailbox::too_long ? "local part too long"
                                                                                              : "invalid"));
  // The same verdict inside a path: ok, local_part_too_long or bad_address (or a bracket problem
  // when the mailbox itself holds '>' or the path does not end at the '>').
  const std::string wrapped = "TO:<" + std::string(text) + ">";
  const PathArgument path = parse_rcpt_to(wrapped);
  if (valid && text.find('>') == std::string_view::npos && text.front() != '@') {
    FUZZ_CHECK(path.error == PathError::none && path.address == text,
               "a valid mailbox refused in RCPT TO: " + escaped(text));
  }
  if (reference == RefMailbox::too_long && text.find('>') == std::string_view::npos) {
    FUZZ_CHECK(path.error == PathError::local_part_too_long, "local part too long not reported: " + escaped(text));
  }
}

void check_decimal(std::string_view text) {
  std::uint64_t value = 12345;
  const bool ok = parse_decimal(text, value);
  bool expected = !text.empty() && text.size() <= 20;
  unsigned __int128 reference = 0;
  for (char c : text) {
    if (!expected) break;
    if (!is_digit(c)) {
      expected = false;
      break;
    }
    reference = reference * 10 + static_cast<unsigned>(c - '0');
  }
  if (reference > UINT64_MAX) expected = false;
  FUZZ_CHECK(ok == expected, "parse_decimal(\"" + escaped(text) + "\") = " + (ok ? "true" : "false"));
  if (ok)
    FUZZ_CHECK(value == static_cast<std::uint64_t>(reference), "parse_decimal value of \"" + escaped(text) + "\"");
  if (!ok) FUZZ_CHECK(value == 12345, "parse_decimal wrote its output on failure: \"" + escaped(text) + "\"");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Copy into a buffer of exactly `size` octets so that ASan sees any read past the line.
  const std::string buffer(reinterpret_cast<const char*>(data), size);
  const std::string_view line(buffer);

  check_command(line);
  const Command command = parse_command(line);
  check_path(command.argument, command.verb != Verb::rcpt);
  check_path(command.argument, command.verb == Verb::rcpt);
  check_path(line, true);
  check_path(line, false);
  if (!line.empty()) check_mailbox(line);
  check_decimal(line.substr(0, 24));
  check_decimal(command.argument.substr(0, command.argument.find(' ')));
  return 0;
}
