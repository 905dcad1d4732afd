// SPDX-License-Identifier: Apache-2.0
// The built-in training callbacks, each alone on a TrainingState, as the loop drives them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "allocation_counter.h"
#include "train_callbacks/clipping.h"
#include "train_callbacks/early_stopping.h"
#include "train_callbacks/progress.h"
#include "train_callbacks/schedule.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;

class RecordingProgress final : public JobProgress {
 public:
  void begin(std::string_view phase, std::uint64_t total) override {
    phases.emplace_back(phase);
    totals.push_back(total);
  }
  void update(std::uint64_t done,
              const std::vector<std::pair<std::string, double>>& figures) override {
    last_done = done;
    last_figures = figures;
  }
  void end(std::string_view summary) override { summaries.emplace_back(summary); }
  std::vector<std::string> phases;
  std::vector<std::uint64_t> totals;
  std::vector<std::string> summaries;
  std::uint64_t last_done = 0;
  std::vector<std::pair<std::string, double>> last_figures;
};

TrainingState stateOf(std::uint64_t epochs, std::uint64_t steps_per_epoch, double rate) {
  TrainingState state;
  state.epochs = epochs;
  state.steps_per_epoch = steps_per_epoch;
  state.planned_steps = epochs * steps_per_epoch;
  state.base_learning_rate = rate;
  state.learning_rate = rate;
  return state;
}

TEST(LearningRateSchedule, SetsTheScheduledRateBeforeEachStep) {
  TrainOptions options;
  options.lr_schedule = LrSchedule::kStep;
  options.lr_step_epochs = 1;
  options.lr_gamma = 0.5;
  options.warmup_steps = 2;
  ASSERT_TRUE(LearningRateSchedule::moves(options));
  ASSERT_FALSE(LearningRateSchedule::moves(TrainOptions{}));
  LearningRateSchedule schedule(options);
  TrainingState state = stateOf(3, 4, 1.0);
  ASSERT_TRUE(schedule.onStepBegin(state).ok());
  EXPECT_DOUBLE_EQ(state.learning_rate, 0.5) << "warm-up: step 0 uses 1/2 of the rate";
  state.global_step = 5;
  state.epoch = 1;
  ASSERT_TRUE(schedule.onStepBegin(state).ok());
  EXPECT_DOUBLE_EQ(state.learning_rate, 0.5) << "epoch 2 decays once";
  EXPECT_DOUBLE_EQ(state.learning_rate,
                   scheduledLearningRate(options, 1.0, state.global_step, state.epoch, 12));
}

TEST(GradientClipping, ClipsTheGradientsItIsGivenAndRefusesANonFiniteNorm) {
  std::vector<float> value = {0, 0};
  std::vector<float> grad = {3, 4};
  std::vector<Parameter> params{
      {"w", Tensor::fromVector(value, {2}), Tensor::fromVector(grad, {2})}};
  GradientClipping clipping(1.0);
  TrainingState state = stateOf(1, 1, 0.1);
  state.parameters = params;
  ASSERT_TRUE(clipping.onGradients(state).ok());
  EXPECT_FLOAT_EQ(params[0].grad.data<float>()[0], 0.6f);
  EXPECT_FLOAT_EQ(params[0].grad.data<float>()[1], 0.8f);
  params[0].grad.data<float>()[0] = NAN;
  state.epoch = 1;
  state.step = 2;
  Status status = clipping.onGradients(state);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "gradient norm became NaN at epoch 2 step 3");
}

TEST(EarlyStopping, RequestsAStopWithAReasonAfterPatienceEpochsWithoutImprovement) {
  EarlyStopping stopping(2, Monitor::kValLoss, "clf");
  TrainingState state = stateOf(10, 1, 0.1);
  const double losses[] = {1.0, 0.8, 0.9, 0.85};
  for (std::uint64_t epoch = 0; epoch < 4; ++epoch) {
    EXPECT_FALSE(state.stop_requested) << "epoch " << epoch;
    state.epoch = epoch;
    state.val_loss = losses[epoch];
    ASSERT_TRUE(stopping.onValidationEnd(state).ok());
  }
  EXPECT_TRUE(state.stop_requested);
  EXPECT_THAT(state.stop_reason, HasSubstr("early stopping after epoch 4: val_loss has not "
                                           "improved for 2 epochs (best 0.8000 at epoch 2)"));
  EXPECT_EQ(stopping.bestEpoch(), 2u);
  EXPECT_EQ(stopping.staleEpochs(), 2u);
}

