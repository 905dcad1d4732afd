// SPDX-License-Identifier: Apache-2.0
// collective.mpi in one process: its parameters as the host checks them, and a job of one
// rank (an MPI singleton, no mpirun). The multi-rank behaviour is tested under mpirun
// (collective_mpi_ranks.cc, mpirun_check.sh).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "aimass/collective.h"
#include "aimass/core/graph.h"
#include "aimass/core/host_services.h"
#include "aimass/core/plugin_loader.h"
#include "aimass/core/type_registry.h"
#include "temp_dir.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;

class CollectiveMpiTest : public ::testing::Test {
 protected:
  CollectiveMpiTest() {
    loaded_ =
        loader_.load(std::filesystem::path(AIMASS_PLUGIN_DIR) / "libaimass_collective_mpi.so");
  }

  /// The graph of `yaml`, or null with the diagnostics in `errors`.
  std::unique_ptr<Graph> graph(const std::string& yaml, std::string& errors) {
    Diagnostics diagnostics;
    auto document = loadConfigFromString(yaml, "mpi.yaml", temp_.path(), diagnostics);
    auto validated = document ? Graph::validate(*document, registry_, diagnostics) : nullptr;
    errors = formatDiagnostics(diagnostics);
    return validated;
  }

  Status loaded_;
  TypeRegistry registry_;
  PluginLoader loader_{registry_};
  aimass::testing::TempDir temp_;
  HostServices host_{temp_.path(), 1};
};

TEST_F(CollectiveMpiTest, TheHostLoadsThePlugin) {
  ASSERT_TRUE(loaded_.ok()) << loaded_.toString();
  const RegisteredType* type = registry_.find("collective.mpi");
  ASSERT_NE(type, nullptr);
  EXPECT_EQ(type->type.kind, NodeKind::kCollective);
}

TEST_F(CollectiveMpiTest, TimeoutDefaultsToFiveMinutes) {
  std::string errors;
  auto validated = graph("nodes:\n  comm: {type: collective.mpi}\n", errors);
  ASSERT_TRUE(validated) << errors;
  const auto& values = validated->nodes().front().values;
  ASSERT_EQ(values.size(), 1u);
  EXPECT_EQ(values[0].first, "timeout_seconds");
  EXPECT_EQ(std::get<double>(values[0].second), 300.0);
}

TEST_F(CollectiveMpiTest, RefusesTimeoutsThatAreNotPositiveNumbers) {
  for (const std::string bad : {"0", "-1", "soon", "1e9"}) {
    std::string errors;
    auto validated =
        graph("nodes:\n  comm: {type: collective.mpi, timeout_seconds: " + bad + "}\n", errors);
    EXPECT_FALSE(validated) << bad;
    EXPECT_THAT(errors, HasSubstr("timeout_seconds")) << bad;
    EXPECT_THAT(errors, HasSubstr("mpi.yaml:2")) << bad;
  }
}

TEST_F(CollectiveMpiTest, RefusesUnknownParameters) {
  std::string errors;
  EXPECT_FALSE(graph("nodes:\n  comm: {type: collective.mpi, bucket_bytes: 4}\n", errors));
  EXPECT_THAT(errors, HasSubstr("bucket_bytes"));
}

// Without mpirun, MPI starts a singleton: one rank, on which every operation leaves the data
// as it is, as collective.local does.
TEST_F(CollectiveMpiTest, AloneItIsRankZeroOfOne) {
  std::string errors;
  auto validated = graph("nodes:\n  comm: {type: collective.mpi, timeout_seconds: 30}\n", errors);
  ASSERT_TRUE(validated) << errors;
  ASSERT_TRUE(validated->instantiate(host_).ok());
  auto& comm = static_cast<Collective&>(*validated->node("comm"));
  EXPECT_EQ(comm.rank(), 0);
  EXPECT_EQ(comm.size(), 1);
  EXPECT_EQ(comm.localRank(), 0);
  std::vector<float> f = {1.5f, -2.0f};
  ASSERT_TRUE(comm.allreduce(std::span(f), ReduceOp::kMean).ok());
  EXPECT_EQ(f, (std::vector<float>{1.5f, -2.0f}));
  std::vector<double> d = {3.25};
  ASSERT_TRUE(comm.allreduce(std::span(d), ReduceOp::kSum).ok());
  EXPECT_EQ(d[0], 3.25);
  std::vector<std::uint16_t> b = {0x3fc0};  // 1.5
  ASSERT_TRUE(comm.allreduceBf16(std::span(b), ReduceOp::kMean).ok());
  EXPECT_EQ(b[0], 0x3fc0);
  std::vector<std::byte> bytes(3, std::byte{7});
  EXPECT_TRUE(comm.broadcast(std::span(bytes), 0).ok());
  Status bad_root = comm.broadcast(std::span(bytes), 1);
  EXPECT_EQ(bad_root.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_root.message(), HasSubstr("broadcast root 1 does not exist"));
  std::vector<std::byte> all(3);
  ASSERT_TRUE(comm.allgather(std::span<const std::byte>(bytes), std::span(all)).ok());
  EXPECT_EQ(all, bytes);
  std::vector<std::byte> too_big(4);
  EXPECT_EQ(comm.allgather(std::span<const std::byte>(bytes), std::span(too_big)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(comm.barrier().ok()) << "refused calls do not break the collective";
  validated.reset();
}

}  // namespace
}  // namespace aimass::core
