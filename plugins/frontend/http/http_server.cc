// SPDX-License-Identifier: Apache-2.0
#include "http_server.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/URI.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace aimass::plugins::frontend {
namespace {

using Clock = std::chrono::steady_clock;

/// After an error response, the rest of the request is read and dropped, up to this much and
/// for at most kDrainMilliseconds, so the client sees the answer rather than a reset.
constexpr std::int64_t kDrainLimitBytes = 1 << 20;
constexpr int kDrainMilliseconds = 2000;
/// How often the timer looks for connections past their deadline.
constexpr int kTimerMilliseconds = 25;
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kChunkLineLimit = 1024;
/// A connection keeps its request body's buffer between requests up to this size.
constexpr std::size_t kKeptBodyBytes = 256 << 10;
/// An event loop takes up to this many events from one epoll_wait (runLoop()).
constexpr int kLoopEvents = 32;
/// ... lets other threads have its core after every this many of them ...
constexpr int kYieldEvents = 8;
/// ... and sends the answers it holds once the oldest has waited this long.
constexpr auto kHoldLimit = std::chrono::microseconds(1000);

std::string lowerCase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string errorBody(std::string_view message) {
  return "{\"error\":\"" + jsonEscape(message) + "\"}";
}

std::string reasonFor(int status) {
  return Poco::Net::HTTPResponse::getReasonForStatus(
      static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
}

/// The head of a response; the body follows it.
std::string responseHead(const HttpResponse& response, bool keep_alive,
                         const std::string& server_name) {
  std::string head;
  head.reserve(160 + server_name.size() + response.content_type.size());
  head.append("HTTP/1.1 ").append(std::to_string(response.status)).append(" ");
  head.append(reasonFor(response.status)).append("\r\nServer: ").append(server_name);
  head.append("\r\nContent-Type: ").append(response.content_type);
  head.append("\r\nContent-Length: ").append(std::to_string(response.body.size()));
  head.append(keep_alive ? "\r\nConnection: keep-alive" : "\r\nConnection: close");
  for (const auto& [name, value] : response.headers) {
    head.append("\r\n").append(name).append(": ").append(value);
  }
  head.append("\r\n\r\n");
  return head;
}

/// Sends everything, waiting up to timeout_ms each time the socket buffer is full.
bool sendAll(int fd, TlsSession* tls, std::string_view data, int timeout_ms) {
  while (!data.empty()) {
    ssize_t n = tls ? tls->send(data.data(), data.size())
                    : ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // TLS may need to read before it can write.
      pollfd p{fd, static_cast<short>(tls && !tls->wantsWrite() ? POLLIN : POLLOUT), 0};
      if (::poll(&p, 1, timeout_ms) <= 0) {
        return false;
      }
      continue;
    }
    return false;
  }
  return true;
}

/// Sends `head` then `body`: plain TCP hands both to the kernel in one sendmsg() (no copy of the
/// body into one buffer); TLS sends a small response as one record.
bool sendResponse(int fd, TlsSession* tls, std::string& head, std::string_view body,
                  int timeout_ms) {
  if (tls) {
    if (body.size() < kReadChunk) {
      head.append(body);
      return sendAll(fd, tls, head, timeout_ms);
    }
    return sendAll(fd, tls, head, timeout_ms) && sendAll(fd, tls, body, timeout_ms);
  }
  iovec parts[2] = {{head.data(), head.size()}, {const_cast<char*>(body.data()), body.size()}};
  msghdr message{};
  message.msg_iov = parts;
  message.msg_iovlen = body.empty() ? 1 : 2;
  ssize_t n;
  do {
    n = ::sendmsg(fd, &message, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
    return false;
  }
  auto sent = static_cast<std::size_t>(std::max<ssize_t>(n, 0));
  if (sent < head.size()) {
    return sendAll(fd, nullptr, std::string_view(head).substr(sent), timeout_ms) &&
           sendAll(fd, nullptr, body, timeout_ms);
  }
  return sendAll(fd, nullptr, body.substr(sent - head.size()), timeout_ms);
}

/// A connection's claim (see HttpServer::State): waiting in epoll and held by no thread, held
/// by the thread serving it, or back in the pool.
enum : int { kIdle = 0, kBusy = 1, kFree = 2 };

/// One client connection and the request being received on it.
struct Connection {
  std::atomic<int> claim{kFree};
  std::atomic<bool> missed{false};  ///< an event came while another thread held the claim
  /// Plain HTTP: its epoll entry is edge-triggered (an event each time bytes arrive, nothing
  /// to re-arm). TLS: one-shot, re-armed after each turn, because OpenSSL can leave bytes in
  /// the socket after a read that no new arrival would report again.
  bool edge = false;
  int fd = -1;
  std::unique_ptr<TlsSession> tls;  ///< null: plain HTTP
  std::string in;                   ///< received bytes, starting at the current request
  Clock::time_point deadline;
  bool started = false;   ///< a byte of the current request has arrived
  bool draining = false;  ///< answered with an error; reading and dropping the rest
  std::int64_t drained = 0;

  // The request being parsed.
  std::size_t scanned = 0;  ///< where the search for the end of the head resumes
  bool have_head = false;
  bool keep_alive = true;
  bool continue_sent = false;
  std::string target;
  HttpRequest request;
  std::size_t body_start = 0;
  std::int64_t content_length = 0;
  bool chunked = false;
  std::size_t chunk_pos = 0;     ///< next byte of `in` the chunk decoder reads
  std::int64_t chunk_left = -1;  ///< data bytes left in the current chunk; -1: a size line next
  bool in_trailer = false;
  std::size_t consumed = 0;  ///< bytes of `in` the complete request took

  /// An answer written but not sent yet (plain HTTP on an event loop, see runLoop()).
  bool deferred = false;
  std::string deferred_head;
  std::string deferred_body;

  /// Readies a pooled Connection for a newly accepted socket (its buffers keep their memory).
  void reset(int socket, std::unique_ptr<TlsSession> session, Clock::time_point until) {
    fd = socket;
    tls = std::move(session);
    in.clear();
    draining = false;
    drained = 0;
    consumed = 0;
    deferred = false;  // (a closed connection never has one: it is flushed before)
    clearRequest();
    started = false;
    deadline = until;
  }

  /// Forgets the answered request; pipelined bytes after it stay.
  void nextRequest(const HttpServerOptions& options) {
    in.erase(0, consumed);
    clearRequest();
    started = !in.empty();
    deadline = Clock::now() + std::chrono::milliseconds(started ? options.request_timeout_ms
                                                                : options.idle_timeout_ms);
  }

  void clearRequest() {
    scanned = 0;
    have_head = false;
    keep_alive = true;
    continue_sent = false;
    target.clear();
    // The next request reuses the body's buffer, unless a large body made it large.
    std::string body = std::move(request.body);
    request = HttpRequest();
    if (body.capacity() <= kKeptBodyBytes) {
      body.clear();
      request.body = std::move(body);
    }
    body_start = 0;
    content_length = 0;
    chunked = false;
    chunk_pos = 0;
    chunk_left = -1;
    in_trailer = false;
    consumed = 0;
  }
};

/// Why a request cannot be served; answered and then the connection is closed.
struct Refusal {
  int status;
  std::string message;
};

enum class Progress { kNeedMore, kComplete, kRefused };

}  // namespace

struct HttpServer::State {
  HttpServerOptions options;
  HttpHandler handler;
  int listen_fd = -1;
  /// The epoll set every event loop waits on: the listening socket, the stop event and each
  /// connection (edge-triggered or one-shot, Connection::edge), so that each event goes to one
  /// loop; one that finds the connection held leaves it to the holder (claim()).
  int epoll = -1;
  int stop_fd = -1;  ///< an eventfd, readable once stop() began: wakes every loop
  std::uint16_t port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<bool> stopped{false};
  std::vector<std::thread> loops;
  std::vector<std::thread> workers;
  std::thread timer;
  /// Complete requests whose handler may block (runs_inline said no), each with its
  /// connection claimed, for the workers.
  std::mutex work_mutex;
  std::condition_variable work;
  std::deque<Connection*> queue;
  bool workers_exit = false;
  std::mutex timer_mutex;
  std::condition_variable timer_wake;
  // Tags of the two sockets that are not connections in the epoll set.
  char listen_tag = 0;
  char stop_tag = 0;

