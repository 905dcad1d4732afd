// SPDX-License-Identifier: Apache-2.0
// Small hand-computable models for the serving graph and traffic split tests.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "aimass/model.h"

namespace aimass::core::testing {

/// A model with one FP32 [-1, 1] input "input" and one FP32 [-1, 1] output "prediction":
/// scale * input + offset. With `label`, it also writes INT64 [-1] "label": 1 when the
/// prediction is above 0, else 0. Counts its predict() calls.
class Affine : public Model {
 public:
  Affine(float scale, float offset, bool label = false)
      : scale_(scale), offset_(offset), label_(label) {}
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kRegression;
    s.inputs = {TensorSpec("input", DType::kFloat32, {-1, 1})};
    s.outputs = {TensorSpec("prediction", DType::kFloat32, {-1, 1})};
    if (label_) {
      s.outputs.push_back(TensorSpec("label", DType::kInt64, {-1}));
    }
    return s;
  }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    calls.fetch_add(1);
    const Tensor* in = inputs.find("input");
    if (in == nullptr) {
      return invalidArgument("missing input");
    }
    const std::int64_t rows = in->dim(0);
    Tensor out(DType::kFloat32, {rows, 1});
    Tensor label(DType::kInt64, {rows});
    for (std::int64_t r = 0; r < rows; ++r) {
      out.data<float>()[r] = scale_ * in->data<float>()[r] + offset_;
      label.data<std::int64_t>()[r] = out.data<float>()[r] > 0 ? 1 : 0;
    }
    outputs.set("prediction", std::move(out));
    if (label_) {
      outputs.set("label", std::move(label));
    }
    return okStatus();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string&) const override { return unimplemented("test model"); }
  Status load(std::string_view, std::uint32_t) override { return unimplemented("test model"); }

  mutable std::atomic<int> calls{0};

 private:
  float scale_;
  float offset_;
  bool label_;
};

/// An Affine whose predict() waits, once entered, until release() (to fill a shadow queue
/// without timing).
class Gated final : public Affine {
 public:
  Gated() : Affine(1, 0, true) {}
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override {
    {
      std::unique_lock lock(mutex_);
      entered_ = true;
      changed_.notify_all();
      changed_.wait(lock, [&] { return released_; });
    }
    return Affine::predict(inputs, outputs, options);
  }
  void waitEntered() const {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return entered_; });
  }
  void release() const {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  mutable bool entered_ = false;
  mutable bool released_ = false;
};

/// A [rows, 1] FP32 tensor of `values`.
inline Tensor column(const std::vector<float>& values) {
  return Tensor::fromVector(values, {static_cast<std::int64_t>(values.size()), 1});
}

}  // namespace aimass::core::testing
