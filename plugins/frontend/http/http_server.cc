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
#include <sys/socket.h>
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
#include <map>
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
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kChunkLineLimit = 1024;

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
  std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " +
                     reasonFor(response.status) + "\r\nServer: " + server_name +
                     "\r\nContent-Type: " + response.content_type +
                     "\r\nContent-Length: " + std::to_string(response.body.size()) +
                     (keep_alive ? "\r\nConnection: keep-alive" : "\r\nConnection: close");
  for (const auto& [name, value] : response.headers) {
    head += "\r\n" + name + ": " + value;
  }
  head += "\r\n\r\n";
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

/// One client connection and the request being received on it.
struct Connection {
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

  /// Forgets the answered request; pipelined bytes after it stay.
  void nextRequest(const HttpServerOptions& options) {
    in.erase(0, consumed);
    scanned = 0;
    have_head = false;
    keep_alive = true;
    continue_sent = false;
    target.clear();
    request = HttpRequest();
    body_start = 0;
    content_length = 0;
    chunked = false;
    chunk_pos = 0;
    chunk_left = -1;
    in_trailer = false;
    consumed = 0;
    started = !in.empty();
    deadline = Clock::now() + std::chrono::milliseconds(started ? options.request_timeout_ms
                                                                : options.idle_timeout_ms);
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
  std::uint16_t port = 0;
  int wake_read = -1;
  int wake_write = -1;
  std::atomic<bool> stopping{false};
  std::atomic<bool> stopped{false};
  std::thread reactor;
  std::vector<std::thread> workers;

  std::mutex mutex;
  std::condition_variable work;
  std::deque<std::unique_ptr<Connection>> ready;      ///< complete requests for the workers
  std::vector<std::unique_ptr<Connection>> returned;  ///< keep-alive connections back
  bool workers_exit = false;
  int open = 0;  ///< connections accepted and not closed (reactor and workers); under mutex

  ~State() {
    for (int fd : {listen_fd, wake_read, wake_write}) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  }

  void wakeReactor() {
    char byte = 1;
    [[maybe_unused]] auto n = ::write(wake_write, &byte, 1);
  }

  void closeConnection(Connection& c) {
    if (c.fd >= 0) {
      if (c.tls) {
        c.tls->close();
      }
      ::close(c.fd);
      c.fd = -1;
      std::lock_guard lock(mutex);
      --open;
    }
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
    } else {
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
      } else {
        [[maybe_unused]] auto n =
            ::send(c.fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      }
    }
    c.continue_sent = true;
  }

  /// Parses what has arrived; hands a complete request to the workers. False when the
  /// connection left the reactor's care (handed over).
  bool advance(std::unique_ptr<Connection>& c) {
    if (c->draining || !c->started) {
      return true;
    }
    Refusal refusal;
    switch (parse(*c, refusal)) {
      case Progress::kNeedMore:
        return true;
      case Progress::kRefused:
        refuse(*c, refusal);
        return true;
      case Progress::kComplete: {
        std::lock_guard lock(mutex);
        ready.push_back(std::move(c));
        work.notify_one();
        return false;
      }
    }
    return true;
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

  void acceptAll(std::map<int, std::unique_ptr<Connection>>& connections) {
    for (;;) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        return;  // EAGAIN: no more; other errors (EMFILE...) are retried on the next wake
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      auto c = std::make_unique<Connection>();
      c->fd = fd;
      if (options.tls && !(c->tls = options.tls->newSession(fd))) {
        ::close(fd);
        continue;
      }
      c->deadline = Clock::now() + std::chrono::milliseconds(options.idle_timeout_ms);
      bool full;
      {
        std::lock_guard lock(mutex);
        full = open >= options.max_connections;
        ++open;
      }
      if (full) {
        refuse(*c, {503, "the server has " + std::to_string(options.max_connections) +
                             " connections open (max_connections); try again later"});
      }
      connections.emplace(fd, std::move(c));
    }
  }

