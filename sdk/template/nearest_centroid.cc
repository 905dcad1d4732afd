// SPDX-License-Identifier: Apache-2.0
#include "nearest_centroid.h"

#include <cmath>
#include <numeric>

namespace vendor {

using aimass::DType;
using aimass::Status;
using aimass::Tensor;

aimass::ModelSchema NearestCentroid::schema() const {
  aimass::ModelSchema s;
  s.task = aimass::Task::kClassification;
  auto classes = static_cast<std::int64_t>(class_names_.size());
  s.inputs = {{aimass::tensor_names::kInput, DType::kFloat32, {-1, ready() ? features_ : -1}}};
  s.outputs = {{aimass::tensor_names::kProbabilities, DType::kFloat32, {-1, ready() ? classes : -1}},
               {aimass::tensor_names::kLabel, DType::kInt64, {-1}},
               {aimass::tensor_names::kClass, DType::kBytes, {-1}}};
  s.class_names = class_names_;
  return s;
}

Status NearestCentroid::fit(const aimass::Dataset& data, std::uint64_t /*seed*/,
                            aimass::FitObserver& observer) {
  const auto& schema = data.schema();
  if (schema.label_kind != aimass::LabelKind::kClass || schema.feature_dtype != DType::kFloat32 ||
      schema.row_shape.size() != 1 || schema.class_names.empty()) {
    return aimass::invalidArgument(
        "model.nearest_centroid needs FP32 feature rows with class labels");
  }
  const std::int64_t features = schema.row_shape[0];
  const auto classes = static_cast<std::int64_t>(schema.class_names.size());
  std::vector<double> sums(classes * features, 0.0);
  std::vector<std::int64_t> counts(classes, 0);

  // Read in batches so the dataset never has to fit in memory twice.
  constexpr std::uint64_t kBatch = 1024;
  aimass::Batch batch;
  std::vector<std::uint64_t> rows;
  for (std::uint64_t start = 0; start < data.size(); start += kBatch) {
    rows.resize(std::min(kBatch, data.size() - start));
    std::iota(rows.begin(), rows.end(), start);
    AIMASS_RETURN_IF_ERROR(data.read(rows, batch));
    const float* x = batch.features.data<float>();
    const std::int64_t* y = batch.labels.data<std::int64_t>();
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (y[r] < 0 || y[r] >= classes) {
        return aimass::invalidArgument("row " + std::to_string(rows[r]) + " has label " +
                                       std::to_string(y[r]) + " outside [0, " +
                                       std::to_string(classes) + ")");
      }
      for (std::int64_t f = 0; f < features; ++f) {
        sums[y[r] * features + f] += x[r * features + f];
      }
      ++counts[y[r]];
    }
  }
  std::vector<float> centroids(classes * features, 0.0f);
  for (std::int64_t c = 0; c < classes; ++c) {
    for (std::int64_t f = 0; f < features && counts[c] > 0; ++f) {
      centroids[c * features + f] = static_cast<float>(sums[c * features + f] / counts[c]);
    }
  }
  // One pass is the whole algorithm: report it and honour a stop request.
  observer.onIteration(1, 0.0);
  features_ = features;
  class_names_ = schema.class_names;
  centroids_ = std::move(centroids);
  return Status();
}

Status NearestCentroid::predict(const aimass::TensorMap& inputs, aimass::TensorMap& outputs,
                                const aimass::PredictOptions& /*options*/) const {
  if (!ready()) {
    return aimass::failedPrecondition("model.nearest_centroid is not trained");
  }
  auto checked = aimass::featureInput("model.nearest_centroid", inputs, features_);
  if (!checked.ok()) {
    return checked.status();
  }
  const Tensor* input = *checked;
  const std::int64_t n = input->dim(0);
  const auto classes = static_cast<std::int64_t>(class_names_.size());
  return aimass::guard("model.nearest_centroid predict", [&] {
    Tensor probabilities(DType::kFloat32, {n, classes});
    Tensor labels(DType::kInt64, {n});
    std::vector<std::string> names(n);
    const float* x = input->data<float>();
    float* p = probabilities.data<float>();
    for (std::int64_t r = 0; r < n; ++r) {
      float best = -INFINITY;
      std::int64_t best_class = 0;
      for (std::int64_t c = 0; c < classes; ++c) {
        double d = 0;
        for (std::int64_t f = 0; f < features_; ++f) {
          double diff = x[r * features_ + f] - centroids_[c * features_ + f];
          d += diff * diff;
        }
        p[r * classes + c] = static_cast<float>(-d / temperature_);
        if (p[r * classes + c] > best) {
          best = p[r * classes + c];
          best_class = c;
        }
      }
      double total = 0;
      for (std::int64_t c = 0; c < classes; ++c) {
        p[r * classes + c] = std::exp(p[r * classes + c] - best);
        total += p[r * classes + c];
      }
      for (std::int64_t c = 0; c < classes; ++c) {
        p[r * classes + c] = static_cast<float>(p[r * classes + c] / total);
      }
      labels.data<std::int64_t>()[r] = best_class;
      names[r] = class_names_[best_class];
    }
    outputs.set(aimass::tensor_names::kProbabilities, probabilities);
    outputs.set(aimass::tensor_names::kLabel, labels);
    outputs.set(aimass::tensor_names::kClass, Tensor::fromStrings(std::move(names)));
  });
}

// Payload (little-endian, through the SDK's ByteWriter): u64 features, u64 classes,
// f64 temperature, then per class (u32 length + name), then the centroids as float32. The host
// wraps it in a checksummed envelope.
Status NearestCentroid::save(std::string& payload) const {
  if (!ready()) {
    return aimass::failedPrecondition("model.nearest_centroid has nothing to save: not trained");
  }
  aimass::ByteWriter out(payload);
  out.u64(static_cast<std::uint64_t>(features_));
  out.u64(class_names_.size());
  out.f64(temperature_);
  for (const auto& name : class_names_) {
    out.u32(static_cast<std::uint32_t>(name.size()));
    out.bytes(name);
  }
  out.floats(centroids_);
  return Status();
}

Status NearestCentroid::load(std::string_view payload, std::uint32_t format_version) {
  if (format_version != 1) {
    return aimass::invalidArgument("model.nearest_centroid cannot read format version " +
                                   std::to_string(format_version));
  }
  aimass::ByteReader in(payload);
  const std::uint64_t features = in.u64();
  const std::uint64_t classes = in.u64();
  const double temperature = in.f64();
  // Check sizes against the bytes left before allocating: a corrupt header must not make us
  // allocate gigabytes.
  if (!in.ok() || features == 0 || classes == 0 || !(temperature > 0) ||
      classes > in.remaining() / 4 || features * classes > in.remaining() / 4) {
    return aimass::dataLoss("model.nearest_centroid payload has a bad header");
  }
  std::vector<std::string> names(classes);
  for (auto& name : names) {
    name = in.bytes(in.u32());
  }
  std::vector<float> centroids(features * classes);
  if (!in.floats(centroids) || !in.atEnd()) {
    return aimass::dataLoss("model.nearest_centroid payload is truncated or too long");
  }
  // Only now, with everything parsed, replace the state: a failed load changes nothing.
  features_ = static_cast<std::int64_t>(features);
  temperature_ = temperature;
  class_names_ = std::move(names);
  centroids_ = std::move(centroids);
  return Status();
}

}  // namespace vendor
