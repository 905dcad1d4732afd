// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "aimass/http.h"
#include "aimass/status.h"
#include "tls.h"

namespace aimass::plugins::frontend {

/// Limits and sizes of an HttpServer.
struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;     ///< 0: any free port
  int threads = 8;  ///< workers running handlers
  std::int64_t max_body_bytes = 64 << 20;
  std::int64_t max_header_bytes = 16 << 10;  ///< request line and headers together
  int max_connections = 1024;                ///< open connections; more get 503 and are closed
  int request_timeout_ms = 30000;            ///< from a request's first byte to its last; then 408
  int idle_timeout_ms = 5000;                ///< a keep-alive connection with no request is closed
  std::string server_name = "aimass";
  /// Set: every connection speaks TLS (plain HTTP requests get 400); null: plain HTTP.
  std::shared_ptr<const TlsContext> tls;
};

/// Handles one complete request. Called on worker threads, several at once; must not throw
/// (an escaped exception becomes a 500).
using HttpHandler = std::function<void(const HttpRequest&, HttpResponse&)>;

/// A small HTTP/1.1 server: one event thread reads requests from every connection with poll()
/// and hands only complete requests to `threads` workers, so clients that send slowly, or open
/// connections and send nothing, hold a socket but never a worker. Keep-alive, pipelining,
/// chunked request bodies and `Expect: 100-continue` are supported; TCP_NODELAY is set on every
/// connection.
///
/// Limits, each answered with a JSON {"error": "..."} and the connection closed: request line
/// and headers over max_header_bytes (431), a body over max_body_bytes (413, from its
/// Content-Length before it is read, or as soon as a chunked body passes it), a request not
/// complete within request_timeout_ms (408), a malformed request (400), connections beyond
/// max_connections (503). Idle keep-alive connections close after idle_timeout_ms.
///
/// With options.tls the event thread also runs each TLS handshake, never a worker; a
/// handshake not finished within idle_timeout_ms of the connection's accept is dropped, as is
/// one that fails (a protocol version or cipher below the context's, a missing client
/// certificate). A plain HTTP request to the TLS port is answered 400 in plain HTTP and closed.
///
/// stop() stops accepting, closes connections that have no complete request, lets the workers
/// answer every request already received (with `Connection: close`), then joins every thread.
///
/// Threading: start() and stop() from one thread; port() from any.
class HttpServer {
 public:
  /// Binds and starts the threads. kUnavailable "cannot listen on HOST:PORT: <reason>" when the
  /// address cannot be bound.
  static Expected<std::unique_ptr<HttpServer>> start(HttpServerOptions options,
                                                     HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// The bound port.
  std::uint16_t port() const noexcept;
  /// Idempotent; see the class comment. Never throws.
  void stop() noexcept;

 private:
  struct State;
  explicit HttpServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace aimass::plugins::frontend
