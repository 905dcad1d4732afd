// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The model conformance suite: what every aimass::Model must do.
///
/// checkModel() trains the model on a small synthetic dataset built into this header (3
/// well-separated classes of 4 features, or 1 regression target when the model refuses
/// classes; clustering models get the same rows without labels), so it needs no files.
/// Gradient-trained models get a finite-difference check of their gradients and 200 plain
/// gradient-descent steps; self-trained models get fit(). Then every model is checked the same
/// way: outputs, thread-safe predict(), save/load round trip and refusal of corrupt payloads.
/// Clustering models are fitted without labels and again with them (the labels must change
/// nothing); their outputs are checked for clusters in [0, k) and [rows, k] distances or
/// responsibilities, and with 3 clusters that they recover the 3 blobs. The model is left
/// trained.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "aimass/model.h"
#include "aimass/testing/check.h"

namespace aimass::testing {

namespace model_conformance_detail {

/// 3 classes of 4 features around far-apart centres, or a linear regression target.
/// Deterministic: the same arguments give the same bytes.
class SyntheticDataset final : public Dataset {
 public:
  static constexpr std::int64_t kFeatures = 4;

  SyntheticDataset(LabelKind labels, std::array<int, 3> class_sizes, std::uint32_t seed) {
    schema_.feature_names = {"f0", "f1", "f2", "f3"};
    schema_.feature_dtype = DType::kFloat32;
    schema_.row_shape = {kFeatures};
    schema_.label_kind = labels;
    schema_.num_targets = 1;
    if (labels == LabelKind::kClass) {
      schema_.class_names = {"north", "east", "south"};
    }
    std::uint32_t state = seed * 747796405u + 2891336453u;
    auto noise = [&state] {
      state = state * 1664525u + 1013904223u;
      return (static_cast<float>(state >> 8) / 16777216.0f - 0.5f);  // [-0.5, 0.5)
    };
    for (int c = 0; c < 3; ++c) {
      for (int i = 0; i < class_sizes[c]; ++i) {
        float x[kFeatures];
        for (int f = 0; f < kFeatures; ++f) {
          x[f] = (f == c ? 2.5f : 0.0f) + noise();
        }
        features_.insert(features_.end(), x, x + kFeatures);
        classes_.push_back(c);
        values_.push_back(0.5f * x[0] - x[1] + 0.25f * x[2] + 0.1f * x[3] + 0.3f);
      }
    }
  }

  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return classes_.size(); }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    for (auto row : rows) {
      if (row >= size()) {
        return outOfRange("row " + std::to_string(row) + " is out of range");
      }
    }
    return guard("synthetic dataset", [&] {
      const auto n = static_cast<std::int64_t>(rows.size());
      out.features.resize(DType::kFloat32, {n, kFeatures});
      for (std::size_t i = 0; i < rows.size(); ++i) {
        std::memcpy(out.features.data<float>() + i * kFeatures,
                    features_.data() + rows[i] * kFeatures, sizeof(float) * kFeatures);
      }
      if (schema_.label_kind == LabelKind::kNone) {
        out.labels = Tensor();
      } else if (schema_.label_kind == LabelKind::kClass) {
        out.labels.resize(DType::kInt64, {n});
        for (std::size_t i = 0; i < rows.size(); ++i) {
          out.labels.data<std::int64_t>()[i] = classes_[rows[i]];
        }
      } else {
        out.labels.resize(DType::kFloat32, {n, 1});
        for (std::size_t i = 0; i < rows.size(); ++i) {
          out.labels.data<float>()[i] = values_[rows[i]];
        }
      }
    });
  }

  Batch batch(const std::vector<std::uint64_t>& rows) const {
    Batch b;
    read(rows, b).ignoreError();
    return b;
  }
  /// The blob row `row` was drawn around (its class, whatever the labels).
  std::int64_t classOf(std::uint64_t row) const { return classes_[row]; }
  Batch all() const {
    std::vector<std::uint64_t> rows(size());
    for (std::uint64_t i = 0; i < size(); ++i) {
      rows[i] = i;
    }
    return batch(rows);
  }

