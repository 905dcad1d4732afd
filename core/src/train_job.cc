// SPDX-License-Identifier: Apache-2.0
#include "train_job.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numbers>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "aimass/byte_io.h"
#include "aimass/core/dataset_registry.h"
#include "aimass/core/model_artifact.h"
#include "aimass/core/registry.h"
#include "aimass/core/sha256.h"
#include "aimass/core/tracking.h"

namespace aimass::core {
namespace {

/// Seeds the validation split apart from the per-epoch shuffles (which use seed + epoch), so
/// changing the number of epochs never changes which rows are held out.
constexpr std::uint64_t kSplitSeedSalt = 0x9E3779B97F4A7C15ull;

/// Fisher-Yates with our own index draw: std::shuffle and the standard distributions differ
/// between standard libraries, and a seed must give the same order everywhere.
void shuffleRows(std::vector<std::uint64_t>& rows, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (std::size_t i = rows.size(); i > 1; --i) {
    std::size_t j = static_cast<std::size_t>(rng() % i);
    std::swap(rows[i - 1], rows[j]);
  }
}

std::string formatFigure(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.4f", v);
  return buffer;
}

std::string formatRate(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.6g", v);
  return buffer;
}

std::string nonFiniteName(double v) { return std::isnan(v) ? "NaN" : "infinite"; }

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

/// Reports fit() iterations as progress and turns a stop request into an early stop.
class ProgressObserver final : public FitObserver {
 public:
  ProgressObserver(Host& host, JobProgress& progress) : host_(host), progress_(progress) {}
  bool onIteration(std::uint64_t iteration, double objective) override {
    iterations_ = iteration;
    objective_ = objective;
    progress_.update(iteration, {{"objective", objective}});
    return host_.stopRequested();
  }
  std::uint64_t iterations() const { return iterations_; }
  double objective() const { return objective_; }

 private:
  Host& host_;
  JobProgress& progress_;
  std::uint64_t iterations_ = 0;
  double objective_ = 0;
};

struct ValidationResult {
  double loss = 0;
  bool has_accuracy = false;
  double accuracy = 0;
};

/// Puts the optimizer's base rate back however run() ends.
class RestoreLearningRate {
 public:
  explicit RestoreLearningRate(GradientOptimizer& optimizer)
      : optimizer_(optimizer), rate_(optimizer.learningRate()) {}
  ~RestoreLearningRate() { optimizer_.setLearningRate(rate_); }
  RestoreLearningRate(const RestoreLearningRate&) = delete;
  RestoreLearningRate& operator=(const RestoreLearningRate&) = delete;
  double rate() const { return rate_; }

 private:
  GradientOptimizer& optimizer_;
  double rate_;
};

const char* monitorName(Monitor monitor) {
  return monitor == Monitor::kValLoss ? "val_loss" : "val_accuracy";
}

/// A length-prefixed string, so two fields can never run together into the same bytes.
void putField(ByteWriter& out, std::string_view field) {
  out.u64(field.size());
  out.bytes(field);
}

std::string shortFingerprint(const std::string& fingerprint) { return fingerprint.substr(0, 12); }

}  // namespace

double scheduledLearningRate(const TrainOptions& options, double base, std::uint64_t step,
                             std::uint64_t epoch, std::uint64_t total_steps) {
  double rate = base;
  switch (options.lr_schedule) {
    case LrSchedule::kConstant:
      break;
    case LrSchedule::kStep:
      rate *= std::pow(options.lr_gamma, static_cast<double>(epoch / options.lr_step_epochs));
      break;
    case LrSchedule::kCosine: {
      // Anneals over the steps after warm-up, so warm-up ends at the full base rate.
      const std::uint64_t start = std::min(options.warmup_steps, total_steps);
      const std::uint64_t span = total_steps - start;
      if (step >= start && span > 0) {
        const double progress = static_cast<double>(step - start) / static_cast<double>(span);
        rate *= 0.5 * (1 + std::cos(std::numbers::pi * progress));
      }
      break;
    }
  }
  if (step < options.warmup_steps) {
    rate *= static_cast<double>(step + 1) / static_cast<double>(options.warmup_steps);
  }
  return rate;
}

double clipGradientNorm(std::span<Parameter> parameters, double max_norm) {
  double sum = 0;
  for (const auto& p : parameters) {
    for (float g : p.grad.span<float>()) {
      sum += double(g) * g;
    }
  }
  const double norm = std::sqrt(sum);
  if (std::isfinite(norm) && norm > max_norm) {
    const auto scale = static_cast<float>(max_norm / norm);
    for (auto& p : parameters) {
      for (float& g : p.grad.span<float>()) {
        g *= scale;
      }
    }
  }
  return norm;
}

TrainJob::TrainJob(std::string name, TrainTargets targets, TrainOptions options)
    : name_(std::move(name)), targets_(std::move(targets)), options_(std::move(options)) {}

Expected<std::unique_ptr<TrainJob>> TrainJob::create(std::string name, TrainTargets targets,
                                                     TrainOptions options) {
  if (!targets.model || !targets.dataset) {
    return invalidArgument("job.train needs a model and a dataset");
  }
  std::string model = "model '" + targets.model_name + "' (" + targets.model_type + ")";
  bool by_gradients = targets.model->gradientTraining() != nullptr;
  if (!by_gradients && targets.model->selfTraining() == nullptr) {
    return invalidArgument(model +
                           " is not trainable: it offers neither gradient training nor "
                           "a fit of its own");
  }
  if (by_gradients && !targets.optimizer) {
    return invalidArgument(model +
                           " trains by gradients and needs an optimizer: set "
                           "`optimizer:` to a gradient optimizer node such as optimizer.sgd");
  }
  if (options.epochs < 1 || options.batch_size < 1) {
    return invalidArgument("epochs and batch_size must be at least 1");
  }
  if (!(options.validation_fraction >= 0 && options.validation_fraction <= 0.9)) {
    return invalidArgument("validation_fraction must lie in [0, 0.9], got " +
                           formatFigure(options.validation_fraction));
  }
  if (options.lr_step_epochs < 1) {
    return invalidArgument("lr_step_epochs must be at least 1");
  }
  if (!(options.lr_gamma > 0 && options.lr_gamma <= 1)) {
    return invalidArgument("lr_gamma must lie in (0, 1], got " + formatFigure(options.lr_gamma));
  }
  if (!(options.clip_grad_norm >= 0) || !std::isfinite(options.clip_grad_norm)) {
    return invalidArgument("clip_grad_norm must be >= 0 (0 turns clipping off), got " +
                           formatFigure(options.clip_grad_norm));
  }
  if (options.early_stopping_patience > 0 && options.validation_fraction == 0) {
    return invalidArgument(std::string("early stopping watches ") + monitorName(options.monitor) +
                           ", which needs a validation split: set validation_fraction, e.g. "
                           "0.1, or early_stopping_patience: 0");
  }
  if (targets.storage) {
    if (options.register_version) {
      AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(targets.model_name, "model")
                                 .withContext("registering the trained model (or set register: "
                                              "false)"));
      AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(targets.dataset_name, "dataset")
                                 .withContext("registering the training data (or set register: "
                                              "false)"));
    }
    if (options.artifact_key.empty() && !options.register_version) {
      options.artifact_key = "models/" + targets.model_name + "/model.aimass";
    }
    // A registered run without an artifact key gets its own key when it saves (see run()).
    AIMASS_RETURN_IF_ERROR(validateStorageKey(options.artifact_key.empty()
                                                  ? "models/" + targets.model_name + "/artifacts/0"
                                                  : options.artifact_key)
                               .withContext("artifact"));
  } else if (options.resume == ResumeMode::kRequire && options.checkpoint_every > 0) {
    return invalidArgument(
        "resume: require needs a storage holding the checkpoint to resume from: set `storage:`");
  } else if (!options.artifact_key.empty()) {
    return invalidArgument("artifact '" + options.artifact_key +
                           "' is set but there is no storage to save it in: set `storage:`");
  }
  auto job = std::unique_ptr<TrainJob>(
      new TrainJob(std::move(name), std::move(targets), std::move(options)));
  if (job->options_.track && job->targets_.storage) {
    job->tracker_.configure(job->targets_.storage, job->options_.experiment, job->name_);
    job->tracker_.setDefaultExperiment({}, Tracking::experimentNameFrom(job->targets_.model_name));
  }
  return job;
}

