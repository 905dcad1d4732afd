// SPDX-License-Identifier: Apache-2.0
// AIMASS_SKIP_OR_FAIL (tests/support/skip_or_fail.h): a missing dependency skips the test, and
// fails it when AIMASS_REQUIRE_ALL=1, as scripts/test.sh runs the suites; and no test of the tree
// skips around it.
#include "skip_or_fail.h"

#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "scoped_env.h"

namespace {

using ::testing::HasSubstr;

void needsFrobnicate() { AIMASS_SKIP_OR_FAIL("frobnicate is not installed"); }

/// Runs needsFrobnicate(), catching what it reports into `results` before it reaches the
/// running test.
void runNeedsFrobnicate(::testing::TestPartResultArray& results) {
  ::testing::ScopedFakeTestPartResultReporter reporter(
      ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
  needsFrobnicate();
}

TEST(SkipOrFail, AMissingDependencySkipsByDefault) {
  for (const char* value : {static_cast<const char*>(nullptr), "0", ""}) {
    aimass::testing::ScopedEnv env("AIMASS_REQUIRE_ALL", value);
    ::testing::TestPartResultArray results;
    runNeedsFrobnicate(results);
    ASSERT_EQ(results.size(), 1);
    EXPECT_TRUE(results.GetTestPartResult(0).skipped());
    EXPECT_THAT(results.GetTestPartResult(0).message(), HasSubstr("frobnicate is not installed"));
  }
}

TEST(SkipOrFail, AMissingDependencyFailsWhenEveryDependencyIsRequired) {
  aimass::testing::ScopedEnv env("AIMASS_REQUIRE_ALL", "1");
  ::testing::TestPartResultArray results;
  runNeedsFrobnicate(results);
  ASSERT_EQ(results.size(), 1);
  EXPECT_TRUE(results.GetTestPartResult(0).fatally_failed());
  EXPECT_THAT(results.GetTestPartResult(0).message(),
              HasSubstr("frobnicate is not installed (a failure, not a skip, because "
                        "AIMASS_REQUIRE_ALL=1"));
}

// Every skip for something missing goes through AIMASS_SKIP_OR_FAIL, so that AIMASS_REQUIRE_ALL
// reaches it; only the tests that need hardware skip plainly (a CUDA device, or a CPU with
// AVX512-BF16, or its absence forced with ONEDNN_MAX_CPU_ISA), or a kernel that lets the tests
// make a memory cgroup (a container's read-only /sys/fs/cgroup, a systemd session that does not
// delegate the memory controller), since no package provides it.
TEST(SkipOrFail, NoTestSkipsPlainlyExceptForWantOfACudaDevice) {
  namespace fs = std::filesystem;
  const std::string plain_skip = std::string("GTEST_") + "SKIP()";
  std::vector<std::string> offenders;
  std::size_t files = 0;
  for (const char* root : {"tests", "plugins"}) {
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(AIMASS_SOURCE_DIR) / root)) {
      const auto ext = entry.path().extension();
      if (!entry.is_regular_file() || (ext != ".cc" && ext != ".h") ||
          entry.path().filename() == "skip_or_fail.h") {
        continue;
      }
      ++files;
      std::ifstream in(entry.path());
      std::string line;
      for (int number = 1; std::getline(in, line); ++number) {
        if (line.find(plain_skip) != std::string::npos && line.find("CUDA") == std::string::npos &&
            line.find("AVX512-BF16") == std::string::npos &&
            line.find("ONEDNN_MAX_CPU_ISA") == std::string::npos &&
            line.find("memory cgroup") == std::string::npos) {
          offenders.push_back(entry.path().string() + ":" + std::to_string(number));
        }
      }
    }
  }
  EXPECT_GT(files, 100u);  // the tree was found
  EXPECT_TRUE(offenders.empty()) << "use AIMASS_SKIP_OR_FAIL (tests/support/skip_or_fail.h) at "
                                 << ::testing::PrintToString(offenders);
}

}  // namespace
