// SPDX-License-Identifier: Apache-2.0
// job.tune as users run it (`aimass run`, real processes): a small study on the bundled pumps
// CSV with trials in worker processes and pruning, killed with SIGKILL mid-study and resumed
// without repeating finished trials; trials that fail (an invalid combination, a diverging
// run) recorded with their reason while the study goes on; a study whose every trial fails
// ending with exit 1 and the most common reason; space errors at their FILE:LINE:COL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aimass_process.h"
#include "temp_dir.h"
#include "tune/study.h"

namespace {

namespace fs = std::filesystem;
using aimass::core::parseTrial;
using aimass::core::Trial;
using aimass::testing::AimassProcess;
using aimass::testing::kHangLimit;
using aimass::testing::readFile;
using aimass::testing::writeFile;
using ::testing::HasSubstr;

using Result = aimass::testing::AimassResult;

/// A folder with a configuration over the pumps CSV and a storage.fs store at `store/`.
class Workspace {
 public:
  const fs::path& dir() const { return temp_.path(); }

  /// A job.tune over model.mlp + optimizer.adam on pumps.csv; `tune_extra` is appended to the
  /// job.tune node, `space` replaces its search space, `epochs` sets the trial job's epochs.
  std::string config(const std::string& name, const std::string& tune_extra,
                     const std::string& space, int epochs = 8) const {
    const fs::path file = dir() / name;
    const std::string csv =
        (fs::path(AIMASS_SOURCE_DIR) / "configs" / "data" / "pumps.csv").string();
    writeFile(file,
              "nodes:\n"
              "  store: {type: storage.fs, path: store, fsync: false}\n"
              "  pumps: {type: dataset.csv, path: '" + csv +
                  "', label: state}\n"
                  "  scale: {type: transform.standardize}\n"
                  "  net: {type: model.mlp, hidden: [16], preprocess: [scale]}\n"
                  "  adam: {type: optimizer.adam, learning_rate: 0.01}\n"
                  "  sgd: {type: optimizer.sgd, learning_rate: 0.05}\n"
                  "  train: {type: job.train, model: net, dataset: pumps, optimizer: adam, "
                  "epochs: " + std::to_string(epochs) +
                  ", batch_size: 16, seed: 3, validation_fraction: 0.25, storage: store}\n"
                  "  search: {type: optimizer.random_search, seed: 1}\n"
                  "  tune:\n"
                  "    type: job.tune\n"
                  "    trial: train\n"
                  "    optimizer: search\n"
                  "    objective: val_accuracy\n" +
                  tune_extra + "    space:\n" + space);
    return file.string();
  }

  static std::string defaultSpace() {
    return "      adam.learning_rate: {log_uniform: [1.0e-4, 0.1]}\n"
           "      net.hidden: {choice: [[8], [32, 16]]}\n"
           "      train.batch_size: {int: [8, 64]}\n";
  }

  Result run(const std::vector<std::string>& args) const {
    return aimass::testing::runAimass(dir(), args);
  }

  /// The study's trial records in the store, by number.
  std::map<std::uint64_t, Trial> trials(const std::string& study = "tune") const {
    std::map<std::uint64_t, Trial> out;
    const fs::path folder = dir() / "store" / "data" / "tune" / study / "trials";
    if (!fs::exists(folder)) {
      return out;
    }
    for (const auto& entry : fs::directory_iterator(folder)) {
      auto trial = parseTrial(readFile(entry.path()));
      if (trial.ok()) {
        out[trial->number] = *trial;
      }
    }
    return out;
  }

  std::size_t finished(const std::map<std::uint64_t, Trial>& trials) const {
    std::size_t n = 0;
    for (const auto& [number, t] : trials) {
      n += t.state != Trial::State::kRunning ? 1 : 0;
    }
    return n;
  }

 private:
  aimass::testing::TempDir temp_;
};

/// Processes whose command line names `config`: the tuner's workers carry it.
std::vector<std::string> processesNaming(const std::string& config) {
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string cmdline = readFile(entry.path() / "cmdline");
    if (cmdline.find(config) != std::string::npos) {
      found.push_back(entry.path().filename().string());
    }
  }
  return found;
}

