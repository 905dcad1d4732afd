// SPDX-License-Identifier: Apache-2.0
#pragma once

// Test data the model.kmeans and model.gmm tests share: unlabelled rows in memory and an
// observer that records the objectives.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "aimass/model.h"

namespace aimass::plugins::model {

/// Unlabelled in-memory rows.
class RowsDataset final : public Dataset {
 public:
  RowsDataset(std::vector<float> x, std::int64_t features) : x_(std::move(x)) {
    schema_.feature_dtype = DType::kFloat32;
    schema_.row_shape = {features};
    schema_.label_kind = LabelKind::kNone;
  }
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override {
    return x_.size() / static_cast<std::size_t>(schema_.row_shape[0]);
  }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    const std::int64_t f = schema_.row_shape[0];
    const auto n = static_cast<std::int64_t>(rows.size());
    largest_read_ = std::max(largest_read_, rows.size());
    out.features.resize(DType::kFloat32, {n, f});
    for (std::int64_t i = 0; i < n; ++i) {
      if (rows[i] >= size()) {
        return outOfRange("row " + std::to_string(rows[i]));
      }
      std::memcpy(out.features.data<float>() + i * f, x_.data() + rows[i] * f, 4 * f);
    }
    return okStatus();
  }
  /// The most rows one read() asked for (tests run single-threaded readers only).
  std::size_t largestRead() const { return largest_read_; }

 private:
  DatasetSchema schema_;
  std::vector<float> x_;
  mutable std::size_t largest_read_ = 0;
};

/// Records each iteration's objective; asks fit() to stop after iteration `stop_at` (0: never).
class Recorder final : public FitObserver {
 public:
  explicit Recorder(std::uint64_t stop_at = 0) : stop_at_(stop_at) {}
  bool onIteration(std::uint64_t iteration, double objective) override {
    objectives.push_back(objective);
    return iteration == stop_at_;
  }
  std::vector<double> objectives;

 private:
  std::uint64_t stop_at_;
};

}  // namespace aimass::plugins::model
