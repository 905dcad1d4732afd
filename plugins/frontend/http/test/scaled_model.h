// SPDX-License-Identifier: Apache-2.0
// A model whose answers show which version computed them, and a gate that holds its predict()
// calls: for the tests of the serving runtime behind frontend.http.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "aimass/model.h"
#include "gate.h"

namespace aimass::plugins::frontend {

using aimass::testing::Gate;

/// output = input * factor, and "version" = factor for every row, so a response shows which
/// version computed each of its rows. Its saved form is the factor and a ballast size; load()
/// allocates (and touches) the ballast, standing in for a model's weights.
class ScaledModel final : public Model {
 public:
  explicit ScaledModel(float factor = 1, std::size_t ballast_bytes = 0) : factor_(factor) {
    allocate(ballast_bytes);
  }
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kRegression;
    s.inputs = {{"input", DType::kFloat32, {-1, 2}}};
    s.outputs = {{"output", DType::kFloat32, {-1, 2}}, {"version", DType::kInt64, {-1}}};
    return s;
  }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    ++executions;
    if (gate != nullptr) {
      gate->pass();
    }
    const Tensor* x = inputs.find("input");
    if (x == nullptr || x->dtype() != DType::kFloat32 || x->rank() != 2 || x->dim(1) != 2) {
      return invalidArgument("input must be FP32 [n, 2]");
    }
    std::int64_t n = x->dim(0);
    std::int64_t seen = largest_batch.load();
    while (n > seen && !largest_batch.compare_exchange_weak(seen, n)) {
    }
    Tensor y(DType::kFloat32, {n, 2});
    Tensor v(DType::kInt64, {n});
    for (std::int64_t i = 0; i < n; ++i) {
      y.data<float>()[2 * i] = x->data<float>()[2 * i] * factor_;
      y.data<float>()[2 * i + 1] = x->data<float>()[2 * i + 1] * factor_;
      v.data<std::int64_t>()[i] = static_cast<std::int64_t>(factor_);
    }
    outputs.set("output", y);
    outputs.set("version", v);
    return Status();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override {
    payload = std::to_string(factor_) + " " + std::to_string(ballast_.size());
    return Status();
  }
  Status load(std::string_view payload, std::uint32_t) override {
    float factor = 0;
    std::size_t bytes = 0;
    if (std::sscanf(std::string(payload).c_str(), "%f %zu", &factor, &bytes) != 2) {
      return invalidArgument("bad payload");
    }
    factor_ = factor;
    allocate(bytes);
    return Status();
  }

  const Gate* gate = nullptr;
  mutable std::atomic<int> executions{0};
  mutable std::atomic<std::int64_t> largest_batch{0};

 private:
  void allocate(std::size_t bytes) {
    ballast_.assign(bytes, '\0');
    if (bytes > 0) {
      std::memset(ballast_.data(), 1, bytes);  // make the pages resident
    }
  }
  float factor_;
  std::vector<char> ballast_;
};

}  // namespace aimass::plugins::frontend
