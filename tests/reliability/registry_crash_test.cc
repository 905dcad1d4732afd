// SPDX-License-Identifier: Apache-2.0
// Kill -9 at random points of registry changes and of training runs, many times, on a
// storage.sqlite and a storage.fs store: after every kill the store must open, pass its
// integrity check, hold each change whole or not at all, and still hold every change the
// killed process had been told succeeded.
#include <fcntl.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "acknowledged_writes.h"
#include "aimass/core/dataset_registry.h"
#include "aimass/core/registry.h"
#include "fs.h"
#include "sqlite.h"
#include "temp_dir.h"

namespace aimass::core {
namespace {

namespace fs = std::filesystem;
using aimass::testing::TempDir;
using plugins::storage::FsStorage;
using plugins::storage::SqliteStorage;
using Clock = std::chrono::steady_clock;

/// Each kill loop runs until this much time has passed and it has killed at least its minimum
/// number of times (kMinRegistryKills for the registry worker, kMinTrainingKills for training
/// runs, which each start `aimass run`), or it reaches kMaxKills rounds: dozens of kills,
/// bounded for CI.
constexpr auto kLoopBudget = std::chrono::seconds(8);
constexpr int kMinRegistryKills = 30;
constexpr int kMinTrainingKills = 5;
constexpr int kMaxKills = 60;

bool keepGoing(Clock::time_point started, int kills, int rounds, int min_kills) {
  return rounds < kMaxKills && (kills < min_kills || Clock::now() - started < kLoopBudget);
}

std::unique_ptr<Storage> openStore(const std::string& backend, const fs::path& path) {
  if (backend == "sqlite") {
    auto storage = SqliteStorage::create(path, 10000);
    EXPECT_TRUE(storage.ok()) << storage.status().toString();
    if (!storage.ok()) return nullptr;
    Status integrity = (*storage)->integrityCheck();
    EXPECT_TRUE(integrity.ok()) << integrity.toString();
    return std::move(storage).value();
  }
  auto storage = FsStorage::create(path, true);
  EXPECT_TRUE(storage.ok()) << storage.status().toString();
  return storage.ok() ? std::move(storage).value() : nullptr;
}

/// The value, or an empty one when `e` holds an error (the caller has already reported it).
template <typename T>
T valueOrEmpty(const Expected<T>& e) {
  return e.ok() ? *e : T{};
}

/// Every invariant a crash must not break; `where` names the round in failures. Returns the
/// number of model versions found, so callers can see the workload made progress.
std::size_t checkStore(Storage& storage, const std::string& where) {
  ModelRegistry models(storage);
  DatasetRegistry datasets(storage);
  std::size_t found = 0;

  auto dataset_names = datasets.listDatasets();
  EXPECT_TRUE(dataset_names.ok()) << where << ": " << dataset_names.status().toString();
  std::map<std::pair<std::string, std::int64_t>, std::string> dataset_hashes;
  for (const auto& name : valueOrEmpty(dataset_names)) {
    auto versions = datasets.listVersions(name);
    EXPECT_TRUE(versions.ok()) << where << ": " << versions.status().toString();
    for (const auto& v : valueOrEmpty(versions)) {
      dataset_hashes[std::make_pair(name, v.version)] = v.sha256;
    }
    // The content index names only complete records holding that content.
    const std::string index = "registry/datasets/" + name + "/by-sha256/";
    for (const auto& key : valueOrEmpty(storage.list(index))) {
      auto number = storage.get(key);
      if (!number.ok()) {
        ADD_FAILURE() << where << ": " << key << ": " << number.status().toString();
        continue;
      }
      auto v = datasets.getVersion(name, std::stoll(*number));
      if (!v.ok()) {
        ADD_FAILURE() << where << ": " << key
                      << " names a missing version: " << v.status().toString();
        continue;
      }
      EXPECT_EQ(v->sha256, key.substr(index.size())) << where;
    }
  }

  auto model_names = models.listModels();
  EXPECT_TRUE(model_names.ok()) << where << ": " << model_names.status().toString();
  for (const auto& model : valueOrEmpty(model_names)) {
    auto versions = models.listVersions(model);
    if (!versions.ok() && versions.status().code() == StatusCode::kNotFound) {
      continue;  // only a counter and no versions or aliases left
    }
    EXPECT_TRUE(versions.ok()) << where << ": " << versions.status().toString();
    std::set<std::int64_t> numbers;
    std::int64_t highest = 0;
    for (const auto& v : valueOrEmpty(versions)) {
      ++found;
      EXPECT_TRUE(numbers.insert(v.version).second)
          << where << ": version " << v.version << " twice";
      highest = std::max(highest, v.version);
      // A record exists only with its artifact, whole: the bytes match the recorded hash.
      Status artifact = models.verifyArtifact(v);
      EXPECT_TRUE(artifact.ok()) << where << ": " << artifact.toString();
      if (!v.dataset_name.empty()) {
        auto data = dataset_hashes.find(std::make_pair(v.dataset_name, v.dataset_version));
        if (data == dataset_hashes.end()) {
          ADD_FAILURE() << where << ": " << model << "/" << v.version << " names dataset "
                        << v.dataset_name << "/" << v.dataset_version << ", which is missing";
        } else {
          EXPECT_EQ(data->second, v.dataset_sha256) << where;
        }
      }
    }
    if (highest > 0) {
      auto counter = storage.get("registry/models/" + model + "/next-version");
      EXPECT_TRUE(counter.ok()) << where << ": " << counter.status().toString();
      if (counter.ok()) {
        EXPECT_GT(std::stoll(*counter), highest) << where << ": the counter would reuse a number";
      }
    }
    auto aliases = models.listAliases(model);
    EXPECT_TRUE(aliases.ok()) << where << ": " << aliases.status().toString();
    for (const auto& alias : valueOrEmpty(aliases)) {
      EXPECT_TRUE(numbers.count(alias.version)) << where << ": " << model << "@" << alias.alias
                                                << " points at missing version " << alias.version;
    }
  }
  return found;
}

/// The file descriptor on which a worker started by spawn() with a report pipe writes.
constexpr int kReportFd = 3;

/// Starts `argv` with stdout and stderr to `log`; returns its pid. With `report` >= 0 (the
/// write end of a pipe), the child has it as kReportFd.
pid_t spawn(std::vector<std::string> argv, const fs::path& log, int report = -1) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    if (report >= 0) ::dup2(report, kReportFd);  // dup2 clears close-on-exec on the copy
    ::unsetenv("AIMASS_PLUGIN_PATH");
    std::vector<char*> args;
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

/// Waits for `pid`; returns its exit code, or 128 + signal.
int reap(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// The read end of a worker's report pipe, split into lines. Reading never blocks longer than
/// asked, so the worker is never held up by a full pipe while the test waits to kill it.
class ReportPipe {
 public:
  ReportPipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read_ = fds[0];
    write_ = fds[1];
  }
  ~ReportPipe() {
    closeWriteEnd();
    if (read_ >= 0) ::close(read_);
  }
  int writeEnd() const { return write_; }
  /// After fork: only the child may hold the write end, so reading sees EOF when it dies.
  void closeWriteEnd() {
    if (write_ >= 0) ::close(write_);
    write_ = -1;
  }

  /// Reads what arrives until `deadline` (or EOF), appending whole lines to `lines`. With
  /// `until_line` set, returns as soon as that line has arrived. Returns false on EOF.
  bool readUntil(Clock::time_point deadline, std::vector<std::string>& lines,
                 const std::string& until_line = "") {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      pollfd poller{.fd = read_, .events = POLLIN, .revents = 0};
      if (::poll(&poller, 1, static_cast<int>(std::max<std::int64_t>(left, 0))) <= 0) {
        return true;  // the deadline passed (or EINTR: the caller's loop goes on)
      }
      char buffer[4096];
      const ssize_t got = ::read(read_, buffer, sizeof buffer);
      if (got <= 0) return false;
      pending_.append(buffer, static_cast<std::size_t>(got));
      bool seen = false;
      for (std::size_t end; (end = pending_.find('\n')) != std::string::npos;) {
        lines.push_back(pending_.substr(0, end));
        seen = seen || (!until_line.empty() && lines.back() == until_line);
        pending_.erase(0, end + 1);
      }
      if (seen) return true;
    }
  }
  /// Bytes after the last newline: a worker writes whole lines, so this must stay empty.
  const std::string& partialLine() const { return pending_; }

