// SPDX-License-Identifier: Apache-2.0
// Serving graphs: the planner's checks (unknown models and outputs, cycles, type mismatches,
// switches on what is not a scalar per row) and graphs served by the runtime, in sequence and
// with a per-row switch, with their per-step statistics and metrics.
#include "serving_graph.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

/// A runtime serving "double" (2x), "inc" (x + 1), "neg" (-x) and "labeler" (x with a label).
class ServingGraphTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_.add("double", "1", double_);
    runtime_.add("inc", "1", inc_);
    runtime_.add("neg", "1", std::make_shared<Affine>(-1.0f, 0.0f));
    runtime_.add("labeler", "1", std::make_shared<Affine>(1.0f, 0.0f, true));
  }

  Status setGraphs(const std::string& json) {
    auto graphs = parseGraphs(json);
    if (!graphs.ok()) {
      return graphs.status();
    }
    return runtime_.setGraphs(std::move(graphs).value());
  }

  std::vector<float> infer(const std::string& graph, const std::vector<float>& values,
                           const std::string& output = "out") {
    auto pinned = runtime_.pin(graph, "");
    EXPECT_TRUE(pinned.ok()) << pinned.status().toString();
    TensorMap inputs;
    inputs.set("x", column(values));
    TensorMap outputs;
    Status status = (*pinned)->infer(inputs, PredictOptions{}, outputs, nullptr);
    EXPECT_TRUE(status.ok()) << status.toString();
    const Tensor* out = outputs.find(output);
    if (out == nullptr) {
      ADD_FAILURE() << "no output " << output;
      return {};
    }
    return {out->data<float>(), out->data<float>() + out->numel()};
  }

  std::shared_ptr<Affine> double_ = std::make_shared<Affine>(2.0f, 0.0f);
  std::shared_ptr<Affine> inc_ = std::make_shared<Affine>(1.0f, 1.0f);
  ServingRuntime runtime_;
};

constexpr char kSequence[] = R"({"chain": {
  "steps": [
    {"name": "second", "model": "inc", "inputs": {"input": "first.doubled"}},
    {"name": "first", "model": "double", "inputs": {"input": "request.x"},
     "outputs": {"prediction": "doubled"}}
  ],
  "outputs": {"out": "second.prediction"}}})";

TEST_F(ServingGraphTest, SequenceRunsStepsInDependencyOrderWithRenames) {
  ASSERT_TRUE(setGraphs(kSequence).ok());
  // (x * 2) + 1, though "second" is written first.
  EXPECT_EQ(infer("chain", {1, 2.5f, -3}), (std::vector<float>{3, 6, -5}));
  EXPECT_EQ(double_->calls.load(), 1);
  EXPECT_EQ(inc_->calls.load(), 1);
}

TEST_F(ServingGraphTest, GraphIsListedWithRequestInputsAndGraphOutputs) {
  ASSERT_TRUE(setGraphs(kSequence).ok());
  auto served = runtime_.find("chain", "");
  ASSERT_TRUE(served.ok());
  const ModelSchema schema = served->model->schema();
  ASSERT_EQ(schema.inputs.size(), 1u);
  EXPECT_EQ(schema.inputs[0].name, "x");
  EXPECT_EQ(schema.inputs[0].shape, (Shape{-1, 1}));
  ASSERT_EQ(schema.outputs.size(), 1u);
  EXPECT_EQ(schema.outputs[0].name, "out");
  EXPECT_EQ(schema.outputs[0].dtype, DType::kFloat32);
}

TEST_F(ServingGraphTest, StepStatisticsAndMetricsCountEachStep) {
  ASSERT_TRUE(setGraphs(kSequence).ok());
  infer("chain", {1});
  infer("chain", {2, 3});
  auto stats = runtime_.statistics("chain", "");
  ASSERT_TRUE(stats.ok());
  ASSERT_EQ(stats->size(), 3u);  // the graph itself, then its steps in written order
  EXPECT_EQ((*stats)[0].name, "chain");
  EXPECT_EQ((*stats)[0].success.count, 2u);
  EXPECT_EQ((*stats)[1].name, "chain/second");
  EXPECT_EQ((*stats)[1].success.count, 2u);
  EXPECT_EQ((*stats)[2].name, "chain/first");
  EXPECT_EQ((*stats)[2].success.count, 2u);
  EXPECT_EQ((*stats)[2].fail.count, 0u);
  const std::string metrics = runtime_.prometheusMetrics();
  EXPECT_THAT(metrics, HasSubstr("aimass_graph_step_seconds_count{graph=\"chain\","
                                 "step=\"first\"} 2\n"));
  EXPECT_THAT(metrics, HasSubstr("aimass_graph_step_failures_total{graph=\"chain\","
                                 "step=\"second\"} 0\n"));
}

