// SPDX-License-Identifier: Apache-2.0
#include "rnn.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/sequence_conformance.h"
#include "rnn_test_support.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::model {
namespace {

using test::classSchema;
using test::lmSchema;
using test::seriesSchema;
using test::train;
using ::testing::HasSubstr;

RnnOptions small(Cell cell = Cell::kGru, std::int64_t hidden = 16) {
  RnnOptions o;
  o.cell = cell;
  o.hidden = hidden;
  o.embedding = 8;
  return o;
}

PredictOptions greedy(std::int64_t tokens) {
  PredictOptions o;
  o.parameters = {{"max_tokens", std::to_string(tokens)}, {"temperature", "0"}};
  return o;
}

TEST(RnnTest, PassesTheSequenceConformanceSuiteWithGruAndLstm) {
  for (Cell cell : {Cell::kGru, Cell::kLstm}) {
    Rnn model(small(cell));
    for (const auto& check : aimass::testing::checkSequenceModel(model)) {
      EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
    }
  }
}

TEST(RnnTest, LanguageModelLearnsACycleAndGeneratesItsContinuation) {
  // "abcdefg" repeated; 4 streams of 8 steps.
  std::vector<std::int64_t> stream;
  for (int i = 0; i < 7; ++i) {
    stream.push_back(i);
  }
  Rnn model(small());
  ASSERT_TRUE(model.prepare(lmSchema(7, 8), 1).ok());
  std::vector<Batch> batches = {test::lmBatch(stream, 4, 8, 0), test::lmBatch(stream, 4, 8, 3)};
  train(model, batches, 0.1, 150);
  TensorMap in, out;
  in.set("text", Tensor::fromStrings({"cde", "g"}));
  ASSERT_TRUE(model.predict(in, out, greedy(9)).ok());
  EXPECT_EQ(out.find("text")->strings()[0], "fgabcdefg");
  EXPECT_EQ(out.find("text")->strings()[1], "abcdefgab");
  EXPECT_EQ(out.find("state")->shape(), (Shape{2, 16}));
  // top_k 1 samples the most likely token at any temperature.
  PredictOptions top1;
  top1.top_k = 1;
  top1.parameters = {{"max_tokens", "9"}, {"temperature", "2.5"}};
  TensorMap sampled;
  ASSERT_TRUE(model.predict(in, sampled, top1).ok());
  EXPECT_EQ(sampled.find("text")->strings()[0], "fgabcdefg");
}

TEST(RnnTest, SamplingIsReproducibleWithASeed) {
  Rnn model(small(Cell::kLstm));
  ASSERT_TRUE(model.prepare(lmSchema(5, 4), 3).ok());  // untrained: a spread distribution
  TensorMap in;
  in.set("text", Tensor::fromStrings({"ab", "c"}));
  PredictOptions options;
  options.parameters = {{"max_tokens", "40"}, {"seed", "12"}};
  TensorMap a, b, c;
  ASSERT_TRUE(model.predict(in, a, options).ok());
  ASSERT_TRUE(model.predict(in, b, options).ok());
  options.parameters[1].second = "13";
  ASSERT_TRUE(model.predict(in, c, options).ok());
  EXPECT_EQ(a.find("text")->strings(), b.find("text")->strings());
  EXPECT_NE(a.find("text")->strings(), c.find("text")->strings());
}

TEST(RnnTest, ScoringGivesTheDistributionsWhoseCrossEntropyIsTheLoss) {
  Rnn model(small(Cell::kLstm));
  ASSERT_TRUE(model.prepare(lmSchema(6, 5), 4).ok());
  EXPECT_EQ(model.schema().class_names, (std::vector<std::string>{"a", "b", "c", "d", "e", "f"}));
  Batch b = test::lmBatch({0, 1, 2, 3, 4, 5, 5, 1}, 3, 5, 0);
  auto loss = model.evaluateLoss(b);
  TensorMap in, out;
  in.set("tokens", b.features);
  PredictOptions options;
  options.parameters = {{"score", "true"}};
  ASSERT_TRUE(model.predict(in, out, options).ok());
  const Tensor* p = out.find("probabilities");
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->shape(), (Shape{3, 5, 6}));
  double nats = 0;
  for (std::int64_t i = 0; i < 15; ++i) {
    double sum = 0;
    for (std::int64_t v = 0; v < 6; ++v) {
      sum += p->data<float>()[i * 6 + v];
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    nats -= std::log(p->data<float>()[i * 6 + b.labels.data<std::int64_t>()[i]]);
  }
  ASSERT_TRUE(loss.ok());
  EXPECT_NEAR(nats / 15, *loss, 1e-5);
  options.parameters = {{"score", "maybe"}};
  EXPECT_THAT(model.predict(in, out, options).toString(), HasSubstr("'score'"));
}

TEST(RnnTest, DropoutBetweenLayersChangesTrainingOnly) {
  RnnOptions o = small(Cell::kGru);
  o.layers = 2;
  o.dropout = 0.5;
  o.stateful = false;
  Rnn model(o);
  ASSERT_TRUE(model.prepare(lmSchema(6, 5), 4).ok());
  Batch b = test::lmBatch({0, 1, 2, 3, 4, 5, 5, 1}, 3, 5, 0);
  auto first = model.forwardBackward(b, true), second = model.forwardBackward(b, true);
  auto plain = model.forwardBackward(b, false), evaluated = model.evaluateLoss(b);
  ASSERT_TRUE(first.ok() && second.ok() && plain.ok() && evaluated.ok());
  EXPECT_NE(*first, *second);  // a new mask every step
  EXPECT_NEAR(*plain, *evaluated, 1e-6);
  // The same seed draws the same masks.
  Rnn again(o);
  ASSERT_TRUE(again.prepare(lmSchema(6, 5), 4).ok());
  EXPECT_EQ(*again.forwardBackward(b, true), *first);
}

TEST(RnnTest, CarriedStateContinuesTheStreamsAndResetsOnRequest) {
  for (Cell cell : {Cell::kGru, Cell::kLstm}) {
    SCOPED_TRACE(cell == Cell::kGru ? "gru" : "lstm");
    std::vector<std::int64_t> stream = {0, 3, 1, 4, 1, 5, 2, 6, 5, 3};
    RnnOptions o = small(cell);
    Rnn model(o);
    ASSERT_TRUE(model.prepare(lmSchema(7, 6), 2).ok());
    // Two batches of 3 steps continue what one batch of 6 steps holds.
    Batch whole = test::lmBatch(stream, 2, 6, 0);
    Batch first = test::lmBatch(stream, 2, 3, 0), second = test::lmBatch(stream, 2, 3, 3);
    auto full = model.evaluateLoss(whole);
    model.resetState();
    auto a = model.forwardBackward(first, false);
    auto b = model.forwardBackward(second, false);
    ASSERT_TRUE(full.ok() && a.ok() && b.ok());
    EXPECT_NEAR((*a + *b) / 2, *full, 1e-5);
    // Reset: the second batch starts from zeros again, as evaluateLoss() does.
    model.resetState();
    auto fresh = model.forwardBackward(second, false);
    ASSERT_TRUE(fresh.ok());
    EXPECT_NEAR(*fresh, *model.evaluateLoss(second), 1e-6);
    EXPECT_GT(std::fabs(*fresh - *b), 1e-4);
    // A batch of another size does not take the state.
    model.resetState();
    ASSERT_TRUE(model.forwardBackward(first, false).ok());
    Batch three = test::lmBatch(stream, 3, 3, 3);
    auto other = model.forwardBackward(three, false);
    ASSERT_TRUE(other.ok());
    EXPECT_NEAR(*other, *model.evaluateLoss(three), 1e-6);
    // stateful: false never carries.
    o.stateful = false;
    Rnn stateless(o);
    ASSERT_TRUE(stateless.prepare(lmSchema(7, 6), 2).ok());
    ASSERT_TRUE(stateless.forwardBackward(first, false).ok());
    EXPECT_NEAR(*stateless.forwardBackward(second, false), *fresh, 1e-6);
  }
}

TEST(RnnTest, ClassificationIgnoresPaddingInBothDirections) {
  for (bool bidirectional : {false, true}) {
    RnnOptions o = small(Cell::kLstm);
    o.bidirectional = bidirectional;
    o.layers = 2;
    Rnn model(o);
    ASSERT_TRUE(model.prepare(classSchema(5, {"no", "yes"}), 4).ok());
    TensorMap tight, padded, a, b;
    tight.set("tokens", Tensor::fromVector<std::int64_t>({1, 2, 3, 4, 4, 0}, {2, 3}));
    tight.set("lengths", Tensor::fromVector<std::int64_t>({3, 2}, {2}));
    padded.set("tokens", Tensor::fromVector<std::int64_t>({1, 2, 3, 2, 2, 4, 4, 3, 3, 3}, {2, 5}));
    padded.set("lengths", Tensor::fromVector<std::int64_t>({3, 2}, {2}));
    ASSERT_TRUE(model.predict(tight, a, {}).ok());
    ASSERT_TRUE(model.predict(padded, b, {}).ok());
    for (int i = 0; i < 4; ++i) {
      EXPECT_NEAR(a.find("probabilities")->data<float>()[i],
                  b.find("probabilities")->data<float>()[i], 1e-6)
          << "bidirectional " << bidirectional;
    }
    // Text goes through the saved vocabulary ("a".."e").
    TensorMap text, c;
    text.set("text", Tensor::fromStrings({"bcd", "ee"}));
    ASSERT_TRUE(model.predict(text, c, {}).ok());
    EXPECT_NEAR(c.find("probabilities")->data<float>()[0],
                a.find("probabilities")->data<float>()[0], 1e-6);
  }
}

TEST(RnnTest, ClassifierLearnsWhetherASequenceHoldsAToken) {
  RnnOptions o = small();
  o.bidirectional = true;
  Rnn model(o);
  ASSERT_TRUE(model.prepare(classSchema(4, {"without", "with"}), 5).ok());
  const Batch b = test::holdsTokenBatch();
  train(model, {b}, 0.05, 300);
  TensorMap in, out;
  in.set("text", Tensor::fromStrings({"abcab", "abda", "dcc", "cc"}));
  ASSERT_TRUE(model.predict(in, out, {}).ok());
  EXPECT_EQ(out.find("class")->strings(),
            (std::vector<std::string>{"without", "with", "with", "without"}));
}

TEST(RnnTest, ForecasterLearnsASineAndRoundTrips) {
  Rnn model(small(Cell::kGru, 12));
  ASSERT_TRUE(model.prepare(seriesSchema(6, 1, 2), 8).ok());
  Batch b;
  std::vector<float> x, y;
  for (int r = 0; r < 16; ++r) {
    for (int t = 0; t < 8; ++t) {
      (t < 6 ? x : y).push_back(std::sin(0.5f * static_cast<float>(r + t)));
    }
  }
  b.features = Tensor::fromVector(x, {16, 6, 1});
  b.labels = Tensor::fromVector(y, {16, 2});
  auto before = model.evaluateLoss(b);
  train(model, {b}, 0.05, 300);
  auto after = model.evaluateLoss(b);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_LT(*after, 0.01);
  EXPECT_LT(*after, *before / 10);
  TensorMap in, out, again;
  in.set("input", b.features);
  ASSERT_TRUE(model.predict(in, out, {}).ok());
  EXPECT_EQ(out.find("prediction")->shape(), (Shape{16, 2}));
  std::string payload;
  ASSERT_TRUE(model.save(payload).ok());
  Rnn loaded(RnnOptions{});
  ASSERT_TRUE(loaded.load(payload, Rnn::kFormatVersion).ok());
  ASSERT_TRUE(loaded.predict(in, again, {}).ok());
  EXPECT_TRUE(aimass::testing::model_conformance_detail::sameOutputs(out, again));
  EXPECT_EQ(loaded.schema().task, Task::kRegression);
  TensorMap wrong;
  wrong.set("input", Tensor::zeros(DType::kFloat32, {2, 5, 1}));
  EXPECT_THAT(loaded.predict(wrong, out, {}).toString(), HasSubstr("FP32 [N>0, 6, 1]"));
}

TEST(RnnTest, RefusesUnsuitableDataAndInputsNamingWhatIsWrong) {
  RnnOptions o = small();
  o.bidirectional = true;
  Rnn bidirectional(o);
  Status lm = bidirectional.prepare(lmSchema(4, 5), 1);
  EXPECT_EQ(lm.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(lm.toString(), HasSubstr("bidirectional"));
  Rnn model(small());
  DatasetSchema features;
  features.row_shape = {4};
  features.label_kind = LabelKind::kClass;
  features.class_names = {"a", "b"};
  EXPECT_EQ(model.prepare(features, 1).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(model.prepare(lmSchema(4, 5), 1).ok());
  TensorMap in, out;
  in.set("text", Tensor::fromStrings({"ab", "abz"}));
  Status unknown = model.predict(in, out, greedy(2));
  EXPECT_EQ(unknown.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.toString(), HasSubstr("'z' at byte 2"));
  EXPECT_THAT(unknown.toString(), HasSubstr("row 1"));
  in.set("text", Tensor::fromStrings({"ab"}));
  PredictOptions hot = greedy(2);
  hot.parameters[1].second = "-1";
  EXPECT_THAT(model.predict(in, out, hot).toString(), HasSubstr("temperature"));
  Batch bad = test::lmBatch({0, 1, 2, 3}, 2, 5, 0);
  bad.features.data<std::int64_t>()[3] = 4;
  EXPECT_THAT(model.forwardBackward(bad, true).status().toString(),
              HasSubstr("token 4 at row 0, step 3"));
  std::string payload;
  ASSERT_TRUE(model.save(payload).ok());
  EXPECT_EQ(model.load(payload, 99).code(), StatusCode::kInvalidArgument);
  payload[0] = 7;  // no such task
  EXPECT_EQ(model.load(payload, Rnn::kFormatVersion).code(), StatusCode::kDataLoss);
}

TEST(RnnTest, ParameterNamesFollowTheLayers) {
  RnnOptions o = small(Cell::kLstm);
  o.layers = 2;
  o.bidirectional = true;
  Rnn model(o);
  ASSERT_TRUE(model.prepare(classSchema(5, {"x", "y", "z"}), 1).ok());
  std::vector<std::string> names;
  for (const auto& p : model.parameters()) {
    names.push_back(p.name + " " + shapeToString(p.value.shape()));
  }
  EXPECT_THAT(names, ::testing::ElementsAre(
                         "embedding.weight [5, 8]", "rnn.l0.weights_layer [8, 4, 16]",
                         "rnn.l0.weights_iter [16, 4, 16]", "rnn.l0.bias [4, 16]",
                         "rnn.l0_reverse.weights_layer [8, 4, 16]",
                         "rnn.l0_reverse.weights_iter [16, 4, 16]", "rnn.l0_reverse.bias [4, 16]",
                         "rnn.l1.weights_layer [32, 4, 16]", "rnn.l1.weights_iter [16, 4, 16]",
                         "rnn.l1.bias [4, 16]", "rnn.l1_reverse.weights_layer [32, 4, 16]",
                         "rnn.l1_reverse.weights_iter [16, 4, 16]", "rnn.l1_reverse.bias [4, 16]",
                         "head.weight [32, 3]", "head.bias [3]"));
}

TEST(RnnTest, PluginRegistersModelRnn) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  ASSERT_NE(descriptor, nullptr);
  EXPECT_STREQ(descriptor->name, "model.rnn");
}

}  // namespace
}  // namespace aimass::plugins::model
