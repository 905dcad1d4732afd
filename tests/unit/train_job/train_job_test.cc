// SPDX-License-Identifier: Apache-2.0
#include "train_fakes.h"
#include "train_job.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "aimass/core/dataset_registry.h"
#include "aimass/core/model_artifact.h"
#include "aimass/core/registry.h"
#include "aimass/core/tracking.h"
#include "aimass/core/type_registry.h"
#include "local_collective.h"

namespace aimass::core {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

using namespace train_fakes;  // NOLINT(google-build-using-namespace): the shared fakes

TEST(TrainJob, LearnsSeparableDataAndSavesTheModel) {
  Rig rig;
  auto job = rig.job(quickOptions());
  ASSERT_TRUE(job);
  Status status = job->run(rig.host, rig.progress);
  ASSERT_TRUE(status.ok()) << status.toString();

  ASSERT_EQ(rig.progress.summaries.size(), 3u);
  EXPECT_EQ(rig.progress.phases[0], "epoch 1/3");
  EXPECT_THAT(rig.progress.summaries[0], ::testing::StartsWith("loss="));
  EXPECT_THAT(rig.progress.summaries[2], HasSubstr("val_loss="));
  EXPECT_THAT(rig.progress.summaries[2], HasSubstr("val_accuracy=1.0000"));
  EXPECT_EQ(rig.progress.phases[1], "epoch 2/3");
  EXPECT_LT(rig.progress.last_figures.at("loss"), 0.2);
  EXPECT_GE(rig.progress.last_figures.at("samples/s"), 0);
  EXPECT_EQ(rig.model->prepared_seed, 11u);
  EXPECT_EQ(rig.model->resets, 3u);
  EXPECT_EQ(rig.optimizer->began_with, 1u);

  const std::string key = "models/clf/model.aimass";
  ASSERT_EQ(rig.storage->values.count(key), 1u);
  TinySoftmax restored;
  ASSERT_TRUE(loadModel(restored, "model.tiny", *rig.storage, key).ok());
  TensorMap in, out;
  in.set("input", Tensor::fromVector<float>({-2, -2, 2, 2}, {2, 2}));
  ASSERT_TRUE(restored.predict(in, out, {}).ok());
  EXPECT_EQ(out.find("label")->data<std::int64_t>()[0], 0);
  EXPECT_EQ(out.find("label")->data<std::int64_t>()[1], 1);
  EXPECT_THAT(rig.host.lines.back(), HasSubstr("saved model 'clf' to '" + key + "' in map:test"));
}

TEST(TrainJob, TakesOneStepPerBatchOfTheTrainingSplit) {
  Rig rig;
  auto job = rig.job(quickOptions());  // 200 rows, 50 held out, 150 / 16 -> 10 batches
  ASSERT_TRUE(job->run(rig.host, rig.progress).ok());
  EXPECT_EQ(rig.optimizer->steps, 30u);
  EXPECT_EQ(rig.model->calls, 30u);
  EXPECT_EQ(rig.progress.totals[0], 10u);
  EXPECT_EQ(rig.progress.last_done, 10u);
}

TEST(TrainJob, ValidationRowsAreHeldOutAndNeverTrainedOn) {
  Rig rig;
  TrainOptions options = quickOptions();
  auto job = rig.job(options);
  ASSERT_TRUE(job->run(rig.host, rig.progress).ok());
  // One read profiles the training rows (data_profile.h); then training reads come before
  // each epoch's validation reads: 10 training + 4 validation.
  ASSERT_EQ(rig.data->reads.size(), 1u + 3u * 14u);
  const std::set<std::uint64_t> profiled(rig.data->reads[0].begin(), rig.data->reads[0].end());
  std::set<std::uint64_t> trained, validated;
  for (std::size_t i = 1; i < rig.data->reads.size(); ++i) {
    auto& target = ((i - 1) % 14) < 10 ? trained : validated;
    target.insert(rig.data->reads[i].begin(), rig.data->reads[i].end());
  }
  EXPECT_EQ(trained.size(), 150u);
  EXPECT_EQ(profiled, trained) << "the profile is of the training rows, not the held-out ones";
  ASSERT_NE(job->profile(), nullptr);
  EXPECT_EQ(job->profile()->rows, 150u);
  EXPECT_EQ(validated.size(), 50u);
  for (auto row : validated) {
    EXPECT_EQ(trained.count(row), 0u) << "row " << row << " is in both splits";
  }
}

std::vector<std::vector<std::uint64_t>> readsOf(std::uint64_t seed, bool shuffle) {
  Rig rig;
  TrainOptions options = quickOptions();
  options.seed = seed;
  options.shuffle = shuffle;
  options.validation_fraction = 0;
  auto job = rig.job(options, false);
  EXPECT_TRUE(job->run(rig.host, rig.progress).ok());
  // The first read profiles every training row, in order; the rest are training's.
  auto reads = rig.data->reads;
  EXPECT_EQ(reads.front().size(), 200u);
  reads.erase(reads.begin());
  return reads;
}

TEST(TrainJob, ShufflingIsDeterministicPerSeedAndDiffersPerEpoch) {
  auto first = readsOf(5, true);
  EXPECT_EQ(first, readsOf(5, true));
  EXPECT_NE(first, readsOf(6, true));
  // 200 rows / 16 -> 13 batches per epoch; epoch 2 sees another order than epoch 1.
  ASSERT_EQ(first.size(), 39u);
  EXPECT_NE(first[0], first[13]);
}

TEST(TrainJob, WithoutShuffleRowsComeInOrder) {
  auto reads = readsOf(5, false);
  ASSERT_FALSE(reads.empty());
  EXPECT_EQ(reads[0],
            (std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}));
  EXPECT_EQ(reads[0], reads[13]);
}

TEST(TrainJob, SameSeedTrainsTheSameModel) {
  std::string saved[2];
  for (auto& bytes : saved) {
    Rig rig;
    ASSERT_TRUE(rig.job(quickOptions())->run(rig.host, rig.progress).ok());
    bytes = rig.storage->values.at("models/clf/model.aimass");
  }
  EXPECT_EQ(saved[0], saved[1]);
}

TEST(TrainJob, CustomArtifactKeyIsUsed) {
  Rig rig;
  TrainOptions options = quickOptions();
  options.artifact_key = "exp/7/clf.bin";
  ASSERT_TRUE(rig.job(options)->run(rig.host, rig.progress).ok());
  EXPECT_EQ(rig.storage->values.count("exp/7/clf.bin"), 1u);
  EXPECT_EQ(rig.storage->values.count("exp/7/clf.bin.profile"), 1u) << "the profile beside it";
  EXPECT_EQ(rig.storage->values.size(), 2u);
}

TEST(TrainJob, EachRegisteredRunIsANewVersionWithItsOwnArtifact) {
  Rig rig;
  TrainOptions options = quickOptions();
  options.register_version = true;
  for (int run = 0; run < 2; ++run) {
    auto job = rig.job(options);
    ASSERT_TRUE(job);
    Status status = job->run(rig.host, rig.progress);
    ASSERT_TRUE(status.ok()) << status.toString();
  }
  ModelRegistry registry(*rig.storage);
  auto versions = registry.listVersions("clf");
  ASSERT_TRUE(versions.ok()) << versions.status().toString();
  ASSERT_EQ(versions->size(), 2u);
  const ModelVersion& first = (*versions)[0];
  const ModelVersion& second = (*versions)[1];
  EXPECT_EQ(first.version, 1);
  EXPECT_EQ(second.version, 2);
  EXPECT_NE(first.artifact_key, second.artifact_key);
  for (const ModelVersion& v : *versions) {
    EXPECT_THAT(v.artifact_key, ::testing::StartsWith("models/clf/artifacts/"));
    EXPECT_EQ(rig.storage->values.count(v.artifact_key), 1u);
    EXPECT_TRUE(registry.verifyArtifact(v).ok());
    // The training-data profile is saved beside the artifact and named by the version.
    EXPECT_EQ(v.profile_key, v.artifact_key + ".profile");
    auto profile = readDataProfile(*rig.storage, v.profile_key);
    ASSERT_TRUE(profile.ok()) << profile.status().toString();
    EXPECT_EQ((*profile)->rows, 150u);
    EXPECT_EQ((*profile)->features.size(), 2u);
    EXPECT_EQ(v.node, "clf");
    EXPECT_EQ(v.node_type, "model.tiny");
    EXPECT_EQ(v.metrics.count("loss"), 1u);
    EXPECT_EQ(v.metrics.count("val_loss"), 1u);
    EXPECT_DOUBLE_EQ(v.metrics.at("val_accuracy"), 1.0);
    EXPECT_EQ(v.dataset_name, "blobs");
    EXPECT_EQ(v.dataset_version, 1) << "the same data trained on twice is one dataset version";
  }
  auto data = DatasetRegistry(*rig.storage).resolve("blobs/1");
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_EQ(data->sha256, first.dataset_sha256);
  EXPECT_EQ(data->rows, rig.data->size());
  EXPECT_THAT(rig.host.lines, ::testing::Contains("train: registered clf version 2"));
  // Each version loads back as the model it names.
  TinySoftmax restored;
  EXPECT_TRUE(loadModel(restored, "model.tiny", *rig.storage, second.artifact_key).ok());
}

