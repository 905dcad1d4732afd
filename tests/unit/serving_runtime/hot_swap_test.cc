// SPDX-License-Identifier: Apache-2.0
// The serving runtime's hot swap (core/src/serving.cc), without a frontend: a request already
// pinned or queued when a new version is loaded, or when batching changes, finishes on what it
// pinned, and the old version's memory goes with its last request. A Gate holds the old
// version's worker inside predict() so that the swap happens while the request is queued.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "aimass/core/model_artifact.h"
#include "aimass/core/registry.h"
#include "map_storage.h"
#include "runtime_test_fixture.h"

namespace aimass::core::testing {
namespace {

using ::testing::ElementsAre;

class HotSwapTest : public RuntimeTest {
 protected:
  void SetUp() override {
    runtime_.setModelFactory([this](const std::string& type) -> Expected<std::shared_ptr<Model>> {
      if (type != "model.scale") {
        return notFound("no model type '" + type + "'");
      }
      return std::shared_ptr<Model>(std::make_shared<ScaleModel>(0, &gate_));
    });
    ASSERT_TRUE(runtime_.setRepository(storage_).ok());
  }

  /// Saves a ScaleModel with `factor` and registers it as the next version of "scale".
  void registerScale(float factor) {
    const std::string key = "models/scale/artifacts/" + std::to_string(factor) + ".aimass";
    ASSERT_TRUE(saveModel(ScaleModel(factor), "model.scale", *storage_, key).ok());
    NewModelVersion info;
    info.artifact_key = key;
    info.node = "train";
    info.node_type = "model.scale";
    ASSERT_TRUE(ModelRegistry(*storage_).registerVersion("scale", info).ok());
  }

  std::shared_ptr<aimass::testing::MapStorage> storage_ =
      std::make_shared<aimass::testing::MapStorage>();
};

TEST_F(HotSwapTest, ARequestQueuedWhenANewVersionLoadsFinishesOnTheOldVersion) {
  batchEverything(8);
  registerScale(1);
  ASSERT_TRUE(runtime_.load("scale").ok());
  std::weak_ptr<const Model> old_model;
  {
    auto found = runtime_.find("scale", "1");
    ASSERT_TRUE(found.ok());
    old_model = found->model;
  }

  // The old version's worker is held inside predict(); the next request waits in its queue,
  // and a third is pinned but not yet sent, when version 2 replaces version 1.
  gate_.close();
  Answer& running = send("scale", rows({{1, 1}}));
  ASSERT_TRUE(gate_.awaitWaiters(1));
  Answer& queued = send("scale", rows({{2, 3}}));
  ASSERT_TRUE(awaitPending("scale", 1));
  std::shared_ptr<PinnedModel> pinned;
  {
    auto pinning = runtime_.pin("scale", "");
    ASSERT_TRUE(pinning.ok());
    pinned = std::move(pinning).value();
  }

  registerScale(2);
  ASSERT_TRUE(runtime_.load("scale").ok());
  ASSERT_EQ(runtime_.list().size(), 1u);  // latest:1, so version 1 is no longer served
  EXPECT_EQ(runtime_.list()[0].version, "2");

  // A request after the swap gets version 2 and its own queue and worker: it reaches predict()
  // while the old worker is still held.
  Answer& later = send("scale", rows({{4, 5}}));
  ASSERT_TRUE(gate_.awaitWaiters(2));
  gate_.open();
  ASSERT_TRUE(awaitAnswers(3));

  for (const Answer* answer : {&running, &queued, &later}) {
    ASSERT_TRUE(answer->status.ok()) << answer->status.toString();
  }
  EXPECT_EQ(running.version, "1");
  EXPECT_EQ(queued.version, "1");
  EXPECT_EQ(values(queued, "y"), (std::vector<float>{2, 3}));
  EXPECT_THAT(versions(queued), ElementsAre(1));
  EXPECT_EQ(later.version, "2");
  EXPECT_EQ(values(later, "y"), (std::vector<float>{8, 10}));

  TensorMap inputs, outputs;
  inputs.set("x", rows({{7, 7}}));
  ASSERT_TRUE(pinned->infer(inputs, PredictOptions{}, outputs, nullptr).ok());
  EXPECT_EQ(pinned->served().version, "1");
  EXPECT_EQ(outputs.find("y")->data<float>()[0], 7);

  // The old version lived as long as a request held it, and no longer.
  EXPECT_FALSE(old_model.expired());
  pinned.reset();
  EXPECT_TRUE(old_model.expired());
}

TEST_F(HotSwapTest, ARequestQueuedWhenBatchingChangesFinishesOnTheOldQueue) {
  auto model = std::make_shared<ScaleModel>(1, &gate_);
  runtime_.add("scale", "1", model);
  batchEverything(8);

  gate_.close();
  Answer& running = send("scale", rows({{1}}));
  ASSERT_TRUE(gate_.awaitWaiters(1));
  Answer& queued = send("scale", rows({{2}}));
  ASSERT_TRUE(awaitPending("scale", 1));
  batchEverything(4);
  EXPECT_EQ(statisticsOf("scale").pending, 0);  // the new queue starts empty
  Answer& later = send("scale", rows({{3}}));
  ASSERT_TRUE(gate_.awaitWaiters(2));  // on the new queue's worker, the old one still held
  gate_.open();
  ASSERT_TRUE(awaitAnswers(3));

  for (const Answer* answer : {&running, &queued, &later}) {
    ASSERT_TRUE(answer->status.ok()) << answer->status.toString();
  }
  EXPECT_EQ(values(queued, "y"), (std::vector<float>{2}));
  EXPECT_EQ(values(later, "y"), (std::vector<float>{3}));
  // Calls: the running request, the later one (new worker), then the queued one on the worker
  // it queued for.
  auto threads = model->threads();
  ASSERT_EQ(threads.size(), 3u);
  EXPECT_EQ(threads[0], threads[2]);
  EXPECT_NE(threads[0], threads[1]);
  // Both queues count into the version's one set of statistics.
  EXPECT_EQ(statisticsOf("scale").success.count, 3u);
}

}  // namespace
}  // namespace aimass::core::testing
