// The DSN extension's parameters (RFC 3461 §4): parsing NOTIFY, RET, ENVID and ORCPT as a client sent
// them, and encoding them again for the next hop. Hostile input gets nullopt, never an exception.
#include "transportd/dsn/dsn_parameters.h"

#include <array>
#include <cstddef>

#include "store/text_util.h"

namespace transport::dsn {

namespace {

using store::ascii_lower;
using store::iequals;

// RFC 3461 §4.2: "the ORCPT parameter ... MUST NOT exceed 500 characters" (the encoded value).
constexpr std::size_t kMaxOrcptLength = 500;
// RFC 3461 §4.4: the ENVID, decoded, is at most 100 octets.
constexpr std::size_t kMaxEnvidLength = 100;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  const char lower = ascii_lower(c);
  if (lower >= 'a' && lower <= 'f') return lower - 'a' + 10;
  return -1;
}

constexpr std::array<char, 16> kUpperHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                            '8', '9', 'A', 'B', 'C', 'D', 'E', 'F'};

// Graphic US-ASCII and space: what RFC 3461 lets an ENVID or an rfc822 ORCPT hold once decoded.
bool printable_ascii(std::string_view text) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7E) return false;
  }
  return true;
}

// RFC 5322 atext: what an ORCPT addr-type (an atom) is made of.
bool is_atext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool is_atom(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!is_atext(c)) return false;
  }
  return true;
}

void append_code_point_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The address of a "utf-8" ORCPT (RFC 6533 §3): utf-8-addr-xtext ("\x{HEX}" for a code point) or
// utf-8-addr-unitext (raw UTF-8 in an SMTPUTF8 transaction). "+HH" xtext escapes are accepted too
// ('+' is not a QCHAR, so they cannot be mistaken), for clients that xtext-encode every addr-type.
std::optional<std::string> decode_utf8_address(std::string_view value) {
  std::string out;
  std::size_t i = 0;
  while (i < value.size()) {
    const char c = value[i];
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\') {
      if (value.substr(i, 3) != "\\x{") return std::nullopt;
      const std::size_t close = value.find('}', i + 3);
      if (close == std::string_view::npos) return std::nullopt;
      const std::string_view digits = value.substr(i + 3, close - (i + 3));
      if (digits.empty() || digits.size() > 6) return std::nullopt;
      std::uint32_t cp = 0;
      for (char d : digits) {
        const int v = hex_value(d);
        if (v < 0) return std::nullopt;
        cp = cp * 16 + static_cast<std::uint32_t>(v);
      }
      if (cp < 0x20 || cp == 0x7F || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
      append_code_point_utf8(out, cp);
      i = close + 1;
    } else if (c == '+') {
      if (value.size() - i < 3) return std::nullopt;
      const int hi = hex_value(value[i + 1]), lo = hex_value(value[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 3;
    } else if (byte >= 0x21 && byte <= 0x7E) {
      out += c;
      ++i;
    } else if (byte >= 0x80) {
      out += c;  // checked as UTF-8 as a whole below
      ++i;
    } else {
      return std::nullopt;  // space and controls
    }
  }
  if (store::invalid_utf8_offset(out) != std::string::npos) return std::nullopt;
  for (char c : out) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) return std::nullopt;
  }
  return out;
}

// utf-8-addr-xtext (RFC 6533 §3): ASCII only, so any next hop can take it.
std::string encode_utf8_address(std::string_view address) {
  std::string out;
  std::size_t i = 0;
  while (i < address.size()) {
    const auto byte = static_cast<unsigned char>(address[i]);
    std::uint32_t cp = byte;
    std::size_t length = 1;
    if (byte >= 0xF0) {
      cp = byte & 0x07, length = 4;
    } else if (byte >= 0xE0) {
      cp = byte & 0x0F, length = 3;
    } else if (byte >= 0xC0) {
      cp = byte & 0x1F, length = 2;
    }
    if (i + length > address.size()) length = 1, cp = byte;  // not UTF-8: escape the octet itself
    for (std::size_t k = 1; k < length; ++k) cp = (cp << 6) | (static_cast<unsigned char>(address[i + k]) & 0x3F);
    const bool qchar = length == 1 && byte >= 0x21 && byte <= 0x7E && byte != '+' && byte != '=' && byte != '\\';
    if (qchar) {
      out += address[i];
    } else {
      std::string hex;
      for (std::uint32_t v = cp; v != 0 || hex.empty(); v >>= 4) hex.insert(hex.begin(), kUpperHex[v & 0xF]);
      out += "\\x{" + hex + "}";
    }
    i += length;
  }
  return out;
}

}  // namespace