void TrainJob::addTrackingContext(std::string default_experiment,
                                  const std::map<std::string, std::string>& params) {
  tracker_.setDefaultExperiment(std::move(default_experiment), {});
  tracker_.addParams(params);
}

Status TrainJob::run(Host& host, JobProgress& progress) {
  tracker_.start(host);
  Status status = runUntracked(host, progress);
  tracker_.end(status);
  return status;
}

Status TrainJob::runUntracked(Host& host, JobProgress& progress) {
  Status status;
  if (auto* gradient = targets_.model->gradientTraining()) {
    status = runGradientTraining(host, progress, *gradient);
  } else {
    status = runSelfTraining(host, progress, *targets_.model->selfTraining());
  }
  AIMASS_RETURN_IF_ERROR(status);
  if (!targets_.storage) {
    host.log(LogLevel::kInfo, name_,
             "model '" + targets_.model_name + "' trained; not saved (no storage set)");
    return Status();
  }
  AIMASS_RETURN_IF_ERROR(saveAndRegister(host));
  if (targets_.model->gradientTraining() != nullptr && options_.checkpoint_every > 0) {
    // The run is complete, so the next one starts over. Failing to remove the checkpoint does
    // not undo the saved model; the next run would resume at the end and save it again.
    Status removed = targets_.storage->remove(checkpointKey(name_));
    if (!removed.ok() && removed.code() != StatusCode::kNotFound) {
      host.log(LogLevel::kWarning, name_,
               "could not remove checkpoint '" + checkpointKey(name_) +
                   "' of the finished run: " + removed.toString());
    }
  }
  return Status();
}

Status TrainJob::saveAndRegister(Host& host) {
  std::string key = options_.artifact_key;
  if (key.empty()) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    key = "models/" + targets_.model_name + "/artifacts/" + std::to_string(ns) + ".aimass";
  }
  AIMASS_RETURN_IF_ERROR(saveModel(*targets_.model, targets_.model_type, *targets_.storage, key));
  tracker_.artifact("model", key);
  host.log(LogLevel::kInfo, name_,
           "saved model '" + targets_.model_name + "' to '" + key + "' in " +
               targets_.storage->describe());
  if (!options_.register_version) {
    return Status();
  }
  NewDatasetVersion data;
  data.type = targets_.dataset_type;
  data.source = targets_.dataset_type + " node '" + targets_.dataset_name + "'";
  data.rows = targets_.dataset->size();
  data.fingerprint = targets_.dataset->fingerprint();
  auto content = hashDatasetContent(*targets_.dataset);
  if (!content.ok()) {
    return content.status().withContext("registering dataset '" + targets_.dataset_name + "'");
  }
  data.sha256 = *content;
  auto dataset = DatasetRegistry(*targets_.storage).registerVersion(targets_.dataset_name, data);
  if (!dataset.ok()) {
    return dataset.status().withContext("registering dataset '" + targets_.dataset_name + "'");
  }
  host.log(LogLevel::kInfo, name_,
           "dataset " + dataset->name + " is version " + std::to_string(dataset->version) +
               " (sha256 " + dataset->sha256.substr(0, 12) + ")");
  NewModelVersion info;
  info.artifact_key = key;
  info.node = targets_.model_name;
  info.node_type = targets_.model_type;
  info.dataset_fingerprint = data.fingerprint;
  info.dataset_name = dataset->name;
  info.dataset_version = dataset->version;
  info.dataset_sha256 = dataset->sha256;
  info.metrics = final_metrics_;
  ModelRegistry registry(*targets_.storage);
  auto version = registry.registerVersion(targets_.model_name, info);
  if (!version.ok()) {
    return version.status().withContext("registering model '" + targets_.model_name +
                                        "' (saved to '" + key + "')");
  }
  host.log(LogLevel::kInfo, name_,
           "registered " + targets_.model_name + " version " + std::to_string(version->version));
  tracker_.artifact("model_version", targets_.model_name + "/" + std::to_string(version->version));
  return Status();
}

