// SPDX-License-Identifier: Apache-2.0
// job.evaluate on clustering models and recommenders, with fake models over fake datasets.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "aimass/core/host_services.h"
#include "evaluate_job.h"
#include "evaluate_test_support.h"

namespace aimass::core {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// ---- clustering -------------------------------------------------------------------------

/// Twelve 2-D points in three loose groups (the points of clustering_metrics_test.cc), with
/// optional class labels.
class PointsDataset final : public Dataset {
 public:
  explicit PointsDataset(bool with_classes) {
    schema_.row_shape = {2};
    schema_.feature_names = {"x", "y"};
    if (with_classes) {
      schema_.label_kind = LabelKind::kClass;
      schema_.class_names = {"a", "b", "c"};
      schema_.num_targets = 1;
    }
  }
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return 12; }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    static const float kPoints[] = {0, 0,    1, 0, 0, 1.5f, 1,  1, 5,  5, 6,  5,
                                    5, 6.5f, 7, 7, 2, 2,    10, 0, 11, 1, 10, 2};
    static const std::int64_t kClasses[] = {0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 0};
    const auto n = static_cast<std::int64_t>(rows.size());
    out.features.resize(DType::kFloat32, {n, 2});
    out.labels.resize(DType::kInt64, {n});
    for (std::size_t i = 0; i < rows.size(); ++i) {
      out.features.data<float>()[2 * i] = kPoints[2 * rows[i]];
      out.features.data<float>()[2 * i + 1] = kPoints[2 * rows[i] + 1];
      out.labels.data<std::int64_t>()[i] = kClasses[rows[i]];
    }
    return Status();
  }

 private:
  DatasetSchema schema_;
};

/// Nearest of three fixed centres; gives "distances" (k-means), "responsibilities" (a mixture:
/// one-hot here) or neither.
class FakeClusterer final : public testing::UnsavedModel {
 public:
  enum class Gives { kDistances, kResponsibilities, kNeither };
  explicit FakeClusterer(Gives gives) : gives_(gives) {}
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kClustering;
    s.inputs = {{"input", DType::kFloat32, {-1, 2}, false, false}};
    return s;
  }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    static const float kCentres[3][2] = {{0.75f, 0.75f}, {10.25f, 1}, {5.75f, 5.875f}};
    AIMASS_ASSIGN_OR_RETURN(const Tensor* x, featureInput("fake", inputs, 2));
    const std::int64_t n = x->dim(0);
    Tensor cluster(DType::kInt64, {n});
    Tensor distances(DType::kFloat32, {n, 3});
    Tensor responsibilities(DType::kFloat32, {n, 3});
    for (std::int64_t i = 0; i < n; ++i) {
      const float* row = x->data<float>() + 2 * i;
      std::int64_t best = 0;
      for (int c = 0; c < 3; ++c) {
        const float dx = row[0] - kCentres[c][0], dy = row[1] - kCentres[c][1];
        distances.data<float>()[i * 3 + c] = std::sqrt(dx * dx + dy * dy);
        if (distances.data<float>()[i * 3 + c] < distances.data<float>()[i * 3 + best]) {
          best = c;
        }
      }
      cluster.data<std::int64_t>()[i] = best;
      for (int c = 0; c < 3; ++c) {
        responsibilities.data<float>()[i * 3 + c] = c == best ? 1.0f : 0.0f;
      }
    }
    outputs.set("cluster", cluster);
    if (gives_ == Gives::kDistances) {
      outputs.set("distances", distances);
    } else if (gives_ == Gives::kResponsibilities) {
      outputs.set("responsibilities", responsibilities);
    }
    return Status();
  }

 private:
  Gives gives_;
};

// ---- recommendation ---------------------------------------------------------------------

