// The default certificate pair on real files (generated once, modes, fields) and check_pair's refusals,
// each naming the property at fault.
#include "transportd/tls/tls_credentials.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>

namespace transport::tls {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

unsigned permissions(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr load_certificate(const fs::path& path) {
  const std::string pem = read_file(path);
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509Ptr certificate(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return certificate;
}

class TlsCredentials : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tls_credentials_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    data_dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(data_dir_); }

  // A second, unrelated pair in its own data directory.
  DefaultPair other_pair() {
    const fs::path other = data_dir_ / "other";
    fs::create_directory(other);
    EXPECT_TRUE(ensure_default_pair(other, "other.example"));
    return default_pair_paths(other);
  }

  fs::path data_dir_;
};

TEST_F(TlsCredentials, DefaultPairPathsLiveUnderDataDirTls) {
  const DefaultPair paths = default_pair_paths("/var/lib/transportd");
  EXPECT_EQ(paths.certificate, fs::path("/var/lib/transportd/tls/default.crt"));
  EXPECT_EQ(paths.key, fs::path("/var/lib/transportd/tls/default.key"));
}

TEST_F(TlsCredentials, GeneratesOnceWithPrivateKeyModes) {
  const mode_t old_umask = ::umask(022);
  ASSERT_TRUE(ensure_default_pair(data_dir_, "mx.example.org"));
  ::umask(old_umask);
  const DefaultPair paths = default_pair_paths(data_dir_);
  EXPECT_EQ(permissions(data_dir_ / "tls"), 0700u);
  EXPECT_EQ(permissions(paths.key), 0600u);
  EXPECT_EQ(permissions(paths.certificate), 0644u);
  EXPECT_EQ(check_pair(paths.certificate, paths.key), "");

  // No temporary files left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(data_dir_ / "tls")) ++entries;
  EXPECT_EQ(entries, 2);

  const std::string certificate = read_file(paths.certificate);
  const std::string key = read_file(paths.key);
  const auto certificate_time = fs::last_write_time(paths.certificate);
  EXPECT_FALSE(ensure_default_pair(data_dir_, "mx.example.org"));
  EXPECT_FALSE(ensure_default_pair(data_dir_, "another-name.example.org"));
  EXPECT_EQ(read_file(paths.certificate), certificate);
  EXPECT_EQ(read_file(paths.key), key);
  EXPECT_EQ(fs::last_write_time(paths.certificate), certificate_time);
  EXPECT_NE(key.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
}

TEST_F(TlsCredentials, KeyIsNeverWiderThan0600WhateverTheUmask) {
  const mode_t old_umask = ::umask(0);
  ASSERT_TRUE(ensure_default_pair(data_dir_, "mx.example.org"));
  ::umask(old_umask);
  const DefaultPair paths = default_pair_paths(data_dir_);
  EXPECT_EQ(permissions(paths.key), 0600u);
  EXPECT_EQ(permissions(paths.certificate), 0644u);
}

TEST_F(TlsCredentials, GeneratedCertificateNamesTheHost) {
  ASSERT_TRUE(ensure_default_pair(data_dir_, "mx.example.org"));
  const X509Ptr certificate = load_certificate(default_pair_paths(data_dir_).certificate);
  ASSERT_TRUE(certificate);

  EXPECT_EQ(X509_get_version(certificate.get()), X509_VERSION_3);
  char common_name[256] = {};
  ASSERT_GT(X509_NAME_get_text_by_NID(X509_get_subject_name(certificate.get()), NID_commonName, common_name,
                                      sizeof common_name),
            0);
  EXPECT_STREQ(common_name, "mx.example.org");
  EXPECT_EQ(X509_check_host(certificate.get(), "mx.example.org", 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, nullptr), 1);
  EXPECT_NE(X509_check_host(certificate.get(), "other.example.org", 0, 0, nullptr), 1);

  // Self-signed, not a CA, for server authentication with a digital signature.
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(certificate.get()), X509_get_issuer_name(certificate.get())), 0);
  EXPECT_EQ(X509_check_ca(certificate.get()), 0);
  EXPECT_TRUE(X509_get_extension_flags(certificate.get()) & EXFLAG_BCONS);
  EXPECT_EQ(X509_get_key_usage(certificate.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(certificate.get()), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_check_purpose(certificate.get(), X509_PURPOSE_SSL_SERVER, 0), 1);

  // EC P-256 key.
  EVP_PKEY* public_key = X509_get0_pubkey(certificate.get());
  ASSERT_NE(public_key, nullptr);
  EXPECT_TRUE(EVP_PKEY_is_a(public_key, "EC"));
  char group[64] = {};
  size_t group_length = 0;
  ASSERT_EQ(EVP_PKEY_get_utf8_string_param(public_key, "group", group, sizeof group, &group_length), 1);
  EXPECT_STREQ(group, "prime256v1");

  // Valid from an hour ago for ten years.
  int days = 0;
  int seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notBefore(certificate.get())), 1);
  EXPECT_NEAR(days * 86400 + seconds, -3600, 120);
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(certificate.get())), 1);
  EXPECT_GE(days, 3650);
  EXPECT_LE(days, 3653);

  // A 128-bit serial, and a fresh one per pair.
  const ASN1_INTEGER* serial = X509_get0_serialNumber(certificate.get());
  EXPECT_EQ(ASN1_STRING_length(serial), 16);
  const X509Ptr other = load_certificate(other_pair().certificate);
  EXPECT_NE(ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(other.get())), 0);
}