TEST(TrainJob, RegisteringRefusesAModelNameTheRegistryCannotHold) {
  Rig rig;
  TrainOptions options = quickOptions();
  options.register_version = true;
  TrainTargets targets = rig.targets();
  targets.model_name = "-clf";
  auto job = TrainJob::create("train", std::move(targets), options);
  ASSERT_FALSE(job.ok());
  EXPECT_THAT(job.status().message(), HasSubstr("register: false"));
}

TEST(TrainJob, LabelOutOfRangeIsRejectedAndNothingSaved) {
  Rig rig;
  rig.data->labels_[37] = 2;  // only classes 0 and 1 exist
  TrainOptions options = quickOptions();
  options.validation_fraction = 0;
  Status status = rig.job(options)->run(rig.host, rig.progress);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("row 37 has class label 2, outside [0, 2)"));
  EXPECT_TRUE(rig.storage->values.empty());
}

TEST(TrainJob, NegativeLabelIsRejected) {
  Rig rig;
  rig.data->labels_[3] = -1;
  Status status = rig.job(quickOptions())->run(rig.host, rig.progress);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("row 3 has class label -1"));
}

TEST(TrainJob, NanLossStopsTrainingWithEpochAndStep) {
  Rig rig;
  rig.model->nan_at_call = 13;  // 10 batches per epoch: the third step of epoch 2
  Status status = rig.job(quickOptions())->run(rig.host, rig.progress);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "loss became NaN at epoch 2 step 3");
  EXPECT_EQ(rig.optimizer->steps, 12u);
  // No model; only the checkpoint of epoch 1, the last good state, untouched by the failure.
  ASSERT_EQ(rig.storage->values.size(), 1u);
  auto checkpoint = decodeTrainCheckpoint(rig.storage->values.at("checkpoints/train"));
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().toString();
  EXPECT_EQ(checkpoint->epoch, 1u);
  EXPECT_EQ(checkpoint->step, 0u);
  EXPECT_EQ(checkpoint->total_steps, 10u);
}

TEST(TrainJob, EmptyDatasetIsAnError) {
  Rig rig;
  rig.data = std::make_shared<BlobDataset>(0);
  Status status = rig.job(quickOptions())->run(rig.host, rig.progress);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("dataset 'blobs' has no rows"));
  EXPECT_TRUE(rig.storage->values.empty());
}

TEST(TrainJob, StopRequestCancelsWithinABatch) {
  Rig rig;
  rig.host.stop_after = 5;
  Status status = rig.job(quickOptions())->run(rig.host, rig.progress);
  EXPECT_EQ(status.code(), StatusCode::kCancelled);
  EXPECT_EQ(rig.optimizer->steps, 4u);
  // No model, but a checkpoint of where the run stopped: epoch 1 after 4 of its steps.
  EXPECT_THAT(status.message(), HasSubstr("checkpoint 'checkpoints/train' in map:test written"));
  ASSERT_EQ(rig.storage->values.size(), 1u);
  auto checkpoint = decodeTrainCheckpoint(rig.storage->values.at("checkpoints/train"));
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().toString();
  EXPECT_EQ(checkpoint->epoch, 0u);
  EXPECT_EQ(checkpoint->step, 4u);
}

TEST(TrainJob, ARunStoppedMidEpochResumesToTheSameModelAsAnUninterruptedOne) {
  Rig whole;
  ASSERT_TRUE(whole.job(quickOptions())->run(whole.host, whole.progress).ok());
  std::string expected;
  ASSERT_TRUE(whole.model->save(expected).ok());

  Rig stopped;
  // 10 polls for epoch 1's steps, 4 for its validation batches, then 4 steps of epoch 2.
  stopped.host.stop_after = 19;
  EXPECT_EQ(stopped.job(quickOptions())->run(stopped.host, stopped.progress).code(),
            StatusCode::kCancelled);
  Rig resumed;
  resumed.storage = stopped.storage;
  Status status = resumed.job(quickOptions())->run(resumed.host, resumed.progress);
  ASSERT_TRUE(status.ok()) << status.toString();
  EXPECT_THAT(resumed.host.lines,
              Contains(HasSubstr("resuming from checkpoint 'checkpoints/train' in map:test: "
                                 "epoch 2/3 after step 4/10 (14 steps done")));
  EXPECT_EQ(resumed.optimizer->steps, 16u) << "only the steps after the checkpoint ran";
  std::string actual;
  ASSERT_TRUE(resumed.model->save(actual).ok());
  EXPECT_TRUE(actual == expected) << "the resumed run ended with other weights";
  // The finished run removed its checkpoint.
  EXPECT_EQ(resumed.storage->values.count("checkpoints/train"), 0u);
}

TEST(TrainJob, ACheckpointOfOtherOptionsIsNotResumed) {
  Rig stopped;
  stopped.host.stop_after = 19;
  EXPECT_EQ(stopped.job(quickOptions())->run(stopped.host, stopped.progress).code(),
            StatusCode::kCancelled);
  Rig other;
  other.storage = stopped.storage;
  TrainOptions options = quickOptions();
  options.batch_size = 8;
  ASSERT_TRUE(other.job(options)->run(other.host, other.progress).ok());
  EXPECT_THAT(other.host.warnings,
              Contains(HasSubstr("was written by a run with another configuration")));
  EXPECT_EQ(other.optimizer->steps, 3u * 19u) << "the run started over";

  Rig required;
  Rig stopped_again;
  stopped_again.host.stop_after = 19;
  EXPECT_EQ(
      stopped_again.job(quickOptions())->run(stopped_again.host, stopped_again.progress).code(),
      StatusCode::kCancelled);
  required.storage = stopped_again.storage;
  options.resume = ResumeMode::kRequire;
  Status status = required.job(options)->run(required.host, required.progress);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("resume: require does not start over"));
  EXPECT_EQ(required.optimizer->steps, 0u);
}

TEST(TrainJob, StopRequestWithoutCheckpointsSavesNothing) {
  Rig rig;
  rig.host.stop_after = 5;
  TrainOptions options = quickOptions();
  options.checkpoint_every = 0;
  Status status = rig.job(options)->run(rig.host, rig.progress);
  EXPECT_EQ(status.code(), StatusCode::kCancelled);
  EXPECT_TRUE(rig.storage->values.empty());
}

TEST(TrainJob, SelfTrainingModelFitsOnceAndIsSaved) {
  Rig rig;
  auto model = std::make_shared<MeanModel>();
  TrainTargets targets = rig.targets();
  targets.model = model;
  targets.model_type = "model.mean";
  targets.optimizer = nullptr;
  auto job = TrainJob::create("train", std::move(targets), quickOptions());
  ASSERT_TRUE(job.ok()) << job.status().toString();
  ASSERT_TRUE((*job)->run(rig.host, rig.progress).ok());
  EXPECT_TRUE(model->fitted);
  EXPECT_EQ(model->fit_seed, 11u);
  EXPECT_EQ(rig.progress.updates, 5u);
  EXPECT_THAT(rig.progress.summaries.back(), HasSubstr("5 iterations"));
  EXPECT_EQ(rig.storage->values.count("models/clf/model.aimass"), 1u);
}

TEST(TrainJob, SelfTrainingStopsOnRequest) {
  Rig rig;
  rig.host.stop_after = 2;
  auto model = std::make_shared<MeanModel>();
  TrainTargets targets = rig.targets();
  targets.model = model;
  auto job = TrainJob::create("train", std::move(targets), quickOptions());
  ASSERT_TRUE(job.ok());
  EXPECT_EQ((*job)->run(rig.host, rig.progress).code(), StatusCode::kCancelled);
  EXPECT_FALSE(model->fitted);
  EXPECT_TRUE(rig.storage->values.empty());
}

