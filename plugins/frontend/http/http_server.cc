// SPDX-License-Identifier: Apache-2.0
#include "http_server.h"

#include <Poco/Net/HTTPResponse.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "http_connection.h"
#include "http_request_parser.h"

namespace aimass::plugins::frontend {
namespace {

using Clock = std::chrono::steady_clock;

/// After an error response, the rest of the request is read and dropped, up to this much and
/// for at most kDrainMilliseconds, so the client sees the answer rather than a reset.
constexpr std::int64_t kDrainLimitBytes = 1 << 20;
constexpr int kDrainMilliseconds = 2000;
/// How often the timer looks for connections past their deadline.
constexpr int kTimerMilliseconds = 25;
/// One receive takes up to this much ...
constexpr std::size_t kReadChunk = 64 * 1024;

/// ... and one turn on a connection up to this much: a client that sends without pause is then
/// queued again behind the loop's other connections rather than keeping the loop to itself.
constexpr std::size_t kReadPerTurn = 4 * kReadChunk;
/// Answers a connection's client has not read yet: past this much, none of its further requests
/// are read or answered until it reads (so a client that pipelines and never reads costs this
/// much memory and no more).
constexpr std::size_t kMaxUnsentBytes = 256 << 10;
/// The stream of the request this thread's handler answers (HttpStream::current()).
thread_local HttpStream* t_stream = nullptr;
/// An event loop takes up to this many events from one epoll_wait (runLoop()).
constexpr int kLoopEvents = 32;
/// ... lets other threads have its core after every this many of them ...
constexpr int kYieldEvents = 8;
/// ... and sends the answers it holds once the oldest has waited this long.
constexpr auto kHoldLimit = std::chrono::microseconds(1000);
/// Descriptors left for everything but connections (storage, logs, model files, the spare).
constexpr rlim_t kReservedDescriptors = 64;
/// How long the listener rests when accept() fails for want of descriptors and no spare is left.
constexpr int kAcceptPauseMilliseconds = 100;
/// stop() sends the answers still queued for up to this long before it closes their connections.
constexpr int kStopFlushMilliseconds = 1000;

/// What became of a connection its holder advanced.
enum class Next {
  kKeep,       ///< waits for the client; the holder re-arms and releases it
  kClose,      ///< finished with; the holder closes it
  kHandedOff,  ///< a worker holds it now, with a request whose handler may block
};

}  // namespace

struct HttpServer::State {
  HttpServerOptions options;
  HttpParserLimits limits;
  HttpHandler handler;
  int listen_fd = -1;
  /// The epoll set every event loop waits on: the listening socket, the stop event and each
  /// connection (edge-triggered or one-shot, Connection::edge), so that each event goes to one
  /// loop; one that finds the connection held leaves it to the holder (claim()).
  int epoll = -1;
  int stop_fd = -1;  ///< an eventfd, readable once stop() began: wakes every loop
  /// Kept open so that, when accept() fails for want of descriptors, one can be freed to take
  /// the waiting connection, answer it 503 and close it, rather than leave it to wake every
  /// loop again at once (acceptAll()).
  int spare_fd = -1;
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

  std::mutex registry;                            ///< guards the five below
  std::vector<std::unique_ptr<Connection>> pool;  ///< never shrinks while the server runs
  std::vector<Connection*> free_list;
  int open = 0;  ///< connections accepted and not closed
  /// Set while the listener is out of the epoll set (out of descriptors); the timer puts it back.
  std::optional<Clock::time_point> accept_paused_until;
  Clock::time_point last_descriptor_warning;

  ~State() {
    for (int fd : {listen_fd, stop_fd, epoll, spare_fd}) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  }