Expected<std::string> TrainJob::fingerprint(const DatasetSchema& schema) const {
  std::string model_payload;
  std::string optimizer_state;
  AIMASS_RETURN_IF_ERROR(
      guard("model save", [&] {
        return targets_.model->save(model_payload);
      }).withContext("saving the prepared model for the checkpoint fingerprint"));
  AIMASS_RETURN_IF_ERROR(
      guard("optimizer state", [&] {
        return targets_.optimizer->saveState(optimizer_state);
      }).withContext("saving the optimizer's state for the checkpoint fingerprint"));
  std::string text;
  Status status = guard("checkpoint fingerprint", [&] {
    ByteWriter out(text);
    putField(out, "job.train checkpoint fingerprint 1");
    out.u64(options_.epochs);
    out.u64(options_.batch_size);
    out.u64(options_.seed);
    out.u8(options_.shuffle ? 1 : 0);
    out.f64(options_.validation_fraction);
    out.u32(static_cast<std::uint32_t>(options_.lr_schedule));
    out.u64(options_.lr_step_epochs);
    out.f64(options_.lr_gamma);
    out.u64(options_.warmup_steps);
    out.f64(options_.clip_grad_norm);
    out.u64(options_.early_stopping_patience);
    out.u32(static_cast<std::uint32_t>(options_.monitor));
    putField(out, targets_.model_type);
    out.u32(targets_.model->formatVersion());
    putField(out, Sha256::of(model_payload));
    putField(out, targets_.optimizer_type);
    putField(out, Sha256::of(optimizer_state));
    putField(out, targets_.dataset->fingerprint());
    out.u64(targets_.dataset->size());
    out.u32(static_cast<std::uint32_t>(schema.feature_dtype));
    out.u64(schema.row_shape.size());
    for (auto d : schema.row_shape) {
      out.i64(d);
    }
    out.u32(static_cast<std::uint32_t>(schema.label_kind));
    out.i64(schema.num_targets);
    out.u64(schema.class_names.size());
    for (const auto& name : schema.class_names) {
      putField(out, name);
    }
    out.u64(schema.feature_names.size());
    for (const auto& name : schema.feature_names) {
      putField(out, name);
    }
  });
  AIMASS_RETURN_IF_ERROR(status);
  return Sha256::of(text);
}

Expected<std::optional<TrainCheckpoint>> TrainJob::findCheckpoint(Host& host,
                                                                  const std::string& fingerprint) {
  Storage& storage = *targets_.storage;
  const std::string key = checkpointKey(name_);
  const std::string where = "checkpoint '" + key + "' in " + storage.describe();
  auto checkpoint = readTrainCheckpoint(storage, key);
  if (!checkpoint.ok()) {
    if (checkpoint.status().code() != StatusCode::kNotFound) {
      if (options_.resume == ResumeMode::kNever) {
        host.log(LogLevel::kWarning, name_,
                 "resume: never: ignoring the unreadable " + where + " (" +
                     checkpoint.status().message() + "); the first new checkpoint replaces it");
        return std::optional<TrainCheckpoint>();
      }
      return checkpoint.status().withContext(
          "resuming training (set resume: never to start over and replace it)");
    }
    if (options_.resume == ResumeMode::kRequire) {
      return failedPrecondition("resume: require, but there is no " + where +
                                " to resume from (set resume: auto to start a new run)");
    }
    return std::optional<TrainCheckpoint>();
  }
  if (options_.resume == ResumeMode::kNever) {
    host.log(LogLevel::kInfo, name_,
             "resume: never: starting over; the first new checkpoint replaces " + where +
                 " (epoch " + std::to_string(checkpoint->epoch + 1) + ")");
    return std::optional<TrainCheckpoint>();
  }
  if (checkpoint->fingerprint != fingerprint) {
    const std::string mismatch = where + " was written by a run with another configuration " +
                                 "(fingerprint " + shortFingerprint(checkpoint->fingerprint) +
                                 ", this run " + shortFingerprint(fingerprint) + ")";
    if (options_.resume == ResumeMode::kRequire) {
      return failedPrecondition(
          mismatch +
          "; resume: require does not start over: run with the configuration it "
          "was written with, or set resume: auto or never");
    }
    host.log(LogLevel::kWarning, name_,
             mismatch +
                 "; not resuming from it: training starts over and the first new "
                 "checkpoint replaces it");
    return std::optional<TrainCheckpoint>();
  }
  return std::optional<TrainCheckpoint>(std::move(*checkpoint));
}

Status TrainJob::runSelfTraining(Host& host, JobProgress& progress, SelfTraining& training) {
  ProgressObserver observer(host, progress);
  progress.begin("fit " + targets_.model_name, 0);
  Status status =
      guard("fit", [&] { return training.fit(*targets_.dataset, options_.seed, observer); });
  if (!status.ok()) {
    progress.end("fit failed");
    return status.withContext("fitting model '" + targets_.model_name + "'");
  }
  if (host.stopRequested()) {
    progress.end("fit stopped");
    return cancelled("training of model '" + targets_.model_name + "' was stopped");
  }
  progress.end("fit done after " + std::to_string(observer.iterations()) +
               " iterations, objective=" + formatFigure(observer.objective()));
  final_metrics_ = {{"objective", observer.objective()}};
  tracker_.log("objective", observer.iterations(), observer.objective());
  return Status();
}

