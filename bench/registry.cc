// SPDX-License-Identifier: Apache-2.0
// Measures the registry and tracking operations of issue 5 on a storage.sqlite store (a fresh
// file in a temporary folder) and, given a URI, on PostgreSQL (a database this program may fill
// and leave filled: use a scratch database):
//   register   registering a model version (a 4 KiB artifact put + registerVersion)
//   resolve    resolving "model@champion" (target: under 1 ms on SQLite)
//   log        logging 10,000 metric points to one run, flushes included
//   list       listing 10,000 runs of an experiment filtered by a metric (> 0.9, about 10%)
//   list_100k  listing 100,000 runs of an experiment filtered by a metric (> 0.9), sorted by it
//              (largest first), limited to 10: the median of 5 queries; and whether the query
//              the storage runs for it uses the primary key's index (SQLite EXPLAIN QUERY PLAN,
//              PostgreSQL EXPLAIN), the plan printed on stderr. The 100,000 runs are written
//              straight into the records table in one transaction (in Tracking's layout, see
//              aimass/core/tracking.h), since a run written through Tracking costs about ten
//              separate transactions; a listing that finds other than the runs written fails
//              the bench, so a change of the layout cannot go unnoticed.
// Not a test: the figures depend on the machine. Prints one JSON line per store.
// Usage: registry_bench [--postgres URI] [--runs N] [--points N] [--big-runs N]
#include "aimass/core/registry.h"

#include <Poco/Data/Session.h>
#include <Poco/Exception.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/core/tracking.h"
#include "run_rows.h"
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

/// The store's own SQL session, for writing many records in one transaction and for EXPLAIN.
struct Dialect {
  std::function<std::unique_ptr<Poco::Data::Session>()> connect;
  /// A key, and a value, as SQL literals of the records table's column types.
  std::function<std::string(std::string_view)> key_literal;
  std::function<std::string(std::string_view)> value_literal;
  /// The plan of the storage's list(prefix) query for keys in [low, high), one line a step.
  std::function<std::vector<std::string>(Poco::Data::Session&, std::string_view, std::string_view)>
      plan;
  /// Whether `plan` reads the primary key's index rather than scanning the table.
  std::function<bool(const std::string&)> uses_index;
  std::string analyze;  ///< brings the planner's statistics up to date; empty when not needed
};

