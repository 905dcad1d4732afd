// SPDX-License-Identifier: Apache-2.0
// HttpRequestParser on its own: requests, pipelining, chunked bodies and their limits, header
// hygiene, memory given back, and the same outcome however the stream is split.
#include "http_request_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aimass::plugins::frontend {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

/// What the parser reported, one line an event: "head METHOD TARGET name=value;...",
/// "complete BODY", "error STATUS MESSAGE"; then "end idle" or "end partial".
std::vector<std::string> parseInPieces(std::string_view stream,
                                       const std::vector<std::size_t>& cuts,
                                       HttpParserLimits limits = {}) {
  HttpRequestParser parser(limits);
  std::vector<std::string> events;
  std::size_t at = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(stream.size());
  for (std::size_t end : ends) {
    parser.append(stream.substr(at, end - at));
    at = end;
    for (;;) {
      auto event = parser.next();
      if (event == HttpRequestParser::Event::kNeedMore) {
        break;
      }
      if (event == HttpRequestParser::Event::kError) {
        events.push_back("error " + std::to_string(parser.error().status) + " " +
                         parser.error().message);
        return events;
      }
      if (event == HttpRequestParser::Event::kHead) {
        const auto& head = parser.head();
        std::string line = "head " + head.method + " " + head.target;
        for (const auto& [name, value] : head.headers) {
          line += " " + name + "=" + value + ";";
        }
        line += head.keep_alive ? " keep-alive" : " close";
        events.push_back(line);
      } else {
        events.push_back("complete " + parser.body());
      }
    }
  }
  events.push_back(parser.started() ? "end partial" : "end idle");
  return events;
}

std::vector<std::string> parse(std::string_view stream, HttpParserLimits limits = {}) {
  return parseInPieces(stream, {}, limits);
}

TEST(HttpRequestParserTest, ARequestWithAndWithoutABody) {
  EXPECT_THAT(parse("GET /v2 HTTP/1.1\r\nHost: a\r\n\r\n"),
              ElementsAre("head GET /v2 host=a; keep-alive", "complete ", "end idle"));
  EXPECT_THAT(parse("POST /x?y=1 HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"),
              ElementsAre("head POST /x?y=1 connection=close; content-length=5; close",
                          "complete hello", "end idle"));
  EXPECT_THAT(parse("GET / HTTP/1.0\r\n\r\n"),
              ElementsAre("head GET / close", "complete ", "end idle"));
}

TEST(HttpRequestParserTest, PipelinedRequestsComeOutInOrder) {
  EXPECT_THAT(
      parse("GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /c "),
      ElementsAre("head GET /a keep-alive", "complete ",
                  "head POST /b content-length=2; keep-alive", "complete hi", "end partial"));
}

TEST(HttpRequestParserTest, RepeatedHeadersAreJoinedAndNamesLowerCased) {
  EXPECT_THAT(parse("GET / HTTP/1.1\r\nX-A: 1\r\nx-a:  2 \r\n\r\n"),
              ElementsAre("head GET / x-a=1, 2; keep-alive", "complete ", "end idle"));
}

TEST(HttpRequestParserTest, ChunkedBodiesAreDecodedAndTrailersIgnored) {
  EXPECT_THAT(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\nX-Trailer: yes\r\n\r\n"),
              ElementsAre("head POST / transfer-encoding=chunked; keep-alive", "complete hello!",
                          "end idle"));
}

