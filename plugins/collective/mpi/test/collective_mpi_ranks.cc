// SPDX-License-Identifier: Apache-2.0
// One rank of the multi-process tests of collective.mpi, started by mpirun (mpirun_check.sh):
// it loads the plugin the way aimass does (PluginLoader over the build's plugin folder),
// creates a collective.mpi node from a configuration and checks what every rank must see.
//
//   collective_mpi_ranks ops    all-reduce (fp32, fp64, bf16; sum, mean, max, min), broadcast
//                               from the last rank, all-gather, barrier, rank/size/localRank
//   collective_mpi_ranks stuck  rank 1 stops calling; rank 0 must get kUnavailable naming the
//                               operation after timeout_seconds, and then fail at once
//   collective_mpi_ranks dead   rank 1 kills itself (SIGKILL) after a few operations; mpirun
//                               must end the job naming it (mpirun_check.sh checks)
// Prints "rank R of N: ... passed" and exits 0, or prints each failed check and exits 1.

#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "aimass/collective.h"
#include "aimass/core/graph.h"
#include "aimass/core/host_services.h"
#include "aimass/core/plugin_loader.h"
#include "aimass/core/type_registry.h"
#include "bf16_buffer.h"

namespace {

using aimass::Collective;
using aimass::ReduceOp;
using aimass::Status;
namespace core = aimass::core;
namespace fs = std::filesystem;

int g_failures = 0;
int g_rank = -1;

void check(bool ok, const std::string& what) {
  if (!ok) {
    std::cout << "rank " << g_rank << ": FAIL: " << what << std::endl;
    ++g_failures;
  }
}

void checkOk(const Status& status, const std::string& what) {
  check(status.ok(), what + ": " + status.toString());
}

int envInt(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? -1 : std::atoi(value);
}

void checkFp32(Collective& c) {
  const int n = c.size();
  const int r = c.rank();
  std::vector<float> sum(1001), mean(1001), max(1001), min(1001);
  for (int i = 0; i < 1001; ++i) {
    sum[i] = static_cast<float>(r + 1) + 0.5f * static_cast<float>(i);
    mean[i] = static_cast<float>(2 * r + i);
    max[i] = i % n == r ? 100.0f + static_cast<float>(i) : -static_cast<float>(i);
    min[i] = static_cast<float>(r - i);
  }
  checkOk(c.allreduce(std::span(sum), ReduceOp::kSum), "fp32 sum");
  checkOk(c.allreduce(std::span(mean), ReduceOp::kMean), "fp32 mean");
  checkOk(c.allreduce(std::span(max), ReduceOp::kMax), "fp32 max");
  checkOk(c.allreduce(std::span(min), ReduceOp::kMin), "fp32 min");
  for (int i = 0; i < 1001; ++i) {
    const float fi = static_cast<float>(i);
    check(sum[i] == static_cast<float>(n * (n + 1) / 2) + 0.5f * fi * static_cast<float>(n),
          "fp32 sum at " + std::to_string(i) + " is " + std::to_string(sum[i]));
    check(mean[i] == static_cast<float>(n - 1) + fi,
          "fp32 mean at " + std::to_string(i) + " is " + std::to_string(mean[i]));
    check(max[i] == 100.0f + fi,
          "fp32 max at " + std::to_string(i) + " is " + std::to_string(max[i]));
    check(min[i] == -fi, "fp32 min at " + std::to_string(i) + " is " + std::to_string(min[i]));
  }
}

void checkFp64(Collective& c) {
  const int n = c.size();
  const int r = c.rank();
  // Larger than one message of most transports.
  std::vector<double> sum(300001), mean(300001), max(3), min(3);
  for (std::size_t i = 0; i < sum.size(); ++i) {
    sum[i] = (r + 1) * 1e-3 * static_cast<double>(i % 7 + 1);
    mean[i] = r * 4.0;
  }
  for (int i = 0; i < 3; ++i) {
    max[i] = r == n - 1 ? 1e300 : -1e300;
    min[i] = r == 0 ? -1e-300 : 1.0;
  }
  checkOk(c.allreduce(std::span(sum), ReduceOp::kSum), "fp64 sum");
  checkOk(c.allreduce(std::span(mean), ReduceOp::kMean), "fp64 mean");
  checkOk(c.allreduce(std::span(max), ReduceOp::kMax), "fp64 max");
  checkOk(c.allreduce(std::span(min), ReduceOp::kMin), "fp64 min");
  int wrong = 0;
  for (std::size_t i = 0; i < sum.size(); ++i) {
    const double expected = n * (n + 1) / 2 * 1e-3 * static_cast<double>(i % 7 + 1);
    wrong += std::abs(sum[i] - expected) > 1e-12 || mean[i] != 2.0 * (n - 1);
  }
  check(wrong == 0, std::to_string(wrong) + " fp64 sums or means are wrong");
  check(max[2] == 1e300 && min[2] == -1e-300, "fp64 max/min");
}

void checkBf16(Collective& c) {
  using aimass::plugins::collective::roundToBf16;
  using aimass::plugins::collective::widenBf16;
  const int n = c.size();
  const int r = c.rank();
  // Element 0: 256 on rank 0 and 1 on the others. Summed in bf16 hop by hop every 256 + 1
  // rounds back to 256; accumulated in fp32 the sum is 254 + n, rounded once.
  std::vector<std::uint16_t> sum = {roundToBf16(r == 0 ? 256.0f : 1.0f), roundToBf16(0.5f),
                                    roundToBf16(-3.0f)};
  checkOk(c.allreduceBf16(std::span(sum), ReduceOp::kSum), "bf16 sum");
  check(sum[0] == roundToBf16(255.0f + static_cast<float>(n)),
        "bf16 sum of 256 and " + std::to_string(n - 1) + " ones is " +
            std::to_string(widenBf16(sum[0])));
  if (n == 3) {
    check(sum[0] == 0x4381, "bf16 sum over 3 ranks is 258 (0x4381)");
  }
  check(widenBf16(sum[1]) == 0.5f * static_cast<float>(n), "bf16 sum of halves");
  check(widenBf16(sum[2]) == -3.0f * static_cast<float>(n), "bf16 sum of -3");
  std::vector<std::uint16_t> mean = {roundToBf16(static_cast<float>(r)), roundToBf16(1.0f)};
  checkOk(c.allreduceBf16(std::span(mean), ReduceOp::kMean), "bf16 mean");
  check(mean[0] == roundToBf16(static_cast<float>(n - 1) / 2.0f), "bf16 mean of ranks");
  check(mean[1] == roundToBf16(1.0f), "bf16 mean of ones");
  std::vector<std::uint16_t> max = {roundToBf16(static_cast<float>(r) - 10.0f)};
  std::vector<std::uint16_t> min = {roundToBf16(static_cast<float>(r) + 0.25f)};
  checkOk(c.allreduceBf16(std::span(max), ReduceOp::kMax), "bf16 max");
  checkOk(c.allreduceBf16(std::span(min), ReduceOp::kMin), "bf16 min");
  check(widenBf16(max[0]) == static_cast<float>(n - 1) - 10.0f, "bf16 max");
  check(widenBf16(min[0]) == 0.25f, "bf16 min");
}

void checkMovement(Collective& c) {
  const int n = c.size();
  const int r = c.rank();
  const int root = n - 1;
  std::vector<std::byte> data(4099, static_cast<std::byte>(r));
  if (r == root) {
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7 + 3);
  }
  checkOk(c.broadcast(std::span(data), root), "broadcast from the last rank");
  bool same = true;
  for (std::size_t i = 0; i < data.size(); ++i)
    same &= data[i] == static_cast<std::byte>(i * 7 + 3);
  check(same, "broadcast delivered the root's bytes");
  Status bad_root = c.broadcast(std::span(data), n);
  check(bad_root.code() == aimass::StatusCode::kInvalidArgument,
        "broadcast to a rank past the end");

