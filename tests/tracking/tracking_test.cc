// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/tracking.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fs.h"
#include "minimal.h"
#include "temp_dir.h"

namespace aimass::core {
namespace {

using plugins::storage::FsStorage;
using plugins::storage::MemoryStorage;
using ::testing::HasSubstr;

/// A MemoryStorage that counts reads of single records, to show which queries read records.
class CountingStorage final : public Storage {
 public:
  std::string describe() const override { return "counting:memory"; }
  Status put(std::string_view key, std::string_view value) override {
    return inner_.put(key, value);
  }
  Expected<std::string> get(std::string_view key) const override {
    ++gets;
    return inner_.get(key);
  }
  Expected<std::vector<std::string>> list(std::string_view prefix) const override {
    return inner_.list(prefix);
  }
  Status remove(std::string_view key) override { return inner_.remove(key); }
  Expected<bool> compareAndSet(std::string_view key, std::optional<std::string_view> expected,
                               std::string_view desired) override {
    return inner_.compareAndSet(key, expected, desired);
  }
  mutable std::atomic<std::size_t> gets{0};

 private:
  MemoryStorage inner_{0};
};

NewRun newRun(const std::string& experiment) {
  NewRun run;
  run.experiment = experiment;
  run.node = "train";
  run.node_type = "job.train";
  run.params = {{"epochs", "3"}, {"model.hidden", "[64, 32]"}, {"note", "two words 100%"}};
  return run;
}

std::unique_ptr<RunLogger> start(Tracking& tracking, const std::string& experiment) {
  auto logger = tracking.startRun(newRun(experiment));
  EXPECT_TRUE(logger.ok()) << logger.status().toString();
  return logger.ok() ? std::move(logger).value() : nullptr;
}

/// Runs `experiment` to the end with a final val_accuracy (none when NaN) and `status`.
std::int64_t finishedRun(Tracking& tracking, const std::string& experiment, double accuracy,
                         RunStatus status = RunStatus::kFinished) {
  auto run = start(tracking, experiment);
  if (!run) {
    return 0;
  }
  if (!std::isnan(accuracy)) {
    EXPECT_TRUE(run->log("val_accuracy", 1, accuracy / 2).ok());
    EXPECT_TRUE(run->log("val_accuracy", 2, accuracy).ok());
  }
  EXPECT_TRUE(run->log("loss", 2, 1 - accuracy).ok());
  EXPECT_TRUE(run->finish(status, status == RunStatus::kFailed ? "boom" : "").ok());
  return run->id();
}

std::vector<std::int64_t> idsOf(const RunList& list) {
  std::vector<std::int64_t> ids;
  for (const auto& run : list.runs) ids.push_back(run.id);
  return ids;
}

TEST(Tracking, RunRecordsRoundTripAndMalformedOnesAreDataLoss) {
  RunRecord r;
  r.id = 42;
  r.experiment = "fashion";
  r.node = "train";
  r.node_type = "job.train";
  r.status = RunStatus::kKilled;
  r.start_unix_ms = 1700000000000;
  r.end_unix_ms = 1700000001000;
  r.updated_unix_ms = 1700000001000;
  r.error = "stopped at epoch 2\nstep 3 (100%)";
  r.params = {{"optimizer.learning_rate", "0.05"}, {"empty", ""}};
  r.metrics = {{"loss", 0.1}, {"val_accuracy", 1.0 / 3}};
  r.artifacts = {{"model_version", "mlp/3"}};
  r.pid = 1234;
  r.host = "box one";
  auto back = decodeRunRecord(encodeRunRecord(r));
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_EQ(back->id, 42);
  EXPECT_EQ(back->experiment, "fashion");
  EXPECT_EQ(back->status, RunStatus::kKilled);
  EXPECT_EQ(back->error, r.error);
  EXPECT_EQ(back->params, r.params);
  EXPECT_EQ(back->metrics, r.metrics);  // exact: numbers are written to round-trip
  EXPECT_EQ(back->artifacts, r.artifacts);
  EXPECT_EQ(back->host, "box one");
  EXPECT_EQ(back->end_unix_ms, 1700000001000);

  for (const char* broken :
       {"", "aimass-run 2\nid 1\n", "aimass-run 1\nid x\n",
        "aimass-run 1\nid 1\nexperiment e\nstatus dozing\n", "aimass-run 1\nid 1\nexperiment e\n",
        "aimass-run 1\nid 1\nexperiment e\nstatus running\nmetric a b\n"}) {
    auto decoded = decodeRunRecord(broken);
    ASSERT_FALSE(decoded.ok()) << broken;
    EXPECT_EQ(decoded.status().code(), StatusCode::kDataLoss) << broken;
  }
}

TEST(Tracking, SortableNumbersSortLikeTheDoublesAndReadBack) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> values = {-inf, -1e300, -2.5, -1, -1e-300, 0, 1e-300, 0.5, 1, 3, 1e300, inf};
  for (std::size_t i = 0; i < values.size(); ++i) {
    auto back = parseSortableNumber(sortableNumber(values[i]));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, values[i]);
    if (i > 0) {
      EXPECT_LT(sortableNumber(values[i - 1]), sortableNumber(values[i])) << values[i];
    }
  }
  EXPECT_FALSE(parseSortableNumber("12").has_value());
  EXPECT_FALSE(parseSortableNumber("zzzzzzzzzzzzzzzz").has_value());
  EXPECT_FALSE(parseSortableNumber(sortableNumber(0.5) + "0").has_value());
}

