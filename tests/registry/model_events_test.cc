// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/model_events.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aimass/core/registry.h"
#include "aimass/core/registry_services.h"
#include "fs.h"
#include "temp_dir.h"

namespace aimass::core {
namespace {

using plugins::storage::FsStorage;
using ::testing::HasSubstr;

class ModelEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto storage = FsStorage::create(dir_.path(), false);
    ASSERT_TRUE(storage.ok()) << storage.status().toString();
    storage_ = std::move(storage).value();
    registry_ = std::make_unique<ModelRegistry>(*storage_);
  }

  std::int64_t registerBytes(const std::string& model, const std::string& bytes) {
    const std::string key = "artifacts/" + model + "/" + std::to_string(++artifacts_);
    EXPECT_TRUE(storage_->put(key, bytes).ok());
    NewModelVersion info;
    info.artifact_key = key;
    info.node = "train";
    info.node_type = "model.softmax";
    info.metrics = {{"accuracy", 0.875}};
    auto v = registry_->registerVersion(model, info);
    EXPECT_TRUE(v.ok()) << v.status().toString();
    return v.ok() ? v->version : 0;
  }

  std::vector<ModelEvent> events(const std::string& model, ModelEventFilter filter = {}) {
    auto listed = readModelEvents(*storage_, model, filter);
    EXPECT_TRUE(listed.ok()) << listed.status().toString();
    return listed.ok() ? *listed : std::vector<ModelEvent>{};
  }

  static std::vector<std::string> kinds(const std::vector<ModelEvent>& list) {
    std::vector<std::string> out;
    for (const auto& e : list) out.push_back(e.kind);
    return out;
  }

  aimass::testing::TempDir dir_;
  std::unique_ptr<FsStorage> storage_;
  std::unique_ptr<ModelRegistry> registry_;
  int artifacts_ = 0;
};

TEST_F(ModelEventsTest, EveryRegistryChangeIsRecordedInOrder) {
  ASSERT_EQ(registerBytes("iris", "w1"), 1);
  ASSERT_EQ(registerBytes("iris", "w2"), 2);
  ASSERT_TRUE(registry_->promote("iris", "champion", 1).ok());
  ASSERT_TRUE(registry_->promote("iris", "champion", 2).ok());
  ASSERT_TRUE(registry_->promote("iris", "champion", 2).ok());  // no change: no event
  ASSERT_TRUE(registry_->rollback("iris", "champion").ok());
  ASSERT_TRUE(registry_->deleteVersion("iris", 1, true).ok());

  const auto all = events("iris");
  EXPECT_EQ(kinds(all), (std::vector<std::string>{"registered", "registered", "alias_moved",
                                                  "alias_moved", "alias_rolled_back", "deleted"}));
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].sequence, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(all[i].model, "iris");
    EXPECT_FALSE(all[i].actor.empty());
    EXPECT_GT(all[i].unix_ms, 1600000000000);
    if (i > 0) {
      EXPECT_GE(all[i].unix_ms, all[i - 1].unix_ms);
    }
  }
  EXPECT_EQ(all[1].version, 2);
  EXPECT_THAT(all[1].details, HasSubstr("\"accuracy\": 0.875"));
  EXPECT_THAT(all[1].details, HasSubstr("\"type\": \"model.softmax\""));
  EXPECT_EQ(all[2].alias, "champion");
  EXPECT_EQ(all[2].message, "alias 'champion' set to version 1");
  EXPECT_THAT(all[2].details, HasSubstr("\"from\": null"));
  EXPECT_EQ(all[3].message, "alias 'champion' moved from version 1 to version 2");
  EXPECT_EQ(all[4].message, "alias 'champion' rolled back from version 2 to version 1");
  EXPECT_EQ(all[4].version, 1);
  EXPECT_EQ(all[5].version, 1);
  EXPECT_EQ(all[5].message, "version 1 deleted with its alias 'champion'");
  EXPECT_THAT(all[5].details, HasSubstr("\"champion\""));
}

// A frontend changes the registry on behalf of its caller: the events name that principal,
// and the calls without one name the process's user, as before.
TEST_F(ModelEventsTest, ChangesMadeOnBehalfOfAnActorNameIt) {
  ASSERT_EQ(registerBytes("iris", "w1"), 1);
  ASSERT_EQ(registerBytes("iris", "w2"), 2);
  auto shared = FsStorage::create(dir_.path(), false);
  ASSERT_TRUE(shared.ok()) << shared.status().toString();
  StorageModelRegistry service(std::shared_ptr<Storage>(std::move(shared).value()));
  ASSERT_TRUE(service.promoteAs("iris", "champion", 1, "otto").ok());
  ASSERT_TRUE(service.promoteAs("iris", "champion", 2, "ada").ok());
  ASSERT_TRUE(service.rollbackAs("iris", "champion", "otto").ok());
  ASSERT_TRUE(service.promote("iris", "champion", 2).ok());
  ASSERT_TRUE(service.deleteVersionAs("iris", 1, false, "ada").ok());
  ASSERT_TRUE(service.promoteAs("iris", "champion", 2, "").ok());  // no change: no event

  const auto all = events("iris");
  ASSERT_EQ(all.size(), 7u);
  std::vector<std::string> actors;
  for (std::size_t i = 2; i < all.size(); ++i) actors.push_back(all[i].actor);
  const std::string user = all[0].actor;  // registered by this process's user
  EXPECT_FALSE(user.empty());
  EXPECT_EQ(actors, (std::vector<std::string>{"otto", "ada", "otto", user, "ada"}));
  EXPECT_EQ(all[6].kind, "deleted");
}

