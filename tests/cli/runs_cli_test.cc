// SPDX-License-Identifier: Apache-2.0
// `aimass runs ...` as users run it: real `aimass run` processes training on a storage.fs store
// (finishing, stopped with SIGTERM, SIGKILLed), then `aimass runs list/show` on that store.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "exec_aimass.h"

namespace {

namespace fs = std::filesystem;
using Poco::JSON::Array;
using Poco::JSON::Object;
using ::testing::HasSubstr;

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

/// A guard against a hung child, not a measurement.
constexpr auto kHangLimit = std::chrono::seconds(120);

/// An aimass process with stdout and stderr read through pipes while it runs.
class AimassProcess {
 public:
  explicit AimassProcess(std::vector<std::string> args) {
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) {
      ADD_FAILURE() << "pipe() failed";
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      dup2(err[1], STDERR_FILENO);
      close(out[0]);
      close(out[1]);
      close(err[0]);
      close(err[1]);
      unsetenv("AIMASS_PLUGIN_PATH");
      aimass::testing::execProgram(AIMASS_EXECUTABLE, std::move(args));
    }
    close(out[1]);
    close(err[1]);
    fds_[0] = out[0];
    fds_[1] = err[0];
  }
  ~AimassProcess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }
  AimassProcess(const AimassProcess&) = delete;
  AimassProcess& operator=(const AimassProcess&) = delete;

  /// Reads until stderr contains `text`; false when the process ended or hung first.
  bool waitForStderr(const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    while (text_[1].find(text) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline || !readSome()) {
        return text_[1].find(text) != std::string::npos;
      }
    }
    return true;
  }
  void signal(int sig) { kill(pid_, sig); }
  /// Reads to the end and reaps the process: its exit code, or 128 + the signal.
  Result wait() {
    const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    while (readSome()) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "aimass did not finish; stderr so far:\n" << text_[1];
        kill(pid_, SIGKILL);
        break;
      }
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    Result result;
    result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = text_[0];
    result.err = text_[1];
    return result;
  }

 private:
  /// Reads what arrives within 100 ms; false once both pipes are closed.
  bool readSome() {
    std::vector<pollfd> polled;
    std::vector<int> which;
    for (int i = 0; i < 2; ++i) {
      if (fds_[i] >= 0) {
        polled.push_back({fds_[i], POLLIN, 0});
        which.push_back(i);
      }
    }
    if (polled.empty()) {
      return false;
    }
    if (poll(polled.data(), polled.size(), 100) <= 0) {
      return true;
    }
    for (std::size_t k = 0; k < polled.size(); ++k) {
      if ((polled[k].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        continue;
      }
      char buffer[4096];
      ssize_t n = read(fds_[which[k]], buffer, sizeof buffer);
      if (n <= 0) {
        close(fds_[which[k]]);
        fds_[which[k]] = -1;
      } else {
        text_[which[k]].append(buffer, static_cast<std::size_t>(n));
      }
    }
    return true;
  }

  pid_t pid_ = -1;
  int fds_[2] = {-1, -1};
  std::string text_[2];
  bool reaped_ = false;
};

