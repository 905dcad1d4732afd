// SPDX-License-Identifier: Apache-2.0
// W10's attacker (../shared/BENCHMARKS.md): runs the attack mix against an HTTP server on this
// machine's loopback for a given time while a legitimate client (wrk) measures what the server
// still serves. One thread, one epoll set, non-blocking sockets: the attacker's own CPU is the
// kernel's work of moving its bytes, not its bookkeeping. Not a test.
//
//   attack --port PORT --seconds S --path PATH --body FILE --api-key-file FILE
//          [--host 127.0.0.1] [--linger S]
//
// The mix, each kind on its own connections, reconnected (after 10 ms; 100 ms after a failed
// connect) whenever the server closes one:
//   slow_headers       16  a request line and headers, one byte a second
//   pipeline_no_read    8  SO_RCVBUF 1 KiB before connect; the legitimate request (with the API
//                          key, so the server answers it) pipelined as fast as the socket
//                          takes it; never reads an answer
//   crlf_flood          1  16 MiB of "\r\n" in all, then stays connected, reading
//   unauth_post_64mib   4  POST PATH with Content-Length 64 MiB and no credentials, the body as
//                          fast as the socket takes it; the next one on the same connection
//                          after the last byte
//   chunked_trailers    2  a valid chunked POST (with the key), "0\r\n", then trailer lines
//                          as fast as the socket takes them, without end
//   endless_headers     1  a request line, then header lines without end
//
// Answers are counted by status code (from "HTTP/1.x NNN" in what the server sends). At the
// end it prints one JSON line, {"seconds", "cpu_s", "kinds": {KIND: {...}}}, then, with
// --linger, keeps its connections open and silent for that long (or until it is killed), so a
// server stopped at the end of the attack still has them.
//
// It attacks 127.0.0.0/8 only: any other address is refused.
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::int64_t kPostBodyBytes = std::int64_t{64} << 20;
constexpr std::int64_t kCrlfBytes = std::int64_t{16} << 20;
constexpr int kPipelineReceiveBuffer = 1024;
constexpr auto kReconnectDelay = std::chrono::milliseconds(10);
constexpr auto kFailedConnectDelay = std::chrono::milliseconds(100);
constexpr auto kSlowByteInterval = std::chrono::milliseconds(1000);
constexpr std::size_t kMaxSend = 256 << 10;  // one send() per writable event at most
constexpr int kMaxReceivesPerEvent = 16;     // bounds the work of one readable event

enum class Kind {
  kSlowHeaders,
  kPipelineNoRead,
  kCrlfFlood,
  kUnauthPost,
  kChunkedTrailers,
  kEndlessHeaders
};

struct KindSpec {
  Kind kind;
  const char* name;
  int connections;
};

constexpr KindSpec kMix[] = {
    {Kind::kSlowHeaders, "slow_headers", 16},
    {Kind::kPipelineNoRead, "pipeline_no_read", 8},
    {Kind::kCrlfFlood, "crlf_flood", 1},
    {Kind::kUnauthPost, "unauth_post_64mib", 4},
    {Kind::kChunkedTrailers, "chunked_trailers", 2},
    {Kind::kEndlessHeaders, "endless_headers", 1},
};
constexpr int kKinds = static_cast<int>(std::size(kMix));

/// What one kind sends on a connection, as a position-indexed byte stream: `prefix`, then
/// `repeat` over and over; with `cycle` > 0 the stream starts again from the prefix every
/// `cycle` bytes (the next request on the same connection). `request_bytes` counts complete
/// requests sent (0: not counted).
struct Program {
  std::string prefix;
  std::string repeat;
  std::int64_t cycle = 0;
  std::int64_t request_bytes = 0;

  std::string_view at(std::int64_t position) const {
    std::int64_t p = cycle > 0 ? position % cycle : position;
    std::int64_t left = cycle > 0 ? cycle - p : INT64_MAX;
    std::string_view piece;
    if (p < static_cast<std::int64_t>(prefix.size())) {
      piece = std::string_view(prefix).substr(static_cast<std::size_t>(p));
    } else {
      auto offset = static_cast<std::size_t>((p - static_cast<std::int64_t>(prefix.size())) %
                                             static_cast<std::int64_t>(repeat.size()));
      piece = std::string_view(repeat).substr(offset);
    }
    return piece.substr(0, static_cast<std::size_t>(std::min<std::int64_t>(
                               left, static_cast<std::int64_t>(piece.size()))));
  }
};

