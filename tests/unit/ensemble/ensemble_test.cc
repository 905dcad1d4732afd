// SPDX-License-Identifier: Apache-2.0
// model.ensemble on hand-made members whose outputs are fixed tables, so every combined figure
// is computed by hand: soft votes (weighted), hard votes with ties, averages, the saved
// artifact (members remade by type through the factory), a load that fails and leaves the
// model as it was, and the checks on members that disagree.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "aimass/byte_io.h"
#include "ensemble/ensemble_model.h"
#include "ensemble/subset_dataset.h"

namespace aimass::core {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;

/// A member whose answer for row i is row (i % rows) of a fixed table: probabilities
/// (classification) or predictions (regression). Its "training" remembers how many rows it
/// saw; save() writes the table, load() reads it back.
class TableModel final : public Model, public SelfTraining {
 public:
  TableModel(Task task, std::vector<std::vector<float>> table,
             std::vector<std::string> classes = {"a", "b", "c"})
      : task_(task), table_(std::move(table)), classes_(std::move(classes)) {}

  ModelSchema schema() const override {
    ModelSchema schema;
    schema.task = task_;
    const auto width = static_cast<std::int64_t>(table_.empty() ? 0 : table_.front().size());
    schema.inputs = {{tensor_names::kInput, DType::kFloat32, {-1, features}, false}};
    if (task_ == Task::kRegression) {
      schema.outputs = {{tensor_names::kPrediction, DType::kFloat32, {-1, width}, false}};
    } else {
      schema.outputs = {{tensor_names::kProbabilities, DType::kFloat32, {-1, width}, false},
                        {tensor_names::kLabel, DType::kInt64, {-1}, false},
                        {tensor_names::kClass, DType::kBytes, {-1}, false}};
      schema.class_names = classes_;
    }
    return schema;
  }
  bool ready() const override { return !table_.empty(); }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    auto input = featureInput("table", inputs, features);
    if (!input.ok()) {
      return input.status();
    }
    const std::int64_t rows = (*input)->dim(0);
    const auto width = static_cast<std::int64_t>(table_.front().size());
    Tensor values(DType::kFloat32, {rows, width});
    Tensor label(DType::kInt64, {rows});
    for (std::int64_t n = 0; n < rows; ++n) {
      // The row index is the input value, so that stacking's folds see the rows they ask for.
      const float first = (*input)->data<float>()[n * features];
      const auto& row = table_[static_cast<std::size_t>(first) % table_.size()];
      std::int64_t best = 0;
      for (std::int64_t c = 0; c < width; ++c) {
        values.data<float>()[n * width + c] = row[static_cast<std::size_t>(c)];
        best = row[static_cast<std::size_t>(c)] > row[static_cast<std::size_t>(best)] ? c : best;
      }
      label.data<std::int64_t>()[n] = best;
    }
    if (task_ == Task::kRegression) {
      outputs.set(tensor_names::kPrediction, std::move(values));
    } else {
      outputs.set(tensor_names::kProbabilities, std::move(values));
      outputs.set(tensor_names::kLabel, std::move(label));
      outputs.set(tensor_names::kClass, Tensor::fromStrings({}));
    }
    return Status();
  }
  SelfTraining* selfTraining() override { return this; }
  Status fit(const Dataset& data, std::uint64_t, FitObserver&) override {
    fitted_rows.push_back(data.size());
    std::vector<std::uint64_t> rows(data.size());
    for (std::uint64_t i = 0; i < rows.size(); ++i) {
      rows[i] = i;
    }
    Batch batch;
    AIMASS_RETURN_IF_ERROR(data.read(rows, batch));
    seen_features.assign(batch.features.span<float>().begin(), batch.features.span<float>().end());
    seen_labels.assign(batch.labels.span<std::int64_t>().begin(),
                       batch.labels.span<std::int64_t>().end());
    return Status();
  }
  std::uint32_t formatVersion() const override { return 7; }
  Status save(std::string& payload) const override {
    ByteWriter out(payload);
    out.u32(static_cast<std::uint32_t>(task_));
    out.u64(table_.size());
    out.u64(table_.front().size());
    for (const auto& row : table_) {
      out.floats(row);
    }
    return Status();
  }
  Status load(std::string_view payload, std::uint32_t version) override {
    if (version != 7) {
      return invalidArgument("table reads version 7");
    }
    ByteReader in(payload);
    const auto task = static_cast<Task>(in.u32());
    const std::uint64_t rows = in.u64(), width = in.u64();
    if (!in.ok() || rows * width * 4 != in.remaining()) {
      return invalidArgument("bad table payload");
    }
    std::vector<std::vector<float>> table(rows, std::vector<float>(width));
    for (auto& row : table) {
      in.floats(row);
    }
    task_ = task;
    table_ = std::move(table);
    return Status();
  }

