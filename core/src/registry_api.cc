// SPDX-License-Identifier: Apache-2.0
#include "registry_api.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <charconv>
#include <exception>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "aimass/core/dataset_registry.h"
#include "aimass/core/registry.h"
#include "aimass/core/tracking.h"
#include "datasets_cli.h"
#include "json_writer.h"
#include "models_cli.h"
#include "runs_cli.h"

namespace aimass::core {
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

/// Writes what `print` printed as the body, or its error.
template <typename Print>
void printed(HttpResponse& response, Print print) {
  std::ostringstream out;
  Status status = print(out);
  if (!status.ok()) {
    fail(response, status);
    return;
  }
  answer(response, out.str());
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
Expected<std::pair<std::string, std::int64_t>> versionPath(const HttpRequest& request) {
  const std::string& name = param(request, "name");
  AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(name, "model"));
  AIMASS_ASSIGN_OR_RETURN(std::int64_t version,
                          positiveNumber(param(request, "version"), "the version in the path"));
  return std::make_pair(name, version);
}

/// The body as a JSON object; `what` names the request in errors.
Expected<Poco::JSON::Object::Ptr> bodyObject(const std::string& body, std::string_view what) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return invalidArgument("the body of " + std::string(what) +
                           " is empty; it must be a JSON object");
  }
  try {
    Poco::JSON::Parser parser;
    Poco::Dynamic::Var parsed = parser.parse(body);
    if (parsed.type() != typeid(Poco::JSON::Object::Ptr)) {
      return invalidArgument("the body of " + std::string(what) + " must be a JSON object");
    }
    return parsed.extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception& e) {
    return invalidArgument("the body of " + std::string(what) +
                           " is not valid JSON: " + e.displayText());
  }
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

void writeAliasJson(JsonWriter& json, const ModelAlias& alias) {
  json.beginObject();
  json.key("model").value(alias.model);
  json.key("alias").value(alias.alias);
  json.key("version").value(alias.version);
  json.key("history").beginArray();
  for (std::int64_t v : alias.history) {
    json.value(v);
  }
  json.endArray();
  json.endObject();
}

void aliasAnswer(HttpResponse& response, const Expected<ModelAlias>& alias) {
  if (!alias.ok()) {
    fail(response, alias.status());
    return;
  }
  JsonWriter json;
  writeAliasJson(json, *alias);
  answer(response, json.str());
}

/// The tagged version as `models show NAME/VERSION --json` prints it (without re-hashing the
/// artifact: the change is done whatever state the artifact is in).
void taggedAnswer(HttpResponse& response, ModelRegistry& registry,
                  const Expected<ModelVersion>& tagged) {
  if (!tagged.ok()) {
    fail(response, tagged.status());
    return;
  }
  auto aliases = registry.listAliases(tagged->model);
  if (!aliases.ok()) {
    fail(response, aliases.status());
    return;
  }
  std::vector<std::string> names;
  for (const auto& alias : *aliases) {
    if (alias.version == tagged->version) {
      names.push_back(alias.alias);
    }
  }
  JsonWriter json;
  writeModelVersionJson(json, *tagged, names);
  answer(response, json.str());
}

void promote(Storage& storage, const HttpRequest& request, HttpResponse& response) {
  const std::string what = "POST /api/v1/models/{name}/aliases/{alias}";
  auto body = bodyObject(request.body, what);
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
  ModelRegistry registry(storage);
  aliasAnswer(response, registry.promote(param(request, "name"), param(request, "alias"),
                                         version.convert<std::int64_t>()));
}

