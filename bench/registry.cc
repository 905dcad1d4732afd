// SPDX-License-Identifier: Apache-2.0
// Measures the registry and tracking operations of issue 5 on a storage.sqlite store (a fresh
// file in a temporary folder) and, given a URI, on PostgreSQL (a database this program may fill
// and leave filled: use a scratch database):
//   register   registering a model version (a 4 KiB artifact put + registerVersion)
//   resolve    resolving "model@champion" (target: under 1 ms on SQLite)
//   log        logging 10,000 metric points to one run, flushes included
//   list       listing 10,000 runs of an experiment filtered by a metric (> 0.9, about 10%)
// Not a test: the figures depend on the machine. Prints one JSON line per store.
// Usage: registry_bench [--postgres URI] [--runs N] [--points N]
#include "aimass/core/registry.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/core/tracking.h"
#include "sqlite.h"
#ifdef AIMASS_BENCH_POSTGRES
#include "postgres.h"
#endif

namespace {

using aimass::Status;
using aimass::Storage;
using namespace aimass::core;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

[[noreturn]] void die(const std::string& what, const Status& status) {
  std::fprintf(stderr, "registry bench: %s: %s\n", what.c_str(), status.toString().c_str());
  std::exit(1);
}

template <typename T>
T must(aimass::Expected<T> value, const std::string& what) {
  if (!value.ok()) die(what, value.status());
  return std::move(value).value();
}

struct Figures {
  double register_per_s = 0;
  double resolve_ms = 0;  ///< mean
  double resolve_p99_ms = 0;
  double log_points_per_s = 0;
  double list_filtered_ms = 0;
  std::size_t listed = 0;
  std::size_t runs = 0;
};

/// Names unique to this invocation, so a PostgreSQL database used before holds none of them.
Figures measure(Storage& storage, std::size_t runs, std::size_t points, const std::string& tag) {
  Figures f;
  f.runs = runs;
  const std::string model = "bench-" + tag;
  const std::string log_experiment = "bench-log-" + tag;
  const std::string list_experiment = "bench-list-" + tag;
  ModelRegistry registry(storage);
  const std::string artifact(4096, 'w');
  constexpr int kRegisters = 200;
  auto start = Clock::now();
  for (int i = 0; i < kRegisters; ++i) {
    const std::string key = "models/" + model + "/artifacts/" + std::to_string(i) + ".aimass";
    Status put = storage.put(key, artifact);
    if (!put.ok()) die("saving " + key, put);
    NewModelVersion info;
    info.artifact_key = key;
    info.node = model;
    info.node_type = "model.bench";
    info.metrics = {{"loss", 0.1 * i}};
    must(registry.registerVersion(model, info), "registering");
  }
  f.register_per_s = kRegisters / secondsSince(start);

  const auto latest = must(registry.resolve(model), "resolving the latest version");
  must(registry.promote(model, "champion", latest.version), "promoting");
  constexpr int kResolves = 2000;
  std::vector<double> ms;
  ms.reserve(kResolves);
  for (int i = 0; i < kResolves; ++i) {
    const auto one = Clock::now();
    must(registry.resolve(model + "@champion"), "resolving the champion");
    ms.push_back(secondsSince(one) * 1000);
  }
  double sum = 0;
  for (double v : ms) sum += v;
  f.resolve_ms = sum / kResolves;
  std::sort(ms.begin(), ms.end());
  f.resolve_p99_ms = ms[kResolves * 99 / 100];

  Tracking tracking(storage);
  auto run = must(tracking.startRun({log_experiment, "train", "job.train", {}}), "starting a run");
  start = Clock::now();
  for (std::size_t step = 0; step < points; ++step) {
    Status logged = run->log("loss", static_cast<std::int64_t>(step), 1.0 / (1.0 + step));
    if (!logged.ok()) die("logging", logged);
  }
  Status finished = run->finish(RunStatus::kFinished);
  if (!finished.ok()) die("finishing the run", finished);
  f.log_points_per_s = static_cast<double>(points) / secondsSince(start);

  for (std::size_t i = 0; i < runs; ++i) {
    auto r = must(tracking.startRun({list_experiment, "train", "job.train", {}}), "starting a run");
    Status logged = r->log("accuracy", 0, static_cast<double>((i * 7919) % 1000) / 1000.0);
    if (!logged.ok()) die("logging", logged);
    Status done = r->finish(RunStatus::kFinished);
    if (!done.ok()) die("finishing a run", done);
  }
  RunQuery query;
  query.experiment = list_experiment;
  query.filters = must(parseMetricFilters("accuracy>0.9"), "parsing the filter");
  start = Clock::now();
  auto listed = must(tracking.listRuns(query), "listing runs");
  f.list_filtered_ms = secondsSince(start) * 1000;
  f.listed = listed.runs.size();
  return f;
}

void print(std::string_view backend, const Figures& f) {
  std::printf(
      "{\"workload\": \"registry\", \"backend\": \"%.*s\", \"register_per_s\": %.1f, "
      "\"resolve_alias_ms\": %.4f, \"resolve_alias_p99_ms\": %.4f, \"log_points_per_s\": %.0f, "
      "\"runs\": %zu, \"list_filtered_ms\": %.2f, \"listed\": %zu}\n",
      static_cast<int>(backend.size()), backend.data(), f.register_per_s, f.resolve_ms,
      f.resolve_p99_ms, f.log_points_per_s, f.runs, f.list_filtered_ms, f.listed);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string postgres_uri;
  std::size_t runs = 10000, points = 10000;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 < argc && arg == "--postgres") {
      postgres_uri = argv[++i];
    } else if (i + 1 < argc && arg == "--runs") {
      runs = std::strtoull(argv[++i], nullptr, 10);
    } else if (i + 1 < argc && arg == "--points") {
      points = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: registry_bench [--postgres URI] [--runs N] [--points N]\n");
      return 2;
    }
  }
  namespace fs = std::filesystem;
  const std::string tag = std::to_string(std::chrono::system_clock::now().time_since_epoch() /
                                         std::chrono::milliseconds(1));
  std::string folder = (fs::temp_directory_path() / "aimass-bench-registry-XXXXXX").string();
  if (::mkdtemp(folder.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  {
    auto sqlite =
        must(aimass::plugins::storage::SqliteStorage::create(fs::path(folder) / "bench.db", 5000),
             "opening SQLite");
    print("sqlite", measure(*sqlite, runs, points, tag));
  }
  std::error_code ec;
  fs::remove_all(folder, ec);
  if (!postgres_uri.empty()) {
#ifdef AIMASS_BENCH_POSTGRES
    aimass::plugins::storage::PostgresOptions options;
    options.uri = postgres_uri;
    auto postgres = must(aimass::plugins::storage::PostgresStorage::create(options),
                         "connecting to " + postgres_uri);
    print("postgres", measure(*postgres, runs, points, tag));
#else
    std::fprintf(stderr, "registry bench: built without PostgreSQL (plugins/storage/postgres)\n");
    return 2;
#endif
  }
  return 0;
}
