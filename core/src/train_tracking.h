// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "aimass/core/graph.h"
#include "aimass/core/tracking.h"
#include "aimass/host.h"
#include "aimass/params.h"
#include "aimass/status.h"
#include "aimass/storage.h"

namespace aimass::core {

/// What job.train records about a run in the Tracking of its storage (see tracking.h).
///
/// The experiment is the job's `experiment` parameter; when empty, the stem of the
/// configuration file the job came from (quickstart.yaml -> "quickstart", set by
/// attachTrainTrackingContext()), else the model's node name. Params: every job.train
/// parameter by name, and with a graph context the parameters of the nodes it references,
/// prefixed with the reference ("model.hidden", "optimizer.learning_rate", "dataset.path").
/// Metrics: per optimizer step (step = the global step from 1) loss (the batch's),
/// learning_rate and samples_per_second; per epoch (step = the epoch from 1) train_loss,
/// val_loss and val_accuracy (when measured) and epoch_seconds; a self-fitting model's final
/// objective (step = its iterations). Artifacts: "model" (the saved artifact's key) and
/// "model_version" (NAME/VERSION when registered). Status: finished, killed (a stop request)
/// or failed with the error.
///
/// Tracking must never stop training: the first storage error is logged as a warning and
/// tracking is off for the rest of the run. At the end it logs what it cost: the points
/// logged, the batch records written and `tracking_s=`, the wall time spent in its own calls
/// (start, every step and epoch, finish), which bench/run.sh tracking reads.
/// Threading: the job's thread only.
class TrainRunTracker {
 public:
  /// Turns tracking on for runs on `storage` (null: off). `node` is the job's node name.
  void configure(std::shared_ptr<Storage> storage, std::string experiment, std::string node);
  /// Adds params; a later value for the same name wins.
  void addParams(const std::map<std::string, std::string>& params);
  /// The experiment to use when the job's `experiment` parameter is empty.
  void setDefaultExperiment(std::string experiment, std::string fallback);

  /// Marks runs of dead processes failed, then starts the run. No-op when off.
  void start(Host& host);
  /// One optimizer step (`step` from 1).
  void step(std::uint64_t step, double loss, double learning_rate, double samples_per_second);
  /// One point of any metric.
  void log(std::string_view name, std::uint64_t step, double value);
  void artifact(std::string_view name, std::string_view value);
  /// Ends the run with the outcome of the job: OK finished, kCancelled killed, else failed.
  void end(const Status& outcome);

  bool active() const noexcept { return run_ != nullptr; }
  /// The tracked run's id, also after end(); 0 when none was started.
  std::int64_t runId() const noexcept;

 private:
  void disable(const Status& why);

  std::shared_ptr<Storage> storage_;
  std::string experiment_;
  std::string default_experiment_;
  std::string fallback_experiment_;
  std::string node_;
  std::map<std::string, std::string> params_;
  Host* host_ = nullptr;
  std::unique_ptr<Tracking> tracking_;
  std::unique_ptr<RunLogger> run_;
  std::chrono::steady_clock::duration spent_{};  ///< inside this tracker's calls since start()
  std::uint64_t points_ = 0;                     ///< metric points logged since start()
  std::int64_t last_run_id_ = 0;                 ///< the run end() finished
};

/// A parameter value as text: true/false, numbers as they read back exactly, lists as
/// "[a, b]", a record list as "2 records", a record map as its names, "{iris, fashion}".
std::string paramValueText(const ParamValue& value);

/// For every job.train node of an instantiated `graph`: the configuration's stem as the
/// default experiment, and the parameters of the nodes it references as params (see
/// TrainRunTracker). The command line calls it after Graph::instantiate().
void attachTrainTrackingContext(const Graph& graph);

}  // namespace aimass::core
