// SPDX-License-Identifier: Apache-2.0
#pragma once

// A utility header, not part of the plugin ABI: inline code that host and plugins compile in
// themselves; nothing of it crosses the plugin boundary.
//
// The JSON text of the registry, dataset and tracking results (aimass/registry_service.h):
// what `aimass models|datasets|runs list|show --json` print and what frontend.http answers
// under /api/v1, written by one piece of code so the two stay byte-identical. Each function
// returns a whole document ending with a newline. Thread-safe (no shared state).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/registry_service.h"
#include "aimass/util/json_writer.h"

namespace aimass {

/// One version as an object: `models show NAME/VERSION --json`, and each of `models show NAME`.
/// A "parent" field follows "aliases" for a version fine-tuned from another (job.train's
/// init_from records the lineage "NAME/VERSION").
inline void writeModelVersionJson(JsonWriter& json, const ModelVersionInfo& v) {
  json.beginObject();
  json.key("model").value(v.model);
  json.key("version").value(v.version);
  json.key("artifact").value(v.artifact_key);
  json.key("sha256").value(v.sha256);
  json.key("node").value(v.node);
  json.key("type").value(v.node_type);
  json.key("dataset").value(v.dataset_fingerprint);
  json.key("dataset_name").value(v.dataset_name);
  json.key("dataset_version").value(v.dataset_version);
  json.key("dataset_sha256").value(v.dataset_sha256);
  json.key("code_version").value(v.code_version);
  json.key("created_by").value(v.created_by);
  json.key("created_unix_ms").value(v.created_unix_ms);
  json.key("metrics").beginObject();
  for (const auto& [name, value] : v.metrics) {
    json.key(name).value(value);
  }
  json.endObject();
  json.key("tags").beginObject();
  for (const auto& [name, value] : v.tags) {
    json.key(name).value(value);
  }
  json.endObject();
  json.key("aliases").beginArray();
  for (const auto& alias : v.aliases) {
    json.value(alias);
  }
  json.endArray();
  if (!v.parent.empty()) {
    json.key("parent").value(v.parent);
  }
  if (!v.profile_key.empty()) {
    json.key("profile").value(v.profile_key);
  }
  json.endObject();
}

/// One event of a model's history (`models history NAME --json`, GET
/// /api/v1/models/{name}/events): version and alias are null when the event names none.
inline void writeModelEventJson(JsonWriter& json, const ModelEventInfo& e) {
  json.beginObject();
  json.key("sequence").value(e.sequence);
  json.key("unix_ms").value(e.unix_ms);
  json.key("kind").value(e.kind);
  json.key("version");
  if (e.version > 0) {
    json.value(e.version);
  } else {
    json.null();
  }
  json.key("alias");
  if (!e.alias.empty()) {
    json.value(e.alias);
  } else {
    json.null();
  }
  json.key("actor").value(e.actor);
  json.key("message").value(e.message);
  json.key("details").json(e.details);
  json.endObject();
}

/// {"model": NAME, "events": [...]}.
inline std::string modelEventsJson(std::string_view model,
                                   const std::vector<ModelEventInfo>& events) {
  JsonWriter json;
  json.beginObject().key("model").value(model).key("events").beginArray();
  for (const auto& event : events) {
    writeModelEventJson(json, event);
  }
  json.endArray().endObject();
  return json.str();
}

/// `models show NAME/VERSION --json`.
inline std::string modelVersionJson(const ModelVersionInfo& version) {
  JsonWriter json;
  writeModelVersionJson(json, version);
  return json.str();
}

/// {"ALIAS": VERSION, ...}
inline void writeAliasMapJson(JsonWriter& json,
                              const std::vector<std::pair<std::string, std::int64_t>>& aliases) {
  json.beginObject();
  for (const auto& [alias, version] : aliases) {
    json.key(alias).value(version);
  }
  json.endObject();
}

/// `models list --json`.
inline std::string modelListJson(const std::vector<ModelSummary>& models) {
  JsonWriter json;
  json.beginArray();
  for (const auto& model : models) {
    json.beginObject();
    json.key("model").value(model.model);
    json.key("versions").value(model.versions);
    json.key("latest");
    if (model.latest > 0) {
      json.value(model.latest);
    } else {
      json.null();
    }
    json.key("aliases");
    writeAliasMapJson(json, model.aliases);
    json.endObject();
  }
  json.endArray();
  return json.str();
}

/// `models show NAME --json`.
inline std::string modelJson(const ModelInfo& model) {
  JsonWriter json;
  json.beginObject();
  json.key("model").value(model.model);
  json.key("aliases");
  writeAliasMapJson(json, model.aliases);
  json.key("versions").beginArray();
  for (const auto& version : model.versions) {
    writeModelVersionJson(json, version);
  }
  json.endArray();
  json.endObject();
  return json.str();
}

/// An alias after a promote or rollback.
inline std::string modelAliasJson(const ModelAliasInfo& alias) {
  JsonWriter json;
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
  return json.str();
}

/// One dataset version as an object.
inline void writeDatasetVersionJson(JsonWriter& json, const DatasetVersionInfo& v) {
  json.beginObject();
  json.key("name").value(v.name);
  json.key("version").value(v.version);
  json.key("type").value(v.type);
  json.key("source").value(v.source);
  json.key("sha256").value(v.sha256);
  json.key("rows").value(v.rows);
  json.key("fingerprint").value(v.fingerprint);
  json.key("created_by").value(v.created_by);
  json.key("created_unix_ms").value(v.created_unix_ms);
  json.endObject();
}

/// `datasets show NAME/VERSION --json`.
inline std::string datasetVersionJson(const DatasetVersionInfo& version) {
  JsonWriter json;
  writeDatasetVersionJson(json, version);
  return json.str();
}

/// `datasets list --json`.
inline std::string datasetListJson(const std::vector<DatasetSummary>& datasets) {
  JsonWriter json;
  json.beginArray();
  for (const auto& dataset : datasets) {
    json.beginObject();
    json.key("name").value(dataset.name);
    json.key("versions").value(dataset.versions);
    json.key("latest");
    writeDatasetVersionJson(json, dataset.latest);
    json.endObject();
  }
  json.endArray();
  return json.str();
}

/// `datasets show NAME --json`.
inline std::string datasetJson(std::string_view name,
                               const std::vector<DatasetVersionInfo>& versions) {
  JsonWriter json;
  json.beginObject();
  json.key("name").value(name);
  json.key("versions").beginArray();
  for (const auto& v : versions) {
    writeDatasetVersionJson(json, v);
  }
  json.endArray();
  json.endObject();
  return json.str();
}

/// The fields of a run that `runs list` and `runs show` share, inside an open object.
inline void writeRunFieldsJson(JsonWriter& json, const RunInfo& run) {
  json.key("id").value(run.id);
  json.key("experiment").value(run.experiment);
  json.key("status").value(runStateName(run.state));
  json.key("node").value(run.node);
  json.key("type").value(run.node_type);
  json.key("start_unix_ms").value(run.start_unix_ms);
  json.key("end_unix_ms");
  if (run.end_unix_ms > 0) {
    json.value(run.end_unix_ms);
  } else {
    json.null();
  }
  json.key("error").value(run.error);
  json.key("pid").value(run.pid);
  json.key("host").value(run.host);
  json.key("params").beginObject();
  for (const auto& [name, value] : run.params) {
    json.key(name).value(value);
  }
  json.endObject();
  json.key("artifacts").beginObject();
  for (const auto& [name, value] : run.artifacts) {
    json.key(name).value(value);
  }
  json.endObject();
}

/// `runs list --json`: the runs with the last value of each metric.
inline std::string runListJson(const RunListing& listing) {
  JsonWriter json;
  json.beginObject();
  json.key("matched").value(static_cast<std::uint64_t>(listing.matched));
  json.key("runs").beginArray();
  for (const auto& run : listing.runs) {
    json.beginObject();
    writeRunFieldsJson(json, run);
    json.key("metrics").beginObject();
    for (const auto& [name, value] : run.metrics) {
      json.key(name).value(value);
    }
    json.endObject();
    json.endObject();
  }
  json.endArray();
  json.endObject();
  return json.str();
}

/// `runs show ID --json`: the run with the summary of each metric.
inline std::string runJson(const RunDetails& details) {
  JsonWriter json;
  json.beginObject();
  writeRunFieldsJson(json, details.run);
  json.key("metrics").beginObject();
  for (const auto& s : details.metrics) {
    json.key(s.name).beginObject();
    json.key("last").value(s.last);
    json.key("last_step").value(s.last_step);
    json.key("min").value(s.min);
    json.key("max").value(s.max);
    json.key("points").value(s.points);
    json.endObject();
  }
  json.endObject();
  json.endObject();
  return json.str();
}

/// `runs metric ID NAME --json`: a page of one metric's values (a value that is not finite is
/// null).
inline std::string metricHistoryJson(const RunMetricHistory& history) {
  JsonWriter json;
  json.beginObject();
  json.key("run").value(history.run);
  json.key("metric").value(history.metric);
  json.key("total").value(history.total);
  json.key("more").value(history.more);
  json.key("points").beginArray();
  for (const auto& p : history.points) {
    json.beginObject();
    json.key("step").value(p.step);
    json.key("value").value(p.value);
    json.key("unix_ms").value(p.unix_ms);
    json.endObject();
  }
  json.endArray();
  json.endObject();
  return json.str();
}

}  // namespace aimass
