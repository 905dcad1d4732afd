// SPDX-License-Identifier: Apache-2.0
#include "evaluation_routes.h"

#include <charconv>
#include <exception>
#include <string>
#include <utility>

#include "aimass/core/registry.h"
#include "aimass/http.h"
#include "aimass/util/json_writer.h"
#include "evaluation_record.h"

namespace aimass::core {
namespace {

/// A path segment that must be a whole number from 1; `what` names it in the 400.
Expected<std::int64_t> pathNumber(const HttpRequest& request, const std::string& name,
                                  std::string_view what) {
  auto found = request.path_params.find(name);
  const std::string text = found == request.path_params.end() ? std::string() : found->second;
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < 1) {
    return invalidArgument(std::string(what) + " must be a whole number from 1, got '" + text +
                           "'");
  }
  return value;
}

void answerError(HttpResponse& response, const Status& status) {
  jsonError(response, httpStatusFor(status), status.message());
}

/// Runs `handler`; nothing escapes it (a last-resort 500 names the route).
template <typename Handler>
RouteHandler guarded(std::string route, Handler handler) {
  return [route = std::move(route), handler = std::move(handler)](const HttpRequest& request,
                                                                  HttpResponse& response) {
    try {
      handler(request, response);
    } catch (const std::exception& e) {
      jsonError(response, 500, route + " failed: " + e.what());
    } catch (...) {
      jsonError(response, 500, route + " failed");
    }
  };
}

std::string evaluationsJson(const std::vector<VersionEvaluation>& evaluations) {
  JsonWriter json;
  json.beginObject();
  json.key("evaluations").beginArray();
  for (const VersionEvaluation& e : evaluations) {
    json.beginObject();
    json.key("run_id").value(e.run_id);
    json.key("dataset").value(e.dataset);
    json.key("dataset_version");
    if (e.dataset_version > 0) {
      json.value(e.dataset_version);
    } else {
      json.null();
    }
    json.key("unix_ms").value(e.unix_ms);
    json.key("metrics").beginObject();
    for (const auto& [name, value] : e.metrics) {
      json.key(name).value(value);
    }
    json.endObject();
    json.endObject();
  }
  json.endArray();
  json.endObject();
  return json.str();
}

void addRoute(Host& host, Route route) {
  const std::string shown = route.method + " " + route.pattern;
  if (Status added = host.routes().add(std::move(route)); !added.ok()) {
    host.log(LogLevel::kError, "",
             "the route " + shown + " could not be added: " + added.message());
  }
}

}  // namespace

void addEvaluationRoutes(Host& host, std::shared_ptr<Storage> storage) {
  Route report;
  report.method = "GET";
  report.pattern = "/api/v1/runs/{id}/evaluation";
  report.summary = "The evaluation report a job.evaluate recorded with run {id}";
  report.role = Role::kReader;
  report.handler =
      guarded(report.pattern, [storage](const HttpRequest& request, HttpResponse& response) {
        auto id = pathNumber(request, "id", "the run id in the path");
        if (!id.ok()) {
          return answerError(response, id.status());
        }
        auto stored = storedEvaluation(*storage, *id);
        if (!stored.ok()) {
          return answerError(response, stored.status());
        }
        response.status = 200;
        response.content_type = "application/json";
        response.body = std::move(stored).value();
      });
  addRoute(host, std::move(report));

  Route listed;
  listed.method = "GET";
  listed.pattern = "/api/v1/models/{name}/versions/{version}/evaluations";
  listed.summary = "The recorded evaluations of a registered model version, newest first";
  listed.role = Role::kReader;
  listed.handler =
      guarded(listed.pattern, [storage](const HttpRequest& request, HttpResponse& response) {
        auto name = request.path_params.find("name");
        const std::string model = name == request.path_params.end() ? std::string() : name->second;
        if (Status valid = ModelRegistry::validateName(model, "model"); !valid.ok()) {
          return answerError(response, valid.withContext("the model in the path"));
        }
        auto version = pathNumber(request, "version", "the version in the path");
        if (!version.ok()) {
          return answerError(response, version.status());
        }
        auto evaluations = versionEvaluations(*storage, model, *version);
        if (!evaluations.ok()) {
          return answerError(response, evaluations.status());
        }
        response.status = 200;
        response.content_type = "application/json";
        response.body = evaluationsJson(*evaluations);
      });
  addRoute(host, std::move(listed));
}

}  // namespace aimass::core
