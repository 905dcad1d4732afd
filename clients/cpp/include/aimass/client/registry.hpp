// SPDX-License-Identifier: Apache-2.0
// Typed answers of the metadata routes (GET /v2, GET /v2/models/{m}) and of the /api/v1
// registry, datasets and runs routes (docs/openapi.yaml). Plain values, no transport.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace aimass::client {

/// GET /v2.
struct ServerMetadata {
  std::string name;
  std::string version;
  std::vector<std::string> extensions;
};

/// One input or output of a model's metadata; a dimension of -1 is variable.
struct TensorMetadata {
  std::string name;
  std::string datatype;  ///< the OIP name, such as "FP32"
  std::vector<std::int64_t> shape;
  bool optional = false;
};

/// GET /v2/models/{model}[/versions/{v}].
struct ModelMetadata {
  std::string name;
  std::vector<std::string> versions;
  std::string platform;
  std::vector<TensorMetadata> inputs;
  std::vector<TensorMetadata> outputs;
  /// The whole answer as JSON text, for members not mapped here ("parameters", ...).
  std::string json;
};

/// An entry of GET /api/v1/models.
struct ModelSummary {
  std::string model;
  std::int64_t versions = 0;
  std::int64_t latest = 0;  ///< 0 when the model has only aliases
  std::map<std::string, std::int64_t> aliases;
};

/// A registered model version. A metric is nullopt where the server has null (NaN).
struct ModelVersion {
  std::string model;
  std::int64_t version = 0;
  std::string artifact;
  std::string sha256;
  std::string node;
  std::string type;
  std::string dataset;  ///< "" when the version records none
  std::int64_t created_unix_ms = 0;
  std::map<std::string, std::optional<double>> metrics;
  std::map<std::string, std::string> tags;
  std::vector<std::string> aliases;
};

/// GET /api/v1/models/{model}.
struct RegisteredModel {
  std::string model;
  std::map<std::string, std::int64_t> aliases;
  std::vector<ModelVersion> versions;
};

/// An alias after promote or rollback: its target and earlier targets (oldest first).
struct ModelAlias {
  std::string model;
  std::string alias;
  std::int64_t version = 0;
  std::vector<std::int64_t> history;
};

struct DatasetVersion {
  std::string name;
  std::int64_t version = 0;
  std::string type;
  std::string source;
  std::string sha256;
  std::int64_t rows = 0;
  std::int64_t created_unix_ms = 0;
};

/// An entry of GET /api/v1/datasets.
struct DatasetSummary {
  std::string name;
  std::int64_t versions = 0;
  DatasetVersion latest;
};

/// GET /api/v1/datasets/{name}.
struct RegisteredDataset {
  std::string name;
  std::vector<DatasetVersion> versions;
};

/// A run's metric. listRuns() answers only `last`; getRun() every member.
struct MetricSummary {
  std::optional<double> last;
  std::int64_t last_step = 0;
  std::optional<double> min;
  std::optional<double> max;
  std::int64_t points = 0;
};

struct Run {
  std::int64_t id = 0;
  std::string experiment;
  std::string status;
  std::string type;
  std::string node;
  std::string error;
  std::int64_t start_unix_ms = 0;
  std::int64_t end_unix_ms = 0;  ///< 0 while running
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> artifacts;
  std::map<std::string, MetricSummary> metrics;
};

/// GET /api/v1/runs: how many matched before the limit, and the runs.
struct RunList {
  std::int64_t matched = 0;
  std::vector<Run> runs;
};

/// The query of listRuns(); empty strings are not sent.
struct RunQuery {
  std::string experiment;
  std::string filter;  ///< such as "val_accuracy>0.8"
  std::string status;
  std::string sort;
  bool descending = false;
  std::optional<std::int64_t> limit;
};

}  // namespace aimass::client
