// SPDX-License-Identifier: Apache-2.0
#include "http_request_parser.h"

#include <string.h>  // explicit_bzero

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

#include "http_field_text.h"

namespace aimass::plugins::frontend {
namespace {

/// A tchar of RFC 9110 section 5.6.2: what header names and methods are made of.
bool isTokenChar(unsigned char ch) {
  if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) {
    return true;
  }
  return std::strchr("!#$%&'*+-.^_`|~", ch) != nullptr && ch != '\0';
}

/// CR, LF or NUL: never allowed inside a field (RFC 9112 section 5, RFC 9110 section 5.5).
bool hasForbiddenByte(std::string_view s) {
  for (char ch : s) {
    if (ch == '\r' || ch == '\n' || ch == '\0') {
      return true;
    }
  }
  return false;
}

/// A few bytes of client input for an error message, with anything unprintable as '?'.
std::string excerpt(std::string_view s, std::size_t limit) {
  std::string out(s.substr(0, limit));
  for (char& ch : out) {
    auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u >= 0x7f) {
      ch = '?';
    }
  }
  return out;
}

/// Where "\r\n" starts in [from, to) of `data`, or `to`.
std::size_t findLineEnd(const char* data, std::size_t from, std::size_t to) {
  while (from + 1 < to) {
    const void* cr = std::memchr(data + from, '\r', to - from - 1);
    if (cr == nullptr) {
      return to;
    }
    auto at = static_cast<std::size_t>(static_cast<const char*>(cr) - data);
    if (data[at + 1] == '\n') {
      return at;
    }
    from = at + 1;
  }
  return to;
}

std::string tooLargeHead(std::int64_t limit) {
  return "the request line and headers are larger than the limit of " + std::to_string(limit) +
         " bytes (max_header_bytes)";
}

std::string tooLargeBody(std::int64_t limit) {
  return "the request body is larger than the limit of " + std::to_string(limit) +
         " bytes (max_body_bytes)";
}

}  // namespace

char* HttpRequestParser::prepare(std::size_t bytes) {
  if (begin_ > 0) {
    // Once per receive: the consumed front goes, whatever number of requests it held.
    const std::size_t kept = end_ - begin_;
    if (kept > 0) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, kept);
    }
    request_start_ -= std::min(request_start_, begin_);
    scanned_ -= std::min(scanned_, begin_);
    end_ = kept;
    begin_ = 0;
  }
  if (buffer_.size() - end_ < bytes) {
    buffer_.resize(std::max(buffer_.size() * 2, end_ + bytes));
  }
  return buffer_.data() + end_;
}

void HttpRequestParser::append(std::string_view bytes) {
  std::memcpy(prepare(bytes.size()), bytes.data(), bytes.size());
  commit(bytes.size());
}

HttpRequestParser::Event HttpRequestParser::fail(int status, std::string message) {
  state_ = State::kError;
  error_ = {status, std::move(message)};
  return Event::kError;
}

void HttpRequestParser::startRequest() {
  state_ = State::kStart;
  head_ = HttpRequestHead();
  body_.clear();
  discard_ = false;
  body_bytes_ = 0;
  chunk_left_ = 0;
  head_bytes_ = 0;
  if (begin_ == end_) {
    begin_ = end_ = 0;  // nothing pipelined: the next receive starts at the front for free
  }
}

