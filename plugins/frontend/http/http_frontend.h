// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "aimass/frontend.h"
#include "aimass/host.h"
#include "aimass/http.h"

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
}  // namespace Net
}  // namespace Poco

namespace aimass::plugins::frontend {

/// The `frontend.http` parameters.
struct HttpFrontendOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  ///< 0: any free port (see HttpFrontend::endpoint())
  int threads = 8;  ///< worker threads, one per open connection
  std::int64_t max_body_bytes = 64 << 20;
  /// Serve only these catalog names; nullopt: every model in host.models().
  std::optional<std::vector<std::string>> models;
};

/// Answers HTTP requests of the Open Inference Protocol v2 and the routes other nodes
/// contribute, independent of the HTTP library: the server turns each request into an
/// aimass::HttpRequest, calls handle(), and writes the HttpResponse back.
///
/// Routes:
///   GET  /v2/health/live                              200 {"live":true}
///   GET  /v2/health/ready                             200 when every served model is ready, else
///   400 GET  /v2                                          server metadata GET
///   /v2/models/{name}[/versions/{v}]             model metadata GET
///   /v2/models/{name}[/versions/{v}]/ready       200 when ready, else 400 POST
///   /v2/models/{name}[/versions/{v}]/infer       inference (JSON) and every route in
///   host.routes().
///
/// Errors are {"error": "..."} with status 400 (bad request), 404 (unknown model, version or
/// route), 405 (known route, other method; with an Allow header), 503 (model not ready) or
/// 500 (a model failed unexpectedly).
///
/// Threading: handle() is called from many worker threads at once; the router itself is
/// immutable after construction, models are reached through the thread-safe catalog.
class OipRouter {
 public:
  OipRouter(Host& host, std::string node_name, std::optional<std::vector<std::string>> models);

  /// Fills `response` for `request`. Never throws.
  void handle(const HttpRequest& request, HttpResponse& response) const;

 private:
  struct Target;
  bool serves(std::string_view name) const;
  Expected<ServedModel> findModel(const HttpRequest& request) const;
  void serverMetadata(HttpResponse& response) const;
  void serverReady(HttpResponse& response) const;
  void modelMetadata(const HttpRequest& request, HttpResponse& response) const;
  void modelReady(const HttpRequest& request, HttpResponse& response) const;
  void infer(const HttpRequest& request, HttpResponse& response) const;

  Host& host_;
  std::string node_name_;
  std::optional<std::vector<std::string>> models_;
  std::vector<Route> contributed_;
};

/// The `frontend.http` node: an HTTP/1.1 server (Poco::Net::HTTPServer) in front of an
/// OipRouter.
///
/// start() binds, starts `threads` workers and returns; stop() stops accepting, lets the
/// requests in flight finish, closes idle keep-alive connections and joins every thread.
/// Request bodies over max_body_bytes are refused with 413 before they are read (by their
/// Content-Length) or as soon as the limit is passed (chunked bodies). TCP_NODELAY is set on
/// every accepted connection so small responses are not held back by Nagle's algorithm.
///
/// Threading: start() and stop() from one thread (the host's main thread); endpoint() from any.
class HttpFrontend final : public Frontend {
 public:
  HttpFrontend(std::string node_name, HttpFrontendOptions options);
  ~HttpFrontend() override;

  /// kUnavailable "cannot listen on HOST:PORT: <reason>" when the address cannot be bound;
  /// kFailedPrecondition when already started.
  Status start(Host& host) override;
  void stop() noexcept override;
  /// "http://127.0.0.1:<port>" with the bound port; empty before start().
  std::string endpoint() const override;

 private:
  std::string node_name_;
  HttpFrontendOptions options_;
  mutable std::mutex mutex_;
  std::string endpoint_;
  std::shared_ptr<const OipRouter> router_;
  std::unique_ptr<Poco::ThreadPool> pool_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace aimass::plugins::frontend
