// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace aimass::testing {

/// One request and its answer, as a test sent and received them over a socket.
struct HttpExchange {
  std::string method;                ///< "POST"
  std::string target;                ///< the request target: path and query, "/v2/models/clf/infer"
  std::string request_content_type;  ///< "" when the request said none
  std::string request_body;
  int status = 0;
  std::string response_content_type;
  std::string response_body;
  /// The binary tensor data extension's Inference-Header-Content-Length of the request and of
  /// the answer: the length of the JSON header at the start of an application/octet-stream
  /// body; "" when absent.
  std::string request_header_length;
  std::string response_header_length;
};

/// The environment variable naming the file test HTTP helpers append their exchanges to
/// (recordHttpExchange); unset, nothing is recorded.
inline constexpr const char* kHttpExchangeLogVariable = "AIMASS_HTTP_EXCHANGE_LOG";

/// Appends `exchange` to the file $AIMASS_HTTP_EXCHANGE_LOG names, when it is set; the check
/// of tests/support/openapi_contract.h reads them back (readHttpExchanges). Each record is
/// written with one write() on a file opened O_APPEND, so the test processes ctest runs in
/// parallel may share the file. Thread-safe. A file that cannot be written is not an error of
/// the test that calls this: the check that reads the log finds fewer exchanges.
inline void recordHttpExchange(const HttpExchange& exchange) {
  const char* path = ::getenv(kHttpExchangeLogVariable);
  if (path == nullptr || *path == '\0') {
    return;
  }
  // Each field: its length in decimal, a newline, its bytes, a newline.
  std::string record;
  for (const std::string* field :
       {&exchange.method, &exchange.target, &exchange.request_content_type, &exchange.request_body,
        &exchange.response_content_type, &exchange.response_body, &exchange.request_header_length,
        &exchange.response_header_length}) {
    record += std::to_string(field->size()) + "\n" + *field + "\n";
  }
  record += std::to_string(exchange.status) + "\n";
  int fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return;
  }
  const ssize_t written = ::write(fd, record.data(), record.size());
  static_cast<void>(written);
  ::close(fd);
}

/// The exchanges recordHttpExchange appended to `path`, in order; nullopt when the file
/// cannot be read or a record in it is cut short (a test killed while writing).
inline std::optional<std::vector<HttpExchange>> readHttpExchanges(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t pos = 0;
  const auto line = [&](std::string& out) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) {
      return false;
    }
    out = text.substr(pos, end - pos);
    pos = end + 1;
    return true;
  };
  const auto field = [&](std::string& out) {
    std::string length;
    if (!line(length) || length.empty() ||
        length.find_first_not_of("0123456789") != std::string::npos) {
      return false;
    }
    const std::size_t n = std::stoul(length);
    if (pos + n >= text.size() || text[pos + n] != '\n') {
      return false;
    }
    out = text.substr(pos, n);
    pos += n + 1;
    return true;
  };
  std::vector<HttpExchange> exchanges;
  while (pos < text.size()) {
    HttpExchange x;
    std::string status;
    if (!field(x.method) || !field(x.target) || !field(x.request_content_type) ||
        !field(x.request_body) || !field(x.response_content_type) || !field(x.response_body) ||
        !field(x.request_header_length) || !field(x.response_header_length) || !line(status) ||
        status.empty() || status.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    x.status = std::stoi(status);
    exchanges.push_back(std::move(x));
  }
  return exchanges;
}

}  // namespace aimass::testing