TEST(EarlyStopping, RestoredStateContinuesTheCount) {
  EarlyStopping stopping(2, Monitor::kValAccuracy, "clf");
  stopping.restore(0.9, 1, 1);
  TrainingState state = stateOf(10, 1, 0.1);
  state.epoch = 2;
  state.val_loss = 0.3;
  state.val_accuracy = 0.85;
  ASSERT_TRUE(stopping.onValidationEnd(state).ok());
  EXPECT_TRUE(state.stop_requested);
  state.val_accuracy.reset();
  EXPECT_THAT(stopping.onValidationEnd(state).message(), HasSubstr("gives no class labels"));
}

TEST(ProgressReport, OnePhasePerEpochWithASummaryAndAStoppedPhaseOnCancel) {
  RecordingProgress progress;
  ProgressReport report(progress, true);
  TrainingState state = stateOf(2, 3, 0.1);
  ASSERT_TRUE(report.onEpochBegin(state).ok());
  state.batch_rows = 4;
  state.epoch_loss_sum = 2.0;
  state.epoch_rows = 4;
  state.samples_per_second = 100;
  ASSERT_TRUE(report.onStepEnd(state).ok());
  EXPECT_EQ(progress.last_done, 1u);
  ASSERT_EQ(progress.last_figures.size(), 3u);
  EXPECT_EQ(progress.last_figures[0], (std::pair<std::string, double>{"loss", 0.5}));
  state.step = 3;
  state.epoch_seconds = 2;
  state.val_loss = 0.25;
  ASSERT_TRUE(report.onEpochEnd(state).ok());
  EXPECT_EQ(progress.phases, (std::vector<std::string>{"epoch 1/2"}));
  EXPECT_EQ(progress.totals, (std::vector<std::uint64_t>{3}));
  EXPECT_EQ(progress.summaries.back(),
            "loss=0.5000 epoch_s=2.0000 samples/s=2 val_loss=0.2500 lr=0.1");

  state.epoch = 1;
  state.step = 1;
  ASSERT_TRUE(report.onEpochBegin(state).ok());
  Status outcome = cancelled("stopped");
  ASSERT_TRUE(report.onRunEnd(state, outcome).ok());
  EXPECT_EQ(progress.summaries.back(), "stopped at epoch 2/2");
}

TEST(TrainCallbacks, StepHooksAllocateNothing) {
  TrainOptions options;
  options.lr_schedule = LrSchedule::kCosine;
  options.warmup_steps = 3;
  LearningRateSchedule schedule(options);
  GradientClipping clipping(0.5);
  std::vector<float> value(64, 0.0f);
  std::vector<float> grad(64, 1.0f);
  std::vector<Parameter> params{
      {"w", Tensor::fromVector(value, {64}), Tensor::fromVector(grad, {64})}};
  TrainingState state = stateOf(2, 50, 0.1);
  state.parameters = params;
  ASSERT_TRUE(schedule.onStepBegin(state).ok());
  ASSERT_TRUE(clipping.onGradients(state).ok());
  const long before = aimass::testing::heapAllocations();
  for (std::uint64_t step = 0; step < 100; ++step) {
    state.global_step = step;
    state.epoch = step / 50;
    state.step = step % 50;
    Status s1 = schedule.onStepBegin(state);
    Status s2 = clipping.onGradients(state);
    if (!s1.ok() || !s2.ok()) {
      break;
    }
  }
  EXPECT_EQ(aimass::testing::heapAllocations(), before);
}

}  // namespace
}  // namespace aimass::core
