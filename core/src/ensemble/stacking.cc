// SPDX-License-Identifier: Apache-2.0
// model.ensemble's training: members through the host's trainer, registered members from the
// registry, and stacking's out-of-fold predictions for the meta model.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <utility>

#include "aimass/core/model_artifact.h"
#include "aimass/core/progress.h"
#include "aimass/core/registry.h"
#include "ensemble/ensemble_model.h"
#include "pipeline/table_io.h"
#include "ensemble/subset_dataset.h"
#include "train_job.h"

namespace aimass::core {
namespace {

constexpr std::uint64_t kChunkRows = 256;

std::vector<std::uint64_t> allRows(std::uint64_t n) {
  std::vector<std::uint64_t> rows(n);
  std::iota(rows.begin(), rows.end(), std::uint64_t{0});
  return rows;
}

std::string memberName(const EnsembleMember& member) {
  return "member '" + member.name + "' (" + member.type + ")";
}

/// The batch's features as the conventional model input, FP32 {rows, features}.
Tensor featureMatrix(const Batch& batch) {
  const std::int64_t rows = batch.features.dim(0);
  return rows > 0 ? batch.features.reshaped({rows, batch.features.numel() / rows}) : batch.features;
}

/// Every label of `data`, in row order: INT64 {rows} or FP32 {rows, targets}.
Expected<Tensor> readLabels(const Dataset& data) {
  const std::uint64_t n = data.size();
  Tensor labels;
  std::size_t row_bytes = 0;  // 0 until the first chunk shaped `labels`
  for (std::uint64_t begin = 0; begin < n; begin += kChunkRows) {
    std::vector<std::uint64_t> rows(std::min(kChunkRows, n - begin));
    std::iota(rows.begin(), rows.end(), begin);
    Batch batch;
    AIMASS_RETURN_IF_ERROR(data.read(rows, batch));
    if (row_bytes == 0) {
      if (batch.labels.empty() || batch.labels.dtype() == DType::kBytes) {
        return invalidArgument("model.ensemble stacking needs labelled data");
      }
      Shape shape = batch.labels.shape();
      shape[0] = static_cast<std::int64_t>(n);
      labels = Tensor(batch.labels.dtype(), shape);
      row_bytes = batch.labels.nbytes() / rows.size();
    }
    std::memcpy(static_cast<char*>(labels.raw()) + begin * row_bytes, batch.labels.raw(),
                batch.labels.nbytes());
  }
  return labels;
}

/// Names for the meta model's input columns: "member:class" (classification) or
/// "member:target" per member, then the original features with passthrough; empty when the
/// widths do not add up (unnamed features).
std::vector<std::string> stackFeatureNames(const EnsembleModel::Fitted& fitted,
                                           const DatasetSchema& data, std::int64_t width,
                                           bool passthrough) {
  std::vector<std::string> names;
  const auto members = static_cast<std::int64_t>(fitted.members.size());
  const auto features = static_cast<std::int64_t>(data.feature_names.size());
  const std::int64_t per_member = (width - (passthrough ? features : 0)) / members;
  for (const EnsembleMember& member : fitted.members) {
    for (std::int64_t c = 0; c < per_member; ++c) {
      const auto index = static_cast<std::size_t>(c);
      names.push_back(
          member.name + ":" +
          (index < fitted.class_names.size() ? fitted.class_names[index] : std::to_string(c)));
    }
  }
  if (passthrough) {
    names.insert(names.end(), data.feature_names.begin(), data.feature_names.end());
  }
  if (names.size() != static_cast<std::size_t>(width)) {
    names.clear();
  }
  return names;
}

}  // namespace

Expected<std::vector<TensorMap>> predictMembers(const std::vector<EnsembleMember>& members,
                                                Task task, const TensorMap& inputs) {
  std::vector<TensorMap> outputs(members.size());
  std::int64_t width = -1;
  for (std::size_t m = 0; m < members.size(); ++m) {
    const EnsembleMember& member = members[m];
    AIMASS_RETURN_IF_ERROR(member.model->predict(inputs, outputs[m], PredictOptions())
                               .withContext("model.ensemble " + memberName(member)));
    const char* name =
        task == Task::kRegression ? tensor_names::kPrediction : tensor_names::kProbabilities;
    const Tensor* values = outputs[m].find(name);
    if (values == nullptr || values->dtype() != DType::kFloat32 || values->rank() != 2 ||
        (width >= 0 && values->dim(1) != width)) {
      return internalError("model.ensemble " + memberName(member) + " gave no FP32 '" + name +
                           "' of the members' width");
    }
    width = values->dim(1);
    if (task == Task::kClassification) {
      const Tensor* label = outputs[m].find(tensor_names::kLabel);
      if (label == nullptr || label->dtype() != DType::kInt64 || label->numel() != values->dim(0)) {
        return internalError("model.ensemble " + memberName(member) + " gave no INT64 'label'");
      }
      for (std::int64_t value : label->span<std::int64_t>()) {
        if (value < 0 || value >= width) {
          return internalError("model.ensemble " + memberName(member) + " gave label " +
                               std::to_string(value) + " outside its classes");
        }
      }
    }
  }
  return outputs;
}

Tensor stackFeatures(const std::vector<TensorMap>& member_outputs, Task task, const Tensor* input) {
  const char* name =
      task == Task::kRegression ? tensor_names::kPrediction : tensor_names::kProbabilities;
  std::vector<const Tensor*> parts;
  for (const TensorMap& outputs : member_outputs) {
    parts.push_back(outputs.find(name));
  }
  if (input != nullptr) {
    parts.push_back(input);
  }
  const std::int64_t rows = parts.front()->dim(0);
  std::int64_t width = 0;
  for (const Tensor* part : parts) {
    width += part->dim(1);
  }
  Tensor features(DType::kFloat32, {rows, width});
  float* out = features.data<float>();
  for (std::int64_t n = 0; n < rows; ++n) {
    for (const Tensor* part : parts) {
      const std::int64_t w = part->dim(1);
      out = std::copy_n(part->data<float>() + n * w, w, out);
    }
  }
  return features;
}

Status EnsembleModel::train(const EnsembleMember& member, const Dataset& data, std::uint64_t seed,
                            FitObserver& observer) const {
  const std::string what = "model.ensemble training " + memberName(member);
  if (SelfTraining* self = member.model->selfTraining()) {
    return guard("fit", [&] { return self->fit(data, seed, observer); }).withContext(what);
  }
  if (member.model->gradientTraining() == nullptr) {
    return invalidArgument(what + ": the model can neither fit itself nor train by gradients");
  }
  if (!trainer_.optimizer || trainer_.host == nullptr) {
    return invalidArgument(what +
                           ": it trains by gradients, so model.ensemble needs an "
                           "`optimizer` (a gradient optimizer node)");
  }
  TrainTargets targets;
  targets.model = member.model;
  targets.model_name = member.name;
  targets.model_type = member.type;
  targets.dataset = std::make_shared<SubsetDataset>(data, allRows(data.size()));
  targets.dataset_name = "model.ensemble data";
  targets.optimizer = trainer_.optimizer;
  targets.optimizer_type = trainer_.optimizer_type;
  TrainOptions options;
  options.epochs = trainer_.epochs;
  options.batch_size = trainer_.batch_size;
  options.seed = seed;
  options.checkpoint_every = 0;
  auto job = TrainJob::create("ensemble:" + member.name, std::move(targets), std::move(options));
  if (!job.ok()) {
    return job.status().withContext(what);
  }
  SilentProgress progress;
  return (*job)->run(*trainer_.host, progress).withContext(what);
}

Expected<std::vector<EnsembleMember>> EnsembleModel::loadRegistered() const {
  std::vector<EnsembleMember> loaded;
  if (trainer_.registered.empty()) {
    return loaded;
  }
  if (!trainer_.storage) {
    return invalidArgument(
        "model.ensemble: `registered` members need a `storage` holding the "
        "model registry");
  }
  ModelRegistry registry(*trainer_.storage);
  for (const std::string& reference : trainer_.registered) {
    const std::string what = "model.ensemble registered member '" + reference + "'";
    auto version = registry.resolve(reference);
    if (!version.ok()) {
      return version.status().withContext(what + " (in the model registry of " +
                                          trainer_.storage->describe() + ")");
    }
    if (!trainer_.factory) {
      return failedPrecondition(what + ": no model factory to make a " + version->node_type);
    }
    auto model = trainer_.factory(version->node_type);
    if (!model.ok()) {
      return model.status().withContext(what);
    }
    AIMASS_RETURN_IF_ERROR(
        loadModel(**model, version->node_type, *trainer_.storage, version->artifact_key)
            .withContext(what + ": loading " + version->model + "/" +
                         std::to_string(version->version)));
    loaded.push_back({reference, version->node_type, std::move(model).value(), true});
  }
  return loaded;
}

Status EnsembleModel::fitMeta(const Dataset& data, const Fitted& fitted, std::uint64_t seed,
                              FitObserver& observer, std::uint64_t& step) const {
  const std::uint64_t n = data.size();
  const std::uint64_t folds = std::min<std::uint64_t>(settings_.folds, n);
  if (folds < 2) {
    return invalidArgument("model.ensemble stacking needs at least 2 folds and 2 rows, got " +
                           std::to_string(n) + " rows");
  }
  std::vector<std::uint64_t> order = allRows(n);
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<float> oof;
  std::int64_t width = 0;
  for (std::uint64_t fold = 0; fold < folds; ++fold) {
    std::vector<std::uint64_t> train_rows, held_out;
    for (std::uint64_t i = 0; i < n; ++i) {
      (i % folds == fold ? held_out : train_rows).push_back(order[i]);
    }
    SubsetDataset train_data(data, train_rows);
    for (std::size_t m = 0; m < fitted.members.size(); ++m) {
      const EnsembleMember& member = fitted.members[m];
      if (!member.frozen) {
        AIMASS_RETURN_IF_ERROR(
            train(member, train_data, seed + m, observer)
                .withContext("fold " + std::to_string(fold + 1) + " of " + std::to_string(folds)));
        if (observer.onIteration(++step, 0.0)) {
          return cancelled("model.ensemble stopped during stacking");
        }
      }
    }
    for (std::size_t begin = 0; begin < held_out.size(); begin += kChunkRows) {
      std::span<const std::uint64_t> rows(
          held_out.data() + begin, std::min<std::size_t>(kChunkRows, held_out.size() - begin));
      Batch batch;
      AIMASS_RETURN_IF_ERROR(data.read(rows, batch));
      TensorMap inputs;
      inputs.set(tensor_names::kInput, featureMatrix(batch));
      setTextInputs(fitted.members.front().model->schema(), data.schema().string_feature_names,
                    batch.strings, inputs);
      AIMASS_ASSIGN_OR_RETURN(auto outputs, predictMembers(fitted.members, fitted.task, inputs));
      Tensor features =
          stackFeatures(outputs, fitted.task,
                        settings_.passthrough ? inputs.find(tensor_names::kInput) : nullptr);
      if (oof.empty()) {
        width = features.dim(1);
        oof.assign(n * static_cast<std::size_t>(width), 0.0f);
      }
      for (std::size_t r = 0; r < rows.size(); ++r) {
        std::copy_n(features.data<float>() + r * width, width, oof.data() + rows[r] * width);
      }
    }
  }
  AIMASS_ASSIGN_OR_RETURN(Tensor labels, readLabels(data));
  DatasetSchema schema;
  schema.row_shape = {width};
  schema.label_kind = data.schema().label_kind;
  schema.class_names = data.schema().class_names;
  schema.num_targets = data.schema().num_targets;
  schema.feature_names = stackFeatureNames(fitted, data.schema(), width, settings_.passthrough);
  MatrixDataset meta_data(std::move(schema), std::move(oof), width, std::move(labels));
  AIMASS_RETURN_IF_ERROR(train(*fitted.meta, meta_data, seed + fitted.members.size(), observer)
                             .withContext("the stacking meta model"));
  if (observer.onIteration(++step, 0.0)) {
    return cancelled("model.ensemble stopped during stacking");
  }
  return Status();
}

Status EnsembleModel::fit(const Dataset& data, std::uint64_t seed, FitObserver& observer) {
  const std::uint64_t s = settings_.seed.value_or(seed);
  Fitted fitted;
  fitted.members = graph_members_;
  AIMASS_ASSIGN_OR_RETURN(auto registered, loadRegistered());
  for (auto& member : registered) {
    fitted.members.push_back(std::move(member));
  }
  if (settings_.method == EnsembleMethod::kStack) {
    fitted.meta = graph_meta_;
  }
  // What can be checked before anything trains: the members' task, and the classes of the
  // registered (already trained) members against the data's.
  const LabelKind labels = data.schema().label_kind;
  if (labels != LabelKind::kClass && labels != LabelKind::kValue) {
    return invalidArgument(
        "model.ensemble needs class labels (classification) or value labels "
        "(regression) to train on");
  }
  fitted.task = labels == LabelKind::kClass ? Task::kClassification : Task::kRegression;
  AIMASS_RETURN_IF_ERROR(checkTasks(fitted, false));
  fitted.class_names = data.schema().class_names;
  for (const EnsembleMember& member : fitted.members) {
    if (member.frozen && member.model->schema().class_names != data.schema().class_names) {
      return invalidArgument("model.ensemble: registered " + memberName(member) +
                             " was trained on other classes than the data has");
    }
  }
  std::uint64_t step = 0;
  if (settings_.method == EnsembleMethod::kStack) {
    AIMASS_RETURN_IF_ERROR(fitMeta(data, fitted, s, observer, step));
  }
  for (std::size_t m = 0; m < fitted.members.size(); ++m) {
    const EnsembleMember& member = fitted.members[m];
    if (!member.frozen) {
      AIMASS_RETURN_IF_ERROR(train(member, data, s + m, observer));
      if (observer.onIteration(++step, 0.0)) {
        return cancelled("model.ensemble stopped before every member was trained");
      }
    }
  }
  AIMASS_RETURN_IF_ERROR(describe(fitted));
  fitted_ = std::move(fitted);
  ready_ = true;
  // The last figure job.train reports (and registers) is the trained ensemble's own loss.
  auto objective = trainingLoss(data);
  if (!objective.ok()) {
    return objective.status();
  }
  observer.onIteration(++step, *objective);
  return Status();
}

Expected<double> EnsembleModel::trainingLoss(const Dataset& data) const {
  const bool classification = fitted_.task == Task::kClassification;
  const char* name = classification ? tensor_names::kProbabilities : tensor_names::kPrediction;
  double total = 0;
  const std::uint64_t n = data.size();
  for (std::uint64_t begin = 0; begin < n; begin += kChunkRows) {
    std::vector<std::uint64_t> rows(std::min(kChunkRows, n - begin));
    std::iota(rows.begin(), rows.end(), begin);
    Batch batch;
    AIMASS_RETURN_IF_ERROR(data.read(rows, batch));
    TensorMap inputs, outputs;
    inputs.set(tensor_names::kInput, featureMatrix(batch));
    setTextInputs(schema(), data.schema().string_feature_names, batch.strings, inputs);
    AIMASS_RETURN_IF_ERROR(predict(inputs, outputs, PredictOptions()));
    const Tensor& values = *outputs.find(name);
    const std::int64_t width = values.dim(1);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const float* row = values.data<float>() + r * width;
      if (classification) {
        const std::int64_t label = batch.labels.data<std::int64_t>()[r];
        if (label < 0 || label >= width) {
          return invalidArgument("model.ensemble: row " + std::to_string(begin + r) +
                                 " has class " + std::to_string(label) + " of " +
                                 std::to_string(width));
        }
        total -= std::log(std::max(1e-12, static_cast<double>(row[label])));
        continue;
      }
      for (std::int64_t t = 0; t < width; ++t) {
        const double error = row[t] - batch.labels.data<float>()[r * width + t];
        total += 0.5 * error * error;
      }
    }
  }
  return n > 0 ? total / static_cast<double>(n) : 0.0;
}

}  // namespace aimass::core
