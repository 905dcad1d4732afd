// SPDX-License-Identifier: Apache-2.0
#include "minimal.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "aimass/byte_io.h"

namespace aimass::plugins::model {

namespace {

constexpr std::uint8_t kClassPayload = 1;
constexpr std::uint8_t kValuePayload = 2;

// Step 3: save() writes a byte layout you define and document, with the SDK's ByteWriter
// (aimass/byte_io.h): numbers little-endian, so payloads move between machines. The host wraps
// the payload in an envelope with the type name, the formatVersion() and a checksum.
std::int64_t mostProbable(const std::vector<double>& probabilities) {
  // Ties go to the lowest index, so the answer never depends on anything but the counts.
  return std::max_element(probabilities.begin(), probabilities.end()) - probabilities.begin();
}

}  // namespace

ModelSchema BaselineModel::schema() const {
  // Step 4: schema() describes inputs and outputs. Before the model is trained the sizes are
  // unknown, which -1 says; afterwards they are exact so the frontend can validate requests.
  ModelSchema schema;
  if (!state_) {
    schema.task = Task::kOther;
    schema.inputs = {{tensor_names::kInput, DType::kFloat32, {-1, -1}, false}};
    return schema;
  }
  schema.task = state_->task;
  schema.inputs = {{tensor_names::kInput, DType::kFloat32, {-1, state_->features}, false}};
  if (state_->task == Task::kClassification) {
    const auto classes = static_cast<std::int64_t>(state_->class_names.size());
    schema.outputs = {{tensor_names::kProbabilities, DType::kFloat32, {-1, classes}, false},
                      {tensor_names::kLabel, DType::kInt64, {-1}, false},
                      {tensor_names::kClass, DType::kBytes, {-1}, false}};
    schema.class_names = state_->class_names;
  } else {
    const auto targets = static_cast<std::int64_t>(state_->means.size());
    schema.outputs = {{tensor_names::kPrediction, DType::kFloat32, {-1, targets}, false}};
  }
  return schema;
}

Status BaselineModel::fit(const Dataset& data, std::uint64_t /*seed*/, FitObserver& observer) {
  // Step 5: check that the data suits the model before doing any work, and say precisely
  // what is wrong: the user sees this message when the config pairs the wrong dataset.
  const DatasetSchema& schema = data.schema();
  if (schema.label_kind != LabelKind::kClass && schema.label_kind != LabelKind::kValue) {
    return invalidArgument(
        "model.baseline needs class or value labels; the dataset is "
        "unlabelled or has sequence labels");
  }
  if (schema.feature_dtype != DType::kFloat32 || schema.row_shape.size() != 1 ||
      schema.row_shape[0] <= 0) {
    return invalidArgument("model.baseline needs FP32 rows of shape [F], the dataset has " +
                           std::string(dtypeName(schema.feature_dtype)) + " rows of " +
                           shapeToString(schema.row_shape));
  }
  if (schema.label_kind == LabelKind::kClass && schema.class_names.empty()) {
    return invalidArgument("model.baseline: the dataset has class labels but no class names");
  }
  if (data.size() == 0) {
    return invalidArgument("model.baseline cannot fit an empty dataset");
  }

  return guard("model.baseline fit", [&]() -> Status {
    State state;
    state.features = schema.row_shape[0];
    const bool classes = schema.label_kind == LabelKind::kClass;
    const std::size_t width =
        classes ? schema.class_names.size() : static_cast<std::size_t>(schema.num_targets);
    std::vector<double> sums(width, 0.0);
    std::vector<double> squares(width, 0.0);

    // Step 6: read the data in batches, reusing one Batch: read() resizes its tensors only
    // when they are too small, so the loop allocates nothing after the first batch.
    Batch batch;
    std::vector<std::uint64_t> rows;
    constexpr std::uint64_t kBatchRows = 4096;
    for (std::uint64_t start = 0; start < data.size(); start += kBatchRows) {
      rows.clear();
      for (std::uint64_t i = start; i < std::min(data.size(), start + kBatchRows); ++i) {
        rows.push_back(i);
      }
      AIMASS_RETURN_IF_ERROR(data.read(rows, batch));
      const Tensor& labels = batch.labels;
      const auto wanted = static_cast<std::int64_t>(rows.size() * (classes ? 1 : width));
      if (labels.dtype() != (classes ? DType::kInt64 : DType::kFloat32) ||
          labels.numel() != wanted) {
        return invalidArgument("model.baseline: the dataset returned labels " +
                               std::string(dtypeName(labels.dtype())) + " " +
                               shapeToString(labels.shape()) + " for " +
                               std::to_string(rows.size()) + " rows");
      }
      if (classes) {
        for (std::int64_t label : batch.labels.span<std::int64_t>()) {
          if (label < 0 || static_cast<std::size_t>(label) >= width) {
            return invalidArgument("model.baseline: the dataset has class " +
                                   std::to_string(label) + ", outside its " +
                                   std::to_string(width) + " class names");
          }
          sums[static_cast<std::size_t>(label)] += 1;
        }
      } else {
        auto values = batch.labels.span<float>();
        for (std::size_t i = 0; i < values.size(); ++i) {
          sums[i % width] += values[i];
          squares[i % width] += double(values[i]) * values[i];
        }
      }
    }

    // Step 7: report progress through the observer; it may ask to stop, which matters for
    // iterative models. A baseline is done after one pass, so it just reports its objective:
    // the training cross-entropy (classes) or mean squared error (values) of its prediction.
    const auto n = static_cast<double>(data.size());
    double objective = 0;
    if (classes) {
      state.task = Task::kClassification;
      state.class_names = schema.class_names;
      for (double count : sums) {
        const double p = count / n;
        state.probabilities.push_back(p);
        objective -= p > 0 ? p * std::log(p) : 0;
      }
    } else {
      state.task = Task::kRegression;
      for (std::size_t t = 0; t < width; ++t) {
        const double mean = sums[t] / n;
        state.means.push_back(mean);
        objective += std::max(0.0, squares[t] / n - mean * mean) / static_cast<double>(width);
      }
    }
    observer.onIteration(1, objective);
    state_ = std::move(state);
    return okStatus();
  });
}

Status BaselineModel::predict(const TensorMap& inputs, TensorMap& outputs,
                              const PredictOptions& /*options*/) const {
  // Step 8: predict() runs on many threads at once. It reads state_ and writes only to
  // `outputs`, so it needs no lock. It checks its inputs itself: callers validate against
  // schema() too, but a model must never crash on bad input. aimass::featureInput() makes
  // the checks of the "input" FP32 [-1, F] convention with clear messages.
  if (!state_) {
    return failedPrecondition("model.baseline is not fitted or loaded yet");
  }
  auto checked = featureInput("model.baseline", inputs, state_->features);
  if (!checked.ok()) {
    return checked.status();
  }
  const Tensor* input = *checked;
  const std::int64_t rows = input->dim(0);

  // Step 9: write every output the schema lists, with the batch dimension first.
  return guard("model.baseline predict", [&] {
    if (state_->task == Task::kClassification) {
      const auto classes = static_cast<std::int64_t>(state_->probabilities.size());
      const std::int64_t best = mostProbable(state_->probabilities);
      Tensor probabilities(DType::kFloat32, {rows, classes});
      Tensor label(DType::kInt64, {rows});
      float* p = probabilities.data<float>();
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c = 0; c < classes; ++c) {
          p[r * classes + c] = static_cast<float>(state_->probabilities[c]);
        }
        label.data<std::int64_t>()[r] = best;
      }
      outputs.set(tensor_names::kProbabilities, std::move(probabilities));
      outputs.set(tensor_names::kLabel, std::move(label));
      outputs.set(tensor_names::kClass,
                  Tensor::fromStrings(std::vector<std::string>(static_cast<std::size_t>(rows),
                                                               state_->class_names[best])));
    } else {
      const auto targets = static_cast<std::int64_t>(state_->means.size());
      Tensor prediction(DType::kFloat32, {rows, targets});
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t t = 0; t < targets; ++t) {
          prediction.data<float>()[r * targets + t] = static_cast<float>(state_->means[t]);
        }
      }
      outputs.set(tensor_names::kPrediction, std::move(prediction));
    }
  });
}

