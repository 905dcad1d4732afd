// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "aimass/host.h"
#include "aimass/http.h"
#include "aimass/status.h"
#include "tls.h"

namespace aimass::plugins::frontend {

/// Limits and sizes of an HttpServer.
struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  ///< 0: any free port
  /// Event loops, each reading its connections and running the handlers that
  /// runs_inline accepts; 0: one per CPU core.
  int event_loops = 0;
  int threads = 8;  ///< workers running the handlers that may block
  /// Whether the handler for a complete request (path, query and headers read) may run on the
  /// event loop that read it: only for handlers that never block and return quickly, since
  /// the loop's other connections wait meanwhile. Null: every request goes to a worker.
  std::function<bool(const HttpRequest&)> runs_inline;
  /// Screens a request once its head is read (method, path, query and headers; the body is
  /// still empty), before its body is read or `100 Continue` is sent: returns false with
  /// `response` filled to answer at once (a 401, 403, 404, 405...). The body of a refused
  /// request is never read into memory: the connection is closed after the answer (what the
  /// client still sends is read and dropped, up to 1 MiB for 2 s, so that it sees the answer).
  /// A refused request without a body keeps its connection. Runs on an event loop, several at
  /// once: must not block; must not throw (an escaped exception becomes a 500). Null: every
  /// request is read in full.
  std::function<bool(HttpRequest& head, HttpResponse& response)> screen;
  /// Where the server says what it adjusted or refused (the open-file limit, running out of
  /// descriptors); null: nowhere. Called from any thread.
  std::function<void(LogLevel, std::string)> log;
  std::int64_t max_body_bytes = 64 << 20;
  std::int64_t max_header_bytes = 16 << 10;  ///< request line and headers together
  /// Open connections; more get 503 and are closed. Lowered at start() to what the open-file
  /// limit leaves room for (maxConnections()).
  int max_connections = 1024;
  /// From a request's first byte to its last (then 408); also how long a client may take no
  /// byte of the answers waiting for it before its connection is closed.
  int request_timeout_ms = 30000;
  int idle_timeout_ms = 5000;  ///< a keep-alive connection with no request is closed
  std::string server_name = "aimass";
  /// Set: every connection speaks TLS (plain HTTP requests get 400); null: plain HTTP.
  std::shared_ptr<const TlsContext> tls;
};

/// A streamed answer (`Transfer-Encoding: chunked`) that a handler may send instead of filling
/// its HttpResponse, for answers produced piece by piece (server-sent events). Only handlers
/// running on a worker may stream: on an event loop (HttpServerOptions::runs_inline) current()
/// is null, and the handler answers in one piece as usual.
///
/// Bounds: write() queues a chunk and sends what the socket takes; while more than 256 KiB are
/// unsent it waits, on this worker only (never a loop), for the client to read, and gives up
/// (false, connection closed) when the client takes no byte for request_timeout_ms. It answers
/// false as well once the client is gone (a failed send, a closed or reset connection): the
/// handler should then stop producing. A connection whose stream ended without a failure keeps
/// alive (subject to the request's `Connection` header and stop()). stop() waits for a running
/// stream as for any handler: it ends when its producer does (generation is bounded by the
/// request, e.g. max_tokens) or when its client stops reading.
///
/// Threading: the handler's thread only, during its call.
class HttpStream {
 public:
  /// The stream of the request this thread's handler answers; null on an event loop and outside
  /// a handler.
  static HttpStream* current() noexcept;

  /// Sends `head`'s status line and headers (its content type and headers; the body is ignored)
  /// with `Transfer-Encoding: chunked`. Once; after it the HttpResponse the handler fills is
  /// ignored. False when the client is gone.
  virtual bool start(const HttpResponse& head) = 0;
  /// Sends `data` (non-empty) as one chunk; see the class comment. False: stop producing.
  virtual bool write(std::string_view data) = 0;
  virtual bool started() const noexcept = 0;

 protected:
  ~HttpStream() = default;
};

/// Handles one complete request, which it may change (it is the server's, and dropped after
/// the answer). Called on workers and event loops, several at once; must not throw (an escaped
/// exception becomes a 500).
using HttpHandler = std::function<void(HttpRequest&, HttpResponse&)>;

/// A small HTTP/1.1 server: `event_loops` event loops and `threads` workers. The loops share
/// one epoll set holding the listening socket and every connection (plain ones edge-triggered,
/// TLS ones one-shot): each event goes to one free loop, which reads the connection
/// (non-blocking) and parses it.
/// A complete request that options.runs_inline accepts is answered on that loop: no other
/// thread is woken, which is what keeps a small request cheap. Every other request goes, with
/// its connection, to a worker, which runs the handler, writes the answer, answers any
/// pipelined requests and re-arms the connection; so a handler that blocks (an infer request
/// waiting for its dynamic batch, a model load, a registry route) holds one worker and never a
/// loop. Loops take a few events at a time, so requests are answered close to the order they
/// arrived in, whichever loop is running; a loop that keeps finding a full batch waiting yields
/// its core once per batch (sched_yield), so other threads on a busy machine are not kept
/// waiting behind it for a whole time slice. Clients that send slowly, or open connections and
/// send nothing, hold a socket but neither a loop nor a worker. A separate timer thread
/// enforces the timeouts below on connections no thread is holding. Keep-alive, pipelining,
/// chunked request bodies and `Expect: 100-continue` are supported; TCP_NODELAY is set on
/// every connection.
///
/// Hostile clients. Parsing is linear in the bytes received (HttpRequestParser), and one turn on
/// a connection reads at most 256 KiB before the loop's other connections get theirs. Writing
/// never waits: what a socket does not take is queued on its connection and sent when the
/// socket is writable again (EPOLLOUT); while more than 256 KiB of a client's answers are
/// unread, none of its further requests are read, and a client that takes no byte of them for
/// request_timeout_ms is disconnected. With options.screen a request is authenticated and
/// routed on its head: a refused one is answered before its body is read (and `100 Continue` is
/// sent only to requests that passed). A connection's buffers shrink back after a large
/// request, and are wiped when it closes. When accept() runs out of descriptors, a spare one
/// is freed to answer the waiting client 503 (or, with none, the listener rests for 100 ms):
/// the loops never spin on it.
///
/// Limits, each answered with a JSON {"error": "..."} and the connection closed: request line
/// and headers (with blank lines before them, and a chunked body's trailers) over
/// max_header_bytes (431), a body over max_body_bytes (413, from its Content-Length before it
/// is read, or as soon as a chunked body passes it), a chunk-size line over 1 KiB (400), a
/// request not complete within request_timeout_ms (408), a malformed request (400, also for
/// CR, LF or NUL inside a header), connections beyond max_connections (503). Idle keep-alive
/// connections close after idle_timeout_ms.
///
/// With options.tls the loops also run each TLS handshake, non-blocking like the reads; a
/// handshake not finished within idle_timeout_ms of the connection's accept is dropped, as is
/// one that fails (a protocol version or cipher below the context's, a missing client
/// certificate). A plain HTTP request to the TLS port is answered 400 in plain HTTP and closed.
///
/// stop() stops accepting (new connection attempts are refused), lets every handler already
/// running or handed to a worker finish and answer (with `Connection: close`), joins every
/// thread, sends the answers still queued for up to a second, and closes the remaining
/// connections, including those with a request not yet complete.
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
  /// options.max_connections, or less when the open-file limit leaves room for fewer.
  int maxConnections() const noexcept;
  /// Idempotent; see the class comment. Never throws.
  void stop() noexcept;

 private:
  struct State;
  explicit HttpServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace aimass::plugins::frontend
