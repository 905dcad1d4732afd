// SPDX-License-Identifier: Apache-2.0
// Stateful sequences of the serving runtime (core/src/sequence_store.h): a sequence continued by
// id answers as one long request would, the bounds (LRU count and bytes, idle expiry on an
// injected clock), sequence_end, one request at a time per sequence, and refused misuse.
#include "sequence_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aimass/core/serving.h"
#include "aimass/tensor_names.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;

/// A running sum: input "x" FP32 [-1, 1], optional "state" FP32 [-1, 1] (the sum so far, 0
/// without it); outputs "y" = state + x and "state" = y. Streams two pieces: "y" alone, then
/// every output, so the stored state must be the last piece's.
class Summer final : public Model, public StreamingPrediction {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.inputs = {{"x", DType::kFloat32, {-1, 1}},
                {tensor_names::kState, DType::kFloat32, {-1, 1}, /*optional=*/true}};
    s.outputs = {{"y", DType::kFloat32, {-1, 1}}, {tensor_names::kState, DType::kFloat32, {-1, 1}}};
    return s;
  }
  bool ready() const override { return true; }
  const StreamingPrediction* streaming() const override { return this; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    const Tensor& x = *inputs.find("x");
    const Tensor* state = inputs.find(tensor_names::kState);
    const std::int64_t n = x.dim(0);
    std::vector<float> y(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      y[static_cast<std::size_t>(i)] =
          x.data<float>()[i] + (state != nullptr ? state->data<float>()[i] : 0.0f);
    }
    outputs.set("y", Tensor::fromVector<float>(y, {n, 1}));
    outputs.set(tensor_names::kState, Tensor::fromVector<float>(y, {n, 1}));
    return Status();
  }
  Status predictStream(const TensorMap& inputs, const PredictOptions& options,
                       const Emit& emit) const override {
    TensorMap all;
    AIMASS_RETURN_IF_ERROR(predict(inputs, all, options));
    TensorMap first;
    first.set("y", *all.find("y"));
    if (emit(first)) {
      emit(all);
    }
    return Status();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override {
    payload = "summer";
    return Status();
  }
  Status load(std::string_view, std::uint32_t) override { return Status(); }
};

/// A model without state.
class Stateless final : public Model {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.inputs = {{"x", DType::kFloat32, {-1, 1}}};
    s.outputs = {{"y", DType::kFloat32, {-1, 1}}};
    return s;
  }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    outputs.set("y", *inputs.find("x"));
    return Status();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override {
    payload = "stateless";
    return Status();
  }
  Status load(std::string_view, std::uint32_t) override { return Status(); }
};

TensorMap rows(const std::vector<float>& x) {
  TensorMap inputs;
  inputs.set("x", Tensor::fromVector<float>(x, {static_cast<std::int64_t>(x.size()), 1}));
  return inputs;
}

PredictOptions sequence(const std::string& id, bool end = false) {
  PredictOptions options;
  options.parameters = {{"sequence_id", id}};
  if (end) {
    options.parameters.emplace_back("sequence_end", "true");
  }
  return options;
}

class SequenceServing : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_.add("sum", "1", std::make_shared<Summer>());
    runtime_.add("plain", "1", std::make_shared<Stateless>());
  }
  /// y of one request of `model`, or the error's status.
  Expected<float> ask(const std::string& model, float x, const PredictOptions& options) {
    AIMASS_ASSIGN_OR_RETURN(auto pinned, runtime_.pin(model, ""));
    TensorMap outputs;
    AIMASS_RETURN_IF_ERROR(pinned->infer(rows({x}), options, outputs, nullptr));
    return outputs.find("y")->data<float>()[0];
  }
  ServingRuntime runtime_;
};

TEST_F(SequenceServing, ContinuingByIdAnswersAsTheRunningSum) {
  EXPECT_EQ(ask("sum", 1.0f, sequence("a")).value(), 1.0f);
  EXPECT_EQ(ask("sum", 2.0f, sequence("a")).value(), 3.0f);
  EXPECT_EQ(ask("sum", 10.0f, sequence("b")).value(), 10.0f);  // another sequence: its own
  EXPECT_EQ(ask("sum", 4.0f, sequence("a")).value(), 7.0f);
  EXPECT_EQ(ask("sum", 4.0f, PredictOptions{}).value(), 4.0f);  // no id: nothing stored
  EXPECT_EQ(runtime_.sequences().size(), 2);
  EXPECT_EQ(runtime_.sequences().bytes(), 8);  // two FP32 [1, 1] states
  EXPECT_THAT(runtime_.prometheusMetrics(), HasSubstr("aimass_sequences_stored 2\n"));
}

