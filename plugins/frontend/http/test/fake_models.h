// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>

#include "aimass/model.h"

namespace aimass::plugins::frontend {

/// A two-feature classifier: class "high" when x0 > x1, else "low". Its probabilities are a
/// logistic of x0 - x1, so answers are easy to predict in tests. Knobs make it unready, slow,
/// failing or throwing.
class TwoFeatureClassifier final : public Model {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kClassification;
    s.inputs = {{"input", DType::kFloat32, {-1, 2}}};
    s.outputs = {{"probabilities", DType::kFloat32, {-1, 2}},
                 {"label", DType::kInt64, {-1}},
                 {"class", DType::kBytes, {-1}}};
    s.class_names = {"low", "high"};
    return s;
  }
  bool ready() const override { return ready_; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    ++entered;
    if (delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
    }
    if (!ready_) {
      return failedPrecondition("not trained");
    }
    if (fail_with != StatusCode::kOk) {
      return Status(fail_with, "the model broke");
    }
    if (throw_in_predict) {
      throw std::runtime_error("boom");
    }
    const Tensor* x = inputs.find("input");
    if (!x || x->dtype() != DType::kFloat32 || x->rank() != 2 || x->dim(1) != 2) {
      return invalidArgument("input must be FP32 [n, 2]");
    }
    auto n = x->dim(0);
    Tensor probabilities(DType::kFloat32, {n, 2});
    Tensor labels(DType::kInt64, {n});
    std::vector<std::string> classes;
    for (std::int64_t i = 0; i < n; ++i) {
      float a = x->data<float>()[2 * i], b = x->data<float>()[2 * i + 1];
      float high = 1.0f / (1.0f + std::exp(-(a - b)));
      probabilities.data<float>()[2 * i] = 1.0f - high;
      probabilities.data<float>()[2 * i + 1] = high;
      labels.data<std::int64_t>()[i] = a > b ? 1 : 0;
      classes.push_back(a > b ? "high" : "low");
    }
    outputs.set("probabilities", probabilities);
    outputs.set("label", labels);
    outputs.set("class", Tensor::fromStrings(std::move(classes)));
    ++completed;
    return Status();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string&) const override { return Status(); }
  Status load(std::string_view, std::uint32_t) override { return Status(); }

  bool ready_ = true;
  StatusCode fail_with = StatusCode::kOk;
  bool throw_in_predict = false;
  std::atomic<int> delay_ms{0};
  mutable std::atomic<int> entered{0};
  mutable std::atomic<int> completed{0};
};

}  // namespace aimass::plugins::frontend