/// A folder with configurations on one storage.fs store and the pumps data; removed after.
class Workspace {
 public:
  Workspace() {
    std::string pattern = (fs::temp_directory_path() / "aimass-runs-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    fs::copy_file(fs::path(AIMASS_SOURCE_DIR) / "configs/data/pumps.csv", dir_ / "pumps.csv");
  }
  ~Workspace() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  /// Writes `name`.yaml training pump_state for `epochs` with extra job.train settings.
  std::string config(const std::string& name, int epochs, const std::string& extra = "") const {
    const fs::path file = dir_ / (name + ".yaml");
    std::ofstream(file) << "nodes:\n"
                           "  store: {type: storage.fs, path: store}\n"
                           "  pumps: {type: dataset.csv, path: pumps.csv, label: state}\n"
                           "  pump_state: {type: model.softmax}\n"
                           "  sgd: {type: optimizer.sgd, learning_rate: 0.05}\n"
                           "  train: {type: job.train, model: pump_state, dataset: pumps, "
                           "optimizer: sgd, batch_size: 32, validation_fraction: 0.2, "
                           "storage: store, epochs: "
                        << epochs << extra << "}\n";
    return file.string();
  }
  const fs::path& dir() const { return dir_; }
  Result aimass(std::vector<std::string> args) const {
    AimassProcess process(std::move(args));
    return process.wait();
  }

 private:
  fs::path dir_;
};

Object::Ptr parseObject(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Object::Ptr>();
}

/// Two finished runs of experiment "train" (3 and 2 epochs), then one of experiment "other".
class RunsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = ws_.config("train", 3);
    Result first = ws_.aimass({"run", config_});
    ASSERT_EQ(first.code, 0) << first.err;
    ASSERT_THAT(first.err, HasSubstr("tracking run 1 in experiment 'train'"));
    Result second = ws_.aimass({"run", ws_.config("train", 2)});
    ASSERT_EQ(second.code, 0) << second.err;
    Result third = ws_.aimass({"run", ws_.config("third", 1, ", experiment: other")});
    ASSERT_EQ(third.code, 0) << third.err;
    ASSERT_THAT(third.err, HasSubstr("tracking run 3 in experiment 'other'"));
  }
  Result runs(std::vector<std::string> args) const {
    args.insert(args.begin(), "runs");
    args.push_back("--config");
    args.push_back(config_);
    return ws_.aimass(std::move(args));
  }
  Object::Ptr json(std::vector<std::string> args) const {
    args.push_back("--json");
    Result r = runs(std::move(args));
    EXPECT_EQ(r.code, 0) << r.err;
    return parseObject(r.out);
  }

  Workspace ws_;
  std::string config_;
};

TEST_F(RunsCli, ListShowsEveryRunNewestFirst) {
  Result r = runs({"list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::ContainsRegex(
                         "ID +EXPERIMENT +STATUS +STARTED +DURATION +VAL_ACCURACY +VAL_LOSS +"
                         "TRAIN_LOSS\n3 +other +finished +[0-9T:Z-]+ +[0-9.]+s +[0-9.]+ .*\n"
                         "2 +train +finished .*\n1 +train +finished .*\n$"));

  auto list = json({"list", "--experiment", "train"});
  EXPECT_EQ(list->getValue<int>("matched"), 2);
  Array::Ptr items = list->getArray("runs");
  ASSERT_EQ(items->size(), 2u);
  Object::Ptr newest = items->getObject(0);
  EXPECT_EQ(newest->getValue<int>("id"), 2);
  EXPECT_EQ(newest->getValue<std::string>("status"), "finished");
  EXPECT_EQ(newest->getValue<std::string>("node"), "train");
  Object::Ptr params = newest->getObject("params");
  EXPECT_EQ(params->getValue<std::string>("epochs"), "2");
  EXPECT_EQ(params->getValue<std::string>("model"), "pump_state");
  EXPECT_EQ(params->getValue<std::string>("model.type"), "model.softmax");
  EXPECT_EQ(params->getValue<std::string>("optimizer.learning_rate"), "0.05");
  EXPECT_EQ(params->getValue<std::string>("dataset.label"), "state");
  Object::Ptr artifacts = newest->getObject("artifacts");
  EXPECT_EQ(artifacts->getValue<std::string>("model_version"), "pump_state/2");
  EXPECT_THAT(artifacts->getValue<std::string>("model"),
              ::testing::StartsWith("models/pump_state/artifacts/"));
  EXPECT_TRUE(newest->getObject("metrics")->has("val_accuracy"));
}