  void log(LogLevel level, std::string message) const {
    if (options.log) {
      options.log(level, std::move(message));
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

  /// What the connection's epoll entry waits for (see Connection::edge). A one-shot entry waits
  /// only to write while the client has more answers unread than kMaxUnsentBytes (it is not
  /// read then, and a readable socket would wake it again at once).
  static std::uint32_t wanted(const Connection& c) {
    if (c.edge) {
      return EPOLLIN | EPOLLOUT | EPOLLET;
    }
    const bool writing = !c.out.empty() || (c.tls && c.tls->wantsWrite());
    if (c.out.bytes() > kMaxUnsentBytes) {
      return EPOLLOUT | EPOLLONESHOT;
    }
    return EPOLLIN | EPOLLONESHOT | (writing ? EPOLLOUT : 0u);
  }

  /// Registers the entry anew, which reports the connection again at once if it is ready: for
  /// an event spent on a failed claim, or input left for a later turn. Its holder only.
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
    c.wipe();
    c.claim.store(kFree);
    free_list.push_back(&c);
    --open;
  }

  void closeConnection(Connection& c) {
    std::lock_guard lock(registry);
    closeLocked(c);
  }

  /// Sends what the connection's socket takes now, without waiting; once an answer that ends
  /// the connection is out, shuts it for writing and starts draining. Marks it broken when
  /// writing failed.
  void sendOutput(Connection& c) {
    if (c.tls && !c.tls->established()) {
      c.out.clear();  // no channel yet: writing would run the handshake instead
    }
    if (!c.out.empty()) {
      const std::size_t before = c.out.bytes();
      if (!c.out.send(c.fd, c.tls.get())) {
        c.broken = true;
        return;
      }
      // The client has until the deadline to take more; each time it does, the deadline moves.
      if (!c.out.empty() && (c.out.bytes() < before || c.write_deadline == Clock::time_point())) {
        c.write_deadline = Clock::now() + std::chrono::milliseconds(options.request_timeout_ms);
      }
    }
    if (c.out.empty()) {
      c.write_deadline = Clock::time_point();
      if (c.closing && !c.draining) {
        if (c.tls) {
          c.tls->close();
        }
        ::shutdown(c.fd, SHUT_WR);
        c.draining = true;
        c.deadline = Clock::now() + std::chrono::milliseconds(kDrainMilliseconds);
      }
    }
  }

  /// Queues an answer behind what the connection was sent before, and sends it unless the loop
  /// holds the connection's answers for its batch. Without keep-alive the connection closes
  /// after it.
  void answer(Connection& c, const HttpResponse& response, bool keep_alive) {
    std::string head = responseHead(response, keep_alive, options.server_name);
    if (c.tls && response.body.size() < kReadChunk) {
      head.append(response.body);  // one TLS record
      c.out.push(std::move(head));
    } else {
      c.out.push(std::move(head));
      c.out.push(response.body);
    }
    c.keep_alive = keep_alive;
    if (!keep_alive) {
      c.closing = true;
    }
    if (!c.hold) {
      sendOutput(c);
    }
  }

  /// Answers with a JSON error and closes the connection after it (draining what the client
  /// still sends, so that it sees the answer rather than a reset).
  void refuse(Connection& c, int status, std::string_view message) {
    HttpResponse response;
    response.status = status;
    response.body = errorBody(message);
    answer(c, response, false);
  }

  /// Answers `Expect: 100-continue` once, when the body has not arrived yet; only for requests
  /// that passed the screen.
  void sendContinue(Connection& c) {
    if (c.continue_sent || !c.parser.head().expects_continue) {
      return;
    }
    c.continue_sent = true;
    c.out.push("HTTP/1.1 100 Continue\r\n\r\n");
    if (!c.hold) {
      sendOutput(c);
    }
  }

  /// A request's head is in: fills c.request (method, path, query, headers) and lets
  /// options.screen refuse it before its body is read. A refused request is answered at once;
  /// its body, if it has one, is not read: the connection closes after the answer (draining).
  void onHead(Connection& c) {
    HttpRequestHead& head = c.parser.head();
    c.keep_alive = head.keep_alive;
    c.request.method = std::move(head.method);
    c.request.headers = std::move(head.headers);
    HttpResponse refusal;
    bool served = readTarget(head.target, c.request, refusal);
    if (served && options.screen) {
      try {
        served = options.screen(c.request, refusal);
      } catch (const std::exception& e) {
        refusal = HttpResponse();
        jsonError(refusal, 500, std::string("internal error: ") + e.what());
        served = false;
      } catch (...) {
        refusal = HttpResponse();
        jsonError(refusal, 500, "internal error");
        served = false;
      }
    }
    if (served) {
      return;
    }
    c.refused_head = true;
    if (head.hasBody()) {
      c.parser.discardBody();
    }
    answer(c, refusal, c.keep_alive && !head.hasBody() && !stopping);
  }

  /// Reads what the socket has, up to kReadPerTurn. False when the connection is finished with
  /// (the client closed it, it failed, or draining read enough).
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
    std::size_t taken = 0;
    while (taken < kReadPerTurn) {
      // Draining drops bytes unread, so TLS records need no decrypting then.
      ssize_t n = c.tls && !c.draining ? c.tls->receive(buffer, sizeof(buffer))
                                       : ::recv(c.fd, buffer, sizeof(buffer), 0);
      if (n > 0) {
        taken += static_cast<std::size_t>(n);
        if (c.draining) {
          c.drained += n;
          if (c.drained > kDrainLimitBytes) {
            return false;
          }
          continue;
        }
        if (!c.parser.started()) {
          c.deadline = Clock::now() + std::chrono::milliseconds(options.request_timeout_ms);
        }
        c.parser.append(std::string_view(buffer, static_cast<std::size_t>(n)));
        if (static_cast<std::size_t>(n) < sizeof(buffer)) {
          return true;  // nothing more for now; the next bytes bring a new event
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
    c.more_input = true;  // the rest waits for a later turn (settle())
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
        refuse(c, 400,
               "this port speaks HTTPS (TLS is configured), but the request came in plain HTTP; "
               "use https://");
        return !c.broken;
      case TlsSession::Step::kFailed:
        break;
    }
    return false;
  }

  /// Sends what is queued, reads what has arrived and answers every complete request in it on
  /// this thread, except that an event loop (`on_loop`) hands a request that
  /// options.runs_inline() does not accept to the workers (with the connection). Reads nothing
  /// while the client has more than kMaxUnsentBytes of answers unread.
  Next advance(Connection& c, bool on_loop) {
    if (!c.out.empty()) {
      sendOutput(c);
    }
    if (c.broken) {
      return Next::kClose;
    }
    if (c.out.bytes() > kMaxUnsentBytes) {
      return Next::kKeep;  // an event comes when the socket takes more
    }
    if (!readFrom(c)) {
      return Next::kClose;
    }
    return process(c, on_loop);
  }

  /// Answers the complete requests already read (see advance()).
  Next process(Connection& c, bool on_loop) {
    for (;;) {
      if (c.broken) {
        return Next::kClose;
      }
      if (c.draining || c.closing) {
        return Next::kKeep;
      }
      if (c.out.bytes() > kMaxUnsentBytes) {
        c.more_input = true;  // pipelined requests wait until the client reads its answers
        return Next::kKeep;
      }
      switch (c.parser.next()) {
        case HttpRequestParser::Event::kNeedMore:
          if (c.parser.inBody() && !c.refused_head) {
            sendContinue(c);
          }
          return c.broken ? Next::kClose : Next::kKeep;
        case HttpRequestParser::Event::kError:
          refuse(c, c.parser.error().status, c.parser.error().message);
          continue;
        case HttpRequestParser::Event::kHead:
          onHead(c);
          continue;
        case HttpRequestParser::Event::kComplete:
          if (c.refused_head) {  // answered from its head
            c.nextRequest(options);
            continue;
          }
          c.request.body.swap(c.parser.body());
          if (on_loop && !(options.runs_inline && options.runs_inline(c.request))) {
            c.hold = false;
            sendOutput(c);  // what the loop held for this connection goes first
            handOff(c);
            return Next::kHandedOff;
          }
          serve(c, !on_loop);
          if (c.closing) {
            continue;  // (returns above)
          }
          c.nextRequest(options);  // and pipelined bytes are parsed at once
          continue;
      }
    }
  }

  /// HttpStream over a connection a worker holds.
  class ConnectionStream final : public HttpStream {
   public:
    ConnectionStream(State& state, Connection& c) : state_(state), c_(c) {}

    bool start(const HttpResponse& head) override {
      if (started_) {
        return false;
      }
      started_ = true;
      const std::string reason = Poco::Net::HTTPResponse::getReasonForStatus(
          static_cast<Poco::Net::HTTPResponse::HTTPStatus>(head.status));
      std::string text = "HTTP/1.1 " + std::to_string(head.status) + " " + reason +
                         "\r\nServer: " + state_.options.server_name +
                         "\r\nContent-Type: " + head.content_type +
                         "\r\nTransfer-Encoding: chunked\r\nCache-Control: no-cache";
      const bool keep = c_.keep_alive && !state_.stopping;
      text += keep ? "\r\nConnection: keep-alive" : "\r\nConnection: close";
      for (const auto& [name, value] : head.headers) {
        text.append("\r\n").append(name).append(": ").append(value);
      }
      text += "\r\n\r\n";
      c_.keep_alive = keep;
      return push(std::move(text));
    }

    bool write(std::string_view data) override {
      if (!started_ || data.empty()) {
        return started_ && !c_.broken;
      }
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", data.size());
      std::string chunk(size);
      chunk.append(data).append("\r\n");
      return push(std::move(chunk));
    }

    bool started() const noexcept override { return started_; }

    /// Ends a started stream: the last chunk, and `Connection: close` handling as answer().
    void finish() {
      if (!c_.broken) {
        push("0\r\n\r\n");
      }
      if (!c_.keep_alive || c_.broken) {
        c_.closing = true;
        if (!c_.broken) {
          state_.sendOutput(c_);
        }
      }
    }

   private:
    /// Queues `text` and sends; waits while too much is unsent (see HttpStream).
    bool push(std::string text) {
      if (c_.broken) {
        return false;
      }
      c_.out.push(std::move(text));
      state_.sendOutput(c_);
      while (!c_.broken && c_.out.bytes() > kMaxUnsentBytes) {
        pollfd p{};
        p.fd = c_.fd;
        p.events = POLLOUT;
        const int ready = ::poll(&p, 1, state_.options.request_timeout_ms);
        if (ready <= 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
          c_.broken = true;  // the client took nothing for request_timeout_ms, or is gone
          break;
        }
        state_.sendOutput(c_);
      }
      if (!c_.broken) {  // a client that closed or reset its side wants no more
        pollfd p{};
        p.fd = c_.fd;
        p.events = POLLRDHUP;
        if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLERR | POLLHUP)) != 0) {
          c_.broken = true;
        }
      }
      return !c_.broken;
    }

