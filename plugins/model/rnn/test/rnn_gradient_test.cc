// SPDX-License-Identifier: Apache-2.0
// Finite-difference checks of model.rnn's gradients (oneDNN's RNN backward pass, the embedding,
// the heads) for GRU and LSTM and every task.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "rnn.h"
#include "rnn_test_support.h"

namespace aimass::plugins::model {
namespace {

using test::classSchema;
using test::lmSchema;
using test::seriesSchema;

/// Checks every parameter's gradient at up to 6 entries against central differences of
/// evaluateLoss() (in FP32: step 1e-2, tolerance 3e-3 + 3% of the larger magnitude).
void checkGradients(Rnn& model, const Batch& batch) {
  auto params = model.parameters();
  auto loss = model.forwardBackward(batch, true);
  ASSERT_TRUE(loss.ok()) << loss.status().toString();
  ASSERT_TRUE(std::isfinite(*loss));
  std::vector<std::vector<float>> grads;
  for (auto& p : params) {
    grads.emplace_back(p.grad.span<float>().begin(), p.grad.span<float>().end());
  }
  std::mt19937 random(3);
  constexpr float kStep = 1e-2f;
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto values = params[i].value.span<float>();
    double largest = 0;
    for (float g : grads[i]) {
      largest = std::max(largest, std::fabs(static_cast<double>(g)));
    }
    EXPECT_GT(largest, 0.0) << params[i].name << " got no gradient at all";
    for (int k = 0; k < 6; ++k) {
      const std::size_t j = random() % values.size();
      const float saved = values[j];
      values[j] = saved + kStep;
      auto up = model.evaluateLoss(batch);
      values[j] = saved - kStep;
      auto down = model.evaluateLoss(batch);
      values[j] = saved;
      ASSERT_TRUE(up.ok() && down.ok());
      const double numeric = (*up - *down) / (2.0 * kStep);
      const double analytic = grads[i][j];
      EXPECT_NEAR(analytic, numeric,
                  3e-3 + 3e-2 * std::max(std::fabs(analytic), std::fabs(numeric)))
          << params[i].name << "[" << j << "]";
    }
  }
}

RnnOptions small(Cell cell, std::int64_t layers, bool bidirectional = false) {
  RnnOptions o;
  o.cell = cell;
  o.hidden = 5;
  o.layers = layers;
  o.bidirectional = bidirectional;
  o.embedding = 3;
  o.stateful = false;
  return o;
}

class RnnGradientTest : public ::testing::TestWithParam<Cell> {};

TEST_P(RnnGradientTest, LanguageModelTwoLayers) {
  Rnn model(small(GetParam(), 2));
  ASSERT_TRUE(model.prepare(lmSchema(6, 5), 11).ok());
  checkGradients(model, test::lmBatch({0, 1, 2, 3, 4, 5, 2, 2, 1}, 3, 5, 0));
}

TEST_P(RnnGradientTest, ClassificationWithLengthsUnidirectional) {
  Rnn model(small(GetParam(), 1));
  ASSERT_TRUE(model.prepare(classSchema(5, {"x", "y", "z"}), 5).ok());
  Batch b;
  b.features =
      Tensor::fromVector<std::int64_t>({1, 2, 3, 4, 0, 4, 0, 0, 0, 0, 2, 2, 1, 0, 0}, {3, 5});
  b.labels = Tensor::fromVector<std::int64_t>({0, 2, 1}, {3});
  b.lengths = Tensor::fromVector<std::int64_t>({4, 1, 3}, {3});
  checkGradients(model, b);
}

TEST_P(RnnGradientTest, ClassificationBidirectionalTwoLayers) {
  Rnn model(small(GetParam(), 2, true));
  ASSERT_TRUE(model.prepare(classSchema(5, {"x", "y"}), 5).ok());
  Batch b;
  b.features = Tensor::fromVector<std::int64_t>({1, 2, 3, 4, 0, 4, 0, 0, 2, 2, 1, 0}, {3, 4});
  b.labels = Tensor::fromVector<std::int64_t>({0, 1, 1}, {3});
  b.lengths = Tensor::fromVector<std::int64_t>({4, 1, 3}, {3});
  checkGradients(model, b);
}

TEST_P(RnnGradientTest, Forecasting) {
  Rnn model(small(GetParam(), 1));
  ASSERT_TRUE(model.prepare(seriesSchema(4, 2, 3), 9).ok());
  Batch b;
  std::vector<float> x;
  for (int i = 0; i < 2 * 4 * 2; ++i) {
    x.push_back(std::sin(0.7f * static_cast<float>(i)));
  }
  b.features = Tensor::fromVector(x, {2, 4, 2});
  b.labels = Tensor::fromVector<float>({0.5f, -0.2f, 0.1f, 0.3f, 0.9f, -0.4f}, {2, 3});
  checkGradients(model, b);
}

INSTANTIATE_TEST_SUITE_P(Cells, RnnGradientTest, ::testing::Values(Cell::kGru, Cell::kLstm),
                         [](const auto& info) {
                           return std::string(info.param == Cell::kGru ? "Gru" : "Lstm");
                         });

}  // namespace
}  // namespace aimass::plugins::model
