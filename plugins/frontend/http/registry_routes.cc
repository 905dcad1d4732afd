// SPDX-License-Identifier: Apache-2.0
#include "registry_routes.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "aimass/job_service.h"
#include "aimass/registry_service.h"
#include "aimass/util/json_writer.h"
#include "aimass/util/job_json.h"
#include "aimass/util/memory_size.h"
#include "aimass/util/registry_json.h"
#include "api_routes.h"
#include "job_routes.h"
#include "json_body.h"

namespace aimass::plugins::frontend {
namespace {

/// The model name and version of a .../models/{name}/versions/{version} path.
Expected<std::pair<std::string, std::int64_t>> versionPath(const ModelRegistryService& registry,
                                                           const HttpRequest& request) {
  const std::string& name = param(request, "name");
  AIMASS_RETURN_IF_ERROR(registry.validateName(name, "model"));
  AIMASS_ASSIGN_OR_RETURN(std::int64_t version,
                          positiveNumber(param(request, "version"), "the version in the path"));
  return std::make_pair(name, version);
}

/// {"KEY": "VALUE", ...} with string values; `field` names the object in errors.
Expected<std::map<std::string, std::string>> stringMap(const Poco::Dynamic::Var& value,
                                                       const std::string& field) {
  if (value.type() != typeid(Poco::JSON::Object::Ptr)) {
    return invalidArgument("'" + field + "' must be an object of KEY: \"VALUE\" strings");
  }
  std::map<std::string, std::string> out;
  for (const auto& [key, tag] : *value.extract<Poco::JSON::Object::Ptr>()) {
    if (!tag.isString()) {
      return invalidArgument("tag '" + key + "' in '" + field + "' must be a string");
    }
    out[key] = tag.convert<std::string>();
  }
  return out;
}

void promote(ModelRegistryService& registry, const HttpRequest& request, HttpResponse& response) {
  const std::string what = "POST /api/v1/models/{name}/aliases/{alias}";
  auto body = jsonObjectBody(request.body, what, EmptyBody::kRefused);
  if (!body.ok()) {
    return fail(response, body.status());
  }
  if (Status keys = onlyKeys(**body, {"version"}, what); !keys.ok()) {
    return fail(response, keys);
  }
  Poco::Dynamic::Var version = (*body)->get("version");
  if (version.isEmpty() || !version.isInteger() || version.convert<std::int64_t>() < 1) {
    return fail(response, invalidArgument("the body of " + what +
                                          " needs \"version\": a whole number from 1"));
  }
  answerWith(response,
             registry.promoteAs(param(request, "name"), param(request, "alias"),
                                version.convert<std::int64_t>(), request.principal),
             modelAliasJson);
}

void deleteVersion(ModelRegistryService& registry, const HttpRequest& request,
                   HttpResponse& response) {
  auto path = versionPath(registry, request);
  if (!path.ok()) {
    return fail(response, path.status());
  }
  bool force = false;
  for (const auto& [name, value] : request.query) {
    if (name != "force") {
      return fail(response, invalidArgument("unknown query parameter '" + name +
                                            "' (DELETE takes only force=true|false)"));
    }
    if (value != "true" && value != "false") {
      return fail(response, invalidArgument("query parameter 'force' must be true or false, got '" +
                                            value + "'"));
    }
    force = value == "true";
  }
  if (Status deleted =
          registry.deleteVersionAs(path->first, path->second, force, request.principal);
      !deleted.ok()) {
    return fail(response, deleted);
  }
  JsonWriter json;
  json.beginObject();
  json.key("model").value(path->first);
  json.key("version").value(path->second);
  json.key("deleted").value(true);
  json.endObject();
  answer(response, json.str());
}

/// {"set": {...}, "remove": [...]}: what a PATCH of a version's tags changes.
Status patchedTags(const Poco::JSON::Object& body, const std::string& what,
                   std::map<std::string, std::string>& set, std::vector<std::string>& remove) {
  AIMASS_RETURN_IF_ERROR(onlyKeys(body, {"set", "remove"}, what));
  if (body.has("set")) {
    AIMASS_ASSIGN_OR_RETURN(set, stringMap(body.get("set"), "set"));
  }
  if (body.has("remove")) {
    Poco::JSON::Array::Ptr keys = body.getArray("remove");
    if (keys.isNull()) {
      return invalidArgument("'remove' must be an array of tag names");
    }
    for (std::size_t i = 0; i < keys->size(); ++i) {
      if (!keys->get(static_cast<unsigned>(i)).isString()) {
        return invalidArgument("'remove' must be an array of tag names; item " + std::to_string(i) +
                               " is not a string");
      }
      remove.push_back(keys->getElement<std::string>(static_cast<unsigned>(i)));
    }
  }
  if (set.empty() && remove.empty()) {
    return invalidArgument("the body of " + what + " changes nothing: give \"set\" or \"remove\"");
  }
  return Status();
}

/// PUT: the body is the version's whole tag set. PATCH: {"set": {...}, "remove": [...]}.
void tags(ModelRegistryService& registry, const HttpRequest& request, HttpResponse& response,
          bool replace) {
  const std::string what =
      std::string(replace ? "PUT" : "PATCH") + " /api/v1/models/{name}/versions/{version}/tags";
  auto path = versionPath(registry, request);
  if (!path.ok()) {
    return fail(response, path.status());
  }
  auto body = jsonObjectBody(request.body, what, EmptyBody::kRefused);
  if (!body.ok()) {
    return fail(response, body.status());
  }
  if (replace) {
    auto wanted = stringMap(Poco::Dynamic::Var(*body), "the body");
    if (!wanted.ok()) {
      return fail(response, wanted.status());
    }
    return answerWith(response, registry.replaceTags(path->first, path->second, *wanted),
                      modelVersionJson);
  }
  std::map<std::string, std::string> set;
  std::vector<std::string> remove;
  if (Status read = patchedTags(**body, what, set, remove); !read.ok()) {
    return fail(response, read);
  }
  answerWith(response, registry.setTags(path->first, path->second, set, remove), modelVersionJson);
}

/// Most events one GET /api/v1/models/{name}/events returns; later ones are paged with `after`.
constexpr std::size_t kMaxEventsPerPage = 1000;
/// A metric's values one GET /api/v1/runs/{id}/metrics/{name} returns unless `limit` says
/// otherwise (a whole job.train run of 100 epochs of W1 logs about 47,000 step losses), and the
/// most it may ask for; later values are paged with `after_step`.
constexpr std::size_t kMetricPointsPerPage = 10000;
constexpr std::size_t kMaxMetricPointsPerPage = 100000;

/// A whole number of `value` for query parameter `where`, at most `max`.
Expected<std::uint64_t> wholeNumber(const std::string& value, const std::string& where,
                                    std::uint64_t max) {
  std::uint64_t n = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || error != std::errc() || end != value.data() + value.size() || n > max) {
    return invalidArgument(where + " must be a whole number from 0 to " + std::to_string(max) +
                           ", got '" + value + "'");
  }
  return n;
}

/// The query of GET /api/v1/models/{name}/events: after (a sequence), limit (1..1000, default
/// 100) and kind.
Expected<ModelEventQuery> eventsQuery(const HttpRequest& request) {
  ModelEventQuery query;
  for (const auto& [name, value] : request.query) {
    const std::string where = "query parameter '" + name + "'";
    if (name == "after") {
      AIMASS_ASSIGN_OR_RETURN(auto after,
                              wholeNumber(value, where, std::numeric_limits<std::int64_t>::max()));
      query.after_sequence = static_cast<std::int64_t>(after);
    } else if (name == "limit") {
      AIMASS_ASSIGN_OR_RETURN(query.limit, wholeNumber(value, where, kMaxEventsPerPage));
      if (query.limit == 0) {
        return invalidArgument(where + " must be at least 1");
      }
    } else if (name == "kind") {
      query.kind = value;
    } else {
      return invalidArgument("unknown query parameter '" + name + "' (use after, limit, kind)");
    }
  }
  return query;
}

/// GET /api/v1/runs's query: RunListQuery and the page's offset.
struct RunsPage {
  RunListQuery query;
  std::size_t offset = 0;
};

/// One query parameter of GET /api/v1/runs, read into `page`.
Status runsQueryParameter(const TrackingService& tracking, const std::string& name,
                          const std::string& value, RunsPage& page) {
  RunListQuery& query = page.query;
  const std::string where = "query parameter '" + name + "'";
  if (name == "experiment") {
    AIMASS_RETURN_IF_ERROR(tracking.validateName(value, "experiment").withContext(where));
    query.experiment = value;
  } else if (name == "filter") {
    auto filters = tracking.parseFilters(value);
    if (!filters.ok()) {
      return filters.status().withContext(where);
    }
    query.filters = std::move(*filters);
  } else if (name == "status") {
    auto state = parseRunState(value);
    if (!state) {
      return invalidArgument("unknown run status '" + value + "' in " + where +
                             ": use running, finished, failed or killed");
    }
    query.state = *state;
  } else if (name == "sort") {
    AIMASS_RETURN_IF_ERROR(tracking.validateName(value, "metric").withContext(where));
    query.sort_metric = value;
  } else if (name == "desc") {
    if (value != "true" && value != "false") {
      return invalidArgument(where + " must be true or false, got '" + value + "'");
    }
    query.descending = value == "true";
  } else if (name == "limit") {
    std::size_t limit = 0;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), limit);
    if (value.empty() || error != std::errc() || end != value.data() + value.size()) {
      return invalidArgument(where + " must be a whole number (0 for all), got '" + value + "'");
    }
    query.limit = limit;
  } else if (name == "offset") {
    AIMASS_ASSIGN_OR_RETURN(std::uint64_t offset,
                            wholeNumber(value, where, std::numeric_limits<std::uint32_t>::max()));
    page.offset = static_cast<std::size_t>(offset);
  } else {
    return invalidArgument("unknown query parameter '" + name +
                           "' (use experiment, filter, status, sort, desc, limit, offset)");
  }
  return Status();
}