std::string Notify::to_string() const {
  std::string out;
  const auto add = [&](bool wanted, std::string_view word) {
    if (!wanted) return;
    if (!out.empty()) out += ',';
    out += word;
  };
  if (!never) {
    add(success, "SUCCESS");
    add(failure, "FAILURE");
    add(delay, "DELAY");
  }
  // Nothing asked for is what NEVER says.
  return out.empty() ? std::string("NEVER") : out;
}

std::optional<Notify> parse_notify(std::string_view value) {
  Notify notify;
  notify.given = true;
  if (iequals(value, "NEVER")) {
    notify.never = true;
    notify.success = notify.failure = notify.delay = false;
    return notify;
  }
  notify.success = notify.failure = notify.delay = false;
  if (value.empty()) return std::nullopt;
  while (true) {
    const std::size_t comma = value.find(',');
    const std::string_view word = value.substr(0, comma);
    bool* flag = nullptr;
    if (iequals(word, "SUCCESS")) {
      flag = &notify.success;
    } else if (iequals(word, "FAILURE")) {
      flag = &notify.failure;
    } else if (iequals(word, "DELAY")) {
      flag = &notify.delay;
    } else {
      return std::nullopt;  // NEVER in a list, an empty item, an unknown word
    }
    if (*flag) return std::nullopt;  // duplicate
    *flag = true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return notify;
}

std::optional<Return> parse_ret(std::string_view value) {
  if (iequals(value, "FULL")) return Return::full;
  if (iequals(value, "HDRS")) return Return::headers;
  return std::nullopt;
}

std::string xtext_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 33 && byte <= 126 && c != '+' && c != '=') {
      out += c;
    } else {
      out += '+';
      out += kUpperHex[byte >> 4];
      out += kUpperHex[byte & 0xF];
    }
  }
  return out;
}

// RFC 3461 asks for upper-case hex; lower case is taken too (the meaning is plain). A raw '=' is
// outside xchar but unambiguous once the keyword is split off, and Postfix passes it: accepted.
std::optional<std::string> xtext_decode(std::string_view xtext) {
  std::string out;
  out.reserve(xtext.size());
  for (std::size_t i = 0; i < xtext.size(); ++i) {
    const char c = xtext[i];
    const auto byte = static_cast<unsigned char>(c);
    if (c == '+') {
      if (xtext.size() - i < 3) return std::nullopt;
      const int hi = hex_value(xtext[i + 1]), lo = hex_value(xtext[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (byte >= 33 && byte <= 126) {
      out += c;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<std::string> parse_envid(std::string_view xtext) {
  if (xtext.empty()) return std::nullopt;
  std::optional<std::string> decoded = xtext_decode(xtext);
  if (!decoded || decoded->empty() || decoded->size() > kMaxEnvidLength || !printable_ascii(*decoded)) {
    return std::nullopt;
  }
  return decoded;
}

std::optional<std::string> parse_orcpt(std::string_view value) {
  if (value.size() > kMaxOrcptLength) return std::nullopt;
  const std::size_t semicolon = value.find(';');
  if (semicolon == std::string_view::npos) return std::nullopt;
  const std::string_view addr_type = value.substr(0, semicolon);
  const std::string_view encoded = value.substr(semicolon + 1);
  if (!is_atom(addr_type) || encoded.empty()) return std::nullopt;
  const std::string type = store::to_lower(addr_type);  // registered names are case-insensitive
  std::optional<std::string> address;
  if (type == "utf-8") {
    address = decode_utf8_address(encoded);
  } else {
    address = xtext_decode(encoded);
    // A UTF-8 address under rfc822 (as xtext of its octets, or raw in an SMTPUTF8 transaction) is what
    // real MTAs send (Postfix does): taken when it is well-formed UTF-8 without controls.
    if (!address || !printable_ascii(*address)) address = decode_utf8_address(encoded);
  }
  if (!address || address->empty()) return std::nullopt;
  return type + ";" + *address;
}

std::string orcpt_parameter(std::string_view decoded_orcpt) {
  const std::size_t semicolon = decoded_orcpt.find(';');
  if (semicolon == std::string_view::npos) return "rfc822;" + xtext_encode(decoded_orcpt);
  const std::string type = store::to_lower(decoded_orcpt.substr(0, semicolon));
  const std::string_view address = decoded_orcpt.substr(semicolon + 1);
  if (type == "utf-8") return type + ";" + encode_utf8_address(address);
  return type + ";" + xtext_encode(address);
}

}  // namespace transport::dsn
