// SPDX-License-Identifier: Apache-2.0
// HttpServer on its own, over raw sockets on 127.0.0.1: which requests its event loops answer
// and which go to a worker (runs_inline), a handler that blocks, pipelining through a worker,
// stop() while a handler runs, and many connections at once.
#include "http_server.h"

#include <Poco/Exception.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace aimass::plugins::frontend {
namespace {

using ::testing::HasSubstr;

/// How long a test waits for something that should happen at once before it fails (instead
/// of hanging when a bug keeps it from happening).
constexpr auto kPatience = std::chrono::seconds(20);

/// Holds the handlers of /slow requests until the test opens it.
class Gate {
 public:
  /// Called by a handler: counts it in, then waits until open() or kPatience passed (false).
  bool pass() {
    std::unique_lock lock(mutex_);
    ++entered_;
    changed_.notify_all();
    return changed_.wait_for(lock, kPatience + std::chrono::seconds(10), [&] { return open_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  /// Waits until `count` handlers have entered; false after kPatience.
  bool waitEntered(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kPatience, [&] { return entered_ >= count; });
  }
  int entered() {
    std::lock_guard lock(mutex_);
    return entered_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int entered_ = 0;
  bool open_ = false;
};

/// One answer read off a connection.
struct Answer {
  int status = 0;
  std::string head;
  std::string body;
  bool closes() const { return head.find("\r\nConnection: close") != std::string::npos; }
};

/// A client connection speaking raw HTTP/1.1.
class Client {
 public:
  explicit Client(std::uint16_t port) : socket_(Poco::Net::SocketAddress("127.0.0.1", port)) {
    socket_.setReceiveTimeout(Poco::Timespan(static_cast<long>(kPatience.count()), 0));
  }

  void send(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      int n = socket_.sendBytes(bytes.data() + sent, static_cast<int>(bytes.size() - sent));
      ASSERT_GT(n, 0);
      sent += static_cast<std::size_t>(n);
    }
  }

  /// Reads one answer (with a Content-Length); status 0 when the connection ended or nothing
  /// came within kPatience.
  Answer read() {
    Answer answer;
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) {
        return answer;
      }
    }
    answer.head = buffer_.substr(0, end + 2);
    buffer_.erase(0, end + 4);
    auto at = answer.head.find("Content-Length: ");
    const std::size_t length =
        at == std::string::npos ? 0 : std::stoul(answer.head.substr(at + 16));
    while (buffer_.size() < length) {
      if (!fill()) {
        return answer;
      }
    }
    answer.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    answer.status = answer.head.size() > 12 ? std::stoi(answer.head.substr(9, 3)) : 0;
    return answer;
  }

  /// True when the server closed the connection with nothing more to read.
  bool endsNext() { return buffer_.empty() && !fill(); }

 private:
  bool fill() {
    char chunk[16384];
    int n = 0;
    try {
      n = socket_.receiveBytes(chunk, sizeof(chunk));
    } catch (const Poco::Exception&) {
      return false;
    }
    if (n <= 0) {
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  Poco::Net::StreamSocket socket_;
  std::string buffer_;
};

std::string get(const std::string& target, const std::string& connection = "keep-alive") {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\nConnection: " + connection + "\r\n\r\n";
}

std::string post(const std::string& target, const std::string& body) {
  return "POST " + target +
         " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         body;
}

/// A server whose handler answers "/fast" and "/echo" at once and holds "/slow" at a gate;
/// each answer's body names its path, its query parameter `n` and its request body.
class HttpServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    gate_.open();
    if (server_) {
      server_->stop();
    }
  }

  void start(int event_loops, int threads, std::function<bool(const HttpRequest&)> runs_inline) {
    HttpServerOptions options;
    options.event_loops = event_loops;
    options.threads = threads;
    options.runs_inline = std::move(runs_inline);
    auto server =
        HttpServer::start(std::move(options), [this](HttpRequest& request, HttpResponse& response) {
          auto n = request.query.find("n");
          std::string id = n == request.query.end() ? "" : n->second;
          if (request.path == "/slow") {
            if (!gate_.pass()) {
              response.status = 500;
            }
          } else if (request.path != "/fast" && request.path != "/echo") {
            response.status = 404;
          }
          response.content_type = "text/plain";
          response.body = request.path + " " + id + " " + request.body;
          ++handled_;
        });
    ASSERT_TRUE(server.ok()) << server.status().toString();
    server_ = std::move(*server);
  }

  static bool fastOnly(const HttpRequest& request) { return request.path == "/fast"; }