/// The query of GET /api/v1/runs/{id}/metrics/{name}: after_step (a whole number, negative
/// too) and limit (1..kMaxMetricPointsPerPage, default kMetricPointsPerPage).
Expected<RunMetricQuery> metricQuery(const TrackingService& tracking, const HttpRequest& request) {
  RunMetricQuery query;
  AIMASS_ASSIGN_OR_RETURN(query.run,
                          positiveNumber(param(request, "id"), "the run id in the path"));
  query.metric = param(request, "name");
  AIMASS_RETURN_IF_ERROR(
      tracking.validateName(query.metric, "metric").withContext("the metric in the path"));
  query.limit = kMetricPointsPerPage;
  for (const auto& [name, value] : request.query) {
    const std::string where = "query parameter '" + name + "'";
    if (name == "after_step") {
      std::int64_t step = 0;
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), step);
      if (value.empty() || error != std::errc() || end != value.data() + value.size()) {
        return invalidArgument(where + " must be a whole number (a step), got '" + value + "'");
      }
      query.after_step = step;
    } else if (name == "limit") {
      AIMASS_ASSIGN_OR_RETURN(query.limit, wholeNumber(value, where, kMaxMetricPointsPerPage));
      if (query.limit == 0) {
        return invalidArgument(where + " must be at least 1");
      }
    } else {
      return invalidArgument("unknown query parameter '" + name + "' (use after_step, limit)");
    }
  }
  return query;
}

