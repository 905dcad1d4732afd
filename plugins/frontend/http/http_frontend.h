// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <compare>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/frontend.h"
#include "aimass/host.h"
#include "aimass/http.h"
#include "aimass/serving.h"
#include "authenticator.h"
#include "console_files.h"
#include "tls.h"

namespace aimass::plugins::frontend {

/// Sets `response` to `status` with the JSON `body` (Content-Type application/json).
void jsonBody(HttpResponse& response, int status, std::string body);

class HttpServer;
struct InferDecodeOptions;  // infer_codec.h

/// The `frontend.http` parameters.
struct HttpFrontendOptions {
  std::string host = "127.0.0.1";
  int port = 8080;      ///< 0: any free port (see HttpFrontend::endpoint())
  int threads = 8;      ///< workers for requests that may block (reading holds none)
  int event_loops = 0;  ///< event loops reading the connections; 0: one per CPU core
  /// Infer requests of an unbatched model run on their event loop while the model's recent
  /// requests took under this long on average (OipRouterOptions::inline_max_us).
  std::int64_t inline_max_us = 1000;
  std::int64_t max_body_bytes = 64 << 20;
  /// Serve only these model names; nullopt: every model the host serves.
  std::optional<std::vector<std::string>> models;
  /// Request line and headers together; larger ones get 431.
  std::int64_t max_header_bytes = 16 << 10;
  /// Open connections; further ones get 503 and are closed.
  int max_connections = 1024;
  /// Time from a request's first byte to its last (408 after); also bounds each wait while
  /// writing a response to a client that does not read.
  int request_timeout_ms = 30000;
  /// An idle keep-alive connection closes after this long.
  int idle_timeout_ms = 5000;
  /// Deepest nesting of JSON lists and objects in a request body (400 beyond).
  std::size_t max_json_depth = 64;
  /// The model MLflow's POST /invocations scores; nullopt: the only served model.
  std::optional<std::string> mlflow_model;
  /// Authentication: mode (auto: on unless `host` is a loopback address), API keys, JWT secret.
  AuthOptions auth;
  /// Set: serve HTTPS with this certificate (TlsContext::load, from the tls_* parameters);
  /// null: plain HTTP.
  std::shared_ptr<const TlsContext> tls;
  /// Serve the web console at /ui/ (ConsoleFiles).
  bool console = true;
  /// The console's folder; empty: share/aimass/ui beside the installed (or built) plugins,
  /// <prefix>/lib/aimass/plugins/../../../share/aimass/ui, and no console when it is missing.
  /// A folder named here must hold the console, or the frontend does not start.
  std::filesystem::path console_dir;
};

/// One route a frontend serves: "GET", "/v2/models/{model}/ready" and the least role that may
/// call it when authentication is on.
struct ServedRoute {
  std::string method;
  std::string pattern;
  Role role = Role::kReader;
  friend bool operator==(const ServedRoute&, const ServedRoute&) = default;
  friend auto operator<=>(const ServedRoute&, const ServedRoute&) = default;
};

/// What OipRouter needs besides the host.
struct OipRouterOptions {
  std::size_t max_json_depth = 64;
  std::optional<std::string> mlflow_model;
  /// Checks credentials and roles before a route runs; null: every route is open.
  std::shared_ptr<const Authenticator> authenticator;
  /// runsInline() accepts an infer request when its model is not batched and the recent
  /// requests for the same model (and version, as the path names it) took under this many
  /// microseconds on average; 0: never.
  std::int64_t inline_max_us = 1000;
  /// Whether requests for a model wait to be batched (its max_batch_size is above 1); such
  /// requests never run inline. Null: no model is batched.
  std::function<bool(std::string_view model)> batched;
  /// The address the server binds (HttpFrontendOptions::host). When it is a loopback address
  /// and there is no authenticator, every request must name a loopback address or this one in
  /// its Host header (see OipRouter). Empty: no Host check.
  std::string bind_host;
  /// The web console's files for GET /ui and /ui/...; null: those paths are unknown (404).
  std::shared_ptr<const ConsoleFiles> console;
};

/// Answers HTTP requests of the Open Inference Protocol v2 and the routes other nodes
/// contribute, independent of the HTTP library: the server turns each request into an
/// aimass::HttpRequest, calls handle(), and writes the HttpResponse back.
///
/// Routes:
///   GET  /v2/health/live                         200 {"live":true}
///   GET  /v2/health/ready                        200 when every served model is ready, else 400
///   GET  /v2                                     server metadata
///   GET  /v2/models/{name}[/versions/{v}]        model metadata
///   GET  /v2/models/{name}[/versions/{v}]/ready  200 when ready, else 400
///   POST /v2/models/{name}[/versions/{v}]/infer  inference (JSON, or binary tensor data); the
///                                                request's "parameters" reach predict()
///   POST /v2/models/{name}[/versions/{v}]/feedback  online learning (ModelServing::learn):
///                                                409 for a model that does not learn online
///   POST /invocations                            MLflow scoring (JSON or CSV)
///   GET  /ping, /health                          MLflow: 200 when the scoring model is ready
///   GET  /version                                MLflow: the server's version
///   POST /v2/repository/index                    models known to the serving runtime
///   POST /v2/repository/models/{name}/load       load or reload from the model registry
///   POST /v2/repository/models/{name}/unload     stop serving every version of a model
///   GET  /v2/models[/{name}[/versions/{v}]]/stats  statistics (Triton's extension)
///   GET  /metrics                                Prometheus text exposition format
///   GET  /api/v1/session                         who the caller is: principal, role, and
///                                                whether authentication is on
///   GET  /ui, /ui/...                            the web console's files (ConsoleFiles),
///                                                public: they hold no data
/// and every route in host.routes().
///
/// Errors are {"error": "..."} with status 400 (bad request), 404 (unknown model, version or
/// route), 405 (known route, other method; with an Allow header), 503 (model not ready) or
/// 500 (a model failed unexpectedly).
///
/// With options.authenticator, a matched route first checks the caller's role (public: health,
/// readiness, /ping, /health; operator: load, unload; reader: the others; a contributed
/// route's Route::role): 401 with WWW-Authenticate without or with bad credentials, 403 when
/// the role is too low. The principal reaches the handler in HttpRequest::principal.
///
/// Without an authenticator a browser's page could call the server through fetch (cross-site
/// request forgery, DNS rebinding), so:
///  - when options.bind_host is a loopback address, a request whose Host header names neither
///    a loopback address (localhost, 127.x.y.z, [::1]) nor bind_host, with or without a port,
///    gets 421 whatever its route (a missing Host is accepted: browsers always send one);
///  - a route whose least role is operator or admin, or the feedback route (a "mutating"
///    route) gets 403 unless the
///    request has Content-Type application/json, an Origin (when present) of the same host and
///    port as its Host, and a Sec-Fetch-Site (when present) of same-origin or none.
/// Each refusal is a JSON error naming the header at fault, logged once at warning level.
///
/// Threading: screen(), handle() and runsInline() are called from many event loops and
/// workers at once; the routes are fixed at construction, the table of recent infer times is
/// guarded by its own lock, and models are reached through the thread-safe catalog.
class OipRouter {
 public:
  OipRouter(Host& host, std::string node_name, std::optional<std::vector<std::string>> models,
            OipRouterOptions options = {});