  Gate gate_;
  std::atomic<int> handled_{0};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ABlockingHandlerHoldsAWorkerAndNotTheEventLoop) {
  start(1, 1, fastOnly);
  Client a(server_->port());
  a.send(get("/slow?n=a"));
  ASSERT_TRUE(gate_.waitEntered(1)) << "the /slow handler never ran";
  // The one event loop is free: it reads and answers a request on another connection.
  Client b(server_->port());
  b.send(get("/fast?n=b"));
  Answer fast = b.read();
  EXPECT_EQ(fast.status, 200);
  EXPECT_EQ(fast.body, "/fast b ");
  EXPECT_EQ(gate_.entered(), 1) << "the /slow request is still held";
  gate_.open();
  Answer slow = a.read();
  EXPECT_EQ(slow.status, 200);
  EXPECT_EQ(slow.body, "/slow a ");
  EXPECT_FALSE(slow.closes());
  // Both connections stay usable.
  a.send(get("/fast?n=a2"));
  EXPECT_EQ(a.read().body, "/fast a2 ");
  b.send(get("/slow?n=b2"));
  EXPECT_EQ(b.read().body, "/slow b2 ");
}

TEST_F(HttpServerTest, PipelinedRequestsThroughAWorkerAreAnsweredInOrder) {
  start(1, 1, fastOnly);
  Client c(server_->port());
  // One write: an inline request, two that go to the worker, then inline ones again (which
  // the worker answers, since it holds the connection by then).
  c.send(get("/fast?n=0") + get("/slow?n=1") + post("/slow?n=2", "two") + get("/fast?n=3") +
         post("/echo?n=4", "four"));
  ASSERT_TRUE(gate_.waitEntered(1));
  gate_.open();
  const std::vector<std::string> expected = {"/fast 0 ", "/slow 1 ", "/slow 2 two", "/fast 3 ",
                                             "/echo 4 four"};
  for (const auto& body : expected) {
    Answer answer = c.read();
    EXPECT_EQ(answer.status, 200) << body;
    EXPECT_EQ(answer.body, body);
  }
  EXPECT_EQ(handled_, 5);
  // And the connection goes on after the worker let it go.
  c.send(get("/fast?n=5") + get("/slow?n=6"));
  EXPECT_EQ(c.read().body, "/fast 5 ");
  EXPECT_EQ(c.read().body, "/slow 6 ");
}

TEST_F(HttpServerTest, AnswersTheLoopHoldsBackStayAheadOfLaterOnes) {
  // A loop sends its answers after the batch of events it took (runLoop()); whatever else the
  // connection gets meanwhile, an interim 100 Continue or an error, comes after them.
  start(1, 1, fastOnly);
  Client c(server_->port());
  c.send(get("/fast?n=1") + get("/fast?n=2") +
         "POST /fast?n=3 HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  EXPECT_EQ(c.read().body, "/fast 1 ");
  EXPECT_EQ(c.read().body, "/fast 2 ");
  Answer interim = c.read();
  EXPECT_EQ(interim.status, 100);
  c.send("three");
  EXPECT_EQ(c.read().body, "/fast 3 three");

  Client d(server_->port());
  d.send(get("/fast?n=4") + "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(d.read().body, "/fast 4 ");
  Answer refused = d.read();
  EXPECT_EQ(refused.status, 400);
  EXPECT_THAT(refused.body, HasSubstr("unsupported HTTP version"));
  EXPECT_TRUE(d.endsNext());
}

/// Requests on three connections, some pipelined, some with bodies: all answered correctly.
void exerciseEveryPath(std::uint16_t port) {
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<Client>(port));
  }
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      const std::string n = std::to_string(i) + "." + std::to_string(round);
      clients[i]->send(get("/fast?n=" + n) + post("/slow?n=" + n, "body " + n) +
                       post("/echo?n=" + n, std::string(70000, 'a' + static_cast<char>(i))));
    }
    for (std::size_t i = 0; i < clients.size(); ++i) {
      const std::string n = std::to_string(i) + "." + std::to_string(round);
      EXPECT_EQ(clients[i]->read().body, "/fast " + n + " ");
      EXPECT_EQ(clients[i]->read().body, "/slow " + n + " body " + n);
      EXPECT_EQ(clients[i]->read().body,
                "/echo " + n + " " + std::string(70000, 'a' + static_cast<char>(i)));
    }
  }
  Client last(port);
  last.send(get("/nothing", "close"));
  Answer missing = last.read();
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(missing.closes());
  EXPECT_TRUE(last.endsNext());
}

TEST_F(HttpServerTest, WithoutRunsInlineEveryRequestGoesToAWorker) {
  gate_.open();
  start(1, 2, nullptr);
  exerciseEveryPath(server_->port());
}

TEST_F(HttpServerTest, WhenEveryRequestRunsInlineAllStillWork) {
  gate_.open();
  start(2, 1, [](const HttpRequest&) { return true; });
  exerciseEveryPath(server_->port());
}

