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
#include "json_body.h"

namespace aimass::plugins::frontend {
namespace {

/// A refused change (an alias in the way, nothing to roll back to) is a conflict with the
/// registry's state, not an unavailable server.
int apiStatusFor(const Status& status) {
  if (status.code() == StatusCode::kFailedPrecondition) {
    return 409;
  }
  return httpStatusFor(status);
}

void fail(HttpResponse& response, const Status& status) {
  jsonError(response, apiStatusFor(status), status.message());
}

void answer(HttpResponse& response, std::string body) {
  response.status = 200;
  response.content_type = "application/json";
  response.body = std::move(body);
}

/// Answers `render(*result)`, or the error of `result`.
template <typename T, typename Render>
void answerWith(HttpResponse& response, const Expected<T>& result, Render render) {
  if (!result.ok()) {
    fail(response, result.status());
    return;
  }
  answer(response, render(*result));
}

const std::string& param(const HttpRequest& request, const std::string& name) {
  static const std::string kEmpty;
  auto it = request.path_params.find(name);
  return it == request.path_params.end() ? kEmpty : it->second;
}

Expected<std::int64_t> positiveNumber(std::string_view text, std::string_view what) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < 1) {
    return invalidArgument(std::string(what) + " must be a whole number from 1, got '" +
                           std::string(text) + "'");
  }
  return value;
}

/// The model name and version of a .../models/{name}/versions/{version} path.
Expected<std::pair<std::string, std::int64_t>> versionPath(const ModelRegistryService& registry,
                                                           const HttpRequest& request) {
  const std::string& name = param(request, "name");
  AIMASS_RETURN_IF_ERROR(registry.validateName(name, "model"));
  AIMASS_ASSIGN_OR_RETURN(std::int64_t version,
                          positiveNumber(param(request, "version"), "the version in the path"));
  return std::make_pair(name, version);
}

/// Only the keys in `allowed` may appear in `object`.
Status onlyKeys(const Poco::JSON::Object& object, const std::set<std::string>& allowed,
                std::string_view what) {
  for (const auto& [key, value] : object) {
    if (allowed.count(key) == 0) {
      std::string known;
      for (const auto& name : allowed) {
        known += (known.empty() ? "'" : ", '") + name + "'";
      }
      return invalidArgument("unknown field '" + key + "' in the body of " + std::string(what) +
                             " (fields: " + known + ")");
    }
  }
  return Status();
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
             registry.promote(param(request, "name"), param(request, "alias"),
                              version.convert<std::int64_t>()),
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
  if (Status deleted = registry.deleteVersion(path->first, path->second, force); !deleted.ok()) {
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

/// One query parameter of GET /api/v1/runs, read into `query`.
Status runsQueryParameter(const TrackingService& tracking, const std::string& name,
                          const std::string& value, RunListQuery& query) {
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
  } else {
    return invalidArgument("unknown query parameter '" + name +
                           "' (use experiment, filter, status, sort, desc, limit)");
  }
  return Status();
}

/// The query of GET /api/v1/runs, read with the parsers of `aimass runs list`.
Expected<RunListQuery> runsQuery(const TrackingService& tracking, const HttpRequest& request) {
  RunListQuery query;
  for (const auto& [name, value] : request.query) {
    AIMASS_RETURN_IF_ERROR(runsQueryParameter(tracking, name, value, query));
  }
  if (query.descending && query.sort_metric.empty()) {
    return invalidArgument("query parameter 'desc' needs 'sort' (a metric)");
  }
  return query;
}

using Handler = std::function<void(const HttpRequest&, HttpResponse&)>;

/// Wraps a handler so that nothing escapes it: a last-resort 500 naming the failure.
RouteHandler guarded(Handler handler) {
  return [handler = std::move(handler)](const HttpRequest& request, HttpResponse& response) {
    try {
      handler(request, response);
    } catch (const std::exception& e) {
      jsonError(response, 500, std::string("registry API failure: ") + e.what());
    } catch (...) {
      jsonError(response, 500, "registry API failure");
    }
  };
}

/// Adds routes to a list, each with the same owner.
class RouteList {
 public:
  explicit RouteList(const std::string& owner) : owner_(owner) {}

  void add(std::string method, std::string pattern, std::string summary, Role role,
           Handler handler) {
    Route route;
    route.method = std::move(method);
    route.pattern = std::move(pattern);
    route.summary = std::move(summary);
    route.owner = owner_;
    route.role = role;
    route.handler = guarded(std::move(handler));
    routes_.push_back(std::move(route));
  }

  std::vector<Route> take() { return std::move(routes_); }

 private:
  const std::string& owner_;
  std::vector<Route> routes_;
};

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
                          registry->rollback(param(request, "name"), param(request, "alias")),
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
             "all)",
             Role::kReader, [tracking](const HttpRequest& request, HttpResponse& response) {
               auto query = runsQuery(*tracking, request);
               if (!query.ok()) {
                 return fail(response, query.status());
               }
               answerWith(response, tracking->listRuns(*query), runListJson);
             });
  routes.add("GET", "/api/v1/runs/{id}", "One run: parameters, metric summaries, artifacts",
             Role::kReader, [tracking](const HttpRequest& request, HttpResponse& response) {
               auto id = positiveNumber(param(request, "id"), "the run id in the path");
               if (!id.ok()) {
                 return fail(response, id.status());
               }
               answerWith(response, tracking->run(*id), runJson);
             });
}