TEST_F(SequenceServing, AGivenStateWinsOverTheStoredOne) {
  ASSERT_TRUE(ask("sum", 1.0f, sequence("a")).ok());
  auto pinned = runtime_.pin("sum", "").value();
  TensorMap inputs = rows({2.0f}), outputs;
  inputs.set(tensor_names::kState, Tensor::fromVector<float>({100.0f}, {1, 1}));
  ASSERT_TRUE(pinned->infer(inputs, sequence("a"), outputs, nullptr).ok());
  EXPECT_EQ(outputs.find("y")->data<float>()[0], 102.0f);
  EXPECT_EQ(ask("sum", 0.0f, sequence("a")).value(), 102.0f);  // and is stored after
}

TEST_F(SequenceServing, StreamsStoreTheLastPiecesState) {
  auto pinned = runtime_.pin("sum", "").value();
  int pieces = 0;
  auto count = [&](const TensorMap&) {
    ++pieces;
    return true;
  };
  ASSERT_TRUE(pinned->inferStream(rows({5.0f}), sequence("s"), count, nullptr).ok());
  ASSERT_TRUE(pinned->inferStream(rows({1.0f}), sequence("s"), count, nullptr).ok());
  EXPECT_EQ(pieces, 4);
  EXPECT_EQ(ask("sum", 0.0f, sequence("s")).value(), 6.0f);
}

TEST_F(SequenceServing, EndDropsTheSequenceAfterAnswering) {
  ASSERT_TRUE(ask("sum", 1.0f, sequence("a")).ok());
  EXPECT_EQ(ask("sum", 2.0f, sequence("a", /*end=*/true)).value(), 3.0f);
  EXPECT_EQ(runtime_.sequences().size(), 0);
  EXPECT_EQ(ask("sum", 2.0f, sequence("a")).value(), 2.0f);  // afresh
}

