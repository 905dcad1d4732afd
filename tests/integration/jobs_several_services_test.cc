// SPDX-License-Identifier: Apache-2.0
// Several job services on one store (docs/jobs.md, "Several services"): real `aimass serve`
// processes over real sockets, sharing a SQLite file or a PostgreSQL database (the `postgres`
// ctest fixture's server). One holds the scheduler lease and runs every job; the other takes
// submissions, cancellations and reads; when the leader is killed the other takes its jobs over;
// a queue's quota holds across both.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "aimass_server.h"
#include "http_call.h"
#include "job_http.h"
#include "skip_or_fail.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using aimass::testing::AimassServer;
using aimass::testing::createdJobId;
using aimass::testing::httpCall;
using aimass::testing::HttpReply;
using aimass::testing::jobJsonOf;
using aimass::testing::jobLogOf;
using aimass::testing::jsonQuoted;
using aimass::testing::waitForJobState;
using ::testing::HasSubstr;

// Not a speed check: only so a broken build fails instead of hanging.
constexpr auto kHangLimit = std::chrono::seconds(120);

const std::string kWaitGraph = "nodes:\n  wait: {type: job.fixture_wait}\n";

std::string trainGraph(const std::string& store) {
  return "nodes:\n"
         "  store: {type: storage.fs, path: " + store + "}\n"
         "  pumps: {type: dataset.csv, path: pumps.csv, label: state}\n"
         "  model: {type: model.softmax}\n"
         "  sgd: {type: optimizer.sgd, learning_rate: 0.05}\n"
         "  train: {type: job.train, model: model, dataset: pumps, optimizer: sgd, epochs: 2, "
         "seed: 7, storage: store}\n";
}