 private:
  DatasetSchema schema_;
  std::vector<float> features_;
  std::vector<std::int64_t> classes_;
  std::vector<float> values_;
};

class CountingObserver final : public FitObserver {
 public:
  bool onIteration(std::uint64_t, double objective) override {
    ++iterations;
    last = objective;
    return false;
  }
  std::uint64_t iterations = 0;
  double last = 0;
};

inline bool sameTensor(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) {
    return false;
  }
  if (a.dtype() == DType::kBytes) {
    return a.strings() == b.strings();
  }
  return a.nbytes() == b.nbytes() &&
         (a.nbytes() == 0 || std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
}

/// Equal names and bytes, in any order.
inline bool sameOutputs(const TensorMap& a, const TensorMap& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (const auto& [name, tensor] : a) {
    const Tensor* other = b.find(name);
    if (other == nullptr || !sameTensor(tensor, *other)) {
      return false;
    }
  }
  return true;
}

/// The first FP32 input of shape [-1, F]: the features input of the I/O conventions.
inline const TensorSpec* featureInput(const ModelSchema& schema) {
  for (const auto& spec : schema.inputs) {
    if (spec.dtype == DType::kFloat32 && spec.shape.size() == 2) {
      return &spec;
    }
  }
  return nullptr;
}

/// Inputs for `schema` holding the batch's features where the schema takes FP32 [-1, F], zeros
/// elsewhere (ids, optional state are left out).
inline TensorMap makeInputs(const ModelSchema& schema, const Batch& batch) {
  TensorMap inputs;
  const std::int64_t rows = batch.features.dim(0);
  for (const auto& spec : schema.inputs) {
    if (spec.optional) {
      continue;
    }
    if (&spec == featureInput(schema) &&
        (spec.shape[1] < 0 || spec.shape[1] == SyntheticDataset::kFeatures)) {
      inputs.set(spec.name, batch.features.clone());
      continue;
    }
    Shape shape = spec.shape;
    for (std::size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] < 0) {
        shape[i] = i == 0 ? rows : 1;
      }
    }
    inputs.set(spec.name,
               spec.dtype == DType::kBytes
                   ? Tensor::fromStrings(std::vector<std::string>(
                         static_cast<std::size_t>(std::max<std::int64_t>(shapeElements(shape), 0))))
                   : Tensor::zeros(spec.dtype, shape));
  }
  return inputs;
}

/// The number of clusters a clustering schema tells (the width of "distances" or
/// "responsibilities"), or 0 when it does not.
inline std::int64_t clusterCount(const ModelSchema& schema) {
  for (const auto& spec : schema.outputs) {
    if ((spec.name == tensor_names::kDistances || spec.name == tensor_names::kResponsibilities) &&
        spec.shape.size() == 2 && spec.shape[1] > 0) {
      return spec.shape[1];
    }
  }
  return 0;
}

/// What is wrong with a clustering model's outputs: "cluster" in [0, k), non-negative
/// "distances", "responsibilities" rows that sum to 1, each [rows, k].
inline std::string clusteringProblem(const ModelSchema& schema, const TensorMap& outputs,
                                     std::int64_t rows) {
  const Tensor* cluster = outputs.find(tensor_names::kCluster);
  if (cluster == nullptr || cluster->dtype() != DType::kInt64 || cluster->shape() != Shape{rows}) {
    return "a clustering model must output 'cluster' INT64 [rows]";
  }
  const std::int64_t k = clusterCount(schema);
  for (const char* name : {tensor_names::kDistances, tensor_names::kResponsibilities}) {
    const Tensor* t = outputs.find(name);
    if (t == nullptr) {
      continue;
    }
    if (t->dtype() != DType::kFloat32 || t->rank() != 2 || t->dim(0) != rows ||
        (k > 0 && t->dim(1) != k)) {
      return "'" + std::string(name) + "' should be FP32 [rows, clusters], got " +
             shapeToString(t->shape());
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (std::int64_t j = 0; j < t->dim(1); ++j) {
        const float v = t->data<float>()[r * t->dim(1) + j];
        sum += v;
        if (v < 0) {
          return "row " + std::to_string(r) + " has a negative '" + name + "'";
        }
      }
      if (std::string(name) == tensor_names::kResponsibilities && std::fabs(sum - 1.0) > 1e-4) {
        return "row " + std::to_string(r) + "'s responsibilities sum to " + std::to_string(sum);
      }
    }
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t c = cluster->data<std::int64_t>()[r];
    if (c < 0 || (k > 0 && c >= k)) {
      return "row " + std::to_string(r) + " has cluster " + std::to_string(c) +
             " outside [0, clusters)";
    }
  }
  return {};
}

