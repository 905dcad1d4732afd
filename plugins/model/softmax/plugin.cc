// SPDX-License-Identifier: Apache-2.0
// model.softmax: entry point and registration.

#include "aimass/plugin.h"

#include <algorithm>
#include <memory>

#include "aimass/host.h"
#include "softmax.h"

namespace {

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("model.softmax registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "model.softmax";
    type.kind = aimass::NodeKind::kModel;
    type.summary = "Multinomial logistic regression (softmax classifier) trained by gradients";
    type.params.push_back(
        aimass::ParamSpec::number("l2",
                                  "Weight of the L2 penalty l2/2 * ||W||^2 added to the mean "
                                  "cross-entropy (biases are not penalised). 0 disables it.")
            .withDefault(0.0)
            .atLeast(0));
    type.params.push_back(
        aimass::ParamSpec::number("init_scale",
                                  "Standard deviation of the normal distribution the initial "
                                  "weights are drawn from (seeded); biases start at 0.")
            .withDefault(0.01)
            .atLeast(0));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      aimass::plugins::model::SoftmaxOptions options;
      options.l2 = config.getFloat("l2");
      options.init_scale = config.getFloat("init_scale");
      // Training threads: the host's budget (the graph's `threads:`, all cores by default).
      options.threads = std::max(1, config.host().threads());
      std::unique_ptr<aimass::Node> node;
      aimass::Status status = aimass::guard("model.softmax factory", [&] {
        node = std::make_unique<aimass::plugins::model::SoftmaxRegression>(options);
      });
      if (!status.ok()) {
        return status;
      }
      return node;
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("model.softmax", "1.0.0", "Softmax (multinomial logistic) regression", &registerTypes)
