// SPDX-License-Identifier: Apache-2.0
#include "linear.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <utility>

#include "aimass/byte_io.h"
#include "aimass/util/cholesky.h"

namespace aimass::plugins::model {

namespace {

constexpr std::uint64_t kFitBatchRows = 4096;

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

}  // namespace

LinearRegression::LinearRegression(LinearOptions options) : options_(options) {}

GradientTraining* LinearRegression::gradientTraining() {
  return options_.solver == LinearSolver::kGradient ? this : nullptr;
}

SelfTraining* LinearRegression::selfTraining() {
  return options_.solver == LinearSolver::kClosedForm ? this : nullptr;
}

ModelSchema LinearRegression::schema() const {
  ModelSchema schema;
  schema.task = Task::kRegression;
  const std::int64_t f = features_ > 0 ? features_ : -1;
  const std::int64_t t = targets_ > 0 ? targets_ : -1;
  schema.inputs = {{tensor_names::kInput, DType::kFloat32, {-1, f}, false}};
  schema.outputs = {{tensor_names::kPrediction, DType::kFloat32, {-1, t}, false}};
  return schema;
}

Status LinearRegression::checkSchema(const DatasetSchema& schema) const {
  if (schema.label_kind != LabelKind::kValue || schema.num_targets < 1) {
    return invalidArgument(
        "model.linear is a regressor and needs value labels (label_type: value) with at least "
        "one target, but the data has " +
        labelKindName(schema.label_kind) + " labels");
  }
  if (schema.feature_dtype != DType::kFloat32) {
    return invalidArgument("model.linear needs FP32 features, but the data has " +
                           std::string(dtypeName(schema.feature_dtype)));
  }
  if (schema.row_shape.size() != 1 || schema.row_shape[0] <= 0) {
    return invalidArgument("model.linear needs rows of shape [F], but the data has rows of " +
                           shapeToString(schema.row_shape));
  }
  return okStatus();
}

void LinearRegression::commit(Tensor weight, Tensor bias) {
  if (weight_.raw() != nullptr && weight_.shape() == weight.shape() &&
      bias_.shape() == bias.shape()) {
    std::memcpy(weight_.raw(), weight.raw(), weight.nbytes());
    std::memcpy(bias_.raw(), bias.raw(), bias.nbytes());
  } else {
    Tensor weight_grad = Tensor::zeros(DType::kFloat32, weight.shape());
    Tensor bias_grad = Tensor::zeros(DType::kFloat32, bias.shape());
    weight_grad_ = std::move(weight_grad);
    bias_grad_ = std::move(bias_grad);
    weight_ = std::move(weight);
    bias_ = std::move(bias);
  }
  features_ = weight_.dim(0);
  targets_ = weight_.dim(1);
}

Status LinearRegression::prepare(const DatasetSchema& schema, std::uint64_t /*seed*/) {
  AIMASS_RETURN_IF_ERROR(checkSchema(schema));
  return guard("model.linear prepare", [&] {
    const std::int64_t f = schema.row_shape[0];
    const std::int64_t t = schema.num_targets;
    Tensor weight = Tensor::zeros(DType::kFloat32, {f, t});
    Tensor bias = Tensor::zeros(DType::kFloat32, {t});
    // Fresh buffers on every prepare(), as GradientTraining promises.
    weight_ = Tensor();
    bias_ = Tensor();
    commit(std::move(weight), std::move(bias));
  });
}

std::vector<Parameter> LinearRegression::parameters() {
  if (!ready()) {
    return {};
  }
  std::vector<Parameter> out = {{"weight", weight_, weight_grad_}};
  if (options_.fit_intercept) {
    out.push_back({"bias", bias_, bias_grad_});
  }
  return out;
}

Status LinearRegression::checkBatch(const Batch& batch) const {
  if (!ready()) {
    return failedPrecondition("model.linear is not prepared: call prepare() or load() first");
  }
  const Tensor& x = batch.features;
  if (x.dtype() != DType::kFloat32 || x.rank() != 2 || x.dim(1) != features_ || x.dim(0) <= 0) {
    return invalidArgument("model.linear expects features FP32 [N>0, " + std::to_string(features_) +
                           "], got " + std::string(dtypeName(x.dtype())) + " " +
                           shapeToString(x.shape()));
  }
  const Tensor& y = batch.labels;
  if (y.dtype() != DType::kFloat32 || y.shape() != Shape{x.dim(0), targets_}) {
    return invalidArgument("model.linear expects labels FP32 [" + std::to_string(x.dim(0)) + ", " +
                           std::to_string(targets_) + "], got " +
                           std::string(dtypeName(y.dtype())) + " " + shapeToString(y.shape()));
  }
  return okStatus();
}

double LinearRegression::residuals(const Batch& batch, float* gw, float* gb) const {
  const std::int64_t rows = batch.features.dim(0);
  const float* x = batch.features.data<float>();
  const float* y = batch.labels.data<float>();
  const float* w = weight_.data<float>();
  const float* b = bias_.data<float>();
  const double inv_rows = 1.0 / static_cast<double>(rows);
  std::vector<double> r(static_cast<std::size_t>(targets_));
  double sum = 0;
  for (std::int64_t n = 0; n < rows; ++n) {
    const float* xn = x + n * features_;
    for (std::int64_t t = 0; t < targets_; ++t) {
      r[t] = b[t];
    }
    for (std::int64_t f = 0; f < features_; ++f) {
      const double xf = xn[f];
      const float* wf = w + f * targets_;
      for (std::int64_t t = 0; t < targets_; ++t) {
        r[t] += xf * wf[t];
      }
    }
    for (std::int64_t t = 0; t < targets_; ++t) {
      r[t] -= y[n * targets_ + t];
      sum += 0.5 * r[t] * r[t];
    }
    if (gw != nullptr) {
      for (std::int64_t t = 0; t < targets_; ++t) {
        r[t] *= inv_rows;
        gb[t] += static_cast<float>(r[t]);
      }
      for (std::int64_t f = 0; f < features_; ++f) {
        const double xf = xn[f];
        float* gwf = gw + f * targets_;
        for (std::int64_t t = 0; t < targets_; ++t) {
          gwf[t] += static_cast<float>(xf * r[t]);
        }
      }
    }
  }
  return sum;
}

double LinearRegression::penalty() const {
  if (options_.l2 == 0) {
    return 0;
  }
  double squares = 0;
  for (float w : weight_.span<float>()) {
    squares += double(w) * w;
  }
  return 0.5 * options_.l2 * squares;
}

Expected<double> LinearRegression::forwardBackward(const Batch& batch, bool /*training*/) {
  AIMASS_RETURN_IF_ERROR(checkBatch(batch));
  const std::int64_t rows = batch.features.dim(0);
  float* gw = weight_grad_.data<float>();
  float* gb = bias_grad_.data<float>();
  std::fill(gw, gw + features_ * targets_, 0.0f);
  std::fill(gb, gb + targets_, 0.0f);
  double loss = 0;
  Status status = guard("model.linear forwardBackward", [&] { loss = residuals(batch, gw, gb); });
  if (!status.ok()) {
    return status;
  }
  if (!options_.fit_intercept) {
    std::fill(gb, gb + targets_, 0.0f);
  }
  if (options_.l2 != 0) {
    const float* w = weight_.data<float>();
    const auto l2 = static_cast<float>(options_.l2);
    for (std::int64_t i = 0; i < features_ * targets_; ++i) {
      gw[i] += l2 * w[i];
    }
  }
  return loss / static_cast<double>(rows) + penalty();
}

Expected<double> LinearRegression::evaluateLoss(const Batch& batch) const {
  AIMASS_RETURN_IF_ERROR(checkBatch(batch));
  double loss = 0;
  Status status =
      guard("model.linear evaluateLoss", [&] { loss = residuals(batch, nullptr, nullptr); });
  if (!status.ok()) {
    return status;
  }
  return loss / static_cast<double>(batch.features.dim(0)) + penalty();
}

Status LinearRegression::fit(const Dataset& data, std::uint64_t /*seed*/, FitObserver& observer) {
  const DatasetSchema& schema = data.schema();
  AIMASS_RETURN_IF_ERROR(checkSchema(schema));
  const std::uint64_t rows = data.size();
  if (rows == 0) {
    return invalidArgument("model.linear cannot fit an empty dataset");
  }
  const auto f = static_cast<std::size_t>(schema.row_shape[0]);
  const auto t = static_cast<std::size_t>(schema.num_targets);
  // Unknowns per target: the F weights, then the intercept when fitted.
  const std::size_t n = f + (options_.fit_intercept ? 1 : 0);
  return guard("model.linear fit", [&]() -> Status {
    std::vector<double> a(n * n, 0.0);  // X'X (upper triangle while accumulating)
    std::vector<double> b(n * t, 0.0);  // X'y, column t of each row holds target t
    std::vector<double> yy(t, 0.0);
    std::vector<double> xa(n, 1.0);  // one augmented row
    std::vector<std::uint64_t> indices;
    Batch batch;
    for (std::uint64_t start = 0; start < rows; start += kFitBatchRows) {
      const std::uint64_t end = std::min(rows, start + kFitBatchRows);
      indices.resize(end - start);
      std::iota(indices.begin(), indices.end(), start);
      AIMASS_RETURN_IF_ERROR(data.read(indices, batch).withContext("model.linear fit"));
      const auto count = static_cast<std::int64_t>(indices.size());
      if (batch.features.dtype() != DType::kFloat32 ||
          batch.features.shape() != Shape{count, static_cast<std::int64_t>(f)} ||
          batch.labels.dtype() != DType::kFloat32 ||
          batch.labels.shape() != Shape{count, static_cast<std::int64_t>(t)}) {
        return invalidArgument("model.linear: the dataset gave features " +
                               std::string(dtypeName(batch.features.dtype())) + " " +
                               shapeToString(batch.features.shape()) + " and labels " +
                               std::string(dtypeName(batch.labels.dtype())) + " " +
                               shapeToString(batch.labels.shape()) + " for " +
                               std::to_string(count) + " rows, not what its schema says");
      }
      const float* x = batch.features.data<float>();
      const float* y = batch.labels.data<float>();
      for (std::int64_t r = 0; r < count; ++r) {
        for (std::size_t i = 0; i < f; ++i) {
          xa[i] = x[static_cast<std::size_t>(r) * f + i];
        }
        for (std::size_t i = 0; i < n; ++i) {
          const double xi = xa[i];
          if (xi == 0) {
            continue;
          }
          double* ai = a.data() + i * n;
          for (std::size_t j = i; j < n; ++j) {
            ai[j] += xi * xa[j];
          }
          for (std::size_t k = 0; k < t; ++k) {
            b[i * t + k] += xi * y[static_cast<std::size_t>(r) * t + k];
          }
        }
        for (std::size_t k = 0; k < t; ++k) {
          const double yk = y[static_cast<std::size_t>(r) * t + k];
          yy[k] += yk * yk;
        }
      }
    }
    // Average, mirror the upper triangle, add the penalty on the weight rows.
    const double inv_rows = 1.0 / static_cast<double>(rows);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = i; j < n; ++j) {
        a[i * n + j] *= inv_rows;
        a[j * n + i] = a[i * n + j];
      }
      for (std::size_t k = 0; k < t; ++k) {
        b[i * t + k] *= inv_rows;
      }
    }
    for (auto& v : yy) {
      v *= inv_rows;
    }
    const std::vector<double> gram = a;  // for the objective below
    for (std::size_t i = 0; i < f; ++i) {
      a[i * n + i] += options_.l2;
    }
    const std::size_t bad = cholesky(a, n);
    if (bad < n) {
      const std::string column = bad < f ? "feature " + std::to_string(bad) +
                                               (bad < schema.feature_names.size()
                                                    ? " ('" + schema.feature_names[bad] + "')"
                                                    : std::string())
                                         : std::string("the intercept");
      return invalidArgument(
          "model.linear: the normal equations are singular (or nearly so) at " + column +
          ": some features are constant, zero or linear combinations of others" +
          (options_.l2 == 0 ? std::string("; set l2 > 0 (e.g. l2: 1e-6) to regularise the fit")
                            : std::string("; increase l2")));
    }
    Tensor weight(DType::kFloat32, {static_cast<std::int64_t>(f), static_cast<std::int64_t>(t)});
    Tensor bias = Tensor::zeros(DType::kFloat32, {static_cast<std::int64_t>(t)});
    std::vector<double> theta(n);
    double objective = 0;
    for (std::size_t k = 0; k < t; ++k) {
      for (std::size_t i = 0; i < n; ++i) {
        theta[i] = b[i * t + k];
      }
      choleskySolve(a, n, theta.data());
      // 1/(2N) ||X theta - y||^2 = (theta' G theta - 2 theta' X'y + y'y) / 2, all averaged.
      double quadratic = 0, linear = 0, squares = 0;
      for (std::size_t i = 0; i < n; ++i) {
        double gi = 0;
        for (std::size_t j = 0; j < n; ++j) {
          gi += gram[i * n + j] * theta[j];
        }
        quadratic += theta[i] * gi;
        linear += theta[i] * b[i * t + k];
      }
      for (std::size_t i = 0; i < f; ++i) {
        squares += theta[i] * theta[i];
      }
      objective +=
          0.5 * std::max(0.0, quadratic - 2 * linear + yy[k]) + 0.5 * options_.l2 * squares;
      for (std::size_t i = 0; i < f; ++i) {
        weight.data<float>()[i * t + k] = static_cast<float>(theta[i]);
      }
      if (options_.fit_intercept) {
        bias.data<float>()[k] = static_cast<float>(theta[f]);
      }
    }
    for (float v : weight.span<float>()) {
      if (!std::isfinite(v)) {
        return invalidArgument(
            "model.linear: the closed-form solution is not finite (features or targets too "
            "large for FP32?); scale the data or set l2 > 0");
      }
    }
    commit(std::move(weight), std::move(bias));
    observer.onIteration(1, objective);
    return okStatus();
  });
}