HttpRequestParser::Event HttpRequestParser::next() {
  if (state_ == State::kDone) {
    startRequest();
  }
  const char* data = buffer_.data();
  switch (state_) {
    case State::kStart:
      // Blank lines before a request line are ignored (RFC 9112 section 2.2); they count
      // against the head's limit, so a flood of them is refused after max_header_bytes.
      while (end_ - begin_ >= 2 && data[begin_] == '\r' && data[begin_ + 1] == '\n') {
        begin_ += 2;
        head_bytes_ += 2;
      }
      if (head_bytes_ > limits_.max_header_bytes) {
        return fail(431, tooLargeHead(limits_.max_header_bytes));
      }
      if (begin_ == end_ || (end_ - begin_ == 1 && data[begin_] == '\r')) {
        return Event::kNeedMore;
      }
      state_ = State::kHead;
      request_start_ = scanned_ = begin_;
      [[fallthrough]];
    case State::kHead: {
      const std::size_t from = std::max(request_start_, scanned_ >= 3 ? scanned_ - 3 : 0);
      const std::string_view received(data + from, end_ - from);
      const auto found = received.find("\r\n\r\n");
      if (found == std::string_view::npos) {
        scanned_ = end_;
        if (head_bytes_ + static_cast<std::int64_t>(end_ - request_start_) >
            limits_.max_header_bytes) {
          return fail(431, tooLargeHead(limits_.max_header_bytes));
        }
        return Event::kNeedMore;
      }
      const std::size_t head_end = from + found;
      head_bytes_ += static_cast<std::int64_t>(head_end + 4 - request_start_);
      if (head_bytes_ > limits_.max_header_bytes) {
        return fail(431, tooLargeHead(limits_.max_header_bytes));
      }
      if (Event bad = parseHead(std::string_view(data + request_start_, head_end - request_start_));
          bad == Event::kError) {
        return bad;
      }
      begin_ = scanned_ = head_end + 4;
      // (With no body, the next call reports the request complete: readBody() of 0 bytes.)
      state_ = head_.chunked ? State::kChunkLine : State::kBody;
      return Event::kHead;
    }
    case State::kBody:
      return readBody();
    case State::kChunkLine:
    case State::kChunkData:
    case State::kChunkEnd:
    case State::kTrailer:
      return readChunks();
    case State::kDone:  // (handled above)
    case State::kError:
      return Event::kError;
  }
  return Event::kError;
}

HttpRequestParser::Event HttpRequestParser::parseHead(std::string_view head) {
  const auto line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const auto first_space = line.find(' ');
  const auto last_space = line.rfind(' ');
  if (first_space == std::string_view::npos || first_space == last_space || first_space == 0) {
    return fail(400, "malformed request line (expected METHOD TARGET HTTP/1.1)");
  }
  const std::string_view version = line.substr(last_space + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return fail(400, "unsupported HTTP version '" + excerpt(version, 16) + "' (use HTTP/1.1)");
  }
  const std::string_view method = line.substr(0, first_space);
  for (char ch : method) {
    if (!isTokenChar(static_cast<unsigned char>(ch))) {
      return fail(400, "malformed request method");
    }
  }
  const std::string_view target =
      trimSpaces(line.substr(first_space + 1, last_space - first_space - 1));
  if (target.empty()) {
    return fail(400, "malformed request target");
  }
  for (char ch : target) {
    auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u == 0x7f) {
      return fail(400, "malformed request target");
    }
  }
  head_.method = std::string(method);
  head_.target = std::string(target);
  const bool http10 = version == "HTTP/1.0";
  std::string_view rest =
      line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
  bool have_length = false;
  std::string length;
  while (!rest.empty()) {
    const auto end = rest.find("\r\n");
    const std::string_view field = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    if (parseHeaderField(field, have_length, length) == Event::kError) {
      return Event::kError;
    }
  }
  const auto& headers = head_.headers;
  const auto connection = headers.find("connection");
  const std::string tokens = connection == headers.end() ? "" : lowerCase(connection->second);
  head_.keep_alive = http10 ? tokens.find("keep-alive") != std::string::npos
                            : tokens.find("close") == std::string::npos;
  const auto expect = headers.find("expect");
  head_.expects_continue = expect != headers.end() && lowerCase(expect->second) == "100-continue";
  return finishHead(have_length, length);
}

