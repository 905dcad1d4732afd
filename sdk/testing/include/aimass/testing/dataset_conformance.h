// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The dataset conformance suite: what every aimass::Dataset reader must do.
///
/// checkDataset() only reads. It reads at most a few thousand rows for the content checks and
/// scans up to 100 000 rows' labels, so it stays quick on large datasets.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "aimass/dataset.h"
#include "aimass/testing/check.h"

namespace aimass::testing {

namespace dataset_conformance_detail {

/// Byte-exact equality of two tensors (dtype, shape and contents).
inline bool sameTensor(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) {
    return false;
  }
  if (a.dtype() == DType::kBytes) {
    return a.strings() == b.strings();
  }
  if (a.nbytes() != b.nbytes()) {
    return false;
  }
  return a.nbytes() == 0 || std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

inline bool sameBatch(const Batch& a, const Batch& b) {
  return sameTensor(a.features, b.features) && sameTensor(a.labels, b.labels) &&
         sameTensor(a.lengths, b.lengths) && sameTensor(a.strings, b.strings);
}

/// True when `shape` is {rows, pattern...}, where -1 in `pattern` matches any size.
inline bool matchesRowShape(const Shape& shape, std::int64_t rows, const Shape& pattern) {
  if (shape.size() != pattern.size() + 1 || shape[0] != rows) {
    return false;
  }
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] >= 0 && shape[i + 1] != pattern[i]) {
      return false;
    }
  }
  return true;
}

/// What is wrong with a batch of `rows` rows for `schema`; empty when it is right.
inline std::string batchProblem(const DatasetSchema& schema, const Batch& batch,
                                std::int64_t rows) {
  if (batch.features.dtype() != schema.feature_dtype) {
    return "features are " + std::string(dtypeName(batch.features.dtype())) + ", schema says " +
           std::string(dtypeName(schema.feature_dtype));
  }
  if (!matchesRowShape(batch.features.shape(), rows, schema.row_shape)) {
    return "features have shape " + shapeToString(batch.features.shape()) + " for " +
           std::to_string(rows) + " rows of " + shapeToString(schema.row_shape);
  }
  switch (schema.label_kind) {
    case LabelKind::kClass:
      if (batch.labels.dtype() != DType::kInt64 || batch.labels.shape() != Shape{rows}) {
        return "class labels are " + std::string(dtypeName(batch.labels.dtype())) + " " +
               shapeToString(batch.labels.shape()) + ", expected INT64 [" + std::to_string(rows) +
               "]";
      }
      break;
    case LabelKind::kValue:
      if (batch.labels.dtype() != DType::kFloat32 ||
          batch.labels.shape() != Shape{rows, schema.num_targets}) {
        return "value labels are " + std::string(dtypeName(batch.labels.dtype())) + " " +
               shapeToString(batch.labels.shape()) + ", expected FP32 [" + std::to_string(rows) +
               ", " + std::to_string(schema.num_targets) + "]";
      }
      break;
    case LabelKind::kNextToken:
      if (batch.labels.dtype() != DType::kInt64 || batch.labels.rank() == 0 ||
          batch.labels.dim(0) != rows) {
        return "next-token labels are " + std::string(dtypeName(batch.labels.dtype())) + " " +
               shapeToString(batch.labels.shape()) + ", expected INT64 with " +
               std::to_string(rows) + " rows";
      }
      break;
    case LabelKind::kNone:
      break;
  }
  const auto text_columns = static_cast<std::int64_t>(schema.string_feature_names.size());
  if (text_columns > 0 && (batch.strings.dtype() != DType::kBytes ||
                           batch.strings.shape() != Shape{rows, text_columns})) {
    return "strings are " + std::string(dtypeName(batch.strings.dtype())) + " " +
           shapeToString(batch.strings.shape()) + ", expected BYTES [" + std::to_string(rows) +
           ", " + std::to_string(text_columns) + "] for the text columns";
  }
  return {};
}

}  // namespace dataset_conformance_detail