  // An odd size per rank.
  std::vector<std::byte> mine(5);
  for (std::size_t i = 0; i < mine.size(); ++i) mine[i] = static_cast<std::byte>(r * 10 + i);
  std::vector<std::byte> all(mine.size() * static_cast<std::size_t>(n));
  checkOk(c.allgather(std::span<const std::byte>(mine), std::span(all)), "allgather");
  for (int q = 0; q < n; ++q) {
    for (std::size_t i = 0; i < mine.size(); ++i) {
      check(
          all[static_cast<std::size_t>(q) * mine.size() + i] == static_cast<std::byte>(q * 10 + i),
          "allgather byte " + std::to_string(i) + " of rank " + std::to_string(q));
    }
  }
  std::vector<std::byte> short_all(all.size() - 1);
  check(c.allgather(std::span<const std::byte>(mine), std::span(short_all)).code() ==
            aimass::StatusCode::kInvalidArgument,
        "allgather into too small a buffer");
  checkOk(c.barrier(), "barrier after the refused calls");
  std::vector<float> empty;
  checkOk(c.allreduce(std::span(empty), ReduceOp::kSum), "empty all-reduce");
}

void runOps(Collective& c) {
  check(c.size() == envInt("OMPI_COMM_WORLD_SIZE"), "size() is mpirun's world size");
  check(c.rank() == envInt("OMPI_COMM_WORLD_RANK"), "rank() is mpirun's rank");
  check(c.localRank() == envInt("OMPI_COMM_WORLD_LOCAL_RANK"), "localRank() on one host");
  checkFp32(c);
  checkFp64(c);
  checkBf16(c);
  checkMovement(c);
  checkOk(c.barrier(), "final barrier");
}

