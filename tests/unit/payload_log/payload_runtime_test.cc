// SPDX-License-Identifier: Apache-2.0
// Payload logging through the serving runtime (ServingRuntime::setPayloadLogging()): the share
// of requests logged, with their ids, versions, answers and outcomes; what is left out; a
// misspelt exclusion that keeps a version from being logged; the metrics; clear() writing what
// was queued.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "aimass/core/serving.h"
#include "data_profile.h"
#include "map_storage.h"
#include "monitoring/payload_record.h"
#include "payload_query.h"

namespace aimass::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

/// A model of two number features in its "input" block and a BYTES "customer" input; answers
/// "score" = the sum of each row's numbers. A score of 99 fails the call.
class PumpModel final : public Model {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kRegression;
    s.inputs = {TensorSpec("input", DType::kFloat32, {-1, 2}),
                TensorSpec("customer", DType::kBytes, {-1}, /*optional_=*/true)};
    s.outputs = {TensorSpec("score", DType::kFloat32, {-1})};
    return s;
  }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    const Tensor& x = *inputs.find("input");
    Tensor score(DType::kFloat32, {x.dim(0)});
    for (std::int64_t r = 0; r < x.dim(0); ++r) {
      score.data<float>()[r] = x.data<float>()[2 * r] + x.data<float>()[2 * r + 1];
      if (score.data<float>()[r] == 99) {
        return internalError("the pump exploded");
      }
    }
    outputs.set("score", std::move(score));
    return okStatus();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override {
    payload = "pump";
    return okStatus();
  }
  Status load(std::string_view, std::uint32_t) override { return okStatus(); }
};

std::shared_ptr<const DataProfile> pumpProfile() {
  auto profile = std::make_shared<DataProfile>();
  profile->rows = 10;
  for (const char* name : {"pressure_kpa", "temperature_c"}) {
    FeatureProfile feature;
    feature.name = name;
    feature.present = 10;
    feature.max = 100;
    profile->features.push_back(feature);
  }
  return profile;
}

class PayloadRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_.setLog([this](LogLevel, const std::string&, const std::string& message) {
      std::lock_guard lock(mutex_);
      log_.push_back(message);
    });
    runtime_.setPayloadStorage(storage_);
  }
  void TearDown() override { runtime_.clear(); }

  /// Runs one request of `numbers` (rows of `width`) on `model` with request id `id`.
  Status infer(const std::string& model, std::vector<float> numbers, const std::string& id,
               InferFailure* failure = nullptr, std::int64_t width = 2) {
    auto pinned = runtime_.pin(model, "");
    if (!pinned.ok()) {
      return pinned.status();
    }
    TensorMap inputs;
    const auto rows = static_cast<std::int64_t>(numbers.size()) / width;
    inputs.set("input", Tensor::fromVector(numbers, {rows, width}));
    inputs.set("customer", Tensor::fromStrings(std::vector<std::string>(
                               static_cast<std::size_t>(rows), "Jane Roe")));
    PredictOptions options;
    options.request_id = id;
    TensorMap outputs;
    return (*pinned)->infer(inputs, options, outputs, failure);
  }

  std::vector<PayloadEntry> logged(const std::string& model) {
    runtime_.flushPayloads();
    auto entries = readPayloads(*storage_, query(model));
    EXPECT_TRUE(entries.ok()) << entries.status().toString();
    return entries.ok() ? *entries : std::vector<PayloadEntry>{};
  }

  std::string logText() {
    std::lock_guard lock(mutex_);
    std::string text;
    for (const auto& line : log_) {
      text += line + "\n";
    }
    return text;
  }

  std::shared_ptr<testing::MapStorage> storage_ = std::make_shared<testing::MapStorage>();
  ServingRuntime runtime_;
  std::mutex mutex_;
  std::vector<std::string> log_;
};

TEST_F(PayloadRuntimeTest, AShareOfRequestsIsLoggedWithIdsVersionsAnswersAndLatency) {
  PayloadLogging settings;
  settings.sample = 0.25;
  runtime_.setPayloadLogging("", settings);
  runtime_.add("pumps", "3", std::make_shared<PumpModel>());
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(infer("pumps", {static_cast<float>(i), 1}, "r" + std::to_string(i)).ok());
  }
  auto entries = logged("pumps");
  ASSERT_EQ(entries.size(), 2u) << "a quarter of 8, every fourth";
  EXPECT_EQ(entries[0].request_id, "r3");
  EXPECT_EQ(entries[1].request_id, "r7");
  EXPECT_EQ(entries[1].model, "pumps");
  EXPECT_EQ(entries[1].version, "3");
  EXPECT_EQ(entries[1].outcome, "ok");
  EXPECT_GE(entries[1].latency_us, 0);
  EXPECT_EQ(entries[1].inputs.find("input")->data<float>()[0], 7.0f);
  EXPECT_EQ(entries[1].inputs.find("customer")->strings()[0], "Jane Roe");
  EXPECT_EQ(entries[1].outputs.find("score")->data<float>()[0], 8.0f);
  EXPECT_THAT(runtime_.prometheusMetrics(),
              HasSubstr("aimass_payload_log_logged_total{model=\"pumps\"} 2\n"));
  EXPECT_THAT(logText(), HasSubstr("model 'pumps' version '3' logs 25% of its requests to "
                                   "map:test (payloads/pumps/3/)"));
}