/// The query of GET /api/v1/runs, read with the parsers of `aimass runs list`.
Expected<RunsPage> runsQuery(const TrackingService& tracking, const HttpRequest& request) {
  RunsPage page;
  for (const auto& [name, value] : request.query) {
    AIMASS_RETURN_IF_ERROR(runsQueryParameter(tracking, name, value, page));
  }
  if (page.query.descending && page.query.sort_metric.empty()) {
    return invalidArgument("query parameter 'desc' needs 'sort' (a metric)");
  }
  return page;
}

void addModelReads(ModelRegistryService* registry, RouteList& routes) {
  routes.add("GET", "/api/v1/models", "Registered models: version count, latest version, aliases",
             Role::kReader, [registry](const HttpRequest&, HttpResponse& response) {
               answerWith(response, registry->listModels(), modelListJson);
             });
  routes.add("GET", "/api/v1/models/{name}", "A model's versions and aliases", Role::kReader,
             [registry](const HttpRequest& request, HttpResponse& response) {
               const std::string& name = param(request, "name");
               if (Status valid = registry->validateName(name, "model"); !valid.ok()) {
                 return fail(response, valid);
               }
               answerWith(response, registry->model(name), modelJson);
             });
  routes.add("GET", "/api/v1/models/{name}/versions/{version}",
             "One model version (its artifact re-hashed against the recorded SHA-256)",
             Role::kReader, [registry](const HttpRequest& request, HttpResponse& response) {
               auto path = versionPath(*registry, request);
               if (!path.ok()) {
                 return fail(response, path.status());
               }
               answerWith(response, registry->version(path->first, path->second), modelVersionJson);
             });
  routes.add("GET", "/api/v1/models/{name}/versions/{version}/profile",
             "The training-data profile of a version (per feature: type, range, quantiles, "
             "categories)",
             Role::kReader, [registry](const HttpRequest& request, HttpResponse& response) {
               auto path = versionPath(*registry, request);
               if (!path.ok()) {
                 return fail(response, path.status());
               }
               answerWith(response, registry->profile(path->first, path->second),
                          [](const std::string& json) { return json + "\n"; });
             });
  routes.add("GET", "/api/v1/models/{name}/events",
             "A model's history: versions registered and deleted, aliases moved, monitoring "
             "decisions (?after=SEQUENCE&limit=N&kind=KIND)",
             Role::kReader, [registry](const HttpRequest& request, HttpResponse& response) {
               const std::string& name = param(request, "name");
               if (Status valid = registry->validateName(name, "model"); !valid.ok()) {
                 return fail(response, valid);
               }
               auto query = eventsQuery(request);
               if (!query.ok()) {
                 return fail(response, query.status());
               }
               answerWith(response, registry->events(name, *query),
                          [&name](const std::vector<ModelEventInfo>& events) {
                            return modelEventsJson(name, events);
                          });
             });
}

