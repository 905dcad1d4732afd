// SPDX-License-Identifier: Apache-2.0
#include "train_loop.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <utility>

#include "aimass/tensor_names.h"
#include "evaluate_tasks.h"
#include "pipeline/table_io.h"

namespace aimass::core {
namespace {

/// Seeds the validation split apart from the per-epoch shuffles (which use seed + epoch), so
/// changing the number of epochs never changes which rows are held out.
constexpr std::uint64_t kSplitSeedSalt = 0x9E3779B97F4A7C15ull;

/// When a non-finite loss comes from missing values (NaN features the model got as they are),
/// the words that say so: the first such row and column, and what fills them.
std::string missingValueHint(const Batch& batch, std::span<const std::uint64_t> rows) {
  if (batch.features.dtype() != DType::kFloat32 || rows.empty()) {
    return {};
  }
  const std::span<const float> values = batch.features.span<float>();
  const std::size_t width = values.size() / rows.size();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) {
      return ": the data has missing values (row " + std::to_string(rows[i / width]) +
             ", feature " + std::to_string(i % width) +
             "); fill them with preprocess: [...] and a transform.impute step "
             "(docs/pipelines.md)";
    }
  }
  return {};
}


/// Class labels must index the dataset's classes; a model would otherwise read out of bounds.
Status checkClassLabels(const Batch& batch, std::span<const std::uint64_t> rows,
                        std::size_t num_classes) {
  const Tensor& labels = batch.labels;
  if (labels.dtype() != DType::kInt64 || labels.numel() != static_cast<std::int64_t>(rows.size())) {
    return invalidArgument("class labels must be INT64 with one per row, got " +
                           std::string(dtypeName(labels.dtype())) + " " +
                           shapeToString(labels.shape()));
  }
  auto values = labels.span<std::int64_t>();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] < 0 || static_cast<std::uint64_t>(values[i]) >= num_classes) {
      return invalidArgument("row " + std::to_string(rows[i]) + " has class label " +
                             std::to_string(values[i]) + ", outside [0, " +
                             std::to_string(num_classes) + ")");
    }
  }
  return Status();
}

/// Calls one hook on every callback in order. The first error ends the stage, prefixed with
/// the callback's name (guard() turns an escaped exception into one); the first stop request
/// is attributed to the callback that made it. Allocates only to build an error.
template <typename Hook>
Status callEach(std::span<const CallbackEntry> callbacks, TrainingState& state, Hook hook) {
  for (const CallbackEntry& entry : callbacks) {
    const bool was_stopped = state.stop_requested;
    Status status = guard(entry.name, [&] { return hook(*entry.callback, state); });
    if (!status.ok()) {
      return status.withContext("callback '" + std::string(entry.name) + "'");
    }
    if (state.stop_requested && !was_stopped) {
      state.stopped_by = entry.name;
    }
  }
  return Status();
}

/// Seconds (or a share) with three decimals.
std::string formatSeconds(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.3f", seconds);
  return buffer;
}

}  // namespace

void shuffleRows(std::vector<std::uint64_t>& rows, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (std::size_t i = rows.size(); i > 1; --i) {
    std::size_t j = static_cast<std::size_t>(rng() % i);
    std::swap(rows[i - 1], rows[j]);
  }
}

RowSplit splitRows(std::uint64_t total_rows, double validation_fraction, std::uint64_t seed) {
  RowSplit split;
  split.train.resize(total_rows);
  for (std::uint64_t i = 0; i < total_rows; ++i) {
    split.train[i] = i;
  }
  auto validation_count = static_cast<std::uint64_t>(
      std::llround(validation_fraction * static_cast<double>(total_rows)));
  if (validation_count > 0) {
    shuffleRows(split.train, seed ^ kSplitSeedSalt);
    split.validation.assign(split.train.begin(), split.train.begin() + validation_count);
    split.train.erase(split.train.begin(), split.train.begin() + validation_count);
    std::sort(split.train.begin(), split.train.end());
    std::sort(split.validation.begin(), split.validation.end());
  }
  return split;
}

