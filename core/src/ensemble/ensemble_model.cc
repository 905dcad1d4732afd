// SPDX-License-Identifier: Apache-2.0
#include "ensemble/ensemble_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "aimass/byte_io.h"

namespace aimass::core {
namespace {

constexpr std::string_view kMethodNames[] = {"soft_vote", "hard_vote", "average", "stack"};

void writeString(ByteWriter& out, std::string_view text) {
  out.u64(text.size());
  out.bytes(text);
}

std::string readString(ByteReader& in) {
  const std::uint64_t size = in.u64();
  if (size > in.remaining()) {
    in.bytes(in.remaining() + 1);  // clears ok()
    return {};
  }
  return in.bytes(size);
}

Status writeMember(ByteWriter& out, const EnsembleMember& member) {
  std::string payload;
  AIMASS_RETURN_IF_ERROR(
      guard("saving member '" + member.name + "'", [&] { return member.model->save(payload); }));
  writeString(out, member.name);
  writeString(out, member.type);
  out.u32(member.model->formatVersion());
  out.u8(member.frozen ? 1 : 0);
  writeString(out, payload);
  return Status();
}

/// A member read back: remade by type through `factory` and loaded.
Expected<EnsembleMember> readMember(ByteReader& in, const ModelFactory& factory,
                                    const std::string& what) {
  EnsembleMember member;
  member.name = readString(in);
  member.type = readString(in);
  const std::uint32_t format = in.u32();
  member.frozen = in.u8() != 0;
  const std::string payload = readString(in);
  if (!in.ok()) {
    return invalidArgument("model.ensemble payload is truncated in " + what);
  }
  if (!factory) {
    return failedPrecondition("model.ensemble cannot remake " + what + " '" + member.name + "' (" +
                              member.type + "): no model factory");
  }
  auto made = factory(member.type);
  if (!made.ok()) {
    return made.status().withContext("model.ensemble " + what + " '" + member.name + "'");
  }
  AIMASS_RETURN_IF_ERROR(
      guard("loading", [&] {
        return (*made)->load(payload, format);
      }).withContext("model.ensemble " + what + " '" + member.name + "' (" + member.type + ")"));
  member.model = std::move(made).value();
  return member;
}

/// The row-wise argmax of FP32 {rows, classes}, ties to the lowest index.
void argmaxRows(const Tensor& scores, Tensor& label) {
  const std::int64_t rows = scores.dim(0), classes = scores.dim(1);
  label = Tensor(DType::kInt64, {rows});
  for (std::int64_t n = 0; n < rows; ++n) {
    const float* row = scores.data<float>() + n * classes;
    std::int64_t best = 0;
    for (std::int64_t c = 1; c < classes; ++c) {
      best = row[c] > row[best] ? c : best;
    }
    label.data<std::int64_t>()[n] = best;
  }
}

}  // namespace

std::string_view ensembleMethodName(EnsembleMethod method) {
  const auto index = static_cast<std::size_t>(method);
  return index < std::size(kMethodNames) ? kMethodNames[index] : "unknown";
}

Expected<EnsembleMethod> parseEnsembleMethod(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kMethodNames); ++i) {
    if (kMethodNames[i] == name) {
      return static_cast<EnsembleMethod>(i);
    }
  }
  return invalidArgument("method must be soft_vote, hard_vote, average or stack, got '" +
                         std::string(name) + "'");
}

EnsembleModel::EnsembleModel(EnsembleSettings settings, std::vector<EnsembleMember> members,
                             std::optional<EnsembleMember> meta, EnsembleTrainer trainer)
    : settings_(std::move(settings)),
      graph_members_(std::move(members)),
      graph_meta_(std::move(meta)),
      trainer_(std::move(trainer)) {}

