// Default certificate pair generation (self-signed, crash-safe on disk) and the certificate/key pair check
// behind TlsCertificatePath/TlsKeyPath. OpenSSL only; no Asio here, so transportd_core stays light.
#include "transportd/tls/tls_credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "transportd/posix_file.h"

namespace transport::tls {
namespace fs = std::filesystem;

namespace {

// Certificate and key files are small; anything bigger is a wrong path, not a pair.
constexpr off_t kMaxPemFileSize = 1024 * 1024;

template <auto Free>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* p) const { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION_free>>;

// OpenSSL reports through a per-thread error queue that later SSL_get_error calls on the same thread
// consult (Asio's among them), so every entry point leaves it empty, whatever happens.
struct ErrorQueueGuard {
  ErrorQueueGuard() { ERR_clear_error(); }
  ~ErrorQueueGuard() { ERR_clear_error(); }
  ErrorQueueGuard(const ErrorQueueGuard&) = delete;
  ErrorQueueGuard& operator=(const ErrorQueueGuard&) = delete;
};

[[noreturn]] void fail_openssl(const std::string& what) {
  throw std::runtime_error("TLS default pair: " + what + ": " + openssl_errors());
}

[[noreturn]] void fail_errno(const std::string& what, const fs::path& path) {
  const int error = errno;
  throw std::runtime_error("TLS default pair: cannot " + what + " " + path.string() + ": " + std::strerror(error));
}


// Whole file into `contents`; on failure returns the reason (strerror text or ours).
std::optional<std::string> read_small_file(const fs::path& path, std::string& contents) {
  // O_NONBLOCK so that a FIFO at the path cannot hang the caller; it is ignored for regular files.
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) return std::string(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return std::string(std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return std::string(std::strerror(EISDIR));
  if (!S_ISREG(st.st_mode)) return std::string("not a regular file");
  if (st.st_size > kMaxPemFileSize) return std::string("larger than 1 MiB, not a PEM certificate or key file");
  contents.clear();
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::string(std::strerror(errno));
    }
    if (n == 0) break;
    contents.append(buffer, static_cast<std::size_t>(n));
    if (contents.size() > static_cast<std::size_t>(kMaxPemFileSize)) {
      return std::string("larger than 1 MiB, not a PEM certificate or key file");
    }
  }
  return std::nullopt;
}

BioPtr memory_bio(const std::string& contents) {
  BioPtr bio(BIO_new_mem_buf(contents.data(), static_cast<int>(contents.size())));
  if (!bio) throw std::bad_alloc();
  return bio;
}

bool is_end_of_pem_input() {
  const unsigned long code = ERR_peek_last_error();
  return ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE;
}

// A host name that can go verbatim into "DNS:<name>" (no commas or colons to smuggle extra entries in).
bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.front() == '-') return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

void add_extension(X509* certificate, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()));
  if (!extension) fail_openssl(std::string("cannot build extension ") + OBJ_nid2sn(nid) + "=" + value);
  if (X509_add_ext(certificate, extension.get(), -1) != 1) fail_openssl(std::string("cannot add extension ") + OBJ_nid2sn(nid));
}

struct GeneratedPair {
  std::string certificate_pem;
  std::string key_pem;
};

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