  std::mutex registry;                            ///< guards the three below
  std::vector<std::unique_ptr<Connection>> pool;  ///< never shrinks while the server runs
  std::vector<Connection*> free_list;
  int open = 0;  ///< connections accepted and not closed

  ~State() {
    for (int fd : {listen_fd, stop_fd, epoll}) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  }

  /// Takes a connection an event named. Three threads may want one connection: the loop its
  /// event went to, the timer, and (while registering it) the loop that accepted it; each works
  /// on it only while holding its claim. Connection objects are pooled and never freed while
  /// the server runs, so an event still naming a closed (or reused) connection is harmless:
  /// the claim fails on kFree, or it reads a reused one with nothing to read. Fails when
  /// another thread holds it; that thread then sees `missed` when it lets go (release()) and
  /// serves the connection itself, since the event was spent on the failed claim.
  static bool claim(Connection& c) {
    int idle = kIdle;
    if (c.claim.compare_exchange_strong(idle, kBusy)) {
      return true;
    }
    c.missed.store(true);
    idle = kIdle;
    return c.claim.compare_exchange_strong(idle, kBusy);
  }

  /// Lets go of a claimed connection. True when an event came for it meanwhile and
  /// the caller holds it again.
  static bool release(Connection& c) {
    c.claim.store(kIdle);
    if (!c.missed.exchange(false)) {
      return false;
    }
    int idle = kIdle;
    return c.claim.compare_exchange_strong(idle, kBusy);
  }