TEST(HttpRequestParserTest, BlankLinesBeforeARequestAreIgnoredUpToTheHeadLimit) {
  EXPECT_THAT(parse("\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
              ElementsAre("head GET / keep-alive", "complete ", "end idle"));
  // A flood of them: refused as soon as they pass the limit, whatever follows.
  HttpParserLimits limits;
  limits.max_header_bytes = 1024;
  HttpRequestParser parser(limits);
  const std::string flood(64 * 1024, '\n');
  std::string crlf;
  for (int i = 0; i < 32 * 1024; ++i) {
    crlf += "\r\n";
  }
  parser.append(crlf);
  EXPECT_EQ(parser.next(), HttpRequestParser::Event::kError);
  EXPECT_EQ(parser.error().status, 431);
  EXPECT_THAT(parser.error().message, HasSubstr("max_header_bytes"));
}

TEST(HttpRequestParserTest, MalformedHeadsAre400) {
  auto status = [](std::string_view head) {
    auto events = parse(head);
    return events.front().substr(0, 9);
  };
  EXPECT_EQ(status("GET /\r\n\r\n"), "error 400");
  EXPECT_EQ(status("GET / HTTP/2.0\r\n\r\n"), "error 400");
  EXPECT_EQ(status("G(T / HTTP/1.1\r\n\r\n"), "error 400");
  EXPECT_EQ(status("GET / HTTP/1.1\r\nNo colon\r\n\r\n"), "error 400");
  EXPECT_EQ(status("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"), "error 400");
  EXPECT_EQ(status("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n"), "error 400");
  EXPECT_EQ(status("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            "error 400");
  EXPECT_EQ(status("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), "error 400");
  EXPECT_EQ(status("GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            "error 400");
  EXPECT_EQ(status("GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"), "error 400");
}

TEST(HttpRequestParserTest, CrLfOrNulInsideAHeaderIs400) {
#define AIMASS_BYTES(literal) std::string_view(literal, sizeof(literal) - 1)
  for (std::string_view bad : {AIMASS_BYTES("GET / HTTP/1.1\r\nX: a\nb\r\n\r\n"),
                               AIMASS_BYTES("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"),
                               AIMASS_BYTES("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n"),
                               AIMASS_BYTES("GET / HTTP/1.1\r\nX\0Y: a\r\n\r\n"),
                               AIMASS_BYTES("GET /a\0b HTTP/1.1\r\n\r\n")}) {
#undef AIMASS_BYTES
    auto events = parse(bad);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.front().substr(0, 9), "error 400") << events.front();
  }
}

TEST(HttpRequestParserTest, TheHeadLimitIs431) {
  HttpParserLimits limits;
  limits.max_header_bytes = 100;
  EXPECT_THAT(parse("GET / HTTP/1.1\r\nX: " + std::string(200, 'a') + "\r\n\r\n", limits).front(),
              HasSubstr("error 431"));
  // Incomplete: refused as soon as it is too long, without waiting for its end.
  EXPECT_THAT(parse("GET / HTTP/1.1\r\nX: " + std::string(200, 'a'), limits).front(),
              HasSubstr("error 431"));
}

TEST(HttpRequestParserTest, ChunkedLimits) {
  HttpParserLimits limits;
  limits.max_header_bytes = 200;
  limits.max_body_bytes = 10;
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  // A chunk-size line over 1 KiB, complete or not.
  EXPECT_THAT(parse(head + "1;" + std::string(2000, 'x') + "\r\n", limits).back(),
              HasSubstr("error 400"));
  EXPECT_THAT(parse(head + "1;" + std::string(2000, 'x'), limits).back(), HasSubstr("error 400"));
  // Decoded size past max_body_bytes, in one chunk or several.
  EXPECT_THAT(parse(head + "b\r\n", limits).back(), HasSubstr("error 413"));
  EXPECT_THAT(parse(head + "6\r\nabcdef\r\n6\r\n", limits).back(), HasSubstr("error 413"));
  // Trailers count against the head's limit: endless ones end in 431.
  std::string trailers = head + "0\r\n";
  for (int i = 0; i < 100; ++i) {
    trailers += "X-T: 1\r\n";
  }
  EXPECT_THAT(parse(trailers, limits).back(), HasSubstr("error 431"));
  // A chunk longer than its size.
  EXPECT_THAT(parse(head + "2\r\nabc\r\n", limits).back(), HasSubstr("error 400"));
}

TEST(HttpRequestParserTest, ContentLengthOverTheBodyLimitIs413AtTheHead) {
  HttpParserLimits limits;
  limits.max_body_bytes = 100;
  EXPECT_THAT(parse("POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", limits).front(),
              HasSubstr("error 413"));
}

TEST(HttpRequestParserTest, ADiscardedBodyIsDroppedAsItArrives) {
  HttpRequestParser parser;
  parser.append("POST / HTTP/1.1\r\nContent-Length: 10485760\r\n\r\n");
  ASSERT_EQ(parser.next(), HttpRequestParser::Event::kHead);
  parser.discardBody();
  const std::string piece(64 * 1024, 'x');
  for (int i = 0; i < 160; ++i) {
    parser.append(piece);
    ASSERT_EQ(parser.next(), i + 1 < 160 ? HttpRequestParser::Event::kNeedMore
                                         : HttpRequestParser::Event::kComplete);
    EXPECT_LE(parser.capacity(), 256u * 1024);  // never the body's size
  }
  EXPECT_TRUE(parser.body().empty());
}

TEST(HttpRequestParserTest, MemoryIsGivenBackAndWiped) {
  HttpRequestParser parser;
  const std::string body(1 << 20, 'b');
  parser.append("POST / HTTP/1.1\r\nAuthorization: Bearer secret\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
  ASSERT_EQ(parser.next(), HttpRequestParser::Event::kHead);
  ASSERT_EQ(parser.next(), HttpRequestParser::Event::kComplete);
  EXPECT_GE(parser.capacity(), body.size());
  parser.shrink(64 << 10);
  EXPECT_LE(parser.capacity(), 64u << 10);
  parser.append("GET / HTTP/1.1\r\nAuthorization: Bearer other\r\n\r\n");
  parser.clear(16 << 10);
  EXPECT_EQ(parser.buffered(), 0u);
  EXPECT_FALSE(parser.started());
  EXPECT_TRUE(parser.head().headers.empty());
  EXPECT_LE(parser.capacity(), 64u << 10);
}

TEST(HttpRequestParserTest, ErrorsAreFinal) {
  HttpRequestParser parser;
  parser.append("BAD\r\n\r\nGET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(parser.next(), HttpRequestParser::Event::kError);
  EXPECT_EQ(parser.next(), HttpRequestParser::Event::kError);
}

/// Streams that together reach every state of the parser.
const std::vector<std::string>& differentialStreams() {
  static const std::vector<std::string> streams = {
      "\r\nGET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Y: 1\r\n\r\n"
      "POST /p HTTP/1.1\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\nhello world"
      "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n10;x=y\r\n"
      "0123456789abcdef\r\n0\r\nT: 1\r\n\r\n"
      "GET /last HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
      "GET / HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\nX: a\rb\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcdX\r\n",
      "GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET",
  };
  return streams;
}

TEST(HttpRequestParserTest, TheSameRequestsWhereverTheStreamIsSplit) {
  HttpParserLimits limits;
  limits.max_header_bytes = 4096;
  for (const auto& stream : differentialStreams()) {
    const auto whole = parse(stream, limits);
    for (std::size_t cut = 1; cut < stream.size(); ++cut) {
      EXPECT_EQ(parseInPieces(stream, {cut}, limits), whole) << "split at byte " << cut;
    }
    std::vector<std::size_t> every_byte;
    for (std::size_t cut = 1; cut < stream.size(); ++cut) {
      every_byte.push_back(cut);
    }
    EXPECT_EQ(parseInPieces(stream, every_byte, limits), whole) << "one byte at a time";
  }
}

}  // namespace
}  // namespace aimass::plugins::frontend
