// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "sequence_store.h"

#include <memory>
#include <string>
#include <vector>

#include "aimass/host.h"
#include "aimass/http.h"
#include "aimass/node.h"
#include "aimass/plugin.h"
#include "aimass/serving.h"
#include "aimass/status.h"
#include "aimass/storage.h"
#include "serving_graph.h"
#include "serving_settings.h"
#include "traffic_split.h"

namespace aimass::core {

/// What a `serving.runtime` node configures, already checked.
struct ServingConfig {
  BatchingOptions batching;      ///< for every model without settings of its own
  VersionPolicy version_policy;  ///< likewise
  std::string precision = "fp32";  ///< likewise
  InputValidation input_validation;  ///< likewise
  bool outlier_scores = false;       ///< likewise (outlier_scores on)
  PayloadLogging payload;            ///< likewise (model_exclude empty)
  std::vector<ModelSettings> models;
  /// The storage whose model registry ModelServing::load() reads; null: none.
  std::shared_ptr<Storage> repository;
  std::string repository_name;    ///< its node name
  /// Where learned feedback is persisted and replayed from (`feedback_storage`, else the
  /// repository unless `persist_feedback` is false); null: nowhere.
  std::shared_ptr<Storage> feedback_storage;
  std::string feedback_storage_name;  ///< its node name
  /// Where logged payloads are written (`payload_storage`, else the repository); null: none.
  std::shared_ptr<Storage> payload_storage;
  std::string payload_storage_name;  ///< its node name
  std::vector<std::string> load;  ///< references loaded once the jobs are done
  SequenceLimits sequences;       ///< bounds of the stored sequence states
  std::vector<GraphSpec> graphs;      ///< serving graphs (checked against the models at apply())
  std::vector<TrafficSpec> traffic;   ///< A/B splits and shadows, likewise
};

/// The built-in `serving.runtime` node: the settings of the host's one serving runtime, which
/// every frontend serves through (batching, version policies, the model repository and the
/// versions loaded from it at start). A graph has at most one; without it the runtime batches
/// nothing, serves the latest version of what is loaded and has no repository.
///
/// The host applies it (apply()) after the jobs ran and before the frontends start, so a
/// version a training job registered in the same run can be loaded.
///
/// Threading: made and applied on the host's main thread; immutable after that.
class ServingNode final : public Node {
 public:
  ServingNode(std::string name, ServingConfig config)
      : name_(std::move(name)), config_(std::move(config)) {}

  NodeKind kind() const noexcept override { return NodeKind::kServing; }
  const ServingConfig& config() const noexcept { return config_; }

  /// Hands the settings, the repository and the feedback storage (which replays the learned
  /// feedback of the graph's models) to `serving`, then loads each `load` reference (logged),
  /// then sets the traffic splits and the serving graphs (ServingRuntime::setTraffic() and
  /// setGraphs(), which check them against the models now served). The first failure is
  /// returned naming the node and the reference, split or graph; versions loaded before it
  /// stay loaded.
  Status apply(ModelServing& serving, Host& host) const;

 private:
  // Hands the payload storage and the payload settings, node-wide and per model, to `runtime`.
  void applyPayloadLogging(ServingRuntime& runtime) const;

  std::string name_;
  ServingConfig config_;
};

/// GET /v2/shadow/{model}: the recent shadow comparisons of `host`'s serving runtime
/// (ServingRuntime::shadowComparisons()); 404 for a model without a shadow. The node adds it
/// when a `traffic` entry names a shadow.
Route shadowRoute(Host& host);

/// The `serving.runtime` node type: parameters, documentation and factory.
NodeType servingNodeType();

}  // namespace aimass::core
