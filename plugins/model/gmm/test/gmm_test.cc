// SPDX-License-Identifier: Apache-2.0
#include "gmm.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/model_conformance.h"
#include "aimass/testing/registration.h"
#include "clustering_test_data.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::model {
namespace {

using ::testing::HasSubstr;

GmmOptions optionsFor(std::int64_t k, CovarianceType covariance = CovarianceType::kFull) {
  GmmOptions options;
  options.components = k;
  options.covariance = covariance;
  options.threads = 2;
  return options;
}

/// 600 rows of N(-3, 1) and 1400 of N(4, 0.5^2), interleaved.
std::vector<float> twoGaussians() {
  std::mt19937 random(11);
  std::normal_distribution<float> left(-3.0f, 1.0f), right(4.0f, 0.5f);
  std::vector<float> x;
  for (int i = 0; i < 2000; ++i) {
    x.push_back(i % 10 < 3 ? left(random) : right(random));
  }
  return x;
}

/// Correlated 2-D rows: (u, u + 0.3 v) for standard normal u and v.
std::vector<float> correlated() {
  std::mt19937 random(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x;
  for (int i = 0; i < 500; ++i) {
    const float u = normal(random), v = normal(random);
    x.push_back(u);
    x.push_back(u + 0.3f * v);
  }
  return x;
}

TEST(GaussianMixtureTest, PassesTheModelConformanceSuite) {
  for (auto covariance : {CovarianceType::kFull, CovarianceType::kDiag}) {
    GaussianMixture model(optionsFor(3, covariance));
    for (const auto& check : aimass::testing::checkModel(model)) {
      EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
    }
  }
}

// One component on (0,0), (2,0), (0,2), (2,2): mean (1,1), covariance I (+1e-6), so the mean
// log-likelihood is -(d log(2 pi) + log det I + d) / 2 = -(log(2 pi) + 1).
TEST(GaussianMixtureTest, OneComponentIsTheHandComputedMaximumLikelihoodGaussian) {
  for (auto covariance : {CovarianceType::kFull, CovarianceType::kDiag}) {
    GaussianMixture model(optionsFor(1, covariance));
    Recorder observer;
    ASSERT_TRUE(model.fit(RowsDataset({0, 0, 2, 0, 0, 2, 2, 2}, 2), 1, observer).ok());
    const GmmParameters& p = model.parameters();
    EXPECT_NEAR(p.weights[0], 1.0, 1e-12);
    EXPECT_NEAR(p.means[0], 1.0, 1e-12);
    EXPECT_NEAR(p.means[1], 1.0, 1e-12);
    if (covariance == CovarianceType::kFull) {
      EXPECT_NEAR(p.covariances[0], 1.0 + 1e-6, 1e-12);
      EXPECT_NEAR(p.covariances[1], 0.0, 1e-12);
      EXPECT_NEAR(p.covariances[3], 1.0 + 1e-6, 1e-12);
    } else {
      EXPECT_NEAR(p.covariances[0], 1.0 + 1e-6, 1e-12);
      EXPECT_NEAR(p.covariances[1], 1.0 + 1e-6, 1e-12);
    }
    EXPECT_NEAR(model.logLikelihood(), -(std::log(2 * M_PI) + 1), 1e-5);
    EXPECT_NEAR(observer.objectives.back(), -(std::log(2 * M_PI) + 1), 1e-5);
  }
}

TEST(GaussianMixtureTest, RecoversTwoOneDimensionalGaussians) {
  for (auto init : {GmmInit::kKMeans, GmmInit::kRandom}) {
    GmmOptions options = optionsFor(2);
    options.init = init;
    options.tolerance = 1e-6;
    options.max_iterations = 500;
    GaussianMixture model(options);
    Recorder observer;
    ASSERT_TRUE(model.fit(RowsDataset(twoGaussians(), 1), 3, observer).ok());
    const GmmParameters& p = model.parameters();
    const int left = p.means[0] < p.means[1] ? 0 : 1, right = 1 - left;
    EXPECT_NEAR(p.means[left], -3.0, 0.1);
    EXPECT_NEAR(p.means[right], 4.0, 0.05);
    EXPECT_NEAR(p.covariances[left], 1.0, 0.1);
    EXPECT_NEAR(p.covariances[right], 0.25, 0.025);
    EXPECT_NEAR(p.weights[left], 0.3, 0.01);
    EXPECT_NEAR(p.weights[right], 0.7, 0.01);
    // EM never lowers the likelihood.
    for (std::size_t i = 1; i < observer.objectives.size(); ++i) {
      EXPECT_GE(observer.objectives[i], observer.objectives[i - 1] - 1e-9);
    }
    // Between the two, the posterior swings from one component to the other.
    Tensor points(DType::kFloat32, {3, 1});
    points.data<float>()[0] = -3;
    points.data<float>()[1] = 4;
    points.data<float>()[2] = 1;
    TensorMap inputs, outputs;
    inputs.set(tensor_names::kInput, points);
    ASSERT_TRUE(model.predict(inputs, outputs, {}).ok());
    auto cluster = outputs.find(tensor_names::kCluster)->span<std::int64_t>();
    auto resp = outputs.find(tensor_names::kResponsibilities)->span<float>();
    EXPECT_EQ(cluster[0], left);
    EXPECT_EQ(cluster[1], right);
    EXPECT_GT(resp[0 * 2 + left], 0.999f);
    EXPECT_NEAR(resp[2 * 2] + resp[2 * 2 + 1], 1.0f, 1e-6f);
  }
}

TEST(GaussianMixtureTest, FullCovarianceFitsCorrelatedDataBetterThanDiagonal) {
  Recorder observer;
  GaussianMixture full(optionsFor(1, CovarianceType::kFull));
  GaussianMixture diag(optionsFor(1, CovarianceType::kDiag));
  ASSERT_TRUE(full.fit(RowsDataset(correlated(), 2), 1, observer).ok());
  ASSERT_TRUE(diag.fit(RowsDataset(correlated(), 2), 1, observer).ok());
  // Covariance [[1, 1], [1, 1.09]]: det 0.09, so full gains log(1 * 1.09 / 0.09) / 2 ≈ 1.25 nats.
  EXPECT_GT(full.logLikelihood(), diag.logLikelihood() + 1.0);
  EXPECT_NEAR(full.parameters().covariances[1], 1.0, 0.15);
  EXPECT_EQ(diag.parameters().covariances.size(), 2u);
}

TEST(GaussianMixtureTest, ACollapsedComponentIsNamedInTheError) {
  GmmOptions options = optionsFor(1);
  options.reg_covar = 0;
  GaussianMixture model(options);
  Recorder observer;
  Status s = model.fit(RowsDataset({1, 1, 1, 1, 1, 1}, 2), 1, observer);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("covariance of component 0 is not positive definite"));
  EXPECT_FALSE(model.ready());
  Status few = GaussianMixture(optionsFor(3)).fit(RowsDataset({1, 2}, 1), 1, observer);
  EXPECT_THAT(few.message(), HasSubstr("2 rows, fewer than the 3 components"));
}

TEST(GaussianMixtureTest, SaveLoadRoundTripAndCorruptPayloadsChangeNothing) {
  GaussianMixture model(optionsFor(2));
  Recorder observer;
  ASSERT_TRUE(model.fit(RowsDataset(twoGaussians(), 1), 1, observer).ok());
  std::string payload;
  ASSERT_TRUE(model.save(payload).ok());
  EXPECT_EQ(payload.size(), 8u + 8 + 1 + 8 + 8 * 2 * 3);

  GaussianMixture target(optionsFor(4, CovarianceType::kDiag));
  ASSERT_TRUE(target.load(payload, GaussianMixture::kFormatVersion).ok());
  EXPECT_EQ(target.options().components, 2);
  EXPECT_EQ(target.parameters().means, model.parameters().means);

  std::string weights = payload;  // first weight doubled: the weights no longer sum to 1
  double w = 0;
  std::memcpy(&w, weights.data() + 33, 8);
  w *= 2;
  std::memcpy(weights.data() + 33, &w, 8);
  Status s = target.load(weights, GaussianMixture::kFormatVersion);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("weights sum to"));
  std::string variance = payload;  // a negative variance
  const double negative = -1;
  std::memcpy(variance.data() + 33 + 8 * 4, &negative, 8);
  s = target.load(variance, GaussianMixture::kFormatVersion);
  EXPECT_THAT(s.message(), HasSubstr("not positive definite"));
  EXPECT_EQ(target.load(payload.substr(0, 40), 1).code(), StatusCode::kDataLoss);
  EXPECT_EQ(target.load(payload, 9).code(), StatusCode::kInvalidArgument);
  std::string again;
  ASSERT_TRUE(target.save(again).ok());
  EXPECT_EQ(again, payload);
}

TEST(GaussianMixtureTest, RegistersModelGmmWithDefaults) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "model.gmm");
  NodeConfig config("gmm", type.type, nullptr);
  for (const auto& spec : type.params) {
    EXPECT_FALSE(spec.doc.empty()) << spec.name;
    config.setValue(spec.name, spec.default_value);
  }
  config.setValue("covariance", std::string("diag"));
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  auto& model = static_cast<GaussianMixture&>(**node);
  EXPECT_EQ(model.options().covariance, CovarianceType::kDiag);
  EXPECT_EQ(model.options().max_iterations, 100);
  EXPECT_EQ(model.schema().task, Task::kClustering);
}

}  // namespace
}  // namespace aimass::plugins::model
