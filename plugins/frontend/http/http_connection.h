// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/http.h"
#include "http_request_parser.h"
#include "http_server.h"
#include "tls.h"

namespace aimass::plugins::frontend {

/// {"error": message}.
std::string errorBody(std::string_view message);

/// The head of a response (status line and headers, with Content-Length from its body and
/// `Connection: keep-alive` or `close`); the body follows it.
std::string responseHead(const HttpResponse& response, bool keep_alive,
                         const std::string& server_name);

/// Fills `request`'s path and query from a request target; false (with a 400 in `response`)
/// when the target is malformed.
bool readTarget(const std::string& target, HttpRequest& request, HttpResponse& response);

/// What has been written to a connection and not yet taken by its socket, in order. Writing
/// never waits: what the socket does not take stays here until it is writable again.
///
/// Threading: none; the connection's holder only.
class OutputQueue {
 public:
  bool empty() const noexcept { return bytes_ == 0; }
  std::size_t bytes() const noexcept { return bytes_; }

  void push(std::string part) {
    if (part.empty()) {
      return;
    }
    bytes_ += part.size();
    parts_.push_back(std::move(part));
  }

  /// Hands the socket as much as it takes now: plain TCP several parts per sendmsg() (a head
  /// and its body without copying them together), TLS one part at a time (TlsSession::send()
  /// takes all of a part or none). False when the connection failed.
  bool send(int fd, TlsSession* tls);

  void clear() noexcept {
    parts_.clear();
    first_ = offset_ = bytes_ = 0;
  }

 private:
  void consume(std::size_t n);

  std::vector<std::string> parts_;
  std::size_t first_ = 0;   ///< the first part not fully sent
  std::size_t offset_ = 0;  ///< bytes of it already sent
  std::size_t bytes_ = 0;   ///< unsent bytes in all
};

/// A connection's claim (see HttpServer::State): waiting in epoll and held by no thread, held
/// by the thread serving it, or back in the pool.
enum ConnectionClaim : int { kIdle = 0, kBusy = 1, kFree = 2 };

/// One client connection of an HttpServer: its socket, the request being received on it and
/// the answers not yet sent. Pooled: a closed one is wiped and serves a later client.
///
/// Threading: only the thread holding its claim touches anything but `claim` and `missed`.
struct Connection {
  using Clock = std::chrono::steady_clock;

  explicit Connection(const HttpParserLimits& limits) : parser(limits) {}

  std::atomic<int> claim{kFree};
  std::atomic<bool> missed{false};  ///< an event came while another thread held the claim
  /// Plain HTTP: its epoll entry is edge-triggered for reading and writing (an event each time
  /// bytes arrive or the socket takes more, nothing to re-arm). TLS: one-shot, re-armed after
  /// each turn, because OpenSSL can leave bytes in the socket after a read that no new arrival
  /// would report again.
  bool edge = false;
  int fd = -1;
  std::unique_ptr<TlsSession> tls;  ///< null: plain HTTP
  HttpRequestParser parser;         ///< the received bytes and the request being parsed
  /// Reading: the idle or request timeout; draining: when to give up on the rest.
  Clock::time_point deadline;
  bool draining = false;  ///< answered and shut for writing; reading and dropping the rest
  std::int64_t drained = 0;
  /// No more requests: once the output is out, shut for writing and drain (an error was
  /// answered, or `Connection: close`).
  bool closing = false;
  bool broken = false;      ///< writing failed: close it
  bool more_input = false;  ///< input was left for later: come back once the output allows
  /// The loop running it holds its answers to send them with the batch's others.
  bool hold = false;

  // The request being answered.
  HttpRequest request;
  bool keep_alive = true;
  bool continue_sent = false;
  bool refused_head = false;  ///< answered from its head (HttpServerOptions::screen)

  OutputQueue out;
  /// While output waits: the connection closes unless the client takes some by then.
  Clock::time_point write_deadline;

  /// Readies a pooled Connection for a newly accepted socket.
  void reset(int socket, std::unique_ptr<TlsSession> session, Clock::time_point until);
  /// Forgets the answered request (pipelined bytes after it stay), keeping its body's buffer
  /// for the next one unless a large body made it large, and giving back a receive buffer a
  /// large request left.
  void nextRequest(const HttpServerOptions& options);
  void startRequest();
  /// Back to the pool: no byte of this client's requests (credentials included) stays.
  void wipe();
};

}  // namespace aimass::plugins::frontend