  /// Decides from a request's head alone (method, path, query and headers; the body not read
  /// yet) whether it can be served: false with `response` filled (404 no route, 405 another
  /// method with Allow, 421 Host, 403 cross-site, 401/403 authentication; the same answer
  /// handle() would give, logged once here) when it will not be served whatever its body; the
  /// server then sends `response` without reading the body and never calls handle(). True
  /// otherwise, with head.path_params and head.principal filled. Never blocks (it takes no
  /// lock and touches no model or storage) and never throws. Letting a request through
  /// without an authenticator allocates only the route's path parameters; with one, the
  /// credential is hashed (an API key's SHA-256, a JWT's HMAC): microseconds. Thread-safe.
  bool screen(HttpRequest& head, HttpResponse& response) const;
  /// Fills `response` for `request`, filling request.path_params and request.principal in
  /// place (the server's request: its body is not copied). Repeats screen()'s checks first,
  /// so it answers correctly whether or not the server screened the head. Never throws.
  void handle(HttpRequest& request, HttpResponse& response) const;
  /// handle() for a request whose head screen() admitted (the server's handler after its
  /// screen): the route is found again for its path parameters, but the Host, cross-site and
  /// credential checks are not repeated, so a credential is hashed once per request.
  void handleScreened(HttpRequest& request, HttpResponse& response) const;
  /// Whether `request` (path, method, headers and body read) may be answered on the event
  /// loop that read it, because its handler neither blocks nor takes long: health, readiness
  /// and version checks, and infer requests of a model that is not batched and whose recent
  /// requests (an average over the last few, measured by handle()) took under
  /// options.inline_max_us. The first requests of a model always go to a worker, which
  /// measures them. Thread-safe.
  bool runsInline(const HttpRequest& request) const;
  /// Method, pattern ("{name}" captures) and role of every route handle() serves: the
  /// built-in ones in matching order, then host.routes() as they were when the router was
  /// made. What docs/openapi.yaml documents; openapi_test.cc compares the two.
  std::vector<ServedRoute> routes() const;