    State& state_;
    Connection& c_;
    bool started_ = false;
  };

  /// Runs the handler for c's complete request and queues the answer; on a worker
  /// (`may_stream`) the handler may stream it instead (HttpStream).
  void serve(Connection& c, bool may_stream) {
    HttpResponse response;
    std::optional<ConnectionStream> stream;
    if (may_stream) {
      stream.emplace(*this, c);
      t_stream = &*stream;
    }
    struct Reset {
      ~Reset() { t_stream = nullptr; }
    } reset;
    try {
      handler(c.request, response);
    } catch (const std::exception& e) {
      response = HttpResponse();
      jsonError(response, 500, std::string("internal error: ") + e.what());
    } catch (...) {
      response = HttpResponse();
      jsonError(response, 500, "internal error");
    }
    if (stream && stream->started()) {
      stream->finish();
      return;
    }
    answer(c, response, c.keep_alive && !stopping);
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
  /// on with it when an event came meanwhile). Input left for later queues it again behind the
  /// other connections.
  void settle(Connection& c, Next next, bool on_loop) {
    for (;;) {
      if (next == Next::kHandedOff) {
        return;
      }
      if (next == Next::kClose || c.broken) {
        closeConnection(c);
        return;
      }
      if (c.more_input && c.out.bytes() <= kMaxUnsentBytes) {
        c.more_input = false;
        raise(c);
      } else {
        arm(c);
      }
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
      serve(*c, true);
      Next next = Next::kKeep;
      if (!c->closing) {
        c->nextRequest(options);
        next = process(*c, false);
      }
      settle(*c, next, false);
    }
  }

  /// Says, at most once a minute, that connections are being refused for want of descriptors.
  void warnDescriptors(const char* what) {
    const auto now = Clock::now();
    {
      std::lock_guard lock(registry);
      if (last_descriptor_warning != Clock::time_point() &&
          now - last_descriptor_warning < std::chrono::minutes(1)) {
        return;
      }
      last_descriptor_warning = now;
    }
    log(LogLevel::kWarning,
        std::string("out of file descriptors (") + what +
            "): new connections are answered 503 and closed; lower max_connections or raise the "
            "open-file limit");
  }

  /// accept() failed with EMFILE or ENFILE. Frees the spare descriptor to take the waiting
  /// connection, answers it 503 and closes it, then takes the spare back; with no spare to
  /// free, takes the listener out of the epoll set for kAcceptPauseMilliseconds (the timer puts
  /// it back). Either way the loops do not spin on a listener they cannot serve. False when the
  /// listener was paused.
  bool refuseForWantOfDescriptors(int error) {
    warnDescriptors(error == EMFILE ? "EMFILE" : "ENFILE");
    if (spare_fd >= 0) {
      ::close(spare_fd);
      spare_fd = -1;
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        HttpResponse response;
        response.status = 503;
        response.body = errorBody("the server is out of file descriptors; try again later");
        const std::string data = responseHead(response, false, options.server_name) + response.body;
        [[maybe_unused]] auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        ::close(fd);
      }
      spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd >= 0 && spare_fd >= 0) {
        return true;
      }
    }
    std::lock_guard lock(registry);
    if (!accept_paused_until) {
      ::epoll_ctl(epoll, EPOLL_CTL_DEL, listen_fd, nullptr);
      accept_paused_until = Clock::now() + std::chrono::milliseconds(kAcceptPauseMilliseconds);
    }
    return false;
  }

  /// Puts the listener back once its pause is over (timer thread; `registry` locked).
  void resumeAcceptingLocked(Clock::time_point now) {
    if (!accept_paused_until || now < *accept_paused_until || stopping) {
      return;
    }
    accept_paused_until.reset();
    if (spare_fd < 0) {
      spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = &listen_tag;
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, listen_fd, &event);
  }

  void acceptAll() {
    for (;;) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) {
          continue;
        }
        if ((errno == EMFILE || errno == ENFILE) && refuseForWantOfDescriptors(errno)) {
          continue;
        }
        break;  // EAGAIN: no more
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
          pool.push_back(std::make_unique<Connection>(limits));
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
      if (full && c->tls) {
        closeConnection(*c);  // no channel for a 503 before the handshake
        continue;
      }
      if (full) {
        refuse(*c, 503,
               "the server has " + std::to_string(options.max_connections) +
                   " connections open (max_connections); try again later");
      }
      c->missed.store(false);
      c->edge = !c->tls;
      epoll_event event{};
      event.events = wanted(*c);
      event.data.ptr = c;
      if (c->broken || ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0) {
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
  /// error, a worker's answer) goes after it: every write goes through the connection's one
  /// output queue.
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
        Connection& c = *held[k];
        c.hold = false;
        sendOutput(c);
        settle(c, nexts[k], true);
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
          c->hold = !c->tls;
          Next next = advance(*c, true);
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

  /// Every kTimerMilliseconds: answers 408 to requests not complete in time, closes
  /// connections whose client has not taken any of its waiting answers by the write deadline,
  /// and closes idle, drained and handshaking connections past their deadline; puts a paused
  /// listener back. Connections a thread holds (being read or answered) are skipped until the
  /// next round.
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
      resumeAcceptingLocked(now);
      for (auto& owned : pool) {
        Connection& c = *owned;
        int idle = kIdle;
        if (!c.claim.compare_exchange_strong(idle, kBusy)) {
          continue;
        }
        if (!c.out.empty() ? now >= c.write_deadline
                           : now >= c.deadline && (c.draining || !c.parser.started())) {
          closeLocked(c);  // not reading its answers; drained; idle; or handshaking too long
          continue;
        }
        const bool late = c.out.empty() && now >= c.deadline;
        if (late) {  // (a request begun and not complete)
          refuse(c, 408,
                 "the request did not arrive in full within " +
                     std::to_string(options.request_timeout_ms) + " ms (request_timeout_ms)");
          if (c.broken) {
            closeLocked(c);
            continue;
          }
          arm(c);
        }
        while (release(c)) {
          raise(c);  // its event was spent on a loop's failed claim
        }
      }
    }
  }

  /// stop(): sends the answers still queued, waiting up to kStopFlushMilliseconds in all for
  /// clients to take them. Every thread but the caller has exited.
  void flushAtStop() {
    const auto until = Clock::now() + std::chrono::milliseconds(kStopFlushMilliseconds);
    for (;;) {
      std::vector<pollfd> waiting;
      for (auto& c : pool) {
        if (c->fd < 0 || c->out.empty() || c->broken) {
          continue;
        }
        sendOutput(*c);
        if (!c->out.empty() && !c->broken) {
          waiting.push_back({c->fd, POLLOUT, 0});
        }
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (waiting.empty() || left <= 0) {
        return;
      }
      ::poll(waiting.data(), waiting.size(), static_cast<int>(std::min<long long>(left, 50)));
    }
  }
};