Status LinearRegression::predict(const TensorMap& inputs, TensorMap& outputs,
                                 const PredictOptions& /*options*/) const {
  if (!ready()) {
    return failedPrecondition("model.linear is not trained or loaded yet");
  }
  auto checked = featureInput("model.linear", inputs, features_);
  if (!checked.ok()) {
    return checked.status();
  }
  const Tensor* input = *checked;
  const std::int64_t rows = input->dim(0);
  return guard("model.linear predict", [&] {
    Tensor prediction(DType::kFloat32, {rows, targets_});
    std::vector<double> acc(static_cast<std::size_t>(targets_));
    const float* x = input->data<float>();
    const float* w = weight_.data<float>();
    const float* b = bias_.data<float>();
    float* p = prediction.data<float>();
    for (std::int64_t n = 0; n < rows; ++n) {
      for (std::int64_t t = 0; t < targets_; ++t) {
        acc[t] = b[t];
      }
      for (std::int64_t f = 0; f < features_; ++f) {
        const double xf = x[n * features_ + f];
        const float* wf = w + f * targets_;
        for (std::int64_t t = 0; t < targets_; ++t) {
          acc[t] += xf * wf[t];
        }
      }
      for (std::int64_t t = 0; t < targets_; ++t) {
        p[n * targets_ + t] = static_cast<float>(acc[t]);
      }
    }
    outputs.set(tensor_names::kPrediction, std::move(prediction));
  });
}