  std::int64_t features = 1;  ///< the input's width
  std::vector<std::uint64_t> fitted_rows;
  std::vector<float> seen_features;  ///< of the last fit, row by row
  std::vector<std::int64_t> seen_labels;

 private:
  Task task_;
  std::vector<std::vector<float>> table_;
  std::vector<std::string> classes_;
};

/// Rows 0..n-1 with feature = the row index and class label `labels[i]`.
class IndexDataset final : public Dataset {
 public:
  explicit IndexDataset(std::vector<std::int64_t> labels) : labels_(std::move(labels)) {
    schema_.row_shape = {1};
    schema_.label_kind = LabelKind::kClass;
    schema_.class_names = {"a", "b", "c"};
    schema_.num_targets = 1;
  }
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return labels_.size(); }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    const auto n = static_cast<std::int64_t>(rows.size());
    out.features = Tensor(DType::kFloat32, {n, 1});
    out.labels = Tensor(DType::kInt64, {n});
    for (std::int64_t i = 0; i < n; ++i) {
      out.features.data<float>()[i] = static_cast<float>(rows[static_cast<std::size_t>(i)]);
      out.labels.data<std::int64_t>()[i] = labels_.at(rows[static_cast<std::size_t>(i)]);
    }
    return Status();
  }

 private:
  DatasetSchema schema_;
  std::vector<std::int64_t> labels_;
};

class NoStop final : public FitObserver {
 public:
  bool onIteration(std::uint64_t, double) override { return false; }
};

EnsembleMember member(std::string name, std::shared_ptr<Model> model) {
  return {std::move(name), "model.table", std::move(model), false};
}

std::shared_ptr<TableModel> table(std::vector<std::vector<float>> rows,
                                  Task task = Task::kClassification) {
  return std::make_shared<TableModel>(task, std::move(rows));
}

/// A factory that makes empty TableModels (load() fills them), counting what it made.
EnsembleTrainer trainerWithFactory() {
  EnsembleTrainer trainer;
  trainer.factory = [](const std::string& type) -> Expected<std::shared_ptr<Model>> {
    if (type != "model.table") {
      return notFound("no plugin offers the model type '" + type + "'");
    }
    return std::shared_ptr<Model>(
        std::make_shared<TableModel>(Task::kOther, std::vector<std::vector<float>>{}));
  };
  return trainer;
}

TensorMap rowsInput(std::vector<float> rows) {
  TensorMap inputs;
  const auto n = static_cast<std::int64_t>(rows.size());
  inputs.set(tensor_names::kInput, Tensor::fromVector(rows, {n, 1}));
  return inputs;
}

std::vector<float> floats(const TensorMap& outputs, const char* name) {
  const Tensor* t = outputs.find(name);
  return t == nullptr ? std::vector<float>{}
                      : std::vector<float>(t->span<float>().begin(), t->span<float>().end());
}

std::vector<std::int64_t> labels(const TensorMap& outputs) {
  const Tensor* t = outputs.find(tensor_names::kLabel);
  return t == nullptr ? std::vector<std::int64_t>{}
                      : std::vector<std::int64_t>(t->span<std::int64_t>().begin(),
                                                  t->span<std::int64_t>().end());
}