Status BaselineModel::save(std::string& payload) const {
  if (!state_) {
    return failedPrecondition("model.baseline has nothing to save: it is not fitted or loaded");
  }
  return guard("model.baseline save", [&] {
    payload.clear();
    ByteWriter out(payload);
    const bool classes = state_->task == Task::kClassification;
    out.u8(classes ? kClassPayload : kValuePayload);
    out.u64(static_cast<std::uint64_t>(state_->features));
    if (classes) {
      out.u64(state_->class_names.size());
      for (std::size_t c = 0; c < state_->class_names.size(); ++c) {
        out.u64(state_->class_names[c].size());
        out.bytes(state_->class_names[c]);
        out.f64(state_->probabilities[c]);
      }
    } else {
      out.u64(state_->means.size());
      for (double mean : state_->means) {
        out.f64(mean);
      }
    }
  });
}

Status BaselineModel::load(std::string_view payload, std::uint32_t format_version) {
  // Step 10: load() accepts every format version the model ever wrote and refuses others
  // with kInvalidArgument. It parses into a fresh State and checks every size against the
  // bytes left before allocating, so a corrupt payload is refused (kDataLoss) and the model
  // keeps its old state.
  if (format_version != kFormatVersion) {
    return invalidArgument("model.baseline payload format " + std::to_string(format_version) +
                           " is unknown (this version reads format " +
                           std::to_string(kFormatVersion) + ")");
  }
  return guard("model.baseline load", [&]() -> Status {
    ByteReader in(payload);
    State state;
    const auto kind = static_cast<std::uint8_t>(in.u8());
    const std::uint64_t features = in.u64();
    const std::uint64_t count = in.u64();
    auto corrupt = [&](const std::string& why) {
      return dataLoss("model.baseline payload (" + std::to_string(payload.size()) +
                      " bytes) is corrupt: " + why);
    };
    if (!in.ok() || (kind != kClassPayload && kind != kValuePayload)) {
      return corrupt("no valid header");
    }
    if (features == 0 || features > (std::uint64_t{1} << 40)) {
      return corrupt("it claims " + std::to_string(features) + " features");
    }
    // Each class takes at least 16 bytes, each target 8: a count beyond that is corruption.
    if (count == 0 || count > in.remaining() / (kind == kClassPayload ? 16 : 8)) {
      return corrupt("it claims " + std::to_string(count) + " entries");
    }
    state.features = static_cast<std::int64_t>(features);
    if (kind == kClassPayload) {
      state.task = Task::kClassification;
      double total = 0;
      for (std::uint64_t c = 0; c < count && in.ok(); ++c) {
        state.class_names.push_back(in.bytes(in.u64()));
        const double p = in.f64();
        if (!(p >= 0 && p <= 1)) {
          return corrupt("class " + std::to_string(c) + " has probability " + std::to_string(p));
        }
        total += p;
        state.probabilities.push_back(p);
      }
      if (in.ok() && std::fabs(total - 1) > 1e-6) {
        return corrupt("the class probabilities sum to " + std::to_string(total));
      }
    } else {
      state.task = Task::kRegression;
      for (std::uint64_t t = 0; t < count && in.ok(); ++t) {
        const double mean = in.f64();
        if (!std::isfinite(mean)) {
          return corrupt("target " + std::to_string(t) + " has a non-finite mean");
        }
        state.means.push_back(mean);
      }
    }
    if (!in.ok()) {
      return corrupt("it is truncated");
    }
    if (!in.atEnd()) {
      return corrupt(std::to_string(in.remaining()) + " unexpected bytes at the end");
    }
    state_ = std::move(state);
    return okStatus();
  });
}

}  // namespace aimass::plugins::model