/// A whole number field of a job submission; `fallback` when absent.
Expected<std::int64_t> wholeField(const Poco::JSON::Object& body, const std::string& field,
                                  std::int64_t fallback, std::int64_t lowest) {
  if (!body.has(field)) return fallback;
  const Poco::Dynamic::Var value = body.get(field);
  if (!value.isInteger() || value.convert<std::int64_t>() < lowest) {
    return invalidArgument("'" + field + "' must be a whole number of at least " +
                           std::to_string(lowest));
  }
  return value.convert<std::int64_t>();
}

/// POST /api/v1/jobs: {"config": YAML, "config_name", "queue", "priority", "threads",
/// "memory" ("512MiB" or bytes), "gpus", "ranks", "preemptible"}.
Expected<JobSubmitRequest> jobRequest(const HttpRequest& request) {
  const std::string what = "POST /api/v1/jobs";
  AIMASS_ASSIGN_OR_RETURN(auto body, jsonObjectBody(request.body, what, EmptyBody::kRefused));
  AIMASS_RETURN_IF_ERROR(onlyKeys(*body,
                                  {"config", "config_name", "queue", "priority", "threads",
                                   "memory", "gpus", "ranks", "preemptible"},
                                  what));
  JobSubmitRequest job;
  if (!body->has("config") || !body->get("config").isString()) {
    return invalidArgument("the body of " + what + " needs \"config\": the job's graph as YAML text");
  }
  job.config = body->getValue<std::string>("config");
  for (const char* field : {"config_name", "queue"}) {
    if (body->has(field) && !body->get(field).isString()) {
      return invalidArgument("'" + std::string(field) + "' must be a string");
    }
  }
  job.config_name = body->optValue<std::string>("config_name", "job.yaml");
  job.queue = body->optValue<std::string>("queue", "");
  AIMASS_ASSIGN_OR_RETURN(job.priority,
                          wholeField(*body, "priority", 0, std::numeric_limits<std::int64_t>::min()));
  AIMASS_ASSIGN_OR_RETURN(job.resources.threads, wholeField(*body, "threads", 1, 1));
  AIMASS_ASSIGN_OR_RETURN(job.resources.gpus, wholeField(*body, "gpus", 0, 0));
  AIMASS_ASSIGN_OR_RETURN(job.ranks, wholeField(*body, "ranks", 1, 1));
  job.resources.memory_bytes = std::int64_t{1} << 30;
  if (body->has("memory")) {
    const Poco::Dynamic::Var memory = body->get("memory");
    if (memory.isString()) {
      AIMASS_ASSIGN_OR_RETURN(job.resources.memory_bytes,
                              parseMemorySize(memory.convert<std::string>(), "'memory'"));
    } else {
      AIMASS_ASSIGN_OR_RETURN(job.resources.memory_bytes, wholeField(*body, "memory", 0, 1));
    }
  }
  if (body->has("preemptible")) {
    if (!body->get("preemptible").isBoolean()) {
      return invalidArgument("'preemptible' must be true or false");
    }
    job.preemptible = body->getValue<bool>("preemptible");
  }
  job.owner = request.principal.empty() ? "anonymous" : request.principal;
  return job;
}