TEST_F(ModelEventsTest, FiltersSelectBySequenceKindAndCount) {
  registerBytes("iris", "w1");
  registerBytes("iris", "w2");
  registerBytes("iris", "w3");
  ASSERT_TRUE(registry_->promote("iris", "champion", 3).ok());
  EXPECT_EQ(events("iris", {2, 0, ""}).size(), 2u);
  EXPECT_EQ(events("iris", {0, 2, ""}).front().sequence, 1);
  EXPECT_EQ(events("iris", {0, 2, ""}).size(), 2u);
  auto moved = events("iris", {0, 0, "alias_moved"});
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved.front().sequence, 4);
  EXPECT_TRUE(events("iris", {4, 0, ""}).empty());
  EXPECT_TRUE(events("other", {}).empty());
}

TEST_F(ModelEventsTest, HistoryOutlivesTheVersionsItNames) {
  registerBytes("iris", "w1");
  ASSERT_TRUE(registry_->deleteVersion("iris", 1, false).ok());
  EXPECT_EQ(kinds(events("iris")), (std::vector<std::string>{"registered", "deleted"}));
  auto listed = registry_->listModels();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty()) << "events must not make a deleted model listed again";
  auto history = modelEvents(*registry_, "iris", ModelEventQuery{});
  ASSERT_TRUE(history.ok()) << history.status().toString();
  EXPECT_EQ(history->size(), 2u);
}

TEST_F(ModelEventsTest, AnUnknownModelIsNotFoundAndAnOldOneHasAnEmptyHistory) {
  auto unknown = modelEvents(*registry_, "nope", ModelEventQuery{});
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  registerBytes("old", "w1");
  // A model registered before histories existed: its versions, no events.
  auto keys = storage_->list(modelEventsPrefix("old"));
  ASSERT_TRUE(keys.ok());
  for (const auto& key : *keys) ASSERT_TRUE(storage_->remove(key).ok());
  auto old = modelEvents(*registry_, "old", ModelEventQuery{});
  ASSERT_TRUE(old.ok()) << old.status().toString();
  EXPECT_TRUE(old->empty());
}

TEST_F(ModelEventsTest, AppendRefusesWhatIsMalformedNamingIt) {
  ModelEvent bad;
  bad.model = "iris";
  bad.kind = "Drift!";
  auto kind = appendModelEvent(*storage_, bad);
  EXPECT_EQ(kind.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(kind.status().message(), HasSubstr("kind 'Drift!'"));
  bad.kind = "drift";
  bad.details = "[1, 2]";
  auto details = appendModelEvent(*storage_, bad);
  EXPECT_THAT(details.status().message(), HasSubstr("details are not a JSON object"));
  bad.details = "{\"p\": 0.01";
  EXPECT_EQ(appendModelEvent(*storage_, bad).status().code(), StatusCode::kInvalidArgument);
  bad.details = "{}";
  bad.version = -1;
  EXPECT_THAT(appendModelEvent(*storage_, bad).status().message(), HasSubstr("negative"));
  bad.version = 0;
  bad.model = "../etc";
  EXPECT_EQ(appendModelEvent(*storage_, bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(events("iris").empty()) << "nothing refused may be recorded";
}

TEST_F(ModelEventsTest, RecordsRoundTripAndCorruptOnesAreNamed) {
  ModelEvent event;
  event.model = "iris";
  event.kind = "gate";
  event.version = 7;
  event.alias = "champion";
  event.actor = "policy node";
  event.message = "challenger 7 beats 6 by 0.02 (100%)\nsecond line";
  event.details = "{\"metric\": \"accuracy\", \"delta\": 0.02}";
  auto appended = appendModelEvent(*storage_, event);
  ASSERT_TRUE(appended.ok()) << appended.status().toString();
  auto back = events("iris");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].message, event.message);
  EXPECT_EQ(back[0].actor, "policy node");
  EXPECT_EQ(back[0].details, event.details);
  EXPECT_EQ(back[0].alias, "champion");
  EXPECT_EQ(back[0].version, 7);

  EXPECT_EQ(decodeModelEvent("aimass-model-event 1\nmodel iris\n").status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(decodeModelEvent("not an event").status().code(), StatusCode::kDataLoss);
  const std::string key = modelEventsPrefix("iris") + "0000000001";
  ASSERT_TRUE(storage_->put(key, "aimass-model-event 1\nsequence x\n").ok());
  auto listed = readModelEvents(*storage_, "iris", {});
  EXPECT_EQ(listed.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(listed.status().message(), HasSubstr(key));
}

TEST_F(ModelEventsTest, ConcurrentAppendsGetDistinctSequences) {
  constexpr int kThreads = 4, kEach = 10;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < kEach; ++i) {
        ModelEvent e;
        e.model = "busy";
        e.kind = "drift";
        EXPECT_TRUE(appendModelEvent(*storage_, e).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::int64_t> sequences;
  for (const auto& e : events("busy")) sequences.insert(e.sequence);
  EXPECT_EQ(sequences.size(), static_cast<std::size_t>(kThreads * kEach));
  EXPECT_EQ(*sequences.rbegin(), kThreads * kEach);
}

}  // namespace
}  // namespace aimass::core
