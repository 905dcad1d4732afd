// SPDX-License-Identifier: Apache-2.0
// One keep-alive HTTP(S) connection to one server, over one libcurl easy handle: auth
// headers, TLS, per-call timeouts, retries with backoff. Not thread-safe: one request at a
// time (the C ABI's client handle is one transport).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "aimass_client.h"

namespace aimass::client::detail {

/// What aimass_client_options holds; copied into each client.
struct TransportOptions {
  std::string api_key;
  std::string bearer_token;
  long timeout_ms = 30000;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  bool verify = true;
  int retries = 3;
  long backoff_ms = 100;
  long max_backoff_ms = 2000;
  unsigned retry_methods = AIMASS_CLIENT_METHOD_GET | AIMASS_CLIENT_METHOD_HEAD;
  std::vector<int> retry_statuses{503};
};

struct HttpResponse {
  long status = 0;
  std::string body;
  bool has_header_length = false;  // the answer had Inference-Header-Content-Length
  std::size_t header_length = 0;
};

/// The request's body and how it is typed.
struct HttpBody {
  std::string_view data;
  bool binary = false;            // application/octet-stream with Inference-Header-...
  std::size_t header_length = 0;  // binary: the JSON header's length
};

class HttpTransport {
 public:
  /// Throws ClientFailure(kInvalidArgument) for a base URL or options that cannot work
  /// (a scheme other than http/https, no host, TLS files with an http:// URL, both auths).
  HttpTransport(std::string_view base_url, TransportOptions options);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  /// Sends `method` `path` (from the server root, already percent-encoded) and returns the
  /// answer, retrying per the policy when `retry` is true. An answer >= 400 throws
  /// ClientFailure(kHttp) with its status, the body's "error" text and the body; a transport
  /// failure throws kConnection, kTimeout or kTls.
  HttpResponse send(const char* method, const std::string& path, const HttpBody* body,
                    long timeout_ms, bool retry);

 private:
  HttpResponse sendOnce(const char* method, const std::string& path, const HttpBody* body,
                        long timeout_ms);
  void configure();

  std::string base_url_;
  TransportOptions options_;
  void* curl_ = nullptr;                   // CURL*
  std::vector<std::string> base_headers_;  // auth and Accept, sent with every request
  char error_buffer_[256] = {};
};

/// `segment` percent-encoded for a URL path (unreserved characters kept).
std::string encodePathSegment(std::string_view segment);

}  // namespace aimass::client::detail
