// SPDX-License-Identifier: Apache-2.0
// Tracking on every real storage backend: storage.fs, storage.sqlite and, when the build has
// it, storage.postgres (a fresh database per test on the server of ctest's `postgres` fixture,
// found through $AIMASS_TEST_POSTGRES_STATE). The same tests on each: runs with params,
// per-step metric points, artifacts and status; listings filtered and sorted by a metric; and a
// run whose process is SIGKILLed marked failed on the next open. tracking_test.cc covers the
// rest (parsing, encodings, read counts) on an in-memory store.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "aimass/core/tracking.h"
#include "fs.h"
#include "sqlite.h"
#include "temp_dir.h"
#ifdef AIMASS_TEST_POSTGRES
#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>

#include "postgres.h"
#endif

namespace aimass::core {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

/// Where one test's store lives; open() may be called several times, from several processes,
/// and every store it returns shares the same records.
class Backend {
 public:
  virtual ~Backend() = default;
  /// Empty when the place is ready, else why not.
  virtual std::string problem() const { return ""; }
  virtual Expected<std::unique_ptr<Storage>> open() const = 0;
};

template <typename T>
Expected<std::unique_ptr<Storage>> asStorage(Expected<std::unique_ptr<T>> store) {
  if (!store.ok()) {
    return store.status();
  }
  return std::unique_ptr<Storage>(std::move(store).value());
}

class FsBackend final : public Backend {
 public:
  std::string problem() const override { return dir_.path().empty() ? "no temp dir" : ""; }
  Expected<std::unique_ptr<Storage>> open() const override {
    return asStorage(plugins::storage::FsStorage::create(dir_.path() / "store", false));
  }

 private:
  aimass::testing::TempDir dir_{"aimass-tracking-fs"};
};

class SqliteBackend final : public Backend {
 public:
  std::string problem() const override { return dir_.path().empty() ? "no temp dir" : ""; }
  Expected<std::unique_ptr<Storage>> open() const override {
    return asStorage(plugins::storage::SqliteStorage::create(dir_.path() / "store.db", 5000));
  }

 private:
  aimass::testing::TempDir dir_{"aimass-tracking-sqlite"};
};

#ifdef AIMASS_TEST_POSTGRES
std::string firstLine(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

/// A database of its own on the fixture's server, dropped at the end.
class PostgresBackend final : public Backend {
 public:
  PostgresBackend() {
    const char* state = std::getenv("AIMASS_TEST_POSTGRES_STATE");
    if (state == nullptr || !fs::exists(fs::path(state) / "uri")) {
      problem_ =
          "no PostgreSQL test server: run through ctest (the 'postgres' fixture starts one), or "
          "start one with scripts/postgres-test-server.sh start DIR and set "
          "AIMASS_TEST_POSTGRES_STATE=DIR";
      return;
    }
    const std::string uri = firstLine(fs::path(state) / "uri");
    ::setenv("AIMASS_TEST_PG_TRACKING_PASSWORD", firstLine(fs::path(state) / "password").c_str(),
             1);
    static std::atomic<int> counter{0};
    database_ = "aimass_tracking_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    uri_ = uri.substr(0, uri.rfind('/') + 1) + database_;
    Poco::Data::PostgreSQL::Connector::registerConnector();
    auto admin = plugins::storage::postgresConnection(options(uri));
    if (!admin.ok()) {
      problem_ = admin.status().toString();
      return;
    }
    try {
      admin_ = std::make_unique<Poco::Data::Session>("PostgreSQL", admin->first);
      *admin_ << "CREATE DATABASE " + database_, Poco::Data::Keywords::now;
    } catch (const Poco::Exception& e) {
      problem_ = "creating database " + database_ + ": " + e.displayText();
    }
  }
  ~PostgresBackend() override {
    if (admin_ != nullptr && problem_.empty()) {
      try {
        *admin_ << "DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)",
            Poco::Data::Keywords::now;
      } catch (const Poco::Exception& e) {
        ADD_FAILURE() << "dropping " << database_ << ": " << e.displayText();
      }
    }
  }
  std::string problem() const override { return problem_; }
  Expected<std::unique_ptr<Storage>> open() const override {
    return asStorage(plugins::storage::PostgresStorage::create(options(uri_)));
  }

 private:
  static plugins::storage::PostgresOptions options(const std::string& uri) {
    plugins::storage::PostgresOptions options;
    options.uri = uri;
    options.password_env = "AIMASS_TEST_PG_TRACKING_PASSWORD";
    return options;
  }
  std::string problem_;
  std::string database_;
  std::string uri_;
  std::unique_ptr<Poco::Data::Session> admin_;
};
#endif

struct BackendParam {
  std::string name;
  std::function<std::unique_ptr<Backend>()> make;
};

/// Test names and messages show the backend's name.
void PrintTo(const BackendParam& param, std::ostream* out) { *out << param.name; }

class TrackingOn : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make();
    ASSERT_EQ(backend_->problem(), "");
  }