TEST(Tracking, ARunKeepsParamsMetricPointsArtifactsAndItsEnd) {
  MemoryStorage storage(0);
  Tracking tracking(storage);
  auto run = start(tracking, "fashion");
  ASSERT_TRUE(run);
  EXPECT_EQ(run->id(), 1);
  for (int step = 1; step <= 5; ++step) {
    ASSERT_TRUE(run->logAll(step, {{"loss", 1.0 / step}, {"learning_rate", 0.1}}).ok());
  }
  ASSERT_TRUE(run->log("val_accuracy", 1, 0.7).ok());
  ASSERT_TRUE(run->log("val_accuracy", 2, 0.9).ok());
  ASSERT_TRUE(run->log("val_accuracy", 3, 0.8).ok());
  run->setArtifact("model_version", "mlp/1");

  auto during = tracking.getRun(1);
  ASSERT_TRUE(during.ok()) << during.status().toString();
  EXPECT_EQ(during->status, RunStatus::kRunning);
  EXPECT_EQ(during->params.at("note"), "two words 100%");
  EXPECT_EQ(during->pid, ::getpid());
  EXPECT_EQ(during->end_unix_ms, 0);

  ASSERT_TRUE(run->finish(RunStatus::kFinished).ok());
  EXPECT_TRUE(run->finish(RunStatus::kFailed, "late").ok()) << "a second finish changes nothing";
  EXPECT_FALSE(run->log("loss", 6, 0).ok());

  auto done = tracking.getRun(1);
  ASSERT_TRUE(done.ok()) << done.status().toString();
  EXPECT_EQ(done->status, RunStatus::kFinished);
  EXPECT_EQ(done->error, "");
  EXPECT_GE(done->end_unix_ms, done->start_unix_ms);
  EXPECT_DOUBLE_EQ(done->metrics.at("loss"), 0.2);
  EXPECT_DOUBLE_EQ(done->metrics.at("val_accuracy"), 0.8);
  EXPECT_EQ(done->artifacts.at("model_version"), "mlp/1");

  auto points = tracking.metricPoints(1);
  ASSERT_TRUE(points.ok()) << points.status().toString();
  ASSERT_EQ(points->size(), 13u);
  EXPECT_EQ((*points)[0].name, "learning_rate");
  auto summaries = Tracking::summarize(*points);
  ASSERT_EQ(summaries.size(), 3u);
  EXPECT_EQ(summaries[1].name, "loss");
  EXPECT_EQ(summaries[1].points, 5u);
  EXPECT_DOUBLE_EQ(summaries[1].last, 0.2);
  EXPECT_DOUBLE_EQ(summaries[1].min, 0.2);
  EXPECT_DOUBLE_EQ(summaries[1].max, 1.0);
  EXPECT_EQ(summaries[2].name, "val_accuracy");
  EXPECT_DOUBLE_EQ(summaries[2].last, 0.8);
  EXPECT_DOUBLE_EQ(summaries[2].max, 0.9);
  EXPECT_EQ(summaries[2].last_step, 3);

  auto missing = tracking.getRun(7);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("no run 7"));
}

