// SPDX-License-Identifier: Apache-2.0
// HttpServer against hostile clients, over real sockets on 127.0.0.1: a flood of blank lines,
// clients that pipeline and never read, bodies sent to requests refused on their head, chunked
// framing past its limits, bad bytes in headers, and running out of file descriptors. Each
// test also checks that an ordinary client is still served meanwhile.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http_server.h"

namespace aimass::plugins::frontend {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

/// How long a test waits for an answer that should come at once before it fails.
constexpr auto kPatience = std::chrono::seconds(10);

/// A raw client socket: whatever bytes a test wants, and reads with a deadline.
class RawClient {
 public:
  /// Connects to 127.0.0.1:port; with receive_buffer > 0, the socket's receive buffer is set
  /// that small first (a client that reads slowly, or never).
  explicit RawClient(std::uint16_t port, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (receive_buffer > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }

  /// Sends all of `bytes` (blocking); false when the server closed the connection first.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Sends what the socket takes without waiting, up to `bytes`; how much it took.
  std::size_t sendWhatFits(std::string_view bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n =
          ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n <= 0) {
        break;
      }
      sent += static_cast<std::size_t>(n);
    }
    return sent;
  }

  /// Reads until the buffer holds one whole answer (head and Content-Length body) and returns
  /// it; empty when the connection ended or nothing whole came within `patience`.
  std::string readAnswer(std::chrono::milliseconds patience = kPatience) {
    const auto until = Clock::now() + patience;
    for (;;) {
      auto end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t length = 0;
        auto at = buffer_.find("Content-Length: ");
        if (at != std::string::npos && at < end) {
          length = std::stoul(buffer_.substr(at + 16));
        }
        if (buffer_.size() >= end + 4 + length) {
          std::string answer = buffer_.substr(0, end + 4 + length);
          buffer_.erase(0, end + 4 + length);
          return answer;
        }
      }
      if (!fill(until)) {
        return "";
      }
    }
  }

  /// Whether the server closed the connection (end of stream or reset) within `patience`,
  /// reading and dropping whatever comes before.
  bool closedWithin(std::chrono::milliseconds patience) {
    const auto until = Clock::now() + patience;
    for (;;) {
      buffer_.clear();
      pollfd p{fd_, POLLIN, 0};
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) {
        return false;
      }
      char chunk[65536];
      if (::recv(fd_, chunk, sizeof(chunk), 0) <= 0) {
        return true;
      }
    }
  }

 private:
  bool fill(Clock::time_point until) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    pollfd p{fd_, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) {
      return false;
    }
    char chunk[16384];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) {
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

std::string get(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n";
}

/// A server with one event loop and one worker (so one stalled thread would stall everything):
/// "/small" answers a few bytes, "/big" 64 KiB; the screen refuses "/private" with 401.
class HttpHostileTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (server_) {
      server_->stop();
    }
  }

  void start(HttpServerOptions options = {}) {
    options.event_loops = 1;
    options.threads = 1;
    options.runs_inline = [](const HttpRequest& request) { return request.path != "/worker"; };
    options.screen = [this](HttpRequest& head, HttpResponse& response) {
      ++screened_;
      if (head.path == "/private") {
        jsonError(response, 401, "credentials needed");
        return false;
      }
      return true;
    };
    auto server =
        HttpServer::start(std::move(options), [this](HttpRequest& request, HttpResponse& response) {
          ++handled_;
          response.content_type = "text/plain";
          response.body =
              request.path == "/big" ? std::string(64 * 1024, 'x') : "ok " + request.body;
        });
    ASSERT_TRUE(server.ok()) << server.status().toString();
    server_ = std::move(*server);
  }

  /// An ordinary client gets `count` answers in turn, each within `patience`.
  void expectServed(int count, std::chrono::milliseconds patience = kPatience) {
    RawClient client(server_->port());
    ASSERT_TRUE(client.connected());
    for (int i = 0; i < count; ++i) {
      ASSERT_TRUE(client.send(get(i % 2 ? "/small" : "/worker")));
      std::string answer = client.readAnswer(patience);
      ASSERT_THAT(answer, HasSubstr("200 OK")) << "answer " << i << " did not come in time";
    }
  }

  std::unique_ptr<HttpServer> server_;
  std::atomic<int> handled_{0};
  std::atomic<int> screened_{0};
};

TEST_F(HttpHostileTest, AFloodOfBlankLinesIsRefusedWithoutHoldingTheLoop) {
  start();
  RawClient flood(server_->port());
  ASSERT_TRUE(flood.connected());
  std::string crlf;
  for (int i = 0; i < 8 << 20; ++i) {
    crlf += "\r\n";
  }
  // 16 MiB of blank lines; the server answers 431 once they pass max_header_bytes and then
  // drops what follows (the send fails once it closes).
  std::thread sender([&] { flood.send(crlf); });
  expectServed(20, std::chrono::milliseconds(2000));
  sender.join();
  std::string answer = flood.readAnswer();
  EXPECT_THAT(answer, HasSubstr("431"));
  EXPECT_THAT(answer, HasSubstr("max_header_bytes"));
}

TEST_F(HttpHostileTest, ClientsThatNeverReadTheirAnswersStallNobody) {
  HttpServerOptions options;
  options.request_timeout_ms = 3000;
  start(options);
  // Eight clients with 1 KiB receive buffers pipeline requests for 64 KiB answers and never
  // read: their answers pile up on the server.
  std::vector<std::unique_ptr<RawClient>> silent;
  std::string pipeline;
  for (int i = 0; i < 64; ++i) {
    pipeline += get("/big");
  }
  for (int i = 0; i < 8; ++i) {
    silent.push_back(std::make_unique<RawClient>(server_->port(), 1024));
    ASSERT_TRUE(silent.back()->connected());
    silent.back()->sendWhatFits(pipeline);
  }
  // Everyone else is still served at once, by the loop and by the worker.
  expectServed(20, std::chrono::milliseconds(2000));
  // The silent ones are disconnected once they have taken nothing for request_timeout_ms.
  for (auto& client : silent) {
    EXPECT_TRUE(client->closedWithin(std::chrono::seconds(15)));
  }
}

