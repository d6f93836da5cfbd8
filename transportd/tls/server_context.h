// The server-side TLS context for one certificate pair, used by STARTTLS. Includes <asio/ssl.hpp>, an
// expensive header: include this only where sessions are made TLS, never from widely included headers.
#pragma once

#include <asio/ssl.hpp>

#include <filesystem>
#include <memory>

namespace transport::tls {

// TLS 1.2 minimum, OpenSSL's default cipher list, no compression, no renegotiation, server cipher
// preference, no session resumption (cache and tickets off). Loads the chain (leaf first) and the
// unencrypted key from PEM files, checked with check_pair first. Throws std::runtime_error naming the
// file (and property) on failure. The context is immutable once returned: share it between sessions.
std::shared_ptr<asio::ssl::context> make_server_context(const std::filesystem::path& certificate,
                                                        const std::filesystem::path& key);

}  // namespace transport::tls