TEST(Tracking, PointsAreWrittenInBatches) {
  MemoryStorage storage(0);
  TrackingOptions options;
  options.flush_points = 100;
  options.flush_interval = std::chrono::hours(1);
  Tracking tracking(storage, options);
  auto run = start(tracking, "batches");
  ASSERT_TRUE(run);
  auto batches = [&] { return storage.list("tracking/points/").value().size(); };
  for (int step = 0; step < 250; ++step) {
    ASSERT_TRUE(run->logAll(step, {{"loss", step * 0.5}}).ok());
  }
  EXPECT_EQ(batches(), 2u) << "two full batches of 100, 50 points still buffered";
  ASSERT_TRUE(run->finish(RunStatus::kFinished).ok());
  EXPECT_EQ(batches(), 3u);
  auto points = tracking.metricPoints(run->id());
  ASSERT_TRUE(points.ok());
  ASSERT_EQ(points->size(), 250u);
  for (int step = 0; step < 250; ++step) {
    EXPECT_EQ((*points)[step].step, step);
    EXPECT_EQ((*points)[step].value, step * 0.5);
  }
}

TEST(Tracking, BadNamesAreRefused) {
  MemoryStorage storage(0);
  Tracking tracking(storage);
  auto bad = tracking.startRun(newRun("my experiment"));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("experiment name 'my experiment'"));
  auto run = start(tracking, "ok");
  Status status = run->log("samples/s", 1, 5);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("metric name 'samples/s'"));
  EXPECT_EQ(Tracking::experimentNameFrom("my config (v2)"), "my_config__v2_");
  EXPECT_EQ(Tracking::experimentNameFrom(".hidden"), "hidden");
  EXPECT_EQ(Tracking::experimentNameFrom(""), "default");
}

TEST(Tracking, ListsRunsFilteredAndSortedByAMetric) {
  MemoryStorage storage(0);
  Tracking tracking(storage);
  const std::int64_t a = finishedRun(tracking, "exp", 0.70);
  const std::int64_t b = finishedRun(tracking, "exp", 0.95);
  const std::int64_t c = finishedRun(tracking, "exp", 0.85, RunStatus::kFailed);
  const std::int64_t d = finishedRun(tracking, "exp", NAN);  // no val_accuracy at all
  const std::int64_t other = finishedRun(tracking, "other", 0.99);

  RunQuery query;
  query.experiment = "exp";
  auto all = tracking.listRuns(query);
  ASSERT_TRUE(all.ok()) << all.status().toString();
  EXPECT_EQ(idsOf(*all), (std::vector<std::int64_t>{d, c, b, a})) << "newest first";
  EXPECT_EQ(all->matched, 4u);

  query.sort_metric = "val_accuracy";
  auto ascending = tracking.listRuns(query);
  ASSERT_TRUE(ascending.ok());
  EXPECT_EQ(idsOf(*ascending), (std::vector<std::int64_t>{a, c, b, d})) << "without it: last";
  query.descending = true;
  auto descending = tracking.listRuns(query);
  EXPECT_EQ(idsOf(*descending), (std::vector<std::int64_t>{b, c, a, d}));

  query.filters = parseMetricFilters("val_accuracy>0.8").value();
  auto filtered = tracking.listRuns(query);
  EXPECT_EQ(idsOf(*filtered), (std::vector<std::int64_t>{b, c}));
  EXPECT_EQ(filtered->matched, 2u);
  query.limit = 1;
  auto limited = tracking.listRuns(query);
  EXPECT_EQ(idsOf(*limited), (std::vector<std::int64_t>{b}));
  EXPECT_EQ(limited->matched, 2u);

  query.limit = 0;
  query.status = RunStatus::kFailed;
  auto failed = tracking.listRuns(query);
  ASSERT_EQ(idsOf(*failed), (std::vector<std::int64_t>{c}));
  EXPECT_EQ(failed->runs[0].error, "boom");

  RunQuery everywhere;
  everywhere.sort_metric = "val_accuracy";
  everywhere.descending = true;
  everywhere.limit = 2;
  auto across = tracking.listRuns(everywhere);
  EXPECT_EQ(idsOf(*across), (std::vector<std::int64_t>{other, b}));
  EXPECT_EQ(tracking.listExperiments().value(), (std::vector<std::string>{"exp", "other"}));

  RunQuery unknown;
  unknown.experiment = "nope";
  auto missing = tracking.listRuns(unknown);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(),
              HasSubstr("no experiment 'nope' in memory (experiments: exp, other)"));
}

