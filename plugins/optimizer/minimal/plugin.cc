// SPDX-License-Identifier: Apache-2.0
// optimizer.random_search: entry point and registration.
//
// Step 8: registration declares the parameters with docs and defaults; the host validates
// configs against them before the factory runs, so the factory just reads them.

#include "aimass/plugin.h"

#include <memory>

#include "minimal.h"

namespace {

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("optimizer.random_search registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "optimizer.random_search";
    type.kind = aimass::NodeKind::kOptimizer;
    type.summary = "Random search: uniform (or log-uniform) samples of the search space";
    type.params.push_back(
        aimass::ParamSpec::integer("seed",
                                   "Mixed with the seed the tuner passes to begin(); change it "
                                   "to get a different but reproducible sequence of candidates.")
            .withDefault(std::int64_t{0}));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      std::unique_ptr<aimass::Node> node;
      aimass::Status status = aimass::guard("optimizer.random_search factory", [&] {
        node = std::make_unique<aimass::plugins::optimizer::RandomSearch>(
            static_cast<std::uint64_t>(config.getInt("seed")));
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

// Step 9: the entry point.
AIMASS_PLUGIN("optimizer.random_search", "1.0.0", "Random search (narrated example)",
              &registerTypes)
