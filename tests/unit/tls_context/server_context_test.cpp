// make_server_context on real files, and real in-process handshakes over a socketpair: TLS 1.2 and 1.3
// succeed, TLS 1.1 is refused (while a permissive control server proves the client really offers it).
#include "transportd/tls/server_context.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

#include <asio/io_context.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/local/stream_protocol.hpp>

#include "transportd/tls/tls_credentials.h"

namespace transport::tls {
namespace {

namespace fs = std::filesystem;
using Stream = asio::ssl::stream<asio::local::stream_protocol::socket>;

struct HandshakeResult {
  asio::error_code server;
  asio::error_code client;
  std::string version;  // as the client saw it, when both succeeded
};

HandshakeResult handshake(asio::ssl::context& server_context, asio::ssl::context& client_context) {
  asio::io_context io;
  Stream server(io, server_context);
  Stream client(io, client_context);
  asio::local::connect_pair(server.next_layer(), client.next_layer());
  HandshakeResult result;
  server.async_handshake(asio::ssl::stream_base::server, [&](const asio::error_code& ec) {
    result.server = ec;
    // A refused client is waiting for more: close so that its handshake ends too.
    if (ec) server.next_layer().close();
  });
  client.async_handshake(asio::ssl::stream_base::client, [&](const asio::error_code& ec) {
    result.client = ec;
    if (ec) client.next_layer().close();
  });
  io.run_for(std::chrono::seconds(10));
  if (!result.server && !result.client) result.version = SSL_get_version(client.native_handle());
  return result;
}

// A client that speaks exactly one protocol version, and does not verify (the pair is self-signed).
asio::ssl::context client_for(int version) {
  asio::ssl::context context(asio::ssl::context::tls_client);
  SSL_CTX* native = context.native_handle();
  // OpenSSL 3 allows TLS < 1.2 only at security level 0; lower it so the client really offers TLS 1.1.
  SSL_CTX_set_security_level(native, 0);
  SSL_CTX_set_cipher_list(native, "DEFAULT:@SECLEVEL=0");
  SSL_CTX_set_min_proto_version(native, version);
  SSL_CTX_set_max_proto_version(native, version);
  context.set_verify_mode(asio::ssl::verify_none);
  return context;
}

class TlsServerContext : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tls_context_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    data_dir_ = pattern;
    ASSERT_TRUE(ensure_default_pair(data_dir_, "mx.example.org"));
    pair_ = default_pair_paths(data_dir_);
  }
  void TearDown() override { fs::remove_all(data_dir_); }

  fs::path data_dir_;
  DefaultPair pair_;
};

TEST_F(TlsServerContext, LoadsTheGeneratedPairWithThePolicy) {
  const auto context = make_server_context(pair_.certificate, pair_.key);
  ASSERT_TRUE(context);
  SSL_CTX* native = context->native_handle();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(native), TLS1_2_VERSION);
  const uint64_t options = SSL_CTX_get_options(native);
  EXPECT_TRUE(options & SSL_OP_NO_COMPRESSION);
  EXPECT_TRUE(options & SSL_OP_NO_RENEGOTIATION);
  EXPECT_TRUE(options & SSL_OP_CIPHER_SERVER_PREFERENCE);
  EXPECT_TRUE(options & SSL_OP_NO_TLSv1_1);
  EXPECT_EQ(SSL_CTX_get_session_cache_mode(native), SSL_SESS_CACHE_OFF);
  ASSERT_NE(SSL_CTX_get0_certificate(native), nullptr);
}

TEST_F(TlsServerContext, RefusesAMismatchedPairNamingTheKey) {
  const fs::path other_dir = data_dir_ / "other";
  fs::create_directory(other_dir);
  ASSERT_TRUE(ensure_default_pair(other_dir, "other.example"));
  const DefaultPair other = default_pair_paths(other_dir);
  try {
    make_server_context(pair_.certificate, other.key);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& error) {
    EXPECT_EQ(std::string(error.what()), "TlsKeyPath " + other.key.string() +
                                             " does not match the certificate in TlsCertificatePath " +
                                             pair_.certificate.string());
  }
}

TEST_F(TlsServerContext, RefusesAMissingCertificateNamingIt) {
  const fs::path missing = data_dir_ / "missing.crt";
  try {
    make_server_context(missing, pair_.key);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("TlsCertificatePath " + missing.string()), std::string::npos)
        << error.what();
  }
}

TEST_F(TlsServerContext, HandshakesWithTls13AndTls12) {
  const auto context = make_server_context(pair_.certificate, pair_.key);
  for (const auto& [version, name] : {std::pair{TLS1_3_VERSION, "TLSv1.3"}, std::pair{TLS1_2_VERSION, "TLSv1.2"}}) {
    asio::ssl::context client = client_for(version);
    const HandshakeResult result = handshake(*context, client);
    EXPECT_FALSE(result.server) << name << ": " << result.server.message();
    EXPECT_FALSE(result.client) << name << ": " << result.client.message();
    EXPECT_EQ(result.version, name);
  }
}

TEST_F(TlsServerContext, RefusesTls11) {
  // Control: the same client completes TLS 1.1 with a permissive server, so the refusal below is ours.
  asio::ssl::context permissive(asio::ssl::context::tls_server);
  SSL_CTX_set_security_level(permissive.native_handle(), 0);
  SSL_CTX_set_cipher_list(permissive.native_handle(), "DEFAULT:@SECLEVEL=0");
  SSL_CTX_set_min_proto_version(permissive.native_handle(), TLS1_VERSION);
  permissive.use_certificate_chain_file(pair_.certificate.string());
  permissive.use_private_key_file(pair_.key.string(), asio::ssl::context::pem);
  {
    asio::ssl::context client = client_for(TLS1_1_VERSION);
    const HandshakeResult control = handshake(permissive, client);
    ASSERT_FALSE(control.client) << control.client.message();
    ASSERT_EQ(control.version, "TLSv1.1");
  }

  const auto context = make_server_context(pair_.certificate, pair_.key);
  for (const int version : {TLS1_1_VERSION, TLS1_VERSION}) {
    asio::ssl::context client = client_for(version);
    const HandshakeResult result = handshake(*context, client);
    EXPECT_TRUE(result.client) << version;
    // Refused for the version, not for something incidental such as ciphers.
    EXPECT_NE(result.server.message().find("unsupported protocol"), std::string::npos) << result.server.message();
  }
}

}  // namespace
}  // namespace transport::tls
