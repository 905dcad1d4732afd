// SPDX-License-Identifier: Apache-2.0
#pragma once

// Small fake datasets for model.rnn's tests, following the data conventions of dataset.text
// (language modelling, sequence classification) and dataset.series (forecasting).

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "aimass/dataset.h"
#include "aimass/model.h"

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

/// Plain gradient descent with momentum 0.9 on every parameter.
inline void train(Model& model, const std::vector<Batch>& batches, double rate, int epochs) {
  GradientTraining& training = *model.gradientTraining();
  auto params = training.parameters();
  std::vector<std::vector<float>> velocity;
  for (auto& p : params) {
    velocity.emplace_back(static_cast<std::size_t>(p.value.numel()), 0.0f);
  }
  for (int epoch = 0; epoch < epochs; ++epoch) {
    training.resetState();
    for (const Batch& b : batches) {
      auto loss = training.forwardBackward(b, true);
      ASSERT_TRUE(loss.ok()) << loss.status().toString();
      for (std::size_t i = 0; i < params.size(); ++i) {
        auto v = params[i].value.span<float>();
        auto g = params[i].grad.span<float>();
        for (std::size_t j = 0; j < v.size(); ++j) {
          velocity[i][j] = 0.9f * velocity[i][j] - static_cast<float>(rate) * g[j];
          v[j] += velocity[i][j];
        }
      }
    }
  }
}

/// classSchema(4, {"without", "with"}) data: class 1 when token 3 occurs; 48 sequences of
/// lengths 2-6 from a fixed generator, padded with 3s that must not count.
inline Batch holdsTokenBatch() {
  constexpr std::int64_t kRows = 48, kLongest = 6;
  std::vector<std::int64_t> tokens, lengths, labels;
  std::uint32_t state = 12345;
  auto next = [&state](std::uint32_t n) {
    state = state * 1664525u + 1013904223u;
    return static_cast<std::int64_t>((state >> 16) % n);
  };
  for (std::int64_t r = 0; r < kRows; ++r) {
    const std::int64_t length = 2 + next(5);
    bool with = false;
    for (std::int64_t t = 0; t < kLongest; ++t) {
      const std::int64_t token = t < length ? (next(5) == 0 ? 3 : next(3)) : 3;
      with = with || (t < length && token == 3);
      tokens.push_back(token);
    }
    lengths.push_back(length);
    labels.push_back(with ? 1 : 0);
  }
  Batch b;
  b.features = Tensor::fromVector(tokens, {kRows, kLongest});
  b.lengths = Tensor::fromVector(lengths, {kRows});
  b.labels = Tensor::fromVector(labels, {kRows});
  return b;
}

}  // namespace aimass::plugins::model::test
