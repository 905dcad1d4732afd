// SPDX-License-Identifier: Apache-2.0
// The runtime unit without the command line: a graph of the narrated minimal plugins and the
// built-in job.train, run with injected progress and stop hooks. What a user of `aimass run`
// relies on: jobs run in order with a progress display, model nodes are served by the
// frontends, the run waits for the stop and stops the frontends, a stop before the jobs end
// cancels, and each failure names its node.
#include "aimass/core/runtime.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "aimass/core/config.h"
#include "aimass/core/plugin_loader.h"
#include "temp_dir.h"

namespace aimass::core {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string readFile(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Counts what a job reported.
class CountingProgress final : public JobProgress {
 public:
  void begin(std::string_view, std::uint64_t) override { ++phases; }
  void update(std::uint64_t, const std::vector<std::pair<std::string, double>>&) override {}
  void end(std::string_view) override {}
  int phases = 0;
};

class RuntimeTest : public ::testing::Test {
 protected:
  RuntimeTest() {
    registerBuiltinTypes(registry_);  // job.train
    loader_.loadDirectory(AIMASS_PLUGIN_DIR);
    fs::copy_file(fs::path(AIMASS_SOURCE_DIR) / "configs/data/pumps.csv", dir() / "pumps.csv");
  }

  const fs::path& dir() const { return temp_.path(); }

  /// Validates `yaml` (a configuration in dir()) against the built plugins.
  std::unique_ptr<Graph> graph(const std::string& yaml) {
    Diagnostics diagnostics;
    auto document = loadConfigFromString(yaml, "main.yaml", dir(), diagnostics);
    EXPECT_TRUE(document) << formatDiagnostics(diagnostics);
    if (!document) {
      return nullptr;
    }
    auto validated = Graph::validate(*document, registry_, diagnostics);
    EXPECT_TRUE(validated) << formatDiagnostics(diagnostics);
    return validated;
  }

  TypeRegistry registry_;
  PluginLoader loader_{registry_};
  aimass::testing::TempDir temp_;
  HostServices host_{temp_.path(), 1};
};

constexpr const char* kTrainAndServe =
    "nodes:\n"
    "  pumps: {type: dataset.csv, path: pumps.csv, label: state}\n"
    "  baseline: {type: model.baseline}\n"
    "  train: {type: job.train, model: baseline, dataset: pumps, epochs: 1}\n"
    "  lines: {type: frontend.lines, input: requests.txt, output: answers.txt}\n";

TEST_F(RuntimeTest, RunsJobsWithProgressServesTheTrainedModelAndStopsWhenTold) {
  std::ofstream(dir() / "requests.txt") << "baseline 0.1 0.2 0.3 0.4\n";
  auto validated = graph(kTrainAndServe);
  ASSERT_TRUE(validated);
  std::vector<std::string> shown;
  CountingProgress progress;
  std::vector<std::pair<std::string, std::string>> started;
  Runtime::Hooks hooks;
  hooks.progress = [&](const std::string& job, const std::function<void(JobProgress&)>& run) {
    shown.push_back(job);
    run(progress);
  };
  hooks.frontend_started = [&](std::string_view name, std::string_view endpoint) {
    started.emplace_back(name, endpoint);
  };
  // The stop comes once the frontend has answered the request: a prediction of the model
  // that the job trained.
  hooks.wait_for_stop = [&] {
    for (int i = 0; i < 500 && readFile(dir() / "answers.txt").find('\n') == std::string::npos;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  Runtime runtime(*validated, host_, hooks);
  Status status = runtime.run();
  ASSERT_TRUE(status.ok()) << status.toString();
  EXPECT_EQ(shown, std::vector<std::string>{"train"});
  EXPECT_GT(progress.phases, 0);
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].first, "lines");
  EXPECT_THAT(readFile(dir() / "answers.txt"), HasSubstr("baseline "));
  EXPECT_EQ(runtime.run().code(), StatusCode::kFailedPrecondition);
  validated.reset();  // nodes go before the host, as in the CLI
}

TEST_F(RuntimeTest, AStopBeforeTheJobsCancelsWithoutRunningThem) {
  auto validated = graph(kTrainAndServe);
  ASSERT_TRUE(validated);
  bool job_ran = false;
  Runtime::Hooks hooks;
  hooks.progress = [&](const std::string&, const std::function<void(JobProgress&)>&) {
    job_ran = true;
  };
  host_.requestStop();
  Status status = Runtime(*validated, host_, hooks).run();
  EXPECT_EQ(status.code(), StatusCode::kCancelled);
  EXPECT_FALSE(job_ran);
}

TEST_F(RuntimeTest, TheDefaultWaitEndsWhenTheHostIsAskedToStop) {
  std::ofstream(dir() / "requests.txt") << "";
  auto validated = graph(
      "nodes:\n"
      "  baseline: {type: model.baseline}\n"
      "  lines: {type: frontend.lines, input: requests.txt, output: answers.txt}\n");
  ASSERT_TRUE(validated);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    host_.requestStop();
  });
  Status status = Runtime(*validated, host_).run();
  stopper.join();
  EXPECT_TRUE(status.ok()) << status.toString();
}

TEST_F(RuntimeTest, EachFailureNamesWhatFailed) {
  // A node that cannot be created: its dataset file is missing.
  auto missing = graph("nodes:\n  pumps: {type: dataset.csv, path: nowhere.csv, label: state}\n");
  ASSERT_TRUE(missing);
  Status created = Runtime(*missing, host_).run();
  EXPECT_FALSE(created.ok());
  EXPECT_THAT(created.message(), HasSubstr("node 'pumps' (dataset.csv) at main.yaml:2:3"));

  // A frontend that cannot start: its input does not exist.
  auto no_input = graph(
      "nodes:\n"
      "  lines: {type: frontend.lines, input: absent.txt, output: answers.txt}\n");
  ASSERT_TRUE(no_input);
  Status started = Runtime(*no_input, host_).run();
  EXPECT_FALSE(started.ok());
  EXPECT_THAT(started.message(), HasSubstr("frontend 'lines' could not start: "));
}

}  // namespace
}  // namespace aimass::core
