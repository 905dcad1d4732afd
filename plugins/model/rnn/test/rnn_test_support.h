// SPDX-License-Identifier: Apache-2.0
#pragma once

// Small fake datasets for model.rnn's tests, following the data conventions of dataset.text
// (language modelling, sequence classification) and dataset.series (forecasting).

#include <cstdint>
#include <string>
#include <vector>

#include "aimass/dataset.h"

namespace aimass::plugins::model::test {

inline DatasetSchema lmSchema(std::int64_t vocabulary, std::int64_t steps) {
  DatasetSchema schema;
  schema.feature_dtype = DType::kInt64;
  schema.row_shape = {steps};
  schema.label_kind = LabelKind::kNextToken;
  schema.cardinalities = {vocabulary};
  std::vector<std::string> symbols;
  for (std::int64_t i = 0; i < vocabulary; ++i) {
    symbols.push_back(std::string(1, static_cast<char>('a' + i)));
  }
  schema.id_names = {symbols};
  return schema;
}

inline DatasetSchema classSchema(std::int64_t vocabulary, std::vector<std::string> classes) {
  DatasetSchema schema = lmSchema(vocabulary, -1);
  schema.label_kind = LabelKind::kClass;
  schema.class_names = std::move(classes);
  schema.num_targets = 1;
  return schema;
}

inline DatasetSchema seriesSchema(std::int64_t window, std::int64_t features,
                                  std::int64_t targets) {
  DatasetSchema schema;
  schema.feature_dtype = DType::kFloat32;
  schema.row_shape = {window, features};
  schema.label_kind = LabelKind::kValue;
  schema.num_targets = targets;
  return schema;
}

/// A batch of token rows [rows, T] with next-token labels from one repeating text.
inline Batch lmBatch(const std::vector<std::int64_t>& stream, std::int64_t rows, std::int64_t steps,
                     std::int64_t offset) {
  Batch b;
  b.features = Tensor(DType::kInt64, {rows, steps});
  b.labels = Tensor(DType::kInt64, {rows, steps});
  const auto n = static_cast<std::int64_t>(stream.size());
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t t = 0; t < steps; ++t) {
      const std::int64_t i = offset + r * 7 + t;
      b.features.data<std::int64_t>()[r * steps + t] = stream[static_cast<std::size_t>(i % n)];
      b.labels.data<std::int64_t>()[r * steps + t] = stream[static_cast<std::size_t>((i + 1) % n)];
    }
  }
  return b;
}

}  // namespace aimass::plugins::model::test
