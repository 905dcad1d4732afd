// SPDX-License-Identifier: Apache-2.0
// job.evaluate on sequence models (language models, forecasters, sequence classifiers), with
// fake models over fake datasets.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
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

/// Two rows of two tokens of the vocabulary {a, b, c}: [a b] -> [b c], [b c] -> [c b].
class StreamDataset final : public Dataset {
 public:
  StreamDataset() {
    schema_.feature_dtype = DType::kInt64;
    schema_.row_shape = {2};
    schema_.label_kind = LabelKind::kNextToken;
    schema_.cardinalities = {3};
    schema_.id_names = {{"a", "b", "c"}};
  }
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return 2; }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    static const std::int64_t kTokens[2][2] = {{0, 1}, {1, 2}};
    static const std::int64_t kNext[2][2] = {{1, 2}, {2, 1}};
    const auto n = static_cast<std::int64_t>(rows.size());
    out.features.resize(DType::kInt64, {n, 2});
    out.labels.resize(DType::kInt64, {n, 2});
    for (std::size_t i = 0; i < rows.size(); ++i) {
      for (int j = 0; j < 2; ++j) {
        out.features.data<std::int64_t>()[2 * i + j] = kTokens[rows[i]][j];
        out.labels.data<std::int64_t>()[2 * i + j] = kNext[rows[i]][j];
      }
    }
    out.lengths = Tensor();
    return Status();
  }

 private:
  DatasetSchema schema_;
};

/// Gives, for token t (its own ids), probability 0.5 to t + 1 (mod 3) and 0.25 to the others,
/// when asked to score; `vocabulary` as its class_names (empty: ids only).
class FakeLanguageModel final : public testing::UnsavedModel {
 public:
  explicit FakeLanguageModel(std::vector<std::string> vocabulary = {})
      : vocabulary_(std::move(vocabulary)) {}
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kSequence;
    s.inputs = {{"tokens", DType::kInt64, {-1, -1}, false, false},
                {"lengths", DType::kInt64, {-1}, true, false}};
    s.outputs = {{"probabilities", DType::kFloat32, {-1, -1, 3}, true, false}};
    s.class_names = vocabulary_;
    return s;
  }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override {
    const std::string* score = options.parameter("score");
    if (score == nullptr || *score != "true") {
      return Status();  // would generate text: nothing the evaluator can use
    }
    const Tensor* tokens = inputs.find("tokens");
    const Tensor* lengths = inputs.find("lengths");
    if (tokens == nullptr || tokens->dtype() != DType::kInt64 || lengths == nullptr) {
      return invalidArgument("fake LM: needs INT64 tokens and lengths");
    }
    last_lengths.assign(lengths->span<std::int64_t>().begin(), lengths->span<std::int64_t>().end());
    Tensor p(DType::kFloat32, {tokens->dim(0), tokens->dim(1), 3});
    for (std::int64_t i = 0; i < tokens->numel(); ++i) {
      for (int k = 0; k < 3; ++k) {
        p.data<float>()[i * 3 + k] = k == (tokens->data<std::int64_t>()[i] + 1) % 3 ? 0.5f : 0.25f;
      }
    }
    outputs.set("probabilities", p);
    return Status();
  }
  mutable std::vector<std::int64_t> last_lengths;

 private:
  std::vector<std::string> vocabulary_;
};

/// Windows of 3 steps x (target, covariate), horizon 2 of one target.
class WindowDataset final : public Dataset {
 public:
  WindowDataset() {
    schema_.row_shape = {3, 2};
    schema_.feature_names = {"load", "temperature"};
    schema_.label_kind = LabelKind::kValue;
    schema_.num_targets = 2;
  }
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return 2; }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    static const float kInputs[2][6] = {{1, 0, 2, 0, 4, 0}, {2, 0, 4, 0, 5, 0}};
    static const float kTruth[2][2] = {{5, 6}, {6, 0}};
    const auto n = static_cast<std::int64_t>(rows.size());
    out.features.resize(DType::kFloat32, {n, 3, 2});
    out.labels.resize(DType::kFloat32, {n, 2});
    for (std::size_t i = 0; i < rows.size(); ++i) {
      std::copy(kInputs[rows[i]], kInputs[rows[i]] + 6, out.features.data<float>() + 6 * i);
      std::copy(kTruth[rows[i]], kTruth[rows[i]] + 2, out.labels.data<float>() + 2 * i);
    }
    return Status();
  }

 private:
  DatasetSchema schema_;
};

/// Forecasts every step as the window's last target value + 1.
class FakeForecaster final : public testing::UnsavedModel {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kRegression;
    s.inputs = {{"input", DType::kFloat32, {-1, 3, 2}, false, false}};
    return s;
  }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    const Tensor* x = inputs.find("input");
    if (x == nullptr || x->rank() != 3) {
      return invalidArgument("fake forecaster: needs input [rows, 3, 2]");
    }
    Tensor y(DType::kFloat32, {x->dim(0), 2});
    for (std::int64_t i = 0; i < x->dim(0); ++i) {
      y.data<float>()[2 * i] = y.data<float>()[2 * i + 1] = x->data<float>()[6 * i + 4] + 1;
    }
    outputs.set("prediction", y);
    return Status();
  }
};