TEST(TrainJob, GradientModelWithoutOptimizerIsRefused) {
  Rig rig;
  TrainTargets targets = rig.targets();
  targets.optimizer = nullptr;
  auto job = TrainJob::create("train", std::move(targets), quickOptions());
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(job.status().message(), HasSubstr("model 'clf' (model.tiny) trains by gradients"));
}

TEST(TrainJob, UntrainableModelIsRefused) {
  Rig rig;
  TrainTargets targets = rig.targets();
  targets.model = std::make_shared<FrozenModel>();
  auto job = TrainJob::create("train", std::move(targets), quickOptions());
  ASSERT_FALSE(job.ok());
  EXPECT_THAT(job.status().message(), HasSubstr("is not trainable"));
}

TEST(TrainJob, ArtifactWithoutStorageIsRefused) {
  Rig rig;
  TrainOptions options = quickOptions();
  options.artifact_key = "m.bin";
  auto job = TrainJob::create("train", rig.targets(false), options);
  ASSERT_FALSE(job.ok());
  EXPECT_THAT(job.status().message(), HasSubstr("no storage"));
}

TEST(TrainJob, InvalidArtifactKeyIsRefused) {
  Rig rig;
  TrainOptions options = quickOptions();
  options.artifact_key = "/abs/key";
  auto job = TrainJob::create("train", rig.targets(), options);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), StatusCode::kInvalidArgument);
}

TEST(TrainJob, ValidationSplitThatLeavesNothingIsAnError) {
  Rig rig;
  rig.data = std::make_shared<BlobDataset>(1);
  TrainOptions options = quickOptions();
  options.validation_fraction = 0.9;
  Status status = rig.job(options)->run(rig.host, rig.progress);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("none left for training"));
}

// Learning-rate schedules, warm-up, clipping and early stopping. quickOptions() trains 3 epochs
// of 10 steps at the fake optimizer's base rate 0.5.

std::vector<double> ratesOf(TrainOptions options) {
  Rig rig;
  auto job = rig.job(options);
  EXPECT_TRUE(job->run(rig.host, rig.progress).ok());
  EXPECT_EQ(rig.optimizer->rate, 0.5) << "run() restores the base rate";
  return rig.optimizer->rates;
}

TEST(TrainJobSchedule, ConstantKeepsTheOptimizersRate) {
  EXPECT_EQ(ratesOf(quickOptions()), std::vector<double>(30, 0.5));
}

TEST(TrainJobSchedule, StepDecayMultipliesByGammaEveryFewEpochs) {
  TrainOptions options = quickOptions();
  options.lr_schedule = LrSchedule::kStep;
  options.lr_step_epochs = 2;
  options.lr_gamma = 0.5;
  std::vector<double> expected(20, 0.5);
  expected.resize(30, 0.25);
  EXPECT_EQ(ratesOf(options), expected);
  options.lr_step_epochs = 1;
  auto rates = ratesOf(options);
  ASSERT_EQ(rates.size(), 30u);
  EXPECT_EQ(rates[9], 0.5);
  EXPECT_EQ(rates[10], 0.25);
  EXPECT_EQ(rates[29], 0.125);
}

TEST(TrainJobSchedule, WarmupRisesLinearlyFromZero) {
  TrainOptions options = quickOptions();
  options.warmup_steps = 4;
  std::vector<double> expected = {0.125, 0.25, 0.375, 0.5};
  expected.resize(30, 0.5);
  EXPECT_EQ(ratesOf(options), expected);
}

TEST(TrainJobSchedule, CosineAnnealsAfterWarmup) {
  TrainOptions options = quickOptions();
  options.lr_schedule = LrSchedule::kCosine;
  options.warmup_steps = 5;
  auto rates = ratesOf(options);
  ASSERT_EQ(rates.size(), 30u);
  for (std::size_t s = 0; s < 5; ++s) {
    EXPECT_DOUBLE_EQ(rates[s], 0.5 * static_cast<double>(s + 1) / 5) << "step " << s;
  }
  for (std::size_t s = 5; s < 30; ++s) {
    // base * (1 + cos(pi * k / K)) / 2 with k = s - 5 steps after warm-up, K = 25.
    const double expected = 0.5 * (1 + std::cos(M_PI * static_cast<double>(s - 5) / 25)) / 2;
    EXPECT_NEAR(rates[s], expected, 1e-15) << "step " << s;
  }
  EXPECT_EQ(rates[5], 0.5);
  EXPECT_GT(rates[29], 0);
  EXPECT_LT(rates[29], 0.5 * 0.01);
}

TEST(TrainJobSchedule, StepScheduleComposesWithWarmup) {
  TrainOptions options;
  options.lr_schedule = LrSchedule::kStep;
  options.lr_step_epochs = 1;
  options.lr_gamma = 0.1;
  options.warmup_steps = 20;
  // Step 12 is in epoch 1 (decayed once) and in warm-up (13/20).
  EXPECT_DOUBLE_EQ(scheduledLearningRate(options, 2.0, 12, 1, 100), 2.0 * 0.1 * 13 / 20);
  EXPECT_DOUBLE_EQ(scheduledLearningRate(options, 2.0, 40, 3, 100), 2.0 * 0.001);
}

TEST(TrainJobSchedule, ScheduleShowsInTheEpochSummary) {
  Rig rig;
  TrainOptions options = quickOptions();
  options.lr_schedule = LrSchedule::kStep;
  options.lr_step_epochs = 1;
  options.lr_gamma = 0.5;
  ASSERT_TRUE(rig.job(options)->run(rig.host, rig.progress).ok());
  EXPECT_THAT(rig.progress.summaries[1], HasSubstr(" lr=0.25"));
  EXPECT_EQ(rig.progress.last_figures.at("lr"), 0.125);
}

TEST(TrainJobClipping, ScalesGradientsToTheNormExactly) {
  std::vector<float> a = {3, 0}, b = {4};
  Parameter pa{"a", Tensor::fromVector(a, {2}), Tensor::fromVector(a, {2})};
  Parameter pb{"b", Tensor::fromVector(b, {1}), Tensor::fromVector(b, {1})};
  std::vector<Parameter> params{pa, pb};
  EXPECT_EQ(clipGradientNorm(params, 1.0), 5.0);  // sqrt(9 + 16)
  EXPECT_FLOAT_EQ(params[0].grad.data<float>()[0], 0.6f);
  EXPECT_FLOAT_EQ(params[0].grad.data<float>()[1], 0.0f);
  EXPECT_FLOAT_EQ(params[1].grad.data<float>()[0], 0.8f);
  // Below the limit nothing changes.
  EXPECT_NEAR(clipGradientNorm(params, 2.0), 1.0, 1e-6);
  EXPECT_FLOAT_EQ(params[1].grad.data<float>()[0], 0.8f);
}

TEST(TrainJobClipping, EveryStepSeesAtMostTheClipNorm) {
  Rig rig;
  TrainOptions options = quickOptions();
  options.clip_grad_norm = 0.05;
  ASSERT_TRUE(rig.job(options)->run(rig.host, rig.progress).ok());
  ASSERT_EQ(rig.optimizer->grad_norms.size(), 30u);
  // The first gradients of a zero-initialised softmax on these blobs are far above 0.05.
  EXPECT_NEAR(rig.optimizer->grad_norms[0], 0.05, 1e-7);
  for (double norm : rig.optimizer->grad_norms) {
    EXPECT_LE(norm, 0.05 + 1e-7);
  }
  Rig unclipped;
  ASSERT_TRUE(unclipped.job(quickOptions())->run(unclipped.host, unclipped.progress).ok());
  EXPECT_GT(unclipped.optimizer->grad_norms[0], 0.5);
}

TEST(TrainJobEarlyStopping, StopsWhenValLossStopsImproving) {
  Rig rig;
  rig.model->scripted_val_loss = {1.0, 0.8, 0.9, 0.85, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2};
  TrainOptions options = quickOptions();
  options.epochs = 10;
  options.early_stopping_patience = 2;
  Status status = rig.job(options)->run(rig.host, rig.progress);
  ASSERT_TRUE(status.ok()) << status.toString();
  EXPECT_EQ(rig.progress.summaries.size(), 4u);
  EXPECT_EQ(rig.optimizer->steps, 40u);
  bool logged = false;
  for (const auto& line : rig.host.lines) {
    logged |= line.find(
                  "early stopping after epoch 4: val_loss has not improved for 2 epochs "
                  "(best 0.8000 at epoch 2)") != std::string::npos;
  }
  EXPECT_TRUE(logged);
  EXPECT_THAT(rig.host.lines[rig.host.lines.size() - 2], HasSubstr("for 4 epochs"));
  EXPECT_EQ(rig.storage->values.count("models/clf/model.aimass"), 1u) << "the last model is saved";
}