/// With 3 clusters: whether the 3 blobs of `data` came out as 3 clusters, one per blob.
/// Empty when they did or the model does not have 3 clusters.
inline std::string blobProblem(const Model& model, const SyntheticDataset& data) {
  const ModelSchema schema = model.schema();
  if (schema.task != Task::kClustering || clusterCount(schema) != 3) {
    return {};
  }
  const Batch all = data.all();
  TensorMap inputs, outputs;
  inputs.set(tensor_names::kInput, all.features);
  Status s = model.predict(inputs, outputs, {});
  const Tensor* cluster = outputs.find(tensor_names::kCluster);
  if (!s.ok() || cluster == nullptr || cluster->numel() != static_cast<std::int64_t>(data.size())) {
    return s.ok() ? "no 'cluster' output for the training rows" : s.toString();
  }
  std::array<std::int64_t, 3> of_blob = {-1, -1, -1};
  for (std::uint64_t row = 0; row < data.size(); ++row) {
    const std::int64_t blob = data.classOf(row);
    const std::int64_t c = cluster->data<std::int64_t>()[row];
    if (of_blob[blob] < 0) {
      of_blob[blob] = c;
    } else if (of_blob[blob] != c) {
      return "blob " + std::to_string(blob) + " is split between clusters " +
             std::to_string(of_blob[blob]) + " and " + std::to_string(c);
    }
  }
  if (of_blob[0] == of_blob[1] || of_blob[1] == of_blob[2] || of_blob[0] == of_blob[2]) {
    return "two blobs share a cluster";
  }
  return {};
}

/// What is wrong with `outputs` for a batch of `rows`; empty when they follow the schema.
inline std::string outputProblem(const ModelSchema& schema, const TensorMap& outputs,
                                 std::int64_t rows) {
  if (schema.outputs.empty()) {
    return "schema() lists no outputs";
  }
  for (const auto& spec : schema.outputs) {
    const Tensor* t = outputs.find(spec.name);
    if (t == nullptr) {
      return "output '" + spec.name + "' is missing";
    }
    if (t->dtype() != spec.dtype) {
      return "output '" + spec.name + "' is " + std::string(dtypeName(t->dtype())) +
             ", schema says " + std::string(dtypeName(spec.dtype));
    }
    bool shape_ok = t->rank() == spec.shape.size() && t->rank() > 0 && t->dim(0) == rows;
    for (std::size_t i = 1; shape_ok && i < spec.shape.size(); ++i) {
      shape_ok = spec.shape[i] < 0 || spec.shape[i] == t->dim(i);
    }
    if (!shape_ok) {
      return "output '" + spec.name + "' has shape " + shapeToString(t->shape()) + ", schema " +
             shapeToString(spec.shape) + " with " + std::to_string(rows) + " rows";
    }
    if (t->dtype() == DType::kFloat32) {
      for (float v : t->span<float>()) {
        if (!std::isfinite(v)) {
          return "output '" + spec.name + "' holds NaN or Inf";
        }
      }
    }
  }
  if (schema.task == Task::kClustering) {
    return clusteringProblem(schema, outputs, rows);
  }
  if (schema.task == Task::kClassification) {
    const Tensor* probabilities = outputs.find(tensor_names::kProbabilities);
    const Tensor* label = outputs.find(tensor_names::kLabel);
    const Tensor* name = outputs.find(tensor_names::kClass);
    const auto classes = static_cast<std::int64_t>(schema.class_names.size());
    if (probabilities == nullptr || label == nullptr || name == nullptr) {
      return "a classifier must output 'probabilities', 'label' and 'class'";
    }
    if (probabilities->rank() != 2 || probabilities->dim(1) != classes) {
      return "'probabilities' should have one column per class name (" + std::to_string(classes) +
             ")";
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      double sum = 0;
      const float* p = probabilities->data<float>() + r * classes;
      std::int64_t best = 0;
      for (std::int64_t c = 0; c < classes; ++c) {
        sum += p[c];
        if (p[c] < 0) {
          return "row " + std::to_string(r) + " has a negative probability";
        }
        best = p[c] > p[best] ? c : best;
      }
      if (std::fabs(sum - 1.0) > 1e-4) {
        return "row " + std::to_string(r) + "'s probabilities sum to " + std::to_string(sum);
      }
      std::int64_t l = label->data<std::int64_t>()[r];
      if (l < 0 || l >= classes) {
        return "row " + std::to_string(r) + " has label " + std::to_string(l) +
               " outside [0, classes)";
      }
      if (p[l] < p[best]) {
        return "row " + std::to_string(r) + "'s label is not its most probable class";
      }
      if (name->strings().size() != static_cast<std::size_t>(rows) ||
          name->strings()[r] != schema.class_names[l]) {
        return "row " + std::to_string(r) + "'s 'class' is not class_names[label]";
      }
    }
  }
  return {};
}