/// Three texts of 1, 3 and 4 tokens, padded, classes short/long: short, long, short.
class TextsDataset final : public Dataset {
 public:
  TextsDataset() {
    schema_.feature_dtype = DType::kInt64;
    schema_.row_shape = {-1};
    schema_.label_kind = LabelKind::kClass;
    schema_.class_names = {"short", "long"};
    schema_.num_targets = 1;
  }
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return 3; }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    static const std::int64_t kLengths[] = {1, 3, 4};
    static const std::int64_t kClasses[] = {0, 1, 0};
    const auto n = static_cast<std::int64_t>(rows.size());
    std::int64_t longest = 0;
    for (auto r : rows) {
      longest = std::max(longest, kLengths[r]);
    }
    out.features = Tensor::zeros(DType::kInt64, {n, longest});
    out.lengths.resize(DType::kInt64, {n});
    out.labels.resize(DType::kInt64, {n});
    for (std::size_t i = 0; i < rows.size(); ++i) {
      for (std::int64_t j = 0; j < kLengths[rows[i]]; ++j) {
        out.features.data<std::int64_t>()[static_cast<std::int64_t>(i) * longest + j] = 7;
      }
      out.lengths.data<std::int64_t>()[i] = kLengths[rows[i]];
      out.labels.data<std::int64_t>()[i] = kClasses[rows[i]];
    }
    return Status();
  }

 private:
  DatasetSchema schema_;
};

/// "long" when a row has more than two tokens, by its lengths input.
class FakeSequenceClassifier final : public testing::UnsavedModel {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kClassification;
    s.inputs = {{"tokens", DType::kInt64, {-1, -1}, false, false},
                {"lengths", DType::kInt64, {-1}, false, false}};
    s.class_names = {"short", "long"};
    return s;
  }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    const Tensor* tokens = inputs.find("tokens");
    const Tensor* lengths = inputs.find("lengths");
    if (tokens == nullptr || tokens->dtype() != DType::kInt64 || lengths == nullptr ||
        lengths->numel() != tokens->dim(0)) {
      return invalidArgument("fake classifier: needs INT64 tokens and lengths");
    }
    Tensor label(DType::kInt64, {tokens->dim(0)});
    for (std::int64_t i = 0; i < tokens->dim(0); ++i) {
      label.data<std::int64_t>()[i] = lengths->data<std::int64_t>()[i] > 2 ? 1 : 0;
    }
    outputs.set("label", label);
    return Status();
  }
};

using EvaluateSequenceTest = testing::EvaluateRunTest;

TEST_F(EvaluateSequenceTest, LanguageModelReportsPerplexityAndBitsPerChar) {
  auto model = std::make_shared<FakeLanguageModel>();
  ASSERT_TRUE(run(model, std::make_shared<StreamDataset>(), {}, 2).ok());
  // Next tokens b c | c b: p = 0.5, 0.5, 0.5 and 0.25 (c follows b in the model's view):
  // 3 ln 2 + 2 ln 2 = 5 ln 2 nats over 4 tokens; argmax right for 3 of 4.
  const LanguageModelReport& r = *job_->report()->language_model;
  EXPECT_EQ(r.rows, 2u);
  EXPECT_EQ(r.tokens, 4u);
  EXPECT_EQ(r.vocabulary, 3);
  EXPECT_FALSE(r.byte_tokens);
  EXPECT_NEAR(r.loss, 1.25 * std::log(2.0), 1e-7);
  EXPECT_NEAR(r.bits_per_token, 1.25, 1e-7);
  EXPECT_NEAR(r.perplexity, std::pow(2.0, 1.25), 1e-6);
  EXPECT_DOUBLE_EQ(r.token_accuracy, 0.75);
  EXPECT_EQ(model->last_lengths, (std::vector<std::int64_t>{2, 2})) << "full lengths given";
  auto metrics = json()->getObject("metrics");
  EXPECT_EQ(json()->getValue<std::string>("task"), "language_model");
  EXPECT_NEAR(metrics->getValue<double>("loss"), 1.25 * std::log(2.0), 1e-7);
  EXPECT_NEAR(metrics->getValue<double>("perplexity"), std::pow(2.0, 1.25), 1e-6);
  EXPECT_NEAR(metrics->getValue<double>("bits_per_char"), 1.25, 1e-7);
  EXPECT_DOUBLE_EQ(metrics->getValue<double>("token_accuracy"), 0.75);
  EXPECT_EQ(metrics->getValue<std::string>("token_unit"), "char");
  EXPECT_EQ(progress_.summaries.back(), "loss=0.8664 perplexity=2.3784 bits_per_char=1.2500");
  EXPECT_THAT(formatEvaluation(*job_->report()), HasSubstr("  bits/char       1.2500\n"));
}

