// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace aimass::plugins::frontend {

/// The limits an HttpRequestParser enforces.
struct HttpParserLimits {
  /// The request line, the header fields and any blank lines before the request line, together;
  /// a chunked body's trailer fields count against the same limit.
  std::int64_t max_header_bytes = 16 << 10;
  /// The body as the handler sees it: Content-Length, or the decoded chunks together.
  std::int64_t max_body_bytes = 64 << 20;
  /// A chunk-size line (size, extensions and CRLF).
  std::size_t max_chunk_line_bytes = 1024;
};

/// Why a request cannot be served: the status and message of the answer, after which the
/// connection is closed.
struct HttpParseError {
  int status = 400;
  std::string message;
};

/// A request's head, as parsed.
struct HttpRequestHead {
  std::string method;
  std::string target;                          ///< as sent: path and query, undecoded
  std::map<std::string, std::string> headers;  ///< names in lower case; repeats joined by ", "
  bool keep_alive = true;
  bool expects_continue = false;  ///< `Expect: 100-continue`
  bool chunked = false;
  std::int64_t content_length = 0;  ///< 0 when chunked
  /// Whether a body follows (a Content-Length above 0, or chunked).
  bool hasBody() const noexcept { return chunked || content_length > 0; }
};

/// An HTTP/1.1 request parser (RFC 9112) with no I/O of its own: bytes go in, requests come out.
/// It owns the buffer bytes are received into, and takes every request from it by offset, so
/// the work is linear in the bytes received whatever they are (a flood of blank lines, a
/// pipeline of small requests, a body arriving a byte at a time); the consumed front of the
/// buffer is dropped once per receive (prepare()), not once per request.
///
/// Use: prepare() a place for the next bytes, write into it, commit() how many arrived; then call
/// next() until it answers kNeedMore or kError:
///   kHead      a request's head is complete (head()); the caller decides whether the body is
///              wanted: if not, discardBody() drops it as it arrives. Reported once per request.
///   kComplete  the whole request is in: head() and body() (empty when discarded); the next
///              call to next() forgets it and goes on with the bytes after it (pipelining).
///   kNeedMore  every byte received so far is used; prepare() and commit() more.
///   kError     the stream is malformed or over a limit (error()); the parser stays there.
///
/// Limits (HttpParserLimits): the head over max_header_bytes is 431, a body over
/// max_body_bytes 413 (from Content-Length at once; a chunked body as soon as the decoded size
/// passes it), a chunk-size line over max_chunk_line_bytes 400, trailers that with the head pass
/// max_header_bytes 431. Malformed is 400: a request line that is not METHOD TARGET HTTP/1.x, a
/// header line without a colon or with white space before it, folded lines, CR, LF or NUL
/// inside a header name or value (RFC 9112 section 5), Content-Length that is not a byte count
/// or differs between repeats, Content-Length together with Transfer-Encoding, a transfer
/// coding other than chunked.
///
/// Memory: the buffer grows to hold one request's head and (unless discarded) body; shrink()
/// gives back a large buffer once it holds little, and clear() wipes it (no earlier request's
/// bytes, credentials included, stay in memory).
///
/// Threading: none; one thread at a time.
class HttpRequestParser {
 public:
  enum class Event { kNeedMore, kHead, kComplete, kError };

  explicit HttpRequestParser(HttpParserLimits limits = {}) : limits_(limits) {}

  /// A place for at least `bytes` more received bytes; compacts the buffer first (moving the
  /// unconsumed rest to its front) when part of it has been consumed.
  char* prepare(std::size_t bytes);
  /// `bytes` were written at prepare()'s pointer.
  void commit(std::size_t bytes) noexcept { end_ += bytes; }
  /// prepare(), copy and commit().
  void append(std::string_view bytes);

  /// Parses what has been received; see the class comment.
  Event next();

  /// The current request's head: valid after kHead until the next request starts. The caller
  /// may move its method and headers out (the flags stay meaningful).
  HttpRequestHead& head() noexcept { return head_; }
  const HttpRequestHead& head() const noexcept { return head_; }
  /// The current request's body after kComplete (moved out by takeBody()).
  std::string& body() noexcept { return body_; }
  /// After kHead: the body will be read and dropped, not kept.
  void discardBody() noexcept { discard_ = true; }
  /// Whether the current request's head has been parsed and its body has not all arrived.
  bool inBody() const noexcept {
    return state_ == State::kBody || state_ == State::kChunkLine || state_ == State::kChunkData ||
           state_ == State::kTrailer;
  }
  /// Whether any byte of a request not yet complete has arrived (an idle keep-alive connection
  /// has none).
  bool started() const noexcept { return state_ != State::kStart || begin_ < end_; }
  const HttpParseError& error() const noexcept { return error_; }

  /// Received bytes not consumed yet.
  std::size_t buffered() const noexcept { return end_ - begin_; }
  /// The buffer's size in memory.
  std::size_t capacity() const noexcept { return buffer_.size(); }
  /// Gives back the buffer's memory when it is larger than `keep` bytes and what it holds fits
  /// in `keep`; the body's too, between requests.
  void shrink(std::size_t keep);
  /// Forgets everything (a new connection): zeroes the bytes received, keeps at most `keep`
  /// bytes of buffer.
  void clear(std::size_t keep);

 private:
  enum class State {
    kStart,
    kHead,
    kBody,
    kChunkLine,
    kChunkData,
    kChunkEnd,
    kTrailer,
    kDone,
    kError
  };

  Event fail(int status, std::string message);
  Event parseHead(std::string_view head);
  Event parseHeaderField(std::string_view field, bool& have_length, std::string& length);
  Event finishHead(bool have_length, const std::string& length);
  Event readBody();
  Event readChunks();
  void startRequest();

  HttpParserLimits limits_;
  std::string buffer_;     ///< received bytes in [begin_, end_); size() is the capacity
  std::size_t begin_ = 0;  ///< first byte not consumed
  std::size_t end_ = 0;    ///< one past the last byte received
  State state_ = State::kStart;
  std::size_t request_start_ = 0;  ///< where the current request began (blank lines included)
  std::size_t scanned_ = 0;        ///< where the search for the end of the head resumes
  std::int64_t head_bytes_ = 0;    ///< head and trailer bytes, against max_header_bytes
  HttpRequestHead head_;
  std::string body_;
  bool discard_ = false;
  std::int64_t body_bytes_ = 0;  ///< body bytes taken (kept or dropped)
  std::int64_t chunk_left_ = 0;  ///< data bytes left in the current chunk
  HttpParseError error_;
};

}  // namespace aimass::plugins::frontend