TEST(TrainJobEarlyStopping, AnImprovementResetsThePatience) {
  Rig rig;
  rig.model->scripted_val_loss = {1.0, 1.1, 0.9, 1.0, 0.8, 0.85, 0.86};
  TrainOptions options = quickOptions();
  options.epochs = 7;
  options.early_stopping_patience = 2;
  ASSERT_TRUE(rig.job(options)->run(rig.host, rig.progress).ok());
  EXPECT_EQ(rig.progress.summaries.size(), 7u);  // stale 2 only after epoch 7
  Rig equal;
  equal.model->scripted_val_loss = {1.0, 1.0, 1.0, 1.0};
  options.epochs = 4;
  ASSERT_TRUE(equal.job(options)->run(equal.host, equal.progress).ok());
  EXPECT_EQ(equal.progress.summaries.size(), 3u) << "an equal figure is no improvement";
}

TEST(TrainJobEarlyStopping, CanMonitorValidationAccuracy) {
  // The blobs are separable: validation accuracy reaches 1.0 in epoch 1 and cannot improve.
  Rig rig;
  TrainOptions options = quickOptions();
  options.epochs = 10;
  options.early_stopping_patience = 2;
  options.monitor = Monitor::kValAccuracy;
  ASSERT_TRUE(rig.job(options)->run(rig.host, rig.progress).ok());
  ASSERT_EQ(rig.progress.summaries.size(), 3u);
  EXPECT_THAT(rig.progress.summaries[0], HasSubstr("val_accuracy=1.0000"));
}

TEST(TrainJobEarlyStopping, NeedsAValidationSplit) {
  Rig rig;
  TrainOptions options = quickOptions();
  options.validation_fraction = 0;
  options.early_stopping_patience = 3;
  auto job = TrainJob::create("train", rig.targets(), options);
  ASSERT_FALSE(job.ok());
  EXPECT_THAT(job.status().message(), HasSubstr("needs a validation split"));
}

// A separate validation dataset (job.train's `validation:`).

TEST(TrainJobValidationDataset, EveryRowIsValidatedAndEveryTrainingRowTrainedOn) {
  Rig rig;
  auto holdout = std::make_shared<BlobDataset>(50, 9);
  TrainTargets targets = rig.targets();
  targets.validation = holdout;
  targets.validation_name = "holdout";
  TrainOptions options = quickOptions();
  options.validation_fraction = 0;
  auto job = TrainJob::create("train", std::move(targets), options);
  ASSERT_TRUE(job.ok()) << job.status().toString();
  ASSERT_TRUE((*job)->run(rig.host, rig.progress).ok());
  // One profiling read of the 200 training rows, then 200 rows / 16 -> 13 steps an epoch on
  // the training set; 50 / 16 -> 4 validation reads.
  ASSERT_EQ(rig.data->reads.size(), 1u + 3u * 13u);
  std::set<std::uint64_t> trained;
  for (const auto& read : rig.data->reads) {
    trained.insert(read.begin(), read.end());
  }
  EXPECT_EQ(trained.size(), 200u);
  ASSERT_EQ(holdout->reads.size(), 3u * 4u);
  std::multiset<std::uint64_t> validated;
  for (const auto& read : holdout->reads) {
    validated.insert(read.begin(), read.end());
  }
  EXPECT_EQ(validated.size(), 150u);
  for (std::uint64_t row = 0; row < 50; ++row) {
    EXPECT_EQ(validated.count(row), 3u) << "row " << row << " once per epoch";
  }
  ASSERT_EQ(rig.progress.summaries.size(), 3u);
  EXPECT_THAT(rig.progress.summaries[2], HasSubstr("val_accuracy=1.0000"));
  EXPECT_TRUE((*job)->finalMetrics().count("val_loss"));
  EXPECT_THAT(rig.host.lines, Contains(HasSubstr("(39 steps on 200 rows, 50 validated in "
                                                 "dataset 'holdout')")));
}

TEST(TrainJobValidationDataset, AllowsEarlyStoppingWithoutASplit) {
  Rig rig;
  TrainTargets targets = rig.targets();
  targets.validation = std::make_shared<BlobDataset>(40, 9);
  targets.validation_name = "holdout";
  TrainOptions options = quickOptions();
  options.validation_fraction = 0;
  options.epochs = 10;
  options.early_stopping_patience = 2;
  options.monitor = Monitor::kValAccuracy;
  auto job = TrainJob::create("train", std::move(targets), options);
  ASSERT_TRUE(job.ok()) << job.status().toString();
  ASSERT_TRUE((*job)->run(rig.host, rig.progress).ok());
  EXPECT_EQ(rig.progress.summaries.size(), 3u) << "accuracy 1.0 from epoch 1 never improves";
}

TEST(TrainJobValidationDataset, RefusesASplitTooAMismatchedSchemaAndAnEmptySet) {
  Rig rig;
  TrainTargets targets = rig.targets();
  auto holdout = std::make_shared<BlobDataset>(40, 9);
  targets.validation = holdout;
  targets.validation_name = "holdout";
  auto both = TrainJob::create("train", targets, quickOptions());  // validation_fraction 0.25
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(both.status().message(),
              HasSubstr("validation dataset 'holdout' is set and so is validation_fraction 0.25"));

  TrainOptions options = quickOptions();
  options.validation_fraction = 0;
  holdout->schema_.class_names = {"left", "right", "up"};
  auto classes = TrainJob::create("train", targets, options);
  ASSERT_FALSE(classes.ok());
  EXPECT_THAT(classes.status().message(),
              ::testing::AllOf(HasSubstr("validation dataset 'holdout' does not match training dataset "
                              "'blobs'"),
                    HasSubstr("its classes differ (3 against 2")));
  holdout->schema_.class_names = {"left", "right"};
  holdout->schema_.row_shape = {3};
  auto shape = TrainJob::create("train", targets, options);
  ASSERT_FALSE(shape.ok());
  EXPECT_THAT(shape.status().message(), HasSubstr("its rows have shape [3], not [2]"));
  holdout->schema_.row_shape = {2};
  holdout->schema_.feature_dtype = DType::kInt64;
  EXPECT_THAT(TrainJob::create("train", targets, options).status().message(),
              HasSubstr("its features are INT64, not FP32"));

  targets.validation = std::make_shared<BlobDataset>(0);
  auto empty = TrainJob::create("train", targets, options);
  ASSERT_TRUE(empty.ok()) << empty.status().toString();
  Status status = (*empty)->run(rig.host, rig.progress);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("validation dataset 'holdout' has no rows"));
  EXPECT_EQ(rig.optimizer->steps, 0u);
}

TEST(TrainJobValidationDataset, IsPartOfTheCheckpointFingerprint) {
  TrainOptions options = quickOptions();
  options.validation_fraction = 0;
  auto stoppedWith = [&](std::size_t rows) {
    auto rig = std::make_unique<Rig>();
    rig->host.stop_after = 5;
    TrainTargets targets = rig->targets();
    targets.validation = std::make_shared<BlobDataset>(rows, 9);
    targets.validation_name = "holdout";
    auto job = TrainJob::create("train", std::move(targets), options);
    EXPECT_TRUE(job.ok()) << job.status().toString();
    EXPECT_EQ((*job)->run(rig->host, rig->progress).code(), StatusCode::kCancelled);
    return rig;
  };
  auto resumeWith = [&](const std::shared_ptr<MapStorage>& storage, std::size_t rows) {
    auto rig = std::make_unique<Rig>();
    rig->storage = storage;
    TrainTargets targets = rig->targets();
    if (rows > 0) {
      targets.validation = std::make_shared<BlobDataset>(rows, 9);
      targets.validation_name = "holdout";
    }
    auto job = TrainJob::create("train", std::move(targets), options);
    EXPECT_TRUE(job.ok()) << job.status().toString();
    EXPECT_TRUE((*job)->run(rig->host, rig->progress).ok());
    return rig;
  };
  // The same validation dataset: resumed after the 4 steps done.
  auto same = resumeWith(stoppedWith(40)->storage, 40);
  EXPECT_THAT(same->host.lines, Contains(HasSubstr("resuming from checkpoint")));
  EXPECT_EQ(same->optimizer->steps, 3u * 13u - 4u);
  // Another validation dataset, or none: another configuration, started over.
  for (std::size_t rows : {48u, 0u}) {
    auto other = resumeWith(stoppedWith(40)->storage, rows);
    EXPECT_THAT(other->host.warnings,
                Contains(HasSubstr("was written by a run with another configuration")))
        << rows;
    EXPECT_EQ(other->optimizer->steps, 3u * 13u) << rows;
  }
}