/// An ensemble of `members` fitted on 4 rows of class a.
std::unique_ptr<EnsembleModel> fitted(EnsembleSettings settings,
                                      std::vector<EnsembleMember> members,
                                      std::optional<EnsembleMember> meta = std::nullopt) {
  auto model = std::make_unique<EnsembleModel>(std::move(settings), std::move(members),
                                               std::move(meta), trainerWithFactory());
  IndexDataset data({0, 0, 0, 0});
  NoStop observer;
  Status status = model->fit(data, 1, observer);
  EXPECT_TRUE(status.ok()) << status.toString();
  return model;
}

// Three members over 3 classes; row 0 of each table is what they say about input 0.
const std::vector<std::vector<float>> kFirst = {{0.6f, 0.3f, 0.1f}, {0.2f, 0.2f, 0.6f}};
const std::vector<std::vector<float>> kSecond = {{0.1f, 0.8f, 0.1f}, {0.3f, 0.4f, 0.3f}};
const std::vector<std::vector<float>> kThird = {{0.2f, 0.5f, 0.3f}, {0.5f, 0.1f, 0.4f}};

TEST(EnsembleVoting, SoftVoteIsTheWeightedMeanOfProbabilities) {
  EnsembleSettings settings;
  settings.method = EnsembleMethod::kSoftVote;
  settings.weights = {2, 1, 1};
  auto model = fitted(settings, {member("first", table(kFirst)), member("second", table(kSecond)),
                                 member("third", table(kThird))});
  TensorMap outputs;
  ASSERT_TRUE(model->predict(rowsInput({0, 1}), outputs, {}).ok());
  // Row 0: (2 * 0.6 + 0.1 + 0.2) / 4 = 0.375, (0.6 + 0.8 + 0.5) / 4 = 0.475, (0.2 + 0.1 + 0.3) / 4
  // = 0.15. Row 1: (0.4 + 0.3 + 0.5) / 4 = 0.3, (0.4 + 0.4 + 0.1) / 4 = 0.225, (1.2 + 0.3 + 0.4)
  // / 4 = 0.475.
  EXPECT_THAT(floats(outputs, tensor_names::kProbabilities),
              ElementsAre(FloatEq(0.375f), FloatEq(0.475f), FloatEq(0.15f), FloatEq(0.3f),
                          FloatEq(0.225f), FloatEq(0.475f)));
  EXPECT_THAT(labels(outputs), ElementsAre(1, 2));
  EXPECT_EQ(outputs.find(tensor_names::kClass)->strings(), (std::vector<std::string>{"b", "c"}));
}

TEST(EnsembleVoting, HardVoteCountsLabelsAndBreaksTiesTowardsTheLowestClass) {
  EnsembleSettings settings;
  settings.method = EnsembleMethod::kHardVote;
  auto model = fitted(settings, {member("first", table(kFirst)), member("second", table(kSecond)),
                                 member("third", table(kThird))});
  TensorMap outputs;
  ASSERT_TRUE(model->predict(rowsInput({0, 1}), outputs, {}).ok());
  // Row 0: labels a, b, b -> shares 1/3, 2/3, 0. Row 1: labels c, b, a -> a three-way tie,
  // won by the lowest index, a.
  const float third = 1.0f / 3;
  EXPECT_THAT(floats(outputs, tensor_names::kProbabilities),
              ElementsAre(FloatEq(third), FloatEq(2 * third), FloatEq(0), FloatEq(third),
                          FloatEq(third), FloatEq(third)));
  EXPECT_THAT(labels(outputs), ElementsAre(1, 0));
}

TEST(EnsembleVoting, HardVoteWeightsDecide) {
  EnsembleSettings settings;
  settings.method = EnsembleMethod::kHardVote;
  settings.weights = {3, 1, 1};
  auto model = fitted(settings, {member("first", table(kFirst)), member("second", table(kSecond)),
                                 member("third", table(kThird))});
  TensorMap outputs;
  ASSERT_TRUE(model->predict(rowsInput({0}), outputs, {}).ok());
  // a: 3, b: 1 + 1 of 5.
  EXPECT_THAT(floats(outputs, tensor_names::kProbabilities),
              ElementsAre(FloatEq(0.6f), FloatEq(0.4f), FloatEq(0)));
  EXPECT_THAT(labels(outputs), ElementsAre(0));
}

