// SPDX-License-Identifier: Apache-2.0
#include "rendezvous_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "scoped_env.h"
#include "temp_dir.h"

namespace aimass::plugins::collective {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

TEST(RendezvousFile, AReaderWaitsForTheWholeFile) {
  aimass::testing::TempDir dir;
  RendezvousFile file(dir.path() / "sub", "nccl-unique-id-7");
  const std::string id(128, 'x');
  std::thread writer([&] {
    std::this_thread::sleep_for(50ms);
    EXPECT_TRUE(file.publish(id).ok());
  });
  auto read = file.await(id.size(), 30s);
  writer.join();
  ASSERT_TRUE(read.ok()) << read.status().toString();
  EXPECT_EQ(*read, id);
  file.remove();
  EXPECT_FALSE(std::filesystem::exists(file.path()));
}

TEST(RendezvousFile, GivesUpAfterTheTimeoutNamingTheFile) {
  aimass::testing::TempDir dir;
  RendezvousFile file(dir.path(), "nccl-unique-id-job");
  auto read = file.await(128, 0.05s);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(read.status().message(), HasSubstr((dir.path() / "nccl-unique-id-job").string()));
}

TEST(RendezvousFile, RefusesAFileOfAnotherSize) {
  aimass::testing::TempDir dir;
  std::ofstream(dir.path() / "id") << std::string(200, 'y');
  auto read = RendezvousFile(dir.path(), "id").await(128, 1s);
  EXPECT_EQ(read.status().code(), StatusCode::kDataLoss);
}

TEST(RendezvousFile, KeysComeFromTheConfigurationOrTheLauncher) {
  aimass::testing::ScopedEnv pmix("PMIX_NAMESPACE", "4242");
  EXPECT_EQ(rendezvousKey("run/7 a"), "run7a") << "only safe characters";
  EXPECT_EQ(rendezvousKey(""), "4242");
  aimass::testing::ScopedEnv no_pmix("PMIX_NAMESPACE", nullptr);
  aimass::testing::ScopedEnv slurm("SLURM_JOB_ID", "99");
  aimass::testing::ScopedEnv step("SLURM_STEP_ID", "3");
  EXPECT_EQ(rendezvousKey(""), "99.3");
}

}  // namespace
}  // namespace aimass::plugins::collective