/// Seven interactions of users u0..u3 with items i0..i4, by index, ids in id_names, with or
/// without ratings.
class InteractionsDataset final : public Dataset {
 public:
  explicit InteractionsDataset(LabelKind labels, std::int64_t bad_item = -1) : bad_item_(bad_item) {
    schema_.feature_dtype = DType::kInt64;
    schema_.row_shape = {2};
    schema_.feature_names = {"user", "item"};
    schema_.id_names = {{"u0", "u1", "u2", "u3"}, {"i0", "i1", "i2", "i3", "i4"}};
    schema_.cardinalities = {4, 5};
    schema_.label_kind = labels;
    schema_.num_targets = labels == LabelKind::kNone ? 0 : 1;
    if (labels == LabelKind::kClass) {
      schema_.class_names = {"bad", "good"};
    }
  }
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return 7; }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    // (user, item, rating)
    static const int kRows[7][3] = {{0, 1, 5}, {0, 0, 2}, {0, 3, 4}, {1, 3, 1},
                                    {1, 2, 4}, {2, 0, 5}, {3, 4, 3}};
    const auto n = static_cast<std::int64_t>(rows.size());
    out.features.resize(DType::kInt64, {n, 2});
    out.labels.resize(DType::kFloat32, {n, 1});
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const int* r = kRows[rows[i]];
      out.features.data<std::int64_t>()[2 * i] = r[0];
      out.features.data<std::int64_t>()[2 * i + 1] =
          rows[i] == 2 && bad_item_ >= 0 ? bad_item_ : r[1];
      out.labels.data<float>()[i] = static_cast<float>(r[2]);
    }
    return Status();
  }

 private:
  DatasetSchema schema_;
  std::int64_t bad_item_;
};

/// Knows users u0..u2. Pairs: score 3 for every pair, known unless the user is unknown.
/// Top-k (k 3): fixed lists per user; an unknown user gets the popular [i0, i1, i2].
class FakeRecommender final : public testing::UnsavedModel {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kRecommendation;
    s.inputs = {{"user", DType::kBytes, {-1}, false, false},
                {"item", DType::kBytes, {-1}, true, false}};
    return s;
  }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override {
    static const std::map<std::string, std::vector<std::string>> kLists = {
        {"u0", {"i1", "i2", "i0"}}, {"u1", {"i4", "i3", ""}}, {"u2", {"i0", "i1", "i2"}}};
    const Tensor* user = inputs.find("user");
    if (user == nullptr || user->dtype() != DType::kBytes) {
      return invalidArgument("no BYTES user");
    }
    const std::vector<std::string>& users = user->strings();
    const auto n = static_cast<std::int64_t>(users.size());
    const Tensor* item = inputs.find("item");
    if (options.top_k == 0) {
      if (item == nullptr || item->numel() != n) {
        return invalidArgument("pair scoring needs one item per user");
      }
      Tensor score(DType::kFloat32, {n});
      Tensor known(DType::kBool, {n});
      for (std::int64_t i = 0; i < n; ++i) {
        score.data<float>()[i] = 3;
        known.data<bool>()[i] = kLists.count(users[i]) != 0;
      }
      outputs.set("score", score);
      outputs.set("known", known);
      return Status();
    }
    if (item != nullptr || options.top_k != 3 || !options.exclude_seen) {
      return invalidArgument("top-k takes only users, k 3, excluding seen items");
    }
    std::vector<std::string> items;
    Tensor fallback(DType::kBool, {n});
    for (std::int64_t i = 0; i < n; ++i) {
      auto found = kLists.find(users[i]);
      fallback.data<bool>()[i] = found == kLists.end();
      const std::vector<std::string> popular{"i0", "i1", "i2"};
      const auto& list = found == kLists.end() ? popular : found->second;
      items.insert(items.end(), list.begin(), list.end());
    }
    outputs.set("items", Tensor::fromStrings(std::move(items)).reshaped({n, 3}));
    outputs.set("scores", Tensor(DType::kFloat32, {n, 3}));
    outputs.set("fallback", fallback);
    ++top_k_calls;
    return Status();
  }

  mutable int top_k_calls = 0;
};

using EvaluateTasksTest = testing::EvaluateRunTest;

// scikit-learn's values for these points and clusters: see
// tests/unit/clustering_metrics/sklearn_values.py.
constexpr double kSilhouette = 0.74123431498480585;
constexpr double kDaviesBouldin = 0.31306820335021074;
constexpr double kAdjustedRand = 0.49837133550488599;
constexpr double kNmi = 0.62738443395623456;

