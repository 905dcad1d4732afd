// SPDX-License-Identifier: Apache-2.0
// optimizer.cmaes: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "cmaes.h"

namespace {

using aimass::ParamSpec;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("optimizer.cmaes registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "optimizer.cmaes";
    type.kind = aimass::NodeKind::kOptimizer;
    type.summary =
        "CMA-ES with IPOP restarts: an adapted multivariate normal over the unit-scaled space";
    type.params.push_back(
        ParamSpec::number("sigma0",
                          "Initial step size, as a fraction of each dimension's range (the "
                          "search runs in the unit cube); restarts start from it again.")
            .withDefault(0.3)
            .range(1e-6, 1));
    type.params.push_back(
        ParamSpec::integer("population",
                           "Candidates per generation (lambda) of the first run; 0 picks "
                           "4 + floor(3 ln dimensions). Each IPOP restart doubles it.")
            .withDefault(std::int64_t{0})
            .range(0, 1 << 20));
    type.params.push_back(
        ParamSpec::integer("restarts",
                           "The most IPOP restarts that double the population; a run that "
                           "stalls after those restarts with the same population.")
            .withDefault(std::int64_t{9})
            .range(0, 30));
    type.params.push_back(
        ParamSpec::integer("seed",
                           "Mixed with the seed the tuner passes to begin(); change it to get a "
                           "different but reproducible search.")
            .withDefault(std::int64_t{0}));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      aimass::plugins::optimizer::CmaesOptions options;
      options.sigma0 = config.getFloat("sigma0");
      options.population = static_cast<std::size_t>(config.getInt("population"));
      options.restarts = static_cast<std::size_t>(config.getInt("restarts"));
      options.seed = static_cast<std::uint64_t>(config.getInt("seed"));
      auto optimizer = aimass::plugins::optimizer::Cmaes::create(options);
      if (!optimizer.ok()) {
        return optimizer.status();
      }
      return std::unique_ptr<aimass::Node>(std::move(optimizer).value());
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("optimizer.cmaes", "1.0.0", "CMA-ES with IPOP restarts", &registerTypes)
