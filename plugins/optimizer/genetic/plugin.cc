// SPDX-License-Identifier: Apache-2.0
// optimizer.genetic: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "genetic.h"

namespace {

using aimass::ParamSpec;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("optimizer.genetic registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "optimizer.genetic";
    type.kind = aimass::NodeKind::kOptimizer;
    type.summary =
        "Real-coded genetic algorithm (SBX, polynomial mutation, tournaments); NSGA-II for "
        "several objectives";
    type.params.push_back(ParamSpec::integer("population", "Individuals per generation.")
                              .withDefault(std::int64_t{20})
                              .range(2, 1 << 20));
    type.params.push_back(
        ParamSpec::integer("elites",
                           "Best parents carried into each next generation (one objective; "
                           "NSGA-II keeps its elite by non-dominated sorting). Below population.")
            .withDefault(std::int64_t{2})
            .range(0, 1 << 20));
    type.params.push_back(
        ParamSpec::number("crossover_rate", "Probability that a pair of parents is crossed.")
            .withDefault(0.9)
            .range(0, 1));
    type.params.push_back(
        ParamSpec::number("crossover_eta",
                          "SBX distribution index: larger keeps children nearer their parents.")
            .withDefault(15.0)
            .range(0, 1000));
    type.params.push_back(
        ParamSpec::number("mutation_rate",
                          "Probability that a gene mutates; 0 means 1 / dimensions.")
            .withDefault(0.0)
            .range(0, 1));
    type.params.push_back(
        ParamSpec::number("mutation_eta",
                          "Polynomial mutation distribution index: larger makes smaller "
                          "mutations.")
            .withDefault(20.0)
            .range(0, 1000));
    type.params.push_back(
        ParamSpec::integer("seed",
                           "Mixed with the seed the tuner passes to begin(); change it to get a "
                           "different but reproducible search.")
            .withDefault(std::int64_t{0}));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      aimass::plugins::optimizer::GeneticOptions options;
      options.population = static_cast<std::size_t>(config.getInt("population"));
      options.elites = static_cast<std::size_t>(config.getInt("elites"));
      options.crossover_rate = config.getFloat("crossover_rate");
      options.crossover_eta = config.getFloat("crossover_eta");
      options.mutation_rate = config.getFloat("mutation_rate");
      options.mutation_eta = config.getFloat("mutation_eta");
      options.seed = static_cast<std::uint64_t>(config.getInt("seed"));
      auto optimizer = aimass::plugins::optimizer::Genetic::create(options);
      if (!optimizer.ok()) {
        return optimizer.status();
      }
      return std::unique_ptr<aimass::Node>(std::move(optimizer).value());
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("optimizer.genetic", "1.0.0", "Genetic algorithm and NSGA-II", &registerTypes)