TEST(EnsembleVoting, AverageIsTheWeightedMeanOfPredictions) {
  EnsembleSettings settings;
  settings.method = EnsembleMethod::kAverage;
  settings.weights = {1, 3};
  auto model = std::make_unique<EnsembleModel>(
      settings,
      std::vector<EnsembleMember>{member("low", table({{1, 10}}, Task::kRegression)),
                                  member("high", table({{5, 2}}, Task::kRegression))},
      std::nullopt, trainerWithFactory());
  // Fitted on value labels: a regression dataset.
  class Values final : public Dataset {
   public:
    Values() {
      schema_.row_shape = {1};
      schema_.label_kind = LabelKind::kValue;
      schema_.num_targets = 2;
    }
    const DatasetSchema& schema() const override { return schema_; }
    std::uint64_t size() const override { return 2; }
    // Every row has targets (3, 5).
    Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
      const auto n = static_cast<std::int64_t>(rows.size());
      out.features = Tensor::zeros(DType::kFloat32, {n, 1});
      out.labels = Tensor(DType::kFloat32, {n, 2});
      for (std::int64_t i = 0; i < n; ++i) {
        out.labels.data<float>()[2 * i] = 3;
        out.labels.data<float>()[2 * i + 1] = 5;
      }
      return Status();
    }
    DatasetSchema schema_;
  } data;
  class LastObjective final : public FitObserver {
   public:
    bool onIteration(std::uint64_t, double objective) override {
      last = objective;
      return false;
    }
    double last = -1;
  } observer;
  ASSERT_TRUE(model->fit(data, 0, observer).ok());
  // The loss job.train reports: half the squared error of (4, 4) against (3, 5) per row.
  EXPECT_DOUBLE_EQ(observer.last, 1.0);
  TensorMap outputs;
  ASSERT_TRUE(model->predict(rowsInput({0}), outputs, {}).ok());
  // (1 + 3 * 5) / 4 = 4, (10 + 3 * 2) / 4 = 4.
  EXPECT_THAT(floats(outputs, tensor_names::kPrediction), ElementsAre(FloatEq(4), FloatEq(4)));
  EXPECT_EQ(model->schema().task, Task::kRegression);
}

TEST(EnsembleStacking, TheMetaModelLearnsFromOutOfFoldOutputs) {
  // Members are tables (their "training" changes nothing), so the out-of-fold outputs are the
  // tables' rows: the meta model (a table too) is fitted once on 6 rows of 3 + 3 columns.
  auto first = table(kFirst), second = table(kSecond);
  auto meta = table({{0.0f, 0.0f, 1.0f}});
  meta->features = 6;
  EnsembleSettings settings;
  settings.method = EnsembleMethod::kStack;
  settings.folds = 3;
  auto model = std::make_unique<EnsembleModel>(
      settings, std::vector<EnsembleMember>{member("first", first), member("second", second)},
      member("meta", meta), trainerWithFactory());
  IndexDataset data({0, 1, 2, 0, 1, 2});
  NoStop observer;
  ASSERT_TRUE(model->fit(data, 5, observer).ok());
  // Each member: 3 folds of 4 rows, then all 6; the meta model once on all 6 rows.
  EXPECT_THAT(first->fitted_rows, ElementsAre(4, 4, 4, 6));
  EXPECT_THAT(second->fitted_rows, ElementsAre(4, 4, 4, 6));
  EXPECT_THAT(meta->fitted_rows, ElementsAre(6));
  // The meta model saw, for each row r in order, the members' outputs for it (first's table
  // row r % 2, then second's) and r's label.
  std::vector<float> expected;
  for (int r = 0; r < 6; ++r) {
    expected.insert(expected.end(), kFirst[r % 2].begin(), kFirst[r % 2].end());
    expected.insert(expected.end(), kSecond[r % 2].begin(), kSecond[r % 2].end());
  }
  EXPECT_EQ(meta->seen_features, expected);
  EXPECT_THAT(meta->seen_labels, ElementsAre(0, 1, 2, 0, 1, 2));
  // The ensemble answers with the meta model's answer (the meta table's one row: class c).
  TensorMap outputs;
  ASSERT_TRUE(model->predict(rowsInput({0}), outputs, {}).ok());
  EXPECT_THAT(labels(outputs), ElementsAre(2));
}