TEST(TrainJobSchedule, CreateRefusesBadScheduleSettings) {
  Rig rig;
  TrainOptions options = quickOptions();
  options.lr_gamma = 0;
  EXPECT_THAT(TrainJob::create("train", rig.targets(), options).status().message(),
              HasSubstr("lr_gamma must lie in (0, 1]"));
  options = quickOptions();
  options.lr_step_epochs = 0;
  EXPECT_FALSE(TrainJob::create("train", rig.targets(), options).ok());
  options = quickOptions();
  options.clip_grad_norm = -1;
  EXPECT_FALSE(TrainJob::create("train", rig.targets(), options).ok());
}

// The node type as the graph sees it: parameters with defaults, the factory's checks.

/// Fills a NodeConfig the way the graph does: defaults first, then the given values and refs.
NodeConfig configFor(const NodeType& type, Host& host,
                     std::map<std::string, std::pair<std::string, std::shared_ptr<Node>>> refs,
                     std::map<std::string, ParamValue> values = {}) {
  NodeConfig config("train", type.type, &host);
  for (const auto& spec : type.params) {
    if (!std::holds_alternative<std::monostate>(spec.default_value)) {
      config.setValue(spec.name, spec.default_value);
    }
  }
  for (auto& [name, value] : values) {
    config.setValue(name, value);
  }
  for (auto& [name, ref] : refs) {
    config.setRefs(name, {name + "_node"}, {ref.first}, {ref.second});
  }
  return config;
}

TEST(TrainJobType, DeclaresItsParameters) {
  NodeType type = trainJobNodeType();
  EXPECT_EQ(type.type, "job.train");
  EXPECT_EQ(type.kind, NodeKind::kJob);
  std::map<std::string, const ParamSpec*> specs;
  for (const auto& p : type.params) {
    specs[p.name] = &p;
  }
  ASSERT_EQ(specs.size(), 30u);
  EXPECT_FALSE(specs.at("collective")->required);
  EXPECT_EQ(specs.at("collective")->ref_kind, NodeKind::kCollective);
  EXPECT_EQ(std::get<std::string>(specs.at("lr_scaling")->default_value), "none");
  EXPECT_EQ(specs.at("lr_scaling")->choices, (std::vector<std::string>{"none", "linear"}));
  EXPECT_EQ(std::get<double>(specs.at("gradient_bucket_mib")->default_value), 4.0);
  EXPECT_EQ(std::get<std::string>(specs.at("init_from")->default_value), "");
  EXPECT_EQ(std::get<bool>(specs.at("reinit_head")->default_value), false);
  EXPECT_EQ(specs.at("freeze")->type, ParamType::kStringList);
  EXPECT_FALSE(specs.at("freeze")->required);
  EXPECT_FALSE(specs.at("validation")->required);
  EXPECT_EQ(specs.at("validation")->ref_kind, NodeKind::kDataset);
  EXPECT_FALSE(specs.at("callbacks")->required);
  EXPECT_EQ(specs.at("callbacks")->ref_kind, NodeKind::kCallback);
  EXPECT_EQ(std::get<bool>(specs.at("register")->default_value), true);
  EXPECT_EQ(std::get<bool>(specs.at("track")->default_value), true);
  EXPECT_EQ(std::get<std::string>(specs.at("experiment")->default_value), "");
  EXPECT_EQ(std::get<std::string>(specs.at("lr_schedule")->default_value), "constant");
  EXPECT_EQ(specs.at("lr_schedule")->choices,
            (std::vector<std::string>{"constant", "step", "cosine"}));
  EXPECT_EQ(std::get<std::int64_t>(specs.at("lr_step_epochs")->default_value), 10);
  EXPECT_EQ(std::get<double>(specs.at("lr_gamma")->default_value), 0.1);
  EXPECT_EQ(std::get<std::int64_t>(specs.at("warmup_steps")->default_value), 0);
  EXPECT_EQ(std::get<double>(specs.at("clip_grad_norm")->default_value), 0.0);
  EXPECT_EQ(std::get<std::int64_t>(specs.at("early_stopping_patience")->default_value), 0);
  EXPECT_EQ(std::get<std::string>(specs.at("monitor")->default_value), "val_loss");
  EXPECT_TRUE(specs.at("model")->required);
  EXPECT_EQ(specs.at("model")->ref_kind, NodeKind::kModel);
  EXPECT_TRUE(specs.at("dataset")->required);
  EXPECT_FALSE(specs.at("optimizer")->required);
  EXPECT_FALSE(specs.at("storage")->required);
  EXPECT_EQ(std::get<std::int64_t>(specs.at("epochs")->default_value), 10);
  EXPECT_EQ(specs.at("epochs")->min, 1.0);
  EXPECT_EQ(std::get<std::int64_t>(specs.at("batch_size")->default_value), 32);
  EXPECT_EQ(std::get<bool>(specs.at("shuffle")->default_value), true);
  EXPECT_EQ(specs.at("validation_fraction")->max, 0.9);
  EXPECT_EQ(std::get<std::string>(specs.at("artifact")->default_value), "");
}

TEST(TrainJobType, FactoryBuildsAJobThatTrains) {
  Rig rig;
  NodeType type = trainJobNodeType();
  auto config = configFor(type, rig.host,
                          {{"model", {"model.tiny", rig.model}},
                           {"dataset", {"dataset.blobs", rig.data}},
                           {"optimizer", {"optimizer.gd", rig.optimizer}},
                           {"storage", {"storage.map", rig.storage}}},
                          {{"epochs", std::int64_t{2}}});
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  ASSERT_EQ((*node)->kind(), NodeKind::kJob);
  auto& job = static_cast<Job&>(**node);
  ASSERT_TRUE(job.run(rig.host, rig.progress).ok());
  EXPECT_EQ(rig.progress.summaries.size(), 2u);
  // job.train registers by default: the version names a per-run artifact under the model's
  // node name, which records the model's type.
  ModelRegistry registry(*rig.storage);
  auto version = registry.resolve("model_node");
  ASSERT_TRUE(version.ok()) << version.status().toString();
  EXPECT_EQ(version->version, 1);
  EXPECT_THAT(version->artifact_key, ::testing::StartsWith("models/model_node/artifacts/"));
  const auto& bytes = rig.storage->values.at(version->artifact_key);
  std::string_view payload;
  auto header = decodeModelArtifact(bytes, payload);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->type, "model.tiny");
  EXPECT_THAT(rig.host.lines, ::testing::Contains("train: registered model_node version 1"));
}

TEST(TrainJobType, FactoryReadsTheValidationDataset) {
  Rig rig;
  auto holdout = std::make_shared<BlobDataset>(30, 9);
  NodeType type = trainJobNodeType();
  auto config = configFor(type, rig.host,
                          {{"model", {"model.tiny", rig.model}},
                           {"dataset", {"dataset.blobs", rig.data}},
                           {"validation", {"dataset.blobs", holdout}},
                           {"optimizer", {"optimizer.gd", rig.optimizer}}},
                          {{"epochs", std::int64_t{1}}});
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  ASSERT_TRUE(static_cast<Job&>(**node).run(rig.host, rig.progress).ok());
  EXPECT_EQ(holdout->reads.size(), 1u) << "30 rows in one batch of 32";
  EXPECT_THAT(rig.progress.summaries[0], HasSubstr("val_accuracy="));
  config.setValue("validation_fraction", 0.1);
  auto both = type.factory(config);
  ASSERT_FALSE(both.ok());
  EXPECT_THAT(both.status().message(), HasSubstr("use one or the other"));
}