void deleteVersion(Storage& storage, const HttpRequest& request, HttpResponse& response) {
  auto path = versionPath(request);
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
  ModelRegistry registry(storage);
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

/// PUT: the body is the version's whole tag set. PATCH: {"set": {...}, "remove": [...]}.
void tags(Storage& storage, const HttpRequest& request, HttpResponse& response, bool replace) {
  const std::string what =
      std::string(replace ? "PUT" : "PATCH") + " /api/v1/models/{name}/versions/{version}/tags";
  auto path = versionPath(request);
  if (!path.ok()) {
    return fail(response, path.status());
  }
  auto body = bodyObject(request.body, what);
  if (!body.ok()) {
    return fail(response, body.status());
  }
  ModelRegistry registry(storage);
  std::map<std::string, std::string> set;
  std::vector<std::string> remove;
  if (replace) {
    auto wanted = stringMap(Poco::Dynamic::Var(*body), "the body");
    if (!wanted.ok()) {
      return fail(response, wanted.status());
    }
    auto current = registry.getVersion(path->first, path->second);
    if (!current.ok()) {
      return fail(response, current.status());
    }
    set = std::move(*wanted);
    for (const auto& [key, value] : current->tags) {
      if (set.count(key) == 0) {
        remove.push_back(key);
      }
    }
  } else {
    if (Status keys = onlyKeys(**body, {"set", "remove"}, what); !keys.ok()) {
      return fail(response, keys);
    }
    if ((*body)->has("set")) {
      auto given = stringMap((*body)->get("set"), "set");
      if (!given.ok()) {
        return fail(response, given.status());
      }
      set = std::move(*given);
    }
    if ((*body)->has("remove")) {
      Poco::JSON::Array::Ptr keys = (*body)->getArray("remove");
      if (keys.isNull()) {
        return fail(response, invalidArgument("'remove' must be an array of tag names"));
      }
      for (std::size_t i = 0; i < keys->size(); ++i) {
        if (!keys->get(static_cast<unsigned>(i)).isString()) {
          return fail(response, invalidArgument("'remove' must be an array of tag names; item " +
                                                std::to_string(i) + " is not a string"));
        }
        remove.push_back(keys->getElement<std::string>(static_cast<unsigned>(i)));
      }
    }
    if (set.empty() && remove.empty()) {
      return fail(response, invalidArgument("the body of " + what +
                                            " changes nothing: give \"set\" or \"remove\""));
    }
  }
  taggedAnswer(response, registry, registry.setTags(path->first, path->second, set, remove));
}

/// The query of GET /api/v1/runs, read with the parsers of `aimass runs list`.
Expected<RunsCommand> runsQuery(const HttpRequest& request) {
  RunsCommand command;
  command.action = "list";
  command.json = true;
  command.query.limit = 100;
  for (const auto& [name, value] : request.query) {
    const std::string where = "query parameter '" + name + "'";
    if (name == "experiment") {
      AIMASS_RETURN_IF_ERROR(Tracking::validateName(value, "experiment").withContext(where));
      command.query.experiment = value;
    } else if (name == "filter") {
      auto filters = parseMetricFilters(value);
      if (!filters.ok()) {
        return filters.status().withContext(where);
      }
      command.query.filters = std::move(*filters);
    } else if (name == "status") {
      auto status = parseRunStatus(value);
      if (!status) {
        return invalidArgument("unknown run status '" + value + "' in " + where +
                               ": use running, finished, failed or killed");
      }
      command.query.status = *status;
    } else if (name == "sort") {
      AIMASS_RETURN_IF_ERROR(Tracking::validateName(value, "metric").withContext(where));
      command.query.sort_metric = value;
    } else if (name == "desc") {
      if (value != "true" && value != "false") {
        return invalidArgument(where + " must be true or false, got '" + value + "'");
      }
      command.query.descending = value == "true";
    } else if (name == "limit") {
      std::size_t limit = 0;
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), limit);
      if (value.empty() || error != std::errc() || end != value.data() + value.size()) {
        return invalidArgument(where + " must be a whole number (0 for all), got '" + value + "'");
      }
      command.query.limit = limit;
    } else {
      return invalidArgument("unknown query parameter '" + name +
                             "' (use experiment, filter, status, sort, desc, limit)");
    }
  }
  if (command.query.descending && command.query.sort_metric.empty()) {
    return invalidArgument("query parameter 'desc' needs 'sort' (a metric)");
  }
  return command;
}

/// Runs whose process died are marked failed first, as `aimass runs` does, so both agree.
void recoverRuns(Tracking& tracking) { (void)tracking.recoverAbandonedRuns(); }

/// Wraps a handler so that nothing escapes it: a last-resort 500 naming the failure.
RouteHandler guarded(std::function<void(const HttpRequest&, HttpResponse&)> handler) {
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

}  // namespace

