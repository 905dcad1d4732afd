// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/dataset_registry.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "aimass/core/sha256.h"
#include "fs.h"
#include "temp_dir.h"

namespace aimass::core {
namespace {

using aimass::testing::TempDir;
using plugins::storage::FsStorage;

/// Rows of two FP32 features and a class label, held in memory.
class TableDataset final : public Dataset {
 public:
  TableDataset(std::vector<float> features, std::vector<std::int64_t> labels)
      : features_(std::move(features)), labels_(std::move(labels)) {
    schema_.row_shape = {2};
    schema_.label_kind = LabelKind::kClass;
    schema_.class_names = {"a", "b"};
    schema_.num_targets = 1;
  }
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return labels_.size(); }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    const auto n = static_cast<std::int64_t>(rows.size());
    out.features = Tensor(DType::kFloat32, {n, 2});
    out.labels = Tensor(DType::kInt64, {n});
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (rows[i] >= size()) {
        return outOfRange("row " + std::to_string(rows[i]));
      }
      out.features.data<float>()[2 * i] = features_[2 * rows[i]];
      out.features.data<float>()[2 * i + 1] = features_[2 * rows[i] + 1];
      out.labels.data<std::int64_t>()[i] = labels_[rows[i]];
    }
    return Status();
  }

 private:
  DatasetSchema schema_;
  std::vector<float> features_;
  std::vector<std::int64_t> labels_;
};

/// A dataset whose reads fail, as a vanished file would.
class BrokenDataset final : public Dataset {
 public:
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return 3; }
  Status read(std::span<const std::uint64_t>, Batch&) const override {
    return unavailable("data.csv vanished");
  }

 private:
  DatasetSchema schema_;
};

class DatasetRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto storage = FsStorage::create(dir_.path(), false);
    ASSERT_TRUE(storage.ok()) << storage.status().toString();
    storage_ = std::move(storage).value();
  }
  NewDatasetVersion info(const std::string& content) const {
    NewDatasetVersion v;
    v.type = "dataset.csv";
    v.source = "dataset.csv node 'pumps'";
    v.sha256 = Sha256::of(content);
    v.rows = content.size();
    v.fingerprint = "9a0b";
    return v;
  }

  TempDir dir_;
  std::unique_ptr<FsStorage> storage_;
};

