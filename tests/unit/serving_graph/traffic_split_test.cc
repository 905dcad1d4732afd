// SPDX-License-Identifier: Apache-2.0
// A/B splits and shadows: the weighted choice (by request id, by a seeded draw), the runtime's
// split of requests without a version, and shadows that never change an answer, compared,
// counted, and dropped when their queue is full.
#include "traffic_split.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "aimass/core/serving.h"
#include "test_models.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;
using testing::Affine;
using testing::column;

TEST(WeightedSplit, PointsFallInEachVersionsShare) {
  WeightedSplit split({{"3", 90}, {"4", 10}}, 1);
  EXPECT_EQ(split.at(0), "3");
  EXPECT_EQ(split.at(89), "3");
  EXPECT_EQ(split.at(90), "4");
  EXPECT_EQ(split.at(99), "4");
  EXPECT_EQ(split.at(100), "3");  // modulo the total
}

TEST(WeightedSplit, OneRequestIdAlwaysGetsOneVersion) {
  WeightedSplit split({{"1", 50}, {"2", 50}}, 1);
  // FNV-1a, 64 bits, written out: offset basis, then xor and multiply per byte.
  std::uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : std::string("abc")) {
    hash = (hash ^ c) * 1099511628211ULL;
  }
  EXPECT_EQ(split.byKey("abc"), hash % 100 < 50 ? "1" : "2");
  for (int i = 0; i < 20; ++i) {
    const std::string id = "req-" + std::to_string(i);
    EXPECT_EQ(split.byKey(id), split.byKey(id));
  }
}

TEST(WeightedSplit, SeededDrawsFollowTheWeights) {
  WeightedSplit a({{"3", 90}, {"4", 10}}, 42);
  WeightedSplit b({{"3", 90}, {"4", 10}}, 42);
  std::map<std::string, int> counts;
  for (int i = 0; i < 10000; ++i) {
    const std::string drawn = a.draw();
    EXPECT_EQ(drawn, b.draw()) << "same seed, same draws";
    ++counts[drawn];
  }
  // Binomial(10000, 0.1): the standard deviation is 30, so these bounds are 10 of them.
  EXPECT_GT(counts["4"], 700);
  EXPECT_LT(counts["4"], 1300);
  EXPECT_EQ(counts["3"] + counts["4"], 10000);
}

TEST(CompareOutputs, CountsAgreeingLabelsAndMeanAbsoluteDifference) {
  TensorMap served;
  served.set("label", Tensor::fromVector(std::vector<std::int64_t>{1, 0, 1}, {3}));
  served.set("prediction", column({1.0f, 2.0f, 3.0f}));
  TensorMap shadow;
  shadow.set("label", Tensor::fromVector(std::vector<std::int64_t>{1, 1, 1}, {3}));
  shadow.set("prediction", column({1.5f, 2.0f, 2.0f}));
  ShadowComparison c = compareOutputs(served, shadow);
  EXPECT_EQ(c.rows, 3);
  EXPECT_EQ(c.agreeing_rows, 2);
  EXPECT_DOUBLE_EQ(c.mean_abs_diff, 0.5);  // (0.5 + 0 + 1) / 3
}

/// "m" at versions 1 (2x + 0, labelled), 2 (2x + 0) and 3 (x - 1, a worse challenger).
class TrafficTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_.add("m", "1", std::make_shared<Affine>(2.0f, 0.0f, true));
    runtime_.add("m", "2", std::make_shared<Affine>(2.0f, 0.0f, true));
    runtime_.add("m", "3", std::make_shared<Affine>(1.0f, -1.0f, true));
  }

  static TrafficSpec spec(std::string shadow = {}, std::int64_t queue = 64) {
    TrafficSpec s;
    s.model = "m";
    s.weights = {{"1", 50}, {"2", 50}};
    s.shadow = std::move(shadow);
    s.seed = 7;
    s.shadow_queue = queue;
    s.where = "traffic.m";
    return s;
  }

  /// Infers {values} on "m" without a version; returns the version that answered.
  std::string infer(const std::vector<float>& values, TensorMap& outputs,
                    const std::string& request_id = {}) {
    auto pinned = runtime_.pin("m", "");
    EXPECT_TRUE(pinned.ok());
    TensorMap inputs;
    inputs.set("input", column(values));
    PredictOptions options;
    if (!request_id.empty()) {
      options.parameters.emplace_back("request_id", request_id);
    }
    Status status = (*pinned)->infer(inputs, options, outputs, nullptr);
    EXPECT_TRUE(status.ok()) << status.toString();
    return (*pinned)->served().version;
  }

  ServingRuntime runtime_;
};

TEST_F(TrafficTest, RequestIdChoosesTheVersionOfItsHash) {
  ASSERT_TRUE(runtime_.setTraffic({spec()}).ok());
  WeightedSplit reference({{"1", 50}, {"2", 50}}, 0);
  std::map<std::string, int> seen;
  for (int i = 0; i < 40; ++i) {
    const std::string id = "id-" + std::to_string(i);
    TensorMap outputs;
    const std::string version = infer({1}, outputs, id);
    EXPECT_EQ(version, reference.byKey(id));
    ++seen[version];
  }
  EXPECT_EQ(seen.size(), 2u) << "40 ids land on both halves";
  const std::string metrics = runtime_.prometheusMetrics();
  EXPECT_THAT(metrics, HasSubstr("aimass_traffic_requests_total{model=\"m\",version=\"1\"} " +
                                 std::to_string(seen["1"]) + "\n"));
  EXPECT_THAT(metrics, HasSubstr("aimass_traffic_requests_total{model=\"m\",version=\"2\"} " +
                                 std::to_string(seen["2"]) + "\n"));
}

