// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/registry.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aimass/core/sha256.h"
#include "fs.h"
#include "temp_dir.h"

namespace aimass::core {
namespace {

namespace fs = std::filesystem;
using plugins::storage::FsStorage;

using aimass::testing::TempDir;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto storage = FsStorage::create(dir_.path(), false);
    ASSERT_TRUE(storage.ok()) << storage.status().toString();
    storage_ = std::move(storage).value();
    registry_ = std::make_unique<ModelRegistry>(*storage_);
  }

  /// Saves `bytes` as an artifact and registers it.
  ModelVersion registerBytes(const std::string& model, const std::string& bytes) {
    const std::string key = "artifacts/" + model + "/" + std::to_string(++artifacts_);
    EXPECT_TRUE(storage_->put(key, bytes).ok());
    NewModelVersion info;
    info.artifact_key = key;
    info.node = "train";
    info.node_type = "model.softmax";
    info.dataset_fingerprint = Sha256::of("data");
    info.metrics = {{"accuracy", 0.9375}, {"log loss", 0.1}};
    info.tags = {{"owner", "alice smith"}, {"note", "line\nbreak 100%"}};
    auto v = registry_->registerVersion(model, info);
    EXPECT_TRUE(v.ok()) << v.status().toString();
    return v.ok() ? *v : ModelVersion{};
  }

  TempDir dir_;
  std::unique_ptr<FsStorage> storage_;
  std::unique_ptr<ModelRegistry> registry_;
  int artifacts_ = 0;
};

