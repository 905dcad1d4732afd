// SPDX-License-Identifier: Apache-2.0
#include "http_frontend.h"

#include <Poco/Exception.h>
#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <istream>
#include <utility>

#include "http_field_text.h"
#include "http_server.h"
#include "infer_codec.h"
#include "registry_routes.h"

namespace aimass::plugins::frontend {

void jsonBody(HttpResponse& response, int status, std::string body) {
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
}

namespace {

/// The built-in OIP v2 routes, by method and pattern.
struct BuiltinRoute {
  const char* method;
  const char* pattern;
  enum class Action {
    kLive,
    kServerReady,
    kServerMetadata,
    kModelMetadata,
    kModelReady,
    kInfer,
    kGenerateStream,
    kFeedback,
    kMlflowInvocations,
    kMlflowPing,
    kMlflowVersion,
    kRepositoryIndex,
    kRepositoryLoad,
    kRepositoryUnload,
    kStatistics,
    kMetrics,
    kSession
  } action;
};

constexpr BuiltinRoute kBuiltinRoutes[] = {
    // Before /v2/models/{model}, which would take "stats" for a model name.
    {"GET", "/v2/models/stats", BuiltinRoute::Action::kStatistics},
    {"GET", "/v2/models/{model}/stats", BuiltinRoute::Action::kStatistics},
    {"GET", "/v2/models/{model}/versions/{version}/stats", BuiltinRoute::Action::kStatistics},
    {"POST", "/v2/repository/index", BuiltinRoute::Action::kRepositoryIndex},
    {"POST", "/v2/repository/models/{model}/load", BuiltinRoute::Action::kRepositoryLoad},
    {"POST", "/v2/repository/models/{model}/unload", BuiltinRoute::Action::kRepositoryUnload},
    {"GET", "/metrics", BuiltinRoute::Action::kMetrics},
    {"GET", "/v2/health/live", BuiltinRoute::Action::kLive},
    {"GET", "/v2/health/ready", BuiltinRoute::Action::kServerReady},
    {"GET", "/v2", BuiltinRoute::Action::kServerMetadata},
    {"GET", "/v2/models/{model}", BuiltinRoute::Action::kModelMetadata},
    {"GET", "/v2/models/{model}/versions/{version}", BuiltinRoute::Action::kModelMetadata},
    {"GET", "/v2/models/{model}/ready", BuiltinRoute::Action::kModelReady},
    {"GET", "/v2/models/{model}/versions/{version}/ready", BuiltinRoute::Action::kModelReady},
    {"POST", "/v2/models/{model}/infer", BuiltinRoute::Action::kInfer},
    {"POST", "/v2/models/{model}/versions/{version}/infer", BuiltinRoute::Action::kInfer},
    {"POST", "/v2/models/{model}/generate_stream", BuiltinRoute::Action::kGenerateStream},
    {"POST", "/v2/models/{model}/versions/{version}/generate_stream",
     BuiltinRoute::Action::kGenerateStream},
    {"POST", "/v2/models/{model}/feedback", BuiltinRoute::Action::kFeedback},
    {"POST", "/v2/models/{model}/versions/{version}/feedback", BuiltinRoute::Action::kFeedback},
    {"POST", "/invocations", BuiltinRoute::Action::kMlflowInvocations},
    {"GET", "/ping", BuiltinRoute::Action::kMlflowPing},
    {"GET", "/health", BuiltinRoute::Action::kMlflowPing},
    {"GET", "/version", BuiltinRoute::Action::kMlflowVersion},
    {"GET", "/api/v1/session", BuiltinRoute::Action::kSession},
};

/// The least role that may call a built-in route: health and readiness stay open, the session
/// (who the caller is) needs any credentials, loading and unloading an operator, everything
/// else a reader (feedback too: the clients that ask
/// a recommender for items are those that report what users did with them).
Role builtinRole(BuiltinRoute::Action action) {
  switch (action) {
    case BuiltinRoute::Action::kLive:
    case BuiltinRoute::Action::kServerReady:
    case BuiltinRoute::Action::kModelReady:
    case BuiltinRoute::Action::kMlflowPing:
      return Role::kPublic;
    case BuiltinRoute::Action::kRepositoryLoad:
    case BuiltinRoute::Action::kRepositoryUnload:
      return Role::kOperator;
    case BuiltinRoute::Action::kServerMetadata:
    case BuiltinRoute::Action::kModelMetadata:
    case BuiltinRoute::Action::kInfer:
    case BuiltinRoute::Action::kGenerateStream:
    case BuiltinRoute::Action::kFeedback:
    case BuiltinRoute::Action::kMlflowInvocations:
    case BuiltinRoute::Action::kMlflowVersion:
    case BuiltinRoute::Action::kRepositoryIndex:
    case BuiltinRoute::Action::kStatistics:
    case BuiltinRoute::Action::kMetrics:
      return Role::kReader;
    case BuiltinRoute::Action::kSession:
      return Role::kAnnotator;  // who the caller is: what the console asks first
  }
  return Role::kAdmin;
}

}  // namespace

/// What findRoute() found: a built-in route, a contributed one, the console's files, or none.
struct OipRouter::Target {
  const BuiltinRoute* builtin = nullptr;
  const Route* contributed = nullptr;
  bool console = false;
  bool found() const { return builtin != nullptr || contributed != nullptr || console; }
  Role role() const {
    if (console) {
      return Role::kPublic;  // static files: the data they show comes from the API
    }
    return builtin != nullptr ? builtinRole(builtin->action) : contributed->role;
  }
};

namespace {

/// A header's value as the client sent it, shortened for an error message.
std::string shownValue(std::string_view value) {
  constexpr std::size_t kLongest = 80;
  return "'" + std::string(value.substr(0, kLongest)) + (value.size() > kLongest ? "...'" : "'");
}

/// Whether a Host header's value names a loopback address (localhost, 127.x.y.z, [::1]) or
/// `bind_host`, with or without a port.
bool loopbackHostHeader(std::string_view value, std::string_view bind_host) {
  std::string_view name = value;
  std::string_view port;
  if (!value.empty() && value.front() == '[') {
    const auto close = value.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    name = value.substr(0, close + 1);
    port = value.substr(close + 1);
  } else if (const auto colon = value.find(':'); colon != std::string_view::npos) {
    name = value.substr(0, colon);
    port = value.substr(colon);
  }
  if (!port.empty()) {
    if (port.size() < 2 || port.size() > 6 || port.front() != ':' ||
        port.find_first_not_of("0123456789", 1) != std::string_view::npos) {
      return false;
    }
  }
  const bool bracketed = name.size() > 2 && name.front() == '[';
  return equalsIgnoringCase(name, "localhost") || isLoopbackHost(name) ||
         equalsIgnoringCase(name, bind_host) ||
         (bracketed && equalsIgnoringCase(name.substr(1, name.size() - 2), bind_host));
}

/// Whether an Origin header ("scheme://host[:port]") names the same host and port as `host`,
/// the request's Host header (which may carry the default port that Origin leaves out).
bool sameOrigin(std::string_view origin, std::string_view host) {
  const auto separator = origin.find("://");
  if (separator == std::string_view::npos || host.empty()) {
    return false;
  }
  const std::string_view scheme = origin.substr(0, separator);
  const std::string_view authority = origin.substr(separator + 3);
  if (authority.empty() || authority.find('/') != std::string_view::npos) {
    return false;
  }
  if (equalsIgnoringCase(authority, host)) {
    return true;
  }
  const std::string_view default_port = equalsIgnoringCase(scheme, "http")    ? ":80"
                                        : equalsIgnoringCase(scheme, "https") ? ":443"
                                                                              : "";
  return !default_port.empty() && host.size() == authority.size() + default_port.size() &&
         equalsIgnoringCase(host.substr(0, authority.size()), authority) &&
         host.substr(authority.size()) == default_port;
}

/// Why a request to a route that changes the server, with no credentials configured, may come
/// from another site's page in a browser; empty when it may not. Browsers send Sec-Fetch-Site
/// and Origin on such requests, and a page can send a cross-site request without a CORS
/// preflight only with a form content type (or none), never with application/json (nor, for
/// a route that takes binary tensor data, application/octet-stream).
std::string crossSiteRefusal(const HttpRequest& request, bool binary_body) {
  const auto& headers = request.headers;
  const auto end = headers.end();
  if (auto site = headers.find("sec-fetch-site");
      site != end && site->second != "same-origin" && site->second != "none") {
    return "cross-site request refused: Sec-Fetch-Site is " + shownValue(site->second) +
           "; without credentials configured, this route accepts only same-origin requests";
  }
  const auto host = headers.find("host");
  const std::string_view host_value = host == end ? std::string_view() : host->second;
  if (auto origin = headers.find("origin");
      origin != end && !sameOrigin(origin->second, host_value)) {
    return "cross-site request refused: Origin " + shownValue(origin->second) +
           " is not this server (Host " + shownValue(host_value) +
           "); without credentials configured, this route accepts only same-origin requests";
  }
  const auto type = headers.find("content-type");
  const std::string_view media =
      type == end ? std::string_view()
                  : trimSpaces(std::string_view(type->second).substr(0, type->second.find(';')));
  // The YAML types are no more a form's than JSON is: a page sends them only after a
  // preflight (POST /api/v1/graphs/validate takes a graph as YAML).
  const bool yaml = equalsIgnoringCase(media, "application/yaml") ||
                    equalsIgnoringCase(media, "application/x-yaml") ||
                    equalsIgnoringCase(media, "text/yaml");
  if (!equalsIgnoringCase(media, "application/json") && !yaml &&
      !(binary_body && equalsIgnoringCase(media, "application/octet-stream"))) {
    return std::string(
               "this route changes the server and needs 'Content-Type: "
               "application/json'") +
           (binary_body ? " (or application/octet-stream for binary tensor data)" : "") + " (" +
           (type == end ? std::string("none was sent") : "found " + shownValue(type->second)) +
           "), so that no other site's page can send it" +
           (binary_body ? "" : "; a YAML body may say application/yaml or text/yaml");
  }
  return {};
}

}  // namespace

OipRouter::OipRouter(Host& host, std::string node_name,
                     std::optional<std::vector<std::string>> models, OipRouterOptions options)
    : host_(host),
      node_name_(std::move(node_name)),
      models_(std::move(models)),
      options_(std::move(options)),
      check_host_(!options_.authenticator && isLoopbackHost(options_.bind_host)),
      // The host's registry, datasets and runs under /api/v1, then the routes nodes added.
      contributed_(registryRoutes(host, node_name_)) {
  for (auto& route : host.routes().routes()) {
    contributed_.push_back(std::move(route));
  }
}

OipRouter::Target OipRouter::findRoute(HttpRequest& request, HttpResponse& response) const {
  std::vector<std::string_view> allowed;
  auto allow = [&](std::string_view method) {
    if (std::find(allowed.begin(), allowed.end(), method) == allowed.end()) {
      allowed.push_back(method);
    }
  };
  for (const auto& route : kBuiltinRoutes) {
    std::map<std::string, std::string> params;
    if (!matchRoute(route.pattern, request.path, params)) {
      continue;
    }
    if (request.method != route.method) {
      allow(route.method);
      continue;
    }
    request.path_params = std::move(params);
    return Target{&route, nullptr};
  }
  for (const auto& route : contributed_) {
    std::map<std::string, std::string> params;
    if (!matchRoute(route.pattern, request.path, params)) {
      continue;
    }
    if (request.method != route.method) {
      allow(route.method);
      continue;
    }
    request.path_params = std::move(params);
    return Target{nullptr, &route};
  }
  if (options_.console && ConsoleFiles::handles(request.path)) {
    if (request.method == "GET") {
      return Target{nullptr, nullptr, true};
    }
    allow("GET");
  }
  if (!allowed.empty()) {
    std::string list;
    for (const auto& m : allowed) {
      list.append(list.empty() ? "" : ", ").append(m);
    }
    jsonError(response, 405,
              "method " + request.method + " is not allowed on " + request.path + "; use " + list);
    response.headers.emplace_back("Allow", list);
    return {};
  }
  jsonError(response, 404, "no route for " + request.method + " " + request.path);
  return {};
}

OipRouter::Target OipRouter::screened(HttpRequest& request, HttpResponse& response) const {
  if (check_host_) {
    // DNS rebinding: a page of evil.example, whose name now resolves to 127.0.0.1, sends
    // "Host: evil.example". Checked before the route, so such a page learns nothing.
    auto host = request.headers.find("host");
    if (host != request.headers.end() && !loopbackHostHeader(host->second, options_.bind_host)) {
      refuse(request, 421,
             "the Host header " + shownValue(host->second) +
                 " names neither a loopback address (localhost, 127.0.0.1, [::1]) nor " +
                 options_.bind_host + ", the address this server listens on",
             response);
      return {};
    }
  }
  Target target = findRoute(request, response);
  if (!target.found()) {
    return target;
  }
  const Role required = target.role();
  if (options_.authenticator) {
    return admit(request, required, response) ? target : Target{};
  }
  request.role = Role::kAdmin;  // no one is authenticated: every caller may do everything
  // Without credentials, a browser page of another site must not change state: load, unload,
  // a model's learned feedback, and whatever a route a node contributed does on other methods
  // than GET and HEAD (an annotator's answer).
  const bool changes_state = target.builtin != nullptr
                                 ? target.builtin->action == BuiltinRoute::Action::kFeedback
                                 : request.method != "GET" && request.method != "HEAD";
  if (required >= Role::kOperator || changes_state) {
    if (std::string why = crossSiteRefusal(request, changes_state); !why.empty()) {
      refuse(request, 403, why, response);
      return {};
    }
  }
  return target;
}

bool OipRouter::screen(HttpRequest& head, HttpResponse& response) const {
  try {
    return screened(head, response).found();
  } catch (const std::exception& e) {
    host_.log(LogLevel::kError, node_name_,
              "request " + head.method + " " + head.path + " failed: " + e.what());
    response = HttpResponse();
    jsonError(response, 500, std::string("internal error: ") + e.what());
    return false;
  }
}

void OipRouter::handle(HttpRequest& request, HttpResponse& response) const {
  serve(request, response, true);
}

void OipRouter::handleScreened(HttpRequest& request, HttpResponse& response) const {
  serve(request, response, false);
}

void OipRouter::serve(HttpRequest& request, HttpResponse& response, bool check) const {
  try {
    // A screened request passed the Host, cross-site and credential checks on its head (and
    // request.principal holds who it is): only its route is looked up again.
    const Target target = check ? screened(request, response) : findRoute(request, response);
    if (target.contributed != nullptr) {
      const Route& route = *target.contributed;
      try {
        route.handler(request, response);
      } catch (const std::exception& e) {
        host_.log(LogLevel::kError, node_name_,
                  "route " + route.method + " " + route.pattern + " of node '" + route.owner +
                      "' threw: " + e.what());
        response = HttpResponse();
        jsonError(response, 500, "internal error in " + route.pattern);
      }
      return;
    }
    if (target.console) {
      options_.console->serve(request, response);
      return;
    }
    if (target.builtin == nullptr) {
      return;
    }
    switch (target.builtin->action) {
      case BuiltinRoute::Action::kLive:
        jsonBody(response, 200, "{\"live\":true}");
        return;
      case BuiltinRoute::Action::kServerReady:
        serverReady(response);
        return;
      case BuiltinRoute::Action::kServerMetadata:
        serverMetadata(response);
        return;
      case BuiltinRoute::Action::kModelMetadata:
        modelMetadata(request, response);
        return;
      case BuiltinRoute::Action::kModelReady:
        modelReady(request, response);
        return;
      case BuiltinRoute::Action::kInfer: {
        const auto start = std::chrono::steady_clock::now();
        infer(request, response);
        if (response.status == 200) {
          recordInferTime(request.path, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            std::chrono::steady_clock::now() - start)
                                            .count());
        }
        return;
      }
      case BuiltinRoute::Action::kGenerateStream:
        generateStream(request, response);
        return;
      case BuiltinRoute::Action::kFeedback:
        feedback(request, response);
        return;
      case BuiltinRoute::Action::kMlflowInvocations:
        invocations(request, response);
        return;
      case BuiltinRoute::Action::kMlflowPing:
        mlflowPing(response);
        return;
      case BuiltinRoute::Action::kMlflowVersion:
        mlflowVersion(response);
        return;
      case BuiltinRoute::Action::kRepositoryIndex:
        repositoryIndex(request, response);
        return;
      case BuiltinRoute::Action::kRepositoryLoad:
        repositoryLoad(request, response);
        return;
      case BuiltinRoute::Action::kRepositoryUnload:
        repositoryUnload(request, response);
        return;
      case BuiltinRoute::Action::kStatistics:
        modelStatistics(request, response);
        return;
      case BuiltinRoute::Action::kMetrics:
        metrics(response);
        return;
      case BuiltinRoute::Action::kSession:
        // What a client (the console) shows and offers follows the role; without an
        // authenticator every caller may do everything.
        jsonBody(response, 200,
                 "{\"principal\":\"" + jsonEscape(request.principal) + "\",\"role\":\"" +
                     std::string(roleName(request.role)) +
                     "\",\"authentication\":" + (options_.authenticator ? "true" : "false") + "}");
        return;
    }
  } catch (const std::exception& e) {
    host_.log(LogLevel::kError, node_name_,
              "request " + request.method + " " + request.path + " failed: " + e.what());
    response = HttpResponse();
    jsonError(response, 500, std::string("internal error: ") + e.what());
  }
}