constexpr char kSwitch[] = R"({"route": {
  "steps": [
    {"name": "pick", "inputs": {"input": "request.x"},
     "switch": {"on": "request.x",
                "cases": [{"when": {"less": 0}, "model": "neg"},
                          {"when": {"equals": 5}, "model": "inc"}],
                "default": "double"}}
  ],
  "outputs": {"out": "pick.prediction"}}})";

TEST_F(ServingGraphTest, SwitchRoutesEachRowToTheFirstCaseItMeets) {
  ASSERT_TRUE(setGraphs(kSwitch).ok());
  // -2 -> neg: 2; 5 -> inc: 6; 1 -> default double: 2; -1 -> neg: 1; 5 -> inc: 6.
  EXPECT_EQ(infer("route", {-2, 5, 1, -1, 5}), (std::vector<float>{2, 6, 2, 1, 6}));
  EXPECT_EQ(double_->calls.load(), 1);
  EXPECT_EQ(inc_->calls.load(), 1);  // both rows of 5 in one call
}

TEST_F(ServingGraphTest, SwitchWithAllRowsInOneCaseRunsThatModelOnce) {
  ASSERT_TRUE(setGraphs(kSwitch).ok());
  EXPECT_EQ(infer("route", {7, 8}), (std::vector<float>{14, 16}));
  EXPECT_EQ(inc_->calls.load(), 0);
}

TEST_F(ServingGraphTest, SwitchOnAStepOutputAndARowWithoutCaseFails) {
  ASSERT_TRUE(setGraphs(R"({"g": {
    "steps": [
      {"name": "score", "model": "labeler", "inputs": {"input": "request.x"}},
      {"name": "pick", "inputs": {"input": "request.x"},
       "switch": {"on": "score.label", "cases": [{"when": {"equals": 1}, "model": "inc"}]}}
    ],
    "outputs": {"out": "pick.prediction"}}})")
                  .ok());
  EXPECT_EQ(infer("g", {3, 4}), (std::vector<float>{4, 5}));
  auto pinned = runtime_.pin("g", "");
  ASSERT_TRUE(pinned.ok());
  TensorMap inputs;
  inputs.set("x", column({3, -4}));
  TensorMap outputs;
  Status status = (*pinned)->infer(inputs, PredictOptions{}, outputs, nullptr);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("step 'pick'"));
  EXPECT_THAT(status.message(), HasSubstr("row 1 of 'score.label' meets no case"));
}

struct PlanCase {
  const char* json;
  const char* message;
};

class GraphCheckTest : public ServingGraphTest,
                       public ::testing::WithParamInterface<PlanCase> {};

TEST_P(GraphCheckTest, IsRefusedNamingGraphAndStep) {
  Status status = setGraphs(GetParam().json);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(GetParam().message));
  EXPECT_FALSE(runtime_.find("g", "").ok()) << "a refused graph is not served";
}