void runStuck(Collective& c) {
  checkOk(c.barrier(), "barrier before rank 1 stops");
  if (c.rank() != 0) {
    // Stops calling; mpirun ends this rank once rank 0 has left.
    std::this_thread::sleep_for(std::chrono::seconds(60));
    std::_Exit(2);
  }
  std::vector<float> data(16, 1.0f);
  Status first = c.allreduce(std::span(data), ReduceOp::kSum);
  check(first.code() == aimass::StatusCode::kUnavailable, "a missing rank gives kUnavailable");
  check(first.message().find("allreduce (fp32 sum, 16 elements) timed out") != std::string::npos,
        "the error names the operation: " + first.message());
  check(first.message().find("rank 0 of 2") != std::string::npos, "the error names this rank");
  Status after = c.barrier();
  check(after.code() == first.code() && after.message() == first.message(),
        "later calls fail with the first error: " + after.toString());
  std::cout << "rank 0: stuck peer detected: " << first.message() << std::endl;
}

void runDead(Collective& c) {
  std::vector<float> data(64, 1.0f);
  for (int step = 0;; ++step) {
    if (c.rank() == 1 && step == 3) {
      std::cout << "rank 1: killing itself" << std::endl;
      std::raise(SIGKILL);
    }
    Status status = c.allreduce(std::span(data), ReduceOp::kSum);
    if (!status.ok()) {
      std::cout << "rank " << c.rank() << ": error after rank 1 died: " << status.toString()
                << std::endl;
      return;
    }
    if (step > 10000) {
      check(false, "rank 0 went on reducing long after rank 1 died");
      return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "ops";
  g_rank = envInt("OMPI_COMM_WORLD_RANK");
  const fs::path state =
      fs::temp_directory_path() / ("aimass-collective-mpi-" + std::to_string(getpid()));
  fs::create_directories(state);
  int exit_code = 1;
  {
    core::TypeRegistry registry;
    core::PluginLoader loader(registry);
    if (Status loaded = loader.load(fs::path(AIMASS_PLUGIN_DIR) / "libaimass_collective_mpi.so");
        !loaded.ok()) {
      std::cout << "rank " << g_rank << ": FAIL: loading the plugin: " << loaded.toString() << "\n";
      return 1;
    }
    const std::string timeout = mode == "stuck" ? "2" : "30";
    core::Diagnostics diagnostics;
    auto document = core::loadConfigFromString(
        "nodes:\n  comm: {type: collective.mpi, timeout_seconds: " + timeout + "}\n", "ranks.yaml",
        state, diagnostics);
    auto graph = document ? core::Graph::validate(*document, registry, diagnostics) : nullptr;
    core::HostServices host(state, 1);
    Status made = graph ? graph->instantiate(host)
                        : aimass::invalidArgument(core::formatDiagnostics(diagnostics));
    if (!made.ok()) {
      std::cout << "rank " << g_rank << ": FAIL: creating the node: " << made.toString() << "\n";
      return 1;
    }
    auto& collective = static_cast<Collective&>(*graph->node("comm"));
    g_rank = collective.rank();
    if (mode == "ops") {
      runOps(collective);
    } else if (mode == "stuck") {
      runStuck(collective);
    } else if (mode == "dead") {
      runDead(collective);
    } else {
      check(false, "unknown mode " + mode);
    }
    if (g_failures == 0) {
      std::cout << "rank " << collective.rank() << " of " << collective.size() << ": " << mode
                << " checks passed" << std::endl;
      exit_code = 0;
    }
    graph.reset();
  }
  fs::remove_all(state);
  return exit_code;
}