std::string hexOf(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

struct Figures {
  double register_per_s = 0;
  double resolve_ms = 0;  ///< mean
  double resolve_p99_ms = 0;
  double log_points_per_s = 0;
  double list_filtered_ms = 0;
  std::size_t listed = 0;
  std::size_t runs = 0;
  std::size_t big_runs = 0;
  double big_load_s = 0;
  double big_list_ms = 0;  ///< median
  std::size_t big_matched = 0;
  std::size_t big_listed = 0;
  bool big_uses_index = false;
};

/// Writes `count` finished runs of `experiment` with metric accuracy = (i * 7919 % 1000) / 1000
/// straight into the records table, in one transaction, as Tracking lays them out; returns how
/// many have accuracy > 0.9.
std::size_t loadRuns(Storage& storage, const Dialect& dialect, const std::string& experiment,
                     std::size_t count) {
  const std::int64_t first = must(aimass::testing::reserveRunIds(storage, count), "run ids");
  std::size_t above = 0;
  const auto rows = aimass::testing::finishedRunRows(
      experiment, first, count, [&](std::size_t i, RunRecord& run) {
        const double accuracy = static_cast<double>((i * 7919) % 1000) / 1000.0;
        above += accuracy > 0.9 ? 1 : 0;
        run.metrics["accuracy"] = accuracy;
        run.host = "registry-bench";
      });
  auto session = dialect.connect();
  try {
    session->begin();
    constexpr std::size_t kRowsPerStatement = 500;
    for (std::size_t at = 0; at < rows.size(); at += kRowsPerStatement) {
      std::string sql = "INSERT INTO records (key, value) VALUES ";
      for (std::size_t j = at; j < std::min(rows.size(), at + kRowsPerStatement); ++j) {
        sql += (j > at ? ", (" : "(") + dialect.key_literal(rows[j].first) + ", " +
               dialect.value_literal(rows[j].second) + ")";
      }
      *session << sql, Poco::Data::Keywords::now;
    }
    session->commit();
    if (!dialect.analyze.empty()) {
      *session << dialect.analyze, Poco::Data::Keywords::now;
    }
  } catch (const Poco::Exception& e) {
    die("writing " + std::to_string(count) + " runs", aimass::internalError(e.displayText()));
  }
  return above;
}

void measureBigListing(Storage& storage, const Dialect& dialect, std::size_t count,
                       const std::string& tag, Figures& f) {
  const std::string experiment = "bench-list100k-" + tag;
  f.big_runs = count;
  auto start = Clock::now();
  const std::size_t expected = loadRuns(storage, dialect, experiment, count);
  f.big_load_s = secondsSince(start);

  Tracking tracking(storage);
  RunQuery query;
  query.experiment = experiment;
  query.filters = must(parseMetricFilters("accuracy>0.9"), "parsing the filter");
  query.sort_metric = "accuracy";
  query.descending = true;
  query.limit = 10;
  std::vector<double> ms;
  for (int i = 0; i < 5; ++i) {
    start = Clock::now();
    auto listed = must(tracking.listRuns(query), "listing " + std::to_string(count) + " runs");
    ms.push_back(secondsSince(start) * 1000);
    f.big_matched = listed.matched;
    f.big_listed = listed.runs.size();
    if (listed.matched != expected || listed.runs.empty() ||
        listed.runs.front().metrics["accuracy"] < 0.999) {
      std::fprintf(stderr,
                   "registry bench: listing the %zu runs written matched %zu (expected %zu): "
                   "they are not in Tracking's layout any more; update loadRuns()\n",
                   count, listed.matched, expected);
      std::exit(1);
    }
  }
  std::sort(ms.begin(), ms.end());
  f.big_list_ms = ms[ms.size() / 2];

  // The plan of the range query list() runs for the metric index, the listing's largest read.
  const std::string low = "tracking/experiments/" + experiment + "/metric/accuracy/";
  const std::string high = *aimass::plugins::storage::prefixUpperBound(low);
  auto session = dialect.connect();
  std::vector<std::string> plan;
  try {
    plan = dialect.plan(*session, low, high);
  } catch (const Poco::Exception& e) {
    die("explaining the list query", aimass::internalError(e.displayText()));
  }
  std::string text;
  for (const auto& line : plan) text += "  " + line + "\n";
  std::fprintf(stderr, "registry bench: plan of list('%s'):\n%s", low.c_str(), text.c_str());
  f.big_uses_index = dialect.uses_index(text);
}

/// Names unique to this invocation, so a PostgreSQL database used before holds none of them.
Figures measure(Storage& storage, const Dialect& dialect, std::size_t runs, std::size_t points,
                std::size_t big_runs, const std::string& tag) {
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
  if (big_runs > 0) {
    measureBigListing(storage, dialect, big_runs, tag, f);
  }
  return f;
}

void print(std::string_view backend, const Figures& f) {
  std::printf(
      "{\"workload\": \"registry\", \"backend\": \"%.*s\", \"register_per_s\": %.1f, "
      "\"resolve_alias_ms\": %.4f, \"resolve_alias_p99_ms\": %.4f, \"log_points_per_s\": %.0f, "
      "\"runs\": %zu, \"list_filtered_ms\": %.2f, \"listed\": %zu, \"big_runs\": %zu, "
      "\"big_load_s\": %.2f, \"list_100k_ms\": %.2f, \"list_100k_matched\": %zu, "
      "\"list_100k_listed\": %zu, \"list_100k_uses_index\": %d}\n",
      static_cast<int>(backend.size()), backend.data(), f.register_per_s, f.resolve_ms,
      f.resolve_p99_ms, f.log_points_per_s, f.runs, f.list_filtered_ms, f.listed, f.big_runs,
      f.big_load_s, f.big_list_ms, f.big_matched, f.big_listed, f.big_uses_index ? 1 : 0);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string postgres_uri;
  std::size_t runs = 10000, points = 10000, big_runs = 100000;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 < argc && arg == "--postgres") {
      postgres_uri = argv[++i];
    } else if (i + 1 < argc && arg == "--runs") {
      runs = std::strtoull(argv[++i], nullptr, 10);
    } else if (i + 1 < argc && arg == "--points") {
      points = std::strtoull(argv[++i], nullptr, 10);
    } else if (i + 1 < argc && arg == "--big-runs") {
      big_runs = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr,
                   "usage: registry_bench [--postgres URI] [--runs N] [--points N] "
                   "[--big-runs N]\n");
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
    const fs::path file = fs::path(folder) / "bench.db";
    auto sqlite =
        must(aimass::plugins::storage::SqliteStorage::create(file, 5000), "opening SQLite");
    Dialect dialect;
    dialect.connect = [file] {
      auto session = std::make_unique<Poco::Data::Session>("SQLite", file.string());
      *session << "PRAGMA busy_timeout = 5000", Poco::Data::Keywords::now;
      return session;
    };
    // Keys are TEXT (a BLOB would sort after every TEXT key), values BLOB.
    dialect.key_literal = [](std::string_view key) {
      std::string quoted = "'";
      for (char c : key) quoted += c == '\'' ? std::string("''") : std::string(1, c);
      return quoted + "'";
    };
    dialect.value_literal = [](std::string_view bytes) { return "X'" + hexOf(bytes) + "'"; };
    dialect.plan = [](Poco::Data::Session& session, std::string_view low, std::string_view high) {
      using namespace Poco::Data::Keywords;
      std::string l(low), h(high);
      std::vector<int> ids, parents, unused;
      std::vector<std::string> detail;
      session << std::string("EXPLAIN QUERY PLAN ") +
                     aimass::plugins::storage::SqliteStorage::kListRangeSql,
          into(ids), into(parents), into(unused), into(detail), use(l), use(h), now;
      return detail;
    };
    // "SEARCH records USING [COVERING] INDEX sqlite_autoindex_records_1 (key>? AND key<?)";
    // a scan reads "SCAN records".
    dialect.uses_index = [](const std::string& plan) {
      return plan.find("SEARCH records USING") != std::string::npos &&
             plan.find("INDEX") != std::string::npos && plan.find("SCAN") == std::string::npos;
    };
    print("sqlite", measure(*sqlite, dialect, runs, points, big_runs, tag));
  }
  std::error_code ec;
  fs::remove_all(folder, ec);
  if (!postgres_uri.empty()) {
#ifdef AIMASS_BENCH_POSTGRES
    aimass::plugins::storage::PostgresOptions options;
    options.uri = postgres_uri;
    auto postgres = must(aimass::plugins::storage::PostgresStorage::create(options),
                         "connecting to " + postgres_uri);
    const std::string connection =
        must(aimass::plugins::storage::postgresConnection(options), "reading " + postgres_uri)
            .first;
    Dialect dialect;
    dialect.connect = [connection] {
      return std::make_unique<Poco::Data::Session>("PostgreSQL", connection);
    };
    dialect.key_literal = [](std::string_view bytes) { return "'\\x" + hexOf(bytes) + "'::bytea"; };
    dialect.value_literal = dialect.key_literal;
    // The query with the bounds written into it: the plan PostgreSQL makes for a prepared
    // statement's first executions, planned for their values (Poco would take $1 and $2 in the
    // text of an EXPLAIN for parameters of its own).
    dialect.plan = [literal = dialect.key_literal](Poco::Data::Session& session,
                                                   std::string_view low, std::string_view high) {
      using namespace Poco::Data::Keywords;
      std::string sql =
          std::string("EXPLAIN ") + aimass::plugins::storage::PostgresStorage::kListRangeSql;
      sql.replace(sql.find("$1"), 2, literal(low));
      sql.replace(sql.find("$2"), 2, literal(high));
      std::vector<std::string> plan;
      session << sql, into(plan), now;
      return plan;
    };
    // "Index Only Scan using records_pkey", "Index Scan ...", or a "Bitmap Index Scan"; a scan
    // of the table reads "Seq Scan on records".
    dialect.uses_index = [](const std::string& plan) {
      return plan.find("records_pkey") != std::string::npos &&
             plan.find("Seq Scan") == std::string::npos;
    };
    // What autovacuum does after a large insert: fresh statistics and the visibility map. Right
    // after loading 400,000 rows and before that, the planner reads a range holding a fifth of
    // the table with a parallel Seq Scan and a sort; afterwards with an Index Only Scan.
    dialect.analyze = "VACUUM ANALYZE records";
    print("postgres", measure(*postgres, dialect, runs, points, big_runs, tag));
#else
    std::fprintf(stderr, "registry bench: built without PostgreSQL (plugins/storage/postgres)\n");
    return 2;
#endif
  }
  return 0;
}
