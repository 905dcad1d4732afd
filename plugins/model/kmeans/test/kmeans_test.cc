// SPDX-License-Identifier: Apache-2.0
#include "kmeans.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/model_conformance.h"
#include "aimass/testing/registration.h"
#include "clustering_test_data.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::model {
namespace {

using ::testing::HasSubstr;

KMeansOptions optionsFor(std::int64_t k, KMeansAlgorithm algorithm = KMeansAlgorithm::kLloyd) {
  KMeansOptions options;
  options.clusters = k;
  options.algorithm = algorithm;
  options.threads = 2;
  return options;
}

/// Gaussian blobs around `centres` (2-D), `per` rows each, shuffled.
std::vector<float> blobs(const std::vector<std::pair<float, float>>& centres, int per, float spread,
                         std::uint32_t seed) {
  std::mt19937 random(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> x;
  for (int i = 0; i < per; ++i) {
    for (const auto& [cx, cy] : centres) {
      x.push_back(cx + normal(random));
      x.push_back(cy + normal(random));
    }
  }
  return x;
}

TensorMap inputOf(const std::vector<float>& x, std::int64_t features) {
  Tensor t(DType::kFloat32, {static_cast<std::int64_t>(x.size()) / features, features});
  std::memcpy(t.raw(), x.data(), x.size() * sizeof(float));
  TensorMap inputs;
  inputs.set(tensor_names::kInput, std::move(t));
  return inputs;
}

std::vector<std::int64_t> clustersOf(const KMeans& model, const std::vector<float>& x,
                                     std::int64_t features) {
  TensorMap outputs;
  EXPECT_TRUE(model.predict(inputOf(x, features), outputs, {}).ok());
  auto span = outputs.find(tensor_names::kCluster)->span<std::int64_t>();
  return {span.begin(), span.end()};
}

// Two clusters of 3 points: {(0,0), (0,1), (1,0)} and {(10,10), (10,11), (11,10)}. Centres
// (1/3, 1/3) and (31/3, 31/3); each cluster's squared distances are 2/9 + 5/9 + 5/9 = 4/3, so
// the inertia is 8/3.
const std::vector<float> kSix = {0, 0, 0, 1, 1, 0, 10, 10, 10, 11, 11, 10};

TEST(KMeansTest, PassesTheModelConformanceSuite) {
  for (auto algorithm :
       {KMeansAlgorithm::kLloyd, KMeansAlgorithm::kElkan, KMeansAlgorithm::kHamerly}) {
    KMeans model(optionsFor(3, algorithm));
    for (const auto& check : aimass::testing::checkModel(model)) {
      EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
    }
  }
  KMeansOptions mini = optionsFor(3);
  mini.batch_size = 16;
  mini.max_iterations = 100;
  KMeans model(mini);
  for (const auto& check : aimass::testing::checkModel(model)) {
    EXPECT_TRUE(check.passed) << "mini-batch: " << check.name << ": " << check.detail;
  }
}

TEST(KMeansTest, SixPointsGiveTheHandComputedCentresAndInertia) {
  for (auto algorithm :
       {KMeansAlgorithm::kLloyd, KMeansAlgorithm::kElkan, KMeansAlgorithm::kHamerly}) {
    KMeans model(optionsFor(2, algorithm));
    Recorder observer;
    ASSERT_TRUE(model.fit(RowsDataset(kSix, 2), 3, observer).ok());
    std::vector<float> c = model.centres();
    if (c[0] > 5) {  // order the two centres
      std::swap_ranges(c.begin(), c.begin() + 2, c.begin() + 2);
    }
    EXPECT_NEAR(c[0], 1.0 / 3, 1e-6);
    EXPECT_NEAR(c[1], 1.0 / 3, 1e-6);
    EXPECT_NEAR(c[2], 31.0 / 3, 1e-5);
    EXPECT_NEAR(c[3], 31.0 / 3, 1e-5);
    EXPECT_NEAR(model.inertia(), 8.0 / 3, 1e-4);
    EXPECT_NEAR(observer.objectives.back(), 8.0 / 3, 1e-4);

    TensorMap outputs;
    ASSERT_TRUE(model.predict(inputOf({0, 0, 10, 10}, 2), outputs, {}).ok());
    auto cluster = outputs.find(tensor_names::kCluster)->span<std::int64_t>();
    auto distances = outputs.find(tensor_names::kDistances)->span<float>();
    ASSERT_EQ(distances.size(), 4u);
    EXPECT_NE(cluster[0], cluster[1]);
    // (0,0) to (1/3,1/3): sqrt(2)/3; to (31/3,31/3): 31 sqrt(2)/3.
    EXPECT_NEAR(distances[cluster[0]], std::sqrt(2.0) / 3, 1e-5);
    EXPECT_NEAR(distances[1 - cluster[0]], 31 * std::sqrt(2.0) / 3, 1e-4);
  }
}

TEST(KMeansTest, ElkanAndHamerlyGiveExactlyLloydsResultOnRandomData) {
  for (std::uint32_t seed : {1u, 2u, 3u, 4u}) {
    std::mt19937 random(seed);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> x(600 * 5);
    for (float& v : x) {
      v = uniform(random);
    }
    const RowsDataset data(x, 5);
    std::vector<KMeans> models;
    for (auto algorithm :
         {KMeansAlgorithm::kLloyd, KMeansAlgorithm::kElkan, KMeansAlgorithm::kHamerly}) {
      KMeansOptions options = optionsFor(7, algorithm);
      options.tolerance = 0;
      options.max_iterations = 40;
      models.emplace_back(options);
      Recorder observer;
      ASSERT_TRUE(models.back().fit(data, seed, observer).ok());
    }
    const auto lloyd = clustersOf(models[0], x, 5);
    for (std::size_t m = 1; m < models.size(); ++m) {
      EXPECT_EQ(clustersOf(models[m], x, 5), lloyd) << "seed " << seed << " model " << m;
      EXPECT_EQ(models[m].centres(), models[0].centres()) << "seed " << seed << " model " << m;
      EXPECT_EQ(models[m].iterations(), models[0].iterations());
      EXPECT_NEAR(models[m].inertia(), models[0].inertia(), 1e-9 * models[0].inertia());
    }
  }
}

TEST(KMeansTest, LloydInertiaNeverRisesAndMatchesADirectSum) {
  const auto x = blobs({{0, 0}, {5, 0}, {0, 5}, {5, 5}}, 50, 1.5f, 9);
  KMeansOptions options = optionsFor(4);
  options.init = KMeansInit::kRandom;
  options.n_init = 1;
  options.tolerance = 0;
  KMeans model(options);
  Recorder observer;
  ASSERT_TRUE(model.fit(RowsDataset(x, 2), 5, observer).ok());
  for (std::size_t i = 1; i < observer.objectives.size(); ++i) {
    EXPECT_LE(observer.objectives[i], observer.objectives[i - 1] * (1 + 1e-12));
  }
  TensorMap outputs;
  ASSERT_TRUE(model.predict(inputOf(x, 2), outputs, {}).ok());
  double direct = 0;
  auto cluster = outputs.find(tensor_names::kCluster)->span<std::int64_t>();
  auto distances = outputs.find(tensor_names::kDistances)->span<float>();
  for (std::size_t r = 0; r < cluster.size(); ++r) {
    direct += double(distances[r * 4 + cluster[r]]) * distances[r * 4 + cluster[r]];
  }
  EXPECT_NEAR(model.inertia(), direct, 1e-4 * direct);
}

TEST(KMeansTest, MiniBatchComesNearTheFullBatchInertia) {
  const auto x = blobs({{0, 0}, {6, 0}, {0, 6}, {6, 6}}, 500, 1.0f, 4);
  KMeans full(optionsFor(4));
  Recorder observer;
  ASSERT_TRUE(full.fit(RowsDataset(x, 2), 1, observer).ok());
  KMeansOptions options = optionsFor(4);
  options.batch_size = 64;
  options.max_iterations = 300;
  KMeans mini(options);
  const RowsDataset data(x, 2);
  ASSERT_TRUE(mini.fit(data, 1, observer).ok());
  EXPECT_EQ(mini.iterations(), 300);       // every batch, whatever the tolerance
  EXPECT_EQ(data.largestRead(), 3u * 64);  // the starting sample; batches after it are 64 rows
  // The inertia of the mini-batch centres over all rows, from the distances predict() gives.
  TensorMap outputs;
  ASSERT_TRUE(mini.predict(inputOf(x, 2), outputs, {}).ok());
  double inertia = 0;
  auto cluster = outputs.find(tensor_names::kCluster)->span<std::int64_t>();
  auto distances = outputs.find(tensor_names::kDistances)->span<float>();
  for (std::size_t r = 0; r < cluster.size(); ++r) {
    inertia += double(distances[r * 4 + cluster[r]]) * distances[r * 4 + cluster[r]];
  }
  EXPECT_LT(inertia, 1.02 * full.inertia());
  EXPECT_GE(inertia, full.inertia() * (1 - 1e-6));
}

TEST(KMeansTest, ObserverStopsTheFitAndTheModelKeepsWhatItReached) {
  const auto x = blobs({{0, 0}, {5, 0}, {0, 5}}, 40, 2.0f, 2);
  KMeansOptions options = optionsFor(3);
  options.tolerance = 0;
  KMeans model(options);
  Recorder observer(2);
  ASSERT_TRUE(model.fit(RowsDataset(x, 2), 1, observer).ok());
  EXPECT_EQ(observer.objectives.size(), 2u);
  EXPECT_EQ(model.iterations(), 2);
  EXPECT_TRUE(model.ready());
}

TEST(KMeansTest, ReadsCentresWithAndWithoutAHeaderAndNamesBadValues) {
  const auto folder = std::filesystem::temp_directory_path() / "aimass_kmeans_test";
  std::filesystem::create_directories(folder);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(folder / name) << text;
    return (folder / name).string();
  };
  auto plain = readCentresCsv(write("plain.csv", "0,1\n2.5,3\n"), 2);
  ASSERT_TRUE(plain.ok()) << plain.status().toString();
  EXPECT_EQ(*plain, (std::vector<float>{0, 1, 2.5f, 3}));
  auto header = readCentresCsv(write("header.csv", "x,y\r\n0,1\r\n2.5,3\r\n"), 2);
  ASSERT_TRUE(header.ok()) << header.status().toString();
  EXPECT_EQ(*header, *plain);

  auto bad = readCentresCsv(write("bad.csv", "0,1\n2,oops\n"), 2);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("line 2 column 2"));
  auto ragged = readCentresCsv(write("ragged.csv", "0,1\n2\n"), 2);
  EXPECT_THAT(ragged.status().message(), HasSubstr("has 1 values, earlier lines 2"));
  auto count = readCentresCsv(write("count.csv", "0,1\n"), 2);
  EXPECT_THAT(count.status().message(), HasSubstr("has 1 centres (rows), but clusters is 2"));
  EXPECT_FALSE(readCentresCsv((folder / "missing.csv").string(), 2).ok());

