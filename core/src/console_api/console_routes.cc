// SPDX-License-Identifier: Apache-2.0
// The handlers run on the frontend's worker threads, many at once. They share only the storage
// (whose every method is thread-safe) and the type registry (read-only once the plugins have
// loaded), and keep no state of their own, so they take no lock. The storage is held by a
// shared_ptr in each handler; the registry by reference: it is the graph's, which outlives the
// frontends that call the handlers. Every answer is built in memory: the largest, a page of
// window records, stops once they hold 32 MiB (monitoring_records.h).
#include "console_api/console_routes.h"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "aimass/core/graph.h"
#include "aimass/core/registry.h"
#include "aimass/core/type_docs.h"
#include "aimass/core/type_registry.h"
#include "aimass/http.h"
#include "aimass/util/json_writer.h"
#include "jobs/jobs_node.h"
#include "monitoring/monitoring_records.h"
#include "tune/tune_cli.h"

namespace aimass::core {
namespace {

/// Every route's answer: 200 with `json`, or the error of `result` with its status (404 for
/// kNotFound, 500 for kDataLoss and a failing store, each message naming the key).
void answer(HttpResponse& response, const Expected<std::string>& result) {
  if (!result.ok()) {
    jsonError(response, httpStatusFor(result.status()), result.status().message());
    return;
  }
  response.status = 200;
  response.content_type = "application/json";
  response.body = *result;
}

/// kInvalidArgument naming the first query parameter not in `known`.
Status onlyQuery(const HttpRequest& request, std::initializer_list<std::string_view> known) {
  for (const auto& [name, value] : request.query) {
    bool found = false;
    for (std::string_view k : known) found = found || name == k;
    if (!found) {
      std::string list;
      for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return invalidArgument("unknown query parameter '" + name + "'" +
                             (list.empty() ? " (this route takes none)" : " (use " + list + ")"));
    }
  }
  return Status();
}

/// Query parameter `name` as a whole number in [lowest, highest]; `fallback` when absent.
Expected<std::int64_t> wholeQuery(const HttpRequest& request, const std::string& name,
                                  std::int64_t fallback, std::int64_t lowest,
                                  std::int64_t highest) {
  auto it = request.query.find(name);
  if (it == request.query.end()) return fallback;
  const std::string& text = it->second;
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < lowest ||
      value > highest) {
    return invalidArgument("query parameter '" + name + "' must be a whole number from " +
                           std::to_string(lowest) + " to " + std::to_string(highest) + ", got '" +
                           text.substr(0, 40) + (text.size() > 40 ? "...'" : "'"));
  }
  return value;
}

/// The {name} of the path, checked as a registry name ("study", "model").
Expected<std::string> nameInPath(const HttpRequest& request, const char* capture,
                                 std::string_view what) {
  auto it = request.path_params.find(capture);
  const std::string name = it == request.path_params.end() ? std::string() : it->second;
  AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(name, what));
  return name;
}

using Handler = std::function<Expected<std::string>(const HttpRequest&)>;

/// Adds routes to the host's table; a route a node took first is left out, the others are
/// added, and the first such refusal is kept for the caller.
class RouteAdder {
 public:
  explicit RouteAdder(Host& host) : host_(host) {}

  void add(Route route) {
    route.owner = "aimass";
    Status added = host_.routes().add(std::move(route));
    if (first_error_.ok() && !added.ok()) first_error_ = std::move(added);
  }

  /// A JSON route whose handler's error becomes the answer; nothing escapes it.
  void addJson(const char* method, std::string pattern, std::string summary, Role role,
               Handler handler) {
    Route route;
    route.method = method;
    route.pattern = std::move(pattern);
    route.summary = std::move(summary);
    route.role = role;
    route.handler = [handler = std::move(handler)](const HttpRequest& request,
                                                   HttpResponse& response) {
      try {
        answer(response, handler(request));
      } catch (const std::exception& e) {
        jsonError(response, 500, std::string("console API failure: ") + e.what());
      }
    };
    add(std::move(route));
  }

