// SPDX-License-Identifier: Apache-2.0
// optimizer.random: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "random.h"

namespace {

using aimass::ParamSpec;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("optimizer.random registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "optimizer.random";
    type.kind = aimass::NodeKind::kOptimizer;
    type.summary = "Random search: uniform points or the Sobol / Halton low-discrepancy sequences";
    type.params.push_back(
        ParamSpec::string("sequence",
                          "Where the points come from: 'uniform' (independent uniform draws), "
                          "'sobol' (Joe-Kuo direction numbers, 65 dimensions) or 'halton' "
                          "(radical inverses in the first primes, 256 dimensions). Dimensions "
                          "beyond a sequence's take uniform draws.")
            .withDefault(std::string("sobol"))
            .oneOf({"uniform", "sobol", "halton"}));
    type.params.push_back(
        ParamSpec::boolean("scramble",
                           "Randomise the sequence while keeping its low discrepancy: a "
                           "hash-based Owen scramble for Sobol, random digit permutations for "
                           "Halton. Seeded; ignored by 'uniform'.")
            .withDefault(true));
    type.params.push_back(
        ParamSpec::integer("seed",
                           "Mixed with the seed the tuner passes to begin(); change it to get a "
                           "different but reproducible sequence of candidates.")
            .withDefault(std::int64_t{0}));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      std::unique_ptr<aimass::Node> node;
      aimass::Status status = aimass::guard("optimizer.random factory", [&] {
        aimass::plugins::optimizer::RandomOptions options;
        const std::string& sequence = config.getString("sequence");
        options.sequence =
            sequence == "uniform"  ? aimass::plugins::optimizer::RandomSequence::kUniform
            : sequence == "halton" ? aimass::plugins::optimizer::RandomSequence::kHalton
                                   : aimass::plugins::optimizer::RandomSequence::kSobol;
        options.scramble = config.getBool("scramble");
        options.seed = static_cast<std::uint64_t>(config.getInt("seed"));
        node = std::make_unique<aimass::plugins::optimizer::RandomSearchSequence>(options);
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

AIMASS_PLUGIN("optimizer.random", "1.0.0", "Random and quasi-random (Sobol, Halton) search",
              &registerTypes)