TEST_F(TlsCredentials, LongHostNameGoesInSubjectAltNameOnly) {
  const std::string host = std::string(70, 'a') + ".example.org";
  ASSERT_TRUE(ensure_default_pair(data_dir_, host));
  const X509Ptr certificate = load_certificate(default_pair_paths(data_dir_).certificate);
  ASSERT_TRUE(certificate);
  EXPECT_EQ(X509_check_host(certificate.get(), host.c_str(), host.size(), 0, nullptr), 1);
}

TEST_F(TlsCredentials, RegeneratesAWholePairWhenHalfIsMissing) {
  ASSERT_TRUE(ensure_default_pair(data_dir_, "mx.example.org"));
  const DefaultPair paths = default_pair_paths(data_dir_);
  const std::string old_certificate = read_file(paths.certificate);
  fs::remove(paths.key);
  ASSERT_TRUE(ensure_default_pair(data_dir_, "mx.example.org"));
  EXPECT_NE(read_file(paths.certificate), old_certificate);
  EXPECT_EQ(check_pair(paths.certificate, paths.key), "");

  fs::remove(paths.certificate);
  ASSERT_TRUE(ensure_default_pair(data_dir_, "mx.example.org"));
  EXPECT_EQ(check_pair(paths.certificate, paths.key), "");
  EXPECT_EQ(permissions(paths.key), 0600u);
}

TEST_F(TlsCredentials, RefusesHostNamesThatAreNotDnsNames) {
  EXPECT_THROW(ensure_default_pair(data_dir_, ""), std::runtime_error);
  EXPECT_THROW(ensure_default_pair(data_dir_, "mx.example.org,DNS:evil.example"), std::runtime_error);
  EXPECT_FALSE(fs::exists(default_pair_paths(data_dir_).certificate));
}

TEST_F(TlsCredentials, MissingDataDirIsAPreciseError) {
  try {
    ensure_default_pair(data_dir_ / "absent", "mx.example.org");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find((data_dir_ / "absent" / "tls").string()), std::string::npos) << message;
    EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  }
}

TEST_F(TlsCredentials, CheckPairRefusesAMissingCertificate) {
  ASSERT_TRUE(ensure_default_pair(data_dir_, "mx.example.org"));
  const fs::path missing = data_dir_ / "nope.crt";
  EXPECT_EQ(check_pair(missing, default_pair_paths(data_dir_).key),
            "TlsCertificatePath " + missing.string() + " cannot be read: No such file or directory");
}

TEST_F(TlsCredentials, CheckPairRefusesAMissingKey) {
  ASSERT_TRUE(ensure_default_pair(data_dir_, "mx.example.org"));
  const fs::path missing = data_dir_ / "nope.key";
  EXPECT_EQ(check_pair(default_pair_paths(data_dir_).certificate, missing),
            "TlsKeyPath " + missing.string() + " cannot be read: No such file or directory");
}

TEST_F(TlsCredentials, CheckPairRefusesADirectory) {
  ASSERT_TRUE(ensure_default_pair(data_dir_, "mx.example.org"));
  EXPECT_EQ(check_pair(data_dir_, default_pair_paths(data_dir_).key),
            "TlsCertificatePath " + data_dir_.string() + " cannot be read: Is a directory");
}

