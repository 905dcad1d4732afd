// SPDX-License-Identifier: Apache-2.0
#include "tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

namespace aimass::plugins::frontend {
namespace {

// Forward-secret AEAD suites for TLS 1.2 (TLS 1.3 has only such suites).
constexpr const char* kTls12Ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL";
// The first byte of a TLS record carrying a handshake message (a ClientHello).
constexpr unsigned char kHandshakeRecord = 0x16;

// A BIO over the socket that sends with MSG_NOSIGNAL: OpenSSL's own socket BIO uses write(),
// and a client that disconnects mid-response would raise SIGPIPE and end the process.
int socketOf(BIO* bio) {
  return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
}

int bioWrite(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  ssize_t n = ::send(socketOf(bio), data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    BIO_set_retry_write(bio);
  }
  return static_cast<int>(n);
}

int bioRead(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  ssize_t n = ::recv(socketOf(bio), data, static_cast<std::size_t>(size), 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    BIO_set_retry_read(bio);
  }
  return static_cast<int>(n);
}

long bioControl(BIO*, int command, long, void*) { return command == BIO_CTRL_FLUSH ? 1 : 0; }

int bioCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

/// Made once, shared by every session, never freed (OpenSSL keeps no per-process state in it).
BIO_METHOD* socketMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "aimass socket");
    if (m) {
      BIO_meth_set_write(m, bioWrite);
      BIO_meth_set_read(m, bioRead);
      BIO_meth_set_ctrl(m, bioControl);
      BIO_meth_set_create(m, bioCreate);
    }
    return m;
  }();
  return method;
}

/// OpenSSL's reason for the last failure, or `fallback`; clears the error queue.
std::string openSslError(const std::string& fallback) {
  unsigned long code = ERR_peek_last_error();
  std::string reason = fallback;
  if (code != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    reason = text;
  }
  ERR_clear_error();
  return reason;
}

/// A PEM file read whole, or the error naming the parameter and the file.
Expected<std::string> readPem(const std::string& param, const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return invalidArgument("cannot read " + param + " '" + path + "': it is a directory");
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return invalidArgument("cannot read " + param + " '" + path +
                           "': " + (errno != 0 ? std::strerror(errno) : "cannot open the file"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return invalidArgument("cannot read " + param + " '" + path + "': read error");
  }
  return text.str();
}

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct ContextDeleter {
  void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

BioPtr memoryBio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

/// Refuses to prompt for a passphrase: an encrypted key is reported as such instead.
int noPassphrase(char*, int, int, void*) { return 0; }

/// Every certificate in a PEM text, in order.
std::vector<X509Ptr> certificatesIn(const std::string& text) {
  std::vector<X509Ptr> certificates;
  BioPtr bio = memoryBio(text);
  while (bio) {
    X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr));
    if (!certificate) {
      break;
    }
    certificates.push_back(std::move(certificate));
  }
  ERR_clear_error();  // the end of the text reads as "no start line"
  return certificates;
}

}  // namespace

Expected<std::shared_ptr<const TlsContext>> TlsContext::load(const TlsOptions& options) {
  int min_version;
  if (options.min_version == "1.2") {
    min_version = TLS1_2_VERSION;
  } else if (options.min_version == "1.3") {
    min_version = TLS1_3_VERSION;
  } else {
    return invalidArgument("tls_min_version must be \"1.2\" or \"1.3\", not '" +
                           options.min_version + "'");
  }
  if (options.certificate.empty() || options.private_key.empty()) {
    return invalidArgument(
        "TLS needs both tls_certificate and tls_private_key (only one of them is set)");
  }
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, ContextDeleter> context(SSL_CTX_new(TLS_server_method()));
  if (!context) {
    return internalError("cannot create a TLS context: " + openSslError("out of memory"));
  }
  SSL_CTX* ctx = context.get();
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  // A write that would block is retried from a buffer that may have moved (std::string).
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return internalError("cannot set the TLS 1.2 ciphers: " + openSslError("unknown error"));
  }
  static constexpr unsigned char kSessionContext[] = "aimass frontend.http";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);

  // The certificate, then any intermediate certificates after it.
  AIMASS_ASSIGN_OR_RETURN(std::string certificate_text,
                          readPem("tls_certificate", options.certificate));
  auto chain = certificatesIn(certificate_text);
  if (chain.empty()) {
    return invalidArgument("tls_certificate '" + options.certificate +
                           "' is not a PEM certificate (expected a '-----BEGIN CERTIFICATE-----' "
                           "block)");
  }
  if (SSL_CTX_use_certificate(ctx, chain.front().get()) != 1) {
    return invalidArgument("tls_certificate '" + options.certificate +
                           "' cannot be used: " + openSslError("unknown error"));
  }
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1) {
      return invalidArgument("tls_certificate '" + options.certificate + "': certificate " +
                             std::to_string(i + 1) +
                             " of the chain cannot be used: " + openSslError("unknown error"));
    }
  }

  AIMASS_ASSIGN_OR_RETURN(std::string key_text, readPem("tls_private_key", options.private_key));
  BioPtr key_bio = memoryBio(key_text);
  std::unique_ptr<EVP_PKEY, KeyDeleter> key(
      key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, noPassphrase, nullptr) : nullptr);
  if (!key) {
    ERR_clear_error();
    if (key_text.find("ENCRYPTED") != std::string::npos) {
      return invalidArgument("tls_private_key '" + options.private_key +
                             "' is encrypted; give the key unencrypted (`openssl pkey -in KEY "
                             "-out PLAIN.pem`) and protect the file with its permissions");
    }
    return invalidArgument("tls_private_key '" + options.private_key +
                           "' is not a PEM private key (expected a '-----BEGIN PRIVATE KEY-----' "
                           "block)");
  }
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    ERR_clear_error();
    return invalidArgument("tls_private_key '" + options.private_key +
                           "' does not match the certificate in tls_certificate '" +
                           options.certificate + "' (it is the key of another certificate)");
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
    return invalidArgument("tls_private_key '" + options.private_key +
                           "' cannot be used: " + openSslError("unknown error"));
  }

  std::string description = min_version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2+";
  if (!options.client_ca.empty()) {
    AIMASS_ASSIGN_OR_RETURN(std::string ca_text, readPem("tls_client_ca", options.client_ca));
    auto authorities = certificatesIn(ca_text);
    if (authorities.empty()) {
      return invalidArgument("tls_client_ca '" + options.client_ca +
                             "' holds no PEM certificate (expected '-----BEGIN CERTIFICATE-----' "
                             "blocks)");
    }
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    for (const auto& authority : authorities) {
      if (X509_STORE_add_cert(store, authority.get()) != 1 ||
          SSL_CTX_add_client_CA(ctx, authority.get()) != 1) {
        return invalidArgument("tls_client_ca '" + options.client_ca +
                               "' cannot be used: " + openSslError("unknown error"));
      }
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    description += ", client certificates required";
  }
  if (!socketMethod()) {
    return internalError("cannot create the TLS socket BIO: " + openSslError("out of memory"));
  }
  auto made = std::shared_ptr<TlsContext>(new TlsContext(context.release()));
  made->description_ = std::move(description);
  return std::shared_ptr<const TlsContext>(std::move(made));
}

