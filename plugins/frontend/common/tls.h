// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "aimass/status.h"

// OpenSSL's types, so that this header does not pull in <openssl/ssl.h>.
struct ssl_st;
struct ssl_ctx_st;

namespace aimass::plugins::frontend {

/// Where the server's certificate and key are, and what clients must bring: the frontend's
/// tls_* parameters.
struct TlsOptions {
  std::string certificate;  ///< PEM: the server certificate, then any intermediate ones
  std::string private_key;  ///< PEM: its unencrypted private key
  /// PEM: CA certificates; when set, every client must present a certificate they signed.
  std::string client_ca;
  std::string min_version = "1.2";  ///< "1.2" or "1.3"
};

class TlsSession;

/// The server side of TLS, built once when the frontend is configured: the certificate, its key,
/// the client CAs, TLS 1.2 or newer, forward-secret AEAD ciphers only, no renegotiation, no
/// compression.
///
/// Threading: immutable after load(); newSession() may be called from any thread.
class TlsContext {
 public:
  /// Loads and checks everything. kInvalidArgument naming the parameter, the file and what is
  /// wrong: missing or unreadable ("cannot read tls_certificate 'PATH': No such file or
  /// directory"), not PEM ("... is not a PEM certificate"), an encrypted or malformed key, a key
  /// that does not belong to the certificate, a client CA file with no certificate in it, an
  /// unknown min_version.
  static Expected<std::shared_ptr<const TlsContext>> load(const TlsOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  /// A server session on the connected non-blocking socket `fd` (not owned: the caller closes
  /// it after the session). Null only when OpenSSL cannot allocate one.
  std::unique_ptr<TlsSession> newSession(int fd) const;
  /// "TLS 1.2+", "TLS 1.3+", with ", client certificates required" when client_ca is set.
  const std::string& description() const noexcept { return description_; }

 private:
  explicit TlsContext(ssl_ctx_st* context) : context_(context) {}
  ssl_ctx_st* context_;
  std::string description_;
};

/// One TLS connection over a non-blocking socket. receive() and send() behave like recv() and
/// send(): they never block and report "try again" as -1 with errno EAGAIN; wantsWrite() then
/// says whether to wait for the socket to become writable (else readable). Writes to a peer that
/// has gone never raise SIGPIPE.
///
/// Threading: one thread at a time (the connection's owner: the event thread, or the worker
/// answering its request).
class TlsSession {
 public:
  TlsSession(ssl_st* ssl, int fd) noexcept : ssl_(ssl), fd_(fd) {}
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  enum class Step {
    kDone,       ///< established: receive() and send() may be used
    kPending,    ///< waiting for the socket (see wantsWrite())
    kPlainHttp,  ///< the client spoke plain HTTP to this TLS port; nothing was read
    kFailed,     ///< the handshake failed (bad protocol version, no client certificate, ...)
  };
  /// Advances the handshake as far as the socket allows.
  Step handshake() noexcept;
  bool established() const noexcept { return established_; }
  /// The last operation waits for the socket to become writable, or data kept by sendSoon()
  /// is still unsent.
  bool wantsWrite() const noexcept { return want_write_ || !unsent_.empty(); }
  /// Up to `size` decrypted bytes, fewer only when no more has arrived (as with recv()); 0 when
  /// the peer closed; -1 with errno EAGAIN (try again) or EIO (a TLS error: the connection is
  /// unusable). First sends what sendSoon() kept.
  ssize_t receive(char* buffer, std::size_t size) noexcept;
  /// Encrypts and sends `size` bytes (all of them, or none: after EAGAIN call again with the
  /// same bytes); -1 with errno EAGAIN or EIO.
  ssize_t send(const char* data, std::size_t size) noexcept;
  /// Sends `data` without waiting; what the socket cannot take now is kept and goes out first
  /// on the next receive() or send(). Dropped before the handshake is done (no channel yet).
  void sendSoon(std::string_view data) noexcept;
  /// Sends close_notify once, without waiting; the socket stays open.
  void close() noexcept;

 private:
  ssize_t failure(int result) noexcept;
  bool flushUnsent() noexcept;

  ssl_st* ssl_;
  int fd_;
  bool peeked_ = false;
  bool established_ = false;
  bool want_write_ = false;
  bool failed_ = false;
  bool closed_ = false;
  std::string unsent_;
};

}  // namespace aimass::plugins::frontend