  /// A store on the test's backend; null (and a failure) when it cannot be opened.
  std::unique_ptr<Storage> open() {
    auto store = backend_->open();
    EXPECT_TRUE(store.ok()) << store.status().toString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  std::unique_ptr<Backend> backend_;
};

NewRun newRun(const std::string& experiment) {
  NewRun run;
  run.experiment = experiment;
  run.node = "train";
  run.node_type = "job.train";
  run.params = {{"epochs", "3"}, {"optimizer.learning_rate", "0.05"}, {"note", "a b 100%"}};
  return run;
}

/// A finished (or failed) run of `experiment` whose last val_accuracy is `accuracy` (none when
/// NaN); its id.
std::int64_t finishedRun(Tracking& tracking, const std::string& experiment, double accuracy,
                         RunStatus status = RunStatus::kFinished) {
  auto run = tracking.startRun(newRun(experiment));
  EXPECT_TRUE(run.ok()) << run.status().toString();
  if (!run.ok()) {
    return 0;
  }
  if (!std::isnan(accuracy)) {
    EXPECT_TRUE((*run)->log("val_accuracy", 1, accuracy / 2).ok());
    EXPECT_TRUE((*run)->log("val_accuracy", 2, accuracy).ok());
  }
  EXPECT_TRUE((*run)->log("loss", 2, 1 - accuracy).ok());
  EXPECT_TRUE((*run)->finish(status, status == RunStatus::kFailed ? "boom" : "").ok());
  return (*run)->id();
}

std::vector<std::int64_t> idsOf(const Expected<RunList>& list) {
  EXPECT_TRUE(list.ok()) << list.status().toString();
  std::vector<std::int64_t> ids;
  if (list.ok()) {
    for (const auto& run : list->runs) ids.push_back(run.id);
  }
  return ids;
}

TEST_P(TrackingOn, ARunKeepsParamsPerStepPointsArtifactsAndStatus) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  TrackingOptions small_batches;
  small_batches.flush_points = 40;  // due every 14 steps (42 points)
  Tracking tracking(*store, small_batches);
  auto started = tracking.startRun(newRun("fashion"));
  ASSERT_TRUE(started.ok()) << started.status().toString();
  auto& run = **started;
  for (int step = 1; step <= 100; ++step) {
    ASSERT_TRUE(run.logAll(step, {{"loss", 1.0 / step},
                                  {"learning_rate", 0.05},
                                  {"samples_per_second", 1000.0 + step}})
                    .ok());
  }
  run.setArtifact("model_version", "mlp/1");
  ASSERT_TRUE(run.flush().ok());

  // Another store on the same place (another process would see the same): running, its
  // params and the metrics flushed so far.
  auto reader_store = open();
  ASSERT_NE(reader_store, nullptr);
  Tracking reader(*reader_store);
  auto during = reader.getRun(run.id());
  ASSERT_TRUE(during.ok()) << during.status().toString();
  EXPECT_EQ(during->status, RunStatus::kRunning);
  EXPECT_EQ(during->params.at("note"), "a b 100%");
  EXPECT_EQ(during->params.at("optimizer.learning_rate"), "0.05");
  EXPECT_DOUBLE_EQ(during->metrics.at("loss"), 0.01);
  EXPECT_EQ(during->artifacts.at("model_version"), "mlp/1");

