// SPDX-License-Identifier: Apache-2.0
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "aimass/core/host_services.h"
#include "aimass/testing/frontend_conformance.h"
#include "aimass/testing/registration.h"
#include "minimal.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::frontend {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

/// Classifies two values: "big" when their sum is positive. Probabilities are fixed so the
/// answer text is exact.
class SumClassifier final : public Model {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kClassification;
    s.inputs = {{"input", DType::kFloat32, {-1, 2}}};
    s.outputs = {{"probabilities", DType::kFloat32, {-1, 2}},
                 {"label", DType::kInt64, {-1}},
                 {"class", DType::kBytes, {-1}}};
    return s;
  }
  bool ready() const override { return ready_; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    if (fail_) {
      return invalidArgument("values out of range");
    }
    const Tensor* x = inputs.find("input");
    bool big = x->data<float>()[0] + x->data<float>()[1] > 0;
    outputs.set("probabilities", Tensor::fromVector<float>(big ? std::vector<float>{0.25f, 0.75f}
                                                               : std::vector<float>{0.5f, 0.5f},
                                                           {1, 2}));
    outputs.set("label", Tensor::fromVector<std::int64_t>({big ? 1 : 0}, {1}));
    outputs.set("class", Tensor::fromStrings({big ? "big" : "small"}));
    return Status();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string&) const override { return Status(); }
  Status load(std::string_view, std::uint32_t) override { return Status(); }
  bool ready_ = true;
  bool fail_ = false;
};

/// A regressor over any number of values: predicts their sum and their mean.
class SumRegressor final : public Model {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kRegression;
    s.inputs = {{"input", DType::kFloat32, {-1, -1}}};
    s.outputs = {{"prediction", DType::kFloat32, {-1, 2}}};
    return s;
  }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    const Tensor* x = inputs.find("input");
    float sum = 0;
    for (float v : x->span<float>()) {
      sum += v;
    }
    outputs.set("prediction",
                Tensor::fromVector<float>({sum, sum / static_cast<float>(x->numel())}, {1, 2}));
    return Status();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string&) const override { return Status(); }
  Status load(std::string_view, std::uint32_t) override { return Status(); }
};

class LinesFrontendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.setLogLevel(LogLevel::kError);
    host_.servingRuntime().add("clf", "1", classifier_);
    host_.servingRuntime().add("sum", "1", std::make_shared<SumRegressor>());
    dir_ = fs::temp_directory_path() /
           ("aimass_lines_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::vector<std::string> readLines(const fs::path& file) {
    std::ifstream in(file);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
      lines.push_back(line);
    }
    return lines;
  }

  /// Waits (up to 20 s, so a broken reader fails instead of hanging) for `n` answer lines.
  static std::vector<std::string> waitForLines(const fs::path& file, std::size_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      auto lines = readLines(file);
      if (lines.size() >= n) {
        return lines;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return readLines(file);
  }

  static void writeAll(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
      auto n = ::write(fd, text.data() + done, text.size() - done);
      ASSERT_GT(n, 0);
      done += static_cast<std::size_t>(n);
    }
  }

  core::HostServices host_{".", 1};
  std::shared_ptr<SumClassifier> classifier_ = std::make_shared<SumClassifier>();
  fs::path dir_;
};

TEST_F(LinesFrontendTest, AnswersClassifiersWithClassAndProbabilities) {
  EXPECT_EQ(LinesFrontend::answer(host_, "clf 1 2"), "clf big 0.25 0.75");
  EXPECT_EQ(LinesFrontend::answer(host_, "  clf\t-1   -2.5e0 "), "clf small 0.5 0.5");
}

TEST_F(LinesFrontendTest, AnswersRegressorsWithTheirValues) {
  EXPECT_EQ(LinesFrontend::answer(host_, "sum 1 2 3"), "sum 6 2");
  EXPECT_EQ(LinesFrontend::answer(host_, "sum 0.5"), "sum 0.5 0.5");
}

TEST_F(LinesFrontendTest, BadRequestsGetAnErrorLine) {
  EXPECT_EQ(LinesFrontend::answer(host_, "nope 1 2"), "error: unknown model 'nope'");
  EXPECT_EQ(LinesFrontend::answer(host_, "clf 1 two"), "error: 'two' is not a number");
  EXPECT_EQ(LinesFrontend::answer(host_, "clf 1 nan"), "error: 'nan' is not a number");
  EXPECT_EQ(LinesFrontend::answer(host_, "clf 1 2 3"), "error: model 'clf' takes 2 values, got 3");
  EXPECT_THAT(LinesFrontend::answer(host_, "clf"), HasSubstr("error: no values after 'clf'"));
  EXPECT_EQ(LinesFrontend::answer(host_, std::string(5000, 'm') + " 1"),
            "error: unknown model '" + std::string(40, 'm') + "...'");
  classifier_->fail_ = true;
  EXPECT_EQ(LinesFrontend::answer(host_, "clf 1 2"), "error: values out of range");
  classifier_->ready_ = false;
  EXPECT_EQ(LinesFrontend::answer(host_, "clf 1 2"), "error: model 'clf' is not ready");
}

TEST_F(LinesFrontendTest, AnswersEveryLineOfAFileInOrder) {
  {
    std::ofstream in(dir_ / "requests.txt");
    in << "clf 1 2\n"
       << "\n"
       << "# a comment gets no answer\n"
       << "bogus 1\n"
       << "sum 1 2 3\r\n"
       << "clf -3 1";  // the last line has no newline
  }
  LinesFrontend frontend("lines", (dir_ / "requests.txt").string(), (dir_ / "out.txt").string());
  ASSERT_TRUE(frontend.start(host_).ok());
  auto lines = waitForLines(dir_ / "out.txt", 4);
  frontend.stop();
  EXPECT_THAT(lines, ElementsAre("clf big 0.25 0.75", "error: unknown model 'bogus'", "sum 6 2",
                                 "clf small 0.5 0.5"));
}