TEST_F(RunsCli, ShowGivesParamsMetricSummariesAndArtifacts) {
  auto run = json({"show", "1"});
  EXPECT_EQ(run->getValue<int>("id"), 1);
  EXPECT_EQ(run->getValue<std::string>("experiment"), "train");
  EXPECT_EQ(run->getValue<std::string>("status"), "finished");
  EXPECT_GE(run->getValue<std::int64_t>("end_unix_ms"),
            run->getValue<std::int64_t>("start_unix_ms"));
  Object::Ptr metrics = run->getObject("metrics");
  // 300 rows, 60 held out, 240 / 32 -> 8 steps per epoch, 3 epochs.
  Object::Ptr loss = metrics->getObject("loss");
  EXPECT_EQ(loss->getValue<int>("points"), 24);
  EXPECT_EQ(loss->getValue<int>("last_step"), 24);
  EXPECT_LE(loss->getValue<double>("min"), loss->getValue<double>("last"));
  EXPECT_EQ(metrics->getObject("learning_rate")->getValue<double>("last"), 0.05);
  EXPECT_EQ(metrics->getObject("samples_per_second")->getValue<int>("points"), 24);
  for (const char* per_epoch : {"val_accuracy", "val_loss", "train_loss", "epoch_seconds"}) {
    ASSERT_TRUE(metrics->has(per_epoch)) << per_epoch;
    EXPECT_EQ(metrics->getObject(per_epoch)->getValue<int>("points"), 3) << per_epoch;
    EXPECT_EQ(metrics->getObject(per_epoch)->getValue<int>("last_step"), 3) << per_epoch;
  }
  EXPECT_EQ(run->getObject("artifacts")->getValue<std::string>("model_version"), "pump_state/1");

  Result text = runs({"show", "1"});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("run         1\nexperiment  train\nstatus      finished\n"));
  EXPECT_THAT(text.out, ::testing::ContainsRegex("\n  epochs +3\n"));
  EXPECT_THAT(text.out,
              ::testing::ContainsRegex("\n  loss +[0-9.e-]+ +[0-9.e-]+ +[0-9.e-]+ +24 +24\n"));
  EXPECT_THAT(text.out, ::testing::ContainsRegex("\n  model_version +pump_state/1\n"));
}

TEST_F(RunsCli, MetricGivesEveryValueByStepAndPagesByStep) {
  // Run 1: 8 steps an epoch for 3 epochs, so 24 step losses and 3 validation accuracies.
  auto loss = json({"metric", "1", "loss"});
  EXPECT_EQ(loss->getValue<int>("run"), 1);
  EXPECT_EQ(loss->getValue<std::string>("metric"), "loss");
  EXPECT_EQ(loss->getValue<int>("total"), 24);
  EXPECT_FALSE(loss->getValue<bool>("more"));
  Array::Ptr points = loss->getArray("points");
  ASSERT_EQ(points->size(), 24u);
  for (unsigned i = 0; i < points->size(); ++i) {
    EXPECT_EQ(points->getObject(i)->getValue<int>("step"), static_cast<int>(i) + 1);
  }
  // The last value is the one `runs show` summarises.
  const double last =
      json({"show", "1"})->getObject("metrics")->getObject("loss")->getValue<double>("last");
  EXPECT_EQ(points->getObject(23)->getValue<double>("value"), last);

  // A page of 5 ends at step 5; the next one starts after it, and the last is empty.
  auto page = json({"metric", "1", "loss", "--limit", "5"});
  EXPECT_TRUE(page->getValue<bool>("more"));
  EXPECT_EQ(page->getValue<int>("total"), 24);
  ASSERT_EQ(page->getArray("points")->size(), 5u);
  EXPECT_EQ(page->getArray("points")->getObject(4)->getValue<int>("step"), 5);
  auto next = json({"metric", "1", "loss", "--after-step", "5", "--limit", "5"});
  ASSERT_EQ(next->getArray("points")->size(), 5u);
  EXPECT_EQ(next->getArray("points")->getObject(0)->getValue<int>("step"), 6);
  EXPECT_EQ(json({"metric", "1", "loss", "--after-step", "24"})->getArray("points")->size(), 0u);
  EXPECT_EQ(json({"metric", "1", "val_accuracy"})->getArray("points")->size(), 3u);
  // A metric the run never logged has no values (a running job may not have logged it yet).
  auto none = json({"metric", "1", "bleu"});
  EXPECT_EQ(none->getValue<int>("total"), 0);
  EXPECT_EQ(none->getArray("points")->size(), 0u);

  Result text = runs({"metric", "1", "val_accuracy"});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_THAT(text.out, ::testing::ContainsRegex(
                            "^STEP +VALUE +TIME\n1 +[0-9.e-]+ +[0-9T:Z-]+\n2 .*\n3 .*\n$"));
  Result paged = runs({"metric", "1", "loss", "--limit", "2"});
  ASSERT_EQ(paged.code, 0) << paged.err;
  EXPECT_THAT(paged.out, HasSubstr("(2 of the 24 values shown; --after-step 2 shows the next"));
  Result empty = runs({"metric", "1", "bleu"});
  EXPECT_THAT(empty.out, HasSubstr("run 1 has no value of 'bleu'"));

  Result no_run = runs({"metric", "99", "loss"});
  EXPECT_EQ(no_run.code, 2);
  EXPECT_THAT(no_run.err, HasSubstr("no run 99 in fs:"));
  Result bad_name = runs({"metric", "1", "val loss"});
  EXPECT_EQ(bad_name.code, 2);
  EXPECT_THAT(bad_name.err, HasSubstr("metric name 'val loss'"));
  Result one_word = runs({"metric", "1"});
  EXPECT_EQ(one_word.code, 2);
  EXPECT_THAT(one_word.err, HasSubstr("takes a run ID and a metric name"));
  Result bad_step = runs({"metric", "1", "loss", "--after-step", "five"});
  EXPECT_EQ(bad_step.code, 2);
  EXPECT_THAT(bad_step.err, HasSubstr("--after-step must be a whole number, got 'five'"));
  Result list_option = runs({"metric", "1", "loss", "--sort", "loss"});
  EXPECT_EQ(list_option.code, 2);
  EXPECT_THAT(list_option.err, HasSubstr("--sort is not an option of 'aimass runs metric'"));
  Result list_after = runs({"list", "--after-step", "3"});
  EXPECT_EQ(list_after.code, 2);
  EXPECT_THAT(list_after.err, HasSubstr("--after-step is an option of 'aimass runs metric'"));
}