HttpRequestParser::Event HttpRequestParser::parseHeaderField(std::string_view field,
                                                             bool& have_length,
                                                             std::string& length) {
  if (field.empty()) {
    return Event::kHead;
  }
  if (field.front() == ' ' || field.front() == '\t') {
    return fail(400, "folded header lines are not accepted");
  }
  if (hasForbiddenByte(field)) {
    return fail(400, "a header line holds a CR, LF or NUL byte");
  }
  const auto colon = field.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return fail(400, "malformed header line '" + excerpt(field, 40) + "'");
  }
  for (char ch : field.substr(0, colon)) {
    if (!isTokenChar(static_cast<unsigned char>(ch))) {
      return fail(400, "malformed header line '" + excerpt(field, 40) + "'");
    }
  }
  std::string name = lowerCase(field.substr(0, colon));
  std::string value(trimSpaces(field.substr(colon + 1)));
  if (name == "content-length") {
    if (have_length && length != value) {
      return fail(400, "conflicting Content-Length headers");
    }
    have_length = true;
    length = value;
  }
  auto [it, inserted] = head_.headers.emplace(std::move(name), value);
  if (!inserted && it->first != "content-length") {
    it->second.append(", ").append(value);
  }
  return Event::kHead;
}

HttpRequestParser::Event HttpRequestParser::finishHead(bool have_length,
                                                       const std::string& length) {
  const auto& headers = head_.headers;
  if (auto te = headers.find("transfer-encoding"); te != headers.end()) {
    if (lowerCase(trimSpaces(te->second)) != "chunked") {
      return fail(400, "Transfer-Encoding '" + excerpt(te->second, 40) +
                           "' is not supported (only chunked)");
    }
    if (have_length) {
      return fail(400, "a request may not have both Content-Length and Transfer-Encoding");
    }
    head_.chunked = true;
  } else if (have_length) {
    std::int64_t value = -1;
    auto [ptr, error] = std::from_chars(length.data(), length.data() + length.size(), value);
    if (length.empty() || error != std::errc() || ptr != length.data() + length.size() ||
        value < 0) {
      return fail(400, "Content-Length must be a byte count, not '" + excerpt(length, 40) + "'");
    }
    head_.content_length = value;
  }
  if (head_.content_length > limits_.max_body_bytes) {
    return fail(413, tooLargeBody(limits_.max_body_bytes));
  }
  return Event::kHead;
}

HttpRequestParser::Event HttpRequestParser::readBody() {
  const auto left = static_cast<std::size_t>(head_.content_length - body_bytes_);
  const std::size_t take = std::min(left, end_ - begin_);
  if (!discard_) {
    body_.append(buffer_.data() + begin_, take);
  }
  begin_ += take;
  body_bytes_ += static_cast<std::int64_t>(take);
  if (body_bytes_ < head_.content_length) {
    return Event::kNeedMore;
  }
  state_ = State::kDone;
  return Event::kComplete;
}