namespace {

/// The model part of an infer path: "name" of /v2/models/name/infer, "name/versions/v" of
/// /v2/models/name/versions/v/infer; empty for any other path.
std::string_view inferKey(std::string_view path) {
  constexpr std::string_view kPrefix = "/v2/models/";
  constexpr std::string_view kSuffix = "/infer";
  if (path.size() <= kPrefix.size() + kSuffix.size() || path.substr(0, kPrefix.size()) != kPrefix ||
      path.substr(path.size() - kSuffix.size()) != kSuffix) {
    return {};
  }
  std::string_view key = path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size());
  auto slash = key.find('/');
  if (slash == 0) {
    return {};
  }
  if (slash != std::string_view::npos) {
    std::string_view rest = key.substr(slash);
    constexpr std::string_view kVersions = "/versions/";
    if (rest.size() <= kVersions.size() || rest.substr(0, kVersions.size()) != kVersions ||
        rest.find('/', kVersions.size()) != std::string_view::npos) {
      return {};
    }
  }
  return key;
}

/// Bodies above this size are decoded on a worker, whatever their model's recent timing.
constexpr std::size_t kInlineBodyLimit = 256 << 10;

}  // namespace

bool OipRouter::runsInline(const HttpRequest& request) const {
  const std::string_view path = request.path;
  if (request.method == "GET") {
    // The console's files are in memory: answered as fast as a health check.
    return path == "/v2/health/live" || path == "/v2/health/ready" || path == "/v2" ||
           path == "/ping" || path == "/health" || path == "/version" ||
           (options_.console && ConsoleFiles::handles(path));
  }
  if (request.method != "POST" || options_.inline_max_us <= 0 ||
      request.body.size() > kInlineBodyLimit) {
    return false;
  }
  std::string_view key = inferKey(path);
  if (key.empty() || (options_.batched && options_.batched(key.substr(0, key.find('/'))))) {
    return false;
  }
  std::shared_lock lock(infer_time_mutex_);
  auto it = infer_ns_.find(key);
  return it != infer_ns_.end() &&
         it->second->load(std::memory_order_relaxed) < options_.inline_max_us * 1000;
}

