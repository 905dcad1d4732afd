// SPDX-License-Identifier: Apache-2.0
// optimizer.grid: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "grid.h"

namespace {

using aimass::ParamSpec;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("optimizer.grid registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "optimizer.grid";
    type.kind = aimass::NodeKind::kOptimizer;
    type.summary = "Grid search: every valid combination of per-dimension grid values, once";
    type.params.push_back(
        ParamSpec::integer("points",
                           "Values per float dimension, spread evenly (in log space when "
                           "log-scaled) including both bounds; an int dimension takes all its "
                           "integers when it has at most this many, else this many spread ones.")
            .withDefault(std::int64_t{5})
            .range(1, 1000000));
    type.params.push_back(ParamSpec::boolean("shuffle", "Visit the grid in a seeded random order.")
                              .withDefault(false));
    type.params.push_back(
        ParamSpec::integer("seed", "Mixed with the tuner's seed to fix the shuffled order.")
            .withDefault(std::int64_t{0}));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      std::unique_ptr<aimass::Node> node;
      aimass::Status status = aimass::guard("optimizer.grid factory", [&] {
        aimass::plugins::optimizer::GridOptions options;
        options.points = static_cast<std::size_t>(config.getInt("points"));
        options.shuffle = config.getBool("shuffle");
        options.seed = static_cast<std::uint64_t>(config.getInt("seed"));
        node = std::make_unique<aimass::plugins::optimizer::GridSearch>(options);
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

AIMASS_PLUGIN("optimizer.grid", "1.0.0", "Exhaustive grid search", &registerTypes)
