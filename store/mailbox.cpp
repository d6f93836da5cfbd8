// Mailbox: address syntax and normalization, and password hashing with libsodium's argon2id.
#include "store/mailbox.h"

#include <sodium.h>

#include <stdexcept>

#include "store/accepted_domain.h"
#include "store/text_util.h"
#include "store/value_error.h"

namespace transport::store {

namespace {

// RFC 5322 atext: the characters of a dot-atom local part besides '.'.
bool is_atext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

}  // namespace

bool is_dot_string(std::string_view text, bool allow_utf8) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  if (allow_utf8 && invalid_utf8_offset(text) != std::string_view::npos) return false;
  char previous = 0;
  for (char c : text) {
    const bool non_ascii = static_cast<unsigned char>(c) >= 0x80;
    if (c == '.' ? previous == '.' : !(is_atext(c) || (allow_utf8 && non_ascii))) return false;
    previous = c;
  }
  return true;
}

std::string normalize_address(std::string_view text) {
  std::string_view address = trim(text);
  const std::string quoted = "\"" + std::string(text) + "\"";
  std::size_t at = address.rfind('@');
  if (at == std::string_view::npos) throw ValueError(quoted + " is not an address: write local@domain");
  std::string_view local = address.substr(0, at);
  std::string_view domain = address.substr(at + 1);
  if (local.size() > 64) throw ValueError(quoted + " has a local part longer than 64 characters");
  if (!is_dot_string(local, true)) {
    throw ValueError(quoted + " is not an address: the local part may hold letters (UTF-8 too), digits, " +
                     "!#$%&'*+-/=?^_`{|}~ and single dots");
  }
  if (domain.starts_with("*.")) throw ValueError(quoted + " is not an address: no wildcards in a domain");
  std::string normalized_domain;
  try {
    normalized_domain = normalize_domain_name(domain);
  } catch (const ValueError&) {
    throw ValueError(quoted + " is not an address: \"" + std::string(domain) + "\" is not a domain");
  }
  return std::string(local) + "@" + normalized_domain;
}

std::string mailbox_directory_problem(std::string_view address) {
  if (address.empty()) return "it is empty";
  if (address.front() == '.') return "it starts with '.'";  // ".", ".." and hidden names
  if (address.find('/') != std::string_view::npos) return "it contains '/'";
  for (unsigned char c : address) {
    if (c < 0x20 || c == 0x7f) return "it contains a control character";  // NUL included
  }
  if (address.size() > 255) return "it is " + std::to_string(address.size()) + " octets long (at most 255)";
  return {};
}

std::string address_key(std::string_view address) { return to_lower(address); }

std::string hash_password(std::string_view password) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialize");
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    throw std::runtime_error("out of memory while hashing a password");
  }
  return hash;
}

bool verify_password(std::string_view hash, std::string_view password) {
  if (sodium_init() < 0) return false;
  std::string terminated(hash);  // crypto_pwhash_str_verify needs a C string
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

}  // namespace transport::store