struct KindStats {
  std::int64_t connects = 0;          ///< connections established
  std::int64_t connect_failures = 0;  ///< refused or failed connects
  std::int64_t closed = 0;            ///< the server closed the connection (end of stream)
  std::int64_t reset = 0;             ///< the server reset it (ECONNRESET, EPIPE, EPOLLERR)
  std::int64_t bytes_sent = 0;
  std::int64_t bytes_received = 0;
  std::int64_t requests_sent = 0;       ///< complete requests (pipeline_no_read, unauth_post_64mib)
  std::map<int, std::int64_t> answers;  ///< status code -> answers seen
  int open_at_end = 0;
  int blocked_at_end = 0;  ///< open with bytes to send, and the server read none for 200 ms
};

/// Finds "HTTP/1.x NNN" in a byte stream split over reads and counts the status codes.
class StatusScanner {
 public:
  void feed(const char* data, std::size_t size, std::map<int, std::int64_t>& answers) {
    static constexpr std::string_view kPattern = "HTTP/1.# ###";
    for (std::size_t i = 0; i < size; ++i) {
      char c = data[i];
      char want = kPattern[matched_];
      bool ok = want == '#' ? (c >= '0' && c <= '9') : c == want;
      if (!ok) {
        matched_ = c == 'H' ? 1 : 0;
        code_ = 0;
        continue;
      }
      if (matched_ >= 9) {
        code_ = code_ * 10 + (c - '0');
      }
      if (++matched_ == kPattern.size()) {
        ++answers[code_];
        matched_ = 0;
        code_ = 0;
      }
    }
  }
  void reset() { matched_ = 0, code_ = 0; }

 private:
  std::size_t matched_ = 0;
  int code_ = 0;
};

struct Connection {
  int kind = 0;  ///< index into kMix
  int slot = 0;  ///< index among the connections of its kind
  int fd = -1;
  enum class State { kWaiting, kConnecting, kOpen } state = State::kWaiting;
  Clock::time_point next_action{};  ///< kWaiting: when to connect; slow_headers: next byte
  std::int64_t sent = 0;            ///< bytes sent on this connection
  bool wants_write = false;         ///< EPOLLOUT is in its interest set
  StatusScanner scanner;
};

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  double seconds = 10;
  double linger = 0;
  std::string path;
  std::string body;
  std::string api_key;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "attack: %s\nusage: attack --port PORT --seconds S --path PATH --body FILE "
               "--api-key-file FILE [--host 127.0.0.1] [--linger S]\n",
               why.c_str());
  std::exit(2);
}

std::string readFile(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    usage("cannot read " + path);
  }
  std::string text;
  text.resize(limit + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > limit) {
    usage(path + " is larger than " + std::to_string(limit) + " bytes");
  }
  return text;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) {
      usage(flag + " needs a value");
    }
    std::string value = argv[++i];
    char* end = nullptr;
    if (flag == "--host") {
      o.host = value;
    } else if (flag == "--port") {
      long port = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0' || port < 1 || port > 65535) {
        usage("--port must be 1 to 65535");
      }
      o.port = static_cast<int>(port);
    } else if (flag == "--seconds" || flag == "--linger") {
      double s = std::strtod(value.c_str(), &end);
      if (*end != '\0' || !(s >= 0 && s <= 3600)) {
        usage(flag + " must be 0 to 3600");
      }
      (flag == "--seconds" ? o.seconds : o.linger) = s;
    } else if (flag == "--path") {
      if (value.empty() || value[0] != '/' || value.find_first_of(" \r\n") != std::string::npos) {
        usage("--path must start with / and hold no space or line break");
      }
      o.path = value;
    } else if (flag == "--body") {
      o.body = readFile(value, 1 << 20);
    } else if (flag == "--api-key-file") {
      o.api_key = readFile(value, 4096);
      while (!o.api_key.empty() && (o.api_key.back() == '\n' || o.api_key.back() == '\r')) {
        o.api_key.pop_back();
      }
      if (o.api_key.empty() || o.api_key.find_first_of("\r\n") != std::string::npos) {
        usage("the API key file must hold one line");
      }
    } else {
      usage("unknown option " + flag);
    }
  }
  if (o.port == 0 || o.path.empty() || o.body.empty() || o.api_key.empty()) {
    usage("--port, --path, --body and --api-key-file are required");
  }
  return o;
}

