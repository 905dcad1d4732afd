// SPDX-License-Identifier: Apache-2.0
// seed_runs: fills a storage.sqlite store with many finished runs of one experiment, in one
// transaction, for tests that need a large run table (the web console's runs table at 100,000
// runs, ui/tests). Each run i has the metrics accuracy = (i * 7919 % 1000) / 1000 and
// loss = 1 - accuracy, and the params lr (one of five) and batch (32, 64 or 128).
//
//   seed_runs STORE.db EXPERIMENT COUNT
//
// Prints the first and last run id. Exit status 0 on success, 1 when the store fails, 2 for bad
// usage.
#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "run_rows.h"
#include "sqlite.h"

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "seed_runs: %s\n", what.c_str());
  return 1;
}

/// Inserts `rows` into the records table of the SQLite file `path` in one transaction.
bool insertRows(const std::string& path,
                const std::vector<std::pair<std::string, std::string>>& rows, std::string& error) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    error = "cannot open " + path + ": " + sqlite3_errmsg(db);
    sqlite3_close(db);
    return false;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* insert = nullptr;
  bool ok = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK &&
            sqlite3_prepare_v2(db, "INSERT INTO records (key, value) VALUES (?, ?)", -1, &insert,
                               nullptr) == SQLITE_OK;
  for (std::size_t i = 0; ok && i < rows.size(); ++i) {
    const auto& [key, value] = rows[i];
    // Keys are TEXT, values BLOB, as storage.sqlite keeps them.
    ok = sqlite3_bind_text(insert, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC) ==
             SQLITE_OK &&
         sqlite3_bind_blob(insert, 2, value.data(), static_cast<int>(value.size()),
                           SQLITE_STATIC) == SQLITE_OK &&
         sqlite3_step(insert) == SQLITE_DONE && sqlite3_reset(insert) == SQLITE_OK;
  }
  ok = ok && sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
  if (!ok) {
    error = std::string("writing the runs into ") + path + ": " + sqlite3_errmsg(db);
  }
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: seed_runs STORE.db EXPERIMENT COUNT\n");
    return 2;
  }
  const std::string path = argv[1];
  const std::string experiment = argv[2];
  char* end = nullptr;
  const unsigned long long count = std::strtoull(argv[3], &end, 10);
  if (*argv[3] == '\0' || *end != '\0' || count == 0 || count > 10000000) {
    std::fprintf(stderr, "seed_runs: COUNT must be a whole number from 1 to 10000000\n");
    return 2;
  }
  if (aimass::Status valid = aimass::core::Tracking::validateName(experiment, "experiment");
      !valid.ok()) {
    std::fprintf(stderr, "seed_runs: %s\n", valid.message().c_str());
    return 2;
  }
  // storage.sqlite makes the file and its table, and reserves the ids.
  auto storage = aimass::plugins::storage::SqliteStorage::create(path, 5000);
  if (!storage.ok()) return fail(storage.status().toString());
  auto first = aimass::testing::reserveRunIds(**storage, count);
  if (!first.ok()) return fail(first.status().toString());
  const auto rows = aimass::testing::finishedRunRows(
      experiment, *first, count, [](std::size_t i, aimass::core::RunRecord& run) {
        const double accuracy = static_cast<double>((i * 7919) % 1000) / 1000.0;
        run.metrics["accuracy"] = accuracy;
        run.metrics["loss"] = 1 - accuracy;
        static const char* const kRates[] = {"0.1", "0.03", "0.01", "0.003", "0.001"};
        run.params["lr"] = kRates[i % 5];
        run.params["batch"] = std::to_string(32 << (i % 3));
      });
  storage->reset();
  std::string error;
  if (!insertRows(path, rows, error)) return fail(error);
  std::printf("%lld %lld\n", static_cast<long long>(*first),
              static_cast<long long>(*first + static_cast<std::int64_t>(count) - 1));
  return 0;
}