TEST(TuneJob, RunsTrialsInWorkersPrunesTracksAndRegistersTheBest) {
  Workspace w;
  const std::string config = w.config(
      "tune.yaml", "    trials: 8\n    parallel: 2\n    pruner: successive_halving\n",
      Workspace::defaultSpace());
  Result r = w.run({"run", config});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("8 trials:"));
  EXPECT_THAT(r.err, HasSubstr("registered net version 1"));
  const auto trials = w.trials();
  ASSERT_EQ(trials.size(), 8u);
  std::size_t pruned = 0;
  std::set<std::int64_t> runs;
  for (const auto& [number, t] : trials) {
    ASSERT_NE(t.state, Trial::State::kRunning) << "trial " << number;
    ASSERT_NE(t.state, Trial::State::kFailed) << t.reason;
    ASSERT_TRUE(t.value.has_value());
    EXPECT_FALSE(t.intermediate.empty());
    EXPECT_EQ(*t.value, t.intermediate.rbegin()->second) << "the last epoch's objective";
    EXPECT_NE(t.run_id, 0) << "every trial is a tracked run";
    runs.insert(t.run_id);
    if (t.state == Trial::State::kPruned) {
      ++pruned;
      EXPECT_THAT(t.reason, HasSubstr("pruned at epoch"));
      EXPECT_LT(t.intermediate.rbegin()->first, 8u) << "a pruned trial stops before the end";
    }
  }
  EXPECT_EQ(runs.size(), 8u);
  EXPECT_GT(pruned, 0u) << "successive halving prunes some of 8 trials at rungs 1 and 3";

  Result listed = w.run({"runs", "list", "--config", config, "--experiment", "tune"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  const std::string& runs_out = listed.out;
  EXPECT_EQ(std::count(runs_out.begin(), runs_out.end(), '\n'), 9) << runs_out;

  // A second run finds the study done: nothing runs again, nothing new is registered.
  Result again = w.run({"run", config});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.err, HasSubstr("continuing study 'tune': 8 trials done, 0 to run again"));
  EXPECT_THAT(again.err, ::testing::Not(HasSubstr("registered net version 2")));
}

TEST(TuneJob, WithACollectiveTheStudyIsSharedThroughStorageAsOneRankOfMany) {
  // collective.local: one rank, but every change goes through the shared study's lock,
  // leases and reopening (the multi-rank runs are tune_mpi_ranks_share_a_study, under mpirun).
  Workspace w;
  const std::string config = w.config(
      "tune.yaml",
      "    trials: 5\n    parallel: 2\n    pruner: successive_halving\n    collective: comm\n",
      Workspace::defaultSpace() + "  comm: {type: collective.local}\n");
  Result r = w.run({"run", config});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("of 1 shares study 'tune'"));
  EXPECT_THAT(r.err, HasSubstr("registered net version 1"));
  const auto trials = w.trials();
  ASSERT_EQ(trials.size(), 5u);
  for (const auto& [number, t] : trials) {
    EXPECT_NE(t.state, Trial::State::kRunning) << "trial " << number;
    EXPECT_THAT(t.worker, HasSubstr("rank 0, pid ")) << "trial " << number;
    EXPECT_FALSE(t.intermediate.empty()) << "epochs are reported through the storage";
  }
  const fs::path leases = w.dir() / "store" / "data" / "tune" / "tune" / "leases";
  EXPECT_TRUE(!fs::exists(leases) || fs::is_empty(leases)) << "every lease is given back";

  Result again = w.run({"run", config});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.err, HasSubstr("5 of 5 trials ended so far"));
  EXPECT_THAT(again.err, ::testing::Not(HasSubstr("registered net version 2")));
}