std::string requestHead(const Options& o, bool with_key) {
  std::string head = "POST " + o.path + " HTTP/1.1\r\nHost: " + o.host + ":" +
                     std::to_string(o.port) + "\r\nContent-Type: application/json\r\n";
  if (with_key) {
    head += "Authorization: Bearer " + o.api_key + "\r\n";
  }
  return head;
}

/// `count` copies of `line` end to end.
std::string repeated(std::string_view line, std::size_t count) {
  std::string out;
  out.reserve(line.size() * count);
  for (std::size_t i = 0; i < count; ++i) {
    out += line;
  }
  return out;
}

Program programFor(Kind kind, const Options& o) {
  Program p;
  const std::string legitimate = requestHead(o, true) +
                                 "Content-Length: " + std::to_string(o.body.size()) + "\r\n\r\n" +
                                 o.body;
  char size[32];
  std::snprintf(size, sizeof size, "%zx", o.body.size());
  switch (kind) {
    case Kind::kSlowHeaders:
      p.prefix = requestHead(o, false) + "X-Slow: ";
      p.repeat = "a";
      break;
    case Kind::kPipelineNoRead:
      p.repeat = repeated(legitimate, 8);
      p.request_bytes = static_cast<std::int64_t>(legitimate.size());
      break;
    case Kind::kCrlfFlood:
      p.repeat = repeated("\r\n", 32 << 10);
      break;
    case Kind::kUnauthPost:
      p.prefix =
          requestHead(o, false) + "Content-Length: " + std::to_string(kPostBodyBytes) + "\r\n\r\n";
      p.repeat = std::string(kMaxSend, '0');
      p.cycle = static_cast<std::int64_t>(p.prefix.size()) + kPostBodyBytes;
      p.request_bytes = p.cycle;
      break;
    case Kind::kChunkedTrailers:
      p.prefix = requestHead(o, true) + "Transfer-Encoding: chunked\r\n\r\n" + size + "\r\n" +
                 o.body + "\r\n0\r\n";
      p.repeat =
          repeated("X-Trailer: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", 1024);
      break;
    case Kind::kEndlessHeaders:
      p.prefix = requestHead(o, true);
      p.repeat =
          repeated("X-Header: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", 1024);
      break;
  }
  return p;
}

