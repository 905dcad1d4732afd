// SPDX-License-Identifier: Apache-2.0
#include "annotation/ranking.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "aimass/tensor_names.h"

namespace aimass::core::annotation {
namespace {

/// 3000 rows of two features: row r is at (r % 3 * 10 + r / 1000, 0), three far-apart groups.
class Points final : public Dataset {
 public:
  Points() { schema_.row_shape = {2}; }
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return 3000; }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    const auto n = static_cast<std::int64_t>(rows.size());
    out.features = Tensor(DType::kFloat32, {n, 2});
    for (std::int64_t i = 0; i < n; ++i) {
      const auto r = rows[static_cast<std::size_t>(i)];
      out.features.data<float>()[2 * i] = static_cast<float>(r % 3 * 10 + r / 1000);
      out.features.data<float>()[2 * i + 1] = 0;
    }
    return Status();
  }

 private:
  DatasetSchema schema_;
};

/// Unsure of rows whose first feature is near 10 (the middle group), sure elsewhere: p(a) =
/// 0.5 + |x - 10| / 50.
class Unsure final : public Model {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.inputs = {{"x", DType::kFloat32, {-1, 2}}};
    s.outputs = {{tensor_names::kProbabilities, DType::kFloat32, {-1, 2}}};
    return s;
  }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    const Tensor* x = inputs.find("x");
    const std::int64_t n = x->dim(0);
    Tensor p(DType::kFloat32, {n, 2});
    for (std::int64_t i = 0; i < n; ++i) {
      const float a = 0.5f + std::abs(x->data<float>()[2 * i] - 10.0f) / 50.0f;
      p.data<float>()[2 * i] = a;
      p.data<float>()[2 * i + 1] = 1 - a;
    }
    outputs.set(tensor_names::kProbabilities, std::move(p));
    return Status();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override {
    payload.clear();
    return Status();
  }
  Status load(std::string_view, std::uint32_t) override { return Status(); }
};

TEST(Ranking, TheModelsLeastSureRowsComeFirstAcrossChunks) {
  Points data;
  Unsure model;
  RankingSettings settings;
  settings.strategy = SelectionStrategy::kMargin;
  settings.model = "unsure";
  auto ranking = modelRanking(data, model, settings, "4", [](std::uint64_t) { return true; });
  ASSERT_TRUE(ranking.ok()) << ranking.status().toString();
  const Ranking& r = **ranking;
  EXPECT_EQ(r.version, "4");
  ASSERT_EQ(r.order.size(), 3000u);
  ASSERT_EQ(r.scores.size(), 3000u);
  EXPECT_EQ(r.order.front(), 1u);  // x = 10: p = (0.5, 0.5), margin 0
  // The middle group (r % 3 == 1) fills the first thousand places.
  for (std::size_t i = 0; i < 1000; ++i) EXPECT_EQ(r.order[i] % 3, 1u) << i;
  EXPECT_NEAR(r.scores[1], 1.0, 1e-6);
  EXPECT_NEAR(r.scores[0], 1.0 - 0.4, 1e-6);  // x = 0: p = (0.7, 0.3)
  std::set<std::uint64_t> every(r.order.begin(), r.order.end());
  EXPECT_EQ(every.size(), 3000u);
}

TEST(Ranking, DiversityPutsABatchOfOnlyOpenRowsFirst) {
  Points data;
  Unsure model;
  RankingSettings settings;
  settings.strategy = SelectionStrategy::kDiversity;
  settings.batch = 3;
  // Rows below 1000 are labelled already (among them the least sure, x = 10): the batch is
  // chosen among the others, whose least sure rows are at x = 11 (rows 1000..1999, r % 3 == 1).
  auto ranking =
      modelRanking(data, model, settings, "1", [](std::uint64_t r) { return r >= 1000; });
  ASSERT_TRUE(ranking.ok()) << ranking.status().toString();
  const auto& order = (**ranking).order;
  ASSERT_EQ(order.size(), 3000u);
  std::set<std::uint64_t> batch(order.begin(), order.begin() + 3);
  EXPECT_EQ(batch.size(), 3u);
  for (std::uint64_t r : batch) {
    EXPECT_GE(r, 1000u);
    EXPECT_LT(r, 2000u);
    EXPECT_EQ(r % 3, 1u);
  }
  // The rest follow by margin: the labelled x = 10 rows right after the batch.
  EXPECT_LT(order[3], 1000u);
  std::set<std::uint64_t> every(order.begin(), order.end());
  EXPECT_EQ(every.size(), 3000u);
}

TEST(Ranking, ARandomOrderIsAPermutationOfItsSeed) {
  auto a = randomRanking(500, 7, "");
  auto b = randomRanking(500, 7, "");
  auto c = randomRanking(500, 8, "");
  EXPECT_EQ(a->order, b->order);
  EXPECT_NE(a->order, c->order);
  std::vector<std::uint64_t> sorted = a->order;
  std::sort(sorted.begin(), sorted.end());
  for (std::uint64_t i = 0; i < 500; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_TRUE(a->scores.empty());
}

TEST(Ranking, AModelWithoutProbabilitiesIsRefused) {
  Points data;
  class Regressor final : public Model {
   public:
    ModelSchema schema() const override {
      ModelSchema s;
      s.inputs = {{"x", DType::kFloat32, {-1, 2}}};
      return s;
    }
    bool ready() const override { return true; }
    Status predict(const TensorMap&, TensorMap& outputs, const PredictOptions&) const override {
      outputs.set(tensor_names::kPrediction, Tensor(DType::kFloat32, {1, 1}));
      return Status();
    }
    std::uint32_t formatVersion() const override { return 1; }
    Status save(std::string&) const override { return Status(); }
    Status load(std::string_view, std::uint32_t) override { return Status(); }
  } regressor;
  RankingSettings settings;
  settings.strategy = SelectionStrategy::kEntropy;
  auto ranking = modelRanking(data, regressor, settings, "1", [](std::uint64_t) { return true; });
  EXPECT_THAT(ranking.status().message(), ::testing::HasSubstr("no 'probabilities'"));
}

}  // namespace
}  // namespace aimass::core::annotation