namespace {

/// Raises the open-file limit to its hard limit and returns how many connections it leaves
/// room for (kReservedDescriptors kept for everything else); says what it did through `log`.
int connectionsTheDescriptorLimitAllows(int wanted,
                                        const std::function<void(LogLevel, std::string)>& log) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return wanted;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      if (log) {
        log(LogLevel::kInfo, "raised the open-file limit (RLIMIT_NOFILE) from " +
                                 std::to_string(limit.rlim_cur) + " to its hard limit " +
                                 std::to_string(raised.rlim_cur));
      }
      limit = raised;
    }
  }
  if (limit.rlim_cur == RLIM_INFINITY) {
    return wanted;
  }
  const rlim_t room = limit.rlim_cur > kReservedDescriptors * 2
                          ? limit.rlim_cur - kReservedDescriptors
                          : limit.rlim_cur / 2;
  if (static_cast<rlim_t>(wanted) <= room) {
    return wanted;
  }
  const int allowed = static_cast<int>(std::max<rlim_t>(room, 1));
  if (log) {
    log(LogLevel::kWarning, "max_connections " + std::to_string(wanted) +
                                " is more than the open-file limit " +
                                std::to_string(limit.rlim_cur) + " leaves room for (" +
                                std::to_string(kReservedDescriptors) +
                                " descriptors are kept for the rest): serving at most " +
                                std::to_string(allowed) + " connections");
  }
  return allowed;
}

}  // namespace

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
  state->spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (options.event_loops <= 0) {
    options.event_loops = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  options.threads = std::max(options.threads, 1);
  options.max_connections =
      connectionsTheDescriptorLimitAllows(options.max_connections, options.log);
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
  state->limits.max_header_bytes = options.max_header_bytes;
  state->limits.max_body_bytes = options.max_body_bytes;
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

int HttpServer::maxConnections() const noexcept { return state_->options.max_connections; }

HttpStream* HttpStream::current() noexcept { return t_stream; }

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
  s.flushAtStop();
  std::lock_guard lock(s.registry);
  for (auto& c : s.pool) {
    if (c->fd >= 0) {
      s.closeLocked(*c);
    }
  }
}

}  // namespace aimass::plugins::frontend
