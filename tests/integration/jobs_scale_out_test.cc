// SPDX-License-Identifier: Apache-2.0
// Jobs of several MPI ranks and jobs run by Slurm (docs/jobs.md, "Scale-out"), in a real
// `aimass run` with service.jobs and frontend.http on 127.0.0.1: a 2-rank data-parallel
// job.train under the service's own mpirun succeeds with one registered version and both ranks'
// lines in its log; cancelling a running 2-rank job stops each rank on SIGTERM (rank 0
// checkpoints; both ranks' last lines reach the log) and leaves none of its processes; a 2-rank job
// whose graph has no collective is refused naming it. Against a real single-node Slurm (the
// `slurm` fixture, scripts/slurm-test-server.sh): a job runs as a batch job whose id the job
// shows, and a restarted service re-attaches to a batch job that still runs, then cancels it;
// a 2-rank job runs as one batch job of 2 tasks (mpirun inside it) that trains and registers
// as under the local mpirun, and cancelling it stops both ranks the same way.
#include <Poco/JSON/Object.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aimass_server.h"
#include "http_call.h"
#include "job_http.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using aimass::testing::AimassServer;
using aimass::testing::createdJobId;
using aimass::testing::httpCall;
using aimass::testing::HttpReply;
using aimass::testing::jobJsonOf;
using aimass::testing::jsonQuoted;
using aimass::testing::jobLogOf;
using aimass::testing::readWholeFile;
using aimass::testing::runAimass;
using aimass::testing::waitForJobLog;
using aimass::testing::waitForJobState;
using ::testing::HasSubstr;

// Not a speed check: only so a broken build fails instead of hanging.
constexpr auto kHangLimit = std::chrono::seconds(180);

/// job.train over `collective` (empty: none) on store/store.db; `epochs` of batch 16.
std::string trainGraph(int epochs, bool distributed) {
  return std::string("nodes:\n") +
         (distributed ? "  world: {type: collective.mpi, timeout_seconds: 120}\n" : "") +
         "  store: {type: storage.sqlite, path: store/store.db}\n"
         "  rows: {type: dataset.csv, path: pumps.csv, label: state}\n"
         "  clf: {type: model.mlp, hidden: [16], activation: relu}\n"
         "  adam: {type: optimizer.adam, learning_rate: 0.01}\n"
         "  train:\n"
         "    type: job.train\n"
         "    model: clf\n"
         "    dataset: rows\n"
         "    optimizer: adam\n"
         "    storage: store\n" +
         (distributed ? "    collective: world\n" : "") + "    epochs: " + std::to_string(epochs) +
         "\n    batch_size: " + (epochs > 1000 ? "1" : "16") +
         "\n    seed: 3\n    checkpoint_every: 100000\n";
}

/// The processes whose environment holds `variable` (NAME=value).
std::vector<pid_t> processesWith(const std::string& variable) {
  std::vector<pid_t> found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string environ = readWholeFile(entry.path() / "environ");
    for (std::size_t at = 0; at < environ.size();) {
      const std::size_t end = environ.find('\0', at);
      if (environ.compare(at, (end == std::string::npos ? environ.size() : end) - at, variable) ==
              0 &&
          (end == std::string::npos ? environ.size() : end) - at == variable.size()) {
        found.push_back(static_cast<pid_t>(std::stol(name)));
        break;
      }
      at = end == std::string::npos ? environ.size() : end + 1;
    }
  }
  return found;
}

class JobsScaleOut : public ::testing::Test {
 protected:
  void SetUp() override {
    // Open MPI starts as root only when told twice; containers may forbid the cross-memory
    // attach of its shared-memory transport. The service and its mpirun inherit these.
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
    fs::copy_file(fs::path(AIMASS_SOURCE_DIR) / "configs" / "data" / "pumps.csv",
                  dir_.path() / "pumps.csv");
    fs::create_directories(dir_.path() / "store");
  }