/// Copies of every parameter's values, to restore later into the same buffers.
inline std::vector<std::vector<float>> snapshot(std::vector<Parameter>& parameters) {
  std::vector<std::vector<float>> out;
  for (auto& p : parameters) {
    auto values = p.value.span<float>();
    out.emplace_back(values.begin(), values.end());
  }
  return out;
}

inline void restore(std::vector<Parameter>& parameters,
                    const std::vector<std::vector<float>>& saved) {
  for (std::size_t i = 0; i < parameters.size() && i < saved.size(); ++i) {
    std::copy(saved[i].begin(), saved[i].end(), parameters[i].value.span<float>().begin());
  }
}

/// `steps` plain gradient-descent steps over `batch`: value -= rate * grad.
inline Status descend(GradientTraining& training, std::vector<Parameter>& parameters,
                      const Batch& batch, double rate, int steps) {
  for (int step = 0; step < steps; ++step) {
    auto loss = training.forwardBackward(batch, true);
    if (!loss.ok()) {
      return loss.status();
    }
    for (auto& p : parameters) {
      auto values = p.value.span<float>();
      auto grads = p.grad.span<float>();
      for (std::size_t i = 0; i < values.size(); ++i) {
        values[i] -= static_cast<float>(rate * grads[i]);
      }
    }
  }
  return okStatus();
}

}  // namespace model_conformance_detail

