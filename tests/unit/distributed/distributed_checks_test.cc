// SPDX-License-Identifier: Apache-2.0
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "aimass/core/graph.h"
#include "aimass/core/host_services.h"
#include "aimass/core/runtime.h"
#include "aimass/core/type_registry.h"
#include "config_fingerprint.h"
#include "launcher_env.h"
#include "scoped_env.h"
#include "temp_dir.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

EnvLookup fakeEnv(std::map<std::string, std::string> values) {
  auto held = std::make_shared<std::map<std::string, std::string>>(std::move(values));
  return [held](const char* name) -> const char* {
    auto it = held->find(name);
    return it == held->end() ? nullptr : it->second.c_str();
  };
}

TEST(LauncherWorld, ReadsOpenMpiPmiAndPmix) {
  EXPECT_FALSE(launcherWorld(fakeEnv({})));
  EXPECT_FALSE(launcherWorld(fakeEnv({{"OMPI_COMM_WORLD_SIZE", "1"}}))) << "one rank";
  EXPECT_FALSE(launcherWorld(fakeEnv({{"OMPI_COMM_WORLD_SIZE", "two"}})));
  auto ompi = launcherWorld(fakeEnv({{"OMPI_COMM_WORLD_SIZE", "4"}}));
  ASSERT_TRUE(ompi);
  EXPECT_EQ(ompi->size, 4);
  EXPECT_EQ(ompi->evidence, "OMPI_COMM_WORLD_SIZE=4");
  auto pmi = launcherWorld(fakeEnv({{"PMI_SIZE", "3"}}));
  ASSERT_TRUE(pmi);
  EXPECT_EQ(pmi->size, 3);
  EXPECT_FALSE(launcherWorld(fakeEnv({{"PMIX_RANK", "0"}}))) << "rank 0 alone tells no size";
  auto pmix = launcherWorld(fakeEnv({{"PMIX_RANK", "2"}}));
  ASSERT_TRUE(pmix);
  EXPECT_EQ(pmix->evidence, "PMIX_RANK=2");
}

TEST(LauncherWorld, RefusesSeveralRanksWithoutADistributedCollective) {
  const LauncherWorld two{"OMPI_COMM_WORLD_SIZE=2", 2};
  EXPECT_TRUE(checkLauncherWorld(std::nullopt, {}, false).ok()) << "not under a launcher";
  EXPECT_TRUE(checkLauncherWorld(two, {"collective.mpi"}, true).ok());
  EXPECT_TRUE(checkLauncherWorld(two, {"collective.local", "collective.nccl"}, true).ok());
  Status local_only = checkLauncherWorld(two, {"collective.local"}, true);
  EXPECT_EQ(local_only.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(local_only.message(),
              HasSubstr("started by an MPI launcher as one of 2 ranks (OMPI_COMM_WORLD_SIZE=2)"));
  EXPECT_THAT(local_only.message(), HasSubstr("Add a node of type collective.mpi"));
  Status unbuilt = checkLauncherWorld(two, {}, false);
  EXPECT_THAT(unbuilt.message(), HasSubstr("no collective.mpi plugin"));
  EXPECT_THAT(unbuilt.message(), HasSubstr("built without MPI"));
}

/// A node type with a few parameters, for graphs to fingerprint.
NodeType fakeType() {
  NodeType type;
  type.type = "storage.fake";
  type.kind = NodeKind::kStorage;
  type.summary = "a fake";
  type.params.push_back(ParamSpec::string("name", "a string").withDefault("x"));
  type.params.push_back(ParamSpec::number("rate", "a number").withDefault(0.1));
  type.params.push_back(ParamSpec::list("sizes", ParamType::kIntList, "ints").optional());
  type.factory = [](const NodeConfig&) -> Expected<std::unique_ptr<Node>> {
    return failedPrecondition("never created in these tests");
  };
  return type;
}

class DistributedChecksTest : public ::testing::Test {
 protected:
  DistributedChecksTest() {
    registerBuiltinTypes(registry_);
    EXPECT_TRUE(registry_.add(fakeType(), std::make_shared<PluginInfo>(), nullptr).ok());
  }
  std::unique_ptr<Graph> graph(const std::string& yaml) {
    Diagnostics diagnostics;
    auto document = loadConfigFromString(yaml, "main.yaml", temp_.path(), diagnostics);
    auto validated = document ? Graph::validate(*document, registry_, diagnostics) : nullptr;
    EXPECT_TRUE(validated) << formatDiagnostics(diagnostics);
    return validated;
  }
  TypeRegistry registry_;
  aimass::testing::TempDir temp_;
};

TEST_F(DistributedChecksTest, FingerprintHoldsTypesAndResolvedValues) {
  auto validated = graph(
      "nodes:\n"
      "  comm: {type: collective.local}\n"
      "  store: {type: storage.fake, rate: 0.25, sizes: [1, 2]}\n");
  ASSERT_TRUE(validated);
  const auto nodes = configurationFingerprint(*validated);
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].name, "comm");
  EXPECT_EQ(nodes[0].type, "collective.local");
  EXPECT_EQ(nodes[1].name, "store");
  EXPECT_EQ(nodes[1].params, (std::vector<std::string>{"name=x", "rate=0.25", "sizes=[1, 2]"}))
      << "defaults are filled in";
}