 private:
  int read_ = -1;
  int write_ = -1;
  std::string pending_;
};

class CrashLoop : public ::testing::TestWithParam<std::string> {
 protected:
  fs::path storePath() const {
    return GetParam() == "sqlite" ? dir_.path() / "store.db" : dir_.path() / "store";
  }
  TempDir dir_;
  std::mt19937_64 rng_{20240611};
};

TEST_P(CrashLoop, RegistryChangesKilledAtRandomPointsLeaveWholeChangesAndKeepAcknowledgedOnes) {
  const auto started = Clock::now();
  int kills = 0;
  std::size_t versions = 0;
  AcknowledgedWrites acknowledged;
  while (keepGoing(started, kills, kills, kMinRegistryKills)) {
    const fs::path log = dir_.path() / "worker.log";
    fs::remove(log);
    ReportPipe reports;
    pid_t worker = spawn({AIMASS_CRASH_WORKER, GetParam(), storePath().string(),
                          std::to_string(rng_()), std::to_string(kReportFd)},
                         log, reports.writeEnd());
    ASSERT_GT(worker, 0);
    reports.closeWriteEnd();
    // Kill it at a random point of its changes, not while it starts; read its reports
    // meanwhile so that it never waits on a full pipe.
    std::vector<std::string> lines;
    reports.readUntil(Clock::now() + std::chrono::seconds(10), lines, "ready");
    reports.readUntil(Clock::now() + std::chrono::microseconds(rng_() % 150000), lines);
    ::kill(worker, SIGKILL);
    const int code = reap(worker);
    ASSERT_EQ(code, 128 + SIGKILL) << "the worker stopped by itself:\n" << readFile(log);
    ++kills;
    reports.readUntil(Clock::now() + std::chrono::seconds(10), lines);  // the rest, to EOF
    ASSERT_FALSE(lines.empty() || lines[0] != "ready") << "the worker never got ready:\n"
                                                       << readFile(log);
    EXPECT_EQ(reports.partialLine(), "") << "a report line was torn";
    for (const auto& line : lines) acknowledged.apply(line);
    auto store = openStore(GetParam(), storePath());
    ASSERT_NE(store, nullptr);
    const std::string where = "after kill " + std::to_string(kills);
    versions = std::max(versions, checkStore(*store, where));
    acknowledged.checkAndSettle(ModelRegistry(*store), where);
    if (HasFatalFailure() || HasFailure()) break;
  }
  EXPECT_GE(kills, kMinRegistryKills);
  EXPECT_GT(versions, 0u) << "the worker never registered a version";
  // The workload acknowledged each kind of write, and the checks looked at them.
  EXPECT_GT(acknowledged.registrations(), 0);
  EXPECT_GT(acknowledged.aliasMoves(), 0);
  EXPECT_GT(acknowledged.tags(), 0);
  EXPECT_GT(acknowledged.checks(), 0u);
  std::printf("%d kills; acknowledged %d registrations, %d alias moves, %d tags; %zu checks\n",
              kills, acknowledged.registrations(), acknowledged.aliasMoves(), acknowledged.tags(),
              acknowledged.checks());
  // Garbage collection then leaves exactly the referenced artifacts.
  auto store = openStore(GetParam(), storePath());
  ASSERT_NE(store, nullptr);
  ModelRegistry registry(*store);
  auto collected = registry.collectGarbage(false, 0);
  ASSERT_TRUE(collected.ok()) << collected.status().toString();
  auto artifacts = store->list(kModelArtifactsPrefix);
  ASSERT_TRUE(artifacts.ok());
  EXPECT_EQ(artifacts->size(), collected->referenced);
  checkStore(*store, "after garbage collection");
}

TEST_P(CrashLoop, TrainingRunsKilledAtRandomPointsLeaveWholeRegistrations) {
  fs::copy_file(fs::path(AIMASS_SOURCE_DIR) / "configs/data/pumps.csv", dir_.path() / "pumps.csv");
  const std::string store = GetParam() == "sqlite" ? "{type: storage.sqlite, path: store.db}"
                                                   : "{type: storage.fs, path: store}";
  std::ofstream(dir_.path() / "train.yaml")
      << "nodes:\n"
         "  store: "
      << store
      << "\n"
         "  pumps: {type: dataset.csv, path: pumps.csv, label: state}\n"
         "  pump_state: {type: model.softmax}\n"
         "  sgd: {type: optimizer.sgd, learning_rate: 0.05}\n"
         "  train: {type: job.train, model: pump_state, dataset: pumps, optimizer: sgd, "
         "epochs: 3, storage: store}\n";
  const fs::path log = dir_.path() / "run.log";
  const std::vector<std::string> run = {AIMASS_EXECUTABLE, "run",
                                        (dir_.path() / "train.yaml").string()};
  // One whole run first: it must succeed, and its length sets the range the kills fall in
  // (chosen by time, but nothing asserts on time).
  const auto whole_start = Clock::now();
  ASSERT_EQ(reap(spawn(run, log)), 0) << readFile(log);
  const auto whole =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - whole_start);
  const auto started = Clock::now();
  int kills = 0, finished = 0;
  while (keepGoing(started, kills, kills + finished, kMinTrainingKills)) {
    pid_t pid = spawn(run, log);
    ASSERT_GT(pid, 0);
    // Anywhere from a fifth of a whole run's length (starting up, training) to past its end
    // (saving, registering, tracking): most rounds are killed, some finish.
    const auto span = static_cast<std::uint64_t>(whole.count()) + 1;
    std::this_thread::sleep_for(std::chrono::microseconds(span / 5 + rng_() % span));
    ::kill(pid, SIGKILL);
    const int code = reap(pid);
    ASSERT_TRUE(code == 0 || code == 128 + SIGKILL) << "exit " << code << ":\n" << readFile(log);
    (code == 0 ? finished : kills) += 1;
    auto opened = openStore(GetParam(), storePath());
    ASSERT_NE(opened, nullptr);
    checkStore(*opened, "after run " + std::to_string(kills + finished));
    if (HasFailure()) break;
  }
  EXPECT_GE(kills, kMinTrainingKills);
  auto opened = openStore(GetParam(), storePath());
  ASSERT_NE(opened, nullptr);
  EXPECT_GE(checkStore(*opened, "at the end"), 1u + finished);
  EXPECT_EQ(DatasetRegistry(*opened).listVersions("pumps").value().size(), 1u)
      << "every run trained on the same data";
}

