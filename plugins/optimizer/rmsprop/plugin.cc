// SPDX-License-Identifier: Apache-2.0
// optimizer.rmsprop: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "rmsprop.h"

namespace {

using aimass::ParamSpec;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("optimizer.rmsprop registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "optimizer.rmsprop";
    type.kind = aimass::NodeKind::kOptimizer;
    type.summary = "RMSProp: gradients scaled by a running RMS (PyTorch's formulation)";
    type.params.push_back(
        ParamSpec::number("learning_rate",
                          "Step size: w -= learning_rate * g / (sqrt(mean of g^2) + epsilon).")
            .withDefault(1e-2)
            .atLeast(1e-12));
    type.params.push_back(
        ParamSpec::number("alpha", "Decay rate of the running mean of squared gradients.")
            .withDefault(0.99)
            .range(0, 0.999999));
    type.params.push_back(
        ParamSpec::number("epsilon", "Added to the denominator for numerical stability.")
            .withDefault(1e-8)
            .atLeast(1e-30));
    type.params.push_back(
        ParamSpec::number("weight_decay",
                          "L2 coefficient added to the gradient: gradient + weight_decay * w.")
            .withDefault(0.0)
            .atLeast(0));
    type.params.push_back(
        ParamSpec::number("momentum", "Momentum on the scaled update; 0 turns it off.")
            .withDefault(0.0)
            .range(0, 0.999999));
    type.params.push_back(
        ParamSpec::boolean("centered",
                           "Divide by the estimated variance of the gradient (second moment "
                           "minus squared mean) instead of its raw second moment.")
            .withDefault(false));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      aimass::plugins::optimizer::RmsPropOptions options;
      options.learning_rate = config.getFloat("learning_rate");
      options.alpha = config.getFloat("alpha");
      options.epsilon = config.getFloat("epsilon");
      options.weight_decay = config.getFloat("weight_decay");
      options.momentum = config.getFloat("momentum");
      options.centered = config.getBool("centered");
      auto optimizer = aimass::plugins::optimizer::RmsPropOptimizer::create(options);
      if (!optimizer.ok()) {
        return optimizer.status();
      }
      return std::unique_ptr<aimass::Node>(std::move(optimizer).value());
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("optimizer.rmsprop", "1.0.0", "RMSProp gradient optimizer", &registerTypes)
