// SPDX-License-Identifier: Apache-2.0
#include "registry_decode.h"

#include <string>

#include "aimass/client/types.hpp"

namespace aimass::client::detail {
namespace {

void needObject(const aimass_client_value* v, const char* what) {
  if (aimass_client_value_type(v) != AIMASS_CLIENT_JSON_OBJECT) {
    throw Error(ErrorCode::kProtocol, 0,
                std::string("the answer's ") + what + " is not a JSON object");
  }
}

std::string text(const aimass_client_value* v, const char* key) {
  const char* s = aimass_client_value_get_string(v, key);
  return s ? s : "";
}

std::int64_t integer(const aimass_client_value* v, const char* key) {
  return aimass_client_value_get_int64(v, key, 0);
}

std::optional<double> number(const aimass_client_value* v) {
  double d = 0;
  if (aimass_client_value_double(v, &d)) {
    return d;
  }
  return std::nullopt;
}

template <typename F>
void eachMember(const aimass_client_value* object, F&& f) {
  if (aimass_client_value_type(object) != AIMASS_CLIENT_JSON_OBJECT) {
    return;
  }
  for (std::size_t i = 0; i < aimass_client_value_size(object); ++i) {
    f(std::string(aimass_client_value_key_at(object, i)), aimass_client_value_at(object, i));
  }
}

template <typename F>
void eachElement(const aimass_client_value* array, F&& f) {
  if (aimass_client_value_type(array) != AIMASS_CLIENT_JSON_ARRAY) {
    return;
  }
  for (std::size_t i = 0; i < aimass_client_value_size(array); ++i) {
    f(aimass_client_value_at(array, i));
  }
}

std::map<std::string, std::string> stringMap(const aimass_client_value* object) {
  std::map<std::string, std::string> out;
  eachMember(object, [&](std::string key, const aimass_client_value* value) {
    const char* s = aimass_client_value_string(value, nullptr);
    out.emplace(std::move(key), s ? s : "");
  });
  return out;
}

std::map<std::string, std::int64_t> integerMap(const aimass_client_value* object) {
  std::map<std::string, std::int64_t> out;
  eachMember(object, [&](std::string key, const aimass_client_value* value) {
    std::int64_t n = 0;
    aimass_client_value_int64(value, &n);
    out.emplace(std::move(key), n);
  });
  return out;
}

std::vector<std::string> strings(const aimass_client_value* array) {
  std::vector<std::string> out;
  eachElement(array, [&](const aimass_client_value* value) {
    const char* s = aimass_client_value_string(value, nullptr);
    out.emplace_back(s ? s : "");
  });
  return out;
}

std::vector<std::int64_t> integers(const aimass_client_value* array) {
  std::vector<std::int64_t> out;
  eachElement(array, [&](const aimass_client_value* value) {
    std::int64_t n = 0;
    aimass_client_value_int64(value, &n);
    out.push_back(n);
  });
  return out;
}

TensorMetadata tensorMetadataOf(const aimass_client_value* v) {
  TensorMetadata t;
  t.name = text(v, "name");
  t.datatype = text(v, "datatype");
  t.shape = integers(aimass_client_value_get(v, "shape"));
  int optional = 0;
  if (aimass_client_value_bool(aimass_client_value_get(v, "optional"), &optional)) {
    t.optional = optional != 0;
  }
  return t;
}

DatasetVersion datasetVersionOf(const aimass_client_value* v) {
  needObject(v, "dataset version");
  return {text(v, "name"),
          integer(v, "version"),
          text(v, "type"),
          text(v, "source"),
          text(v, "sha256"),
          integer(v, "rows"),
          integer(v, "created_unix_ms")};
}

}  // namespace

ServerMetadata serverMetadataOf(const aimass_client_json* doc) {
  const aimass_client_value* v = aimass_client_json_root(doc);
  needObject(v, "server metadata");
  return {text(v, "name"), text(v, "version"), strings(aimass_client_value_get(v, "extensions"))};
}

ModelMetadata modelMetadataOf(const aimass_client_json* doc) {
  const aimass_client_value* v = aimass_client_json_root(doc);
  needObject(v, "model metadata");
  ModelMetadata m;
  m.name = text(v, "name");
  m.versions = strings(aimass_client_value_get(v, "versions"));
  m.platform = text(v, "platform");
  eachElement(aimass_client_value_get(v, "inputs"),
              [&](const aimass_client_value* t) { m.inputs.push_back(tensorMetadataOf(t)); });
  eachElement(aimass_client_value_get(v, "outputs"),
              [&](const aimass_client_value* t) { m.outputs.push_back(tensorMetadataOf(t)); });
  m.json = aimass_client_json_text(doc);
  return m;
}

std::vector<ModelSummary> modelSummariesOf(const aimass_client_value* v) {
  std::vector<ModelSummary> out;
  eachElement(v, [&](const aimass_client_value* m) {
    needObject(m, "model summary");
    out.push_back({text(m, "model"), integer(m, "versions"), integer(m, "latest"),
                   integerMap(aimass_client_value_get(m, "aliases"))});
  });
  return out;
}

ModelVersion modelVersionOf(const aimass_client_value* v) {
  needObject(v, "model version");
  ModelVersion m;
  m.model = text(v, "model");
  m.version = integer(v, "version");
  m.artifact = text(v, "artifact");
  m.sha256 = text(v, "sha256");
  m.node = text(v, "node");
  m.type = text(v, "type");
  m.dataset = text(v, "dataset");
  m.created_unix_ms = integer(v, "created_unix_ms");
  eachMember(aimass_client_value_get(v, "metrics"),
             [&](std::string key, const aimass_client_value* value) {
               m.metrics.emplace(std::move(key), number(value));
             });
  m.tags = stringMap(aimass_client_value_get(v, "tags"));
  m.aliases = strings(aimass_client_value_get(v, "aliases"));
  return m;
}

RegisteredModel registeredModelOf(const aimass_client_value* v) {
  needObject(v, "registered model");
  RegisteredModel m;
  m.model = text(v, "model");
  m.aliases = integerMap(aimass_client_value_get(v, "aliases"));
  eachElement(aimass_client_value_get(v, "versions"), [&](const aimass_client_value* version) {
    m.versions.push_back(modelVersionOf(version));
  });
  return m;
}

ModelAlias modelAliasOf(const aimass_client_value* v) {
  needObject(v, "alias");
  return {text(v, "model"), text(v, "alias"), integer(v, "version"),
          integers(aimass_client_value_get(v, "history"))};
}

std::vector<DatasetSummary> datasetSummariesOf(const aimass_client_value* v) {
  std::vector<DatasetSummary> out;
  eachElement(v, [&](const aimass_client_value* d) {
    needObject(d, "dataset summary");
    out.push_back({text(d, "name"), integer(d, "versions"),
                   datasetVersionOf(aimass_client_value_get(d, "latest"))});
  });
  return out;
}

RegisteredDataset registeredDatasetOf(const aimass_client_value* v) {
  needObject(v, "registered dataset");
  RegisteredDataset d;
  d.name = text(v, "name");
  eachElement(aimass_client_value_get(v, "versions"), [&](const aimass_client_value* version) {
    d.versions.push_back(datasetVersionOf(version));
  });
  return d;
}

Run runOf(const aimass_client_value* v) {
  needObject(v, "run");
  Run r;
  r.id = integer(v, "id");
  r.experiment = text(v, "experiment");
  r.status = text(v, "status");
  r.type = text(v, "type");
  r.node = text(v, "node");
  r.error = text(v, "error");
  r.start_unix_ms = integer(v, "start_unix_ms");
  r.end_unix_ms = integer(v, "end_unix_ms");
  r.params = stringMap(aimass_client_value_get(v, "params"));
  r.artifacts = stringMap(aimass_client_value_get(v, "artifacts"));
  eachMember(aimass_client_value_get(v, "metrics"),
             [&](std::string key, const aimass_client_value* value) {
               MetricSummary s;
               if (aimass_client_value_type(value) == AIMASS_CLIENT_JSON_OBJECT) {
                 s.last = number(aimass_client_value_get(value, "last"));
                 s.last_step = integer(value, "last_step");
                 s.min = number(aimass_client_value_get(value, "min"));
                 s.max = number(aimass_client_value_get(value, "max"));
                 s.points = integer(value, "points");
               } else {
                 s.last = number(value);  // a run list has the last value only
               }
               r.metrics.emplace(std::move(key), s);
             });
  return r;
}

RunList runListOf(const aimass_client_value* v) {
  needObject(v, "run list");
  RunList list;
  list.matched = integer(v, "matched");
  eachElement(aimass_client_value_get(v, "runs"),
              [&](const aimass_client_value* run) { list.runs.push_back(runOf(run)); });
  return list;
}

}  // namespace aimass::client::detail
