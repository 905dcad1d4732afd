// SPDX-License-Identifier: Apache-2.0
// Kill -9 at random points of registry changes and of training runs, many times, on a
// storage.sqlite and a storage.fs store: after every kill the store must open, pass its
// integrity check and hold each change whole or not at all.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

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

/// Each kill loop runs until this much time has passed and it has killed at least kMinKills
/// times, or it reaches kMaxKills rounds: dozens of kills, bounded for CI.
constexpr auto kLoopBudget = std::chrono::seconds(12);
constexpr int kMinKills = 5;
constexpr int kMaxKills = 60;

bool keepGoing(Clock::time_point started, int kills, int rounds) {
  return rounds < kMaxKills && (kills < kMinKills || Clock::now() - started < kLoopBudget);
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

/// Starts `argv` with stdout and stderr to `log`; returns its pid.
pid_t spawn(std::vector<std::string> argv, const fs::path& log) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
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

class CrashLoop : public ::testing::TestWithParam<std::string> {
 protected:
  fs::path storePath() const {
    return GetParam() == "sqlite" ? dir_.path() / "store.db" : dir_.path() / "store";
  }
  TempDir dir_;
  std::mt19937_64 rng_{20240611};
};

TEST_P(CrashLoop, RegistryChangesKilledAtRandomPointsLeaveWholeChanges) {
  const auto started = Clock::now();
  int kills = 0;
  std::size_t versions = 0;
  while (keepGoing(started, kills, kills)) {
    const fs::path ready = dir_.path() / "ready.log";
    fs::remove(ready);
    pid_t worker = spawn(
        {AIMASS_CRASH_WORKER, GetParam(), storePath().string(), std::to_string(rng_())}, ready);
    ASSERT_GT(worker, 0);
    // Kill it at a random point of its changes, not while it starts.
    for (int wait = 0; wait < 2000 && readFile(ready).find("ready") == std::string::npos; ++wait) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng_() % 150000));
    ::kill(worker, SIGKILL);
    const int code = reap(worker);
    ASSERT_EQ(code, 128 + SIGKILL) << "the worker stopped by itself:\n" << readFile(ready);
    ++kills;
    auto store = openStore(GetParam(), storePath());
    ASSERT_NE(store, nullptr);
    versions = std::max(versions, checkStore(*store, "after kill " + std::to_string(kills)));
    if (HasFatalFailure() || HasFailure()) break;
  }
  EXPECT_GE(kills, kMinKills);
  EXPECT_GT(versions, 0u) << "the worker never registered a version";
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
  while (keepGoing(started, kills, kills + finished)) {
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
  EXPECT_GE(kills, kMinKills);
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

INSTANTIATE_TEST_SUITE_P(Stores, CrashLoop, ::testing::Values("sqlite", "fs"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace aimass::core