void OipRouter::recordInferTime(std::string_view path, std::int64_t ns) const {
  std::string_view key = inferKey(path);
  if (key.empty()) {
    return;
  }
  {
    std::shared_lock lock(infer_time_mutex_);
    if (auto it = infer_ns_.find(key); it != infer_ns_.end()) {
      // A moving average over about the last 8 requests; a lost update under a race only
      // drops one sample.
      std::int64_t average = it->second->load(std::memory_order_relaxed);
      it->second->store(average + (ns - average) / 8, std::memory_order_relaxed);
      return;
    }
  }
  std::unique_lock lock(infer_time_mutex_);
  infer_ns_.try_emplace(std::string(key), std::make_unique<std::atomic<std::int64_t>>(ns));
}

bool OipRouter::admit(HttpRequest& request, Role required, HttpResponse& response) const {
  if (!options_.authenticator) {
    return true;
  }
  AuthDecision decision = options_.authenticator->admit(request, required);
  if (decision.status == 200) {
    request.principal = std::move(decision.principal.name);
    request.role = decision.principal.role;
    return true;
  }
  // The reason names the principal and what was wrong, never the credential itself.
  refuse(request, decision.status, decision.reason, response);
  if (decision.status == 401) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"aimass\"");
  }
  return false;
}

void OipRouter::refuse(const HttpRequest& request, int status, const std::string& reason,
                       HttpResponse& response) const {
  host_.log(
      LogLevel::kWarning, node_name_,
      request.method + " " + request.path + " refused (" + std::to_string(status) + "): " + reason);
  jsonError(response, status, reason);
}