  void start(const std::string& more = "") {
    std::ofstream(dir_.path() / "service.yaml")
        << "nodes:\n"
           "  state: {type: storage.sqlite, path: service.db}\n"
           "  jobs:\n"
           "    type: service.jobs\n"
           "    storage: state\n"
           "    threads: 4\n"
           "    memory: 8GiB\n"
           "    gpus: 0\n"
           "    grace_period_ms: 5000\n"
           "    poll_interval_ms: 50\n" +
               more + "  web: {type: frontend.http, host: 127.0.0.1, port: 0}\n";
    server_ = std::make_unique<AimassServer>((dir_.path() / "service.yaml").string());
    port_ = static_cast<std::uint16_t>(server_->waitForPort());
    ASSERT_GT(port_, 0) << server_->err();
  }

  HttpReply submit(const std::string& graph, int ranks) {
    return httpCall(port_, "POST", "/api/v1/jobs",
                    "{\"config\": " + jsonQuoted(graph) +
                        ", \"config_name\": \"train.yaml\", \"threads\": 1, \"memory\": "
                        "\"1GiB\", \"ranks\": " +
                        std::to_string(ranks) + "}");
  }

  std::int64_t submitted(const HttpReply& reply) { return createdJobId(reply); }
  Poco::JSON::Object::Ptr job(std::int64_t id) { return jobJsonOf(port_, id); }
  Poco::JSON::Object::Ptr waitFor(std::int64_t id, const std::set<std::string>& states) {
    return waitForJobState(port_, id, states, kHangLimit);
  }
  std::string log(std::int64_t id) { return jobLogOf(port_, id); }
  bool waitForLog(std::int64_t id, const std::string& text) {
    return waitForJobLog(port_, id, text, kHangLimit);
  }

  /// `aimass ARGS --config train.yaml` (the job's graph, on the job's store): its stdout.
  std::string cli(std::vector<std::string> args) {
    std::ofstream(dir_.path() / "train.yaml") << trainGraph(1, false);
    args.insert(args.end(), {"--config", (dir_.path() / "train.yaml").string()});
    const fs::path out = dir_.path() / "cli";
    fs::create_directories(out);
    auto result = runAimass(out, std::move(args));
    EXPECT_EQ(result.code, 0) << result.err;
    return result.out;
  }

  /// Submits a 2-rank job.train of 3 epochs and waits for its end: its JSON, with a failure
  /// unless it succeeded and left, however its ranks were started, both ranks' lines in its log,
  /// one tracked run linked to the job and one registered model, from rank 0. `id` receives the
  /// job's id (0 when the submission failed).
  Poco::JSON::Object::Ptr trainOnTwoRanks(std::int64_t& id) {
    id = submitted(submit(trainGraph(3, true), 2));
    if (id <= 0) return nullptr;
    auto done = waitFor(id, {"succeeded", "failed", "cancelled"});
    const std::string text = log(id);
    EXPECT_EQ(done->getValue<std::string>("state"), "succeeded")
        << done->getValue<std::string>("reason") << "\n"
        << text;
    EXPECT_EQ(done->getValue<std::int64_t>("ranks"), 2);
    EXPECT_THAT(text, HasSubstr("[rank 0]"));
    EXPECT_THAT(text, HasSubstr("[rank 1]"));
    EXPECT_THAT(text, HasSubstr("data-parallel over 2 ranks"));
    EXPECT_EQ(done->getArray("runs")->size(), 1U) << text;
    EXPECT_THAT(cli({"models", "list"}), HasSubstr("clf"));
    const std::string runs = cli({"runs", "list", "--json"});
    const std::regex run_id(R"("id"\s*:)");
    EXPECT_EQ(std::distance(std::sregex_iterator(runs.begin(), runs.end(), run_id),
                            std::sregex_iterator()),
              1)
        << runs;
    return done;
  }

  /// Submits a 2-rank job.train that runs until stopped and waits until rank 1 logs: its id, or
  /// 0 with a failure when it does not get that far.
  std::int64_t runningTwoRankJob() {
    const std::int64_t id = submitted(submit(trainGraph(1000000, true), 2));
    if (id <= 0) return 0;
    if (!waitForLog(id, "[rank 1]")) {
      ADD_FAILURE() << "rank 1 of job " << id << " never logged:\n" << log(id);
      return 0;
    }
    return id;
  }

  /// The environment entry that every process of job `id` carries (mpirun and each rank).
  std::string jobMarker(std::int64_t id) {
    return "AIMASS_JOB_RUNS_FILE=" + (dir_.path() / "jobs" / std::to_string(id) / "runs").string();
  }