TEST_P(CrashLoop, ProcessesRegisteringAtOnceGetDistinctVersions) {
  {
    auto store = openStore(GetParam(), storePath());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->put("artifacts/shared", "w").ok());
  }
  constexpr int kChildren = 3, kEach = 10;
  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      std::unique_ptr<Storage> own;
      if (GetParam() == "sqlite") {
        auto opened = SqliteStorage::create(storePath(), 10000);
        if (!opened.ok()) ::_exit(2);
        own = std::move(opened).value();
      } else {
        auto opened = FsStorage::create(storePath(), false);
        if (!opened.ok()) ::_exit(2);
        own = std::move(opened).value();
      }
      ModelRegistry registry(*own);
      NewModelVersion info;
      info.artifact_key = "artifacts/shared";
      for (int i = 0; i < kEach; ++i) {
        if (!registry.registerVersion("iris", info).ok()) ::_exit(1);
      }
      ::_exit(0);
    }
    children.push_back(child);
  }
  for (pid_t child : children) EXPECT_EQ(reap(child), 0);
  auto store = openStore(GetParam(), storePath());
  ASSERT_NE(store, nullptr);
  auto versions = ModelRegistry(*store).listVersions("iris");
  ASSERT_TRUE(versions.ok()) << versions.status().toString();
  std::set<std::int64_t> numbers;
  for (const auto& v : *versions) numbers.insert(v.version);
  EXPECT_EQ(numbers.size(), static_cast<std::size_t>(kChildren * kEach));
  EXPECT_EQ(*numbers.rbegin(), kChildren * kEach);
}

