// SPDX-License-Identifier: Apache-2.0
#include "evaluation_routes.h"

#include <charconv>
#include <exception>
#include <functional>
#include <string>
#include <utility>

#include "aimass/core/registry.h"
#include "aimass/http.h"
#include "aimass/util/json_writer.h"
#include "evaluation_record.h"
#include "version_runs.h"

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

/// The model and version a /api/v1/models/{name}/versions/{version}/... path names, checked.
Expected<std::pair<std::string, std::int64_t>> versionPath(const HttpRequest& request) {
  auto name = request.path_params.find("name");
  std::string model = name == request.path_params.end() ? std::string() : name->second;
  AIMASS_RETURN_IF_ERROR(
      ModelRegistry::validateName(model, "model").withContext("the model in the path"));
  AIMASS_ASSIGN_OR_RETURN(auto version, pathNumber(request, "version", "the version in the path"));
  return std::pair{std::move(model), version};
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

/// Adds a GET route, role reader, whose body `read` makes: a 200 with it, or the error of the
/// status `read` gives (httpStatusFor: 400, 404, 503, 500). Nothing escapes the handler (a
/// last-resort 500 names the route). A route that is taken is logged and left out.
void addRead(Host& host, std::string pattern, std::string summary,
             std::function<Expected<std::string>(const HttpRequest&)> read) {
  Route route;
  route.method = "GET";
  route.pattern = std::move(pattern);
  route.summary = std::move(summary);
  route.role = Role::kReader;
  route.handler = [pattern = route.pattern, read = std::move(read)](const HttpRequest& request,
                                                                    HttpResponse& response) {
    try {
      auto body = read(request);
      if (!body.ok()) {
        return jsonError(response, httpStatusFor(body.status()), body.status().message());
      }
      response.status = 200;
      response.content_type = "application/json";
      response.body = std::move(body).value();
    } catch (const std::exception& e) {
      jsonError(response, 500, "GET " + pattern + " failed: " + e.what());
    } catch (...) {
      jsonError(response, 500, "GET " + pattern + " failed");
    }
  };
  if (Status added = host.routes().add(std::move(route)); !added.ok()) {
    host.log(LogLevel::kError, "", "a route could not be added: " + added.message());
  }
}

}  // namespace

void addEvaluationRoutes(Host& host, std::shared_ptr<Storage> storage) {
  addRead(host, "/api/v1/runs/{id}/evaluation",
          "The evaluation report a job.evaluate recorded with run {id}",
          [storage](const HttpRequest& request) -> Expected<std::string> {
            AIMASS_ASSIGN_OR_RETURN(auto id, pathNumber(request, "id", "the run id in the path"));
            return storedEvaluation(*storage, id);
          });
  addRead(host, "/api/v1/models/{name}/versions/{version}/evaluations",
          "The recorded evaluations of a registered model version, newest first",
          [storage](const HttpRequest& request) -> Expected<std::string> {
            AIMASS_ASSIGN_OR_RETURN(auto path, versionPath(request));
            const auto& [model, version] = path;
            AIMASS_ASSIGN_OR_RETURN(auto evaluations, versionEvaluations(*storage, model, version));
            return evaluationsJson(evaluations);
          });
  addRead(host, "/api/v1/models/{name}/versions/{version}/run",
          "The tracked run that trained a registered model version (job.train records it)",
          [storage](const HttpRequest& request) -> Expected<std::string> {
            AIMASS_ASSIGN_OR_RETURN(auto path, versionPath(request));
            const auto& [model, version] = path;
            AIMASS_ASSIGN_OR_RETURN(std::int64_t run, versionRun(*storage, model, version));
            JsonWriter json;
            json.beginObject().key("model").value(model).key("version").value(version);
            json.key("run_id").value(run).endObject();
            return json.str();
          });
}

}  // namespace aimass::core
