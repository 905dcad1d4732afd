// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "aimass/model.h"
#include "aimass/node.h"
#include "aimass/status.h"

namespace aimass {

/// Where a training run stands. The trainer (job.train, or minimize()) owns one per run and
/// passes the same object to every hook of every callback, so a hook reads what the loop and
/// the callbacks before it wrote. Fields a hook may write say so; the rest are read-only.
///
/// Lifetime: valid during the hook call only; keep no pointer to it or into `parameters`
/// (a resumed run may hand out new parameter buffers at its start).
struct TrainingState {
  std::uint64_t epochs = 0;           ///< planned epochs of the run
  std::uint64_t steps_per_epoch = 0;  ///< optimizer steps (batches) in one epoch
  std::uint64_t planned_steps = 0;    ///< epochs * steps_per_epoch

  std::uint64_t epoch = 0;  ///< 0-based epoch running (in onRunEnd: the last one started)
  /// 0-based step within the epoch: in the step hooks the step running; from onValidationEnd
  /// on, steps_per_epoch. When the run ends on a stop request, the step it did not take.
  std::uint64_t step = 0;
  /// Optimizer steps taken in the whole run (a resumed run counts those before the resume).
  /// In onStepBegin and onGradients: the steps before this one (the 0-based global index of
  /// the step running); from onStepEnd on it includes this step.
  std::uint64_t global_step = 0;

  /// The optimizer's rate when the run started; restored when the run ends.
  double base_learning_rate = 0;
  /// The rate of the step running. Writable in onStepBegin and onGradients (schedules, warm-up):
  /// the trainer hands it to the optimizer just before the step. Starts each step at
  /// base_learning_rate.
  double learning_rate = 0;

  /// The model's parameters: values and gradients. In onGradients the gradients hold the
  /// backward pass of this batch and may be read and replaced in place (clipping, all-reduce,
  /// masking); values must not change there. Never resize or reassign the tensors.
  std::span<Parameter> parameters;

  double batch_loss = 0;          ///< mean loss of the batch (onGradients, onStepEnd)
  std::uint64_t batch_rows = 0;   ///< rows in the batch (onGradients, onStepEnd)
  double epoch_loss_sum = 0;      ///< sum of row losses in this epoch so far
  std::uint64_t epoch_rows = 0;   ///< rows trained on in this epoch so far
  double samples_per_second = 0;  ///< training throughput of this epoch so far (onStepEnd on)
  /// Wall time of this epoch's training steps, without validation (onValidationEnd, onEpochEnd).
  double epoch_seconds = 0;

  /// Validation figures of this epoch (onValidationEnd, onEpochEnd); empty when the run has no
  /// validation split, or (accuracy) when the model gives no class labels to score.
  std::optional<double> val_loss;
  std::optional<double> val_accuracy;

  /// Asks the trainer to end the run, successfully: from a step hook, the step completes, then
  /// the rest of the epoch and its validation are skipped and onEpochEnd then onRunEnd follow;
  /// from onValidationEnd or onEpochEnd, no further epoch starts. The model is kept
  /// (and saved) as it stands. `reason` is logged and recorded with the tracked run; the first
  /// request wins. Allocates; call it once, not per step.
  void requestStop(std::string reason) {
    if (!stop_requested) {
      stop_requested = true;
      stop_reason = std::move(reason);
    }
  }
  bool stop_requested = false;  ///< set by requestStop()
  std::string stop_reason;      ///< set by requestStop()
  std::string stopped_by;       ///< the name of the callback that asked; set by the trainer
};

/// Observes and steers a gradient training loop, as ensmallen's callbacks do. Every hook is
/// optional (the default does nothing and returns OK). The trainer calls, in this order:
///
///     onRunBegin
///     per epoch:   onEpochBegin
///                  per batch: onStepBegin, (forward/backward), onGradients, (optimizer step),
///                             onStepEnd
///                  (validation, when the run has a split) onValidationEnd
///                  onEpochEnd
///     onRunEnd     (always, once onRunBegin was called on any callback, with the outcome)
///
/// Each hook is called on every callback in list order before the loop goes on; job.train's
/// order is: schedule, the `callbacks:` nodes in config order, clipping, early stopping,
/// tracking, progress, checkpointing.
///
/// Plugins provide callbacks as nodes of kind `callback`, which job.train names in its
/// `callbacks:` parameter. A callback node serves one run at a time.
///
/// Failures: a hook that returns an error ends the run with that error, prefixed with the
/// callback's name; later callbacks of that stage are not called, onRunEnd is. Hooks must not
/// throw (the host converts an escaped exception into an error as a last resort). To end a run
/// successfully, call TrainingState::requestStop() instead.
/// Threading: all hooks run on the training thread, one at a time.
/// Performance: the step hooks run ~500 times an epoch on small models; they must not
/// allocate or do I/O per step (buffer, and flush in onEpochEnd).
class TrainingCallback : public Node {
 public:
  NodeKind kind() const noexcept final { return NodeKind::kCallback; }

  /// Before the first epoch (after a resume, at the resumed position: epoch and step).
  virtual Status onRunBegin(TrainingState& /*state*/) { return Status(); }
  /// Before the epoch's first batch, after the rows were shuffled.
  virtual Status onEpochBegin(TrainingState& /*state*/) { return Status(); }
  /// Before the batch is read; may set state.learning_rate.
  virtual Status onStepBegin(TrainingState& /*state*/) { return Status(); }
  /// After the backward pass, before the optimizer step: state.parameters' gradients may be
  /// read and replaced in place; state.learning_rate may be set.
  virtual Status onGradients(TrainingState& /*state*/) { return Status(); }
  /// After the optimizer step (state.global_step counts it).
  virtual Status onStepEnd(TrainingState& /*state*/) { return Status(); }
  /// After the epoch's validation pass (only when the run has a validation split):
  /// state.val_loss (and val_accuracy) hold its figures; may requestStop() (early stopping,
  /// pruning).
  virtual Status onValidationEnd(TrainingState& /*state*/) { return Status(); }
  /// After the epoch (and its validation).
  virtual Status onEpochEnd(TrainingState& /*state*/) { return Status(); }
  /// Once, however the run ends. `outcome` is the run's result so far: OK (finished or stopped
  /// by requestStop()), kCancelled (a stop request from the host), or the error. A hook may
  /// rewrite a failed outcome, keeping its meaning (checkpointing adds where it saved a
  /// cancelled run). An error returned here replaces an OK outcome; with a failed outcome it
  /// is logged as a warning.
  virtual Status onRunEnd(TrainingState& /*state*/, Status& /*outcome*/) { return Status(); }

  /// What the callback must carry into a resumed run for it to go on exactly as an unbroken
  /// one would (a moving average, epochs since an improvement, a pruner's history), as bytes
  /// of its own format written to `out` (empty on entry). job.train calls it each time it
  /// writes a checkpoint: after onEpochEnd, or in onRunEnd of a run stopped by the host, so
  /// the state is the one after those hooks of the other callbacks ran. Default: nothing to
  /// carry. An error fails the checkpoint (and so the run), naming the callback.
  virtual Status saveState(std::string& /*out*/) const { return Status(); }
  /// Restores what saveState() wrote, when job.train resumes from a checkpoint: called once,
  /// before onRunBegin, with the bytes (empty when saveState() wrote none). The bytes come from
  /// storage: check them (kDataLoss for a corrupt state). An error fails the run before its
  /// first step, naming the callback. Default: ignores them.
  virtual Status loadState(std::string_view /*bytes*/) { return Status(); }
};

}  // namespace aimass