TEST_F(RunsCli, FilterSortAndLimit) {
  const double first =
      json({"show", "1"})->getObject("metrics")->getObject("val_loss")->getValue<double>("last");
  const double second =
      json({"show", "2"})->getObject("metrics")->getObject("val_loss")->getValue<double>("last");
  ASSERT_NE(first, second);
  const int lower = first < second ? 1 : 2;

  auto sorted = json({"list", "--sort", "val_loss", "--limit", "1"});
  EXPECT_EQ(sorted->getValue<int>("matched"), 3);
  ASSERT_EQ(sorted->getArray("runs")->size(), 1u);

  auto in_train = json({"list", "--experiment", "train", "--sort", "val_loss"});
  EXPECT_EQ(in_train->getArray("runs")->getObject(0)->getValue<int>("id"), lower);
  auto descending = json({"list", "--experiment", "train", "--sort", "val_loss", "--desc"});
  EXPECT_EQ(descending->getArray("runs")->getObject(0)->getValue<int>("id"), 3 - lower);

  char condition[64];
  std::snprintf(condition, sizeof condition, "val_loss<=%.17g", std::min(first, second));
  auto filtered = json({"list", "--experiment", "train", "--filter", condition});
  ASSERT_EQ(filtered->getArray("runs")->size(), 1u);
  EXPECT_EQ(filtered->getArray("runs")->getObject(0)->getValue<int>("id"), lower);

  auto none = json({"list", "--filter", "val_accuracy>2"});
  EXPECT_EQ(none->getArray("runs")->size(), 0u);
  auto finished = json({"list", "--status", "finished", "--experiment", "other"});
  EXPECT_EQ(finished->getArray("runs")->size(), 1u);

  Result text = runs({"list", "--limit", "1"});
  EXPECT_THAT(text.out, HasSubstr("(1 of 3 matching runs shown; --limit 0 shows all)"));

  // Pages: --offset skips runs in the listing's order; together the pages are the listing.
  auto everything = json({"list", "--sort", "val_loss"});
  std::vector<int> whole, paged;
  for (std::size_t i = 0; i < everything->getArray("runs")->size(); ++i) {
    whole.push_back(everything->getArray("runs")->getObject(i)->getValue<int>("id"));
  }
  for (const char* offset : {"0", "2"}) {
    auto page = json({"list", "--sort", "val_loss", "--limit", "2", "--offset", offset});
    EXPECT_EQ(page->getValue<int>("matched"), 3);
    for (std::size_t i = 0; i < page->getArray("runs")->size(); ++i) {
      paged.push_back(page->getArray("runs")->getObject(i)->getValue<int>("id"));
    }
  }
  EXPECT_EQ(paged, whole);
  Result page_two = runs({"list", "--limit", "1", "--offset", "1"});
  EXPECT_THAT(page_two.out, HasSubstr("(runs 2 to 2 of 3 matching shown; --limit 0 shows all)"));
  EXPECT_THAT(runs({"list", "--offset", "-1"}).err, HasSubstr("--offset"));
  EXPECT_EQ(runs({"show", "1", "--offset", "1"}).code, 2);
}

