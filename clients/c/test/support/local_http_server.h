// SPDX-License-Identifier: Apache-2.0
// A tiny HTTP/1.1 server on 127.0.0.1 (a free port) for the client tests that need answers a
// real aimass does not give on demand: 503s, slow answers. A thread per connection (keep-alive);
// every request is recorded; the handler may run on several threads at once. Stopped, and every
// thread joined, by the destructor.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace aimass::client::testing {

struct SeenRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

struct Reply {
  Reply(int s = 200, std::string b = "{}", std::chrono::milliseconds d = {},
        std::map<std::string, std::string> h = {}, bool c = false)
      : status(s), body(std::move(b)), delay(d), headers(std::move(h)), close(c) {}

  int status;
  std::string body;
  std::chrono::milliseconds delay;  // before answering
  std::map<std::string, std::string> headers;
  bool close;  // close the connection after answering, without saying so (an idle timeout)
};

class LocalHttpServer {
 public:
  using Handler = std::function<Reply(const SeenRequest&)>;

  explicit LocalHttpServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    listen(listen_fd_, 8);
    socklen_t length = sizeof address;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~LocalHttpServer() {
    stop_ = true;
    thread_.join();
    for (auto& t : connection_threads_) {
      t.join();
    }
    close(listen_fd_);
  }
  LocalHttpServer(const LocalHttpServer&) = delete;
  LocalHttpServer& operator=(const LocalHttpServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<SeenRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  /// Connections accepted so far.
  int connections() const { return connections_; }

 private:
  bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 20) > 0;
  }

  void run() {
    while (!stop_) {
      if (!readable(listen_fd_)) {
        continue;
      }
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) {
        continue;
      }
      ++connections_;
      connection_threads_.emplace_back([this, fd] {
        serve(fd);
        close(fd);
      });
    }
  }

  // Serves requests on `fd` until the peer closes or the server stops.
  void serve(int fd) {
    std::string buffer;
    while (!stop_) {
      std::size_t end = buffer.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (!readable(fd)) {
          continue;
        }
        char chunk[4096];
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0) {
          return;
        }
        buffer.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      SeenRequest request = parseHead(buffer.substr(0, end));
      std::size_t length = 0;
      if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
        length = std::stoul(it->second);
      }
      while (buffer.size() < end + 4 + length && !stop_) {
        char chunk[4096];
        if (!readable(fd)) {
          continue;
        }
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0) {
          return;
        }
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
      request.body = buffer.substr(end + 4, length);
      buffer.erase(0, end + 4 + length);
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      Reply reply;
      {
        std::lock_guard lock(handler_mutex_);
        reply = handler_(request);
      }
      std::this_thread::sleep_for(reply.delay);
      std::string out =
          "HTTP/1.1 " + std::to_string(reply.status) + " X\r\n" +
          "Content-Type: application/json\r\nContent-Length: " + std::to_string(reply.body.size()) +
          "\r\n";
      for (const auto& [name, value] : reply.headers) {
        out += name + ": " + value + "\r\n";
      }
      out += "\r\n" + reply.body;
      if (send(fd, out.data(), out.size(), MSG_NOSIGNAL) < 0 || reply.close) {
        return;
      }
    }
  }

  static SeenRequest parseHead(const std::string& head) {
    SeenRequest request;
    std::size_t line_end = head.find("\r\n");
    std::string first = head.substr(0, line_end);
    std::size_t space = first.find(' ');
    request.method = first.substr(0, space);
    request.path = first.substr(space + 1, first.rfind(' ') - space - 1);
    std::size_t at = line_end == std::string::npos ? head.size() : line_end + 2;
    while (at < head.size()) {
      std::size_t next = head.find("\r\n", at);
      std::string line = head.substr(at, next == std::string::npos ? std::string::npos : next - at);
      std::size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        std::size_t value = line.find_first_not_of(' ', colon + 1);
        request.headers[name] = value == std::string::npos ? "" : line.substr(value);
      }
      at = next == std::string::npos ? head.size() : next + 2;
    }
    return request;
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mutex_;
  std::mutex handler_mutex_;                     // handlers keep plain counters
  std::vector<std::thread> connection_threads_;  // only the accepting thread touches it
  std::vector<SeenRequest> requests_;
  std::thread thread_;
};

}  // namespace aimass::client::testing