TEST_F(HttpServerTest, RunsInlineSeesTheWholeRequest) {
  gate_.open();
  std::mutex mutex;
  std::vector<std::string> seen;
  start(1, 1, [&](const HttpRequest& request) {
    std::lock_guard lock(mutex);
    auto n = request.query.find("n");
    seen.push_back(request.method + " " + request.path + " " +
                   (n == request.query.end() ? "" : n->second) + " " + request.body);
    return request.body.size() < 5;
  });
  Client c(server_->port());
  c.send(post("/echo?n=1", "tiny") + post("/echo?n=2", "longer body"));
  EXPECT_EQ(c.read().body, "/echo 1 tiny");
  EXPECT_EQ(c.read().body, "/echo 2 longer body");
  // The loop answered the first itself and asked again for the second, body and all.
  std::lock_guard lock(mutex);
  EXPECT_EQ(seen, (std::vector<std::string>{"POST /echo 1 tiny", "POST /echo 2 longer body"}));
}

TEST_F(HttpServerTest, StopLetsAHandlerInAWorkerAnswerAndCloses) {
  start(1, 1, fastOnly);
  Client a(server_->port());
  a.send(get("/slow?n=a"));
  ASSERT_TRUE(gate_.waitEntered(1));
  // A second /slow request waits for the one worker, handed to it by the loop: the loop has
  // read it once it answered a request that arrived after it.
  Client b(server_->port());
  b.send(get("/slow?n=b"));
  Client c(server_->port());
  c.send(get("/fast?n=c"));
  ASSERT_EQ(c.read().body, "/fast c ");
  std::atomic<int> handled_when_stopped{-1};
  auto stopping = std::async(std::launch::async, [&] {
    server_->stop();
    handled_when_stopped = handled_.load();
  });
  // stop() has begun once new connections are refused.
  bool refused = false;
  for (int attempt = 0; attempt < 2000 && !refused; ++attempt) {
    try {
      Poco::Net::StreamSocket probe(Poco::Net::SocketAddress("127.0.0.1", server_->port()));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } catch (const Poco::Exception&) {
      refused = true;
    }
  }
  EXPECT_TRUE(refused) << "stop() did not stop accepting";
  gate_.open();
  Answer slow = a.read();
  EXPECT_EQ(slow.status, 200);
  EXPECT_EQ(slow.body, "/slow a ");
  EXPECT_TRUE(slow.closes()) << slow.head;
  EXPECT_TRUE(a.endsNext());
  Answer queued = b.read();
  EXPECT_EQ(queued.status, 200);
  EXPECT_EQ(queued.body, "/slow b ");
  EXPECT_TRUE(queued.closes()) << queued.head;
  EXPECT_TRUE(b.endsNext());
  ASSERT_EQ(stopping.wait_for(kPatience), std::future_status::ready) << "stop() did not return";
  EXPECT_EQ(handled_when_stopped, 3) << "stop() returned before the handlers finished";
  EXPECT_TRUE(c.endsNext()) << "the idle connection is closed";
}

TEST_F(HttpServerTest, ManyConnectionsAtOnceEachGetTheirOwnAnswers) {
  gate_.open();
  // Bodies that are echoed and a third of the requests on workers: two loops, two workers.
  start(2, 2, [](const HttpRequest& request) { return request.path == "/echo"; });
  constexpr int kConnections = 32;
  constexpr int kRequests = 6;
  std::vector<std::future<std::string>> clients;
  for (int c = 0; c < kConnections; ++c) {
    clients.push_back(std::async(std::launch::async, [this, c]() -> std::string {
      try {
        Client client(server_->port());
        for (int r = 0; r < kRequests; ++r) {
          const std::string n = std::to_string(c) + "-" + std::to_string(r);
          const std::string path = r % 3 == 2 ? "/slow" : "/echo";
          // Sizes from a few bytes to beyond one read of the server's.
          const std::string body =
              n + ":" +
              std::string(static_cast<std::size_t>((c * 7919 + r * 104729) % 90000),
                          static_cast<char>('a' + (c + r) % 26));
          client.send(post(path + "?n=" + n, body));
          Answer answer = client.read();
          if (answer.status != 200 || answer.body != path + " " + n + " " + body) {
            return "connection " + std::to_string(c) + " request " + std::to_string(r) +
                   ": status " + std::to_string(answer.status) + ", body starting '" +
                   answer.body.substr(0, 40) + "'";
          }
        }
      } catch (const Poco::Exception& e) {
        return "connection " + std::to_string(c) + ": " + e.displayText();
      }
      return "";
    }));
  }
  for (auto& client : clients) {
    EXPECT_EQ(client.get(), "");
  }
  EXPECT_EQ(handled_, kConnections * kRequests);
}

TEST(HttpServerOptionsTest, AnAddressInUseIsNamed) {
  auto first = HttpServer::start({}, [](HttpRequest&, HttpResponse&) {});
  ASSERT_TRUE(first.ok()) << first.status().toString();
  HttpServerOptions options;
  options.port = (*first)->port();
  auto second = HttpServer::start(options, [](HttpRequest&, HttpResponse&) {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(),
              HasSubstr("cannot listen on 127.0.0.1:" + std::to_string(options.port)));
}

}  // namespace
}  // namespace aimass::plugins::frontend