HttpRequestParser::Event HttpRequestParser::readChunks() {
  const char* data = buffer_.data();
  for (;;) {
    switch (state_) {
      case State::kChunkLine: {
        const std::size_t eol = findLineEnd(data, std::max(scanned_, begin_), end_);
        if (eol == end_) {
          scanned_ = end_ > begin_ ? end_ - 1 : begin_;  // a CR at the end may start the CRLF
          if (end_ - begin_ > limits_.max_chunk_line_bytes) {
            return fail(400, "malformed chunked body: a chunk-size line is longer than " +
                                 std::to_string(limits_.max_chunk_line_bytes) + " bytes");
          }
          return Event::kNeedMore;
        }
        const std::string_view line(data + begin_, eol - begin_);
        if (line.size() + 2 > limits_.max_chunk_line_bytes) {
          return fail(400, "malformed chunked body: a chunk-size line is longer than " +
                               std::to_string(limits_.max_chunk_line_bytes) + " bytes");
        }
        const std::string_view digits = trimSpaces(line.substr(0, line.find(';')));
        std::uint64_t size = 0;
        auto [ptr, error] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
        if (digits.empty() || digits.size() > 15 || error != std::errc() ||
            ptr != digits.data() + digits.size() || hasForbiddenByte(line)) {
          return fail(400, "malformed chunked body: bad chunk size '" + excerpt(line, 20) + "'");
        }
        begin_ = scanned_ = eol + 2;
        if (size == 0) {
          state_ = State::kTrailer;
          break;
        }
        if (body_bytes_ + static_cast<std::int64_t>(size) > limits_.max_body_bytes) {
          return fail(413, tooLargeBody(limits_.max_body_bytes));
        }
        chunk_left_ = static_cast<std::int64_t>(size);
        state_ = State::kChunkData;
        break;
      }
      case State::kChunkData: {
        const std::size_t take = std::min(static_cast<std::size_t>(chunk_left_), end_ - begin_);
        if (!discard_) {
          body_.append(data + begin_, take);
        }
        begin_ += take;
        chunk_left_ -= static_cast<std::int64_t>(take);
        body_bytes_ += static_cast<std::int64_t>(take);
        if (chunk_left_ > 0) {
          return Event::kNeedMore;
        }
        state_ = State::kChunkEnd;
        break;
      }
      case State::kChunkEnd:
        if (end_ - begin_ < 2) {
          return Event::kNeedMore;
        }
        if (data[begin_] != '\r' || data[begin_ + 1] != '\n') {
          return fail(400, "malformed chunked body: a chunk is longer than its size");
        }
        begin_ = scanned_ = begin_ + 2;
        state_ = State::kChunkLine;
        break;
      case State::kTrailer: {
        // Trailer fields are read and ignored; they count against the head's limit.
        const std::size_t eol = findLineEnd(data, std::max(scanned_, begin_), end_);
        if (eol == end_) {
          scanned_ = end_ > begin_ ? end_ - 1 : begin_;
          if (head_bytes_ + static_cast<std::int64_t>(end_ - begin_) > limits_.max_header_bytes) {
            return fail(431, tooLargeHead(limits_.max_header_bytes));
          }
          return Event::kNeedMore;
        }
        head_bytes_ += static_cast<std::int64_t>(eol + 2 - begin_);
        if (head_bytes_ > limits_.max_header_bytes) {
          return fail(431, tooLargeHead(limits_.max_header_bytes));
        }
        const std::string_view line(data + begin_, eol - begin_);
        begin_ = scanned_ = eol + 2;
        if (line.empty()) {
          state_ = State::kDone;
          return Event::kComplete;
        }
        if (hasForbiddenByte(line) || line.find(':') == std::string_view::npos) {
          return fail(400, "malformed chunked body: bad trailer line '" + excerpt(line, 40) + "'");
        }
        break;
      }
      default:
        return Event::kError;
    }
  }
}

void HttpRequestParser::shrink(std::size_t keep) {
  if (buffer_.size() > keep && end_ - begin_ <= keep) {
    std::string smaller(keep, '\0');
    std::memcpy(smaller.data(), buffer_.data() + begin_, end_ - begin_);
    request_start_ -= std::min(request_start_, begin_);
    scanned_ -= std::min(scanned_, begin_);
    end_ -= begin_;
    begin_ = 0;
    buffer_.swap(smaller);
  }
  if (body_.capacity() > keep && !inBody()) {
    std::string().swap(body_);
  }
}

void HttpRequestParser::clear(std::size_t keep) {
  // Credentials and bodies of the last client are wiped, not just forgotten: a pooled parser
  // serves the next connection.
  ::explicit_bzero(buffer_.data(), buffer_.size());
  ::explicit_bzero(body_.data(), body_.size());
  begin_ = end_ = 0;
  state_ = State::kStart;
  request_start_ = scanned_ = 0;
  head_ = HttpRequestHead();
  body_.clear();
  discard_ = false;
  body_bytes_ = chunk_left_ = head_bytes_ = 0;
  error_ = {};
  shrink(keep);
}

}  // namespace aimass::plugins::frontend
