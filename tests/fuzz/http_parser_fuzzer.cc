// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes as the stream a client sends to frontend.http, through the
// HTTP/1.1 request parser (http_request_parser.h). The first byte picks how the stream arrives:
// in pieces of 1 to 64 bytes, as a socket would hand it over. The parser must never crash or
// hang, must report exactly what it reports for the whole stream at once (the same heads,
// bodies and error), and must keep its buffer within a few times the head limit and the piece
// size, whatever the stream (bodies are moved out as they arrive). Built with clang++
// -fsanitize=fuzzer,address,undefined by tests/fuzz/CMakeLists.txt.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http_request_parser.h"

namespace {

using aimass::plugins::frontend::HttpParserLimits;
using aimass::plugins::frontend::HttpRequestParser;

HttpParserLimits limits() {
  HttpParserLimits l;
  l.max_header_bytes = 512;
  l.max_body_bytes = 4096;
  l.max_chunk_line_bytes = 64;
  return l;
}

/// Every event as text: heads with their fields, bodies, the error.
std::vector<std::string> parse(std::string_view stream, std::size_t piece, std::size_t* peak) {
  HttpRequestParser parser(limits());
  std::vector<std::string> events;
  for (std::size_t at = 0; at < stream.size(); at += piece) {
    parser.append(stream.substr(at, piece));
    for (;;) {
      const auto event = parser.next();
      if (peak != nullptr && parser.capacity() > *peak) {
        *peak = parser.capacity();
      }
      if (event == HttpRequestParser::Event::kNeedMore) {
        break;
      }
      if (event == HttpRequestParser::Event::kError) {
        events.push_back("error " + std::to_string(parser.error().status));
        return events;
      }
      if (event == HttpRequestParser::Event::kHead) {
        const auto& head = parser.head();
        std::string text = "head " + head.method + " " + head.target;
        for (const auto& [name, value] : head.headers) {
          text += "\n" + name + ":" + value;
        }
        events.push_back(text + (head.keep_alive ? " k" : " c") +
                         (head.expects_continue ? " e" : "") + std::to_string(head.content_length));
      } else {
        events.push_back("body " + parser.body());
      }
    }
  }
  events.push_back(parser.started() ? "partial" : "idle");
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::size_t piece = 1 + data[0] % 64;
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto whole = parse(stream, stream.size() + 1, nullptr);
  std::size_t peak = 0;
  const auto pieces = parse(stream, piece, &peak);
  if (pieces != whole) {
    __builtin_trap();  // the outcome depends on how the bytes arrived
  }
  const auto bounded = static_cast<std::size_t>(4 * (limits().max_header_bytes + 64) + 64);
  if (peak > bounded) {
    __builtin_trap();  // the buffer grew with the stream, not with the limits
  }
  return 0;
}