void addModelChanges(ModelRegistryService* registry, RouteList& routes) {
  routes.add("DELETE", "/api/v1/models/{name}/versions/{version}",
             "Delete a version and its artifact (?force=true also deletes aliases pointing at it)",
             Role::kOperator, [registry](const HttpRequest& request, HttpResponse& response) {
               deleteVersion(*registry, request, response);
             });
  routes.add("PUT", "/api/v1/models/{name}/versions/{version}/tags",
             "Replace a version's tags with the body's {\"KEY\": \"VALUE\"} object",
             Role::kOperator, [registry](const HttpRequest& request, HttpResponse& response) {
               tags(*registry, request, response, true);
             });
  routes.add("PATCH", "/api/v1/models/{name}/versions/{version}/tags",
             "Set and remove tags of a version: {\"set\": {...}, \"remove\": [...]}",
             Role::kOperator, [registry](const HttpRequest& request, HttpResponse& response) {
               tags(*registry, request, response, false);
             });
  routes.add("POST", "/api/v1/models/{name}/aliases/{alias}",
             "Point an alias at a version: {\"version\": N} (promote)", Role::kOperator,
             [registry](const HttpRequest& request, HttpResponse& response) {
               promote(*registry, request, response);
             });
  routes.add("POST", "/api/v1/models/{name}/aliases/{alias}/rollback",
             "Move an alias back to its previous version", Role::kOperator,
             [registry](const HttpRequest& request, HttpResponse& response) {
               answerWith(response,
                          registry->rollbackAs(param(request, "name"), param(request, "alias"),
                                               request.principal),
                          modelAliasJson);
             });
}