// The acknowledged-writes check itself: it must see a lost or changed write, and allow only
// the change in flight.
class AcknowledgedWritesCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = FsStorage::create(dir_.path() / "store", false);
    ASSERT_TRUE(opened.ok()) << opened.status().toString();
    store_ = std::move(opened).value();
    ASSERT_TRUE(store_->put("models/alpha/artifacts/1.aimass", "weights").ok());
    NewModelVersion info;
    info.artifact_key = "models/alpha/artifacts/1.aimass";
    ASSERT_EQ(registry().registerVersion("alpha", info).value().version, 1);
    ASSERT_TRUE(registry().promote("alpha", "champion", 1).ok());
    ASSERT_TRUE(registry().setTags("alpha", 1, {{"stage", "7"}}, {}).ok());
    for (const char* line :
         {"ready", "begin register alpha", "version alpha 1 models/alpha/artifacts/1.aimass",
          "begin promote alpha champion 1", "alias alpha champion 1", "begin tag alpha 1 7",
          "tag alpha 1 7"}) {
      ASSERT_TRUE(acknowledged_.apply(line)) << line;
    }
    ASSERT_EQ(acknowledged_.checkAndSettle(registry(), "set-up"), 2u);  // version, alias
  }
  ModelRegistry registry() { return ModelRegistry(*store_); }
  /// Registers version 2 of alpha (on the same artifact), unknown to acknowledged_.
  void registerUnacknowledgedVersion() {
    NewModelVersion info;
    info.artifact_key = "models/alpha/artifacts/1.aimass";
    ASSERT_EQ(registry().registerVersion("alpha", info).value().version, 2);
  }

  TempDir dir_;
  std::unique_ptr<FsStorage> store_;
  AcknowledgedWrites acknowledged_;
};

