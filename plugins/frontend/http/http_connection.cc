// SPDX-License-Identifier: Apache-2.0
#include "http_connection.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/URI.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <utility>

namespace aimass::plugins::frontend {
namespace {

/// sendmsg() takes up to this many queued parts at a time.
constexpr int kMaxSendParts = 16;
/// A connection keeps a receive buffer up to this size between requests (a larger one, left by
/// a large request, is given back) ...
constexpr std::size_t kKeptBufferBytes = 64 << 10;
/// ... and its request body's buffer up to this size.
constexpr std::size_t kKeptBodyBytes = 256 << 10;

std::string reasonFor(int status) {
  return Poco::Net::HTTPResponse::getReasonForStatus(
      static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
}

}  // namespace

std::string errorBody(std::string_view message) {
  return "{\"error\":\"" + jsonEscape(message) + "\"}";
}

std::string responseHead(const HttpResponse& response, bool keep_alive,
                         const std::string& server_name) {
  std::string head;
  head.reserve(160 + server_name.size() + response.content_type.size());
  head.append("HTTP/1.1 ").append(std::to_string(response.status)).append(" ");
  head.append(reasonFor(response.status)).append("\r\nServer: ").append(server_name);
  if (!response.content_type.empty()) {
    head.append("\r\nContent-Type: ").append(response.content_type);
  }
  // A 304 has no content, and its Content-Length would have to be the full representation's
  // (RFC 9110, 8.6): none is sent.
  if (response.status != 304) {
    head.append("\r\nContent-Length: ").append(std::to_string(response.body.size()));
  }
  head.append(keep_alive ? "\r\nConnection: keep-alive" : "\r\nConnection: close");
  for (const auto& [name, value] : response.headers) {
    head.append("\r\n").append(name).append(": ").append(value);
  }
  head.append("\r\n\r\n");
  return head;
}

bool readTarget(const std::string& target, HttpRequest& request, HttpResponse& response) {
  // The common case, a plain path (no query, no escapes), needs no URI parser.
  const bool plain = !target.empty() && target.front() == '/' &&
                     std::all_of(target.begin(), target.end(), [](char ch) {
                       return std::isalnum(static_cast<unsigned char>(ch)) || ch == '/' ||
                              ch == '-' || ch == '_' || ch == '.' || ch == '~';
                     });
  if (plain) {
    request.path = target;
    return true;
  }
  try {
    Poco::URI uri(target);
    request.path = uri.getPath();
    for (const auto& [key, value] : uri.getQueryParameters()) {
      request.query[key] = value;
    }
    return true;
  } catch (const Poco::SyntaxException& e) {
    jsonError(response, 400, "malformed request URI: " + e.displayText());
  } catch (const std::exception& e) {
    jsonError(response, 400, std::string("malformed request URI: ") + e.what());
  }
  return false;
}

bool OutputQueue::send(int fd, TlsSession* tls) {
  while (bytes_ > 0) {
    ssize_t n;
    if (tls) {
      const std::string& part = parts_[first_];
      n = tls->send(part.data() + offset_, part.size() - offset_);
    } else {
      iovec io[kMaxSendParts];
      int count = 0;
      for (std::size_t i = first_; i < parts_.size() && count < kMaxSendParts; ++i, ++count) {
        const std::size_t skip = i == first_ ? offset_ : 0;
        io[count] = {parts_[i].data() + skip, parts_[i].size() - skip};
      }
      msghdr message{};
      message.msg_iov = io;
      message.msg_iovlen = static_cast<std::size_t>(count);
      n = ::sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    if (n > 0) {
      consume(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
  }
  return true;
}

void OutputQueue::consume(std::size_t n) {
  bytes_ -= n;
  while (n > 0) {
    const std::size_t left = parts_[first_].size() - offset_;
    if (n < left) {
      offset_ += n;
      return;
    }
    n -= left;
    parts_[first_] = std::string();  // a large answer's memory goes at once
    ++first_;
    offset_ = 0;
  }
  if (first_ == parts_.size()) {
    parts_.clear();
    first_ = 0;
  } else if (first_ >= 64 && first_ * 2 >= parts_.size()) {
    // A client reading slowly while answers keep coming: drop the sent slots now and then.
    parts_.erase(parts_.begin(), parts_.begin() + static_cast<std::ptrdiff_t>(first_));
    first_ = 0;
  }
}

void Connection::reset(int socket, std::unique_ptr<TlsSession> session, Clock::time_point until) {
  fd = socket;
  tls = std::move(session);
  draining = closing = broken = more_input = hold = false;
  drained = 0;
  startRequest();
  deadline = until;
}

void Connection::nextRequest(const HttpServerOptions& options) {
  std::string body = std::move(request.body);
  startRequest();
  if (body.capacity() <= kKeptBodyBytes) {
    body.clear();
    parser.body().swap(body);
  }
  parser.shrink(kKeptBufferBytes);
  deadline =
      Clock::now() + std::chrono::milliseconds(parser.buffered() > 0 ? options.request_timeout_ms
                                                                     : options.idle_timeout_ms);
}

void Connection::startRequest() {
  request = HttpRequest();
  keep_alive = true;
  continue_sent = false;
  refused_head = false;
}

void Connection::wipe() {
  parser.clear(kKeptBufferBytes);
  request = HttpRequest();
  out.clear();
  tls.reset();
}

}  // namespace aimass::plugins::frontend
