// SPDX-License-Identifier: Apache-2.0
// optimizer.adam and optimizer.adamw: entry point and registration.

#include "aimass/plugin.h"

#include <algorithm>
#include <memory>

#include "adam.h"
#include "aimass/host.h"

namespace {

using aimass::ParamSpec;

/// Both types share their parameters; only the weight decay's meaning and default differ.
aimass::NodeType adamType(bool decoupled) {
  aimass::NodeType type;
  type.type = decoupled ? "optimizer.adamw" : "optimizer.adam";
  type.kind = aimass::NodeKind::kOptimizer;
  type.summary = decoupled ? "AdamW: Adam with decoupled weight decay (PyTorch's formulation)"
                           : "Adam: adaptive moment estimation (PyTorch's formulation)";
  type.params.push_back(
      ParamSpec::number("learning_rate",
                        "Step size: w -= learning_rate * m_hat / (sqrt(v_hat) + epsilon).")
          .withDefault(1e-3)
          .atLeast(1e-12));
  type.params.push_back(
      ParamSpec::number("beta1", "Decay rate of the running mean of gradients (first moment).")
          .withDefault(0.9)
          .range(0, 0.999999));
  type.params.push_back(ParamSpec::number("beta2",
                                          "Decay rate of the running mean of squared gradients "
                                          "(second moment).")
                            .withDefault(0.999)
                            .range(0, 0.999999));
  type.params.push_back(
      ParamSpec::number("epsilon", "Added to the denominator for numerical stability.")
          .withDefault(1e-8)
          .atLeast(1e-30));
  type.params.push_back(
      decoupled
          ? ParamSpec::number("weight_decay",
                              "Decoupled weight decay: every step first shrinks the weights, "
                              "w *= 1 - learning_rate * weight_decay.")
                .withDefault(1e-2)
                .atLeast(0)
          : ParamSpec::number("weight_decay",
                              "L2 coefficient added to the gradient: gradient + weight_decay * "
                              "w (use optimizer.adamw for decoupled decay).")
                .withDefault(0.0)
                .atLeast(0));
  type.params.push_back(
      ParamSpec::boolean("amsgrad",
                         "AMSGrad: divide by the running maximum of the second moment, so "
                         "the effective step never grows.")
          .withDefault(false));
  type.factory =
      [decoupled](
          const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
    aimass::plugins::optimizer::AdamOptions options;
    options.learning_rate = config.getFloat("learning_rate");
    options.beta1 = config.getFloat("beta1");
    options.beta2 = config.getFloat("beta2");
    options.epsilon = config.getFloat("epsilon");
    options.weight_decay = config.getFloat("weight_decay");
    options.amsgrad = config.getBool("amsgrad");
    options.decoupled = decoupled;
    options.threads = std::max(1, config.host().threads());
    auto optimizer = aimass::plugins::optimizer::AdamOptimizer::create(options);
    if (!optimizer.ok()) {
      return optimizer.status();
    }
    return std::unique_ptr<aimass::Node>(std::move(optimizer).value());
  };
  return type;
}

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("optimizer.adam registration", [&]() -> aimass::Status {
    AIMASS_RETURN_IF_ERROR(registrar.add(adamType(false)));
    return registrar.add(adamType(true));
  });
}

}  // namespace

AIMASS_PLUGIN("optimizer.adam", "1.0.0", "Adam and AdamW gradient optimizers", &registerTypes)