bool OipRouter::serves(std::string_view name) const {
  if (!models_ || std::find(models_->begin(), models_->end(), name) != models_->end()) {
    return true;
  }
  // What the repository loaded (serving.runtime's `load`, or a load request to any frontend)
  // is served by every frontend; `models` only picks among the graph's model nodes.
  auto found = findServed(name, std::string_view());
  return found.ok() && found->from_repository;
}

std::vector<ServedModel> OipRouter::servedModels() const {
  const ModelServing* serving = host_.serving();
  return serving != nullptr ? serving->list() : std::vector<ServedModel>();
}

Expected<ServedModel> OipRouter::findServed(std::string_view name,
                                            std::string_view version) const {
  const ModelServing* serving = host_.serving();
  if (serving == nullptr) {
    return notFound("unknown model '" + std::string(name) + "'");
  }
  return serving->find(name, version);
}

Expected<ServedModel> OipRouter::findModel(const HttpRequest& request) const {
  const std::string& name = request.path_params.at("model");
  auto version = request.path_params.find("version");
  if (!serves(name)) {
    return notFound("unknown model '" + name + "'");
  }
  auto found = findServed(
      name, version == request.path_params.end() ? std::string_view() : version->second);
  if (!found.ok()) {
    if (found.status().code() == StatusCode::kNotFound) {
      if (version == request.path_params.end()) {
        return notFound("unknown model '" + name + "'");
      }
      return notFound("unknown model '" + name + "' version '" + version->second + "'");
    }
    return found.status();
  }
  if (!found->model) {
    return notFound("unknown model '" + name + "'");
  }
  return found;
}