TEST(Tracking, AListingReadsOnlyTheRecordsItReturns) {
  CountingStorage storage;
  Tracking tracking(storage);
  for (int i = 0; i < 300; ++i) {
    finishedRun(tracking, "many", (i * 37 % 300) / 300.0);
  }
  RunQuery query;
  query.experiment = "many";
  query.sort_metric = "val_accuracy";
  query.descending = true;
  query.filters = parseMetricFilters("val_accuracy >= 0.5").value();
  query.limit = 5;
  storage.gets = 0;
  auto top = tracking.listRuns(query);
  ASSERT_TRUE(top.ok()) << top.status().toString();
  ASSERT_EQ(top->runs.size(), 5u);
  EXPECT_EQ(top->matched, 150u);
  EXPECT_DOUBLE_EQ(top->runs[0].metrics.at("val_accuracy"), 299 / 300.0);
  EXPECT_DOUBLE_EQ(top->runs[4].metrics.at("val_accuracy"), 295 / 300.0);
  // The experiment marker and the five records: the 300 runs are found through index keys.
  EXPECT_LE(storage.gets.load(), 6u);
}

TEST(Tracking, PagesByOffsetCoverTheListingOnceAndReadOnlyTheirRecords) {
  CountingStorage storage;
  Tracking tracking(storage);
  for (int i = 0; i < 120; ++i) {
    finishedRun(tracking, "paged", (i * 53 % 120) / 120.0);
  }
  RunQuery query;
  query.experiment = "paged";
  query.sort_metric = "val_accuracy";
  query.descending = true;
  query.limit = 0;
  auto whole = tracking.listRuns(query);
  ASSERT_TRUE(whole.ok()) << whole.status().toString();
  ASSERT_EQ(whole->runs.size(), 120u);

  std::vector<std::int64_t> paged;
  query.limit = 25;
  for (std::size_t offset = 0; offset < 130; offset += 25) {
    query.offset = offset;
    storage.gets = 0;
    auto page = tracking.listRuns(query);
    ASSERT_TRUE(page.ok()) << page.status().toString();
    EXPECT_EQ(page->matched, 120u) << "offset " << offset;
    EXPECT_EQ(page->runs.size(), offset + 25 <= 120 ? 25u : offset < 120 ? 120 - offset : 0u);
    // The marker and the page's records, however deep the page: skipped runs are not read.
    EXPECT_LE(storage.gets.load(), 1 + page->runs.size()) << "offset " << offset;
    for (const auto& run : page->runs) paged.push_back(run.id);
  }
  EXPECT_EQ(paged, idsOf(*whole));

  // Newest first, filtered: the same pages as the limited listing.
  RunQuery newest;
  newest.experiment = "paged";
  newest.filters = parseMetricFilters("val_accuracy < 0.5").value();
  newest.limit = 0;
  auto filtered = tracking.listRuns(newest);
  ASSERT_TRUE(filtered.ok());
  newest.limit = 7;
  newest.offset = 7;
  auto second = tracking.listRuns(newest);
  ASSERT_TRUE(second.ok());
  const std::vector<std::int64_t> all_filtered = idsOf(*filtered);
  ASSERT_EQ(all_filtered.size(), 60u);
  EXPECT_EQ(idsOf(*second),
            std::vector<std::int64_t>(all_filtered.begin() + 7, all_filtered.begin() + 14));
  EXPECT_EQ(second->matched, 60u);
}