std::string nonFiniteName(double v) { return std::isnan(v) ? "NaN" : "infinite"; }

void endRun(std::span<const CallbackEntry> callbacks, TrainingState& state, Status& outcome,
            Host& host, const std::string& job) {
  for (const CallbackEntry& entry : callbacks) {
    Status status = guard(entry.name, [&] { return entry.callback->onRunEnd(state, outcome); });
    if (status.ok()) {
      continue;
    }
    status = status.withContext("callback '" + std::string(entry.name) + "' ending the run");
    if (outcome.ok()) {
      outcome = status;
    } else {
      host.log(LogLevel::kWarning, job, status.toString());
    }
  }
}


GradientLoop::GradientLoop(Host& host, Model& model, GradientTraining& training,
                           GradientOptimizer& optimizer, LoopData data,
                           std::span<const CallbackEntry> callbacks,
                           std::map<std::string, double>& metrics)
    : host_(host),
      model_(model),
      training_(training),
      optimizer_(optimizer),
      data_(std::move(data)),
      parallel_(*data_.parallel),
      callbacks_(callbacks),
      metrics_(metrics) {}

Status GradientLoop::run(TrainingState& state) {
  const std::uint64_t first_epoch = state.epoch;
  epochs_done_ = first_epoch;
  AIMASS_RETURN_IF_ERROR(
      callEach(callbacks_, state, [](auto& c, auto& s) { return c.onRunBegin(s); }));
  for (std::uint64_t epoch = first_epoch; epoch < state.epochs && !state.stop_requested;
       ++epoch) {
    if (data_.shuffle) {
      shuffleRows(data_.rows->train, data_.seed + epoch);
    }
    training_.resetState();
    state.epoch = epoch;
    std::size_t position = static_cast<std::size_t>(state.epoch_rows);
    if (epoch != first_epoch) {
      state.step = 0;
      state.epoch_loss_sum = 0;
      state.epoch_rows = 0;
      position = 0;
    }
    AIMASS_RETURN_IF_ERROR(runEpoch(state, position));
    epochs_done_ = epoch + 1;
  }
  return Status();
}

Status GradientLoop::runEpoch(TrainingState& state, std::size_t position) {
  state.val_loss.reset();
  state.val_accuracy.reset();
  AIMASS_RETURN_IF_ERROR(
      callEach(callbacks_, state, [](auto& c, auto& s) { return c.onEpochBegin(s); }));
  AIMASS_RETURN_IF_ERROR(agreeOnStop(state));
  started_ = std::chrono::steady_clock::now();
  timed_rows_ = 0;
  const std::size_t total = data_.rows->train.size();
  for (; position < total && !state.stop_requested; ++state.step) {
    AIMASS_RETURN_IF_ERROR(step(state, position));
  }
  // epoch_s: the epoch's training steps without the validation pass; bench/run.sh reads it.
  state.epoch_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  metrics_ = {{"loss", state.epoch_loss_sum / static_cast<double>(state.epoch_rows)}};
  if (parallel_.distributed()) {
    // bench/run.sh (W8) reads the communication share from this line.
    const double communication = parallel_.takeCommunicationSeconds();
    host_.log(LogLevel::kInfo, data_.model_name,
              "epoch " + std::to_string(state.epoch + 1) + ": communication " +
                  formatSeconds(communication) + " of " + formatSeconds(state.epoch_seconds) +
                  " s of training steps (comm_share=" +
                  formatSeconds(state.epoch_seconds > 0 ? communication / state.epoch_seconds
                                                        : 0) +
                  ")");
  }
  if (!state.stop_requested && !data_.rows->validation.empty()) {
    AIMASS_RETURN_IF_ERROR(validate(state));
    AIMASS_RETURN_IF_ERROR(
        callEach(callbacks_, state, [](auto& c, auto& s) { return c.onValidationEnd(s); }));
    AIMASS_RETURN_IF_ERROR(agreeOnStop(state));
  }
  AIMASS_RETURN_IF_ERROR(
      callEach(callbacks_, state, [](auto& c, auto& s) { return c.onEpochEnd(s); }));
  return agreeOnStop(state);
}