TEST(Sha256Test, MatchesTheStandardTestVectors) {
  EXPECT_EQ(Sha256::of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256::of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256::of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 pieces;
  for (int i = 0; i < 1000; ++i) pieces.update(std::string(999, 'a') + "a");
  EXPECT_EQ(pieces.hexDigest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_F(RegistryTest, RegistersVersionsWithHashMetricsTagsAndLineage) {
  ModelVersion first = registerBytes("iris", "weights-1");
  ModelVersion second = registerBytes("iris", "weights-2");
  EXPECT_EQ(first.version, 1);
  EXPECT_EQ(second.version, 2);
  EXPECT_EQ(first.sha256, Sha256::of("weights-1"));
  EXPECT_GT(first.created_unix_ms, 1600000000000);

  auto back = registry_->getVersion("iris", 1);
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_EQ(back->artifact_key, first.artifact_key);
  EXPECT_EQ(back->node, "train");
  EXPECT_EQ(back->node_type, "model.softmax");
  EXPECT_EQ(back->dataset_fingerprint, Sha256::of("data"));
  EXPECT_EQ(back->metrics.at("accuracy"), 0.9375);
  EXPECT_EQ(back->metrics.at("log loss"), 0.1);
  EXPECT_EQ(back->tags.at("owner"), "alice smith");
  EXPECT_EQ(back->tags.at("note"), "line\nbreak 100%");
  EXPECT_EQ(back->created_unix_ms, first.created_unix_ms);

  registerBytes("mnist", "w");
  EXPECT_EQ(registry_->listModels().value(), (std::vector<std::string>{"iris", "mnist"}));
  auto versions = registry_->listVersions("iris");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[1].version, 2);
  EXPECT_EQ(registry_->resolve("iris").value().version, 2) << "a bare name is the latest";
  EXPECT_EQ(registry_->resolve("iris/1").value().sha256, first.sha256);
  EXPECT_EQ(registry_->resolve("iris/9").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->resolve("iris/x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->listVersions("nope").status().code(), StatusCode::kNotFound);
}

TEST_F(RegistryTest, RefusesBadNamesAndMissingArtifacts) {
  NewModelVersion info;
  info.artifact_key = "artifacts/none";
  auto missing = registry_->registerVersion("iris", info);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("artifacts/none"), std::string::npos);
  EXPECT_EQ(registry_->listModels().value(), std::vector<std::string>{})
      << "a failed registration leaves nothing";
  for (const char* bad : {"", "a/b", "a b", ".hidden", "-x", "a@b"}) {
    EXPECT_EQ(registry_->registerVersion(bad, info).status().code(), StatusCode::kInvalidArgument)
        << bad;
  }
  ASSERT_TRUE(storage_->put("artifacts/x", "x").ok());
  info.artifact_key = "artifacts/x";
  ASSERT_TRUE(registry_->registerVersion("iris", info).ok());
  EXPECT_EQ(registry_->promote("iris", "42", 1).status().code(), StatusCode::kInvalidArgument)
      << "a numeric alias would read as a version";
}

TEST_F(RegistryTest, PromoteAndRollbackMoveAliasesThroughTheirHistory) {
  for (int i = 1; i <= 3; ++i) registerBytes("iris", "w" + std::to_string(i));
  EXPECT_EQ(registry_->promote("iris", "champion", 4).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(registry_->promote("iris", "champion", 1).ok());
  ASSERT_TRUE(registry_->promote("iris", "champion", 2).ok());
  auto promoted = registry_->promote("iris", "champion", 3);
  ASSERT_TRUE(promoted.ok());
  EXPECT_EQ(promoted->history, (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(registry_->resolve("iris@champion").value().version, 3);

  auto back = registry_->rollback("iris", "champion");
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_EQ(back->version, 2);
  EXPECT_EQ(registry_->resolve("iris@champion").value().version, 2);
  EXPECT_EQ(registry_->rollback("iris", "champion").value().version, 1);
  auto exhausted = registry_->rollback("iris", "champion");
  EXPECT_EQ(exhausted.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(registry_->resolve("iris@champion").value().version, 1);
  EXPECT_EQ(registry_->resolve("iris@missing").status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(registry_->promote("iris", "challenger", 3).ok());
  auto aliases = registry_->listAliases("iris");
  ASSERT_TRUE(aliases.ok());
  ASSERT_EQ(aliases->size(), 2u);
  EXPECT_EQ((*aliases)[0].alias, "challenger");
  EXPECT_EQ((*aliases)[1].alias, "champion");
}

TEST_F(RegistryTest, ConcurrentPromotionsLoseNoHistory) {
  constexpr int kThreads = 4;
  constexpr int kEach = 8;
  for (int i = 1; i <= kThreads * kEach; ++i) registerBytes("iris", "w" + std::to_string(i));
  // Every promotion targets a version no other promotion uses, so each one must leave exactly
  // one history entry behind: a lost compare-and-set race would drop one.
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 1; i <= kEach; ++i) {
        EXPECT_TRUE(registry_->promote("iris", "champion", t * kEach + i).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  auto alias = registry_->getAlias("iris", "champion");
  ASSERT_TRUE(alias.ok());
  std::set<std::int64_t> seen(alias->history.begin(), alias->history.end());
  seen.insert(alias->version);
  EXPECT_EQ(alias->history.size(), static_cast<std::size_t>(kThreads * kEach - 1));
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kEach));
}

TEST_F(RegistryTest, DeleteRemovesTheArtifactAndRefusesAnAliasedVersionUnlessForced) {
  ModelVersion first = registerBytes("iris", "w1");
  ModelVersion second = registerBytes("iris", "w2");
  ASSERT_TRUE(registry_->promote("iris", "champion", 2).ok());

  Status refused = registry_->deleteVersion("iris", 2, false);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("'champion'"), std::string::npos) << refused.message();
  EXPECT_TRUE(storage_->get(second.artifact_key).ok());

  ASSERT_TRUE(registry_->deleteVersion("iris", 1, false).ok());
  EXPECT_EQ(storage_->get(first.artifact_key).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->getVersion("iris", 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->deleteVersion("iris", 1, false).code(), StatusCode::kNotFound);

  ASSERT_TRUE(registry_->deleteVersion("iris", 2, true).ok());
  EXPECT_EQ(registry_->getAlias("iris", "champion").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(storage_->get(second.artifact_key).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registerBytes("iris", "w3").version, 3) << "numbers are never reused";
}

TEST_F(RegistryTest, VerifyCatchesACorruptArtifact) {
  ModelVersion v = registerBytes("iris", "good bytes");
  EXPECT_TRUE(registry_->verifyArtifact(v).ok());
  ASSERT_TRUE(storage_->put(v.artifact_key, "good bytez").ok());
  Status corrupt = registry_->verifyArtifact(v);
  EXPECT_EQ(corrupt.code(), StatusCode::kDataLoss);
  EXPECT_NE(corrupt.message().find(v.artifact_key), std::string::npos);
}

TEST_F(RegistryTest, RecordsRoundTripAndMalformedOnesAreDataLoss) {
  ModelVersion v = registerBytes("iris", "w");
  auto decoded = decodeModelVersion(encodeModelVersion(v));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(encodeModelVersion(*decoded), encodeModelVersion(v));
  EXPECT_EQ(decodeModelVersion("garbage").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(decodeModelVersion("aimass-model-version 1\nmodel iris\nversion x\n").status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(decodeModelVersion("aimass-model-version 1\nmodel a%2\nversion 1\n").status().code(),
            StatusCode::kDataLoss);
}

TEST_F(RegistryTest, VersionsRecordTheCodeVersionTheUserAndTheDataset) {
  const char* old_user = std::getenv("USER");
  const std::string saved_user = old_user != nullptr ? old_user : "";
  ::setenv("USER", "carol", 1);
  ASSERT_TRUE(storage_->put("artifacts/a", "w").ok());
  NewModelVersion info;
  info.artifact_key = "artifacts/a";
  info.dataset_name = "pumps";
  info.dataset_version = 3;
  info.dataset_sha256 = Sha256::of("rows");
  auto v = registry_->registerVersion("iris", info);
  if (old_user != nullptr) {
    ::setenv("USER", saved_user.c_str(), 1);
  } else {
    ::unsetenv("USER");
  }
  ASSERT_TRUE(v.ok()) << v.status().toString();
  EXPECT_EQ(v->created_by, "carol");
  EXPECT_TRUE(v->code_version == "unknown" ||
              (v->code_version.size() == 40 &&
               v->code_version.find_first_not_of("0123456789abcdef") == std::string::npos))
      << v->code_version;
  auto back = registry_->getVersion("iris", v->version);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->created_by, "carol");
  EXPECT_EQ(back->code_version, v->code_version);
  EXPECT_EQ(back->dataset_name, "pumps");
  EXPECT_EQ(back->dataset_version, 3);
  EXPECT_EQ(back->dataset_sha256, Sha256::of("rows"));

  info.code_version = "0123abc";
  EXPECT_EQ(registry_->registerVersion("iris", info).value().code_version, "0123abc");
  info.dataset_name = "bad name";
  EXPECT_EQ(registry_->registerVersion("iris", info).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(RegistryTest, RecordsWrittenBeforeLineageFieldsStillDecode) {
  // A record exactly as the first registry wrote it: no dataset_name/version/sha256, code or
  // created_by lines.
  const std::string old_record =
      "aimass-model-version 1\nmodel iris\nversion 4\nartifact models/iris/artifacts/1.aimass\n"
      "sha256 " +
      Sha256::of("w") +
      "\nnode train\ntype model.softmax\ndataset 9a0b\n"
      "created_ms 1718000000000\nmetric accuracy 0.96\ntag owner alice\n";
  auto v = decodeModelVersion(old_record);
  ASSERT_TRUE(v.ok()) << v.status().toString();
  EXPECT_EQ(v->version, 4);
  EXPECT_EQ(v->dataset_fingerprint, "9a0b");
  EXPECT_EQ(v->dataset_name, "");
  EXPECT_EQ(v->dataset_version, 0);
  EXPECT_EQ(v->code_version, "");
  EXPECT_EQ(v->created_by, "");
  EXPECT_EQ(v->tags.at("owner"), "alice");
  EXPECT_EQ(encodeModelVersion(*v), old_record) << "re-encoding adds no empty fields";

  // Stored under its key, the old record lists, resolves and takes tags like a new one.
  ASSERT_TRUE(storage_->put("registry/models/iris/versions/0000000004", old_record).ok());
  EXPECT_EQ(registry_->resolve("iris").value().version, 4);
  auto tagged = registry_->setTags("iris", 4, {{"stage", "prod"}}, {});
  ASSERT_TRUE(tagged.ok()) << tagged.status().toString();
  EXPECT_EQ(registry_->getVersion("iris", 4).value().tags.at("stage"), "prod");
  EXPECT_EQ(decodeModelVersion("aimass-model-version 1\nmodel iris\nversion 1\n"
                               "dataset_version x\n")
                .status()
                .code(),
            StatusCode::kDataLoss);
}

TEST_F(RegistryTest, TagsAreSetAndRemovedAtomically) {
  registerBytes("iris", "w1");
  auto tagged = registry_->setTags("iris", 1, {{"stage", "review"}, {"owner", "bob"}}, {"note"});
  ASSERT_TRUE(tagged.ok()) << tagged.status().toString();
  EXPECT_EQ(tagged->tags,
            (std::map<std::string, std::string>{{"owner", "bob"}, {"stage", "review"}}));
  EXPECT_EQ(registry_->getVersion("iris", 1).value().tags, tagged->tags);

  auto missing = registry_->setTags("iris", 1, {{"a", "b"}}, {"nope"});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("'nope'"), std::string::npos);
  EXPECT_FALSE(registry_->getVersion("iris", 1).value().tags.count("a"))
      << "a failed change changes nothing";
  EXPECT_EQ(registry_->setTags("iris", 1, {{"", "x"}}, {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->setTags("iris", 1, {{"k", "x"}}, {"k"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->setTags("iris", 7, {{"k", "x"}}, {}).status().code(), StatusCode::kNotFound);

  // Threads tagging the same version each add their own key: compare-and-set loses none.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(
            registry_
                ->setTags("iris", 1, {{"t" + std::to_string(t) + "-" + std::to_string(i), "x"}}, {})
                .ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(registry_->getVersion("iris", 1).value().tags.size(), 2u + 20u);
}

TEST_F(RegistryTest, GarbageCollectionRemovesOnlyUnreferencedOldArtifacts) {
  // What job.train leaves: artifacts/<unix-ns>.aimass, registered or (after a crash) not.
  const std::string kept = "models/iris/artifacts/1600000000000000000.aimass";
  const std::string orphan = "models/iris/artifacts/1600000000000000001.aimass";
  const std::string orphan_other = "models/mnist/artifacts/1600000000000000002.aimass";
  const std::string unnamed = "models/iris/artifacts/handmade";
  const std::string fresh = "models/iris/artifacts/" +
                            std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count()) +
                            ".aimass";
  const std::string unregistered_save = "models/iris/model.aimass";
  const std::string elsewhere = "artifacts/iris/1";
  for (const auto& key :
       {kept, orphan, orphan_other, unnamed, fresh, unregistered_save, elsewhere}) {
    ASSERT_TRUE(storage_->put(key, "bytes of " + key).ok());
  }
  NewModelVersion info;
  info.artifact_key = kept;
  ASSERT_TRUE(registry_->registerVersion("iris", info).ok());

  auto dry = registry_->collectGarbage(true, 3600 * 1000);
  ASSERT_TRUE(dry.ok()) << dry.status().toString();
  EXPECT_EQ(dry->removed, (std::vector<std::string>{orphan, unnamed, orphan_other}));
  EXPECT_EQ(dry->too_recent, std::vector<std::string>{fresh});
  EXPECT_EQ(dry->referenced, 1u);
  EXPECT_TRUE(storage_->get(orphan).ok()) << "a dry run removes nothing";

  auto done = registry_->collectGarbage(false, 3600 * 1000);
  ASSERT_TRUE(done.ok()) << done.status().toString();
  EXPECT_EQ(done->removed, dry->removed);
  for (const auto& key : {orphan, orphan_other, unnamed}) {
    EXPECT_EQ(storage_->get(key).status().code(), StatusCode::kNotFound) << key;
  }
  for (const auto& key : {kept, fresh, unregistered_save, elsewhere}) {
    EXPECT_TRUE(storage_->get(key).ok()) << key << " must survive";
  }
  EXPECT_TRUE(registry_->verifyArtifact(registry_->getVersion("iris", 1).value()).ok());

  auto immediate = registry_->collectGarbage(false, 0);
  ASSERT_TRUE(immediate.ok());
  EXPECT_EQ(immediate->removed, std::vector<std::string>{fresh}) << "min age 0 keeps nothing";
  EXPECT_EQ(registry_->collectGarbage(false, 0).value().removed.size(), 0u);
}

// job.train's training-data profile is saved beside the artifact and named by the record:
// records without it (older ones) decode as before, garbage collection keeps it while a
// version names it, and deleting the version removes it.
TEST_F(RegistryTest, TheProfileKeyIsRecordedKeptAndDeletedWithItsVersion) {
  const std::string artifact = "models/iris/artifacts/1600000000000000000.aimass";
  const std::string profile = artifact + ".profile";
  const std::string stray = "models/iris/artifacts/1600000000000000001.aimass.profile";
  for (const auto& key : {artifact, profile, stray}) {
    ASSERT_TRUE(storage_->put(key, "bytes of " + key).ok());
  }
  NewModelVersion info;
  info.artifact_key = artifact;
  info.profile_key = profile;
  auto v = registry_->registerVersion("iris", info);
  ASSERT_TRUE(v.ok()) << v.status().toString();
  EXPECT_EQ(registry_->getVersion("iris", 1).value().profile_key, profile);
  EXPECT_NE(encodeModelVersion(*v).find("\nprofile " + profile + "\n"), std::string::npos);
  ModelVersion older = *v;
  older.profile_key.clear();
  EXPECT_EQ(encodeModelVersion(older).find("profile"), std::string::npos);
  EXPECT_TRUE(decodeModelVersion(encodeModelVersion(older)).value().profile_key.empty());

  auto collected = registry_->collectGarbage(false, 0);
  ASSERT_TRUE(collected.ok()) << collected.status().toString();
  EXPECT_EQ(collected->removed, std::vector<std::string>{stray});
  EXPECT_TRUE(storage_->get(profile).ok()) << "named by version 1";

  ASSERT_TRUE(registry_->deleteVersion("iris", 1, false).ok());
  EXPECT_EQ(storage_->get(profile).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(storage_->get(artifact).status().code(), StatusCode::kNotFound);
}

TEST_F(RegistryTest, ProcessesRegisteringAtOnceGetDistinctVersions) {
  constexpr int kChildren = 3;
  constexpr int kEach = 10;
  ASSERT_TRUE(storage_->put("artifacts/shared", "w").ok());
  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto own = FsStorage::create(dir_.path(), false);
      if (!own.ok()) ::_exit(2);
      ModelRegistry registry(**own);
      NewModelVersion info;
      info.artifact_key = "artifacts/shared";
      for (int i = 0; i < kEach; ++i) {
        if (!registry.registerVersion("iris", info).ok()) ::_exit(1);
      }
      ::_exit(0);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto versions = registry_->listVersions("iris");
  ASSERT_TRUE(versions.ok()) << versions.status().toString();
  std::set<std::int64_t> numbers;
  for (const auto& v : *versions) numbers.insert(v.version);
  EXPECT_EQ(numbers.size(), static_cast<std::size_t>(kChildren * kEach));
  EXPECT_EQ(*numbers.begin(), 1);
  EXPECT_EQ(*numbers.rbegin(), kChildren * kEach);
}

}  // namespace
}  // namespace aimass::core