ModelSchema EnsembleModel::schema() const {
  ModelSchema schema;
  Task task = fitted_.task;
  if (!ready_) {
    task = settings_.method == EnsembleMethod::kAverage ? Task::kRegression : Task::kClassification;
    if (settings_.method == EnsembleMethod::kStack && graph_meta_) {
      task = graph_meta_->model->schema().task;
    }
  }
  schema.task = task;
  const std::int64_t width = ready_ ? fitted_.outputs : -1;
  if (ready_) {
    schema.inputs = fitted_.inputs;
  } else {
    schema.inputs = {{tensor_names::kInput, DType::kFloat32, {-1, -1}, false}};
  }
  if (task == Task::kRegression) {
    schema.outputs = {{tensor_names::kPrediction, DType::kFloat32, {-1, width}, false}};
  } else {
    schema.outputs = {{tensor_names::kProbabilities, DType::kFloat32, {-1, width}, false},
                      {tensor_names::kLabel, DType::kInt64, {-1}, false},
                      {tensor_names::kClass, DType::kBytes, {-1}, false}};
    schema.class_names = fitted_.class_names;
  }
  return schema;
}

Status EnsembleModel::checkTasks(Fitted& fitted, bool trained) const {
  if (fitted.members.empty()) {
    return invalidArgument(
        "model.ensemble has no members: give `members` (model nodes) or "
        "`registered` (registry references)");
  }
  if (!settings_.weights.empty() && settings_.weights.size() != fitted.members.size()) {
    return invalidArgument("model.ensemble has " + std::to_string(fitted.members.size()) +
                           " members but " + std::to_string(settings_.weights.size()) +
                           " weights; give one weight per member (graph members first, then "
                           "registered ones)");
  }
  const Task task = fitted.task;
  if (task != Task::kClassification && task != Task::kRegression) {
    return invalidArgument("model.ensemble combines classifiers or regressors, not " +
                           std::string(taskName(task)) + " models");
  }
  for (const EnsembleMember& member : fitted.members) {
    // An untrained member may not know its task yet (model.mlp picks its head from the data).
    if (!trained && !member.frozen) {
      continue;
    }
    const Task own = member.model->schema().task;
    if (own != task) {
      return invalidArgument(
          "model.ensemble: members must share one task, but member '" + member.name + "' (" +
          member.type + ") is a " + std::string(taskName(own)) + " model and " +
          (trained ? "the first member" : "the data") + " is for " + std::string(taskName(task)));
    }
  }
  const bool classification = task == Task::kClassification;
  if (settings_.method == EnsembleMethod::kAverage && classification) {
    return invalidArgument(
        "model.ensemble: method average is for regression members; use "
        "soft_vote or hard_vote for classifiers");
  }
  if ((settings_.method == EnsembleMethod::kSoftVote ||
       settings_.method == EnsembleMethod::kHardVote) &&
      !classification) {
    return invalidArgument("model.ensemble: method " +
                           std::string(ensembleMethodName(settings_.method)) +
                           " is for classifiers; use average or stack for regression members");
  }
  if (settings_.method == EnsembleMethod::kStack) {
    if (!fitted.meta) {
      return invalidArgument("model.ensemble: method stack needs a `meta` model");
    }
    if (trained && fitted.meta->model->schema().task != task) {
      return invalidArgument("model.ensemble: the meta model '" + fitted.meta->name + "' (" +
                             fitted.meta->type + ") must be a " + std::string(taskName(task)) +
                             " model like the members");
    }
  }
  return Status();
}

namespace {

/// Whether two models take the same inputs: names, types and shapes, in order.
bool sameInputs(const std::vector<TensorSpec>& a, const std::vector<TensorSpec>& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].dtype != b[i].dtype || a[i].shape != b[i].shape) {
      return false;
    }
  }
  return true;
}

}  // namespace

