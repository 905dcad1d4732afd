// SPDX-License-Identifier: Apache-2.0
#include "http_frontend.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/ThreadPool.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <istream>
#include <utility>

#include "infer_codec.h"

namespace aimass::plugins::frontend {
namespace {

/// After refusing an oversized body, read (and drop) at most this much of it so the client
/// sees the 413 instead of a connection reset; anything larger is cut off by closing.
constexpr std::int64_t kDrainLimitBytes = 1 << 20;
constexpr int kIdleKeepAliveSeconds = 5;
constexpr int kSocketTimeoutSeconds = 30;

std::string lowerCase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

void jsonBody(HttpResponse& response, int status, std::string body) {
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
}

/// Sets TCP_NODELAY on every accepted connection: responses are written in one piece and
/// must not wait for the client's delayed ACK.
class NoDelayFilter final : public Poco::Net::TCPServerConnectionFilter {
 public:
  bool accept(const Poco::Net::StreamSocket& socket) override {
    try {
      Poco::Net::StreamSocket(socket).setNoDelay(true);
    } catch (const Poco::Exception&) {
      // The connection still works without it.
    }
    return true;
  }
};

/// Bridges one Poco request to the OipRouter: enforces the body limit, converts the request,
/// writes the answer. One instance per request (Poco's model).
class RequestHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  RequestHandler(std::shared_ptr<const OipRouter> router, std::int64_t max_body_bytes)
      : router_(std::move(router)), max_body_bytes_(max_body_bytes) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    HttpResponse out;
    bool body_refused = false;
    try {
      HttpRequest in;
      in.method = request.getMethod();
      Poco::URI uri(request.getURI());
      in.path = uri.getPath();
      for (const auto& [key, value] : uri.getQueryParameters()) {
        in.query[key] = value;
      }
      for (const auto& [key, value] : request) {
        in.headers[lowerCase(key)] = value;
      }
      if (readBody(request, in.body)) {
        router_->handle(in, out);
      } else {
        body_refused = true;
        jsonError(out, 413,
                  "the request body is larger than the limit of " +
                      std::to_string(max_body_bytes_) + " bytes (max_body_bytes)");
      }
    } catch (const Poco::SyntaxException& e) {
      jsonError(out, 400, "malformed request URI: " + e.displayText());
    } catch (const std::exception& e) {
      jsonError(out, 500, std::string("internal error: ") + e.what());
    } catch (...) {
      jsonError(out, 500, "internal error");
    }
    try {
      if (body_refused) {
        response.setKeepAlive(false);
      }
      response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(out.status));
      response.setContentType(out.content_type);
      for (const auto& [name, value] : out.headers) {
        response.set(name, value);
      }
      response.setContentLength64(static_cast<Poco::Int64>(out.body.size()));
      response.send().write(out.body.data(), static_cast<std::streamsize>(out.body.size()));
      if (body_refused) {
        drain(request);
      }
    } catch (...) {
      // The client went away; nothing left to tell it.
    }
  }

 private:
  /// Reads the body into `body`; false when it exceeds the limit. A request with neither a
  /// Content-Length nor chunked encoding has no body (RFC 9112), so nothing is read.
  bool readBody(Poco::Net::HTTPServerRequest& request, std::string& body) {
    if (request.hasContentLength()) {
      if (request.getContentLength64() > max_body_bytes_) {
        return false;
      }
    } else if (!request.getChunkedTransferEncoding()) {
      return true;
    }
    std::istream& stream = request.stream();
    char buffer[64 * 1024];
    while (stream) {
      stream.read(buffer, sizeof(buffer));
      auto n = stream.gcount();
      if (n <= 0) {
        break;
      }
      if (static_cast<std::int64_t>(body.size()) + n > max_body_bytes_) {
        return false;
      }
      body.append(buffer, static_cast<std::size_t>(n));
    }
    return true;
  }

  void drain(Poco::Net::HTTPServerRequest& request) {
    if (!request.hasContentLength() && !request.getChunkedTransferEncoding()) {
      return;
    }
    request.stream().ignore(kDrainLimitBytes);
  }

  std::shared_ptr<const OipRouter> router_;
  std::int64_t max_body_bytes_;
};

class HandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  HandlerFactory(std::shared_ptr<const OipRouter> router, std::int64_t max_body_bytes)
      : router_(std::move(router)), max_body_bytes_(max_body_bytes) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new RequestHandler(router_, max_body_bytes_);
  }

 private:
  std::shared_ptr<const OipRouter> router_;
  std::int64_t max_body_bytes_;
};

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
    kInfer
  } action;
};

constexpr BuiltinRoute kBuiltinRoutes[] = {
    {"GET", "/v2/health/live", BuiltinRoute::Action::kLive},
    {"GET", "/v2/health/ready", BuiltinRoute::Action::kServerReady},
    {"GET", "/v2", BuiltinRoute::Action::kServerMetadata},
    {"GET", "/v2/models/{model}", BuiltinRoute::Action::kModelMetadata},
    {"GET", "/v2/models/{model}/versions/{version}", BuiltinRoute::Action::kModelMetadata},
    {"GET", "/v2/models/{model}/ready", BuiltinRoute::Action::kModelReady},
    {"GET", "/v2/models/{model}/versions/{version}/ready", BuiltinRoute::Action::kModelReady},
    {"POST", "/v2/models/{model}/infer", BuiltinRoute::Action::kInfer},
    {"POST", "/v2/models/{model}/versions/{version}/infer", BuiltinRoute::Action::kInfer},
};

}  // namespace

OipRouter::OipRouter(Host& host, std::string node_name,
                     std::optional<std::vector<std::string>> models)
    : host_(host),
      node_name_(std::move(node_name)),
      models_(std::move(models)),
      contributed_(host.routes().routes()) {}

void OipRouter::handle(const HttpRequest& request, HttpResponse& response) const {
  try {
    std::vector<std::string> allowed;
    auto allow = [&](const std::string& method) {
      if (std::find(allowed.begin(), allowed.end(), method) == allowed.end()) {
        allowed.push_back(method);
      }
    };
    for (const auto& route : kBuiltinRoutes) {
      HttpRequest matched;
      if (!matchRoute(route.pattern, request.path, matched.path_params)) {
        continue;
      }
      if (request.method != route.method) {
        allow(route.method);
        continue;
      }
      matched.method = request.method;
      matched.path = request.path;
      matched.query = request.query;
      matched.headers = request.headers;
      matched.body = request.body;
      matched.principal = request.principal;
      switch (route.action) {
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
          modelMetadata(matched, response);
          return;
        case BuiltinRoute::Action::kModelReady:
          modelReady(matched, response);
          return;
        case BuiltinRoute::Action::kInfer:
          infer(matched, response);
          return;
      }
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
      HttpRequest matched = request;
      matched.path_params = std::move(params);
      try {
        route.handler(matched, response);
      } catch (const std::exception& e) {
        host_.log(LogLevel::kError, node_name_,
                  "route " + route.method + " " + route.pattern + " of node '" + route.owner +
                      "' threw: " + e.what());
        response = HttpResponse();
        jsonError(response, 500, "internal error in " + route.pattern);
      }
      return;
    }
    if (!allowed.empty()) {
      std::string list;
      for (const auto& m : allowed) {
        list += (list.empty() ? "" : ", ") + m;
      }
      jsonError(
          response, 405,
          "method " + request.method + " is not allowed on " + request.path + "; use " + list);
      response.headers.emplace_back("Allow", list);
      return;
    }
    jsonError(response, 404, "no route for " + request.method + " " + request.path);
  } catch (const std::exception& e) {
    host_.log(LogLevel::kError, node_name_,
              "request " + request.method + " " + request.path + " failed: " + e.what());
    response = HttpResponse();
    jsonError(response, 500, std::string("internal error: ") + e.what());
  }
}

bool OipRouter::serves(std::string_view name) const {
  return !models_ || std::find(models_->begin(), models_->end(), name) != models_->end();
}