void addDatasets(DatasetRegistryService* datasets, RouteList& routes) {
  routes.add("GET", "/api/v1/datasets", "Registered datasets: version count and latest version",
             Role::kReader, [datasets](const HttpRequest&, HttpResponse& response) {
               answerWith(response, datasets->listDatasets(), datasetListJson);
             });
  routes.add("GET", "/api/v1/datasets/{name}", "A dataset's versions", Role::kReader,
             [datasets](const HttpRequest& request, HttpResponse& response) {
               const std::string& name = param(request, "name");
               answerWith(response, datasets->versions(name),
                          [&](const std::vector<DatasetVersionInfo>& versions) {
                            return datasetJson(name, versions);
                          });
             });
  routes.add("GET", "/api/v1/datasets/{name}/versions/{version}", "One dataset version",
             Role::kReader, [datasets](const HttpRequest& request, HttpResponse& response) {
               auto version = positiveNumber(param(request, "version"), "the version in the path");
               if (!version.ok()) {
                 return fail(response, version.status());
               }
               answerWith(response, datasets->version(param(request, "name"), *version),
                          datasetVersionJson);
             });
}

void addRuns(TrackingService* tracking, RouteList& routes) {
  routes.add("GET", "/api/v1/runs",
             "Tracked runs; query experiment, filter, status, sort, desc, limit (default 100, 0: "
             "all), offset (skip that many: a table's page)",
             Role::kReader, [tracking](const HttpRequest& request, HttpResponse& response) {
               auto page = runsQuery(*tracking, request);
               if (!page.ok()) {
                 return fail(response, page.status());
               }
               answerWith(response, tracking->listRunsFrom(page->query, page->offset), runListJson);
             });
  routes.add("GET", "/api/v1/runs/{id}", "One run: parameters, metric summaries, artifacts",
             Role::kReader, [tracking](const HttpRequest& request, HttpResponse& response) {
               auto id = positiveNumber(param(request, "id"), "the run id in the path");
               if (!id.ok()) {
                 return fail(response, id.status());
               }
               answerWith(response, tracking->run(*id), runJson);
             });
  routes.add("GET", "/api/v1/runs/{id}/metrics/{name}",
             "One metric's values of a run, by step (?after_step=STEP&limit=N; a client "
             "following a running job asks again after the last step it has)",
             Role::kReader, [tracking](const HttpRequest& request, HttpResponse& response) {
               auto query = metricQuery(*tracking, request);
               if (!query.ok()) {
                 return fail(response, query.status());
               }
               answerWith(response, tracking->metricHistory(*query), metricHistoryJson);
             });
}

}  // namespace

std::vector<Route> registryRoutes(Host& host, const std::string& owner) {
  RouteList routes(owner);
  if (ModelRegistryService* registry = host.registry()) {
    addModelReads(registry, routes);
    addModelChanges(registry, routes);
  }
  if (DatasetRegistryService* datasets = host.datasets()) {
    addDatasets(datasets, routes);
  }
  if (TrackingService* tracking = host.tracking()) {
    addRuns(tracking, routes);
  }
  if (JobService* jobs = host.jobs()) {
    addJobRoutes(jobs, routes);
  }
  return routes.take();
}

}  // namespace aimass::plugins::frontend