Status EnsembleModel::describe(Fitted& fitted) const {
  if (fitted.members.empty()) {
    return invalidArgument("model.ensemble has no members");
  }
  fitted.task = fitted.members.front().model->schema().task;
  AIMASS_RETURN_IF_ERROR(checkTasks(fitted, true));
  const ModelSchema first = fitted.members.front().model->schema();
  const std::string first_name = "'" + fitted.members.front().name + "'";
  for (const EnsembleMember& member : fitted.members) {
    const ModelSchema schema = member.model->schema();
    const std::string name = "member '" + member.name + "' (" + member.type + ")";
    if (schema.class_names != first.class_names) {
      return invalidArgument("model.ensemble: " + name + " has other classes than " + first_name +
                             "; members must be trained on the same class list");
    }
    if (!sameInputs(schema.inputs, first.inputs) || schema.inputs.empty() ||
        schema.inputs.front().name != tensor_names::kInput) {
      return invalidArgument("model.ensemble: " + name + " takes other inputs than " + first_name +
                             "; members must take the same inputs, an 'input' block first (with "
                             "the same preprocessing inputs when they have preprocess:)");
    }
    if (settings_.passthrough && schema.inputs.size() != 1) {
      return invalidArgument("model.ensemble: passthrough gives the meta model the members' "
                             "'input' block, but " + name + " also takes text columns");
    }
    if (schema.outputs.empty() || schema.outputs.front().shape != first.outputs.front().shape) {
      return invalidArgument("model.ensemble: " + name + " gives other outputs than " + first_name);
    }
  }
  const auto& outputs = first.outputs.front().shape;
  fitted.class_names = first.class_names;
  fitted.outputs = outputs.size() == 2 ? outputs[1] : -1;
  fitted.inputs = first.inputs;
  return Status();
}

Status EnsembleModel::predict(const TensorMap& inputs, TensorMap& outputs,
                              const PredictOptions& options) const {
  if (!ready_) {
    return failedPrecondition("model.ensemble is not trained or loaded yet");
  }
  // Members with preprocessing take text columns beside the block of numbers; they check
  // those themselves.
  TensorMap block;
  if (const Tensor* numbers = inputs.find(tensor_names::kInput);
      numbers != nullptr && fitted_.inputs.size() > 1) {
    block.set(std::string(tensor_names::kInput), *numbers);
  }
  auto input = featureInput("model.ensemble", fitted_.inputs.size() == 1 ? inputs : block,
                            fitted_.inputs.front().shape.back());
  if (!input.ok()) {
    return input.status();
  }
  (void)options;
  auto member_outputs = predictMembers(fitted_.members, fitted_.task, inputs);
  if (!member_outputs.ok()) {
    return member_outputs.status();
  }
  return guard("model.ensemble predict",
               [&] { return combine(fitted_, *member_outputs, **input, outputs); });
}

Status EnsembleModel::combine(const Fitted& fitted, const std::vector<TensorMap>& member_outputs,
                              const Tensor& input, TensorMap& outputs) const {
  const std::int64_t rows = input.dim(0);
  if (settings_.method == EnsembleMethod::kStack) {
    Tensor features =
        stackFeatures(member_outputs, fitted.task, settings_.passthrough ? &input : nullptr);
    TensorMap meta_inputs;
    meta_inputs.set(tensor_names::kInput, std::move(features));
    return fitted.meta->model->predict(meta_inputs, outputs, PredictOptions())
        .withContext("model.ensemble meta model '" + fitted.meta->name + "'");
  }
  const std::int64_t width = fitted.outputs;
  Tensor sum = Tensor::zeros(DType::kFloat32, {rows, width});
  double total = 0;
  for (std::size_t m = 0; m < member_outputs.size(); ++m) {
    const double w = settings_.weights.empty() ? 1.0 : settings_.weights[m];
    total += w;
    float* out = sum.data<float>();
    if (settings_.method == EnsembleMethod::kHardVote) {
      const std::int64_t* label =
          member_outputs[m].find(tensor_names::kLabel)->data<std::int64_t>();
      for (std::int64_t n = 0; n < rows; ++n) {
        out[n * width + label[n]] += static_cast<float>(w);
      }
      continue;
    }
    const char* name =
        fitted.task == Task::kRegression ? tensor_names::kPrediction : tensor_names::kProbabilities;
    const float* values = member_outputs[m].find(name)->data<float>();
    for (std::int64_t i = 0; i < rows * width; ++i) {
      out[i] += static_cast<float>(w * values[i]);
    }
  }
  for (float& value : sum.span<float>()) {
    value = static_cast<float>(value / total);
  }
  if (fitted.task == Task::kRegression) {
    outputs.set(tensor_names::kPrediction, std::move(sum));
    return Status();
  }
  Tensor label;
  argmaxRows(sum, label);
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(rows));
  for (std::int64_t n = 0; n < rows; ++n) {
    names.push_back(fitted.class_names.at(static_cast<std::size_t>(label.data<std::int64_t>()[n])));
  }
  outputs.set(tensor_names::kProbabilities, std::move(sum));
  outputs.set(tensor_names::kLabel, std::move(label));
  outputs.set(tensor_names::kClass, Tensor::fromStrings(std::move(names)));
  return Status();
}