std::string firstLine(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

/// Where the services keep their jobs: a SQLite file in the test's folder, or a PostgreSQL
/// database of the test's own on the fixture's server (empty when there is none).
struct StoreKind {
  std::string name;
  bool postgres = false;
};

void PrintTo(const StoreKind& kind, std::ostream* out) { *out << kind.name; }

class SeveralJobServices : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    fs::copy_file(fs::path(AIMASS_SOURCE_DIR) / "configs" / "data" / "pumps.csv",
                  dir_.path() / "pumps.csv");
    if (!GetParam().postgres) {
      store_ = "{type: storage.sqlite, path: " + (dir_.path() / "jobs.db").string() + "}";
      return;
    }
#ifndef AIMASS_TEST_POSTGRES
    AIMASS_SKIP_OR_FAIL("this build has no storage.postgres (libpq-dev, libpoco-dev; "
                        "scripts/install-deps.sh installs them)");
#else
    const char* state = std::getenv("AIMASS_TEST_POSTGRES_STATE");
    ASSERT_NE(state, nullptr) << "run through ctest: the 'postgres' fixture starts the server";
    const std::string uri = firstLine(fs::path(state) / "uri");  // postgresql://U@H:P/aimass
    ::setenv("AIMASS_TEST_PG_JOBS_PASSWORD", firstLine(fs::path(state) / "password").c_str(), 1);
    database_ = "aimass_jobs_" + std::to_string(::getpid()) + "_" +
                std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                std::to_string(counter_++);
    ASSERT_EQ(psql(uri, "CREATE DATABASE " + database_), 0);
    admin_uri_ = uri;
    store_ = "{type: storage.postgres, uri: '" + uri.substr(0, uri.rfind('/') + 1) + database_ +
             "', password_env: AIMASS_TEST_PG_JOBS_PASSWORD}";
#endif
  }

  void TearDown() override {
    services_.clear();  // stopped before their database goes
    if (!database_.empty()) {
      EXPECT_EQ(psql(admin_uri_, "DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)"), 0);
    }
  }

  static int psql(const std::string& uri, const std::string& sql) {
    const std::string command = "PGPASSWORD=\"$AIMASS_TEST_PG_JOBS_PASSWORD\" psql -q -X -d '" +
                                uri + "' -c '" + sql + "' > /dev/null";
    return std::system(command.c_str());
  }

  // A service on the shared store and work folder, with one queue `q` of `threads` threads,
  // its frontend.http on a free port; its index in services_.
  std::size_t startService(int threads = 2) {
    const std::size_t index = services_.size();
    const fs::path config = dir_.path() / ("service" + std::to_string(index) + ".yaml");
    std::ofstream(config) << "plugins: [" AIMASS_FIXTURE_DIR "/libaimass_fixture_wait_job.so]\n"
                             "nodes:\n"
                             "  store: " + store_ + "\n"
                             "  jobs:\n"
                             "    type: service.jobs\n"
                             "    storage: store\n"
                             "    work_dir: " + (dir_.path() / "jobs").string() + "\n"
                             "    threads: 2\n"
                             "    memory: 4GiB\n"
                             "    gpus: 0\n"
                             "    grace_period_ms: 5000\n"
                             "    poll_interval_ms: 50\n"
                             "    scheduler_lease_ms: 2000\n"
                             "    queues:\n"
                             "      q: {threads: " + std::to_string(threads) + ", memory: 4GiB}\n"
                             "  web: {type: frontend.http, host: 127.0.0.1, port: 0}\n";
    services_.push_back(std::make_unique<AimassServer>(config.string(), "serve"));
    ports_.push_back(static_cast<std::uint16_t>(services_.back()->waitForPort()));
    EXPECT_GT(ports_.back(), 0) << services_.back()->err();
    return index;
  }

  std::int64_t submit(std::size_t service, const std::string& graph) {
    return createdJobId(httpCall(ports_[service], "POST", "/api/v1/jobs",
                                 "{\"config\": " + jsonQuoted(graph) +
                                     ", \"config_name\": \"job.yaml\", \"queue\": \"q\", "
                                     "\"threads\": 1, \"memory\": \"1GiB\"}"));
  }

  // The service's aimass_jobs_scheduler_leader gauge, once it is `value` (false after a while).
  bool leaderGaugeBecomes(std::size_t service, int value) {
    const std::string line = "aimass_jobs_scheduler_leader " + std::to_string(value) + "\n";
    const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (httpCall(ports_[service], "GET", "/metrics").body.find(line) != std::string::npos) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  aimass::testing::TempDir dir_;
  std::string store_;
  std::string database_;
  std::string admin_uri_;
  std::vector<std::unique_ptr<AimassServer>> services_;
  std::vector<std::uint16_t> ports_;
  static inline int counter_ = 0;
};

TEST_P(SeveralJobServices, OneRunsTheJobsAndTheOtherTakesSubmissionsCancellationsAndReads) {
  const std::size_t leader = startService();
  ASSERT_TRUE(leaderGaugeBecomes(leader, 1));
  const std::size_t standby = startService();
  ASSERT_TRUE(leaderGaugeBecomes(standby, 0));
  EXPECT_TRUE(services_[standby]->waitForLog("standing by")) << services_[standby]->err();

  // Submitted through the standby, run by the leader, read through either.
  const std::int64_t trained = submit(standby, trainGraph((dir_.path() / "runs").string()));
  Poco::JSON::Object::Ptr done = waitForJobState(ports_[standby], trained,
                                                 {"succeeded", "failed", "cancelled"}, kHangLimit);
  EXPECT_EQ(done->getValue<std::string>("state"), "succeeded")
      << done->getValue<std::string>("reason");
  EXPECT_EQ(jobJsonOf(ports_[leader], trained)->getValue<std::string>("state"), "succeeded");
  EXPECT_THAT(jobLogOf(ports_[standby], trained), HasSubstr("job finished"));

  // Cancelled through the standby while the leader runs it.
  const std::int64_t waiting = submit(standby, kWaitGraph);
  waitForJobState(ports_[leader], waiting, {"running"}, kHangLimit);
  ASSERT_EQ(httpCall(ports_[standby], "POST", "/api/v1/jobs/" + std::to_string(waiting) +
                                              "/cancel").status,
            200);
  EXPECT_EQ(waitForJobState(ports_[standby], waiting, {"cancelled", "failed", "succeeded"},
                            kHangLimit)
                ->getValue<std::string>("state"),
            "cancelled");
  // Only the leader ran workers: the standby logged none of its own.
  EXPECT_THAT(services_[standby]->err(), ::testing::Not(HasSubstr("now runs the jobs")));
}