TEST(TrainJobType, RegisterFalseKeepsTheSingleArtifactAndNoRegistry) {
  Rig rig;
  NodeType type = trainJobNodeType();
  auto config = configFor(type, rig.host,
                          {{"model", {"model.tiny", rig.model}},
                           {"dataset", {"dataset.blobs", rig.data}},
                           {"optimizer", {"optimizer.gd", rig.optimizer}},
                           {"storage", {"storage.map", rig.storage}}},
                          {{"epochs", std::int64_t{1}}, {"register", false}});
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  ASSERT_TRUE(static_cast<Job&>(**node).run(rig.host, rig.progress).ok());
  EXPECT_EQ(rig.storage->values.count("models/model_node/model.aimass"), 1u);
  EXPECT_EQ(rig.storage->values.count("models/model_node/model.aimass.profile"), 1u);
  std::size_t outside_tracking = 0;
  for (const auto& [key, value] : rig.storage->values) {
    outside_tracking += key.starts_with("tracking/") ? 0 : 1;
  }
  EXPECT_EQ(outside_tracking, 2u) << "the model and its profile, nothing registered";
}

TEST(TrainJobType, FactoryReadsScheduleClippingAndEarlyStopping) {
  Rig rig;
  NodeType type = trainJobNodeType();
  auto config = configFor(type, rig.host,
                          {{"model", {"model.tiny", rig.model}},
                           {"dataset", {"dataset.blobs", rig.data}},
                           {"optimizer", {"optimizer.gd", rig.optimizer}}},
                          {{"lr_schedule", std::string("cosine")},
                           {"warmup_steps", std::int64_t{7}},
                           {"clip_grad_norm", 2.5},
                           {"validation_fraction", 0.2},
                           {"early_stopping_patience", std::int64_t{3}},
                           {"monitor", std::string("val_accuracy")}});
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  const TrainOptions& options = static_cast<TrainJob&>(**node).options();
  EXPECT_EQ(options.lr_schedule, LrSchedule::kCosine);
  EXPECT_EQ(options.warmup_steps, 7u);
  EXPECT_EQ(options.clip_grad_norm, 2.5);
  EXPECT_EQ(options.early_stopping_patience, 3u);
  EXPECT_EQ(options.monitor, Monitor::kValAccuracy);
  config.setValue("monitor", std::string("train_loss"));
  auto bad = type.factory(config);
  EXPECT_THAT(bad.status().message(), HasSubstr("monitor must be val_loss or val_accuracy"));
}

TEST(TrainJobType, SearchOptimizerForGradientModelIsRefused) {
  Rig rig;
  NodeType type = trainJobNodeType();
  auto config =
      configFor(type, rig.host,
                {{"model", {"model.tiny", rig.model}},
                 {"dataset", {"dataset.blobs", rig.data}},
                 {"optimizer", {"optimizer.random_search", std::make_shared<AskTell>()}}});
  auto node = type.factory(config);
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(node.status().message(), HasSubstr("is a search optimizer"));
}

TEST(TrainJobType, MissingOptimizerForGradientModelIsRefused) {
  Rig rig;
  NodeType type = trainJobNodeType();
  auto config =
      configFor(type, rig.host,
                {{"model", {"model.tiny", rig.model}}, {"dataset", {"dataset.blobs", rig.data}}});
  auto node = type.factory(config);
  ASSERT_FALSE(node.ok());
  EXPECT_THAT(node.status().message(), HasSubstr("needs an optimizer"));
}

TEST(TrainJobType, OptimizerForSelfTrainingModelIsIgnoredWithAWarning) {
  Rig rig;
  NodeType type = trainJobNodeType();
  auto config = configFor(type, rig.host,
                          {{"model", {"model.mean", std::make_shared<MeanModel>()}},
                           {"dataset", {"dataset.blobs", rig.data}},
                           {"optimizer", {"optimizer.gd", rig.optimizer}}});
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  ASSERT_EQ(rig.host.warnings.size(), 1u);
  EXPECT_THAT(rig.host.warnings[0], HasSubstr("is ignored"));
}

// ---------------------------------------------------------------------------------------------
// Callbacks from plugins (job.train's `callbacks:`).

/// Zeroes every gradient after the backward pass, so no step moves the model.
class ZeroGradients final : public TrainingCallback {
 public:
  Status onGradients(TrainingState& state) override {
    for (auto& p : state.parameters) {
      for (float& g : p.grad.span<float>()) {
        g = 0;
      }
    }
    ++calls;
    return Status();
  }
  int calls = 0;
};

/// Stops the run after the validation of epoch `after` (1-based), and records every hook.
class StopAfterValidation final : public TrainingCallback {
 public:
  explicit StopAfterValidation(std::uint64_t after) : after_(after) {}
  Status onRunBegin(TrainingState&) override { return note("run begin"); }
  Status onEpochBegin(TrainingState&) override { return note("epoch begin"); }
  Status onValidationEnd(TrainingState& state) override {
    EXPECT_TRUE(state.val_loss.has_value());
    if (state.epoch + 1 == after_) {
      state.requestStop("val_loss " + std::to_string(*state.val_loss) + " is good enough");
    }
    return note("validation end");
  }
  Status onEpochEnd(TrainingState&) override { return note("epoch end"); }
  Status onRunEnd(TrainingState&, Status& outcome) override {
    ended_with = outcome;
    return note("run end");
  }
  std::vector<std::string> hooks;
  Status ended_with = aborted("not ended");

 private:
  Status note(std::string hook) {
    hooks.push_back(std::move(hook));
    return Status();
  }
  std::uint64_t after_;
};

/// Fails in onStepEnd of the given global step.
class FailAtStep final : public TrainingCallback {
 public:
  explicit FailAtStep(std::uint64_t step) : step_(step) {}
  Status onStepEnd(TrainingState& state) override {
    return state.global_step == step_ ? unavailable("the all-reduce peer went away") : Status();
  }

 private:
  std::uint64_t step_;
};

TEST(TrainJobCallbacks, ACallbackCanReplaceTheGradientsBeforeTheOptimizerStep) {
  Rig rig;
  auto zero = std::make_shared<ZeroGradients>();
  TrainTargets targets = rig.targets();
  targets.callbacks.push_back({"zero", zero, "callback.test"});
  auto job = TrainJob::create("train", targets, quickOptions());
  ASSERT_TRUE(job.ok()) << job.status().toString();
  ASSERT_TRUE((*job)->run(rig.host, rig.progress).ok());
  EXPECT_EQ(zero->calls, 30);
  ASSERT_EQ(rig.optimizer->grad_norms.size(), 30u);
  for (double norm : rig.optimizer->grad_norms) {
    EXPECT_EQ(norm, 0.0) << "the optimizer saw the callback's gradients";
  }
}

TEST(TrainJobCallbacks, ACallbackRunsBeforeClippingSoClippingSeesItsGradients) {
  Rig rig;
  auto zero = std::make_shared<ZeroGradients>();
  TrainTargets targets = rig.targets();
  targets.callbacks.push_back({"zero", zero, "callback.test"});
  TrainOptions options = quickOptions();
  options.clip_grad_norm = 0.05;
  auto job = TrainJob::create("train", targets, options);
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE((*job)->run(rig.host, rig.progress).ok());
  EXPECT_EQ(rig.optimizer->grad_norms.front(), 0.0);
}

TEST(TrainJobCallbacks, ACallbackStopsTheRunAfterValidationWithAReasonThatIsLoggedAndTracked) {
  Rig rig;
  auto stop = std::make_shared<StopAfterValidation>(2);
  TrainTargets targets = rig.targets();
  targets.callbacks.push_back({"good_enough", stop, "callback.test"});
  TrainOptions options = quickOptions();
  options.epochs = 5;
  options.track = true;
  options.register_version = true;
  auto job = TrainJob::create("train", targets, options);
  ASSERT_TRUE(job.ok()) << job.status().toString();
  Status status = (*job)->run(rig.host, rig.progress);
  ASSERT_TRUE(status.ok()) << status.toString();
  EXPECT_EQ(rig.optimizer->steps, 20u) << "two epochs of 10 steps";
  EXPECT_EQ(rig.progress.summaries.size(), 2u);
  EXPECT_EQ(stop->hooks,
            (std::vector<std::string>{"run begin", "epoch begin", "validation end", "epoch end",
                                      "epoch begin", "validation end", "epoch end", "run end"}));
  EXPECT_TRUE(stop->ended_with.ok());
  bool logged = false;
  for (const auto& line : rig.host.lines) {
    logged |= line.find("is good enough (stopped by callback 'good_enough')") != std::string::npos;
  }
  EXPECT_TRUE(logged);
  auto run = Tracking(*rig.storage).getRun(1);
  ASSERT_TRUE(run.ok()) << run.status().toString();
  EXPECT_EQ(run->status, RunStatus::kFinished);
  EXPECT_THAT(run->artifacts.at("stop_reason"), HasSubstr("is good enough"));
  EXPECT_EQ(run->artifacts.at("stopped_by"), "good_enough");
  // The model of the last epoch is saved and registered; no checkpoint is left.
  EXPECT_TRUE(ModelRegistry(*rig.storage).resolve("clf").ok());
  EXPECT_EQ(rig.storage->values.count("checkpoints/train"), 0u);
}