GeneratedPair generate_self_signed(const std::string& host_name) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) fail_openssl("cannot generate an EC P-256 key");

  X509Ptr certificate(X509_new());
  if (!certificate) fail_openssl("cannot allocate a certificate");
  if (X509_set_version(certificate.get(), X509_VERSION_3) != 1) fail_openssl("cannot set version");

  // RFC 5280 wants a positive serial of at most 20 octets: 128 random bits read as unsigned fit.
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) fail_openssl("cannot draw a random serial");
  serial_bytes[0] |= 0x01;  // a nonzero leading octet: never a zero serial, always 16 octets long
  BignumPtr serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  if (!serial || !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate.get()))) {
    fail_openssl("cannot set the serial number");
  }

  // An hour of slack for peers whose clocks run behind ours.
  if (!X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -60L * 60) ||
      !X509_time_adj_ex(X509_getm_notAfter(certificate.get()), 3652, 0, nullptr)) {
    fail_openssl("cannot set the validity period");
  }

  NamePtr name(X509_NAME_new());
  if (!name) fail_openssl("cannot allocate a name");
  // CN holds at most 64 characters (RFC 5280 ub-common-name); longer names live in subjectAltName alone,
  // which is what peers match against anyway (RFC 6125).
  if (host_name.size() <= 64 &&
      X509_NAME_add_entry_by_NID(name.get(), NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(host_name.c_str()), -1, -1, 0) != 1) {
    fail_openssl("cannot set CN=" + host_name);
  }
  if (X509_set_subject_name(certificate.get(), name.get()) != 1 ||
      X509_set_issuer_name(certificate.get(), name.get()) != 1) {
    fail_openssl("cannot set subject and issuer");
  }
  if (X509_set_pubkey(certificate.get(), key.get()) != 1) fail_openssl("cannot set the public key");

  add_extension(certificate.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(certificate.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(certificate.get(), NID_ext_key_usage, "serverAuth");
  add_extension(certificate.get(), NID_subject_alt_name, "DNS:" + host_name);
  add_extension(certificate.get(), NID_subject_key_identifier, "hash");

  if (X509_sign(certificate.get(), key.get(), EVP_sha256()) <= 0) fail_openssl("cannot sign the certificate");

  GeneratedPair pair;
  BioPtr certificate_bio(BIO_new(BIO_s_mem()));
  if (!certificate_bio || PEM_write_bio_X509(certificate_bio.get(), certificate.get()) != 1) {
    fail_openssl("cannot encode the certificate");
  }
  pair.certificate_pem = bio_contents(certificate_bio.get());
  // BIO_s_secmem keeps the PEM text of the key out of ordinary heap pages while it is encoded.
  BioPtr key_bio(BIO_new(BIO_s_secmem()));
  if (!key_bio || PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail_openssl("cannot encode the private key");
  }
  pair.key_pem = bio_contents(key_bio.get());
  return pair;
}

void fsync_directory(const fs::path& directory) {
  FileDescriptor fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) fail_errno("open directory", directory);
  if (::fsync(fd.get()) != 0) fail_errno("fsync directory", directory);
}

// Writes `contents` to a new file created with `mode` (the umask may only narrow it) and fsyncs it.
void write_new_file(const fs::path& path, std::string_view contents, mode_t mode) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail_errno("remove stale", path);
  FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (fd.get() < 0) fail_errno("create", path);
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd.get(), contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("write", path);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) fail_errno("fsync", path);
  if (::close(fd.release()) != 0) fail_errno("close", path);
}

// Removes the temporary files unless the pair was committed.
class TemporaryFiles {
 public:
  explicit TemporaryFiles(std::initializer_list<fs::path> paths) : paths_(paths) {}
  TemporaryFiles(const TemporaryFiles&) = delete;
  TemporaryFiles& operator=(const TemporaryFiles&) = delete;
  ~TemporaryFiles() {
    for (const auto& path : paths_) ::unlink(path.c_str());
  }

 private:
  std::vector<fs::path> paths_;
};

bool exists_no_follow_errors(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::symlink_status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw std::runtime_error("TLS default pair: cannot stat " + path.string() + ": " + ec.message());
  }
  return fs::exists(status);
}

}  // namespace

DefaultPair default_pair_paths(const fs::path& data_dir) {
  const fs::path tls_dir = data_dir / "tls";
  return DefaultPair{tls_dir / "default.crt", tls_dir / "default.key"};
}