TEST(TuneJob, KilledWithSigkillMidStudyResumesWithoutRepeatingFinishedTrials) {
  Workspace w;
  const std::string config =
      w.config("tune.yaml", "    trials: 14\n    parallel: 2\n", Workspace::defaultSpace(), 40);
  std::map<std::uint64_t, Trial> before;
  {
    AimassProcess process(w.dir(), {"run", config});
    const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    while (process.running() && w.finished(w.trials()) < 3 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_TRUE(process.running()) << "the study ended before the kill:\n" << process.err();
    process.signal(SIGKILL);
    ASSERT_EQ(process.wait(), 128 + SIGKILL);
    before = w.trials();
  }
  // The workers die with the tuner (PR_SET_PDEATHSIG), a moment after it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!processesNaming(config).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_THAT(processesNaming(config), ::testing::IsEmpty()) << "workers outlived a SIGKILL";
  ASSERT_GE(w.finished(before), 3u);
  ASSERT_LT(w.finished(before), 14u);

  Result r = w.run({"run", config});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("continuing study 'tune'"));
  const auto after = w.trials();
  EXPECT_EQ(w.finished(after), 14u) << "the budget counts the trials of both runs";
  EXPECT_EQ(after.size(), 14u) << "interrupted trials ran again under their own numbers";
  for (const auto& [number, t] : before) {
    if (t.state == Trial::State::kRunning) {
      continue;
    }
    ASSERT_TRUE(after.count(number));
    EXPECT_EQ(after.at(number).ended, t.ended) << "finished trial " << number << " ran again";
    EXPECT_EQ(after.at(number).value, t.value);
  }
  for (const auto& [number, t] : after) {
    EXPECT_NE(t.state, Trial::State::kRunning) << "trial " << number;
  }
}

TEST(TuneJob, SigtermStopsTheTunerAndItsWorkersAndTheStudyContinuesAfterwards) {
  Workspace w;
  const std::string config =
      w.config("tune.yaml", "    trials: 10\n    parallel: 2\n", Workspace::defaultSpace(), 40);
  {
    AimassProcess process(w.dir(), {"run", config});
    const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    while (process.running() && w.finished(w.trials()) < 2 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_TRUE(process.running()) << "the study ended before the signal:\n" << process.err();
    process.signal(SIGTERM);
    EXPECT_EQ(process.wait(), 1);
    EXPECT_THAT(process.err(), HasSubstr("cancelled"));
  }
  // No worker outlives the tuner: each trial's worker runs with the configuration's path.
  EXPECT_THAT(processesNaming(config), ::testing::IsEmpty());
  Result r = w.run({"run", config});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("continuing study 'tune'"));
  EXPECT_EQ(w.finished(w.trials()), 10u);
  EXPECT_EQ(w.trials().size(), 10u);
}

TEST(TuneJob, AConditionalDimensionIsSearchedOnlyWhenItsChoiceIsTaken) {
  Workspace w;
  const std::string config = w.config(
      "tune.yaml", "    trials: 12\n",
      "      net.hidden: {choice: [[8], [32, 16]]}\n"
      "      net.dropout: {uniform: [0.1, 0.5], when: {net.hidden: [[32, 16]]}}\n"
      "      train.lr_schedule: {choice: [constant, step]}\n"
      "      train.lr_step_epochs: {int: [1, 4], when: {train.lr_schedule: step}}\n",
      3);
  Result r = w.run({"run", config});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto trials = w.trials();
  ASSERT_EQ(trials.size(), 12u);
  std::set<bool> seen;
  for (const auto& [number, t] : trials) {
    ASSERT_EQ(t.values.size(), 4u);
    EXPECT_EQ(std::isnan(t.values[1]), t.values[0] != 1) << "trial " << number;
    EXPECT_EQ(std::isnan(t.values[3]), t.values[2] != 1) << "trial " << number;
    if (!std::isnan(t.values[1])) {
      EXPECT_GE(t.values[1], 0.1);
      EXPECT_LE(t.values[1], 0.5);
    }
    seen.insert(std::isnan(t.values[1]));
    EXPECT_EQ(t.state, Trial::State::kComplete) << t.reason;
  }
  EXPECT_EQ(seen.size(), 2u) << "12 trials take both branches";
  EXPECT_THAT(r.err, HasSubstr("parameter importances (aimass tune show tune): "));
}