Status EnsembleModel::save(std::string& payload) const {
  if (!ready_) {
    return failedPrecondition("model.ensemble is not trained or loaded yet: nothing to save");
  }
  std::string out;
  ByteWriter writer(out);
  writer.u32(static_cast<std::uint32_t>(settings_.method));
  writer.u64(settings_.folds);
  writer.u8(settings_.passthrough ? 1 : 0);
  writer.u64(settings_.weights.size());
  for (double w : settings_.weights) {
    writer.f64(w);
  }
  writer.u64(fitted_.members.size());
  for (const EnsembleMember& member : fitted_.members) {
    AIMASS_RETURN_IF_ERROR(writeMember(writer, member));
  }
  writer.u8(fitted_.meta ? 1 : 0);
  if (fitted_.meta) {
    AIMASS_RETURN_IF_ERROR(writeMember(writer, *fitted_.meta));
  }
  payload = std::move(out);
  return Status();
}

Status EnsembleModel::load(std::string_view payload, std::uint32_t format_version) {
  if (format_version != 1) {
    return invalidArgument("model.ensemble reads format version 1, got " +
                           std::to_string(format_version));
  }
  ByteReader reader(payload);
  EnsembleSettings settings = settings_;
  const std::uint32_t method = reader.u32();
  settings.folds = reader.u64();
  settings.passthrough = reader.u8() != 0;
  const std::uint64_t weights = reader.u64();
  if (!reader.ok() || method >= std::size(kMethodNames) || weights > reader.remaining() / 8) {
    return invalidArgument("model.ensemble payload has a bad header");
  }
  settings.method = static_cast<EnsembleMethod>(method);
  settings.weights.assign(weights, 0.0);
  for (double& w : settings.weights) {
    w = reader.f64();
  }
  Fitted fitted;
  const std::uint64_t members = reader.u64();
  if (!reader.ok() || members == 0 || members > reader.remaining()) {
    return invalidArgument("model.ensemble payload has a bad member count");
  }
  for (std::uint64_t i = 0; i < members; ++i) {
    AIMASS_ASSIGN_OR_RETURN(EnsembleMember member,
                            readMember(reader, trainer_.factory, "member " + std::to_string(i)));
    fitted.members.push_back(std::move(member));
  }
  if (reader.u8() != 0) {
    AIMASS_ASSIGN_OR_RETURN(EnsembleMember meta,
                            readMember(reader, trainer_.factory, "meta model"));
    fitted.meta = std::move(meta);
  }
  if (!reader.ok() || !reader.atEnd()) {
    return invalidArgument("model.ensemble payload is truncated or has trailing bytes");
  }
  // describe() checks against the loaded settings; commit only once everything holds.
  std::swap(settings_, settings);
  Status status = describe(fitted);
  if (!status.ok()) {
    std::swap(settings_, settings);
    return status.withContext("loading model.ensemble");
  }
  fitted_ = std::move(fitted);
  ready_ = true;
  return Status();
}

}  // namespace aimass::core