void OipRouter::serverMetadata(HttpResponse& response) const {
  std::string body = "{\"name\":\"aimass\",\"version\":";
  appendJsonString(body, host_.version());
  body += ",\"extensions\":[\"binary_tensor_data\"";
  if (host_.serving() != nullptr) {
    body += ",\"model_repository\",\"statistics\"";
  }
  body += "]}";
  jsonBody(response, 200, std::move(body));
}

void OipRouter::serverReady(HttpResponse& response) const {
  bool ready = true;
  std::vector<ServedModel> served = servedModels();
  if (models_) {
    for (const auto& name : *models_) {
      bool present = std::any_of(served.begin(), served.end(),
                                 [&](const ServedModel& m) { return m.name == name; });
      ready = ready && present;
    }
  }
  for (const auto& m : served) {
    if (serves(m.name) && (!m.model || !m.model->ready())) {
      ready = false;
    }
  }
  jsonBody(response, ready ? 200 : 400, ready ? "{\"ready\":true}" : "{\"ready\":false}");
}

void OipRouter::modelMetadata(const HttpRequest& request, HttpResponse& response) const {
  auto served = findModel(request);
  if (!served.ok()) {
    jsonError(response, httpStatusFor(served.status()), served.status().message());
    return;
  }
  std::vector<std::string> versions;
  for (const auto& m : servedModels()) {
    if (m.name == served->name) {
      versions.push_back(m.version);
    }
  }
  jsonBody(response, 200, encodeModelMetadata(served->name, versions, served->model->schema()));
}

