// SPDX-License-Identifier: Apache-2.0
// collective.nccl: its parameters (no GPU needed), its error without a GPU, and a job of one
// rank on the first GPU. Several ranks need a GPU each; the operations on many ranks are the
// same calls as collective.mpi's (collective_mpi_ranks.cc), which runs under mpirun on CPUs.
#include <cuda_runtime_api.h>
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

bool haveCudaDevice() {
  int devices = 0;
  return cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0;
}

class CollectiveNcclTest : public ::testing::Test {
 protected:
  CollectiveNcclTest() {
    loaded_ =
        loader_.load(std::filesystem::path(AIMASS_PLUGIN_DIR) / "libaimass_collective_nccl.so");
  }
  std::unique_ptr<Graph> graph(const std::string& yaml, std::string& errors) {
    Diagnostics diagnostics;
    auto document = loadConfigFromString(yaml, "nccl.yaml", temp_.path(), diagnostics);
    auto validated = document ? Graph::validate(*document, registry_, diagnostics) : nullptr;
    errors = formatDiagnostics(diagnostics);
    return validated;
  }
  /// A node meeting through a folder of the test's: rank 0 of 1 when no launcher started the
  /// test.
  std::string oneRank() const {
    return "nodes:\n  comm: {type: collective.nccl, rendezvous: file, rendezvous_dir: " +
           (temp_.path() / "meet").string() + ", timeout_seconds: 60}\n";
  }

  Status loaded_;
  TypeRegistry registry_;
  PluginLoader loader_{registry_};
  aimass::testing::TempDir temp_;
  HostServices host_{temp_.path(), 1};
};

TEST_F(CollectiveNcclTest, TheHostLoadsThePluginAndChecksItsParameters) {
  ASSERT_TRUE(loaded_.ok()) << loaded_.toString();
  std::string errors;
  auto defaults = graph("nodes:\n  comm: {type: collective.nccl}\n", errors);
  ASSERT_TRUE(defaults) << errors;
  for (const std::string bad :
       {"rendezvous: tcp", "timeout_seconds: 0", "device: -2", "rank: 1", "bucket_bytes: 4"}) {
    EXPECT_FALSE(graph("nodes:\n  comm: {type: collective.nccl, " + bad + "}\n", errors)) << bad;
    EXPECT_THAT(errors, HasSubstr(bad.substr(0, bad.find(':')))) << bad;
  }
}

TEST_F(CollectiveNcclTest, WithoutAGpuTheNodeSaysSo) {
  if (haveCudaDevice()) {
    GTEST_SKIP() << "a CUDA device is present; OneRankOnTheFirstGpu runs instead";
  }
  std::string errors;
  auto validated = graph(oneRank(), errors);
  ASSERT_TRUE(validated) << errors;
  Status status = validated->instantiate(host_);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("collective.nccl needs a CUDA device"));
}

TEST_F(CollectiveNcclTest, AloneItNeedsNoRendezvousFolder) {
  if (!haveCudaDevice()) {
    GTEST_SKIP() << "no CUDA device to run NCCL on";
  }
  std::string errors;
  auto validated = graph("nodes:\n  comm: {type: collective.nccl, rendezvous: file}\n", errors);
  ASSERT_TRUE(validated) << errors;
  Status made = validated->instantiate(host_);
  ASSERT_TRUE(made.ok()) << made.toString();
  auto& comm = static_cast<Collective&>(*validated->node("comm"));
  EXPECT_EQ(comm.size(), 1);
  std::vector<double> d = {2.0};
  ASSERT_TRUE(comm.allreduce(std::span(d), ReduceOp::kMean).ok());
  EXPECT_EQ(d[0], 2.0);
  validated.reset();
}

TEST_F(CollectiveNcclTest, OneRankOnTheFirstGpu) {
  if (!haveCudaDevice()) {
    GTEST_SKIP() << "no CUDA device to run NCCL on";
  }
  std::string errors;
  auto validated = graph(oneRank(), errors);
  ASSERT_TRUE(validated) << errors;
  Status made = validated->instantiate(host_);
  ASSERT_TRUE(made.ok()) << made.toString();
  auto& comm = static_cast<Collective&>(*validated->node("comm"));
  EXPECT_EQ(comm.rank(), 0);
  EXPECT_EQ(comm.size(), 1);
  EXPECT_FALSE(std::filesystem::exists(temp_.path() / "meet" / "nccl-unique-id-job"))
      << "rank 0 removes the id once every rank joined";
  std::vector<float> f(1000, 2.5f);
  ASSERT_TRUE(comm.allreduce(std::span(f), ReduceOp::kSum).ok());
  ASSERT_TRUE(comm.allreduce(std::span(f), ReduceOp::kMean).ok());
  ASSERT_TRUE(comm.allreduce(std::span(f), ReduceOp::kMax).ok());
  EXPECT_EQ(f, std::vector<float>(1000, 2.5f));
  std::vector<double> d = {1e-300, -4.0};
  ASSERT_TRUE(comm.allreduce(std::span(d), ReduceOp::kMin).ok());
  EXPECT_EQ(d, (std::vector<double>{1e-300, -4.0}));
  std::vector<std::uint16_t> b = {0x3fc0, 0x4381};
  ASSERT_TRUE(comm.allreduceBf16(std::span(b), ReduceOp::kSum).ok());
  EXPECT_EQ(b, (std::vector<std::uint16_t>{0x3fc0, 0x4381}));
  std::vector<std::byte> bytes = {std::byte{1}, std::byte{2}, std::byte{3}};
  ASSERT_TRUE(comm.broadcast(std::span(bytes), 0).ok());
  EXPECT_EQ(comm.broadcast(std::span(bytes), 1).code(), StatusCode::kInvalidArgument);
  std::vector<std::byte> all(3);
  ASSERT_TRUE(comm.allgather(std::span<const std::byte>(bytes), std::span(all)).ok());
  EXPECT_EQ(all, bytes);
  EXPECT_TRUE(comm.barrier().ok());
  validated.reset();
}

}  // namespace
}  // namespace aimass::core