TEST_F(LinesFrontendTest, ServesAPipeUntilStoppedOrClosed) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string input = "/dev/fd/" + std::to_string(fds[0]);
  LinesFrontend frontend("lines", input, (dir_ / "out.txt").string());
  ASSERT_TRUE(frontend.start(host_).ok());
  writeAll(fds[1], "clf 1 2\n");
  EXPECT_THAT(waitForLines(dir_ / "out.txt", 1), ElementsAre("clf big 0.25 0.75"));
  writeAll(fds[1], "clf -1 ");  // half a line, then a pause
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  writeAll(fds[1], "-1\nsum 4\n");
  EXPECT_THAT(waitForLines(dir_ / "out.txt", 3),
              ElementsAre("clf big 0.25 0.75", "clf small 0.5 0.5", "sum 4 4"));
  // The writer is still open and silent: stop() must end the reader anyway.
  frontend.stop();
  EXPECT_EQ(frontend.endpoint(), "");
  ::close(fds[1]);
  ::close(fds[0]);
}

TEST_F(LinesFrontendTest, OverlongLineIsRefusedAndReadingCarriesOn) {
  {
    std::ofstream in(dir_ / "requests.txt");
    in << std::string((1 << 20) + 100, 'x') << "\nclf 1 2\n"
       << std::string(3 << 20, '7') << "\nsum 1\n";
  }
  LinesFrontend frontend("lines", (dir_ / "requests.txt").string(), (dir_ / "out.txt").string());
  ASSERT_TRUE(frontend.start(host_).ok());
  auto lines = waitForLines(dir_ / "out.txt", 4);
  frontend.stop();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[0].substr(0, 100), HasSubstr("error: line longer than"));
  EXPECT_EQ(lines[1], "clf big 0.25 0.75");
  EXPECT_THAT(lines[2].substr(0, 100), HasSubstr("error: line longer than"));
  EXPECT_EQ(lines[3], "sum 1 1");
}

TEST_F(LinesFrontendTest, DashMeansTheStandardStreams) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  int saved_stdin = ::dup(STDIN_FILENO);
  int saved_stdout = ::dup(STDOUT_FILENO);
  std::fflush(stdout);
  int out = ::open((dir_ / "stdout.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(out, 0);
  ::dup2(fds[0], STDIN_FILENO);
  ::dup2(out, STDOUT_FILENO);

  // The graph resolves "-" against the config's folder, so it arrives as "<folder>/-".
  LinesFrontend frontend("lines", (dir_ / "-").string(), (dir_ / "-").string());
  Status started = frontend.start(host_);
  std::string endpoint = frontend.endpoint();
  writeAll(fds[1], "sum 2 4\n");
  auto lines = waitForLines(dir_ / "stdout.txt", 1);
  frontend.stop();

  ::dup2(saved_stdin, STDIN_FILENO);
  ::dup2(saved_stdout, STDOUT_FILENO);
  for (int fd : {saved_stdin, saved_stdout, out, fds[0], fds[1]}) {
    ::close(fd);
  }
  ASSERT_TRUE(started.ok()) << started.toString();
  EXPECT_EQ(endpoint, "lines:stdin -> stdout");
  EXPECT_THAT(lines, ElementsAre("sum 6 3"));
  EXPECT_FALSE(fs::exists(dir_ / "-")) << "'-' must not create a file";
}

TEST_F(LinesFrontendTest, MissingInputIsUnavailableAndNamed) {
  LinesFrontend frontend("lines", (dir_ / "absent.txt").string(), (dir_ / "out.txt").string());
  Status status = frontend.start(host_);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("absent.txt"));
  EXPECT_EQ(frontend.endpoint(), "");
}

TEST_F(LinesFrontendTest, StartTwiceIsRefused) {
  LinesFrontend frontend("lines", "/dev/null", "/dev/null");
  ASSERT_TRUE(frontend.start(host_).ok());
  EXPECT_EQ(frontend.start(host_).code(), StatusCode::kFailedPrecondition);
  frontend.stop();
}

TEST_F(LinesFrontendTest, PassesTheFrontendConformanceSuite) {
  LinesFrontend frontend("lines", "/dev/null", (dir_ / "out.txt").string());
  auto results = testing::checkFrontend(frontend, host_);
  for (const auto& r : results) {
    EXPECT_TRUE(r.passed) << r.name << ": " << r.detail;
  }
}

TEST_F(LinesFrontendTest, PluginRegistersFrontendLines) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  EXPECT_STREQ(descriptor->name, "frontend.lines");
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "frontend.lines");
  EXPECT_EQ(type.kind, NodeKind::kFrontend);
  ASSERT_EQ(type.params.size(), 2u);
  EXPECT_EQ(std::get<std::string>(type.params[0].default_value), "-");

  {
    std::ofstream in(dir_ / "requests.txt");
    in << "clf 5 5\n";
  }
  NodeConfig config("lines", type.type, &host_);
  config.setValue("input", (dir_ / "requests.txt").string());
  config.setValue("output", (dir_ / "out.txt").string());
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok());
  auto& frontend = static_cast<Frontend&>(**node);
  ASSERT_TRUE(frontend.start(host_).ok());
  EXPECT_THAT(waitForLines(dir_ / "out.txt", 1), ElementsAre("clf big 0.25 0.75"));
  frontend.stop();
}

}  // namespace
}  // namespace aimass::plugins::frontend