TEST_F(SequenceServing, MisuseIsRefusedNamingTheParameter) {
  auto pinned = runtime_.pin("sum", "").value();
  TensorMap outputs;
  Status two = pinned->infer(rows({1.0f, 2.0f}), sequence("a"), outputs, nullptr);
  EXPECT_EQ(two.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(two.message(), HasSubstr("sequence_id"));
  EXPECT_THAT(two.message(), HasSubstr("exactly one row, got 2"));
  Status plain = ask("plain", 1.0f, sequence("a")).status();
  EXPECT_EQ(plain.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(plain.message(), HasSubstr("model 'plain': parameter sequence_id"));
  EXPECT_THAT(ask("sum", 1.0f, sequence("")).status().message(), HasSubstr("1 to 128 bytes"));
  EXPECT_THAT(ask("sum", 1.0f, sequence(std::string(129, 'x'))).status().message(),
              HasSubstr("got 129"));
  PredictOptions bad_end = sequence("a");
  bad_end.parameters.emplace_back("sequence_end", "yes");
  EXPECT_THAT(ask("sum", 1.0f, bad_end).status().message(), HasSubstr("sequence_end"));
  EXPECT_EQ(runtime_.sequences().size(), 0);  // nothing stored by a refused request
}

TEST_F(SequenceServing, AFailedRequestKeepsTheStoredStateAndStoresNothingNew) {
  ASSERT_TRUE(ask("sum", 5.0f, sequence("a")).ok());
  auto pinned = runtime_.pin("sum", "").value();
  TensorMap outputs, no_x;
  no_x.set(tensor_names::kState, Tensor::fromVector<float>({1.0f}, {1, 1}));
  EXPECT_FALSE(pinned->infer(no_x, sequence("a"), outputs, nullptr).ok());  // "x" is missing
  EXPECT_FALSE(pinned->infer(no_x, sequence("b"), outputs, nullptr).ok());
  EXPECT_EQ(runtime_.sequences().size(), 1);
  EXPECT_EQ(ask("sum", 1.0f, sequence("a")).value(), 6.0f);
}

TEST_F(SequenceServing, ANewVersionStartsSequencesAfresh) {
  ASSERT_TRUE(ask("sum", 5.0f, sequence("a")).ok());
  runtime_.add("sum", "2", std::make_shared<Summer>());
  EXPECT_EQ(ask("sum", 1.0f, sequence("a")).value(), 1.0f);
}

TEST(SequenceStore, EvictsTheLeastRecentlyUsedBeyondMaxSequences) {
  SequenceStore store(SequenceLimits{.max_sequences = 2, .idle_ms = 1000, .max_bytes = 1 << 20});
  auto put = [&](const std::string& key, float v) {
    std::optional<Tensor> state;
    ASSERT_TRUE(store.begin(key, state).ok());
    ASSERT_TRUE(store.finish(key, Tensor::fromVector<float>({v}, {1, 1}), false).ok());
  };
  auto stored = [&](const std::string& key) -> std::optional<float> {
    std::optional<Tensor> state;
    EXPECT_TRUE(store.begin(key, state).ok());
    EXPECT_TRUE(store.finish(key, std::nullopt, false).ok());
    return state ? std::optional<float>(state->data<float>()[0]) : std::nullopt;
  };
  put("a", 1.0f);
  put("b", 2.0f);
  EXPECT_EQ(stored("a"), 1.0f);  // a is now the most recent
  put("c", 3.0f);                // evicts b
  EXPECT_EQ(store.evictions(), 1);
  EXPECT_EQ(stored("a"), 1.0f);
  EXPECT_EQ(stored("c"), 3.0f);
  // b starts afresh; its request evicted a, the least recent, and left no state to keep.
  EXPECT_EQ(stored("b"), std::nullopt);
  EXPECT_EQ(store.size(), 1);
  EXPECT_EQ(stored("a"), std::nullopt);
  EXPECT_EQ(store.evictions(), 2);
}

TEST(SequenceStore, EvictsBeyondMaxBytesAndRefusesAStateLargerThanAll) {
  SequenceStore store(SequenceLimits{.max_sequences = 10, .idle_ms = 1000, .max_bytes = 12});
  std::optional<Tensor> state;
  for (const char* key : {"a", "b", "c"}) {
    ASSERT_TRUE(store.begin(key, state).ok());
    ASSERT_TRUE(store.finish(key, Tensor::fromVector<float>({1.0f}, {1, 1}), false).ok());
  }
  EXPECT_EQ(store.bytes(), 12);
  ASSERT_TRUE(store.begin("d", state).ok());
  ASSERT_TRUE(store.finish("d", Tensor::fromVector<float>({1.0f, 2.0f}, {1, 2}), false).ok());
  EXPECT_EQ(store.bytes(), 12);  // a and b evicted: 8 + 4
  EXPECT_EQ(store.size(), 2);
  ASSERT_TRUE(store.begin("e", state).ok());
  Status big = store.finish("e", Tensor::fromVector<float>({1, 2, 3, 4}, {1, 4}), false);
  EXPECT_EQ(big.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(big.message(), HasSubstr("16 bytes exceeds max_sequence_bytes 12"));
  EXPECT_EQ(store.size(), 2);
}

TEST(SequenceStore, DropsStatesIdleLongerThanTheLimit) {
  SequenceStore::Clock::time_point now{};
  SequenceStore store(SequenceLimits{.max_sequences = 10, .idle_ms = 1000, .max_bytes = 1 << 20},
                      [&] { return now; });
  std::optional<Tensor> state;
  ASSERT_TRUE(store.begin("old", state).ok());
  ASSERT_TRUE(store.finish("old", Tensor::fromVector<float>({1.0f}, {1, 1}), false).ok());
  now += std::chrono::milliseconds(600);
  ASSERT_TRUE(store.begin("new", state).ok());
  ASSERT_TRUE(store.finish("new", Tensor::fromVector<float>({2.0f}, {1, 1}), false).ok());
  now += std::chrono::milliseconds(400);  // old: idle 1000 ms, new: 400 ms
  EXPECT_EQ(store.size(), 1);
  ASSERT_TRUE(store.begin("new", state).ok());
  EXPECT_TRUE(state.has_value());
  ASSERT_TRUE(store.finish("new", std::nullopt, false).ok());
  ASSERT_TRUE(store.begin("old", state).ok());
  EXPECT_FALSE(state.has_value());
}

TEST(SequenceStore, ASecondRequestOfARunningSequenceIsRefused) {
  SequenceStore store;
  std::optional<Tensor> state;
  ASSERT_TRUE(store.begin("a", state).ok());
  Status second = store.begin("a", state);
  EXPECT_EQ(second.code(), StatusCode::kAborted);
  EXPECT_THAT(second.message(), HasSubstr("still running"));
  ASSERT_TRUE(store.finish("a", std::nullopt, false).ok());
  EXPECT_TRUE(store.begin("a", state).ok());  // free again after the first finished
}

}  // namespace
}  // namespace aimass::core