  // Given centres start the fit: from (0,0) and (10,10) the six points converge at once.
  KMeansOptions options = optionsFor(2);
  options.init = KMeansInit::kGiven;
  options.given_centres = {0, 0, 10, 10};
  KMeans model(options);
  Recorder observer;
  ASSERT_TRUE(model.fit(RowsDataset(kSix, 2), 1, observer).ok());
  EXPECT_NEAR(model.centres()[0], 1.0 / 3, 1e-6);
  EXPECT_NEAR(model.centres()[2], 31.0 / 3, 1e-5);
  KMeans wrong(options);
  Status s = wrong.fit(RowsDataset({1, 2, 3, 4, 5, 6}, 3), 1, observer);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("data has 3 features"));
  std::filesystem::remove_all(folder);
}

TEST(KMeansTest, RefusesUnsuitableDataWithClearErrors) {
  Recorder observer;
  KMeans model(optionsFor(4));
  Status few = model.fit(RowsDataset({0, 0, 1, 1}, 2), 1, observer);
  EXPECT_EQ(few.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(few.message(), HasSubstr("2 rows, fewer than the 4 clusters"));
  Status nan = model.fit(RowsDataset({0, 0, 1, 1, 2, NAN, 3, 3, 4, 4}, 2), 1, observer);
  EXPECT_THAT(nan.message(), HasSubstr("row 2 has a NaN or infinite value in feature 1"));
  EXPECT_FALSE(model.ready());
}

TEST(KMeansTest, SaveLoadRoundTripAndCorruptPayloadsChangeNothing) {
  KMeans model(optionsFor(2));
  Recorder observer;
  ASSERT_TRUE(model.fit(RowsDataset(kSix, 2), 1, observer).ok());
  std::string payload;
  ASSERT_TRUE(model.save(payload).ok());
  EXPECT_EQ(payload.size(), 8u + 8 + 8 + 8 + 4 * 4);

  KMeans target(optionsFor(5));  // the payload, not the defaults, decides k
  ASSERT_TRUE(target.load(payload, KMeans::kFormatVersion).ok());
  EXPECT_EQ(target.centres(), model.centres());
  EXPECT_EQ(target.options().clusters, 2);
  EXPECT_EQ(target.schema().outputs[1].shape, (Shape{-1, 2}));
  EXPECT_EQ(clustersOf(target, kSix, 2), clustersOf(model, kSix, 2));

  std::string nan = payload;
  const float bad = NAN;
  std::memcpy(nan.data() + 32, &bad, 4);
  Status s = target.load(nan, KMeans::kFormatVersion);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("NaN"));
  std::string sizes = payload;
  sizes[0] = 3;  // 3 clusters would need more bytes
  EXPECT_EQ(target.load(sizes, KMeans::kFormatVersion).code(), StatusCode::kDataLoss);
  EXPECT_EQ(target.load(payload, 2).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(target.centres(), model.centres());
  std::string again;
  ASSERT_TRUE(target.save(again).ok());
  EXPECT_EQ(again, payload);
}

TEST(KMeansTest, PredictFromManyThreadsMatchesOneThread) {
  const auto x = blobs({{0, 0}, {5, 0}, {0, 5}}, 100, 1.0f, 3);
  KMeans model(optionsFor(3));
  Recorder observer;
  ASSERT_TRUE(model.fit(RowsDataset(x, 2), 1, observer).ok());
  const auto expected = clustersOf(model, x, 2);
  std::vector<std::thread> threads;
  std::vector<int> same(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        same[t] += clustersOf(model, x, 2) == expected ? 1 : 0;
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (int t = 0; t < 8; ++t) {
    EXPECT_EQ(same[t], 20) << "thread " << t;
  }
}

TEST(KMeansTest, RegistersModelKMeansAndRefusesBadParams) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "model.kmeans");
  NodeConfig config("km", type.type, nullptr);
  for (const auto& spec : type.params) {
    EXPECT_FALSE(spec.doc.empty()) << spec.name;
    if (!std::holds_alternative<std::monostate>(spec.default_value)) {
      config.setValue(spec.name, spec.default_value);
    }
  }
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  auto& model = static_cast<KMeans&>(**node);
  EXPECT_EQ(model.options().clusters, 8);
  EXPECT_EQ(model.schema().task, Task::kClustering);

  config.setValue("init", std::string("given"));
  auto missing = type.factory(config);
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(), HasSubstr("init: given needs `centers:`"));
  config.setValue("init", std::string("random"));
  config.setValue("centers", std::string("/nonexistent.csv"));
  auto unused = type.factory(config);
  EXPECT_THAT(unused.status().message(), HasSubstr("only read with init: given"));
  config.setValue("init", std::string("given"));
  auto unreadable = type.factory(config);
  EXPECT_THAT(unreadable.status().message(), HasSubstr("cannot open the centres file"));
}

}  // namespace
}  // namespace aimass::plugins::model
