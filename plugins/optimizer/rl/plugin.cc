// SPDX-License-Identifier: Apache-2.0
// optimizer.rl: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "rl.h"

namespace {

using aimass::ParamSpec;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("optimizer.rl registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "optimizer.rl";
    type.kind = aimass::NodeKind::kOptimizer;
    type.summary =
        "Policy-gradient search (REINFORCE with a moving baseline) over a factorised policy: "
        "softmaxes for choices and small int ranges, Gaussians for floats";
    type.params.push_back(
        ParamSpec::integer("seed",
                           "Mixed with the seed the tuner passes to begin(); change it to get a "
                           "different but reproducible sequence of candidates.")
            .withDefault(std::int64_t{0}));
    type.params.push_back(
        ParamSpec::number("learning_rate",
                          "Adam's step size on the policy's logits, means and log standard "
                          "deviations (one step per told result).")
            .withDefault(0.1)
            .range(1e-6, 10));
    type.params.push_back(
        ParamSpec::number("baseline_decay",
                          "Decay of the moving baseline subtracted from each result's rank "
                          "utility: baseline = decay * baseline + (1 - decay) * utility.")
            .withDefault(0.9)
            .range(0, 0.999));
    type.params.push_back(
        ParamSpec::number("entropy",
                          "Weight of the policy's entropy in the objective: keeps it from "
                          "collapsing onto early choices.")
            .withDefault(0.01)
            .range(0, 10));
    type.params.push_back(
        ParamSpec::integer("warmup",
                           "Candidates drawn uniformly at random before the policy samples; "
                           "they teach the policy like its own samples.")
            .withDefault(std::int64_t{4})
            .atLeast(0));
    type.params.push_back(
        ParamSpec::integer("max_bins",
                           "Int ranges of at most this many values get a softmax with one "
                           "action per integer; larger ones a Gaussian, like floats.")
            .withDefault(std::int64_t{32})
            .range(2, 4096));
    type.params.push_back(
        ParamSpec::number("initial_std",
                          "The Gaussians' first standard deviation, in the unit interval the "
                          "dimension is mapped onto (log-scaled for log-scale dimensions).")
            .withDefault(0.15)
            .range(0.005, 0.5));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      aimass::plugins::optimizer::RlOptions options;
      options.seed = static_cast<std::uint64_t>(config.getInt("seed"));
      options.learning_rate = config.getFloat("learning_rate");
      options.baseline_decay = config.getFloat("baseline_decay");
      options.entropy = config.getFloat("entropy");
      options.warmup = config.getInt("warmup");
      options.max_bins = config.getInt("max_bins");
      options.initial_std = config.getFloat("initial_std");
      auto search = aimass::plugins::optimizer::RlSearch::create(options);
      if (!search.ok()) {
        return search.status();
      }
      return std::unique_ptr<aimass::Node>(std::move(search).value());
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("optimizer.rl", "1.0.0", "Policy-gradient (REINFORCE) search", &registerTypes)