TEST_F(RunsCli, BadInputIsExitTwoWithAClearError) {
  Result filter = runs({"list", "--filter", "val_accuracy>>0.8"});
  EXPECT_EQ(filter.code, 2);
  EXPECT_THAT(filter.err, HasSubstr("bad filter 'val_accuracy>>0.8': '>0.8' is not a number"));
  Result name = runs({"list", "--filter", "val accuracy>0.8"});
  EXPECT_EQ(name.code, 2);
  EXPECT_THAT(name.err, HasSubstr("metric name 'val accuracy'"));
  Result status = runs({"list", "--status", "done"});
  EXPECT_EQ(status.code, 2);
  EXPECT_THAT(status.err, HasSubstr("unknown run status 'done'"));
  Result unknown = runs({"show", "99"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("no run 99 in fs:"));
  Result id = runs({"show", "abc"});
  EXPECT_EQ(id.code, 2);
  EXPECT_THAT(id.err, HasSubstr("the run ID must be a whole number from 1, got 'abc'"));
  Result experiment = runs({"list", "--experiment", "nope"});
  EXPECT_EQ(experiment.code, 2);
  EXPECT_THAT(experiment.err, HasSubstr("no experiment 'nope'"));
  EXPECT_THAT(experiment.err, HasSubstr("(experiments: other, train)"));
  Result desc = runs({"list", "--desc"});
  EXPECT_EQ(desc.code, 2);
  EXPECT_THAT(desc.err, HasSubstr("--desc needs --sort METRIC"));
  Result action = runs({"delete", "1"});
  EXPECT_EQ(action.code, 2);
  EXPECT_THAT(action.err, HasSubstr("unknown subcommand 'runs delete'"));
  Result no_config = ws_.aimass({"runs", "list"});
  EXPECT_EQ(no_config.code, 2);
  EXPECT_THAT(no_config.err, HasSubstr("needs --config CONFIG"));
}

TEST_F(RunsCli, StorageUriOpensTheStoreDirectly) {
  const std::string uri = "file://" + (ws_.dir() / "store").string();
  Result r = ws_.aimass({"runs", "show", "3", "--json", "--storage", uri});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(parseObject(r.out)->getValue<std::string>("experiment"), "other");
  Result both = runs({"list", "--storage", uri});
  EXPECT_EQ(both.code, 2);
  EXPECT_THAT(both.err, HasSubstr("needs only one of --config CONFIG or --storage URI"));
}

TEST(RunsCliOutcomes, SigtermMarksTheRunKilledAndSigkillIsFailedOnTheNextOpen) {
  Workspace ws;
  const std::string config = ws.config("long", 1000000);
  {
    AimassProcess process({"run", config});
    ASSERT_TRUE(process.waitForStderr("tracking run 1 in experiment 'long'"));
    ASSERT_TRUE(process.waitForStderr("epoch 1/1000000"));
    process.signal(SIGTERM);
    Result r = process.wait();
    EXPECT_EQ(r.code, 1) << r.err;
  }
  {
    AimassProcess process({"run", config});
    ASSERT_TRUE(process.waitForStderr("tracking run 2 in experiment 'long'"));
    // It resumes from the checkpoint the stopped run wrote, so its first epoch is not 1.
    ASSERT_TRUE(process.waitForStderr("val_accuracy="));
    process.signal(SIGKILL);
    EXPECT_EQ(process.wait().code, 128 + SIGKILL);
  }
  Result listed = ws.aimass({"runs", "list", "--json", "--config", config});
  ASSERT_EQ(listed.code, 0) << listed.err;
  Array::Ptr items = parseObject(listed.out)->getArray("runs");
  ASSERT_EQ(items->size(), 2u);
  Object::Ptr killed = items->getObject(1);
  EXPECT_EQ(killed->getValue<int>("id"), 1);
  EXPECT_EQ(killed->getValue<std::string>("status"), "killed");
  EXPECT_THAT(killed->getValue<std::string>("error"), HasSubstr("was stopped"));
  Object::Ptr failed = items->getObject(0);
  EXPECT_EQ(failed->getValue<int>("id"), 2);
  EXPECT_EQ(failed->getValue<std::string>("status"), "failed") << "not left running";
  EXPECT_THAT(failed->getValue<std::string>("error"), HasSubstr("ended without finishing"));

  Result running = ws.aimass({"runs", "list", "--status", "running", "--config", config});
  EXPECT_EQ(running.code, 0) << running.err;
  EXPECT_EQ(running.out, "no runs\n");
}

TEST(RunsCliOutcomes, TrackFalseRecordsNothing) {
  Workspace ws;
  const std::string config = ws.config("quiet", 1, ", track: false");
  Result run = ws.aimass({"run", config});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.err, ::testing::Not(HasSubstr("tracking run")));
  Result listed = ws.aimass({"runs", "list", "--config", config});
  EXPECT_EQ(listed.code, 0) << listed.err;
  EXPECT_EQ(listed.out, "no runs\n");
}