TEST(TuneJob, AWorkerKilledMidTrialFailsThatTrialAloneAndANewWorkerGoesOn) {
  Workspace w;
  const std::string config =
      w.config("tune.yaml", "    trials: 5\n", Workspace::defaultSpace(), 60);
  AimassProcess process(w.dir(), {"run", config});
  const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
  std::vector<std::string> workers;
  while (process.running() && std::chrono::steady_clock::now() < deadline) {
    const auto trials = w.trials();
    if (trials.size() == 2 && trials.at(1).state == Trial::State::kRunning) {
      for (const auto& pid : processesNaming(config)) {
        if (readFile(fs::path("/proc") / pid / "cmdline").find("worker") != std::string::npos) {
          workers.push_back(pid);
        }
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(workers.size(), 1u) << "one worker runs the trials one after another";
  kill(std::stoi(workers[0]), SIGKILL);
  ASSERT_EQ(process.wait(), 0) << process.err();
  const auto trials = w.trials();
  ASSERT_EQ(trials.size(), 5u);
  EXPECT_EQ(trials.at(1).state, Trial::State::kFailed);
  EXPECT_THAT(trials.at(1).reason, HasSubstr("was killed by signal 9"));
  for (const auto& [number, t] : trials) {
    if (number != 1) {
      EXPECT_NE(t.state, Trial::State::kFailed) << "trial " << number << ": " << t.reason;
    }
  }
}

TEST(TuneJob, FailedTrialsAreRecordedWithTheirReasonAndTheStudyGoesOn) {
  Workspace w;
  // sgd refuses nesterov without momentum when its node is made: those trials fail.
  const std::string config = w.config(
      "tune.yaml", "    trials: 8\n",
      "      sgd.nesterov: {choice: [true, false]}\n"
      "      sgd.momentum: {choice: [0, 0.9]}\n");
  writeFile(config, readFile(config).replace(readFile(config).find("optimizer: adam"), 15,
                                             "optimizer: sgd"));
  Result r = w.run({"run", config});
  ASSERT_EQ(r.code, 0) << r.err;
  std::size_t failed = 0;
  for (const auto& [number, t] : w.trials()) {
    if (t.state == Trial::State::kFailed) {
      ++failed;
      EXPECT_THAT(t.reason, HasSubstr("nesterov"));
    }
  }
  EXPECT_GT(failed, 0u);
  EXPECT_LT(failed, 8u);
}

TEST(TuneJob, AStudyWhoseEveryTrialFailsExitsOneNamingTheMostCommonReason) {
  Workspace w;
  // Learning rates this large make the loss overflow: every trial diverges.
  const std::string config = w.config("tune.yaml", "    trials: 3\n",
                                      "      adam.learning_rate: {log_uniform: [1.0e+30, 1.0e+35]}\n");
  Result r = w.run({"run", config});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("every trial of study 'tune' failed (3)"));
  EXPECT_THAT(r.err, HasSubstr("loss became NaN"));
}

TEST(TuneJob, SpaceErrorsNameTheirPlace) {
  Workspace w;
  const std::string config = w.config(
      "bad.yaml", "    trials: 3\n",
      "      adam.learning_rat: {log_uniform: [1.0e-4, 0.1]}\n"
      "      nett.hidden: {choice: [[8]]}\n"
      "      net.hidden: {choice: [[8], oops]}\n"
      "      train.epochs: {int: [0, 5]}\n"
      "      adam.learning_rate: {uniform: [0.1, 0.01]}\n"
      "      train.batch_size: {choice: [8, 16], when: {net.hidden: [[64]]}}\n"
      "      sgd.momentum: {choice: [0.5]}\n");
  Result r = w.run({"validate", config});
  EXPECT_EQ(r.code, 2);
  const std::string file = (w.dir() / "bad.yaml").string();
  EXPECT_THAT(r.err, HasSubstr(file + ":17:7: error: space key 'adam.learning_rat': "
                                      "optimizer.adam has no parameter 'learning_rat'"));
  EXPECT_THAT(r.err, HasSubstr("did you mean 'learning_rate'?"));
  EXPECT_THAT(r.err, HasSubstr(file + ":18:7: error: space key 'nett.hidden' names an unknown "
                                      "node 'nett'"));
  EXPECT_THAT(r.err, HasSubstr(file + ":19:34: error: parameter 'hidden' of node 'net' must be "
                                      "an integer, but is 'oops'"));
  EXPECT_THAT(r.err, HasSubstr(file + ":20:28: error: parameter 'epochs' of node 'train' must "
                                      "be at least 1, but is 0"));
  EXPECT_THAT(r.err, HasSubstr(file + ":21:28: error: space key 'adam.learning_rate': uniform "
                                      "needs LOW < HIGH, got [0.1, 0.01]"));
  EXPECT_THAT(r.err, HasSubstr(file + ":22:50: error: space key 'train.batch_size': when names "
                                      "'net.hidden', which is not an earlier choice"));
  EXPECT_THAT(r.err, HasSubstr(file + ":23:7: error: space key 'sgd.momentum': node 'sgd' is "
                                      "not used by the trial job"));
  EXPECT_THAT(r.err, HasSubstr("7 errors in " + file));
}

}  // namespace