TEST(Tracking, StaleIndexEntriesAreSkipped) {
  MemoryStorage storage(0);
  Tracking tracking(storage);
  const std::int64_t id = finishedRun(tracking, "exp", 0.9);
  // What a crash between two writes of a flush leaves: an entry for an older value.
  ASSERT_TRUE(storage
                  .put("tracking/experiments/exp/metric/val_accuracy/" + sortableNumber(0.1) +
                           "/0000000001",
                       "")
                  .ok());
  ASSERT_TRUE(storage.put("tracking/experiments/exp/status/running/0000000001", "").ok());
  RunQuery query;
  query.experiment = "exp";
  query.sort_metric = "val_accuracy";
  auto sorted = tracking.listRuns(query);
  ASSERT_TRUE(sorted.ok());
  EXPECT_EQ(idsOf(*sorted), (std::vector<std::int64_t>{id}));
  query.filters = parseMetricFilters("val_accuracy<0.5").value();
  EXPECT_TRUE(tracking.listRuns(query)->runs.empty());
  RunQuery running;
  running.status = RunStatus::kRunning;
  EXPECT_TRUE(tracking.listRuns(running)->runs.empty());
}

TEST(Tracking, MetricIndexFollowsTheLatestValueWhileRunning) {
  MemoryStorage storage(0);
  Tracking tracking(storage);
  auto run = start(tracking, "live");
  ASSERT_TRUE(run->log("val_accuracy", 1, 0.3).ok());
  ASSERT_TRUE(run->flush().ok());
  RunQuery query;
  query.experiment = "live";
  query.filters = parseMetricFilters("val_accuracy > 0.5").value();
  EXPECT_TRUE(tracking.listRuns(query)->runs.empty());
  ASSERT_TRUE(run->log("val_accuracy", 2, 0.6).ok());
  ASSERT_TRUE(run->flush().ok());
  EXPECT_EQ(idsOf(tracking.listRuns(query).value()), (std::vector<std::int64_t>{run->id()}));
  EXPECT_EQ(storage.list("tracking/experiments/live/metric/val_accuracy/").value().size(), 1u)
      << "the old value's entry is gone";
}

TEST(Tracking, FilterParsingAcceptsEveryOperatorAndNamesBadTokens) {
  auto filters = parseMetricFilters("a<1, b <= 2 and c>3 AND d>=-4e-1,e=5,f==6,g!=7");
  ASSERT_TRUE(filters.ok()) << filters.status().toString();
  ASSERT_EQ(filters->size(), 7u);
  using Op = MetricFilter::Op;
  EXPECT_EQ((*filters)[0].op, Op::kLess);
  EXPECT_EQ((*filters)[1].op, Op::kLessEqual);
  EXPECT_EQ((*filters)[1].metric, "b");
  EXPECT_EQ((*filters)[2].op, Op::kGreater);
  EXPECT_EQ((*filters)[3].op, Op::kGreaterEqual);
  EXPECT_DOUBLE_EQ((*filters)[3].value, -0.4);
  EXPECT_EQ((*filters)[4].op, Op::kEqual);
  EXPECT_EQ((*filters)[5].op, Op::kEqual);
  EXPECT_EQ((*filters)[6].op, Op::kNotEqual);
  EXPECT_TRUE((*filters)[6].matches(8));
  EXPECT_FALSE((*filters)[6].matches(7));

  struct Case {
    const char* text;
    const char* says;
  };
  for (const Case& c :
       {Case{"val_accuracy>>0.8", "'>0.8' is not a number"},
        Case{"val_accuracy>0.8x", "'0.8x' is not a number"},
        Case{"val_accuracy", "'val_accuracy' has no comparison"},
        Case{"val_accuracy!0.8", "'!' is not a comparison"},
        Case{">0.8", "no metric name before '>'"},
        Case{"val accuracy>0.8", "metric name 'val accuracy'"},
        Case{"a>1,,b<2", "an empty condition"}, Case{"loss<", "'' is not a number"}}) {
    auto parsed = parseMetricFilters(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr("bad filter '" + std::string(c.text) + "'"));
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.says)) << c.text;
  }
}