TEST_F(EvaluateSequenceTest, LanguageModelVocabularyIsMappedBySymbol) {
  // The model's ids: b=0, a=1, c=2; its successor rule then says a->c, b->a, c->b, so of the
  // next tokens b c | c b only the last (after c) gets 0.5: 3 ln 4 + ln 2 = 7 ln 2 nats.
  ASSERT_TRUE(run(std::make_shared<FakeLanguageModel>(std::vector<std::string>{"b", "a", "c"}),
                  std::make_shared<StreamDataset>())
                  .ok());
  const LanguageModelReport& r = *job_->report()->language_model;
  EXPECT_NEAR(r.bits_per_token, 1.75, 1e-7);
  EXPECT_DOUBLE_EQ(r.token_accuracy, 0.25);

  Status s = run(std::make_shared<FakeLanguageModel>(std::vector<std::string>{"b", "a", "x"}),
                 std::make_shared<StreamDataset>());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("has the token 'c' that model 'm' does not have"));
}

TEST_F(EvaluateSequenceTest, LanguageModelMismatchesSayWhatIsMissing) {
  Status s = run(std::make_shared<FakeLanguageModel>(), std::make_shared<WindowDataset>());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("next-token labels"));

  // A classifier model on stream data is not a language model.
  s = run(std::make_shared<FakeSequenceClassifier>(), std::make_shared<StreamDataset>());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST_F(EvaluateSequenceTest, ForecastAgainstTheNaiveSeasonalBaseline) {
  ASSERT_TRUE(run(std::make_shared<FakeForecaster>(), std::make_shared<WindowDataset>()).ok());
  // Forecasts [5 5] and [6 6] for [5 6] and [6 0]: errors 0, 1, 0, 6. Naive (last value):
  // [4 4] and [5 5]: errors 1, 2, 1, 5. MAPE leaves the true 0 out: (0 + 1/6 + 0) / 3.
  const ForecastReport& r = *job_->report()->forecast;
  EXPECT_EQ(r.rows, 2u);
  EXPECT_EQ(r.values, 4u);
  EXPECT_EQ(r.horizon, 2);
  EXPECT_DOUBLE_EQ(r.mae, 1.75);
  EXPECT_DOUBLE_EQ(r.rmse, std::sqrt(37.0 / 4));
  EXPECT_NEAR(*r.mape, 1.0 / 18, 1e-12);
  EXPECT_EQ(r.mape_values, 3u);
  EXPECT_EQ(r.mape_skipped, 1u);
  EXPECT_DOUBLE_EQ(r.baseline_mae, 2.25);
  EXPECT_DOUBLE_EQ(r.baseline_rmse, std::sqrt(31.0 / 4));
  EXPECT_DOUBLE_EQ(*r.mase, 1.75 / 2.25);
  auto metrics = json()->getObject("metrics");
  EXPECT_EQ(json()->getValue<std::string>("task"), "forecasting");
  for (const char* key : {"mae", "rmse", "mape", "baseline_mae", "baseline_rmse", "mase"}) {
    EXPECT_TRUE(metrics->has(key)) << key;
  }
  EXPECT_EQ(metrics->getValue<int>("mape_rows"), 3);
  EXPECT_THAT(formatEvaluation(*job_->report()),
              HasSubstr("mape            0.0556 (3 values; 1 with a true value of 0 left out)"));

  EvaluateTargets targets;
  targets.season = 2;  // [2 4] and [4 5]: errors 3, 2, 2, 5
  ASSERT_TRUE(run(std::make_shared<FakeForecaster>(), std::make_shared<WindowDataset>(), targets)
                  .ok());
  EXPECT_DOUBLE_EQ(job_->report()->forecast->baseline_mae, 3.0);
}

TEST_F(EvaluateSequenceTest, ForecastSettingsThatDoNotFitTheWindowsAreErrors) {
  EvaluateTargets targets;
  targets.season = 4;
  Status s = run(std::make_shared<FakeForecaster>(), std::make_shared<WindowDataset>(), targets);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("season 4 needs the input windows of dataset 'd' to hold"));
  targets.season = 1;
  targets.forecast_targets = 3;
  s = run(std::make_shared<FakeForecaster>(), std::make_shared<WindowDataset>(), targets);
  EXPECT_THAT(s.message(), HasSubstr("forecast_targets = 3"));
}

TEST_F(EvaluateSequenceTest, SequenceClassifierGetsTokensAndLengths) {
  ASSERT_TRUE(run(std::make_shared<FakeSequenceClassifier>(), std::make_shared<TextsDataset>(),
                  {}, 2)
                  .ok());
  // Predicted short, long, long for short, long, short.
  EXPECT_NEAR(job_->report()->classification->accuracy, 2.0 / 3, 1e-12);
}

}  // namespace
}  // namespace aimass::core