void OipRouter::modelReady(const HttpRequest& request, HttpResponse& response) const {
  auto served = findModel(request);
  if (!served.ok()) {
    auto version = request.path_params.find("version");
    if (served.status().code() == StatusCode::kNotFound && request.principal.empty() &&
        version != request.path_params.end()) {
      // A caller without credentials learns from an unknown version no more than from an
      // unknown model: not whether the model exists.
      jsonError(response, 404,
                "unknown model '" + request.path_params.at("model") + "' version '" +
                    version->second + "'");
      return;
    }
    jsonError(response, httpStatusFor(served.status()), served.status().message());
    return;
  }
  bool ready = served->model->ready();
  std::string body = "{\"name\":";
  appendJsonString(body, served->name);
  body += ",\"version\":";
  appendJsonString(body, served->version);
  body += ready ? ",\"ready\":true}" : ",\"ready\":false}";
  jsonBody(response, ready ? 200 : 400, std::move(body));
}

void OipRouter::infer(const HttpRequest& request, HttpResponse& response) const {
  // The request runs entirely on the version pinned here, whatever loads meanwhile.
  auto pinned = pinOrAnswer(request, response);
  if (!pinned) {
    return;
  }
  const ServedModel* served = &pinned->served();
  const Model& model = *served->model;
  auto decoded = decodeInferRequest(request.body, model.schema(), decodeOptions(request));
  if (!decoded.ok()) {
    pinned->countFailure(InferFailure::kInvalid);
    jsonError(response, httpStatusFor(decoded.status()), decoded.status().message());
    return;
  }
  TensorMap outputs;
  InferFailure failure = InferFailure::kBackend;
  Status predicted = pinned->infer(decoded->inputs, decoded->options, outputs, &failure);
  if (!predicted.ok()) {
    inferError(*served, predicted, failure, response);
    return;
  }
  // An optional output is written only by the requests that ask for it (a recommender's
  // top-k "items"): selecting it in another request is the client's mistake, not the model's.
  const std::vector<TensorSpec> specs =
      decoded->outputs.empty() ? std::vector<TensorSpec>() : model.schema().outputs;
  for (const auto& selected : decoded->outputs) {
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const TensorSpec& s) { return s.name == selected; });
    if (outputs.find(selected) == nullptr && spec != specs.end() && spec->optional) {
      jsonError(response, 400,
                "model '" + served->name + "' wrote no output '" + selected +
                    "' for this request: the output is optional and only some requests "
                    "produce it (see the model's documentation, e.g. the top_k parameter)");
      return;
    }
  }
  auto body = encodeInferResponse(served->name, served->version, *decoded, outputs);
  if (!body.ok()) {
    host_.log(LogLevel::kError, node_name_,
              "model '" + served->name + "': " + body.status().toString());
    jsonError(response, httpStatusFor(body.status()), body.status().message());
    return;
  }
  jsonBody(response, 200, std::move(body->body));
  if (body->header_length) {
    // Binary tensor data: the JSON header, then the outputs' bytes.
    response.content_type = "application/octet-stream";
    response.headers.emplace_back("Inference-Header-Content-Length",
                                  std::to_string(*body->header_length));
  }
}