TEST(Tracking, ALoggerDroppedWithoutFinishingMarksTheRunFailed) {
  MemoryStorage storage(0);
  Tracking tracking(storage);
  std::int64_t id = 0;
  {
    auto run = start(tracking, "exp");
    id = run->id();
    ASSERT_TRUE(run->log("loss", 1, 0.5).ok());
  }
  auto run = tracking.getRun(id);
  EXPECT_EQ(run->status, RunStatus::kFailed);
  EXPECT_THAT(run->error, HasSubstr("without reporting its outcome"));
  EXPECT_DOUBLE_EQ(run->metrics.at("loss"), 0.5) << "buffered points are flushed";
  EXPECT_TRUE(storage.list("tracking/live/").value().empty());
}

TEST(Tracking, ThreadsStartingRunsAtOnceGetDistinctIds) {
  MemoryStorage storage(0);
  Tracking tracking(storage);
  std::vector<std::thread> threads;
  std::vector<std::vector<std::int64_t>> ids(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto run = tracking.startRun(newRun("par"));
        if (run.ok()) {
          ids[t].push_back((*run)->id());
          (*run)->finish(RunStatus::kFinished).ignoreError();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::int64_t> all;
  for (const auto& list : ids) all.insert(list.begin(), list.end());
  EXPECT_EQ(all.size(), 100u);
  RunQuery query;
  query.experiment = "par";
  query.status = RunStatus::kFinished;
  EXPECT_EQ(tracking.listRuns(query)->runs.size(), 100u);
}

TEST(Tracking, ARunOfASigkilledProcessIsMarkedFailedOnTheNextOpen) {
  aimass::testing::TempDir dir;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    auto storage = FsStorage::create(dir.path(), false);
    if (!storage.ok()) ::_exit(2);
    Tracking tracking(**storage);
    auto run = tracking.startRun(newRun("crash"));
    if (!run.ok()) ::_exit(3);
    for (int step = 1; step <= 10; ++step) {
      (*run)->log("loss", step, 1.0 / step).ignoreError();
    }
    if (!(*run)->flush().ok()) ::_exit(4);
    (*run)->log("loss", 11, 0.01).ignoreError();  // buffered: lost with the process
    char byte = 1;
    if (::write(ready[1], &byte, 1) != 1) ::_exit(5);
    for (;;) ::pause();  // killed here, never finishing the run
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1) << "the child did not start its run";
  ::close(ready[0]);
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int wait_status = 0;
  ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL);

  auto storage = FsStorage::create(dir.path(), false);
  ASSERT_TRUE(storage.ok());
  Tracking tracking(**storage);
  auto before = tracking.getRun(1);
  ASSERT_TRUE(before.ok()) << before.status().toString();
  EXPECT_EQ(before->status, RunStatus::kRunning) << "nothing has looked at it yet";
  EXPECT_EQ(before->pid, child);

  // A run of this (living) process is left alone.
  auto mine = start(tracking, "crash");
  ASSERT_TRUE(mine);

  auto recovered = tracking.recoverAbandonedRuns();
  ASSERT_TRUE(recovered.ok()) << recovered.status().toString();
  ASSERT_EQ(recovered->size(), 1u);
  EXPECT_EQ((*recovered)[0].id, 1);
  auto after = tracking.getRun(1);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, RunStatus::kFailed);
  EXPECT_THAT(after->error, HasSubstr("pid " + std::to_string(child)));
  EXPECT_THAT(after->error, HasSubstr("killed"));
  EXPECT_GT(after->end_unix_ms, 0);
  EXPECT_DOUBLE_EQ(after->metrics.at("loss"), 0.1) << "the flushed points survive";
  EXPECT_EQ(tracking.metricPoints(1)->size(), 10u);

  RunQuery failed;
  failed.experiment = "crash";
  failed.status = RunStatus::kFailed;
  EXPECT_EQ(idsOf(tracking.listRuns(failed).value()), (std::vector<std::int64_t>{1}));
  RunQuery running = failed;
  running.status = RunStatus::kRunning;
  EXPECT_EQ(idsOf(tracking.listRuns(running).value()), (std::vector<std::int64_t>{mine->id()}));
  EXPECT_TRUE(tracking.recoverAbandonedRuns()->empty()) << "recovered once";
  EXPECT_TRUE(mine->finish(RunStatus::kFinished).ok());
}

}  // namespace
}  // namespace aimass::core