TlsContext::~TlsContext() { SSL_CTX_free(context_); }

std::unique_ptr<TlsSession> TlsContext::newSession(int fd) const {
  SSL* ssl = SSL_new(context_);
  BIO* bio = ssl ? BIO_new(socketMethod()) : nullptr;
  if (!bio) {
    SSL_free(ssl);
    ERR_clear_error();
    return nullptr;
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
  SSL_set_bio(ssl, bio, bio);
  SSL_set_accept_state(ssl);
  return std::make_unique<TlsSession>(ssl, fd);
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

TlsSession::Step TlsSession::handshake() noexcept {
  if (!peeked_) {
    // Before OpenSSL reads anything: a plain HTTP request is answered in plain HTTP.
    unsigned char first = 0;
    ssize_t n = ::recv(fd_, &first, 1, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      want_write_ = false;
      return Step::kPending;
    }
    if (n <= 0) {
      return Step::kFailed;
    }
    peeked_ = true;
    if (first != kHandshakeRecord) {
      return std::isupper(first) ? Step::kPlainHttp : Step::kFailed;
    }
  }
  ERR_clear_error();
  int result = SSL_do_handshake(ssl_);
  if (result == 1) {
    established_ = true;
    want_write_ = false;
    return Step::kDone;
  }
  int error = SSL_get_error(ssl_, result);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    want_write_ = error == SSL_ERROR_WANT_WRITE;
    return Step::kPending;
  }
  failed_ = true;
  ERR_clear_error();
  return Step::kFailed;
}

ssize_t TlsSession::failure(int result) noexcept {
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
      want_write_ = false;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      want_write_ = true;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;  // close_notify: the peer closed cleanly
    default:
      failed_ = true;
      ERR_clear_error();
      errno = EIO;
      return -1;
  }
}

bool TlsSession::flushUnsent() noexcept {
  if (unsent_.empty()) {
    return true;
  }
  ERR_clear_error();
  int n = SSL_write(ssl_, unsent_.data(), static_cast<int>(unsent_.size()));
  if (n > 0) {
    unsent_.clear();
    return true;
  }
  if (failure(n) == 0) {
    errno = EIO;  // the peer closed: what was kept cannot go out
    failed_ = true;
  }
  return false;
}

ssize_t TlsSession::receive(char* buffer, std::size_t size) noexcept {
  if (failed_ || (!flushUnsent() && failed_)) {
    errno = EIO;
    return -1;
  }
  // One SSL_read gives one record (16 KiB at most): read on until the buffer is full or the
  // socket is empty, so that, as with recv(), a short read means nothing more has arrived.
  std::size_t got = 0;
  while (got < size) {
    ERR_clear_error();
    int n =
        SSL_read(ssl_, buffer + got, static_cast<int>(std::min<std::size_t>(size - got, INT_MAX)));
    if (n <= 0) {
      ssize_t result = failure(n);
      return got > 0 ? static_cast<ssize_t>(got) : result;
    }
    want_write_ = false;
    got += static_cast<std::size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

ssize_t TlsSession::send(const char* data, std::size_t size) noexcept {
  if (!flushUnsent()) {
    return failed_ ? 0 : -1;
  }
  ERR_clear_error();
  int n = SSL_write(ssl_, data, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
  if (n > 0) {
    want_write_ = false;
    return n;
  }
  return failure(n);
}

void TlsSession::sendSoon(std::string_view data) noexcept {
  if (!established_ || failed_ || closed_) {
    return;
  }
  try {
    unsent_.append(data);
  } catch (...) {
    return;
  }
  flushUnsent();
}

void TlsSession::close() noexcept {
  if (!established_ || failed_ || closed_) {
    return;
  }
  closed_ = true;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

}  // namespace aimass::plugins::frontend
