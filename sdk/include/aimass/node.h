// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string_view>

namespace aimass {

/// The kinds of node a configuration graph can hold. Every node type a plugin registers has
/// exactly one kind, and a parameter that references another node names the kind it accepts.
enum class NodeKind {
  kStorage,     ///< aimass::Storage: blobs and keyed records.
  kDataset,     ///< aimass::Dataset: rows of features (and labels) read by index.
  kModel,       ///< aimass::Model: predicts; may be trainable.
  kOptimizer,   ///< aimass::GradientOptimizer or aimass::SearchOptimizer.
  kFrontend,    ///< aimass::Frontend: serves the host's models and routes over a protocol.
  kCollective,  ///< aimass::Collective: rank, size, allreduce, broadcast, barrier.
  kJob,         ///< aimass::Job: work that runs once the graph is built (train, evaluate, tune).
  kCallback,    ///< aimass::TrainingCallback: hooks into job.train's loop (see training.h).
  kServing,     ///< the host's `serving.runtime` settings: batching, version policies, repository.
  kTransform,   ///< aimass::Transform: preprocessing fitted on training rows, saved with a model.
  kService,     ///< the host's `service.jobs`: queued jobs run in worker processes (ABI 8.0).
};

inline constexpr NodeKind kAllNodeKinds[] = {
    NodeKind::kStorage,  NodeKind::kDataset,    NodeKind::kModel, NodeKind::kOptimizer,
    NodeKind::kFrontend, NodeKind::kCollective, NodeKind::kJob,   NodeKind::kCallback,
    NodeKind::kServing,  NodeKind::kTransform,  NodeKind::kService};

/// "storage", "dataset", "model", "optimizer", "frontend", "collective", "job", "callback",
/// "serving", "transform", "service".
constexpr std::string_view nodeKindName(NodeKind kind) noexcept {
  switch (kind) {
    case NodeKind::kStorage:
      return "storage";
    case NodeKind::kDataset:
      return "dataset";
    case NodeKind::kModel:
      return "model";
    case NodeKind::kOptimizer:
      return "optimizer";
    case NodeKind::kFrontend:
      return "frontend";
    case NodeKind::kCollective:
      return "collective";
    case NodeKind::kJob:
      return "job";
    case NodeKind::kCallback:
      return "callback";
    case NodeKind::kServing:
      return "serving";
    case NodeKind::kTransform:
      return "transform";
    case NodeKind::kService:
      return "service";
  }
  return "unknown";
}

inline std::optional<NodeKind> nodeKindFromName(std::string_view name) noexcept {
  for (auto k : kAllNodeKinds) {
    if (nodeKindName(k) == name) {
      return k;
    }
  }
  return std::nullopt;
}

/// Base of every object a plugin factory makes for a configuration node.
///
/// Lifetime: the host owns nodes. It creates them in dependency order and destroys them in
/// reverse, so a node may keep pointers to the nodes its parameters reference for its whole
/// life. The host keeps the plugin library loaded as long as any node it made is alive.
class Node {
 public:
  virtual ~Node() = default;
  /// Which interface this node implements; the host casts on it (no RTTI across libraries).
  virtual NodeKind kind() const noexcept = 0;
};

}  // namespace aimass
