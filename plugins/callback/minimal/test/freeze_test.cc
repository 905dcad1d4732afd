// SPDX-License-Identifier: Apache-2.0
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/registration.h"
#include "allocation_counter.h"
#include "minimal.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::callback {
namespace {

using ::testing::HasSubstr;

/// Two parameters, "body" and "head", with gradients of ones.
struct TwoParameters {
  std::vector<float> body_value = {1, 2}, body_grad = {1, 1};
  std::vector<float> head_value = {3}, head_grad = {1};
  std::vector<Parameter> params{
      {"body", Tensor::fromVector(body_value, {2}), Tensor::fromVector(body_grad, {2})},
      {"head", Tensor::fromVector(head_value, {1}), Tensor::fromVector(head_grad, {1})}};
  TrainingState state() {
    TrainingState s;
    s.epochs = 3;
    s.parameters = params;
    return s;
  }
};

TEST(FreezeTest, ZeroesOnlyTheFrozenParametersGradientsWithoutAllocating) {
  TwoParameters model;
  TrainingState state = model.state();
  Freeze freeze({"body"}, 0);
  ASSERT_TRUE(freeze.onRunBegin(state).ok());
  const long before = aimass::testing::heapAllocations();
  ASSERT_TRUE(freeze.onGradients(state).ok());
  EXPECT_EQ(aimass::testing::heapAllocations(), before);
  EXPECT_EQ(model.params[0].grad.data<float>()[0], 0.0f);
  EXPECT_EQ(model.params[0].grad.data<float>()[1], 0.0f);
  EXPECT_EQ(model.params[1].grad.data<float>()[0], 1.0f);
}

TEST(FreezeTest, AnUnknownParameterFailsTheRunNamingWhatTheModelHas) {
  TwoParameters model;
  TrainingState state = model.state();
  Freeze freeze({"tail"}, 0);
  Status status = freeze.onRunBegin(state);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("no parameter 'tail' (it has: body, head)"));
}

TEST(FreezeTest, StopsAfterTheValidationThatReachesTheTarget) {
  TwoParameters model;
  TrainingState state = model.state();
  Freeze freeze({}, 0.5);
  ASSERT_TRUE(freeze.onRunBegin(state).ok());
  state.val_loss = 0.6;
  ASSERT_TRUE(freeze.onValidationEnd(state).ok());
  EXPECT_FALSE(state.stop_requested);
  state.epoch = 1;
  state.val_loss = 0.5;
  ASSERT_TRUE(freeze.onValidationEnd(state).ok());
  EXPECT_TRUE(state.stop_requested);
  EXPECT_EQ(state.stop_reason, "val_loss 0.5000 reached the target 0.5000 after epoch 2");
}

TEST(FreezeTest, RegistersACallbackTypeWhoseFactoryReadsTheParameters) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  ASSERT_NE(descriptor, nullptr);
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "callback.freeze");
  EXPECT_EQ(type.kind, NodeKind::kCallback);
  NodeConfig config("freeze", type.type, nullptr);
  config.setValue("parameters", std::vector<std::string>{"head"});
  config.setValue("stop_at_val_loss", 0.0);
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  EXPECT_EQ((*node)->kind(), NodeKind::kCallback);
  TwoParameters model;
  TrainingState state = model.state();
  auto& callback = static_cast<TrainingCallback&>(**node);
  ASSERT_TRUE(callback.onRunBegin(state).ok());
  ASSERT_TRUE(callback.onGradients(state).ok());
  EXPECT_EQ(model.params[1].grad.data<float>()[0], 0.0f);
  EXPECT_EQ(model.params[0].grad.data<float>()[0], 1.0f);
}

}  // namespace
}  // namespace aimass::plugins::callback
