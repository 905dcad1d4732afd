// SPDX-License-Identifier: Apache-2.0
// optimizer.lbfgs: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "lbfgs.h"

namespace {

using aimass::ParamSpec;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("optimizer.lbfgs registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "optimizer.lbfgs";
    type.kind = aimass::NodeKind::kOptimizer;
    type.summary =
        "L-BFGS with a fixed step (no line search); for full-batch training of smooth models";
    type.params.push_back(
        ParamSpec::number("learning_rate",
                          "Fixed step length along the quasi-Newton direction; the first step "
                          "(and any restart) uses min(1, 1/|g|_1) times it.")
            .withDefault(1.0)
            .atLeast(1e-12));
    type.params.push_back(
        ParamSpec::integer("memory",
                           "Curvature pairs (update, gradient change) kept to approximate the "
                           "inverse Hessian; memory costs 2 * memory floats per parameter.")
            .withDefault(std::int64_t{100})
            .range(1, 10000));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      aimass::plugins::optimizer::LbfgsOptions options;
      options.learning_rate = config.getFloat("learning_rate");
      options.memory = static_cast<std::uint64_t>(config.getInt("memory"));
      auto optimizer = aimass::plugins::optimizer::LbfgsOptimizer::create(options);
      if (!optimizer.ok()) {
        return optimizer.status();
      }
      return std::unique_ptr<aimass::Node>(std::move(optimizer).value());
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("optimizer.lbfgs", "1.0.0", "L-BFGS gradient optimizer", &registerTypes)
