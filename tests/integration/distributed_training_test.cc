// SPDX-License-Identifier: Apache-2.0
// Data-parallel job.train as users run it: `mpirun -np N aimass run CONFIG` with collective.mpi
// on a storage.sqlite store. Two ranks follow the one-rank run of the same global batch; rank
// 0 alone saves and registers; a run stopped on 2 ranks resumes on 1; a rank that dies ends
// the job, naming it, with the last checkpoint intact.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "aimass_process.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using aimass::testing::kHangLimit;
using aimass::testing::readFile;
using aimass::testing::runAimass;
using aimass::testing::writeFile;
using ::testing::HasSubstr;

/// 480 rows of 8 features in [-1, 1) and a class (0, 1 or 2) that a small MLP learns over a
/// few epochs: the sign pattern of two weighted sums, with a little label noise.
std::string twoSumsCsv() {
  std::string text = "a,b,c,d,e,f,g,h,label\n";
  std::uint64_t state = 424242;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return static_cast<double>(state % 2000000) / 1000000.0 - 1.0;
  };
  char cell[32];
  for (int row = 0; row < 480; ++row) {
    double x[8];
    for (double& v : x) {
      v = next();
      std::snprintf(cell, sizeof(cell), "%.5f,", v);
      text += cell;
    }
    const double first = x[0] + 0.5 * x[1] - x[2];
    const double second = x[3] - x[4] + 0.25 * x[5];
    int label = first > 0 ? (second > 0 ? 0 : 1) : 2;
    if (next() > 0.96) {
      label = (label + 1) % 3;
    }
    text += std::to_string(label) + "\n";
  }
  return text;
}

constexpr const char* kConfig = R"(threads: 1
nodes:
  world: {type: collective.mpi, timeout_seconds: 120}
  store: {type: storage.sqlite, path: "${STORE}/store.db"}
  rows: {type: dataset.csv, path: rows.csv, label: label}
  clf: {type: model.mlp, hidden: [16], activation: relu}
  adam: {type: optimizer.adam, learning_rate: 0.01}
  train:
    type: job.train
    model: clf
    dataset: rows
    optimizer: adam
    storage: store
    collective: world
    epochs: ${EPOCHS}
    batch_size: ${BATCH}
    validation_fraction: 0.2
    seed: 3
)";

