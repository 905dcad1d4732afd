// SPDX-License-Identifier: Apache-2.0
#include "http_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <mutex>
#include <thread>

#include "client_failure.h"
#include "json_value.h"

namespace aimass::client::detail {
namespace {

CURL* easy(void* handle) { return static_cast<CURL*>(handle); }

/// curl_global_init once per process; it is not safe to run concurrently with other curl
/// calls, so every client creation goes through here.
void initCurlOnce() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK) {
    throw ClientFailure(AIMASS_CLIENT_INTERNAL,
                        std::string("libcurl could not start: ") + curl_easy_strerror(result));
  }
}

struct Receiver {
  HttpResponse* response;
};

std::size_t onBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* receiver = static_cast<Receiver*>(user);
  receiver->response->body.append(data, size * count);
  return size * count;
}

/// One request's header lines as the curl_slist libcurl reads (freed with the object).
struct HeaderList {
  HeaderList(const std::vector<std::string>& base, const std::string& a, const std::string& b) {
    for (const auto& line : base) {
      add(line);
    }
    if (!a.empty()) {
      add(a);
    }
    if (!b.empty()) {
      add(b);
    }
  }
  ~HeaderList() { curl_slist_free_all(list); }
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;

  void add(const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (!next) {
      throw ClientFailure(AIMASS_CLIENT_OUT_OF_MEMORY, "out of memory for a header line");
    }
    list = next;
  }

  curl_slist* list = nullptr;
};

bool startsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

std::size_t onHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* receiver = static_cast<Receiver*>(user);
  std::string_view line(data, size * count);
  constexpr std::string_view kName = "inference-header-content-length:";
  if (startsWithNoCase(line, "HTTP/")) {  // a new answer (after a 1xx): forget the last one
    receiver->response->has_header_length = false;
  } else if (startsWithNoCase(line, kName)) {
    std::string_view value = line.substr(kName.size());
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    std::size_t n = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec == std::errc()) {
      receiver->response->has_header_length = true;
      receiver->response->header_length = n;
    }
  }
  return size * count;
}

unsigned methodBit(std::string_view method) {
  if (method == "GET") return AIMASS_CLIENT_METHOD_GET;
  if (method == "HEAD") return AIMASS_CLIENT_METHOD_HEAD;
  if (method == "POST") return AIMASS_CLIENT_METHOD_POST;
  if (method == "PUT") return AIMASS_CLIENT_METHOD_PUT;
  if (method == "PATCH") return AIMASS_CLIENT_METHOD_PATCH;
  if (method == "DELETE") return AIMASS_CLIENT_METHOD_DELETE;
  return 0;
}

aimass_client_code codeOf(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return AIMASS_CLIENT_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      return AIMASS_CLIENT_TLS;
    case CURLE_OUT_OF_MEMORY:
      return AIMASS_CLIENT_OUT_OF_MEMORY;
    case CURLE_URL_MALFORMAT:
      return AIMASS_CLIENT_INVALID_ARGUMENT;
    default:
      return AIMASS_CLIENT_CONNECTION;
  }
}

/// The message of an error answer: its JSON "error" member, else the body's start.
std::string errorMessageOf(const HttpResponse& response) {
  try {
    JsonValue body = parseJson(response.body, "the error answer");
    if (const JsonValue* error = body.get("error");
        error && error->type == JsonValue::Type::kString) {
      return error->text;
    }
  } catch (const ClientFailure&) {
    // Not JSON: fall through to the text itself.
  }
  if (response.body.empty()) {
    return "the server answered " + std::to_string(response.status) + " with an empty body";
  }
  return response.body.substr(0, 200);
}

}  // namespace

std::string encodePathSegment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (char c : segment) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