void addJobs(JobService* jobs, RouteList& routes) {
  routes.add("GET", "/api/v1/jobs", "Jobs of the job service; query state, queue, owner",
             Role::kReader, [jobs](const HttpRequest& request, HttpResponse& response) {
               for (const auto& [name, value] : request.query) {
                 if (name != "state" && name != "queue" && name != "owner") {
                   return fail(response, invalidArgument("unknown query parameter '" + name +
                                                         "' (state, queue, owner)"));
                 }
               }
               auto all = jobs->list();
               if (!all.ok()) return fail(response, all.status());
               std::vector<JobInfo> picked;
               for (JobInfo& job : *all) {
                 auto wanted = [&](const char* key, const std::string& value) {
                   auto it = request.query.find(key);
                   return it == request.query.end() || it->second == value;
                 };
                 if (wanted("state", job.state) && wanted("queue", job.queue) &&
                     wanted("owner", job.owner)) {
                   picked.push_back(std::move(job));
                 }
               }
               answer(response, jobListJson(picked));
             });
  routes.add("POST", "/api/v1/jobs", "Submit a graph as a job (body: config YAML, queue, ...)",
             Role::kOperator, [jobs](const HttpRequest& request, HttpResponse& response) {
               auto job = jobRequest(request);
               if (!job.ok()) return fail(response, job.status());
               auto submitted = jobs->submit(*job);
               if (!submitted.ok()) {
                 // A job larger than its queue could ever give is a bad request, not a
                 // momentary overload.
                 const Status& status = submitted.status();
                 return jsonError(response,
                                  status.code() == StatusCode::kResourceExhausted
                                      ? 400
                                      : apiStatusFor(status),
                                  status.message());
               }
               answer(response, jobJson(*submitted));
               response.status = 201;
             });
  routes.add("GET", "/api/v1/jobs/{id}", "One job: state, reason, attempts, runs", Role::kReader,
             [jobs](const HttpRequest& request, HttpResponse& response) {
               auto id = positiveNumber(param(request, "id"), "the job id in the path");
               if (!id.ok()) return fail(response, id.status());
               answerWith(response, jobs->get(*id), jobJson);
             });
  routes.add("POST", "/api/v1/jobs/{id}/cancel",
             "Cancel a job (an operator its own jobs, an admin any)", Role::kOperator,
             [jobs](const HttpRequest& request, HttpResponse& response) {
               auto id = positiveNumber(param(request, "id"), "the job id in the path");
               if (!id.ok()) return fail(response, id.status());
               auto job = jobs->get(*id);
               if (!job.ok()) return fail(response, job.status());
               const std::string caller =
                   request.principal.empty() ? "anonymous" : request.principal;
               if (request.role != Role::kAdmin && job->owner != caller) {
                 return jsonError(response, 403,
                                  "job " + std::to_string(*id) + " belongs to '" + job->owner +
                                      "'; only its owner or an admin may cancel it");
               }
               answerWith(response, jobs->cancel(*id), jobJson);
             });
  routes.add("GET", "/api/v1/jobs/{id}/log", "The end of a job's log; query bytes (default 65536)",
             Role::kReader, [jobs](const HttpRequest& request, HttpResponse& response) {
               auto id = positiveNumber(param(request, "id"), "the job id in the path");
               if (!id.ok()) return fail(response, id.status());
               std::int64_t bytes = 65536;
               if (auto it = request.query.find("bytes"); it != request.query.end()) {
                 auto parsed = positiveNumber(it->second, "query parameter 'bytes'");
                 if (!parsed.ok()) return fail(response, parsed.status());
                 bytes = std::min<std::int64_t>(*parsed, 16 << 20);
               }
               auto text = jobs->log(*id, static_cast<std::size_t>(bytes));
               if (!text.ok()) return fail(response, text.status());
               response.status = 200;
               response.content_type = "text/plain; charset=utf-8";
               response.body = std::move(*text);
             });
  routes.add("GET", "/api/v1/queues", "The job service's queues: quota, use, waiting, running",
             Role::kReader, [jobs](const HttpRequest&, HttpResponse& response) {
               answer(response, jobQueueListJson(jobs->queues()));
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
    addJobs(jobs, routes);
  }
  return routes.take();
}

}  // namespace aimass::plugins::frontend