TEST_P(SeveralJobServices, WhenTheLeaderIsKilledTheOtherTakesOverItsJobs) {
  const std::size_t first = startService();
  ASSERT_TRUE(leaderGaugeBecomes(first, 1));
  const std::size_t second = startService();
  ASSERT_TRUE(leaderGaugeBecomes(second, 0));
  const std::int64_t running = submit(second, kWaitGraph);
  Poco::JSON::Object::Ptr before = waitForJobState(ports_[second], running, {"running"},
                                                   kHangLimit);
  EXPECT_EQ(before->getValue<std::int64_t>("attempts"), 1);

  services_[first]->kill9();  // its worker dies with it
  ASSERT_TRUE(leaderGaugeBecomes(second, 1)) << services_[second]->err();
  EXPECT_TRUE(services_[second]->waitForLog("now runs the jobs")) << services_[second]->err();
  // Requeued as after a restart, and run again by the new leader.
  const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
  Poco::JSON::Object::Ptr after = jobJsonOf(ports_[second], running);
  while (after->getValue<std::int64_t>("attempts") < 2 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    after = jobJsonOf(ports_[second], running);
  }
  EXPECT_EQ(after->getValue<std::int64_t>("attempts"), 2);
  waitForJobState(ports_[second], running, {"running"}, kHangLimit);

  // A job submitted now runs too; then a new service stands by behind the new leader.
  const std::int64_t later = submit(second, trainGraph((dir_.path() / "runs").string()));
  EXPECT_EQ(waitForJobState(ports_[second], later, {"succeeded", "failed"}, kHangLimit)
                ->getValue<std::string>("state"),
            "succeeded");
  const std::size_t third = startService();
  EXPECT_TRUE(leaderGaugeBecomes(third, 0));
  ASSERT_EQ(httpCall(ports_[third], "POST", "/api/v1/jobs/" + std::to_string(running) +
                                             "/cancel").status,
            200);
  EXPECT_EQ(waitForJobState(ports_[third], running, {"cancelled", "failed", "succeeded"},
                            kHangLimit)
                ->getValue<std::string>("state"),
            "cancelled");
}

TEST_P(SeveralJobServices, AQueuesQuotaHoldsAcrossTheServices) {
  // Queue q has 1 thread; four jobs of 1 thread go in through both services.
  const std::size_t a = startService(1);
  ASSERT_TRUE(leaderGaugeBecomes(a, 1));
  const std::size_t b = startService(1);
  ASSERT_TRUE(leaderGaugeBecomes(b, 0));
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(submit(i % 2 == 0 ? a : b, kWaitGraph));
  // Each job in turn runs alone, then is cancelled to make room for the next.
  for (std::size_t done = 0; done < ids.size(); ++done) {
    std::int64_t running_id = 0;
    const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    while (running_id == 0 && std::chrono::steady_clock::now() < deadline) {
      int running = 0;
      for (std::int64_t id : ids) {
        if (jobJsonOf(ports_[b], id)->getValue<std::string>("state") == "running") {
          ++running;
          running_id = id;
        }
      }
      ASSERT_LE(running, 1) << "the quota of 1 thread was exceeded";
      if (running_id == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_NE(running_id, 0) << "no job started";
    ASSERT_EQ(httpCall(ports_[done % 2 == 0 ? b : a], "POST",
                       "/api/v1/jobs/" + std::to_string(running_id) + "/cancel")
                  .status,
              200);
    waitForJobState(ports_[a], running_id, {"cancelled"}, kHangLimit);
  }
  for (std::int64_t id : ids) {
    EXPECT_EQ(jobJsonOf(ports_[a], id)->getValue<std::int64_t>("attempts"), 1);
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, SeveralJobServices,
                         ::testing::Values(StoreKind{"Sqlite", false},
                                           StoreKind{"Postgres", true}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