  /// What the connection's epoll entry waits for (see Connection::edge): readable, and writable
  /// too while TLS has bytes to send.
  static std::uint32_t wanted(const Connection& c) {
    if (c.edge) {
      return EPOLLIN | EPOLLET;
    }
    return EPOLLIN | EPOLLONESHOT | (c.tls && c.tls->wantsWrite() ? EPOLLOUT : 0u);
  }

  /// Registers the entry anew, which reports the connection again at once if it is ready: for
  /// an event spent on a failed claim. Its holder only.
  void raise(Connection& c) const {
    epoll_event event{};
    event.events = wanted(c);
    event.data.ptr = &c;
    ::epoll_ctl(epoll, EPOLL_CTL_MOD, c.fd, &event);
  }

  /// Re-arms a one-shot entry before its holder lets go (an edge-triggered one stays armed, so
  /// a plain-HTTP request costs no system call here).
  void arm(Connection& c) const {
    if (!c.edge) {
      raise(c);
    }
  }

  /// Closes a connection its caller holds and returns it to the pool; `registry` locked.
  void closeLocked(Connection& c) {
    if (c.tls) {
      c.tls->close();
    }
    ::epoll_ctl(epoll, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
    c.tls.reset();
    c.request = HttpRequest();
    c.claim.store(kFree);
    free_list.push_back(&c);
    --open;
  }

  void closeConnection(Connection& c) {
    std::lock_guard lock(registry);
    closeLocked(c);
  }

  /// Answers with a JSON error and starts draining the connection.
  void refuse(Connection& c, const Refusal& refusal) {
    HttpResponse response;
    response.status = refusal.status;
    response.body = errorBody(refusal.message);
    std::string data = responseHead(response, false, options.server_name) + response.body;
    if (c.tls) {
      c.tls->sendSoon(data);
      c.tls->close();
    } else if (flush(c)) {  // after the answers before it
      [[maybe_unused]] auto n = ::send(c.fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    ::shutdown(c.fd, SHUT_WR);
    c.draining = true;
    c.deadline = Clock::now() + std::chrono::milliseconds(kDrainMilliseconds);
  }

  std::optional<Refusal> parseHead(Connection& c, std::string_view head) {
    auto line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    auto first_space = line.find(' ');
    auto last_space = line.rfind(' ');
    if (first_space == std::string_view::npos || first_space == last_space || first_space == 0) {
      return Refusal{400, "malformed request line (expected METHOD TARGET HTTP/1.1)"};
    }
    std::string_view version = line.substr(last_space + 1);
    if (version != "HTTP/1.1" && version != "HTTP/1.0") {
      return Refusal{400, "unsupported HTTP version '" + std::string(version.substr(0, 16)) +
                              "' (use HTTP/1.1)"};
    }
    c.request.method = std::string(line.substr(0, first_space));
    for (char ch : c.request.method) {
      if (!std::isalpha(static_cast<unsigned char>(ch))) {
        return Refusal{400, "malformed request method"};
      }
    }
    c.target = std::string(trimmed(line.substr(first_space + 1, last_space - first_space - 1)));
    if (c.target.empty() || c.target.find(' ') != std::string::npos) {
      return Refusal{400, "malformed request target"};
    }
    bool http10 = version == "HTTP/1.0";
    std::string_view rest =
        line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
    std::optional<std::string> content_length;
    while (!rest.empty()) {
      auto end = rest.find("\r\n");
      std::string_view field = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
      if (field.empty()) {
        continue;
      }
      if (field.front() == ' ' || field.front() == '\t') {
        return Refusal{400, "folded header lines are not accepted"};
      }
      auto colon = field.find(':');
      if (colon == std::string_view::npos || colon == 0 ||
          field.substr(0, colon).find_first_of(" \t") != std::string_view::npos) {
        return Refusal{400, "malformed header line '" + std::string(field.substr(0, 40)) + "'"};
      }
      std::string name = lowerCase(field.substr(0, colon));
      std::string value(trimmed(field.substr(colon + 1)));
      if (name == "content-length") {
        if (content_length && *content_length != value) {
          return Refusal{400, "conflicting Content-Length headers"};
        }
        content_length = value;
      }
      auto [it, inserted] = c.request.headers.emplace(name, value);
      if (!inserted && name != "content-length") {
        it->second += ", " + value;
      }
    }
    const auto& headers = c.request.headers;
    auto connection = headers.find("connection");
    std::string tokens = connection == headers.end() ? "" : lowerCase(connection->second);
    c.keep_alive = http10 ? tokens.find("keep-alive") != std::string::npos
                          : tokens.find("close") == std::string::npos;
    if (auto te = headers.find("transfer-encoding"); te != headers.end()) {
      if (lowerCase(trimmed(te->second)) != "chunked") {
        return Refusal{400, "Transfer-Encoding '" + te->second.substr(0, 40) +
                                "' is not supported (only chunked)"};
      }
      if (content_length) {
        return Refusal{400, "a request may not have both Content-Length and Transfer-Encoding"};
      }
      c.chunked = true;
    } else if (content_length) {
      std::int64_t length = -1;
      auto [ptr, error] = std::from_chars(content_length->data(),
                                          content_length->data() + content_length->size(), length);
      if (content_length->empty() || error != std::errc() ||
          ptr != content_length->data() + content_length->size() || length < 0) {
        return Refusal{400, "Content-Length must be a byte count, not '" +
                                content_length->substr(0, 40) + "'"};
      }
      c.content_length = length;
    }
    if (c.content_length > options.max_body_bytes) {
      return Refusal{413, "the request body is larger than the limit of " +
                              std::to_string(options.max_body_bytes) + " bytes (max_body_bytes)"};
    }
    return std::nullopt;
  }

  /// Decodes as much of a chunked body as has arrived.
  Progress decodeChunks(Connection& c, Refusal& refusal) {
    for (;;) {
      if (c.in_trailer || c.chunk_left < 0) {
        auto eol = c.in.find("\r\n", c.chunk_pos);
        if (eol == std::string::npos) {
          if (c.in.size() - c.chunk_pos > kChunkLineLimit) {
            refusal = {400, "malformed chunked body: a chunk line is too long"};
            return Progress::kRefused;
          }
          return Progress::kNeedMore;
        }
        std::string_view line(c.in.data() + c.chunk_pos, eol - c.chunk_pos);
        c.chunk_pos = eol + 2;
        if (c.in_trailer) {
          if (line.empty()) {
            c.consumed = c.chunk_pos;
            return Progress::kComplete;
          }
          continue;  // trailer fields are ignored
        }
        std::string_view digits = trimmed(line.substr(0, line.find(';')));
        std::uint64_t size = 0;
        auto [ptr, error] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
        if (digits.empty() || digits.size() > 15 || error != std::errc() ||
            ptr != digits.data() + digits.size()) {
          refusal = {400, "malformed chunked body: bad chunk size '" +
                              std::string(line.substr(0, 20)) + "'"};
          return Progress::kRefused;
        }
        if (size == 0) {
          c.in_trailer = true;
          continue;
        }
        if (static_cast<std::int64_t>(c.request.body.size() + size) > options.max_body_bytes) {
          refusal = {413, "the request body is larger than the limit of " +
                              std::to_string(options.max_body_bytes) + " bytes (max_body_bytes)"};
          return Progress::kRefused;
        }
        c.chunk_left = static_cast<std::int64_t>(size);
        continue;
      }
      auto left = static_cast<std::size_t>(c.chunk_left);
      if (c.in.size() - c.chunk_pos < left + 2) {
        return Progress::kNeedMore;
      }
      if (c.in.compare(c.chunk_pos + left, 2, "\r\n") != 0) {
        refusal = {400, "malformed chunked body: a chunk is longer than its size"};
        return Progress::kRefused;
      }
      c.request.body.append(c.in, c.chunk_pos, left);
      c.chunk_pos += left + 2;
      c.chunk_left = -1;
    }
  }

  Progress parse(Connection& c, Refusal& refusal) {
    const auto max_header = static_cast<std::size_t>(options.max_header_bytes);
    if (!c.have_head) {
      // A stray line break before a request line is ignored (RFC 9112, section 2.2).
      while (c.in.compare(0, 2, "\r\n") == 0) {
        c.in.erase(0, 2);
        c.scanned = 0;
      }
      auto end = c.in.find("\r\n\r\n", c.scanned > 3 ? c.scanned - 3 : 0);
      if (end == std::string::npos) {
        c.scanned = c.in.size();
        if (c.in.size() > max_header) {
          refusal = {431, "the request line and headers are larger than the limit of " +
                              std::to_string(max_header) + " bytes (max_header_bytes)"};
          return Progress::kRefused;
        }
        return Progress::kNeedMore;
      }
      if (end + 4 > max_header) {
        refusal = {431, "the request line and headers are larger than the limit of " +
                            std::to_string(max_header) + " bytes (max_header_bytes)"};
        return Progress::kRefused;
      }
      if (auto bad = parseHead(c, std::string_view(c.in).substr(0, end))) {
        refusal = std::move(*bad);
        return Progress::kRefused;
      }
      c.have_head = true;
      c.body_start = end + 4;
      c.chunk_pos = c.body_start;
    }
    if (c.chunked) {
      Progress progress = decodeChunks(c, refusal);
      if (progress == Progress::kNeedMore) {
        sendContinue(c);
      }
      return progress;
    }
    std::size_t need = c.body_start + static_cast<std::size_t>(c.content_length);
    if (c.in.size() < need) {
      sendContinue(c);
      return Progress::kNeedMore;
    }
    c.request.body.assign(c.in, c.body_start, static_cast<std::size_t>(c.content_length));
    c.consumed = need;
    return Progress::kComplete;
  }

  /// Answers `Expect: 100-continue` once, when the body has not arrived yet.
  void sendContinue(Connection& c) {
    if (c.continue_sent) {
      return;
    }
    auto expect = c.request.headers.find("expect");
    if (expect != c.request.headers.end() && lowerCase(expect->second) == "100-continue") {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      if (c.tls) {
        c.tls->sendSoon(kContinue);
      } else if (flush(c)) {  // after the answers before it
        [[maybe_unused]] auto n =
            ::send(c.fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      }
    }
    c.continue_sent = true;
  }

  /// Advances a TLS handshake (tls.h). False when the connection is finished with.
  bool handshake(Connection& c) {
    switch (c.tls->handshake()) {
      case TlsSession::Step::kDone:
        c.deadline = Clock::now() + std::chrono::milliseconds(options.idle_timeout_ms);
        return true;
      case TlsSession::Step::kPending:
        return true;
      case TlsSession::Step::kPlainHttp:
        c.tls.reset();
        refuse(c, {400,
                   "this port speaks HTTPS (TLS is configured), but the request came in "
                   "plain HTTP; use https://"});
        return true;
      case TlsSession::Step::kFailed:
        break;
    }
    return false;
  }

  /// Reads what the socket has. False when the connection is finished with.
  bool readFrom(Connection& c) {
    if (c.tls && !c.tls->established() && !c.draining) {
      if (!handshake(c)) {
        return false;
      }
      if (!c.tls || !c.tls->established()) {
        return true;
      }
    }
    char buffer[kReadChunk];
    for (;;) {
      // Draining drops bytes unread, so TLS records need no decrypting then.
      ssize_t n = c.tls && !c.draining ? c.tls->receive(buffer, sizeof(buffer))
                                       : ::recv(c.fd, buffer, sizeof(buffer), 0);
      if (n > 0) {
        if (c.draining) {
          c.drained += n;
          if (c.drained > kDrainLimitBytes) {
            return false;
          }
          continue;
        }
        if (!c.started) {
          c.started = true;
          c.deadline = Clock::now() + std::chrono::milliseconds(options.request_timeout_ms);
        }
        c.in.append(buffer, static_cast<std::size_t>(n));
        // Reading stops at a request's worth; the parser decides whether more is needed.
        if (static_cast<std::size_t>(n) < sizeof(buffer)) {
          return true;
        }
        continue;
      }
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return true;
      }
      return false;  // end of stream or error
    }
  }

  /// What became of a connection its holder advanced.
  enum class Next {
    kKeep,       ///< waits for more bytes; the holder re-arms and releases it
    kClose,      ///< finished with; the holder closes it
    kHandedOff,  ///< a worker holds it now, with a request whose handler may block
  };

  /// Reads what has arrived and answers every complete request in it on this thread, except
  /// that an event loop (`on_loop`) hands a request that options.runs_inline() does not accept
  /// to the workers (with the connection). With `defer`, the last plain-HTTP answer waits in
  /// the connection for the caller to flush() it.
  Next advance(Connection& c, bool on_loop, bool defer = false) {
    if (!readFrom(c)) {
      return Next::kClose;
    }
    return process(c, on_loop, defer);
  }

  /// Answers the complete requests already read (see advance()).
  Next process(Connection& c, bool on_loop, bool defer = false) {
    for (;;) {
      if (c.draining || !c.started) {
        return Next::kKeep;
      }
      Refusal refusal;
      switch (parse(c, refusal)) {
        case Progress::kNeedMore:
          return Next::kKeep;
        case Progress::kRefused:
          refuse(c, refusal);
          return Next::kKeep;
        case Progress::kComplete: {
          HttpResponse response;
          const bool target_ok = readTarget(c, response);
          if (on_loop && target_ok && !(options.runs_inline && options.runs_inline(c.request))) {
            if (!flush(c)) {
              return Next::kClose;
            }
            handOff(c);
            return Next::kHandedOff;
          }
          serve(c, target_ok, response, defer && !c.tls);
          if (!c.keep_alive || stopping) {
            return Next::kClose;
          }
          c.nextRequest(options);  // and pipelined bytes are parsed at once
          break;
        }
      }
    }
  }

  /// Gives a claimed connection with a complete request to the workers. Events that come for it
  /// meanwhile find it held and leave it to the worker (claim()).
  void handOff(Connection& c) {
    {
      std::lock_guard lock(work_mutex);
      queue.push_back(&c);
    }
    work.notify_one();
  }

  /// After its holder advanced it: closes the connection, or re-arms and releases it (and goes
  /// on with it when an event came meanwhile).
  void settle(Connection& c, Next next, bool on_loop) {
    for (;;) {
      if (next == Next::kHandedOff) {
        return;
      }
      if (next == Next::kClose) {
        closeConnection(c);
        return;
      }
      arm(c);
      if (!release(c)) {
        return;
      }
      next = advance(c, on_loop);
    }
  }

  /// A worker: runs the queued requests whose handlers may block, then goes on with their
  /// connections (pipelined requests, further reads) until they wait for the client again.
  void runWorker() {
    for (;;) {
      Connection* c;
      {
        std::unique_lock lock(work_mutex);
        work.wait(lock, [&] { return !queue.empty() || workers_exit; });
        if (queue.empty()) {
          return;
        }
        c = queue.front();
        queue.pop_front();
      }
      HttpResponse response;
      serve(*c, true, response);
      Next next = Next::kClose;
      if (c->keep_alive && !stopping) {
        c->nextRequest(options);
        next = process(*c, false);
      }
      settle(*c, next, false);
    }
  }

  void acceptAll() {
    for (;;) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        break;  // EAGAIN: no more; other errors (EMFILE...) are retried on the next event
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      std::unique_ptr<TlsSession> tls;
      if (options.tls && !(tls = options.tls->newSession(fd))) {
        ::close(fd);
        continue;
      }
      Connection* c;
      bool full;
      {
        std::lock_guard lock(registry);
        full = open >= options.max_connections;
        ++open;
        if (free_list.empty()) {
          pool.push_back(std::make_unique<Connection>());
          c = pool.back().get();
        } else {
          c = free_list.back();
          free_list.pop_back();
        }
        // Held by this thread until it is in the epoll set (a loop with a stale event for the
        // pooled object cannot take it meanwhile).
        c->claim.store(kBusy);
      }
      c->reset(fd, std::move(tls),
               Clock::now() + std::chrono::milliseconds(options.idle_timeout_ms));
      if (full) {
        refuse(*c, {503, "the server has " + std::to_string(options.max_connections) +
                             " connections open (max_connections); try again later"});
      }
      c->missed.store(false);
      c->edge = !c->tls;
      epoll_event event{};
      event.events = wanted(*c);
      event.data.ptr = c;
      if (::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0) {
        closeConnection(*c);
        continue;
      }
      while (release(*c)) {
        raise(*c);  // its event was spent while this thread held it
      }
    }
  }

  /// One of the event loops. All wait on the one epoll set and take up to kLoopEvents events
  /// at a time, so a loop that is busy (or descheduled) holds back few connections while
  /// another loop is free: requests are answered close to the order they arrived in, whichever
  /// loop runs.
  ///
  /// A loop sends the plain-HTTP answers of a batch together, after the batch, or sooner once
  /// the oldest has waited kHoldLimit; each connection stays held until its answer is out. A
  /// client waiting on several of them (a load generator, a proxy's pool) is then woken once
  /// rather than once per answer, and wake-ups cost more than the wait (most of all on a
  /// virtual machine). Anything else written to such a connection meanwhile (100 Continue, an
  /// error, a worker's answer) goes after it (flush()).
  ///
  /// A loop that always finds work would hold its core for whole time slices while other
  /// threads wait for it: the workers, or other processes on a shared machine (such as W6's
  /// load generator). So every kYieldEvents events of a batch, and after a full batch, it lets
  /// them have the core (sched_yield(), which returns at once when nothing else is runnable).
  void runLoop() {
    epoll_event events[kLoopEvents];
    Connection* held[kLoopEvents];
    Next nexts[kLoopEvents];
    int h = 0;
    Clock::time_point oldest;
    auto sendHeld = [&] {
      for (int k = 0; k < h; ++k) {
        if (!flush(*held[k])) {
          nexts[k] = Next::kClose;
        }
        settle(*held[k], nexts[k], true);
      }
      h = 0;
    };
    while (!stopping) {
      // The timeout only bounds how long a loop could miss stop() (it never should).
      int count = ::epoll_wait(epoll, events, kLoopEvents, 1000);
      for (int i = 0; i < count && !stopping; ++i) {
        void* tag = events[i].data.ptr;
        if (tag == &stop_tag) {
          break;
        }
        if (tag == &listen_tag) {
          acceptAll();
        } else if (auto* c = static_cast<Connection*>(tag); claim(*c)) {
          // (A failed claim leaves the connection to the thread holding it, which sees
          // `missed` when it lets go and goes on with it.)
          Next next = advance(*c, true, true);
          if (next != Next::kHandedOff) {
            if (h == 0) {
              oldest = Clock::now();
            }
            held[h] = c;
            nexts[h] = next;
            ++h;
          }
        }
        if (h > 0 && Clock::now() - oldest >= kHoldLimit) {
          sendHeld();
        }
        if ((i + 1) % kYieldEvents == 0 && i + 1 < count) {
          sched_yield();
        }
      }
      sendHeld();
      if (count == kLoopEvents) {
        sched_yield();  // saturated: more events are waiting
      }
    }
  }

  /// Every kTimerMilliseconds: answers 408 to requests not complete in time and closes idle,
  /// drained and handshaking connections past their deadline. Connections a loop holds (being
  /// read or answered) are skipped until the next round.
  void runTimer() {
    std::unique_lock wait_lock(timer_mutex);
    while (!stopping) {
      timer_wake.wait_for(wait_lock, std::chrono::milliseconds(kTimerMilliseconds),
                          [&] { return stopping.load(); });
      if (stopping) {
        break;
      }
      auto now = Clock::now();
      std::lock_guard lock(registry);
      for (auto& owned : pool) {
        Connection& c = *owned;
        int idle = kIdle;
        if (!c.claim.compare_exchange_strong(idle, kBusy)) {
          continue;
        }
        bool changed = false;
        if (now >= c.deadline) {
          if (c.started && !c.draining) {
            refuse(c, {408, "the request did not arrive in full within " +
                                std::to_string(options.request_timeout_ms) +
                                " ms (request_timeout_ms)"});
            changed = true;
          } else {
            closeLocked(c);
            continue;
          }
        }
        if (changed) {
          arm(c);
        }
        while (release(c)) {
          raise(c);  // its event was spent on a loop's failed claim
        }
      }
    }
  }

  /// Fills c.request's path and query from the request target; false (with a 400 in
  /// `response`) when the target is malformed.
  static bool readTarget(Connection& c, HttpResponse& response) {
    // The common case, a plain path (no query, no escapes), needs no URI parser.
    const bool plain = !c.target.empty() && c.target.front() == '/' &&
                       std::all_of(c.target.begin(), c.target.end(), [](char ch) {
                         return std::isalnum(static_cast<unsigned char>(ch)) || ch == '/' ||
                                ch == '-' || ch == '_' || ch == '.' || ch == '~';
                       });
    if (plain) {
      c.request.path = c.target;
      return true;
    }
    try {
      Poco::URI uri(c.target);
      c.request.path = uri.getPath();
      for (const auto& [key, value] : uri.getQueryParameters()) {
        c.request.query[key] = value;
      }
      return true;
    } catch (const Poco::SyntaxException& e) {
      jsonError(response, 400, "malformed request URI: " + e.displayText());
    } catch (const std::exception& e) {
      jsonError(response, 400, std::string("malformed request URI: ") + e.what());
    }
    return false;
  }

  /// Runs the handler for c's complete request (unless readTarget() already answered it) and
  /// writes the answer.
  void serve(Connection& c, bool target_ok, HttpResponse& response, bool defer = false) {
    if (target_ok) {
      try {
        handler(c.request, response);
      } catch (const std::exception& e) {
        response = HttpResponse();
        jsonError(response, 500, std::string("internal error: ") + e.what());
      } catch (...) {
        response = HttpResponse();
        jsonError(response, 500, "internal error");
      }
    }
    bool keep_alive = c.keep_alive && !stopping;
    std::string head = responseHead(response, keep_alive, options.server_name);
    if (!flush(c)) {
      c.keep_alive = false;
      return;
    }
    if (defer) {
      c.deferred = true;
      c.deferred_head = std::move(head);
      c.deferred_body = std::move(response.body);
      c.keep_alive = keep_alive;
      return;
    }
    bool sent = sendResponse(c.fd, c.tls.get(), head, response.body, options.request_timeout_ms);
    c.keep_alive = sent && keep_alive;
  }

  /// Sends the connection's deferred answer, if any (plain HTTP only). False when that failed.
  bool flush(Connection& c) {
    if (!c.deferred) {
      return true;
    }
    c.deferred = false;
    const bool sent =
        sendResponse(c.fd, nullptr, c.deferred_head, c.deferred_body, options.request_timeout_ms);
    c.deferred_head.clear();
    c.deferred_body = std::string();  // a large answer's memory goes now
    return sent;
  }
};

HttpServer::HttpServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

HttpServer::~HttpServer() { stop(); }

Expected<std::unique_ptr<HttpServer>> HttpServer::start(HttpServerOptions options,
                                                        HttpHandler handler) {
  const std::string where = options.host + ":" + std::to_string(options.port);
  auto fail = [&](const std::string& why) {
    return unavailable("cannot listen on " + where + ": " + why);
  };
  auto state = std::make_unique<State>();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* addresses = nullptr;
  std::string service = std::to_string(options.port);
  if (int error = ::getaddrinfo(options.host.c_str(), service.c_str(), &hints, &addresses)) {
    return fail(::gai_strerror(error));
  }
  std::string last_error = "no address";
  for (addrinfo* a = addresses; a && state->listen_fd < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 1024) != 0) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    state->listen_fd = fd;
  }
  ::freeaddrinfo(addresses);
  if (state->listen_fd < 0) {
    return fail(last_error);
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  ::getsockname(state->listen_fd, reinterpret_cast<sockaddr*>(&bound), &length);
  state->port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  state->stop_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (state->stop_fd < 0) {
    return fail(std::string("cannot create an eventfd: ") + std::strerror(errno));
  }
  if (options.event_loops <= 0) {
    options.event_loops = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  options.threads = std::max(options.threads, 1);
  state->epoll = ::epoll_create1(EPOLL_CLOEXEC);
  if (state->epoll < 0) {
    return fail(std::string("cannot create an epoll set: ") + std::strerror(errno));
  }
  epoll_event listen_event{};
  listen_event.events = EPOLLIN;
  listen_event.data.ptr = &state->listen_tag;
  epoll_event stop_event{};
  stop_event.events = EPOLLIN;  // level-triggered: every loop sees it once stop() wrote it
  stop_event.data.ptr = &state->stop_tag;
  if (::epoll_ctl(state->epoll, EPOLL_CTL_ADD, state->listen_fd, &listen_event) != 0 ||
      ::epoll_ctl(state->epoll, EPOLL_CTL_ADD, state->stop_fd, &stop_event) != 0) {
    return fail(std::string("cannot watch the socket: ") + std::strerror(errno));
  }
  state->options = std::move(options);
  state->handler = std::move(handler);
  State* s = state.get();
  try {
    s->timer = std::thread([s] { s->runTimer(); });
    for (int i = 0; i < s->options.threads; ++i) {
      s->workers.emplace_back([s] { s->runWorker(); });
    }
    for (int i = 0; i < s->options.event_loops; ++i) {
      s->loops.emplace_back([s] { s->runLoop(); });
    }
  } catch (const std::system_error& e) {
    auto server = std::unique_ptr<HttpServer>(new HttpServer(std::move(state)));
    server->stop();
    return fail(std::string("cannot start threads: ") + e.what());
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(state)));
}

std::uint16_t HttpServer::port() const noexcept { return state_->port; }

void HttpServer::stop() noexcept {
  State& s = *state_;
  if (s.stopped.exchange(true)) {
    return;
  }
  s.stopping = true;
  // Stop accepting now: connection attempts from here on are refused.
  ::epoll_ctl(s.epoll, EPOLL_CTL_DEL, s.listen_fd, nullptr);
  ::shutdown(s.listen_fd, SHUT_RDWR);
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(s.stop_fd, &one, sizeof(one));
  { std::lock_guard lock(s.timer_mutex); }
  s.timer_wake.notify_all();
  // A loop inside a handler finishes it and answers with `Connection: close` first.
  for (auto& loop : s.loops) {
    if (loop.joinable()) {
      loop.join();
    }
  }
  // Then the workers answer what was handed to them (with `Connection: close`) and exit.
  {
    std::lock_guard lock(s.work_mutex);
    s.workers_exit = true;
  }
  s.work.notify_all();
  for (auto& worker : s.workers) {
    if (worker.joinable()) {
      worker.join();
    }
  }
  if (s.timer.joinable()) {
    s.timer.join();
  }
  std::lock_guard lock(s.registry);
  for (auto& c : s.pool) {
    if (c->fd >= 0) {
      s.closeLocked(*c);
    }
  }
}

}  // namespace aimass::plugins::frontend