  const Status& firstError() const { return first_error_; }

 private:
  Host& host_;
  Status first_error_;
};

// --- POST /api/v1/graphs/validate

/// The media types a graph may come as; anything else is 415.
bool yamlMediaType(std::string_view type) {
  const std::string_view media = type.substr(0, type.find(';'));
  std::string lower;
  for (char c : media) {
    if (c != ' ' && c != '\t')
      lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return lower == "application/yaml" || lower == "application/x-yaml" || lower == "text/yaml" ||
         lower == "text/plain";
}

void validateGraph(const TypeRegistry& types, const std::filesystem::path& base_dir,
                   const HttpRequest& request, HttpResponse& response) {
  if (Status query = onlyQuery(request, {"as"}); !query.ok()) {
    return jsonError(response, 400, query.message());
  }
  // ?as=job: also the rules of a job submission (the graph must end); by default any graph, as
  // `aimass validate` checks it (a serving graph too).
  bool as_job = false;
  if (auto as = request.query.find("as"); as != request.query.end()) {
    if (as->second != "job" && as->second != "graph") {
      return jsonError(
          response, 400,
          "query parameter 'as' must be graph or job, not '" + as->second.substr(0, 40) + "'");
    }
    as_job = as->second == "job";
  }
  auto type = request.headers.find("content-type");
  if (type == request.headers.end() || !yamlMediaType(type->second)) {
    return jsonError(response, 415,
                     "the body must be a YAML graph sent as Content-Type application/yaml, "
                     "text/yaml or text/plain (found " +
                         (type == request.headers.end() ? std::string("none")
                                                        : "'" + type->second.substr(0, 80) + "'") +
                         ")");
  }
  if (request.body.empty()) {
    return jsonError(response, 400, "the body is empty: send the graph's YAML");
  }
  std::unique_ptr<Graph> graph;
  const Diagnostics diagnostics =
      as_job ? jobs::jobGraphDiagnostics(request.body, "graph.yaml", base_dir, types, &graph)
             : jobs::graphDiagnostics(request.body, "graph.yaml", base_dir, types, &graph);
  JsonWriter json;
  json.beginObject().key("valid").value(diagnostics.empty());
  if (diagnostics.empty()) {
    json.key("nodes").beginArray();
    for (const GraphNode& node : graph->nodes()) {
      json.beginObject().key("name").value(node.decl.name).key("type").value(node.decl.type);
      json.key("kind").value(nodeKindName(node.type->type.kind)).endObject();
    }
  } else {
    json.key("errors").beginArray();
    for (const Diagnostic& d : diagnostics) {
      json.beginObject().key("file").value(d.where.file);
      json.key("line").value(std::int64_t{d.where.line});
      json.key("column").value(std::int64_t{d.where.column});
      json.key("message").value(d.message);
      if (!d.hint.empty()) json.key("hint").value(d.hint);
      json.endObject();
    }
  }
  json.endArray().endObject();
  response.status = 200;
  response.content_type = "application/json";
  response.body = json.str();
}

void addGraphRoutes(RouteAdder& routes, const TypeRegistry& types, std::filesystem::path base_dir) {
  routes.addJson(
      "GET", "/api/v1/plugins",
      "Every loaded node type: kind, plugin, summary and parameters (aimass plugins reference)",
      Role::kReader, [&types](const HttpRequest& request) -> Expected<std::string> {
        AIMASS_RETURN_IF_ERROR(onlyQuery(request, {}));
        return nodeTypesJson(types);
      });
  Route route;
  route.method = "POST";
  route.pattern = "/api/v1/graphs/validate";
  route.summary =
      "Validate a YAML graph (the body) as a job submission is, without creating any node: "
      "{valid, nodes} or {valid: false, errors at their lines and columns}";
  route.role = Role::kOperator;
  route.handler = [&types, base_dir = std::move(base_dir)](const HttpRequest& request,
                                                           HttpResponse& response) {
    try {
      validateGraph(types, base_dir, request, response);
    } catch (const std::exception& e) {
      jsonError(response, 500, std::string("console API failure: ") + e.what());
    }
  };
  routes.add(std::move(route));
}

// --- studies and monitoring

void addStudyRoutes(RouteAdder& routes, std::shared_ptr<const Storage> storage) {
  routes.addJson(
      "GET", "/api/v1/studies",
      "Tuning studies: optimizer, objective, trial counts, best (aimass tune list --json)",
      Role::kReader, [storage](const HttpRequest& request) -> Expected<std::string> {
        AIMASS_RETURN_IF_ERROR(onlyQuery(request, {}));
        return studyListJson(*storage);
      });
  routes.addJson(
      "GET", "/api/v1/studies/{name}",
      "One study: settings, space, trials best first, importances, best (aimass tune show "
      "--json); ?top=N for the N best trials",
      Role::kReader, [storage](const HttpRequest& request) -> Expected<std::string> {
        AIMASS_RETURN_IF_ERROR(onlyQuery(request, {"top"}));
        AIMASS_ASSIGN_OR_RETURN(std::string name, nameInPath(request, "name", "study"));
        AIMASS_ASSIGN_OR_RETURN(std::int64_t top,
                                wholeQuery(request, "top", 0, 1, std::int64_t{1} << 40));
        return studyJson(*storage, name, static_cast<std::size_t>(top));
      });
}

void addMonitoringRoutes(RouteAdder& routes, std::shared_ptr<const Storage> storage) {
  routes.addJson(
      "GET", "/api/v1/monitoring",
      "Every monitored model: window records kept, the last window's verdict, live metrics per "
      "version, the monitor's saved state",
      Role::kReader, [storage](const HttpRequest& request) -> Expected<std::string> {
        AIMASS_RETURN_IF_ERROR(onlyQuery(request, {}));
        return monitoringListJson(*storage);
      });
  routes.addJson("GET", "/api/v1/monitoring/{model}",
                 "One monitored model: its summary and the last window's per-feature drift",
                 Role::kReader, [storage](const HttpRequest& request) -> Expected<std::string> {
                   AIMASS_RETURN_IF_ERROR(onlyQuery(request, {}));
                   AIMASS_ASSIGN_OR_RETURN(std::string model,
                                           nameInPath(request, "model", "model"));
                   return monitoringSummaryJson(*storage, model, true);
                 });
  routes.addJson(
      "GET", "/api/v1/monitoring/{model}/windows",
      "A model's drift window records, oldest first: ?after=UNIX_NS&limit=N (default 500, "
      "at most 5000)",
      Role::kReader, [storage](const HttpRequest& request) -> Expected<std::string> {
        AIMASS_RETURN_IF_ERROR(onlyQuery(request, {"after", "limit"}));
        AIMASS_ASSIGN_OR_RETURN(std::string model, nameInPath(request, "model", "model"));
        WindowRecordsQuery query;
        AIMASS_ASSIGN_OR_RETURN(
            std::int64_t limit,
            wholeQuery(request, "limit", static_cast<std::int64_t>(kDefaultWindowRecords), 1,
                       static_cast<std::int64_t>(kMostWindowRecords)));
        query.limit = static_cast<std::size_t>(limit);
        if (request.query.count("after") > 0) {
          AIMASS_ASSIGN_OR_RETURN(
              query.after_ns,
              wholeQuery(request, "after", 0, 0, std::numeric_limits<std::int64_t>::max()));
        }
        return monitoringWindowsJson(*storage, model, query);
      });
}

}  // namespace

Status addConsoleApiRoutes(Host& host, const ConsoleApiSources& sources) {
  RouteAdder routes(host);
  if (sources.types != nullptr) {
    addGraphRoutes(routes, *sources.types, sources.base_dir);
  }
  if (sources.storage) {
    addStudyRoutes(routes, sources.storage);
    addMonitoringRoutes(routes, sources.storage);
  }
  return routes.firstError();
}

}  // namespace aimass::core
