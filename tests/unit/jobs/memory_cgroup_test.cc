// SPDX-License-Identifier: Apache-2.0
// Memory cgroups for jobs (core/src/jobs/memory_cgroup.h) on a hierarchy made of plain folders
// in a temporary directory, laid out as cgroup v2 or v1 lays out its files, so that both
// versions' paths and control files are checked on any machine. (The real kernel's cgroups are
// exercised by jobs_service_test.)
#include "jobs/memory_cgroup.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "temp_dir.h"

namespace aimass::core::jobs {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& file) {
  std::ifstream in(file);
  std::string text;
  std::getline(in, text);
  return text;
}

/// This process's cgroup in the hierarchy of /proc/self/cgroup's line with `controllers`.
std::string ownPath(const std::string& controllers) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (line.substr(first + 1, second - first - 1) == controllers) return line.substr(second + 1);
  }
  return {};
}

TEST(MemoryCgroups, V2MakesItsFolderAndLimitsEachAttempt) {
  const std::string own = ownPath("");
  if (own.empty()) {
    GTEST_SKIP() << "this kernel shows no cgroup v2 line in /proc/self/cgroup (no memory cgroup "
                    "paths to lay out)";
  }
  aimass::testing::TempDir dir;
  const fs::path mine = dir.path() / fs::path(own).relative_path();
  fs::create_directories(mine);
  std::ofstream(dir.path() / "cgroup.controllers") << "cpu memory pids\n";
  std::ofstream(mine / "cgroup.subtree_control") << "memory\n";  // delegated
  std::string why_not;
  auto groups = MemoryCgroups::detect(dir.path(), why_not);
  ASSERT_TRUE(groups.has_value()) << why_not;
  EXPECT_EQ(groups->version(), MemoryCgroups::Version::kV2);
  EXPECT_EQ(groups->base(), mine / ("aimass-jobs-" + std::to_string(getpid())));
  EXPECT_EQ(read(groups->base() / "cgroup.subtree_control"), "+memory");
  EXPECT_THAT(groups->describe(), ::testing::StartsWith("cgroup v2 ("));

  auto group = groups->create(7, 2, 512 << 20);
  ASSERT_TRUE(group.ok()) << group.status().toString();
  EXPECT_EQ(*group, groups->base() / "job-7-2");
  EXPECT_EQ(read(*group / "memory.max"), std::to_string(512 << 20));
  EXPECT_EQ(read(*group / "memory.swap.max"), "0");
  EXPECT_EQ(cgroupOomKills(*group), 0);
  std::ofstream(*group / "memory.events") << "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n";
  EXPECT_EQ(cgroupOomKills(*group), 1);
}

TEST(MemoryCgroups, V2WithoutTheMemoryControllerFallsToV1) {
  const std::string own_v2 = ownPath("");
  const std::string own_v1 = ownPath("memory");
  if (own_v2.empty() || own_v1.empty()) {
    GTEST_SKIP() << "this kernel does not show both memory cgroup hierarchies' lines";
  }
  aimass::testing::TempDir dir;
  const fs::path v2 = dir.path() / fs::path(own_v2).relative_path();
  fs::create_directories(v2);
  std::ofstream(dir.path() / "cgroup.controllers") << "hugetlb\n";
  const fs::path v1 = dir.path() / "memory" / fs::path(own_v1).relative_path();
  fs::create_directories(v1);
  std::ofstream(dir.path() / "memory" / "memory.limit_in_bytes") << "9223372036854771712\n";
  std::string why_not;
  auto groups = MemoryCgroups::detect(dir.path(), why_not);
  ASSERT_TRUE(groups.has_value()) << why_not;
  EXPECT_EQ(groups->version(), MemoryCgroups::Version::kV1);
  auto group = groups->create(3, 1, 1 << 30);
  ASSERT_TRUE(group.ok()) << group.status().toString();
  EXPECT_EQ(read(*group / "memory.limit_in_bytes"), std::to_string(1 << 30));
  std::ofstream(*group / "memory.oom_control") << "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n";
  EXPECT_EQ(cgroupOomKills(*group), 2);
}

TEST(MemoryCgroups, NeitherHierarchySaysWhatWasTried) {
  aimass::testing::TempDir dir;  // empty: no cgroup.controllers, no memory/
  std::string why_not;
  EXPECT_FALSE(MemoryCgroups::detect(dir.path(), why_not).has_value());
  EXPECT_THAT(why_not, ::testing::HasSubstr("no cgroup v2 hierarchy at " + dir.path().string()));
  EXPECT_THAT(why_not, ::testing::HasSubstr("no cgroup v1 memory hierarchy at "));
}

}  // namespace
}  // namespace aimass::core::jobs