void OipRouter::inferError(const ServedModel& served, const Status& predicted,
                           InferFailure failure, HttpResponse& response) const {
  int status = httpStatusFor(predicted);
  if (failure == InferFailure::kBackend && status >= 500 && status != 503) {
    host_.log(LogLevel::kError, node_name_,
              "model '" + served.name + "' failed: " + predicted.toString());
  }
  const bool named = predicted.message().rfind("model '", 0) == 0;
  jsonError(response, status,
            named ? predicted.message() : "model '" + served.name + "': " + predicted.message());
}

std::shared_ptr<PinnedModel> OipRouter::pinOrAnswer(const HttpRequest& request,
                                                    HttpResponse& response,
                                                    ModelServing** serving) const {
  ModelServing* runtime = servingOrError(response);
  if (runtime == nullptr) {
    return nullptr;
  }
  if (serving != nullptr) {
    *serving = runtime;
  }
  const std::string& name = request.path_params.at("model");
  auto version = request.path_params.find("version");
  auto pinned = serves(name) ? pinReady(*runtime, name,
                                        version == request.path_params.end()
                                            ? std::string_view()
                                            : std::string_view(version->second))
                             : Expected<std::shared_ptr<PinnedModel>>(
                                   notFound("unknown model '" + name + "'"));
  if (!pinned.ok()) {
    jsonError(response, httpStatusFor(pinned.status()), pinned.status().message());
    return nullptr;
  }
  return std::move(pinned).value();
}

InferDecodeOptions OipRouter::decodeOptions(const HttpRequest& request) const {
  InferDecodeOptions decode_options;
  decode_options.max_json_depth = options_.max_json_depth;
  if (auto header = request.headers.find("inference-header-content-length");
      header != request.headers.end()) {
    decode_options.header_length = header->second;
  }
  return decode_options;
}

Expected<std::shared_ptr<PinnedModel>> OipRouter::pinReady(ModelServing& serving,
                                                           std::string_view name,
                                                           std::string_view version) {
  auto pinned = serving.pin(name, version);
  if (!pinned.ok()) {
    return pinned.status();
  }
  const ServedModel& served = (*pinned)->served();
  if (!served.model->ready()) {
    (*pinned)->countFailure(InferFailure::kUnavailable);
    return unavailable("model '" + served.name + "' is not ready");
  }
  return pinned;
}

std::vector<ServedRoute> OipRouter::routes() const {
  std::vector<ServedRoute> routes;
  for (const auto& route : kBuiltinRoutes) {
    routes.push_back({route.method, route.pattern, builtinRole(route.action)});
  }
  for (const auto& route : contributed_) {
    routes.push_back({route.method, route.pattern, route.role});
  }
  return routes;
}

HttpFrontend::HttpFrontend(std::string node_name, HttpFrontendOptions options)
    : node_name_(std::move(node_name)), options_(std::move(options)) {}

HttpFrontend::~HttpFrontend() { stop(); }