 private:
  struct Target;
  /// The route `request`'s method and path select, with request.path_params filled; when
  /// there is none, `response` holds the 404 or 405 and the Target is not found().
  Target findRoute(HttpRequest& request, HttpResponse& response) const;
  /// screen()'s checks in order: the Host check, findRoute(), then the cross-site checks
  /// without an authenticator or admit() with one. The route when every check passed; else a
  /// Target that is not found(), with `response` filled (and a refusal logged).
  Target screened(HttpRequest& request, HttpResponse& response) const;
  /// handle() (`check`: screen()'s checks first) and handleScreened() (the route only).
  void serve(HttpRequest& request, HttpResponse& response, bool check) const;
  /// With an authenticator: whether `request` may call a route needing `required`; fills
  /// request.principal and request.role, or `response` with 401 (and WWW-Authenticate) or 403
  /// and returns false.
  bool admit(HttpRequest& request, Role required, HttpResponse& response) const;
  /// Logs a refused request at warning level and fills `response` with the JSON error.
  void refuse(const HttpRequest& request, int status, const std::string& reason,
              HttpResponse& response) const;
  bool serves(std::string_view name) const;
  Expected<ServedModel> findModel(const HttpRequest& request) const;
  // The host's served models; none when the host offers no serving runtime.
  std::vector<ServedModel> servedModels() const;
  Expected<ServedModel> findServed(std::string_view name, std::string_view version) const;
  void serverMetadata(HttpResponse& response) const;
  void serverReady(HttpResponse& response) const;
  void modelMetadata(const HttpRequest& request, HttpResponse& response) const;
  void modelReady(const HttpRequest& request, HttpResponse& response) const;
  void infer(const HttpRequest& request, HttpResponse& response) const;
  // POST /v2/models/{model}[/versions/{version}]/generate_stream: an infer request answered as
  // server-sent events, one per piece the model streams (generate_stream.cc).
  void generateStream(const HttpRequest& request, HttpResponse& response) const;
  // The JSON error of a failed PinnedModel::infer (logged when the backend failed).
  void inferError(const ServedModel& served, const Status& predicted, InferFailure failure,
                  HttpResponse& response) const;
  // POST /v2/models/{model}[/versions/{version}]/feedback (oip_extensions.cc).
  void feedback(const HttpRequest& request, HttpResponse& response) const;
  /// Records how long an infer request for the model part of `path` took (recent average).
  void recordInferTime(std::string_view path, std::int64_t ns) const;
  // Serving runtime extensions (host.serving()).
  ModelServing* servingOrError(HttpResponse& response) const;
  // pinReady() on the path's {model} and {version} (the newest when absent), for the whole
  // request; null once the error is answered (no serving runtime, a model this frontend does not
  // serve, an unknown or unready version). `serving`, when not null, gets the runtime.
  std::shared_ptr<PinnedModel> pinOrAnswer(const HttpRequest& request, HttpResponse& response,
                                           ModelServing** serving = nullptr) const;
  // How an OIP body of `request` is decoded (max_json_depth, Inference-Header-Content-Length).
  InferDecodeOptions decodeOptions(const HttpRequest& request) const;
  /// Pins `name` at `version` (empty: the newest loaded) for the whole request and checks the
  /// model is ready; a model that is not counts the failure and is kUnavailable (503). The
  /// caller writes the error in its protocol's shape.
  static Expected<std::shared_ptr<PinnedModel>> pinReady(ModelServing& serving,
                                                         std::string_view name,
                                                         std::string_view version);
  void repositoryIndex(const HttpRequest& request, HttpResponse& response) const;
  void repositoryLoad(const HttpRequest& request, HttpResponse& response) const;
  void repositoryUnload(const HttpRequest& request, HttpResponse& response) const;
  void modelStatistics(const HttpRequest& request, HttpResponse& response) const;
  void metrics(HttpResponse& response) const;
  // MLflow scoring protocol (mlflow_codec.h).
  Expected<ServedModel> mlflowModel() const;
  void mlflowPing(HttpResponse& response) const;
  void mlflowVersion(HttpResponse& response) const;
  void invocations(const HttpRequest& request, HttpResponse& response) const;