TEST_F(HttpHostileTest, ARequestRefusedOnItsHeadIsAnsweredBeforeItsBody) {
  start();
  {
    // No `100 Continue` for a request that will not be served, and no body read: the 401 comes
    // while the client has sent only the head of a 64 MiB request.
    RawClient client(server_->port());
    ASSERT_TRUE(
        client.send("POST /private HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                    "Content-Length: 67108864\r\n\r\n"));
    std::string answer = client.readAnswer();
    EXPECT_THAT(answer, HasSubstr("HTTP/1.1 401"));
    EXPECT_THAT(answer, HasSubstr("Connection: close"));
    EXPECT_THAT(answer, HasSubstr("credentials needed"));
  }
  {
    RawClient client(server_->port());
    ASSERT_TRUE(
        client.send("POST /private HTTP/1.1\r\nHost: t\r\nContent-Length: 67108864\r\n\r\n"
                    "some of the body"));
    EXPECT_THAT(client.readAnswer(), HasSubstr("HTTP/1.1 401"));
    // The rest of the body is not wanted: the connection closes rather than waiting for it.
    std::string more(1 << 20, 'b');
    client.send(more);
    EXPECT_TRUE(client.closedWithin(std::chrono::seconds(5)));
  }
  {
    // A refused request without a body keeps its connection.
    RawClient client(server_->port());
    ASSERT_TRUE(client.send(get("/private") + get("/small")));
    EXPECT_THAT(client.readAnswer(), HasSubstr("HTTP/1.1 401"));
    EXPECT_THAT(client.readAnswer(), HasSubstr("200 OK"));
  }
  EXPECT_EQ(handled_, 1) << "the handler ran for a refused request";
  // A request that passes gets its 100 Continue, then its answer.
  RawClient client(server_->port());
  ASSERT_TRUE(
      client.send("POST /small HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                  "Content-Length: 4\r\n\r\n"));
  EXPECT_THAT(client.readAnswer(), HasSubstr("HTTP/1.1 100 Continue"));
  ASSERT_TRUE(client.send("body"));
  EXPECT_THAT(client.readAnswer(), HasSubstr("ok body"));
}

TEST_F(HttpHostileTest, ChunkedFramingIsBounded) {
  HttpServerOptions options;
  options.max_header_bytes = 4096;
  options.max_body_bytes = 1000;
  start(options);
  const std::string head = "POST /small HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  {
    RawClient client(server_->port());
    std::string trailers = head + "1\r\na\r\n0\r\n";
    for (int i = 0; i < 10000; ++i) {
      trailers += "X-Endless: trailer line\r\n";
    }
    client.send(trailers);
    EXPECT_THAT(client.readAnswer(), HasSubstr("431"));
  }
  {
    RawClient client(server_->port());
    client.send(head + "1;" + std::string(100000, 'e'));
    EXPECT_THAT(client.readAnswer(), HasSubstr("400"));
  }
  {
    RawClient client(server_->port());
    client.send(head + "200\r\n" + std::string(512, 'a') + "\r\n200\r\n" + std::string(512, 'a'));
    EXPECT_THAT(client.readAnswer(), HasSubstr("413"));
  }
  expectServed(2);
}

TEST_F(HttpHostileTest, CrLfOrNulInAHeaderIs400) {
  start();
  for (std::string bad : {std::string("GET /small HTTP/1.1\r\nX: a\nb\r\n\r\n"),
                          std::string("GET /small HTTP/1.1\r\nX: a\rb\r\n\r\n"),
                          std::string("GET /small HTTP/1.1\r\nX: a") + '\0' + "b\r\n\r\n"}) {
    RawClient client(server_->port());
    client.send(bad);
    EXPECT_THAT(client.readAnswer(), HasSubstr("400 Bad Request"));
  }
  EXPECT_EQ(handled_, 0);
}

/// Runs in a child process (whose descriptor table is its own, a copy of the parent's): frees
/// the descriptors `taken`, connects and exits 0 when the server answers 503, 1 otherwise.
[[noreturn]] void childExpects503(std::uint16_t port, const std::vector<int>& taken) {
  for (int fd : taken) {
    ::close(fd);
  }
  RawClient client(port);
  if (!client.connected()) {
    ::_exit(2);
  }
  ::_exit(client.readAnswer().find("503") != std::string::npos ? 0 : 1);
}

double cpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

TEST_F(HttpHostileTest, OutOfDescriptorsTheListenerAnswers503AndDoesNotSpin) {
  start();
  // This process runs out of descriptors: the limit is lowered to a few more than are open,
  // and those few are taken.
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  int highest = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(highest, 0);
  ::close(highest);
  rlimit lowered = saved;
  lowered.rlim_cur = static_cast<rlim_t>(highest) + 8;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  std::vector<int> taken;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) {
    taken.push_back(fd);
  }
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    childExpects503(server_->port(), taken);
  }
  // Meanwhile the loop must not spin on a listener it cannot serve.
  const double cpu_before = cpuSeconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  const double cpu_used = cpuSeconds() - cpu_before;
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  for (int fd : taken) {
    ::close(fd);
  }
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the client got no 503 while the server was out of descriptors";
  EXPECT_LT(cpu_used, 0.5) << "the server used " << cpu_used << " s of CPU in 1 s doing nothing";
  expectServed(2);
}

}  // namespace
}  // namespace aimass::plugins::frontend
