// SPDX-License-Identifier: Apache-2.0
#include "train_job.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
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
#include "aimass/tensor_names.h"
#include "ensemble/ensemble_model.h"
#include "evaluate_tasks.h"
#include "param_conversion.h"
#include "pipeline/pipeline_node.h"
#include "pipeline/table_io.h"
#include "train_callbacks/checkpointing.h"
#include "train_callbacks/clipping.h"
#include "train_callbacks/early_stopping.h"
#include "train_callbacks/progress.h"
#include "train_callbacks/run_tracking.h"
#include "train_callbacks/schedule.h"
#include "train_job_transfer.h"
#include "train_loop.h"
#include "version_runs.h"

namespace aimass::core {
namespace {

/// Fits the model's preprocessing, when it has one, on `rows` of the training data (never on
/// validation rows). Data with text columns needs preprocessing that encodes them.
Status fitPreprocessing(const TrainTargets& targets, std::span<const std::uint64_t> rows) {
  auto* pipeline = dynamic_cast<PreprocessedModel*>(targets.model.get());
  if (pipeline == nullptr && dynamic_cast<EnsembleModel*>(targets.model.get()) != nullptr) {
    return Status();  // its members, trained by it, preprocess (or refuse) the data themselves
  }
  if (pipeline == nullptr) {
    const auto& text = targets.dataset->schema().string_feature_names;
    if (text.empty()) {
      return Status();
    }
    return invalidArgument("dataset '" + targets.dataset_name + "' has text columns (" +
                           joinNames(text) +
                           ") but model '" + targets.model_name +
                           "' takes numbers only: give it preprocess: [...] with a "
                           "transform.onehot or transform.ordinal step (docs/pipelines.md)");
  }
  return guard("preprocess", [&] { return pipeline->fitPreprocessing(*targets.dataset, rows); })
      .withContext("fitting the preprocessing of model '" + targets.model_name + "' on " +
                   std::to_string(rows.size()) + " training rows of dataset '" +
                   targets.dataset_name + "'");
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

/// A length-prefixed string, so two fields can never run together into the same bytes.
void putField(ByteWriter& out, std::string_view field) {
  out.u64(field.size());
  out.bytes(field);
}

std::string shortFingerprint(const std::string& fingerprint) { return fingerprint.substr(0, 12); }

/// Why a validation dataset of schema `validation` cannot score a model trained on `train`;
/// empty when the two match (features, labels and classes; id cardinalities may differ).
std::string schemaMismatch(const DatasetSchema& train, const DatasetSchema& validation) {
  if (validation.feature_dtype != train.feature_dtype) {
    return "its features are " + std::string(dtypeName(validation.feature_dtype)) + ", not " +
           std::string(dtypeName(train.feature_dtype));
  }
  if (validation.row_shape != train.row_shape) {
    return "its rows have shape " + shapeToString(validation.row_shape) + ", not " +
           shapeToString(train.row_shape);
  }
  if (validation.feature_names != train.feature_names) {
    return "its feature names differ";
  }
  if (validation.label_kind != train.label_kind || validation.num_targets != train.num_targets) {
    return "its labels are of another kind or count";
  }
  if (validation.class_names != train.class_names) {
    return "its classes differ (" + std::to_string(validation.class_names.size()) + " against " +
           std::to_string(train.class_names.size()) + ", or named or ordered otherwise)";
  }
  return {};
}

LoopData loopData(const TrainTargets& targets, const TrainOptions& options, RowSplit& rows,
                  DataParallel& parallel) {
  const DatasetSchema& data_schema = targets.dataset->schema();
  LoopData data;
  data.dataset = targets.dataset.get();
  data.dataset_name = targets.dataset_name;
  data.validation_dataset = targets.validation ? targets.validation.get() : data.dataset;
  data.validation_name = targets.validation ? targets.validation_name : targets.dataset_name;
  data.model_name = targets.model_name;
  data.text_names = data.validation_dataset->schema().string_feature_names;
  data.rows = &rows;
  data.batch_size = options.batch_size;
  data.shuffle = options.shuffle;
  data.seed = options.seed;
  if (data_schema.label_kind == LabelKind::kClass) {
    data.num_classes = data_schema.class_names.size();
  }
  const ModelSchema model_schema = targets.model->schema();
  data.accuracy_possible =
      model_schema.task == Task::kClassification && data_schema.label_kind == LabelKind::kClass;
  data.hint_missing_values = dynamic_cast<PreprocessedModel*>(targets.model.get()) == nullptr;
  data.parallel = &parallel;
  return data;
}

}  // namespace

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
  if (!by_gradients && (!options.init_from.empty() || !options.freeze.empty())) {
    return invalidArgument(model + " fits itself (no gradient training), so " +
                           (options.init_from.empty() ? std::string("freeze")
                                                      : "init_from '" + options.init_from + "'") +
                           " cannot apply: transfer learning needs a model trained by gradients, "
                           "such as model.mlp");
  }
  if (options.reinit_head && options.init_from.empty()) {
    return invalidArgument("reinit_head needs init_from: there are no saved weights to keep "
                           "the output layer out of");
  }
  if (!options.init_from.empty() && !targets.storage) {
    return invalidArgument("init_from '" + options.init_from +
                           "' names a registered model, but there is no storage whose registry "
                           "holds it: set `storage:`");
  }
  if (!by_gradients && targets.collective && targets.collective->size() > 1) {
    return invalidArgument(model + " fits itself, so it cannot train data-parallel over the " +
                           std::to_string(targets.collective->size()) +
                           " ranks of `collective:`: only gradient-trained models (such as "
                           "model.mlp) can; drop `collective:` or run one process");
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
  if (targets.validation) {
    if (options.validation_fraction != 0) {
      return invalidArgument("validation dataset '" + targets.validation_name +
                             "' is set and so is validation_fraction " +
                             formatFigure(options.validation_fraction) +
                             ": use one or the other (validation_fraction: 0 with `validation:`)");
    }
    const std::string why =
        schemaMismatch(targets.dataset->schema(), targets.validation->schema());
    if (!why.empty()) {
      return invalidArgument("validation dataset '" + targets.validation_name +
                             "' does not match training dataset '" + targets.dataset_name +
                             "': " + why);
    }
  }
  if (options.early_stopping_patience > 0 && options.validation_fraction == 0 &&
      !targets.validation) {
    return invalidArgument(std::string("early stopping watches ") + monitorName(options.monitor) +
                           ", which needs a validation split: set validation_fraction, e.g. "
                           "0.1, or a `validation:` dataset, or early_stopping_patience: 0");
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
  job->parallel_ = std::make_unique<DataParallel>(job->targets_.collective,
                                                  job->options_.gradient_bucket_bytes);
  if (job->options_.track && job->targets_.storage) {
    job->tracker_.configure(job->targets_.storage, job->options_.experiment, job->name_);
    job->tracker_.setDefaultExperiment({}, Tracking::experimentNameFrom(job->targets_.model_name));
  }
  return job;
}

void TrainJob::addCallback(TrainTargets::NamedCallback callback) {
  targets_.callbacks.push_back(std::move(callback));
}

void TrainJob::addTrackingContext(std::string default_experiment,
                                  const std::map<std::string, std::string>& params) {
  tracker_.setDefaultExperiment(std::move(default_experiment), {});
  tracker_.addParams(params);
}

Status TrainJob::run(Host& host, JobProgress& progress) {
  if (!parallel_->leader()) {
    return runUntracked(host, progress);  // rank 0 tracks the run
  }
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
  if (!parallel_->leader()) {
    host.log(LogLevel::kInfo, name_,
             "model '" + targets_.model_name + "' trained on rank " +
                 std::to_string(parallel_->rank()) + "; rank 0 saves it");
    return Status();
  }
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
  AIMASS_ASSIGN_OR_RETURN(profile_key_, saveProfile(key));
  host.log(LogLevel::kInfo, name_,
           "saved model '" + targets_.model_name + "' to '" + key + "' in " +
               targets_.storage->describe());
  if (!options_.register_version) {
    return Status();
  }
  return registerVersion(host, key);
}

Status TrainJob::adopt(Host& host, const std::string& key,
                       const std::map<std::string, double>& metrics, bool register_version) {
  if (!targets_.storage) {
    return failedPrecondition("job '" + name_ + "' has no storage to load '" + key + "' from");
  }
  AIMASS_RETURN_IF_ERROR(
      loadModel(*targets_.model, targets_.model_type, *targets_.storage, key)
          .withContext("loading '" + key + "' into model '" + targets_.model_name + "'"));
  final_metrics_ = metrics;
  profile_.reset();  // another process trained it, on rows this one did not read
  profile_key_.clear();
  if (!options_.init_from.empty() && parent_.empty()) {
    // Another process trained it from init_from: record what that reference names now.
    auto parent = ModelRegistry(*targets_.storage).resolve(options_.init_from);
    if (parent.ok()) {
      parent_ = parent->model + "/" + std::to_string(parent->version);
    }
  }
  return register_version ? registerVersion(host, key) : Status();
}

Status TrainJob::registerVersion(Host& host, const std::string& key) {
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
  info.profile_key = profile_key_;
  info.node = targets_.model_name;
  info.node_type = targets_.model_type;
  info.dataset_fingerprint = data.fingerprint;
  info.dataset_name = dataset->name;
  info.dataset_version = dataset->version;
  info.dataset_sha256 = dataset->sha256;
  info.metrics = final_metrics_;
  info.parent = parent_;
  ModelRegistry registry(*targets_.storage);
  auto version = registry.registerVersion(targets_.model_name, info);
  if (!version.ok()) {
    return version.status().withContext("registering model '" + targets_.model_name +
                                        "' (saved to '" + key + "')");
  }
  host.log(LogLevel::kInfo, name_,
           "registered " + targets_.model_name + " version " + std::to_string(version->version));
  tracker_.artifact("model_version", targets_.model_name + "/" + std::to_string(version->version));
  // The version's lineage names its run (GET /api/v1/models/{name}/versions/{version}/run).
  if (const std::int64_t run = tracker_.runId(); run > 0) {
    AIMASS_RETURN_IF_ERROR(
        recordVersionRun(*targets_.storage, targets_.model_name, version->version, run));
  }
  return Status();
}

Status TrainJob::startTransfer(Host& host, GradientTraining& training) {
  parent_.clear();
  frozen_.clear();
  if (!options_.init_from.empty()) {
    TransferSource source{targets_.storage.get(), &model_factory_, options_.init_from,
                          targets_.model_name, targets_.model_type};
    CopyReport report;
    AIMASS_RETURN_IF_ERROR(guard("init_from", [&]() -> Status {
      auto version = initFromRegistered(source, training, options_.reinit_head, report);
      if (version.ok()) {
        parent_ = version->model + "/" + std::to_string(version->version);
      }
      return version.status();
    }));
    std::string reinited;
    for (const auto& name : report.reinited) {
      reinited += (reinited.empty() ? "" : ", ") + name;
    }
    host.log(LogLevel::kInfo, name_,
             "model '" + targets_.model_name + "' starts from " + parent_ + ": " +
                 std::to_string(report.copied) + " parameters copied" +
                 (reinited.empty() ? std::string() : "; output layer kept fresh: " + reinited));
  }
  if (!options_.freeze.empty()) {
    std::vector<Parameter> all = training.parameters();
    auto frozen = frozenParameters(all, options_.freeze, targets_.model_name);
    AIMASS_RETURN_IF_ERROR(frozen.status());
    frozen_ = std::move(frozen).value();
    std::string names;
    for (std::size_t i = 0; i < all.size(); ++i) {
      names += frozen_[i] ? (names.empty() ? "" : ", ") + all[i].name : std::string();
    }
    host.log(LogLevel::kInfo, name_, "frozen (not trained): " + names);
  }
  return Status();
}

std::vector<Parameter> TrainJob::trainable(GradientTraining& training) const {
  return trainableParameters(training.parameters(), frozen_);
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
    putField(out, "job.train checkpoint fingerprint 2");
    out.u64(options_.epochs);
    // The global batch: a run of 2 ranks x 16 rows is the run of 1 x 32 (data-parallel
    // checkpoints resume on another number of ranks that keeps it).
    out.u64(options_.batch_size * static_cast<std::uint64_t>(parallel_->ranks()));
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
    // A plugin callback may change gradients or carry state: a run with other callbacks is
    // another run.
    out.u64(targets_.callbacks.size());
    for (const auto& callback : targets_.callbacks) {
      putField(out, callback.name);
      putField(out, callback.type);
    }
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
    // Appended only when set, so the fingerprints of runs without them are unchanged. The
    // weights init_from copied are in the model payload above.
    if (!options_.freeze.empty()) {
      putField(out, "freeze");
      out.u64(options_.freeze.size());
      for (const auto& entry : options_.freeze) {
        putField(out, entry);
      }
    }
    if (options_.lr_scale_linear) {
      putField(out, "lr_scaling linear");  // the rate is the optimizer's times the ranks
      out.u64(static_cast<std::uint64_t>(parallel_->ranks()));
    }
    if (targets_.validation) {
      putField(out, "validation");
      putField(out, targets_.validation_name);
      putField(out, targets_.validation->fingerprint());
      out.u64(targets_.validation->size());
    }
  });
  AIMASS_RETURN_IF_ERROR(status);
  return Sha256::of(text);
}

Expected<std::optional<TrainCheckpoint>> TrainJob::shareCheckpoint(
    Host& host, const std::string& fingerprint) {
  if (!parallel_->distributed()) {
    return findCheckpoint(host, fingerprint);
  }
  std::string bytes;
  Status found;
  if (parallel_->leader()) {
    auto checkpoint = findCheckpoint(host, fingerprint);
    found = checkpoint.status();
    if (checkpoint.ok() && checkpoint->has_value()) {
      bytes = encodeTrainCheckpoint(**checkpoint);
    }
  }
  bool leader_failed = !found.ok();
  AIMASS_RETURN_IF_ERROR(
      parallel_->shareFromLeader(bytes, leader_failed).withContext("sharing the checkpoint"));
  if (leader_failed) {
    return found.ok() ? aborted("rank 0 could not read the checkpoint; see its log") : found;
  }
  if (bytes.empty()) {
    return std::optional<TrainCheckpoint>();
  }
  auto checkpoint = decodeTrainCheckpoint(bytes);
  AIMASS_RETURN_IF_ERROR(checkpoint.status().withContext("the checkpoint rank 0 sent"));
  return std::optional<TrainCheckpoint>(std::move(*checkpoint));
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
  std::vector<std::uint64_t> all(targets_.dataset->size());
  std::iota(all.begin(), all.end(), std::uint64_t{0});
  AIMASS_RETURN_IF_ERROR(fitPreprocessing(targets_, all));
  profileTraining(host, all);
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

Status TrainJob::restoreCallbacks(const TrainCheckpoint& checkpoint, const std::string& where) {
  // The fingerprint names the callbacks, so a matching checkpoint holds a state for each.
  for (const auto& plugin : targets_.callbacks) {
    auto saved = std::find_if(checkpoint.callback_states.begin(), checkpoint.callback_states.end(),
                              [&](const auto& entry) { return entry.first == plugin.name; });
    if (saved == checkpoint.callback_states.end()) {
      return dataLoss(where + " holds no state for callback '" + plugin.name + "'");
    }
    AIMASS_RETURN_IF_ERROR(
        guard("callback '" + plugin.name + "'", [&] {
          return plugin.callback->loadState(saved->second);
        }).withContext("restoring callback '" + plugin.name + "' from " + where));
  }
  return Status();
}

Status TrainJob::resumeFrom(Host& host, GradientTraining& training, TrainCheckpoint& checkpoint,
                            const std::string& fingerprint, std::vector<Parameter>& parameters,
                            std::vector<std::uint64_t>& train_rows, TrainingState& state,
                            EarlyStopping* early_stopping) {
  const std::string where =
      "checkpoint '" + checkpointKey(name_) + "' in " + targets_.storage->describe();
  if (checkpoint.epoch > options_.epochs || checkpoint.epoch_samples > train_rows.size() ||
      (checkpoint.epoch == options_.epochs && checkpoint.step != 0)) {
    return dataLoss(where + " is at epoch " + std::to_string(checkpoint.epoch + 1) + " after " +
                    std::to_string(checkpoint.epoch_samples) + " rows, outside this run of " +
                    std::to_string(options_.epochs) + " epochs of " +
                    std::to_string(train_rows.size()) + " rows");
  }
  AIMASS_RETURN_IF_ERROR(
      guard("model load", [&] {
        return targets_.model->load(checkpoint.model_payload, checkpoint.model_format_version);
      }).withContext("restoring model '" + targets_.model_name + "' from " + where));
  // A model may hand out new buffers after load(); the optimizer starts on those.
  parameters = trainable(training);
  GradientOptimizer& optimizer = *targets_.optimizer;
  AIMASS_RETURN_IF_ERROR(optimizer.begin(parameters).withContext("restarting the optimizer"));
  AIMASS_RETURN_IF_ERROR(optimizer.loadState(checkpoint.optimizer_state)
                             .withContext("restoring the optimizer from " + where));
  // Each epoch shuffles the order the previous one left, so replay the earlier shuffles.
  for (std::uint64_t epoch = 0; options_.shuffle && epoch < checkpoint.epoch; ++epoch) {
    shuffleRows(train_rows, options_.seed + epoch);
  }
  state.parameters = parameters;
  state.epoch = checkpoint.epoch;
  // The position is kept in rows, so a checkpoint of N ranks resumes on M: the step index
  // counts global batches of this run's size.
  const std::uint64_t global_batch = options_.batch_size * static_cast<std::uint64_t>(
                                                               parallel_->ranks());
  state.step = (checkpoint.epoch_samples + global_batch - 1) / global_batch;
  state.global_step = checkpoint.total_steps;
  state.epoch_loss_sum = checkpoint.epoch_loss_sum;
  state.epoch_rows = checkpoint.epoch_samples;
  if (early_stopping) {
    early_stopping->restore(checkpoint.best, checkpoint.best_epoch, checkpoint.stale_epochs);
  }
  AIMASS_RETURN_IF_ERROR(restoreCallbacks(checkpoint, where));
  final_metrics_ =
      std::map<std::string, double>(checkpoint.metrics.begin(), checkpoint.metrics.end());
  host.log(LogLevel::kInfo, name_,
           "resuming from " + where + ": epoch " + std::to_string(state.epoch + 1) + "/" +
               std::to_string(options_.epochs) +
               (state.step > 0 ? " after step " + std::to_string(state.step) + "/" +
                                     std::to_string(state.steps_per_epoch)
                               : std::string()) +
               " (" + std::to_string(state.global_step) + " steps done, fingerprint " +
               shortFingerprint(fingerprint) + ")");
  return Status();
}

Status TrainJob::runGradientTraining(Host& host, JobProgress& progress,
                                     GradientTraining& training) {
  const Dataset& dataset = *targets_.dataset;
  const DatasetSchema& data_schema = dataset.schema();
  if (dataset.size() == 0) {
    return invalidArgument("dataset '" + targets_.dataset_name + "' has no rows to train on");
  }
  RowSplit rows = splitRows(dataset.size(), options_.validation_fraction, options_.seed);
  if (rows.train.empty()) {
    return invalidArgument("dataset '" + targets_.dataset_name + "' has " +
                           std::to_string(dataset.size()) +
                           " rows, none left for training after the validation split");
  }
  if (targets_.validation) {
    // Every row of the validation dataset, in order (validation_fraction is 0: none held out).
    if (targets_.validation->size() == 0) {
      return invalidArgument("validation dataset '" + targets_.validation_name +
                             "' has no rows to validate on");
    }
    rows.validation.resize(targets_.validation->size());
    for (std::uint64_t i = 0; i < rows.validation.size(); ++i) {
      rows.validation[i] = i;
    }
  }
  AIMASS_RETURN_IF_ERROR(fitPreprocessing(targets_, rows.train));
  profileTraining(host, rows.train);
  AIMASS_RETURN_IF_ERROR(guard("prepare", [&] {
                           return training.prepare(data_schema, options_.seed);
                         }).withContext("preparing model '" + targets_.model_name + "'"));
  AIMASS_RETURN_IF_ERROR(startTransfer(host, training));
  std::vector<Parameter> parameters = trainable(training);
  GradientOptimizer& optimizer = *targets_.optimizer;
  AIMASS_RETURN_IF_ERROR(optimizer.begin(parameters).withContext("starting the optimizer"));
  RestoreLearningRate base_rate(optimizer);

  TrainingState state;
  state.epochs = options_.epochs;
  const std::uint64_t global_batch =
      options_.batch_size * static_cast<std::uint64_t>(parallel_->ranks());
  state.steps_per_epoch = (rows.train.size() + global_batch - 1) / global_batch;
  state.planned_steps = state.epochs * state.steps_per_epoch;
  state.base_learning_rate =
      base_rate.rate() * (options_.lr_scale_linear ? parallel_->ranks() : 1);
  state.learning_rate = state.base_learning_rate;
  if (parallel_->distributed()) {
    host.log(LogLevel::kInfo, name_,
             "data-parallel over " + std::to_string(parallel_->ranks()) + " ranks: global batch " +
                 std::to_string(global_batch) + " (" + std::to_string(options_.batch_size) +
                 " rows a rank), " + std::to_string(state.steps_per_epoch) +
                 " steps an epoch, learning rate " + formatRate(state.base_learning_rate));
  }
  state.parameters = parameters;

  // The built-in callbacks, and the plugins' in config order (see training.h for the order).
  std::vector<std::unique_ptr<TrainingCallback>> owned;
  std::vector<CallbackEntry> callbacks;
  auto add = [&](std::string_view name, std::unique_ptr<TrainingCallback> callback) {
    callbacks.push_back({name, callback.get()});
    owned.push_back(std::move(callback));
  };
  const bool scheduled = LearningRateSchedule::moves(options_);
  if (scheduled) {
    add("lr_schedule", std::make_unique<LearningRateSchedule>(options_));
  }
  for (const auto& plugin : targets_.callbacks) {
    callbacks.push_back({plugin.name, plugin.callback.get()});
  }
  if (options_.clip_grad_norm > 0) {
    add("clip_grad_norm", std::make_unique<GradientClipping>(options_.clip_grad_norm));
  }
  EarlyStopping* early_stopping = nullptr;
  if (options_.early_stopping_patience > 0) {
    auto callback = std::make_unique<EarlyStopping>(options_.early_stopping_patience,
                                                    options_.monitor, targets_.model_name);
    early_stopping = callback.get();
    add("early_stopping", std::move(callback));
  }
  if (options_.track && targets_.storage) {
    if (parallel_->leader()) {
      add("tracking", std::make_unique<RunTracking>(tracker_));
    }
  }
  if (parallel_->leader()) {
    add("progress", std::make_unique<ProgressReport>(progress, scheduled));
  }
  if (targets_.storage && options_.checkpoint_every > 0) {
    // Checkpoints: continue where a matching one left off, and write new ones as the run goes.
    auto fingerprinted = fingerprint(data_schema);
    AIMASS_RETURN_IF_ERROR(fingerprinted.status());
    auto found = shareCheckpoint(host, *fingerprinted);
    AIMASS_RETURN_IF_ERROR(found.status());
    if (found->has_value()) {
      AIMASS_RETURN_IF_ERROR(resumeFrom(host, training, **found, *fingerprinted, parameters,
                                        rows.train, state, early_stopping));
    }
    CheckpointTarget target{&host,
                            name_,
                            targets_.storage.get(),
                            *fingerprinted,
                            options_.checkpoint_every,
                            targets_.model.get(),
                            targets_.model_name,
                            targets_.model_type,
                            &optimizer,
                            early_stopping,
                            &final_metrics_,
                            {}};
    for (const auto& plugin : targets_.callbacks) {
      target.callbacks.emplace_back(plugin.name, plugin.callback.get());
    }
    if (parallel_->leader()) {
      add("checkpoint", std::make_unique<Checkpointing>(std::move(target)));
    }
  }
  // Every rank starts from rank 0's weights, whatever its own initialisation did.
  AIMASS_RETURN_IF_ERROR(parallel_->broadcastParameters(state.parameters)
                             .withContext("starting data-parallel training"));

  GradientLoop loop(host, *targets_.model, training, optimizer,
                    loopData(targets_, options_, rows, *parallel_), callbacks, final_metrics_);
  Status outcome = loop.run(state);
  endRun(callbacks, state, outcome, host, name_);
  AIMASS_RETURN_IF_ERROR(outcome);
  if (state.stop_requested) {
    host.log(LogLevel::kInfo, name_,
             state.stop_reason + " (stopped by callback '" + state.stopped_by + "')");
  }
  host.log(LogLevel::kInfo, name_,
           "trained model '" + targets_.model_name + "' for " + std::to_string(loop.epochsDone()) +
               " epochs (" + std::to_string(state.global_step) + " steps on " +
               std::to_string(rows.train.size()) + " rows, " +
               std::to_string(rows.validation.size()) +
               (targets_.validation ? " validated in dataset '" + targets_.validation_name + "'"
                                    : std::string(" held out")) +
               ")");
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
                     "The training data; a validation split is held out from it when "
                     "validation_fraction > 0."),
      ParamSpec::ref("validation", NodeKind::kDataset,
                     "A dataset whose every row is validated on after every epoch (val_loss, "
                     "and val_accuracy for classifiers) instead of a split of `dataset`; its "
                     "schema must match the training dataset's and validation_fraction must be "
                     "0. Ignored by models that fit themselves.")
          .optional(),
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
                        "classifiers) after every epoch; 0 with a `validation` dataset.")
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
                         "many epochs (needs validation_fraction > 0 or a `validation` dataset); "
                         "the last epoch's model is "
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
      ParamSpec::string("init_from",
                        "Transfer learning: start from the weights of a registered model in "
                        "`storage`'s registry, NAME (its latest version), NAME/VERSION or "
                        "NAME@ALIAS, of the same type as `model`. The model is prepared for "
                        "this job's data as usual, then every parameter takes the saved values "
                        "(names and shapes must match); the registered version records it as "
                        "its parent (`aimass models show`). Empty: train from scratch. Gradient "
                        "models only; see docs/training.md.")
          .withDefault(std::string()),
      ParamSpec::boolean("reinit_head",
                         "With init_from: keep the output layer (the last layer of the model's "
                         "parameters, e.g. model.mlp's last fc<i>) at its fresh initialisation, "
                         "so a new class list (from the new data) may change its shape; every "
                         "other layer must still match.")
          .withDefault(false),
      ParamSpec::list("freeze", ParamType::kStringList,
                      "Layers training leaves unchanged (not given to the optimizer): a layer "
                      "index from 0 or a name, matched as the whole parameter name or its "
                      "prefix before a '.' (fc1 freezes fc1.weight and fc1.bias). A layer is "
                      "the parameters sharing the text before the first '.', in the model's "
                      "parameter order. Gradient models only.")
          .optional(),
      ParamSpec::refList("callbacks", NodeKind::kCallback,
                         "Callback nodes (kind callback, from plugins) that hook into the "
                         "gradient training loop, called in this order after the learning-rate "
                         "schedule and before clipping, early stopping, tracking, progress and "
                         "checkpoints: they may read and replace gradients before each "
                         "optimizer step, and stop the run after validation with a reason "
                         "(see docs/training.md). Ignored by models that fit themselves.")
          .optional(),
      ParamSpec::ref("collective", NodeKind::kCollective,
                     "Data-parallel training over the ranks of a collective node "
                     "(collective.mpi when started by mpirun): each step trains on a global "
                     "batch of batch_size rows per rank with the all-reduced mean gradient; "
                     "rank 0 alone tracks, checkpoints, saves and registers. See "
                     "docs/distributed.md. Gradient-trained models only.")
          .optional(),
      ParamSpec::string("lr_scaling",
                        "Data-parallel training: none keeps the optimizer's rate; linear "
                        "multiplies it by the number of ranks (the global batch grows with "
                        "them), best with warmup_steps.")
          .withDefault(std::string("none"))
          .oneOf({"none", "linear"}),
      ParamSpec::number("gradient_bucket_mib",
                        "Data-parallel training: gradients are all-reduced in messages of at "
                        "most this many MiB (small parameters share one, a large one is split).")
          .withDefault(4.0)
          .range(0.0625, 1024),
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
      targets.model_type =
          targets.model ? savedModelType(*targets.model, firstName("model", true)) : std::string();
      targets.dataset = std::static_pointer_cast<Dataset>(refOrNull("dataset"));
      targets.dataset_name = firstName("dataset", false);
      targets.dataset_type = firstName("dataset", true);
      targets.validation = std::static_pointer_cast<Dataset>(refOrNull("validation"));
      targets.validation_name = firstName("validation", false);
      targets.storage = std::static_pointer_cast<Storage>(refOrNull("storage"));
      targets.collective = std::static_pointer_cast<Collective>(refOrNull("collective"));
      if (config.has("callbacks")) {
        auto callbacks = config.getRefs<TrainingCallback>("callbacks");
        const auto& names = config.refNames("callbacks");
        const auto& types = config.refTypes("callbacks");
        for (std::size_t i = 0; i < callbacks.size(); ++i) {
          targets.callbacks.push_back({i < names.size() ? names[i] : "callback", callbacks[i],
                                       i < types.size() ? types[i] : std::string()});
        }
      }
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
      options.init_from = config.getString("init_from");
      options.reinit_head = config.getBool("reinit_head");
      if (config.has("freeze")) {
        options.freeze = config.getStringList("freeze");
      }
      options.lr_scale_linear = config.getString("lr_scaling") == "linear";
      options.gradient_bucket_bytes =
          static_cast<std::size_t>(config.getFloat("gradient_bucket_mib") * 1048576.0);
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
      for (const char* reference :
           {"model", "dataset", "validation", "optimizer", "storage", "collective"}) {
        if (config.has(reference) && !config.refNames(reference).empty()) {
          params[reference] = config.refNames(reference).front();
        }
      }
      if (config.has("callbacks")) {
        params["callbacks"] = paramValueText(config.refNames("callbacks"));
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