Status HttpFrontend::start(Host& host) {
  std::lock_guard lock(mutex_);
  if (server_) {
    return failedPrecondition("frontend '" + node_name_ + "' is already serving on " + endpoint_);
  }
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  // Credentials first: a frontend that may not start loads no model.
  auto authenticator = startAuthenticator(host, node_name_, where, options_.host, options_.auth,
                                          "load, unload and infer");
  if (!authenticator.ok()) {
    return authenticator.status();
  }
  try {
    OipRouterOptions router_options;
    router_options.max_json_depth = options_.max_json_depth;
    router_options.mlflow_model = options_.mlflow_model;
    router_options.authenticator = std::move(authenticator).value();
    router_options.inline_max_us = options_.inline_max_us;
    router_options.bind_host = options_.host;
    AIMASS_ASSIGN_OR_RETURN(router_options.console, loadConsole(host));
    router_options.batched = [&host](std::string_view model) {
      const ModelServing* serving = host.serving();
      return serving != nullptr && serving->batching(model).max_batch_size > 1;
    };
    auto router =
        std::make_shared<const OipRouter>(host, node_name_, options_.models, router_options);
    HttpServerOptions server_options;
    server_options.host = options_.host;
    server_options.port = options_.port;
    server_options.threads = options_.threads;
    server_options.event_loops = options_.event_loops;
    server_options.max_body_bytes = options_.max_body_bytes;
    server_options.max_header_bytes = options_.max_header_bytes;
    server_options.max_connections = options_.max_connections;
    server_options.request_timeout_ms = options_.request_timeout_ms;
    server_options.idle_timeout_ms = options_.idle_timeout_ms;
    server_options.server_name = "aimass/" + std::string(host.version());
    server_options.tls = options_.tls;
    server_options.runs_inline = [router](const HttpRequest& request) {
      return router->runsInline(request);
    };
    // Route, method, credentials and cross-site rules on the head: a refused request's body
    // is never read.
    server_options.screen = [router](HttpRequest& head, HttpResponse& response) {
      return router->screen(head, response);
    };
    server_options.log = [&host, node = node_name_](LogLevel level, std::string message) {
      host.log(level, node, message);
    };
    // The server's request is handled in place (its body is not copied).
    HttpHandler handler = [router](HttpRequest& request, HttpResponse& response) {
      router->handleScreened(request, response);
    };
    AIMASS_ASSIGN_OR_RETURN(auto server,
                            HttpServer::start(std::move(server_options), std::move(handler)));
    endpoint_ = (options_.tls ? "https://" : "http://") + options_.host + ":" +
                std::to_string(server->port());
    router_ = std::move(router);
    server_ = std::move(server);
  } catch (const Poco::Exception& e) {
    return unavailable("cannot listen on " + where + ": " + e.displayText());
  } catch (const std::exception& e) {
    return unavailable("cannot listen on " + where + ": " + e.what());
  }
  host.log(LogLevel::kInfo, node_name_,
           "serving the Open Inference Protocol v2 on " + endpoint_ +
               (options_.tls ? " (" + options_.tls->description() + ")" : ""));
  return Status();
}

std::filesystem::path HttpFrontend::defaultConsoleDir() {
  // The file this function's code was loaded from: the plugin (or a test linking its code).
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&HttpFrontend::defaultConsoleDir), &info) == 0 ||
      info.dli_fname == nullptr) {
    return {};
  }
  std::error_code ec;
  const std::filesystem::path plugin = std::filesystem::canonical(info.dli_fname, ec);
  if (ec) {
    return {};
  }
  // <prefix>/lib/aimass/plugins/<this plugin> -> <prefix>/share/aimass/ui
  return (plugin.parent_path() / ".." / ".." / ".." / "share" / "aimass" / "ui").lexically_normal();
}

Expected<std::shared_ptr<const ConsoleFiles>> HttpFrontend::loadConsole(Host& host) const {
  if (!options_.console) {
    return std::shared_ptr<const ConsoleFiles>();
  }
  const bool named = !options_.console_dir.empty();
  const std::filesystem::path dir = named ? options_.console_dir : defaultConsoleDir();
  auto loaded = ConsoleFiles::load(dir);
  if (!loaded.ok()) {
    if (named) {
      return loaded.status().withContext("frontend '" + node_name_ + "', console_dir");
    }
    // The console is optional: a build without Node.js has none.
    const std::string why = loaded.status().message() +
                            "; this aimass was built or installed without it (docs/console.md)";
    host.log(LogLevel::kInfo, node_name_, "no web console: " + why);
    return std::make_shared<const ConsoleFiles>(ConsoleFiles::missing(why));
  }
  host.log(LogLevel::kInfo, node_name_,
           "web console at /ui/: " + std::to_string(loaded->fileCount()) + " files, " +
               std::to_string(loaded->totalBytes() >> 10) + " KiB from " + dir.string());
  return std::make_shared<const ConsoleFiles>(std::move(loaded).value());
}

void HttpFrontend::stop() noexcept {
  std::lock_guard lock(mutex_);
  if (!server_) {
    return;
  }
  // Stops accepting, lets the requests being handled answer, closes the other connections and
  // joins every thread.
  server_->stop();
  server_.reset();
  router_.reset();
  endpoint_.clear();
}

std::string HttpFrontend::endpoint() const {
  std::lock_guard lock(mutex_);
  return endpoint_;
}

std::vector<ServedRoute> HttpFrontend::routes() const {
  std::lock_guard lock(mutex_);
  return router_ ? router_->routes() : std::vector<ServedRoute>{};
}

}  // namespace aimass::plugins::frontend
