// SPDX-License-Identifier: Apache-2.0
// optimizer.sgd: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "sgd.h"

namespace {

using aimass::ParamSpec;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("optimizer.sgd registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "optimizer.sgd";
    type.kind = aimass::NodeKind::kOptimizer;
    type.summary =
        "Stochastic gradient descent with optional (Nesterov) momentum and weight "
        "decay";
    type.params.push_back(ParamSpec::number("learning_rate",
                                            "Step size: w -= learning_rate * "
                                            "update.")
                              .withDefault(0.01)
                              .atLeast(1e-12));
    type.params.push_back(
        ParamSpec::number("momentum",
                          "Momentum factor: the update is a running sum v = momentum * v + "
                          "gradient. 0 is plain SGD; 0.9 is a common choice.")
            .withDefault(0.0)
            .range(0, 0.999));
    type.params.push_back(ParamSpec::boolean("nesterov",
                                             "Use Nesterov momentum (gradient + momentum * v). "
                                             "Needs momentum > 0.")
                              .withDefault(false));
    type.params.push_back(
        ParamSpec::number("weight_decay",
                          "L2 coefficient added to the gradient: gradient + weight_decay * w.")
            .withDefault(0.0)
            .atLeast(0));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      aimass::plugins::optimizer::SgdOptions options;
      options.learning_rate = config.getFloat("learning_rate");
      options.momentum = config.getFloat("momentum");
      options.nesterov = config.getBool("nesterov");
      options.weight_decay = config.getFloat("weight_decay");
      auto optimizer = aimass::plugins::optimizer::SgdOptimizer::create(options);
      if (!optimizer.ok()) {
        return optimizer.status();
      }
      return std::unique_ptr<aimass::Node>(std::move(optimizer).value());
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("optimizer.sgd", "1.0.0", "Stochastic gradient descent", &registerTypes)
