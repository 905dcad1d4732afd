// SPDX-License-Identifier: Apache-2.0
#include "softmax.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <random>
#include <utility>

#include "aimass/byte_io.h"

namespace aimass::plugins::model {

namespace {

std::string labelKindName(LabelKind kind) {
  switch (kind) {
    case LabelKind::kNone:
      return "no";
    case LabelKind::kClass:
      return "class";
    case LabelKind::kValue:
      return "value";
    case LabelKind::kNextToken:
      return "next-token";
  }
  return "unknown";
}

/// N(0, 1) by Box-Muller over mt19937_64: the same numbers on every platform (unlike
/// std::normal_distribution), so a seed reproduces a model anywhere.
double standardNormal(std::mt19937_64& random) {
  constexpr double kScale = 1.0 / 9007199254740992.0;  // 2^-53
  double u1 = (static_cast<double>(random() >> 11) + 0.5) * kScale;
  double u2 = static_cast<double>(random() >> 11) * kScale;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace

/// Ops and buffers of forwardBackward() for one batch size: logits and their gradient.
struct SoftmaxRegression::TrainingOps {
  std::int64_t rows = 0;
  std::unique_ptr<compute::FullyConnected> fc;
  std::vector<float> logits, logits_grad;
};

SoftmaxRegression::SoftmaxRegression(SoftmaxOptions options) : options_(options) {}

SoftmaxRegression::~SoftmaxRegression() = default;

Expected<SoftmaxRegression::TrainingOps*> SoftmaxRegression::trainingOps(std::int64_t rows) {
  constexpr std::size_t kKept = 3;  // batch sizes whose ops are kept
  for (auto& ops : training_) {
    if (ops->rows == rows) {
      return ops.get();
    }
  }
  // Below ~16M multiply-adds a step (batch 128 x 784 features x 10 classes is 1M), splitting
  // the products over threads costs more in synchronisation than it saves: on 2 cores W2's
  // epoch took 0.07 s on 1 thread and 0.25-2 s on 2. Larger problems use options().threads.
  constexpr std::int64_t kParallelMacs = std::int64_t{1} << 24;
  const int threads = rows * features_ * classes_ >= kParallelMacs ? std::max(1, options_.threads)
                                                                    : 1;
  if (context_ == nullptr || context_->threads() != threads) {
    auto context = compute::ComputeContext::create(threads);
    if (!context.ok()) {
      return context.status().withContext("model.softmax");
    }
    context_ = std::move(context).value();
  }
  compute::FullyConnectedShape shape;
  shape.rows = rows;
  shape.inputs = features_;
  shape.outputs = classes_;
  auto fc = compute::FullyConnected::create(context_, shape);
  if (!fc.ok()) {
    return fc.status().withContext("model.softmax");
  }
  TrainingOps* made = nullptr;
  Status status = guard("model.softmax training buffers", [&] {
    auto ops = std::make_unique<TrainingOps>();
    ops->rows = rows;
    ops->fc = std::move(fc).value();
    ops->logits.resize(static_cast<std::size_t>(rows * classes_));
    ops->logits_grad.resize(static_cast<std::size_t>(rows * classes_));
    if (training_.size() >= kKept) {
      training_.erase(training_.begin());
    }
    training_.push_back(std::move(ops));
    made = training_.back().get();
  });
  if (!status.ok()) {
    return status;
  }
  return made;
}

ModelSchema SoftmaxRegression::schema() const {
  ModelSchema schema;
  schema.task = Task::kClassification;
  const std::int64_t f = features_ > 0 ? features_ : -1;
  const std::int64_t c = classes_ > 0 ? classes_ : -1;
  schema.inputs = {{tensor_names::kInput, DType::kFloat32, {-1, f}, false}};
  schema.outputs = {{tensor_names::kProbabilities, DType::kFloat32, {-1, c}, false},
                    {tensor_names::kLabel, DType::kInt64, {-1}, false},
                    {tensor_names::kClass, DType::kBytes, {-1}, false}};
  schema.class_names = class_names_;
  return schema;
}

Status SoftmaxRegression::prepare(const DatasetSchema& schema, std::uint64_t seed) {
  if (schema.label_kind != LabelKind::kClass) {
    return invalidArgument(
        "model.softmax is a classifier and needs class labels, but the data "
        "has " +
        labelKindName(schema.label_kind) + " labels");
  }
  if (schema.feature_dtype != DType::kFloat32) {
    return invalidArgument("model.softmax needs FP32 features, but the data has " +
                           std::string(dtypeName(schema.feature_dtype)));
  }
  if (schema.row_shape.size() != 1 || schema.row_shape[0] <= 0) {
    return invalidArgument("model.softmax needs rows of shape [F], but the data has rows of " +
                           shapeToString(schema.row_shape));
  }
  if (schema.class_names.size() < 2) {
    return invalidArgument("model.softmax needs at least 2 classes, but the data has " +
                           std::to_string(schema.class_names.size()));
  }
  return guard("model.softmax prepare", [&] {
    const std::int64_t f = schema.row_shape[0];
    const auto c = static_cast<std::int64_t>(schema.class_names.size());
    Tensor weight(DType::kFloat32, {f, c});
    std::mt19937_64 random(seed);
    for (float& w : weight.span<float>()) {
      w = static_cast<float>(options_.init_scale * standardNormal(random));
    }
    Tensor weight_grad = Tensor::zeros(DType::kFloat32, {f, c});
    Tensor bias = Tensor::zeros(DType::kFloat32, {c});
    Tensor bias_grad = Tensor::zeros(DType::kFloat32, {c});
    std::vector<std::string> names = schema.class_names;
    // Nothing above can fail any more; commit.
    weight_ = std::move(weight);
    weight_grad_ = std::move(weight_grad);
    bias_ = std::move(bias);
    bias_grad_ = std::move(bias_grad);
    class_names_ = std::move(names);
    features_ = f;
    classes_ = c;
    training_.clear();
  });
}

std::vector<Parameter> SoftmaxRegression::parameters() {
  if (!ready()) {
    return {};
  }
  return {{"weight", weight_, weight_grad_}, {"bias", bias_, bias_grad_}};
}

Status SoftmaxRegression::checkBatch(const Batch& batch) const {
  if (!ready()) {
    return failedPrecondition("model.softmax is not prepared: call prepare() or load() first");
  }
  const Tensor& x = batch.features;
  if (x.dtype() != DType::kFloat32 || x.rank() != 2 || x.dim(1) != features_ || x.dim(0) <= 0) {
    return invalidArgument("model.softmax expects features FP32 [N>0, " +
                           std::to_string(features_) + "], got " +
                           std::string(dtypeName(x.dtype())) + " " + shapeToString(x.shape()));
  }
  const Tensor& y = batch.labels;
  if (y.dtype() != DType::kInt64 || y.shape() != Shape{x.dim(0)}) {
    return invalidArgument("model.softmax expects labels INT64 [" + std::to_string(x.dim(0)) +
                           "], got " + std::string(dtypeName(y.dtype())) + " " +
                           shapeToString(y.shape()));
  }
  const std::int64_t* labels = y.data<std::int64_t>();
  for (std::int64_t n = 0; n < x.dim(0); ++n) {
    if (labels[n] < 0 || labels[n] >= classes_) {
      return invalidArgument("row " + std::to_string(n) + " of the batch has class " +
                             std::to_string(labels[n]) + ", outside [0, " +
                             std::to_string(classes_) + ")");
    }
  }
  return okStatus();
}

double SoftmaxRegression::logitsOf(const float* x, double* logits) const {
  const std::int64_t c_count = classes_;
  const float* w = weight_.data<float>();
  const float* b = bias_.data<float>();
  for (std::int64_t c = 0; c < c_count; ++c) {
    logits[c] = b[c];
  }
  // Row-major W: for each feature, one contiguous sweep over the classes.
  for (std::int64_t f = 0; f < features_; ++f) {
    const double xf = x[f];
    if (xf == 0) {
      continue;
    }
    const float* wf = w + f * c_count;
    for (std::int64_t c = 0; c < c_count; ++c) {
      logits[c] += xf * wf[c];
    }
  }
  double max = logits[0];
  for (std::int64_t c = 1; c < c_count; ++c) {
    max = std::max(max, logits[c]);
  }
  double sum = 0;
  for (std::int64_t c = 0; c < c_count; ++c) {
    sum += std::exp(logits[c] - max);
  }
  return max + std::log(sum);
}

double SoftmaxRegression::penalty() const {
  if (options_.l2 == 0) {
    return 0;
  }
  double squares = 0;
  for (float w : weight_.span<float>()) {
    squares += double(w) * w;
  }
  return 0.5 * options_.l2 * squares;
}

Expected<double> SoftmaxRegression::forwardBackward(const Batch& batch, bool /*training*/) {
  AIMASS_RETURN_IF_ERROR(checkBatch(batch));
  const std::int64_t rows = batch.features.dim(0);
  auto ops = trainingOps(rows);
  if (!ops.ok()) {
    return ops.status();
  }
  compute::FullyConnected& fc = *(*ops)->fc;
  float* logits = (*ops)->logits.data();
  float* logits_grad = (*ops)->logits_grad.data();
  const float* x = batch.features.data<float>();
  const std::int64_t* labels = batch.labels.data<std::int64_t>();
  float* gw = weight_grad_.data<float>();
  float* gb = bias_grad_.data<float>();
  AIMASS_RETURN_IF_ERROR(fc.forward(x, weight_.data<float>(), bias_.data<float>(), logits));
  // Softmax and loss per row in double; d loss / d logit_c = (softmax_c - [c == label]) / rows.
  const double inv_rows = 1.0 / static_cast<double>(rows);
  double loss = 0;
  for (std::int64_t n = 0; n < rows; ++n) {
    const float* z = logits + n * classes_;
    float* dz = logits_grad + n * classes_;
    double max = z[0];
    for (std::int64_t c = 1; c < classes_; ++c) {
      max = std::max(max, static_cast<double>(z[c]));
    }
    double sum = 0;
    for (std::int64_t c = 0; c < classes_; ++c) {
      sum += std::exp(z[c] - max);
    }
    const double lse = max + std::log(sum);
    loss += lse - z[labels[n]];
    for (std::int64_t c = 0; c < classes_; ++c) {
      dz[c] = static_cast<float>((std::exp(z[c] - lse) - (c == labels[n] ? 1.0 : 0.0)) * inv_rows);
    }
  }
  AIMASS_RETURN_IF_ERROR(fc.backwardWeights(x, logits_grad, gw, gb));
  if (options_.l2 != 0) {
    const float* w = weight_.data<float>();
    const auto l2 = static_cast<float>(options_.l2);
    for (std::int64_t i = 0; i < features_ * classes_; ++i) {
      gw[i] += l2 * w[i];
    }
  }
  return loss * inv_rows + penalty();
}

Expected<double> SoftmaxRegression::evaluateLoss(const Batch& batch) const {
  AIMASS_RETURN_IF_ERROR(checkBatch(batch));
  const std::int64_t rows = batch.features.dim(0);
  const float* x = batch.features.data<float>();
  const std::int64_t* labels = batch.labels.data<std::int64_t>();
  double loss = 0;
  Status status = guard("model.softmax evaluateLoss", [&] {
    std::vector<double> logits(static_cast<std::size_t>(classes_));
    for (std::int64_t n = 0; n < rows; ++n) {
      loss += logitsOf(x + n * features_, logits.data()) - logits[labels[n]];
    }
  });
  if (!status.ok()) {
    return status;
  }
  return loss / static_cast<double>(rows) + penalty();
}

Status SoftmaxRegression::predict(const TensorMap& inputs, TensorMap& outputs,
                                  const PredictOptions& /*options*/) const {
  if (!ready()) {
    return failedPrecondition("model.softmax is not trained or loaded yet");
  }
  auto checked = featureInput("model.softmax", inputs, features_);
  if (!checked.ok()) {
    return checked.status();
  }
  const Tensor* input = *checked;
  const std::int64_t rows = input->dim(0);
  return guard("model.softmax predict", [&] {
    Tensor probabilities(DType::kFloat32, {rows, classes_});
    Tensor label(DType::kInt64, {rows});
    std::vector<std::string> names(static_cast<std::size_t>(rows));
    std::vector<double> logits(static_cast<std::size_t>(classes_));
    const float* x = input->data<float>();
    float* p = probabilities.data<float>();
    std::int64_t* best = label.data<std::int64_t>();
    for (std::int64_t n = 0; n < rows; ++n) {
      const double lse = logitsOf(x + n * features_, logits.data());
      float* pn = p + n * classes_;
      std::int64_t argmax = 0;
      for (std::int64_t c = 0; c < classes_; ++c) {
        pn[c] = static_cast<float>(std::exp(logits[c] - lse));
        argmax = logits[c] > logits[argmax] ? c : argmax;
      }
      best[n] = argmax;
      names[static_cast<std::size_t>(n)] = class_names_[static_cast<std::size_t>(argmax)];
    }
    outputs.set(tensor_names::kProbabilities, std::move(probabilities));
    outputs.set(tensor_names::kLabel, std::move(label));
    outputs.set(tensor_names::kClass, Tensor::fromStrings(std::move(names)));
  });
}

Status SoftmaxRegression::save(std::string& payload) const {
  if (!ready()) {
    return failedPrecondition("model.softmax has nothing to save: it is not trained or loaded");
  }
  return guard("model.softmax save", [&] {
    payload.clear();
    ByteWriter out(payload);
    out.u64(static_cast<std::uint64_t>(features_));
    out.u64(static_cast<std::uint64_t>(classes_));
    for (const auto& name : class_names_) {
      out.u32(static_cast<std::uint32_t>(name.size()));
      out.bytes(name);
    }
    out.f64(options_.l2);
    out.floats(weight_.span<float>());
    out.floats(bias_.span<float>());
  });
}

Status SoftmaxRegression::load(std::string_view payload, std::uint32_t format_version) {
  if (format_version != kFormatVersion) {
    return invalidArgument("model.softmax payload format " + std::to_string(format_version) +
                           " is unknown (this version reads format " +
                           std::to_string(kFormatVersion) + ")");
  }
  return guard("model.softmax load", [&]() -> Status {
    ByteReader in(payload);
    const std::uint64_t f = in.u64();
    const std::uint64_t c = in.u64();
    constexpr std::uint64_t kLimit = std::uint64_t{1} << 31;
    if (!in.ok() || f == 0 || c < 2 || f >= kLimit || c >= kLimit || f * c > in.remaining() / 4) {
      return dataLoss("model.softmax payload is truncated or has impossible sizes (" +
                      std::to_string(f) + " features, " + std::to_string(c) + " classes, " +
                      std::to_string(payload.size()) + " bytes)");
    }
    std::vector<std::string> names;
    for (std::uint64_t i = 0; i < c && in.ok(); ++i) {
      names.push_back(in.bytes(in.u32()));
    }
    const double l2 = in.f64();
    if (!in.ok() || in.remaining() != (f * c + c) * 4) {
      return dataLoss("model.softmax payload has " + std::to_string(payload.size()) +
                      " bytes, which does not fit " + std::to_string(f) + " features and " +
                      std::to_string(c) + " classes");
    }
    if (!std::isfinite(l2) || l2 < 0) {
      return dataLoss("model.softmax payload has an invalid l2 of " + std::to_string(l2));
    }
    const auto fi = static_cast<std::int64_t>(f);
    const auto ci = static_cast<std::int64_t>(c);
    Tensor weight(DType::kFloat32, {fi, ci});
    Tensor bias(DType::kFloat32, {ci});
    in.floats(weight.span<float>());
    in.floats(bias.span<float>());
    for (const Tensor* t : {&weight, &bias}) {
      for (float v : t->span<float>()) {
        if (!std::isfinite(v)) {
          return dataLoss("model.softmax payload holds a NaN or infinite weight");
        }
      }
    }
    // Commit. Keep the parameter buffers when the shapes match, so an optimizer attached to
    // them (resuming from a checkpoint) keeps working.
    if (weight_.shape() == weight.shape() && bias_.shape() == bias.shape() &&
        weight_.raw() != nullptr) {
      std::memcpy(weight_.raw(), weight.raw(), weight.nbytes());
      std::memcpy(bias_.raw(), bias.raw(), bias.nbytes());
    } else {
      Tensor weight_grad = Tensor::zeros(DType::kFloat32, {fi, ci});
      Tensor bias_grad = Tensor::zeros(DType::kFloat32, {ci});
      weight_grad_ = std::move(weight_grad);
      bias_grad_ = std::move(bias_grad);
      weight_ = std::move(weight);
      bias_ = std::move(bias);
    }
    class_names_ = std::move(names);
    options_.l2 = l2;
    if (features_ != fi || classes_ != ci) {
      training_.clear();
    }
    features_ = fi;
    classes_ = ci;
    return okStatus();
  });
}

}  // namespace aimass::plugins::model