TEST_F(AcknowledgedWritesCheck, SeesALostVersionAndAlias) {
  // The record alone goes (the alias is still there).
  auto records = store_->list("registry/models/alpha/versions/");
  ASSERT_TRUE(records.ok() && records->size() == 1u);
  ASSERT_TRUE(store_->remove(records->front()).ok());
  EXPECT_NONFATAL_FAILURE(acknowledged_.checkAndSettle(registry(), "here"),
                          "here: acknowledged version alpha/1 is lost");
  ASSERT_TRUE(store_->remove("registry/models/alpha/aliases/champion").ok());
  EXPECT_NONFATAL_FAILURE(acknowledged_.checkAndSettle(registry(), "here"),
                          "here: acknowledged alias alpha@champion -> 1 is lost");
}

TEST_F(AcknowledgedWritesCheck, SeesAMovedAliasAndAChangedTag) {
  registerUnacknowledgedVersion();
  ASSERT_TRUE(registry().promote("alpha", "champion", 2).ok());
  EXPECT_NONFATAL_FAILURE(acknowledged_.checkAndSettle(registry(), "here"),
                          "here: alpha@champion points at 2, acknowledged 1");
  ASSERT_TRUE(registry().setTags("alpha", 1, {{"stage", "8"}}, {}).ok());
  EXPECT_NONFATAL_FAILURE(acknowledged_.checkAndSettle(registry(), "here"),
                          "has stage '8', acknowledged '7'");
}

TEST_F(AcknowledgedWritesCheck, AllowsOnlyTheChangeInFlight) {
  registerUnacknowledgedVersion();
  // A promote in flight may land; a different target may not.
  ASSERT_TRUE(acknowledged_.apply("begin promote alpha champion 2"));
  ASSERT_TRUE(registry().promote("alpha", "champion", 2).ok());
  EXPECT_EQ(acknowledged_.checkAndSettle(registry(), "here"), 2u);
  ASSERT_TRUE(acknowledged_.apply("begin promote alpha champion 2"));
  ASSERT_TRUE(registry().rollback("alpha", "champion").ok());
  EXPECT_NONFATAL_FAILURE(acknowledged_.checkAndSettle(registry(), "here"),
                          "alpha@champion points at 1, acknowledged 2");
  // A tag in flight may land. A forced delete in flight may take the version and its aliases:
  // they are no longer expected afterwards.
  ASSERT_TRUE(acknowledged_.apply("begin tag alpha 1 9"));
  ASSERT_TRUE(registry().setTags("alpha", 1, {{"stage", "9"}}, {}).ok());
  EXPECT_EQ(acknowledged_.checkAndSettle(registry(), "here"), 2u);
  ASSERT_TRUE(acknowledged_.apply("begin delete alpha 1"));
  ASSERT_TRUE(registry().deleteVersion("alpha", 1, true).ok());
  EXPECT_EQ(acknowledged_.checkAndSettle(registry(), "here"), 2u);
  EXPECT_EQ(acknowledged_.checkAndSettle(registry(), "here"), 0u);
  EXPECT_NONFATAL_FAILURE(EXPECT_FALSE(acknowledged_.apply("moved alpha 1")),
                          "a line the test does not know: 'moved alpha 1'");
}

INSTANTIATE_TEST_SUITE_P(Stores, CrashLoop, ::testing::Values("sqlite", "fs"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace aimass::core