TEST(ConfigFingerprint, EncodesAnyBytes) {
  std::vector<NodeFingerprint> nodes = {
      {"a", "storage.fake", {"name=x:y", std::string("z\0\n", 3)}}, {"b", "collective.local", {}}};
  std::vector<NodeFingerprint> back;
  ASSERT_TRUE(decodeFingerprint(encodeFingerprint(nodes), back));
  EXPECT_EQ(back, nodes);
  EXPECT_FALSE(decodeFingerprint("5:ab", back));
  EXPECT_FALSE(decodeFingerprint("1:a1:b9:", back));
  EXPECT_TRUE(decodeFingerprint("", back));
  EXPECT_TRUE(back.empty());
}

TEST(ConfigFingerprint, NamesTheFirstDifferingNodeAndTheRanks) {
  const std::vector<NodeFingerprint> zero = {{"comm", "collective.mpi", {"timeout_seconds=60"}},
                                             {"store", "storage.fs", {"path=/s/0"}}};
  auto other = zero;
  other[1].params[0] = "path=/s/2";
  EXPECT_TRUE(compareFingerprints({zero, zero, zero}).ok());
  Status status = compareFingerprints({zero, zero, other});
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(),
              HasSubstr("node 'store' (storage.fs) has 'path=/s/0' on rank 0 but 'path=/s/2' on "
                        "rank 2 (rank 2 of 3 differs from rank 0)"));

  auto retyped = zero;
  retyped[1].type = "storage.sqlite";
  EXPECT_THAT(compareFingerprints({zero, retyped, other}).message(),
              HasSubstr("node 'store' is of type storage.fs on rank 0 but storage.sqlite on rank 1 "
                        "(ranks 1, 2 of 3 differ"));
  auto missing = zero;
  missing.pop_back();
  EXPECT_THAT(compareFingerprints({zero, missing}).message(),
              HasSubstr("node 'store' (storage.fs) is on rank 0 but not on rank 1"));
  EXPECT_THAT(compareFingerprints({missing, zero}).message(),
              HasSubstr("node 'store' (storage.fs) is on rank 1 but not on rank 0"));
}

/// Rank 0 of a job whose other ranks send `others` (their encoded fingerprints).
class FakeCollective final : public Collective {
 public:
  explicit FakeCollective(std::vector<std::string> others) : others_(std::move(others)) {}
  int rank() const override { return 0; }
  int size() const override { return static_cast<int>(others_.size()) + 1; }
  int localRank() const override { return 0; }
  Status allreduce(std::span<float>, ReduceOp) override { return unimplemented("fake"); }
  Status allreduce(std::span<double>, ReduceOp) override { return unimplemented("fake"); }
  Status allreduceBf16(std::span<std::uint16_t>, ReduceOp) override {
    return unimplemented("fake");
  }
  Status broadcast(std::span<std::byte>, int) override { return unimplemented("fake"); }
  Status barrier() override { return unimplemented("fake"); }
  Status allgather(std::span<const std::byte> mine, std::span<std::byte> all) override {
    ++calls;
    if (all.size() != mine.size() * static_cast<std::size_t>(size())) {
      return invalidArgument("wrong size");
    }
    std::memcpy(all.data(), mine.data(), mine.size());
    for (std::size_t r = 0; r < others_.size(); ++r) {
      std::byte* at = all.data() + (r + 1) * mine.size();
      if (calls == 1) {  // the lengths
        const std::uint64_t length = others_[r].size();
        std::memcpy(at, &length, sizeof length);
      } else {
        std::memset(at, 0, mine.size());
        std::memcpy(at, others_[r].data(), std::min(others_[r].size(), mine.size()));
      }
    }
    return Status();
  }
  int calls = 0;

 private:
  std::vector<std::string> others_;
};

TEST(ConfigFingerprint, RanksExchangeTheirFingerprints) {
  const std::vector<NodeFingerprint> mine = {{"store", "storage.fs", {"path=/s"}}};
  auto longer = mine;
  longer[0].params[0] = "path=/a/much/longer/path";
  FakeCollective agreeing({encodeFingerprint(mine), encodeFingerprint(mine)});
  EXPECT_TRUE(agreeOnConfiguration(mine, agreeing).ok());
  EXPECT_EQ(agreeing.calls, 2);
  FakeCollective differing({encodeFingerprint(mine), encodeFingerprint(longer)});
  EXPECT_THAT(agreeOnConfiguration(mine, differing).message(),
              HasSubstr("'path=/s' on rank 0 but 'path=/a/much/longer/path' on rank 2"));
  FakeCollective garbled({"7:x"});
  EXPECT_EQ(agreeOnConfiguration(mine, garbled).code(), StatusCode::kDataLoss);
}

// The check sits where the runtime runs a graph: before any node is created.
TEST_F(DistributedChecksTest, TheRuntimeRefusesToRunCopiesUnderALauncher) {
  auto validated = graph("nodes:\n  comm: {type: collective.local}\n");
  ASSERT_TRUE(validated);
  HostServices host(temp_.path(), 1);
  {
    aimass::testing::ScopedEnv world("OMPI_COMM_WORLD_SIZE", "2");
    Status status = Runtime(*validated, host).run();
    EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(status.message(), HasSubstr("one of 2 ranks"));
    EXPECT_EQ(validated->node("comm"), nullptr) << "no node was created";
  }
  aimass::testing::ScopedEnv alone("OMPI_COMM_WORLD_SIZE", nullptr);
  EXPECT_TRUE(Runtime(*validated, host).run().ok());
  EXPECT_NE(validated->node("comm"), nullptr);
  validated.reset();
}

}  // namespace
}  // namespace aimass::core