  Host& host_;
  std::string node_name_;
  std::optional<std::vector<std::string>> models_;
  OipRouterOptions options_;
  /// Whether Host headers are checked (no authenticator, options_.bind_host is loopback).
  bool check_host_ = false;
  /// The /api/v1 routes of the host's registry services (registry_routes.h), then the routes
  /// nodes added to the host.
  std::vector<Route> contributed_;
  /// Recent average duration (ns) of successful infer requests, by the model part of their path
  /// ("name" or "name/versions/v"); entries are only added for models that answered.
  mutable std::shared_mutex infer_time_mutex_;
  mutable std::map<std::string, std::unique_ptr<std::atomic<std::int64_t>>, std::less<>> infer_ns_;
};

/// The `frontend.http` node: an HTTP/1.1 server (HttpServer, http_server.h) in front of an
/// OipRouter.
///
/// start() binds, starts `event_loops` event loops and `threads` workers and returns; stop()
/// stops accepting, lets the requests being handled finish and answer, closes the other
/// connections and joins every thread. The limits (body, header, connections, timeouts) are
/// HttpServer's.
///
/// Threading: start() and stop() from one thread (the host's main thread); endpoint() from any.
class HttpFrontend final : public Frontend {
 public:
  HttpFrontend(std::string node_name, HttpFrontendOptions options);
  ~HttpFrontend() override;

  /// kUnavailable "cannot listen on HOST:PORT: <reason>" when the address cannot be bound;
  /// kFailedPrecondition when already started, or when authentication is on (options.auth,
  /// authRequired()) and no credential is configured; kInvalidArgument for an unreadable or
  /// bad api_keys_file or an unset jwt_secret_env variable; the ConsoleFiles::load() error
  /// for a console_dir without the console. Nothing is bound on these errors.
  Status start(Host& host) override;
  void stop() noexcept override;
  /// "http://127.0.0.1:<port>" (https with TLS) with the bound port; empty before start().
  std::string endpoint() const override;
  /// The routes being served (OipRouter::routes()); empty before start() and after stop().
  std::vector<ServedRoute> routes() const;

  /// Where an installed (or built) aimass keeps its console: share/aimass/ui under the prefix
  /// of this plugin's lib/aimass/plugins folder; empty when this code's file is unknown.
  static std::filesystem::path defaultConsoleDir();

 private:
  /// The console to serve: null with options.console off; the files of options.console_dir
  /// (an error when they cannot be loaded) or of defaultConsoleDir() (a missing console, with
  /// the reason logged, when they cannot).
  Expected<std::shared_ptr<const ConsoleFiles>> loadConsole(Host& host) const;

  std::string node_name_;
  HttpFrontendOptions options_;
  mutable std::mutex mutex_;
  std::string endpoint_;
  std::shared_ptr<const OipRouter> router_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace aimass::plugins::frontend