  ASSERT_TRUE(run.log("val_accuracy", 1, 0.875).ok());
  ASSERT_TRUE(run.finish(RunStatus::kFinished).ok());
  auto done = reader.getRun(run.id());
  ASSERT_TRUE(done.ok()) << done.status().toString();
  EXPECT_EQ(done->status, RunStatus::kFinished);
  EXPECT_GE(done->end_unix_ms, done->start_unix_ms);
  EXPECT_DOUBLE_EQ(done->metrics.at("val_accuracy"), 0.875);
  EXPECT_EQ(done->pid, ::getpid());

  auto points = reader.metricPoints(run.id());
  ASSERT_TRUE(points.ok()) << points.status().toString();
  ASSERT_EQ(points->size(), 301u);
  auto summaries = Tracking::summarize(*points);
  ASSERT_EQ(summaries.size(), 4u);
  EXPECT_EQ(summaries[1].name, "loss");
  EXPECT_EQ(summaries[1].points, 100u);
  EXPECT_EQ(summaries[1].last_step, 100);
  EXPECT_DOUBLE_EQ(summaries[1].max, 1.0);
  EXPECT_EQ(summaries[2].name, "samples_per_second");
  EXPECT_DOUBLE_EQ(summaries[2].last, 1100.0);
  // 7 batches of 42 points while logging, 6 by flush(), 1 (val_accuracy) by finish().
  EXPECT_EQ(run.batchesWritten(), 9);
  EXPECT_EQ(reader_store->list("tracking/points/").value().size(), 9u);
  EXPECT_TRUE(reader_store->list("tracking/live/").value().empty()) << "liveness removed";
}

TEST_P(TrackingOn, ListsRunsFilteredAndSortedByAMetric) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  Tracking tracking(*store);
  const std::int64_t a = finishedRun(tracking, "exp", 0.70);
  const std::int64_t b = finishedRun(tracking, "exp", 0.95);
  const std::int64_t c = finishedRun(tracking, "exp", 0.85, RunStatus::kFailed);
  const std::int64_t d = finishedRun(tracking, "exp", NAN);
  const std::int64_t other = finishedRun(tracking, "other", 0.99);

  RunQuery query;
  query.experiment = "exp";
  EXPECT_EQ(idsOf(tracking.listRuns(query)), (std::vector<std::int64_t>{d, c, b, a}));
  query.sort_metric = "val_accuracy";
  EXPECT_EQ(idsOf(tracking.listRuns(query)), (std::vector<std::int64_t>{a, c, b, d}));
  query.descending = true;
  EXPECT_EQ(idsOf(tracking.listRuns(query)), (std::vector<std::int64_t>{b, c, a, d}));
  query.filters = parseMetricFilters("val_accuracy>0.8").value();
  EXPECT_EQ(idsOf(tracking.listRuns(query)), (std::vector<std::int64_t>{b, c}));
  query.filters = parseMetricFilters("val_accuracy>0.8 and loss<0.1").value();
  EXPECT_EQ(idsOf(tracking.listRuns(query)), (std::vector<std::int64_t>{b}));
  query.filters = parseMetricFilters("val_accuracy>0.8").value();
  query.limit = 1;
  auto limited = tracking.listRuns(query);
  EXPECT_EQ(idsOf(limited), (std::vector<std::int64_t>{b}));
  EXPECT_EQ(limited->matched, 2u);
  query.limit = 0;
  query.status = RunStatus::kFailed;
  auto failed = tracking.listRuns(query);
  ASSERT_EQ(idsOf(failed), (std::vector<std::int64_t>{c}));
  EXPECT_EQ(failed->runs[0].error, "boom");

  RunQuery everywhere;
  everywhere.sort_metric = "val_accuracy";
  everywhere.descending = true;
  everywhere.limit = 2;
  EXPECT_EQ(idsOf(tracking.listRuns(everywhere)), (std::vector<std::int64_t>{other, b}));
  EXPECT_EQ(tracking.listExperiments().value(), (std::vector<std::string>{"exp", "other"}));

  RunQuery unknown;
  unknown.experiment = "nope";
  auto missing = tracking.listRuns(unknown);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("no experiment 'nope'"));
}