class Attack {
 public:
  Attack(const Options& options, sockaddr_in address)
      : options_(options), address_(address), epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (epoll_ < 0) {
      std::perror("attack: epoll_create1");
      std::exit(1);
    }
    for (int k = 0; k < kKinds; ++k) {
      programs_.push_back(programFor(kMix[k].kind, options));
      for (int slot = 0; slot < kMix[k].connections; ++slot) {
        Connection c;
        c.kind = k;
        c.slot = slot;
        connections_.push_back(c);
      }
    }
    stats_.resize(kKinds);
  }

  void run() {
    const auto start = Clock::now();
    const auto end = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(options_.seconds));
    for (auto& c : connections_) {
      c.next_action = start;
    }
    std::vector<char> buffer(64 << 10);
    epoll_event events[64];
    for (auto now = Clock::now(); now < end; now = Clock::now()) {
      auto wake = end;
      for (auto& c : connections_) {
        if (c.state == Connection::State::kWaiting && c.next_action <= now) {
          connect(c, now);
        } else if (c.state == Connection::State::kOpen && kind(c) == Kind::kSlowHeaders &&
                   c.next_action <= now) {
          if (sendSome(c, 1)) {
            c.next_action = now + kSlowByteInterval;
          }
        }
        if (c.state == Connection::State::kWaiting ||
            (c.state == Connection::State::kOpen && kind(c) == Kind::kSlowHeaders)) {
          wake = std::min(wake, c.next_action);
        }
      }
      auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(wake - Clock::now()).count();
      int ready = ::epoll_wait(epoll_, events, static_cast<int>(std::size(events)),
                               static_cast<int>(std::clamp<std::int64_t>(wait_ms, 0, 100)));
      if (ready < 0 && errno != EINTR) {
        std::perror("attack: epoll_wait");
        std::exit(1);
      }
      for (int i = 0; i < ready; ++i) {
        handle(connections_[events[i].data.u32], events[i].events, buffer);
      }
    }
    seconds_ = std::chrono::duration<double>(Clock::now() - start).count();
  }

  void report() {
    // Nothing is sent any more: a flooding connection whose send queue does not shrink in
    // 200 ms is one the server has stopped reading.
    std::vector<int> queued(connections_.size(), -1);
    for (std::size_t i = 0; i < connections_.size(); ++i) {
      const Connection& c = connections_[i];
      if (c.state == Connection::State::kOpen) {
        ++stats_[c.kind].open_at_end;
        if (c.wants_write) {
          ::ioctl(c.fd, SIOCOUTQ, &queued[i]);
        }
      }
    }
    ::usleep(200000);
    for (std::size_t i = 0; i < connections_.size(); ++i) {
      int now = 0;
      if (queued[i] > 0 && ::ioctl(connections_[i].fd, SIOCOUTQ, &now) == 0 && now >= queued[i]) {
        ++stats_[connections_[i].kind].blocked_at_end;
      }
    }
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                 static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    std::printf("{\"seconds\": %.3f, \"cpu_s\": %.3f, \"kinds\": {", seconds_, cpu);
    for (int k = 0; k < kKinds; ++k) {
      const KindStats& s = stats_[k];
      std::printf(
          "%s\"%s\": {\"connections\": %d, \"connects\": %lld, \"connect_failures\": %lld, "
          "\"closed\": %lld, \"reset\": %lld, \"open_at_end\": %d, \"blocked_at_end\": %d, "
          "\"bytes_sent\": %lld, \"bytes_received\": %lld, \"requests_sent\": %lld, "
          "\"answers\": {",
          k ? ", " : "", kMix[k].name, kMix[k].connections, static_cast<long long>(s.connects),
          static_cast<long long>(s.connect_failures), static_cast<long long>(s.closed),
          static_cast<long long>(s.reset), s.open_at_end, s.blocked_at_end,
          static_cast<long long>(s.bytes_sent), static_cast<long long>(s.bytes_received),
          static_cast<long long>(s.requests_sent));
      bool first = true;
      for (const auto& [code, count] : s.answers) {
        std::printf("%s\"%d\": %lld", first ? "" : ", ", code, static_cast<long long>(count));
        first = false;
      }
      std::printf("}}");
    }
    std::printf("}}\n");
    std::fflush(stdout);
  }

 private:
  Kind kind(const Connection& c) const { return kMix[c.kind].kind; }

  /// Whether the connection has bytes to push as fast as the socket takes them.
  bool floods(const Connection& c) const {
    switch (kind(c)) {
      case Kind::kSlowHeaders:
        return false;
      case Kind::kCrlfFlood:
        return stats_[c.kind].bytes_sent < kCrlfBytes;
      default:
        return true;
    }
  }

  void setInterest(Connection& c, bool write, int op) {
    epoll_event e{};
    // pipeline_no_read never reads: only a full socket's EPOLLOUT, errors and hang-ups.
    e.events = (kind(c) == Kind::kPipelineNoRead ? 0u : EPOLLIN | EPOLLRDHUP) |
               (write ? static_cast<std::uint32_t>(EPOLLOUT) : 0u);
    e.data.u32 = static_cast<std::uint32_t>(&c - connections_.data());
    c.wants_write = write;
    if (::epoll_ctl(epoll_, op, c.fd, &e) != 0) {
      std::perror("attack: epoll_ctl");
      std::exit(1);
    }
  }

  void connect(Connection& c, Clock::time_point now) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      std::perror("attack: socket");
      std::exit(1);
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (kind(c) == Kind::kPipelineNoRead) {
      // Before connect, so the window the server may fill stays small.
      int size = kPipelineReceiveBuffer;
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    c.fd = fd;
    c.sent = 0;
    c.scanner.reset();
    int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address_), sizeof address_);
    if (rc != 0 && errno != EINPROGRESS) {
      ::close(fd);
      c.fd = -1;
      ++stats_[c.kind].connect_failures;
      c.next_action = now + kFailedConnectDelay;
      return;
    }
    c.state = Connection::State::kConnecting;
    epoll_event e{};
    e.events = EPOLLOUT;
    e.data.u32 = static_cast<std::uint32_t>(&c - connections_.data());
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &e) != 0) {
      std::perror("attack: epoll_ctl");
      std::exit(1);
    }
  }

  void connected(Connection& c) {
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      ::epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
      c.fd = -1;
      c.state = Connection::State::kWaiting;
      ++stats_[c.kind].connect_failures;
      c.next_action = Clock::now() + kFailedConnectDelay;
      return;
    }
    c.state = Connection::State::kOpen;
    ++stats_[c.kind].connects;
    // slow_headers: the first byte at once for slot 0, the others spread over the first
    // second so the sixteen do not send in step.
    c.next_action = Clock::now() + c.slot * kSlowByteInterval / kMix[c.kind].connections;
    setInterest(c, floods(c), EPOLL_CTL_MOD);
  }

  void drop(Connection& c, bool reset) {
    ++(reset ? stats_[c.kind].reset : stats_[c.kind].closed);
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
    c.state = Connection::State::kWaiting;
    c.next_action = Clock::now() + kReconnectDelay;
  }

  /// Sends up to `limit` bytes of the connection's program; false when it was dropped.
  bool sendSome(Connection& c, std::size_t limit) {
    const Program& program = programs_[c.kind];
    KindStats& s = stats_[c.kind];
    std::string_view piece = program.at(c.sent).substr(0, limit);
    if (kind(c) == Kind::kCrlfFlood) {
      piece = piece.substr(
          0, static_cast<std::size_t>(std::max<std::int64_t>(0, kCrlfBytes - s.bytes_sent)));
    }
    if (piece.empty()) {
      return true;
    }
    ssize_t n = ::send(c.fd, piece.data(), piece.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        return true;
      }
      drop(c, true);
      return false;
    }
    if (program.request_bytes > 0) {
      s.requests_sent += (c.sent + n) / program.request_bytes - c.sent / program.request_bytes;
    }
    c.sent += n;
    s.bytes_sent += n;
    return true;
  }

  void handle(Connection& c, std::uint32_t events, std::vector<char>& buffer) {
    if (c.state == Connection::State::kConnecting) {
      connected(c);
      return;
    }
    if (c.state != Connection::State::kOpen) {
      return;
    }
    KindStats& s = stats_[c.kind];
    if (events & EPOLLIN) {
      for (int i = 0; i < kMaxReceivesPerEvent; ++i) {
        ssize_t n = ::recv(c.fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (n > 0) {
          s.bytes_received += n;
          c.scanner.feed(buffer.data(), static_cast<std::size_t>(n), s.answers);
          continue;
        }
        if (n == 0) {
          drop(c, false);
          return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          break;
        }
        if (errno != EINTR) {
          drop(c, true);
          return;
        }
      }
    }
    if (events & EPOLLERR) {
      drop(c, true);
      return;
    }
    if ((events & EPOLLHUP) || ((events & EPOLLRDHUP) && !(events & EPOLLIN))) {
      drop(c, false);
      return;
    }
    if ((events & EPOLLOUT) && c.wants_write) {
      if (!sendSome(c, kMaxSend)) {
        return;
      }
      if (!floods(c)) {
        setInterest(c, false, EPOLL_CTL_MOD);  // crlf_flood sent its 16 MiB: stays, reading
      }
    }
  }

  const Options& options_;
  sockaddr_in address_;
  int epoll_;
  std::vector<Program> programs_;
  std::vector<Connection> connections_;
  std::vector<KindStats> stats_;
  double seconds_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options options = parse(argc, argv);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(options.port));
  if (::inet_pton(AF_INET, options.host.c_str(), &address.sin_addr) != 1 ||
      (ntohl(address.sin_addr.s_addr) >> 24) != 127) {
    usage(
        "--host must be an IPv4 loopback address (127.0.0.0/8): this attacks only its own "
        "machine, got '" +
        options.host + "'");
  }
  ::signal(SIGPIPE, SIG_IGN);
  Attack attack(options, address);
  attack.run();
  attack.report();
  if (options.linger > 0) {
    // Connections stay open and silent: the server is stopped with them still there.
    auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(options.linger));
    while (Clock::now() < until) {
      ::usleep(100000);
    }
  }
  return 0;
}