Status TrainJob::runGradientTraining(Host& host, JobProgress& progress,
                                     GradientTraining& training) {
  const Dataset& dataset = *targets_.dataset;
  const DatasetSchema& data_schema = dataset.schema();
  const std::uint64_t total_rows = dataset.size();
  if (total_rows == 0) {
    return invalidArgument("dataset '" + targets_.dataset_name + "' has no rows to train on");
  }

  // Validation rows are chosen once from a seeded permutation and never trained on.
  std::vector<std::uint64_t> train_rows(total_rows);
  for (std::uint64_t i = 0; i < total_rows; ++i) {
    train_rows[i] = i;
  }
  std::vector<std::uint64_t> validation_rows;
  auto validation_count = static_cast<std::uint64_t>(
      std::llround(options_.validation_fraction * static_cast<double>(total_rows)));
  if (validation_count > 0) {
    shuffleRows(train_rows, options_.seed ^ kSplitSeedSalt);
    validation_rows.assign(train_rows.begin(), train_rows.begin() + validation_count);
    train_rows.erase(train_rows.begin(), train_rows.begin() + validation_count);
    std::sort(train_rows.begin(), train_rows.end());
    std::sort(validation_rows.begin(), validation_rows.end());
  }
  if (train_rows.empty()) {
    return invalidArgument("dataset '" + targets_.dataset_name + "' has " +
                           std::to_string(total_rows) +
                           " rows, none left for training after "
                           "the validation split");
  }

  AIMASS_RETURN_IF_ERROR(guard("prepare", [&] {
                           return training.prepare(data_schema, options_.seed);
                         }).withContext("preparing model '" + targets_.model_name + "'"));
  std::vector<Parameter> parameters = training.parameters();
  GradientOptimizer& optimizer = *targets_.optimizer;
  AIMASS_RETURN_IF_ERROR(optimizer.begin(parameters).withContext("starting the optimizer"));
  RestoreLearningRate base_rate(optimizer);
  const bool scheduled = options_.lr_schedule != LrSchedule::kConstant || options_.warmup_steps > 0;

  const bool check_labels =
      data_schema.label_kind == LabelKind::kClass && !data_schema.class_names.empty();
  const ModelSchema model_schema = targets_.model->schema();
  const std::string input_name = model_schema.inputs.empty() ? std::string(tensor_names::kInput)
                                                             : model_schema.inputs.front().name;
  bool accuracy_possible =
      model_schema.task == Task::kClassification && data_schema.label_kind == LabelKind::kClass;

  const std::uint64_t batch_size = options_.batch_size;
  const std::uint64_t batches = (train_rows.size() + batch_size - 1) / batch_size;
  Batch batch;
  Batch validation_batch;
  TensorMap inputs;
  TensorMap outputs;
  const std::uint64_t planned_steps = options_.epochs * batches;
  std::uint64_t total_steps = 0;
  std::uint64_t epochs_run = 0;
  // Early stopping: the best monitored figure so far and the epochs since it improved.
  const bool minimise = options_.monitor == Monitor::kValLoss;
  double best = minimise ? INFINITY : -INFINITY;
  std::uint64_t best_epoch = 0;
  std::uint64_t stale_epochs = 0;
  std::string stopped_early;

  // Checkpoints: continue where a matching one left off, and write new ones as the run goes.
  const bool checkpointing = targets_.storage && options_.checkpoint_every > 0;
  const std::string checkpoint_key = checkpointKey(name_);
  std::uint64_t first_epoch = 0;
  std::uint64_t first_step = 0;
  double resumed_loss_sum = 0;
  std::uint64_t resumed_samples = 0;
  std::string run_fingerprint;
  if (checkpointing) {
    auto computed = fingerprint(data_schema);
    if (!computed.ok()) {
      return computed.status();
    }
    run_fingerprint = *computed;
    auto found = findCheckpoint(host, run_fingerprint);
    if (!found.ok()) {
      return found.status();
    }
    if (found->has_value()) {
      TrainCheckpoint& checkpoint = **found;
      const std::string where =
          "checkpoint '" + checkpoint_key + "' in " + targets_.storage->describe();
      if (checkpoint.epoch > options_.epochs || checkpoint.step > batches ||
          (checkpoint.epoch == options_.epochs && checkpoint.step != 0)) {
        return dataLoss(where + " is at epoch " + std::to_string(checkpoint.epoch + 1) + " step " +
                        std::to_string(checkpoint.step) + ", outside this run of " +
                        std::to_string(options_.epochs) + " epochs of " + std::to_string(batches) +
                        " steps");
      }
      AIMASS_RETURN_IF_ERROR(
          guard("model load", [&] {
            return targets_.model->load(checkpoint.model_payload, checkpoint.model_format_version);
          }).withContext("restoring model '" + targets_.model_name + "' from " + where));
      // A model may hand out new buffers after load(); the optimizer starts on those.
      parameters = training.parameters();
      AIMASS_RETURN_IF_ERROR(optimizer.begin(parameters).withContext("restarting the optimizer"));
      AIMASS_RETURN_IF_ERROR(optimizer.loadState(checkpoint.optimizer_state)
                                 .withContext("restoring the optimizer from " + where));
      first_epoch = checkpoint.epoch;
      first_step = checkpoint.step;
      // Each epoch shuffles the order the previous one left, so replay the earlier shuffles.
      for (std::uint64_t epoch = 0; options_.shuffle && epoch < first_epoch; ++epoch) {
        shuffleRows(train_rows, options_.seed + epoch);
      }
      resumed_loss_sum = checkpoint.epoch_loss_sum;
      resumed_samples = checkpoint.epoch_samples;
      total_steps = checkpoint.total_steps;
      epochs_run = checkpoint.epoch;
      best = checkpoint.best;
      best_epoch = checkpoint.best_epoch;
      stale_epochs = checkpoint.stale_epochs;
      final_metrics_ =
          std::map<std::string, double>(checkpoint.metrics.begin(), checkpoint.metrics.end());
      host.log(LogLevel::kInfo, name_,
               "resuming from " + where + ": epoch " + std::to_string(first_epoch + 1) + "/" +
                   std::to_string(options_.epochs) +
                   (first_step > 0 ? " after step " + std::to_string(first_step) + "/" +
                                         std::to_string(batches)
                                   : std::string()) +
                   " (" + std::to_string(total_steps) + " steps done, fingerprint " +
                   shortFingerprint(run_fingerprint) + ")");
    }
  }
  // Writes where the run stands: in `epoch` (0-based) after `step` of its batches.
  auto writeCheckpoint = [&](std::uint64_t epoch, std::uint64_t step, double loss_sum,
                             std::uint64_t samples) -> Status {
    TrainCheckpoint checkpoint;
    checkpoint.fingerprint = run_fingerprint;
    checkpoint.epoch = epoch;
    checkpoint.step = step;
    checkpoint.total_steps = total_steps;
    checkpoint.epoch_loss_sum = loss_sum;
    checkpoint.epoch_samples = samples;
    checkpoint.best = best;
    checkpoint.best_epoch = best_epoch;
    checkpoint.stale_epochs = stale_epochs;
    checkpoint.metrics.assign(final_metrics_.begin(), final_metrics_.end());
    checkpoint.model_type = targets_.model_type;
    checkpoint.model_format_version = targets_.model->formatVersion();
    AIMASS_RETURN_IF_ERROR(
        guard("model save", [&] {
          return targets_.model->save(checkpoint.model_payload);
        }).withContext("saving model '" + targets_.model_name + "' for a checkpoint"));
    AIMASS_RETURN_IF_ERROR(optimizer.saveState(checkpoint.optimizer_state)
                               .withContext("saving the optimizer's state for a checkpoint"));
    return writeTrainCheckpoint(*targets_.storage, checkpoint_key, checkpoint);
  };
  // A stop request ends the run with kCancelled, after a checkpoint of where it stood.
  auto stopAt = [&](std::uint64_t epoch, std::uint64_t step, double loss_sum, std::uint64_t samples,
                    const std::string& position) -> Status {
    std::string message = "training of model '" + targets_.model_name + "' was stopped " + position;
    if (!checkpointing) {
      return cancelled(message);
    }
    Status written = writeCheckpoint(epoch, step, loss_sum, samples);
    if (!written.ok()) {
      return written.withContext(message + "; its checkpoint could not be written");
    }
    // Logged as well: the host reports a cancelled job as just "cancelled".
    message += "; checkpoint '" + checkpoint_key + "' in " + targets_.storage->describe() +
               " written, run again to resume";
    host.log(LogLevel::kInfo, name_, message);
    return cancelled(message);
  };

  auto evaluate = [&]() -> Expected<ValidationResult> {
    ValidationResult result;
    double loss_sum = 0;
    std::uint64_t correct = 0;
    bool accuracy_ok = accuracy_possible;
    for (std::size_t begin = 0; begin < validation_rows.size(); begin += batch_size) {
      if (host.stopRequested()) {
        return cancelled("training of model '" + targets_.model_name + "' was stopped");
      }
      std::span<const std::uint64_t> rows(
          validation_rows.data() + begin,
          std::min<std::size_t>(batch_size, validation_rows.size() - begin));
      AIMASS_RETURN_IF_ERROR(
          dataset.read(rows, validation_batch).withContext("reading validation rows"));
      if (check_labels) {
        AIMASS_RETURN_IF_ERROR(
            checkClassLabels(validation_batch, rows, data_schema.class_names.size()));
      }
      auto loss = training.evaluateLoss(validation_batch);
      if (!loss.ok()) {
        return loss.status().withContext("validation loss");
      }
      loss_sum += *loss * static_cast<double>(rows.size());
      if (accuracy_ok) {
        inputs.set(input_name, validation_batch.features);
        Status predicted = targets_.model->predict(inputs, outputs, PredictOptions{});
        const Tensor* labels = outputs.find(tensor_names::kLabel);
        if (!predicted.ok() || !labels || labels->dtype() != DType::kInt64 ||
            labels->numel() != static_cast<std::int64_t>(rows.size())) {
          // The model cannot be scored this way; keep training, report the loss only.
          accuracy_ok = false;
          continue;
        }
        auto predicted_labels = labels->span<std::int64_t>();
        auto true_labels = validation_batch.labels.span<std::int64_t>();
        for (std::size_t i = 0; i < rows.size(); ++i) {
          correct += predicted_labels[i] == true_labels[i] ? 1 : 0;
        }
      }
    }
    result.loss = loss_sum / static_cast<double>(validation_rows.size());
    result.has_accuracy = accuracy_ok;
    result.accuracy = static_cast<double>(correct) / static_cast<double>(validation_rows.size());
    return result;
  };

  for (std::uint64_t epoch = first_epoch; epoch < options_.epochs && stopped_early.empty();
       ++epoch) {
    const std::string epoch_label =
        std::to_string(epoch + 1) + "/" + std::to_string(options_.epochs);
    if (options_.shuffle) {
      shuffleRows(train_rows, options_.seed + epoch);
    }
    training.resetState();
    progress.begin("epoch " + epoch_label, batches);
    const auto started = std::chrono::steady_clock::now();
    const bool resumed_epoch = epoch == first_epoch;
    double loss_sum = resumed_epoch ? resumed_loss_sum : 0;
    std::uint64_t samples = resumed_epoch ? resumed_samples : 0;
    std::uint64_t timed_samples = 0;  // rows stepped on since `started`, for samples/s
    for (std::uint64_t step = resumed_epoch ? first_step : 0; step < batches; ++step) {
      if (host.stopRequested()) {
        progress.end("stopped at epoch " + epoch_label);
        return stopAt(
            epoch, step, loss_sum, samples,
            "at epoch " + std::to_string(epoch + 1) + " step " + std::to_string(step + 1));
      }
      std::size_t begin = step * batch_size;
      std::span<const std::uint64_t> rows(
          train_rows.data() + begin, std::min<std::size_t>(batch_size, train_rows.size() - begin));
      Status read = dataset.read(rows, batch);
      if (!read.ok()) {
        progress.end("failed");
        return read.withContext("reading dataset '" + targets_.dataset_name + "'");
      }
      if (check_labels) {
        Status labels = checkClassLabels(batch, rows, data_schema.class_names.size());
        if (!labels.ok()) {
          progress.end("failed");
          return labels.withContext("dataset '" + targets_.dataset_name + "'");
        }
      }
      auto loss = training.forwardBackward(batch, true);
      if (!loss.ok()) {
        progress.end("failed");
        return loss.status().withContext("training step " + std::to_string(step + 1) +
                                         " of epoch " + epoch_label);
      }
      if (!std::isfinite(*loss)) {
        progress.end("failed");
        return invalidArgument("loss became " + nonFiniteName(*loss) + " at epoch " +
                               std::to_string(epoch + 1) + " step " + std::to_string(step + 1));
      }
      const double rate =
          scheduledLearningRate(options_, base_rate.rate(), total_steps, epoch, planned_steps);
      optimizer.setLearningRate(rate);
      if (options_.clip_grad_norm > 0) {
        const double norm = clipGradientNorm(parameters, options_.clip_grad_norm);
        if (!std::isfinite(norm)) {
          progress.end("failed");
          return invalidArgument("gradient norm became " + nonFiniteName(norm) + " at epoch " +
                                 std::to_string(epoch + 1) + " step " + std::to_string(step + 1));
        }
      }
      Status stepped = optimizer.step(parameters);
      if (!stepped.ok()) {
        progress.end("failed");
        return stepped.withContext("optimizer step");
      }
      ++total_steps;
      loss_sum += *loss * static_cast<double>(rows.size());
      samples += rows.size();
      timed_samples += rows.size();
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      double samples_per_second = seconds > 0 ? static_cast<double>(timed_samples) / seconds : 0;
      tracker_.step(total_steps, *loss, rate, samples_per_second);
      if (scheduled) {
        progress.update(step + 1, {{"loss", loss_sum / static_cast<double>(samples)},
                                   {"samples/s", samples_per_second},
                                   {"lr", rate}});
      } else {
        progress.update(step + 1, {{"loss", loss_sum / static_cast<double>(samples)},
                                   {"samples/s", samples_per_second}});
      }
    }
    // The host prints the phase ("epoch 3/30") before the summary, so it is not repeated.
    // epoch_s: wall time of this epoch's training steps (reading, forward/backward, optimizer),
    // without the validation pass; bench/run.sh reads it.
    const double epoch_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::string summary = "loss=" + formatFigure(loss_sum / static_cast<double>(samples)) +
                          " epoch_s=" + formatFigure(epoch_seconds);
    if (epoch_seconds > 0 && timed_samples > 0) {
      // Throughput in the plain log too, where no bar shows it.
      summary += " samples/s=" +
                 formatRate(std::round(static_cast<double>(timed_samples) / epoch_seconds));
    }
    final_metrics_ = {{"loss", loss_sum / static_cast<double>(samples)}};
    if (!validation_rows.empty()) {
      auto evaluation = evaluate();
      if (!evaluation.ok() && evaluation.status().code() == StatusCode::kCancelled) {
        progress.end("stopped while validating epoch " + epoch_label);
        return stopAt(epoch, batches, loss_sum, samples,
                      "while validating epoch " + std::to_string(epoch + 1));
      }
      if (!evaluation.ok()) {
        progress.end("failed");
        return evaluation.status();
      }
      if (!std::isfinite(evaluation->loss)) {
        progress.end("failed");
        return invalidArgument("validation loss became " + nonFiniteName(evaluation->loss) +
                               " at epoch " + std::to_string(epoch + 1));
      }
      summary += " val_loss=" + formatFigure(evaluation->loss);
      final_metrics_["val_loss"] = evaluation->loss;
      if (evaluation->has_accuracy) {
        final_metrics_["val_accuracy"] = evaluation->accuracy;
        summary += " val_accuracy=" + formatFigure(evaluation->accuracy);
      }
      if (options_.early_stopping_patience > 0) {
        if (!minimise && !evaluation->has_accuracy) {
          progress.end("failed");
          return invalidArgument("early stopping monitors val_accuracy, but model '" +
                                 targets_.model_name +
                                 "' gives no class labels to score: monitor val_loss instead");
        }
        const double figure = minimise ? evaluation->loss : evaluation->accuracy;
        if (minimise ? figure < best : figure > best) {
          best = figure;
          best_epoch = epoch + 1;
          stale_epochs = 0;
        } else if (++stale_epochs >= options_.early_stopping_patience) {
          stopped_early = "early stopping after epoch " + std::to_string(epoch + 1) + ": " +
                          monitorName(options_.monitor) + " has not improved for " +
                          std::to_string(stale_epochs) + " epochs (best " + formatFigure(best) +
                          " at epoch " + std::to_string(best_epoch) +
                          "); keeping the last epoch's model";
        }
      }
    }
    if (scheduled) {
      summary += " lr=" + formatRate(optimizer.learningRate());
    }
    progress.end(summary);
    tracker_.log("train_loss", epoch + 1, final_metrics_["loss"]);
    tracker_.log("epoch_seconds", epoch + 1, epoch_seconds);
    for (const char* figure : {"val_loss", "val_accuracy"}) {
      if (auto it = final_metrics_.find(figure); it != final_metrics_.end()) {
        tracker_.log(figure, epoch + 1, it->second);
      }
    }
    ++epochs_run;
    // No checkpoint after the last epoch (or an early stop): the model is saved next.
    if (checkpointing && stopped_early.empty() && epoch + 1 < options_.epochs &&
        (epoch + 1) % options_.checkpoint_every == 0) {
      AIMASS_RETURN_IF_ERROR(
          writeCheckpoint(epoch + 1, 0, 0, 0).withContext("checkpoint after epoch " + epoch_label));
      host.log(LogLevel::kDebug, name_,
               "checkpoint after epoch " + epoch_label + " written to '" + checkpoint_key + "'");
    }
  }
  if (!stopped_early.empty()) {
    host.log(LogLevel::kInfo, name_, stopped_early);
  }
  host.log(LogLevel::kInfo, name_,
           "trained model '" + targets_.model_name + "' for " + std::to_string(epochs_run) +
               " epochs (" + std::to_string(total_steps) + " steps on " +
               std::to_string(train_rows.size()) + " rows, " +
               std::to_string(validation_rows.size()) + " held out)");
  return Status();
}