/// `mpirun --oversubscribe -np N aimass run distributed.yaml` in `dir`, with STORE, BATCH and
/// EPOCHS set, its output in files; killed with its ranks (its process group) when dropped.
class MpiRun {
 public:
  /// `env` must hold STORE: the run's output goes to files in that folder.
  MpiRun(const fs::path& dir, int ranks, const std::map<std::string, std::string>& env)
      : dir_(env.at("STORE")) {
    const std::string output = dir_.string() + "/mpirun-" + std::to_string(++runs_);
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      int out = open((output + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int err = open((output + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(out, STDOUT_FILENO);
      dup2(err, STDERR_FILENO);
      if (chdir(dir.c_str()) != 0) {
        _exit(126);
      }
      // Open MPI starts as root only when told twice; test machines often run as root.
      setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
      setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
      // Containers may forbid the cross-memory attach of the shared-memory transport.
      setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
      unsetenv("AIMASS_PLUGIN_PATH");
      for (const auto& [name, value] : env) {
        setenv(name.c_str(), value.c_str(), 1);
      }
      aimass::testing::execProgram(AIMASS_MPIEXEC, {"--oversubscribe", "-np",
                                                    std::to_string(ranks), AIMASS_EXECUTABLE,
                                                    "run", "distributed.yaml"});
    }
  }
  ~MpiRun() {
    if (pid_ > 0 && code_ == kRunning) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  MpiRun(const MpiRun&) = delete;
  MpiRun& operator=(const MpiRun&) = delete;

  /// The exit code (128 + signal when killed); kRunning while it runs.
  int poll() {
    int status = 0;
    if (code_ == kRunning && waitpid(pid_, &status, WNOHANG) == pid_) {
      code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return code_;
  }
  int wait() {
    const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    while (poll() == kRunning) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "mpirun did not finish; stderr so far:\n" << err();
        return kRunning;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return code_;
  }
  /// Waits until stderr contains `text`; false when the run ended first or took too long.
  bool waitFor(const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    while (err().find(text) == std::string::npos) {
      if (poll() != kRunning || std::chrono::steady_clock::now() > deadline) {
        return err().find(text) != std::string::npos;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  void signal(int sig) { kill(pid_, sig); }
  std::string err() const { return readFile(dir_ / ("mpirun-" + std::to_string(run_) + ".err")); }
  std::string out() const { return readFile(dir_ / ("mpirun-" + std::to_string(run_) + ".out")); }

  static constexpr int kRunning = -1;

 private:
  static inline int runs_ = 0;  ///< runs started by this test process
  fs::path dir_;
  int run_ = runs_ + 1;
  pid_t pid_ = -1;
  int code_ = kRunning;
};

class DistributedTraining : public ::testing::Test {
 protected:
  void SetUp() override {
    writeFile(dir_.path() / "rows.csv", twoSumsCsv());
    writeFile(dir_.path() / "distributed.yaml", kConfig);
  }
  std::map<std::string, std::string> env(const std::string& store, int batch, int epochs) {
    fs::create_directories(dir_.path() / store);
    return {{"STORE", (dir_.path() / store).string()},
            {"BATCH", std::to_string(batch)},
            {"EPOCHS", std::to_string(epochs)}};
  }
  /// `aimass CLI... --config distributed.yaml` on the store `store`, its stdout.
  std::string cli(const std::string& store, std::vector<std::string> args) {
    setenv("STORE", (dir_.path() / store).string().c_str(), 1);
    setenv("BATCH", "1", 1);
    setenv("EPOCHS", "1", 1);
    args.insert(args.end(), {"--config", (dir_.path() / "distributed.yaml").string()});
    const fs::path out = dir_.path() / ("cli-" + store);
    fs::create_directories(out);
    auto result = runAimass(out, std::move(args));
    EXPECT_EQ(result.code, 0) << result.err;
    return result.out;
  }
  aimass::testing::TempDir dir_{"aimass-distributed"};
};

/// The pid of rank `rank` of the run whose STORE is `store`: the process whose environment
/// holds both (Open MPI gives every rank OMPI_COMM_WORLD_RANK); 0 when there is none.
pid_t rankPid(const std::string& store, int rank) {
  const std::string want_store = "STORE=" + store;
  const std::string want_rank = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    const std::string environ = readFile(entry.path() / "environ");
    bool store_seen = false;
    bool rank_seen = false;
    for (std::size_t at = 0; at < environ.size();) {
      const std::size_t end = environ.find('\0', at);
      const std::string variable = environ.substr(at, end - at);
      store_seen = store_seen || variable == want_store;
      rank_seen = rank_seen || variable == want_rank;
      at = end == std::string::npos ? environ.size() : end + 1;
    }
    if (store_seen && rank_seen && readFile(entry.path() / "cmdline").find("run") !=
                                       std::string::npos) {
      return static_cast<pid_t>(std::stol(name));
    }
  }
  return 0;
}

/// The "epoch N/M: loss=... val_loss=..." figures rank 0 logged, epoch by epoch.
std::vector<std::map<std::string, double>> epochFigures(const std::string& log) {
  std::vector<std::map<std::string, double>> epochs;
  const std::regex line(R"(epoch (\d+)/\d+: ([^\n]*))");
  const std::regex figure(R"((\w+)=([-0-9.e]+))");
  for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it) {
    std::map<std::string, double> figures;
    const std::string rest = (*it)[2];
    for (std::sregex_iterator f(rest.begin(), rest.end(), figure); f != end; ++f) {
      figures[(*f)[1]] = std::stod((*f)[2]);
    }
    if (figures.count("loss") > 0) {
      epochs.push_back(std::move(figures));
    }
  }
  return epochs;
}

TEST_F(DistributedTraining, TwoRanksFollowTheOneRankRunOfTheSameGlobalBatch) {
  MpiRun two(dir_.path(), 2, env("two", 16, 4));
  ASSERT_EQ(two.wait(), 0) << two.err();
  MpiRun one(dir_.path(), 1, env("one", 32, 4));
  ASSERT_EQ(one.wait(), 0) << one.err();

  const auto two_epochs = epochFigures(two.err());
  const auto one_epochs = epochFigures(one.err());
  ASSERT_EQ(two_epochs.size(), 4U) << two.err();
  ASSERT_EQ(one_epochs.size(), 4U) << one.err();
  for (std::size_t e = 0; e < 4; ++e) {
    for (const char* name : {"loss", "val_loss", "val_accuracy"}) {
      // Printed with four decimals: equal up to the last printed digit.
      EXPECT_NEAR(two_epochs[e].at(name), one_epochs[e].at(name), 2e-4)
          << name << " of epoch " << e + 1;
    }
  }
  EXPECT_LT(two_epochs.back().at("loss"), two_epochs.front().at("loss"));
  // Each rank logs with its rank; rank 1 trains but leaves saving to rank 0.
  EXPECT_THAT(two.err(), HasSubstr("[rank 1]"));
  EXPECT_THAT(two.err(), HasSubstr("trained on rank 1; rank 0 saves it"));
  EXPECT_THAT(two.err(), HasSubstr("data-parallel over 2 ranks: global batch 32 (16 rows a rank)"));
  EXPECT_THAT(two.err(), ::testing::ContainsRegex("comm_share=[0-9.]+"));
  // One tracked run and one registered version, from rank 0.
  EXPECT_THAT(cli("two", {"models", "list"}), HasSubstr("clf"));
  const std::string runs = cli("two", {"runs", "list", "--json"});
  const std::regex id(R"("id"\s*:)");
  EXPECT_EQ(std::distance(std::sregex_iterator(runs.begin(), runs.end(), id),
                          std::sregex_iterator()),
            1)
      << runs;
}

TEST_F(DistributedTraining, ARunStoppedOnTwoRanksResumesOnOne) {
  {
    MpiRun two(dir_.path(), 2, env("store", 16, 3000));
    ASSERT_TRUE(two.waitFor("epoch 3/3000")) << two.err();
    // A preemption signal to every rank (Open MPI's mpirun, given SIGTERM itself, may kill the
    // ranks before they agree on a step to stop at).
    for (int rank : {0, 1}) {
      const pid_t pid = rankPid((dir_.path() / "store").string(), rank);
      ASSERT_GT(pid, 0) << "rank " << rank;
      kill(pid, SIGTERM);
    }
    two.wait();
    EXPECT_THAT(two.err(), HasSubstr("written, run again to resume")) << two.err();
    EXPECT_THAT(two.err(), ::testing::Not(HasSubstr("saved model")));
  }
  // One rank with batch 32 keeps the global batch of 2 x 16: the checkpoint matches.
  MpiRun one(dir_.path(), 1, env("store", 32, 3000));
  ASSERT_EQ(one.wait(), 0) << one.err();
  EXPECT_THAT(one.err(), HasSubstr("resuming from checkpoint 'checkpoints/train'"));
  EXPECT_THAT(one.err(), ::testing::Not(HasSubstr("another configuration")));
  EXPECT_THAT(one.err(), HasSubstr("saved model 'clf'"));
  // 384 training rows in global batches of 32: 12 steps an epoch, 36000 in all, whichever
  // process took them. (Many short epochs, so the stop lands long before the end.)
  EXPECT_THAT(one.err(), HasSubstr("(36000 steps on 384 rows"));
}

TEST_F(DistributedTraining, ARankThatDiesEndsTheJobAndTheCheckpointStaysGood) {
  {
    MpiRun two(dir_.path(), 2, env("store", 16, 400));
    ASSERT_TRUE(two.waitFor("epoch 3/400")) << two.err();
    const pid_t victim = rankPid((dir_.path() / "store").string(), 1);
    ASSERT_GT(victim, 0);
    kill(victim, SIGKILL);
    const int code = two.wait();
    EXPECT_NE(code, 0);
    EXPECT_NE(code, MpiRun::kRunning);
    EXPECT_THAT(two.err() + two.out(), ::testing::ContainsRegex("process rank [01]"));
  }
  // The checkpoint rank 0 wrote after an earlier epoch is whole: a new run resumes from it.
  MpiRun again(dir_.path(), 2, env("store", 16, 400));
  ASSERT_EQ(again.wait(), 0) << again.err();
  EXPECT_THAT(again.err(), HasSubstr("resuming from checkpoint 'checkpoints/train'"));
}

}  // namespace