TEST(DatasetContentHash, ChangesWithAnyValueLabelOrRow) {
  TableDataset data({1, 2, 3, 4, 5, 6}, {0, 1, 0});
  TableDataset same({1, 2, 3, 4, 5, 6}, {0, 1, 0});
  TableDataset other_value({1, 2, 3, 4.5f, 5, 6}, {0, 1, 0});
  TableDataset other_label({1, 2, 3, 4, 5, 6}, {0, 1, 1});
  TableDataset fewer_rows({1, 2, 3, 4}, {0, 1});
  auto hash = hashDatasetContent(data);
  ASSERT_TRUE(hash.ok()) << hash.status().toString();
  EXPECT_EQ(hash->size(), 64u);
  EXPECT_EQ(hashDatasetContent(same).value(), *hash);
  EXPECT_NE(hashDatasetContent(other_value).value(), *hash);
  EXPECT_NE(hashDatasetContent(other_label).value(), *hash);
  EXPECT_NE(hashDatasetContent(fewer_rows).value(), *hash);

  auto broken = hashDatasetContent(BrokenDataset());
  EXPECT_EQ(broken.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(broken.status().message().find("data.csv vanished"), std::string::npos);
  EXPECT_EQ(hashDatasetContent(data, 0).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(DatasetRegistryTest, SameContentKeepsItsVersionNewContentGetsTheNext) {
  DatasetRegistry registry(*storage_);
  auto first = registry.registerVersion("pumps", info("rows v1"));
  ASSERT_TRUE(first.ok()) << first.status().toString();
  EXPECT_EQ(first->version, 1);
  EXPECT_EQ(first->sha256, Sha256::of("rows v1"));
  EXPECT_GT(first->created_unix_ms, 1600000000000);
  EXPECT_FALSE(first->created_by.empty());

  auto again = registry.registerVersion("pumps", info("rows v1"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->version, 1) << "the same content resolves to its existing version";
  EXPECT_EQ(again->created_unix_ms, first->created_unix_ms);

  auto second = registry.registerVersion("pumps", info("rows v2"));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->version, 2);
  EXPECT_EQ(registry.registerVersion("pumps", info("rows v1")).value().version, 1)
      << "older content keeps its version after newer content arrived";
  ASSERT_TRUE(registry.registerVersion("iris", info("rows v1")).ok());

  EXPECT_EQ(registry.listDatasets().value(), (std::vector<std::string>{"iris", "pumps"}));
  auto versions = registry.listVersions("pumps");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[1].sha256, Sha256::of("rows v2"));
  auto back = registry.resolve("pumps/1");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->type, "dataset.csv");
  EXPECT_EQ(back->source, "dataset.csv node 'pumps'");
  EXPECT_EQ(back->rows, std::string("rows v1").size());
  EXPECT_EQ(back->fingerprint, "9a0b");
  EXPECT_EQ(registry.resolve("pumps").value().version, 2) << "a bare name is the latest";
  EXPECT_EQ(registry.resolve("pumps/3").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry.resolve("pumps/x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.resolve("nope").status().code(), StatusCode::kNotFound);
}

TEST_F(DatasetRegistryTest, BadNamesHashesAndRecordsAreClearErrors) {
  DatasetRegistry registry(*storage_);
  EXPECT_EQ(registry.registerVersion("a b", info("x")).status().code(),
            StatusCode::kInvalidArgument);
  NewDatasetVersion no_hash = info("x");
  no_hash.sha256 = "abc";
  auto refused = registry.registerVersion("pumps", no_hash);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("'abc' is not a SHA-256"), std::string::npos);
  EXPECT_EQ(registry.listDatasets().value(), std::vector<std::string>{});

  DatasetVersion v;
  v.name = "pumps";
  v.version = 2;
  v.sha256 = Sha256::of("x");
  v.source = "a file with spaces\nand a newline";
  auto round = decodeDatasetVersion(encodeDatasetVersion(v));
  ASSERT_TRUE(round.ok()) << round.status().toString();
  EXPECT_EQ(round->source, v.source);
  EXPECT_EQ(encodeDatasetVersion(*round), encodeDatasetVersion(v));
  EXPECT_EQ(decodeDatasetVersion("garbage").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(decodeDatasetVersion("aimass-dataset-version 1\nname p\nversion 1\n").status().code(),
            StatusCode::kDataLoss)
      << "no hash";
  ASSERT_TRUE(storage_->put("registry/datasets/pumps/versions/0000000001", "junk").ok());
  auto corrupt = registry.getVersion("pumps", 1);
  EXPECT_EQ(corrupt.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(corrupt.status().message().find("registry/datasets/pumps/versions/0000000001"),
            std::string::npos);
}

TEST_F(DatasetRegistryTest, ProcessesRegisteringTheSameContentAtOnceShareOneVersion) {
  constexpr int kChildren = 4;
  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto own = FsStorage::create(dir_.path(), false);
      if (!own.ok()) ::_exit(2);
      DatasetRegistry registry(**own);
      for (int round = 0; round < 5; ++round) {
        // Every child registers the same five contents, in the same order.
        if (!registry.registerVersion("pumps", info("content " + std::to_string(round))).ok()) {
          ::_exit(1);
        }
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
  DatasetRegistry registry(*storage_);
  auto versions = registry.listVersions("pumps");
  ASSERT_TRUE(versions.ok()) << versions.status().toString();
  std::set<std::string> hashes;
  for (const auto& v : *versions) hashes.insert(v.sha256);
  EXPECT_EQ(versions->size(), 5u) << "one version per distinct content, duplicates removed";
  EXPECT_EQ(hashes.size(), 5u);
  for (int round = 0; round < 5; ++round) {
    auto found = registry.registerVersion("pumps", info("content " + std::to_string(round)));
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->sha256, Sha256::of("content " + std::to_string(round)));
  }
  EXPECT_EQ(registry.listVersions("pumps").value().size(), 5u);
}

}  // namespace
}  // namespace aimass::core