INSTANTIATE_TEST_SUITE_P(
    Planner, GraphCheckTest,
    ::testing::Values(
        PlanCase{R"({"g": {"steps": [{"name": "a", "model": "nope",
                    "inputs": {"input": "request.x"}}], "outputs": {"out": "a.prediction"}}})",
                 "graph 'g', step 'a': unknown model 'nope'"},
        PlanCase{R"({"g": {"steps": [{"name": "a", "model": "double", "version": "9",
                    "inputs": {"input": "request.x"}}], "outputs": {"out": "a.prediction"}}})",
                 "unknown model 'double' version '9'"},
        PlanCase{R"({"g": {"steps": [{"name": "a", "model": "double",
                    "inputs": {"input": "request.x"}}], "outputs": {"out": "a.nothing"}}})",
                 "step 'a' has no output 'nothing' (it gives: prediction)"},
        PlanCase{R"({"g": {"steps": [
                    {"name": "a", "model": "double", "inputs": {"input": "b.prediction"}},
                    {"name": "b", "model": "inc", "inputs": {"input": "a.prediction"}}],
                    "outputs": {"out": "a.prediction"}}})",
                 "steps 'a', 'b' read each other in a cycle"},
        PlanCase{R"({"g": {"steps": [{"name": "a", "model": "double",
                    "inputs": {"input": "c.prediction"}}], "outputs": {"out": "a.prediction"}}})",
                 "reads unknown step 'c'"},
        PlanCase{R"({"g": {"steps": [
                    {"name": "a", "model": "labeler", "inputs": {"input": "request.x"}},
                    {"name": "b", "model": "inc", "inputs": {"input": "a.label"}}],
                    "outputs": {"out": "b.prediction"}}})",
                 "step 'b', model 'inc', input 'input': 'a.label' is INT64 [-1] but the input "
                 "takes FP32 [-1, 1]"},
        PlanCase{R"({"g": {"steps": [{"name": "a", "model": "double", "inputs": {}}],
                    "outputs": {"out": "a.prediction"}}})",
                 "required input 'input' (FP32 [-1, 1]) is not mapped"},
        PlanCase{R"({"g": {"steps": [{"name": "a", "model": "double",
                    "inputs": {"input": "request.x", "extra": "request.y"}}],
                    "outputs": {"out": "a.prediction"}}})",
                 "the model has no input 'extra'"},
        PlanCase{R"({"g": {"steps": [
                    {"name": "a", "model": "double", "inputs": {"input": "request.x"}},
                    {"name": "b", "inputs": {"input": "request.x"},
                     "switch": {"on": "a.prediction", "cases": [
                       {"when": {"equals": "yes"}, "model": "inc"}]}}],
                    "outputs": {"out": "b.prediction"}}})",
                 "a text value cannot be compared with"},
        PlanCase{R"({"g": {"steps": [
                    {"name": "b", "inputs": {"input": "request.x"},
                     "switch": {"on": "request.x", "cases": [
                       {"when": {"less": 0}, "model": "labeler"}], "default": "inc"}}],
                    "outputs": {"out": "b.prediction"}}})",
                 "model 'inc' gives no output 'label'"},
        PlanCase{R"({"g": {"steps": [{"name": "a", "model": "chain",
                    "inputs": {"input": "request.x"}}], "outputs": {"out": "a.prediction"}},
                    "chain": {"steps": [{"name": "a", "model": "double",
                    "inputs": {"input": "request.x"}}], "outputs": {"out": "a.prediction"}}})",
                 "model 'chain' is a serving graph; a step runs a model"},
        PlanCase{R"({"g": {"steps": [{"name": "a", "switch": {"on": "request.x", "cases":
                    [{"when": {"about": 1}, "model": "inc"}]}}], "outputs": {"out": "a.x"}}})",
                 "graphs.g.steps[0] (step 'a').switch.cases[0].when: unknown comparison "
                 "'about'"},
        PlanCase{R"({"g": {"steps": [{"name": "a", "model": "inc", "switch": {}}],
                    "outputs": {"out": "a.x"}}})",
                 "give either 'model' or 'switch'"},
        PlanCase{R"({"g": {"steps": [{"name": "a", "model": "inc",
                    "inputs": {"input": "x"}}], "outputs": {"out": "a.prediction"}}})",
                 "'x' must be 'request.INPUT' or 'STEP.OUTPUT'"}));

TEST_F(ServingGraphTest, GraphCannotTakeTheNameOfAServedModel) {
  Status status = setGraphs(R"({"double": {"steps": [{"name": "a", "model": "inc",
      "inputs": {"input": "request.x"}}], "outputs": {"out": "a.prediction"}}})");
  EXPECT_THAT(status.message(), HasSubstr("a model of that name is served already"));
}

TEST(GatherRows, TakesRowsInTheGivenOrder) {
  Tensor t = Tensor::fromVector(std::vector<float>{1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor g = gatherRows(t, {2, 0});
  EXPECT_EQ(g.shape(), (Shape{2, 2}));
  EXPECT_EQ(std::vector<float>(g.data<float>(), g.data<float>() + 4),
            (std::vector<float>{5, 6, 1, 2}));
  Tensor s = Tensor::fromStrings({"a", "b", "c"});
  Tensor gs = gatherRows(s, {1, 1});
  EXPECT_EQ(gs.strings(), (std::vector<std::string>{"b", "b"}));
}

TEST(GraphCondition, ComparesNumbersAndText) {
  GraphCondition less{GraphCondition::Op::kLessEqual, 2.0, ""};
  EXPECT_TRUE(less.matches(2.0));
  EXPECT_FALSE(less.matches(2.5));
  EXPECT_FALSE(less.matches(std::string_view("2")));
  GraphCondition text{GraphCondition::Op::kNotEquals, std::nullopt, "fr"};
  EXPECT_TRUE(text.matches(std::string_view("en")));
  EXPECT_FALSE(text.matches(std::string_view("fr")));
  EXPECT_FALSE(text.matches(1.0));
}

}  // namespace
}  // namespace aimass::core
