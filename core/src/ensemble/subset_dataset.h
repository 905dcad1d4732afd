// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "aimass/dataset.h"
#include "aimass/status.h"
#include "aimass/tensor.h"

namespace aimass::core {

/// Some rows of another dataset, in a given order: row i of the view is row rows[i] of `base`.
/// model.ensemble trains members on the folds of stacking through it. The base must outlive
/// the view. Threading: read() is as thread-safe as the base's.
class SubsetDataset final : public Dataset {
 public:
  SubsetDataset(const Dataset& base, std::vector<std::uint64_t> rows)
      : base_(base), rows_(std::move(rows)) {}

  const DatasetSchema& schema() const override { return base_.schema(); }
  std::uint64_t size() const override { return rows_.size(); }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    std::vector<std::uint64_t> mapped;
    mapped.reserve(rows.size());
    for (std::uint64_t row : rows) {
      if (row >= rows_.size()) {
        return outOfRange("row " + std::to_string(row) + " of a subset of " +
                          std::to_string(rows_.size()) + " rows");
      }
      mapped.push_back(rows_[row]);
    }
    return base_.read(mapped, out);
  }

 private:
  const Dataset& base_;
  std::vector<std::uint64_t> rows_;
};

/// Rows held in memory: FP32 features {rows, width} and the labels of the same rows (INT64
/// {rows} classes or FP32 {rows, targets} values), under `schema`. The stacking meta model
/// trains on one holding the members' out-of-fold outputs. Threading: read() is const and safe
/// from many threads.
class MatrixDataset final : public Dataset {
 public:
  MatrixDataset(DatasetSchema schema, std::vector<float> features, std::int64_t width,
                Tensor labels)
      : schema_(std::move(schema)),
        features_(std::move(features)),
        width_(width),
        labels_(std::move(labels)) {}

  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override {
    return width_ > 0 ? features_.size() / static_cast<std::size_t>(width_) : 0;
  }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    const auto n = static_cast<std::int64_t>(rows.size());
    const std::int64_t targets = labels_.rank() == 2 ? labels_.dim(1) : 1;
    out.features = Tensor(DType::kFloat32, {n, width_});
    out.labels =
        labels_.rank() == 2 ? Tensor(labels_.dtype(), {n, targets}) : Tensor(labels_.dtype(), {n});
    out.lengths = Tensor();
    out.strings = Tensor();
    const std::size_t label_bytes = dtypeSize(labels_.dtype()) * static_cast<std::size_t>(targets);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::uint64_t row = rows[static_cast<std::size_t>(i)];
      if (row >= size()) {
        return outOfRange("row " + std::to_string(row) + " of " + std::to_string(size()));
      }
      std::copy_n(features_.data() + row * width_, width_, out.features.data<float>() + i * width_);
      std::copy_n(static_cast<const char*>(labels_.raw()) + row * label_bytes, label_bytes,
                  static_cast<char*>(out.labels.raw()) + i * label_bytes);
    }
    return Status();
  }

 private:
  DatasetSchema schema_;
  std::vector<float> features_;
  std::int64_t width_;
  Tensor labels_;
};

}  // namespace aimass::core