TEST(RunsCliOutcomes, AnEvaluationRunShowsItsReport) {
  Workspace ws;
  // A job.evaluate with the store after the job.train: run 1 trains, run 2 evaluates.
  const std::string config =
      ws.config("scored", 1,
                "}\n  score: {type: job.evaluate, model: pump_state, dataset: pumps, "
                "storage: store, after: train");
  Result run = ws.aimass({"run", config});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.err, HasSubstr("recorded the evaluation as run 2 of experiment 'evaluation', "
                                 "of model version pump_state/1"));
  Result text = ws.aimass({"runs", "show", "2", "--config", config});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("node        score (job.evaluate)\n"));
  EXPECT_THAT(text.out, ::testing::ContainsRegex("\n  model_version +pump_state/1\n"));
  EXPECT_THAT(text.out, ::testing::ContainsRegex("\n  accuracy +[0-9.]+ "));
  EXPECT_THAT(text.out, HasSubstr("evaluation\n  task        classification, 300 rows of "
                                  "dataset 'pumps', model 'pump_state'\n  confusion   3 x 3"));
  EXPECT_THAT(text.out, HasSubstr("  report      GET /api/v1/runs/2/evaluation"));
  Result json = ws.aimass({"runs", "show", "2", "--json", "--config", config});
  ASSERT_EQ(json.code, 0) << json.err;
  Object::Ptr report = parseObject(json.out)->getObject("evaluation");
  ASSERT_TRUE(report) << json.out;
  EXPECT_EQ(report->getValue<std::string>("job"), "score");
  EXPECT_EQ(report->getArray("confusion_matrix")->size(), 3U);
  // job.train's run has no evaluation: neither the section nor the field.
  Result trained = ws.aimass({"runs", "show", "1", "--json", "--config", config});
  ASSERT_EQ(trained.code, 0) << trained.err;
  EXPECT_FALSE(parseObject(trained.out)->has("evaluation"));
}

}  // namespace