/// Runs every dataset check against `data`. Never throws; failures are in the results.
inline CheckResults checkDataset(const Dataset& data) {
  namespace d = dataset_conformance_detail;
  CheckResults r;
  const DatasetSchema& schema = data.schema();
  const std::uint64_t size = data.size();

  expectThat(r, "size() is positive", size > 0, "size() is 0");
  if (size == 0) {
    return r;
  }

  {
    std::string problem;
    if (schema.row_shape.empty()) {
      problem = "row_shape is empty";
    } else if (std::any_of(schema.row_shape.begin(), schema.row_shape.end(),
                           [](std::int64_t dim) { return dim == 0 || dim < -1; }) &&
               // Data whose features are all text has no numeric ones: row_shape {0}.
               !(schema.row_shape == Shape{0} && !schema.string_feature_names.empty())) {
      problem = "row_shape " + shapeToString(schema.row_shape) + " has a zero or invalid size";
    } else if (schema.row_shape.size() == 1 && schema.row_shape[0] > 0 &&
               !schema.feature_names.empty() &&
               schema.feature_names.size() != static_cast<std::size_t>(schema.row_shape[0])) {
      problem = std::to_string(schema.feature_names.size()) + " feature names for " +
                std::to_string(schema.row_shape[0]) + " features";
    } else if (schema.feature_dtype != DType::kFloat32 && schema.feature_dtype != DType::kInt64) {
      problem = "feature dtype " + std::string(dtypeName(schema.feature_dtype)) +
                " is neither FP32 nor INT64";
    } else if (schema.label_kind == LabelKind::kClass &&
               (schema.class_names.empty() || schema.num_targets != 1)) {
      problem = "class labels need class_names (has " + std::to_string(schema.class_names.size()) +
                ") and num_targets 1 (has " + std::to_string(schema.num_targets) + ")";
    } else if (schema.label_kind == LabelKind::kValue && schema.num_targets < 1) {
      problem =
          "value labels need num_targets >= 1 (has " + std::to_string(schema.num_targets) + ")";
    }
    expectThat(r, "the schema is consistent", problem.empty(), problem);
  }

  // First and last rows, with the shapes the schema promises.
  {
    const std::uint64_t last = size - 1;
    const std::vector<std::uint64_t> rows = {0, last};
    Batch batch;
    Status s = data.read(rows, batch);
    std::string problem = s.ok() ? d::batchProblem(schema, batch, 2) : s.toString();
    expectThat(r, "reading the first and last rows gives the schema's shapes", problem.empty(),
               problem);

    Batch single;
    Status one = data.read(std::vector<std::uint64_t>{last}, single);
    problem = one.ok() ? d::batchProblem(schema, single, 1) : one.toString();
    expectThat(r, "reading one row gives a batch of one", problem.empty(), problem);

    Batch none;
    Status empty = data.read({}, none);
    expectThat(r, "reading no rows succeeds with zero rows", empty.ok() && none.rows() == 0,
               empty.ok() ? std::to_string(none.rows()) + " rows" : empty.toString());
  }

  // The same rows read twice are the same bytes, and reused buffers do not leak old rows.
  {
    const std::vector<std::uint64_t> rows = {size - 1, 0, size / 2, size / 3, 0};
    Batch first, second, reused;
    Status a = data.read(rows, first);
    Status b = data.read(rows, second);
    expectThat(r, "reading the same rows twice gives equal bytes",
               a.ok() && b.ok() && d::sameBatch(first, second),
               !a.ok()   ? a.toString()
               : !b.ok() ? b.toString()
                         : "the batches differ");
    const std::vector<std::uint64_t> more = {0, 1 % size, 2 % size, size / 2, size - 1, 0, 0};
    Status c = data.read(more, reused);
    Status e = data.read(rows, reused);
    expectThat(r, "a batch reused for a smaller read holds exactly the new rows",
               c.ok() && e.ok() && d::sameBatch(first, reused),
               !c.ok()   ? c.toString()
               : !e.ok() ? e.toString()
                         : "the batches differ");
  }

  // Reads past the end name the index.
  {
    Batch batch;
    Status s = data.read(std::vector<std::uint64_t>{0, size}, batch);
    const std::string index = std::to_string(size);
    expectThat(r, "reading row size() gives kOutOfRange naming the index",
               s.code() == StatusCode::kOutOfRange && s.message().find(index) != std::string::npos,
               s.toString());
  }

  // Concurrent readers see what a serial reader sees.
  {
    constexpr int kThreads = 4;
    constexpr std::uint64_t kBatch = 16;
    const std::uint64_t sample = std::min<std::uint64_t>(size, 2048);
    std::vector<std::vector<std::uint64_t>> batches;
    for (std::uint64_t start = 0; start < sample; start += kBatch) {
      std::vector<std::uint64_t> rows;
      for (std::uint64_t i = start; i < std::min(sample, start + kBatch); ++i) {
        rows.push_back((i * 7919) % size);
      }
      batches.push_back(std::move(rows));
    }
    std::vector<Batch> serial(batches.size());
    std::string problem;
    for (std::size_t i = 0; i < batches.size() && problem.empty(); ++i) {
      Status s = data.read(batches[i], serial[i]);
      if (!s.ok()) {
        problem = s.toString();
      }
    }
    std::vector<std::string> errors(kThreads);
    if (problem.empty()) {
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          Batch batch;
          for (int round = 0; round < 3 && errors[t].empty(); ++round) {
            for (std::size_t i = (t + round) % batches.size(); i < batches.size(); i += 1) {
              Status s = data.read(batches[i], batch);
              if (!s.ok()) {
                errors[t] = s.toString();
                break;
              }
              if (!d::sameBatch(batch, serial[i])) {
                errors[t] = "thread " + std::to_string(t) + " read different bytes for batch " +
                            std::to_string(i);
                break;
              }
            }
          }
        });
      }
      for (auto& thread : threads) {
        thread.join();
      }
      for (const auto& e : errors) {
        if (!e.empty() && problem.empty()) {
          problem = e;
        }
      }
    }
    expectThat(r, "4 threads reading at once get the same bytes as serial reads", problem.empty(),
               problem);
  }

  // Class labels index class_names.
  if (schema.label_kind == LabelKind::kClass) {
    const std::int64_t classes = static_cast<std::int64_t>(schema.class_names.size());
    const std::uint64_t scan = std::min<std::uint64_t>(size, 100000);
    std::string problem;
    Batch batch;
    std::vector<std::uint64_t> rows;
    for (std::uint64_t start = 0; start < scan && problem.empty(); start += 1024) {
      rows.clear();
      for (std::uint64_t i = start; i < std::min(scan, start + 1024); ++i) {
        rows.push_back(i);
      }
      Status s = data.read(rows, batch);
      if (!s.ok()) {
        problem = s.toString();
        break;
      }
      if (batch.labels.dtype() != DType::kInt64 ||
          batch.labels.numel() != static_cast<std::int64_t>(rows.size())) {
        problem = "labels are not INT64 with one per row";
        break;
      }
      auto labels = batch.labels.span<std::int64_t>();
      for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0 || labels[i] >= classes) {
          problem = "row " + std::to_string(rows[i]) + " has class " + std::to_string(labels[i]) +
                    ", outside [0, " + std::to_string(classes) + ")";
          break;
        }
      }
    }
    expectThat(r, "class labels lie in [0, number of classes)", problem.empty(), problem);
  }

  if (schema.feature_dtype == DType::kFloat32) {
    Batch batch;
    std::vector<std::uint64_t> rows;
    for (std::uint64_t i = 0; i < std::min<std::uint64_t>(size, 256); ++i) {
      rows.push_back(i);
    }
    Status s = data.read(rows, batch);
    bool finite = s.ok();
    if (s.ok()) {
      for (float v : batch.features.span<float>()) {
        finite = finite && !std::isinf(v);  // NaN is a missing value
      }
    }
    expectThat(r, "FP32 features are finite or missing (NaN)", finite,
               s.ok() ? "found Inf among the first rows" : s.toString());
  }
  return r;
}

}  // namespace aimass::testing