Status GradientLoop::cancelledAt(const TrainingState& state) const {
  return cancelled("training of model '" + data_.model_name + "' was stopped at epoch " +
                   std::to_string(state.epoch + 1) + " step " + std::to_string(state.step + 1));
}

Status GradientLoop::agreeOnStop(TrainingState& state) {
  if (!parallel_.distributed()) {
    return Status();
  }
  auto any = parallel_.anyRank(state.stop_requested);
  AIMASS_RETURN_IF_ERROR(any.status().withContext("agreeing on a stop request"));
  if (*any && !state.stop_requested) {
    state.requestStop("another rank's callback asked to stop");
    state.stopped_by = "another rank";
  }
  return Status();
}

Status GradientLoop::forwardBackward(TrainingState& state, std::span<const std::uint64_t> rows,
                                     double& loss) {
  loss = 0;
  if (rows.empty()) {
    return Status();  // the global batch ended before this rank's slice
  }
  AIMASS_RETURN_IF_ERROR(data_.dataset->read(rows, batch_)
                             .withContext("reading dataset '" + data_.dataset_name + "'"));
  if (data_.num_classes > 0) {
    AIMASS_RETURN_IF_ERROR(checkClassLabels(batch_, rows, data_.num_classes)
                               .withContext("dataset '" + data_.dataset_name + "'"));
  }
  auto computed = training_.forwardBackward(batch_, true);
  if (!computed.ok()) {
    return computed.status().withContext("training step " + std::to_string(state.step + 1) +
                                         " of epoch " + std::to_string(state.epoch + 1) + "/" +
                                         std::to_string(state.epochs));
  }
  if (!std::isfinite(*computed)) {
    return invalidArgument(
        "loss became " + nonFiniteName(*computed) + " at epoch " +
        std::to_string(state.epoch + 1) + " step " + std::to_string(state.step + 1) +
        (data_.hint_missing_values ? missingValueHint(batch_, rows) : std::string()));
  }
  loss = *computed;
  return Status();
}

/// One global batch: each rank reads its slice and runs forward/backward, the ranks agree on
/// the totals and the mean gradient, then the gradient hooks and the optimizer step.
Status GradientLoop::step(TrainingState& state, std::size_t& position) {
  const bool stop_wanted = host_.stopRequested();
  if (stop_wanted && !parallel_.distributed()) {
    return cancelledAt(state);
  }
  state.learning_rate = state.base_learning_rate;
  AIMASS_RETURN_IF_ERROR(
      callEach(callbacks_, state, [](auto& c, auto& s) { return c.onStepBegin(s); }));
  const std::vector<std::uint64_t>& order = data_.rows->train;
  const BatchSlice slice = batchSlice(position, order.size(), data_.batch_size, parallel_.rank(),
                                      parallel_.ranks());
  const std::span<const std::uint64_t> rows(order.data() + slice.begin, slice.end - slice.begin);
  double loss = 0;
  AIMASS_RETURN_IF_ERROR(forwardBackward(state, rows, loss));
  const auto local_rows = static_cast<double>(rows.size());
  StepTotals totals;
  AIMASS_RETURN_IF_ERROR(
      parallel_.reduceStep(local_rows, loss * local_rows, stop_wanted, totals));
  if (totals.stop) {
    return cancelledAt(state);  // on every rank at this step, which none has taken
  }
  AIMASS_RETURN_IF_ERROR(parallel_.reduceGradients(state.parameters, local_rows, totals.rows));
  state.batch_loss = totals.loss_sum / totals.rows;
  state.batch_rows = static_cast<std::uint64_t>(totals.rows);
  AIMASS_RETURN_IF_ERROR(
      callEach(callbacks_, state, [](auto& c, auto& s) { return c.onGradients(s); }));
  optimizer_.setLearningRate(state.learning_rate);
  AIMASS_RETURN_IF_ERROR(optimizer_.step(state.parameters).withContext("optimizer step"));
  ++state.global_step;
  position = slice.global_end;
  state.epoch_loss_sum += totals.loss_sum;
  state.epoch_rows += state.batch_rows;
  timed_rows_ += state.batch_rows;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  state.samples_per_second = seconds > 0 ? static_cast<double>(timed_rows_) / seconds : 0;
  AIMASS_RETURN_IF_ERROR(
      callEach(callbacks_, state, [](auto& c, auto& s) { return c.onStepEnd(s); }));
  return agreeOnStop(state);
}