TEST_F(PayloadRuntimeTest, ExcludedInputsOutputsAndProfileColumnsAreLeftOut) {
  PayloadLogging settings;
  settings.sample = 1;
  settings.exclude = {"customer", "not_here"};  // node-wide: applied where it matches
  settings.model_exclude = {"temperature_c"};   // a profiled number feature: its column is NaN
  runtime_.setPayloadLogging("pumps", settings);
  runtime_.add("pumps", "1", std::make_shared<PumpModel>(), "", pumpProfile());
  ASSERT_TRUE(infer("pumps", {1, 2, 3, 4}, "two-rows").ok());
  auto entries = logged("pumps");
  ASSERT_EQ(entries.size(), 1u);
  const PayloadEntry& e = entries[0];
  EXPECT_EQ(e.inputs.find("customer"), nullptr);
  const Tensor& input = *e.inputs.find("input");
  ASSERT_EQ(input.shape(), (Shape{2, 2}));
  EXPECT_EQ(input.data<float>()[0], 1.0f);
  EXPECT_TRUE(std::isnan(input.data<float>()[1]));
  EXPECT_EQ(input.data<float>()[2], 3.0f);
  EXPECT_TRUE(std::isnan(input.data<float>()[3]));
  EXPECT_THAT(e.masked_features, ElementsAre("temperature_c"));
  EXPECT_EQ(e.outputs.find("score")->data<float>()[1], 7.0f) << "the model saw every value";
  EXPECT_THAT(logText(), HasSubstr("left out: customer, temperature_c)"));
}

TEST_F(PayloadRuntimeTest, AModelsMisspeltExclusionKeepsItsVersionsFromBeingLogged) {
  PayloadLogging settings;
  settings.sample = 1;
  settings.model_exclude = {"customer_name"};
  runtime_.setPayloadLogging("pumps", settings);
  runtime_.add("pumps", "1", std::make_shared<PumpModel>());
  ASSERT_TRUE(infer("pumps", {1, 2}, "r").ok());
  EXPECT_THAT(logged("pumps"), IsEmpty());
  EXPECT_THAT(logText(), HasSubstr("model 'pumps' version '1': payload_exclude names "
                                   "'customer_name', which is none of its inputs"));
}

TEST_F(PayloadRuntimeTest, FailuresAreLoggedWithTheirKindButRequestsThatMissTheSchemaAreNot) {
  PayloadLogging settings;
  settings.sample = 1;
  runtime_.setPayloadLogging("", settings);
  runtime_.add("pumps", "1", std::make_shared<PumpModel>());
  InferFailure failure = InferFailure::kInvalid;
  EXPECT_FALSE(infer("pumps", {90, 9}, "exploded", &failure).ok());
  EXPECT_EQ(failure, InferFailure::kBackend) << "the caller still learns why";
  EXPECT_FALSE(infer("pumps", {1, 2, 3}, "misfit", nullptr, 3).ok());  // [1, 3]: not [-1, 2]
  auto entries = logged("pumps");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].request_id, "exploded");
  EXPECT_EQ(entries[0].outcome, "backend");
  EXPECT_TRUE(entries[0].outputs.empty());
}

TEST_F(PayloadRuntimeTest, ModelsWithoutAShareAreNotLoggedAndClearWritesWhatWasQueued) {
  PayloadLogging settings;
  settings.sample = 1;
  runtime_.setPayloadLogging("pumps", settings);
  runtime_.add("pumps", "1", std::make_shared<PumpModel>());
  runtime_.add("quiet", "1", std::make_shared<PumpModel>());
  ASSERT_TRUE(infer("quiet", {1, 2}, "q").ok());
  ASSERT_TRUE(infer("pumps", {1, 2}, "p").ok());
  EXPECT_THAT(runtime_.prometheusMetrics(),
              Not(HasSubstr("aimass_payload_log_logged_total{model=\"quiet\"}")));
  runtime_.clear();  // no flush: stopping the log writes what was queued
  auto pumps = readPayloads(*storage_, query("pumps"));
  ASSERT_TRUE(pumps.ok());
  ASSERT_EQ(pumps->size(), 1u);
  EXPECT_EQ(pumps->front().request_id, "p");
  auto quiet = readPayloads(*storage_, query("quiet"));
  ASSERT_TRUE(quiet.ok());
  EXPECT_TRUE(quiet->empty());
}

TEST_F(PayloadRuntimeTest, WithoutAPayloadStorageNothingIsLoggedAndTheLogSaysSo) {
  runtime_.setPayloadStorage(nullptr);
  PayloadLogging settings;
  settings.sample = 1;
  runtime_.setPayloadLogging("", settings);
  runtime_.add("pumps", "1", std::make_shared<PumpModel>());
  ASSERT_TRUE(infer("pumps", {1, 2}, "r").ok());
  runtime_.flushPayloads();
  EXPECT_TRUE(storage_->values.empty());
  EXPECT_THAT(logText(), HasSubstr("payload_sample is set but no payload storage is"));
  EXPECT_THAT(runtime_.prometheusMetrics(), Not(HasSubstr("aimass_payload_log")));
}

}  // namespace
}  // namespace aimass::core