TEST(EnsembleStacking, StackFeaturesConcatenateMembersThenTheInput) {
  TensorMap a, b;
  a.set(tensor_names::kProbabilities, Tensor::fromVector<float>({0.1f, 0.9f, 0.7f, 0.3f}, {2, 2}));
  b.set(tensor_names::kProbabilities, Tensor::fromVector<float>({0.4f, 0.6f, 0.5f, 0.5f}, {2, 2}));
  Tensor input = Tensor::fromVector<float>({10, 20}, {2, 1});
  Tensor features = stackFeatures({a, b}, Task::kClassification, &input);
  EXPECT_EQ(features.shape(), (Shape{2, 5}));
  EXPECT_THAT(std::vector<float>(features.span<float>().begin(), features.span<float>().end()),
              ElementsAre(0.1f, 0.9f, 0.4f, 0.6f, 10, 0.7f, 0.3f, 0.5f, 0.5f, 20));
}

TEST(EnsembleArtifact, SaveThenLoadRemakesMembersAndPredictsTheSame) {
  EnsembleSettings settings;
  settings.method = EnsembleMethod::kSoftVote;
  settings.weights = {1, 2};
  auto model = fitted(settings, {member("first", table(kFirst)), member("second", table(kSecond))});
  std::string payload;
  ASSERT_TRUE(model->save(payload).ok());

  // A model as serving makes one: default settings, no members; load() brings everything.
  EnsembleModel loaded(EnsembleSettings(), {}, std::nullopt, trainerWithFactory());
  EXPECT_FALSE(loaded.ready());
  Status status = loaded.load(payload, model->formatVersion());
  ASSERT_TRUE(status.ok()) << status.toString();
  ASSERT_TRUE(loaded.ready());
  TensorMap before, after;
  ASSERT_TRUE(model->predict(rowsInput({0, 1}), before, {}).ok());
  ASSERT_TRUE(loaded.predict(rowsInput({0, 1}), after, {}).ok());
  EXPECT_EQ(floats(before, tensor_names::kProbabilities),
            floats(after, tensor_names::kProbabilities));
  EXPECT_EQ(labels(before), labels(after));
  EXPECT_EQ(loaded.schema().class_names, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(EnsembleArtifact, AFailedLoadLeavesTheModelAsItWas) {
  EnsembleSettings settings;
  settings.method = EnsembleMethod::kHardVote;
  auto model = fitted(settings, {member("first", table(kFirst)), member("second", table(kSecond)),
                                 member("third", table(kThird))});
  TensorMap before;
  ASSERT_TRUE(model->predict(rowsInput({0, 1}), before, {}).ok());
  std::string payload;
  ASSERT_TRUE(model->save(payload).ok());

  // Truncated.
  Status truncated = model->load(payload.substr(0, payload.size() - 3), 1);
  EXPECT_EQ(truncated.code(), StatusCode::kInvalidArgument);
  // A member of a type the factory cannot make: the error names the type.
  std::string renamed = payload;
  const auto at = renamed.find("model.table");
  ASSERT_NE(at, std::string::npos);
  renamed.replace(at, 11, "model.tabel");
  Status unknown = model->load(renamed, 1);
  EXPECT_THAT(unknown.message(), HasSubstr("model.tabel"));
  EXPECT_EQ(model->load(payload, 2).code(), StatusCode::kInvalidArgument);

  TensorMap after;
  ASSERT_TRUE(model->predict(rowsInput({0, 1}), after, {}).ok());
  EXPECT_EQ(floats(before, tensor_names::kProbabilities),
            floats(after, tensor_names::kProbabilities));
}

TEST(EnsembleChecks, MembersOfAnotherTaskAreNamed) {
  EnsembleSettings settings;
  auto model = std::make_unique<EnsembleModel>(
      settings,
      std::vector<EnsembleMember>{member("votes", table(kFirst)),
                                  member("amount", table({{1.0f}}, Task::kRegression))},
      std::nullopt, trainerWithFactory());
  IndexDataset data({0, 1});
  NoStop observer;
  Status status = model->fit(data, 0, observer);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("member 'amount'"));
  EXPECT_THAT(status.message(), HasSubstr("regression"));
  EXPECT_FALSE(model->ready());
}

TEST(EnsembleChecks, MembersWithOtherClassesAreNamed) {
  auto other = std::make_shared<TableModel>(Task::kClassification, kSecond,
                                            std::vector<std::string>{"x", "y", "z"});
  auto model = std::make_unique<EnsembleModel>(
      EnsembleSettings(),
      std::vector<EnsembleMember>{member("first", table(kFirst)), member("other", other)},
      std::nullopt, trainerWithFactory());
  IndexDataset data({0, 1});
  NoStop observer;
  Status status = model->fit(data, 0, observer);
  EXPECT_THAT(status.message(), HasSubstr("member 'other'"));
  EXPECT_THAT(status.message(), HasSubstr("other classes"));
}

TEST(EnsembleChecks, AverageOfClassifiersWeightsCountAndNoMembersAreRefused) {
  NoStop observer;
  IndexDataset data({0, 1});
  EnsembleSettings average;
  average.method = EnsembleMethod::kAverage;
  EnsembleModel averaged(average, {member("first", table(kFirst))}, std::nullopt,
                         trainerWithFactory());
  EXPECT_THAT(averaged.fit(data, 0, observer).message(), HasSubstr("average is for regression"));

  EnsembleSettings weighted;
  weighted.weights = {1, 2};
  EnsembleModel one(weighted, {member("first", table(kFirst))}, std::nullopt, trainerWithFactory());
  EXPECT_THAT(one.fit(data, 0, observer).message(), HasSubstr("1 members but 2 weights"));

  EnsembleModel none(EnsembleSettings(), {}, std::nullopt, trainerWithFactory());
  EXPECT_THAT(none.fit(data, 0, observer).message(), HasSubstr("no members"));
  EXPECT_FALSE(none.ready());
  TensorMap outputs;
  EXPECT_EQ(none.predict(rowsInput({0}), outputs, {}).code(), StatusCode::kFailedPrecondition);
}

TEST(EnsembleChecks, GradientMembersWithoutAnOptimizerAreNamed) {
  class GradientOnly final : public Model {
   public:
    ModelSchema schema() const override {
      ModelSchema schema;
      schema.task = Task::kClassification;
      return schema;
    }
    bool ready() const override { return false; }
    Status predict(const TensorMap&, TensorMap&, const PredictOptions&) const override {
      return failedPrecondition("untrained");
    }
    std::uint32_t formatVersion() const override { return 1; }
    Status save(std::string&) const override { return Status(); }
    Status load(std::string_view, std::uint32_t) override { return Status(); }
  };
  EnsembleModel model(EnsembleSettings(), {member("frozen_net", std::make_shared<GradientOnly>())},
                      std::nullopt, trainerWithFactory());
  IndexDataset data({0, 1});
  NoStop observer;
  EXPECT_THAT(model.fit(data, 0, observer).message(),
              HasSubstr("member 'frozen_net' (model.table): the model can neither fit itself"));
}

TEST(SubsetDatasetTest, ReadsTheChosenRowsInOrder) {
  IndexDataset base({0, 1, 2, 0, 1});
  SubsetDataset subset(base, {4, 0, 2});
  EXPECT_EQ(subset.size(), 3u);
  Batch batch;
  const std::vector<std::uint64_t> rows = {2, 0};
  ASSERT_TRUE(subset.read(rows, batch).ok());
  EXPECT_THAT(
      std::vector<float>(batch.features.span<float>().begin(), batch.features.span<float>().end()),
      ElementsAre(2, 4));
  const std::vector<std::uint64_t> past = {3};
  EXPECT_EQ(subset.read(past, batch).code(), StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace aimass::core