HttpTransport::HttpTransport(std::string_view base_url, TransportOptions options)
    : options_(std::move(options)) {
  std::string url(base_url);
  if (url.find("://") == std::string::npos) {
    url = "http://" + url;
  }
  bool https = url.rfind("https://", 0) == 0;
  if (!https && url.rfind("http://", 0) != 0) {
    invalidArgument("base URL '" + std::string(base_url) + "': the scheme must be http or https");
  }
  std::size_t host = url.find("://") + 3;
  if (host >= url.size() || url[host] == '/' || url[host] == ':') {
    invalidArgument("base URL '" + std::string(base_url) + "' names no host");
  }
  while (url.size() > host && url.back() == '/') {
    url.pop_back();
  }
  if (!https && (!options_.ca_file.empty() || !options_.cert_file.empty())) {
    invalidArgument("a CA file or client certificate needs an https:// base URL");
  }
  if (!options_.api_key.empty() && !options_.bearer_token.empty()) {
    invalidArgument("give an API key or a bearer token, not both");
  }
  // A header value with a line break would smuggle in headers of its own.
  auto refuseControl = [](const std::string& value, const char* what) {
    if (std::any_of(value.begin(), value.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      invalidArgument(std::string(what) + " holds a control character (a line break?)");
    }
  };
  refuseControl(options_.api_key, "the API key");
  refuseControl(options_.bearer_token, "the bearer token");
  base_url_ = std::move(url);
  initCurlOnce();
  curl_ = curl_easy_init();
  if (!curl_) {
    throw ClientFailure(AIMASS_CLIENT_OUT_OF_MEMORY, "curl_easy_init failed");
  }
  configure();
}

HttpTransport::~HttpTransport() { curl_easy_cleanup(easy(curl_)); }

void HttpTransport::configure() {
  CURL* c = easy(curl_);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer_);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &onBody);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &onHeader);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!options_.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  }
  if (!options_.cert_file.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, options_.cert_file.c_str());
    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (!options_.key_file.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLKEY, options_.key_file.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
  }
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, options_.verify ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, options_.verify ? 2L : 0L);
  base_headers_ = {"Accept: application/json",
                   "Expect:"};  // no 100-continue round trip before a large body
  if (!options_.api_key.empty()) {
    base_headers_.push_back("X-API-Key: " + options_.api_key);
  }
  if (!options_.bearer_token.empty()) {
    base_headers_.push_back("Authorization: Bearer " + options_.bearer_token);
  }
}

HttpResponse HttpTransport::sendOnce(const char* method, const std::string& path,
                                     const HttpBody* body, long timeout_ms) {
  CURL* c = easy(curl_);
  HttpResponse response;
  Receiver receiver{&response};
  std::string url = base_url_ + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &receiver);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &receiver);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  std::string_view m(method);
  curl_easy_setopt(c, CURLOPT_NOBODY, m == "HEAD" ? 1L : 0L);
  std::string content_type;
  std::string length;
  if (body) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->data.size()));
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m == "POST" ? nullptr : method);
    content_type =
        body->binary ? "Content-Type: application/octet-stream" : "Content-Type: application/json";
    if (body->binary) {
      length = "Inference-Header-Content-Length: " + std::to_string(body->header_length);
    }
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, (m == "GET" || m == "HEAD") ? nullptr : method);
  }
  HeaderList headers(base_headers_, content_type, length);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.list);
  error_buffer_[0] = '\0';
  CURLcode code = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  if (code != CURLE_OK) {
    std::string detail = error_buffer_[0] ? error_buffer_ : curl_easy_strerror(code);
    aimass_client_code kind = codeOf(code);
    std::string message;
    if (kind == AIMASS_CLIENT_TIMEOUT) {
      message = "no answer to " + std::string(method) + " " + path + " within " +
                std::to_string(timeout_ms) + " ms (" + detail + ")";
    } else if (kind == AIMASS_CLIENT_TLS) {
      message = "TLS with " + base_url_ + " failed: " + detail;
    } else {
      message = std::string(method) + " " + base_url_ + path + " failed: " + detail;
      if (base_url_.rfind("https://", 0) == 0 && options_.cert_file.empty()) {
        // With TLS 1.3 a server that requires a client certificate refuses after the
        // handshake, which libcurl reports as a lost connection.
        message += " (if the server requires a client certificate, set one)";
      }
    }
    throw ClientFailure(kind, message);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

HttpResponse HttpTransport::send(const char* method, const std::string& path, const HttpBody* body,
                                 long timeout_ms, bool retry) {
  long limit = timeout_ms > 0 ? timeout_ms : options_.timeout_ms;
  bool retryable = retry && (options_.retry_methods & methodBit(method)) != 0;
  for (int attempt = 0;; ++attempt) {
    HttpResponse response = sendOnce(method, path, body, limit);
    bool again = retryable && attempt < options_.retries &&
                 std::find(options_.retry_statuses.begin(), options_.retry_statuses.end(),
                           static_cast<int>(response.status)) != options_.retry_statuses.end();
    if (again) {
      long delay = options_.backoff_ms;
      for (int i = 0; i < attempt && delay < options_.max_backoff_ms; ++i) {
        delay *= 2;
      }
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::min(delay, options_.max_backoff_ms)));
      continue;
    }
    if (response.status >= 400) {
      std::string message = errorMessageOf(response);
      throw ClientFailure(AIMASS_CLIENT_HTTP, std::move(message), static_cast<int>(response.status),
                          std::move(response.body));
    }
    return response;
  }
}

}  // namespace aimass::client::detail