TEST_F(TlsCredentials, CheckPairRefusesGarbage) {
  ASSERT_TRUE(ensure_default_pair(data_dir_, "mx.example.org"));
  const DefaultPair paths = default_pair_paths(data_dir_);
  const fs::path garbage = data_dir_ / "garbage.pem";
  write_file(garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(check_pair(garbage, paths.key),
            "TlsCertificatePath " + garbage.string() + " does not contain a PEM X.509 certificate");
  EXPECT_EQ(check_pair(paths.certificate, garbage),
            "TlsKeyPath " + garbage.string() + " does not contain a PEM private key");
  // A key where the certificate belongs and vice versa.
  EXPECT_EQ(check_pair(paths.key, paths.key),
            "TlsCertificatePath " + paths.key.string() + " does not contain a PEM X.509 certificate");
  EXPECT_EQ(check_pair(paths.certificate, paths.certificate),
            "TlsKeyPath " + paths.certificate.string() + " does not contain a PEM private key");
  const fs::path empty = data_dir_ / "empty.pem";
  write_file(empty, "");
  EXPECT_EQ(check_pair(empty, paths.key),
            "TlsCertificatePath " + empty.string() + " does not contain a PEM X.509 certificate");
}

TEST_F(TlsCredentials, CheckPairRefusesAKeyFromAnotherPair) {
  ASSERT_TRUE(ensure_default_pair(data_dir_, "mx.example.org"));
  const DefaultPair mine = default_pair_paths(data_dir_);
  const DefaultPair other = other_pair();
  EXPECT_EQ(check_pair(mine.certificate, other.key),
            "TlsKeyPath " + other.key.string() + " does not match the certificate in TlsCertificatePath " +
                mine.certificate.string());
  EXPECT_EQ(check_pair(other.certificate, other.key), "");
}

TEST_F(TlsCredentials, CheckPairRefusesAnEncryptedKeyWithoutPrompting) {
  ASSERT_TRUE(ensure_default_pair(data_dir_, "mx.example.org"));
  const DefaultPair paths = default_pair_paths(data_dir_);
  const std::string pem = read_file(paths.key);
  BIO* in = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  ASSERT_NE(key, nullptr);
  BIO* out = BIO_new(BIO_s_mem());
  char passphrase[] = "secret";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(out, key, EVP_aes_256_cbc(), passphrase, 6, nullptr, nullptr), 1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  const fs::path encrypted = data_dir_ / "encrypted.key";
  write_file(encrypted, std::string(data, static_cast<std::size_t>(size)));
  BIO_free(out);
  EVP_PKEY_free(key);

  const std::string message = check_pair(paths.certificate, encrypted);
  EXPECT_EQ(message.rfind("TlsKeyPath " + encrypted.string() + " is an encrypted private key", 0), 0u) << message;
}

TEST_F(TlsCredentials, CheckPairAcceptsAChainLeafFirst) {
  ASSERT_TRUE(ensure_default_pair(data_dir_, "mx.example.org"));
  const DefaultPair mine = default_pair_paths(data_dir_);
  const DefaultPair other = other_pair();
  const fs::path chain = data_dir_ / "chain.crt";
  write_file(chain, read_file(mine.certificate) + read_file(other.certificate));
  EXPECT_EQ(check_pair(chain, mine.key), "");
  // Leaf last: the key does not match the first certificate.
  write_file(chain, read_file(other.certificate) + read_file(mine.certificate));
  EXPECT_NE(check_pair(chain, mine.key), "");
  // A broken certificate further down the chain.
  write_file(chain, read_file(mine.certificate) + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(check_pair(chain, mine.key),
            "TlsCertificatePath " + chain.string() + " holds an unreadable certificate at position 2 of its chain");
}

TEST_F(TlsCredentials, CheckPairRefusesAnUnreadableKey) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  ASSERT_TRUE(ensure_default_pair(data_dir_, "mx.example.org"));
  const DefaultPair paths = default_pair_paths(data_dir_);
  fs::permissions(paths.key, fs::perms::none);
  EXPECT_EQ(check_pair(paths.certificate, paths.key),
            "TlsKeyPath " + paths.key.string() + " cannot be read: Permission denied");
}

}  // namespace
}  // namespace transport::tls