TEST(TrainJobCallbacks, AFailingCallbackEndsTheRunWithItsErrorNamingIt) {
  Rig rig;
  auto stop = std::make_shared<StopAfterValidation>(99);
  TrainTargets targets = rig.targets();
  targets.callbacks.push_back({"allreduce", std::make_shared<FailAtStep>(13), "callback.test"});
  targets.callbacks.push_back({"watcher", stop, "callback.test"});
  auto job = TrainJob::create("train", targets, quickOptions());
  ASSERT_TRUE(job.ok());
  Status status = (*job)->run(rig.host, rig.progress);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "callback 'allreduce': the all-reduce peer went away");
  EXPECT_EQ(stop->ended_with.code(), StatusCode::kUnavailable) << "onRunEnd sees the outcome";
  EXPECT_EQ(rig.progress.summaries.back(), "failed");
  // Only the checkpoint of epoch 1, the last good state; no model.
  ASSERT_EQ(rig.storage->values.size(), 1u);
  EXPECT_EQ(rig.storage->values.count("checkpoints/train"), 1u);
}

/// Counts the optimizer steps it saw; carries the count across a resume in its state.
class StepCounter final : public TrainingCallback {
 public:
  Status onRunBegin(TrainingState& state) override {
    begun_at = steps;
    EXPECT_EQ(steps, state.global_step) << "the state was restored before onRunBegin";
    return Status();
  }
  Status onStepEnd(TrainingState&) override {
    ++steps;
    return Status();
  }
  Status saveState(std::string& out) const override {
    ++saves;
    out = std::to_string(steps);
    return Status();
  }
  Status loadState(std::string_view bytes) override {
    if (refuse_load) {
      return dataLoss("the count '" + std::string(bytes) + "' is refused");
    }
    steps = std::stoull(std::string(bytes));
    return Status();
  }
  std::uint64_t steps = 0;
  std::uint64_t begun_at = 0;
  mutable int saves = 0;
  bool refuse_load = false;
};

TEST(TrainJobCallbacks, APluginCallbacksStateIsCheckpointedAndRestoredOnResume) {
  Rig stopped;
  auto before = std::make_shared<StepCounter>();
  TrainTargets targets = stopped.targets();
  targets.callbacks.push_back({"counter", before, "callback.count"});
  stopped.host.stop_after = 19;  // as in ARunStoppedMidEpochResumes...: after 14 steps
  auto job = TrainJob::create("train", targets, quickOptions());
  ASSERT_TRUE(job.ok());
  EXPECT_EQ((*job)->run(stopped.host, stopped.progress).code(), StatusCode::kCancelled);
  EXPECT_EQ(before->steps, 14u);
  EXPECT_EQ(before->saves, 2) << "after epoch 1 and where the run stopped";
  auto checkpoint = decodeTrainCheckpoint(stopped.storage->values.at("checkpoints/train"));
  ASSERT_TRUE(checkpoint.ok());
  ASSERT_EQ(checkpoint->callback_states.size(), 1u);
  EXPECT_EQ(checkpoint->callback_states[0].first, "counter");
  EXPECT_EQ(checkpoint->callback_states[0].second, "14");

  Rig resumed;
  resumed.storage = stopped.storage;
  auto after = std::make_shared<StepCounter>();
  TrainTargets again = resumed.targets();
  again.callbacks.push_back({"counter", after, "callback.count"});
  auto second = TrainJob::create("train", again, quickOptions());
  ASSERT_TRUE(second.ok());
  Status status = (*second)->run(resumed.host, resumed.progress);
  ASSERT_TRUE(status.ok()) << status.toString();
  EXPECT_EQ(after->begun_at, 14u);
  EXPECT_EQ(after->steps, 30u) << "the count went on from the checkpoint's";
}

TEST(TrainJobCallbacks, ACheckpointOfOtherCallbacksIsNotResumedAndAStateErrorNamesTheCallback) {
  Rig stopped;
  TrainTargets targets = stopped.targets();
  targets.callbacks.push_back({"counter", std::make_shared<StepCounter>(), "callback.count"});
  stopped.host.stop_after = 19;
  auto job = TrainJob::create("train", targets, quickOptions());
  ASSERT_TRUE(job.ok());
  EXPECT_EQ((*job)->run(stopped.host, stopped.progress).code(), StatusCode::kCancelled);

  // Without the callback the fingerprint differs: resume: require refuses to start over.
  Rig without;
  without.storage = stopped.storage;
  TrainOptions require = quickOptions();
  require.resume = ResumeMode::kRequire;
  Status refused = without.job(require)->run(without.host, without.progress);
  EXPECT_THAT(refused.message(), HasSubstr("resume: require does not start over"));

  Rig failing;
  failing.storage = stopped.storage;
  auto counter = std::make_shared<StepCounter>();
  counter->refuse_load = true;
  TrainTargets again = failing.targets();
  again.callbacks.push_back({"counter", counter, "callback.count"});
  auto second = TrainJob::create("train", again, quickOptions());
  ASSERT_TRUE(second.ok());
  Status status = (*second)->run(failing.host, failing.progress);
  EXPECT_EQ(status.code(), StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("restoring callback 'counter' from checkpoint "
                                          "'checkpoints/train' in map:test"));
  EXPECT_THAT(status.message(), HasSubstr("the count '14' is refused"));
  EXPECT_EQ(failing.optimizer->steps, 0u) << "no step ran";
}

TEST(TrainJobCallbacks, FactoryTakesCallbackNodesInConfigOrder) {
  Rig rig;
  NodeType type = trainJobNodeType();
  auto zero = std::make_shared<ZeroGradients>();
  auto config = configFor(type, rig.host,
                          {{"model", {"model.tiny", rig.model}},
                           {"dataset", {"dataset.blobs", rig.data}},
                           {"optimizer", {"optimizer.gd", rig.optimizer}},
                           {"storage", {"storage.map", rig.storage}}},
                          {{"epochs", std::int64_t{1}}});
  config.setRefs("callbacks", {"zeroing"}, {"callback.zero"}, {zero});
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  ASSERT_TRUE(static_cast<Job&>(**node).run(rig.host, rig.progress).ok());
  EXPECT_GT(zero->calls, 0);
  auto run = Tracking(*rig.storage).getRun(1);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->params.at("callbacks"), "[zeroing]");
}

