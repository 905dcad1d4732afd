// SPDX-License-Identifier: Apache-2.0
// Runs `aimass validate` and `aimass run` on configs/regression_linear.yaml as a user would:
// the shipped regression example is valid, fits model.linear in closed form on the committed
// CSV to an objective near the data's noise level, and saves the model.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kConfig = fs::path(AIMASS_SOURCE_DIR) / "configs" / "regression_linear.yaml";

struct Result {
  int code = -1;
  std::string output;  // stdout and stderr together
};

/// Runs the aimass binary with `args` (already shell-quoted) and AIMASS_STORE=`store`.
Result runAimass(const std::string& args, const fs::path& store) {
  const std::string command = "AIMASS_STORE='" + store.string() + "' '" +
                              std::string(AIMASS_EXECUTABLE) + "' " + args + " 2>&1 </dev/null";
  Result result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return result;
  }
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) {
    result.output.append(buffer, n);
  }
  const int status = ::pclose(pipe);
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return result;
}

class RegressionLinearConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "aimass-regression-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    store_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(store_, ec);
  }
  fs::path store_;
};

TEST_F(RegressionLinearConfig, Validates) {
  Result r = runAimass("validate '" + kConfig.string() + "'", store_);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(": ok (4 nodes)"));
}

TEST_F(RegressionLinearConfig, RunFitsAndSavesTheModel) {
  Result r = runAimass("run '" + kConfig.string() + "'", store_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("saved model 'energy'")) << r.output;
  // The data's noise has standard deviation 3, so half the mean squared error is about 4.5.
  std::smatch match;
  ASSERT_TRUE(std::regex_search(r.output, match, std::regex("objective=([0-9.eE+-]+)")))
      << r.output;
  const double objective = std::stod(match[1].str());
  EXPECT_GT(objective, 3.5);
  EXPECT_LT(objective, 5.5);
  // job.train also registers the model: its registry records live under registry/models/energy/
  // and are not artifacts, nor is the training-data profile saved beside the artifact.
  int artifacts = 0;
  for (const auto& entry : fs::recursive_directory_iterator(store_)) {
    const std::string path = entry.path().string();
    artifacts += entry.is_regular_file() && path.find("models/energy/") != std::string::npos &&
                 path.find("registry/") == std::string::npos &&
                 path.find("profile") == std::string::npos;  // its training-data profile
  }
  EXPECT_EQ(artifacts, 1) << "one saved model artifact in the store";
}

}  // namespace