Expected<ServedModel> OipRouter::findModel(const HttpRequest& request) const {
  const std::string& name = request.path_params.at("model");
  auto version = request.path_params.find("version");
  if (!serves(name)) {
    return notFound("unknown model '" + name + "'");
  }
  auto found = host_.models().find(
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
  body += ",\"extensions\":[]}";
  jsonBody(response, 200, std::move(body));
}

void OipRouter::serverReady(HttpResponse& response) const {
  bool ready = true;
  std::vector<ServedModel> served = host_.models().list();
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
  for (const auto& m : host_.models().list()) {
    if (m.name == served->name) {
      versions.push_back(m.version);
    }
  }
  jsonBody(response, 200, encodeModelMetadata(served->name, versions, served->model->schema()));
}

void OipRouter::modelReady(const HttpRequest& request, HttpResponse& response) const {
  auto served = findModel(request);
  if (!served.ok()) {
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
  auto served = findModel(request);
  if (!served.ok()) {
    jsonError(response, httpStatusFor(served.status()), served.status().message());
    return;
  }
  const Model& model = *served->model;
  if (!model.ready()) {
    jsonError(response, 503, "model '" + served->name + "' is not ready");
    return;
  }
  auto decoded = decodeInferRequest(request.body, model.schema());
  if (!decoded.ok()) {
    jsonError(response, httpStatusFor(decoded.status()), decoded.status().message());
    return;
  }
  TensorMap outputs;
  Status predicted =
      guard("predict", [&] { return model.predict(decoded->inputs, outputs, PredictOptions{}); });
  if (!predicted.ok()) {
    int status = httpStatusFor(predicted);
    if (status >= 500 && status != 503) {
      host_.log(LogLevel::kError, node_name_,
                "model '" + served->name + "' failed: " + predicted.toString());
    }
    jsonError(response, status, "model '" + served->name + "': " + predicted.message());
    return;
  }
  auto body =
      encodeInferResponse(served->name, served->version, decoded->id, outputs, decoded->outputs);
  if (!body.ok()) {
    host_.log(LogLevel::kError, node_name_,
              "model '" + served->name + "': " + body.status().toString());
    jsonError(response, httpStatusFor(body.status()), body.status().message());
    return;
  }
  jsonBody(response, 200, std::move(body).value());
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
  try {
    auto router = std::make_shared<const OipRouter>(host, node_name_, options_.models);
    Poco::Net::SocketAddress address(options_.host, static_cast<Poco::UInt16>(options_.port));
    Poco::Net::ServerSocket socket;
    socket.bind(address, /*reuseAddress=*/true, /*reusePort=*/false);
    socket.listen(256);

    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(options_.threads);
    params->setMaxQueued(1024);
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(Poco::Timespan(kIdleKeepAliveSeconds, 0));
    params->setTimeout(Poco::Timespan(kSocketTimeoutSeconds, 0));
    params->setSoftwareVersion("aimass/" + std::string(host.version()));

    auto pool = std::make_unique<Poco::ThreadPool>(1, options_.threads);
    auto server = std::make_unique<Poco::Net::HTTPServer>(
        new HandlerFactory(router, options_.max_body_bytes), *pool, socket, params);
    server->setConnectionFilter(new NoDelayFilter);
    server->start();

    endpoint_ = "http://" + options_.host + ":" + std::to_string(socket.address().port());
    router_ = std::move(router);
    pool_ = std::move(pool);
    server_ = std::move(server);
  } catch (const Poco::Exception& e) {
    return unavailable("cannot listen on " + where + ": " + e.displayText());
  } catch (const std::exception& e) {
    return unavailable("cannot listen on " + where + ": " + e.what());
  }
  host.log(LogLevel::kInfo, node_name_, "serving the Open Inference Protocol v2 on " + endpoint_);
  return Status();
}

void HttpFrontend::stop() noexcept {
  std::lock_guard lock(mutex_);
  if (!server_) {
    return;
  }
  try {
    // Stops accepting, then lets each connection finish its current request before closing
    // it; idle keep-alive connections close at once.
    server_->stopAll(false);
  } catch (...) {
  }
  try {
    pool_->joinAll();
  } catch (...) {
  }
  server_.reset();
  pool_.reset();
  router_.reset();
  endpoint_.clear();
}

std::string HttpFrontend::endpoint() const {
  std::lock_guard lock(mutex_);
  return endpoint_;
}

}  // namespace aimass::plugins::frontend