  /// Cancels running 2-rank job `id` over HTTP and waits for its end: a failure unless it ends
  /// cancelled with none of its processes left, after each rank stopped on SIGTERM (in the log,
  /// which gets a rank's lines even once mpirun, signalled too, stops forwarding them) and rank 0
  /// wrote its checkpoint.
  void expectCancelStopsEveryProcess(std::int64_t id) {
    ASSERT_EQ(httpCall(port_, "POST", "/api/v1/jobs/" + std::to_string(id) + "/cancel").status,
              200);
    auto done = waitFor(id, {"succeeded", "failed", "cancelled"});
    const std::string text = log(id);
    EXPECT_EQ(done->getValue<std::string>("state"), "cancelled") << text;
    EXPECT_THAT(text, HasSubstr("[rank 0] [host] received SIGTERM, stopping"));
    EXPECT_THAT(text, HasSubstr("[rank 1] [host] received SIGTERM, stopping"));
    EXPECT_THAT(text,
                ::testing::ContainsRegex("\\[rank 0\\] \\[train\\] training of model 'clf' was "
                                         "stopped at epoch [0-9]+ step [0-9]+; checkpoint"));
    EXPECT_TRUE(processesWith(jobMarker(id)).empty())
        << "processes of job " << id << " outlived its cancel";
  }

  aimass::testing::TempDir dir_{"aimass-scale-out"};
  std::unique_ptr<AimassServer> server_;
  std::uint16_t port_ = 0;
};

TEST_F(JobsScaleOut, ATwoRankJobTrainsUnderMpirunAndRegistersOnce) {
  start();
  std::int64_t id = 0;
  auto done = trainOnTwoRanks(id);
  ASSERT_NE(done, nullptr);
  // The queue counted both ranks while it ran: 2 threads of 2 ranks of 1 thread.
  EXPECT_EQ(done->getObject("resources")->getValue<std::int64_t>("threads"), 1);
}

TEST_F(JobsScaleOut, CancellingATwoRankJobStopsEveryRank) {
  start();
  const std::int64_t id = runningTwoRankJob();
  ASSERT_GT(id, 0);
  // mpirun and both ranks carry the job's environment.
  EXPECT_GE(processesWith(jobMarker(id)).size(), 3U);
  expectCancelStopsEveryProcess(id);
}

TEST_F(JobsScaleOut, ATwoRankJobWithoutACollectiveIsRefusedNamingIt) {
  start();
  HttpReply reply = submit(trainGraph(1, false), 2);
  EXPECT_GE(reply.status, 400) << reply.body;
  EXPECT_THAT(reply.body, HasSubstr("2 ranks"));
  EXPECT_THAT(reply.body, HasSubstr("no collective.mpi node"));
  reply = submit(trainGraph(1, true), 0);
  EXPECT_EQ(reply.status, 400) << reply.body;
  EXPECT_THAT(reply.body, HasSubstr("ranks"));
}

// --- Slurm -----------------------------------------------------------------------------------

/// `command` through the shell with SLURM_CONF set: its output.
std::string slurmTool(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[512];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
  pclose(pipe);
  return out;
}

std::string slurmState(const std::string& id) {
  std::string state = slurmTool("scontrol show job -o " + id + " 2>&1");
  const std::size_t at = state.find("JobState=");
  return at == std::string::npos ? "" : state.substr(at + 9, state.find(' ', at) - at - 9);
}

class JobsOnSlurm : public JobsScaleOut {
 protected:
  void SetUp() override {
    JobsScaleOut::SetUp();
    setenv("SLURM_CONF", (std::string(AIMASS_SLURM_TEST_STATE) + "/slurm.conf").c_str(), 1);
    // Another test's batch job may hold part of the node (ctest -j): mixed or allocated.
    ASSERT_THAT(slurmTool("sinfo -h -N -o %T 2>&1"),
                ::testing::ContainsRegex("^(idle|mixed|allocated|completing)"))
        << "the slurm fixture (scripts/slurm-test-server.sh) is not running";
  }
  void startOnSlurm() {
    start("    launcher: slurm\n    slurm_partition: debug\n    slurm_poll_interval_ms: 200\n");
  }
};