TEST_F(EvaluateTasksTest, KMeansWithClassLabelsReportsEveryClusteringMetric) {
  EvaluateTargets targets;
  targets.silhouette_sample = 0;  // every row
  ASSERT_TRUE(run(std::make_shared<FakeClusterer>(FakeClusterer::Gives::kDistances),
                  std::make_shared<PointsDataset>(true), targets)
                  .ok());
  const ClusteringReport& c = *job_->report()->clustering;
  EXPECT_EQ(c.rows, 12u);
  EXPECT_EQ(c.clusters, 3);
  EXPECT_TRUE(c.inertia_from_distances);
  // Squared distances to the centres (0.75, 0.75), (10.25, 1), (5.75, 5.875): 1.125 + 0.625 +
  // 1.125 + 0.125 + 1.328125 + 0.828125 + 0.953125 + 2.828125 + 3.125 + 1.0625 + 0.5625 +
  // 1.0625 = 14.75 (up to the FP32 distances).
  EXPECT_NEAR(c.inertia, 14.75, 1e-5);
  EXPECT_NEAR(*c.silhouette, kSilhouette, 1e-12);
  EXPECT_EQ(c.silhouette_rows, 12u);
  EXPECT_NEAR(*c.davies_bouldin, kDaviesBouldin, 1e-12);

  auto metrics = json()->getObject("metrics");
  EXPECT_EQ(json()->getValue<std::string>("task"), "clustering");
  EXPECT_EQ(json()->getValue<int>("rows"), 12);
  EXPECT_NEAR(metrics->getValue<double>("inertia"), 14.75, 1e-5);
  EXPECT_NEAR(metrics->getValue<double>("silhouette"), kSilhouette, 1e-12);
  EXPECT_NEAR(metrics->getValue<double>("davies_bouldin"), kDaviesBouldin, 1e-12);
  EXPECT_NEAR(metrics->getValue<double>("adjusted_rand"), kAdjustedRand, 1e-12);
  EXPECT_NEAR(metrics->getValue<double>("nmi"), kNmi, 1e-12);
  EXPECT_EQ(metrics->getValue<std::string>("inertia_from"), "distances");
  EXPECT_EQ(progress_.summaries.back(), "inertia=14.75 silhouette=0.7412 davies_bouldin=0.3131");
}

TEST_F(EvaluateTasksTest, MixtureWithoutLabelsUsesCentroidsAndASeededSample) {
  EvaluateTargets targets;
  targets.silhouette_sample = 5;
  targets.seed = 3;
  ASSERT_TRUE(run(std::make_shared<FakeClusterer>(FakeClusterer::Gives::kResponsibilities),
                  std::make_shared<PointsDataset>(false), targets)
                  .ok());
  const ClusteringReport c = *job_->report()->clustering;
  EXPECT_FALSE(c.inertia_from_distances);
  // scikit-learn's value: the within-cluster sum of squares about the rows' own centroids.
  EXPECT_NEAR(c.inertia, 14.604166666666668, 1e-12);
  EXPECT_NEAR(*c.davies_bouldin, kDaviesBouldin, 1e-12);
  EXPECT_FALSE(c.adjusted_rand.has_value());
  EXPECT_FALSE(c.nmi.has_value());
  EXPECT_EQ(c.silhouette_rows, 5u);
  // The silhouette of exactly the rows sampleRows() picks for that seed.
  static const float kPoints[] = {0, 0,    1, 0, 0, 1.5f, 1,  1, 5,  5, 6,  5,
                                  5, 6.5f, 7, 7, 2, 2,    10, 0, 11, 1, 10, 2};
  static const std::int64_t kClusters[] = {0, 0, 0, 0, 2, 2, 2, 2, 0, 1, 1, 1};
  std::vector<float> rows;
  std::vector<std::int64_t> clusters;
  for (std::uint64_t r : sampleRows(12, 5, 3)) {
    rows.insert(rows.end(), kPoints + 2 * r, kPoints + 2 * r + 2);
    clusters.push_back(kClusters[r]);
  }
  EXPECT_EQ(c.silhouette, *silhouetteScore(rows, 2, clusters));
  auto metrics = json()->getObject("metrics");
  EXPECT_TRUE(metrics->isNull("adjusted_rand"));
  EXPECT_EQ(metrics->getValue<std::string>("inertia_from"), "centroids");

  // The same seed gives the same report.
  ASSERT_TRUE(run(std::make_shared<FakeClusterer>(FakeClusterer::Gives::kResponsibilities),
                  std::make_shared<PointsDataset>(false), targets)
                  .ok());
  EXPECT_EQ(job_->report()->clustering->silhouette, c.silhouette);
}

