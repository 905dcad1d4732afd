// SPDX-License-Identifier: Apache-2.0
// job.tune's parameters and factory.

#include <memory>

#include "aimass/core/tracking.h"
#include "tune/tune_job.h"

namespace aimass::core {

NodeType tuneJobNodeType() {
  NodeType type;
  type.type = "job.tune";
  type.kind = NodeKind::kJob;
  type.summary =
      "Tunes a job.train and the nodes it uses: trials in worker processes, a search "
      "optimizer, pruning, a resumable study, the best model registered";
  type.params = {
      ParamSpec::ref("trial", NodeKind::kJob,
                     "The job.train each trial runs, with the trial's values written over the "
                     "parameters `space` names. `aimass run` runs it only as trials."),
      ParamSpec::json("space",
                      "What to tune: NODE.PARAM keys (the trial job or a node it uses) mapping "
                      "to {uniform: [LOW, HIGH]}, {log_uniform: [LOW, HIGH]}, {int: [LOW, "
                      "HIGH]}, {log_int: [LOW, HIGH]} or {choice: [VALUES]}, each optionally "
                      "with when: {EARLIER_CHOICE_KEY: VALUES} (see docs/tuning.md).")
          .withExample("{adam.learning_rate: {log_uniform: [1e-4, 1e-1]}, "
                       "mlp.hidden: {choice: [[128], [256, 128]]}}"),
      ParamSpec::ref("optimizer", NodeKind::kOptimizer,
                     "The search optimizer that proposes trials (optimizer.tpe, "
                     "optimizer.random, optimizer.cmaes, optimizer.genetic, optimizer.rl, "
                     "optimizer.grid)."),
      ParamSpec::string("objective", "The validation metric each trial is judged by, after "
                                     "every epoch and at its end.")
          .withDefault(std::string("val_loss"))
          .oneOf({"val_loss", "val_accuracy", "train_loss"}),
      ParamSpec::string("direction",
                        "minimize or maximize the objective; auto maximizes val_accuracy and "
                        "minimizes the losses.")
          .withDefault(std::string("auto"))
          .oneOf({"auto", "minimize", "maximize"}),
      ParamSpec::integer("trials",
                         "The study's budget: trials that end (complete, pruned or failed), "
                         "counted over every run of the study.")
          .withDefault(std::int64_t{20})
          .atLeast(1),
      ParamSpec::integer("parallel",
                         "Trials running at once, each in its own process (on each rank, with "
                         "`collective`).")
          .withDefault(std::int64_t{1})
          .range(1, 256),
      ParamSpec::integer("threads_per_trial",
                         "Compute threads of each trial; 0 shares the graph's `threads` "
                         "among the parallel trials (at least 1 each).")
          .withDefault(std::int64_t{0})
          .range(0, 1024),
      ParamSpec::integer("seed", "Passed to the optimizer's begin(): the same seed proposes "
                                 "the same trials.")
          .withDefault(std::int64_t{0}),
      ParamSpec::string("study",
                        "The study's name: where it is kept in the trial job's storage and the "
                        "experiment its runs are tracked in. Empty: the node's name.")
          .withDefault(std::string()),
      ParamSpec::boolean("register",
                         "Register the best trial's model as the model's next version when the "
                         "study ends (it is loaded into the model node either way).")
          .withDefault(true),
      ParamSpec::string("pruner",
                        "Stops unpromising trials early from their per-epoch objective: median "
                        "(below the median of completed trials), successive_halving (ASHA) or "
                        "hyperband.")
          .withDefault(std::string("none"))
          .oneOf({"none", "median", "successive_halving", "hyperband"}),
      ParamSpec::integer("pruner_startup_trials",
                         "median: completed trials before any trial is pruned.")
          .withDefault(std::int64_t{5})
          .atLeast(0),
      ParamSpec::integer("pruner_warmup_epochs",
                         "median: epochs of each trial before it can be pruned.")
          .withDefault(std::int64_t{1})
          .atLeast(0),
      ParamSpec::integer("min_epochs",
                         "successive_halving, hyperband: the first rung (epochs every trial "
                         "gets).")
          .withDefault(std::int64_t{1})
          .atLeast(1),
      ParamSpec::ref("collective", NodeKind::kCollective,
                     "Shares the study among the ranks of a collective node (collective.mpi "
                     "when started by mpirun): every rank runs trials in workers of its own, "
                     "trial numbers and the budget hold over all ranks, the study lives in the "
                     "trial job's storage (storage.postgres across hosts), rank 0 alone "
                     "registers the best. See docs/tuning.md.")
          .optional(),
      ParamSpec::number("lease_seconds",
                        "collective: how long a rank's claim on a running trial lasts without "
                        "renewal (it renews every quarter of it); the trial of a rank silent "
                        "for longer runs again on another rank. Also the study lock's expiry.")
          .withDefault(60.0)
          .range(1.0, 86400.0),
      ParamSpec::integer("reduction_factor",
                         "successive_halving, hyperband: each rung keeps the best "
                         "1/reduction_factor of the trials that reach it.")
          .withDefault(std::int64_t{3})
          .atLeast(2),
  };
  type.factory = [](const NodeConfig& config) -> Expected<std::unique_ptr<Node>> {
    std::unique_ptr<Node> node;
    Status status = guard("job.tune", [&]() -> Status {
      auto optimizer = config.getRef<Optimizer>("optimizer");
      const std::string optimizer_type = config.refTypes("optimizer").front();
      if (!optimizer || optimizer->style() != OptimizerStyle::kSearch) {
        return invalidArgument("optimizer '" + config.refNames("optimizer").front() + "' (" +
                               optimizer_type +
                               ") is a gradient optimizer; job.tune needs a search optimizer "
                               "such as optimizer.tpe");
      }
      TuneOptions options;
      options.study = config.getString("study");
      if (options.study.empty()) {
        options.study = config.nodeName();
      }
      AIMASS_RETURN_IF_ERROR(Tracking::validateName(options.study, "study"));
      options.objective = config.getString("objective");
      const std::string direction = config.getString("direction");
      options.maximize = direction == "maximize" ||
                         (direction == "auto" && options.objective == "val_accuracy");
      options.trials = static_cast<std::uint64_t>(config.getInt("trials"));
      options.parallel = static_cast<std::uint64_t>(config.getInt("parallel"));
      options.threads_per_trial = static_cast<int>(config.getInt("threads_per_trial"));
      options.seed = static_cast<std::uint64_t>(config.getInt("seed"));
      options.register_best = config.getBool("register");
      const std::string pruner = config.getString("pruner");
      options.pruner.kind = pruner == "median"               ? PrunerSettings::Kind::kMedian
                            : pruner == "successive_halving" ? PrunerSettings::Kind::kSuccessiveHalving
                            : pruner == "hyperband"          ? PrunerSettings::Kind::kHyperband
                                                             : PrunerSettings::Kind::kNone;
      options.pruner.startup_trials =
          static_cast<std::uint64_t>(config.getInt("pruner_startup_trials"));
      options.pruner.warmup_steps =
          static_cast<std::uint64_t>(config.getInt("pruner_warmup_epochs"));
      options.pruner.min_resource = static_cast<std::uint64_t>(config.getInt("min_epochs"));
      options.pruner.reduction_factor =
          static_cast<std::uint64_t>(config.getInt("reduction_factor"));
      if (config.has("collective")) {
        options.collective = config.getRef<Collective>("collective");
      }
      options.lease_seconds = config.getFloat("lease_seconds");
      node = std::make_unique<TuneJob>(config.nodeName(),
                                       std::static_pointer_cast<SearchOptimizer>(optimizer),
                                       optimizer_type, std::move(options));
      return Status();
    });
    if (!status.ok()) {
      return status;
    }
    return node;
  };
  return type;
}

}  // namespace aimass::core