std::vector<Route> registryApiRoutes(Storage& storage, const std::string& owner) {
  Storage* store = &storage;
  std::vector<Route> routes;
  auto add = [&](std::string method, std::string pattern, std::string summary, Role role,
                 std::function<void(const HttpRequest&, HttpResponse&)> handler) {
    Route route;
    route.method = std::move(method);
    route.pattern = std::move(pattern);
    route.summary = std::move(summary);
    route.owner = owner;
    route.role = role;
    route.handler = guarded(std::move(handler));
    routes.push_back(std::move(route));
  };
  add("GET", "/api/v1/models", "Registered models: version count, latest version, aliases",
      Role::kReader, [store](const HttpRequest&, HttpResponse& response) {
        ModelRegistry registry(*store);
        printed(response, [&](std::ostream& out) { return printModelList(registry, true, out); });
      });
  add("GET", "/api/v1/models/{name}", "A model's versions and aliases", Role::kReader,
      [store](const HttpRequest& request, HttpResponse& response) {
        const std::string& name = param(request, "name");
        if (Status valid = ModelRegistry::validateName(name, "model"); !valid.ok()) {
          return fail(response, valid);
        }
        ModelRegistry registry(*store);
        printed(response, [&](std::ostream& out) { return printModel(registry, name, true, out); });
      });
  add("GET", "/api/v1/models/{name}/versions/{version}",
      "One model version (its artifact re-hashed against the recorded SHA-256)", Role::kReader,
      [store](const HttpRequest& request, HttpResponse& response) {
        auto path = versionPath(request);
        if (!path.ok()) {
          return fail(response, path.status());
        }
        ModelRegistry registry(*store);
        const std::string reference = path->first + "/" + std::to_string(path->second);
        printed(response,
                [&](std::ostream& out) { return printModel(registry, reference, true, out); });
      });
  add("DELETE", "/api/v1/models/{name}/versions/{version}",
      "Delete a version and its artifact (?force=true also deletes aliases pointing at it)",
      Role::kOperator, [store](const HttpRequest& request, HttpResponse& response) {
        deleteVersion(*store, request, response);
      });
  add("PUT", "/api/v1/models/{name}/versions/{version}/tags",
      "Replace a version's tags with the body's {\"KEY\": \"VALUE\"} object", Role::kOperator,
      [store](const HttpRequest& request, HttpResponse& response) {
        tags(*store, request, response, true);
      });
  add("PATCH", "/api/v1/models/{name}/versions/{version}/tags",
      "Set and remove tags of a version: {\"set\": {...}, \"remove\": [...]}", Role::kOperator,
      [store](const HttpRequest& request, HttpResponse& response) {
        tags(*store, request, response, false);
      });
  add("POST", "/api/v1/models/{name}/aliases/{alias}",
      "Point an alias at a version: {\"version\": N} (promote)", Role::kOperator,
      [store](const HttpRequest& request, HttpResponse& response) {
        promote(*store, request, response);
      });
  add("POST", "/api/v1/models/{name}/aliases/{alias}/rollback",
      "Move an alias back to its previous version", Role::kOperator,
      [store](const HttpRequest& request, HttpResponse& response) {
        ModelRegistry registry(*store);
        aliasAnswer(response, registry.rollback(param(request, "name"), param(request, "alias")));
      });
  add("GET", "/api/v1/datasets", "Registered datasets: version count and latest version",
      Role::kReader, [store](const HttpRequest&, HttpResponse& response) {
        DatasetRegistry registry(*store);
        printed(response, [&](std::ostream& out) { return printDatasetList(registry, true, out); });
      });
  add("GET", "/api/v1/datasets/{name}", "A dataset's versions", Role::kReader,
      [store](const HttpRequest& request, HttpResponse& response) {
        DatasetRegistry registry(*store);
        printed(response, [&](std::ostream& out) {
          return printDataset(registry, param(request, "name"), true, out);
        });
      });
  add("GET", "/api/v1/datasets/{name}/versions/{version}", "One dataset version", Role::kReader,
      [store](const HttpRequest& request, HttpResponse& response) {
        auto version = positiveNumber(param(request, "version"), "the version in the path");
        if (!version.ok()) {
          return fail(response, version.status());
        }
        DatasetRegistry registry(*store);
        const std::string reference = param(request, "name") + "/" + std::to_string(*version);
        printed(response,
                [&](std::ostream& out) { return printDataset(registry, reference, true, out); });
      });
  add("GET", "/api/v1/runs",
      "Tracked runs; query experiment, filter, status, sort, desc, limit (default 100, 0: all)",
      Role::kReader, [store](const HttpRequest& request, HttpResponse& response) {
        auto command = runsQuery(request);
        if (!command.ok()) {
          return fail(response, command.status());
        }
        Tracking tracking(*store);
        recoverRuns(tracking);
        printed(response, [&](std::ostream& out) { return printRunList(*command, tracking, out); });
      });
  add("GET", "/api/v1/runs/{id}", "One run: parameters, metric summaries, artifacts", Role::kReader,
      [store](const HttpRequest& request, HttpResponse& response) {
        auto id = positiveNumber(param(request, "id"), "the run id in the path");
        if (!id.ok()) {
          return fail(response, id.status());
        }
        RunsCommand command;
        command.action = "show";
        command.json = true;
        command.run_id = *id;
        Tracking tracking(*store);
        recoverRuns(tracking);
        printed(response, [&](std::ostream& out) { return printRun(command, tracking, out); });
      });
  return routes;
}

const GraphNode* apiStorageNode(const Graph& graph, std::string& why) {
  std::vector<const GraphNode*> storages;
  bool has_frontend = false;
  for (const auto& node : graph.nodes()) {
    if (node.type == nullptr) {
      continue;
    }
    if (node.type->type.kind == NodeKind::kStorage) {
      storages.push_back(&node);
    }
    has_frontend = has_frontend || node.type->type.kind == NodeKind::kFrontend;
  }
  if (!has_frontend) {
    why = "no frontend serves it";
    return nullptr;
  }
  for (const auto& node : graph.nodes()) {
    if (node.type == nullptr || node.type->type.kind != NodeKind::kFrontend) {
      continue;
    }
    for (const auto& [param_name, names] : node.refs) {
      if (param_name != "repository" || names.empty()) {
        continue;
      }
      for (const GraphNode* storage : storages) {
        if (storage->decl.name == names.front()) {
          return storage;
        }
      }
    }
  }
  if (storages.size() == 1) {
    return storages.front();
  }
  why = storages.empty() ? "the configuration has no storage node"
                         : "the configuration has several storage nodes and no frontend names "
                           "one as its `repository`";
  return nullptr;
}

}  // namespace aimass::core