NodeType trainJobNodeType() {
  NodeType type;
  type.type = "job.train";
  type.kind = NodeKind::kJob;
  type.summary = "Trains a model on a dataset and saves it to storage";
  type.params = {
      ParamSpec::ref("model", NodeKind::kModel, "The model to train."),
      ParamSpec::ref("dataset", NodeKind::kDataset,
                     "The training data; a validation split is held out from it."),
      ParamSpec::ref("optimizer", NodeKind::kOptimizer,
                     "A gradient optimizer; required when the model trains by gradients, "
                     "ignored by models that fit themselves.")
          .optional(),
      ParamSpec::integer("epochs", "Passes over the training rows.")
          .withDefault(std::int64_t{10})
          .atLeast(1),
      ParamSpec::integer("batch_size", "Rows per optimizer step.")
          .withDefault(std::int64_t{32})
          .atLeast(1),
      ParamSpec::integer("seed",
                         "Seeds initialisation, the validation split and the shuffles; the "
                         "same seed trains the same model.")
          .withDefault(std::int64_t{0})
          .atLeast(0),
      ParamSpec::boolean("shuffle", "Shuffle the training rows before every epoch.")
          .withDefault(true),
      ParamSpec::number("validation_fraction",
                        "Share of rows held out once to report val_loss (and val_accuracy for "
                        "classifiers) after every epoch.")
          .withDefault(0.0)
          .range(0, 0.9),
      ParamSpec::ref("storage", NodeKind::kStorage,
                     "Where to save the trained model; not saved when absent.")
          .optional(),
      ParamSpec::string("artifact",
                        "Storage key of the saved model. Default: a key of its own per run, "
                        "models/<model>/artifacts/<unix-time-ns>.aimass, when registering; "
                        "models/<model>/model.aimass otherwise. A fixed key with register: true "
                        "makes every version share (and overwrite) one artifact.")
          .withDefault(std::string()),
      ParamSpec::boolean("register",
                         "With a storage, register the dataset's content (SHA-256 of its rows; "
                         "a new dataset version only when the content is new) and the saved "
                         "model as the next version of the model (named after its node) in that "
                         "storage's registry, with its type, the dataset version, the git "
                         "commit, the user and the last epoch's loss, val_loss and val_accuracy; "
                         "see `aimass models list` and `aimass datasets list`.")
          .withDefault(true),
      ParamSpec::boolean("track",
                         "With a storage, record the run in that storage's experiment tracking: "
                         "every parameter of this job and of the nodes it references, loss, "
                         "learning_rate and samples_per_second per step, train_loss, val_loss, "
                         "val_accuracy and epoch_seconds per epoch, the saved model and its "
                         "registered version, and the outcome (finished, failed with the error, "
                         "or killed by Ctrl-C/SIGTERM); see `aimass runs list`.")
          .withDefault(true),
      ParamSpec::string("experiment",
                        "The experiment the tracked run belongs to (letters, digits, '.', '_', "
                        "'-'). Default: the configuration file's name without its extension "
                        "(quickstart.yaml -> quickstart), or the model's node name when there "
                        "is no file.")
          .withDefault(std::string()),
      ParamSpec::string("lr_schedule",
                        "How the optimizer's learning rate (the base rate) moves: constant; "
                        "step (times lr_gamma every lr_step_epochs epochs); cosine (from the "
                        "base down towards 0 over the steps after warm-up, "
                        "base * (1 + cos(pi * k / K)) / 2).")
          .withDefault(std::string("constant"))
          .oneOf({"constant", "step", "cosine"}),
      ParamSpec::integer("lr_step_epochs", "lr_schedule step: epochs between two decays.")
          .withDefault(std::int64_t{10})
          .atLeast(1),
      ParamSpec::number("lr_gamma", "lr_schedule step: factor applied to the rate at each decay.")
          .withDefault(0.1)
          .range(1e-12, 1),
      ParamSpec::integer("warmup_steps",
                         "Linear warm-up: optimizer step s (from 0) below this uses (s + 1) / "
                         "warmup_steps of the scheduled rate; 0 turns it off.")
          .withDefault(std::int64_t{0})
          .atLeast(0),
      ParamSpec::number("clip_grad_norm",
                        "Before each step, scale all gradients together so their global L2 "
                        "norm is at most this; 0 turns clipping off.")
          .withDefault(0.0)
          .atLeast(0),
      ParamSpec::integer("early_stopping_patience",
                         "Stop when the monitored validation figure has not improved for this "
                         "many epochs (needs validation_fraction > 0); the last epoch's model is "
                         "kept, not the best. 0 turns it off.")
          .withDefault(std::int64_t{0})
          .atLeast(0),
      ParamSpec::string("monitor",
                        "The figure early stopping watches: val_loss (lower is better) or "
                        "val_accuracy (higher is better; classifiers only).")
          .withDefault(std::string("val_loss"))
          .oneOf({"val_loss", "val_accuracy"}),
      ParamSpec::integer("checkpoint_every",
                         "With a storage, write a checkpoint of a gradient-trained run every "
                         "this many epochs, and when SIGINT/SIGTERM stops it, to key "
                         "checkpoints/<job> (one atomic, checksummed record: the model, the "
                         "optimizer state, epoch and step, the early-stopping state). A failed "
                         "run leaves the last good checkpoint as it was; a finished run removes "
                         "it. 0 turns checkpoints and resuming off. Without a storage nothing is "
                         "written.")
          .withDefault(std::int64_t{1})
          .atLeast(0),
      ParamSpec::string("resume",
                        "What to do with this job's checkpoint when the run starts: auto "
                        "resumes from it when its configuration fingerprint (training options, "
                        "model type and initial payload, optimizer type and initial state, "
                        "dataset fingerprint and schema) matches this run's, and otherwise warns "
                        "and starts over; never always starts over; require fails unless a "
                        "matching checkpoint exists. A resumed seeded run ends with the same "
                        "model as an uninterrupted one.")
          .withDefault(std::string("auto"))
          .oneOf({"auto", "never", "require"}),
  };
  type.factory = [](const NodeConfig& config) -> Expected<std::unique_ptr<Node>> {
    std::unique_ptr<Node> node;
    Status status = guard("job.train", [&]() -> Status {
      auto refOrNull = [&](const std::string& name) -> std::shared_ptr<Node> {
        return config.has(name) ? config.getRef<Node>(name) : nullptr;
      };
      auto firstName = [&](const std::string& name, bool types) -> std::string {
        if (!config.has(name)) {
          return {};
        }
        const auto& list = types ? config.refTypes(name) : config.refNames(name);
        return list.empty() ? std::string() : list.front();
      };
      TrainTargets targets;
      targets.model = std::static_pointer_cast<Model>(refOrNull("model"));
      targets.model_name = firstName("model", false);
      targets.model_type = firstName("model", true);
      targets.dataset = std::static_pointer_cast<Dataset>(refOrNull("dataset"));
      targets.dataset_name = firstName("dataset", false);
      targets.dataset_type = firstName("dataset", true);
      targets.storage = std::static_pointer_cast<Storage>(refOrNull("storage"));
      auto optimizer = std::static_pointer_cast<Optimizer>(refOrNull("optimizer"));
      if (optimizer && targets.model) {
        std::string optimizer_name = "optimizer '" + firstName("optimizer", false) + "' (" +
                                     firstName("optimizer", true) + ")";
        if (!targets.model->gradientTraining()) {
          config.host().log(
              LogLevel::kWarning, config.nodeName(),
              optimizer_name + " is ignored: model '" + targets.model_name + "' fits itself");
        } else if (optimizer->style() != OptimizerStyle::kGradient) {
          return invalidArgument(optimizer_name + " is a search optimizer, but model '" +
                                 targets.model_name + "' (" + targets.model_type +
                                 ") trains by gradients and needs a gradient optimizer such as "
                                 "optimizer.sgd");
        } else {
          targets.optimizer = std::static_pointer_cast<GradientOptimizer>(optimizer);
          targets.optimizer_type = firstName("optimizer", true);
        }
      }
      TrainOptions options;
      options.epochs = static_cast<std::uint64_t>(config.getInt("epochs"));
      options.batch_size = static_cast<std::uint64_t>(config.getInt("batch_size"));
      options.seed = static_cast<std::uint64_t>(config.getInt("seed"));
      options.shuffle = config.getBool("shuffle");
      options.validation_fraction = config.getFloat("validation_fraction");
      options.artifact_key = config.getString("artifact");
      options.register_version = config.getBool("register");
      options.track = config.getBool("track");
      options.experiment = config.getString("experiment");
      if (!options.experiment.empty()) {
        AIMASS_RETURN_IF_ERROR(Tracking::validateName(options.experiment, "experiment"));
      }
      const std::string schedule = config.getString("lr_schedule");
      if (schedule == "step") {
        options.lr_schedule = LrSchedule::kStep;
      } else if (schedule == "cosine") {
        options.lr_schedule = LrSchedule::kCosine;
      } else if (schedule != "constant") {
        return invalidArgument("lr_schedule must be constant, step or cosine, got '" + schedule +
                               "'");
      }
      options.lr_step_epochs = static_cast<std::uint64_t>(config.getInt("lr_step_epochs"));
      options.lr_gamma = config.getFloat("lr_gamma");
      options.warmup_steps = static_cast<std::uint64_t>(config.getInt("warmup_steps"));
      options.clip_grad_norm = config.getFloat("clip_grad_norm");
      options.early_stopping_patience =
          static_cast<std::uint64_t>(config.getInt("early_stopping_patience"));
      const std::string monitor = config.getString("monitor");
      if (monitor == "val_accuracy") {
        options.monitor = Monitor::kValAccuracy;
      } else if (monitor != "val_loss") {
        return invalidArgument("monitor must be val_loss or val_accuracy, got '" + monitor + "'");
      }
      options.checkpoint_every = static_cast<std::uint64_t>(config.getInt("checkpoint_every"));
      const std::string resume = config.getString("resume");
      if (resume == "never") {
        options.resume = ResumeMode::kNever;
      } else if (resume == "require") {
        options.resume = ResumeMode::kRequire;
      } else if (resume != "auto") {
        return invalidArgument("resume must be auto, never or require, got '" + resume + "'");
      }
      auto job = TrainJob::create(config.nodeName(), std::move(targets), std::move(options));
      if (!job.ok()) {
        return job.status();
      }
      std::map<std::string, std::string> params;
      for (const auto& [name, value] : config.values()) {
        params[name] = paramValueText(value);
      }
      for (const char* reference : {"model", "dataset", "optimizer", "storage"}) {
        if (config.has(reference) && !config.refNames(reference).empty()) {
          params[reference] = config.refNames(reference).front();
        }
      }
      (*job)->addTrackingContext({}, params);
      node = std::move(job).value();
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