/// Runs every model check against `model`, training it on synthetic data. Never throws;
/// failures are in the results.
inline CheckResults checkModel(Model& model) {
  namespace d = model_conformance_detail;
  CheckResults r;
  d::SyntheticDataset classes(LabelKind::kClass, {40, 30, 20}, 1);
  d::SyntheticDataset values(LabelKind::kValue, {40, 30, 20}, 1);
  d::SyntheticDataset unlabelled(LabelKind::kNone, {40, 30, 20}, 1);
  const bool clustering = model.schema().task == Task::kClustering;
  const std::vector<std::uint64_t> probe_rows = {0, 30, 45, 70, 89};

  if (!model.ready()) {
    TensorMap inputs, outputs;
    inputs.set(tensor_names::kInput, classes.batch({0, 1}).features);
    Status s = model.predict(inputs, outputs, {});
    expectThat(r, "predict() before training or loading gives kFailedPrecondition",
               s.code() == StatusCode::kFailedPrecondition, s.toString());
  }

  GradientTraining* gradient = model.gradientTraining();
  SelfTraining* self = model.selfTraining();
  const d::SyntheticDataset* data = &classes;
  double working_rate = 0;
  if (gradient != nullptr) {
    Status prepared = gradient->prepare(classes.schema(), 7);
    if (prepared.code() == StatusCode::kInvalidArgument) {
      data = &values;
      prepared = gradient->prepare(values.schema(), 7);
    }
    expectOk(r, "prepare() accepts 3-class data (or, refusing classes, 1-target regression)",
             prepared);
    if (!prepared.ok()) {
      return r;
    }
    std::vector<Parameter> parameters = gradient->parameters();
    {
      std::string problem = parameters.empty() ? "parameters() is empty" : "";
      for (const auto& p : parameters) {
        if (p.value.dtype() != DType::kFloat32 || p.grad.dtype() != DType::kFloat32 ||
            p.value.shape() != p.grad.shape() || p.value.numel() <= 0) {
          problem += "parameter '" + p.name + "' needs FP32 value and grad of one shape; ";
        }
      }
      auto again = gradient->parameters();
      for (std::size_t i = 0; problem.empty() && i < parameters.size(); ++i) {
        if (i >= again.size() || again[i].value.raw() != parameters[i].value.raw() ||
            again[i].grad.raw() != parameters[i].grad.raw()) {
          problem = "parameters() returned other buffers the second time";
        }
      }
      expectThat(r, "parameters() are FP32 values with same-shaped gradients in stable buffers",
                 problem.empty(), problem);
      if (!problem.empty()) {
        return r;
      }
    }

    // Gradients against central finite differences.
    {
      const Batch small = data->batch({0, 1, 2, 3, 45, 46, 80});  // unbalanced on purpose
      auto loss = gradient->forwardBackward(small, false);
      std::vector<std::vector<float>> analytic;
      for (auto& p : parameters) {
        auto g = p.grad.span<float>();
        analytic.emplace_back(g.begin(), g.end());
      }
      auto loss_again = gradient->forwardBackward(small, false);
      bool overwritten = loss_again.ok();
      for (std::size_t i = 0; overwritten && i < parameters.size(); ++i) {
        auto g = parameters[i].grad.span<float>();
        overwritten = std::equal(g.begin(), g.end(), analytic[i].begin());
      }
      expectThat(r, "forwardBackward() overwrites gradients instead of adding to them",
                 loss.ok() && overwritten,
                 loss.ok() ? "a second call changed the gradients" : loss.status().toString());
      auto evaluated = gradient->evaluateLoss(small);
      expectThat(r, "evaluateLoss() matches forwardBackward()'s loss",
                 loss.ok() && evaluated.ok() && std::isfinite(*loss) &&
                     std::fabs(*evaluated - *loss) <= 1e-4 * std::max(1.0, std::fabs(*loss)),
                 !loss.ok()        ? loss.status().toString()
                 : !evaluated.ok() ? evaluated.status().toString()
                                   : "forwardBackward " + std::to_string(*loss) +
                                         ", evaluateLoss " + std::to_string(*evaluated));
      std::string problem;
      constexpr double kEps = 1e-3, kRelative = 5e-2, kAbsolute = 2e-3;
      for (std::size_t pi = 0; loss.ok() && pi < parameters.size(); ++pi) {
        auto values_span = parameters[pi].value.span<float>();
        const std::size_t n = values_span.size();
        for (std::size_t k = 0; k < std::min<std::size_t>(n, 8); ++k) {
          const std::size_t i = (k * 7919 + pi * 31) % n;
          const float original = values_span[i];
          values_span[i] = static_cast<float>(original + kEps);
          const double up_step = double(values_span[i]) - original;
          auto up = gradient->evaluateLoss(small);
          values_span[i] = static_cast<float>(original - kEps);
          const double down_step = double(values_span[i]) - original;
          auto down = gradient->evaluateLoss(small);
          values_span[i] = original;
          if (!up.ok() || !down.ok()) {
            problem = (up.ok() ? down : up).status().toString();
            break;
          }
          const double numeric = (*up - *down) / (up_step - down_step);
          const double exact = analytic[pi][i];
          if (std::fabs(numeric - exact) >
              kRelative * std::max(std::fabs(numeric), std::fabs(exact)) + kAbsolute) {
            problem += parameters[pi].name + "[" + std::to_string(i) + "]: gradient " +
                       std::to_string(exact) + ", finite difference " + std::to_string(numeric) +
                       "; ";
          }
        }
      }
      expectThat(r, "gradients match central finite differences", loss.ok() && problem.empty(),
                 loss.ok() ? problem : loss.status().toString());
    }

    // Plain gradient descent must lower the loss at some reasonable rate.
    {
      const Batch all = data->all();
      const auto initial = d::snapshot(parameters);
      auto before = gradient->evaluateLoss(all);
      std::string problem = before.ok() ? "" : before.status().toString();
      double after_value = 0;
      for (double rate : {0.1, 0.03, 0.01}) {
        if (!before.ok()) {
          break;
        }
        d::restore(parameters, initial);
        Status s = d::descend(*gradient, parameters, all, rate, 200);
        auto after = gradient->evaluateLoss(all);
        if (!s.ok() || !after.ok()) {
          problem = (s.ok() ? after.status() : s).toString();
          break;
        }
        after_value = *after;
        if (std::isfinite(*after) && *after < 0.9 * *before) {
          working_rate = rate;
          break;
        }
      }
      expectThat(r, "200 gradient-descent steps lower the loss by at least 10%", working_rate > 0,
                 problem.empty()
                     ? "loss went from " + std::to_string(before.ok() ? *before : 0) + " to " +
                           std::to_string(after_value) + " at rates 0.1, 0.03 and 0.01"
                     : problem);
    }
  } else if (self != nullptr && clustering) {
    d::CountingObserver observer;
    data = &unlabelled;
    Status fitted = self->fit(unlabelled, 7, observer);
    expectOk(r, "fit() of a clustering model accepts data without labels", fitted);
    expectThat(r, "fit() reports its iterations to the observer", observer.iterations > 0,
               "onIteration() was never called");
    if (!fitted.ok()) {
      return r;
    }
    if (d::clusterCount(model.schema()) == 3) {
      const std::string blobs = d::blobProblem(model, unlabelled);
      expectThat(r, "3 clusters recover the 3 well-separated blobs", blobs.empty(), blobs);
    }
    // The same rows with class labels, same seed: the labels must change nothing.
    TensorMap inputs, before, after;
    inputs.set(tensor_names::kInput, unlabelled.all().features);
    Status predicted = model.predict(inputs, before, {});
    Status labelled = self->fit(classes, 7, observer);
    if (labelled.ok() && predicted.ok()) {
      predicted = model.predict(inputs, after, {});
    }
    expectThat(r, "fit() of a clustering model ignores labels (same seed, same clusters)",
               labelled.ok() && predicted.ok() && d::sameOutputs(before, after),
               !labelled.ok()    ? labelled.toString()
               : !predicted.ok() ? predicted.toString()
                                 : "fitting the labelled rows gave other outputs");
  } else if (self != nullptr) {
    d::CountingObserver observer;
    Status fitted = self->fit(classes, 7, observer);
    if (fitted.code() == StatusCode::kInvalidArgument) {
      data = &values;
      fitted = self->fit(values, 7, observer);
    }
    expectOk(r, "fit() accepts 3-class data (or, refusing classes, 1-target regression)", fitted);
    expectThat(r, "fit() reports its iterations to the observer", observer.iterations > 0,
               "onIteration() was never called");
    if (!fitted.ok()) {
      return r;
    }
  } else if (!model.ready()) {
    return r;  // neither trainable nor loaded: only the kFailedPrecondition check applies
  }

  expectThat(r, "ready() is true after training", model.ready(), "ready() is false");
  if (!model.ready()) {
    return r;
  }

  const ModelSchema schema = model.schema();
  const Batch probe = data->batch(probe_rows);
  const TensorMap inputs = d::makeInputs(schema, probe);
  TensorMap first;
  {
    Status s = model.predict(inputs, first, {});
    std::string problem =
        s.ok() ? d::outputProblem(schema, first, static_cast<std::int64_t>(probe_rows.size()))
               : s.toString();
    expectThat(r, "predict() writes every schema output with the batch's rows", problem.empty(),
               problem);
  }

  {
    TensorMap outputs;
    Status missing = model.predict(TensorMap(), outputs, {});
    expectThat(r, "predict() without inputs gives kInvalidArgument",
               missing.code() == StatusCode::kInvalidArgument, missing.toString());
    const TensorSpec* features = d::featureInput(schema);
    if (features != nullptr && features->shape[1] > 0) {
      TensorMap wide = inputs;
      wide.set(features->name, Tensor::zeros(DType::kFloat32, {2, features->shape[1] + 1}));
      Status shape = model.predict(wide, outputs, {});
      expectThat(r, "predict() with a wrong input width gives kInvalidArgument",
                 shape.code() == StatusCode::kInvalidArgument, shape.toString());
      TensorMap typed = inputs;
      typed.set(features->name, Tensor::zeros(DType::kInt64, {2, features->shape[1]}));
      Status dtype = model.predict(typed, outputs, {});
      expectThat(r, "predict() with a wrong input dtype gives kInvalidArgument",
                 dtype.code() == StatusCode::kInvalidArgument, dtype.toString());
    }
  }

  {
    constexpr int kThreads = 4;
    std::vector<std::string> errors(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 25 && errors[t].empty(); ++i) {
          TensorMap outputs;
          Status s = model.predict(inputs, outputs, {});
          if (!s.ok()) {
            errors[t] = s.toString();
          } else if (!d::sameOutputs(outputs, first)) {
            errors[t] = "thread " + std::to_string(t) + " got different outputs";
          }
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    std::string problem;
    for (const auto& e : errors) {
      problem += e.empty() ? "" : e + "; ";
    }
    expectThat(r, "predict() from 4 threads at once equals the serial result", problem.empty(),
               problem);
  }

  // Save, change the model, load: the saved predictions come back exactly.
  {
    std::string payload;
    Status saved = model.save(payload);
    expectOk(r, "save() writes a payload", saved);
    if (!saved.ok()) {
      return r;
    }
    Status changed;
    if (gradient != nullptr) {
      auto parameters = gradient->parameters();
      changed = d::descend(*gradient, parameters, data->all(),
                           working_rate > 0 ? working_rate : 0.01, 50);
    } else if (self != nullptr) {
      d::SyntheticDataset other(data->schema().label_kind, {20, 30, 40}, 2);
      d::CountingObserver observer;
      changed = self->fit(other, 8, observer);
    }
    Status loaded = model.load(payload, model.formatVersion());
    TensorMap after;
    Status predicted = loaded.ok() ? model.predict(inputs, after, {}) : loaded;
    expectThat(r, "load() of a saved payload restores the saved predictions exactly",
               changed.ok() && predicted.ok() && d::sameOutputs(after, first),
               !changed.ok()     ? "changing the model failed: " + changed.toString()
               : !predicted.ok() ? predicted.toString()
                                 : "predictions differ from those at save()");

    std::string problem;
    for (std::size_t keep : {std::size_t{0}, payload.size() / 2, payload.size() - 1}) {
      if (keep >= payload.size()) {
        continue;
      }
      Status truncated =
          model.load(std::string_view(payload).substr(0, keep), model.formatVersion());
      if (truncated.ok()) {
        problem += "accepted the first " + std::to_string(keep) + " of " +
                   std::to_string(payload.size()) + " bytes; ";
      }
    }
    TensorMap still;
    Status s = model.predict(inputs, still, {});
    if (!s.ok() || !d::sameOutputs(still, first)) {
      problem += "the model changed after refusing a payload";
    }
    expectThat(r, "load() refuses truncated payloads and leaves the model as it was",
               problem.empty(), problem);

    Status future = model.load(payload, model.formatVersion() + 1000);
    expectThat(r, "load() refuses a format version it never wrote with kInvalidArgument",
               future.code() == StatusCode::kInvalidArgument, future.toString());
  }
  return r;
}

}  // namespace aimass::testing