TEST_F(EvaluateTasksTest, RatedInteractionsGiveErrorsAndRankingMetrics) {
  EvaluateTargets targets;
  targets.k = 3;
  auto model = std::make_shared<FakeRecommender>();
  ASSERT_TRUE(run(model, std::make_shared<InteractionsDataset>(LabelKind::kValue), targets).ok());
  const RecommendationReport& r = *job_->report()->recommendation;
  EXPECT_EQ(r.rows, 7u);
  // Every score is 3; ratings 5, 2, 4, 1, 4, 5, 3: errors 2, 1, 1, 2, 1, 2, 0.
  EXPECT_NEAR(*r.rmse, std::sqrt(15.0 / 7), 1e-12);
  EXPECT_NEAR(*r.mae, 9.0 / 7, 1e-12);
  EXPECT_EQ(r.unknown_pairs, 1u);  // u3
  // Relevant: u0 {i1, i0, i3}, u1 {i3, i2}, u2 {i0}, u3 {i4}. Lists: u0 [i1, i2, i0] hits at
  // 1 and 3; u1 [i4, i3, ""] at 2; u2 [i0, i1, i2] at 1; u3 (fallback) [i0, i1, i2] none.
  const double l = 1 / std::log2(3.0);
  EXPECT_EQ(r.ranking.users, 4u);
  EXPECT_EQ(r.ranking.fallback_users, 1u);
  EXPECT_NEAR(r.ranking.precision_at_k, (2.0 / 3 + 1.0 / 3 + 1.0 / 3 + 0) / 4, 1e-15);
  EXPECT_NEAR(r.ranking.recall_at_k, (2.0 / 3 + 1.0 / 2 + 1 + 0) / 4, 1e-15);
  EXPECT_NEAR(r.ranking.ndcg_at_k, (1.5 / (1.5 + l) + l / (1 + l) + 1 + 0) / 4, 1e-15);
  EXPECT_NEAR(r.ranking.map_at_k, ((1 + 2.0 / 3) / 3 + 0.5 / 2 + 1 + 0) / 4, 1e-15);
  EXPECT_EQ(model->top_k_calls, 1);  // four users in one batch of 5

  auto object = json();
  EXPECT_EQ(object->getValue<std::string>("task"), "recommendation");
  auto metrics = object->getObject("metrics");
  for (const char* key : {"rmse", "mae", "precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k",
                          "k", "users", "fallback_users"}) {
    EXPECT_TRUE(metrics->has(key) && !metrics->isNull(key)) << key;
  }
  EXPECT_NEAR(metrics->getValue<double>("mae"), 9.0 / 7, 1e-12);
  EXPECT_EQ(metrics->getValue<int>("k"), 3);
  EXPECT_EQ(metrics->getValue<int>("users"), 4);
  EXPECT_EQ(metrics->getValue<int>("fallback_users"), 1);
  EXPECT_TRUE(metrics->isNull("relevance_threshold"));
}

TEST_F(EvaluateTasksTest, RelevanceThresholdKeepsWellRatedItemsOnly) {
  EvaluateTargets targets;
  targets.k = 3;
  targets.relevance_threshold = 4;
  auto model = std::make_shared<FakeRecommender>();
  ASSERT_TRUE(
      run(model, std::make_shared<InteractionsDataset>(LabelKind::kValue), targets, 2).ok());
  EXPECT_EQ(model->top_k_calls, 2);  // three users in batches of 2
  // Relevant: u0 {i1, i3}, u1 {i2}, u2 {i0}; u3 has none and is not ranked.
  const RankingReport& k = job_->report()->recommendation->ranking;
  const double l = 1 / std::log2(3.0);
  EXPECT_EQ(k.users, 3u);
  EXPECT_EQ(k.fallback_users, 0u);
  EXPECT_NEAR(k.precision_at_k, 2.0 / 9, 1e-15);
  EXPECT_NEAR(k.recall_at_k, (0.5 + 0 + 1) / 3, 1e-15);
  EXPECT_NEAR(k.ndcg_at_k, (1 / (1 + l) + 0 + 1) / 3, 1e-15);
  EXPECT_NEAR(k.map_at_k, (0.5 + 0 + 1) / 3, 1e-15);
  EXPECT_EQ(json()->getObject("metrics")->getValue<double>("relevance_threshold"), 4.0);
}