  void runReactor() {
    std::map<int, std::unique_ptr<Connection>> connections;
    std::vector<pollfd> fds;
    while (!stopping) {
      {
        std::lock_guard lock(mutex);
        for (auto& c : returned) {
          connections.emplace(c->fd, std::move(c));
        }
        returned.clear();
      }
      auto now = Clock::now();
      auto next = now + std::chrono::seconds(1);
      for (auto it = connections.begin(); it != connections.end();) {
        Connection& c = *it->second;
        if (now >= c.deadline) {
          if (c.started && !c.draining) {
            refuse(c, {408, "the request did not arrive in full within " +
                                std::to_string(options.request_timeout_ms) +
                                " ms (request_timeout_ms)"});
          } else {
            closeConnection(c);
            it = connections.erase(it);
            continue;
          }
        }
        next = std::min(next, c.deadline);
        ++it;
      }
      // Pipelined requests that came back with the connection.
      for (auto it = connections.begin(); it != connections.end();) {
        it = advance(it->second) ? std::next(it) : connections.erase(it);
      }
      fds.clear();
      fds.push_back({wake_read, POLLIN, 0});
      fds.push_back({listen_fd, POLLIN, 0});
      for (const auto& [fd, c] : connections) {
        fds.push_back(
            {fd, static_cast<short>(c->tls && c->tls->wantsWrite() ? POLLIN | POLLOUT : POLLIN),
             0});
      }
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
      int ready_count = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long>(wait, 0)));
      if (ready_count <= 0) {
        continue;
      }
      if (fds[0].revents) {
        // A short read has emptied the pipe; only a full one needs another (non-blocking) read.
        char drain[256];
        while (::read(wake_read, drain, sizeof(drain)) == static_cast<ssize_t>(sizeof(drain))) {
        }
      }
      if (fds[1].revents & POLLIN) {
        acceptAll(connections);
      }
      for (std::size_t i = 2; i < fds.size(); ++i) {
        if (!fds[i].revents) {
          continue;
        }
        auto it = connections.find(fds[i].fd);
        if (it == connections.end()) {
          continue;
        }
        if (!readFrom(*it->second)) {
          closeConnection(*it->second);
          connections.erase(it);
          continue;
        }
        if (!advance(it->second)) {
          connections.erase(it);
        }
      }
    }
    // Stopping: nothing new is accepted; connections without a complete request close.
    ::close(listen_fd);
    listen_fd = -1;
    for (auto& [fd, c] : connections) {
      closeConnection(*c);
    }
  }

  void serve(Connection& c) {
    HttpResponse response;
    try {
      Poco::URI uri(c.target);
      c.request.path = uri.getPath();
      for (const auto& [key, value] : uri.getQueryParameters()) {
        c.request.query[key] = value;
      }
      handler(c.request, response);
    } catch (const Poco::SyntaxException& e) {
      response = HttpResponse();
      jsonError(response, 400, "malformed request URI: " + e.displayText());
    } catch (const std::exception& e) {
      response = HttpResponse();
      jsonError(response, 500, std::string("internal error: ") + e.what());
    } catch (...) {
      response = HttpResponse();
      jsonError(response, 500, "internal error");
    }
    bool keep_alive = c.keep_alive && !stopping;
    std::string head = responseHead(response, keep_alive, options.server_name);
    bool sent;
    if (response.body.size() < kReadChunk) {
      sent = sendAll(c.fd, c.tls.get(), head + response.body, options.request_timeout_ms);
    } else {
      sent = sendAll(c.fd, c.tls.get(), head, options.request_timeout_ms) &&
             sendAll(c.fd, c.tls.get(), response.body, options.request_timeout_ms);
    }
    c.keep_alive = sent && keep_alive;
  }

  void runWorker() {
    for (;;) {
      std::unique_ptr<Connection> c;
      {
        std::unique_lock lock(mutex);
        work.wait(lock, [&] { return !ready.empty() || workers_exit; });
        if (ready.empty()) {
          return;
        }
        c = std::move(ready.front());
        ready.pop_front();
      }
      serve(*c);
      if (!c->keep_alive || stopping) {
        closeConnection(*c);
        continue;
      }
      c->nextRequest(options);
      // Only the worker that makes `returned` non-empty wakes the reactor: the reactor takes
      // the whole list each time round, so later ones ride on that wake-up (a syscall and a
      // context switch fewer per request under load).
      bool first_back;
      {
        std::lock_guard lock(mutex);
        first_back = returned.empty();
        returned.push_back(std::move(c));
      }
      if (first_back) {
        wakeReactor();
      }
    }
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
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    return fail(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  state->wake_read = pipe_fds[0];
  state->wake_write = pipe_fds[1];
  state->options = std::move(options);
  state->handler = std::move(handler);
  State* s = state.get();
  try {
    s->reactor = std::thread([s] { s->runReactor(); });
    for (int i = 0; i < s->options.threads; ++i) {
      s->workers.emplace_back([s] { s->runWorker(); });
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
  s.wakeReactor();
  if (s.reactor.joinable()) {
    s.reactor.join();
  }
  {
    std::lock_guard lock(s.mutex);
    s.workers_exit = true;
  }
  s.work.notify_all();
  for (auto& worker : s.workers) {
    if (worker.joinable()) {
      worker.join();
    }
  }
  std::vector<std::unique_ptr<Connection>> left;
  {
    std::lock_guard lock(s.mutex);
    left = std::move(s.returned);
  }
  for (auto& c : left) {
    s.closeConnection(*c);
  }
}

}  // namespace aimass::plugins::frontend