Status LinearRegression::save(std::string& payload) const {
  if (!ready()) {
    return failedPrecondition("model.linear has nothing to save: it is not trained or loaded");
  }
  return guard("model.linear save", [&] {
    payload.clear();
    ByteWriter out(payload);
    out.u64(static_cast<std::uint64_t>(features_));
    out.u64(static_cast<std::uint64_t>(targets_));
    out.u8(options_.fit_intercept ? 1 : 0);
    out.f64(options_.l2);
    out.floats(weight_.span<float>());
    out.floats(bias_.span<float>());
  });
}

Status LinearRegression::load(std::string_view payload, std::uint32_t format_version) {
  if (format_version != kFormatVersion) {
    return invalidArgument("model.linear payload format " + std::to_string(format_version) +
                           " is unknown (this version reads format " +
                           std::to_string(kFormatVersion) + ")");
  }
  return guard("model.linear load", [&]() -> Status {
    ByteReader in(payload);
    const std::uint64_t f = in.u64();
    const std::uint64_t t = in.u64();
    const std::uint8_t intercept = in.u8();
    const double l2 = in.f64();
    constexpr std::uint64_t kLimit = std::uint64_t{1} << 31;
    if (!in.ok() || f == 0 || t == 0 || f >= kLimit || t >= kLimit ||
        (f + 1) * t > in.remaining() / 4 || in.remaining() != (f + 1) * t * 4) {
      return dataLoss("model.linear payload is truncated or has impossible sizes (" +
                      std::to_string(f) + " features, " + std::to_string(t) + " targets, " +
                      std::to_string(payload.size()) + " bytes)");
    }
    if (intercept > 1) {
      return dataLoss("model.linear payload has an invalid fit_intercept flag " +
                      std::to_string(intercept));
    }
    if (!std::isfinite(l2) || l2 < 0) {
      return dataLoss("model.linear payload has an invalid l2 of " + std::to_string(l2));
    }
    const auto fi = static_cast<std::int64_t>(f);
    const auto ti = static_cast<std::int64_t>(t);
    Tensor weight(DType::kFloat32, {fi, ti});
    Tensor bias(DType::kFloat32, {ti});
    in.floats(weight.span<float>());
    in.floats(bias.span<float>());
    for (const Tensor* tensor : {&weight, &bias}) {
      for (float v : tensor->span<float>()) {
        if (!std::isfinite(v)) {
          return dataLoss("model.linear payload holds a NaN or infinite weight");
        }
      }
    }
    if (intercept == 0) {
      for (float v : bias.span<float>()) {
        if (v != 0) {
          return dataLoss("model.linear payload has a non-zero bias without fit_intercept");
        }
      }
    }
    commit(std::move(weight), std::move(bias));
    options_.l2 = l2;
    options_.fit_intercept = intercept == 1;
    return okStatus();
  });
}

}  // namespace aimass::plugins::model
