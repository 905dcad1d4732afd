// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Conformance suites: what every node of a kind must do, checked on a live instance.
/// `aimass plugin check LIB.so` runs them on each type a library registers; plugin tests (ours
/// and vendors') run them too. Header-only and framework-free: each suite returns its checks.

#include <string>
#include <vector>

#include "aimass/testing/check.h"
#include "aimass/testing/dataset_conformance.h"
#include "aimass/testing/frontend_conformance.h"
#include "aimass/testing/model_conformance.h"
#include "aimass/testing/optimizer_conformance.h"
#include "aimass/testing/storage_conformance.h"
#include "aimass/testing/transform_conformance.h"

namespace aimass::testing {

/// Runs the suite for the node's kind. Kinds without a suite (jobs, collectives, callbacks) return
/// one passing check saying so.
inline CheckResults runConformance(Node& node, Host& host) {
  switch (node.kind()) {
    case NodeKind::kStorage:
      return checkStorage(static_cast<Storage&>(node));
    case NodeKind::kDataset:
      return checkDataset(static_cast<const Dataset&>(node));
    case NodeKind::kModel:
      return checkModel(static_cast<Model&>(node));
    case NodeKind::kOptimizer: {
      auto& optimizer = static_cast<Optimizer&>(node);
      if (optimizer.style() == OptimizerStyle::kGradient) {
        return checkGradientOptimizer(static_cast<GradientOptimizer&>(node));
      }
      return checkSearchOptimizer(static_cast<SearchOptimizer&>(node));
    }
    case NodeKind::kFrontend:
      return checkFrontend(static_cast<Frontend&>(node), host);
    case NodeKind::kTransform:
      return checkTransform(static_cast<Transform&>(node), sampleTransformTable());
    case NodeKind::kCollective:
    case NodeKind::kJob:
    case NodeKind::kCallback:
    case NodeKind::kServing:
    case NodeKind::kService:
      break;
  }
  return {{"no conformance suite for kind " + std::string(nodeKindName(node.kind())), true, ""}};
}

}  // namespace aimass::testing
