// SPDX-License-Identifier: Apache-2.0
// The entry point and registration only; the model lives in nearest_centroid.{h,cc}.
#include "aimass/aimass.h"
#include "nearest_centroid.h"

namespace {

aimass::Status registerTypes(aimass::Registrar& registrar) {
  aimass::NodeType type;
  type.type = "model.nearest_centroid";
  type.kind = aimass::NodeKind::kModel;
  type.summary = "Nearest-centroid classifier (template plugin built out of tree)";
  type.params = {
      aimass::ParamSpec::number("temperature",
                                "Divides squared distances before the softmax that turns "
                                "them into probabilities; larger is softer.")
          .withDefault(1.0)
          .atLeast(1e-9)};
  type.factory =
      [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
    return std::unique_ptr<aimass::Node>(
        std::make_unique<vendor::NearestCentroid>(config.getFloat("temperature")));
  };
  return registrar.add(std::move(type));
}

}  // namespace

AIMASS_PLUGIN("vendor.nearest_centroid", "1.0.0", "Template plugin: a nearest-centroid classifier",
              &registerTypes)