bool ensure_default_pair(const fs::path& data_dir, const std::string& host_name) {
  const DefaultPair paths = default_pair_paths(data_dir);
  const fs::path tls_dir = paths.certificate.parent_path();
  const bool have_certificate = exists_no_follow_errors(paths.certificate);
  const bool have_key = exists_no_follow_errors(paths.key);
  if (have_certificate && have_key) return false;

  if (!is_dns_name(host_name)) {
    throw std::runtime_error("TLS default pair: host name '" + host_name +
                             "' is not a DNS name usable in a certificate (letters, digits, '-', '.', '_')");
  }

  if (::mkdir(tls_dir.c_str(), 0700) == 0) {
    fsync_directory(data_dir);
  } else if (errno != EEXIST) {
    fail_errno("create directory", tls_dir);
  } else if (!fs::is_directory(tls_dir)) {
    throw std::runtime_error("TLS default pair: " + tls_dir.string() + " exists and is not a directory");
  }

  const ErrorQueueGuard error_queue;
  GeneratedPair pair = generate_self_signed(host_name);

  const fs::path key_temporary = tls_dir / ".default.key.tmp";
  const fs::path certificate_temporary = tls_dir / ".default.crt.tmp";
  const TemporaryFiles cleanup{key_temporary, certificate_temporary};
  write_new_file(key_temporary, pair.key_pem, 0600);
  OPENSSL_cleanse(pair.key_pem.data(), pair.key_pem.size());
  write_new_file(certificate_temporary, pair.certificate_pem, 0644);
  // 0644 whatever the umask: the certificate is public, and tools run as other users may read it.
  if (::chmod(certificate_temporary.c_str(), 0644) != 0) fail_errno("chmod", certificate_temporary);

  // Renaming the certificate in is the commit point, so a lone old certificate goes first, then the key is
  // renamed in, then the certificate. A crash in between leaves a key without a certificate, which the next
  // start treats as "no pair" and regenerates; it never leaves a certificate next to a key it does not match.
  if (have_certificate && ::unlink(paths.certificate.c_str()) != 0 && errno != ENOENT) {
    fail_errno("remove lone", paths.certificate);
  }
  if (::rename(key_temporary.c_str(), paths.key.c_str()) != 0) fail_errno("rename into place", paths.key);
  fsync_directory(tls_dir);
  if (::rename(certificate_temporary.c_str(), paths.certificate.c_str()) != 0) {
    fail_errno("rename into place", paths.certificate);
  }
  fsync_directory(tls_dir);
  return true;
}

std::string check_pair(const fs::path& certificate_path, const fs::path& key_path) {
  const ErrorQueueGuard error_queue;
  const std::string certificate_property = "TlsCertificatePath " + certificate_path.string();
  const std::string key_property = "TlsKeyPath " + key_path.string();

  std::string certificate_pem;
  if (auto error = read_small_file(certificate_path, certificate_pem)) {
    return certificate_property + " cannot be read: " + *error;
  }
  std::string key_pem;
  if (auto error = read_small_file(key_path, key_pem)) {
    return key_property + " cannot be read: " + *error;
  }

  const BioPtr certificate_bio = memory_bio(certificate_pem);
  const X509Ptr leaf(PEM_read_bio_X509(certificate_bio.get(), nullptr, refuse_passphrase, nullptr));
  if (!leaf) return certificate_property + " does not contain a PEM X.509 certificate";
  for (int position = 2;; ++position) {
    const X509Ptr intermediate(PEM_read_bio_X509(certificate_bio.get(), nullptr, refuse_passphrase, nullptr));
    if (intermediate) continue;
    if (is_end_of_pem_input()) break;
    return certificate_property + " holds an unreadable certificate at position " + std::to_string(position) +
           " of its chain";
  }
  ERR_clear_error();

  const BioPtr key_bio = memory_bio(key_pem);
  const PkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, refuse_passphrase, nullptr));
  // "BEGIN ENCRYPTED PRIVATE KEY" (PKCS#8) or "Proc-Type: 4,ENCRYPTED" (traditional PEM).
  const bool encrypted = key_pem.find("ENCRYPTED") != std::string::npos;
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  if (!key) {
    if (encrypted) {
      return key_property + " is an encrypted private key: transportd needs it unencrypted (protect it with file permissions)";
    }
    return key_property + " does not contain a PEM private key";
  }
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    return key_property + " does not match the certificate in " + certificate_property;
  }
  return "";
}

std::string openssl_errors() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

int refuse_passphrase(char*, int, int, void*) { return -1; }

}  // namespace transport::tls
