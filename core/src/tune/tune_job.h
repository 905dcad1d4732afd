// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "aimass/collective.h"
#include "aimass/core/diagnostics.h"
#include "aimass/core/graph.h"
#include "aimass/job.h"
#include "aimass/optimizer.h"
#include "aimass/plugin.h"
#include "aimass/storage.h"
#include "tune/pruners.h"
#include "tune/study.h"
#include "tune/study_access.h"
#include "tune/tune_space.h"

namespace aimass::core {

class TrainJob;

/// job.tune's settings, from its parameters.
struct TuneOptions {
  std::string study;      ///< the study's name (default: the node's name)
  std::string objective;  ///< val_loss, val_accuracy or train_loss
  bool maximize = false;
  std::uint64_t trials = 20;   ///< the study's budget: trials that end, in all runs of it
  std::uint64_t parallel = 1;  ///< worker processes at once
  int threads_per_trial = 0;   ///< 0: the host's threads over `parallel`, at least 1
  std::uint64_t seed = 0;
  bool register_best = true;
  PrunerSettings pruner;
  /// With `collective:`: the ranks share the study (see SharedStudy); a trial's lease lasts
  /// this long without renewal.
  std::shared_ptr<Collective> collective;
  double lease_seconds = 60;
};

/// What job.tune learns from the graph once it is built (attachTuneContext()).
struct TuneContext {
  std::filesystem::path config;  ///< the configuration file, absolute
  std::vector<std::string> plugin_paths;  ///< every plugin library the host loaded
  std::string trial_job;                   ///< the job.train each trial runs
  std::shared_ptr<TrainJob> job;           ///< that node, to take the best model
  std::shared_ptr<Storage> storage;        ///< the trial job's storage (null: none)
  std::vector<TuneDimension> dimensions;
};

/// The built-in `job.tune` node: tunes the parameters of a job.train and the nodes it uses.
///
/// Each trial gets values for the `space` from a search optimizer and runs the trial job in a
/// worker process (`aimass tune worker`, up to `parallel` of them, `threads_per_trial` threads
/// each), which runs trials one after another and keeps their datasets; a crash, an abort or a
/// runaway allocation fails the trial of that worker alone, and a new worker takes its place. After every epoch a worker reports the objective and the pruner decides whether the
/// trial goes on. The study (trials, values, results, curves and the optimizer's state) lives
/// in the trial job's storage (see Study), so stopping the tuner in any way and running the
/// configuration again continues it: finished trials are kept, interrupted ones run again.
/// Every trial is a tracked run in the study's experiment. When the study is done, the best
/// trial's model is loaded into the model node (so later jobs and the frontends use it) and
/// registered as the model's next version.
///
/// A trial whose configuration is invalid, whose training fails (a NaN loss) or whose worker
/// dies is recorded as failed with its reason and the study goes on; when every trial failed
/// the job fails, naming the most common reason.
///
/// With `collective:` (under mpirun, every rank runs the job), each rank is a tuner with its own
/// workers and the ranks share the study through the storage (SharedStudy): the trials spread
/// over the ranks, the budget and the trial numbers hold over all of them, and rank 0 alone
/// registers the best model.
///
/// Threading: run() on the host's main thread; workers are processes, not threads.
class TuneJob final : public Job {
 public:
  TuneJob(std::string name, std::shared_ptr<SearchOptimizer> optimizer, std::string optimizer_type,
          TuneOptions options)
      : name_(std::move(name)),
        optimizer_(std::move(optimizer)),
        optimizer_type_(std::move(optimizer_type)),
        options_(std::move(options)) {}

  void attach(TuneContext context) { context_ = std::move(context); }
  Status run(Host& host, JobProgress& progress) override;
  const TuneOptions& options() const noexcept { return options_; }

 private:
  class Loop;
  /// Runs trials from `study` until it has none left for this tuner; `ended`: how many this
  /// run ended.
  Status runTrials(Host& host, JobProgress& progress, StudyAccess& study, const Pruner* pruner,
                   std::uint64_t& ended);
  /// The study's settings, from the options and the context.
  StudySettings studySettings() const;
  /// run() with `collective:`: this rank is one tuner of a study the ranks share
  /// (tune_job_ranks.cc).
  Status runAcrossRanks(Host& host, JobProgress& progress, const Pruner* pruner);
  /// What the end of a study does on every rank: logs the importances, fails a study whose
  /// every trial failed, adopts the best (registering it when `register_version`).
  Status conclude(Host& host, const Study& study, bool register_version);
  /// Loads the best trial's model into the trial job's model and, when this run ended a
  /// trial and `register` is on, registers it.
  Status adoptBest(Host& host, const Study& study, bool register_version);
  /// Logs each dimension's share of the objective's variance (as `aimass tune show` prints
  /// them), when enough trials completed.
  void logImportances(Host& host, const Study& study) const;

  std::string name_;
  std::shared_ptr<SearchOptimizer> optimizer_;
  std::string optimizer_type_;
  TuneOptions options_;
  TuneContext context_;
};

/// The job.tune node type (registered with the built-in types).
NodeType tuneJobNodeType();

/// Hands each job.tune node of an instantiated graph its context. Called by the Runtime after
/// Graph::instantiate().
void attachTuneContext(const Graph& graph);

/// The jobs that job.tune nodes run as trials: the Runtime does not run them itself.
std::vector<std::string> tuneTrialJobs(const Graph& graph);

}  // namespace aimass::core
