// SPDX-License-Identifier: Apache-2.0
#pragma once
// TLS for tests: keys and certificates made with OpenSSL's API and written as PEM files, and a
// blocking OpenSSL client that verifies the server's certificate. Link OpenSSL::SSL.

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace aimass::testing {

namespace fs = std::filesystem;

/// A key and a certificate for it, written as PEM files.
struct Credential {
  std::shared_ptr<EVP_PKEY> key;
  std::shared_ptr<X509> certificate;
  fs::path key_file;
  fs::path certificate_file;
};

/// A P-256 key and an X.509 v3 certificate for `common_name`, valid for 127.0.0.1, signed by
/// `issuer` (self-signed when null); a CA when `authority`.
inline Credential issue(const fs::path& folder, const std::string& name, const Credential* issuer,
                        bool authority = false) {
  Credential made;
  made.key.reset(EVP_EC_gen("P-256"), EVP_PKEY_free);
  made.certificate.reset(X509_new(), X509_free);
  X509* x = made.certificate.get();
  X509_set_version(x, 2);
  static std::atomic<long> serial{1};
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, made.key.get());
  X509_NAME* subject = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509* signer = issuer ? issuer->certificate.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(signer));
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, signer, x, nullptr, nullptr, 0);
  auto extend = [&](int nid, const char* value) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    X509_add_ext(x, extension, -1);
    X509_EXTENSION_free(extension);
  };
  if (authority) {
    extend(NID_basic_constraints, "critical,CA:TRUE");
    extend(NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    extend(NID_basic_constraints, "CA:FALSE");
    extend(NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  }
  X509_sign(x, issuer ? issuer->key.get() : made.key.get(), EVP_sha256());
  made.key_file = folder / (name + ".key");
  made.certificate_file = folder / (name + ".crt");
  BIO* out = BIO_new_file(made.key_file.c_str(), "w");
  PEM_write_bio_PrivateKey(out, made.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  BIO_free(out);
  out = BIO_new_file(made.certificate_file.c_str(), "w");
  PEM_write_bio_X509(out, x);
  BIO_free(out);
  return made;
}

inline int connectTcp(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval timeout{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  return fd;
}

/// Whether the server closes `fd` (end of stream or reset) before 20 s pass.
inline bool closedByServer(int fd) {
  char byte;
  for (;;) {
    ssize_t n = ::recv(fd, &byte, 1, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
      return true;
    }
    if (n < 0) {
      return false;  // timed out: still open
    }
  }
}

/// A response read back: the head and the body.
struct Response {
  std::string head;
  std::string body;
  int status() const { return head.size() > 12 ? std::stoi(head.substr(9, 3)) : 0; }
};

/// How a TlsClient connects.
struct ClientOptions {
  fs::path trust;  ///< CA file the server's certificate must chain to
  int max_version = 0;
  const Credential* identity = nullptr;  ///< a client certificate
};

/// A blocking OpenSSL client that verifies the server's certificate for 127.0.0.1.
class TlsClient {
 public:
  TlsClient(std::uint16_t port, const ClientOptions& options) {
    context_ = SSL_CTX_new(TLS_client_method());
    if (options.max_version) {
      SSL_CTX_set_max_proto_version(context_, options.max_version);
      if (options.max_version < TLS1_2_VERSION) {
        // OpenSSL 3 refuses TLS 1.0 and 1.1 itself at its default security level.
        SSL_CTX_set_min_proto_version(context_, 0);
        SSL_CTX_set_security_level(context_, 0);
        SSL_CTX_set_cipher_list(context_, "DEFAULT:@SECLEVEL=0");
      }
    }
    SSL_CTX_load_verify_locations(context_, options.trust.c_str(), nullptr);
    SSL_CTX_set_verify(context_, SSL_VERIFY_PEER, nullptr);
    if (options.identity) {
      SSL_CTX_use_certificate(context_, options.identity->certificate.get());
      SSL_CTX_use_PrivateKey(context_, options.identity->key.get());
    }
    fd_ = connectTcp(port);
    ssl_ = SSL_new(context_);
    SSL_set_fd(ssl_, fd_);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), "127.0.0.1");
    ERR_clear_error();
    int result = SSL_connect(ssl_);
    if (result == 1) {
      connected_ = true;
    } else {
      char text[256];
      ERR_error_string_n(ERR_peek_last_error(), text, sizeof(text));
      error_ = text;
      ERR_clear_error();
    }
  }
  ~TlsClient() {
    SSL_free(ssl_);
    SSL_CTX_free(context_);
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool connected() const { return connected_; }
  const std::string& error() const { return error_; }
  int version() const { return SSL_version(ssl_); }

  bool write(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      int n = SSL_write(ssl_, data.data() + done, static_cast<int>(data.size() - done));
      if (n <= 0) {
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  /// Exactly `size` bytes, or fewer when the connection ends first.
  std::string read(std::size_t size) {
    std::string data(size, '\0');
    std::size_t got = 0;
    while (got < size) {
      int n = SSL_read(ssl_, data.data() + got, static_cast<int>(size - got));
      if (n <= 0) {
        break;
      }
      got += static_cast<std::size_t>(n);
    }
    data.resize(got);
    return data;
  }
  /// One response with a Content-Length; status 0 when the connection ended first.
  Response readResponse() {
    Response response;
    while (response.head.find("\r\n\r\n") == std::string::npos) {
      std::string byte = read(1);
      if (byte.empty()) {
        return {};
      }
      response.head += byte;
    }
    auto at = response.head.find("Content-Length: ");
    std::size_t length = at == std::string::npos ? 0 : std::stoul(response.head.substr(at + 16));
    response.body = read(length);
    return response;
  }
  Response call(const std::string& request) {
    if (!write(request)) {
      return {};
    }
    return readResponse();
  }

 private:
  SSL_CTX* context_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
  std::string error_;
};

}  // namespace aimass::testing