TEST_F(TrafficTest, ExplicitVersionSkipsTheSplit) {
  ASSERT_TRUE(runtime_.setTraffic({spec()}).ok());
  auto pinned = runtime_.pin("m", "3");
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ((*pinned)->served().version, "3");
  TensorMap inputs;
  inputs.set("input", column({1}));
  TensorMap outputs;
  ASSERT_TRUE((*pinned)->infer(inputs, PredictOptions{}, outputs, nullptr).ok());
  EXPECT_THAT(runtime_.prometheusMetrics(),
              ::testing::Not(HasSubstr("aimass_traffic_requests_total{")));
}

TEST_F(TrafficTest, ShadowNeverChangesTheAnswerAndIsCompared) {
  ASSERT_TRUE(runtime_.setTraffic({spec("3")}).ok());
  for (int i = 0; i < 5; ++i) {
    TensorMap outputs;
    infer({2, -1}, outputs);
    // The served versions answer 2x: 4 and -2, labels 1 and 0; the shadow would say 1 and -2.
    const Tensor* p = outputs.find("prediction");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->data<float>()[0], 4.0f);
    EXPECT_EQ(p->data<float>()[1], -2.0f);
  }
  runtime_.drainShadows();
  auto json = runtime_.shadowComparisons("m");
  ASSERT_TRUE(json.ok());
  EXPECT_THAT(*json, HasSubstr("\"compared\": 5"));
  EXPECT_THAT(*json, HasSubstr("\"dropped\": 0"));
  // Labels: shadow 1 (1 > 0) and 0 (-2): both agree. Predictions: |4 - 1| and 0: mean 1.5.
  EXPECT_THAT(*json, HasSubstr("\"agreeing_rows\": 2"));
  EXPECT_THAT(*json, HasSubstr("\"mean_abs_diff\": 1.5"));
  const std::string metrics = runtime_.prometheusMetrics();
  EXPECT_THAT(metrics, HasSubstr("aimass_shadow_requests_total{model=\"m\",shadow=\"3\"} 5\n"));
  EXPECT_THAT(metrics, HasSubstr("aimass_shadow_rows_total{model=\"m\",shadow=\"3\"} 10\n"));
  EXPECT_THAT(metrics,
              HasSubstr("aimass_shadow_agreeing_rows_total{model=\"m\",shadow=\"3\"} 10\n"));
  // The shadow's own statistics count its requests like any other version's.
  auto stats = runtime_.statistics("m", "3");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)[0].success.count, 5u);
}

TEST_F(TrafficTest, FullShadowQueueDropsAndCounts) {
  auto gated = std::make_shared<testing::Gated>();
  runtime_.add("m", "4", gated);
  ASSERT_TRUE(runtime_.setTraffic({spec("4", 1)}).ok());
  TensorMap first;
  infer({1}, first);
  gated->waitEntered();  // the worker holds request 1; the queue is empty
  TensorMap second;
  infer({1}, second);  // queued
  TensorMap third;
  infer({1}, third);  // dropped: the queue holds 1
  EXPECT_EQ(third.find("prediction")->data<float>()[0], 2.0f) << "answered all the same";
  gated->release();
  runtime_.drainShadows();
  auto json = runtime_.shadowComparisons("m");
  ASSERT_TRUE(json.ok());
  EXPECT_THAT(*json, HasSubstr("\"compared\": 2"));
  EXPECT_THAT(*json, HasSubstr("\"dropped\": 1"));
  EXPECT_THAT(runtime_.prometheusMetrics(),
              HasSubstr("aimass_shadow_dropped_total{model=\"m\",shadow=\"4\"} 1\n"));
}

TEST_F(TrafficTest, UnknownVersionOrDifferentInputsAreRefused) {
  TrafficSpec missing = spec("9");
  Status status = runtime_.setTraffic({missing});
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("traffic.m: model 'm' has no loaded version '9'"));
  EXPECT_FALSE(runtime_.shadowComparisons("m").ok()) << "nothing was set";

  class Other final : public Affine {
   public:
    Other() : Affine(1, 0) {}
    ModelSchema schema() const override {
      ModelSchema s = Affine::schema();
      s.inputs[0].shape = {-1, 2};
      return s;
    }
  };
  runtime_.add("m", "5", std::make_shared<Other>());
  TrafficSpec different = spec();
  different.weights.emplace_back("5", 1);
  status = runtime_.setTraffic({different});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("version '5' of model 'm' takes input FP32 [-1, 2]"));
}

TEST_F(TrafficTest, NoShadowNoComparisons) {
  ASSERT_TRUE(runtime_.setTraffic({spec()}).ok());
  auto json = runtime_.shadowComparisons("m");
  EXPECT_EQ(json.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(runtime_.shadowComparisons("other").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace aimass::core
