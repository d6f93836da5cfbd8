// Mailbox: a recipient the recipient filter knows (its primary address and aliases) and a user that
// can authenticate (its password, kept only as an argon2id hash).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace transport::store {

struct Mailbox {
  std::int64_t id = 0;
  std::string primary_smtp_address;          // local@domain, domain lower-cased
  std::vector<std::string> email_addresses;  // aliases, same form
  std::string display_name;
  std::string password_hash;  // "$argon2id$..." or empty; never leaves the daemon
};

// Checks local@domain (RFC 5321 dot-atom local part up to 64 octets, UTF-8 letters allowed as RFC 6531
// does; an ASCII domain up to 255) and lower-cases the domain. Throws ValueError.
std::string normalize_address(std::string_view text);

// RFC 5321 Dot-string (RFC 5322 dot-atom-text): atoms of atext joined by single dots. The local-part
// syntax both the admin API and the SMTP parser accept unquoted. With `allow_utf8`, atext also holds
// UTF8-non-ascii (RFC 6531 §3.3) and the text must be well-formed UTF-8.
bool is_dot_string(std::string_view text, bool allow_utf8 = false);

// Comparison key of an address: ASCII letters case-insensitive, other characters (UTF-8) exactly as
// written (no Unicode case folding or normalization).
std::string address_key(std::string_view address);

// Why `address` cannot name its mailbox's directory (DATA_DIR/mailboxes/<address>/ must be one path
// component), or an empty string when it can: '/', NUL or control characters, a leading '.', or more
// than 255 octets (NAME_MAX). Checked when a mailbox is made or changed, and again before delivery.
std::string mailbox_directory_problem(std::string_view address);

// argon2id via libsodium (interactive limits: ~100 ms and 64 MiB each). Callers bound concurrency.
std::string hash_password(std::string_view password);
bool verify_password(std::string_view hash, std::string_view password);

}  // namespace transport::store
