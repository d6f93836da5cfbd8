// TLS certificate pairs on disk: the server-wide default pair under DATA_DIR/tls/ (generated self-signed
// on first start, as Exchange does) and the check that a connector's TlsCertificatePath/TlsKeyPath are usable.
#pragma once

#include <filesystem>
#include <string>

namespace transport::tls {

struct DefaultPair {
  std::filesystem::path certificate;  // DATA_DIR/tls/default.crt
  std::filesystem::path key;          // DATA_DIR/tls/default.key
};

DefaultPair default_pair_paths(const std::filesystem::path& data_dir);

// When DATA_DIR/tls/default.crt or default.key is missing, generates a fresh self-signed pair for
// host_name (EC P-256, X.509 v3, random 128-bit serial, CN and subjectAltName DNS:host_name, valid from
// now-1h for 10 years, CA:FALSE, keyUsage digitalSignature, extendedKeyUsage serverAuth). The key is
// created 0600, the certificate 0644; both are written to temporary names, fsynced and renamed into
// place (certificate last, so a crash leaves either no certificate — regenerated next time — or a whole
// pair). A lone leftover half is replaced. Creates DATA_DIR/tls (0700) if needed; DATA_DIR must exist.
// Returns true when it generated a pair. Throws std::runtime_error with a precise message on failure.
// Blocking file I/O with fsyncs: call it at startup, not from an I/O thread.
bool ensure_default_pair(const std::filesystem::path& data_dir, const std::string& host_name);

// Reads and checks a pair: both files readable, the certificate PEM X.509 (a chain is fine, leaf first),
// the key an unencrypted PEM private key that matches the leaf certificate. Returns "" when fine, else
// one sentence naming the property at fault (TlsCertificatePath or TlsKeyPath) and the path.
std::string check_pair(const std::filesystem::path& certificate, const std::filesystem::path& key);

// Drains this thread's OpenSSL error queue into one line ("unknown OpenSSL error" when empty).
std::string openssl_errors();

// A pem_password_cb that refuses: OpenSSL must never prompt for a passphrase on the terminal.
int refuse_passphrase(char* buffer, int size, int rwflag, void* user);

}  // namespace transport::tls