TEST_P(TrackingOn, ARunOfASigkilledProcessIsMarkedFailedOnTheNextOpen) {
  // The child opens its own store (nothing of the parent's is shared across fork()), logs and
  // flushes, then waits to be killed with one point still buffered.
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    auto store = backend_->open();
    if (!store.ok()) ::_exit(2);
    Tracking tracking(**store);
    auto run = tracking.startRun(newRun("crash"));
    if (!run.ok()) ::_exit(3);
    for (int step = 1; step <= 10; ++step) {
      (*run)->log("loss", step, 1.0 / step).ignoreError();
    }
    if (!(*run)->flush().ok()) ::_exit(4);
    (*run)->log("loss", 11, 0.01).ignoreError();
    char byte = 1;
    if (::write(ready[1], &byte, 1) != 1) ::_exit(5);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char byte = 0;
  const bool started = ::read(ready[0], &byte, 1) == 1;
  ::close(ready[0]);
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int wait_status = 0;
  ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(started) << "the child did not start its run (exit "
                       << (WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1) << ")";
  ASSERT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL);

  auto store = open();
  ASSERT_NE(store, nullptr);
  Tracking tracking(*store);
  RunQuery running;
  running.experiment = "crash";
  running.status = RunStatus::kRunning;
  ASSERT_EQ(idsOf(tracking.listRuns(running)).size(), 1u) << "nothing has looked at it yet";
  const std::int64_t id = tracking.listRuns(running)->runs[0].id;

  auto mine = tracking.startRun(newRun("crash"));  // a living process's run is left alone
  ASSERT_TRUE(mine.ok()) << mine.status().toString();
  auto recovered = tracking.recoverAbandonedRuns();
  ASSERT_TRUE(recovered.ok()) << recovered.status().toString();
  ASSERT_EQ(recovered->size(), 1u);
  EXPECT_EQ((*recovered)[0].id, id);
  auto after = tracking.getRun(id);
  ASSERT_TRUE(after.ok()) << after.status().toString();
  EXPECT_EQ(after->status, RunStatus::kFailed);
  EXPECT_THAT(after->error, HasSubstr("pid " + std::to_string(child)));
  EXPECT_THAT(after->error, HasSubstr("killed"));
  EXPECT_DOUBLE_EQ(after->metrics.at("loss"), 0.1) << "the flushed points survive";
  EXPECT_EQ(tracking.metricPoints(id)->size(), 10u);

  RunQuery failed = running;
  failed.status = RunStatus::kFailed;
  EXPECT_EQ(idsOf(tracking.listRuns(failed)), (std::vector<std::int64_t>{id}));
  EXPECT_EQ(idsOf(tracking.listRuns(running)), (std::vector<std::int64_t>{(*mine)->id()}));
  EXPECT_TRUE(tracking.recoverAbandonedRuns()->empty()) << "recovered once";
  EXPECT_TRUE((*mine)->finish(RunStatus::kFinished).ok());
}

std::vector<BackendParam> backends() {
  std::vector<BackendParam> all = {
      {"fs", [] { return std::unique_ptr<Backend>(new FsBackend()); }},
      {"sqlite", [] { return std::unique_ptr<Backend>(new SqliteBackend()); }},
  };
#ifdef AIMASS_TEST_POSTGRES
  all.push_back({"postgres", [] { return std::unique_ptr<Backend>(new PostgresBackend()); }});
#endif
  return all;
}

INSTANTIATE_TEST_SUITE_P(Backends, TrackingOn, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<BackendParam>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace aimass::core
