// make_server_context: the one place the server's TLS policy (versions, ciphers, options) is decided.
#include "transportd/tls/server_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdexcept>
#include <string>

#include "transportd/tls/tls_credentials.h"

namespace transport::tls {

std::shared_ptr<asio::ssl::context> make_server_context(const std::filesystem::path& certificate,
                                                        const std::filesystem::path& key) {
  // check_pair gives the precise, property-naming message for the usual mistakes; the loads below still
  // check everything themselves, since the files may change in between.
  if (std::string problem = check_pair(certificate, key); !problem.empty()) throw std::runtime_error(problem);

  ERR_clear_error();
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();

  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    throw std::runtime_error("TLS context: cannot set TLS 1.2 as the minimum version: " + openssl_errors());
  }
  // The no_* version flags repeat the minimum above, so a later change of one cannot silently re-enable
  // an old protocol.
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::no_compression |
                       asio::ssl::context::single_dh_use);
  // Renegotiation is a DoS lever and the STARTTLS state reset assumes one handshake per session.
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);

  // Ciphers: OpenSSL 3's default list, on purpose. STARTTLS between MTAs is opportunistic (RFC 7435): a
  // peer refused for its ciphers falls back to plaintext, so breadth beats strictness. The default already
  // excludes NULL, anonymous, export, RC4, DES/3DES and MD5 suites, orders ECDHE+AEAD first (and we use
  // server preference), and honours the system policy (Debian's SECLEVEL=2). TLS 1.3 suites are all sound.
  // ECDH: OpenSSL >= 1.1 always negotiates the curve automatically (X25519, P-256, ...), nothing to set.

  // Resumption off: mail servers reconnect rarely, and it keeps no ticket keys to rotate and no cache that
  // would outlive a certificate change (each pair gets a fresh context).
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(native, 0);
  // Idle sessions (tarpitted ones above all) give their ~34 KiB of TLS record buffers back.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);

  SSL_CTX_set_default_passwd_cb(native, refuse_passphrase);
  if (SSL_CTX_use_certificate_chain_file(native, certificate.c_str()) != 1) {
    throw std::runtime_error("TlsCertificatePath " + certificate.string() +
                             " cannot be loaded as a PEM certificate chain: " + openssl_errors());
  }
  if (SSL_CTX_use_PrivateKey_file(native, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw std::runtime_error("TlsKeyPath " + key.string() + " cannot be loaded as a PEM private key: " + openssl_errors());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    throw std::runtime_error("TlsKeyPath " + key.string() + " does not match the certificate in TlsCertificatePath " +
                             certificate.string());
  }
  ERR_clear_error();
  return context;
}

}  // namespace transport::tls
