// SPDX-License-Identifier: Apache-2.0
// Test models for the serving runtime's unit tests, whose answers show which rows and which
// version computed them, and which a Gate (tests/support/gate.h) can hold inside predict().
#pragma once

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aimass/model.h"
#include "gate.h"

namespace aimass::core::testing {

using aimass::testing::Gate;

/// input "x" FP32 [-1, -1] (any width, so that requests of different widths cannot share a
/// batch); outputs "y" = x * factor (FP32 [-1, -1]), "version" = factor per row (INT64 [-1]) and
/// "text" (BYTES [-1, 2]): per row, its first value (or, with the optional input "tag", BYTES
/// [-1], its tag) and "v<factor>" as text. A value of 13 is
/// refused as the request's fault (kInvalidArgument naming its row in the batch the model got),
/// a value of 99 fails the whole call (kInternal). Notes the rows of every predict() call and
/// the thread it ran on, and the "precision" parameter it got ("" when none). Its saved form is
/// the factor.
class ScaleModel final : public Model {
 public:
  explicit ScaleModel(float factor = 1, const Gate* gate = nullptr)
      : factor_(factor), gate_(gate) {}

  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kRegression;
    s.inputs = {TensorSpec("x", DType::kFloat32, {-1, -1}),
                TensorSpec("tag", DType::kBytes, {-1}, /*optional_=*/true)};
    s.outputs = {TensorSpec("y", DType::kFloat32, {-1, -1}),
                 TensorSpec("version", DType::kInt64, {-1}),
                 TensorSpec("text", DType::kBytes, {-1, 2})};
    return s;
  }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override {
    const Tensor* x = inputs.find("x");
    const Tensor* tag = inputs.find("tag");
    const std::int64_t rows = x->dim(0), width = x->dim(1);
    {
      std::lock_guard lock(mutex_);
      calls_.push_back(rows);
      threads_.push_back(std::this_thread::get_id());
      const std::string* precision = options.parameter("precision");
      precisions_.push_back(precision != nullptr ? *precision : "");
    }
    if (gate_ != nullptr) {
      gate_->pass();
    }
    Tensor y(DType::kFloat32, {rows, width});
    std::vector<std::int64_t> version(static_cast<std::size_t>(rows),
                                      static_cast<std::int64_t>(factor_));
    std::vector<std::string> text;
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < width; ++c) {
        const float v = x->data<float>()[r * width + c];
        if (v == 13) {
          return invalidArgument("row " + std::to_string(r) + " of 'x' holds 13");
        }
        if (v == 99) {
          return internalError("the device failed");
        }
        y.data<float>()[r * width + c] = v * factor_;
      }
      char first[32];
      std::snprintf(first, sizeof first, "%g", width > 0 ? x->data<float>()[r * width] : 0.0f);
      text.push_back(tag != nullptr ? tag->strings()[static_cast<std::size_t>(r)] : first);
      text.push_back("v" + std::to_string(static_cast<int>(factor_)));
    }
    outputs.set("y", std::move(y));
    outputs.set("version", Tensor::fromVector(version, {rows}));
    outputs.set("text", Tensor::fromStrings(std::move(text)).reshaped({rows, 2}));
    return okStatus();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override {
    payload = std::to_string(factor_);
    return okStatus();
  }
  Status load(std::string_view payload, std::uint32_t) override {
    float factor = 0;
    if (std::sscanf(std::string(payload).c_str(), "%f", &factor) != 1) {
      return invalidArgument("bad payload");
    }
    factor_ = factor;
    return okStatus();
  }

  /// The rows of each predict() call so far, in order.
  std::vector<std::int64_t> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  /// The thread of each predict() call so far, in order.
  std::vector<std::thread::id> threads() const {
    std::lock_guard lock(mutex_);
    return threads_;
  }
  /// The "precision" parameter of each predict() call so far ("" when none), in order.
  std::vector<std::string> precisions() const {
    std::lock_guard lock(mutex_);
    return precisions_;
  }

 private:
  float factor_;
  const Gate* gate_;
  mutable std::mutex mutex_;
  mutable std::vector<std::int64_t> calls_;
  mutable std::vector<std::thread::id> threads_;
  mutable std::vector<std::string> precisions_;
};

/// A model whose schema promises a batch (first) dimension for its output "total" (FP32 [-1])
/// that predict() does not keep: it answers one value, the sum of every row it got. With
/// `fixed_schema` the schema says so instead ("total" FP32 [1]), and the runtime must not batch.
class SumModel final : public Model {
 public:
  explicit SumModel(bool fixed_schema) : fixed_schema_(fixed_schema) {}
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kRegression;
    s.inputs = {TensorSpec("x", DType::kFloat32, {-1, 1})};
    s.outputs = {TensorSpec("total", DType::kFloat32, {fixed_schema_ ? 1 : -1})};
    return s;
  }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    const Tensor* x = inputs.find("x");
    {
      std::lock_guard lock(mutex_);
      threads_.push_back(std::this_thread::get_id());
    }
    if (gate != nullptr) {
      gate->pass();
    }
    float total = 0;
    for (std::int64_t r = 0; r < x->dim(0); ++r) {
      total += x->data<float>()[r];
    }
    outputs.set("total", Tensor::fromVector(std::vector<float>{total}, {1}));
    return okStatus();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string&) const override { return unimplemented("test model"); }
  Status load(std::string_view, std::uint32_t) override { return unimplemented("test model"); }

  std::vector<std::thread::id> threads() const {
    std::lock_guard lock(mutex_);
    return threads_;
  }

  const Gate* gate = nullptr;

 private:
  bool fixed_schema_;
  mutable std::mutex mutex_;
  mutable std::vector<std::thread::id> threads_;
};

}  // namespace aimass::core::testing