TEST_F(EvaluateTasksTest, ImplicitFeedbackHasNoRatingErrorsAndIgnoresTheThreshold) {
  EvaluateTargets targets;
  targets.k = 3;
  targets.relevance_threshold = 4;
  ASSERT_TRUE(run(std::make_shared<FakeRecommender>(),
                  std::make_shared<InteractionsDataset>(LabelKind::kNone), targets)
                  .ok());
  const RecommendationReport& r = *job_->report()->recommendation;
  EXPECT_FALSE(r.rmse.has_value());
  EXPECT_FALSE(r.relevance_threshold.has_value());
  EXPECT_EQ(r.ranking.users, 4u);
  EXPECT_NEAR(r.ranking.precision_at_k, 1.0 / 3, 1e-15);
  auto metrics = json()->getObject("metrics");
  EXPECT_TRUE(metrics->isNull("rmse"));
  EXPECT_TRUE(metrics->isNull("mae"));
}

TEST_F(EvaluateTasksTest, MismatchesNameTheModelAndTheDataset) {
  Status s = run(std::make_shared<FakeRecommender>(), std::make_shared<PointsDataset>(false));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("model 'm' is a recommender, evaluated on (user, item) "
                                     "rows, but dataset 'd' has FP32 rows of shape [2]"));
  s = run(std::make_shared<FakeRecommender>(),
          std::make_shared<InteractionsDataset>(LabelKind::kClass));
  EXPECT_THAT(s.message(), HasSubstr("dataset 'd' has labels other than one rating per row "
                                     "(class labels)"));
  s = run(std::make_shared<FakeRecommender>(),
          std::make_shared<InteractionsDataset>(LabelKind::kNone, 7));
  EXPECT_THAT(s.message(), HasSubstr("item index 7 is outside [0, 5) of the dataset's item ids"));
  EXPECT_THAT(s.message(), HasSubstr("row 2 of dataset 'd'"));

  s = run(std::make_shared<FakeClusterer>(FakeClusterer::Gives::kDistances),
          std::make_shared<InteractionsDataset>(LabelKind::kNone));
  EXPECT_THAT(s.message(), HasSubstr("model 'm' is a clustering model, which takes rows of FP32 "
                                     "features, but dataset 'd' has INT64 rows of shape [2]"));
  s = run(std::make_shared<FakeClusterer>(FakeClusterer::Gives::kNeither),
          std::make_shared<PointsDataset>(false));
  EXPECT_THAT(s.message(), HasSubstr("model 'm' gave neither an FP32 \"distances\" nor"));
  EXPECT_THAT(s.message(), HasSubstr("(rows 0..4 of dataset 'd')"));
  EXPECT_EQ(progress_.summaries.back(), "failed");
  EXPECT_FALSE(fs::exists(dir_ / "report.json"));
}

TEST_F(EvaluateTasksTest, StopRequestCancelsEitherTask) {
  host_.requestStop();
  EXPECT_EQ(run(std::make_shared<FakeClusterer>(FakeClusterer::Gives::kDistances),
                std::make_shared<PointsDataset>(false))
                .code(),
            StatusCode::kCancelled);
  EXPECT_EQ(progress_.summaries.back(), "stopped");
  EXPECT_EQ(run(std::make_shared<FakeRecommender>(),
                std::make_shared<InteractionsDataset>(LabelKind::kValue))
                .code(),
            StatusCode::kCancelled);
}

}  // namespace
}  // namespace aimass::core