/// The validation pass: state.val_loss, and val_accuracy when the model's predictions can be
/// scored; also recorded in the run's metrics. Each rank validates its share of the rows and
/// the sums are reduced, so every rank gets the figures of the whole validation set.
Status GradientLoop::validate(TrainingState& state) {
  const std::vector<std::uint64_t>& validation_rows = data_.rows->validation;
  const BatchSlice share =
      validationShare(validation_rows.size(), parallel_.rank(), parallel_.ranks());
  double loss_sum = 0;
  double correct = 0;
  bool accuracy_ok = data_.accuracy_possible;
  const ModelSchema model_schema = accuracy_ok ? model_.schema() : ModelSchema{};
  for (std::size_t begin = share.begin; begin < share.end; begin += data_.batch_size) {
    // With several ranks a stop request is agreed at the next step, never here alone.
    if (!parallel_.distributed() && host_.stopRequested()) {
      return cancelled("training of model '" + data_.model_name +
                       "' was stopped while validating epoch " + std::to_string(state.epoch + 1));
    }
    std::span<const std::uint64_t> rows(validation_rows.data() + begin,
                                        std::min<std::size_t>(data_.batch_size, share.end - begin));
    AIMASS_RETURN_IF_ERROR(
        data_.validation_dataset->read(rows, validation_batch_)
            .withContext("reading validation rows of dataset '" + data_.validation_name + "'"));
    if (data_.num_classes > 0) {
      AIMASS_RETURN_IF_ERROR(checkClassLabels(validation_batch_, rows, data_.num_classes)
                                 .withContext("dataset '" + data_.validation_name + "'"));
    }
    auto loss = training_.evaluateLoss(validation_batch_);
    if (!loss.ok()) {
      return loss.status().withContext("validation loss");
    }
    loss_sum += *loss * static_cast<double>(rows.size());
    if (accuracy_ok) {
      // Padded sequences (dataset.text's CSV rows) go with their lengths, as job.evaluate
      // sends them.
      setModelInputs(model_schema, validation_batch_.features, validation_batch_.lengths,
                     inputs_);
      setTextInputs(model_schema, data_.text_names, validation_batch_.strings, inputs_);
      Status predicted = model_.predict(inputs_, outputs_, PredictOptions{});
      const Tensor* labels = outputs_.find(tensor_names::kLabel);
      if (!predicted.ok() || !labels || labels->dtype() != DType::kInt64 ||
          labels->numel() != static_cast<std::int64_t>(rows.size())) {
        // The model cannot be scored this way; keep training, report the loss only.
        accuracy_ok = false;
        continue;
      }
      auto predicted_labels = labels->span<std::int64_t>();
      auto true_labels = validation_batch_.labels.span<std::int64_t>();
      for (std::size_t i = 0; i < rows.size(); ++i) {
        correct += predicted_labels[i] == true_labels[i] ? 1 : 0;
      }
    }
  }
  auto count = static_cast<double>(share.end - share.begin);
  AIMASS_RETURN_IF_ERROR(parallel_.reduceValidation(loss_sum, count, correct, accuracy_ok));
  const double loss = loss_sum / count;
  if (!std::isfinite(loss)) {
    return invalidArgument("validation loss became " + nonFiniteName(loss) + " at epoch " +
                           std::to_string(state.epoch + 1));
  }
  state.val_loss = loss;
  metrics_["val_loss"] = loss;
  if (accuracy_ok) {
    state.val_accuracy = correct / count;
    metrics_["val_accuracy"] = *state.val_accuracy;
  }
  return Status();
}

}  // namespace aimass::core