TEST_F(JobsOnSlurm, AJobRunsAsABatchJobAndShowsItsId) {
  startOnSlurm();
  const std::int64_t id = submitted(submit(trainGraph(2, false), 1));
  ASSERT_GT(id, 0);
  auto done = waitFor(id, {"succeeded", "failed", "cancelled"});
  ASSERT_EQ(done->getValue<std::string>("state"), "succeeded")
      << done->getValue<std::string>("reason") << "\n"
      << log(id);
  const std::string external = done->getValue<std::string>("external_id");
  ASSERT_FALSE(external.empty());
  EXPECT_EQ(slurmState(external), "COMPLETED");
  EXPECT_THAT(readWholeFile(dir_.path() / "jobs" / std::to_string(id) / "slurm-batch.sh"),
              HasSubstr("jobs' 'worker'"));
  EXPECT_EQ(done->getArray("runs")->size(), 1U) << log(id);
  EXPECT_THAT(log(id), HasSubstr("epoch 2/2"));
}

TEST_F(JobsOnSlurm, ARestartedServiceReattachesToItsBatchJobAndCancelsIt) {
  startOnSlurm();
  const std::int64_t id = submitted(submit(trainGraph(1000000, false), 1));
  ASSERT_GT(id, 0);
  ASSERT_TRUE(waitForLog(id, "tracking run")) << log(id);
  const std::string external = job(id)->getValue<std::string>("external_id");
  ASSERT_FALSE(external.empty());
  EXPECT_EQ(server_->stop(), 0) << server_->err();
  EXPECT_EQ(slurmState(external), "RUNNING") << "the batch job should outlive the service";

  startOnSlurm();
  auto again = job(id);
  EXPECT_EQ(again->getValue<std::string>("state"), "running");
  EXPECT_EQ(again->getValue<std::string>("external_id"), external);
  EXPECT_EQ(again->getValue<std::int64_t>("attempts"), 1) << "re-attached, not requeued";
  ASSERT_EQ(httpCall(port_, "POST", "/api/v1/jobs/" + std::to_string(id) + "/cancel").status, 200);
  auto done = waitFor(id, {"succeeded", "failed", "cancelled"});
  EXPECT_EQ(done->getValue<std::string>("state"), "cancelled") << log(id);
  EXPECT_NE(slurmState(external), "RUNNING");
}

/// Field `name` of `scontrol show job -o id` ("" when it has none).
std::string slurmField(const std::string& id, const std::string& name) {
  const std::string text = slurmTool("scontrol show job -o " + id + " 2>&1");
  const std::size_t at = text.find(" " + name + "=");
  if (at == std::string::npos) return "";
  const std::size_t from = at + name.size() + 2;
  return text.substr(from, text.find_first_of(" \n", from) - from);
}

TEST_F(JobsOnSlurm, ATwoRankJobRunsAsOneBatchJobOfTwoTasks) {
  startOnSlurm();
  std::int64_t id = 0;
  auto done = trainOnTwoRanks(id);
  ASSERT_NE(done, nullptr);
  const std::string external = done->getValue<std::string>("external_id");
  ASSERT_FALSE(external.empty());
  EXPECT_EQ(slurmState(external), "COMPLETED");
  // One batch job of 2 tasks; the mpirun inside it starts one rank a task.
  EXPECT_EQ(slurmField(external, "NumTasks"), "2");
  EXPECT_THAT(readWholeFile(dir_.path() / "jobs" / std::to_string(id) / "slurm-batch.sh"),
              HasSubstr("mpirun' '-np' '2'"));
}

TEST_F(JobsOnSlurm, CancellingATwoRankBatchJobStopsBothRanks) {
  startOnSlurm();
  const std::int64_t id = runningTwoRankJob();
  ASSERT_GT(id, 0);
  const std::string external = job(id)->getValue<std::string>("external_id");
  ASSERT_FALSE(external.empty());
  EXPECT_EQ(slurmState(external), "RUNNING");
  // The batch job's mpirun and its two ranks carry the job's environment.
  EXPECT_GE(processesWith(jobMarker(id)).size(), 3U);
  expectCancelStopsEveryProcess(id);
  EXPECT_NE(slurmState(external), "RUNNING");
}

}  // namespace