TEST(LocalCollective, IsOneRankWhoseReductionsKeepTheData) {
  LocalCollective local;
  EXPECT_EQ(local.rank(), 0);
  EXPECT_EQ(local.size(), 1);
  std::vector<float> f{1.5f, -2.0f};
  std::vector<double> d{3.25};
  for (auto op : {ReduceOp::kSum, ReduceOp::kMean, ReduceOp::kMax, ReduceOp::kMin}) {
    ASSERT_TRUE(local.allreduce(std::span<float>(f), op).ok());
    ASSERT_TRUE(local.allreduce(std::span<double>(d), op).ok());
  }
  EXPECT_EQ(f, (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(d, (std::vector<double>{3.25}));
  std::vector<std::byte> bytes{std::byte{7}};
  EXPECT_TRUE(local.broadcast(bytes, 0).ok());
  EXPECT_EQ(bytes[0], std::byte{7});
  EXPECT_EQ(local.broadcast(bytes, 1).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(local.barrier().ok());
}

TEST(LocalCollective, FactoryMakesACollective) {
  FakeHost host;
  NodeType type = localCollectiveNodeType();
  EXPECT_EQ(type.type, "collective.local");
  EXPECT_EQ(type.kind, NodeKind::kCollective);
  NodeConfig config("world", type.type, &host);
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok());
  EXPECT_EQ((*node)->kind(), NodeKind::kCollective);
  EXPECT_EQ(static_cast<Collective&>(**node).size(), 1);
}

TEST(BuiltinTypes, RegistersTrainJobAndLocalCollective) {
  TypeRegistry registry;
  registerBuiltinTypes(registry);
  const RegisteredType* train = registry.find("job.train");
  ASSERT_NE(train, nullptr);
  EXPECT_EQ(train->type.kind, NodeKind::kJob);
  EXPECT_EQ(train->plugin->name, "builtin");
  EXPECT_EQ(train->library, nullptr);
  const RegisteredType* local = registry.find("collective.local");
  ASSERT_NE(local, nullptr);
  EXPECT_EQ(local->type.kind, NodeKind::kCollective);
}

// --- Experiment tracking ---------------------------------------------------------------------

TrainOptions trackedOptions() {
  TrainOptions o = quickOptions();
  o.track = true;
  o.register_version = true;
  return o;
}

/// The points of one metric of run `id`, in step order.
std::vector<MetricPoint> pointsOf(Storage& storage, std::int64_t id, const std::string& name) {
  std::vector<MetricPoint> out;
  auto points = Tracking(storage).metricPoints(id);
  EXPECT_TRUE(points.ok()) << points.status().toString();
  for (auto& p : points.ok() ? *points : std::vector<MetricPoint>{}) {
    if (p.name == name) out.push_back(p);
  }
  return out;
}

TEST(TrainJobTracking, RecordsParamsStepAndEpochMetricsArtifactsAndTheEnd) {
  Rig rig;
  auto job = rig.job(trackedOptions());  // 3 epochs of 10 steps, validation each epoch
  job->addTrackingContext("blobs-exp", {{"model.hidden", "[4]"}, {"epochs", "3"}});
  ASSERT_TRUE(job->run(rig.host, rig.progress).ok());
  EXPECT_THAT(rig.host.lines,
              ::testing::Contains("train: tracking run 1 in experiment 'blobs-exp' (aimass runs "
                                  "show 1)"));
  // What tracking cost (bench/run.sh tracking reads it): 3 points a step for 30 steps, 4 an
  // epoch for 3 epochs, written in one batch at the end.
  EXPECT_THAT(rig.host.lines,
              ::testing::Contains(::testing::StartsWith(
                  "train: tracked run 1: 102 metric points in 1 batch records, tracking_s=")));
  Tracking tracking(*rig.storage);
  auto run = tracking.getRun(1);
  ASSERT_TRUE(run.ok()) << run.status().toString();
  EXPECT_EQ(run->experiment, "blobs-exp");
  EXPECT_EQ(run->node, "train");
  EXPECT_EQ(run->node_type, "job.train");
  EXPECT_EQ(run->status, RunStatus::kFinished);
  EXPECT_EQ(run->params.at("model.hidden"), "[4]");
  EXPECT_EQ(run->artifacts.at("model_version"), "clf/1");
  EXPECT_THAT(run->artifacts.at("model"), ::testing::StartsWith("models/clf/artifacts/"));

  auto loss = pointsOf(*rig.storage, 1, "loss");
  ASSERT_EQ(loss.size(), 30u) << "one point per optimizer step";
  EXPECT_EQ(loss.front().step, 1);
  EXPECT_EQ(loss.back().step, 30);
  EXPECT_EQ(pointsOf(*rig.storage, 1, "learning_rate").size(), 30u);
  EXPECT_EQ(pointsOf(*rig.storage, 1, "samples_per_second").size(), 30u);
  for (const char* per_epoch : {"train_loss", "val_loss", "val_accuracy", "epoch_seconds"}) {
    auto points = pointsOf(*rig.storage, 1, per_epoch);
    ASSERT_EQ(points.size(), 3u) << per_epoch;
    EXPECT_EQ(points.back().step, 3) << per_epoch;
  }
  EXPECT_DOUBLE_EQ(run->metrics.at("val_accuracy"), 1.0);
  // The registered version and the run agree on the last epoch's figures.
  auto version = ModelRegistry(*rig.storage).getVersion("clf", 1);
  ASSERT_TRUE(version.ok());
  EXPECT_DOUBLE_EQ(version->metrics.at("val_loss"), run->metrics.at("val_loss"));
  EXPECT_DOUBLE_EQ(version->metrics.at("loss"), run->metrics.at("train_loss"));
}

TEST(TrainJobTracking, ExperimentDefaultsToTheModelsNodeName) {
  Rig rig;
  ASSERT_TRUE(rig.job(trackedOptions())->run(rig.host, rig.progress).ok());
  auto experiments = Tracking(*rig.storage).listExperiments();
  ASSERT_TRUE(experiments.ok());
  EXPECT_EQ(*experiments, (std::vector<std::string>{"clf"}));
}

TEST(TrainJobTracking, AFailedRunRecordsItsError) {
  Rig rig;
  rig.model->nan_at_call = 13;
  ASSERT_FALSE(rig.job(trackedOptions())->run(rig.host, rig.progress).ok());
  auto run = Tracking(*rig.storage).getRun(1);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kFailed);
  EXPECT_THAT(run->error, HasSubstr("loss became NaN at epoch 2 step 3"));
  EXPECT_EQ(pointsOf(*rig.storage, 1, "loss").size(), 12u) << "the steps before the failure";
  EXPECT_EQ(run->artifacts.count("model_version"), 0u);
}

TEST(TrainJobTracking, AStopRequestMarksTheRunKilled) {
  Rig rig;
  rig.host.stop_after = 5;
  ASSERT_EQ(rig.job(trackedOptions())->run(rig.host, rig.progress).code(), StatusCode::kCancelled);
  auto run = Tracking(*rig.storage).getRun(1);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kKilled);
  EXPECT_THAT(run->error, HasSubstr("was stopped"));
  EXPECT_GT(run->end_unix_ms, 0);
}

TEST(TrainJobTracking, TrackFalseOrNoStorageRecordsNothing) {
  Rig rig;
  TrainOptions options = trackedOptions();
  options.track = false;
  ASSERT_TRUE(rig.job(options)->run(rig.host, rig.progress).ok());
  for (const auto& [key, value] : rig.storage->values) {
    EXPECT_FALSE(key.starts_with("tracking/")) << key;
  }
  Rig without_storage;
  TrainOptions unsaved = quickOptions();
  unsaved.track = true;
  EXPECT_TRUE(without_storage.job(unsaved, false)
                  ->run(without_storage.host, without_storage.progress)
                  .ok());
}

TEST(TrainJobTracking, FactoryTracksByDefaultWithTheJobsParameters) {
  Rig rig;
  NodeType type = trainJobNodeType();
  auto config = configFor(type, rig.host,
                          {{"model", {"model.tiny", rig.model}},
                           {"dataset", {"dataset.blobs", rig.data}},
                           {"optimizer", {"optimizer.gd", rig.optimizer}},
                           {"storage", {"storage.map", rig.storage}}},
                          {{"epochs", std::int64_t{2}}, {"experiment", std::string("trial-7")}});
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  ASSERT_TRUE(static_cast<Job&>(**node).run(rig.host, rig.progress).ok());
  RunQuery query;
  query.experiment = "trial-7";
  auto runs = Tracking(*rig.storage).listRuns(query);
  ASSERT_TRUE(runs.ok()) << runs.status().toString();
  ASSERT_EQ(runs->runs.size(), 1u);
  const RunRecord& run = runs->runs[0];
  EXPECT_EQ(run.params.at("epochs"), "2");
  EXPECT_EQ(run.params.at("batch_size"), "32");
  EXPECT_EQ(run.params.at("shuffle"), "true");
  EXPECT_EQ(run.params.at("validation_fraction"), "0");
  EXPECT_EQ(run.params.at("model"), "model_node");
  EXPECT_EQ(run.params.at("optimizer"), "optimizer_node");

  auto bad = configFor(type, rig.host,
                       {{"model", {"model.tiny", rig.model}},
                        {"dataset", {"dataset.blobs", rig.data}},
                        {"optimizer", {"optimizer.gd", rig.optimizer}}},
                       {{"experiment", std::string("my trial")}});
  auto refused = type.factory(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("experiment name 'my trial'"));
}

TEST(TrainJobTracking, ParamValuesReadAsText) {
  EXPECT_EQ(paramValueText(ParamValue(true)), "true");
  EXPECT_EQ(paramValueText(ParamValue(std::int64_t{-3})), "-3");
  EXPECT_EQ(paramValueText(ParamValue(0.1)), "0.1");
  EXPECT_EQ(paramValueText(ParamValue(std::string("relu"))), "relu");
  EXPECT_EQ(paramValueText(ParamValue(std::vector<std::int64_t>{64, 32})), "[64, 32]");
  EXPECT_EQ(paramValueText(ParamValue(std::vector<double>{0.5, 2})), "[0.5, 2]");
  EXPECT_EQ(paramValueText(ParamValue(std::vector<std::string>{"a", "b"})), "[a, b]");
}

}  // namespace
}  // namespace aimass::core
